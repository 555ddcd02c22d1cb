//! What `gridform show [PATH...]` lists: each declared resource with its live id and the values
//! a person or the next CI job needs (topic endpoints, partner topic names and activation,
//! authorization expiries, provisioning states). Pure; keys and webhook secrets are never
//! read, so they cannot be listed.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::model::live::LiveState;
use crate::model::{DesiredResource, DesiredState, ResourceKind};

/// One declared resource as it is live.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryItem {
    /// The manifest kind.
    pub kind: ResourceKind,
    /// The manifest name.
    pub name: String,
    /// The live id (for a partner topic: the one its Auth0 stream names), if it exists.
    pub id: Option<String>,
    /// Whether it exists.
    pub exists: bool,
    /// Selected live values (never keys or secrets).
    pub values: Map<String, Value>,
}

fn pick(body: &Value, fields: &[(&str, &str)]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|(label, pointer)| {
            body.pointer(pointer)
                .filter(|v| !v.is_null())
                .map(|v| (label.to_string(), v.clone()))
        })
        .collect()
}

fn arm_values(kind: ResourceKind, body: &Value) -> Map<String, Value> {
    let state = ("provisioningState", "/properties/provisioningState");
    match kind {
        ResourceKind::Topic => pick(
            body,
            &[
                ("endpoint", "/properties/endpoint"),
                ("inputSchema", "/properties/inputSchema"),
                state,
            ],
        ),
        ResourceKind::SystemTopic => pick(
            body,
            &[
                ("source", "/properties/source"),
                ("topicType", "/properties/topicType"),
                state,
            ],
        ),
        ResourceKind::PartnerTopic => pick(
            body,
            &[
                ("azureName", "/name"),
                ("activationState", "/properties/activationState"),
                ("source", "/properties/source"),
                (
                    "expirationTimeIfNotActivatedUtc",
                    "/properties/expirationTimeIfNotActivatedUtc",
                ),
                state,
            ],
        ),
        ResourceKind::PartnerConfiguration => {
            let mut out = pick(body, &[state]);
            let partners: Vec<Value> = body
                .pointer("/properties/partnerAuthorization/authorizedPartnersList")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    json!({
                        "partnerName": p["partnerName"],
                        "authorizationExpirationTimeInUtc": p["authorizationExpirationTimeInUtc"],
                    })
                })
                .collect();
            out.insert("authorizedPartners".into(), Value::Array(partners));
            out
        }
        ResourceKind::EventSubscription => pick(
            body,
            &[
                ("endpointType", "/properties/destination/endpointType"),
                (
                    "endpointBaseUrl",
                    "/properties/destination/properties/endpointBaseUrl",
                ),
                state,
            ],
        ),
        _ => pick(body, &[("location", "/location"), state]),
    }
}

fn partner_topic_id(
    desired: &DesiredState,
    r: &DesiredResource,
    live: &LiveState,
) -> Option<crate::model::ResourceId> {
    if let Some(id) = &r.id {
        return Some(id.clone());
    }
    let crate::model::ResourceSpec::PartnerTopic(p) = &r.spec else {
        return None;
    };
    let stream = p.from_auth0_log_stream.as_deref()?;
    let name = live.auth0_streams.get(stream)?["sink"]["azurePartnerTopic"].as_str()?;
    let group = r.resource_group.as_deref()?;
    Some(
        crate::model::ResourceId::resource_group(&desired.stack.spec.subscription_id, group)
            .provider_resource(crate::model::EVENT_GRID_NAMESPACE, "partnerTopics", name),
    )
}

/// Every declared resource with its live values, in manifest order.
pub fn inventory(desired: &DesiredState, live: &LiveState) -> Vec<InventoryItem> {
    desired
        .resources
        .iter()
        .map(|r| {
            let mut item = InventoryItem {
                kind: r.kind,
                name: r.name.clone(),
                id: None,
                exists: false,
                values: Map::new(),
            };
            match r.kind {
                ResourceKind::ProviderRegistration => {
                    let state = live.providers.get(&r.name.to_ascii_lowercase());
                    item.id = r.id.as_ref().map(|i| i.to_string());
                    item.exists = state.is_some();
                    if let Some(s) = state {
                        item.values.insert("registrationState".into(), json!(s));
                    }
                }
                ResourceKind::Auth0LogStream => {
                    if let Some(s) = live.auth0_streams.get(&r.name) {
                        item.exists = true;
                        item.id = s["id"].as_str().map(str::to_string);
                        item.values = pick(
                            s,
                            &[
                                ("status", "/status"),
                                ("azurePartnerTopic", "/sink/azurePartnerTopic"),
                            ],
                        );
                    }
                }
                ResourceKind::GraphSubscription => graph_item(desired, r, live, &mut item),
                _ => {
                    let id = if r.kind == ResourceKind::PartnerTopic {
                        partner_topic_id(desired, r, live)
                    } else {
                        r.id.clone()
                    };
                    item.id = id.as_ref().map(|i| i.to_string());
                    if let Some(body) = id.as_ref().and_then(|i| live.get(i)) {
                        item.exists = true;
                        item.values = arm_values(r.kind, body);
                    }
                }
            }
            item
        })
        .collect()
}

/// A declared Graph subscription's live id and values (never its `clientState`).
fn graph_item(
    desired: &DesiredState,
    r: &DesiredResource,
    live: &LiveState,
    item: &mut InventoryItem,
) {
    let crate::model::ResourceSpec::GraphSubscription(s) = &r.spec else {
        return;
    };
    let target = super::graph_record::declared_target(desired, r, s);
    let found = super::graph_record::match_declared(live, &desired.stack.name, &r.name, &target);
    if let super::graph_record::GraphMatch::Ours(id, body) = found {
        item.exists = true;
        item.id = Some(id.to_string());
        item.values = pick(
            body,
            &[
                ("resource", "/resource"),
                ("changeType", "/changeType"),
                ("expirationDateTime", "/expirationDateTime"),
            ],
        );
    }
}
