//! The local emulator (`gridform emulator serve`, `--emulator`): a stand-in for Azure Resource
//! Manager, the Entra ID token endpoints, the Auth0 Management API with Auth0 as a simulated Event
//! Grid partner, Microsoft Graph's subscriptions API with Graph as another, and the Event Grid data plane with webhook delivery — see `docs/emulator.md`.
//!
//! One folder per surface: `arm_api` (ARM routes by family), `identity` (Entra ID tokens),
//! `auth0_api` (Auth0 Management API), `graph_api` (Microsoft Graph subscriptions), `dataplane` (publish, filters, delivery), `controls`
//! (`/_emulator/...`); beneath them `store` (the world, no HTTP) and `infra` (clock, state file,
//! TLS, throttling, faults, ids, HTTP helpers). `server` routes, `instance` is the shared handle,
//! `error` is the one error type and the only place that picks a failure status.
//!
//! This file only declares the modules and re-exports what callers outside the emulator use. It
//! must not hold logic. The emulator shares no wire types or code with the client (`arm`,
//! `auth0`, `apply`, `plan`, `cli`); it uses only `model::id` from the rest of the crate.

pub mod arm_api;
pub mod auth0_api;
pub mod controls;
pub mod dataplane;
pub mod error;
pub mod graph_api;
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
pub use instance::{Config, Emulator, StoreGuard};
pub use server::{Running, router, serve_until, spawn_local};
pub use store::Store;
