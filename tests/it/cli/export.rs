//! `gridform export` end to end (issue 15): the real binary against the emulator on
//! 127.0.0.1:0. Every manifest set applies, exports and plans empty with the exported files
//! (and exports again byte for byte); a world built with SDK-shaped ARM requests exports as
//! adopts, applies and then plans empty, its canary secret only ever in `DIR/.env`; a
//! non-empty directory is refused without `--force`; the exported files are snapshots. Microsoft
//! Graph: a subscription made outside gridform exports as an adopt, and one close to expiry
//! exports a renew window that the next plan respects and a later one renews.

use std::path::Path;

use serde_json::Value;

use crate::support::{World, repo, snapshot::scrub, texts};

pub(super) const SUB: &str = "00000000-0000-0000-0000-000000000000";

/// The Stack's `spec.resourceGroup` of a manifest set.
fn group_of(set: &Path) -> String {
    let re = regex::Regex::new(r"\$\{env:[A-Za-z0-9_]+:-([^}]*)\}").unwrap();
    for e in std::fs::read_dir(set).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).unwrap();
            if v["kind"].as_str() == Some("Stack") {
                // `${env:NAME:-default}` with no NAME set: the default.
                let raw = v["spec"]["resourceGroup"].as_str().unwrap();
                return re.replace_all(raw, "$1").into_owned();
            }
        }
    }
    panic!("{} has no Stack with a resource group", set.display());
}

/// Runs `gridform export` of `group` into `out` (`extra` arguments appended).
pub(super) fn export(
    w: &World,
    cwd: &Path,
    group: &str,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    let out = out.display().to_string();
    let mut args = vec![
        "export",
        "--resource-group",
        group,
        "--subscription",
        SUB,
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    w.run(cwd, &args)
}

/// The `NAME='value'` lines of `DIR/.env`, unquoted as a shell would.
pub(super) fn dot_env(dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(dir.join(".env")) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, quoted) = l.split_once('=').unwrap();
            let inner = quoted
                .strip_prefix('\'')
                .unwrap()
                .strip_suffix('\'')
                .unwrap();
            (name.to_string(), inner.replace(r"'\''", "'"))
        })
        .collect()
}

/// Every file of `dir` (name, bytes), sorted.
pub(super) fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// `plan DIR` with `DIR/.env` loaded: (exit code, stdout, stderr).
pub(super) fn plan_exported(
    w: &World,
    cwd: &Path,
    dir: &Path,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let env = dot_env(dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let path = dir.display().to_string();
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    all.push(&path);
    let out = w.run_with(cwd, &all, &env);
    let (stdout, stderr) = texts(&out);
    (out.status.code(), stdout, stderr)
}

fn round_trip(set: &Path) -> Result<(), String> {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    let path = set.display().to_string();
    // This example's topic is named by Auth0: apply it as its README tells.
    if set.ends_with("partner-topic-by-name") {
        super::examples::apply_while_auth0_creates_the_topic(&w, cwd.path(), &path)?;
    } else {
        let apply = w.run(cwd.path(), &["apply", "--auto-approve", &path]);
        if apply.status.code() != Some(0) {
            let (out, err) = texts(&apply);
            return Err(format!("{path}: apply failed\n{out}{err}"));
        }
    }
    let group = group_of(set);
    let dir = cwd.path().join("exported");
    let run = export(&w, cwd.path(), &group, &dir, &[]);
    let (out, err) = texts(&run);
    if run.status.code() != Some(0) {
        return Err(format!("{path}: export failed\n{out}{err}"));
    }
    // The stream this example's README makes in Auth0 is not the stack's: it exports as an
    // adopt, which the plan shows as recording the stream on the partner configuration.
    if set.ends_with("partner-topic-by-name") {
        let (_, out, err) = plan_exported(&w, cwd.path(), &dir, &["--format", "json"]);
        let plan: Value = serde_json::from_str(&out).map_err(|e| format!("{path}: {e}\n{err}"))?;
        let records_only = plan["actions"].as_array().into_iter().flatten().all(|a| {
            a["action"] == "adopt"
                || a["changes"].as_array().into_iter().flatten().all(|c| {
                    c["path"]
                        .as_str()
                        .is_some_and(|p| p.starts_with("tags.gridform-auth0-stream:"))
                })
        });
        if !records_only {
            return Err(format!("{path}: more than the stream's adoption: {out}"));
        }
        return Ok(());
    }
    let (code, out, err) = plan_exported(&w, cwd.path(), &dir, &["--detailed-exitcode"]);
    if code != Some(0) || !out.starts_with("No changes.") {
        let files: Vec<String> = files_of(&dir)
            .into_iter()
            .filter(|(n, _)| n.ends_with(".yaml"))
            .map(|(n, t)| format!("--- {n}\n{}", String::from_utf8_lossy(&t)))
            .collect();
        return Err(format!(
            "{path}: plan of the export is not empty (exit {code:?})\n{out}{err}\n{}",
            files.join("")
        ));
    }
    let again = cwd.path().join("again");
    let run = export(&w, cwd.path(), &group, &again, &[]);
    if run.status.code() != Some(0) || files_of(&dir) != files_of(&again) {
        return Err(format!("{path}: a second export differs from the first"));
    }
    Ok(())
}

#[test]
fn every_manifest_set_applies_exports_and_plans_empty() {
    let failures: Vec<String> = crate::support::manifest_sets()
        .iter()
        .filter_map(|set| round_trip(set).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_non_empty_directory_is_refused_unless_forced() {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    let set = repo().join("examples/webhook-basic").display().to_string();
    let apply = w.run(cwd.path(), &["apply", "--auto-approve", &set]);
    assert_eq!(apply.status.code(), Some(0), "{:?}", texts(&apply));
    let dir = cwd.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let refused = export(&w, cwd.path(), "webhook-basic", &dir, &[]);
    insta::assert_snapshot!(
        "export_refuses_non_empty_dir",
        crate::support::snapshot::cli_run(&refused, &[cwd.path()])
    );
    assert_eq!(files_of(&dir).len(), 1, "nothing written");
    let forced = export(&w, cwd.path(), "webhook-basic", &dir, &["--force"]);
    assert_eq!(forced.status.code(), Some(0), "{:?}", texts(&forced));
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(dir.join("stack.yaml").exists());
}

#[test]
fn without_a_subscription_export_says_how_to_give_one() {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    let out = w.run_with(
        cwd.path(),
        &["export", "--resource-group", "rg", "--out", "x"],
        &[("AZURE_SUBSCRIPTION_ID", "")],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("--subscription"), "{stderr}");
    assert!(!cwd.path().join("x").exists());
}

/// The exported files of a manifest set, as one snapshot text.
fn exported_snapshot(set: &str) -> String {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    let path = repo().join(set).display().to_string();
    let apply = w.run(cwd.path(), &["apply", "--auto-approve", &path]);
    assert_eq!(apply.status.code(), Some(0), "{:?}", texts(&apply));
    let dir = cwd.path().join("exported");
    let run = export(&w, cwd.path(), &group_of(&repo().join(set)), &dir, &[]);
    let mut text = crate::support::snapshot::cli_run(&run, &[cwd.path()]);
    for (name, bytes) in files_of(&dir) {
        if name == "gridform.schema.json" {
            continue;
        }
        let mut body = String::from_utf8(bytes).unwrap();
        if name == ".env" {
            // Names only: a snapshot must never hold a secret value.
            body = dot_env(&dir)
                .iter()
                .map(|(k, _)| format!("{k}=[value]\n"))
                .collect();
        }
        text.push_str(&format!("=== {name}\n{}", scrub(&body, &[cwd.path()])));
    }
    text
}

#[test]
fn exported_files_of_the_auth0_reference_set() {
    insta::assert_snapshot!(
        "export_auth0_partner",
        exported_snapshot("manifests/auth0-partner")
    );
}

#[test]
fn exported_files_of_the_delivery_attributes_example() {
    insta::assert_snapshot!(
        "export_delivery_attributes",
        exported_snapshot("examples/delivery-attributes")
    );
}

/// The `action` of every planned action.
pub(super) fn actions(plan_json: &str) -> Vec<String> {
    let plan: Value = serde_json::from_str(plan_json).unwrap();
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {} {}", a["action"], a["kind"], a["name"]))
        .collect()
}

#[test]
fn exported_files_of_the_graph_reference_set() {
    let text = exported_snapshot("manifests/graph-partner");
    // The snapshot holds the files but `.env` (names only): the clientState value is nowhere.
    assert!(!text.contains("local-dev-client-state"), "{text}");
    assert!(text.contains("${env:ENTRA_USERS_CLIENT_STATE}"), "{text}");
    insta::assert_snapshot!("export_graph_partner", text);
}

const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const FOREIGN_GROUP: &str = "foreign-graph";
/// The application `World::token` is for: the exporting runs use the same one, since Graph lists
/// only the calling application's subscriptions.
const SAME_APPLICATION: [(&str, &str); 2] =
    [("AZURE_TENANT_ID", "tenant"), ("AZURE_CLIENT_ID", "test")];

/// Sends `method` `path` with a token for `scope` and `body`: the status and JSON answer.
fn send(w: &World, method: reqwest::Method, path: &str, scope: &str, body: Value) -> (u16, Value) {
    let token = w.token(scope);
    let url = format!("{}{path}", w.base_url);
    w.block_on(async move {
        let resp = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

/// A group whose partner configuration authorizes Graph, and a Graph subscription created
/// outside gridform (straight to the emulator's Graph API) once Graph made its partner topic.
fn foreign_graph_subscription(w: &World) {
    let eg = "api-version=2025-02-15";
    let group = format!("/subscriptions/{SUB}/resourceGroups/{FOREIGN_GROUP}");
    let register = format!(
        "/subscriptions/{SUB}/providers/Microsoft.EventGrid/register?api-version=2021-04-01"
    );
    let arm = crate::support::world::ARM_SCOPE;
    assert_eq!(
        send(w, reqwest::Method::POST, &register, arm, Value::Null).0,
        200
    );
    let rg = format!("{group}?api-version=2021-04-01");
    assert!(
        w.arm_put(&rg, &serde_json::json!({"location": "westus2"}))
            .is_success()
    );
    let cfg = format!("{group}/providers/Microsoft.EventGrid/partnerConfigurations/default?{eg}");
    let partners = serde_json::json!({"properties": {"partnerAuthorization": {
        "defaultMaximumExpirationTimeInDays": 30,
        "authorizedPartnersList": [{"partnerName": "MicrosoftGraphAPI",
            "authorizationExpirationTimeInUtc": (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339()}]}}});
    assert!(w.arm_put(&cfg, &partners).is_success());
    let url = format!(
        "EventGrid:?azuresubscriptionid={SUB}&resourcegroup={FOREIGN_GROUP}&partnertopic=foreign-users&location=westus2"
    );
    let expiry = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let body = serde_json::json!({"changeType": "updated", "resource": "users",
        "notificationUrl": url, "expirationDateTime": expiry, "clientState": "foreign-canary-state"});
    let (status, created) = send(
        w,
        reqwest::Method::POST,
        "/graph/v1.0/subscriptions",
        GRAPH_SCOPE,
        body,
    );
    assert_eq!(status, 201, "{created}");
    let topic = format!("{group}/providers/Microsoft.EventGrid/partnerTopics/foreign-users?{eg}");
    w.wait_until("Graph created the partner topic", || {
        w.arm_get(&topic)["properties"]["activationState"] == "NeverActivated"
    });
}

#[test]
fn a_graph_subscription_made_outside_gridform_exports_as_an_adopt() {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    foreign_graph_subscription(&w);
    let dir = cwd.path().join("exported");
    let out = dir.display().to_string();
    let args = [
        "export",
        "--resource-group",
        FOREIGN_GROUP,
        "--subscription",
        SUB,
        "--out",
        &out,
    ];
    let run = w.run_with(cwd.path(), &args, &SAME_APPLICATION);
    let (stdout, stderr) = texts(&run);
    assert_eq!(run.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("GraphSubscription: 1"), "{stdout}");
    let partner = std::fs::read_to_string(dir.join("partner.yaml")).unwrap();
    for wanted in [
        "kind: GraphSubscription\nmetadata:\n  name: foreign-users\n  adopt: true",
        "resource: users",
        "changeType:\n    - updated",
        "clientState: \"${env:FOREIGN_USERS_CLIENT_STATE}\"",
        "lifecycleNotifications: false",
        "validFor: 29d",
        "fromGraphSubscription: foreign-users",
    ] {
        assert!(partner.contains(wanted), "`{wanted}` missing:\n{partner}");
    }
    assert!(
        !partner.contains("expectedSource"),
        "the source is Graph's for this application:\n{partner}"
    );
    for (name, bytes) in files_of(&dir) {
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(
            text.contains("foreign-canary-state"),
            name == ".env",
            "{name}"
        );
    }
    // The plan adopts the group, the configuration (recording the Graph subscription) and the
    // partner topic; the Graph subscription itself is neither renewed nor replaced.
    let env = dot_env(&dir);
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    vars.extend_from_slice(&SAME_APPLICATION);
    let plan = w.run_with(cwd.path(), &["plan", "--format", "json", &out], &vars);
    let (stdout, stderr) = texts(&plan);
    assert_eq!(plan.status.code(), Some(0), "{stdout}{stderr}");
    for text in [texts(&run).0, texts(&run).1, stdout.clone(), stderr.clone()] {
        assert!(!text.contains("foreign-canary-state"), "{text}");
    }
    let planned = actions(&stdout);
    assert!(
        planned.iter().all(|a| a.starts_with("\"adopt\"")),
        "{planned:?}"
    );
    assert!(
        stdout.contains("tags.gridform-graph-subscription:foreign-users"),
        "{stdout}"
    );
    let apply = w.run_with(cwd.path(), &["apply", "--auto-approve", &out], &vars);
    assert_eq!(apply.status.code(), Some(0), "{:?}", texts(&apply));
    let again = w.run_with(cwd.path(), &["plan", "--detailed-exitcode", &out], &vars);
    let (stdout, stderr) = texts(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("No changes."), "{stdout}");
}

/// Moves the emulator's clock `seconds` ahead.
fn advance_clock(w: &World, seconds: u64) {
    let body = serde_json::json!({"advanceSeconds": seconds});
    let moved = w.control(reqwest::Method::POST, "/_emulator/clock", &body);
    assert!(moved.is_success(), "{moved}");
}

#[test]
fn a_graph_subscription_close_to_expiry_exports_a_window_that_renews_only_later() {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    let set = repo().join("manifests/graph-partner").display().to_string();
    let apply = w.run(cwd.path(), &["apply", "--auto-approve", &set]);
    assert_eq!(apply.status.code(), Some(0), "{:?}", texts(&apply));
    // `entra-users` lasts 3d: 12 hours are left, less than a quarter of Graph's 29 days.
    advance_clock(&w, 60 * 3600);
    let dir = cwd.path().join("exported");
    let run = export(&w, cwd.path(), "entra-events", &dir, &[]);
    assert_eq!(run.status.code(), Some(0), "{:?}", texts(&run));
    let partner = std::fs::read_to_string(dir.join("partner.yaml")).unwrap();
    assert!(
        partner.contains("renewBefore: 5h"),
        "half of what is left:\n{partner}"
    );
    let (code, out, err) = plan_exported(&w, cwd.path(), &dir, &["--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("No changes."), "{out}");
    advance_clock(&w, 7 * 3600);
    let (code, out, err) = plan_exported(&w, cwd.path(), &dir, &["--detailed-exitcode"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        out.contains("~ renew GraphSubscription `entra-users`"),
        "{out}"
    );
    assert!(!out.contains("entra-groups"), "{out}");
}
