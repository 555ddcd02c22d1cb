//! Where a command's remote work starts: the [`Target`] the settings resolved to (Azure, a
//! running emulator, or the embedded one), a [`Session`] connected to it, and the one way of
//! reading the live state a plan is made from ([`Session::read_live`]) and of making a plan.
//!
//! It owns connecting and the order of reads; it talks HTTP only through `arm`, `auth0` and
//! `graph`,
//! starts the embedded emulator (the only emulator code it touches, under the state file's
//! lock: `state_lock`), holds the stack lease of apply and destroy (`lease`) and never prints.

pub(crate) mod holder;
pub(crate) mod lease;
mod live;
pub(crate) mod state_lock;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use live::{read_live, scope_of};

use crate::apply::remote::Remote;
use crate::arm::{self, ArmError, AuthMethod, AzureCloud, ConnectSettings};
use crate::auth0::{Auth0ApiError, Auth0Client};
use crate::graph::{GraphApiError, GraphClient};
use crate::model::live::LiveState;
use crate::model::{DesiredState, ResourceKind};
use crate::plan::{Plan, PlanOptions, plan};

/// Where the embedded emulator keeps its world between commands (an SQLite database; an old
/// `.gridform/emulator.json` is migrated into it on first open).
pub const EMBEDDED_STATE: &str = ".gridform/emulator.db";

/// What the commands talk to, resolved once from the command line.
#[derive(Debug, Clone)]
pub enum Target {
    /// Azure Resource Manager (the cloud's endpoint, or `--endpoint`).
    Azure(AzureSettings),
    /// A running emulator at this base URL (`--emulator-url`).
    EmulatorUrl(String),
    /// The embedded emulator (`--emulator`).
    Embedded {
        /// Its state file.
        state: PathBuf,
        /// How long to wait for another run that holds the state file's lock.
        lock_timeout: Duration,
    },
}

/// How to reach and authenticate to ARM.
#[derive(Debug, Clone, Default)]
pub struct AzureSettings {
    /// `--endpoint`: an ARM endpoint other than the cloud's.
    pub endpoint: Option<String>,
    /// `--cloud`.
    pub cloud: AzureCloud,
    /// `--auth`.
    pub auth: AuthMethod,
}

impl Target {
    /// Whether the target is an emulator (running or embedded).
    pub fn is_emulator(&self) -> bool {
        !matches!(self, Self::Azure(_))
    }
}

/// Why a session could not be opened or could not read.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The embedded emulator did not start or stop.
    #[error("the embedded emulator failed ({path})")]
    Embedded {
        /// Its state file.
        path: String,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Another run holds the embedded emulator's state file.
    #[error(transparent)]
    StateLock(#[from] state_lock::StateLockError),
    /// The stack lease could not be taken or released.
    #[error(transparent)]
    Lease(#[from] Box<lease::LeaseError>),
    /// ARM could not be reached or answered with an error.
    #[error("{what}")]
    Arm {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<ArmError>,
    },
    /// The Auth0 Management API could not be reached or answered with an error.
    #[error("{what}")]
    Auth0 {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<Auth0ApiError>,
    },
    /// Microsoft Graph could not be reached or answered with an error.
    #[error("{what}")]
    Graph {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<GraphApiError>,
    },
}

/// Whether a session connects a Microsoft Graph client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GraphWanted {
    /// The manifests declare Graph subscriptions: a client that cannot be set up is an error.
    Required,
    /// Connect when credentials allow (export, a stack that may have created some); otherwise
    /// none, logged.
    Optional,
}

/// A connection to ARM (and Auth0 when the manifests have log streams, Microsoft Graph when they
/// have Graph subscriptions).
pub struct Session {
    /// ARM, Auth0 and Microsoft Graph.
    pub remote: Remote,
    /// The emulator's base URL, when the target is one (for its data plane and controls).
    pub emulator_base: Option<String>,
    embedded: Option<(crate::emulator::Running, PathBuf)>,
    lease: Option<lease::Lease>,
    // Last field: dropped (unlocked) only after the emulator above has stopped and flushed.
    _state_lock: Option<state_lock::StateLock>,
}

fn embedded_error(
    path: &std::path::Path,
    e: impl std::error::Error + Send + Sync + 'static,
) -> SessionError {
    SessionError::Embedded {
        path: path.display().to_string(),
        source: Box::new(e),
    }
}

async fn start_embedded(state: &std::path::Path) -> Result<crate::emulator::Running, SessionError> {
    let dir = state.parent().map(PathBuf::from).unwrap_or_default();
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir).map_err(|e| embedded_error(state, e))?;
    }
    let config = crate::emulator::Config {
        state_file: Some(state.to_path_buf()),
        dead_letter_dir: Some(dir.join("deadletter")),
        ..Default::default()
    };
    crate::emulator::spawn_local(config)
        .await
        .map_err(|e| embedded_error(state, e))
}

impl Session {
    /// Connects to `target`; an Auth0 client is set up when `desired` has log streams, a Graph
    /// client when it has Graph subscriptions (and, optionally, for any stack: one that
    /// created Graph subscriptions earlier must still find them to prune them).
    pub async fn open(
        target: &Target,
        desired: Option<&DesiredState>,
    ) -> Result<Self, SessionError> {
        let graph = match desired {
            Some(d) if declares_graph(d) => GraphWanted::Required,
            _ => GraphWanted::Optional,
        };
        Self::connect(target, graph, |conn| match desired {
            Some(d) if declares_streams(d) => Ok(Some(Arc::new(auth0_client(d, conn)?))),
            // No stream declared, but the stack uses Auth0: streams it created earlier must
            // still be found (and pruned); without Auth0 credentials there is nothing to find.
            Some(d) if d.stack.spec.auth0.is_some() => Ok(optional_auth0(auth0_client(d, conn))),
            _ => Ok(None),
        })
        .await
    }

    /// Connects to `target` for `gridform export`: no manifests, and an Auth0 client whenever
    /// Auth0 credentials are available (always on an emulator), so that log streams are read.
    /// A Graph client too, whenever its credential can be set up.
    pub async fn open_for_export(target: &Target) -> Result<Self, SessionError> {
        Self::connect(target, GraphWanted::Optional, |conn| {
            Ok(optional_auth0(env_auth0_client(conn, None)))
        })
        .await
    }

    async fn connect(
        target: &Target,
        graph: GraphWanted,
        auth0_of: impl FnOnce(&arm::Connection) -> Result<Option<Arc<Auth0Client>>, SessionError>,
    ) -> Result<Self, SessionError> {
        let mut embedded = None;
        let mut state_lock = None;
        let (settings, emulator_base) = match target {
            Target::Azure(s) => (s.clone(), None),
            Target::EmulatorUrl(url) => (
                AzureSettings::default(),
                Some(url.trim_end_matches('/').to_string()),
            ),
            Target::Embedded {
                state,
                lock_timeout,
            } => {
                // Held before the state is loaded and until it is flushed: no lost writes.
                state_lock = Some(
                    state_lock::acquire(state, *lock_timeout, |holder| {
                        tracing::warn!(
                            "waiting up to {}s for the embedded emulator's state, in use by {holder}",
                            lock_timeout.as_secs()
                        );
                    })
                    .await?,
                );
                let running = start_embedded(state).await?;
                let base = running.base_url.clone();
                embedded = Some((running, state.clone()));
                (AzureSettings::default(), Some(base))
            }
        };
        let connect_settings = ConnectSettings {
            endpoint: settings.endpoint,
            cloud: settings.cloud,
            auth: settings.auth,
            emulator_url: emulator_base.clone(),
            ..Default::default()
        };
        let conn = arm::connect(connect_settings.clone()).map_err(|source| SessionError::Arm {
            what: "cannot connect to Azure Resource Manager".into(),
            source: Box::new(source),
        })?;
        let auth0 = auth0_of(&conn)?;
        let graph = graph_client(&connect_settings, &conn, graph)?;
        Ok(Self {
            remote: Remote {
                arm: conn.arm,
                auth0,
                graph,
            },
            emulator_base,
            embedded,
            lease: None,
            _state_lock: state_lock,
        })
    }

    /// Takes the stack lease of `desired` (apply, destroy), waiting per `settings`; skipped
    /// when the stack's resource group does not exist yet (nothing to record it on) or the
    /// stack names none. Released by [`Session::close`].
    pub async fn take_lease(
        &mut self,
        desired: &DesiredState,
        settings: lease::LeaseSettings,
    ) -> Result<lease::Taken, SessionError> {
        let Some(group) = lease::lease_group(desired) else {
            return Ok(lease::Taken::Skipped(
                "the stack names no resource group to record a lease on".into(),
            ));
        };
        let me = holder::Identity::current();
        let acquired = lease::acquire(&self.remote.arm, &group, &desired.stack.name, &me, settings)
            .await
            .map_err(Box::new)?;
        Ok(match acquired {
            lease::Acquired::Leased(held) => {
                let releaser = held.releaser();
                self.lease = Some(held);
                lease::Taken::Held(releaser)
            }
            lease::Acquired::NoGroup(g) => lease::Taken::Skipped(format!(
                "resource group `{}` does not exist yet, so this first apply runs without a stack lease",
                g.name()
            )),
        })
    }

    /// Reads everything `desired` touches (see [`read_live`]).
    pub async fn read_live(
        &self,
        desired: &DesiredState,
        refresh_secrets: bool,
    ) -> Result<LiveState, SessionError> {
        read_live(&self.remote, desired, refresh_secrets).await
    }

    /// Reads the live state and plans `desired` against it.
    pub async fn plan(
        &self,
        desired: &DesiredState,
        options: &PlanOptions,
    ) -> Result<Plan, SessionError> {
        let live = self.read_live(desired, options.refresh_secrets).await?;
        Ok(plan(desired, &live, options))
    }

    /// Reads the live state and plans `desired` with `options` at the server's time: the
    /// `Date` of ARM's responses (on Azure the clock that matters, on the emulator its own
    /// clock) replaces `options.now` unless no response carried one. Returns the options used
    /// (a saved plan pins them).
    pub async fn plan_at_server_time(
        &self,
        desired: &DesiredState,
        mut options: PlanOptions,
    ) -> Result<(Plan, PlanOptions), SessionError> {
        let live = self.read_live(desired, options.refresh_secrets).await?;
        options.now = self.server_now().unwrap_or(options.now);
        Ok((plan(desired, &live, &options), options))
    }

    /// The server's time, as far as ARM's responses told it.
    pub fn server_now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.remote.arm.server_now()
    }

    /// Stops the embedded emulator (flushing its state) after letting it finish queued
    /// deliveries for up to `drain`; what is left stays queued in its state for next time.
    pub async fn close(mut self, drain: Duration) -> Result<(), SessionError> {
        let released = match self.lease.take() {
            Some(held) => held.release().await.map_err(Box::new),
            None => Ok(()),
        };
        if let Some((running, state)) = self.embedded.take() {
            running
                .shutdown_after_deliveries(drain)
                .await
                .map_err(|e| embedded_error(&state, e))?;
        }
        Ok(released?)
    }
}

fn declares_streams(desired: &DesiredState) -> bool {
    desired
        .resources
        .iter()
        .any(|r| r.kind == ResourceKind::Auth0LogStream)
}

/// Whether the manifests declare Microsoft Graph subscriptions.
pub(crate) fn declares_graph(desired: &DesiredState) -> bool {
    desired
        .resources
        .iter()
        .any(|r| r.kind == ResourceKind::GraphSubscription)
}

/// The Graph client `wanted` asks for, over the ARM connection's HTTP client and credential
/// choice (Graph's scope); `Optional` turns a failure into `None` (logged).
fn graph_client(
    settings: &ConnectSettings,
    conn: &arm::Connection,
    wanted: GraphWanted,
) -> Result<Option<Arc<GraphClient>>, SessionError> {
    match crate::graph::connect(settings, &conn.http, &|k| std::env::var(k).ok()) {
        Ok(client) => Ok(Some(Arc::new(client))),
        Err(e) if wanted == GraphWanted::Optional => {
            tracing::info!(error = %e, "no Microsoft Graph client: Graph subscriptions are not read");
            Ok(None)
        }
        Err(source) => Err(SessionError::Graph {
            what: "cannot set up the Microsoft Graph client".into(),
            source: Box::new(source),
        }),
    }
}

/// The client when it could be set up; otherwise `None` (logged: streams are not read).
fn optional_auth0(client: Result<Auth0Client, SessionError>) -> Option<Arc<Auth0Client>> {
    match client {
        Ok(client) => Some(Arc::new(client)),
        Err(e) => {
            tracing::info!(error = %e, "no Auth0 client: streams are not read");
            None
        }
    }
}

fn auth0_client(
    desired: &DesiredState,
    conn: &arm::Connection,
) -> Result<Auth0Client, SessionError> {
    let tenant = desired
        .stack
        .spec
        .auth0
        .as_ref()
        .map(|a| a.tenant_domain.clone());
    env_auth0_client(conn, tenant)
}

/// An Auth0 client from `AUTH0_*` (the tenant defaulting to `tenant`), or the emulator's.
fn env_auth0_client(
    conn: &arm::Connection,
    tenant: Option<String>,
) -> Result<Auth0Client, SessionError> {
    let env = |k: &str| match (k, &tenant) {
        ("AUTH0_DOMAIN", Some(t)) if std::env::var(k).is_err() => Some(t.clone()),
        _ => std::env::var(k).ok(),
    };
    Auth0Client::from_env(conn.http.clone(), &env, conn.emulator.as_ref()).map_err(|source| {
        SessionError::Auth0 {
            what: "cannot set up the Auth0 Management API client".into(),
            source: Box::new(source),
        }
    })
}

/// Plan options for `now` with a fresh random salt for new secret digests.
pub fn plan_options(now: chrono::DateTime<chrono::Utc>, refresh_secrets: bool) -> PlanOptions {
    let salt = uuid::Uuid::new_v4().simple().to_string();
    PlanOptions {
        now,
        salt: salt.get(..12).unwrap_or(&salt).to_string(),
        refresh_secrets,
        force_replace: Vec::new(),
    }
}
