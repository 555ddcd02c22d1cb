//! The real binary against the emulator on 127.0.0.1:0: every manifest set in `manifests/` and
//! `examples/` applies, then plans empty; ownership, secrets and saved plans end to end.

use std::path::Path;

use gridform::model::ResourceId;
use serde_json::json;

use crate::support::{World, texts};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

/// Plays the partner of `partner-topic-by-name`: once the group exists, create the topic.
fn partner_creates(w: &World, group: &str, topic: &str, source: &str) {
    let id = ResourceId::resource_group(SUB, group).provider_resource(
        "Microsoft.EventGrid",
        "partnerTopics",
        topic,
    );
    let body = json!({"location": "westeurope", "properties": {"source": source, "partnerRegistrationImmutableId": "804a11ca-ce9b-4158-8e94-3c8dc7a072ec"}});
    w.wait_until(&format!("the group `{group}` appears"), || {
        w.emulator.lock().put_partner_topic(&id, &body).is_ok()
    });
}

#[test]
fn every_manifest_set_applies_then_plans_empty() {
    let mut failures = Vec::new();
    for set in crate::support::manifest_sets() {
        let w = World::start();
        let cwd = tempfile::tempdir().unwrap();
        let path = set.display().to_string();
        let apply = std::thread::scope(|s| {
            let handle = s.spawn(|| w.run(cwd.path(), &["apply", "--auto-approve", &path]));
            if set.ends_with("partner-topic-by-name") {
                partner_creates(
                    &w,
                    "partner-events",
                    "auth0-logs-example",
                    "example.eu.auth0.com",
                );
            }
            handle.join().unwrap()
        });
        let (out, err) = texts(&apply);
        if apply.status.code() != Some(0) {
            failures.push(format!(
                "{path}: apply exited {:?}\n{out}{err}",
                apply.status.code()
            ));
            continue;
        }
        let plan = w.run(cwd.path(), &["plan", "--detailed-exitcode", &path]);
        let (out, err) = texts(&plan);
        if plan.status.code() != Some(0) || !out.starts_with("No changes.") {
            failures.push(format!(
                "{path}: plan after apply is not empty (exit {:?})\n{out}{err}",
                plan.status.code()
            ));
        }
        drop(w);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: e2e}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: e2e, location: westeurope, secrets: [HOOK_KEY]}
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {name: e2e}
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
";

fn subscription(name: &str, hook: &str, attempts: u32) -> String {
    format!(
        "---\napiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: {name}}}\nspec:\n  topic: {{kind: Topic, name: orders}}\n  destination:\n    endpointType: WebHook\n    endpointUrl: {hook}?code=${{env:HOOK_KEY}}\n    deliveryAttributeMappings:\n      - {{name: x-key, type: Static, value: '${{env:HOOK_KEY}}', isSecret: true}}\n  retryPolicy: {{maxDeliveryAttempts: {attempts}}}\n"
    )
}

#[test]
fn one_field_change_one_removal_unmanaged_survivor_and_no_canary_anywhere() {
    const CANARY: &str = "canary-e2e-5ecr3t";
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let hook = format!("{}/runtime/webhooks/EventGrid", w.hook());
    let run = |args: &[&str]| w.run_with(dir.path(), args, &[("HOOK_KEY", CANARY)]);
    write(
        dir.path(),
        "m.yaml",
        &format!(
            "{STACK}{}{}",
            subscription("keep", &hook, 10),
            subscription("drop", &hook, 10)
        ),
    );
    let applied = run(&["-vvv", "apply", "--auto-approve", "m.yaml"]);
    let (out, err) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{out}{err}");
    // Someone adds a subscription by hand on the managed topic.
    let topic = ResourceId::resource_group(SUB, "e2e").provider_resource(
        "Microsoft.EventGrid",
        "topics",
        "orders",
    );
    let manual = topic.child("eventSubscriptions", "manual");
    let body = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": hook}}}});
    let status = w.arm_put(&format!("{manual}?api-version=2025-02-15"), &body);
    assert!(status.is_success(), "{status}");
    // One field changes, one document goes away.
    write(
        dir.path(),
        "m.yaml",
        &format!("{STACK}{}", subscription("keep", &hook, 5)),
    );
    let plan = run(&[
        "-vvv",
        "plan",
        "--detailed-exitcode",
        "--out",
        "saved.json",
        "m.yaml",
    ]);
    let (plan_out, plan_err) = texts(&plan);
    assert_eq!(plan.status.code(), Some(2), "{plan_out}{plan_err}");
    let changed: Vec<&str> = plan_out
        .lines()
        .filter(|l| l.trim_start().starts_with("~ properties."))
        .collect();
    assert_eq!(
        changed,
        vec!["      ~ properties.retryPolicy.maxDeliveryAttempts: 10 -> 5"],
        "{plan_out}"
    );
    assert_eq!(plan_out.matches("  - delete ").count(), 1, "{plan_out}");
    assert!(
        plan_out.contains("delete EventSubscription `drop`"),
        "{plan_out}"
    );
    assert!(
        plan_out.contains("eventSubscriptions/manual (no gridform marker)"),
        "{plan_out}"
    );
    let json = run(&["plan", "--format", "json", "m.yaml"]);
    let md = run(&["plan", "--format", "markdown", "m.yaml"]);
    let applied = run(&["-vvv", "apply", "saved.json"]);
    let (apply_out, apply_err) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{apply_out}{apply_err}");
    let after = run(&["plan", "--detailed-exitcode", "m.yaml"]);
    assert_eq!(after.status.code(), Some(0), "{:?}", texts(&after));
    assert!(
        texts(&after)
            .0
            .contains("eventSubscriptions/manual (no gridform marker)"),
        "the unmanaged subscription survives"
    );
    let saved = std::fs::read_to_string(dir.path().join("saved.json")).unwrap();
    for (what, text) in [
        ("plan", format!("{plan_out}{plan_err}")),
        ("json", texts(&json).0),
        ("markdown", texts(&md).0),
        ("apply", format!("{apply_out}{apply_err}")),
        ("saved plan", saved),
    ] {
        assert!(
            !text.contains(CANARY),
            "the canary leaked into the {what} output"
        );
    }
}

#[test]
fn a_saved_plan_is_refused_after_the_live_state_changed() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| w.run_with(dir.path(), args, &[("HOOK_KEY", "k")]);
    write(dir.path(), "m.yaml", STACK);
    assert_eq!(
        run(&["plan", "--out", "p.json", "m.yaml"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["apply", "--auto-approve", "m.yaml"]).status.code(),
        Some(0)
    );
    let stale = run(&["apply", "p.json"]);
    let (_, err) = texts(&stale);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        err.contains("refusing to apply `p.json`: it is not what would be applied now"),
        "{err}"
    );
    // It names what changed: the resources the other apply created.
    assert!(err.contains("the live state changed: `"), "{err}");
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", STACK);
    let out = w.run(dir.path(), &["apply", "m.yaml"]);
    let (_, err) = texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("hint: pass `--auto-approve`"), "{err}");
}
