//! The local emulator: ARM, the Azure AD token endpoint, the Auth0 Management API, a simulated
//! Auth0 partner and a recording webhook sink, on axum.
//!
//! This file owns the shared handle (`Emulator`), its configuration and the two public entry
//! points (`router`, `serve`). It must not contain ARM semantics (those live in `store`) nor
//! choose HTTP statuses (only `error` does). It shares no wire types with the client (`arm`,
//! `auth0`): only `model::id` parsing.

pub mod arm;
pub mod arm_handlers;
pub mod auth;
pub mod auth0;
pub mod clock;
pub mod control;
pub mod dataplane;
pub mod error;
pub mod event_filter;
pub mod faults;
pub mod filter;
pub mod http;
pub mod ids;
pub mod outbox;
pub mod persist;
pub mod publish_input;
pub mod sas;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod webhook;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};

pub use clock::Clock;
pub use faults::FaultSpec;
pub use store::Store;
pub use throttle::ThrottleSpec;

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

    /// Loads `config.state_file` when it exists, else starts empty.
    pub fn open(config: Config, clock: Clock) -> Result<Self, persist::PersistError> {
        let store = match &config.state_file {
            Some(path) => persist::load(path)?.unwrap_or_else(|| Store::new(config.seed)),
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

/// Every route of the emulator: ARM, token endpoints, Auth0, the controls.
pub fn router(state: Emulator) -> Router {
    Router::new()
        .route(
            "/_emulator/clock",
            get(control::get_clock).post(control::advance_clock),
        )
        .route(
            "/_emulator/faults",
            get(control::get_faults).put(control::put_faults),
        )
        .route(
            "/_emulator/sink",
            get(control::get_sink).delete(control::clear_sink),
        )
        .route("/_emulator/ca.pem", get(control::get_ca))
        .route("/_emulator/validate", get(control::manual_validation))
        .route(
            "/_emulator/auth0/log-streams/{id}/events",
            post(dataplane::partner_publish),
        )
        .route("/_emulator/deliveries", get(dataplane::deliveries))
        .route(
            "/_emulator/system-topics/events",
            post(dataplane::system_publish),
        )
        .route("/_emulator/sink/{*rest}", any(webhook::sink_endpoint))
        .route(
            "/eventgrid/topics/{host}/api/events",
            post(dataplane::publish),
        )
        .route("/auth0/oauth/token", post(auth0::token))
        .route(
            "/auth0/api/v2/log-streams",
            get(auth0::list).post(auth0::create),
        )
        .route(
            "/auth0/api/v2/log-streams/{id}",
            get(auth0::get_one)
                .patch(auth0::patch)
                .delete(auth0::delete),
        )
        .route("/msi/token", get(auth::managed_identity_token))
        .route(
            "/metadata/identity/oauth2/token",
            get(auth::managed_identity_token),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token))
        .route("/{tenant}/oauth2/token", post(auth::token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(auth::openid_configuration),
        )
        .route("/common/discovery/instance", get(auth::instance_discovery))
        .fallback(arm::dispatch)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::common_layer,
        ))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until the returned future is dropped or fails.
pub async fn serve(listener: tokio::net::TcpListener, state: Emulator) -> std::io::Result<()> {
    outbox::resume(&state);
    axum::serve(listener, router(state)).await
}

/// Serves until `shutdown` resolves, then flushes the state file.
pub async fn serve_with_shutdown<F>(
    listener: tokio::net::TcpListener,
    state: Emulator,
    shutdown: F,
) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    outbox::resume(&state);
    axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    state.flush().map_err(std::io::Error::other)
}

/// Serves HTTPS with `cert` until `shutdown` resolves, then flushes the state file.
pub async fn serve_tls_with_shutdown<F>(
    listener: tokio::net::TcpListener,
    cert: &tls::SelfSigned,
    state: Emulator,
    shutdown: F,
) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tls::TlsListener::new(listener, cert).map_err(std::io::Error::other)?;
    outbox::resume(&state);
    axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    state.flush().map_err(std::io::Error::other)
}

/// An emulator running in this process on a loopback port (for `gridform <cmd> --emulator`).
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The emulator handle (clock, store).
    pub emulator: Emulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops serving and flushes the state file.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// Starts an emulator on `127.0.0.1:0` in the current tokio runtime (state from
/// `config.state_file`, e.g. `.gridform/emulator.json`, so consecutive commands see one world).
pub async fn spawn_local(config: Config) -> Result<Running, persist::PersistError> {
    let emulator = Emulator::open(config, Clock::system())?;
    let io = |source| persist::PersistError::Io {
        path: PathBuf::from("127.0.0.1:0"),
        source,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(io)?;
    let addr = listener.local_addr().map_err(io)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_with_shutdown(listener, emulator.clone(), async {
        let _ = stopped.await;
    }));
    Ok(Running {
        base_url: format!("http://{addr}"),
        emulator,
        stop: Some(stop),
        task,
    })
}
