//! The human plan: Terraform-like symbols, attribute-level changes, JSON blobs as unified diffs.

use std::io::{self, Write};

use serde_json::Value;
use similar::TextDiff;

use super::{RenderOptions, address, symbol};
use crate::plan::{Action, ActionKind, Change, Plan};

fn paint(opts: &RenderOptions, code: &str, text: &str) -> String {
    if opts.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn color_of(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Create | ActionKind::CreateLogStream | ActionKind::Register => "32",
        ActionKind::Delete => "31",
        ActionKind::Replace => "35",
        _ => "33",
    }
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
    }
}

fn is_blob(v: &Option<Value>) -> bool {
    v.as_ref().is_some_and(|v| v.to_string().len() > 60)
}

/// Where a change line's `+`/`-`/`~` goes: indented (terminal), or at column 0 so that a
/// markdown `diff` block colours it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkColumn {
    Indented,
    First,
}

fn write_change(
    out: &mut dyn Write,
    c: &Change,
    opts: &RenderOptions,
    column: MarkColumn,
) -> io::Result<()> {
    let mark = match (&c.before, &c.after) {
        _ if c.sensitive => "~",
        (None, Some(_)) => "+",
        (Some(_), None) => "-",
        _ => "~",
    };
    // `mark` then `indent`, or `indent` then `mark`: the same line either way.
    let line = |out: &mut dyn Write, mark: &str, indent: &str, rest: &str| match column {
        MarkColumn::Indented => writeln!(out, "{indent}{mark}{rest}"),
        MarkColumn::First => writeln!(out, "{mark}{indent}{rest}"),
    };
    let replace = if c.forces_replacement {
        paint(opts, "35", " # forces replacement")
    } else {
        String::new()
    };
    let path = &c.path;
    if c.sensitive {
        return line(
            out,
            mark,
            "      ",
            &format!(" {path} = (sensitive){replace}"),
        );
    }
    match (&c.before, &c.after) {
        (None, after) => line(
            out,
            mark,
            "      ",
            &format!(" {path} = {}{replace}", show(after)),
        ),
        (before, None) => line(
            out,
            mark,
            "      ",
            &format!(" {path} = {}{replace}", show(before)),
        ),
        (before, after) if is_blob(before) || is_blob(after) => {
            line(out, mark, "      ", &format!(" {path}:{replace}"))?;
            let pretty = |v: &Option<Value>| {
                v.as_ref()
                    .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                    .unwrap_or_default()
                    + "\n"
            };
            let (a, b) = (pretty(before), pretty(after));
            let diff = TextDiff::from_lines(&a, &b);
            for l in diff.unified_diff().context_radius(3).to_string().lines() {
                let (m, rest) = l.split_at(l.chars().next().map_or(0, char::len_utf8));
                line(out, m, "          ", rest)?;
            }
            Ok(())
        }
        (before, after) => line(
            out,
            mark,
            "      ",
            &format!(" {path}: {} -> {}{replace}", show(before), show(after)),
        ),
    }
}

/// Writes one action and its attribute changes.
pub(crate) fn write_action(
    a: &Action,
    opts: &RenderOptions,
    column: MarkColumn,
    out: &mut dyn Write,
) -> io::Result<()> {
    let (sym, verb) = symbol(a.kind);
    let head = format!("{sym} {verb}");
    let lead = if column == MarkColumn::First {
        ""
    } else {
        "  "
    };
    write!(
        out,
        "{lead}{} {}",
        paint(opts, color_of(a.kind), &head),
        address(a)
    )?;
    if let Some(reason) = &a.reason {
        write!(out, "  # {reason}")?;
    }
    writeln!(out)?;
    for c in &a.changes {
        write_change(out, c, opts, column)?;
    }
    Ok(())
}

/// Writes the human plan.
pub fn write_plan(plan: &Plan, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    if plan.actions.is_empty() {
        if plan.errors.is_empty() {
            writeln!(
                out,
                "No changes. The live state matches the manifests of stack `{}`.",
                plan.stack
            )?;
        } else {
            writeln!(
                out,
                "No actions for stack `{}`: the errors below stop the plan.",
                plan.stack
            )?;
        }
    } else {
        writeln!(
            out,
            "gridform will perform these actions for stack `{}`:\n",
            plan.stack
        )?;
        for a in &plan.actions {
            write_action(a, opts, MarkColumn::Indented, out)?;
        }
    }
    if !plan.unmanaged.is_empty() {
        writeln!(out, "\nNot managed by this stack (left alone):")?;
        for u in &plan.unmanaged {
            writeln!(out, "  {} ({})", u.id, u.reason)?;
        }
    }
    if !plan.kept.is_empty() {
        writeln!(out, "\nKept (protected, never deleted):")?;
        for k in &plan.kept {
            writeln!(out, "  {} ({})", k.id, k.reason)?;
        }
    }
    if !plan.errors.is_empty() {
        writeln!(out, "\nErrors:")?;
        for e in &plan.errors {
            writeln!(out, "  {}: {}", e.target, e.message)?;
            if let Some(h) = &e.hint {
                writeln!(out, "    hint: {h}")?;
            }
        }
    }
    if !plan.warnings.is_empty() {
        writeln!(out, "\nWarnings:")?;
        for w in &plan.warnings {
            writeln!(out, "  {w}")?;
        }
    }
    let s = plan.summary();
    let r = plan.refresh;
    writeln!(
        out,
        "\nPlan: {} to add, {} to change, {} to replace, {} to destroy, {} other. Refresh: {} requests ({} reads).",
        s.add,
        s.change,
        s.replace,
        s.destroy,
        s.other,
        r.total(),
        r.reads
    )
}
