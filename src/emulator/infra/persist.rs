//! The `--state` database: the store in SQLite (bundled, WAL mode, `synchronous=NORMAL`), one row
//! per resource, operation, subscription's registrations and outbox batch (`store::rows`).
//! Each write is one `BEGIN IMMEDIATE` transaction that writes only the rows the mutation
//! dirtied; before a request works on the store, `PRAGMA data_version` tells whether another
//! process committed since, and the store is then read again, so two processes on one file keep
//! each other's writes. A committed transaction survives `kill -9` (a power loss may roll back the
//! last ones; docs/emulator.md).
//!
//! It owns opening (creating the file mode 0600 — SQLite gives `-wal`/`-shm` the same mode —,
//! the schema and its `user_version`, migrating a JSON state file: `migrate.rs`), reading and
//! writing rows. A corrupt file or a newer schema is an error, never silently replaced. It must
//! not decide when to write (the `Emulator` lock guard does).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::emulator::infra::migrate;
use crate::emulator::store::Store;
use crate::emulator::store::rows::{self, Changes};

/// The database schema this build reads and writes (`PRAGMA user_version`); version 2 added
/// the `graph_subscriptions` table (a version 1 file gains it when opened).
pub const SCHEMA_VERSION: i64 = 2;

/// How long a write waits for another process's transaction on the same file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the state database could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// I/O on the file or its folder.
    #[error("emulator state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a state file this build understands.
    #[error(
        "emulator state file {path} is corrupt: {reason} (hint: move it away to start an empty world, or use another --state file)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Written by a newer gridform.
    #[error(
        "emulator state file {path} has schema version {found}; this gridform reads version {SCHEMA_VERSION} (hint: upgrade gridform or use another --state file)"
    )]
    FutureVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: i64,
    },
    /// SQLite refused a read or write (busy beyond the timeout, disk full, …).
    #[error("emulator state database {path}: {source}")]
    Database {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// SQLite's "not a database" and "malformed" are corruption; the rest is an access error.
fn db(path: &Path) -> impl Fn(rusqlite::Error) -> PersistError + '_ {
    move |source| match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            PersistError::Corrupt {
                path: path.to_path_buf(),
                reason: source.to_string(),
            }
        }
        _ => PersistError::Database {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// An open state database and what this connection last saw of it.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
    path: PathBuf,
    /// `PRAGMA data_version` when the store was last read; `None` forces a read.
    seen: Option<i64>,
    in_transaction: bool,
}

impl Db {
    /// Opens the state database at `path` (creating it, or migrating a JSON state file found
    /// there or at `path` with extension `json`: `migrate.rs`) and reads the store; a new
    /// database starts from `Store::new(seed)`, written at once.
    pub fn open(path: &Path, seed: u64) -> Result<(Self, Store), PersistError> {
        prepare(path)?;
        let migrated = migrate::json_to_database(path)?;
        let mut db = Self::connect(path)?;
        // Read (or, for a new database, write the fresh store) under the write lock, so two
        // processes opening one new file agree on one world.
        let mut store = Store::new(seed);
        db.begin(&mut store)?;
        db.commit(&mut store)?;
        if let Some(old) = migrated {
            tracing::info!(from = %old.display(), to = %path.display(), "migrated the JSON emulator state");
        }
        Ok((db, store))
    }

    /// Opens `path` (created mode 0600 when missing) and checks or creates the schema.
    pub(crate) fn connect(path: &Path) -> Result<Self, PersistError> {
        migrate::create_private(path)?;
        let err = db(path);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(&err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(&err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&err)?;
        if version > SCHEMA_VERSION {
            return Err(PersistError::FutureVersion {
                path: path.to_path_buf(),
                found: version,
            });
        }
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .map_err(&err)?;
        // WAL + NORMAL: a commit is in the WAL before the response; only a power loss (not a
        // process crash) can roll back the last commits, and never corrupts.
        conn.execute_batch("PRAGMA synchronous=NORMAL")
            .map_err(&err)?;
        if version == 0 {
            create_schema(&conn, path)?;
        } else if version < SCHEMA_VERSION {
            upgrade_schema(&conn, path)?;
        }
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            seen: None,
            in_transaction: false,
        })
    }

    fn data_version(&self) -> Result<i64, PersistError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(db(&self.path))
    }

    /// The store in the database; `None` when it holds none yet.
    fn read_store(&self) -> Result<Option<Store>, PersistError> {
        let mut tables: BTreeMap<&'static str, Vec<(String, String)>> = BTreeMap::new();
        for table in rows::TABLES {
            let mut stmt = self
                .conn
                .prepare_cached(&format!("SELECT key, value FROM {table}"))
                .map_err(db(&self.path))?;
            let found = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect::<Result<Vec<(String, String)>, _>>())
                .map_err(db(&self.path))?;
            tables.insert(table, found);
        }
        if tables.values().all(Vec::is_empty) {
            return Ok(None);
        }
        Store::from_rows(&tables)
            .map(Some)
            .map_err(|reason| PersistError::Corrupt {
                path: self.path.clone(),
                reason,
            })
    }

    /// Starts this request's write transaction (waiting for another process's, up to the busy
    /// timeout) and reads the store again when another connection committed since it was read.
    pub fn begin(&mut self, store: &mut Store) -> Result<(), PersistError> {
        if self.in_transaction {
            return Ok(());
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(db(&self.path))?;
        self.in_transaction = true;
        let version = self.data_version()?;
        if self.seen != Some(version) {
            let fresh = self.read_store();
            match fresh {
                Ok(Some(fresh)) => *store = fresh,
                Ok(None) => store.mark_all(),
                Err(e) => {
                    self.rollback();
                    return Err(e);
                }
            }
            self.seen = Some(version);
        }
        Ok(())
    }

    /// Writes the rows the store's changes need and commits (starting a transaction first when
    /// none is open). On failure nothing is written and the next `begin` reads the store again.
    pub fn commit(&mut self, store: &mut Store) -> Result<(), PersistError> {
        let changes = store.take_changes();
        let result = changes
            .map_err(|e| PersistError::Corrupt {
                path: self.path.clone(),
                reason: format!("cannot encode the store: {e}"),
            })
            .and_then(|changes| self.write(&changes));
        if result.is_err() {
            self.rollback();
            self.seen = None;
        }
        result
    }

    fn write(&mut self, changes: &Changes) -> Result<(), PersistError> {
        if changes.is_empty() && !self.in_transaction {
            return Ok(());
        }
        let err = db(&self.path);
        if !self.in_transaction {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(&err)?;
            self.in_transaction = true;
        }
        write_changes(&self.conn, changes).map_err(&err)?;
        self.conn.execute_batch("COMMIT").map_err(&err)?;
        self.in_transaction = false;
        Ok(())
    }

    /// Writes every row of `store` (a migration into a new file).
    pub(crate) fn write_all(&mut self, store: &mut Store) -> Result<(), PersistError> {
        store.mark_all();
        self.commit(store)
    }

    fn rollback(&mut self) {
        if self.in_transaction {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.in_transaction = false;
        }
    }
}

/// Puts and deletes `changes` on `conn` (inside the caller's transaction).
pub(crate) fn write_changes(conn: &Connection, changes: &Changes) -> rusqlite::Result<()> {
    for (table, key, value) in &changes.put {
        conn.prepare_cached(&format!(
            "INSERT OR REPLACE INTO {table} (key, value) VALUES (?1, ?2)"
        ))?
        .execute((key, value))?;
    }
    for (table, key) in &changes.delete {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE key = ?1"))?
            .execute([key])?;
    }
    Ok(())
}

/// Creates the tables on an empty file and sets `user_version`; a file with tables but no
/// version is not ours.
fn create_schema(conn: &Connection, path: &Path) -> Result<(), PersistError> {
    let err = db(path);
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(&err)?;
    if tables > 0 {
        return Err(PersistError::Corrupt {
            path: path.to_path_buf(),
            reason: "an SQLite database without a gridform schema version".into(),
        });
    }
    upgrade_schema(conn, path)
}

/// Creates every table that is missing and sets `user_version` (a new file, or an older
/// schema: every version so far only added tables).
fn upgrade_schema(conn: &Connection, path: &Path) -> Result<(), PersistError> {
    let mut sql = String::from("BEGIN IMMEDIATE;");
    for table in rows::TABLES {
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
        ));
    }
    sql.push_str(&format!("PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"));
    conn.execute_batch(&sql).map_err(db(path))
}

/// Gets the state file's folder ready: creates it (with a `.gitignore` of `*`) when missing,
/// and adds that `.gitignore` to a `.gridform` folder without one.
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
            Ok(mut f) => std::io::Write::write_all(
                &mut f,
                b"# Written by gridform: emulator state, locks and secrets.\n*\n",
            )
            .map_err(io(&ignore))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(&ignore)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
