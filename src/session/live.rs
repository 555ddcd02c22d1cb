//! Reading the live state a plan is made from: the containers the manifests touch (one
//! [`scope_of`] for the CLI, the benchmark and the tests), the Auth0 streams they declare or
//! that the stack created (one per name, its own first), the Microsoft Graph subscriptions that
//! deliver to the stack's Azure subscription, and —
//! only when asked to refresh secrets — the full webhook URLs and secret delivery attributes
//! (POSTs that the default plan avoids). Talks to ARM, Auth0 and Graph through their clients
//! only.

use serde_json::Value;

use super::SessionError;
use crate::apply::remote::Remote;
use crate::arm::{self, ArmApi, LiveScope};
use crate::auth0::LogStream;
use crate::model::graph_url::event_grid_subscriptions;
use crate::model::live::LiveState;
use crate::model::spec::{DeliveryAttributeMapping, Destination};
use crate::model::{DesiredState, ResourceId, ResourceKind, ResourceSpec};
use crate::plan::auth0_record::stream_owner;

/// The containers the desired state touches: its resource groups, the scopes of extension
/// event subscriptions, and the provider registrations (always `Microsoft.EventGrid`).
pub fn scope_of(desired: &DesiredState) -> LiveScope {
    let mut groups: Vec<String> = Vec::new();
    let mut extra: Vec<ResourceId> = Vec::new();
    for r in &desired.resources {
        if let Some(g) = &r.resource_group
            && !groups.iter().any(|x| x.eq_ignore_ascii_case(g))
        {
            groups.push(g.clone());
        }
        if let ResourceSpec::EventSubscription(s) = &r.spec
            && let Some(scope) = s.scope.as_deref().and_then(|s| ResourceId::parse(s).ok())
            && !extra.contains(&scope)
        {
            extra.push(scope);
        }
    }
    // The stack's group holds the record of extension scopes (docs/ownership.md).
    if let Some(g) = &desired.stack.spec.resource_group
        && !groups.iter().any(|x| x.eq_ignore_ascii_case(g))
    {
        groups.push(g.clone());
    }
    let mut providers: Vec<String> = desired
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::ProviderRegistration)
        .map(|r| r.name.clone())
        .collect();
    if !providers
        .iter()
        .any(|p| p.eq_ignore_ascii_case(crate::model::EVENT_GRID_NAMESPACE))
    {
        providers.push(crate::model::EVENT_GRID_NAMESPACE.into());
    }
    LiveScope {
        subscription_id: desired.stack.spec.subscription_id.clone(),
        providers,
        resource_groups: groups,
        extra_scopes: extra,
    }
}

fn arm_error(what: String) -> impl FnOnce(arm::ArmError) -> SessionError {
    move |source| SessionError::Arm {
        what,
        source: Box::new(source),
    }
}

/// Keeps the Auth0 streams a plan needs, one per name: those the manifests declare and those
/// whose sink is in a resource group the stack reads (streams it created and may have to
/// delete). Of same-name streams, the one this stack created wins (docs/auth0-streams.md).
fn keep_relevant_streams(live: &mut LiveState, desired: &DesiredState, streams: Vec<LogStream>) {
    let sub = &desired.stack.spec.subscription_id;
    let stack = &desired.stack.name;
    for s in streams {
        let declared = desired
            .resources
            .iter()
            .any(|r| r.kind == ResourceKind::Auth0LogStream && r.name == s.name);
        let in_scope = s.eventgrid_sink().is_some_and(|k| {
            k.azure_subscription_id.eq_ignore_ascii_case(sub)
                && live
                    .listed_groups
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(&k.azure_resource_group))
        });
        if !(declared || in_scope) {
            continue;
        }
        let Ok(v) = serde_json::to_value(&s) else {
            continue;
        };
        let ours = |b: &Value| stream_owner(live, stack, sub, b).is_some();
        let replace = match live.auth0_streams.get(&s.name) {
            None => true,
            Some(kept) => !ours(kept) && ours(&v),
        };
        if replace {
            live.auth0_streams.insert(s.name.clone(), v);
        }
    }
}

/// Reads everything `desired` touches; with `refresh_secrets`, also the secret parts of
/// webhook destinations so that out-of-band key changes show up.
pub async fn read_live(
    remote: &Remote,
    desired: &DesiredState,
    refresh_secrets: bool,
) -> Result<LiveState, SessionError> {
    // Writes made before the refresh (the stack lease) are not the refresh's.
    let writes_before = remote.arm.request_counts().writes;
    let scope = scope_of(desired);
    let mut live = arm::read_live(&remote.arm, &scope)
        .await
        .map_err(arm_error("cannot read the live state from ARM".into()))?
        .into_model();
    read_recorded_scopes(remote, desired, &scope, &mut live).await?;
    read_moved_away(remote, desired, &mut live).await?;
    if let Some(auth0) = &remote.auth0 {
        let streams = auth0
            .list_log_streams()
            .await
            .map_err(|source| SessionError::Auth0 {
                what: "cannot list Auth0 log streams".into(),
                source: Box::new(source),
            })?;
        keep_relevant_streams(&mut live, desired, streams);
    }
    if refresh_secrets {
        read_secret_parts(remote, desired, &mut live).await?;
    }
    live.requests.writes = remote
        .arm
        .request_counts()
        .writes
        .saturating_sub(writes_before);
    read_graph(remote, desired, &mut live).await?;
    Ok(live)
}

/// Tag-key prefix that says a stack recorded Graph subscriptions it created on a partner
/// configuration (the Graph counterpart of `gridform-auth0-stream:`).
// A record entry makes a stack with no Graph document left still read Graph (to prune).
use crate::plan::graph_record::RECORD_PREFIX as GRAPH_RECORD_PREFIX;

/// Whether the live partner configurations carry a record of Graph subscriptions.
fn records_graph(live: &LiveState) -> bool {
    live.resources.iter().any(|(id, body)| {
        id.resource_type()
            .to_ascii_lowercase()
            .ends_with("/partnerconfigurations")
            && body
                .get("tags")
                .and_then(Value::as_object)
                .is_some_and(|tags| {
                    tags.keys()
                        .any(|k| k.to_ascii_lowercase().starts_with(GRAPH_RECORD_PREFIX))
                })
    })
}

/// Lists the Graph subscriptions (every page, one request per page) when the manifests declare
/// some or a partner configuration records some, and the `source` Graph stamps for us. Its
/// requests count as the refresh's reads.
async fn read_graph(
    remote: &Remote,
    desired: &DesiredState,
    live: &mut LiveState,
) -> Result<(), SessionError> {
    let Some(graph) = &remote.graph else {
        return Ok(());
    };
    if !(super::declares_graph(desired) || records_graph(live)) {
        return Ok(());
    }
    let before = graph.request_counts();
    let graph_error = |what: &str| {
        let what = what.to_string();
        move |source| SessionError::Graph {
            what,
            source: Box::new(source),
        }
    };
    let subscriptions = graph
        .list_subscriptions()
        .await
        .map_err(graph_error("cannot list Microsoft Graph subscriptions"))?;
    live.graph_subscriptions =
        event_grid_subscriptions(subscriptions, &desired.stack.spec.subscription_id, None);
    live.graph_source = Some(
        graph
            .source()
            .await
            .map_err(graph_error("cannot tell which Graph application this is"))?,
    );
    let spent = graph.request_counts().since(&before);
    live.requests.reads = live.requests.reads.saturating_add(spent.reads);
    Ok(())
}

/// Lists the extension scopes recorded on the stack's group that the manifests no longer
/// name, so that the subscriptions this stack left there are found (a scope gone is empty).
async fn read_recorded_scopes(
    remote: &Remote,
    desired: &DesiredState,
    scope: &LiveScope,
    live: &mut LiveState,
) -> Result<(), SessionError> {
    let spec = &desired.stack.spec;
    let Some(group) = spec.resource_group.as_deref() else {
        return Ok(());
    };
    let group = ResourceId::resource_group(&spec.subscription_id, group);
    let Some(body) = live.get(&group) else {
        return Ok(());
    };
    let recorded: Vec<ResourceId> =
        crate::plan::ownership::recorded_scopes(body, &desired.stack.name)
            .iter()
            .filter_map(|s| ResourceId::parse(s).ok())
            .filter(|s| !scope.extra_scopes.contains(s))
            .collect();
    let before = remote.arm.request_counts();
    for s in recorded {
        match remote
            .arm
            .list(&arm::Collection::extension_subscriptions(&s))
            .await
        {
            Ok(items) => live
                .resources
                .extend(items.into_iter().map(|o| (o.id, o.body))),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => {
                return Err(arm_error(format!(
                    "cannot list the event subscriptions on `{s}`"
                ))(e));
            }
        }
    }
    let after = remote.arm.request_counts();
    live.requests.reads += after.reads.saturating_sub(before.reads);
    Ok(())
}

/// Top-level Event Grid types a stack may own in a resource group.
const OWNED_TYPES: [&str; 4] = [
    "partnerConfigurations",
    "topics",
    "systemTopics",
    "partnerTopics",
];

fn marked_by(body: &Value, stack: &str) -> bool {
    body.pointer(&format!("/tags/{}", crate::plan::wire::MARKER))
        .and_then(Value::as_str)
        .is_some_and(|m| m == stack)
}

/// Resources this stack owns in resource groups the manifests no longer name (the stack moved
/// to another group): found by listing each Event Grid type across the Azure subscription (four
/// reads) and keeping what carries the stack's marker, with the event subscriptions on them, so
/// the planner prunes them like any owned resource the manifests dropped.
async fn read_moved_away(
    remote: &Remote,
    desired: &DesiredState,
    live: &mut LiveState,
) -> Result<(), SessionError> {
    let stack = desired.stack.name.as_str();
    let sub = ResourceId::subscription(&desired.stack.spec.subscription_id);
    let before = remote.arm.request_counts();
    let mut found: Vec<(ResourceId, Value)> = Vec::new();
    for ty in OWNED_TYPES {
        let items = match remote.arm.list(&arm::Collection::eventgrid(&sub, ty)).await {
            Ok(items) => items,
            Err(e) if e.status() == Some(404) => continue,
            Err(e) => return Err(arm_error(format!("cannot list {ty} across `{sub}`"))(e)),
        };
        found.extend(
            items
                .into_iter()
                .filter(|o| marked_by(&o.body, stack))
                .filter(|o| {
                    o.id.resource_group_name().is_some_and(|g| {
                        !live.listed_groups.iter().any(|l| l.eq_ignore_ascii_case(g))
                    })
                })
                .map(|o| (o.id, o.body)),
        );
    }
    for (id, body) in found {
        if id.resource_type().to_ascii_lowercase().ends_with("topics") {
            let subs = arm::Collection::children(&id, "eventSubscriptions");
            let children = remote.arm.list(&subs).await.map_err(arm_error(format!(
                "cannot list the event subscriptions of `{id}`"
            )))?;
            live.resources
                .extend(children.into_iter().map(|o| (o.id, o.body)));
        }
        if let Some(g) = id.resource_group_name() {
            let g = g.to_ascii_lowercase();
            if !live.listed_groups.contains(&g) {
                live.listed_groups.push(g);
            }
        }
        live.resources.insert(id, body);
    }
    let after = remote.arm.request_counts();
    live.requests.reads += after.reads.saturating_sub(before.reads);
    Ok(())
}

fn has_secret_attribute(mappings: &[DeliveryAttributeMapping]) -> bool {
    mappings.iter().any(|m| {
        matches!(
            m,
            DeliveryAttributeMapping::Static {
                is_secret: true,
                ..
            }
        )
    })
}

async fn read_secret_parts(
    remote: &Remote,
    desired: &DesiredState,
    live: &mut LiveState,
) -> Result<(), SessionError> {
    let arm = &remote.arm;
    for r in &desired.resources {
        let (Some(id), ResourceSpec::EventSubscription(s)) = (&r.id, &r.spec) else {
            continue;
        };
        if !live.resources.contains_key(id) {
            continue;
        }
        let Some(Destination::WebHook {
            endpoint_url,
            delivery_attribute_mappings,
            ..
        }) = &s.destination
        else {
            continue;
        };
        if endpoint_url.has_query() {
            let url = arm::typed::get_full_url(arm, id)
                .await
                .map_err(arm_error(format!("cannot read the full URL of `{id}`")))?;
            live.full_urls.insert(id.clone(), url.expose().to_string());
        }
        if has_secret_attribute(delivery_attribute_mappings) {
            let attrs = arm
                .post_action(id, "getDeliveryAttributes", None)
                .await
                .map_err(arm_error(format!(
                    "cannot read the delivery attributes of `{id}`"
                )))?;
            live.delivery_attributes
                .insert(id.clone(), attrs.unwrap_or(Value::Null));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_graph_record_on_a_partner_configuration_is_noticed() {
        let mut live = LiveState::default();
        let pc = ResourceId::parse(
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventGrid/partnerConfigurations/default",
        )
        .unwrap();
        live.resources.insert(
            pc.clone(),
            json!({"tags": {"gridform-auth0-stream:x": "creating"}}),
        );
        assert!(!records_graph(&live));
        live.resources.insert(
            pc,
            json!({"tags": {"gridform-graph-subscription:users": "g1"}}),
        );
        assert!(records_graph(&live));
    }
}
