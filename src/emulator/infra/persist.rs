//! The `--state` file: the whole store as JSON, written atomically (temp file, fsync, rename,
//! directory fsync) so a `kill -9` at any moment leaves either the old or the new state.
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
    let tmp = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&text).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
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
}
