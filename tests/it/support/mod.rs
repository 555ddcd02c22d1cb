//! Shared helpers of the integration tests: run the real binary, locate the repository and the
//! Azure spec folder; the emulator router harness (`router`) and the scripted HTTP server
//! (`scripted_server`).

pub mod router;
pub mod scripted_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

/// A token from the emulator's Azure AD endpoint for `scope` (ARM or Event Grid).
pub async fn emulator_token(base: &str, scope: &str) -> String {
    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/tenant/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "test"),
            ("client_secret", "test"),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_string()
}

/// The ARM scope.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
