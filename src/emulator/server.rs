//! The server: `router` (every route of every surface, in one table), `serve` and the in-process
//! `spawn_local` used by `gridform <cmd> --emulator` and the tests.
//!
//! It owns wiring only: which path goes to which surface handler, the request body limit of each
//! surface (and Graph's fault layer), resuming the outbox and flushing the state file on
//! shutdown. It must not implement a route or choose a status.

use std::future::Future;
use std::path::PathBuf;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use tokio::net::TcpListener;

use crate::emulator::arm_api::{front_door, metadata};
use crate::emulator::auth0_api::{self, log_streams};
use crate::emulator::controls::{self, events, graph_events};
use crate::emulator::dataplane::{outbox, publish, webhook};
use crate::emulator::graph_api::subscriptions as graph;
use crate::emulator::identity::entra;
use crate::emulator::infra::clock::Clock;
use crate::emulator::infra::{http, persist, tls};
use crate::emulator::instance::{Config, Emulator};

/// ARM's request size limit (4 MB); also the default for every route without its own.
pub const ARM_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Event Grid's publish limit (1 MB), for the data plane and the emulated sources' events.
pub const EVENTS_BODY_LIMIT: usize = crate::emulator::dataplane::publish_input::MAX_BYTES;
/// Token requests, Auth0 Management API and Graph subscription bodies are small.
pub const SMALL_BODY_LIMIT: usize = 64 * 1024;

/// Every route of the emulator: ARM, token endpoints, Auth0, Microsoft Graph, the controls. Bodies over the
/// route's limit are refused while they are read (413), never buffered whole.
pub fn router(state: Emulator) -> Router {
    let events = || DefaultBodyLimit::max(EVENTS_BODY_LIMIT);
    let small = || DefaultBodyLimit::max(SMALL_BODY_LIMIT);
    Router::new()
        .route(
            "/_emulator/clock",
            get(controls::get_clock).post(controls::advance_clock),
        )
        .route(
            "/_emulator/faults",
            get(controls::get_faults).put(controls::put_faults),
        )
        .route(
            "/_emulator/sink",
            get(controls::get_sink).delete(controls::clear_sink),
        )
        .route("/_emulator/ca.pem", get(controls::get_ca))
        .route("/_emulator/validate", get(controls::manual_validation))
        .route(
            "/_emulator/auth0/log-streams/{id}/events",
            post(events::partner_publish).layer(events()),
        )
        .route(
            "/_emulator/graph/subscriptions/{id}/events",
            post(graph_events::graph_publish).layer(events()),
        )
        .route("/_emulator/deliveries", get(events::deliveries))
        .route(
            "/_emulator/system-topics/events",
            post(events::system_publish).layer(events()),
        )
        .route("/_emulator/sink/{*rest}", any(webhook::sink_endpoint))
        .route(
            "/eventgrid/topics/{host}/api/events",
            post(publish::publish).layer(events()),
        )
        .route(
            "/auth0/oauth/token",
            post(auth0_api::token::token).layer(small()),
        )
        .route(
            "/auth0/api/v2/log-streams",
            get(log_streams::list)
                .post(log_streams::create)
                .layer(small()),
        )
        .route(
            "/auth0/api/v2/log-streams/{id}",
            get(log_streams::get_one)
                .patch(log_streams::patch)
                .delete(log_streams::delete)
                .layer(small()),
        )
        .merge(graph_routes(state.clone()))
        .route("/msi/token", get(entra::managed_identity_token))
        .route(
            "/metadata/identity/oauth2/token",
            get(entra::managed_identity_token),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(entra::token).layer(small()),
        )
        .route("/{tenant}/oauth2/token", post(entra::token).layer(small()))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(entra::openid_configuration),
        )
        .route("/common/discovery/instance", get(entra::instance_discovery))
        .route("/metadata/endpoints", get(metadata::endpoints))
        // `az cloud register --endpoint-resource-manager https://host/` asks for `//metadata/...`.
        .route("//metadata/endpoints", get(metadata::endpoints))
        .fallback(front_door::dispatch)
        .layer(DefaultBodyLimit::max(ARM_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::common_layer,
        ))
        .with_state(state)
}

/// Microsoft Graph's routes, behind its fault layer.
fn graph_routes(state: Emulator) -> Router<Emulator> {
    let small = || DefaultBodyLimit::max(SMALL_BODY_LIMIT);
    Router::new()
        .route(
            "/graph/v1.0/subscriptions",
            get(graph::list).post(graph::create).layer(small()),
        )
        .route(
            "/graph/v1.0/subscriptions/{id}",
            get(graph::get_one)
                .patch(graph::patch)
                .delete(graph::delete)
                .layer(small()),
        )
        .route(
            "/graph/v1.0/subscriptions/{id}/reauthorize",
            post(graph::reauthorize).layer(small()),
        )
        .layer(axum::middleware::from_fn_with_state(
            state,
            graph::faults_layer,
        ))
}

/// Serves `router(state)` on `listener` — over TLS with `tls` — until `shutdown` resolves, then
/// flushes the state file. Undelivered events from the state file resume first. The one server
/// loop: every other entry point below calls it.
pub async fn serve_until<F>(
    listener: TcpListener,
    tls: Option<&tls::SelfSigned>,
    state: Emulator,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = router(state.clone());
    match tls {
        Some(cert) => {
            let listener = tls::TlsListener::new(listener, cert).map_err(std::io::Error::other)?;
            outbox::resume(&state);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        None => {
            outbox::resume(&state);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
    }
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
    /// Lets queued deliveries finish for up to `drain`, then stops serving and flushes the
    /// state file; what is still queued stays in it and resumes next time.
    pub async fn shutdown_after_deliveries(
        self,
        drain: std::time::Duration,
    ) -> std::io::Result<()> {
        let started = std::time::Instant::now();
        while !self.emulator.lock().outbox.is_empty() && started.elapsed() < drain {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.shutdown().await
    }

    /// Stops serving and flushes the state file.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// Starts an emulator on `127.0.0.1:0` in the current tokio runtime (state from
/// `config.state_file`, e.g. `.gridform/emulator.db`, so consecutive commands see one world).
pub async fn spawn_local(config: Config) -> Result<Running, persist::PersistError> {
    let emulator = Emulator::open(config, Clock::system())?;
    let io = |source| persist::PersistError::Io {
        path: PathBuf::from("127.0.0.1:0"),
        source,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
    let addr = listener.local_addr().map_err(io)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_until(listener, None, emulator.clone(), async {
        let _ = stopped.await;
    }));
    Ok(Running {
        base_url: format!("http://{addr}"),
        emulator,
        stop: Some(stop),
        task,
    })
}
