//! The ARM, Auth0 and Microsoft Graph clients (`gridform::arm`, `gridform::auth0`,
//! `gridform::graph`) against scripted servers and the in-process emulator.

mod client;
mod credentials;
mod emulator;
mod graph_client;
mod graph_session;
mod hostile;
mod reads;
mod tls;
mod tokens;
