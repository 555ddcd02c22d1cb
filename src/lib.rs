//! gridform: a declarative reconciler for Azure Event Grid partner setups.
//!
//! YAML manifests (`manifest`) become a typed desired state (`model`); `arm`, `auth0` and
//! `graph` (Microsoft Graph subscriptions) read the live state over the HTTP plumbing they share
//! (`remote_http`), and `session` connects to the target and reads it; `plan` compares the two
//! without any I/O; `apply` executes the plan; `export` writes manifests for what exists;
//! `render` prints it; `dataplane` publishes and verifies events; `emulator` is a local ARM +
//! Auth0 + Event Grid stand-in; `cli` parses, calls one of these and renders.
//! See `docs/architecture.md` for the code map and the invariants.

pub mod apply;
pub mod arm;
pub mod auth0;
pub mod cli;
pub(crate) mod dataplane;
pub mod emulator;
pub mod export;
#[cfg(test)]
mod fake_azure;
pub mod graph;
pub mod manifest;
pub mod model;
pub mod plan;
pub(crate) mod remote_http;
pub mod render;
pub mod session;
