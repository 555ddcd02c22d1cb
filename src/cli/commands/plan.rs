//! `gridform plan`: what apply would change, in human, JSON or markdown form.

use crate::cli::args::{PlanArgs, PlanFormat, ReportFormat};
use crate::cli::exit::ExitStatus;
use crate::model::secret::scrub;
use crate::plan::saved::SavedPlan;
use crate::render::{self, RenderOptions};

use super::common::{Ctx, PlanTime, check_plan_errors};

/// Renders a plan in `format` (scrubbed of secret variable values).
pub fn render(
    plan: &crate::plan::Plan,
    format: PlanFormat,
    color: bool,
    secrets: &[crate::model::Sensitive<String>],
) -> anyhow::Result<String> {
    let mut out = Vec::new();
    write_rendered(plan, format, color, &mut out)?;
    Ok(scrub(&String::from_utf8_lossy(&out), secrets))
}

/// Renders a plan in `format` into `out` (not scrubbed: `out` must scrub).
fn write_rendered(
    plan: &crate::plan::Plan,
    format: PlanFormat,
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        PlanFormat::Human => render::human::write_plan(plan, &RenderOptions { color }, out),
        PlanFormat::Json => render::json::write_plan(plan, out),
        PlanFormat::Markdown => render::markdown::write_plan(plan, out),
    }
}

/// Runs `plan`.
pub fn run(args: &PlanArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let printer = ctx.printer;
    let mut template = crate::session::plan_options(chrono::Utc::now(), args.refresh_secrets);
    template.force_replace = args.replace.clone();
    let problems = match args.format {
        PlanFormat::Json => ReportFormat::Json,
        PlanFormat::Human | PlanFormat::Markdown => ReportFormat::Human,
    };
    let made = ctx.plan_with(&args.paths, PlanTime::Server(template), problems)?;
    let options = &made.options;
    let (desired, plan) = (&made.desired, &made.plan);
    ctx.close(made.session, std::time::Duration::ZERO)?;
    // Streamed through the scrubber: a 10k-document plan's text is never held whole.
    let mut stdout = printer.data_stream(&desired.secret_values);
    write_rendered(plan, args.format, printer.color_stdout, &mut stdout)?;
    stdout.finish();
    check_plan_errors(plan)?;
    if let Some(out) = &args.out {
        let shown = crate::render::json::plan_value(plan);
        let saved = SavedPlan::record(plan, shown, &made.inputs, options);
        let text = scrub(
            &serde_json::to_string_pretty(&saved)?,
            &desired.secret_values,
        );
        std::fs::write(out, text + "\n")
            .map_err(|e| anyhow::anyhow!("cannot write the plan to `{}`: {e}", out.display()))?;
        if !printer.quiet {
            printer.status(&format!(
                "saved the plan to `{}`; apply it with `gridform apply {}`",
                out.display(),
                out.display()
            ));
        }
    }
    let status = if args.detailed_exitcode && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    };
    // The process ends right after this: freeing the plan and the manifests piece by piece
    // cost a tenth of a 10k plan's CPU. Nothing in them flushes or unlocks when dropped (the
    // session, which holds the state lock, was closed above).
    std::mem::forget((made.desired, made.plan, made.inputs));
    Ok(status)
}
