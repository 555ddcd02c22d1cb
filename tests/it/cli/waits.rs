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
