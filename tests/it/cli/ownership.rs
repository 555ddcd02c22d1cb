//! The ownership rules of issue 12 (docs/ownership.md) with the real binary against the
//! emulator: protection recorded on the resource, foreign tags left alone, drift that sees what
//! plan sees (Auth0 included), and extension-scope subscriptions pruned after their removal.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{World, repo, texts};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const API: &str = "api-version=2025-02-15";

const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: owner-test}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: owned-rg, location: westeurope}
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {name: owned-rg}
";

fn topic_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/owned-rg/providers/Microsoft.EventGrid/topics/{name}"
    )
}

fn topic_doc(name: &str, metadata: &str, spec: &str) -> String {
    format!(
        "apiVersion: gridform/v1\nkind: Topic\nmetadata: {{name: {name}{metadata}}}\nspec: {{{spec}}}\n"
    )
}

fn exists(w: &World, path: &str) -> bool {
    w.arm_get(&format!("{path}?{API}")).get("id").is_some()
}

/// Runs `args` in `dir`, asserting the exit code: (stdout, stderr).
fn run_ok(w: &World, dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = w.run(dir, args);
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}\n{o}{e}");
    (o, e)
}

#[test]
fn protection_survives_document_removal_and_destroy_until_released() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("stack.yaml"), STACK).unwrap();
    std::fs::write(
        d.join("vault.yaml"),
        topic_doc("vault", ", protect: true", ""),
    )
    .unwrap();
    std::fs::write(d.join("scratch.yaml"), topic_doc("scratch", "", "")).unwrap();
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    let tags = &w.arm_get(&format!("{}?{API}", topic_path("vault")))["tags"];
    assert_eq!(tags["gridform-protect"], "true", "{tags}");

    // The document goes: the topic stays, and the plan says why.
    std::fs::remove_file(d.join("vault.yaml")).unwrap();
    let (out, _) = run_ok(&w, d, &["plan", "--detailed-exitcode", "."], 0);
    assert!(
        out.contains("Kept (protected") && out.contains("vault"),
        "{out}"
    );
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    assert!(exists(&w, &topic_path("vault")));

    // destroy deletes the rest and names what it kept.
    let (out, err) = run_ok(&w, d, &["destroy", "--auto-approve", "."], 0);
    assert!(
        out.contains("Kept 1 protected resource(s)") && out.contains("vault"),
        "{out}{err}"
    );
    assert!(exists(&w, &topic_path("vault")));
    assert!(!exists(&w, &topic_path("scratch")));

    // An applied `protect: false` releases it; then removing the document deletes it.
    std::fs::write(
        d.join("vault.yaml"),
        topic_doc("vault", ", protect: false", ""),
    )
    .unwrap();
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    std::fs::remove_file(d.join("vault.yaml")).unwrap();
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    assert!(!exists(&w, &topic_path("vault")));
}

#[test]
fn foreign_tags_are_left_alone_and_a_dropped_declared_tag_is_removed() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("stack.yaml"), STACK).unwrap();
    let write_topic = |spec: &str| {
        std::fs::write(d.join("orders.yaml"), topic_doc("orders", "", spec)).unwrap();
    };
    write_topic("tags: {env: prod, team: a}");
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);

    // Azure Policy adds a tag out of band.
    let path = format!("{}?{API}", topic_path("orders"));
    let mut body = w.arm_get(&path);
    body["tags"]["CostCenter"] = json!("42");
    assert!(w.arm_put(&path, &body).is_success());
    let (out, _) = run_ok(&w, d, &["plan", "--detailed-exitcode", "."], 0);
    assert!(!out.contains("CostCenter"), "{out}");

    // An apply that changes something else keeps it.
    write_topic("tags: {env: prod, team: a}, disableLocalAuth: true");
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    let live = w.arm_get(&path);
    assert_eq!(live["properties"]["disableLocalAuth"], true, "{live}");
    assert_eq!(live["tags"]["CostCenter"], "42", "{live}");

    // A declared key dropped from the manifests is removed; the foreign one stays.
    write_topic("tags: {team: a}, disableLocalAuth: true");
    let (out, _) = run_ok(&w, d, &["plan", "."], 0);
    assert!(
        out.contains("tags.env") && !out.contains("CostCenter"),
        "{out}"
    );
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    let tags = w.arm_get(&path)["tags"].clone();
    assert!(tags.get("env").is_none(), "{tags}");
    assert_eq!(
        (&tags["CostCenter"], &tags["team"]),
        (&json!("42"), &json!("a"))
    );
    run_ok(&w, d, &["plan", "--detailed-exitcode", "."], 0);
}

fn auth0_reference(dir: &Path) {
    for f in [
        "stack.yaml",
        "azure.yaml",
        "auth0.yaml",
        "subscriptions.yaml",
    ] {
        std::fs::copy(repo().join("manifests/auth0-partner").join(f), dir.join(f)).unwrap();
    }
}

fn pause_stream(w: &World, name: &str) {
    let streams = w.auth0_get("/auth0/api/v2/log-streams");
    let id = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_string();
    let url = format!("{}/auth0/api/v2/log-streams/{id}", w.base_url);
    let token = w.auth0_token();
    let status = w.block_on(async move {
        let req = reqwest::Client::new().patch(url).bearer_auth(token);
        req.json(&json!({"status": "paused"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
}

#[test]
fn drift_reports_a_paused_auth0_stream_and_a_wiped_ownership_tag() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    auth0_reference(d);
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    let (out, _) = run_ok(&w, d, &["drift", "."], 0);
    assert!(out.starts_with("No drift"), "{out}");

    pause_stream(&w, "azure-events");
    let (out, _) = run_ok(&w, d, &["drift", "."], 2);
    assert!(
        out.contains("Auth0LogStream") && out.contains("paused"),
        "{out}"
    );
    let (out, _) = run_ok(&w, d, &["drift", "--format", "json", "."], 2);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let stream = doc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "Auth0LogStream")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert!(stream["changes"].to_string().contains("paused"), "{stream}");
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    run_ok(&w, d, &["drift", "."], 0);

    // Someone wipes the group's tags: plan refuses, so drift reports it.
    let group =
        format!("/subscriptions/{SUB}/resourceGroups/identity-events?api-version=2021-04-01");
    assert!(
        w.arm_put(&group, &json!({"location": "westeurope", "tags": {}}))
            .is_success()
    );
    let (out, _) = run_ok(&w, d, &["drift", "."], 2);
    assert!(
        out.contains("not managed by stack `identity-events`"),
        "{out}"
    );
    let (out, _) = run_ok(&w, d, &["drift", "--format", "json", "."], 2);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["errors"].as_array().map(Vec::len), Some(1), "{doc:#}");
}

#[test]
fn a_removed_extension_scope_subscription_is_pruned() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("stack.yaml"), STACK).unwrap();
    // The storage account lives outside the manifests, in a group someone else made.
    let data = format!("/subscriptions/{SUB}/resourceGroups/data?api-version=2021-04-01");
    assert!(
        w.arm_put(&data, &json!({"location": "westeurope"}))
            .is_success()
    );
    let scope = format!(
        "/subscriptions/{SUB}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/acct"
    );
    let ext = format!(
        "apiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: blobs}}\nspec:\n  scope: {scope}\n  destination: {{endpointType: WebHook, endpointUrl: '{}/ext'}}\n",
        w.hook()
    );
    std::fs::write(d.join("ext.yaml"), ext).unwrap();
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    let sub = format!("{scope}/providers/Microsoft.EventGrid/eventSubscriptions/blobs");
    assert!(exists(&w, &sub));
    let group = format!("/subscriptions/{SUB}/resourceGroups/owned-rg?api-version=2021-04-01");
    let tags = w.arm_get(&group)["tags"].to_string();
    assert!(
        tags.contains("gridform-scope.owner-test.") && tags.contains("acct"),
        "{tags}"
    );
    run_ok(&w, d, &["plan", "--detailed-exitcode", "."], 0);

    std::fs::remove_file(d.join("ext.yaml")).unwrap();
    let (out, _) = run_ok(&w, d, &["plan", "."], 0);
    assert!(out.contains("delete EventSubscription `blobs`"), "{out}");
    run_ok(&w, d, &["apply", "--auto-approve", "."], 0);
    assert!(!exists(&w, &sub));
    let tags = w.arm_get(&group)["tags"].to_string();
    assert!(!tags.contains("gridform-scope"), "{tags}");
    run_ok(&w, d, &["plan", "--detailed-exitcode", "."], 0);
}

#[test]
fn moving_the_stack_to_another_group_prunes_what_it_owned_in_the_old_one() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let hook = format!("{}/runtime/webhooks/EventGrid", w.hook());
    let sub = format!(
        "---\napiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: hook}}\nspec:\n  topic: {{kind: Topic, name: orders}}\n  destination: {{endpointType: WebHook, endpointUrl: '{hook}'}}\n"
    );
    // Same region: topic names are unique per region (as in Azure), so the apply must delete
    // the old `orders` before it creates the new one, or the create gets 409.
    let set = |group: &str| {
        let text =
            format!("{STACK}---\n{}{sub}", topic_doc("orders", "", "")).replace("owned-rg", group);
        std::fs::write(dir.path().join("m.yaml"), text).unwrap();
    };
    set("owned-rg");
    run_ok(&w, dir.path(), &["apply", "--auto-approve", "m.yaml"], 0);
    let old = topic_path("orders");
    assert!(exists(&w, &old));

    set("moved-rg");
    let (plan, _) = run_ok(&w, dir.path(), &["plan", "m.yaml"], 0);
    assert!(
        plan.contains(&format!("- delete Topic `orders` ({old})")),
        "{plan}"
    );
    run_ok(&w, dir.path(), &["apply", "--auto-approve", "m.yaml"], 0);
    assert!(!exists(&w, &old), "the old group's topic is left behind");
    assert!(exists(&w, &old.replace("owned-rg", "moved-rg")));
    let (again, _) = run_ok(
        &w,
        dir.path(),
        &["plan", "--detailed-exitcode", "m.yaml"],
        0,
    );
    assert!(again.starts_with("No changes."), "{again}");
}
