//! `gridform drift`: for scheduled CI, report only out-of-band changes to resources this stack
//! owns (exit 2 when there is drift, 0 when there is none).

use crate::cli::args::{PathsArgs, PlanFormat};
use crate::cli::exit::ExitStatus;

use super::common::Ctx;

/// Runs `drift` (with `--refresh-secrets` semantics: out-of-band key changes count).
pub fn run(args: &PathsArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let (desired, session, plan) = ctx.plan(&args.paths, true)?;
    ctx.close(session, std::time::Duration::ZERO)?;
    let drift = crate::plan::destroy::drift_only(plan);
    if drift.actions.is_empty() {
        ctx.printer.data(&format!(
            "No drift: the resources of stack `{}` match the manifests.\n",
            desired.stack.name
        ));
        return Ok(ExitStatus::Success);
    }
    ctx.printer.data(&super::plan::render(
        &drift,
        PlanFormat::Human,
        ctx.printer.color_stdout,
        &desired.secret_values,
    )?);
    Ok(ExitStatus::Changes)
}
