//! The ARM and Auth0 clients (`gridform::arm`, `gridform::auth0`) against scripted servers and
//! the in-process emulator.

mod client;
mod credentials;
mod emulator;
mod hostile;
mod reads;
mod tls;
mod tokens;
