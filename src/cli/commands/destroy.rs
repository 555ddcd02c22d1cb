//! `gridform destroy`: delete everything this stack owns, in reverse dependency order, never an
//! unmanaged or protected resource (the plan comes from `plan::destroy`); says what it kept.

use std::time::Duration;

use crate::cli::args::{DestroyArgs, PlanFormat};
use crate::cli::exit::ExitStatus;

use super::apply::{confirm, execute_plan};
use super::common::{Ctx, check_plan_errors, load};

/// Runs `destroy`.
pub fn run(args: &DestroyArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let printer = ctx.printer;
    let desired = load(&args.paths, printer)?;
    let mut session = ctx.open(&desired)?;
    if let Err(e) = ctx.take_lease(&mut session, &desired) {
        ctx.close(session, Duration::ZERO)?;
        return Err(e);
    }
    let options = crate::session::plan_options(chrono::Utc::now(), false);
    let p = match ctx.rt.block_on(session.read_live(&desired, false)) {
        Ok(live) => crate::plan::destroy::destroy_plan(&desired, &live, &options),
        Err(e) => {
            ctx.close(session, Duration::ZERO)?;
            return Err(e.into());
        }
    };
    if let Err(e) = check_plan_errors(&p) {
        ctx.close(session, Duration::ZERO)?;
        return Err(e);
    }
    if p.actions.is_empty() {
        let what = if p.kept.is_empty() {
            "owns no resources"
        } else {
            "owns only protected resources"
        };
        printer.data(&format!(
            "Nothing to destroy: stack `{}` {what}.\n{}",
            desired.stack.name,
            kept_text(&p)
        ));
        ctx.close(session, Duration::ZERO)?;
        return Ok(ExitStatus::Success);
    }
    printer.status(&super::plan::render(
        &p,
        PlanFormat::Human,
        printer.color_stderr,
        &desired.secret_values,
    )?);
    let question = format!("Destroy everything stack `{}` owns?", desired.stack.name);
    if !confirm(printer, &question, args.auto_approve)? {
        ctx.close(session, Duration::ZERO)?;
        anyhow::bail!("destroy cancelled");
    }
    let status = execute_plan(ctx, &session, &p, 10, "Destroy", &desired.secret_values);
    ctx.close(session, Duration::ZERO)?;
    printer.data(&kept_text(&p));
    status
}

/// The protected resources destroy kept, one a line (empty when none).
fn kept_text(p: &crate::plan::Plan) -> String {
    if p.kept.is_empty() {
        return String::new();
    }
    let mut text = format!("Kept {} protected resource(s):\n", p.kept.len());
    for k in &p.kept {
        text.push_str(&format!("  {} ({})\n", k.id, k.reason));
    }
    text
}
