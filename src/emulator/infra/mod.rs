//! Infrastructure every surface shares: the emulator clock, ids and keys, the state database (and migrating the JSON state file), TLS,
//! ARM throttling, fault injection and HTTP helpers.
//!
//! Nothing here knows a route or a resource: these modules must not import a surface folder
//! (`arm_api`, `identity`, `auth0_api`, `dataplane`, `controls`) or the store's semantics.

pub mod clock;
pub mod faults;
pub mod http;
pub mod ids;
pub mod migrate;
pub mod persist;
pub mod throttle;
pub mod tls;
