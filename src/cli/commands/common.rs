//! What the commands share: the context every command runs in (one runtime, the resolved
//! target, the printer), loading manifests with their diagnostics printed, and plan errors.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::validate::{paths_or_cwd, print_diagnostics};
use crate::cli::exit::Hinted;
use crate::cli::output::Printer;
use crate::manifest;
use crate::model::DesiredState;
use crate::plan::Plan;
use crate::session::{Session, Target};

/// Everything a command needs besides its own arguments.
pub struct Ctx<'a> {
    /// The one async runtime, built in `cli::main`.
    pub rt: &'a tokio::runtime::Runtime,
    /// What the command talks to.
    pub target: &'a Target,
    /// Where output goes.
    pub printer: &'a Printer,
}

impl Ctx<'_> {
    /// Connects to the target for `desired`.
    pub fn open(&self, desired: &DesiredState) -> anyhow::Result<Session> {
        Ok(self
            .rt
            .block_on(Session::open(self.target, Some(desired)))?)
    }

    /// Closes `session`, letting the embedded emulator deliver for up to `drain`.
    pub fn close(&self, session: Session, drain: std::time::Duration) -> anyhow::Result<()> {
        Ok(self.rt.block_on(session.close(drain))?)
    }

    /// Loads, connects, reads the live state and plans (the clock read here: time is an input).
    pub fn plan(
        &self,
        paths: &[PathBuf],
        refresh_secrets: bool,
    ) -> anyhow::Result<(DesiredState, Session, Plan)> {
        let desired = load(paths, self.printer)?;
        let session = self.open(&desired)?;
        let options = crate::session::plan_options(chrono::Utc::now(), refresh_secrets);
        let made = self.rt.block_on(session.plan(&desired, &options));
        match made {
            Ok(p) => Ok((desired, session, p)),
            Err(e) => {
                let _ = self.close(session, std::time::Duration::ZERO);
                Err(e.into())
            }
        }
    }
}

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

/// Fails with the plan's errors, if any.
pub fn check_plan_errors(p: &Plan) -> anyhow::Result<()> {
    if let Some(first) = p.errors.first() {
        let hint = match first.hint.as_deref() {
            Some(h) if !h.is_empty() => h.to_string(),
            _ => "see the errors listed above".into(),
        };
        bail!(Hinted {
            message: format!(
                "the plan has {} error(s); first: {}: {}",
                p.errors.len(),
                first.target,
                first.message
            ),
            hint,
        });
    }
    Ok(())
}

/// Whether `path` looks like a saved plan rather than a manifest path.
pub fn is_saved_plan(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "json" || e == "plan")
}
