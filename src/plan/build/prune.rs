//! Pruning: owned live resources the manifests no longer declare become deletes; unowned ones
//! are listed and left alone; protected ones (recorded on the resource) are kept and listed.

use std::collections::BTreeSet;

use super::*;

impl Builder<'_> {
    /// Owned live resources that the manifests no longer declare become deletes; unowned ones are
    /// listed and left alone.
    pub(super) fn prune(&mut self) -> Vec<Unmanaged> {
        let mut unmanaged = Vec::new();
        let mut deletes: Vec<(ResourceId, ResourceKind)> = Vec::new();
        let groups: BTreeSet<String> = self
            .live
            .listed_groups
            .iter()
            .map(|g| g.to_ascii_lowercase())
            .collect();
        let mut managed_parents: BTreeSet<ResourceId> = self.claimed.iter().cloned().collect();
        // Extension scopes: declared now, or recorded on the stack's group by an earlier apply.
        managed_parents.extend(self.declared_scopes());
        managed_parents.extend(self.recorded_scopes());
        for (id, body) in &self.live.resources {
            if self.claimed.contains(id) {
                continue;
            }
            let kind = kind_of(id);
            let in_scope = match kind {
                ResourceKind::EventSubscription => id.parent().is_some_and(|p| {
                    managed_parents.contains(&p) || deletes.iter().any(|(d, _)| *d == p)
                }),
                ResourceKind::ResourceGroup | ResourceKind::ProviderRegistration => false,
                _ => id
                    .resource_group_name()
                    .is_some_and(|g| groups.contains(&g.to_ascii_lowercase())),
            };
            if !in_scope {
                continue;
            }
            match ownership_of(kind, body, self.stack) {
                Ownership::Ours if ownership::is_protected(kind, body) => self.kept.push(Unmanaged {
                    id: id.clone(),
                    reason: "protected (`gridform-protect`): kept although no document declares it; apply it with `metadata.protect: false` to release it".into(),
                }),
                Ownership::Ours => deletes.push((id.clone(), kind)),
                Ownership::Unmarked => unmanaged.push(Unmanaged {
                    id: id.clone(),
                    reason: "no gridform marker".into(),
                }),
                Ownership::Other(s) => unmanaged.push(Unmanaged {
                    id: id.clone(),
                    reason: format!("managed by stack `{s}`"),
                }),
            }
        }
        // Deleting a topic deletes every subscription on it: keep a topic that carries
        // subscriptions we do not own, and say why.
        let parents_of_unmanaged: BTreeSet<ResourceId> =
            unmanaged.iter().filter_map(|u| u.id.parent()).collect();
        let parents_of_kept: BTreeSet<ResourceId> =
            self.kept.iter().filter_map(|u| u.id.parent()).collect();
        deletes.retain(|(id, _)| {
            if parents_of_kept.contains(id) {
                self.kept.push(Unmanaged {
                    id: id.clone(),
                    reason: "owned, but kept: it carries a protected event subscription".into(),
                });
                return false;
            }
            let keep = parents_of_unmanaged.contains(id);
            if keep {
                unmanaged.push(Unmanaged {
                    id: id.clone(),
                    reason:
                        "owned, but kept: it carries event subscriptions this stack does not manage"
                            .into(),
                });
            }
            !keep
        });
        // Children first: a topic's delete waits for its subscriptions' deletes.
        deletes.sort_by_key(|(id, kind)| (*kind != ResourceKind::EventSubscription, id.clone()));
        // Deletes planned so far, by parent: a lookup per topic, not a scan of every delete.
        let mut children_of: HashMap<ResourceId, Vec<usize>> = HashMap::new();
        for (id, kind) in deletes {
            let deps: Vec<usize> = children_of.remove(&id).unwrap_or_default();
            let index = self.actions.len();
            self.actions.push(Action {
                index,
                kind: ActionKind::Delete,
                target: ActionTarget {
                    kind,
                    name: id.name().to_string(),
                    id: Some(id.clone()),
                },
                changes: vec![],
                depends_on: deps,
                reason: Some("owned by this stack and no longer in the manifests".into()),
                operation: Operation::Delete {
                    at: Locator::Id(id.clone()),
                },
            });
            if let Some(parent) = id.parent() {
                children_of.entry(parent).or_default().push(index);
            }
        }
        unmanaged
    }
}
