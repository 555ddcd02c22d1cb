//! The apply guarantees of issue 6, end to end against the emulator: re-runnable after SIGKILL,
//! patient under 10% faults, safe for out-of-band resources through apply and destroy.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gridform::emulator::{Config, FaultSpec};
use serde_json::{Value, json};

use crate::support::{World, repo, texts};

/// The Auth0 reference plus a topic with many subscriptions, so apply takes a while.
fn large_stack(dir: &Path, subscriptions: usize) {
    for f in [
        "stack.yaml",
        "azure.yaml",
        "auth0.yaml",
        "subscriptions.yaml",
    ] {
        std::fs::copy(repo().join("manifests/auth0-partner").join(f), dir.join(f)).unwrap();
    }
    let mut extra = String::from("apiVersion: gridform/v1\nkind: Topic\nmetadata: {name: audit}\n");
    for i in 0..subscriptions {
        extra.push_str(&format!(
            "---\napiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: audit-{i}}}\nspec:\n  topic: {{kind: Topic, name: audit}}\n  destination: {{endpointType: WebHook, endpointUrl: 'https://audit.example.com/e?k={i}'}}\n"
        ));
    }
    std::fs::write(dir.join("audit.yaml"), extra).unwrap();
}

fn assert_converged(w: &World, dir: &Path, what: &str) {
    let plan = w.run(
        dir,
        &["plan", "--format", "json", "--detailed-exitcode", "."],
    );
    let (out, err) = texts(&plan);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{what}: plan after the re-run is not empty\n{out}{err}"
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["unmanaged"], json!([]), "{what}: orphans left behind");
    let streams = w.auth0_get("/auth0/api/v2/log-streams");
    let named = streams
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "azure-events")
        .count();
    assert_eq!(named, 1, "{what}: duplicate Auth0 streams: {streams}");
    let topics = w.arm_get("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/identity-events/providers/Microsoft.EventGrid/partnerTopics?api-version=2025-02-15");
    assert_eq!(
        topics["value"].as_array().unwrap().len(),
        1,
        "{what}: orphan partner topics: {topics}"
    );
}

#[test]
fn sigkill_at_ten_points_then_a_plain_rerun_converges() {
    let latency = Config {
        latency: Duration::from_millis(15),
        ..Default::default()
    };
    // How long an uninterrupted apply takes, to spread the kills over it.
    let w = World::with_config(latency.clone());
    let dir = tempfile::tempdir().unwrap();
    large_stack(dir.path(), 24);
    let t = Instant::now();
    let full = w.run(
        dir.path(),
        &["apply", "--auto-approve", "--parallelism", "4", "."],
    );
    assert_eq!(full.status.code(), Some(0), "{:?}", texts(&full));
    let total = t.elapsed();
    for k in 1..=10u32 {
        let w = World::with_config(latency.clone());
        let mut child = w
            .command(
                dir.path(),
                &["apply", "--auto-approve", "--parallelism", "4", "."],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(total * k / 11);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let rerun = w.run(dir.path(), &["apply", "--auto-approve", "."]);
        assert_eq!(
            rerun.status.code(),
            Some(0),
            "kill point {k}: {:?}",
            texts(&rerun)
        );
        assert_converged(&w, dir.path(), &format!("kill point {k}"));
    }
}

#[test]
fn ten_percent_faults_and_two_hundred_resources_converge_in_one_run() {
    let faults = FaultSpec::parse("5xx=0.04,429=0.03,reset=0.02,lro-fail=0.01").unwrap();
    let w = World::with_config(Config {
        faults,
        seed: 7,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    large_stack(dir.path(), 190);
    let apply = w.run(
        dir.path(),
        &["apply", "--auto-approve", "--parallelism", "10", "."],
    );
    let (out, err) = texts(&apply);
    assert_eq!(apply.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("0 failed, 0 skipped"), "{out}");
    // The plan comes first on stdout, then the summary line.
    let summary = out.lines().find(|l| l.starts_with("Apply: ")).unwrap();
    assert!(summary.contains("succeeded"), "{out}");
    assert!(
        out.starts_with("gridform will perform these actions"),
        "{out}"
    );
    let n: usize = summary.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n >= 198, "{n} actions");
    // The plan reads through the same faults (the client retries them) and must be empty.
    let plan = w.run(dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(plan.status.code(), Some(0), "{:?}", texts(&plan));
    // Then look at the world without faults.
    let cleared = w.control(
        reqwest::Method::PUT,
        "/_emulator/faults",
        &json!({"spec": ""}),
    );
    assert!(cleared.is_success());
    assert_converged(&w, dir.path(), "after faults");
}

#[test]
fn out_of_band_resources_survive_apply_and_destroy() {
    let w = World::with_config(Config::default());
    let dir = tempfile::tempdir().unwrap();
    large_stack(dir.path(), 2);
    assert_eq!(
        w.run(dir.path(), &["apply", "--auto-approve", "."])
            .status
            .code(),
        Some(0)
    );
    let rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/identity-events/providers/Microsoft.EventGrid";
    let manual_topic = format!("{rg}/topics/manual-topic");
    let manual_sub = format!("{rg}/topics/audit/eventSubscriptions/manual-sub");
    for (path, body) in [
        (&manual_topic, json!({"location": "westeurope"})),
        (
            &manual_sub,
            json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "https://ops.example.com/x"}}}}),
        ),
    ] {
        let status = w.arm_put(&format!("{path}?api-version=2025-02-15"), &body);
        assert!(status.is_success(), "{path}: {status}");
    }
    let again = w.run(dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(again.status.code(), Some(0), "{:?}", texts(&again));
    let destroy = w.run(dir.path(), &["destroy", "--auto-approve", "."]);
    let (out, err) = texts(&destroy);
    assert_eq!(destroy.status.code(), Some(0), "{out}{err}");
    let exists = |path: &str| {
        w.arm_get(&format!("{path}?api-version=2025-02-15"))
            .get("id")
            .is_some()
    };
    assert!(
        exists(&manual_topic),
        "the unmanaged topic survives destroy"
    );
    assert!(
        exists(&manual_sub),
        "the unmanaged subscription survives destroy"
    );
    assert!(
        exists(&format!("{rg}/topics/audit")),
        "its owned topic is kept because of it"
    );
    assert!(
        !exists(&format!("{rg}/topics/audit/eventSubscriptions/audit-0")),
        "owned subscriptions are gone"
    );
    assert!(
        !exists(&format!("{rg}/partnerConfigurations/default")),
        "the partner configuration is gone"
    );
    let streams = w.auth0_get("/auth0/api/v2/log-streams");
    assert!(
        streams
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "azure-events"),
        "the stream is gone: {streams}"
    );
    let topics = w.arm_get(&format!("{rg}/partnerTopics?api-version=2025-02-15"));
    assert_eq!(topics["value"], json!([]), "the partner topic is gone");
}

#[test]
fn ctrl_c_stops_new_actions_reports_and_exits_130() {
    use std::io::{BufRead, BufReader, Read};
    let w = World::with_config(Config {
        latency: Duration::from_millis(20),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    large_stack(dir.path(), 60);
    let mut child = w
        .command(
            dir.path(),
            &["apply", "--auto-approve", "--parallelism", "1", "."],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first subscriptions are in: dozens of actions are still to come.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        let started = line.contains("audit-2");
        line.clear();
        if started {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stderr.read_to_string(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}{seen}");
    assert!(seen.contains("(interrupted)"), "{seen}");
    assert!(stdout.starts_with("gridform will perform"), "{stdout}");
    assert!(stdout.contains("\nApply: "), "{stdout}");
    let rerun = w.run(dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(rerun.status.code(), Some(0), "{:?}", texts(&rerun));
    assert_converged(&w, dir.path(), "after Ctrl-C");
}

#[test]
fn a_second_ctrl_c_aborts_at_once() {
    use std::io::{BufRead, BufReader};
    // Slow requests: the first Ctrl-C ends waits at once but lets requests in flight finish,
    // which takes a while here.
    let w = World::with_config(Config {
        latency: Duration::from_secs(2),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    large_stack(dir.path(), 4);
    let mut child = w
        .command(dir.path(), &["apply", "--auto-approve", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    // The resource group answers at once; then the long-running operations are in flight.
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("ResourceGroup") {
        line.clear();
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Keep reading stderr so the child never writes into a closed pipe.
    std::io::Read::read_to_string(&mut stderr, &mut line).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    // The first Ctrl-C alone waits for the requests in flight, then prints the summary; the
    // second aborts before that (no timed bound: requests take 2 s, load may take longer).
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("Apply: "),
        "aborted without waiting for in-flight operations: {stdout}"
    );
}
