//! The Event Grid data plane: publishing to custom topics (`publish`, checked by
//! `publish_input`, authenticated with keys, `sas` tokens or bearer tokens), matching events to
//! subscriptions (`event_filter`), and delivery (`outbox` with retries and dead-lettering,
//! `webhook` for the validation handshake and the built-in sink, `handshake_http` for the
//! handshake's bounded HTTP exchange and its failure wording).
//!
//! It must not change ARM resources. Keys, tokens and full webhook URLs are never logged.

pub mod event_filter;
pub(crate) mod handshake_http;
pub mod outbox;
pub mod publish;
pub mod publish_input;
pub mod sas;
pub mod webhook;
