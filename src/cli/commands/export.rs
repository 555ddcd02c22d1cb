//! `gridform export --resource-group NAME --out DIR`: parses, calls `export::export` once and
//! prints what was written. Secret values never pass through here (they go to `DIR/.env`
//! inside the library); only their variable names are shown.

use crate::cli::args::ExportArgs;
use crate::cli::exit::{ExitStatus, Hinted, UsageError};
use crate::export::{ExportError, ExportReport, ExportRequest, export};
use crate::session::Session;

use super::common::{Ctx, with_lock_hint};

/// Runs `export`.
pub fn run(args: &ExportArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let Some(subscription) = args.subscription.clone().filter(|s| !s.is_empty()) else {
        return Err(UsageError {
            message: "no Azure subscription to export from".into(),
            hint: "pass --subscription ID or set AZURE_SUBSCRIPTION_ID".into(),
        }
        .into());
    };
    let request = ExportRequest {
        subscription,
        resource_group: args.resource_group.clone(),
        stack: args.stack.clone(),
        out: args.out.clone(),
        force: args.force,
    };
    let session = ctx
        .rt
        .block_on(Session::open_for_export(ctx.target))
        .map_err(with_lock_hint)?;
    let outcome = ctx
        .rt
        .block_on(export(&session.remote, &request, chrono::Utc::now()));
    ctx.close(session, std::time::Duration::ZERO)?;
    let report = outcome.map_err(hinted)?;
    ctx.printer.data(&summary(&request, &report));
    Ok(ExitStatus::Success)
}

fn hinted(e: ExportError) -> anyhow::Error {
    match e.hint() {
        Some(hint) => Hinted {
            message: e.to_string(),
            hint,
        }
        .into(),
        None => e.into(),
    }
}

/// The text on stdout: what was written, what was adopted or skipped, and what comes next.
fn summary(request: &ExportRequest, r: &ExportReport) -> String {
    let dir = request.out.display();
    let mut out = format!(
        "Exported resource group `{}` as stack `{}` into `{dir}`:\n",
        request.resource_group, r.stack
    );
    for (kind, n) in &r.counts {
        out.push_str(&format!("  {kind}: {n}\n"));
    }
    out.push_str(&format!("Files: {}\n", r.files.join(", ")));
    if r.adopted > 0 {
        out.push_str(&format!(
            "{} resource(s) no stack owns are marked `adopt: true`: the first apply takes them over.\n",
            r.adopted
        ));
    }
    for id in &r.skipped {
        out.push_str(&format!("Skipped (owned by another stack): {id}\n"));
    }
    if !r.secret_names.is_empty() {
        out.push_str(&format!(
            "Secrets ({}) are in `{dir}/.env` only; load them before planning: set -a; . {dir}/.env; set +a\n",
            r.secret_names.join(", ")
        ));
    }
    out.push_str(&format!(
        "Read with {} ARM requests ({} reads, {} POSTs for secret parts).\n",
        r.requests.total(),
        r.requests.reads,
        r.requests.writes
    ));
    if r.graph_requests > 0 {
        out.push_str(&format!(
            "Listed Microsoft Graph subscriptions with {} Graph request(s).\n",
            r.graph_requests
        ));
    }
    out.push_str(&format!(
        "Next: review the files, then `gridform plan {dir}`.\n"
    ));
    out
}
