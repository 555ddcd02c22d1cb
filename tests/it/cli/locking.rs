//! Concurrent runs with the real binary (docs/locking.md): the embedded emulator's state file
//! lock (two `--emulator apply` runs of two stacks in one folder lose nothing; a held lock fails
//! at once naming the holder, or is waited for) and the stack lease on the resource group against
//! a running emulator (held → apply fails naming the holder, plan still works; expired → apply
//! proceeds; `unlock --yes` removes it). Synchronization is by polling a condition, never sleeps.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::support::{World, gridform, gridform_command, outcome};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn stack(name: &str) -> String {
    format!(
        "apiVersion: gridform/v1
kind: Stack
metadata: {{name: {name}}}
spec: {{subscriptionId: {SUB}, resourceGroup: {name}, location: westeurope}}
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {{name: Microsoft.EventGrid}}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {{name: {name}}}
---
apiVersion: gridform/v1
kind: Topic
metadata: {{name: {name}-orders}}
"
    )
}

/// A folder with one subfolder (and stack) per name.
fn folder_with_stacks(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("stack.yaml"), stack(name)).unwrap();
    }
    dir
}

const FAST: [(&str, &str); 1] = [("GRIDFORM_POLL_MS", "20")];

fn embedded(dir: &Path, args: &[&str]) -> Command {
    let mut all = vec!["--emulator"];
    all.extend_from_slice(args);
    gridform_command(dir, &all, &FAST)
}

fn spawn_piped(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

/// Whether `stack`'s manifests plan no changes against the embedded emulator (its resources
/// exist as declared).
fn embedded_stack_is_in_place(dir: &Path, stack: &str) -> bool {
    let out = embedded(dir, &["plan", "--detailed-exitcode", stack])
        .output()
        .unwrap();
    out.status.code() == Some(0)
}

#[test]
fn two_embedded_applies_of_two_stacks_in_one_folder_both_keep_their_writes() {
    let dir = folder_with_stacks(&["alpha", "beta"]);
    let apply = |name| {
        spawn_piped(embedded(
            dir.path(),
            &["--lock-timeout", "10m", "apply", "--auto-approve", name],
        ))
    };
    let (first, second) = (apply("alpha"), apply("beta"));
    for run in [first, second] {
        let (code, stdout, stderr) = outcome(&run.wait_with_output().unwrap());
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    }
    // Before the lock one of the two stacks was gone here (each run rewrote the whole state).
    assert!(embedded_stack_is_in_place(dir.path(), "alpha"));
    assert!(embedded_stack_is_in_place(dir.path(), "beta"));
}

#[test]
fn with_no_lock_timeout_concurrent_embedded_applies_succeed_or_fail_naming_the_holder() {
    let dir = folder_with_stacks(&["alpha", "beta"]);
    let apply = |name| spawn_piped(embedded(dir.path(), &["apply", "--auto-approve", name]));
    let runs = [("alpha", apply("alpha")), ("beta", apply("beta"))];
    for (name, run) in runs {
        let (code, _, stderr) = outcome(&run.wait_with_output().unwrap());
        if code == Some(0) {
            assert!(embedded_stack_is_in_place(dir.path(), name), "{name}");
        } else {
            // The other run held the state: refused at once, naming it, nothing half-done.
            assert!(stderr.contains("emulator.lock is held by pid"), "{stderr}");
            assert!(stderr.contains("apply --auto-approve"), "{stderr}");
            assert!(stderr.contains("--lock-timeout"), "{stderr}");
        }
    }
}

/// `gridform emulator serve --state .gridform/emulator.json`, started and holding the state
/// file's lock (it prints its URL only after taking it).
fn serve_holding_the_state_lock(dir: &Path) -> Child {
    let mut serve = spawn_piped(gridform_command(
        dir,
        &[
            "emulator",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state",
            ".gridform/emulator.json",
        ],
        &[],
    ));
    let mut first_line = String::new();
    BufReader::new(serve.stdout.as_mut().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    assert!(first_line.starts_with("http://"), "{first_line}");
    serve
}

#[test]
fn a_held_emulator_state_fails_at_once_naming_the_holder_or_is_waited_for() {
    let dir = folder_with_stacks(&["alpha"]);
    let mut serve = serve_holding_the_state_lock(dir.path());
    let held_by = format!("pid {} (gridform emulator serve", serve.id());
    for args in [
        &["apply", "--auto-approve", "alpha"][..],
        &["plan", "alpha"][..],
    ] {
        let (code, _, stderr) = outcome(&embedded(dir.path(), args).output().unwrap());
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains(&held_by), "{stderr}");
        assert!(stderr.contains(" since "), "{stderr}");
    }
    // A run that may wait says so, and proceeds once the holder is gone.
    let mut waiting = spawn_piped(embedded(
        dir.path(),
        &["--lock-timeout", "10m", "apply", "--auto-approve", "alpha"],
    ));
    let mut stderr = BufReader::new(waiting.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("waiting up to 600s") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no wait notice");
    }
    assert!(line.contains(&held_by), "{line}");
    serve.kill().unwrap();
    serve.wait().unwrap();
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(embedded_stack_is_in_place(dir.path(), "alpha"));
}

fn group_path(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}?api-version=2021-04-01")
}

/// Writes `extra` tags onto the resource group, as another run's lease would be.
fn plant_tags(w: &World, name: &str, extra: Value) {
    let mut body = w.arm_get(&group_path(name));
    let mut tags = body["tags"].as_object().cloned().unwrap_or_default();
    tags.extend(extra.as_object().unwrap().clone());
    body["tags"] = Value::Object(tags);
    assert!(w.arm_put(&group_path(name), &body).is_success());
}

fn lease_tags(expires: &str) -> Value {
    json!({
        "gridform-lease": "0123abcd",
        "gridform-lease-holder": "ana@build-7 pid 4242 (gridform apply)",
        "gridform-lease-since": "2030-01-01T00:00:00Z",
        "gridform-lease-expires": expires,
    })
}

fn has_lease(w: &World, name: &str) -> bool {
    w.arm_get(&group_path(name))["tags"]
        .get("gridform-lease")
        .is_some()
}

#[test]
fn a_held_lease_stops_apply_and_destroy_naming_the_holder_while_plan_and_drift_work() {
    let w = World::start();
    let dir = folder_with_stacks(&["leased"]);
    let d = dir.path();
    let (code, _, stderr) = outcome(&w.run(d, &["apply", "--auto-approve", "leased"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("does not exist yet, so this first apply runs without a stack lease"),
        "{stderr}"
    );
    assert!(!has_lease(&w, "leased"), "apply released its lease");
    plant_tags(&w, "leased", lease_tags("2999-01-01T00:00:00Z"));

    for args in [
        &["apply", "--auto-approve", "leased"][..],
        &["destroy", "--auto-approve", "leased"][..],
    ] {
        let (code, _, stderr) = outcome(&w.run(d, args));
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains("stack `leased` is locked: resource group leased has a lease held by ana@build-7 pid 4242 (gridform apply), since 2030-01-01T00:00:00Z"),
            "{stderr}"
        );
        assert!(stderr.contains("gridform unlock leased"), "{stderr}");
    }
    // Read-only commands take no lease, and the lease tags are not drift.
    for args in [
        &["plan", "--detailed-exitcode", "leased"][..],
        &["drift", "leased"][..],
    ] {
        let (code, stdout, stderr) = outcome(&w.run(d, args));
        assert_eq!(code, Some(0), "{args:?}: {stdout}\n{stderr}");
    }
    assert!(
        has_lease(&w, "leased"),
        "nothing removed the other run's lease"
    );
}

#[test]
fn an_expired_lease_is_taken_over_and_released() {
    let w = World::start();
    let dir = folder_with_stacks(&["lapsed"]);
    let d = dir.path();
    assert_eq!(
        w.run(d, &["apply", "--auto-approve", "lapsed"])
            .status
            .code(),
        Some(0)
    );
    plant_tags(&w, "lapsed", lease_tags("2001-01-01T00:00:00Z"));
    std::fs::write(
        d.join("lapsed/more.yaml"),
        "apiVersion: gridform/v1\nkind: Topic\nmetadata: {name: lapsed-more}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = outcome(&w.run(d, &["apply", "--auto-approve", "lapsed"]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 succeeded"), "{stdout}");
    assert!(
        !has_lease(&w, "lapsed"),
        "the run released the lease it took"
    );
}

#[test]
fn a_run_given_a_lock_timeout_waits_for_a_held_lease_and_proceeds_once_it_is_gone() {
    let w = World::start();
    let dir = folder_with_stacks(&["queued"]);
    let d = dir.path();
    assert_eq!(
        w.run(d, &["apply", "--auto-approve", "queued"])
            .status
            .code(),
        Some(0)
    );
    plant_tags(&w, "queued", lease_tags("2999-01-01T00:00:00Z"));
    let mut waiting = spawn_piped(w.command(
        d,
        &["--lock-timeout", "10m", "apply", "--auto-approve", "queued"],
    ));
    let mut stderr = BufReader::new(waiting.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("waiting up to 600s for the lease on resource group queued") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no wait notice");
    }
    assert!(line.contains("held by ana@build-7 pid 4242"), "{line}");
    // The other run finishes: its lease goes.
    let mut body = w.arm_get(&group_path("queued"));
    body["tags"] = json!({"gridform-stack": "queued"});
    assert!(w.arm_put(&group_path("queued"), &body).is_success());
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!has_lease(&w, "queued"));
}

#[test]
fn unlock_removes_a_lease_only_with_yes_or_a_terminal_and_keeps_other_tags() {
    let w = World::start();
    let dir = folder_with_stacks(&["stuck"]);
    let d = dir.path();
    assert_eq!(
        w.run(d, &["apply", "--auto-approve", "stuck"])
            .status
            .code(),
        Some(0)
    );
    plant_tags(&w, "stuck", lease_tags("2999-01-01T00:00:00Z"));

    let (code, _, stderr) = outcome(&w.run(d, &["unlock", "stuck", "stuck"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("held by ana@build-7 pid 4242"), "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    let (code, _, stderr) = outcome(&w.run(d, &["unlock", "other", "stuck", "--yes"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("describe stack `stuck`, not `other`"),
        "{stderr}"
    );
    assert!(has_lease(&w, "stuck"));

    let (code, stdout, stderr) = outcome(&w.run(d, &["unlock", "stuck", "stuck", "--yes"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("Removed the lease on resource group `stuck` held by ana@build-7"),
        "{stdout}"
    );
    let tags = &w.arm_get(&group_path("stuck"))["tags"];
    assert!(tags.get("gridform-lease-holder").is_none(), "{tags}");
    assert_eq!(tags["gridform-stack"], "stuck", "other tags stay: {tags}");
    let (code, stdout, _) = outcome(&w.run(d, &["apply", "--auto-approve", "stuck"]));
    assert_eq!(code, Some(0), "{stdout}");
    let (_, stdout, _) = outcome(&w.run(d, &["unlock", "stuck", "stuck"]));
    assert!(stdout.contains("is not locked"), "{stdout}");
}

#[test]
fn unlock_and_serve_are_in_the_help() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stdout, _) = outcome(&gridform(dir.path(), &["--help"], &[]));
    assert!(stdout.contains("unlock"), "{stdout}");
    assert!(stdout.contains("--lock-timeout"), "{stdout}");
}
