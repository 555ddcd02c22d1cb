//! Shared helpers of the integration tests: run the real binary, locate the repository and the
//! Azure spec folder. Submodules: `world` (the emulator in-process plus the binary against it),
//! `router` (the emulator's router driven without sockets), `scripted_server` (a scripted HTTP
//! server for client tests).

pub mod arm_waits;
pub mod router;
pub mod scripted_server;
pub mod snapshot;
pub mod world;

pub use world::World;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every manifest set of the repository: the directories of `manifests/` and `examples/` that
/// hold YAML at their top level (`examples/ci` is a workflow, not a manifest set), sorted.
pub fn manifest_sets() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for parent in ["manifests", "examples"] {
        for entry in std::fs::read_dir(repo().join(parent)).unwrap() {
            let dir = entry.unwrap().path();
            let has_manifest = dir.is_dir()
                && std::fs::read_dir(&dir).unwrap().any(|f| {
                    let p = f.unwrap().path();
                    p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                });
            if has_manifest {
                dirs.push(dir);
            }
        }
    }
    dirs.sort();
    dirs
}

/// The official Azure REST API specs (`azure-spec`) that golden tests read at run time:
/// `GRIDFORM_AZURE_SPEC_DIR`, else `../shared/azure-spec` beside the repository. `None`, after
/// saying on stderr that `test` is skipped and why, when the folder is missing (a clone without
/// `../shared` must pass `cargo test`; CI has the folder).
#[allow(clippy::print_stderr)] // the skip notice is the point
pub fn azure_spec_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("GRIDFORM_AZURE_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/azure-spec"));
    if dir.is_dir() {
        return Some(dir);
    }
    eprintln!(
        "skipped {test}: the Azure spec folder {} is missing (clone it beside the repository \
         as ../shared/azure-spec or set GRIDFORM_AZURE_SPEC_DIR)",
        dir.display()
    );
    None
}

/// Runs `gridform` with `args` in `dir`, with a clean environment apart from PATH.
pub fn gridform(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    gridform_command(dir, args, env)
        .output()
        .expect("run gridform")
}

/// Exit code, stdout and stderr of a run.
pub fn outcome(out: &Output) -> (Option<i32>, String, String) {
    let (stdout, stderr) = texts(out);
    (out.status.code(), stdout, stderr)
}

/// stdout and stderr as strings.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `gridform` command with the same clean environment as [`gridform`], not yet started
/// (for tests that signal or kill the process).
pub fn gridform_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridform"));
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}
