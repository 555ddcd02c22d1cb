//! The markdown plan (`--format markdown`): a pull-request comment — summary table first, then
//! the actions in a `diff` block (`+`/`-` at column 0 so GitHub colours them), cut to stay under
//! GitHub's 65,536-character comment limit with a line saying how many were left out.

use std::io::{self, Write};

use super::RenderOptions;
use super::human::{MarkColumn, write_action};
use crate::plan::Plan;

/// The most characters a plan comment may have (GitHub allows 65,536; room for a footer).
pub const MARKDOWN_LIMIT: usize = 65_000;

/// Writes the markdown plan.
pub fn write_plan(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    write_plan_within(plan, MARKDOWN_LIMIT, out)
}

fn header(plan: &Plan) -> String {
    let s = plan.summary();
    let mut text = format!("### gridform plan for stack `{}`\n\n", plan.stack);
    let mut warnings = String::new();
    for w in &plan.warnings {
        warnings.push_str(&format!("> **Warning:** {w}\n"));
    }
    if !warnings.is_empty() {
        warnings.push('\n');
    }
    if plan.actions.is_empty() && plan.errors.is_empty() {
        text.push_str("**No changes.** The live state matches the manifests.\n");
        if !warnings.is_empty() {
            text.push('\n');
            text.push_str(&warnings);
        }
        return text;
    }
    text.push_str("| add | change | replace | destroy | other |\n|---:|---:|---:|---:|---:|\n");
    text.push_str(&format!(
        "| {} | {} | {} | {} | {} |\n\n",
        s.add, s.change, s.replace, s.destroy, s.other
    ));
    if !plan.errors.is_empty() {
        text.push_str("**Errors** (apply will refuse this plan):\n\n");
        for e in &plan.errors {
            text.push_str(&format!("- {}: {}\n", e.target, e.message));
        }
        text.push('\n');
    }
    if !plan.kept.is_empty() {
        text.push_str("**Kept** (protected, never deleted):\n\n");
        for k in &plan.kept {
            text.push_str(&format!("- `{}`: {}\n", k.id, k.reason));
        }
        text.push('\n');
    }
    text.push_str(&warnings);
    text
}

/// Writes the markdown plan in at most `limit` characters (the footer included).
pub fn write_plan_within(plan: &Plan, limit: usize, out: &mut dyn Write) -> io::Result<()> {
    let mut text = header(plan);
    if plan.actions.is_empty() {
        return out.write_all(text.as_bytes());
    }
    const OPEN: &str = "```diff\n";
    const CLOSE: &str = "```\n";
    // Reserve room for the closing fence and the "left out" line.
    let budget = limit.saturating_sub(text.len() + OPEN.len() + CLOSE.len() + 300);
    let mut body = String::new();
    let mut shown = 0;
    for a in &plan.actions {
        let mut one = Vec::new();
        write_action(
            a,
            &RenderOptions { color: false },
            MarkColumn::First,
            &mut one,
        )?;
        let one = String::from_utf8_lossy(&one);
        if body.len() + one.len() > budget {
            break;
        }
        body.push_str(&one);
        shown += 1;
    }
    text.push_str(OPEN);
    text.push_str(&body);
    text.push_str(CLOSE);
    let left_out = plan.actions.len() - shown;
    if left_out > 0 {
        text.push_str(&format!(
            "\n_{left_out} of {} actions left out to fit a pull-request comment; see them all with \
             `gridform plan --format human`, or `gridform show PLANFILE` for a saved plan._\n",
            plan.actions.len()
        ));
    }
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceId, ResourceKind};
    use crate::plan::{Action, ActionKind, ActionTarget, Change, Locator, Operation};

    fn many(n: usize) -> Plan {
        let actions = (0..n)
            .map(|i| {
                let id = ResourceId::parse(&format!(
                    "/subscriptions/s/resourceGroups/g/providers/Microsoft.EventGrid/topics/t{i}"
                ))
                .unwrap();
                Action {
                    index: i,
                    kind: if i % 2 == 0 {
                        ActionKind::Create
                    } else {
                        ActionKind::Delete
                    },
                    target: ActionTarget {
                        kind: ResourceKind::Topic,
                        name: format!("t{i}"),
                        id: Some(id.clone()),
                    },
                    changes: vec![Change {
                        path: "properties.inputSchema".into(),
                        before: None,
                        after: Some(serde_json::json!("EventGridSchema")),
                        sensitive: false,
                        forces_replacement: false,
                    }],
                    depends_on: vec![],
                    reason: None,
                    operation: Operation::Delete {
                        at: Locator::Id(id),
                    },
                }
            })
            .collect();
        Plan {
            stack: "big".into(),
            actions,
            unmanaged: vec![],
            kept: vec![],
            errors: vec![],
            warnings: vec![],
            refresh: Default::default(),
            fingerprint: String::new(),
            live_digests: Default::default(),
        }
    }

    #[test]
    fn a_large_plan_fits_a_comment_and_says_what_it_left_out() {
        let mut out = Vec::new();
        write_plan(&many(3000), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.chars().count() <= MARKDOWN_LIMIT,
            "{} chars",
            text.len()
        );
        assert!(text.find("| add |").unwrap() < text.find("```diff").unwrap());
        assert!(
            text.contains("actions left out"),
            "{}",
            &text[text.len() - 400..]
        );
        assert!(text.lines().any(|l| l.starts_with("+ create Topic")));
        assert!(text.lines().any(|l| l.starts_with("- delete Topic")));
        assert!(
            text.lines()
                .any(|l| l.starts_with("+       properties.inputSchema"))
        );
    }

    #[test]
    fn warnings_show_in_markdown_and_human_plans_with_or_without_actions() {
        for n in [0, 2] {
            let mut p = many(n);
            p.warnings = vec!["partner topic `x` expires in 3h".into()];
            let mut md = Vec::new();
            write_plan(&p, &mut md).unwrap();
            let md = String::from_utf8(md).unwrap();
            assert!(
                md.contains("> **Warning:** partner topic `x` expires in 3h"),
                "{md}"
            );
            let mut human = Vec::new();
            crate::render::human::write_plan(&p, &RenderOptions::default(), &mut human).unwrap();
            let human = String::from_utf8(human).unwrap();
            assert!(
                human.contains("Warnings:\n  partner topic `x` expires in 3h"),
                "{human}"
            );
        }
    }

    #[test]
    fn a_small_plan_is_whole() {
        let mut out = Vec::new();
        write_plan(&many(3), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("left out"));
        assert_eq!(text.matches("Topic `t").count(), 3);
    }
}
