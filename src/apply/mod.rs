//! Applying a plan: runs a `Plan` as a dependency graph against ARM and Auth0.
//!
//! Owns scheduling (`scheduler`, pure), bounded concurrency and action retries (`executor`),
//! domain waits (provider registered, partner topic appeared, its source checked), the apply
//! report, and the `Backend` trait with its real implementation `remote::Remote` over
//! `arm::ArmClient` and `auth0::Auth0Client`. Unit tests use `crate::fake_azure`. It never
//! prints: it emits `ApplyEvent`s that `cli` renders.

pub(crate) mod backend;
pub(crate) mod executor;
pub(crate) mod failure;
mod graph_record;
pub mod remote;
pub(crate) mod scheduler;
mod stream_record;

pub use backend::{Backend, BackendError, BackendResult};
pub use executor::{ApplyEvent, ApplyOptions, ApplyReport, Outcome, execute};
pub use failure::Failure;

#[cfg(test)]
mod tests;
