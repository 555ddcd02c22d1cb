//! The Azure Resource Manager client: the only code that talks to ARM.
//!
//! Owns request building (paths, api-versions), credentials, retries, pacing, long-running
//! operations, pagination and reading the live state. It must not decide what to change (that is
//! `plan`) or print anything (tracing only; never a token, secret or query string).
//!
//! Layout: `request`, `retry`, `lro`, `error` and `pacing` are sans-IO (pure functions plus the
//! governor buckets); `client` builds each attempt (pacing, token, ids) for the retry loop shared
//! with the other remote clients (`crate::remote_http`); `ops` implements [`ArmApi`] on
//! [`ArmClient`]; `auth` picks a credential; `connect` turns CLI-level settings into a client;
//! `read` fetches the live state with as few requests as possible. See `docs/arm-client.md`.

// `ArmError` carries method, resource, code, message and request ids (~200 bytes); errors are
// rare next to the network round trip, so boxing them would buy nothing measurable.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod client;
pub mod connect;
pub mod error;
pub mod lro;
mod lro_follow;
pub mod ops;
pub mod pacing;
pub mod read;
pub mod request;
pub mod retry;
pub mod typed;

pub use auth::{AuthMethod, AzureCloud, Chosen, TokenSource};
pub use client::{ArmClient, ArmClientOptions, RequestCounts, USER_AGENT};
pub use connect::{ConnectSettings, Connection, connect};
pub use error::{ArmError, CredentialError, RequestIds};
pub use ops::{ArmApi, Deleted, Observed, ProviderInfo};
pub use read::{ListedState, LiveScope, read_live};
pub use request::{
    Collection, EVENT_GRID_NAMESPACE, EVENTGRID_API_VERSION, OpClass, RESOURCES_API_VERSION,
};
