//! Which Microsoft Graph subscriptions a stack created (docs/graph-partner.md). Graph
//! subscriptions carry no tags and no name, so, as for Auth0 streams, the record lives in Azure:
//! one tag per `GraphSubscription` handle on the stack's partner configuration of the group Graph
//! creates the partner topic in (`gridform-graph-subscription:HANDLE` = `creating` or the Graph
//! subscription id), backed by the ownership marker on the partner topic the subscription's
//! `notificationUrl` names. The `EventGrid:?` notification URL itself is
//! `model::graph_url`, shared with the Graph client.
//!
//! Pure helpers shared by the planner (decisions) and the executor (writing the record around a
//! create or a delete). No I/O.

use serde_json::{Map, Value};

use super::auth0_record::{entries_with_prefix, marked_by, tag_key};
use crate::model::live::LiveState;
use crate::model::spec::GraphSubscriptionSpec;
use crate::model::{DesiredResource, DesiredState};

pub use super::auth0_record::{CREATING, record_id};
pub use crate::model::graph_url::EventGridTarget;

/// Tag key prefix of a record entry.
pub const RECORD_PREFIX: &str = "gridform-graph-subscription:";

/// The tag key of the `GraphSubscription` handle `handle`.
pub fn record_key(handle: &str) -> String {
    tag_key(RECORD_PREFIX, handle)
}

/// The partner topic the declared `GraphSubscription` `r` (spec `s`) notifies: its group, its
/// `partnerTopic` (default: the handle) and location, in the Stack's Azure subscription.
pub fn declared_target(
    desired: &DesiredState,
    r: &DesiredResource,
    s: &GraphSubscriptionSpec,
) -> EventGridTarget {
    EventGridTarget {
        subscription: desired.stack.spec.subscription_id.clone(),
        resource_group: r.resource_group.clone().unwrap_or_default(),
        partner_topic: s.partner_topic.clone().unwrap_or_else(|| r.name.clone()),
        location: r.location.clone(),
    }
}

/// The partner topic a live Graph subscription notifies (its `notificationUrl`).
pub fn target_of(body: &Value) -> Option<EventGridTarget> {
    EventGridTarget::parse(body["notificationUrl"].as_str()?)
}

/// The Graph record entries (handle key → value) on the stack's configuration of `rg`.
pub fn graph_entries(
    live: &LiveState,
    stack: &str,
    subscription_id: &str,
    rg: &str,
) -> Map<String, Value> {
    entries_with_prefix(
        live.get(&record_id(subscription_id, rg)),
        stack,
        RECORD_PREFIX,
    )
}

/// Why a Graph subscription is this stack's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphOwner {
    /// The record names its id.
    Recorded,
    /// The partner topic it notifies carries the stack's marker.
    TopicMarked,
}

/// Whether the live Graph subscription `body` (id `graph_id`) is stack `stack`'s, and why: it
/// must notify a partner topic in the stack's Azure subscription, and be recorded on that
/// group's configuration or notify a topic carrying the stack's marker.
pub fn graph_owner(
    live: &LiveState,
    stack: &str,
    subscription_id: &str,
    graph_id: &str,
    body: &Value,
) -> Option<GraphOwner> {
    let target = target_of(body)?;
    if !target.subscription.eq_ignore_ascii_case(subscription_id) {
        return None;
    }
    let entries = graph_entries(live, stack, subscription_id, &target.resource_group);
    if entries.values().any(|v| v.as_str() == Some(graph_id)) {
        return Some(GraphOwner::Recorded);
    }
    live.get(&target.topic_id())
        .filter(|t| marked_by(t, stack))
        .map(|_| GraphOwner::TopicMarked)
}

/// What a declared `GraphSubscription` (handle `handle`, notifying `target`) is live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GraphMatch<'v> {
    /// This stack's subscription (id, body): recorded under the handle, or notifying the
    /// declared topic and ours by intent (`creating`) or by the topic's marker.
    Ours(&'v str, &'v Value),
    /// A subscription notifying the declared topic that this stack did not create.
    Foreign(&'v str, &'v Value),
    /// None: it has to be created.
    Missing,
}

/// Finds the live Graph subscription the declared handle `handle` is. Subscriptions recorded
/// under another handle are never taken (a rename creates the new one, prunes the old one).
pub fn match_declared<'v>(
    live: &'v LiveState,
    stack: &str,
    handle: &str,
    target: &EventGridTarget,
) -> GraphMatch<'v> {
    let entries = graph_entries(live, stack, &target.subscription, &target.resource_group);
    let key = record_key(handle);
    let recorded = entries.get(&key).and_then(Value::as_str);
    if let Some((id, body)) = recorded.and_then(|r| live.graph_subscriptions.get_key_value(r)) {
        return GraphMatch::Ours(id, body);
    }
    let others: Vec<&str> = entries
        .iter()
        .filter(|(k, _)| **k != key)
        .filter_map(|(_, v)| v.as_str())
        .collect();
    let mut foreign = GraphMatch::Missing;
    for (id, body) in &live.graph_subscriptions {
        let here = target_of(body).is_some_and(|t| t.same_topic(target));
        if !here || others.contains(&id.as_str()) {
            continue;
        }
        let owned = recorded == Some(CREATING)
            || graph_owner(live, stack, &target.subscription, id, body).is_some();
        if owned {
            return GraphMatch::Ours(id, body);
        }
        if foreign == GraphMatch::Missing {
            foreign = GraphMatch::Foreign(id, body);
        }
    }
    foreign
}

/// The handle whose record entry names `graph_id` on the stack's configuration of `rg`.
pub fn recorded_handle(
    live: &LiveState,
    stack: &str,
    subscription_id: &str,
    rg: &str,
    graph_id: &str,
) -> Option<String> {
    graph_entries(live, stack, subscription_id, rg)
        .into_iter()
        .find(|(_, v)| v.as_str() == Some(graph_id))
        .map(|(k, _)| k.trim_start_matches(RECORD_PREFIX).to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::wire::MARKER;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn target(topic: &str) -> EventGridTarget {
        EventGridTarget {
            subscription: SUB.into(),
            resource_group: "rg".into(),
            partner_topic: topic.into(),
            location: Some("westus2".into()),
        }
    }

    #[test]
    fn the_event_grid_url_round_trips_and_matches_without_location() {
        let t = target("graph-users");
        let url = t.url();
        assert_eq!(
            url,
            format!(
                "EventGrid:?azuresubscriptionid={SUB}&resourcegroup=rg&partnertopic=graph-users&location=westus2"
            )
        );
        assert_eq!(EventGridTarget::parse(&url), Some(t.clone()));
        let echoed = EventGridTarget::parse(&format!(
            "eventgrid:?AzureSubscriptionId={SUB}&resourceGroup=RG&partnerTopic=Graph-Users"
        ))
        .unwrap();
        assert!(echoed.same_url(&t));
        assert!(!target("other").same_topic(&t));
        assert_eq!(EventGridTarget::parse("https://h.example.com/x"), None);
        assert_eq!(EventGridTarget::parse("EventGrid:?resourcegroup=rg"), None);
    }

    #[test]
    fn a_graph_subscription_is_ours_by_record_or_marked_topic_only() {
        let mut live = LiveState::default();
        let body = json!({"id": "g1", "notificationUrl": target("t1").url()});
        assert_eq!(graph_owner(&live, "s1", SUB, "g1", &body), None);
        let config = record_id(SUB, "rg");
        live.resources.insert(
            config.clone(),
            json!({"tags": {MARKER: "s1", record_key("users"): "g1"}}),
        );
        assert_eq!(
            graph_owner(&live, "s1", SUB, "g1", &body),
            Some(GraphOwner::Recorded)
        );
        assert_eq!(graph_owner(&live, "s2", SUB, "g1", &body), None);
        assert_eq!(graph_owner(&live, "s1", SUB, "g2", &body), None);
        live.resources
            .insert(target("t1").topic_id(), json!({"tags": {MARKER: "s1"}}));
        assert_eq!(
            graph_owner(&live, "s1", SUB, "g2", &body),
            Some(GraphOwner::TopicMarked)
        );
        let elsewhere = "11111111-0000-0000-0000-000000000001";
        assert_eq!(graph_owner(&live, "s1", elsewhere, "g1", &body), None);
    }
}
