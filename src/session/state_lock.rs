//! The exclusive OS file lock on an emulator state file (`.gridform/emulator.lock` next to
//! `.gridform/emulator.db`): held for as long as a process runs an emulator on that file, so
//! two runs never load the same state and overwrite each other's writes.
//!
//! It owns taking the lock (waiting up to a timeout), recording who holds it in the lock file
//! and reading that back for the error. It must not print, touch the state file itself or decide
//! which commands lock (the session and `emulator serve` do).
// `File::try_lock`/`unlock` need Rust 1.89, the crate's `rust-version`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::holder::Identity;

/// How often a waiting run retries the lock.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// The lock file that guards `state` (same name, extension `lock`).
pub fn lock_path(state: &Path) -> PathBuf {
    state.with_extension("lock")
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum StateLockError {
    /// I/O on the lock file.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process holds it.
    #[error("the emulator state is in use: {path} is held by {holder}{waited}")]
    Held {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as recorded in the lock file.
        holder: String,
        /// `" (waited 5s)"`, or empty when the timeout was zero.
        waited: String,
    },
}

/// A held lock; dropping it (closing the file) releases it.
#[derive(Debug)]
pub struct StateLock {
    file: File,
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Leave the file (removing it would race a waiter that opened it); only unlock.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Takes the exclusive lock guarding `state`, retrying for up to `timeout`; `on_wait` is called
/// once with the holder's description when the lock is busy and the run waits.
pub async fn acquire(
    state: &Path,
    timeout: Duration,
    on_wait: impl FnOnce(&str),
) -> Result<StateLock, StateLockError> {
    let path = lock_path(state);
    let io = |source| StateLockError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // No truncation before the lock is ours: the holder's record must survive for the message.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let started = tokio::time::Instant::now();
    let mut on_wait = Some(on_wait);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::Error(e)) => return Err(io(e)),
            Err(TryLockError::WouldBlock) => {}
        }
        let holder = settled_holder(&path).await;
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(StateLockError::Held {
                path: path.clone(),
                holder,
                waited: if timeout.is_zero() {
                    String::new()
                } else {
                    format!(" (waited {}s)", waited.as_secs())
                },
            });
        }
        if let Some(f) = on_wait.take() {
            f(&holder);
        }
        tokio::time::sleep(RETRY_EVERY.min(timeout.saturating_sub(waited))).await;
    }
    record_holder(&mut file).map_err(io)?;
    Ok(StateLock { file })
}

fn record_holder(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(Identity::current().lock_record().as_bytes())?;
    file.sync_all()
}

/// How long a busy lock's record may take to appear: the holder writes it right after taking
/// the lock, so a reader can land in between.
const RECORD_GRACE: Duration = Duration::from_secs(1);

/// The holder of a busy lock, waiting up to [`RECORD_GRACE`] for its record to be complete (its
/// last line, `since=`, written) so the message names who holds it.
async fn settled_holder(path: &Path) -> String {
    let started = tokio::time::Instant::now();
    loop {
        let complete = std::fs::read_to_string(path)
            .is_ok_and(|t| t.lines().any(|l| l.starts_with("since=")) && t.ends_with('\n'));
        if complete || started.elapsed() >= RECORD_GRACE {
            return read_holder(path);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The holder recorded in the lock file, as one line for a message.
pub fn read_holder(path: &Path) -> String {
    let mut text = String::new();
    let read = File::open(path).and_then(|mut f| f.read_to_string(&mut text));
    match read {
        Ok(_) if !text.trim().is_empty() => Identity::describe_record(&text),
        // The holder may be between taking the lock and writing its record.
        _ => "another process (no holder recorded yet)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_lock_fails_naming_the_holder_and_succeeds_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".gridform/emulator.json");
        let first = acquire(&state, Duration::ZERO, |_| {}).await.unwrap();
        assert!(dir.path().join(".gridform/emulator.lock").exists());
        let err = acquire(&state, Duration::ZERO, |_| {}).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("emulator.lock"), "{text}");
        drop(first);
        let again = acquire(&state, Duration::ZERO, |_| {}).await;
        assert!(again.is_ok());
    }

    #[tokio::test]
    async fn a_waiting_lock_is_taken_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let first = acquire(&state, Duration::ZERO, |_| {}).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let waiter = tokio::spawn({
            let state = state.clone();
            async move {
                acquire(&state, Duration::from_secs(3600), move |h| {
                    let _ = tx.send(h.to_string());
                })
                .await
            }
        });
        // The waiter saw the lock busy; only then let go.
        let holder = rx.await.unwrap();
        assert!(holder.contains("pid"), "{holder}");
        drop(first);
        assert!(waiter.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_holder_between_locking_and_recording_is_still_named() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".gridform/emulator.json");
        std::fs::create_dir_all(state.parent().unwrap()).unwrap();
        let path = lock_path(&state);
        // Another process took the lock and has not written its record yet.
        let mut held = File::create(&path).unwrap();
        held.lock().unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            record_holder(&mut held).unwrap();
            held
        });
        let err = acquire(&state, Duration::ZERO, |_| {}).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(writer.join().unwrap());
    }
}
