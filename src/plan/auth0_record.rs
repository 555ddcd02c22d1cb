//! Which Auth0 log streams a stack created (docs/auth0-streams.md). Auth0 streams carry no
//! tags, so the record lives in Azure: one tag per stream on the stack's partner configuration of
//! the stream's sink resource group (`gridform-auth0-stream:NAME` = `creating` or the stream id),
//! backed by the ownership marker on the partner topic the stream's partner created.
//!
//! Pure helpers shared by the planner (decisions), the session (which same-name stream to read)
//! and the executor (writing the record around a create or a delete). No I/O.

use serde_json::{Map, Value};

use super::wire::MARKER;
use crate::model::ResourceId;
use crate::model::live::LiveState;

/// Tag key prefix of a record entry.
pub const RECORD_PREFIX: &str = "gridform-auth0-stream:";
/// The value of an entry written before the stream exists (the intent).
pub const CREATING: &str = "creating";

/// The tag key of stream `name`: characters Azure refuses in tag names become `_`.
pub fn record_key(name: &str) -> String {
    tag_key(RECORD_PREFIX, name)
}

/// `prefix` + `name` with the characters Azure refuses in tag names (`<>%&\?/`) as `_`.
pub fn tag_key(prefix: &str, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| match c {
            '<' | '>' | '%' | '&' | '\\' | '?' | '/' => '_',
            c => c,
        })
        .collect();
    format!("{prefix}{safe}")
}

/// The partner configuration that holds the record for streams whose sink is `rg`.
pub fn record_id(subscription_id: &str, rg: &str) -> ResourceId {
    ResourceId::resource_group(subscription_id, rg).provider_resource(
        crate::model::EVENT_GRID_NAMESPACE,
        "partnerConfigurations",
        "default",
    )
}

/// A stream's Event Grid sink: (subscription, resource group, region, partner topic).
pub struct SinkOf<'a> {
    /// `azureSubscriptionId`.
    pub subscription: &'a str,
    /// `azureResourceGroup`.
    pub resource_group: &'a str,
    /// `azureRegion`.
    pub region: &'a str,
    /// `azurePartnerTopic` (filled by Auth0).
    pub partner_topic: Option<&'a str>,
}

/// The sink of a stream body as Auth0 returns it.
pub fn sink_of(stream: &Value) -> SinkOf<'_> {
    let text = |f: &str| stream["sink"][f].as_str().unwrap_or_default();
    SinkOf {
        subscription: text("azureSubscriptionId"),
        resource_group: text("azureResourceGroup"),
        region: text("azureRegion"),
        partner_topic: stream["sink"]["azurePartnerTopic"].as_str(),
    }
}

/// The partner topic a stream's partner created (its id), when Auth0 has named it.
pub fn partner_topic_of(stream: &Value) -> Option<ResourceId> {
    let sink = sink_of(stream);
    let name = sink.partner_topic?;
    Some(
        ResourceId::resource_group(sink.subscription, sink.resource_group).provider_resource(
            crate::model::EVENT_GRID_NAMESPACE,
            "partnerTopics",
            name,
        ),
    )
}

/// Why a stream is this stack's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOwner {
    /// The record names it (its id, or `creating`: a crash came between create and record).
    Recorded,
    /// Its partner topic carries the stack's marker (activated by the stack; older stacks).
    TopicMarked,
}

/// Whether `body` carries stack `stack`'s ownership marker tag.
pub fn marked_by(body: &Value, stack: &str) -> bool {
    body.pointer(&format!("/tags/{MARKER}"))
        .and_then(Value::as_str)
        .is_some_and(|m| m == stack)
}

/// The record entries (stream name key → value) on a partner configuration the stack owns.
pub fn record_entries(config: Option<&Value>, stack: &str) -> Map<String, Value> {
    entries_with_prefix(config, stack, RECORD_PREFIX)
}

/// The tags starting with `prefix` on a partner configuration the stack owns.
pub fn entries_with_prefix(
    config: Option<&Value>,
    stack: &str,
    prefix: &str,
) -> Map<String, Value> {
    let Some(config) = config.filter(|c| marked_by(c, stack)) else {
        return Map::new();
    };
    config["tags"]
        .as_object()
        .map(|tags| {
            tags.iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `value` (a record entry) names the stream `stream_id`.
pub fn entry_names(value: Option<&Value>, stream_id: &str) -> bool {
    value
        .and_then(Value::as_str)
        .is_some_and(|v| v == CREATING || v == stream_id)
}

/// Whether the live stream `stream` is stack `stack`'s (subscription `subscription_id`), and why.
pub fn stream_owner(
    live: &LiveState,
    stack: &str,
    subscription_id: &str,
    stream: &Value,
) -> Option<StreamOwner> {
    let sink = sink_of(stream);
    if !sink.subscription.eq_ignore_ascii_case(subscription_id) || sink.resource_group.is_empty() {
        return None;
    }
    let name = stream["name"].as_str().unwrap_or_default();
    let id = stream["id"].as_str().unwrap_or_default();
    let config = live.get(&record_id(subscription_id, sink.resource_group));
    let entries = record_entries(config, stack);
    if !id.is_empty() && entry_names(entries.get(&record_key(name)), id) {
        return Some(StreamOwner::Recorded);
    }
    partner_topic_of(stream)
        .and_then(|t| live.get(&t))
        .filter(|t| marked_by(t, stack))
        .map(|_| StreamOwner::TopicMarked)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn stream(rg: &str) -> Value {
        json!({"id": "lst_1", "name": "azure-events", "type": "eventgrid",
               "sink": {"azureSubscriptionId": SUB, "azureResourceGroup": rg,
                        "azureRegion": "westeurope", "azurePartnerTopic": "auth0-t"}})
    }

    fn config(live: &mut LiveState, stack: &str, entry: &str) {
        let tags = json!({MARKER: stack, record_key("azure-events"): entry});
        live.resources
            .insert(record_id(SUB, "rg"), json!({"tags": tags}));
    }

    #[test]
    fn a_stream_is_ours_by_record_id_or_intent_and_only_on_our_config() {
        let mut live = LiveState::default();
        assert_eq!(stream_owner(&live, "s1", SUB, &stream("rg")), None);
        config(&mut live, "s1", "lst_1");
        assert_eq!(
            stream_owner(&live, "s1", SUB, &stream("rg")),
            Some(StreamOwner::Recorded)
        );
        config(&mut live, "s1", CREATING);
        assert_eq!(
            stream_owner(&live, "s1", SUB, &stream("rg")),
            Some(StreamOwner::Recorded)
        );
        config(&mut live, "s1", "lst_other");
        assert_eq!(stream_owner(&live, "s1", SUB, &stream("rg")), None);
        config(&mut live, "s2", "lst_1");
        assert_eq!(stream_owner(&live, "s1", SUB, &stream("rg")), None);
        assert_eq!(stream_owner(&live, "s1", SUB, &stream("other-rg")), None);
    }

    #[test]
    fn a_stream_whose_partner_topic_carries_our_marker_is_ours() {
        let mut live = LiveState::default();
        let topic = partner_topic_of(&stream("rg")).unwrap();
        live.resources
            .insert(topic.clone(), json!({"tags": {MARKER: "s2"}}));
        assert_eq!(stream_owner(&live, "s1", SUB, &stream("rg")), None);
        live.resources
            .insert(topic, json!({"tags": {MARKER: "s1"}}));
        assert_eq!(
            stream_owner(&live, "s1", SUB, &stream("rg")),
            Some(StreamOwner::TopicMarked)
        );
    }

    #[test]
    fn record_keys_avoid_characters_azure_refuses() {
        assert_eq!(record_key("a/b?c"), "gridform-auth0-stream:a_b_c");
    }
}
