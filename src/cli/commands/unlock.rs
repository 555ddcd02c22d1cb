//! `gridform unlock STACK [PATH...]`: shows the stack lease on the stack's resource group and
//! removes it after confirmation (`--yes` without a terminal). The lease logic is
//! `session::lease`'s; this file only checks the stack name, asks and reports.

use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::args::UnlockArgs;
use crate::cli::exit::{ExitStatus, Hinted};
use crate::session::lease;

use super::common::{Ctx, load};

/// Runs `unlock`.
pub fn run(args: &UnlockArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let printer = ctx.printer;
    let desired = load(&args.paths, printer)?;
    if desired.stack.name != args.stack {
        return Err(Hinted {
            message: format!(
                "the manifests describe stack `{}`, not `{}`",
                desired.stack.name, args.stack
            ),
            hint:
                "name the stack the manifests describe, or pass the paths of that stack's manifests"
                    .into(),
        }
        .into());
    }
    let Some(group) = lease::lease_group(&desired) else {
        anyhow::bail!(
            "stack `{}` names no resource group, so it has no lease",
            args.stack
        );
    };
    let session = ctx.open(&desired)?;
    let outcome = remove_after_asking(args, ctx, &session.remote.arm, &group);
    ctx.close(session, Duration::ZERO)?;
    outcome
}

fn remove_after_asking(
    args: &UnlockArgs,
    ctx: &Ctx,
    arm: &crate::arm::ArmClient,
    group: &crate::model::id::ResourceId,
) -> anyhow::Result<ExitStatus> {
    let printer = ctx.printer;
    let Some(found) = ctx.rt.block_on(lease::read(arm, group))? else {
        printer.data(&format!(
            "Stack `{}` is not locked: resource group `{}` has no lease.\n",
            args.stack,
            group.name()
        ));
        return Ok(ExitStatus::Success);
    };
    let live = found.expires.is_none_or(|e| e > chrono::Utc::now());
    printer.status(&format!(
        "Resource group `{}` has a lease held by {}{}.",
        group.name(),
        found.describe(),
        if live {
            " (not expired: make sure that run is gone)"
        } else {
            " (expired)"
        }
    ));
    if !confirmed(args, ctx)? {
        anyhow::bail!("unlock cancelled");
    }
    match ctx.rt.block_on(lease::remove(arm, group))? {
        Some(removed) => printer.data(&format!(
            "Removed the lease on resource group `{}` held by {}.\n",
            group.name(),
            removed.holder
        )),
        None => printer.data(&format!(
            "Resource group `{}` has no lease any more.\n",
            group.name()
        )),
    }
    Ok(ExitStatus::Success)
}

fn confirmed(args: &UnlockArgs, ctx: &Ctx) -> anyhow::Result<bool> {
    if args.yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Hinted {
            message: "refusing to remove a lease without confirmation: stdin is not a terminal"
                .into(),
            hint: format!(
                "pass `--yes` once you are sure the holder is gone: `gridform unlock {} --yes`",
                args.stack
            ),
        }
        .into());
    }
    ctx.printer
        .status("Remove it? Another run may still be working. Only `yes` is accepted:");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
