//! The layering rules of docs/architecture.md, checked on the source text.

use std::path::Path;

use crate::support::repo;

fn sources(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk(p: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(p).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    let root = repo().join("src").join(dir);
    if root.exists() {
        walk(&root, &mut out);
    }
    out
}

fn forbid(dir: &str, words: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for (file, text) in sources(dir) {
        // Unit tests may read fixtures from disk.
        if file.ends_with("tests.rs") {
            continue;
        }
        // Comments may name what a module must not use.
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for w in words {
            if code.contains(w) {
                hits.push(format!("{file} mentions `{w}`"));
            }
        }
    }
    hits
}

#[test]
fn layers_keep_to_their_imports() {
    let mut hits = Vec::new();
    let io = [
        "tokio",
        "reqwest",
        "axum",
        "std::fs",
        "crate::arm",
        "crate::auth0",
        "crate::graph",
        "crate::apply",
    ];
    hits.extend(forbid("plan", &io));
    hits.extend(forbid("model", &io));
    hits.extend(forbid(
        "render",
        &[
            "tokio",
            "reqwest",
            "axum",
            "std::fs",
            "crate::arm",
            "crate::auth0",
            "crate::graph",
        ],
    ));
    hits.extend(forbid(
        "emulator",
        &[
            "crate::arm",
            "crate::auth0",
            "crate::graph",
            "crate::plan",
            "crate::apply",
            "crate::manifest",
            "model::spec",
        ],
    ));
    // `export` reads through the ARM and Auth0 clients and writes files, but never changes
    // Azure or Auth0 and never takes the stack lease.
    hits.extend(forbid(
        "export",
        &[
            "reqwest",
            "axum",
            ".put(",
            ".patch(",
            ".delete(",
            "lease",
            "crate::emulator",
        ],
    ));
    hits.extend(forbid(
        "manifest",
        &[
            "reqwest",
            "axum",
            "crate::arm",
            "crate::graph",
            "crate::plan",
            "crate::emulator",
        ],
    ));
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}

/// Client code: everything but the emulator.
const CLIENT: [&str; 12] = [
    "export",
    "model",
    "manifest",
    "plan",
    "render",
    "arm",
    "auth0",
    "graph",
    "apply",
    "cli",
    "session",
    "dataplane",
];

/// The modules that talk to remote APIs (through `remote_http`): docs/architecture.md.
const REMOTE: [&str; 4] = ["arm", "auth0", "dataplane", "graph"];

#[test]
fn only_the_remote_modules_talk_http() {
    let mut hits = Vec::new();
    for dir in CLIENT.iter().filter(|d| !REMOTE.contains(d)) {
        hits.extend(forbid(dir, &["reqwest::Client", ".send()", "reqwest::get"]));
    }
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}

#[test]
fn client_code_uses_no_emulator_code_except_to_start_it() {
    let mut hits = Vec::new();
    for dir in CLIENT {
        // `session` starts the embedded emulator; `gridform emulator serve` runs it.
        if dir == "session" || dir == "cli" {
            continue;
        }
        hits.extend(forbid(dir, &["crate::emulator", "emulator::"]));
    }
    for (file, text) in sources("cli") {
        if text.contains("crate::emulator") && !file.ends_with("commands/emulator.rs") {
            hits.push(format!("{file} uses emulator code"));
        }
    }
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}

#[test]
fn the_planner_reads_no_clock_and_builds_no_runtime() {
    let mut hits = forbid(
        "plan",
        &["Utc::now", "SystemTime", "Instant::now", "tokio", "std::fs"],
    );
    for dir in CLIENT {
        if dir != "cli" {
            hits.extend(forbid(dir, &["runtime::Builder", "Runtime::new"]));
        }
    }
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}

#[test]
fn only_cli_output_prints_and_every_module_says_what_it_owns() {
    let mut hits = Vec::new();
    for dir in CLIENT.iter().copied().chain(["emulator"]) {
        for (file, text) in sources(dir) {
            if !file.ends_with("cli/output.rs")
                && (text.contains("println!") || text.contains("eprintln!"))
            {
                hits.push(format!("{file} prints"));
            }
            if !text.starts_with("//!") {
                hits.push(format!("{file} has no `//!` paragraph"));
            }
        }
    }
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}

#[test]
fn integration_tests_are_one_binary() {
    let loose: Vec<String> = std::fs::read_dir(repo().join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs") || p.join("mod.rs").exists())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        loose.is_empty(),
        "tests outside tests/it link a binary of their own: {loose:?}"
    );
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    assert_eq!(manifest.matches("[[test]]").count(), 1, "only `it`");
}
