//! `gridform drift`: for scheduled CI, report only out-of-band changes to resources this stack
//! owns (exit 2 when there is drift, 0 when there is none).

use crate::cli::args::{GlobalArgs, PathsArgs, PlanFormat};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::plan::ActionKind;

use super::session::make_plan;

/// Runs `drift` (with `--refresh-secrets` semantics: out-of-band key changes count).
pub fn run(args: &PathsArgs, global: &GlobalArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (desired, session, mut plan) = make_plan(&args.paths, global, printer, true)?;
    session.close()?;
    // Drift is a change to something that exists and is ours; creations are not drift.
    plan.actions.retain(|a| {
        matches!(
            a.kind,
            ActionKind::Update
                | ActionKind::Replace
                | ActionKind::Activate
                | ActionKind::Deactivate
                | ActionKind::Renew
        ) && a.target.id.is_some()
    });
    plan.unmanaged.clear();
    if plan.actions.is_empty() {
        printer.data(&format!(
            "No drift: the resources of stack `{}` match the manifests.\n",
            desired.stack.name
        ));
        return Ok(ExitStatus::Success);
    }
    printer.data(&super::plan::render(
        &plan,
        PlanFormat::Human,
        printer.color_stdout,
        &desired.secret_values,
    )?);
    Ok(ExitStatus::Changes)
}
