//! The JSON plan (`--format json`): serialize-only types, versioned by `format_version`
//! (documented in docs/plan-json.md). Adding fields bumps the minor version, changing or removing
//! one bumps the major.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::model::live::RequestCounts;
use crate::model::{ResourceId, ResourceKind};
use crate::plan::{Action, ActionTarget, Change, Operation, Plan, Summary, Unmanaged};

/// The JSON plan format version.
pub const FORMAT_VERSION: &str = "1.1";

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
    kept: Vec<JsonUnmanaged>,
    errors: &'a [crate::plan::PlanError],
    warnings: &'a [String],
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
    // The struct, not a `Value`, so that keys keep their documented order.
    serde_json::to_writer_pretty(&mut *out, &json_doc(plan)).map_err(io::Error::other)?;
    writeln!(out)
}

/// The JSON plan as a value (what a saved plan keeps as shown).
pub fn plan_value(plan: &Plan) -> Value {
    serde_json::to_value(json_doc(plan)).unwrap_or_default()
}

fn json_doc(plan: &Plan) -> JsonPlan<'_> {
    JsonPlan {
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
        unmanaged: listed(&plan.unmanaged),
        kept: listed(&plan.kept),
        errors: &plan.errors,
        warnings: &plan.warnings,
    }
}

fn listed(list: &[Unmanaged]) -> Vec<JsonUnmanaged> {
    list.iter()
        .map(|u| JsonUnmanaged {
            id: u.id.to_string(),
            reason: u.reason.clone(),
        })
        .collect()
}

fn read_listed(doc: &Value, key: &str) -> Vec<Unmanaged> {
    doc[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| {
            Some(Unmanaged {
                id: ResourceId::parse(u["id"].as_str()?).ok()?,
                reason: u["reason"].as_str()?.to_string(),
            })
        })
        .collect()
}

/// Reads a JSON plan back for display (`gridform show FILE`); its actions are
/// [`Operation::Recorded`]: shown, never executed.
pub fn read_plan(doc: &Value) -> Result<Plan, String> {
    let field = |v: &Value, k: &str| v.get(k).cloned().ok_or(format!("no `{k}`"));
    let text = |v: &Value, k: &str| v[k].as_str().map(str::to_string).ok_or(format!("no `{k}`"));
    let mut actions = Vec::new();
    for (i, a) in doc["actions"].as_array().into_iter().flatten().enumerate() {
        let kind_name = text(a, "kind")?;
        let kind = ResourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind_name)
            .ok_or(format!("unknown kind `{kind_name}`"))?;
        let changes = a["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Change {
                path: c["path"].as_str().unwrap_or_default().to_string(),
                before: c.get("before").filter(|v| !v.is_null()).cloned(),
                after: c.get("after").filter(|v| !v.is_null()).cloned(),
                sensitive: c["sensitive"] == true,
                forces_replacement: c["forces_replacement"] == true,
            })
            .collect();
        actions.push(Action {
            index: i,
            kind: serde_json::from_value(field(a, "action")?).map_err(|e| e.to_string())?,
            target: ActionTarget {
                kind,
                name: text(a, "name")?,
                id: a["id"].as_str().and_then(|id| ResourceId::parse(id).ok()),
            },
            changes,
            depends_on: serde_json::from_value(field(a, "depends_on")?).unwrap_or_default(),
            reason: a["reason"].as_str().map(str::to_string),
            operation: Operation::Recorded {
                address: text(a, "address")?,
            },
        });
    }
    Ok(Plan {
        stack: text(doc, "stack")?,
        actions,
        unmanaged: read_listed(doc, "unmanaged"),
        kept: read_listed(doc, "kept"),
        errors: serde_json::from_value(field(doc, "errors")?).unwrap_or_default(),
        warnings: doc["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect(),
        refresh: RequestCounts {
            reads: doc["refresh_requests"]["reads"].as_u64().unwrap_or(0),
            writes: doc["refresh_requests"]["writes"].as_u64().unwrap_or(0),
            deletes: doc["refresh_requests"]["deletes"].as_u64().unwrap_or(0),
        },
        fingerprint: text(doc, "fingerprint").unwrap_or_default(),
        live_digests: Default::default(),
    })
}
