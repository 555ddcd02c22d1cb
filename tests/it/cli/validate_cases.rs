//! Data-driven invalid manifests: `tests/cases/invalid/*.yaml`.
//!
//! Each case starts with header comments:
//! `# expect: LINE:COL MESSAGE-SUBSTRING` (one per expected error, in order; `LINE:COL` in the
//! case file) and optionally `# hint: SUBSTRING` (some printed hint contains it) and
//! `# env: NAME=VALUE`. A case without its own `kind: Stack` is validated together with
//! `tests/cases/stack.yaml`. The real binary must exit 1 and print exactly the expected errors.
//! A case may be a directory of files validated together (errors that span files); each file
//! states the errors expected in it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{gridform, repo, texts};

struct Case {
    expects: Vec<(usize, usize, String)>,
    hints: Vec<String>,
    env: Vec<(String, String)>,
}

fn parse_case(text: &str) -> Case {
    let mut case = Case {
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
    case
}

/// The files of a case: the file itself, or every file of a case directory (sorted).
fn case_files(path: &Path) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    files.sort();
    files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_str().unwrap().to_string();
            (name, fs::read_to_string(f).unwrap())
        })
        .collect()
}

/// What is wrong with the run of one case (empty: it passed).
fn check_case(name: &str, files: &[(String, String)]) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (file, text) in files {
        fs::write(tmp.path().join(file), text).unwrap();
        cases.push(parse_case(text));
    }
    assert!(
        cases.iter().any(|c| !c.expects.is_empty()),
        "{name}: no `# expect:` line"
    );
    if !files.iter().any(|(_, text)| text.contains("kind: Stack")) {
        fs::copy(
            repo().join("tests/cases/stack.yaml"),
            tmp.path().join("0-stack.yaml"),
        )
        .unwrap();
    }
    let env: Vec<(&str, &str)> = cases
        .iter()
        .flat_map(|c| c.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect();
    let out = gridform(tmp.path(), &["validate", "."], &env);
    let (_, stderr) = texts(&out);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": error: ") && l.starts_with("./"))
        .collect();
    let mut problems = Vec::new();
    if out.status.code() != Some(1) {
        problems.push(format!("exit code {:?}, expected 1", out.status.code()));
    }
    for ((file, _), case) in files.iter().zip(&cases) {
        for (l, c, msg) in &case.expects {
            let loc = format!("./{file}:{l}:{c}: error: ");
            if !errors
                .iter()
                .any(|e| e.starts_with(&loc) && e.contains(msg.as_str()))
            {
                problems.push(format!("missing `{file}:{l}:{c} {msg}`"));
            }
        }
        for hint in &case.hints {
            if !stderr
                .lines()
                .any(|l| l.trim_start().starts_with("hint:") && l.contains(hint.as_str()))
            {
                problems.push(format!("missing hint `{hint}`"));
            }
        }
    }
    let expected: usize = cases.iter().map(|c| c.expects.len()).sum();
    if errors.len() != expected {
        problems.push(format!(
            "{} errors printed, {expected} expected",
            errors.len()
        ));
    }
    if !problems.is_empty() {
        problems.push(format!("\n--- stderr ---\n{stderr}"));
    }
    problems
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
        let problems = check_case(name, &case_files(&dir.join(name)));
        if !problems.is_empty() {
            failures.push(format!("{name}: {}", problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
