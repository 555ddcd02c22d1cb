//! A deterministic mutation fuzzer over the reference manifests (issue 13): every mutant goes
//! through `manifest::parse_sources` and `plan::plan` (against an empty live state and one built
//! from a first plan's requests) in process, and a few go through the real `gridform validate`.
//! It fails on a panic, an abort, output past a bound, or the planted canary secret in any
//! diagnostic or rendered plan. Fixed seed, fixed count: `GRIDFORM_FUZZ_COUNT` and
//! `GRIDFORM_FUZZ_SEED` run more or other mutants.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use gridform::model::{DesiredState, LiveState};
use gridform::plan::{Operation, PlanOptions, plan};
use gridform::render::{self, RenderOptions};

use crate::support::{gridform, repo, texts};

/// Mutants through the library, across all reference sets.
const LIBRARY_MUTANTS: usize = 2_000;
/// Of those, how many also go through the real binary (catches aborts such as stack overflows).
const BINARY_MUTANTS: usize = 50;
/// The fixed seed.
const SEED: u64 = 0x5eed_0013;
/// The planted secret: the value of a `spec.secrets` variable.
const CANARY: &str = "canary-fz51c0";
const CANARY_VAR: &str = "GRIDFORM_FUZZ_CANARY";
/// More output than this for one mutant is a failure (a blow-up, not a report).
const MAX_OUTPUT_BYTES: usize = 4 << 20;

/// A small xorshift generator: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that have broken parsers and planners before, and a reference to the canary.
const NASTY: &[&str] = &[
    "${env:GRIDFORM_FUZZ_CANARY}",
    "\"x-${env:GRIDFORM_FUZZ_CANARY}\"",
    "https://h.example.com/x?code=${env:GRIDFORM_FUZZ_CANARY}#frag",
    "106751991167301d",
    "999999d",
    "0s",
    "-1",
    "99999999999999999999",
    "1e400",
    "a/b",
    "..",
    "&a [*a, *a]",
    "*nope",
    "[[[[[[[[",
    "{",
    "'",
    "~",
    "\"\\uD800\"",
    "\u{feff}",
    "",
    "ÿ",
    "!!binary aGk=",
    "? complex",
    "|\n  block",
];

/// The reference manifest sets: every directory of `manifests/` and `examples/` (not `ci`).
fn reference_sets() -> Vec<Vec<(PathBuf, String)>> {
    let mut sets = Vec::new();
    for top in ["manifests", "examples"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join(top))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() && !p.ends_with("ci"))
            .collect();
        dirs.sort();
        for dir in dirs {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect();
            files.sort();
            let set: Vec<(PathBuf, String)> = files
                .into_iter()
                .map(|f| {
                    let text = std::fs::read_to_string(&f).unwrap();
                    (f, plant_canary(&text))
                })
                .collect();
            if !set.is_empty() {
                sets.push(set);
            }
        }
    }
    sets
}

/// Declares the canary variable secret in the Stack document (when this file has it).
fn plant_canary(text: &str) -> String {
    if !text.contains("kind: Stack") {
        return text.to_string();
    }
    if text.contains("  secrets: [") {
        return text.replacen("  secrets: [", &format!("  secrets: [{CANARY_VAR}, "), 1);
    }
    let at = text.find("kind: Stack").unwrap_or(0);
    match text[at..].find("\nspec:\n") {
        Some(i) => {
            let mut out = text.to_string();
            out.insert_str(at + i + 7, &format!("  secrets: [{CANARY_VAR}]\n"));
            out
        }
        None => text.to_string(),
    }
}

/// One random edit of one file of the set.
fn mutate(set: &mut [(PathBuf, String)], rng: &mut Rng) {
    let file = rng.below(set.len());
    let text = &mut set[file].1;
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len().max(1);
    let line = rng.below(n);
    let nasty = NASTY[rng.below(NASTY.len())];
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match rng.below(7) {
        // A value replaced by a nasty one.
        0 | 1 => {
            if let Some(l) = out.get_mut(line)
                && let Some(colon) = l.find(": ")
            {
                l.truncate(colon + 2);
                l.push_str(nasty);
            }
        }
        2 => {
            if line < out.len() {
                out.remove(line);
            }
        }
        3 => {
            if let Some(l) = out.get(line).cloned() {
                out.insert(line, l);
            }
        }
        4 => out.insert(line, nasty.to_string()),
        // One byte changed.
        5 => {
            let mut bytes = out.join("\n").into_bytes();
            if !bytes.is_empty() {
                let i = rng.below(bytes.len());
                let table = b"{}[]:-&*#'\"\t !|>%@`,?";
                bytes[i] = table[rng.below(table.len())];
            }
            *text = String::from_utf8_lossy(&bytes).into_owned();
            return;
        }
        // Truncated.
        _ => out.truncate(line),
    }
    *text = out.join("\n") + "\n";
}

/// Only the canary is set: every other reference takes its `:-default`, as in a bare shell.
fn env(name: &str) -> Option<String> {
    (name == CANARY_VAR).then(|| CANARY.to_string())
}

fn opts() -> PlanOptions {
    PlanOptions {
        now: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
        salt: "fuzz".into(),
        refresh_secrets: false,
        force_replace: vec![],
    }
}

/// What a first apply of `desired` would leave: each PUT body at its id, groups listed.
fn live_after_first_plan(desired: &DesiredState) -> LiveState {
    let first = plan(desired, &LiveState::default(), &opts());
    let mut live = LiveState::default();
    for action in &first.actions {
        if let (Some(id), Operation::Put { body, .. }) = (&action.target.id, &action.operation) {
            live.resources.insert(id.clone(), body.as_value());
        }
    }
    live.listed_groups = desired
        .resources
        .iter()
        .filter_map(|r| r.resource_group.as_ref().map(|g| g.to_lowercase()))
        .collect();
    live
}

/// Everything a user could see for one mutant: diagnostics and the plans, rendered three ways.
fn run_library(sources: &[(PathBuf, String)]) -> String {
    let loaded = gridform::manifest::parse_sources(sources, &env);
    let mut out = String::new();
    for d in &loaded.diagnostics {
        out.push_str(&format!("{d}\n"));
    }
    if let Some(desired) = &loaded.state {
        out.push_str(&format!("{desired:?}\n"));
        for live in [LiveState::default(), live_after_first_plan(desired)] {
            let p = plan(desired, &live, &opts());
            let mut buf: Vec<u8> = Vec::new();
            render::human::write_plan(&p, &RenderOptions { color: false }, &mut buf).unwrap();
            render::json::write_plan(&p, &mut buf).unwrap();
            render::markdown::write_plan(&p, &mut buf).unwrap();
            out.push_str(&String::from_utf8_lossy(&buf));
        }
    }
    out
}

fn count() -> usize {
    std::env::var("GRIDFORM_FUZZ_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(LIBRARY_MUTANTS)
}

fn seed() -> u64 {
    std::env::var("GRIDFORM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SEED)
        | 1
}

/// The `i`th mutant: a reference set with one to three edits.
fn mutant(sets: &[Vec<(PathBuf, String)>], rng: &mut Rng) -> Vec<(PathBuf, String)> {
    let mut set = sets[rng.below(sets.len())].clone();
    for _ in 0..=rng.below(3) {
        mutate(&mut set, rng);
    }
    set
}

#[test]
fn mutated_reference_manifests_never_panic_blow_up_or_leak_the_canary() {
    let sets = reference_sets();
    assert!(sets.len() >= 10, "{} reference sets", sets.len());
    // The unmutated sets plan cleanly with the canary planted.
    for set in &sets {
        let loaded = gridform::manifest::parse_sources(set, &env);
        assert!(loaded.state.is_some(), "{:?}", loaded.diagnostics);
    }
    let mut rng = Rng(seed());
    let mut failures = Vec::new();
    for i in 0..count() {
        let set = mutant(&sets, &mut rng);
        let result = catch_unwind(AssertUnwindSafe(|| run_library(&set)));
        let problem = match result {
            Err(_) => Some("panicked".to_string()),
            Ok(out) if out.len() > MAX_OUTPUT_BYTES => {
                Some(format!("{} bytes of output", out.len()))
            }
            Ok(out) if out.contains(CANARY) => Some(format!("printed the canary:\n{out}")),
            Ok(_) => None,
        };
        if let Some(problem) = problem {
            failures.push(format!(
                "mutant {i} (seed {:#x}): {problem}\n{set:#?}",
                seed()
            ));
            if failures.len() >= 3 {
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn mutated_reference_manifests_through_the_binary_exit_cleanly() {
    let sets = reference_sets();
    let mut rng = Rng(seed() ^ 0xb1_7a47);
    for i in 0..BINARY_MUTANTS {
        let set = mutant(&sets, &mut rng);
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in &set {
            std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
        }
        let out = gridform(dir.path(), &["validate", "."], &[(CANARY_VAR, CANARY)]);
        let (stdout, stderr) = texts(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "mutant {i}: exit {:?}\n{stderr}\n{set:#?}",
            out.status
        );
        assert!(
            !stdout.contains(CANARY) && !stderr.contains(CANARY),
            "mutant {i}:\n{stdout}{stderr}"
        );
    }
}
