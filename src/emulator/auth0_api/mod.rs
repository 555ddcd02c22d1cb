//! The Auth0 Management API surface under `/auth0`: the token endpoint (`token`) and log streams
//! (`log_streams`), with Auth0's shapes and error bodies.
//!
//! It must not share types with the client's `crate::auth0`; log-stream semantics and the
//! simulated Event Grid partner are the store's (`store::auth0`).

pub mod log_streams;
pub mod token;
