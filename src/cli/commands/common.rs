//! What the commands share: the context every command runs in (one runtime, the resolved
//! target, the printer, `--lock-timeout`), loading manifests with their diagnostics printed,
//! taking the stack lease for apply and destroy, and plan errors.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::validate::{paths_or_cwd, print_diagnostics, report};
use crate::cli::args::ReportFormat;
use crate::cli::exit::{ExitStatus, Hinted, UsageError};
use crate::cli::output::Printer;
use crate::manifest;
use crate::model::{DesiredState, ResourceKind};
use crate::plan::saved::{PlanInputs, SAVED_PLAN_MARKER};
use crate::plan::{Plan, PlanOptions};
use crate::session::lease::{LeaseError, LeaseSettings, Taken};
use crate::session::state_lock::StateLockError;
use crate::session::{Session, SessionError, Target};

/// Everything a command needs besides its own arguments.
pub struct Ctx<'a> {
    /// The one async runtime, built in `cli::main`.
    pub rt: &'a tokio::runtime::Runtime,
    /// What the command talks to.
    pub target: &'a Target,
    /// Where output goes.
    pub printer: &'a Printer,
    /// `--lock-timeout`.
    pub lock_timeout: std::time::Duration,
}

impl Ctx<'_> {
    /// Connects to the target for `desired`.
    pub fn open(&self, desired: &DesiredState) -> anyhow::Result<Session> {
        self.rt
            .block_on(Session::open(self.target, Some(desired)))
            .map_err(with_lock_hint)
    }

    /// Takes the stack lease for apply or destroy (waiting up to `--lock-timeout`); on failure
    /// the session is closed. A Ctrl-C before execution starts releases it and exits.
    pub fn take_lease(&self, session: &mut Session, desired: &DesiredState) -> anyhow::Result<()> {
        let settings = LeaseSettings::waiting(self.lock_timeout);
        match self.rt.block_on(session.take_lease(desired, settings)) {
            Ok(Taken::Held(releaser)) => {
                let mut interrupts = Interrupts::install(self.rt)?;
                self.rt.spawn(async move {
                    if interrupts.next().await
                        && !super::apply::EXECUTING.load(std::sync::atomic::Ordering::SeqCst)
                    {
                        let _ = releaser.release().await;
                        std::process::exit(i32::from(ExitStatus::Interrupted.code()));
                    }
                });
                Ok(())
            }
            Ok(Taken::Skipped(why)) => {
                self.printer
                    .status(&format!("{}: {why}", self.printer.warning_label()));
                Ok(())
            }
            Err(e) => Err(with_lock_hint(e)),
        }
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
        let template = crate::session::plan_options(chrono::Utc::now(), refresh_secrets);
        let made = self.plan_with(paths, PlanTime::Server(template), ReportFormat::Human)?;
        Ok((made.desired, made.session, made.plan))
    }

    /// Loads (recording the inputs), connects, reads the live state and plans at `time`;
    /// manifest problems are reported in `problems` format.
    pub fn plan_with(
        &self,
        paths: &[PathBuf],
        time: PlanTime,
        problems: ReportFormat,
    ) -> anyhow::Result<Planned> {
        self.plan_maybe_leased(paths, time, problems, false)
    }

    /// As [`Ctx::plan_with`], holding the stack lease from before the live state is read.
    pub fn plan_leased(&self, paths: &[PathBuf], time: PlanTime) -> anyhow::Result<Planned> {
        self.plan_maybe_leased(paths, time, ReportFormat::Human, true)
    }

    fn plan_maybe_leased(
        &self,
        paths: &[PathBuf],
        time: PlanTime,
        problems: ReportFormat,
        leased: bool,
    ) -> anyhow::Result<Planned> {
        let (desired, inputs) = load_pinned(paths, problems, self.printer)?;
        let (PlanTime::Server(o) | PlanTime::Pinned(o)) = &time;
        check_replace_targets(&desired, &o.force_replace)?;
        let mut session = self.open(&desired)?;
        if leased && let Err(e) = self.take_lease(&mut session, &desired) {
            let _ = self.close(session, std::time::Duration::ZERO);
            return Err(e);
        }
        let planned = match time {
            PlanTime::Server(template) => self
                .rt
                .block_on(session.plan_at_server_time(&desired, template)),
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

/// Ctrl-C, listened for from the moment this is made: the handler is installed synchronously,
/// not when a spawned task is first polled, so a Ctrl-C that arrives right after a progress
/// line is never lost (before the handler exists, SIGINT would kill the process unreported).
pub struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Installs the handler in `rt`'s context.
    pub fn install(rt: &tokio::runtime::Runtime) -> anyhow::Result<Self> {
        let _entered = rt.enter();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::interrupt())
                .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))?;
            Ok(Self { signal })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next Ctrl-C (false when no more can arrive).
    pub async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            self.signal.recv().await.is_some()
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

/// A session error, with a `hint:` when another run holds a lease or the emulator's state.
pub fn with_lock_hint(e: SessionError) -> anyhow::Error {
    let hint = match &e {
        SessionError::Lease(held) => match &**held {
            LeaseError::Held { stack, .. } => format!(
                "wait for that run to finish, or pass `--lock-timeout 10m` to wait for it; if it crashed, its lease expires by itself, or remove it now with `gridform unlock {stack}`"
            ),
            LeaseError::Arm { .. } => return e.into(),
        },
        SessionError::StateLock(StateLockError::Held { .. }) => "another gridform run uses the embedded emulator in this folder: wait for it to finish, or pass `--lock-timeout 5m` to wait for it".into(),
        _ => return e.into(),
    };
    Hinted {
        message: e.to_string(),
        hint,
    }
    .into()
}

/// The time (and options) a plan is made with.
pub enum PlanTime {
    /// The server's time (the `Date` of ARM's responses) replaces the template's `now`.
    Server(PlanOptions),
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
/// plans); diagnostics are reported in `problems` format, an error when any is invalid.
pub fn load_pinned(
    paths: &[PathBuf],
    problems: ReportFormat,
    printer: &Printer,
) -> anyhow::Result<(DesiredState, PlanInputs)> {
    let paths: Vec<PathBuf> = paths_or_cwd(paths)
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let (loaded, variables) = manifest::load_recording(&paths, &manifest::process_env);
    report(&loaded, problems, false, printer)?;
    let inputs = PlanInputs {
        paths,
        files: loaded.inputs,
        variables,
    };
    match loaded.state {
        Some(s) => {
            crate::model::secret::register(crate::model::secret::secrets_of(&s));
            Ok((s, inputs))
        }
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
    let desired = loaded
        .state
        .ok_or_else(|| invalid(loaded.diagnostics.len()))?;
    crate::model::secret::register(crate::model::secret::secrets_of(&desired));
    Ok(desired)
}

/// Every `--replace KIND/NAME` must name a document of the manifests (a usage error, exit 64,
/// with the closest name when one is near).
pub fn check_replace_targets(
    desired: &DesiredState,
    targets: &[(ResourceKind, String)],
) -> anyhow::Result<()> {
    for (kind, name) in targets {
        if desired.find(*kind, name).is_some() {
            continue;
        }
        let names: Vec<&str> = desired
            .resources
            .iter()
            .filter(|r| r.kind == *kind)
            .map(|r| r.name.as_str())
            .collect();
        let hint = match manifest::did_you_mean(name, &names) {
            Some(m) => format!("did you mean `--replace {kind}/{m}`?"),
            None if names.is_empty() => format!("the manifests declare no {kind}"),
            None => format!("the manifests declare {kind} {}", names.join(", ")),
        };
        bail!(UsageError {
            message: format!(
                "`--replace {kind}/{name}`: no {kind} named `{name}` in the manifests"
            ),
            hint,
        });
    }
    Ok(())
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// The handler exists as soon as `install` returns: a Ctrl-C sent before any task has run
    /// is caught, not fatal (the lazily registered `tokio::signal::ctrl_c()` in a spawned task
    /// let an early SIGINT kill the process).
    #[test]
    fn a_ctrl_c_right_after_install_is_caught() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut interrupts = Interrupts::install(&rt).unwrap();
        let sent = std::process::Command::new("kill")
            .args(["-INT", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        assert!(rt.block_on(interrupts.next()));
    }
}
