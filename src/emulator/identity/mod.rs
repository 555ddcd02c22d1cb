//! Identity: the Entra ID token endpoints (client credentials, managed identity, MSAL
//! discovery) and the signing and checking of every token the emulator issues.
//!
//! Any client id and secret are accepted. Secrets and tokens are never logged. It must not
//! implement ARM resources or Auth0 log streams.

pub mod entra;
pub mod jwt;
