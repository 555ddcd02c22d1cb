//! The spec of every manifest kind (filled next).
