//! What gridform records on the resources it owns, besides the stack marker: protection
//! (`gridform-protect`), the tag keys and labels it manages (`gridform-managed-tags`,
//! `gridform-managed-labels`) and the extension scopes that held its event subscriptions
//! (`gridform-scope.<stack>.<hash>` tags on the stack's resource group). docs/ownership.md is
//! the rule book.
//!
//! Pure functions over request and response bodies; it must not decide what to change (the
//! builder does) and never drops a tag key or label it does not manage.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::wire::{MARKER, SECRETS_LABEL};
use crate::model::ResourceKind;

/// Tag (value `"true"`) and label that record `metadata.protect: true`.
pub const PROTECT: &str = "gridform-protect";
/// Tag whose value lists the tag keys gridform manages, comma-separated.
pub const MANAGED_TAGS: &str = "gridform-managed-tags";
/// Label prefix (`gridform-managed-labels=a,b`) listing the labels gridform manages.
pub const MANAGED_LABELS: &str = "gridform-managed-labels";
/// Tag key prefix on the stack's resource group recording an extension scope.
pub const SCOPE_TAG: &str = "gridform-scope";

/// The labels of an event subscription body.
fn labels_of(body: &Value) -> Vec<&str> {
    body.pointer("/properties/labels")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether a live resource carries the protection record.
pub fn is_protected(kind: ResourceKind, body: &Value) -> bool {
    if kind == ResourceKind::EventSubscription {
        labels_of(body).contains(&PROTECT)
    } else {
        body.pointer(&format!("/tags/{PROTECT}"))
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// Whether the resource is to be protected: the document decides when it says `protect`,
/// otherwise the record on the live resource stays (removing the field never unprotects).
pub fn protection_wanted(declared: Option<bool>, kind: ResourceKind, live: Option<&Value>) -> bool {
    declared.unwrap_or_else(|| live.is_some_and(|l| is_protected(kind, l)))
}

fn split_list(text: &str) -> BTreeSet<String> {
    text.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// The tag keys a live resource says gridform manages.
pub fn managed_tag_keys(live: &Value) -> BTreeSet<String> {
    live.pointer(&format!("/tags/{MANAGED_TAGS}"))
        .and_then(Value::as_str)
        .map(split_list)
        .unwrap_or_default()
}

/// The tag key recording extension scope `scope` for `stack`.
pub fn scope_tag_key(stack: &str, scope: &str) -> String {
    let digest = hex::encode(Sha256::digest(scope.to_ascii_lowercase().as_bytes()));
    format!("{SCOPE_TAG}.{stack}.{}", &digest[..8])
}

/// The extension scopes recorded for `stack` on a resource group body.
pub fn recorded_scopes(group: &Value, stack: &str) -> Vec<String> {
    let prefix = format!("{SCOPE_TAG}.{stack}.");
    group
        .get("tags")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(_, v)| v.as_str().map(str::to_string))
        .collect()
}

/// What gridform writes into a resource's tags.
pub struct TagIntent<'a> {
    /// The tags the manifest declares (no markers).
    pub declared: &'a Map<String, Value>,
    /// The owning stack.
    pub stack: &'a str,
    /// Record protection.
    pub protect: bool,
    /// `Some(scopes)`: the stack's extension-scope record to write (stack resource group only).
    pub scopes: Option<&'a [String]>,
}

/// The tags to send: the live tags gridform does not manage, kept as they are, plus the
/// declared tags and gridform's records. A key declared before (listed in the live
/// `gridform-managed-tags`) and no longer declared is dropped.
pub fn owned_tags(intent: &TagIntent<'_>, live: Option<&Value>) -> Value {
    let stack = intent.stack;
    let scope_prefix = format!("{SCOPE_TAG}.{stack}.");
    let previously: BTreeSet<String> = live
        .map(managed_tag_keys)
        .unwrap_or_default()
        .into_iter()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    let declared_lower: BTreeSet<String> = intent
        .declared
        .keys()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    let mut tags: Map<String, Value> = live
        .and_then(|l| l.get("tags"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    tags.retain(|k, _| {
        let lower = k.to_ascii_lowercase();
        // gridform's own records: rewritten from intent each time, never carried as foreign
        // (Auth0 stream and Graph subscription records are added back by the partner
        // configuration's planner).
        let ours = [MARKER, PROTECT, MANAGED_TAGS].contains(&lower.as_str())
            || (intent.scopes.is_some() && k.starts_with(&scope_prefix))
            || k.starts_with(super::auth0_record::RECORD_PREFIX)
            || k.starts_with(super::graph_record::RECORD_PREFIX);
        // Azure tag keys are case-insensitive: a declared key replaces any spelling of it.
        !ours && !declared_lower.contains(&lower) && !previously.contains(&lower)
    });
    tags.extend(intent.declared.iter().map(|(k, v)| (k.clone(), v.clone())));
    tags.insert(MARKER.into(), json!(stack));
    if intent.protect {
        tags.insert(PROTECT.into(), json!("true"));
    }
    if !intent.declared.is_empty() {
        let keys: Vec<&str> = intent.declared.keys().map(String::as_str).collect();
        tags.insert(MANAGED_TAGS.into(), json!(keys.join(",")));
    }
    for scope in intent.scopes.into_iter().flatten() {
        tags.insert(scope_tag_key(stack, scope), json!(scope));
    }
    Value::Object(tags)
}

/// What gridform writes into an event subscription's labels.
pub struct LabelIntent<'a> {
    /// The labels the manifest declares.
    pub declared: &'a [String],
    /// The owning stack.
    pub stack: &'a str,
    /// Record protection.
    pub protect: bool,
    /// `<salt>:<digest>` of the secret parts, when there are any.
    pub secrets: Option<&'a str>,
}

/// The labels to send: live labels gridform does not manage, the declared ones and gridform's
/// records (marker, protection, managed list, secrets digest).
pub fn owned_labels(intent: &LabelIntent<'_>, live: Option<&Value>) -> Vec<String> {
    let is_record = |l: &str| {
        l.starts_with(MARKER)
            || l.starts_with(SECRETS_LABEL)
            || l.starts_with(MANAGED_LABELS)
            || l == PROTECT
    };
    let live_labels = live.map(labels_of).unwrap_or_default();
    let previously: BTreeSet<String> = live_labels
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{MANAGED_LABELS}=")))
        .map(split_list)
        .unwrap_or_default();
    let declared: Vec<&String> = intent.declared.iter().filter(|l| !is_record(l)).collect();
    let mut out: Vec<String> = live_labels
        .iter()
        .filter(|l| !is_record(l) && !previously.contains(**l))
        .filter(|l| !declared.iter().any(|d| d == *l))
        .map(|l| l.to_string())
        .collect();
    out.extend(declared.iter().map(|l| l.to_string()));
    out.push(format!("{MARKER}={}", intent.stack));
    if intent.protect {
        out.push(PROTECT.into());
    }
    if !declared.is_empty() {
        let list: Vec<&str> = declared.iter().map(|l| l.as_str()).collect();
        out.push(format!("{MANAGED_LABELS}={}", list.join(",")));
    }
    if let Some(d) = intent.secrets {
        out.push(format!("{SECRETS_LABEL}={d}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect()
    }

    fn intent<'a>(d: &'a Map<String, Value>, protect: bool) -> TagIntent<'a> {
        TagIntent {
            declared: d,
            stack: "s1",
            protect,
            scopes: None,
        }
    }

    #[test]
    fn foreign_tags_are_kept_and_declared_ones_win() {
        let d = declared(&[("env", "prod")]);
        let live = json!({"tags": {"CostCenter": "42", "ENV": "dev", "gridform-stack": "s1"}});
        let tags = owned_tags(&intent(&d, false), Some(&live));
        assert_eq!(
            tags,
            json!({"CostCenter": "42", "env": "prod", "gridform-stack": "s1", "gridform-managed-tags": "env"})
        );
    }

    #[test]
    fn a_key_no_longer_declared_is_dropped_only_if_it_was_managed() {
        let d = declared(&[]);
        let live =
            json!({"tags": {"CostCenter": "42", "env": "prod", "gridform-managed-tags": "env"}});
        let tags = owned_tags(&intent(&d, false), Some(&live));
        assert_eq!(tags, json!({"CostCenter": "42", "gridform-stack": "s1"}));
    }

    #[test]
    fn protection_is_written_kept_when_unsaid_and_cleared_by_false() {
        let d = declared(&[]);
        let tags = owned_tags(&intent(&d, true), None);
        assert_eq!(tags[PROTECT], "true");
        let live = json!({"tags": tags});
        assert!(is_protected(ResourceKind::Topic, &live));
        assert!(protection_wanted(None, ResourceKind::Topic, Some(&live)));
        assert!(!protection_wanted(
            Some(false),
            ResourceKind::Topic,
            Some(&live)
        ));
        let cleared = owned_tags(&intent(&d, false), Some(&live));
        assert!(cleared.get(PROTECT).is_none(), "{cleared}");
    }

    #[test]
    fn labels_follow_the_same_rules() {
        let live = json!({"properties": {"labels": [
            "team-x", "old", "gridform-managed-labels=old,keep", "keep", "gridform-stack=s1", "gridform-protect"
        ]}});
        assert!(is_protected(ResourceKind::EventSubscription, &live));
        let declared = vec!["keep".to_string(), "new".to_string()];
        let labels = owned_labels(
            &LabelIntent {
                declared: &declared,
                stack: "s1",
                protect: protection_wanted(None, ResourceKind::EventSubscription, Some(&live)),
                secrets: Some("salt:abc"),
            },
            Some(&live),
        );
        assert_eq!(
            labels,
            [
                "team-x",
                "keep",
                "new",
                "gridform-stack=s1",
                "gridform-protect",
                "gridform-managed-labels=keep,new",
                "gridform-secrets=salt:abc"
            ]
        );
    }

    #[test]
    fn scopes_are_recorded_per_stack_and_read_back() {
        let d = declared(&[]);
        let scopes = vec![
            "/subscriptions/x/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/a"
                .to_string(),
        ];
        let live = json!({"tags": {"gridform-scope.s2.0000": "/elsewhere", "gridform-scope.s1.dead": "/gone"}});
        let tags = owned_tags(
            &TagIntent {
                scopes: Some(&scopes),
                ..intent(&d, false)
            },
            Some(&live),
        );
        let group = json!({ "tags": tags });
        assert_eq!(recorded_scopes(&group, "s1"), scopes);
        assert_eq!(recorded_scopes(&group, "s2"), ["/elsewhere"]);
    }
}
