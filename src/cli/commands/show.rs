//! `gridform show FILE` renders a saved plan (as `plan` would); `gridform show [PATH...]` lists
//! the stack's live resources with the values the next job needs (`plan::inventory`).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;

use super::common::{Ctx, is_saved_plan, load};
use crate::cli::args::{PlanFormat, ShowArgs};
use crate::cli::exit::{ExitStatus, Hinted};
use crate::plan::inventory::{InventoryItem, inventory};
use crate::plan::saved::SavedPlan;

/// Runs `show`.
pub fn run(args: &ShowArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    if let [file] = args.paths.as_slice()
        && is_saved_plan(file)
    {
        return show_saved(file, args.format, ctx);
    }
    let desired = load(&args.paths, ctx.printer)?;
    let session = ctx.open(&desired)?;
    let live = ctx.rt.block_on(session.read_live(&desired, false));
    ctx.close(session, Duration::ZERO)?;
    let items = inventory(&desired, &live?);
    let text = match args.format {
        PlanFormat::Json => {
            let doc = serde_json::json!({"format_version": "1.0", "stack": desired.stack.name, "resources": items});
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        PlanFormat::Human => human(&desired.stack.name, &items),
        PlanFormat::Markdown => {
            return Err(Hinted {
                message: "`show --format markdown` is for saved plans".into(),
                hint: "use `--format human` or `--format json` for live resources".into(),
            }
            .into());
        }
    };
    ctx.printer
        .data(&crate::model::secret::scrub(&text, &desired.secret_values));
    Ok(ExitStatus::Success)
}

fn show_saved(file: &std::path::Path, format: PlanFormat, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let saved = SavedPlan::parse(&text).with_context(|| format!("`{}`", file.display()))?;
    if format == PlanFormat::Json {
        ctx.printer
            .data(&(serde_json::to_string_pretty(&saved.plan)? + "\n"));
        return Ok(ExitStatus::Success);
    }
    let plan = crate::render::json::read_plan(&saved.plan)
        .map_err(|e| anyhow::anyhow!("`{}` holds no readable plan: {e}", file.display()))?;
    let color = ctx.printer.color_stdout;
    ctx.printer
        .data(&super::plan::render(&plan, format, color, &[])?);
    Ok(ExitStatus::Success)
}

fn human(stack: &str, items: &[InventoryItem]) -> String {
    let mut out = format!("Live resources of stack `{stack}`:\n");
    for item in items {
        let id = item.id.as_deref().unwrap_or("(not known yet)");
        let state = if item.exists {
            ""
        } else {
            "  (does not exist)"
        };
        let _ = writeln!(out, "  {} `{}`: {id}{state}", item.kind, item.name);
        for (k, v) in &item.values {
            let shown = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = writeln!(out, "      {k} = {shown}");
        }
    }
    out
}
