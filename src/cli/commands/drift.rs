//! `gridform drift`: for scheduled CI, report every difference `plan` would act on or refuse
//! over (Auth0 streams and plan errors included) in human, JSON or markdown form; exit 2 when
//! there is drift, 0 when there is none. What counts is `plan::destroy::drift_only`'s.

use crate::cli::args::{DriftArgs, PlanFormat};
use crate::cli::exit::ExitStatus;
use crate::plan::destroy::{drift_only, has_drift};

use super::common::Ctx;

/// Runs `drift` (with `--refresh-secrets` semantics: out-of-band key changes count).
pub fn run(args: &DriftArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let (desired, session, plan) = ctx.plan(&args.paths, true)?;
    ctx.close(session, std::time::Duration::ZERO)?;
    let drift = drift_only(plan);
    let found = has_drift(&drift);
    if !found && args.format == PlanFormat::Human {
        ctx.printer.data(&format!(
            "No drift: the resources of stack `{}` match the manifests.\n",
            desired.stack.name
        ));
        return Ok(ExitStatus::Success);
    }
    ctx.printer.data(&super::plan::render(
        &drift,
        args.format,
        ctx.printer.color_stdout,
        &desired.secret_values,
    )?);
    Ok(if found {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
