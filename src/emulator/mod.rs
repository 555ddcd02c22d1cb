//! The local emulator (`gridform emulator serve`, `--emulator`): a stand-in for Azure Resource
//! Manager, the Entra ID token endpoints, the Auth0 Management API with Auth0 as a simulated Event
//! Grid partner, and the Event Grid data plane with webhook delivery — see `docs/emulator.md`.
//!
//! This file only declares the folders and re-exports what callers outside the emulator use. It
//! must not hold logic. The emulator shares no wire types or code with the client (`arm`,
//! `auth0`, `apply`, `plan`, `cli`); it uses only `model::id` from the rest of the crate.

pub mod arm_api;
pub mod auth0_api;
pub mod controls;
pub mod dataplane;
pub mod error;
pub mod identity;
pub mod infra;
pub mod instance;
pub mod server;
pub mod store;

pub use dataplane::{event_filter, outbox, publish_input, sas};
pub use infra::clock::{self, Clock};
pub use infra::faults::FaultSpec;
pub use infra::throttle::ThrottleSpec;
pub use infra::{persist, tls};
pub use instance::{Config, Emulator};
pub use server::{
    Running, router, serve, serve_tls_with_shutdown, serve_with_shutdown, spawn_local,
};
pub use store::Store;
