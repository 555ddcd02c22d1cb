//! Identity: the Entra ID token endpoints (client credentials, managed identity, MSAL
//! discovery) and the signing and checking of every token the emulator issues.
//!
//! Any client id and secret are accepted. Secrets and tokens are never logged. It must not
//! implement ARM resources or Auth0 log streams.

pub mod entra;
pub mod jwt;

/// The tenant of tokens asked for without a GUID tenant (`common`, `organizations`, a domain
/// name, managed identity): Entra ID's `tid` is always a GUID.
pub const DEFAULT_TENANT: &str = "c0ffee00-0000-4000-8000-0000000000a1";

/// The client (`appid`) of managed-identity tokens asked for without a `client_id`.
pub const DEFAULT_MANAGED_IDENTITY_CLIENT: &str = "c0ffee00-0000-4000-8000-0000000000b1";

/// The `tid` for a token requested under `tenant` (the path segment): itself when a GUID.
pub fn tenant_id(tenant: &str) -> &str {
    if uuid::Uuid::parse_str(tenant).is_ok() {
        tenant
    } else {
        DEFAULT_TENANT
    }
}
