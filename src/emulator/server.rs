//! The server: `router` (every route of every surface, in one table), `serve` and the in-process
//! `spawn_local` used by `gridform <cmd> --emulator` and the tests.
//!
//! It owns wiring only: which path goes to which surface handler, resuming the outbox and
//! flushing the state file on shutdown. It must not implement a route or choose a status.

use std::path::PathBuf;

use axum::Router;
use axum::routing::{any, get, post};

use crate::emulator::dataplane::publish as dataplane;
use crate::emulator::dataplane::{outbox, webhook};
use crate::emulator::identity::entra as auth;
use crate::emulator::infra::clock::Clock;
use crate::emulator::infra::{http, persist, tls};
use crate::emulator::instance::{Config, Emulator};
use crate::emulator::{arm_api as arm, auth0_api as auth0, controls as control};

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
            post(control::events::partner_publish),
        )
        .route("/_emulator/deliveries", get(control::events::deliveries))
        .route(
            "/_emulator/system-topics/events",
            post(control::events::system_publish),
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
        .fallback(arm::front_door::dispatch)
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
