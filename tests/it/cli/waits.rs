//! Issue 11 items 4–7 end to end with the real binary against the in-process emulator: a webhook
//! that leaves its subscription `AwaitingManualAction` is not done, Ctrl-C interrupts waits,
//! time decisions follow the server's clock, and progress lines name what became known.

use std::path::Path;

use serde_json::json;

use crate::support::{World, outcome, repo};

fn reference() -> String {
    repo()
        .join("manifests/auth0-partner")
        .to_str()
        .unwrap()
        .to_string()
}

fn run(w: &World, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    outcome(&w.run(dir, args))
}

#[test]
fn past_renew_before_on_the_emulator_clock_the_plan_renews_and_apply_converges() {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    let set = reference();
    let (code, out, err) = run(&w, cwd.path(), &["apply", "--auto-approve", &set]);
    assert_eq!(code, Some(0), "{out}{err}");
    let plan = ["plan", "--detailed-exitcode", set.as_str()];
    let (code, out, err) = run(&w, cwd.path(), &plan);
    assert_eq!(
        code,
        Some(0),
        "not converged after the first apply: {out}{err}"
    );
    // validFor 30d, renewBefore 7d: 24 days later on the server's clock 6 days are left.
    let moved = w.control(
        reqwest::Method::POST,
        "/_emulator/clock",
        &json!({"advanceSeconds": 24 * 86_400}),
    );
    assert!(moved.is_success(), "{moved}");
    let (code, out, err) = run(&w, cwd.path(), &plan);
    assert_eq!(code, Some(2), "no renewal planned: {out}{err}");
    assert!(out.contains("~ renew PartnerConfiguration"), "{out}");
    // Six days less the moments between the commands (the Date header counts whole seconds).
    assert!(
        out.contains("Auth0 authorization expires in 5d")
            || out.contains("Auth0 authorization expires in 6d"),
        "{out}"
    );
    let (code, out, err) = run(&w, cwd.path(), &["apply", "--auto-approve", &set]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(&w, cwd.path(), &plan);
    assert_eq!(code, Some(0), "not converged after the renewal: {out}{err}");
}

const MANUAL_STACK: &str = r#"apiVersion: gridform/v1
kind: Stack
metadata: {name: waits}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: waits
  location: westeurope
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {name: waits}
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: by-hand}
spec:
  topic: {kind: Topic, name: orders}
  destination: {endpointType: WebHook, endpointUrl: "${env:HOOK}/manual/orders"}
"#;

#[test]
fn a_webhook_that_does_not_echo_the_code_is_not_done_until_validated() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), MANUAL_STACK).unwrap();
    let (code, out, err) = run(&w, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(1), "apply called it done: {out}{err}");
    assert!(out.contains("failed: EventSubscription `by-hand`"), "{out}");
    assert!(out.contains("AwaitingManualAction"), "{out}");
    assert!(
        out.contains("validationResponse") && out.contains("validationUrl"),
        "{out}"
    );
    // The emulator leaves it AwaitingManualAction, as Azure does.
    let sub = w.arm_get("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/waits/providers/Microsoft.EventGrid/topics/orders/providers/Microsoft.EventGrid/eventSubscriptions/by-hand?api-version=2025-02-15");
    assert_eq!(
        sub["properties"]["provisioningState"],
        "AwaitingManualAction"
    );
    for args in [&["plan", "--detailed-exitcode", "."][..], &["drift", "."]] {
        let command = args[0];
        let (code, out, err) = run(&w, dir.path(), args);
        assert_eq!(code, Some(2), "{command} says nothing is left: {out}{err}");
        assert!(
            !out.contains("No changes") && !out.contains("No drift"),
            "{out}"
        );
        assert!(
            out.contains("~ update EventSubscription `by-hand`"),
            "{command}: {out}"
        );
        assert!(
            out.contains("provisioningState is AwaitingManualAction"),
            "{out}"
        );
    }
    // Someone opens the validationUrl of the latest handshake: then it is done.
    let events = w.received("/manual/orders");
    let url = events.last().unwrap()[0]["data"]["validationUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let opened = w.block_on(async move { reqwest::get(url).await.unwrap().status() });
    assert!(opened.is_success(), "{opened}");
    let (code, out, err) = run(&w, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("No changes"), "{out}");
}
