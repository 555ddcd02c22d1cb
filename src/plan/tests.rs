//! Planner tests: normalization quirks (each named after the Azure behaviour it absorbs),
//! ownership and safety rules, and "plan after apply is empty" against a fake that answers the
//! way Azure's examples do.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::build::diff;
use super::*;
use crate::fake_azure as fake;
use crate::manifest::parse_sources;
use crate::model::live::LiveState;
use crate::model::{DesiredState, ResourceKind};

mod auth0_streams;
mod graph_ownership;
mod graph_subscriptions;
mod quirks;
mod takeovers;
use quirks::sub_body;
mod saved_plans;

pub(crate) fn opts() -> PlanOptions {
    PlanOptions {
        now: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
        salt: "s4lt".into(),
        refresh_secrets: false,
        force_replace: vec![],
    }
}

pub(super) fn desired(yaml: &str) -> DesiredState {
    let loaded = parse_sources(&[("m.yaml".into(), yaml.to_string())], &|_| None);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.state.unwrap()
}

pub(super) fn repo_manifests(dir: &str) -> DesiredState {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let loaded = crate::manifest::load(&[root], &|_| None);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.state.unwrap()
}

/// The partner topic `source` Microsoft Graph stamps for the test's Graph application.
pub(super) const GRAPH_SOURCE: &str = "/tenants/t-1/applications/app-1";

pub(super) const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: s1}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000001, resourceGroup: rg, location: westeurope}
---
";

/// Applies a plan to a live state step by step through the crate's one fake of Azure and Auth0;
/// the simulated partner creates its topics with the source the plan expects.
pub(super) fn fake_apply(plan: &Plan, live: &mut LiveState) {
    let source = plan.actions.iter().find_map(|a| match &a.operation {
        Operation::WaitForPartner {
            expected_source, ..
        } => Some(expected_source.clone()),
        _ => None,
    });
    let source = source.unwrap_or_default();
    let resolve = |at: &Locator, live: &LiveState| -> ResourceId {
        let name = at.stream().map(|s| {
            live.auth0_streams[s]["sink"]["azurePartnerTopic"]
                .as_str()
                .unwrap()
                .to_string()
        });
        at.resolve(name.as_deref()).unwrap()
    };
    for a in &plan.actions {
        match &a.operation {
            Operation::Register { namespace, .. } => fake::register(live, namespace),
            Operation::Put { at, body } => {
                fake::put(live, &resolve(at, live), &body.as_value());
            }
            Operation::Replace { at, body } => {
                let id = resolve(at, live);
                remove_tree(live, &id);
                fake::put(live, &id, &body.as_value());
            }
            Operation::Patch { at, body } => {
                assert!(fake::patch_tags(live, &resolve(at, live), &body.as_value()));
            }
            Operation::Delete { at } => remove_tree(live, &resolve(at, live)),
            Operation::Recorded { .. } => panic!("a recorded action is never executed"),
            Operation::CreateLogStream { body, record }
            | Operation::ReplaceLogStream { body, record, .. } => {
                let created = fake::create_stream(live, body, &source);
                if let Some(r) = record {
                    let key = auth0_record::record_key(body["name"].as_str().unwrap());
                    live.resources.get_mut(r).unwrap()["tags"][key] = created["id"].clone();
                }
            }
            Operation::DeleteLogStream {
                stream_id, record, ..
            } => {
                fake::delete_stream(live, stream_id);
                if let Some(tags) = record
                    .as_ref()
                    .and_then(|r| live.resources.get_mut(r))
                    .and_then(|c| c["tags"].as_object_mut())
                {
                    tags.retain(|_, v| v != stream_id);
                }
            }
            Operation::UpdateLogStream { stream_id, body } => {
                fake::patch_stream(live, stream_id, body)
            }
            Operation::CreateGraphSubscription {
                handle,
                body,
                record,
            }
            | Operation::ReplaceGraphSubscription {
                handle,
                body,
                record,
                ..
            } => {
                if let Some(old) = a.operation.graph_id() {
                    live.graph_subscriptions.remove(old);
                }
                let source = live.graph_source.clone().unwrap_or_default();
                let created = fake::create_graph_subscription(live, body, &source);
                if let Some(r) = record {
                    let key = graph_record::record_key(handle);
                    live.resources.get_mut(r).unwrap()["tags"][key] = created["id"].clone();
                }
            }
            Operation::PatchGraphSubscription { graph_id, body } => {
                fake::patch_graph_subscription(live, graph_id, body).unwrap();
            }
            Operation::DeleteGraphSubscription {
                graph_id, record, ..
            } => {
                live.graph_subscriptions.remove(graph_id);
                if let Some(tags) = record
                    .as_ref()
                    .and_then(|r| live.resources.get_mut(r))
                    .and_then(|c| c["tags"].as_object_mut())
                {
                    tags.retain(|_, v| v != graph_id);
                }
            }
            Operation::WaitForPartner {
                at,
                expected_source,
                ..
            } => {
                let id = resolve(at, live);
                if !live.resources.contains_key(&id) {
                    fake::partner_creates_topic(live, &id, expected_source);
                }
            }
            Operation::SetActivation {
                at, activate, tags, ..
            } => {
                let id = resolve(at, live);
                let action = if *activate { "activate" } else { "deactivate" };
                assert!(fake::set_activation(live, &id, action).is_some());
                assert!(fake::patch_tags(live, &id, tags));
            }
        }
    }
}

/// Azure deletes a resource with everything below it (a topic's subscriptions).
fn remove_tree(live: &mut LiveState, id: &ResourceId) {
    live.resources
        .retain(|other, _| other != id && other.parent().as_ref() != Some(id));
}

pub(super) fn converge(d: &DesiredState) -> (Plan, LiveState) {
    let mut live = LiveState {
        listed_groups: vec!["rg".into()],
        // A Graph application is connected only where the manifests use Graph.
        graph_source: d
            .resources
            .iter()
            .any(|r| r.kind == ResourceKind::GraphSubscription)
            .then(|| GRAPH_SOURCE.into()),
        ..Default::default()
    };
    // The test stack's group exists already (not declared in the test manifests).
    let rg = ResourceId::resource_group(&d.stack.spec.subscription_id, "rg");
    live.resources.insert(rg, json!({"location": "westeurope"}));
    let first = plan(d, &live, &opts());
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    fake_apply(&first, &mut live);
    (first, live)
}

#[test]
fn every_reference_manifest_and_example_plans_empty_after_apply() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = Vec::new();
    for top in ["manifests", "examples"] {
        for e in std::fs::read_dir(root.join(top)).unwrap() {
            let p = e.unwrap().path();
            // examples/ci holds a CI workflow and a Dockerfile, not manifests.
            if p.is_dir() && !p.ends_with("examples/ci") {
                dirs.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    assert!(dirs.len() >= 11, "{dirs:?}");
    for dir in &dirs {
        let d = repo_manifests(dir);
        let (first, mut live) = converge(&d);
        assert!(
            !first.actions.is_empty(),
            "{dir}: the first plan creates things"
        );
        live.listed_groups = d
            .resources
            .iter()
            .filter_map(|r| r.resource_group.clone())
            .collect();
        let second = plan(&d, &live, &opts());
        assert!(second.errors.is_empty(), "{dir}: {:?}", second.errors);
        assert!(
            second.actions.is_empty(),
            "{dir}: perpetual diff: {:#?}",
            second
                .actions
                .iter()
                .map(|a| (&a.kind, &a.target.name, &a.changes))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn auth0_flow_is_ordered_provider_config_stream_wait_activate_subscribe() {
    let d = repo_manifests("manifests/auth0-partner");
    let p = plan(&d, &LiveState::default(), &opts());
    let kinds: Vec<(ActionKind, &str)> = p
        .actions
        .iter()
        .map(|a| (a.kind, a.target.name.as_str()))
        .collect();
    let pos = |k: ActionKind, n: &str| {
        kinds
            .iter()
            .position(|x| *x == (k, n))
            .unwrap_or_else(|| panic!("{k:?} {n} in {kinds:?}"))
    };
    let register = pos(ActionKind::Register, "Microsoft.EventGrid");
    let config = pos(ActionKind::Create, "default");
    let stream = pos(ActionKind::CreateLogStream, "azure-events");
    let wait = pos(ActionKind::WaitForPartner, "auth0");
    let activate = pos(ActionKind::Activate, "auth0");
    let sub = pos(ActionKind::Create, "failed-logins");
    assert!(p.actions[config].depends_on.contains(&register));
    assert!(p.actions[stream].depends_on.contains(&config));
    assert!(p.actions[wait].depends_on.contains(&stream));
    assert!(p.actions[activate].depends_on.contains(&wait));
    assert!(p.actions[sub].depends_on.contains(&activate));
    assert!(matches!(
        &p.actions[sub].operation,
        Operation::Put {
            at: Locator::PartnerTopicOf { .. },
            ..
        }
    ));
}

// --- normalization quirks -------------------------------------------------------------------

#[test]
fn a_one_field_change_is_exactly_one_change() {
    let mut live = sub_body();
    live["properties"]["retryPolicy"] = json!({"maxDeliveryAttempts": 10});
    let mut desired = sub_body();
    desired["properties"]["retryPolicy"] = json!({"maxDeliveryAttempts": 5});
    let changes = diff(ResourceKind::EventSubscription, Some(&live), &desired);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(
        changes[0].path,
        "properties.retryPolicy.maxDeliveryAttempts"
    );
    assert_eq!(
        (changes[0].before.clone(), changes[0].after.clone()),
        (Some(json!(10)), Some(json!(5)))
    );
}

// --- ownership and safety -----------------------------------------------------------------------

pub(super) const TOPIC_AND_SUB: &str = "apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: hook}
spec:
  topic: {kind: Topic, name: orders}
  destination: {endpointType: WebHook, endpointUrl: 'https://h.example.com/x?code=canary-k3y'}
";

pub(super) fn topic_id() -> ResourceId {
    ResourceId::resource_group("00000000-0000-0000-0000-000000000001", "rg").provider_resource(
        "Microsoft.EventGrid",
        "topics",
        "orders",
    )
}

#[test]
fn removed_document_is_deleted_and_unmanaged_siblings_survive() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, mut live) = converge(&d);
    let stray = topic_id().child("eventSubscriptions", "manual");
    live.resources
        .insert(stray.clone(), json!({"properties": {"labels": ["ops"]}}));
    let other = topic_id().child("eventSubscriptions", "other-stack");
    live.resources.insert(
        other.clone(),
        json!({"properties": {"labels": ["gridform-stack=s2"]}}),
    );
    let d2 = desired(&format!(
        "{STACK}{}",
        TOPIC_AND_SUB.split("---").next().unwrap()
    ));
    let p = plan(&d2, &live, &opts());
    let deletes: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete)
        .map(|a| a.target.name.as_str())
        .collect();
    assert_eq!(deletes, vec!["hook"], "{:#?}", p.actions);
    assert_eq!(p.actions.len(), 1);
    let unmanaged: Vec<&ResourceId> = p.unmanaged.iter().map(|u| &u.id).collect();
    assert!(
        unmanaged.contains(&&stray) && unmanaged.contains(&&other),
        "{unmanaged:?}"
    );
}

#[test]
fn removed_topic_deletes_its_owned_subscriptions_first() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, live) = converge(&d);
    let d2 = desired(STACK.trim_end_matches("---\n"));
    let p = plan(&d2, &live, &opts());
    let names: Vec<&str> = p.actions.iter().map(|a| a.target.name.as_str()).collect();
    assert_eq!(names, vec!["hook", "orders"]);
    assert_eq!(p.actions[1].depends_on, vec![0]);
}

#[test]
fn name_taken_by_an_unmanaged_resource_is_an_error_unless_adopted() {
    let mut live = LiveState {
        listed_groups: vec!["rg".into()],
        ..Default::default()
    };
    live.providers
        .insert("microsoft.eventgrid".into(), "Registered".into());
    live.resources.insert(
        ResourceId::resource_group("00000000-0000-0000-0000-000000000001", "rg"),
        json!({"location": "westeurope"}),
    );
    live.resources.insert(
        topic_id(),
        json!({"location": "westeurope", "tags": {"owner": "ops"}, "properties": {}}),
    );
    let yaml = format!("{STACK}{}", TOPIC_AND_SUB.split("---").next().unwrap());
    let p = plan(&desired(&yaml), &live, &opts());
    assert_eq!(p.errors.len(), 1);
    assert!(
        p.errors[0]
            .message
            .contains("already exists and is not managed by stack `s1`"),
        "{:?}",
        p.errors
    );
    assert!(p.errors[0].hint.as_deref().unwrap().contains("adopt"));
    let adopted = yaml.replace(
        "metadata: {name: orders}",
        "metadata: {name: orders, adopt: true}",
    );
    let p = plan(&desired(&adopted), &live, &opts());
    assert!(p.errors.is_empty());
    assert_eq!(p.actions[0].kind, ActionKind::Adopt);
    assert!(
        p.actions[0]
            .changes
            .iter()
            .any(|c| c.path == "tags.gridform-stack")
    );
}

#[test]
fn undeclared_missing_resource_group_and_unregistered_provider_are_plan_errors() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let mut live = LiveState {
        listed_groups: vec!["rg".into()],
        ..Default::default()
    };
    live.providers
        .insert("microsoft.eventgrid".into(), "NotRegistered".into());
    let p = plan(&d, &live, &opts());
    let messages: Vec<&str> = p.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("`Microsoft.EventGrid` resource provider is not registered"));
    assert!(messages[1].contains("resource group `rg` does not exist"));
}

#[test]
fn protected_resource_refuses_replacement() {
    let yaml = format!(
        "{STACK}apiVersion: gridform/v1\nkind: Topic\nmetadata: {{name: orders, protect: true}}\nspec: {{inputSchema: CloudEventSchemaV1_0}}\n"
    );
    let d = desired(&yaml);
    let (_, live) = converge(&desired(&format!(
        "{STACK}{}",
        TOPIC_AND_SUB.split("---").next().unwrap()
    )));
    let p = plan(&d, &live, &opts());
    assert_eq!(p.errors.len(), 1, "{:?}", p.actions);
    assert!(p.errors[0].message.contains("protected"));
    let unprotected = desired(&yaml.replace(", protect: true", ""));
    let p = plan(&unprotected, &live, &opts());
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].kind, ActionKind::Replace);
    assert!(
        p.actions[0]
            .changes
            .iter()
            .any(|c| c.forces_replacement && c.path == "properties.inputSchema")
    );
}

#[test]
fn partner_topic_with_wrong_source_is_an_error_naming_both() {
    let d = repo_manifests("manifests/auth0-partner");
    let (_, mut live) = converge(&d);
    let topic = live
        .resources
        .keys()
        .find(|id| id.resource_type().ends_with("partnerTopics"))
        .unwrap()
        .clone();
    live.resources.get_mut(&topic).unwrap()["properties"]["activationState"] =
        json!("NeverActivated");
    live.resources.get_mut(&topic).unwrap()["properties"]["source"] = json!("evil.auth0.com");
    let p = plan(&d, &live, &opts());
    assert_eq!(p.errors.len(), 1);
    let msg = &p.errors[0].message;
    assert!(
        msg.contains("`evil.auth0.com`") && msg.contains("`example.eu.auth0.com`"),
        "{msg}"
    );
    assert!(!p.actions.iter().any(|a| a.kind == ActionKind::Activate));
}

#[test]
fn authorization_is_renewed_within_renew_before() {
    let d = repo_manifests("manifests/auth0-partner");
    let (_, live) = converge(&d);
    let mut later = opts();
    later.now += chrono::Duration::days(22); // 30d validity, renew 7d before: 8 days left → fine
    assert!(plan(&d, &live, &later).actions.is_empty());
    later.now += chrono::Duration::days(2); // 6 days left → renew
    let p = plan(&d, &live, &later);
    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    assert_eq!(p.actions[0].kind, ActionKind::Renew);
    assert!(
        p.actions[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("expires in 6d")
    );
}

#[test]
fn a_subscription_not_succeeded_is_still_to_do_in_plan_and_drift() {
    let d = repo_manifests("manifests/custom-topic-webhooks");
    let (_, mut live) = converge(&d);
    assert!(plan(&d, &live, &opts()).actions.is_empty());
    let sub_id = live
        .resources
        .keys()
        .find(|id| kind_of_id(id) == ResourceKind::EventSubscription)
        .unwrap()
        .clone();
    let set_state = |live: &mut LiveState, state: &str| {
        live.resources.get_mut(&sub_id).unwrap()["properties"]["provisioningState"] = json!(state);
    };
    set_state(&mut live, "AwaitingManualAction");
    let p = plan(&d, &live, &opts());
    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    let a = &p.actions[0];
    assert_eq!(a.kind, ActionKind::Update);
    assert_eq!(a.target.id.as_ref(), Some(&sub_id));
    assert_eq!(
        a.reason.as_deref(),
        Some("provisioningState is AwaitingManualAction")
    );
    assert_eq!(a.changes[0].path, "properties.provisioningState");
    assert_eq!(destroy::drift_only(p).actions.len(), 1);
    // A lapsed manual validation leaves it Failed: Azure needs it created again.
    set_state(&mut live, "Failed");
    let p = plan(&d, &live, &opts());
    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    assert_eq!(p.actions[0].kind, ActionKind::Replace);
    assert!(matches!(p.actions[0].operation, Operation::Replace { .. }));
}

#[test]
fn a_never_activated_partner_topic_expiring_soon_is_warned_about() {
    let d = repo_manifests("manifests/auth0-partner");
    let (_, mut live) = converge(&d);
    let topic = live
        .resources
        .iter_mut()
        .find(|(id, _)| kind_of_id(id) == ResourceKind::PartnerTopic)
        .unwrap()
        .1;
    topic["properties"]["activationState"] = json!("NeverActivated");
    topic["properties"]["expirationTimeIfNotActivatedUtc"] = json!("2026-11-01T20:00:00Z");
    let p = plan(&d, &live, &opts());
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(p.warnings[0].contains("in 8h"), "{}", p.warnings[0]);
    assert!(p.warnings[0].contains("this plan activates it"));
    assert!(p.actions.iter().any(|a| a.kind == ActionKind::Activate));
}

fn kind_of_id(id: &ResourceId) -> ResourceKind {
    build::kind_of(id)
}

#[test]
fn human_plan_snapshot_for_the_auth0_reference() {
    let d = repo_manifests("manifests/auth0-partner");
    let p = plan(&d, &LiveState::default(), &opts());
    let mut out = Vec::new();
    crate::render::human::write_plan(&p, &Default::default(), &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn json_and_markdown_plan_snapshots_for_the_custom_topic_reference() {
    let d = repo_manifests("manifests/custom-topic-webhooks");
    let (_, mut live) = converge(&d);
    // One out-of-band change and one unmanaged subscription.
    let topic = live
        .resources
        .keys()
        .find(|id| {
            id.resource_type()
                .eq_ignore_ascii_case("Microsoft.EventGrid/topics")
        })
        .unwrap()
        .clone();
    live.resources.get_mut(&topic).unwrap()["properties"]["publicNetworkAccess"] =
        json!("Disabled");
    live.resources.insert(
        topic.child("eventSubscriptions", "manual"),
        json!({"properties": {}}),
    );
    live.listed_groups = vec!["orders-events".into()];
    let p = plan(&d, &live, &opts());
    let mut json_out = Vec::new();
    crate::render::json::write_plan(&p, &mut json_out).unwrap();
    insta::assert_snapshot!("custom_topic_json", String::from_utf8(json_out).unwrap());
    let mut md = Vec::new();
    crate::render::markdown::write_plan(&p, &mut md).unwrap();
    insta::assert_snapshot!("custom_topic_markdown", String::from_utf8(md).unwrap());
    let _: BTreeMap<(), ()> = BTreeMap::new();
}

#[test]
fn an_owned_topic_with_unmanaged_subscriptions_is_kept() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, mut live) = converge(&d);
    let manual = topic_id().child("eventSubscriptions", "manual");
    live.resources
        .insert(manual, json!({"properties": {"labels": ["ops"]}}));
    let p = plan(&desired(STACK.trim_end_matches("---\n")), &live, &opts());
    let names: Vec<&str> = p.actions.iter().map(|a| a.target.name.as_str()).collect();
    assert_eq!(names, vec!["hook"], "only our subscription goes");
    assert!(
        p.unmanaged
            .iter()
            .any(|u| u.id == topic_id() && u.reason.contains("kept")),
        "{:?}",
        p.unmanaged
    );
}
