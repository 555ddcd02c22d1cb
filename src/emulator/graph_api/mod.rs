//! The Microsoft Graph surface under `/graph/v1.0`: change-notification subscriptions
//! (`subscriptions`), behind an Entra ID token for `https://graph.microsoft.com`, with Graph's
//! shapes and error bodies.
//!
//! It must not share types with a Graph client of the crate; subscription semantics and the
//! simulated Event Grid partner are the store's (`store::graph`, `store::graph_rules`).

pub mod subscriptions;
