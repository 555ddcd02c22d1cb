//! The executor: runs a `Plan` as a dependency graph against the ARM and Auth0 clients.
//!
//! Owns scheduling (`scheduler`, pure), bounded concurrency, domain waits (provider registered,
//! partner topic appeared, its source checked) and the apply report. It reaches remote APIs only
//! through the `Backend` trait (implemented by `arm`/`auth0`) and never prints: it emits
//! `ApplyEvent`s that `cli` renders.

pub mod backend;
pub mod executor;
pub mod remote;
pub mod scheduler;

pub use backend::{Backend, BackendError, BackendResult};
pub use executor::{ApplyEvent, ApplyOptions, ApplyReport, Failure, Outcome, execute};

#[cfg(test)]
mod tests;
