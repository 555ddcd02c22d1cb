//! `gridform publish`, `gridform verify` and `gridform emulator emit` — the real binary against
//! an in-process emulator on 127.0.0.1:0 (retry schedule time-scaled ×1000) and a local webhook
//! receiver that answers the handshake, records notifications, and fails under `/fail`.

use std::path::Path;

use gridform::emulator::Config;
use serde_json::{Value, json};

use crate::support::world::{ARM_SCOPE, EVENT_GRID_SCOPE};
use crate::support::{World, gridform, outcome, repo, texts};

/// An emulator with the retry schedule time-scaled ×1000, and a way to run the binary against it.
fn world() -> World {
    World::with_config(Config {
        time_scale: 1000.0,
        ..Config::default()
    })
}

fn run(w: &World, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    outcome(&w.run(dir, args))
}

const STACK: &str = r#"apiVersion: gridform/v1
kind: Stack
metadata: {name: dataplane}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: dataplane
  location: westeurope
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {name: dataplane}
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: big-orders}
spec:
  topic: {kind: Topic, name: orders}
  destination: {endpointType: WebHook, endpointUrl: "${env:HOOK}/ok"}
  filter:
    includedEventTypes: [Orders.Created]
    subjectBeginsWith: /orders/
    advancedFilters:
      - {operatorType: NumberGreaterThan, key: data.total, value: 100}
      - {operatorType: StringNotIn, key: data.region, values: [test]}
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: broken}
spec:
  topic: {kind: Topic, name: orders}
  destination: {endpointType: WebHook, endpointUrl: "${env:HOOK}/fail"}
  retryPolicy: {maxDeliveryAttempts: 2, eventTimeToLiveInMinutes: 60}
"#;

#[test]
fn publish_then_verify_reports_each_subscription() {
    let w = world();
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("stack.yaml"), STACK).unwrap();
    let (code, out, err) = run(&w, cwd.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, Some(0), "{out}{err}");

    // A filtered-out event is accepted but not delivered to big-orders; a matching one is.
    let (code, out, err) = run(
        &w,
        cwd.path(),
        &[
            "publish",
            "--topic",
            "orders",
            "--type",
            "Orders.Created",
            "--subject",
            "/orders/7",
            "--data",
            r#"{"total": 500}"#,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("Published 1 event(s) to topic `orders`"),
        "{out}"
    );
    let got = w.wait_for_hook("/ok", 1);
    assert_eq!(got[0][0]["data"]["total"], 500);
    assert_eq!(got[0][0]["eventType"], "Orders.Created");
    assert!(!out.contains("aeg") && !err.contains("key"), "{out}{err}");

    // Schema problems are caught before sending, with the event index and field.
    let bad = cwd.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"id": "1", "subject": "s", "eventTime": "2026-01-01T00:00:00Z"}]"#,
    )
    .unwrap();
    let (code, _, err) = run(
        &w,
        cwd.path(),
        &[
            "publish",
            "--topic",
            "orders",
            "--file",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("index 0") && err.contains("eventType"),
        "{err}"
    );
    let (code, _, err) = run(&w, cwd.path(), &["publish", "--topic", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no Topic `nope`"), "{err}");

    // verify: the good subscription gets its canary, the broken one is retried then dropped.
    let (code, out, err) = run(&w, cwd.path(), &["verify", "--timeout", "5s"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("✓ big-orders: delivered"), "{out}");
    assert!(
        out.contains("✗ broken: Dropped after 2 attempt(s), last outcome Busy"),
        "{out}"
    );
    assert!(
        out.contains("1 delivered, 1 failed, 0 not verifiable"),
        "{out}"
    );
}

#[test]
fn system_topic_verify_and_emit_signalr() {
    let w = world();
    let cwd = tempfile::tempdir().unwrap();
    let set = repo().join("examples/system-topic");
    let set = set.to_str().unwrap();
    let (code, out, err) = run(&w, cwd.path(), &["apply", "--auto-approve", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(&w, cwd.path(), &["verify", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2 delivered, 0 failed"), "{out}");
    let source = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/chat/providers/Microsoft.SignalRService/SignalR/chat-signalr";
    let (code, out, err) = run(
        &w,
        cwd.path(),
        &[
            "emulator",
            "emit",
            "signalr",
            "--source",
            source,
            "--disconnected",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    // verify's canaries reached /local too; wait for the emitted Disconnected event.
    let mut last = Value::Null;
    for n in 1..=10 {
        let got = w.wait_for_hook("/local", n);
        if let Some(e) = got
            .iter()
            .map(|b| &b[0])
            .find(|e| e["eventType"] == "Microsoft.SignalRService.ClientConnectionDisconnected")
        {
            last = e.clone();
            break;
        }
    }
    assert_eq!(last["subject"], "/hub/chat");
    assert_eq!(last["data"]["errorMessage"], "Internal server error.");
    assert!(last["data"]["connectionId"].is_string());
    // No system topic on that source: a clear error.
    let (code, _, err) = run(
        &w,
        cwd.path(),
        &[
            "emulator",
            "emit",
            "signalr",
            "--source",
            "/nope",
            "--connected",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("no system topic"), "{err}");
}

fn sink(w: &World) -> Vec<Value> {
    let store = w.emulator.lock();
    store
        .sink
        .iter()
        .map(|r| json!({"url": r.url, "eventType": r.event_type, "body": r.body}))
        .collect()
}

#[test]
fn cloud_events_topic_with_local_auth_disabled_publishes_with_a_token() {
    let w = world();
    let cwd = tempfile::tempdir().unwrap();
    let set = repo().join("examples/cloudevents-topic");
    let set = set.to_str().unwrap();
    let (code, out, err) = run(&w, cwd.path(), &["apply", "--auto-approve", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(
        &w,
        cwd.path(),
        &[
            "publish",
            set,
            "--type",
            "com.example.device.telemetry",
            "--data",
            r#"{"t": 21.5}"#,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(&w, cwd.path(), &["verify", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("✓ devices-to-webhook: delivered"), "{out}");
    let records = sink(&w);
    let telemetry: Vec<&Value> = records
        .iter()
        .filter(|r| r["eventType"] == "Notification" && r["body"][0]["data"]["t"] == 21.5)
        .collect();
    assert_eq!(telemetry.len(), 1, "{records:?}");
    assert_eq!(telemetry[0]["body"][0]["specversion"], "1.0");
}

#[test]
fn auth0_partner_verify_and_emit() {
    let w = world();
    let cwd = tempfile::tempdir().unwrap();
    let set = repo().join("manifests/auth0-partner");
    let set = set.to_str().unwrap();
    let (code, out, err) = run(&w, cwd.path(), &["apply", "--auto-approve", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(&w, cwd.path(), &["verify", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("✓ failed-logins: delivered"), "{out}");
    assert!(out.contains("✓ signups: delivered"), "{out}");
    let (code, out, err) = run(
        &w,
        cwd.path(),
        &[
            "emulator",
            "emit",
            "auth0",
            "--stream",
            "azure-events",
            "--type",
            "fp",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    w.wait_until(
        "the emitted auth0.log.fp event reached failed-logins",
        || {
            sink(&w).iter().any(|r| {
                r["body"][0]["type"] == "auth0.log.fp" && r["body"][0]["data"]["type"] == "fp"
            })
        },
    );
    let (code, _, err) = run(
        &w,
        cwd.path(),
        &["emulator", "emit", "auth0", "--stream", "no-such-stream"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn local_auth_disabled_topic_on_an_azure_endpoint_publishes_with_the_arm_credential() {
    let w = world();
    let cwd = tempfile::tempdir().unwrap();
    let set = repo().join("examples/cloudevents-topic");
    let set = set.to_str().unwrap();
    let (code, out, err) = run(&w, cwd.path(), &["apply", "--auto-approve", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    // A fake `az` hands out tokens the emulator trusts, each for the audience asked for (the
    // emulator checks audiences per surface).
    let token = w.token(EVENT_GRID_SCOPE);
    let arm_token = w.token(ARM_SCOPE);
    let bin = tempfile::tempdir().unwrap();
    let expires = chrono::Utc::now().timestamp() + 3600;
    let reply = |t: &str| {
        format!(
            "printf '%s' '{{\"accessToken\":\"{t}\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":{expires},\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'"
        )
    };
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{}/args'\ncase \"$*\" in\n  *eventgrid.azure.net*) {} ;;\n  *) {} ;;\nesac\n",
        bin.path().display(),
        reply(&token),
        reply(&arm_token)
    );
    let az = bin.path().join("az");
    std::fs::write(&az, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = gridform(
        cwd.path(),
        &[
            "--endpoint",
            &w.base_url,
            "--auth",
            "cli",
            "publish",
            set,
            "--type",
            "com.example.device.telemetry",
            "--data",
            r#"{"t": 7}"#,
        ],
        &[("PATH", path.as_str())],
    );
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{o}{e}");
    let args = std::fs::read_to_string(bin.path().join("args")).unwrap();
    assert!(
        args.contains("--scope https://eventgrid.azure.net/.default"),
        "{args}"
    );
    assert!(
        !o.contains(&token) && !e.contains(&token),
        "the token never prints"
    );
}
