//! The JSON plan (`--format json`): serialize-only types, versioned by `format_version`
//! (documented in docs/plan-json.md). Adding fields bumps the minor version, changing or removing
//! one bumps the major.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::plan::{Plan, Summary};

/// The JSON plan format version.
pub const FORMAT_VERSION: &str = "1.0";

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: &'static str,
    stack: &'a str,
    fingerprint: &'a str,
    has_changes: bool,
    summary: Summary,
    refresh_requests: RefreshJson,
    actions: Vec<JsonAction<'a>>,
    unmanaged: Vec<JsonUnmanaged>,
    errors: &'a [crate::plan::PlanError],
}

#[derive(Serialize)]
struct RefreshJson {
    reads: u64,
    writes: u64,
    deletes: u64,
}

#[derive(Serialize)]
struct JsonAction<'a> {
    index: usize,
    action: crate::plan::ActionKind,
    kind: String,
    name: &'a str,
    id: Option<String>,
    address: String,
    reason: Option<&'a str>,
    depends_on: &'a [usize],
    changes: Vec<JsonChange<'a>>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    path: &'a str,
    before: Option<&'a Value>,
    after: Option<&'a Value>,
    sensitive: bool,
    forces_replacement: bool,
}

#[derive(Serialize)]
struct JsonUnmanaged {
    id: String,
    reason: String,
}

/// Writes the JSON plan (one document, pretty-printed).
pub fn write_plan(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonPlan {
        format_version: FORMAT_VERSION,
        stack: &plan.stack,
        fingerprint: &plan.fingerprint,
        has_changes: plan.has_changes(),
        summary: plan.summary(),
        refresh_requests: RefreshJson {
            reads: plan.refresh.reads,
            writes: plan.refresh.writes,
            deletes: plan.refresh.deletes,
        },
        actions: plan
            .actions
            .iter()
            .map(|a| JsonAction {
                index: a.index,
                action: a.kind,
                kind: a.target.kind.to_string(),
                name: &a.target.name,
                id: a.target.id.as_ref().map(|i| i.to_string()),
                address: super::address(a),
                reason: a.reason.as_deref(),
                depends_on: &a.depends_on,
                changes: a
                    .changes
                    .iter()
                    .map(|c| JsonChange {
                        path: &c.path,
                        before: if c.sensitive { None } else { c.before.as_ref() },
                        after: if c.sensitive { None } else { c.after.as_ref() },
                        sensitive: c.sensitive,
                        forces_replacement: c.forces_replacement,
                    })
                    .collect(),
            })
            .collect(),
        unmanaged: plan
            .unmanaged
            .iter()
            .map(|u| JsonUnmanaged {
                id: u.id.to_string(),
                reason: u.reason.clone(),
            })
            .collect(),
        errors: &plan.errors,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
