//! Saved plans (`plan --out FILE`): what was approved and the live-state fingerprint it was made
//! from. No request bodies and so no secrets: `apply FILE` re-reads the manifests (and the
//! environment), re-plans, and applies only when the fingerprint and the actions are unchanged.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ActionKind, Plan};

/// The saved-plan format version.
pub const SAVED_PLAN_VERSION: &str = "1";

/// One approved action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedAction {
    /// What.
    pub kind: String,
    /// Manifest kind of the target.
    pub target_kind: String,
    /// Manifest name of the target.
    pub target_name: String,
    /// ARM id, when known.
    pub target_id: Option<String>,
    /// Changed paths.
    pub changed: Vec<String>,
}

/// A saved plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always [`SAVED_PLAN_VERSION`].
    pub format_version: String,
    /// The stack.
    pub stack: String,
    /// The manifest paths the plan was made from.
    pub paths: Vec<PathBuf>,
    /// Digest of the live state the plan was computed from.
    pub fingerprint: String,
    /// The approved actions.
    pub actions: Vec<SavedAction>,
}

fn kind_name(kind: ActionKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn saved_actions(plan: &Plan) -> Vec<SavedAction> {
    plan.actions
        .iter()
        .map(|a| SavedAction {
            kind: kind_name(a.kind),
            target_kind: a.target.kind.to_string(),
            target_name: a.target.name.clone(),
            target_id: a.target.id.as_ref().map(|i| i.to_string()),
            changed: a.changes.iter().map(|c| c.path.clone()).collect(),
        })
        .collect()
}

impl SavedPlan {
    /// The record of `plan`, made from `paths`.
    pub fn from_plan(plan: &Plan, paths: &[PathBuf]) -> Self {
        Self {
            format_version: SAVED_PLAN_VERSION.into(),
            stack: plan.stack.clone(),
            paths: paths.to_vec(),
            fingerprint: plan.fingerprint.clone(),
            actions: saved_actions(plan),
        }
    }

    /// Whether a fresh `plan` is the one that was approved; the reason when it is not.
    pub fn check(&self, fresh: &Plan) -> Result<(), String> {
        if self.format_version != SAVED_PLAN_VERSION {
            return Err(format!(
                "saved plan format {} is not supported (expected {SAVED_PLAN_VERSION})",
                self.format_version
            ));
        }
        if self.stack != fresh.stack {
            return Err(format!(
                "the plan is for stack `{}`, the manifests declare `{}`",
                self.stack, fresh.stack
            ));
        }
        if self.fingerprint != fresh.fingerprint {
            return Err("the live state changed since the plan was made".into());
        }
        if self.actions != saved_actions(fresh) {
            return Err("the manifests changed since the plan was made".into());
        }
        Ok(())
    }
}
