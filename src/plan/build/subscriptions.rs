//! Planning event subscriptions: where they live (maybe on a partner topic known only after
//! apply), their body, and secret parts compared by digest.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::model::spec::*;
use crate::model::{DesiredResource, ResourceSpec};

impl Builder<'_> {
    pub(super) fn subscription(&mut self, r: &DesiredResource, s: &EventSubscriptionSpec) {
        // Where the subscription lives.
        let (parent_dep, at) = match (&s.topic, &s.scope) {
            (Some(t), _) => {
                let kind = match t.kind {
                    TopicKind::Topic => ResourceKind::Topic,
                    TopicKind::SystemTopic => ResourceKind::SystemTopic,
                    TopicKind::PartnerTopic => ResourceKind::PartnerTopic,
                };
                let dep = self.dep(kind, &t.name);
                let at = match &r.id {
                    Some(id) => Some(Locator::Id(id.clone())),
                    None => self.partner_locator(&t.name, &r.name),
                };
                (dep, at)
            }
            (None, Some(_)) => (None, r.id.clone().map(Locator::Id)),
            (None, None) => (None, None),
        };
        let Some(at) = at else { return };
        let mut deps: Vec<usize> = parent_dep.into_iter().collect();
        deps.extend(self.provider_action);
        let live_id = match &at {
            Locator::Id(id) => Some(id.clone()),
            Locator::PartnerTopicOf { .. } => None,
        };
        let live = live_id.as_ref().and_then(|i| self.live.get(i));
        if let Some(i) = &live_id {
            self.claimed.insert(i.clone());
        }
        let parts = wire::secret_material(s);
        let live_label = live.and_then(secrets_label);
        let salt = live_label
            .as_deref()
            .and_then(|l| l.split_once(':'))
            .map(|(s, _)| s.to_string())
            .unwrap_or_else(|| self.opts.salt.clone());
        let digest = wire::secret_digest(&parts, &salt);
        let labels = wire::subscription_labels(s, self.stack, digest.as_deref());
        let body = wire::event_subscription(s, &labels);
        let Some(live) = live else {
            let mut changes = diff(r.kind, None, &body);
            if digest.is_some() {
                changes.push(secret_change());
            }
            let i = self.push(
                ActionKind::Create,
                r,
                live_id,
                changes,
                deps,
                Operation::Put { at, body },
            );
            self.ready.insert((r.kind, r.name.clone()), i);
            return;
        };
        let Some(adopting) = self.check_owner(r, live) else {
            return;
        };
        let mut changes = diff(r.kind, Some(live), &body);
        let mut secrets_differ = live_label != digest;
        if self.opts.refresh_secrets {
            secrets_differ |= self.refreshed_secrets_differ(live_id.as_ref(), &body);
        }
        if secrets_differ {
            changes.push(secret_change());
        }
        // Not `Succeeded` (a webhook handshake left undone, a failed provisioning): still to do.
        let pending = unfinished_state(live);
        if let Some(state) = pending {
            changes.push(Change {
                path: "properties.provisioningState".into(),
                before: Some(json!(state)),
                after: Some(json!("Succeeded")),
                sensitive: false,
                forces_replacement: must_recreate(state),
            });
        }
        if changes.is_empty() && !adopting {
            return;
        }
        let (kind, operation) = match pending {
            // Azure keeps a subscription whose manual validation lapsed `Failed`: recreate it.
            Some(state) if must_recreate(state) => {
                (ActionKind::Replace, Operation::Replace { at, body })
            }
            _ if adopting => (ActionKind::Adopt, Operation::Put { at, body }),
            _ => (ActionKind::Update, Operation::Put { at, body }),
        };
        let i = self.push(kind, r, live_id, changes, deps, operation);
        if let Some(state) = pending {
            self.actions[i].reason = Some(format!("provisioningState is {state}"));
        }
        self.ready.insert((r.kind, r.name.clone()), i);
    }

    /// With `--refresh-secrets`: does the live full URL or a secret attribute differ?
    pub(super) fn refreshed_secrets_differ(&self, id: Option<&ResourceId>, body: &Value) -> bool {
        let Some(id) = id else { return false };
        let dest = body.pointer("/properties/destination/properties");
        if let (Some(live_url), Some(want)) = (
            self.live.full_urls.get(id),
            dest.and_then(|d| d.get("endpointUrl"))
                .and_then(Value::as_str),
        ) {
            if live_url != want {
                return true;
            }
        }
        if let (Some(live_attrs), Some(want)) = (
            self.live.delivery_attributes.get(id),
            dest.and_then(|d| d.get("deliveryAttributeMappings")),
        ) {
            let secret_values = |v: &Value| -> BTreeSet<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m.pointer("/properties/isSecret") == Some(&json!(true)))
                    .map(|m| {
                        format!(
                            "{}={}",
                            m["name"],
                            m.pointer("/properties/value")
                                .cloned()
                                .unwrap_or(Value::Null)
                        )
                    })
                    .collect()
            };
            let live_list = live_attrs.get("value").unwrap_or(live_attrs);
            if secret_values(live_list) != secret_values(want) {
                return true;
            }
        }
        false
    }

    pub(super) fn partner_locator(&self, topic_handle: &str, name: &str) -> Option<Locator> {
        let t = self
            .desired
            .find(ResourceKind::PartnerTopic, topic_handle)?;
        let ResourceSpec::PartnerTopic(ps) = &t.spec else {
            return None;
        };
        let stream = ps.from_auth0_log_stream.clone()?;
        let rg = t.resource_group.clone().unwrap_or_default();
        // Known now if the stream already names its topic.
        let topic_name = self
            .live
            .auth0_streams
            .get(&stream)
            .and_then(|b| b.pointer("/sink/azurePartnerTopic"))
            .and_then(Value::as_str);
        match topic_name {
            Some(n)
                if self
                    .dep(ResourceKind::Auth0LogStream, &stream)
                    .is_none_or(|i| self.actions[i].kind != ActionKind::Replace) =>
            {
                let id = ResourceId::resource_group(&self.desired.stack.spec.subscription_id, &rg)
                    .provider_resource(EG, "partnerTopics", n)
                    .child("eventSubscriptions", name);
                Some(Locator::Id(id))
            }
            _ => Some(Locator::PartnerTopicOf {
                subscription_id: self.desired.stack.spec.subscription_id.clone(),
                stream,
                resource_group: rg,
                child: Some(format!("eventSubscriptions/{name}")),
            }),
        }
    }
}

/// The live `provisioningState` when it is not `Succeeded` (none counts as done).
fn unfinished_state(live: &Value) -> Option<&str> {
    live.pointer("/properties/provisioningState")
        .and_then(Value::as_str)
        .filter(|s| !s.eq_ignore_ascii_case("Succeeded"))
}

/// States a PUT does not leave: the subscription must be deleted and created again.
fn must_recreate(state: &str) -> bool {
    ["Failed", "Canceled", "Cancelled"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(state))
}
