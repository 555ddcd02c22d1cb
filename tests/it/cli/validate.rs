//! `gridform validate` and `gridform schema` end to end: reference manifests, examples, the
//! schema file, exit codes.

use crate::support::snapshot::cli_run;
use crate::support::{gridform, repo, texts};

#[test]
fn reference_manifests_and_examples_validate_on_a_bare_environment() {
    let mut dirs: Vec<String> = Vec::new();
    for top in ["manifests", "examples"] {
        for e in std::fs::read_dir(repo().join(top)).unwrap() {
            let e = e.unwrap();
            // examples/ci holds a CI workflow and a Dockerfile, not manifests.
            if e.path().is_dir() && !e.path().ends_with("examples/ci") {
                dirs.push(format!("{top}/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    dirs.sort();
    assert!(dirs.len() >= 3 + 8, "{dirs:?}");
    for dir in &dirs {
        let out = gridform(&repo(), &["validate", dir], &[]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{dir}:\n{stderr}");
    }
}

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const THREE_PROBLEMS: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: demo}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: demo
  location: westeurope
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
spec:
  inputSchema: CloudEventSchema
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: orders-hook}
spec:
  topic: {kind: Topic, name: order}
  destination: {endpointType: WebHook, endpointUrl: 'https://example.com/x'}
  retryPolicy: {maxDeliveryAttempts: 40}
";

#[test]
fn validate_output_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stack.yaml", THREE_PROBLEMS);
    let out = gridform(dir.path(), &["validate", "stack.yaml"], &[]);
    insta::assert_snapshot!(cli_run(&out, &[dir.path()]));
}

#[test]
fn semantic_problems_are_reported_once_the_schema_is_satisfied() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m.yaml",
        &THREE_PROBLEMS
            .replace("CloudEventSchema\n", "CloudEventSchemaV1_0\n")
            .replace("40}", "20}"),
    );
    let out = gridform(dir.path(), &["validate"], &[]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("m.yaml:19:24: error: `spec.topic.name` names Topic `order`, but no such document exists"), "{stderr}");
    assert!(stderr.contains("hint: did you mean `orders`?"), "{stderr}");
}

#[test]
fn usage_errors_exit_64_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        gridform(dir.path(), &["validate", "--no-such-flag"], &[])
            .status
            .code(),
        Some(64)
    );
    assert_eq!(
        gridform(dir.path(), &["frobnicate"], &[]).status.code(),
        Some(64)
    );
    // Bare `gridform` prints help but is a usage error; so is a bad flag value.
    assert_eq!(gridform(dir.path(), &[], &[]).status.code(), Some(64));
    for bad in [
        &["emulator", "serve", "--latency", "soon"][..],
        &["verify", "--timeout", "5y"],
    ] {
        let out = gridform(dir.path(), bad, &[]);
        assert_eq!(out.status.code(), Some(64), "{bad:?}");
        assert!(texts(&out).1.contains("is not a duration"), "{bad:?}");
    }
    assert_eq!(
        gridform(dir.path(), &["--help"], &[]).status.code(),
        Some(0)
    );
    assert_eq!(
        gridform(dir.path(), &["--version"], &[]).status.code(),
        Some(0)
    );
}

#[test]
fn missing_paths_and_empty_directories_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = gridform(dir.path(), &["validate", "nope.yaml"], &[]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("nope.yaml: error: no such file or directory"),
        "{stderr}"
    );
    let out = gridform(dir.path(), &["validate", "."], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("no `*.yaml` or `*.yml` files"));
}

#[test]
fn color_only_when_asked_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", "kind: [\n");
    let plain = texts(&gridform(dir.path(), &["validate"], &[])).1;
    assert!(!plain.contains('\x1b'), "not a TTY: no color");
    let forced = texts(&gridform(
        dir.path(),
        &["--color", "always", "validate"],
        &[],
    ))
    .1;
    assert!(forced.contains("\x1b[1;31merror\x1b[0m"), "{forced:?}");
    let never = texts(&gridform(
        dir.path(),
        &["--color", "never", "validate"],
        &[("NO_COLOR", "1")],
    ))
    .1;
    assert!(!never.contains('\x1b'));
}

#[test]
fn schema_goes_to_stdout_only() {
    let out = gridform(&repo(), &["schema"], &[]);
    let (stdout, stderr) = texts(&out);
    assert!(stdout.starts_with('{'));
    assert!(stderr.is_empty(), "{stderr}");
}
