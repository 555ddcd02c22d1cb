//! Data-driven invalid manifests: `tests/cases/invalid/*.yaml`.
//!
//! Each case starts with header comments:
//! `# expect: LINE:COL MESSAGE-SUBSTRING` (one per expected error, in order; `LINE:COL` in the
//! case file) and optionally `# hint: SUBSTRING` (some printed hint contains it) and
//! `# env: NAME=VALUE`. A case without its own `kind: Stack` is validated together with
//! `tests/cases/stack.yaml`. The real binary must exit 1 and print exactly the expected errors.

use std::fs;

use crate::support::{gridform, repo, texts};

struct Case {
    name: String,
    expects: Vec<(usize, usize, String)>,
    hints: Vec<String>,
    env: Vec<(String, String)>,
}

fn parse_case(name: &str, text: &str) -> Case {
    let mut case = Case {
        name: name.to_string(),
        expects: vec![],
        hints: vec![],
        env: vec![],
    };
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# expect: ") {
            let (loc, msg) = rest.split_once(' ').expect("expect: LINE:COL MESSAGE");
            let (l, c) = loc.split_once(':').expect("LINE:COL");
            case.expects
                .push((l.parse().unwrap(), c.parse().unwrap(), msg.to_string()));
        } else if let Some(rest) = line.strip_prefix("# hint: ") {
            case.hints.push(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("# env: ") {
            let (k, v) = rest.split_once('=').unwrap();
            case.env.push((k.to_string(), v.to_string()));
        }
    }
    assert!(!case.expects.is_empty(), "{name}: no `# expect:` line");
    case
}

#[test]
fn every_invalid_case_reports_exactly_its_errors() {
    let dir = repo().join("tests/cases/invalid");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "at least 40 invalid cases, found {}",
        names.len()
    );
    let mut failures = Vec::new();
    for name in &names {
        let text = fs::read_to_string(dir.join(name)).unwrap();
        let case = parse_case(name, &text);
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(name), &text).unwrap();
        if !text.contains("kind: Stack") {
            fs::copy(
                repo().join("tests/cases/stack.yaml"),
                tmp.path().join("0-stack.yaml"),
            )
            .unwrap();
        }
        let env: Vec<(&str, &str)> = case
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let out = gridform(tmp.path(), &["validate", "."], &env);
        let (_, stderr) = texts(&out);
        let prefix = format!("./{name}:");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(": error: ") && l.starts_with("./"))
            .collect();
        let mut problems = Vec::new();
        if out.status.code() != Some(1) {
            problems.push(format!("exit code {:?}, expected 1", out.status.code()));
        }
        for (l, c, msg) in &case.expects {
            let loc = format!("{prefix}{l}:{c}: error: ");
            if !errors
                .iter()
                .any(|e| e.starts_with(&loc) && e.contains(msg.as_str()))
            {
                problems.push(format!("missing `{l}:{c} {msg}`"));
            }
        }
        if errors.len() != case.expects.len() {
            problems.push(format!(
                "{} errors printed, {} expected",
                errors.len(),
                case.expects.len()
            ));
        }
        for hint in &case.hints {
            if !stderr
                .lines()
                .any(|l| l.trim_start().starts_with("hint:") && l.contains(hint.as_str()))
            {
                problems.push(format!("missing hint `{hint}`"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n--- stderr ---\n{stderr}",
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
