//! The local emulator: ARM, the Azure AD token endpoint, the Auth0 Management API, a simulated
//! Auth0 partner and the Event Grid data plane, on axum.
//!
//! It shares no wire types with the client (`arm`, `auth0`): only `model::id` parsing. Both sides
//! are checked against the official example bodies in `../shared/azure-spec`. Filled by the
//! emulator issues.
