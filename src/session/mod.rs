//! Where a command's remote work starts: the [`Target`] the settings resolved to (Azure, a
//! running emulator, or the embedded one), a [`Session`] connected to it, and the one way of
//! reading the live state a plan is made from ([`Session::read_live`]) and of making a plan.
//!
//! It owns connecting and the order of reads; it talks HTTP only through `arm` and `auth0`,
//! starts the embedded emulator (the only emulator code it touches) and never prints.

mod live;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use live::{read_live, scope_of};

use crate::apply::remote::Remote;
use crate::arm::{self, ArmError, AuthMethod, AzureCloud, ConnectSettings};
use crate::auth0::{Auth0ApiError, Auth0Client};
use crate::model::live::LiveState;
use crate::model::{DesiredState, ResourceKind};
use crate::plan::{Plan, PlanOptions, plan};

/// Where the embedded emulator keeps its world between commands.
pub const EMBEDDED_STATE: &str = ".gridform/emulator.json";

/// What the commands talk to, resolved once from the command line.
#[derive(Debug, Clone)]
pub enum Target {
    /// Azure Resource Manager (the cloud's endpoint, or `--endpoint`).
    Azure(AzureSettings),
    /// A running emulator at this base URL (`--emulator-url`).
    EmulatorUrl(String),
    /// The embedded emulator, its state kept in this file (`--emulator`).
    Embedded(PathBuf),
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
}

/// A connection to ARM (and Auth0 when the manifests have log streams).
pub struct Session {
    /// ARM and Auth0.
    pub remote: Remote,
    /// The emulator's base URL, when the target is one (for its data plane and controls).
    pub emulator_base: Option<String>,
    embedded: Option<(crate::emulator::Running, PathBuf)>,
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
    /// Connects to `target`; an Auth0 client is set up when `desired` has log streams.
    pub async fn open(
        target: &Target,
        desired: Option<&DesiredState>,
    ) -> Result<Self, SessionError> {
        let mut embedded = None;
        let (settings, emulator_base) = match target {
            Target::Azure(s) => (s.clone(), None),
            Target::EmulatorUrl(url) => (
                AzureSettings::default(),
                Some(url.trim_end_matches('/').to_string()),
            ),
            Target::Embedded(state) => {
                let running = start_embedded(state).await?;
                let base = running.base_url.clone();
                embedded = Some((running, state.clone()));
                (AzureSettings::default(), Some(base))
            }
        };
        let conn = arm::connect(ConnectSettings {
            endpoint: settings.endpoint,
            cloud: settings.cloud,
            auth: settings.auth,
            emulator_url: emulator_base.clone(),
            ..Default::default()
        })
        .map_err(|source| SessionError::Arm {
            what: "cannot connect to Azure Resource Manager".into(),
            source: Box::new(source),
        })?;
        let auth0 = match desired {
            Some(d)
                if d.resources
                    .iter()
                    .any(|r| r.kind == ResourceKind::Auth0LogStream) =>
            {
                Some(Arc::new(auth0_client(d, &conn)?))
            }
            _ => None,
        };
        Ok(Self {
            remote: Remote {
                arm: conn.arm,
                auth0,
            },
            emulator_base,
            embedded,
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

    /// Reads the live state and plans `desired` at the server's time: the `Date` of ARM's
    /// responses (on Azure the clock that matters, on the emulator its own clock), or the
    /// local clock when no response carried one. Returns the options used (a saved plan pins
    /// them).
    pub async fn plan_at_server_time(
        &self,
        desired: &DesiredState,
        refresh_secrets: bool,
    ) -> Result<(Plan, PlanOptions), SessionError> {
        let live = self.read_live(desired, refresh_secrets).await?;
        let now = self.server_now().unwrap_or_else(chrono::Utc::now);
        let options = plan_options(now, refresh_secrets);
        Ok((plan(desired, &live, &options), options))
    }

    /// The server's time, as far as ARM's responses told it.
    pub fn server_now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.remote.arm.server_now()
    }

    /// Stops the embedded emulator (flushing its state) after letting it finish queued
    /// deliveries for up to `drain`; what is left stays queued in its state for next time.
    pub async fn close(mut self, drain: Duration) -> Result<(), SessionError> {
        if let Some((running, state)) = self.embedded.take() {
            running
                .shutdown_after_deliveries(drain)
                .await
                .map_err(|e| embedded_error(&state, e))?;
        }
        Ok(())
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
    }
}
