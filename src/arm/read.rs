//! Reading the live state with as few requests as possible.
//!
//! `read_live` lists per container (resource group, then each topic's event subscriptions) with
//! `$top=100`, concurrently, instead of one GET per resource, and sends **no write-class
//! requests**: `getFullUrl`/`getDeliveryAttributes` are POSTs that spend the write budget, so
//! they are never called here. For 20 topics with 1,000 subscriptions that is about 30 reads.
//! It must not decide what to change; it returns what exists and what it cost.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::client::RequestCounts;
use super::error::ArmError;
use super::ops::{ArmApi, Observed, ProviderInfo};
use super::request::{Collection, EVENT_GRID_NAMESPACE};
use crate::model::ResourceId;

/// Event Grid top-level types listed per resource group.
pub const RG_COLLECTIONS: [&str; 4] = [
    "partnerConfigurations",
    "topics",
    "systemTopics",
    "partnerTopics",
];

/// Top-level types whose event subscriptions are nested children.
const TOPIC_TYPES: [&str; 3] = ["topics", "systemTopics", "partnerTopics"];

/// How many requests `read_live` keeps in flight.
pub const READ_CONCURRENCY: usize = 16;

/// What to read: the containers the desired state touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveScope {
    /// The stack's subscription.
    pub subscription_id: String,
    /// Provider namespaces whose registration matters (e.g. `Microsoft.EventGrid`).
    pub providers: Vec<String>,
    /// Resource groups whose Event Grid resources to list.
    pub resource_groups: Vec<String>,
    /// Other scopes whose extension event subscriptions to list (`spec.scope` of
    /// subscriptions on resources not in the manifests).
    pub extra_scopes: Vec<ResourceId>,
}

impl LiveScope {
    /// The scope that covers a set of desired resource ids: their resource groups, plus, for
    /// extension event subscriptions on resources that are not Event Grid topics, the scope
    /// they hang off (listed separately).
    pub fn covering<'a>(
        subscription_id: &str,
        providers: &[&str],
        ids: impl IntoIterator<Item = &'a ResourceId>,
    ) -> Self {
        let mut scope = Self {
            subscription_id: subscription_id.into(),
            providers: providers.iter().map(|p| p.to_string()).collect(),
            ..Self::default()
        };
        for id in ids {
            if let Some(rg) = id.resource_group_name()
                && !scope
                    .resource_groups
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(rg))
            {
                scope.resource_groups.push(rg.to_string());
            }
            let ty = id.resource_type();
            if ty.eq_ignore_ascii_case(&format!("{EVENT_GRID_NAMESPACE}/eventSubscriptions"))
                && let Some(parent) = id.parent()
            {
                let parent_ty = parent.resource_type();
                let ours = TOPIC_TYPES.iter().any(|t| {
                    parent_ty.eq_ignore_ascii_case(&format!("{EVENT_GRID_NAMESPACE}/{t}"))
                });
                if !ours && !scope.extra_scopes.contains(&parent) {
                    scope.extra_scopes.push(parent);
                }
            }
        }
        scope
    }
}

/// Everything that exists in the scope, plus the request cost of finding out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedState {
    /// Provider registrations by lowercased namespace.
    pub providers: BTreeMap<String, ProviderInfo>,
    /// Resource groups that exist (absent ones are not in the map).
    pub resource_groups: BTreeMap<ResourceId, Observed>,
    /// Every Event Grid resource found (configurations, topics, event subscriptions), by id.
    pub resources: BTreeMap<ResourceId, Observed>,
    /// Containers that were listed completely: a resource below one of them that is not in
    /// `resources` does not exist.
    pub listed: Vec<ResourceId>,
    /// Requests spent reading, per class.
    pub requests: RequestCounts,
}

impl ListedState {
    /// A resource by id (case-insensitive).
    pub fn get(&self, id: &ResourceId) -> Option<&Observed> {
        self.resources.get(id)
    }

    /// Whether `id` is known to be absent (its container was listed and it was not there).
    pub fn known_absent(&self, id: &ResourceId) -> bool {
        !self.resources.contains_key(id) && self.listed.iter().any(|c| id.is_within(c))
    }

    /// The event subscriptions below a topic.
    pub fn subscriptions_of<'a>(
        &'a self,
        topic: &'a ResourceId,
    ) -> impl Iterator<Item = &'a Observed> + 'a {
        self.resources.values().filter(move |o| {
            o.id.parent().as_ref() == Some(topic)
                && o.id
                    .resource_type()
                    .to_ascii_lowercase()
                    .ends_with("/eventsubscriptions")
        })
    }
}

/// Reads the live state for `scope`: provider GETs, one GET per resource group, one list per
/// Event Grid collection in each group, one list per topic's subscriptions, one list per extra
/// scope. Only reads.
pub async fn read_live<A: ArmApi>(api: &A, scope: &LiveScope) -> Result<ListedState, ArmError> {
    let before = api.request_counts();
    let sub = scope.subscription_id.as_str();
    let mut live = ListedState::default();

    // Owned items (not `iter()` over references): closures over borrowed items make the
    // future non-`Send` ("FnOnce is not general enough").
    let providers: Vec<ProviderInfo> = stream::iter(scope.providers.clone())
        .map(|ns| async move { api.get_provider(sub, &ns).await })
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    for p in providers {
        live.providers.insert(p.namespace.to_ascii_lowercase(), p);
    }

    let groups: Vec<(ResourceId, Option<Observed>)> = stream::iter(scope.resource_groups.clone())
        .map(|rg| {
            let id = ResourceId::resource_group(sub, &rg);
            async move { api.get(&id).await.map(|o| (id, o)) }
        })
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    let mut collections = Vec::new();
    for (id, observed) in groups {
        // A missing group is listed by definition: nothing below it exists.
        live.listed.push(id.clone());
        if let Some(o) = observed {
            for ty in RG_COLLECTIONS {
                collections.push(Collection::eventgrid(&id, ty));
            }
            live.resource_groups.insert(id, o);
        }
    }
    for s in &scope.extra_scopes {
        collections.push(Collection::extension_subscriptions(s));
    }

    let pages = list_all(api, collections).await?;
    let mut topic_collections = Vec::new();
    for (collection, items) in pages {
        absorb_listed(&mut live, &collection);
        for o in items {
            let ty = o.id.resource_type();
            if TOPIC_TYPES
                .iter()
                .any(|t| ty.eq_ignore_ascii_case(&format!("{EVENT_GRID_NAMESPACE}/{t}")))
            {
                topic_collections.push(Collection::children(&o.id, "eventSubscriptions"));
            }
            live.resources.insert(o.id.clone(), o);
        }
    }
    for (collection, items) in list_all(api, topic_collections).await? {
        absorb_listed(&mut live, &collection);
        for o in items {
            live.resources.insert(o.id.clone(), o);
        }
    }
    live.requests = api.request_counts().since(&before);
    tracing::debug!(
        reads = live.requests.reads,
        writes = live.requests.writes,
        resources = live.resources.len(),
        "live state read"
    );
    Ok(live)
}

fn absorb_listed(live: &mut ListedState, collection: &Collection) {
    // Children of a listed collection: `{parent}/{type}` or `{parent}/providers/{ns}/{type}`;
    // record the parent for nested children (topic subscriptions), which `is_within` covers.
    if collection.namespace.is_none() {
        live.listed.push(collection.parent.clone());
    }
}

async fn list_all<A: ArmApi>(
    api: &A,
    collections: Vec<Collection>,
) -> Result<Vec<(Collection, Vec<Observed>)>, ArmError> {
    stream::iter(collections)
        .map(|c| async move { api.list(&c).await.map(|items| (c, items)) })
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await
}

impl ListedState {
    /// The planner's view: bodies by id, provider states, listed groups, request counts.
    pub fn into_model(self) -> crate::model::live::LiveState {
        let mut out = crate::model::live::LiveState {
            providers: self
                .providers
                .into_iter()
                .map(|(ns, p)| (ns, p.registration_state))
                .collect(),
            requests: self.requests,
            ..Default::default()
        };
        for id in &self.listed {
            if id
                .resource_type()
                .eq_ignore_ascii_case("Microsoft.Resources/resourceGroups")
            {
                out.listed_groups.push(id.name().to_string());
            }
        }
        for (id, o) in self.resource_groups.into_iter().chain(self.resources) {
            out.resources.insert(id, o.body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: T) {}

    // `apply` spawns these onto a multi-threaded runtime: the futures must be `Send`.
    #[test]
    fn client_futures_are_send() {
        use crate::arm::{ArmApi, ArmClient, TokenSource};
        let base = url::Url::parse("http://127.0.0.1:9").unwrap();
        let arm = ArmClient::with_defaults(base, TokenSource::fixed("t")).unwrap();
        let id = ResourceId::resource_group("s", "rg");
        let body = serde_json::json!({});
        assert_send(arm.get(&id));
        assert_send(arm.put(&id, &body));
        assert_send(arm.delete(&id));
        assert_send(arm.post_action(&id, "x", None));
        assert_send(read_live(&arm, &LiveScope::default()));
        assert_send(crate::arm::typed::get_full_url(&arm, &id));
    }

    #[test]
    fn covering_collects_groups_and_extension_scopes() {
        let rg = ResourceId::resource_group("s", "Identity");
        let topic = rg.provider_resource("Microsoft.EventGrid", "topics", "t");
        let nested = topic.child("eventSubscriptions", "a");
        let storage = ResourceId::resource_group("s", "data").provider_resource(
            "Microsoft.Storage",
            "storageAccounts",
            "acct",
        );
        let ext = storage.provider_resource("Microsoft.EventGrid", "eventSubscriptions", "b");
        let same_rg_other_case = ResourceId::resource_group("s", "identity");
        let scope = LiveScope::covering(
            "s",
            &["Microsoft.EventGrid"],
            [&topic, &nested, &ext, &same_rg_other_case],
        );
        assert_eq!(scope.resource_groups, vec!["Identity", "data"]);
        assert_eq!(scope.extra_scopes, vec![storage]);
        assert_eq!(scope.providers, vec!["Microsoft.EventGrid"]);
    }
}
