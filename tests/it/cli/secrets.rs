//! A planted canary secret never appears in validate output, Debug output or error messages.

use gridform::manifest;

use crate::support::{gridform, texts};

const CANARY: &str = "canary-5ecr3t-91f";

const MANIFEST: &str = r#"
apiVersion: gridform/v1
kind: Stack
metadata: {name: canary}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: rg
  location: westeurope
  secrets: [TAG_SECRET, BAD_SECRET]
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
spec:
  tags: {note: "${env:TAG_SECRET}"}
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: sub-1}
spec:
  topic: {kind: Topic, name: orders}
  destination:
    endpointType: WebHook
    endpointUrl: https://hooks.example.com/x?code=canary-5ecr3t-91f
    deliveryAttributeMappings:
      - {name: x-key, type: Static, value: canary-5ecr3t-91f, isSecret: true}
"#;

const BROKEN: &str = r#"
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: sub-2}
spec:
  topic: {kind: Topic, name: orders}
  destination:
    endpointType: WebHook
    endpointUrl: ftp://hooks.example.com/x?code=canary-5ecr3t-91f
    maxEventsPerBatch: "${env:BAD_SECRET}"
    deliveryAttributeMappings:
      - {name: x-key, type: Static, value: [canary-5ecr3t-91f], isSecret: true}
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: sub-3}
spec:
  topic: {kind: Topic, name: orders}
  destination:
    endpointType: WebHook
    endpointUrl: http://hooks.example.com/x?code=canary-5ecr3t-91f
"#;

fn env(name: &str) -> Option<String> {
    matches!(name, "TAG_SECRET" | "BAD_SECRET").then(|| CANARY.to_string())
}

#[test]
fn canary_is_absent_from_the_debug_output_of_the_desired_state() {
    let loaded = manifest::parse_sources(&[("m.yaml".into(), MANIFEST.to_string())], &env);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let state = loaded.state.expect("valid");
    let debug = format!("{state:?} {:?}", state.resources);
    assert!(debug.contains("orders"), "the debug output is real");
    let scrubbed = format!("{state:?}");
    assert!(!scrubbed.contains(CANARY), "{scrubbed}");
    for r in &state.resources {
        let own = format!("{:?}", r.spec);
        // Specs hold webhook query strings and secret attributes in types that never print.
        if !matches!(r.kind, gridform::model::ResourceKind::Topic) {
            assert!(!own.contains(CANARY), "{own}");
        }
    }
}

#[test]
fn canary_is_absent_from_validation_errors() {
    let sources = [
        ("m.yaml".into(), MANIFEST.to_string()),
        ("b.yaml".into(), BROKEN.to_string()),
    ];
    let loaded = manifest::parse_sources(&sources, &env);
    assert!(loaded.diagnostics.len() >= 3, "{:?}", loaded.diagnostics);
    for d in &loaded.diagnostics {
        let text = format!("{d} {d:?}");
        assert!(!text.contains(CANARY), "{text}");
    }
}

#[test]
fn canary_is_absent_from_validate_stdout_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("b.yaml"), BROKEN).unwrap();
    let out = gridform(
        dir.path(),
        &["validate", "-vvv", "."],
        &[("TAG_SECRET", CANARY), ("BAD_SECRET", CANARY)],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error:"), "{stderr}");
    assert!(
        !stdout.contains(CANARY) && !stderr.contains(CANARY),
        "{stdout}{stderr}"
    );
}

#[test]
fn a_secret_resource_id_that_is_not_one_is_reported_without_its_value() {
    let broken = r#"
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: sub-4}
spec:
  topic: {kind: Topic, name: orders}
  destination: {endpointType: WebHook, endpointUrl: "https://hooks.example.com/x"}
  deadLetterDestination:
    endpointType: StorageBlob
    resourceId: "${env:BAD_SECRET}"
    blobContainerName: dead
"#;
    let sources = [
        ("m.yaml".into(), MANIFEST.to_string()),
        ("d.yaml".into(), broken.to_string()),
    ];
    let loaded = manifest::parse_sources(&sources, &env);
    let text: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    let text = text.join("\n");
    assert!(text.contains("deadLetterDestination.resourceId"), "{text}");
    assert!(text.contains("(sensitive)"), "{text}");
    assert!(!text.contains(CANARY), "{text}");
}
