//! Planner tests of replacements: immutable fields plan `-/+`, `--replace` (PlanOptions
//! `force_replace`), a replaced parent takes its subscriptions with it, and what refuses to
//! replace (protection, subscriptions the stack does not manage, a resource group's location).
//! Each applies through the crate's fake and checks that the next plan is empty.

use serde_json::json;

use super::tests::{STACK, TOPIC_AND_SUB, converge, desired, fake_apply, opts, repo_manifests};
use super::*;
use crate::model::live::LiveState;
use crate::model::{DesiredState, ResourceKind};

const SECOND_SUB: &str = "---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: audit}
spec:
  topic: {kind: Topic, name: orders}
  destination: {endpointType: WebHook, endpointUrl: 'https://h.example.com/audit'}
";

fn with(opts: PlanOptions, kind: ResourceKind, name: &str) -> PlanOptions {
    PlanOptions {
        force_replace: vec![(kind, name.to_string())],
        ..opts
    }
}

/// Applies `p` and checks that the plan after it is empty.
fn apply_then_empty(d: &DesiredState, p: &Plan, live: &mut LiveState) {
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    fake_apply(p, live);
    let next = plan(d, live, &opts());
    assert!(next.errors.is_empty(), "{:?}", next.errors);
    assert!(next.actions.is_empty(), "{:#?}", next.actions);
}

fn summary(p: &Plan) -> Vec<(ActionKind, String, Option<String>)> {
    p.actions
        .iter()
        .map(|a| (a.kind, a.target.name.clone(), a.reason.clone()))
        .collect()
}

#[test]
fn adding_event_delivery_schema_replaces_the_subscription() {
    let (_, mut live) = converge(&desired(&format!("{STACK}{TOPIC_AND_SUB}")));
    let d = desired(&format!(
        "{STACK}{TOPIC_AND_SUB}  eventDeliverySchema: CloudEventSchemaV1_0\n"
    ));
    let p = plan(&d, &live, &opts());
    assert_eq!(summary(&p), [(ActionKind::Replace, "hook".into(), None)]);
    let a = &p.actions[0];
    assert!(matches!(a.operation, Operation::Replace { .. }));
    let forcing: Vec<&str> = a
        .changes
        .iter()
        .filter(|c| c.forces_replacement)
        .map(|c| c.path.as_str())
        .collect();
    assert_eq!(forcing, ["properties.eventDeliverySchema"]);
    apply_then_empty(&d, &p, &mut live);
}

#[test]
fn changing_a_topic_input_schema_replaces_it_and_its_subscriptions() {
    let before = desired(&format!("{STACK}{TOPIC_AND_SUB}{SECOND_SUB}"));
    let (_, mut live) = converge(&before);
    let changed = format!("{STACK}{TOPIC_AND_SUB}{SECOND_SUB}").replace(
        "metadata: {name: orders}\n",
        "metadata: {name: orders}\nspec: {inputSchema: CloudEventSchemaV1_0}\n",
    );
    let d = desired(&changed);
    let p = plan(&d, &live, &opts());
    let with_topic = Some("replaced with its topic".to_string());
    assert_eq!(
        summary(&p),
        [
            (ActionKind::Replace, "orders".into(), None),
            (ActionKind::Replace, "hook".into(), with_topic.clone()),
            (ActionKind::Replace, "audit".into(), with_topic),
        ]
    );
    for child in &p.actions[1..] {
        assert_eq!(child.depends_on, [0], "{child:?}");
        // The topic's delete already took the subscription: only the create is left.
        assert!(matches!(child.operation, Operation::Put { .. }));
    }
    assert_eq!(p.summary().replace, 3);
    apply_then_empty(&d, &p, &mut live);
    assert_eq!(
        live.resources
            .keys()
            .filter(|id| id.parent().is_some_and(|t| t == super::tests::topic_id()))
            .count(),
        2
    );
}

const SYSTEM_TOPIC: &str = "apiVersion: gridform/v1
kind: SystemTopic
metadata: {name: signalr}
spec:
  source: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.SignalRService/SignalR/chat
  topicType: Microsoft.SignalRService.SignalR
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: connected}
spec:
  topic: {kind: SystemTopic, name: signalr}
  destination: {endpointType: WebHook, endpointUrl: 'https://h.example.com/c'}
";

#[test]
fn changing_a_system_topic_source_replaces_it_and_its_subscription() {
    let (_, mut live) = converge(&desired(&format!("{STACK}{SYSTEM_TOPIC}")));
    let d = desired(&format!("{STACK}{SYSTEM_TOPIC}").replace("SignalR/chat", "SignalR/chat2"));
    let p = plan(&d, &live, &opts());
    assert_eq!(
        summary(&p),
        [
            (ActionKind::Replace, "signalr".into(), None),
            (
                ActionKind::Replace,
                "connected".into(),
                Some("replaced with its topic".into())
            ),
        ]
    );
    assert!(
        p.actions[0]
            .changes
            .iter()
            .any(|c| c.forces_replacement && c.path == "properties.source")
    );
    apply_then_empty(&d, &p, &mut live);
}

#[test]
fn replace_requested_for_an_unchanged_topic_replaces_it_and_its_subscriptions() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, mut live) = converge(&d);
    let p = plan(&d, &live, &with(opts(), ResourceKind::Topic, "orders"));
    assert_eq!(
        summary(&p),
        [
            (
                ActionKind::Replace,
                "orders".into(),
                Some("replacement requested".into())
            ),
            (
                ActionKind::Replace,
                "hook".into(),
                Some("replaced with its topic".into())
            ),
        ]
    );
    assert!(matches!(p.actions[0].operation, Operation::Replace { .. }));
    apply_then_empty(&d, &p, &mut live);
}

#[test]
fn replace_requested_for_a_subscription_replaces_only_it() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, mut live) = converge(&d);
    let p = plan(
        &d,
        &live,
        &with(opts(), ResourceKind::EventSubscription, "hook"),
    );
    assert_eq!(
        summary(&p),
        [(
            ActionKind::Replace,
            "hook".into(),
            Some("replacement requested".into())
        )]
    );
    assert!(matches!(p.actions[0].operation, Operation::Replace { .. }));
    apply_then_empty(&d, &p, &mut live);
}

#[test]
fn replace_of_an_undeclared_or_unreplaceable_resource_is_a_plan_error() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, live) = converge(&d);
    let p = plan(&d, &live, &with(opts(), ResourceKind::Topic, "ordrs"));
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].target, "--replace Topic/ordrs");
    assert!(p.errors[0].message.contains("no Topic named `ordrs`"));
    let p = plan(&d, &live, &with(opts(), ResourceKind::ResourceGroup, "rg"));
    assert!(
        p.errors[0].message.contains("cannot be replaced"),
        "{:?}",
        p.errors
    );
}

#[test]
fn protected_subscription_under_a_replaced_topic_is_an_error() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, live) = converge(&d);
    let protected = desired(&format!("{STACK}{TOPIC_AND_SUB}").replace(
        "metadata: {name: hook}",
        "metadata: {name: hook, protect: true}",
    ));
    let p = plan(
        &protected,
        &live,
        &with(opts(), ResourceKind::Topic, "orders"),
    );
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].target, "EventSubscription `hook`");
    assert!(p.errors[0].message.contains("its topic is replaced"));
}

#[test]
fn unmanaged_subscription_under_a_topic_to_replace_is_an_error() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, mut live) = converge(&d);
    let stray = super::tests::topic_id().child("eventSubscriptions", "manual");
    live.resources
        .insert(stray, json!({"properties": {"labels": ["ops"]}}));
    let p = plan(&d, &live, &with(opts(), ResourceKind::Topic, "orders"));
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(p.errors[0].message.contains("does not manage: `manual`"));
}

#[test]
fn resource_group_location_change_is_refused_not_replaced() {
    let group = "apiVersion: gridform/v1\nkind: ResourceGroup\nmetadata: {name: events-rg}\nspec: {location: westeurope}\n";
    let d = desired(&format!("{STACK}{group}"));
    let (_, live) = converge(&d);
    let moved = desired(&format!(
        "{STACK}{}",
        group.replace("westeurope}", "northeurope}")
    ));
    let p = plan(&moved, &live, &opts());
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(p.errors.len(), 1);
    assert!(p.errors[0].message.contains("cannot change `location`"));
}

#[test]
fn auth0_sink_change_replaces_the_stream_and_recreates_subscriptions_on_the_new_topic() {
    let d = repo_manifests("manifests/auth0-partner");
    let (_, mut live) = converge(&d);
    let old_topic = live.auth0_streams["azure-events"]["sink"]["azurePartnerTopic"].clone();
    // As if the manifest's region had changed: the live sink differs.
    live.auth0_streams.get_mut("azure-events").unwrap()["sink"]["azureRegion"] = json!("westus2");
    let p = plan(&d, &live, &opts());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let stream = &p.actions[0];
    assert_eq!(
        (stream.kind, stream.target.name.as_str()),
        (ActionKind::Replace, "azure-events")
    );
    assert!(
        stream
            .changes
            .iter()
            .any(|c| c.path == "sink.azureRegion" && c.forces_replacement)
    );
    let subs: Vec<&Action> = p
        .actions
        .iter()
        .filter(|a| a.target.kind == ResourceKind::EventSubscription)
        .collect();
    assert_eq!(subs.len(), 2, "{:#?}", p.actions);
    for s in subs {
        assert_eq!(s.kind, ActionKind::Replace);
        assert_eq!(s.reason.as_deref(), Some("replaced with its topic"));
        assert!(matches!(
            &s.operation,
            Operation::Put {
                at: Locator::PartnerTopicOf { .. },
                ..
            }
        ));
    }
    apply_then_empty(&d, &p, &mut live);
    assert_ne!(
        live.auth0_streams["azure-events"]["sink"]["azurePartnerTopic"],
        old_topic
    );
}

#[test]
fn auth0_stream_of_another_type_is_replaced() {
    let d = repo_manifests("manifests/auth0-partner");
    let (_, mut live) = converge(&d);
    live.auth0_streams.get_mut("azure-events").unwrap()["type"] = json!("http");
    let p = plan(&d, &live, &opts());
    let stream = &p.actions[0];
    assert_eq!(stream.kind, ActionKind::Replace);
    assert_eq!(stream.changes[0].path, "type");
    assert!(stream.changes[0].forces_replacement);
}

#[test]
fn a_saved_plan_records_the_requested_replacements() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, live) = converge(&d);
    let options = with(opts(), ResourceKind::Topic, "orders");
    let p = plan(&d, &live, &options);
    let saved = saved::SavedPlan::record(&p, json!({}), &saved::PlanInputs::default(), &options);
    let text = serde_json::to_string(&saved).unwrap();
    assert!(text.contains(r#""replace":[["Topic","orders"]]"#), "{text}");
    let back = saved::SavedPlan::parse(&text).unwrap();
    assert_eq!(back.options().force_replace, options.force_replace);
    // Without replacements the key is absent, as in files written before it existed.
    let plain = saved::SavedPlan::record(&p, json!({}), &saved::PlanInputs::default(), &opts());
    assert!(
        !serde_json::to_string(&plain)
            .unwrap()
            .contains("\"replace\"")
    );
}
