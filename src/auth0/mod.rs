//! The Auth0 Management API client (log streams), the only code besides `arm` that talks to a
//! remote API.
//!
//! Owns the client-credentials token for the Management API and the typed log-stream operations.
//! It must not decide what to change (that is `plan`) or print anything. Filled by the ARM client
//! issue.
