//! What the commands share: the context every command runs in (one runtime, the resolved
//! target, the printer), loading manifests with their diagnostics printed, and plan errors.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::validate::{paths_or_cwd, print_diagnostics};
use crate::cli::exit::Hinted;
use crate::cli::output::Printer;
use crate::manifest;
use crate::model::DesiredState;
use crate::plan::saved::{PlanInputs, SAVED_PLAN_MARKER};
use crate::plan::{Plan, PlanOptions};
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

    /// Loads, connects, reads the live state and plans at the server's time.
    pub fn plan(
        &self,
        paths: &[PathBuf],
        refresh_secrets: bool,
    ) -> anyhow::Result<(DesiredState, Session, Plan)> {
        let made = self.plan_with(paths, PlanTime::Server { refresh_secrets })?;
        Ok((made.desired, made.session, made.plan))
    }

    /// Loads (recording the inputs), connects, reads the live state and plans at `time`.
    pub fn plan_with(&self, paths: &[PathBuf], time: PlanTime) -> anyhow::Result<Planned> {
        let (desired, inputs) = load_pinned(paths, self.printer)?;
        let session = self.open(&desired)?;
        let planned = match time {
            PlanTime::Server { refresh_secrets } => self
                .rt
                .block_on(session.plan_at_server_time(&desired, refresh_secrets)),
            PlanTime::Pinned(options) => self
                .rt
                .block_on(session.plan(&desired, &options))
                .map(|p| (p, options)),
        };
        match planned {
            Ok((plan, options)) => Ok(Planned {
                desired,
                session,
                plan,
                inputs,
                options,
            }),
            Err(e) => {
                let _ = self.close(session, std::time::Duration::ZERO);
                Err(e.into())
            }
        }
    }
}

/// The time (and options) a plan is made with.
pub enum PlanTime {
    /// The server's time (the `Date` of ARM's responses), a fresh salt.
    Server {
        /// Whether to read full webhook URLs and delivery attributes.
        refresh_secrets: bool,
    },
    /// Exactly these options (a saved plan re-made with its time and salt).
    Pinned(PlanOptions),
}

/// A plan with what it was made from.
pub struct Planned {
    /// The manifests.
    pub desired: DesiredState,
    /// The open session (close it).
    pub session: Session,
    /// The plan.
    pub plan: Plan,
    /// The files and variables read.
    pub inputs: PlanInputs,
    /// The options (time, salt) it was made with.
    pub options: PlanOptions,
}

/// Loads manifests from absolute paths, recording the files and variables read (for saved
/// plans); diagnostics are printed, an error when any is invalid.
pub fn load_pinned(
    paths: &[PathBuf],
    printer: &Printer,
) -> anyhow::Result<(DesiredState, PlanInputs)> {
    let paths: Vec<PathBuf> = paths_or_cwd(paths)
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let (loaded, variables) = manifest::load_recording(&paths, &manifest::process_env);
    print_diagnostics(&loaded.diagnostics, printer);
    let inputs = PlanInputs {
        paths,
        files: loaded.inputs,
        variables,
    };
    match loaded.state {
        Some(s) => Ok((s, inputs)),
        None => Err(invalid(loaded.diagnostics.len())),
    }
}

fn invalid(problems: usize) -> anyhow::Error {
    Hinted {
        message: format!("the manifests have {problems} problem(s)"),
        hint: "fix the problems above; `gridform validate` checks manifests offline".into(),
    }
    .into()
}

/// Loads manifests, printing diagnostics; an error when any is invalid.
pub fn load(paths: &[PathBuf], printer: &Printer) -> anyhow::Result<DesiredState> {
    let paths = paths_or_cwd(paths);
    let loaded = manifest::load(&paths, &manifest::process_env);
    print_diagnostics(&loaded.diagnostics, printer);
    loaded
        .state
        .ok_or_else(|| invalid(loaded.diagnostics.len()))
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

/// Whether `path` is a saved plan, whatever its name: a file whose text starts as one does
/// (`{` and the saved-plan marker, or the old format's keys, within the first kilobyte).
pub fn is_saved_plan(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::new();
    if file.take(1024).read_to_end(&mut head).is_err() {
        return false;
    }
    let head = String::from_utf8_lossy(&head);
    head.trim_start().starts_with('{')
        && (head.contains(SAVED_PLAN_MARKER) || head.contains("\"format_version\""))
}
