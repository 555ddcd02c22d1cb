//! `--format json` when manifests are checked, end to end with the real binary: `validate`
//! prints its report on stdout whether the manifests are valid or not, and `plan` prints the same
//! report instead of a plan when they are invalid (docs/validate-json.md).

use std::path::Path;

use serde_json::{Value, json};

use crate::support::snapshot::cli_run;
use crate::support::{World, gridform, repo, texts};

const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: demo}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: demo
  location: westeurope
";

/// A schema error in one file and a topic declared in two files.
const TOPICS: &str = "apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
spec:
  inputSchema: CloudEventSchema
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: payments}
";

const MORE_TOPICS: &str = "# the same topic again
apiVersion: gridform/v1
kind: Topic
metadata: {name: payments}
";

fn invalid_set(dir: &Path) {
    std::fs::write(dir.join("stack.yaml"), STACK).unwrap();
    std::fs::write(dir.join("topics.yaml"), TOPICS).unwrap();
    std::fs::write(dir.join("more.yaml"), MORE_TOPICS).unwrap();
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
}

#[test]
fn validate_json_reports_every_problem_on_stdout_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    invalid_set(dir.path());
    let out = gridform(dir.path(), &["validate", "--format", "json", "."], &[]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let report = json_of(&stdout);
    assert_eq!(report["valid"], json!(false));
    assert_eq!(report["errors"], json!(2));
    assert_eq!(report["files"], json!(3));
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics[0]["file"], json!("./topics.yaml"));
    assert_eq!(diagnostics[0]["line"], json!(5));
    assert_eq!(diagnostics[0]["column"], json!(16));
    assert_eq!(
        diagnostics[0]["hint"],
        json!("did you mean `CloudEventSchemaV1_0`?")
    );
    assert_eq!(
        diagnostics[1],
        json!({"file": "./topics.yaml", "line": 9, "column": 12, "severity": "error",
            "message": "`Topic` `payments` is declared twice: here and at ./more.yaml:4:12",
            "hint": "each resource may be declared once; remove or rename one of them"})
    );
    assert!(
        stderr.contains("./topics.yaml:5:16: error: `CloudEventSchema` is not a valid"),
        "the human lines stay on stderr: {stderr}"
    );
}

#[test]
fn validate_json_output_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    invalid_set(dir.path());
    let out = gridform(dir.path(), &["validate", "--format", "json"], &[]);
    insta::assert_snapshot!(cli_run(&out, &[dir.path()]));
}

#[test]
fn validate_json_says_valid_when_valid() {
    let set = repo().join("manifests/custom-topic-webhooks");
    let out = gridform(&set, &["validate", "--format", "json", "."], &[]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let report = json_of(&stdout);
    assert_eq!(report["valid"], json!(true));
    assert_eq!(report["errors"], json!(0));
    assert_eq!(report["diagnostics"], json!([]));
    assert!(report["documents"].as_u64().unwrap() > 3, "{report}");
}

#[test]
fn a_missing_path_has_no_line_or_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = gridform(
        dir.path(),
        &["validate", "--format", "json", "nope.yaml"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&texts(&out).0);
    let d = &report["diagnostics"][0];
    assert_eq!(d["file"], json!("nope.yaml"));
    assert_eq!((&d["line"], &d["column"]), (&Value::Null, &Value::Null));
    assert_eq!(d["message"], json!("no such file or directory"));
}

#[test]
fn plan_json_with_invalid_manifests_prints_the_problems_as_json_and_exits_1() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    invalid_set(dir.path());
    let out = w.run(dir.path(), &["plan", "--format", "json", "."]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let report = json_of(&stdout);
    assert_eq!(report["valid"], json!(false));
    assert_eq!(report["errors"], json!(2));
    let messages: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[0].starts_with("`CloudEventSchema` is not a valid"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("`Topic` `payments` is declared twice: here and at /"),
        "the absolute path plan reads: {messages:?}"
    );
    assert!(messages[1].ends_with("/more.yaml:4:12"), "{messages:?}");
    assert!(
        stderr.contains("the manifests have 2 problem(s)"),
        "{stderr}"
    );
}

#[test]
fn plan_json_with_valid_manifests_prints_only_the_plan() {
    let w = World::start();
    let set = repo().join("manifests/custom-topic-webhooks");
    let out = w.run(&set, &["plan", "--format", "json", "."]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let plan = json_of(&stdout);
    assert_eq!(plan["stack"], json!("orders"));
    assert!(
        plan.get("valid").is_none(),
        "no report before the plan: {stdout}"
    );
}

#[test]
fn human_plan_with_invalid_manifests_prints_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    invalid_set(dir.path());
    let out = gridform(dir.path(), &["plan", "."], &[]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("is declared twice"), "{stderr}");
}
