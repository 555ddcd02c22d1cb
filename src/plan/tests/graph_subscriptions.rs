//! Planner tests of Microsoft Graph subscriptions (docs/graph-partner.md): create in order,
//! renew at the `renewBefore` boundary, replace per immutable field, update of the notification
//! URL in place, `clientState` never shown, show and saved plans; and the helpers the ownership
//! tests (`graph_ownership.rs`) share.

use serde_json::{Value, json};

use super::*;
use crate::plan::graph_record::{EventGridTarget, record_id};

pub(super) const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub(super) const GROUP: &str = "entra-events";
pub(super) const CLIENT_STATE: &str = "local-dev-client-state";

type Edit = fn(&mut crate::model::spec::GraphSubscriptionSpec);

pub(super) fn reference() -> DesiredState {
    repo_manifests("manifests/graph-partner")
}

pub(super) fn graph_spec<'d>(
    d: &'d mut DesiredState,
    handle: &str,
) -> &'d mut crate::model::spec::GraphSubscriptionSpec {
    d.resources
        .iter_mut()
        .find_map(|r| match &mut r.spec {
            crate::model::ResourceSpec::GraphSubscription(s) if r.name == handle => Some(s),
            _ => None,
        })
        .unwrap()
}

/// The reference set applied through the fake, its group listed as a real read lists it.
pub(super) fn applied(d: &DesiredState) -> LiveState {
    let (_, mut live) = converge(d);
    live.listed_groups = vec![GROUP.into()];
    let again = plan(d, &live, &opts());
    assert!(
        again.errors.is_empty() && again.actions.is_empty(),
        "{again:#?}"
    );
    live
}

/// The live Graph subscription (id, body) notifying `topic`.
pub(super) fn live_sub<'l>(live: &'l LiveState, topic: &str) -> (String, &'l Value) {
    live.graph_subscriptions
        .iter()
        .find(|(_, b)| {
            b["notificationUrl"]
                .as_str()
                .unwrap()
                .contains(&format!("partnertopic={topic}&"))
        })
        .map(|(id, b)| (id.clone(), b))
        .unwrap_or_else(|| {
            panic!(
                "no subscription for {topic}: {:?}",
                live.graph_subscriptions
            )
        })
}

/// Applies `p` through the fake and checks that the next plan does nothing.
pub(super) fn apply_and_expect_no_change(p: &Plan, d: &DesiredState, live: &mut LiveState) {
    fake_apply(p, live);
    let next = plan(d, live, &opts());
    assert!(
        next.errors.is_empty() && next.actions.is_empty(),
        "{next:#?}"
    );
}

/// The plan error about `target`.
pub(super) fn error_of<'p>(p: &'p Plan, target: &str) -> &'p PlanError {
    p.errors
        .iter()
        .find(|e| e.target == target)
        .unwrap_or_else(|| panic!("{:?}", p.errors))
}

pub(super) fn graph_actions(p: &Plan) -> Vec<(ActionKind, &str)> {
    p.actions
        .iter()
        .filter(|a| a.target.kind == ResourceKind::GraphSubscription)
        .map(|a| (a.kind, a.target.name.as_str()))
        .collect()
}

pub(super) fn set_expiry(live: &mut LiveState, topic: &str, at: chrono::DateTime<Utc>) {
    let (id, _) = live_sub(live, topic);
    live.graph_subscriptions.get_mut(&id).unwrap()["expirationDateTime"] =
        json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
}

pub(super) fn foreign(topic: &str) -> Value {
    let url = EventGridTarget {
        subscription: SUB.into(),
        resource_group: GROUP.into(),
        partner_topic: topic.into(),
        location: Some("westus2".into()),
    }
    .url();
    json!({"id": "foreign-1", "resource": "users", "changeType": "updated",
           "notificationUrl": url, "clientState": "theirs",
           "expirationDateTime": "2026-11-20T00:00:00Z"})
}

#[test]
fn the_flow_is_config_then_graph_create_then_wait_activate_subscribe_and_converges() {
    let d = reference();
    let p = plan(
        &d,
        &LiveState {
            graph_source: Some(GRAPH_SOURCE.into()),
            ..Default::default()
        },
        &opts(),
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let at = |kind: ActionKind, name: &str| {
        p.actions
            .iter()
            .position(|a| a.kind == kind && a.target.name == name)
            .unwrap()
    };
    let create = at(ActionKind::Create, "entra-users");
    let config = at(ActionKind::Create, "default");
    let wait = at(ActionKind::WaitForPartner, "graph-users");
    let activate = at(ActionKind::Activate, "graph-users");
    let Operation::CreateGraphSubscription {
        handle,
        body,
        record,
    } = &p.actions[create].operation
    else {
        panic!()
    };
    assert_eq!(handle, "entra-users");
    assert_eq!(record.as_ref(), Some(&record_id(SUB, GROUP)));
    assert_eq!(body["changeType"], "deleted,updated");
    assert_eq!(
        body["expirationDateTime"], "2026-11-04T12:00:00Z",
        "validFor 3d from the plan's now"
    );
    assert_eq!(body["notificationUrl"], body["lifecycleNotificationUrl"]);
    assert!(p.actions[create].depends_on.contains(&config));
    assert!(p.actions[wait].depends_on.contains(&create));
    assert!(p.actions[activate].depends_on.contains(&wait));
    let Operation::WaitForPartner {
        expected_source, ..
    } = &p.actions[wait].operation
    else {
        panic!()
    };
    assert_eq!(expected_source, GRAPH_SOURCE);
    // Groups default to the table's maximum: 41,760 minutes (29 days).
    let groups = &p.actions[at(ActionKind::Create, "entra-groups")].operation;
    let Operation::CreateGraphSubscription { body, .. } = groups else {
        panic!()
    };
    assert_eq!(body["expirationDateTime"], "2026-11-30T12:00:00Z");
    applied(&d);
}

#[test]
fn renewal_starts_exactly_when_less_than_renew_before_remains() {
    let d = reference();
    let mut live = applied(&d);
    let now = opts().now;
    set_expiry(&mut live, "graph-users", now + chrono::Duration::days(1));
    assert!(
        graph_actions(&plan(&d, &live, &opts())).is_empty(),
        "exactly renewBefore left: not yet"
    );
    set_expiry(
        &mut live,
        "graph-users",
        now + chrono::Duration::days(1) - chrono::Duration::seconds(1),
    );
    let p = plan(&d, &live, &opts());
    assert_eq!(graph_actions(&p), [(ActionKind::Renew, "entra-users")]);
    let renew = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Renew)
        .unwrap();
    assert_eq!(renew.reason.as_deref(), Some("expires in 23h"));
    let Operation::PatchGraphSubscription { body, .. } = &renew.operation else {
        panic!()
    };
    assert_eq!(body, &json!({"expirationDateTime": "2026-11-04T12:00:00Z"}));
    apply_and_expect_no_change(&p, &d, &mut live);
}

#[test]
fn each_field_graph_cannot_patch_forces_a_replacement() {
    let d = reference();
    let live = applied(&d);
    let edits: [(&str, Edit); 5] = [
        ("resource", |s| s.resource = "users/delta".into()),
        ("changeType", |s| {
            s.change_type = vec![crate::model::spec::GraphChangeType::Updated]
        }),
        ("clientState", |s| {
            s.client_state = crate::model::Sensitive::new("rotated".into())
        }),
        ("includeResourceData", |s| {
            s.include_resource_data = Some(true)
        }),
        ("lifecycleNotificationUrl", |s| {
            s.lifecycle_notifications = Some(false)
        }),
    ];
    for (field, edit) in edits {
        let mut d2 = d.clone();
        edit(graph_spec(&mut d2, "entra-users"));
        let p = plan(&d2, &live, &opts());
        assert!(p.errors.is_empty(), "{field}: {:?}", p.errors);
        assert_eq!(
            graph_actions(&p),
            [(ActionKind::Replace, "entra-users")],
            "{field}"
        );
        let a = p
            .actions
            .iter()
            .find(|a| a.kind == ActionKind::Replace)
            .unwrap();
        let c = a
            .changes
            .iter()
            .find(|c| c.path == field)
            .unwrap_or_else(|| panic!("{field}: {:?}", a.changes));
        assert!(c.forces_replacement, "{field}");
        let mut after = live.clone();
        fake_apply(&p, &mut after);
        assert!(plan(&d2, &after, &opts()).actions.is_empty(), "{field}");
        assert_ne!(
            live_sub(&after, "graph-users").0,
            live_sub(&live, "graph-users").0,
            "{field}"
        );
    }
}

#[test]
fn a_client_state_change_is_sensitive_and_never_shown() {
    let mut d = reference();
    let live = applied(&d);
    graph_spec(&mut d, "entra-users").client_state =
        crate::model::Sensitive::new("n3w-st4te".into());
    let p = plan(&d, &live, &opts());
    let a = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Replace)
        .unwrap();
    let c = a.changes.iter().find(|c| c.path == "clientState").unwrap();
    assert!(c.sensitive && c.before.is_none() && c.after.is_none());
    let mut human = Vec::new();
    crate::render::human::write_plan(&p, &Default::default(), &mut human).unwrap();
    let json = crate::render::json::plan_value(&p);
    for text in [
        String::from_utf8(human).unwrap(),
        json.to_string(),
        format!("{p:?}"),
    ] {
        assert!(
            !text.contains("n3w-st4te") && !text.contains(CLIENT_STATE),
            "{text}"
        );
    }
    assert!(!format!("{:?}", crate::plan::build::live_digests(&live)).contains(CLIENT_STATE));
}

#[test]
fn a_notification_url_change_alone_is_an_update_in_place() {
    let mut d = reference();
    graph_spec(&mut d, "entra-users").lifecycle_notifications = Some(false);
    let mut live = applied(&d);
    for r in &mut d.resources {
        if r.name == "entra-users" {
            r.location = Some("westcentralus".into());
        }
    }
    let p = plan(&d, &live, &opts());
    assert_eq!(graph_actions(&p), [(ActionKind::Update, "entra-users")]);
    let Operation::PatchGraphSubscription { body, .. } = &p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Update)
        .unwrap()
        .operation
    else {
        panic!()
    };
    assert!(
        body["notificationUrl"]
            .as_str()
            .unwrap()
            .ends_with("location=westcentralus")
    );
    assert!(body.get("expirationDateTime").is_none());
    apply_and_expect_no_change(&p, &d, &mut live);
}

#[test]
fn a_subscription_graph_echoes_without_location_or_client_state_is_no_change() {
    let d = reference();
    let mut live = applied(&d);
    let (id, body) = live_sub(&live, "graph-users");
    let short = body["notificationUrl"]
        .as_str()
        .unwrap()
        .replace("&location=westus2", "");
    live.graph_subscriptions.get_mut(&id).unwrap()["notificationUrl"] = json!(short);
    live.graph_subscriptions.get_mut(&id).unwrap()["changeType"] = json!("updated,deleted");
    live.graph_subscriptions.get_mut(&id).unwrap()["clientState"] = Value::Null;
    assert!(plan(&d, &live, &opts()).actions.is_empty());
}

#[test]
fn show_lists_each_subscription_by_graph_id_and_the_client_state_is_a_run_secret() {
    let d = reference();
    let live = applied(&d);
    let items = crate::plan::inventory::inventory(&d, &live);
    let users = items.iter().find(|i| i.name == "entra-users").unwrap();
    assert!(users.exists);
    assert_eq!(
        users.id.as_deref(),
        Some(live_sub(&live, "graph-users").0.as_str())
    );
    assert_eq!(users.values["expirationDateTime"], "2026-11-04T12:00:00Z");
    assert!(!format!("{items:?}").contains(CLIENT_STATE));
    assert!(crate::model::secret::secrets_of(&d).contains(&CLIENT_STATE.to_string()));
}

#[test]
fn graph_subscriptions_and_their_topics_need_a_connected_graph_application() {
    let p = plan(&reference(), &LiveState::default(), &opts());
    let e = error_of(&p, "PartnerTopic `graph-users`");
    assert!(e.message.contains("Microsoft Graph"), "{}", e.message);
    let e = error_of(&p, "GraphSubscription `entra-users`");
    assert!(
        e.message.contains("cannot read the Graph subscriptions"),
        "{}",
        e.message
    );
    assert!(
        !p.actions
            .iter()
            .any(|a| a.target.kind == ResourceKind::GraphSubscription)
    );
}

#[test]
fn saved_plans_pin_graph_subscriptions_and_the_graph_source() {
    let d = reference();
    let live = applied(&d);
    let digests = crate::plan::build::live_digests(&live);
    let (id, _) = live_sub(&live, "graph-users");
    assert!(digests.contains_key(&format!("graph subscription {id}")));
    assert!(digests.contains_key("graph source"));
    let mut renewed = live.clone();
    renewed.graph_subscriptions.get_mut(&id).unwrap()["expirationDateTime"] =
        json!("2027-01-01T00:00:00Z");
    assert_ne!(
        crate::plan::build::live_digests(&live),
        crate::plan::build::live_digests(&renewed)
    );
    // A saved plan made before the outside renewal is refused, naming the subscription.
    let inputs = saved::PlanInputs {
        paths: vec!["/m".into()],
        files: vec![],
        variables: vec![],
    };
    let record = |live: &LiveState| {
        let p = plan(&d, live, &opts());
        let shown = crate::render::json::plan_value(&p);
        saved::SavedPlan::record(&p, shown, &inputs, &opts())
    };
    let differences = record(&live).differences(&record(&renewed));
    assert!(
        differences.iter().any(|d| d.contains(&id)),
        "{differences:?}"
    );
    assert!(
        !serde_json::to_string(&record(&live))
            .unwrap()
            .contains(CLIENT_STATE)
    );
}

#[test]
fn human_plan_snapshot_with_graph_subscriptions() {
    let render = |p: &Plan| {
        let mut out = Vec::new();
        crate::render::human::write_plan(p, &Default::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let d = reference();
    let live = LiveState {
        graph_source: Some(GRAPH_SOURCE.into()),
        ..Default::default()
    };
    let first = render(&plan(&d, &live, &opts()));
    // Renew one, replace the other; the fake's ids vary between runs, so they are named.
    let mut live = applied(&d);
    set_expiry(
        &mut live,
        "graph-users",
        opts().now + chrono::Duration::hours(5),
    );
    let mut changed = d.clone();
    graph_spec(&mut changed, "entra-groups").client_state =
        crate::model::Sensitive::new("rotated".into());
    let mut second = render(&plan(&changed, &live, &opts()));
    for topic in ["graph-users", "graph-groups"] {
        second = second.replace(&live_sub(&live, topic).0, &format!("<id of {topic}>"));
    }
    assert!(!first.contains(CLIENT_STATE) && !second.contains("rotated"));
    insta::assert_snapshot!(format!(
        "{first}\n--- after apply: one expiring, one clientState rotated ---\n{second}"
    ));
}

#[test]
fn a_saved_json_plan_with_graph_actions_reads_back_for_show() {
    let d = reference();
    let mut live = applied(&d);
    set_expiry(&mut live, "graph-users", opts().now);
    let p = plan(&d, &live, &opts());
    let json = crate::render::json::plan_value(&p);
    let back = crate::render::json::read_plan(&json).unwrap();
    let mut shown = Vec::new();
    crate::render::human::write_plan(&back, &Default::default(), &mut shown).unwrap();
    let shown = String::from_utf8(shown).unwrap();
    let id = live_sub(&live, "graph-users").0;
    assert!(
        shown.contains(&format!(
            "~ renew GraphSubscription `entra-users` (Graph subscription `{id}`)"
        )),
        "{shown}"
    );
    assert!(shown.contains("# expires in 0s (expired)"), "{shown}");
}

#[test]
fn replace_flag_recreates_a_graph_subscription() {
    let d = reference();
    let live = applied(&d);
    let mut o = opts();
    o.force_replace = vec![(ResourceKind::GraphSubscription, "entra-groups".into())];
    let p = plan(&d, &live, &o);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(graph_actions(&p), [(ActionKind::Replace, "entra-groups")]);
    assert_eq!(
        p.actions[0].reason.as_deref(),
        Some("replacement requested")
    );
}
