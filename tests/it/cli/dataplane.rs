//! `gridform publish`, `gridform verify` and `gridform emulator emit` — the real binary against
//! an in-process emulator on 127.0.0.1:0 (retry schedule time-scaled ×1000) and a local webhook
//! receiver that answers the handshake, records notifications, and fails under `/fail`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gridform::emulator::{Config, Running, spawn_local};
use serde_json::{Value, json};

use crate::support::{emulator_token, gridform, repo, texts};

struct World {
    _rt: tokio::runtime::Runtime,
    emulator: Running,
    hook: String,
    got: Arc<Mutex<Vec<(String, Value)>>>,
}

fn world() -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        time_scale: 1000.0,
        ..Config::default()
    };
    let emulator = rt.block_on(spawn_local(config)).unwrap();
    let got: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let record = got.clone();
    let hook = rt.block_on(async move {
        let app = axum::Router::new().route(
            "/{*path}",
            axum::routing::post(
                move |uri: axum::http::Uri,
                      headers: axum::http::HeaderMap,
                      axum::Json(v): axum::Json<Value>| {
                    let record = record.clone();
                    async move {
                        use axum::response::IntoResponse;
                        if headers["aeg-event-type"] == "SubscriptionValidation" {
                            return axum::Json(
                                json!({"validationResponse": v[0]["data"]["validationCode"]}),
                            )
                            .into_response();
                        }
                        record.lock().unwrap().push((uri.path().to_string(), v));
                        if uri.path().starts_with("/fail") {
                            axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response()
                        } else {
                            axum::http::StatusCode::OK.into_response()
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://127.0.0.1:{}", addr.port())
    });
    World {
        _rt: rt,
        emulator,
        hook,
        got,
    }
}

impl World {
    fn run(&self, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
        let local = format!("{}/local", self.hook);
        let env = [
            ("GRIDFORM_EMULATOR_URL", self.emulator.base_url.as_str()),
            ("GRIDFORM_POLL_MS", "20"),
            ("HOOK", self.hook.as_str()),
            ("LOCAL_FUNCTION_URL", local.as_str()),
        ];
        let out = gridform(dir, args, &env);
        let (o, e) = texts(&out);
        (out.status.code(), o, e)
    }

    fn wait_for(&self, path: &str, n: usize) -> Vec<Value> {
        for _ in 0..300 {
            let got: Vec<Value> = self
                .got
                .lock()
                .unwrap()
                .iter()
                .filter(|(p, _)| p.starts_with(path))
                .map(|(_, v)| v.clone())
                .collect();
            if got.len() >= n {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("nothing delivered to {path}");
    }
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
    let (code, out, err) = w.run(cwd.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, Some(0), "{out}{err}");

    // A filtered-out event is accepted but not delivered to big-orders; a matching one is.
    let (code, out, err) = w.run(
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
    let got = w.wait_for("/ok", 1);
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
    let (code, _, err) = w.run(
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
    let (code, _, err) = w.run(cwd.path(), &["publish", "--topic", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no Topic `nope`"), "{err}");

    // verify: the good subscription gets its canary, the broken one is retried then dropped.
    let (code, out, err) = w.run(cwd.path(), &["verify", "--timeout", "5s"]);
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
    let (code, out, err) = w.run(cwd.path(), &["apply", "--auto-approve", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = w.run(cwd.path(), &["verify", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2 delivered, 0 failed"), "{out}");
    let source = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/chat/providers/Microsoft.SignalRService/SignalR/chat-signalr";
    let (code, out, err) = w.run(
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
        let got = w.wait_for("/local", n);
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
    let (code, _, err) = w.run(
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
    let store = w.emulator.emulator.lock();
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
    let (code, out, err) = w.run(cwd.path(), &["apply", "--auto-approve", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = w.run(
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
    let (code, out, err) = w.run(cwd.path(), &["verify", set]);
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
    let (code, out, err) = w.run(cwd.path(), &["apply", "--auto-approve", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = w.run(cwd.path(), &["verify", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("✓ failed-logins: delivered"), "{out}");
    assert!(out.contains("✓ signups: delivered"), "{out}");
    let (code, out, err) = w.run(
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
    let mut found = false;
    for _ in 0..100 {
        found = sink(&w).iter().any(|r| {
            r["body"][0]["type"] == "auth0.log.fp" && r["body"][0]["data"]["type"] == "fp"
        });
        if found {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        found,
        "the emitted auth0.log.fp event reached failed-logins"
    );
    let (code, _, err) = w.run(
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
    let (code, out, err) = w.run(cwd.path(), &["apply", "--auto-approve", set]);
    assert_eq!(code, Some(0), "{out}{err}");
    // A fake `az` hands out a token the emulator trusts, for whatever scope it is asked.
    let base = w.emulator.base_url.clone();
    let token = w._rt.block_on(emulator_token(
        &base,
        "https://eventgrid.azure.net/.default",
    ));
    let bin = tempfile::tempdir().unwrap();
    let expires = chrono::Utc::now().timestamp() + 3600;
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{}/args'\nprintf '%s' '{{\"accessToken\":\"{}\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":{expires},\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'\n",
        bin.path().display(),
        &token
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
            &w.emulator.base_url,
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
