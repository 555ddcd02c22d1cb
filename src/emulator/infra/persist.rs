//! The `--state` file: the whole store as JSON, written atomically (temp file, fsync, rename,
//! directory fsync) so a `kill -9` at any moment leaves either the old or the new state. It holds
//! every secret of the emulated world, so it is written mode 0600; the one temp name
//! (`.FILE.tmp`) is safe because writes happen under the store's lock and the state file's lock,
//! and `prepare` removes what a crash left. A folder the emulator creates, and `.gridform/`,
//! get a `.gitignore` of `*`.
//!
//! A corrupt file or one written by a newer version is an error, never silently replaced. It
//! must not decide when to write (callers flush after each mutation).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::emulator::store::{STATE_VERSION, Store};

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// I/O on the file.
    #[error("emulator state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a state file this build understands.
    #[error("emulator state file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Written by a newer gridform.
    #[error(
        "emulator state file {path} has format version {found}; this gridform reads version {STATE_VERSION} (upgrade gridform or use another --state file)"
    )]
    FutureVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u64,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the state file; `Ok(None)` when it does not exist yet.
pub fn load(path: &Path) -> Result<Option<Store>, PersistError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let corrupt = |reason: String| PersistError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    let version = value["version"]
        .as_u64()
        .ok_or_else(|| corrupt("no `version` field".into()))?;
    if version > u64::from(STATE_VERSION) {
        return Err(PersistError::FutureVersion {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let store: Store = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(store))
}

/// Writes the state file atomically.
pub fn save(path: &Path, store: &Store) -> Result<(), PersistError> {
    let text = serde_json::to_vec_pretty(store).map_err(|e| PersistError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = temp_path(dir, &file_name);
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tmp)(e)),
        _ => {}
    }
    {
        let mut f = private_file(&tmp).map_err(io(&tmp))?;
        f.write_all(&text).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn temp_path(dir: &Path, file_name: &str) -> PathBuf {
    dir.join(format!(".{file_name}.tmp"))
}

/// A new file only the owner can read (never an existing one, never through a symlink).
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Gets the state file's folder ready before the first load: creates it (with a `.gitignore`
/// of `*`) when missing, adds that `.gitignore` to a `.gridform` folder without one, and removes
/// temp files an earlier crash left (`.FILE.tmp`, `.FILE.tmp<pid>`).
pub fn prepare(path: &Path) -> Result<(), PersistError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if created || dir.file_name().is_some_and(|n| n == ".gridform") {
        let ignore = dir.join(".gitignore");
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&ignore)
        {
            Ok(mut f) => f
                .write_all(b"# Written by gridform: emulator state, locks and secrets.\n*\n")
                .map_err(io(&ignore))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(&ignore)(e)),
        }
    }
    let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(());
    };
    let stale = temp_path(dir, &file_name);
    let stale = stale.file_name().map(|n| n.to_string_lossy().into_owned());
    for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_stale = stale.as_deref().is_some_and(|s| {
            name.strip_prefix(s)
                .is_some_and(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        });
        if is_stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        assert!(load(&path).unwrap().is_none());
        let store = Store::new(3);
        save(&path, &store).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back.signing_key, store.signing_key);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(load(&path), Err(PersistError::Corrupt { .. })));
        std::fs::write(&path, r#"{"version": 99}"#).unwrap();
        assert!(matches!(
            load(&path),
            Err(PersistError::FutureVersion { found: 99, .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn the_state_file_is_private_and_its_folder_ignored_by_git() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/state.json");
        prepare(&path).unwrap();
        let ignore = std::fs::read_to_string(dir.path().join("new/.gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
        save(&path, &Store::new(3)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A folder that exists already is left alone, unless it is `.gridform`.
        let here = dir.path().join("state.json");
        prepare(&here).unwrap();
        assert!(!dir.path().join(".gitignore").exists());
        std::fs::create_dir(dir.path().join(".gridform")).unwrap();
        prepare(&dir.path().join(".gridform/emulator.json")).unwrap();
        assert!(dir.path().join(".gridform/.gitignore").exists());
    }

    #[test]
    fn stale_temp_files_are_removed_and_saves_reuse_one_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for stale in [".state.json.tmp", ".state.json.tmp4242"] {
            std::fs::write(dir.path().join(stale), "{").unwrap();
        }
        std::fs::write(dir.path().join(".state.json.tmp-keep"), "x").unwrap();
        prepare(&path).unwrap();
        save(&path, &Store::new(3)).unwrap();
        std::fs::write(dir.path().join(".state.json.tmp"), "{").unwrap();
        save(&path, &Store::new(3)).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".state.json.tmp-keep", "state.json"]);
    }
}
