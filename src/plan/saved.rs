//! Saved plans (`plan --out FILE`, format 2, see docs/saved-plan.md): everything the plan
//! showed, pinned. The file holds the JSON plan as shown, a salted digest of every request an
//! action makes, the SHA-256 of every manifest file, salted digests of the variables the
//! manifests read, a digest per part of the live state, and the time and salt the plan was made
//! with. `apply FILE` re-plans from the same inputs, records the fresh plan the same way and
//! applies only when nothing differs; otherwise it names what did. Secrets appear only as
//! salted digests. Pure: reading files and the environment is the caller's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Operation, Plan, PlanOptions};

/// The saved-plan format this build writes and reads.
pub const SAVED_PLAN_FORMAT: u32 = 2;

/// The key that marks a JSON file as a saved plan (the first key written).
pub const SAVED_PLAN_MARKER: &str = "gridform_saved_plan";

/// A manifest file and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// A variable the manifests read (`${env:NAME}`) and a salted digest of its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedVariable {
    /// The variable name.
    pub name: String,
    /// Salted SHA-256 of the value (`unset` when it was not set).
    pub digest: String,
}

/// What a plan was made from, as the caller read it.
#[derive(Debug, Clone, Default)]
pub struct PlanInputs {
    /// The manifest paths as given, made absolute.
    pub paths: Vec<PathBuf>,
    /// Every file read and its SHA-256.
    pub files: Vec<(PathBuf, String)>,
    /// Every variable read and its value (`None`: unset).
    pub variables: Vec<(String, Option<String>)>,
}

/// A saved plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// Always [`SAVED_PLAN_FORMAT`]; also what marks the file.
    pub gridform_saved_plan: u32,
    /// The stack.
    pub stack: String,
    /// The time the plan was made with (renewal windows, expiries); apply re-plans with it.
    pub made_at: DateTime<Utc>,
    /// The salt of this plan's digests (and of new secret digests in request bodies).
    pub salt: String,
    /// Whether the live state included the secret parts (`plan --refresh-secrets`).
    pub refresh_secrets: bool,
    /// The resources `--replace` asked to replace (kind, name); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<(crate::model::ResourceKind, String)>,
    /// The manifest paths, absolute.
    pub paths: Vec<PathBuf>,
    /// Every manifest file read.
    pub files: Vec<PinnedFile>,
    /// Every variable the manifests read.
    pub variables: Vec<PinnedVariable>,
    /// A digest per part of the live state (resource id, Auth0 stream, provider).
    pub live: BTreeMap<String, String>,
    /// Salted digest of each action's requests, in action order.
    pub operations: Vec<String>,
    /// The plan as shown (`docs/plan-json.md`).
    pub plan: Value,
}

/// Why a file is not a usable saved plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    /// Not a gridform saved plan at all.
    #[error("not a gridform saved plan: {0}")]
    NotSavedPlan(String),
    /// A saved plan of another format version.
    #[error(
        "saved plan format {found} is not supported by this gridform (it reads format {SAVED_PLAN_FORMAT})"
    )]
    Version {
        /// The version in the file.
        found: String,
    },
}

fn digest(salt: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    for p in parts {
        h.update([0]);
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A salted digest of everything an operation would send.
fn operation_digest(op: &Operation, salt: &str) -> String {
    let at = |l: &super::Locator| serde_json::to_string(l).unwrap_or_default();
    let text = match op {
        Operation::Register {
            subscription_id,
            namespace,
        } => format!("register {subscription_id} {namespace}"),
        Operation::Put { at: l, body } => format!("put {} {}", at(l), body.as_json()),
        Operation::Patch { at: l, body } => format!("patch {} {}", at(l), body.as_json()),
        Operation::Replace { at: l, body } => format!("replace {} {}", at(l), body.as_json()),
        Operation::Delete { at: l } => format!("delete {}", at(l)),
        Operation::SetActivation {
            at: l,
            activate,
            expected_source,
            tags,
        } => format!("activation {} {activate} {expected_source} {tags}", at(l)),
        Operation::WaitForPartner {
            at: l,
            timeout_secs,
            expected_source,
        } => format!("wait {} {timeout_secs} {expected_source}", at(l)),
        Operation::CreateLogStream { body, .. } => format!("auth0 create {body}"),
        Operation::UpdateLogStream { stream_id, body } => format!("auth0 patch {stream_id} {body}"),
        Operation::DeleteLogStream { stream_id, .. } => format!("auth0 delete {stream_id}"),
        Operation::ReplaceLogStream {
            stream_id, body, ..
        } => format!("auth0 replace {stream_id} {body}"),
        Operation::CreateGraphSubscription { handle, body, .. } => {
            format!("graph create {handle} {body}")
        }
        Operation::PatchGraphSubscription { graph_id, body } => {
            format!("graph patch {graph_id} {body}")
        }
        Operation::ReplaceGraphSubscription {
            handle,
            graph_id,
            body,
            ..
        } => format!("graph replace {handle} {graph_id} {body}"),
        Operation::DeleteGraphSubscription { graph_id, .. } => format!("graph delete {graph_id}"),
        Operation::Recorded { address } => format!("recorded {address}"),
    };
    digest(salt, &[&text])
}

/// The JSON plan without what differs between two reads of the same world (request counts).
fn comparable(shown: &Value) -> Value {
    let mut v = shown.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("refresh_requests");
    }
    v
}

impl SavedPlan {
    /// Records `plan` (shown as `shown`, its JSON form) with its inputs.
    pub fn record(plan: &Plan, shown: Value, inputs: &PlanInputs, options: &PlanOptions) -> Self {
        let salt = options.salt.as_str();
        Self {
            gridform_saved_plan: SAVED_PLAN_FORMAT,
            stack: plan.stack.clone(),
            made_at: options.now,
            salt: salt.to_string(),
            refresh_secrets: options.refresh_secrets,
            replace: options.force_replace.clone(),
            paths: inputs.paths.clone(),
            files: inputs
                .files
                .iter()
                .map(|(path, sha256)| PinnedFile {
                    path: path.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
            variables: inputs
                .variables
                .iter()
                .map(|(name, value)| PinnedVariable {
                    name: name.clone(),
                    digest: match value {
                        Some(v) => digest(salt, &[name, v]),
                        None => "unset".into(),
                    },
                })
                .collect(),
            live: plan.live_digests.clone(),
            operations: plan
                .actions
                .iter()
                .map(|a| operation_digest(&a.operation, salt))
                .collect(),
            plan: shown,
        }
    }

    /// The options to plan with again: the same time, salt, secret refresh and replacements.
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            now: self.made_at,
            salt: self.salt.clone(),
            refresh_secrets: self.refresh_secrets,
            force_replace: self.replace.clone(),
        }
    }

    /// Reads a saved plan from its text.
    pub fn parse(text: &str) -> Result<Self, SavedPlanError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| SavedPlanError::NotSavedPlan(format!("not JSON ({e})")))?;
        match value.get(SAVED_PLAN_MARKER) {
            Some(v) if v.as_u64() == Some(u64::from(SAVED_PLAN_FORMAT)) => {}
            Some(v) => {
                return Err(SavedPlanError::Version {
                    found: v.to_string(),
                });
            }
            None if value.get("format_version").is_some() && value.get("fingerprint").is_some() => {
                return Err(SavedPlanError::Version {
                    found: value["format_version"].to_string(),
                });
            }
            None => {
                return Err(SavedPlanError::NotSavedPlan(format!(
                    "no `{SAVED_PLAN_MARKER}` key"
                )));
            }
        }
        serde_json::from_value(value).map_err(|e| SavedPlanError::NotSavedPlan(e.to_string()))
    }

    /// Everything that differs between this (approved) plan and `fresh`, recorded from the same
    /// paths, salt and time now: each a sentence naming the file, variable, resource or action.
    pub fn differences(&self, fresh: &SavedPlan) -> Vec<String> {
        let mut out = Vec::new();
        if self.stack != fresh.stack {
            out.push(format!(
                "the plan is for stack `{}`, the manifests now declare `{}`",
                self.stack, fresh.stack
            ));
        }
        out.extend(file_differences(&self.files, &fresh.files));
        out.extend(variable_differences(&self.variables, &fresh.variables));
        out.extend(live_differences(&self.live, &fresh.live));
        if out.is_empty() {
            out.extend(action_differences(self, fresh));
        }
        out
    }
}

fn file_differences(old: &[PinnedFile], new: &[PinnedFile]) -> Vec<String> {
    let before: BTreeMap<&PathBuf, &str> =
        old.iter().map(|f| (&f.path, f.sha256.as_str())).collect();
    let after: BTreeMap<&PathBuf, &str> =
        new.iter().map(|f| (&f.path, f.sha256.as_str())).collect();
    let mut out = Vec::new();
    for (path, sha) in &before {
        match after.get(path) {
            None => out.push(format!("manifest `{}` is gone", path.display())),
            Some(now) if now != sha => out.push(format!("manifest `{}` changed", path.display())),
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        out.push(format!("manifest `{}` is new", path.display()));
    }
    out
}

fn variable_differences(old: &[PinnedVariable], new: &[PinnedVariable]) -> Vec<String> {
    let before: BTreeMap<&str, &str> = old
        .iter()
        .map(|v| (v.name.as_str(), v.digest.as_str()))
        .collect();
    let after: BTreeMap<&str, &str> = new
        .iter()
        .map(|v| (v.name.as_str(), v.digest.as_str()))
        .collect();
    let mut out = Vec::new();
    for (name, d) in &before {
        if after.get(name).is_some_and(|now| now != d) {
            out.push(format!("variable `{name}` has another value"));
        }
    }
    for name in after.keys().filter(|n| !before.contains_key(*n)) {
        out.push(format!("the manifests now read variable `{name}`"));
    }
    out
}

fn live_differences(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut changed: Vec<String> = Vec::new();
    for (part, d) in old {
        match new.get(part) {
            None => changed.push(format!("`{part}` was deleted")),
            Some(now) if now != d => changed.push(format!("`{part}` changed")),
            Some(_) => {}
        }
    }
    for part in new.keys().filter(|p| !old.contains_key(*p)) {
        changed.push(format!("`{part}` appeared"));
    }
    let total = changed.len();
    changed
        .into_iter()
        .take(5)
        .enumerate()
        .map(|(i, c)| {
            let more = if i == 4 && total > 5 {
                format!(" (and {} more)", total - 5)
            } else {
                String::new()
            };
            format!("the live state changed: {c}{more}")
        })
        .collect()
}

fn action_differences(old: &SavedPlan, new: &SavedPlan) -> Vec<String> {
    let old_actions = old.plan["actions"].as_array().cloned().unwrap_or_default();
    let new_actions = new.plan["actions"].as_array().cloned().unwrap_or_default();
    if old_actions.len() != new_actions.len() {
        return vec![format!(
            "the plan now has {} actions instead of {}",
            new_actions.len(),
            old_actions.len()
        )];
    }
    for (i, (a, b)) in old_actions.iter().zip(&new_actions).enumerate() {
        let address = a["address"].as_str().unwrap_or_default();
        if a != b {
            return vec![format!("action {} ({address}) would now differ", i + 1)];
        }
        if old.operations.get(i) != new.operations.get(i) {
            return vec![format!(
                "the request of action {} ({address}) would now differ",
                i + 1
            )];
        }
    }
    if comparable(&old.plan) != comparable(&new.plan) {
        return vec!["the plan would now differ".into()];
    }
    Vec::new()
}
