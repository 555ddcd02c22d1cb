//! Moving a JSON state file (the format before the SQLite database) into the database on first
//! open: `FILE` holding JSON becomes a database and the JSON is kept as `FILE.migrated`; a
//! missing `FILE` whose sibling `FILE` with extension `json` holds JSON (the old default
//! `.gridform/emulator.json` next to `.gridform/emulator.db`) is migrated the same way. The new
//! database is built under a temporary name and renamed into place only when complete.
//!
//! It owns telling the formats apart, reading the JSON format (a newer format version or broken
//! JSON is an error naming the file) and creating files mode 0600. It must not decide anything
//! about rows or SQL (`persist` does).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::emulator::infra::persist::{Db, PersistError, io};
use crate::emulator::store::{STATE_VERSION, Store};

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

#[derive(Debug, PartialEq, Eq)]
enum Found {
    Missing,
    Database,
    Json,
    Other,
}

fn classify(path: &Path) -> Result<Found, PersistError> {
    let mut head = Vec::with_capacity(64);
    match std::fs::File::open(path) {
        Ok(f) => f.take(64).read_to_end(&mut head).map_err(io(path))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(io(path)(e)),
    };
    if head.is_empty() || head.starts_with(SQLITE_HEADER) {
        return Ok(Found::Database);
    }
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(Found::Json),
        _ => Ok(Found::Other),
    }
}

/// Migrates a JSON state file at `path` (or at `path` with extension `json` when `path` is
/// missing) into a database at `path`; returns where the JSON was kept, `None` when there was
/// nothing to migrate. A file that is neither format is an error.
pub fn json_to_database(path: &Path) -> Result<Option<PathBuf>, PersistError> {
    match classify(path)? {
        Found::Database => Ok(None),
        Found::Json => migrate(path, path).map(Some),
        Found::Other => Err(PersistError::Corrupt {
            path: path.to_path_buf(),
            reason: "neither an SQLite database nor a JSON state file".into(),
        }),
        Found::Missing => {
            let legacy = path.with_extension("json");
            if legacy != path && classify(&legacy)? == Found::Json {
                migrate(&legacy, path).map(Some)
            } else {
                Ok(None)
            }
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn migrate(json: &Path, target: &Path) -> Result<PathBuf, PersistError> {
    let mut store = load_json(json)?;
    let kept = with_suffix(json, ".migrated");
    if kept.exists() {
        return Err(PersistError::Io {
            path: kept,
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "an earlier migration's copy is in the way; move it elsewhere and start again",
            ),
        });
    }
    let building = with_suffix(target, ".migrating");
    for stale in ["", "-wal", "-shm"] {
        let stale = with_suffix(&building, stale);
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&stale)(e)),
            _ => {}
        }
    }
    // Closed (checkpointed, its WAL removed) before it is renamed into place.
    Db::connect(&building)?.write_all(&mut store)?;
    std::fs::rename(json, &kept).map_err(io(json))?;
    std::fs::rename(&building, target).map_err(io(target))?;
    Ok(kept)
}

/// Reads a JSON state file (the format before the database).
pub fn load_json(path: &Path) -> Result<Store, PersistError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
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
        return Err(PersistError::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "JSON state format version {version}; this gridform migrates version {STATE_VERSION}"
            ),
        });
    }
    serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
}

/// Creates `path` empty, mode 0600, unless it exists (never through a symlink it would follow
/// to create).
pub fn create_private(path: &Path) -> Result<(), PersistError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}
