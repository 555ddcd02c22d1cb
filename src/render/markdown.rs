//! The markdown plan (`--format markdown`): a pull-request comment with a summary table and the
//! details collapsed.

use std::io::{self, Write};

use super::{RenderOptions, address, human, symbol};
use crate::plan::Plan;

/// Writes the markdown plan.
pub fn write_plan(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let s = plan.summary();
    writeln!(out, "### gridform plan for stack `{}`\n", plan.stack)?;
    if plan.actions.is_empty() && plan.errors.is_empty() {
        writeln!(out, "**No changes.** The live state matches the manifests.")?;
        return Ok(());
    }
    writeln!(
        out,
        "| add | change | replace | destroy | other |\n|---:|---:|---:|---:|---:|"
    )?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        s.add, s.change, s.replace, s.destroy, s.other
    )?;
    if !plan.errors.is_empty() {
        writeln!(out, "**Errors** (apply will refuse this plan):\n")?;
        for e in &plan.errors {
            writeln!(out, "- {}: {}", e.target, e.message)?;
        }
        writeln!(out)?;
    }
    for a in &plan.actions {
        let (sym, verb) = symbol(a.kind);
        writeln!(out, "- `{sym}` **{verb}** {}", address(a).replace('`', ""))?;
    }
    writeln!(out, "\n<details><summary>Details</summary>\n\n```diff")?;
    let mut text = Vec::new();
    human::write_plan(plan, &RenderOptions { color: false }, &mut text)?;
    out.write_all(&text)?;
    writeln!(out, "```\n\n</details>")
}
