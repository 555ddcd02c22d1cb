//! The plan is the contract (issue 11), with the real binary against the emulator: a saved plan
//! pins values and inputs, is recognised by content, applies from any directory, and `show`
//! renders it; `show PATH` lists the live resources.

use std::path::Path;

use serde_json::Value;

use crate::support::{World, texts};

const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: contract}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: contract, location: westeurope, secrets: [HOOK_KEY]}
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {name: contract}
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
";

fn manifests(dir: &Path, hook: &str, attempts: u32) {
    let sub = format!(
        "---\napiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: hook}}\nspec:\n  topic: {{kind: Topic, name: orders}}\n  destination:\n    endpointType: WebHook\n    endpointUrl: {hook}?code=${{env:HOOK_KEY}}\n  retryPolicy: {{maxDeliveryAttempts: {attempts}}}\n"
    );
    std::fs::write(dir.join("m.yaml"), format!("{STACK}{sub}")).unwrap();
}

const SUB_PATH: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/contract/providers/Microsoft.EventGrid/topics/orders/eventSubscriptions/hook?api-version=2025-02-15";

fn attempts(w: &World) -> Value {
    w.arm_get(SUB_PATH)["properties"]["retryPolicy"]["maxDeliveryAttempts"].clone()
}

#[test]
fn a_saved_plan_pins_values_and_applies_from_any_directory() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let hook = format!("{}/runtime/webhooks/EventGrid", w.hook());
    let run = |cwd: &Path, args: &[&str], key: &str| w.run_with(cwd, args, &[("HOOK_KEY", key)]);
    manifests(dir.path(), &hook, 5);
    assert_eq!(
        run(dir.path(), &["apply", "--auto-approve", "m.yaml"], "k1")
            .status
            .code(),
        Some(0)
    );

    // Reviewed: 5 -> 6, saved under a name with no extension.
    manifests(dir.path(), &hook, 6);
    let planned = run(dir.path(), &["plan", "--out", "tfplan", "m.yaml"], "k1");
    assert_eq!(planned.status.code(), Some(0), "{:?}", texts(&planned));
    let saved = std::fs::read_to_string(dir.path().join("tfplan")).unwrap();
    assert!(
        !saved.contains("k1"),
        "a variable value reached the saved plan"
    );

    // Edited after review: refused, naming the file.
    manifests(dir.path(), &hook, 29);
    let edited = run(dir.path(), &["apply", "tfplan"], "k1");
    let (_, err) = texts(&edited);
    assert_eq!(edited.status.code(), Some(1), "{err}");
    assert!(err.contains("refusing to apply `tfplan`"), "{err}");
    assert!(err.contains("m.yaml` changed"), "{err}");
    assert_eq!(attempts(&w), 5);

    // Back as reviewed, but a variable changed: refused, naming it and never its value.
    manifests(dir.path(), &hook, 6);
    let rotated = run(dir.path(), &["apply", "tfplan"], "k2");
    let (out, err) = texts(&rotated);
    assert_eq!(rotated.status.code(), Some(1), "{err}");
    assert!(
        err.contains("variable `HOOK_KEY` has another value"),
        "{err}"
    );
    assert!(!format!("{out}{err}").contains("k2") && !format!("{out}{err}").contains("k1"));

    // As reviewed, from another working directory: applied, and the next plan is empty.
    let plan_file = dir.path().join("tfplan").display().to_string();
    let applied = run(elsewhere.path(), &["apply", &plan_file], "k1");
    assert_eq!(applied.status.code(), Some(0), "{:?}", texts(&applied));
    assert_eq!(attempts(&w), 6);
    let again = run(dir.path(), &["plan", "--detailed-exitcode", "m.yaml"], "k1");
    assert_eq!(again.status.code(), Some(0), "{:?}", texts(&again));
}

#[test]
fn show_renders_a_saved_plan_and_lists_live_resources() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let hook = format!("{}/runtime/webhooks/EventGrid", w.hook());
    let run = |args: &[&str]| w.run_with(dir.path(), args, &[("HOOK_KEY", "sh0w-k3y")]);
    manifests(dir.path(), &hook, 5);
    assert_eq!(
        run(&["plan", "--out", "p.out", "m.yaml"]).status.code(),
        Some(0)
    );
    let shown = run(&["show", "p.out"]);
    let (out, err) = texts(&shown);
    assert_eq!(shown.status.code(), Some(0), "{err}");
    assert!(
        out.starts_with("gridform will perform these actions for stack `contract`"),
        "{out}"
    );
    assert!(out.contains("+ create EventSubscription `hook`"), "{out}");
    let json: Value =
        serde_json::from_str(&texts(&run(&["show", "p.out", "--format", "json"])).0).unwrap();
    assert_eq!(json["stack"], "contract");
    let md = texts(&run(&["show", "p.out", "--format", "markdown"])).0;
    assert!(md.contains("\n+ create EventSubscription `hook`"), "{md}");

    assert_eq!(
        run(&["apply", "--auto-approve", "m.yaml"]).status.code(),
        Some(0)
    );
    let live = run(&["show", "m.yaml", "--format", "json"]);
    let (out, err) = texts(&live);
    assert_eq!(live.status.code(), Some(0), "{err}");
    assert!(!out.contains("sh0w-k3y"), "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let topic = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Topic")
        .unwrap();
    assert_eq!(topic["exists"], true);
    assert!(
        topic["values"]["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("http"),
        "{topic}"
    );
    let human = texts(&run(&["show", "m.yaml"])).0;
    assert!(
        human.contains("Topic `orders`") && human.contains("endpoint = "),
        "{human}"
    );
}

/// A stack of one topic and `n` webhook subscriptions.
fn large_stack(dir: &Path, hook: &str, n: usize) {
    let mut text = STACK.to_string();
    for i in 0..n {
        text.push_str(&format!(
            "---\napiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: hook-{i}}}\nspec:\n  topic: {{kind: Topic, name: orders}}\n  destination: {{endpointType: WebHook, endpointUrl: '{hook}/{i}'}}\n  filter: {{subjectBeginsWith: /orders/{i}/, includedEventTypes: [Orders.Created, Orders.Updated]}}\n"
        ));
    }
    std::fs::write(dir.join("m.yaml"), text).unwrap();
}

#[test]
fn a_markdown_plan_of_a_large_stack_fits_a_pull_request_comment() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    large_stack(dir.path(), &format!("{}/hooks", w.hook()), 400);
    let md = w.run(dir.path(), &["plan", "--format", "markdown", "m.yaml"]);
    let (out, err) = texts(&md);
    assert_eq!(md.status.code(), Some(0), "{err}");
    assert!(
        out.chars().count() <= 65_000,
        "{} characters",
        out.chars().count()
    );
    assert!(
        out.find("| add |").unwrap() < out.find("```diff").unwrap(),
        "summary first"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("+ create EventSubscription `hook-0`")),
        "{}",
        &out[..400]
    );
    assert!(
        out.contains("actions left out"),
        "{}",
        &out[out.len() - 300..]
    );
}

#[test]
fn log_colour_follows_the_color_flag() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path(), &format!("{}/hooks", w.hook()), 5);
    let stderr_of = |args: &[&str], extra: &[(&str, &str)]| {
        let out = w.run_with(
            dir.path(),
            args,
            &[&[("HOOK_KEY", "k")][..], extra].concat(),
        );
        let (o, e) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{o}{e}");
        e
    };
    let plan = ["-vv", "plan", "m.yaml"];
    // Redirected stderr (as in CI) gets no ANSI escapes by default, nor with `never`.
    assert!(!stderr_of(&plan, &[]).contains('\u{1b}'));
    assert!(!stderr_of(&["--color", "never", "-vv", "plan", "m.yaml"], &[]).contains('\u{1b}'));
    // `always` colours the log lines too, and NO_COLOR does not override an explicit `always`.
    let always = stderr_of(
        &["--color", "always", "-vv", "plan", "m.yaml"],
        &[("NO_COLOR", "1")],
    );
    assert!(always.contains('\u{1b}'), "{always}");
}

#[test]
fn the_plan_warns_when_a_partner_topic_expires_unactivated_within_a_day() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = "apiVersion: gridform/v1
kind: Stack
metadata: {name: expiring}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: partner-events, location: westeurope}
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: PartnerTopic
metadata: {name: auth0-logs}
spec: {expectedSource: example.eu.auth0.com, activationState: Activated}
";
    std::fs::write(dir.path().join("m.yaml"), manifest).unwrap();
    let group = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/partner-events";
    let status = w.arm_put(
        &format!("{group}?api-version=2021-04-01"),
        &serde_json::json!({"location": "westeurope"}),
    );
    assert!(status.is_success(), "{status}");
    let id = gridform::model::ResourceId::parse(&format!(
        "{group}/providers/Microsoft.EventGrid/partnerTopics/auth0-logs"
    ))
    .unwrap();
    let expires = (chrono::Utc::now() + chrono::Duration::hours(12))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = serde_json::json!({"location": "westeurope", "properties": {
        "source": "example.eu.auth0.com",
        "partnerRegistrationImmutableId": "804a11ca-ce9b-4158-8e94-3c8dc7a072ec",
        "expirationTimeIfNotActivatedUtc": expires}});
    w.emulator.lock().put_partner_topic(&id, &body).unwrap();
    let plan = w.run(dir.path(), &["plan", "m.yaml"]);
    let (out, err) = texts(&plan);
    assert_eq!(plan.status.code(), Some(0), "{err}");
    assert!(
        out.contains("partner topic `auth0-logs` was never activated and expires at"),
        "{out}"
    );
    assert!(out.contains("this plan activates it"), "{out}");
    let json = w.run(dir.path(), &["plan", "--format", "json", "m.yaml"]);
    let doc: Value = serde_json::from_str(&texts(&json).0).unwrap();
    assert_eq!(doc["warnings"].as_array().map(Vec::len), Some(1), "{doc}");
}
