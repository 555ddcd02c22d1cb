//! Planner tests of the ownership records (docs/ownership.md): protection that outlives its
//! document, tag keys and labels gridform does not manage, and extension scopes recorded on
//! the stack's resource group. Helpers come from `tests.rs`.

use serde_json::json;

use super::tests::{STACK, TOPIC_AND_SUB, converge, desired, fake_apply, opts, topic_id};
use super::*;

fn topic_only(metadata: &str, spec: &str) -> String {
    format!(
        "{STACK}apiVersion: gridform/v1\nkind: Topic\nmetadata: {{name: orders{metadata}}}\nspec: {{{spec}}}\n"
    )
}

fn no_documents() -> crate::model::DesiredState {
    desired(STACK.trim_end_matches("---\n"))
}

#[test]
fn protection_is_recorded_and_outlives_its_document() {
    let (_, mut live) = converge(&desired(&topic_only(", protect: true", "")));
    assert_eq!(
        live.get(&topic_id()).unwrap()["tags"]["gridform-protect"],
        "true"
    );
    // Dropping the field keeps the record: nothing to change.
    let p = plan(&desired(&topic_only("", "")), &live, &opts());
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    // Removing the document keeps the topic and says why.
    let p = plan(&no_documents(), &live, &opts());
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(p.kept.len(), 1);
    assert!(p.kept[0].reason.contains("protected"), "{:?}", p.kept);
    // A replacement is refused even though the document no longer says `protect`.
    let p = plan(
        &desired(&topic_only("", "inputSchema: CloudEventSchemaV1_0")),
        &live,
        &opts(),
    );
    assert!(
        p.errors.iter().any(|e| e.message.contains("protected")),
        "{p:?}"
    );
    // An applied `protect: false` clears the record; then removal deletes.
    let release = plan(
        &desired(&topic_only(", protect: false", "")),
        &live,
        &opts(),
    );
    assert_eq!(release.actions.len(), 1, "{:#?}", release.actions);
    fake_apply(&release, &mut live);
    let p = plan(&no_documents(), &live, &opts());
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].kind, ActionKind::Delete);
}

#[test]
fn a_protected_subscription_keeps_itself_and_its_topic() {
    let yaml =
        format!("{STACK}{TOPIC_AND_SUB}").replace("{name: hook}", "{name: hook, protect: true}");
    let (_, live) = converge(&desired(&yaml));
    let p = plan(&no_documents(), &live, &opts());
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    let kept: Vec<&str> = p.kept.iter().map(|k| k.id.name()).collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.contains(&"hook") && kept.contains(&"orders"),
        "{kept:?}"
    );
}

#[test]
fn foreign_tags_cause_no_diff_and_ride_along_in_the_put() {
    let (_, mut live) = converge(&desired(&topic_only("", "tags: {env: prod}")));
    live.resources.get_mut(&topic_id()).unwrap()["tags"]["CostCenter"] = json!("42");
    let p = plan(
        &desired(&topic_only("", "tags: {env: prod}")),
        &live,
        &opts(),
    );
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    let p = plan(
        &desired(&topic_only("", "tags: {env: prod}, disableLocalAuth: true")),
        &live,
        &opts(),
    );
    let Operation::Put { body, .. } = &p.actions[0].operation else {
        panic!("{:?}", p.actions[0]);
    };
    assert_eq!(body.as_value()["tags"]["CostCenter"], "42");
    assert!(
        !p.actions[0]
            .changes
            .iter()
            .any(|c| c.path.contains("CostCenter"))
    );
}

#[test]
fn a_declared_tag_removed_from_the_manifests_is_removed() {
    let (_, live) = converge(&desired(&topic_only("", "tags: {env: prod, team: a}")));
    let p = plan(&desired(&topic_only("", "tags: {team: a}")), &live, &opts());
    let paths: Vec<&str> = p.actions[0]
        .changes
        .iter()
        .map(|c| c.path.as_str())
        .collect();
    assert!(paths.contains(&"tags.env"), "{paths:?}");
    let Operation::Put { body, .. } = &p.actions[0].operation else {
        panic!("{:?}", p.actions[0]);
    };
    let body = body.as_value();
    assert!(body["tags"].get("env").is_none(), "{body}");
}

#[test]
fn foreign_labels_are_kept_on_subscriptions() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, mut live) = converge(&d);
    let hook = topic_id().child("eventSubscriptions", "hook");
    live.resources.get_mut(&hook).unwrap()["properties"]["labels"]
        .as_array_mut()
        .unwrap()
        .push(json!("team-x"));
    let p = plan(&d, &live, &opts());
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
}

const EXTENSION: &str = "apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: ext}
spec:
  scope: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/acct
  destination: {endpointType: WebHook, endpointUrl: 'https://h.example.com/x'}
";

#[test]
fn an_extension_scope_is_recorded_and_its_removed_subscription_pruned() {
    let d = desired(&format!("{STACK}{EXTENSION}"));
    let (first, mut live) = converge(&d);
    let record = first
        .actions
        .iter()
        .find(|a| a.target.kind == ResourceKind::ResourceGroup)
        .expect("the scope is recorded on the stack's group");
    let create = first
        .actions
        .iter()
        .find(|a| a.target.kind == ResourceKind::EventSubscription)
        .unwrap();
    assert!(create.depends_on.contains(&record.index), "{first:#?}");
    assert!(plan(&d, &live, &opts()).actions.is_empty());
    let p = plan(&no_documents(), &live, &opts());
    let kinds: Vec<(ActionKind, &str)> = p
        .actions
        .iter()
        .map(|a| (a.kind, a.target.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(ActionKind::Delete, "ext"), (ActionKind::Update, "rg")],
        "{p:#?}"
    );
    assert_eq!(p.actions[1].depends_on, [0]);
    fake_apply(&p, &mut live);
    assert!(plan(&no_documents(), &live, &opts()).actions.is_empty());
}
