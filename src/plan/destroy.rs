//! The plans of `destroy` and `drift`, derived from the ordinary plan: destroy deletes what the
//! stack owns (children before parents, Auth0 streams after the partner topics they feed) and
//! keeps what is protected; drift keeps only changes to existing resources. Pure, like `plan`.

use super::{Action, ActionKind, Operation, Plan, PlanOptions, Target, plan};
use crate::model::live::LiveState;
use crate::model::{DesiredState, ResourceId, ResourceKind};

/// The desired state of a destroy: only what is protected (and the provider registrations,
/// which gridform never removes) stays.
pub fn destroy_target(desired: &DesiredState) -> DesiredState {
    let mut kept = desired.clone();
    kept.resources
        .retain(|r| r.metadata.protect || r.kind == ResourceKind::ProviderRegistration);
    kept
}

/// Deletes of everything `desired`'s stack owns in `live`, children first; never a create or
/// a change, never a protected or unowned resource.
pub fn destroy_plan(desired: &DesiredState, live: &LiveState, options: &PlanOptions) -> Plan {
    let mut p = plan(&destroy_target(desired), live, options);
    p.actions.retain(|a| a.kind == ActionKind::Delete);
    for (i, a) in p.actions.iter_mut().enumerate() {
        a.index = i;
        a.depends_on.clear();
    }
    let deletes = p.actions.len();
    order_children_first(&mut p);
    for r in desired
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Auth0LogStream && !r.metadata.protect)
    {
        let Some(stream_id) = live
            .auth0_streams
            .get(&r.name)
            .and_then(|s| s["id"].as_str())
        else {
            continue;
        };
        let index = p.actions.len();
        p.actions.push(Action {
            index,
            kind: ActionKind::Delete,
            target: Target {
                kind: r.kind,
                name: r.name.clone(),
                id: None,
            },
            changes: vec![],
            depends_on: (0..deletes).collect(),
            reason: Some("declared by this stack".into()),
            operation: Operation::Auth0Delete {
                stream_id: stream_id.to_string(),
            },
        });
    }
    p
}

/// Subscriptions before their topics: each parent's delete waits for its children's.
fn order_children_first(p: &mut Plan) {
    let ids: Vec<Option<ResourceId>> = p.actions.iter().map(|a| a.target.id.clone()).collect();
    for (a, own) in p.actions.iter_mut().zip(&ids) {
        let Some(id) = own else { continue };
        a.depends_on = ids
            .iter()
            .enumerate()
            .filter(|(_, child)| child.as_ref().and_then(|c| c.parent()).as_ref() == Some(id))
            .map(|(j, _)| j)
            .collect();
    }
}

/// The drift in `p`: changes to resources that exist and are this stack's (creations are not
/// drift; unmanaged resources are not listed).
pub fn drift_only(mut p: Plan) -> Plan {
    p.actions.retain(|a| {
        matches!(
            a.kind,
            ActionKind::Update
                | ActionKind::Replace
                | ActionKind::Activate
                | ActionKind::Deactivate
                | ActionKind::Renew
        ) && a.target.id.is_some()
    });
    p.unmanaged.clear();
    p
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::manifest::parse_sources;

    const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: s1}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000001, resourceGroup: rg, location: westeurope}
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
spec: {}
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: kept, protect: true}
spec: {}
";
    const RG: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg";

    fn options() -> PlanOptions {
        PlanOptions {
            now: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
            salt: "s4lt".into(),
            refresh_secrets: false,
            force_replace: vec![],
        }
    }

    fn owned(live: &mut LiveState, path: &str, body: serde_json::Value) -> ResourceId {
        let id = ResourceId::parse(&format!("{RG}{path}")).unwrap();
        live.resources.insert(id.clone(), body);
        id
    }

    fn world() -> (DesiredState, LiveState, ResourceId, ResourceId) {
        let loaded = parse_sources(&[("m.yaml".into(), STACK.to_string())], &|_| None);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let mut live = LiveState {
            listed_groups: vec!["rg".into()],
            ..LiveState::default()
        };
        let tags = json!({"gridform-stack": "s1"});
        let topic = owned(
            &mut live,
            "/providers/Microsoft.EventGrid/topics/orders",
            json!({"location": "westeurope", "tags": tags, "properties": {}}),
        );
        owned(
            &mut live,
            "/providers/Microsoft.EventGrid/topics/kept",
            json!({"location": "westeurope", "tags": tags, "properties": {}}),
        );
        let sub = owned(
            &mut live,
            "/providers/Microsoft.EventGrid/topics/orders/providers/Microsoft.EventGrid/eventSubscriptions/hook",
            json!({"properties": {"labels": ["gridform-stack=s1"], "destination": {"endpointType": "WebHook"}}}),
        );
        (loaded.state.unwrap(), live, topic, sub)
    }

    #[test]
    fn destroy_deletes_children_first_and_keeps_protected() {
        let (desired, live, topic, sub) = world();
        let p = destroy_plan(&desired, &live, &options());
        assert!(p.actions.iter().all(|a| a.kind == ActionKind::Delete));
        let names: Vec<&str> = p.actions.iter().map(|a| a.target.name.as_str()).collect();
        assert!(
            !names.contains(&"kept"),
            "protected topic deleted: {names:?}"
        );
        let of = |id: &ResourceId| {
            p.actions
                .iter()
                .position(|a| a.target.id.as_ref() == Some(id))
                .unwrap_or_else(|| panic!("no delete of {id}: {names:?}"))
        };
        assert!(p.actions[of(&topic)].depends_on.contains(&of(&sub)));
    }

    #[test]
    fn drift_keeps_only_changes_to_existing_resources() {
        let (desired, mut live, _, _) = world();
        live.resources.clear();
        let p = plan(&desired, &live, &options());
        assert!(p.actions.iter().any(|a| a.kind == ActionKind::Create));
        assert!(drift_only(p).actions.is_empty());
    }
}
