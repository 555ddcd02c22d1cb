//! The plans of `destroy` and `drift`, derived from the ordinary plan: destroy deletes what the
//! stack owns (children before parents, Auth0 streams it created after the partner topics they
//! feed) and keeps (and lists) what is protected; drift is everything `plan` would do or refuse.
//! Pure.

use super::{ActionKind, Plan, PlanOptions, Unmanaged, plan};
use crate::model::live::LiveState;
use crate::model::{DesiredState, ResourceId, ResourceKind};

/// The desired state of a destroy: only what is protected (and the provider registrations,
/// which gridform never removes) stays.
pub fn destroy_target(desired: &DesiredState) -> DesiredState {
    let mut kept = desired.clone();
    kept.resources
        .retain(|r| r.metadata.protected() || r.kind == ResourceKind::ProviderRegistration);
    kept
}

/// Deletes of everything `desired`'s stack owns in `live`, children first; never a create or
/// a change, never a protected or unowned resource.
pub fn destroy_plan(desired: &DesiredState, live: &LiveState, options: &PlanOptions) -> Plan {
    let mut p = plan(&destroy_target(desired), live, options);
    p.actions.retain(|a| a.kind == ActionKind::Delete);
    for r in desired.resources.iter().filter(|r| r.metadata.protected()) {
        if let Some(id) = r.id.as_ref().filter(|id| live.get(id).is_some()) {
            p.kept.push(Unmanaged {
                id: id.clone(),
                reason: "protected (`metadata.protect: true`): destroy never deletes it".into(),
            });
        }
    }
    for (i, a) in p.actions.iter_mut().enumerate() {
        a.index = i;
        a.depends_on.clear();
    }
    order_children_first(&mut p);
    // Auth0 streams this stack created were pruned like undeclared resources: each after its
    // partner topic, before the partner configuration that records it.
    super::order_auth0_deletes(&mut p.actions);
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

/// The drift report of `p`: everything `plan` would act on (Auth0 streams, partner topics and
/// creations of what is missing included) and every error it would refuse over. Unmanaged
/// resources are not drift and are dropped; protected resources kept are listed, not drift.
pub fn drift_only(mut p: Plan) -> Plan {
    p.unmanaged.clear();
    p
}

/// Whether a drift report has drift (`gridform drift` exits 2).
pub fn has_drift(p: &Plan) -> bool {
    p.has_changes() || !p.errors.is_empty()
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
            json!({"location": "westeurope", "tags": {"gridform-stack": "s1", "gridform-protect": "true"}, "properties": {}}),
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
    fn drift_is_what_plan_would_do_or_refuse_but_not_unmanaged() {
        let (desired, mut live, topic, sub) = world();
        live.resources.remove(&sub);
        live.resources.insert(
            ResourceId::parse(RG).unwrap(),
            json!({"location": "westeurope"}),
        );
        let stray = owned(
            &mut live,
            "/providers/Microsoft.EventGrid/topics/stray",
            json!({"location": "westeurope", "properties": {}}),
        );
        let p = drift_only(plan(&desired, &live, &options()));
        assert!(p.unmanaged.is_empty() && !has_drift(&p), "{p:?}");
        assert!(live.resources.contains_key(&stray));
        // A wiped ownership tag: plan refuses, so drift reports it.
        live.resources.get_mut(&topic).unwrap()["tags"] = json!({});
        let p = drift_only(plan(&desired, &live, &options()));
        assert!(has_drift(&p) && p.actions.is_empty(), "{p:?}");
        // A missing resource is drift too: plan would create it.
        live.resources.remove(&topic);
        let p = drift_only(plan(&desired, &live, &options()));
        assert!(has_drift(&p) && p.errors.is_empty(), "{p:?}");
    }

    #[test]
    fn destroy_lists_what_it_keeps() {
        let (desired, mut live, _, _) = world();
        let p = destroy_plan(&desired, &live, &options());
        assert!(p.kept.iter().any(|k| k.id.name() == "kept"), "{:?}", p.kept);
        // Protection recorded on the resource holds even when the document no longer says it.
        let id = owned(
            &mut live,
            "/providers/Microsoft.EventGrid/topics/tagged",
            json!({"location": "westeurope", "tags": {"gridform-stack": "s1", "gridform-protect": "true"}, "properties": {}}),
        );
        let p = destroy_plan(&desired, &live, &options());
        assert!(p.kept.iter().any(|k| k.id == id), "{:?}", p.kept);
        assert!(!p.actions.iter().any(|a| a.target.id.as_ref() == Some(&id)));
    }
}
