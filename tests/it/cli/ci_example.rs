//! The GitHub Actions example (`examples/ci`) runs only commands a test runs: every `gridform`
//! line of its workflow, in order, against the emulator on a copy of the reference manifests.

use std::path::Path;

use crate::support::{World, repo, texts};

/// The `gridform …` commands of the workflow, in order, with their stdout redirection if any.
fn workflow_commands() -> Vec<(Vec<String>, Option<String>)> {
    let text =
        std::fs::read_to_string(repo().join("examples/ci/.github/workflows/gridform.yml")).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- run: gridform "))
        .map(|cmd| {
            let (cmd, out) = match cmd.split_once(" > ") {
                Some((c, o)) => (c, Some(o.trim().to_string())),
                None => (cmd, None),
            };
            (cmd.split_whitespace().map(str::to_string).collect(), out)
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn ci_example_commands_run_against_the_emulator() {
    let commands = workflow_commands();
    let names: Vec<&str> = commands.iter().map(|(c, _)| c[0].as_str()).collect();
    assert_eq!(
        names,
        ["validate", "plan", "apply", "show", "drift"],
        "{commands:?}"
    );
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("manifests/custom-topic-webhooks"),
        &dir.path().join("manifests"),
    );
    for (args, out) in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = w.run_with(dir.path(), &args, &[("HOOK_CODE", "ci-c0de")]);
        let (stdout, stderr) = texts(&run);
        assert_eq!(
            run.status.code(),
            Some(0),
            "gridform {args:?}:\n{stdout}{stderr}"
        );
        if let Some(file) = out {
            std::fs::write(dir.path().join(file), &stdout).unwrap();
        }
    }
    let comment = std::fs::read_to_string(dir.path().join("plan.md")).unwrap();
    assert!(
        comment.starts_with("### gridform plan for stack"),
        "{comment}"
    );
    let live: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("live.json")).unwrap())
            .unwrap();
    assert!(
        live["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["exists"] == true),
        "{live}"
    );
}
