//! Every example (`examples/*/` and `manifests/*/` that hold manifests) works out of the box:
//! the real binary applies it against a fresh emulator on 127.0.0.1:0 with no variables set, a
//! second plan is empty and `gridform verify` passes. A failure names the directory.

use std::path::Path;
use std::process::Stdio;

use gridform::emulator::Config;
use serde_json::{Value, json};

use crate::support::{World, gridform, gridform_command, outcome, repo};

/// The environment of a run: the emulator's address and `extra` (no example variables).
fn env<'a>(w: &'a World, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("GRIDFORM_EMULATOR_URL", w.base_url.as_str()),
        ("GRIDFORM_POLL_MS", "20"),
    ];
    env.extend_from_slice(extra);
    env
}

/// Runs `gridform args` against `w`: the problem, if the exit code is not `want`.
fn step(
    w: &World,
    cwd: &Path,
    args: &[&str],
    extra: &[(&str, &str)],
    want: i32,
) -> Result<(), String> {
    let (code, out, err) = outcome(&gridform(cwd, args, &env(w, extra)));
    if code == Some(want) {
        Ok(())
    } else {
        Err(format!(
            "`gridform {}` exited {code:?}, not {want}:\n{out}{err}",
            args.join(" ")
        ))
    }
}

/// apply, an empty re-plan, verify — each example on a fresh emulator.
fn apply_replan_verify(dir: &Path) -> Result<(), String> {
    let w = World::with_config(Config {
        time_scale: 1000.0,
        ..Config::default()
    });
    let cwd = tempfile::tempdir().unwrap();
    let path = dir.to_str().unwrap();
    let mut extra = Vec::new();
    if dir.ends_with("partner-topic-by-name") {
        let name = apply_while_auth0_creates_the_topic(&w, cwd.path(), path)?;
        extra.push(("PARTNER_TOPIC_NAME", name));
    } else {
        step(&w, cwd.path(), &["apply", "--auto-approve", path], &[], 0)?;
    }
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    step(
        &w,
        cwd.path(),
        &["plan", "--detailed-exitcode", path],
        &extra,
        0,
    )?;
    step(&w, cwd.path(), &["verify", path], &extra, 0)
}

/// Sends `body` to the emulator's Auth0 Management API (`path` under `/auth0/api/v2`) with a
/// token for the tenant `example.eu.auth0.com` (the example's default `AUTH0_DOMAIN`).
fn auth0_call(w: &World, method: reqwest::Method, path: &str, body: Value) -> Value {
    let base = w.base_url.clone();
    let path = path.to_string();
    w.block_on(async move {
        let http = reqwest::Client::new();
        let audience = "https://example.eu.auth0.com/api/v2/";
        let token: Value = http
            .post(format!("{base}/auth0/oauth/token"))
            .json(
                &json!({"grant_type": "client_credentials", "client_id": "examples",
                          "client_secret": "examples", "audience": audience}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resp = http
            .request(method, format!("{base}/auth0/api/v2{path}"))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .json(&body)
            .send()
            .await
            .unwrap();
        resp.json().await.unwrap()
    })
}

/// `examples/partner-topic-by-name` as its README tells: the Auth0 log stream is made in Auth0
/// (here the emulator's), which names the partner topic; apply authorizes Auth0 and waits; the
/// stream, suspended until then, is re-enabled and Auth0 creates the topic. The topic's name.
pub(super) fn apply_while_auth0_creates_the_topic(
    w: &World,
    cwd: &Path,
    path: &str,
) -> Result<String, String> {
    let sink = json!({"azureSubscriptionId": "00000000-0000-0000-0000-000000000000",
                      "azureResourceGroup": "partner-events", "azureRegion": "westeurope"});
    let stream = auth0_call(
        w,
        reqwest::Method::POST,
        "/log-streams",
        json!({"name": "azure-logs", "type": "eventgrid", "sink": sink}),
    );
    let name = stream["sink"]["azurePartnerTopic"]
        .as_str()
        .unwrap()
        .to_string();
    let stream_path = format!("/log-streams/{}", stream["id"].as_str().unwrap());
    let apply = gridform_command(
        cwd,
        &["apply", "--auto-approve", path],
        &env(w, &[("PARTNER_TOPIC_NAME", &name)]),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let config = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/partner-events/providers/Microsoft.EventGrid/partnerConfigurations/default?api-version=2025-02-15";
    w.wait_until("apply authorizes Auth0", || {
        w.arm_get(config)["properties"]["partnerAuthorization"]["authorizedPartnersList"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
    });
    let resumed = auth0_call(
        w,
        reqwest::Method::PATCH,
        &stream_path,
        json!({"status": "active"}),
    );
    assert_eq!(resumed["status"], "active", "{resumed}");
    let (code, out, err) = outcome(&apply.wait_with_output().unwrap());
    match code {
        Some(0) => Ok(name),
        _ => Err(format!("`gridform apply` exited {code:?}:\n{out}{err}")),
    }
}

#[test]
fn every_example_applies_replans_empty_and_verifies() {
    let dirs = crate::support::manifest_sets();
    assert!(dirs.len() >= 10, "{dirs:?}");
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            let name = dir.strip_prefix(repo()).unwrap_or(dir).display();
            apply_replan_verify(dir)
                .err()
                .map(|why| format!("{name}: {why}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
