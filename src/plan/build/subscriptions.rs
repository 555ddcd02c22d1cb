//! Planning event subscriptions: where they live (maybe on a partner topic known only after
//! apply), their body, and secret parts compared by digest.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::model::spec::*;
use crate::model::{DesiredResource, ResourceSpec};

/// Why a subscription is replaced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Its topic is replaced (and deletes it).
    WithTopic,
    /// One of its immutable fields changed.
    Immutable,
    /// `--replace` names it.
    Requested,
}

impl Why {
    fn reason(self) -> Option<&'static str> {
        match self {
            Self::WithTopic => Some(super::replace::WITH_ITS_TOPIC),
            Self::Immutable => None,
            Self::Requested => Some(super::replace::REQUESTED),
        }
    }
}

impl Builder<'_> {
    pub(super) fn subscription(&mut self, r: &DesiredResource, s: &EventSubscriptionSpec) {
        let Some((parent_dep, at)) = self.subscription_place(r, s) else {
            return;
        };
        let mut deps: Vec<usize> = parent_dep.into_iter().collect();
        deps.extend(self.provider_action);
        let live_id = match &at {
            Locator::Id(id) => Some(id.clone()),
            Locator::PartnerTopicOf { .. } => None,
        };
        let mut live = live_id.as_ref().and_then(|i| self.live.get(i));
        if let Some(i) = &live_id {
            self.claimed.insert(i.clone());
        }
        let mut with_topic =
            parent_dep.is_some_and(|i| self.actions[i].kind == ActionKind::Replace);
        if let (None, Some(t), Locator::PartnerTopicOf { .. }) = (live, &s.topic, &at)
            && t.kind == TopicKind::PartnerTopic
            && let Some(old) = self.replaced_partner_child(&t.name, &r.name)
        {
            live = self.live.get(&old);
            // Deleted with the old partner topic; recreated on the new one.
            self.claimed.insert(old);
            with_topic = true;
        }
        let parts = wire::secret_material(s);
        let live_label = live.and_then(secrets_label);
        let salt = live_label
            .as_deref()
            .and_then(|l| l.split_once(':'))
            .map(|(s, _)| s.to_string())
            .unwrap_or_else(|| self.opts.salt.clone());
        let digest = wire::secret_digest(&parts, &salt);
        let labels = ownership::owned_labels(
            &ownership::LabelIntent {
                declared: &s.labels,
                stack: self.stack,
                protect: ownership::protection_wanted(r.metadata.protect, r.kind, live),
                secrets: digest.as_deref(),
            },
            live,
        );
        let mut body = wire::event_subscription(s, &labels);
        if s.event_delivery_schema.is_none() && self.delivers_cloud_events_only(s) {
            // What Azure stores when the schema is omitted there; said, so it never diffs.
            body["properties"]["eventDeliverySchema"] = json!("CloudEventSchemaV1_0");
        }
        let Some(live) = live else {
            let mut changes = diff(r.kind, None, &body);
            if digest.is_some() {
                changes.push(secret_change());
            }
            let body = RequestBody::from(body);
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
        let body = RequestBody::from(body);
        if let Some(state) = pending {
            changes.push(Change {
                path: "properties.provisioningState".into(),
                before: Some(json!(state)),
                after: Some(json!("Succeeded")),
                sensitive: false,
                forces_replacement: must_recreate(state),
            });
        }
        if let Some(why) = self.why_replaced(r, with_topic, &changes) {
            if self.refuse_protected(r, why) {
                return;
            }
            // A replaced topic takes its subscriptions with it: only the create is left.
            let op = match why {
                Why::WithTopic => Operation::Put { at, body },
                _ => Operation::Replace { at, body },
            };
            let i = self.push(ActionKind::Replace, r, live_id, changes, deps, op);
            self.actions[i].reason = why.reason().map(str::to_string);
            self.ready.insert((r.kind, r.name.clone()), i);
            return;
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

    /// Where the subscription lives: the action its topic waits on, and its locator.
    fn subscription_place(
        &self,
        r: &DesiredResource,
        s: &EventSubscriptionSpec,
    ) -> Option<(Option<usize>, Locator)> {
        match (&s.topic, &s.scope) {
            (Some(t), _) => {
                let kind = match t.kind {
                    TopicKind::Topic => ResourceKind::Topic,
                    TopicKind::SystemTopic => ResourceKind::SystemTopic,
                    TopicKind::PartnerTopic => ResourceKind::PartnerTopic,
                };
                let at = match &r.id {
                    Some(id) => Some(Locator::Id(id.clone())),
                    None => self.partner_locator(&t.name, &r.name),
                };
                Some((self.dep(kind, &t.name), at?))
            }
            (None, Some(_)) => Some((None, Locator::Id(r.id.clone()?))),
            (None, None) => None,
        }
    }

    /// Whether the subscription's topic (a partner topic, a CloudEvents-input topic of this
    /// stack) delivers CloudEvents only.
    fn delivers_cloud_events_only(&self, s: &EventSubscriptionSpec) -> bool {
        let Some(t) = &s.topic else {
            return false;
        };
        let input = match t.kind {
            TopicKind::Topic => self.topic_inputs.get(t.name.as_str()).copied().flatten(),
            _ => None,
        };
        crate::model::subscription::EventDeliverySchema::cloud_events_only(t.kind, input)
    }

    /// Why an existing subscription is deleted and created again, if it is.
    fn why_replaced(
        &self,
        r: &DesiredResource,
        with_topic: bool,
        changes: &[Change],
    ) -> Option<Why> {
        if with_topic {
            Some(Why::WithTopic)
        } else if changes.iter().any(|c| c.forces_replacement) {
            Some(Why::Immutable)
        } else if self.replace_requested(r) {
            Some(Why::Requested)
        } else {
            None
        }
    }

    /// Reports a protected subscription that would be replaced; whether it is one.
    fn refuse_protected(&mut self, r: &DesiredResource, why: Why) -> bool {
        let live = r.id.as_ref().and_then(|id| self.live.get(id));
        if !ownership::protection_wanted(r.metadata.protect, r.kind, live) {
            return false;
        }
        let what = match why {
            Why::WithTopic => "its topic is replaced, which deletes it",
            _ => "it would be replaced",
        };
        let hint =
            "revert the change that forces the replacement, or set `metadata.protect: false`";
        self.error(
            r,
            format!("EventSubscription `{}` is protected but {what}", r.name),
            Some(hint),
        );
        true
    }

    /// With `--refresh-secrets`: does the live full URL or a secret attribute differ?
    pub(super) fn refreshed_secrets_differ(&self, id: Option<&ResourceId>, body: &Value) -> bool {
        let Some(id) = id else { return false };
        let dest = body.pointer("/properties/destination/properties");
        if let (Some(live_url), Some(want)) = (
            self.live.full_urls.get(id),
            dest.and_then(|d| d.get("endpointUrl"))
                .and_then(Value::as_str),
        ) && live_url != want
        {
            return true;
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
