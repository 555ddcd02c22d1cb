//! Reading what `gridform export` turns into manifests: one resource group's Event Grid
//! resources through the same list-based reads as `plan`'s refresh (`arm::read_live`), the
//! secret parts that GET never returns (`getFullUrl`, `getDeliveryAttributes`: POSTs, only for
//! the subscriptions that may hold a secret), the Auth0 log streams whose sink is the group,
//! and — when a Graph client is connected and the group's partner configuration authorizes or
//! records Microsoft Graph — the Graph subscriptions notifying a partner topic in the group.
//!
//! Read-only: no PUT, PATCH or DELETE, no lease. It must not decide what the manifests say
//! (`build` does) and never logs a secret value.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use super::ExportError;
use crate::apply::remote::Remote;
use crate::arm::read::READ_CONCURRENCY;
use crate::arm::{self, LiveScope};
use crate::manifest::{GRAPH_PARTNER_ID, GRAPH_PARTNER_NAME};
use crate::model::graph_url::event_grid_subscriptions;
use crate::model::live::LiveState;
use crate::model::{EVENT_GRID_NAMESPACE, ResourceId};
use crate::plan::graph_record::{RECORD_PREFIX as GRAPH_RECORD_PREFIX, record_id};
use crate::plan::wire::{MARKER, SECRETS_LABEL};

/// What was read: the live state (bodies, full URLs, delivery attributes, Auth0 streams of the
/// group) and the Auth0 tenant the client talks to, when there is a client.
pub struct Snapshot {
    /// The live state of the group.
    pub live: LiveState,
    /// The Auth0 tenant domain, when Auth0 was read.
    pub auth0_domain: Option<String>,
    /// Microsoft Graph requests spent (0 when Graph was not read).
    pub graph_requests: u64,
}

fn arm_error(what: String) -> impl FnOnce(arm::ArmError) -> ExportError {
    move |source| ExportError::Arm {
        what,
        source: Box::new(source),
    }
}

/// Reads resource group `group` of Azure subscription `subscription`.
pub async fn read_group(
    remote: &Remote,
    subscription: &str,
    group: &str,
) -> Result<Snapshot, ExportError> {
    let before = remote.arm.request_counts();
    let scope = LiveScope {
        subscription_id: subscription.to_string(),
        providers: vec![EVENT_GRID_NAMESPACE.to_string()],
        resource_groups: vec![group.to_string()],
        extra_scopes: Vec::new(),
    };
    let mut live = arm::read_live(&remote.arm, &scope)
        .await
        .map_err(arm_error(format!(
            "cannot read resource group `{group}` from ARM"
        )))?
        .into_model();
    let group_id = ResourceId::resource_group(subscription, group);
    if !live.resources.contains_key(&group_id) {
        return Err(ExportError::NoGroup {
            group: group.to_string(),
            subscription: subscription.to_string(),
        });
    }
    read_secret_parts(remote, &mut live).await?;
    let auth0_domain = match &remote.auth0 {
        Some(client) => {
            let streams = client
                .list_log_streams()
                .await
                .map_err(|source| ExportError::Auth0 {
                    what: "cannot list Auth0 log streams".into(),
                    source: Box::new(source),
                })?;
            for s in streams {
                let sink = s.eventgrid_sink();
                let here = sink.is_some_and(|k| {
                    k.azure_subscription_id.eq_ignore_ascii_case(subscription)
                        && k.azure_resource_group.eq_ignore_ascii_case(group)
                });
                // Same-name streams: the first by id, so that re-exports agree.
                let first = live
                    .auth0_streams
                    .get(&s.name)
                    .and_then(|kept| kept["id"].as_str())
                    .is_none_or(|kept| s.id.as_str() < kept);
                if here
                    && first
                    && let Ok(v) = serde_json::to_value(&s)
                {
                    live.auth0_streams.insert(s.name.clone(), v);
                }
            }
            Some(client.domain().to_string())
        }
        None => None,
    };
    live.requests = remote.arm.request_counts().since(&before);
    let graph_requests = read_graph(remote, subscription, group, &mut live).await?;
    Ok(Snapshot {
        live,
        auth0_domain,
        graph_requests,
    })
}

/// Whether the group's partner configuration (`body`) authorizes Microsoft Graph (by name or
/// immutable id) or records Graph subscriptions a stack created: only then can a partner topic
/// of Graph's be in the group, and only then is Graph asked.
pub(super) fn graph_may_notify(body: &Value) -> bool {
    let authorizes = body
        .pointer("/properties/partnerAuthorization/authorizedPartnersList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|p| {
            p["partnerName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(GRAPH_PARTNER_NAME))
                || p["partnerRegistrationImmutableId"]
                    .as_str()
                    .is_some_and(|i| i.eq_ignore_ascii_case(GRAPH_PARTNER_ID))
        });
    let records = body
        .get("tags")
        .and_then(Value::as_object)
        .is_some_and(|tags| {
            tags.keys()
                .any(|k| k.to_ascii_lowercase().starts_with(GRAPH_RECORD_PREFIX))
        });
    authorizes || records
}

/// Lists the Graph subscriptions once (every page) and keeps, by id, those whose
/// `EventGrid:?` notification URL names a partner topic of `group` in `subscription`; also the
/// `source` Graph stamps for the connected application. Returns the Graph requests spent.
async fn read_graph(
    remote: &Remote,
    subscription: &str,
    group: &str,
    live: &mut LiveState,
) -> Result<u64, ExportError> {
    let Some(graph) = &remote.graph else {
        return Ok(0);
    };
    let config = live.get(&record_id(subscription, group));
    if !config.is_some_and(graph_may_notify) {
        return Ok(0);
    }
    let before = graph.request_counts();
    let graph_error = |what: &str| {
        let what = what.to_string();
        move |source| ExportError::Graph {
            what,
            source: Box::new(source),
        }
    };
    let listed = graph
        .list_subscriptions()
        .await
        .map_err(graph_error("cannot list Microsoft Graph subscriptions"))?;
    live.graph_subscriptions = event_grid_subscriptions(listed, subscription, Some(group));
    live.graph_source = Some(graph.source().await.map_err(graph_error(
        "cannot tell which Microsoft Graph application this is",
    ))?);
    Ok(graph.request_counts().since(&before).total())
}

/// The destination of a subscription body (direct or with the topic's identity).
pub(crate) fn destination_of(body: &Value) -> Option<&Value> {
    body.pointer("/properties/destination")
        .or_else(|| body.pointer("/properties/deliveryWithResourceIdentity/destination"))
}

fn labels(body: &Value) -> impl Iterator<Item = &str> {
    body.pointer("/properties/labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Whether the webhook URL may carry a query string: gridform records a digest label on the
/// subscriptions it owns that have secret parts, so an owned one without it has none; anything
/// else is asked (`getFullUrl`).
fn may_have_query(body: &Value) -> bool {
    let owned = labels(body).any(|l| l.starts_with(&format!("{MARKER}=")));
    !owned || labels(body).any(|l| l.starts_with(SECRETS_LABEL))
}

fn is_webhook(dest: &Value) -> bool {
    dest["endpointType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("WebHook"))
}

fn has_secret_attribute(dest: &Value) -> bool {
    dest.pointer("/properties/deliveryAttributeMappings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|m| m.pointer("/properties/isSecret") == Some(&Value::Bool(true)))
}

/// A secret part to read: the subscription and whether it is the URL (else the attributes).
type SecretRead = (ResourceId, bool);

async fn read_secret_parts(remote: &Remote, live: &mut LiveState) -> Result<(), ExportError> {
    let mut wanted: Vec<SecretRead> = Vec::new();
    for (id, body) in &live.resources {
        let ty = id.resource_type().to_ascii_lowercase();
        if !(ty.starts_with("microsoft.eventgrid/") && ty.ends_with("/eventsubscriptions")) {
            continue;
        }
        let Some(dest) = destination_of(body) else {
            continue;
        };
        if is_webhook(dest) && may_have_query(body) {
            wanted.push((id.clone(), true));
        }
        if has_secret_attribute(dest) {
            wanted.push((id.clone(), false));
        }
    }
    let arm = &remote.arm;
    let results: Vec<(SecretRead, Value)> = stream::iter(wanted)
        .map(|(id, url)| async move {
            let value = if url {
                arm::typed::get_full_url(arm, &id)
                    .await
                    .map(|u| Value::String(u.expose().to_string()))
            } else {
                arm::typed::get_delivery_attributes(arm, &id)
                    .await
                    .map(|a| Value::Array(a.expose().clone()))
            };
            let what = if url {
                format!("cannot read the full URL of `{id}`")
            } else {
                format!("cannot read the delivery attributes of `{id}`")
            };
            value.map(|v| ((id, url), v)).map_err(arm_error(what))
        })
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    for ((id, url), value) in results {
        match (url, value) {
            (true, Value::String(u)) => {
                live.full_urls.insert(id, u);
            }
            (_, v) => {
                live.delivery_attributes.insert(id, v);
            }
        }
    }
    Ok(())
}
