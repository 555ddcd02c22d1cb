//! `gridform schema`: valid draft 2020-12, committed as `schema/gridform.schema.json`, and every
//! manifest in the repository validates against it with an independent validator.

use std::path::{Path, PathBuf};

use crate::support::{gridform, repo, texts};

fn schema_output() -> serde_json::Value {
    let out = gridform(&repo(), &["schema"], &[]);
    assert_eq!(out.status.code(), Some(0));
    serde_json::from_slice(&out.stdout).expect("schema is JSON")
}

#[test]
fn committed_schema_file_matches_the_command() {
    let out = gridform(&repo(), &["schema"], &[]);
    let (stdout, _) = texts(&out);
    let committed = std::fs::read_to_string(repo().join("schema/gridform.schema.json")).unwrap();
    assert!(
        committed == stdout,
        "schema/gridform.schema.json is stale: run `cargo run -q -- schema > schema/gridform.schema.json`"
    );
}

#[test]
fn schema_is_valid_draft_2020_12() {
    let schema = schema_output();
    assert!(
        jsonschema::meta::is_valid(&schema),
        "not a valid JSON Schema"
    );
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() && !p.ends_with("examples/ci") {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

/// `${env:NAME:-default}` → `default`, as with an empty environment.
fn with_defaults(text: &str) -> String {
    let re = regex::Regex::new(r"\$\{env:[A-Za-z0-9_]+:-([^}]*)\}").unwrap();
    re.replace_all(text, "$1").into_owned()
}

#[test]
fn every_manifest_in_the_repo_validates_against_the_schema() {
    let schema = schema_output();
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let mut files = Vec::new();
    yaml_files(&repo().join("manifests"), &mut files);
    yaml_files(&repo().join("examples"), &mut files);
    assert!(files.len() >= 9, "{files:?}");
    let mut failures = Vec::new();
    let mut count = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} must start with the yaml-language-server schema line",
            file.display()
        );
        let target = text
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("# yaml-language-server: $schema=");
        assert!(
            file.parent().unwrap().join(target).exists(),
            "{}: {target} does not exist",
            file.display()
        );
        for doc in serde_yaml::Deserializer::from_str(&with_defaults(&text)) {
            let value: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
            if value.is_null() {
                continue;
            }
            count += 1;
            for err in validator.iter_errors(&value) {
                failures.push(format!(
                    "{}: {} at {}",
                    file.display(),
                    err,
                    err.instance_path()
                ));
            }
        }
    }
    assert!(count >= 20, "only {count} documents");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn schema_rejects_what_validate_rejects() {
    let schema = schema_output();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let bad = serde_json::json!({
        "apiVersion": "gridform/v1", "kind": "EventSubscription", "metadata": {"name": "sub-1"},
        "spec": {"topic": {"kind": "Topic", "name": "t"},
                 "destination": {"endpointType": "WebHook", "endpointUrl": "https://x", "maxEventsPerBatch": 5001},
                 "retryPolicy": {"maxDeliveryAttempts": 31}}
    });
    assert_eq!(validator.iter_errors(&bad).count(), 2);
}
