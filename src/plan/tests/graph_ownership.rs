//! Planner tests of who owns a Microsoft Graph subscription (docs/graph-partner.md): renames,
//! removed documents, destroy, foreign subscriptions (error, adopt, never deleted) and the crash
//! windows around the record.

use serde_json::{Value, json};

use super::graph_subscriptions::*;
use super::*;
use crate::plan::destroy::destroy_plan;
use crate::plan::graph_record::{CREATING, record_id, record_key};

#[test]
fn a_rename_creates_the_new_subscription_and_deletes_the_old_one() {
    let mut live = applied(&reference());
    let (old_id, _) = live_sub(&live, "graph-users");
    let mut d = reference();
    for r in &mut d.resources {
        match &mut r.spec {
            crate::model::ResourceSpec::GraphSubscription(_) if r.name == "entra-users" => {
                r.name = "users-v2".into()
            }
            crate::model::ResourceSpec::PartnerTopic(t) if r.name == "graph-users" => {
                t.from_graph_subscription = Some("users-v2".into())
            }
            _ => {}
        }
    }
    let p = plan(&d, &live, &opts());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(
        graph_actions(&p),
        [
            (ActionKind::Create, "users-v2"),
            (ActionKind::Delete, "entra-users")
        ]
    );
    assert!(
        !p.actions
            .iter()
            .any(|a| a.target.kind == ResourceKind::PartnerTopic && a.kind == ActionKind::Delete),
        "the topic is still declared"
    );
    fake_apply(&p, &mut live);
    assert!(!live.graph_subscriptions.contains_key(&old_id));
    let config = &live.resources[&record_id(SUB, GROUP)];
    assert!(
        config["tags"].get(record_key("entra-users")).is_none(),
        "{config}"
    );
    assert!(plan(&d, &live, &opts()).actions.is_empty());
}

#[test]
fn removing_the_documents_deletes_the_subscription_and_its_partner_topic_but_no_foreign_one() {
    let mut live = applied(&reference());
    live.graph_subscriptions
        .insert("foreign-1".into(), foreign("someone-elses"));
    let mut d = reference();
    d.resources
        .retain(|r| !(r.name.contains("users") || r.name == "user-changes"));
    let p = plan(&d, &live, &opts());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(graph_actions(&p), [(ActionKind::Delete, "entra-users")]);
    let topic = p
        .actions
        .iter()
        .position(|a| a.target.name == "graph-users" && a.kind == ActionKind::Delete)
        .unwrap();
    let sub = p
        .actions
        .iter()
        .position(|a| a.target.kind == ResourceKind::GraphSubscription)
        .unwrap();
    assert!(p.actions[sub].depends_on.contains(&topic));
    fake_apply(&p, &mut live);
    assert!(live.graph_subscriptions.contains_key("foreign-1"));
    assert_eq!(live.graph_subscriptions.len(), 2);
    assert!(plan(&d, &live, &opts()).actions.is_empty());
}

#[test]
fn destroy_deletes_only_this_stacks_subscriptions_topic_then_subscription_then_record() {
    let mut live = applied(&reference());
    live.graph_subscriptions
        .insert("foreign-1".into(), foreign("someone-elses"));
    let p = destroy_plan(&reference(), &live, &opts());
    let deleted: Vec<&str> = p
        .actions
        .iter()
        .filter_map(|a| match &a.operation {
            Operation::DeleteGraphSubscription { graph_id, .. } => Some(graph_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted.len(), 2);
    assert!(!deleted.contains(&"foreign-1"));
    let config = p
        .actions
        .iter()
        .position(|a| a.target.id.as_ref() == Some(&record_id(SUB, GROUP)))
        .unwrap();
    for (i, a) in p.actions.iter().enumerate() {
        assert!(a.depends_on.iter().all(|d| *d < a.index), "{a:?}");
        if let Operation::DeleteGraphSubscription { partner_topic, .. } = &a.operation {
            assert!(p.actions[config].depends_on.contains(&i));
            let t = p
                .actions
                .iter()
                .position(|b| b.target.id == *partner_topic)
                .unwrap();
            assert!(a.depends_on.contains(&t));
        }
    }
    fake_apply(&p, &mut live);
    assert_eq!(
        live.graph_subscriptions.keys().collect::<Vec<_>>(),
        ["foreign-1"]
    );
}

#[test]
fn a_foreign_subscription_on_a_declared_topic_is_an_error_and_adopt_takes_it_over() {
    let mut live = LiveState {
        graph_source: Some(GRAPH_SOURCE.into()),
        ..Default::default()
    };
    live.graph_subscriptions
        .insert("foreign-1".into(), foreign("graph-users"));
    let p = plan(&reference(), &live, &opts());
    let e = error_of(&p, "GraphSubscription `entra-users`");
    assert!(
        e.message.contains("foreign-1") && e.message.contains("graph-users"),
        "{}",
        e.message
    );
    assert!(e.hint.as_deref().unwrap().contains("metadata.adopt: true"));

    let mut d = reference();
    for r in &mut d.resources {
        if r.name == "entra-users" {
            r.metadata.adopt = true;
        }
    }
    let p = plan(&d, &live, &opts());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let config = p
        .actions
        .iter()
        .find(|a| a.target.id.as_ref() == Some(&record_id(SUB, GROUP)))
        .unwrap();
    let Operation::Put { body, .. } = &config.operation else {
        panic!()
    };
    assert_eq!(
        body.as_value()["tags"][record_key("entra-users")],
        "foreign-1"
    );
    // Its clientState differs from ours: taken over, then replaced.
    assert_eq!(
        graph_actions(&p),
        [
            (ActionKind::Replace, "entra-users"),
            (ActionKind::Create, "entra-groups")
        ]
    );
}

#[test]
fn a_crash_after_the_intent_and_before_the_create_creates_it_and_keeps_the_entry() {
    let d = reference();
    let mut live = applied(&d);
    let (id, _) = live_sub(&live, "graph-users");
    live.graph_subscriptions.remove(&id);
    let config = record_id(SUB, GROUP);
    live.resources.get_mut(&config).unwrap()["tags"][record_key("entra-users")] = json!(CREATING);
    let p = plan(&d, &live, &opts());
    assert_eq!(graph_actions(&p), [(ActionKind::Create, "entra-users")]);
    assert!(
        !p.actions
            .iter()
            .any(|a| a.target.id.as_ref() == Some(&config)),
        "the entry is kept"
    );
    apply_and_expect_no_change(&p, &d, &mut live);
}

#[test]
fn a_crash_after_the_create_and_before_the_id_is_recorded_takes_no_second_subscription() {
    let d = reference();
    let mut live = applied(&d);
    let config = record_id(SUB, GROUP);
    live.resources.get_mut(&config).unwrap()["tags"][record_key("entra-users")] = json!(CREATING);
    // The partner topic was never activated (no marker): ours by the intent alone.
    let topic = ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.EventGrid/partnerTopics/graph-users")).unwrap();
    live.resources.get_mut(&topic).unwrap()["tags"] = Value::Null;
    let p = plan(&d, &live, &opts());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert!(graph_actions(&p).is_empty(), "{:?}", graph_actions(&p));
    let record = p
        .actions
        .iter()
        .find(|a| a.target.id.as_ref() == Some(&config))
        .unwrap();
    let change = record
        .changes
        .iter()
        .find(|c| c.path.contains(&record_key("entra-users")))
        .unwrap();
    assert_eq!(change.before, Some(json!(CREATING)));
    assert_eq!(change.after, Some(json!(live_sub(&live, "graph-users").0)));
    apply_and_expect_no_change(&p, &d, &mut live);
}

#[test]
fn a_recorded_subscription_that_expired_is_created_again() {
    let d = reference();
    let mut live = applied(&d);
    let (id, _) = live_sub(&live, "graph-groups");
    live.graph_subscriptions.remove(&id);
    let p = plan(&d, &live, &opts());
    assert_eq!(graph_actions(&p), [(ActionKind::Create, "entra-groups")]);
    apply_and_expect_no_change(&p, &d, &mut live);
}
