//! `gridform verify`: one canary per event subscription, delivered and checked by the
//! data-plane client (`dataplane::verify`); this file parses, calls it and renders the verdicts.
//! Exit 1 when any verifiable path failed.

use std::time::Duration;

use super::common::{Ctx, load};
use crate::cli::args::VerifyArgs;
use crate::cli::exit::ExitStatus;
use crate::dataplane;
use crate::dataplane::verify::{CanaryResult, Verifier};

/// Runs `gridform verify`.
pub fn run(args: &VerifyArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let desired = load(&args.paths, ctx.printer)?;
    let session = ctx.open(&desired)?;
    let (http, controls) = dataplane::link(session.emulator_base.as_deref())?;
    let verifier = Verifier {
        arm: &session.remote.arm,
        graph: session.remote.graph.as_deref(),
        emulator: controls.as_ref(),
        http: &http,
        timeout: args.timeout,
        now: dataplane::event_time(chrono::Utc::now()),
    };
    let report = ctx.rt.block_on(verifier.run(&desired));
    ctx.close(session, Duration::from_secs(1))?;
    let (mut ok, mut failed, mut unverifiable) = (0, 0, 0);
    let mut out = format!("Verify stack `{}`:\n", desired.stack.name);
    for (name, result) in &report.results {
        let (mark, text) = match result {
            CanaryResult::Delivered(how) => ("✓", how),
            CanaryResult::Failed(why) => ("✗", why),
            CanaryResult::PublishedOnly(why) => ("~", why),
            CanaryResult::NotVerifiable(why) => ("?", why),
        };
        match result {
            CanaryResult::Delivered(_) => ok += 1,
            CanaryResult::Failed(_) => failed += 1,
            _ => unverifiable += 1,
        }
        out.push_str(&format!("  {mark} {name}: {text}\n"));
    }
    out.push_str(&format!(
        "{ok} delivered, {failed} failed, {unverifiable} not verifiable.\n"
    ));
    ctx.printer.data(&out);
    Ok(if failed > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
