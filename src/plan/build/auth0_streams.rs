//! Ownership of Auth0 log streams in the plan (docs/auth0-streams.md): which live stream a
//! declared one is, the error for a same-name stream this stack did not create, the record tags
//! the partner configuration carries, and deleting streams the stack created and no longer
//! declares (partner topic, then stream, then — when it goes too — the partner configuration).

use serde_json::{Map, Value, json};

use super::*;
use crate::plan::auth0_record::{
    CREATING, StreamOwner, partner_topic_of, record_entries, record_id, record_key, sink_of,
    stream_owner,
};

impl Builder<'_> {
    fn owner(&self, stream: &Value) -> Option<StreamOwner> {
        stream_owner(
            self.live,
            self.stack,
            &self.desired.stack.spec.subscription_id,
            stream,
        )
    }

    fn declared_stream(&self, name: &str) -> Option<&DesiredResource> {
        self.desired.find(ResourceKind::Auth0LogStream, name)
    }

    /// The live stream that the declared stream `r` is, or `Err(())` after reporting a plan error
    /// (a same-name stream this stack did not create, or no partner configuration to record on).
    pub(super) fn live_stream_of(&mut self, r: &DesiredResource) -> Result<Option<&Value>, ()> {
        let live = self.live;
        let Some(stream) = live.auth0_streams.get(&r.name) else {
            if self.record_of(r).is_none() {
                let rg = r.resource_group.clone().unwrap_or_default();
                self.error(r, format!("no PartnerConfiguration document for resource group `{rg}`: gridform records the Auth0 streams it creates on it"),
                    Some("declare the partner configuration that authorizes Auth0 in the stream's resource group"));
                return Err(());
            }
            return Ok(None);
        };
        if self.owner(stream).is_some() || r.metadata.adopt {
            return Ok(Some(stream));
        }
        let sink = sink_of(stream);
        self.error(
            r,
            format!(
                "an Auth0 log stream named `{}` already exists (id `{}`, sink: subscription `{}`, resource group `{}`, region `{}`) and was not created by stack `{}`",
                r.name,
                stream["id"].as_str().unwrap_or_default(),
                sink.subscription,
                sink.resource_group,
                sink.region,
                self.stack
            ),
            Some("set `metadata.adopt: true` on the Auth0LogStream to take it over (gridform then records it as this stack's), or give the stream another name"),
        );
        Err(())
    }

    /// The partner configuration that records this stream, when the manifests declare it.
    pub(super) fn record_of(&self, r: &DesiredResource) -> Option<ResourceId> {
        let rg = r.resource_group.as_deref()?;
        self.declared_config_in(rg)
            .map(|_| record_id(&self.desired.stack.spec.subscription_id, rg))
    }

    /// The record tags the partner configuration `id` (resource group `rg`) should carry: every
    /// live stream there that is ours (or adopted) by id, `creating` kept for declared streams not
    /// created yet; entries naming nothing are dropped.
    pub(super) fn record_tags(&self, id: &ResourceId, rg: &str) -> Map<String, Value> {
        let live_entries = record_entries(self.live.get(id), self.stack);
        let sub = &self.desired.stack.spec.subscription_id;
        let mut tags = Map::new();
        for stream in self.live.auth0_streams.values() {
            let sink = sink_of(stream);
            let here = sink.subscription.eq_ignore_ascii_case(sub)
                && sink.resource_group.eq_ignore_ascii_case(rg);
            let name = stream["name"].as_str().unwrap_or_default();
            let adopted = self.declared_stream(name).is_some_and(|d| d.metadata.adopt);
            if here && (adopted || self.owner(stream).is_some()) {
                tags.insert(record_key(name), stream["id"].clone());
            }
        }
        for (key, value) in live_entries {
            let pending = value.as_str() == Some(CREATING)
                && self.desired.resources.iter().any(|d| {
                    d.kind == ResourceKind::Auth0LogStream
                        && record_key(&d.name) == key
                        && d.resource_group
                            .as_deref()
                            .is_some_and(|g| g.eq_ignore_ascii_case(rg))
                });
            if pending {
                tags.entry(key).or_insert(value);
            }
        }
        tags
    }

    /// Streams this stack created that the manifests no longer declare: their partner topic is
    /// deleted, then the stream, then (when it goes too) the partner configuration recording it.
    pub(super) fn prune_auth0_streams(&mut self, unmanaged: &mut Vec<Unmanaged>) {
        let live = self.live;
        for (name, stream) in &live.auth0_streams {
            if self.declared_stream(name).is_some() || self.owner(stream).is_none() {
                continue;
            }
            let topic = partner_topic_of(stream).filter(|t| live.get(t).is_some());
            if let Some(t) = &topic {
                self.delete_partner_topic_of(
                    t,
                    unmanaged,
                    "the partner topic of an Auth0 stream this stack created",
                );
            }
            let sink = sink_of(stream);
            let record = record_id(
                &self.desired.stack.spec.subscription_id,
                sink.resource_group,
            );
            let index = self.actions.len();
            self.actions.push(Action {
                index,
                kind: ActionKind::Delete,
                target: ActionTarget {
                    kind: ResourceKind::Auth0LogStream,
                    name: name.clone(),
                    id: None,
                },
                changes: vec![],
                depends_on: self.config_action(&record).into_iter().collect(),
                reason: Some("created by this stack and no longer in the manifests".into()),
                operation: Operation::DeleteLogStream {
                    stream_id: stream["id"].as_str().unwrap_or_default().to_string(),
                    record: Some(record),
                    partner_topic: topic,
                },
            });
        }
    }

    /// The non-delete action on the partner configuration `id`, if the plan has one.
    pub(super) fn config_action(&self, id: &ResourceId) -> Option<usize> {
        self.actions
            .iter()
            .find(|a| a.target.id.as_ref() == Some(id) && a.kind != ActionKind::Delete)
            .map(|a| a.index)
    }

    /// A pruned stream's (or Graph subscription's) partner topic: prune already deletes it when
    /// it carries our marker; an unmarked one (never activated) is deleted too unless others
    /// subscribed to it.
    pub(super) fn delete_partner_topic_of(
        &mut self,
        topic: &ResourceId,
        unmanaged: &mut Vec<Unmanaged>,
        reason: &str,
    ) {
        let planned = self
            .actions
            .iter()
            .any(|a| a.target.id.as_ref() == Some(topic) && a.kind == ActionKind::Delete);
        let foreign_children = unmanaged
            .iter()
            .any(|u| u.id.parent().as_ref() == Some(topic));
        if planned || foreign_children {
            return;
        }
        unmanaged.retain(|u| u.id != *topic);
        let index = self.actions.len();
        self.actions.push(Action {
            index,
            kind: ActionKind::Delete,
            target: ActionTarget {
                kind: ResourceKind::PartnerTopic,
                name: topic.name().to_string(),
                id: Some(topic.clone()),
            },
            changes: vec![],
            depends_on: vec![],
            reason: Some(reason.into()),
            operation: Operation::Delete {
                at: Locator::Id(topic.clone()),
            },
        });
    }
}

/// Orders the deletes around Auth0 streams and Graph subscriptions: each one's delete waits for
/// its partner topic's, and the delete of the partner configuration that records it waits for
/// it (so that a crash never loses the record of something that still exists). Actions are then
/// renumbered so that every action comes after the ones it waits for.
pub fn order_auth0_deletes(actions: &mut Vec<Action>) {
    if !actions.iter().any(|a| {
        matches!(
            a.operation,
            Operation::DeleteLogStream { .. } | Operation::DeleteGraphSubscription { .. }
        )
    }) {
        return;
    }
    let index_of = |actions: &[Action], id: &ResourceId| {
        actions
            .iter()
            .position(|a| a.kind == ActionKind::Delete && a.target.id.as_ref() == Some(id))
    };
    for s in 0..actions.len() {
        let (Operation::DeleteLogStream {
            record,
            partner_topic,
            ..
        }
        | Operation::DeleteGraphSubscription {
            record,
            partner_topic,
            ..
        }) = &actions[s].operation
        else {
            continue;
        };
        let (record, topic) = (record.clone(), partner_topic.clone());
        if let Some(t) = topic.and_then(|t| index_of(actions, &t)) {
            actions[s].depends_on.push(t);
        }
        if let Some(c) = record.and_then(|r| index_of(actions, &r)) {
            actions[c].depends_on.push(s);
        }
    }
    renumber_in_dependency_order(actions);
}

/// Stable topological order (Kahn's, lowest index first); indices and `depends_on` rewritten.
/// Actions left in a cycle (never built) keep their relative order at the end.
fn renumber_in_dependency_order(actions: &mut Vec<Action>) {
    let n = actions.len();
    let mut waiting: Vec<usize> = actions.iter().map(|a| a.depends_on.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, a) in actions.iter().enumerate() {
        for d in &a.depends_on {
            match dependents.get_mut(*d) {
                Some(list) => list.push(i),
                None => waiting[i] = waiting[i].saturating_sub(1),
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|i| waiting[*i] == 0).collect();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for j in &dependents[i] {
            waiting[*j] = waiting[*j].saturating_sub(1);
            if waiting[*j] == 0 {
                ready.insert(*j);
            }
        }
    }
    let mut placed = vec![false; n];
    for i in &order {
        placed[*i] = true;
    }
    order.extend((0..n).filter(|i| !placed[*i]));
    let mut new_index = vec![0; n];
    for (new, old) in order.iter().enumerate() {
        new_index[*old] = new;
    }
    let mut old: Vec<Option<Action>> = std::mem::take(actions).into_iter().map(Some).collect();
    for (new, o) in order.into_iter().enumerate() {
        let Some(mut a) = old[o].take() else { continue };
        a.index = new;
        let mut deps: Vec<usize> = a
            .depends_on
            .iter()
            .filter(|d| **d < n)
            .map(|d| new_index[*d])
            .collect();
        deps.sort_unstable();
        deps.dedup();
        a.depends_on = deps;
        actions.push(a);
    }
}

/// The record tags merged into a partner configuration body.
pub(super) fn with_record_tags(mut body: Value, record: Map<String, Value>) -> Value {
    if record.is_empty() {
        return body;
    }
    if !body["tags"].is_object() {
        body["tags"] = json!({});
    }
    if let Some(tags) = body["tags"].as_object_mut() {
        tags.extend(record);
    }
    body
}
