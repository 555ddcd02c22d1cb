//! The shared emulator handle (`Emulator`: store, clock, throttle buckets, fault injector) and
//! its configuration (`Config`, built once from the CLI flags or by tests).
//!
//! It owns locking the store and committing it to the state database (`StoreGuard`). It must not route requests, build responses or
//! contain ARM semantics (those live in the surface folders and in `store`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::emulator::infra::clock::Clock;
use crate::emulator::infra::faults::{self, FaultSpec};
use crate::emulator::infra::persist;
use crate::emulator::infra::throttle::{self, ThrottleSpec};
use crate::emulator::store::Store;

/// How the emulator behaves; built once from the CLI flags (or by tests).
#[derive(Debug, Clone)]
pub struct Config {
    /// Added to every request before it is answered.
    pub latency: Duration,
    /// How long long-running operations, provider registration and the partner take.
    pub lro_delay: Duration,
    /// ARM throttling limits.
    pub throttle: ThrottleSpec,
    /// Fault injection rates.
    pub faults: FaultSpec,
    /// Seed for ids, keys and fault rolls.
    pub seed: u64,
    /// Durable state file; `None` keeps everything in memory.
    pub state_file: Option<PathBuf>,
    /// `https` when serving TLS, else `http`; used to build absolute URLs.
    pub scheme: &'static str,
    /// Whether ARM calls need a bearer token issued by this emulator.
    pub require_auth: bool,
    /// The self-signed certificate (PEM) when serving TLS; served at `/_emulator/ca.pem`.
    pub ca_pem: Option<String>,
    /// Event delivery's retry schedule and response timeout are divided by this (e.g. 600 turns
    /// Azure's 10 s first retry into ~17 ms).
    pub time_scale: f64,
    /// Where dead-lettered events are written (one folder per storage account and container);
    /// `None` only records them in the sink.
    pub dead_letter_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            lro_delay: Duration::ZERO,
            throttle: ThrottleSpec::Off,
            faults: FaultSpec::default(),
            seed: 0,
            state_file: None,
            scheme: "http",
            require_auth: true,
            ca_pem: None,
            time_scale: 1.0,
            dead_letter_dir: None,
        }
    }
}

/// The store and, with `--state`, the database it is kept in; one mutex guards both.
struct Locked {
    store: Store,
    db: Option<persist::Db>,
}

/// The shared emulator handle: cheap to clone, one per server.
#[derive(Clone)]
pub struct Emulator {
    store: Arc<Mutex<Locked>>,
    /// The emulator's notion of "now"; tests and `/_emulator/clock` move it.
    pub clock: Clock,
    config: Arc<Config>,
    throttle: Arc<Mutex<throttle::Buckets>>,
    faults: Arc<Mutex<faults::Faults>>,
}

/// The locked store (derefs to `Store`). With `--state` it holds the database's write
/// transaction, taken when locking (the store is read again first if another process wrote);
/// `Emulator::flush_locked` commits what changed, and dropping the guard commits anything
/// changed after that.
pub struct StoreGuard<'a> {
    inner: MutexGuard<'a, Locked>,
}

impl std::ops::Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.inner.store
    }
}

impl std::ops::DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.inner.store
    }
}

impl StoreGuard<'_> {
    fn commit(&mut self) -> Result<(), persist::PersistError> {
        let Locked { store, db } = &mut *self.inner;
        match db {
            Some(db) => db.commit(store),
            None => {
                store.clear_dirty();
                Ok(())
            }
        }
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.commit() {
            tracing::warn!(error = %e, "could not write the emulator state");
        }
    }
}

impl Emulator {
    /// A fresh emulator with an empty world, in memory (`config.state_file` is not read or
    /// written: `open` does that).
    pub fn new(config: Config, clock: Clock) -> Self {
        let store = Store::new(config.seed);
        Self::build(config, clock, store, None)
    }

    fn build(config: Config, clock: Clock, store: Store, db: Option<persist::Db>) -> Self {
        let faults = faults::Faults::new(config.faults.clone(), config.seed);
        let buckets = throttle::Buckets::new(config.throttle.clone());
        Self {
            store: Arc::new(Mutex::new(Locked { store, db })),
            clock,
            config: Arc::new(config),
            throttle: Arc::new(Mutex::new(buckets)),
            faults: Arc::new(Mutex::new(faults)),
        }
    }

    /// Opens `config.state_file` (creating it, or migrating a JSON state file:
    /// `persist::Db::open`), else starts empty in memory.
    pub fn open(config: Config, clock: Clock) -> Result<Self, persist::PersistError> {
        match &config.state_file {
            Some(path) => {
                let (db, store) = persist::Db::open(path, config.seed)?;
                Ok(Self::build(config, clock, store, Some(db)))
            }
            None => Ok(Self::new(config, clock)),
        }
    }

    /// The configuration this emulator runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Locks the store (a poisoned lock is recovered; the store stays usable). With `--state`
    /// this also starts the write transaction and reads what another process committed; when
    /// that fails it is logged and `flush_locked` reports the error.
    pub fn lock(&self) -> StoreGuard<'_> {
        let mut inner = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let Locked { store, db } = &mut *inner;
        if let Some(db) = db
            && let Err(e) = db.begin(store)
        {
            tracing::warn!(error = %e, "could not read the emulator state");
        }
        StoreGuard { inner }
    }

    /// Commits what changed in the store (nothing to do in memory).
    pub fn flush(&self) -> Result<(), persist::PersistError> {
        self.lock().commit()
    }

    /// Same as `flush`, for callers holding the lock: commits before the response is sent.
    pub fn flush_locked(&self, store: &mut StoreGuard<'_>) -> Result<(), persist::PersistError> {
        store.commit()
    }

    pub(crate) fn throttle(&self) -> MutexGuard<'_, throttle::Buckets> {
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, faults::Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
}
