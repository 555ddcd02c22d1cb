//! Extension scopes: the ARM ids outside the manifests that hold this stack's extension event
//! subscriptions (`spec.scope`) are recorded as tags on the stack's resource group, so that a
//! subscription whose document is removed is still found (and pruned) by a later plan.
//!
//! It plans only the record (one PATCH of the group's tags, or the tags of the group's own PUT
//! when the stack declares the group); pruning decides about the subscriptions themselves.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::model::ResourceSpec;

impl Builder<'_> {
    /// The stack's resource group id (`spec.resourceGroup` of the Stack), if it names one.
    pub(super) fn stack_group(&self) -> Option<ResourceId> {
        let spec = &self.desired.stack.spec;
        let group = spec.resource_group.as_deref()?;
        Some(ResourceId::resource_group(&spec.subscription_id, group))
    }

    /// The extension scopes the manifests declare subscriptions on.
    pub(super) fn declared_scopes(&self) -> BTreeSet<ResourceId> {
        self.desired
            .resources
            .iter()
            .filter_map(|r| match &r.spec {
                ResourceSpec::EventSubscription(s) => s.scope.as_deref(),
                _ => None,
            })
            .filter_map(|s| ResourceId::parse(s).ok())
            .collect()
    }

    /// The scopes recorded on the live stack resource group for this stack.
    pub(super) fn recorded_scopes(&self) -> BTreeSet<ResourceId> {
        self.stack_group()
            .and_then(|g| self.live.get(&g))
            .map(|g| ownership::recorded_scopes(g, self.stack))
            .unwrap_or_default()
            .iter()
            .filter_map(|s| ResourceId::parse(s).ok())
            .collect()
    }

    /// The record to write: declared scopes, plus recorded ones that still hold an owned
    /// subscription this plan keeps (protected).
    fn wanted_scopes(&self) -> BTreeSet<ResourceId> {
        let mut wanted = self.declared_scopes();
        for k in &self.kept {
            if let Some(parent) = k.id.parent()
                && self.recorded_scopes().contains(&parent)
            {
                wanted.insert(parent);
            }
        }
        wanted
    }

    /// `Some(record)` when `r` is the stack's resource group: its PUT keeps the live record
    /// (the record's own PATCH, planned after it, updates it).
    pub(super) fn scope_record_for(&self, r: &DesiredResource) -> Option<Vec<String>> {
        (r.kind == ResourceKind::ResourceGroup && r.id.is_some() && r.id == self.stack_group())
            .then(|| {
                self.recorded_scopes()
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            })
    }

    /// Plans the PATCH of the record, after the group's own PUT and the deletes of pruned
    /// extension subscriptions; creates of extension subscriptions wait for it.
    pub(super) fn record_scopes(&mut self) {
        let Some(group) = self.stack_group() else {
            return;
        };
        let wanted = self.wanted_scopes();
        if wanted == self.recorded_scopes() {
            return;
        }
        let group_action = self
            .actions
            .iter()
            .position(|a| a.target.id.as_ref() == Some(&group) && a.kind != ActionKind::Delete);
        let base = match group_action.map(|i| &self.actions[i].operation) {
            Some(Operation::Put { body, .. } | Operation::Replace { body, .. }) => body.as_value(),
            _ => match self.live.get(&group) {
                Some(live) => live.clone(),
                // No group to record on (and nothing recorded): the subscriptions are
                // still found while their documents exist.
                None => return,
            },
        };
        let prefix = format!("{}.{}.", ownership::SCOPE_TAG, self.stack);
        let mut tags = base
            .get("tags")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let before = Value::Object(tags.clone());
        tags.retain(|k, _| !k.starts_with(&prefix));
        for s in &wanted {
            tags.insert(
                ownership::scope_tag_key(self.stack, s.as_str()),
                json!(s.as_str()),
            );
        }
        let changes = diff(
            ResourceKind::ResourceGroup,
            Some(&json!({ "tags": before })),
            &json!({ "tags": tags }),
        );
        let is_scope_sub = |a: &Action| {
            a.target.kind == ResourceKind::EventSubscription
                && a.target
                    .id
                    .as_ref()
                    .and_then(ResourceId::parent)
                    .is_some_and(|p| wanted.contains(&p) || self.recorded_scopes().contains(&p))
        };
        let mut depends_on: Vec<usize> = group_action.into_iter().collect();
        depends_on.extend(
            self.actions
                .iter()
                .filter(|a| a.kind == ActionKind::Delete && is_scope_sub(a))
                .map(|a| a.index),
        );
        let creates: Vec<usize> = self
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Create && is_scope_sub(a))
            .map(|a| a.index)
            .collect();
        let index = self.actions.len();
        self.actions.push(Action {
            index,
            kind: ActionKind::Update,
            target: ActionTarget {
                kind: ResourceKind::ResourceGroup,
                name: group.name().to_string(),
                id: Some(group.clone()),
            },
            changes,
            depends_on,
            reason: Some("record where this stack's extension event subscriptions live".into()),
            operation: Operation::Patch {
                at: Locator::Id(group),
                body: json!({ "tags": tags }).into(),
            },
        });
        for c in creates {
            self.actions[c].depends_on.push(index);
        }
    }
}
