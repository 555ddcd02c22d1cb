//! Issue 11 items 4–7 end to end with the real binary against the in-process emulator: a webhook
//! that leaves its subscription `AwaitingManualAction` is not done, Ctrl-C interrupts waits,
//! time decisions follow the server's clock, and progress lines name what became known.

use std::path::Path;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

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

/// The Auth0 reference without its partner configuration: the partner is never authorized, so
/// its partner topic never appears and apply waits `waitForPartner`.
const UNAUTHORIZED: &str = r#"apiVersion: gridform/v1
kind: Stack
metadata: {name: unauthorized}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: identity-events
  location: westeurope
  auth0: {tenantDomain: example.eu.auth0.com}
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {name: identity-events}
---
# Records the streams this stack creates, but authorizes no partner.
apiVersion: gridform/v1
kind: PartnerConfiguration
metadata: {resourceGroup: identity-events}
spec:
  partnerAuthorization:
    defaultMaximumExpirationTimeInDays: 7
    authorizedPartnersList: []
---
apiVersion: gridform/v1
kind: Auth0LogStream
metadata: {name: azure-events}
spec:
  azureRegion: westeurope
  status: active
---
apiVersion: gridform/v1
kind: PartnerTopic
metadata: {name: auth0}
spec:
  fromAuth0LogStream: azure-events
  activationState: Activated
  waitForPartner: 40s
"#;

/// Reads `child`'s stderr until a line contains `marker`; what was read.
fn stderr_until(child: &mut Child, marker: &str) -> (BufReader<std::process::ChildStderr>, String) {
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        let found = line.contains(marker);
        line.clear();
        if found {
            return (stderr, seen);
        }
    }
    panic!("`{marker}` never appeared on stderr:\n{seen}");
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ctrl_c_ends_the_wait_for_an_unauthorized_partner_and_says_what_it_interrupted() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), UNAUTHORIZED).unwrap();
    let mut child = w
        .command(dir.path(), &["-v", "apply", "--auto-approve", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The wait for the partner has begun (its log line; the stream's progress line alone came
    // before the wait started, so an interrupt in between stopped a run with no wait running).
    let (mut stderr, mut seen) = stderr_until(
        &mut child,
        "waiting for the partner to create its partner topic",
    );
    interrupt(&child);
    stderr.read_to_string(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}{seen}");
    let what = "interrupted while waiting for the partner topic of Auth0 stream `azure-events`";
    assert!(stdout.contains(what), "{stdout}{seen}");
    assert!(seen.contains(what), "{seen}");
    assert!(
        !stdout.contains("did not create the partner topic within")
            && !seen.contains("did not create the partner topic within"),
        "the wait ran to its timeout: {stdout}{seen}"
    );
    assert!(stdout.contains("run `gridform apply` again"), "{stdout}");
}

/// Runs `apply` in `dir`, interrupts it once `marker` is on stderr: (exit code, stdout, stderr).
fn apply_interrupted_after(w: &World, dir: &Path, marker: &str) -> (Option<i32>, String, String) {
    let mut child = w
        .command(dir, &["apply", "--auto-approve", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stderr, mut seen) = stderr_until(&mut child, marker);
    interrupt(&child);
    stderr.read_to_string(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), stdout, seen)
}

#[test]
fn ctrl_c_ends_provider_registration_and_long_running_operation_waits() {
    // Registrations and operations that take a minute: only the interruption ends them early.
    let w = World::with_config(gridform::emulator::Config {
        lro_delay: std::time::Duration::from_secs(60),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), MANUAL_STACK).unwrap();
    // The resource group answers at once while the provider is still registering.
    let (code, out, err) = apply_interrupted_after(&w, dir.path(), "ResourceGroup `waits`");
    assert_eq!(code, Some(130), "{out}{err}");
    let what = "interrupted while waiting for provider `Microsoft.EventGrid` to be registered";
    assert!(out.contains(what), "{out}{err}");
    assert!(
        !out.contains("after 600s"),
        "the wait ran to its timeout: {out}"
    );
    // A minute later the provider is registered; the topic's operation is polled next, beside
    // another resource group that answers at once.
    let moved = w.control(
        reqwest::Method::POST,
        "/_emulator/clock",
        &json!({"advanceSeconds": 120}),
    );
    assert!(moved.is_success());
    let extra =
        "---\napiVersion: gridform/v1\nkind: ResourceGroup\nmetadata: {name: waits-extra}\n";
    std::fs::write(dir.path().join("extra.yaml"), extra).unwrap();
    let (code, out, err) = apply_interrupted_after(&w, dir.path(), "ResourceGroup `waits-extra`");
    assert_eq!(code, Some(130), "{out}{err}");
    assert!(
        out.contains("interrupted while waiting for the long-running operation of PUT"),
        "{out}{err}"
    );
    assert!(out.contains("may still complete in Azure"), "{out}");
    assert!(
        !out.contains("long-running operation still"),
        "timed out instead: {out}"
    );
}

#[test]
fn progress_lines_name_the_partner_topic_once_it_is_known() {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    let set = reference();
    let (code, out, err) = run(&w, cwd.path(), &["apply", "--auto-approve", &set]);
    assert_eq!(code, Some(0), "{out}{err}");
    // The plan printed first cannot know the name yet ...
    assert!(out.contains("(known after apply)"), "{out}");
    let topics = w.arm_get("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/identity-events/providers/Microsoft.EventGrid/partnerTopics?api-version=2025-02-15");
    let name = topics["value"][0]["name"].as_str().unwrap().to_string();
    // ... the progress lines after the partner created it do.
    assert!(
        err.contains(&format!(
            "the partner of Auth0 stream `azure-events` created `{name}`"
        )),
        "{err}"
    );
    let progress: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("PartnerTopic `auth0`") || l.contains("failed-logins"))
        .collect();
    assert!(progress.len() >= 3, "{err}");
    for line in progress {
        assert!(!line.contains("known after apply"), "{line}");
        assert!(line.contains(&format!("/partnerTopics/{name}")), "{line}");
    }
}
