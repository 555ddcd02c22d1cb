//! The request bodies gridform sends for each desired resource (ARM api-version 2025-02-15 and
//! the Auth0 Management API), built from the typed spec.
//!
//! Bodies carry secrets (webhook URLs, secret delivery attributes) because ARM needs them; they
//! live in memory only. Renderers and saved plans never see a body: they get `Change`s, whose
//! secret values are digests.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::model::spec::*;

/// Tag (resources) and label prefix (event subscriptions) that mark what a stack owns.
pub const MARKER: &str = "gridform-stack";
/// Label prefix holding `<salt>:<digest>` of a subscription's secret parts.
pub const SECRETS_LABEL: &str = "gridform-secrets";
/// Tag (and prefix of the tags) recording the stack lease on a resource group; never desired,
/// never drift (`session::lease` writes them, docs/locking.md).
pub const LEASE_TAG: &str = "gridform-lease";

/// Tags with the stack's ownership marker added.
pub fn tags_with_marker(tags: &Tags, stack: &str) -> Value {
    let mut map: Map<String, Value> = tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    map.insert(MARKER.into(), json!(stack));
    Value::Object(map)
}

fn insert_opt<T: serde::Serialize>(map: &mut Map<String, Value>, key: &str, value: &Option<T>) {
    if let Some(v) = value {
        map.insert(key.into(), serde_json::to_value(v).unwrap_or(Value::Null));
    }
}

fn identity(id: &Option<Identity>) -> Option<Value> {
    let id = id.as_ref()?;
    let mut map = Map::new();
    map.insert(
        "type".into(),
        serde_json::to_value(id.identity_type).unwrap_or(Value::Null),
    );
    if !id.user_assigned_identities.is_empty() {
        let ua: Map<String, Value> = id
            .user_assigned_identities
            .iter()
            .map(|i| (i.clone(), json!({})))
            .collect();
        map.insert("userAssignedIdentities".into(), Value::Object(ua));
    }
    Some(Value::Object(map))
}

/// `PUT …/resourceGroups/{name}`.
pub fn resource_group(location: &str, spec: &ResourceGroupSpec, stack: &str) -> Value {
    json!({"location": location, "tags": tags_with_marker(&spec.tags, stack)})
}

/// `PUT …/topics/{name}`.
pub fn topic(location: &str, spec: &TopicSpec, stack: &str) -> Value {
    let mut props = Map::new();
    insert_opt(&mut props, "inputSchema", &spec.input_schema);
    insert_opt(
        &mut props,
        "publicNetworkAccess",
        &spec.public_network_access,
    );
    if !spec.inbound_ip_rules.is_empty() {
        props.insert(
            "inboundIpRules".into(),
            serde_json::to_value(&spec.inbound_ip_rules).unwrap_or(Value::Null),
        );
    }
    insert_opt(&mut props, "disableLocalAuth", &spec.disable_local_auth);
    insert_opt(
        &mut props,
        "minimumTlsVersionAllowed",
        &spec.minimum_tls_version_allowed,
    );
    insert_opt(
        &mut props,
        "dataResidencyBoundary",
        &spec.data_residency_boundary,
    );
    let mut body = json!({"location": location, "tags": tags_with_marker(&spec.tags, stack), "properties": props});
    if let Some(i) = identity(&spec.identity) {
        body["identity"] = i;
    }
    body
}

/// `PUT …/systemTopics/{name}`.
pub fn system_topic(location: &str, spec: &SystemTopicSpec, stack: &str) -> Value {
    let mut body = json!({
        "location": location,
        "tags": tags_with_marker(&spec.tags, stack),
        "properties": {"source": spec.source, "topicType": spec.topic_type}
    });
    if let Some(i) = identity(&spec.identity) {
        body["identity"] = i;
    }
    body
}

/// `PATCH …/partnerTopics/{name}` (only tags are writable by the customer).
pub fn partner_topic_tags(spec: &PartnerTopicSpec, stack: &str) -> Value {
    json!({"tags": tags_with_marker(&spec.tags, stack)})
}

/// `PUT …/partnerConfigurations/default`. `expiries[i]` is the RFC 3339 expiry of partner `i`.
pub fn partner_configuration(
    spec: &PartnerConfigurationSpec,
    expiries: &[String],
    stack: &str,
) -> Value {
    let auth = &spec.partner_authorization;
    let partners: Vec<Value> = auth
        .authorized_partners_list
        .iter()
        .zip(expiries)
        .map(|(p, exp)| {
            let mut entry = json!({
                "partnerName": p.partner_name,
                "authorizationExpirationTimeInUtc": exp,
            });
            if let Some(id) = &p.partner_registration_immutable_id {
                entry["partnerRegistrationImmutableId"] = json!(id);
            }
            entry
        })
        .collect();
    let mut pa = json!({"authorizedPartnersList": partners});
    if let Some(days) = auth.default_maximum_expiration_time_in_days {
        pa["defaultMaximumExpirationTimeInDays"] = json!(days);
    }
    json!({"location": "global", "tags": tags_with_marker(&spec.tags, stack), "properties": {"partnerAuthorization": pa}})
}

fn attribute_mappings(list: &[DeliveryAttributeMapping]) -> Value {
    Value::Array(
        list.iter()
            .map(|m| match m {
                DeliveryAttributeMapping::Static {
                    name,
                    value,
                    is_secret,
                } => json!({
                    "name": name, "type": "Static",
                    "properties": {"value": value.expose(), "isSecret": is_secret}
                }),
                DeliveryAttributeMapping::Dynamic { name, source_field } => json!({
                    "name": name, "type": "Dynamic", "properties": {"sourceField": source_field}
                }),
            })
            .collect(),
    )
}

/// The ARM `destination` object (`{endpointType, properties}`).
pub fn destination(d: &Destination) -> Value {
    let mut props = Map::new();
    let endpoint_type = match d {
        Destination::WebHook {
            endpoint_url,
            max_events_per_batch,
            preferred_batch_size_in_kilobytes,
            azure_active_directory_tenant_id,
            azure_active_directory_application_id_or_uri,
            minimum_tls_version_allowed,
            delivery_attribute_mappings,
        } => {
            props.insert("endpointUrl".into(), json!(endpoint_url.expose()));
            insert_opt(&mut props, "maxEventsPerBatch", max_events_per_batch);
            insert_opt(
                &mut props,
                "preferredBatchSizeInKilobytes",
                preferred_batch_size_in_kilobytes,
            );
            insert_opt(
                &mut props,
                "azureActiveDirectoryTenantId",
                azure_active_directory_tenant_id,
            );
            insert_opt(
                &mut props,
                "azureActiveDirectoryApplicationIdOrUri",
                azure_active_directory_application_id_or_uri,
            );
            insert_opt(
                &mut props,
                "minimumTlsVersionAllowed",
                minimum_tls_version_allowed,
            );
            if !delivery_attribute_mappings.is_empty() {
                props.insert(
                    "deliveryAttributeMappings".into(),
                    attribute_mappings(delivery_attribute_mappings),
                );
            }
            "WebHook"
        }
        Destination::AzureFunction {
            resource_id,
            max_events_per_batch,
            preferred_batch_size_in_kilobytes,
            delivery_attribute_mappings,
        } => {
            props.insert("resourceId".into(), json!(resource_id));
            insert_opt(&mut props, "maxEventsPerBatch", max_events_per_batch);
            insert_opt(
                &mut props,
                "preferredBatchSizeInKilobytes",
                preferred_batch_size_in_kilobytes,
            );
            if !delivery_attribute_mappings.is_empty() {
                props.insert(
                    "deliveryAttributeMappings".into(),
                    attribute_mappings(delivery_attribute_mappings),
                );
            }
            "AzureFunction"
        }
        Destination::EventHub {
            resource_id,
            delivery_attribute_mappings,
        }
        | Destination::ServiceBusQueue {
            resource_id,
            delivery_attribute_mappings,
        }
        | Destination::ServiceBusTopic {
            resource_id,
            delivery_attribute_mappings,
        }
        | Destination::HybridConnection {
            resource_id,
            delivery_attribute_mappings,
        } => {
            props.insert("resourceId".into(), json!(resource_id));
            if !delivery_attribute_mappings.is_empty() {
                props.insert(
                    "deliveryAttributeMappings".into(),
                    attribute_mappings(delivery_attribute_mappings),
                );
            }
            match d {
                Destination::EventHub { .. } => "EventHub",
                Destination::ServiceBusQueue { .. } => "ServiceBusQueue",
                Destination::ServiceBusTopic { .. } => "ServiceBusTopic",
                _ => "HybridConnection",
            }
        }
        Destination::StorageQueue {
            resource_id,
            queue_name,
            queue_message_time_to_live_in_seconds,
        } => {
            props.insert("resourceId".into(), json!(resource_id));
            props.insert("queueName".into(), json!(queue_name));
            insert_opt(
                &mut props,
                "queueMessageTimeToLiveInSeconds",
                queue_message_time_to_live_in_seconds,
            );
            "StorageQueue"
        }
    };
    json!({"endpointType": endpoint_type, "properties": props})
}

fn dead_letter(d: &DeadLetterDestination) -> Value {
    let DeadLetterDestination::StorageBlob {
        resource_id,
        blob_container_name,
    } = d;
    json!({"endpointType": "StorageBlob", "properties": {"resourceId": resource_id, "blobContainerName": blob_container_name}})
}

fn subscription_identity(i: &SubscriptionIdentity) -> Value {
    let mut v = json!({"type": i.identity_type});
    if let Some(ua) = &i.user_assigned_identity {
        v["userAssignedIdentity"] = json!(ua);
    }
    v
}

/// The secret parts of a subscription (full webhook URL with query, secret attribute values),
/// concatenated in a stable order; empty when there are none.
pub fn secret_material(spec: &EventSubscriptionSpec) -> Vec<String> {
    let dest = spec.destination.as_ref().or(spec
        .delivery_with_resource_identity
        .as_ref()
        .map(|d| &d.destination));
    let mut parts = Vec::new();
    let mappings: &[DeliveryAttributeMapping] = match dest {
        Some(Destination::WebHook {
            endpoint_url,
            delivery_attribute_mappings,
            ..
        }) => {
            if endpoint_url.has_query() {
                parts.push(format!("url={}", endpoint_url.expose()));
            }
            delivery_attribute_mappings
        }
        Some(
            Destination::AzureFunction {
                delivery_attribute_mappings,
                ..
            }
            | Destination::EventHub {
                delivery_attribute_mappings,
                ..
            }
            | Destination::ServiceBusQueue {
                delivery_attribute_mappings,
                ..
            }
            | Destination::ServiceBusTopic {
                delivery_attribute_mappings,
                ..
            }
            | Destination::HybridConnection {
                delivery_attribute_mappings,
                ..
            },
        ) => delivery_attribute_mappings,
        _ => &[],
    };
    for m in mappings {
        if let DeliveryAttributeMapping::Static {
            name,
            value,
            is_secret: true,
        } = m
        {
            parts.push(format!("attr:{name}={}", value.expose()));
        }
    }
    parts
}

/// `<salt>:<first 16 hex of sha256(salt, parts)>`, or `None` when there is nothing secret.
pub fn secret_digest(parts: &[String], salt: &str) -> Option<String> {
    if parts.is_empty() {
        return None;
    }
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    let digest = hex::encode(h.finalize());
    Some(format!("{salt}:{}", &digest[..16]))
}

/// `PUT …/eventSubscriptions/{name}`.
pub fn event_subscription(spec: &EventSubscriptionSpec, labels: &[String]) -> Value {
    let mut props = Map::new();
    if let Some(d) = &spec.destination {
        props.insert("destination".into(), destination(d));
    }
    if let Some(d) = &spec.delivery_with_resource_identity {
        props.insert(
            "deliveryWithResourceIdentity".into(),
            json!({"identity": subscription_identity(&d.identity), "destination": destination(&d.destination)}),
        );
    }
    if let Some(f) = &spec.filter {
        props.insert(
            "filter".into(),
            serde_json::to_value(f).unwrap_or(Value::Null),
        );
    }
    props.insert("labels".into(), json!(labels));
    insert_opt(
        &mut props,
        "eventDeliverySchema",
        &spec.event_delivery_schema,
    );
    insert_opt(&mut props, "retryPolicy", &spec.retry_policy);
    if let Some(d) = &spec.dead_letter_destination {
        props.insert("deadLetterDestination".into(), dead_letter(d));
    }
    if let Some(d) = &spec.dead_letter_with_resource_identity {
        props.insert(
            "deadLetterWithResourceIdentity".into(),
            json!({"identity": subscription_identity(&d.identity), "deadLetterDestination": dead_letter(&d.dead_letter_destination)}),
        );
    }
    insert_opt(&mut props, "expirationTimeUtc", &spec.expiration_time_utc);
    json!({"properties": props})
}

/// Auth0 `POST /api/v2/log-streams` body.
pub fn auth0_stream(
    name: &str,
    spec: &Auth0LogStreamSpec,
    subscription_id: &str,
    resource_group: &str,
) -> Value {
    let mut body = json!({
        "name": name,
        "type": "eventgrid",
        "status": spec.status,
        "sink": {
            "azureSubscriptionId": subscription_id,
            "azureResourceGroup": resource_group,
            "azureRegion": spec.azure_region,
        }
    });
    if !spec.filters.is_empty() {
        body["filters"] = serde_json::to_value(&spec.filters).unwrap_or(Value::Null);
    }
    if let Some(p) = spec.is_priority {
        body["isPriority"] = json!(p);
    }
    body
}
