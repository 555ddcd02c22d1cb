//! Unit tests of the Microsoft Graph part of an export: the renew window against the planner's
//! rule, which Graph subscriptions become documents under which names, adopt, another stack's
//! skipped, defaults left out, `clientState` only in the secret variables, and the partner
//! topic `fromGraphSubscription`.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::build::{BuildInput, build};
use super::graph::renew_window;
use crate::model::graph::max_lifetime;
use crate::model::live::LiveState;
use crate::model::{ResourceId, ResourceKind};
use crate::plan::graph_record::{EventGridTarget, record_id, record_key};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const SOURCE: &str = "/tenants/t1/applications/a1";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap()
}

fn target(group: &str, topic: &str, location: Option<&str>) -> EventGridTarget {
    EventGridTarget {
        subscription: SUB.into(),
        resource_group: group.into(),
        partner_topic: topic.into(),
        location: location.map(str::to_string),
    }
}

/// A Graph subscription body notifying `t`, expiring `left` from now.
fn graph_body(id: &str, resource: &str, t: &EventGridTarget, left: chrono::Duration) -> Value {
    json!({"id": id, "resource": resource, "changeType": "updated,deleted",
           "notificationUrl": t.url(), "lifecycleNotificationUrl": t.url(),
           "expirationDateTime": (now() + left).to_rfc3339(), "clientState": format!("state-of-{id}"),
           "includeResourceData": false})
}

fn partner_topic(live: &mut LiveState, t: &EventGridTarget, owner: Option<&str>, source: &str) {
    let tags = owner.map_or(json!({}), |s| json!({"gridform-stack": s}));
    live.resources.insert(
        t.topic_id(),
        json!({"location": "westus2", "tags": tags,
               "properties": {"source": source, "activationState": "Activated"}}),
    );
}

/// Group `rg` (westus2) whose configuration, owned by stack `s`, records `entra-users` = `g1`.
fn graph_world() -> LiveState {
    let mut live = LiveState::default();
    let group = ResourceId::resource_group(SUB, "rg");
    live.resources.insert(
        group,
        json!({"location": "westus2", "tags": {"gridform-stack": "s"}}),
    );
    live.resources.insert(
        record_id(SUB, "rg"),
        json!({"tags": {"gridform-stack": "s", record_key("entra-users"): "g1"},
               "properties": {"partnerAuthorization": {"authorizedPartnersList": []}}}),
    );
    live.graph_source = Some(SOURCE.into());
    let users = target("rg", "graph-users", Some("westus2"));
    partner_topic(&mut live, &users, Some("s"), SOURCE);
    let day = chrono::Duration::days(1);
    live.graph_subscriptions
        .insert("g1".into(), graph_body("g1", "users", &users, day * 3));
    // Made outside gridform, twice on one topic (the smallest id is exported), elsewhere.
    let mail = target("rg", "mail", Some("northeurope"));
    partner_topic(&mut live, &mail, None, "/tenants/t9/applications/a9");
    let mut rich = graph_body("g3", "me/messages", &mail, day);
    rich["includeResourceData"] = json!(true);
    rich["lifecycleNotificationUrl"] = Value::Null;
    live.graph_subscriptions.insert("g3".into(), rich);
    let twin = graph_body("g4", "groups", &mail, day * 3);
    live.graph_subscriptions.insert("g4".into(), twin);
    let other_group = target("elsewhere", "graph-users", None);
    let far = graph_body("g5", "users", &other_group, day);
    live.graph_subscriptions.insert("g5".into(), far);
    // Notifying a topic another stack marks: skipped.
    let theirs = target("rg", "theirs", None);
    partner_topic(&mut live, &theirs, Some("other"), SOURCE);
    let theirs_body = graph_body("g6", "users", &theirs, day);
    live.graph_subscriptions.insert("g6".into(), theirs_body);
    live
}

fn input(live: &LiveState) -> BuildInput<'_> {
    BuildInput {
        live,
        subscription: SUB,
        group: "rg",
        stack: Some("s"),
        auth0_domain: None,
        now: now(),
    }
}

/// The YAML document of `kind` `name` in `text`.
fn document<'t>(text: &'t str, kind: &str, name: &str) -> &'t str {
    text.split("---\n")
        .find(|d| {
            d.contains(&format!("kind: {kind}\n")) && d.contains(&format!("  name: {name}\n"))
        })
        .unwrap_or_else(|| panic!("no {kind} {name} in\n{text}"))
}

#[test]
fn the_renew_window_never_renews_right_after_the_export() {
    let users = max_lifetime("users", false).duration();
    assert_eq!(users.to_string(), "29d");
    let fresh = i64::try_from(users.as_secs()).unwrap() - 60;
    assert_eq!(renew_window(users, fresh).to_string(), "174h", "a quarter");
    let presence = max_lifetime("communications/presences/p1", false).duration();
    assert_eq!(renew_window(presence, 3540).to_string(), "15m");
    for left in [3 * 86_400 - 5, 90_000, 7_200, 600, 121] {
        for lifetime in [users, presence] {
            let renew = renew_window(lifetime, left);
            // The planner renews when less than `renewBefore` remains (graph_subscriptions.rs).
            assert!(
                left > i64::try_from(renew.as_secs()).unwrap(),
                "{left} -> {renew}"
            );
            assert!(
                renew.as_secs() >= 60 && renew < lifetime,
                "{left} -> {renew}"
            );
        }
    }
    assert_eq!(renew_window(users, 3 * 86_400 - 5).to_string(), "35h");
    // Expired: the next apply renews it, which is what it needs.
    assert!(renew_window(users, -10).as_secs() > 0);
}

#[test]
fn graph_subscriptions_export_by_handle_or_topic_and_adopt_what_no_stack_owns() {
    let live = graph_world();
    let out = build(&input(&live)).unwrap();
    assert_eq!(out.stack, "s");
    assert_eq!(out.counts.get(&ResourceKind::GraphSubscription), Some(&2));
    assert!(
        out.skipped
            .contains(&"Microsoft Graph subscription g6".to_string()),
        "{:?}",
        out.skipped
    );
    let partner = &out.files["partner.yaml"];
    let users = document(partner, "GraphSubscription", "entra-users");
    assert!(!users.contains("adopt"), "{users}");
    for wanted in [
        "resource: users",
        "changeType:\n    - deleted\n    - updated",
        "partnerTopic: graph-users",
        "clientState: \"${env:ENTRA_USERS_CLIENT_STATE}\"",
        "validFor: 29d",
        "renewBefore: 35h",
    ] {
        assert!(users.contains(wanted), "`{wanted}` in\n{users}");
    }
    for default in ["location", "includeResourceData", "lifecycleNotifications"] {
        assert!(!users.contains(default), "{default} in\n{users}");
    }
    let mail = document(partner, "GraphSubscription", "mail");
    for wanted in [
        "adopt: true",
        "resource: me/messages",
        "location: northeurope",
        "includeResourceData: true",
        "lifecycleNotifications: false",
        "validFor: 1d",
        "renewBefore: 6h",
    ] {
        assert!(mail.contains(wanted), "`{wanted}` in\n{mail}");
    }
    assert!(
        !partner.contains("resource: groups"),
        "one per topic:\n{partner}"
    );
    let users_topic = document(partner, "PartnerTopic", "graph-users");
    assert!(users_topic.contains("fromGraphSubscription: entra-users"));
    assert!(
        !users_topic.contains("expectedSource"),
        "Graph's own source is implied"
    );
    let mail_topic = document(partner, "PartnerTopic", "mail");
    assert!(mail_topic.contains("fromGraphSubscription: mail"));
    assert!(mail_topic.contains("expectedSource: /tenants/t9/applications/a9"));
    assert!(mail_topic.contains("adopt: true"));
    // clientState values only in the secret variables, listed in the Stack.
    let values: Vec<&str> = out
        .secrets
        .values
        .values()
        .map(|v| v.expose().as_str())
        .collect();
    assert_eq!(values, ["state-of-g1", "state-of-g3"]);
    assert!(out.files.values().all(|text| !text.contains("state-of-")));
    assert!(out.files["stack.yaml"].contains("- MAIL_CLIENT_STATE"));
    assert_eq!(
        build(&input(&live)).unwrap().files,
        out.files,
        "deterministic"
    );
}

#[test]
fn an_unowned_subscription_named_like_a_handle_takes_another_name() {
    let mut live = graph_world();
    live.graph_subscriptions.retain(|id, _| id == "g1");
    let clash = target("rg", "entra-users", None);
    let body = graph_body("g0", "groups", &clash, chrono::Duration::days(2));
    live.graph_subscriptions.insert("g0".into(), body);
    let out = build(&input(&live)).unwrap();
    let partner = &out.files["partner.yaml"];
    assert!(document(partner, "GraphSubscription", "entra-users").contains("resource: users"));
    let renamed = document(partner, "GraphSubscription", "entra-users-2");
    assert!(renamed.contains("partnerTopic: entra-users"), "{renamed}");
    assert!(renamed.contains("adopt: true"), "{renamed}");
}

#[test]
fn without_graph_a_graph_partner_topic_exports_by_name() {
    let mut live = graph_world();
    live.graph_subscriptions.clear();
    live.graph_source = None;
    let out = build(&input(&live)).unwrap();
    let partner = &out.files["partner.yaml"];
    let topic = document(partner, "PartnerTopic", "graph-users");
    assert!(
        topic.contains(&format!("expectedSource: {SOURCE}")),
        "{topic}"
    );
    assert!(!partner.contains("GraphSubscription"));
}

#[test]
fn graph_is_read_only_where_the_configuration_authorizes_or_records_it() {
    use super::read::graph_may_notify;
    let list =
        |p: Value| json!({"properties": {"partnerAuthorization": {"authorizedPartnersList": [p]}}});
    assert!(graph_may_notify(&list(
        json!({"partnerName": "microsoftgraphapi"})
    )));
    let by_id = json!({"partnerRegistrationImmutableId": "C02E0126-707C-436D-B6A1-175D2748FB58"});
    assert!(graph_may_notify(&list(by_id)));
    assert!(!graph_may_notify(&list(json!({"partnerName": "Auth0"}))));
    assert!(graph_may_notify(
        &json!({"tags": {record_key("old"): "g1"}})
    ));
    assert!(!graph_may_notify(&json!({})));
}
