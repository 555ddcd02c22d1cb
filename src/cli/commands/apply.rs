//! `gridform apply` (plan, confirm, execute) and `gridform apply FILE` (a saved plan).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::apply::{ApplyEvent, ApplyOptions, ApplyReport, Outcome, execute};
use crate::cli::args::{ApplyArgs, PlanFormat};
use crate::cli::exit::{ExitStatus, Hinted, UsageError};
use crate::cli::output::Printer;
use crate::model::secret::scrub;
use crate::plan::Plan;
use crate::plan::saved::SavedPlan;
use crate::render;

use super::common::{Ctx, Interrupts, PlanTime, check_plan_errors, is_saved_plan};
use crate::session::Session;

/// Set while a plan executes: Ctrl-C then stops the run gracefully (which releases the lease)
/// instead of releasing the lease and exiting at once.
pub static EXECUTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks on a TTY; refuses without one.
pub fn confirm(printer: &Printer, question: &str, auto_approve: bool) -> anyhow::Result<bool> {
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Hinted {
            message: "refusing to change anything without confirmation: stdin is not a terminal".into(),
            hint: "pass `--auto-approve`, or apply a saved plan: `gridform plan --out plan.json` then `gridform apply plan.json`".into(),
        }
        .into());
    }
    printer.status(&format!("{question} Only `yes` is accepted:"));
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Executes `plan`, printing one line per finished action, and the summary on stdout.
pub fn execute_plan(
    ctx: &Ctx,
    session: &Session,
    plan: &Plan,
    parallelism: usize,
    label: &str,
    secrets: &[crate::model::Sensitive<String>],
) -> anyhow::Result<ExitStatus> {
    let printer = ctx.printer;
    EXECUTING.store(true, std::sync::atomic::Ordering::SeqCst);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let stopper = stop_tx.clone();
    let mut interrupts = Interrupts::install(ctx.rt)?;
    ctx.rt.spawn(async move {
        if interrupts.next().await {
            let _ = stopper.send(true);
            // A second Ctrl-C aborts at once.
            if interrupts.next().await {
                std::process::exit(i32::from(ExitStatus::Interrupted.code()));
            }
        }
    });
    let opts = ApplyOptions {
        parallelism,
        poll_interval: poll_interval(),
        ..Default::default()
    };
    // The first Ctrl-C also ends long-running-operation polling inside the ARM client.
    let mut remote = session.remote.clone();
    remote.arm = remote.arm.with_stop(stop_rx.clone());
    let remote = Arc::new(remote);
    let progress = crate::cli::progress::Progress::new(plan.actions.len(), printer);
    // Partner topic names as they become known, so lines name them instead of "(known after
    // apply)".
    let mut learned = BTreeMap::new();
    let report: ApplyReport = ctx
        .rt
        .block_on(execute(plan, remote, &opts, stop_rx, |event| match event {
            ApplyEvent::Started(index) => {
                let what = render::address_known(&plan.actions[*index], &learned);
                progress.started(&scrub(&what, secrets))
            }
            ApplyEvent::Learned {
                stream,
                partner_topic,
            } => {
                learned.insert(stream.clone(), partner_topic.clone());
                let line =
                    format!("the partner of Auth0 stream `{stream}` created `{partner_topic}`");
                progress.note(&scrub(&line, secrets));
            }
            ApplyEvent::Finished {
                index,
                outcome,
                elapsed,
            } => {
                let a = &plan.actions[*index];
                let line = finished_line(a, outcome, *elapsed, &learned, printer);
                progress.finished(&scrub(&line, secrets));
            }
        }));
    progress.done();
    drop(stop_tx);
    summarize(plan, &report, printer, label, secrets)
}

/// The progress line of a finished action, naming what became known during the run.
fn finished_line(
    a: &crate::plan::Action,
    outcome: &Outcome,
    elapsed: Duration,
    learned: &BTreeMap<String, String>,
    printer: &Printer,
) -> String {
    let (_, verb) = render::symbol(a.kind);
    let address = render::address_known(a, learned);
    match outcome {
        Outcome::Succeeded => format!("{verb} {address} ({:.1}s)", elapsed.as_secs_f64()),
        Outcome::Failed(f) => format!("{}: {verb} {address}: {}", printer.error_label(), f.message),
        Outcome::Skipped {
            blocked_by: Some(b),
        } => format!(
            "skipped {verb} {address} (blocked by the failure of action {})",
            b + 1
        ),
        Outcome::Skipped { blocked_by: None } => {
            format!("skipped {verb} {address} (interrupted)")
        }
    }
}

/// How often domain waits poll: 2 s, or `GRIDFORM_POLL_MS` (tests against the emulator).
fn poll_interval() -> Duration {
    std::env::var("GRIDFORM_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(2))
}

fn summarize(
    plan: &Plan,
    report: &ApplyReport,
    printer: &Printer,
    label: &str,
    secrets: &[crate::model::Sensitive<String>],
) -> anyhow::Result<ExitStatus> {
    let count = |f: &dyn Fn(&Outcome) -> bool| report.outcomes.iter().filter(|o| f(o)).count();
    let ok = count(&|o| *o == Outcome::Succeeded);
    let failed = count(&|o| matches!(o, Outcome::Failed(_)));
    let skipped = count(&|o| matches!(o, Outcome::Skipped { .. }));
    let mut text = format!("{label}: {ok} succeeded, {failed} failed, {skipped} skipped.\n");
    for (i, o) in report.outcomes.iter().enumerate() {
        if let Outcome::Failed(f) = o {
            text.push_str(&format!(
                "  failed: {}: {}\n",
                render::address_known(&plan.actions[i], &report.partner_topics),
                f.message
            ));
            if let Some(h) = &f.hint {
                text.push_str(&format!("    hint: {h}\n"));
            }
        }
    }
    printer.data(&scrub(&text, secrets));
    if report.interrupted {
        return Ok(ExitStatus::Interrupted);
    }
    if failed > 0 || skipped > 0 {
        anyhow::bail!(
            "{failed} action(s) failed and {skipped} were skipped; run `gridform apply` again once the cause is fixed (it is safe to re-run)"
        );
    }
    Ok(ExitStatus::Success)
}

/// Runs `apply`.
pub fn run(args: &ApplyArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let printer = ctx.printer;
    if args.paths.len() == 1 && is_saved_plan(&args.paths[0]) {
        if !args.replace.is_empty() {
            return Err(UsageError {
                message: "`--replace` cannot change a saved plan".into(),
                hint: "a saved plan applies the replacements it was made with: pass `--replace` to `gridform plan --out FILE`".into(),
            }
            .into());
        }
        return apply_saved(&args.paths[0], args, ctx);
    }
    let mut options = crate::session::plan_options(chrono::Utc::now(), false);
    options.force_replace = args.replace.clone();
    let made = ctx.plan_leased(&args.paths, PlanTime::Server(options))?;
    let (desired, session, plan) = (made.desired, made.session, made.plan);
    // The plan about to be executed goes to stdout first, as in Terraform: a CI log shows
    // what was applied even with --auto-approve.
    printer.data(&super::plan::render(
        &plan,
        PlanFormat::Human,
        printer.color_stdout,
        &desired.secret_values,
    )?);
    if let Err(e) = check_plan_errors(&plan) {
        ctx.close(session, Duration::ZERO)?;
        return Err(e);
    }
    if !plan.has_changes() {
        ctx.close(session, Duration::ZERO)?;
        return Ok(ExitStatus::Success);
    }
    if !confirm(printer, "Apply these changes?", args.auto_approve)? {
        ctx.close(session, Duration::ZERO)?;
        anyhow::bail!("apply cancelled");
    }
    let status = execute_plan(
        ctx,
        &session,
        &plan,
        args.parallelism,
        "Apply",
        &desired.secret_values,
    );
    ctx.close(session, Duration::ZERO)?;
    status
}

fn apply_saved(file: &PathBuf, args: &ApplyArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the saved plan `{}`", file.display()))?;
    let saved = SavedPlan::parse(&text).map_err(|e| Hinted {
        message: format!("`{}`: {e}", file.display()),
        hint: "make a new plan with `gridform plan --out FILE`".into(),
    })?;
    let made = ctx.plan_leased(&saved.paths, PlanTime::Pinned(saved.options()))?;
    let shown = crate::render::json::plan_value(&made.plan);
    let fresh = SavedPlan::record(&made.plan, shown, &made.inputs, &saved.options());
    let differences = saved.differences(&fresh);
    if !differences.is_empty() {
        ctx.close(made.session, Duration::ZERO)?;
        return Err(Hinted {
            message: format!(
                "refusing to apply `{}`: it is not what would be applied now:\n  - {}",
                file.display(),
                differences.join("\n  - ")
            ),
            hint: "make a new plan with `gridform plan --out FILE` and review it".into(),
        }
        .into());
    }
    let (desired, session, plan) = (made.desired, made.session, made.plan);
    if let Err(e) = check_plan_errors(&plan) {
        ctx.close(session, Duration::ZERO)?;
        return Err(e);
    }
    let status = execute_plan(
        ctx,
        &session,
        &plan,
        args.parallelism,
        "Apply",
        &desired.secret_values,
    );
    ctx.close(session, Duration::ZERO)?;
    status
}
