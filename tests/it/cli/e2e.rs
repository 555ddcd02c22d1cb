//! The real binary against the emulator on 127.0.0.1:0: every manifest set in `manifests/` and
//! `examples/` applies, then plans empty; ownership, secrets and saved plans end to end.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use gridform::emulator::{Config, Running, spawn_local};
use gridform::model::ResourceId;
use serde_json::{Value, json};

use crate::support::{ARM_SCOPE, emulator_token, gridform, repo, texts};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

struct World {
    rt: tokio::runtime::Runtime,
    emulator: Running,
    hook: String,
}

/// An in-process emulator plus a webhook receiver that answers the validation handshake.
fn world() -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emulator = rt.block_on(spawn_local(Config::default())).unwrap();
    let hook = rt.block_on(async {
        let app = axum::Router::new().route(
            "/{*path}",
            axum::routing::post(|axum::Json(v): axum::Json<Value>| async move {
                axum::Json(json!({"validationResponse": v[0]["data"]["validationCode"]}))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!(
            "http://127.0.0.1:{}/runtime/webhooks/EventGrid",
            addr.port()
        )
    });
    World { rt, emulator, hook }
}

impl World {
    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("GRIDFORM_EMULATOR_URL", self.emulator.base_url.as_str()),
            ("GRIDFORM_POLL_MS", "20"),
            ("LOCAL_FUNCTION_URL", self.hook.as_str()),
        ]
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        gridform(dir, args, &self.env())
    }

    /// Plays the partner of `partner-topic-by-name`: once the group exists, create the topic.
    fn partner_creates(&self, group: &str, topic: &str, source: &str) {
        let id = ResourceId::resource_group(SUB, group).provider_resource(
            "Microsoft.EventGrid",
            "partnerTopics",
            topic,
        );
        let body = json!({"location": "westeurope", "properties": {"source": source, "partnerRegistrationImmutableId": "804a11ca-ce9b-4158-8e94-3c8dc7a072ec"}});
        for _ in 0..500 {
            if self
                .emulator
                .emulator
                .lock()
                .put_partner_topic(&id, &body)
                .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the group `{group}` never appeared");
    }
}

fn sets() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for top in ["manifests", "examples"] {
        for e in std::fs::read_dir(repo().join(top)).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            }
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn every_manifest_set_applies_then_plans_empty() {
    let mut failures = Vec::new();
    for set in sets() {
        let w = world();
        let cwd = tempfile::tempdir().unwrap();
        let path = set.display().to_string();
        let apply = std::thread::scope(|s| {
            let handle = s.spawn(|| w.run(cwd.path(), &["apply", "--auto-approve", &path]));
            if set.ends_with("partner-topic-by-name") {
                w.partner_creates(
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
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let mut env = w.env();
    env.push(("HOOK_KEY", CANARY));
    let run = |args: &[&str]| gridform(dir.path(), args, &env);
    write(
        dir.path(),
        "m.yaml",
        &format!(
            "{STACK}{}{}",
            subscription("keep", &w.hook, 10),
            subscription("drop", &w.hook, 10)
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
    let body = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": w.hook}}}});
    w.rt.block_on(async {
        let client = reqwest::Client::new();
        let token = emulator_token(&w.emulator.base_url, ARM_SCOPE).await;
        let resp = client
            .put(format!(
                "{}{manual}?api-version=2025-02-15",
                w.emulator.base_url
            ))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    });
    // One field changes, one document goes away.
    write(
        dir.path(),
        "m.yaml",
        &format!("{STACK}{}", subscription("keep", &w.hook, 5)),
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
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let mut env = w.env();
    env.push(("HOOK_KEY", "k"));
    let run = |args: &[&str]| gridform(dir.path(), args, &env);
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
        err.contains("refusing to apply `p.json`: the live state changed since the plan was made"),
        "{err}"
    );
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", STACK);
    let out = w.run(dir.path(), &["apply", "m.yaml"]);
    let (_, err) = texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("hint: pass `--auto-approve`"), "{err}");
}
