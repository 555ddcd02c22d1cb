//! The shared emulator handle (`Emulator`: store, clock, throttle buckets, fault injector) and
//! its configuration (`Config`, built once from the CLI flags or by tests).
//!
//! It owns locking and flushing the state file. It must not route requests, build responses or
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

/// The shared emulator handle: cheap to clone, one per server.
#[derive(Clone)]
pub struct Emulator {
    store: Arc<Mutex<Store>>,
    /// The emulator's notion of "now"; tests and `/_emulator/clock` move it.
    pub clock: Clock,
    config: Arc<Config>,
    throttle: Arc<Mutex<throttle::Buckets>>,
    faults: Arc<Mutex<faults::Faults>>,
}

impl Emulator {
    /// A fresh emulator with an empty world.
    pub fn new(config: Config, clock: Clock) -> Self {
        let store = Store::new(config.seed);
        Self::with_store(config, clock, store)
    }

    /// An emulator around an existing store (e.g. loaded from `--state`).
    pub fn with_store(config: Config, clock: Clock, store: Store) -> Self {
        let faults = faults::Faults::new(config.faults.clone(), config.seed);
        let buckets = throttle::Buckets::new(config.throttle.clone());
        Self {
            store: Arc::new(Mutex::new(store)),
            clock,
            config: Arc::new(config),
            throttle: Arc::new(Mutex::new(buckets)),
            faults: Arc::new(Mutex::new(faults)),
        }
    }

    /// Loads `config.state_file` when it exists, else starts empty (its folder prepared first:
    /// `.gitignore`, stale temp files — `persist::prepare`).
    pub fn open(config: Config, clock: Clock) -> Result<Self, persist::PersistError> {
        let store = match &config.state_file {
            Some(path) => {
                persist::prepare(path)?;
                persist::load(path)?.unwrap_or_else(|| Store::new(config.seed))
            }
            None => Store::new(config.seed),
        };
        Ok(Self::with_store(config, clock, store))
    }

    /// The configuration this emulator runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Locks the store; a poisoned lock is recovered (the store stays usable).
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the state file if the store changed since the last write.
    pub fn flush(&self) -> Result<(), persist::PersistError> {
        let mut store = self.lock();
        self.flush_locked(&mut store)
    }

    /// Same as `flush`, for callers already holding the lock.
    pub fn flush_locked(&self, store: &mut Store) -> Result<(), persist::PersistError> {
        if let Some(path) = &self.config.state_file
            && store.take_dirty()
        {
            persist::save(path, store)?;
        }
        Ok(())
    }

    pub(crate) fn throttle(&self) -> MutexGuard<'_, throttle::Buckets> {
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, faults::Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
}
