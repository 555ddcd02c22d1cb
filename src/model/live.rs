//! The live state as read from ARM and Auth0: raw bodies, keyed by id.
//!
//! `arm`/`auth0` fill it; `plan` normalizes and compares it. Bodies are kept as the services
//! returned them (`serde_json::Value`) so that normalization is one pure, tested step in `plan`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::id::ResourceId;

/// What exists right now in the scopes the manifests touch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    /// Provider namespace (lowercase) → `registrationState` (`Registered`, `Registering`, ...).
    pub providers: BTreeMap<String, String>,
    /// Every ARM resource read: resource groups, partner configurations, topics, system topics,
    /// partner topics and event subscriptions (GET or list bodies).
    pub resources: BTreeMap<ResourceId, Value>,
    /// Resource groups (lowercase names) that were listed completely, so that absent resources
    /// in them are known to be absent (and owned ones absent from the manifests can be pruned).
    pub listed_groups: Vec<String>,
    /// Auth0 log streams of type `eventgrid`, by stream name (Management API bodies).
    pub auth0_streams: BTreeMap<String, Value>,
    /// Microsoft Graph change-notification subscriptions, by Graph subscription id (Graph
    /// bodies): every subscription the Graph application sees whose `notificationUrl` is an
    /// `EventGrid:?` URL naming an Azure subscription the stack reads. Empty when no Graph
    /// client is connected.
    pub graph_subscriptions: BTreeMap<String, Value>,
    /// The partner topic `source` Microsoft Graph stamps for our Graph application
    /// (`/tenants/{tenant}/applications/{application}`), when a Graph client is connected.
    pub graph_source: Option<String>,
    /// Webhook full URLs from `getFullUrl`, when read (`plan --refresh-secrets`).
    pub full_urls: BTreeMap<ResourceId, String>,
    /// Delivery attributes from `getDeliveryAttributes`, when read (`plan --refresh-secrets`).
    pub delivery_attributes: BTreeMap<ResourceId, Value>,
    /// Requests spent reading, by class.
    pub requests: RequestCounts,
}

/// Requests by ARM throttling class (every attempt, retry and poll counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestCounts {
    /// GET/HEAD.
    pub reads: u64,
    /// PUT/PATCH/POST.
    pub writes: u64,
    /// DELETE.
    pub deletes: u64,
}

impl RequestCounts {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.reads
            .saturating_add(self.writes)
            .saturating_add(self.deletes)
    }

    /// The requests made between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            reads: self.reads.saturating_sub(earlier.reads),
            writes: self.writes.saturating_sub(earlier.writes),
            deletes: self.deletes.saturating_sub(earlier.deletes),
        }
    }
}

impl LiveState {
    /// The body of `id`, if it exists.
    pub fn get(&self, id: &ResourceId) -> Option<&Value> {
        self.resources.get(id)
    }

    /// Whether the provider namespace is `Registered`.
    pub fn provider_registered(&self, namespace: &str) -> bool {
        self.providers
            .get(&namespace.to_ascii_lowercase())
            .is_some_and(|s| s.eq_ignore_ascii_case("Registered"))
    }

    /// Live resources directly below `parent` of the given ARM type (case-insensitive).
    pub fn children<'a>(
        &'a self,
        parent: &'a ResourceId,
        resource_type: &'a str,
    ) -> impl Iterator<Item = (&'a ResourceId, &'a Value)> + 'a {
        self.resources.iter().filter(move |(id, _)| {
            id.parent().as_ref() == Some(parent)
                && id.resource_type().eq_ignore_ascii_case(resource_type)
        })
    }
}
