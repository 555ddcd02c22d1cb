//! Writing an export to its directory: refusing a non-empty one unless `--force`, the manifest
//! files, the JSON Schema beside them, `.gitignore`, and the secret values in `.env` (mode
//! 0600, `NAME='value'` lines that a POSIX shell can source) — the only place they are written.
//!
//! It must not decide what the files say (`build` does) and never puts a secret in an error.

use std::io::Write as _;
use std::path::Path;

use super::ExportError;
use super::build::{EXPORTED_MARK, Exported};

/// The schema file the `yaml-language-server` line points at.
pub const SCHEMA_FILE: &str = "gridform.schema.json";
/// What `.gitignore` says.
const GITIGNORE: &str = "# Secret values of the exported manifests: never commit them.\n.env\n";

fn io_error(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> ExportError {
    let path = path.display().to_string();
    let what = what.to_string();
    move |source| ExportError::Io { path, what, source }
}

/// Refuses `dir` when it exists and holds anything, unless `force`.
pub fn check_target(dir: &Path, force: bool) -> Result<(), ExportError> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(dir, "cannot read the output directory")(e)),
    };
    if !force && entries.next().is_some() {
        return Err(ExportError::NotEmpty {
            dir: dir.display().to_string(),
        });
    }
    Ok(())
}

/// `'value'` for a POSIX shell (`'` written as `'\''`).
pub fn shell_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Files in `dir` that an earlier export wrote and this one does not (`--force` removes them,
/// so that a resource deleted since is not declared twice or left behind).
fn stale_exports(dir: &Path, exported: &Exported) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !exported.files.contains_key(n))
        })
        .filter(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| {
                t.lines()
                    .nth(1)
                    .is_some_and(|l| l.starts_with(EXPORTED_MARK))
            })
        })
        .collect()
}

/// Writes `exported` and the schema text into `dir` (created when missing).
pub fn write_all(dir: &Path, exported: &Exported, schema: &str) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir, "cannot create the output directory"))?;
    for stale in stale_exports(dir, exported) {
        std::fs::remove_file(&stale)
            .map_err(io_error(&stale, "cannot remove an earlier export"))?;
    }
    for (name, text) in &exported.files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io_error(&path, "cannot write"))?;
    }
    let path = dir.join(SCHEMA_FILE);
    std::fs::write(&path, schema).map_err(io_error(&path, "cannot write"))?;
    let path = dir.join(".gitignore");
    std::fs::write(&path, GITIGNORE).map_err(io_error(&path, "cannot write"))?;
    let path = dir.join(".env");
    if exported.secrets.values.is_empty() {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(&path, "cannot remove an earlier export")(e));
            }
            _ => return Ok(()),
        }
    }
    write_env(&path, exported)
}

fn write_env(path: &Path, exported: &Exported) -> Result<(), ExportError> {
    let mut text = String::from("# Secret values of the exported manifests (gridform export).\n");
    for (name, value) in &exported.secrets.values {
        text.push_str(&format!("{name}={}\n", shell_quoted(value.expose())));
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error(path, "cannot write"))?;
    // A file that existed keeps its old mode through `open`: set it explicitly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_error(path, "cannot restrict the permissions of"))?;
    }
    file.write_all(text.as_bytes())
        .map_err(io_error(path, "cannot write"))
}
