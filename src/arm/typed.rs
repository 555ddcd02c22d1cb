//! Typed ids and actions for every resource kind and action in MANIFESTS.md, over [`ArmApi`].
//!
//! Thin helpers so callers do not spell paths or action names: id builders per kind, the POST
//! actions (`activate`, `deactivate`, `authorizePartner`, `unauthorizePartner`, `getFullUrl`,
//! `getDeliveryAttributes`, `listKeys`). Secret results come back as `Sensitive`. Plain
//! `put`/`patch`/`delete` stay on the trait. `session` and `dataplane` use `get_full_url` and
//! `list_topic_keys`; the other actions are the library's typed surface over ARM (the integration
//! tests drive the emulator through them). Waits live where they are used: the executor's over
//! `apply::Backend`. This module must not decide what to change.

use serde_json::Value;

use super::error::{ArmError, RequestIds, RequestTarget};
use super::ops::ArmApi;
use super::request::EVENT_GRID_NAMESPACE;
use crate::model::{ResourceId, Sensitive};

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.EventGrid/partnerConfigurations/default`.
pub fn partner_configuration_id(subscription_id: &str, resource_group: &str) -> ResourceId {
    ResourceId::resource_group(subscription_id, resource_group).provider_resource(
        EVENT_GRID_NAMESPACE,
        "partnerConfigurations",
        "default",
    )
}

/// A custom topic.
pub fn topic_id(subscription_id: &str, resource_group: &str, name: &str) -> ResourceId {
    ResourceId::resource_group(subscription_id, resource_group).provider_resource(
        EVENT_GRID_NAMESPACE,
        "topics",
        name,
    )
}

/// A system topic.
pub fn system_topic_id(subscription_id: &str, resource_group: &str, name: &str) -> ResourceId {
    ResourceId::resource_group(subscription_id, resource_group).provider_resource(
        EVENT_GRID_NAMESPACE,
        "systemTopics",
        name,
    )
}

/// A partner topic.
pub fn partner_topic_id(subscription_id: &str, resource_group: &str, name: &str) -> ResourceId {
    ResourceId::resource_group(subscription_id, resource_group).provider_resource(
        EVENT_GRID_NAMESPACE,
        "partnerTopics",
        name,
    )
}

/// An event subscription on a topic of ours (nested form `{topic}/eventSubscriptions/{name}`),
/// or on any other scope (extension form `{scope}/providers/Microsoft.EventGrid/eventSubscriptions/{name}`).
pub fn event_subscription_id(parent: &ResourceId, name: &str) -> ResourceId {
    let ty = parent.resource_type();
    let nested = ["topics", "systemTopics", "partnerTopics"]
        .iter()
        .any(|t| ty.eq_ignore_ascii_case(&format!("{EVENT_GRID_NAMESPACE}/{t}")));
    if nested {
        parent.child("eventSubscriptions", name)
    } else {
        parent.provider_resource(EVENT_GRID_NAMESPACE, "eventSubscriptions", name)
    }
}

/// POST `activate` on a partner topic; returns the topic.
pub async fn activate_partner_topic<A: ArmApi>(
    api: &A,
    id: &ResourceId,
) -> Result<Value, ArmError> {
    action_body(api, id, "activate", None).await
}

/// POST `deactivate` on a partner topic; returns the topic.
pub async fn deactivate_partner_topic<A: ArmApi>(
    api: &A,
    id: &ResourceId,
) -> Result<Value, ArmError> {
    action_body(api, id, "deactivate", None).await
}

/// POST `authorizePartner` with a `Partner` body; returns the configuration.
pub async fn authorize_partner<A: ArmApi>(
    api: &A,
    configuration: &ResourceId,
    partner: &Value,
) -> Result<Value, ArmError> {
    action_body(api, configuration, "authorizePartner", Some(partner)).await
}

/// POST `unauthorizePartner` with a `Partner` body; returns the configuration.
pub async fn unauthorize_partner<A: ArmApi>(
    api: &A,
    configuration: &ResourceId,
    partner: &Value,
) -> Result<Value, ArmError> {
    action_body(api, configuration, "unauthorizePartner", Some(partner)).await
}

/// POST `getFullUrl` (a **write-class** request; never used while refreshing): the webhook URL
/// with its secret query string.
pub async fn get_full_url<A: ArmApi>(
    api: &A,
    subscription: &ResourceId,
) -> Result<Sensitive<String>, ArmError> {
    let body = action_body(api, subscription, "getFullUrl", None).await?;
    body.get("endpointUrl")
        .and_then(Value::as_str)
        .map(|s| Sensitive::new(s.to_string()))
        .ok_or_else(|| missing(subscription, "getFullUrl", "no `endpointUrl`"))
}

/// POST `getDeliveryAttributes` (write-class): the mappings including secret values.
pub async fn get_delivery_attributes<A: ArmApi>(
    api: &A,
    subscription: &ResourceId,
) -> Result<Sensitive<Vec<Value>>, ArmError> {
    let body = action_body(api, subscription, "getDeliveryAttributes", None).await?;
    body.get("value")
        .and_then(Value::as_array)
        .map(|v| Sensitive::new(v.clone()))
        .ok_or_else(|| missing(subscription, "getDeliveryAttributes", "no `value` array"))
}

/// The two access keys of a custom topic (POST `listKeys`, write-class; for `gridform publish`).
pub async fn list_topic_keys<A: ArmApi>(
    api: &A,
    topic: &ResourceId,
) -> Result<(Sensitive<String>, Sensitive<String>), ArmError> {
    let body = action_body(api, topic, "listKeys", None).await?;
    let key = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(|s| Sensitive::new(s.to_string()))
            .ok_or_else(|| missing(topic, "listKeys", "no `key1`/`key2`"))
    };
    Ok((key("key1")?, key("key2")?))
}

async fn action_body<A: ArmApi>(
    api: &A,
    id: &ResourceId,
    action: &str,
    body: Option<&Value>,
) -> Result<Value, ArmError> {
    api.post_action(id, action, body)
        .await?
        .ok_or_else(|| missing(id, action, "empty body"))
}

fn missing(id: &ResourceId, action: &str, reason: &str) -> ArmError {
    ArmError::Malformed {
        target: RequestTarget {
            method: "POST".into(),
            resource: format!("{id}/{action}"),
        },
        status: 200,
        reason: reason.into(),
        ids: RequestIds::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_ids_nest_under_our_topics_and_extend_other_scopes() {
        let pt = partner_topic_id("s", "rg", "auth0");
        assert_eq!(
            event_subscription_id(&pt, "e").to_string(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/partnerTopics/auth0/eventSubscriptions/e"
        );
        let storage = ResourceId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a",
        )
        .unwrap();
        assert_eq!(
            event_subscription_id(&storage, "e").to_string(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/providers/Microsoft.EventGrid/eventSubscriptions/e"
        );
        assert_eq!(
            partner_configuration_id("s", "rg").resource_type(),
            "Microsoft.EventGrid/partnerConfigurations"
        );
        assert_eq!(system_topic_id("s", "rg", "x").name(), "x");
        assert_eq!(
            topic_id("s", "rg", "x").resource_type(),
            "Microsoft.EventGrid/topics"
        );
    }
}
