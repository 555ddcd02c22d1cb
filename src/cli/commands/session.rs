//! What `plan`, `apply`, `destroy` and `drift` share: load the manifests, connect (Azure, a
//! running emulator, or the embedded one), read the live state, make the plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::Value;

use super::validate::{paths_or_cwd, print_diagnostics};
use crate::apply::remote::Remote;
use crate::arm::{self, ArmApi, AuthMethod as ArmAuth, AzureCloud, ConnectSettings, LiveScope};
use crate::auth0::Auth0Client;
use crate::cli::args::{AuthMethod, Cloud, GlobalArgs};
use crate::cli::exit::Hinted;
use crate::cli::output::Printer;
use crate::manifest;
use crate::model::live::LiveState;
use crate::model::spec::{DeliveryAttributeMapping, Destination};
use crate::model::{DesiredState, ResourceId, ResourceKind, ResourceSpec};
use crate::plan::{Plan, PlanOptions, plan};

/// Where the embedded emulator keeps its world between commands.
pub const EMBEDDED_STATE: &str = ".gridform/emulator.json";

/// Loads manifests, printing diagnostics; an error when any is invalid.
pub fn load(paths: &[PathBuf], printer: &Printer) -> anyhow::Result<DesiredState> {
    let paths = paths_or_cwd(paths);
    let loaded = manifest::load(&paths, &manifest::process_env);
    print_diagnostics(&loaded.diagnostics, printer);
    match loaded.state {
        Some(s) => Ok(s),
        None => Err(Hinted {
            message: format!("the manifests have {} problem(s)", loaded.diagnostics.len()),
            hint: "fix the problems above; `gridform validate` checks manifests offline".into(),
        }
        .into()),
    }
}

/// A connection to ARM (and Auth0), with its runtime.
pub struct Session {
    /// The runtime every command runs on.
    pub rt: tokio::runtime::Runtime,
    /// ARM and Auth0.
    pub remote: Remote,
    embedded: Option<crate::emulator::Running>,
}

fn arm_settings(global: &GlobalArgs, emulator_url: Option<String>) -> ConnectSettings {
    ConnectSettings {
        endpoint: global.endpoint.clone(),
        cloud: match global.cloud {
            Cloud::AzureCloud => AzureCloud::Public,
            Cloud::AzureUSGovernment => AzureCloud::UsGovernment,
            Cloud::AzureChinaCloud => AzureCloud::China,
        },
        auth: match global.auth {
            AuthMethod::Auto => ArmAuth::Auto,
            AuthMethod::Cli => ArmAuth::Cli,
            AuthMethod::ClientSecret => ArmAuth::ClientSecret,
            AuthMethod::WorkloadIdentity => ArmAuth::WorkloadIdentity,
            AuthMethod::ManagedIdentity => ArmAuth::ManagedIdentity,
        },
        emulator_url,
        ..Default::default()
    }
}

impl Session {
    /// Connects according to the global flags.
    pub fn open(global: &GlobalArgs, desired: &DesiredState) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let mut embedded = None;
        let emulator_url = if global.emulator {
            let state = PathBuf::from(EMBEDDED_STATE);
            if let Some(dir) = state.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create `{}`", dir.display()))?;
            }
            let config = crate::emulator::Config {
                state_file: Some(state),
                ..Default::default()
            };
            let running = rt
                .block_on(crate::emulator::spawn_local(config))
                .context("cannot start the embedded emulator")?;
            let url = running.base_url.clone();
            embedded = Some(running);
            Some(url)
        } else {
            global.emulator_url.clone()
        };
        let conn = arm::connect(arm_settings(global, emulator_url))
            .context("cannot connect to Azure Resource Manager")?;
        let needs_auth0 = desired
            .resources
            .iter()
            .any(|r| r.kind == ResourceKind::Auth0LogStream);
        let auth0 = if needs_auth0 {
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
            let client = Auth0Client::from_env(conn.http.clone(), &env, conn.emulator.as_ref())
                .context("cannot set up the Auth0 Management API client")?;
            Some(Arc::new(client))
        } else {
            None
        };
        Ok(Self {
            rt,
            remote: Remote {
                arm: conn.arm,
                auth0,
            },
            embedded,
        })
    }

    /// Reads everything the desired state touches.
    pub fn read_live(
        &self,
        desired: &DesiredState,
        refresh_secrets: bool,
    ) -> anyhow::Result<LiveState> {
        let scope = scope_of(desired);
        let arm = &self.remote.arm;
        let mut live = self
            .rt
            .block_on(arm::read_live(arm, &scope))
            .context("cannot read the live state from ARM")?
            .into_model();
        if let Some(auth0) = &self.remote.auth0 {
            let streams = self
                .rt
                .block_on(auth0.list_log_streams())
                .context("cannot list Auth0 log streams")?;
            let wanted: Vec<&str> = desired
                .resources
                .iter()
                .filter(|r| r.kind == ResourceKind::Auth0LogStream)
                .map(|r| r.name.as_str())
                .collect();
            for s in streams {
                if wanted.contains(&s.name.as_str()) {
                    if let Ok(v) = serde_json::to_value(&s) {
                        live.auth0_streams.insert(s.name.clone(), v);
                    }
                }
            }
        }
        if refresh_secrets {
            self.refresh_secrets(desired, &mut live)?;
        }
        Ok(live)
    }

    fn refresh_secrets(&self, desired: &DesiredState, live: &mut LiveState) -> anyhow::Result<()> {
        for r in &desired.resources {
            let (Some(id), ResourceSpec::EventSubscription(s)) = (&r.id, &r.spec) else {
                continue;
            };
            if !live.resources.contains_key(id) {
                continue;
            }
            let Some(Destination::WebHook {
                endpoint_url,
                delivery_attribute_mappings,
                ..
            }) = &s.destination
            else {
                continue;
            };
            let arm = &self.remote.arm;
            if endpoint_url.has_query() {
                let url = self
                    .rt
                    .block_on(arm::typed::get_full_url(arm, id))
                    .with_context(|| format!("cannot read the full URL of `{id}`"))?;
                live.full_urls.insert(id.clone(), url.expose().to_string());
            }
            if delivery_attribute_mappings.iter().any(|m| {
                matches!(
                    m,
                    DeliveryAttributeMapping::Static {
                        is_secret: true,
                        ..
                    }
                )
            }) {
                let attrs = self
                    .rt
                    .block_on(arm.post_action(id, "getDeliveryAttributes", None))
                    .with_context(|| format!("cannot read the delivery attributes of `{id}`"))?;
                live.delivery_attributes
                    .insert(id.clone(), attrs.unwrap_or(Value::Null));
            }
        }
        let counts = self.remote.arm.request_counts();
        live.requests.writes = counts.writes;
        Ok(())
    }

    /// Stops the embedded emulator (flushing its state).
    pub fn close(mut self) -> anyhow::Result<()> {
        if let Some(running) = self.embedded.take() {
            self.rt
                .block_on(running.shutdown())
                .context("cannot stop the embedded emulator")?;
        }
        Ok(())
    }
}

/// The containers the desired state touches.
pub fn scope_of(desired: &DesiredState) -> LiveScope {
    let mut groups: Vec<String> = Vec::new();
    let mut extra: Vec<ResourceId> = Vec::new();
    for r in &desired.resources {
        if let Some(g) = &r.resource_group {
            if !groups.iter().any(|x| x.eq_ignore_ascii_case(g)) {
                groups.push(g.clone());
            }
        }
        if let ResourceSpec::EventSubscription(s) = &r.spec {
            if let Some(scope) = s.scope.as_deref().and_then(|s| ResourceId::parse(s).ok()) {
                if !extra.contains(&scope) {
                    extra.push(scope);
                }
            }
        }
    }
    let mut providers: Vec<String> = desired
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::ProviderRegistration)
        .map(|r| r.name.clone())
        .collect();
    if !providers
        .iter()
        .any(|p| p.eq_ignore_ascii_case("Microsoft.EventGrid"))
    {
        providers.push("Microsoft.EventGrid".into());
    }
    LiveScope {
        subscription_id: desired.stack.spec.subscription_id.clone(),
        providers,
        resource_groups: groups,
        extra_scopes: extra,
    }
}

/// Plan options for now: the clock, and a fresh random salt for new secret digests.
pub fn plan_options(refresh_secrets: bool) -> PlanOptions {
    PlanOptions {
        now: chrono::Utc::now(),
        salt: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
        refresh_secrets,
    }
}

/// Loads, connects, reads and plans.
pub fn make_plan(
    paths: &[PathBuf],
    global: &GlobalArgs,
    printer: &Printer,
    refresh_secrets: bool,
) -> anyhow::Result<(DesiredState, Session, Plan)> {
    let desired = load(paths, printer)?;
    let session = Session::open(global, &desired)?;
    let live = session.read_live(&desired, refresh_secrets)?;
    let p = plan(&desired, &live, &plan_options(refresh_secrets));
    Ok((desired, session, p))
}

/// Fails with the plan's errors, if any.
pub fn check_plan_errors(p: &Plan) -> anyhow::Result<()> {
    if let Some(first) = p.errors.first() {
        let mut e = Hinted {
            message: format!(
                "the plan has {} error(s); first: {}: {}",
                p.errors.len(),
                first.target,
                first.message
            ),
            hint: first
                .hint
                .clone()
                .unwrap_or_else(|| "see the errors listed above".into()),
        };
        if e.hint.is_empty() {
            e.hint = "see the errors above".into();
        }
        bail!(e);
    }
    Ok(())
}

/// Whether `path` looks like a saved plan rather than a manifest path.
pub fn is_saved_plan(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "json" || e == "plan")
}
