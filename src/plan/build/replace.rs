//! Replacements: which resources `--replace` names (and whether they can be replaced), whether a
//! replacement may go ahead (protection, subscriptions the stack does not manage), and the
//! subscriptions that a replaced parent takes with it. Which fields force a replacement is
//! `plan::immutable`'s table.

use super::*;
use crate::model::DesiredResource;

/// Why a subscription is replaced although its own fields could change in place.
pub(super) const WITH_ITS_TOPIC: &str = "replaced with its topic";
/// The reason shown when only `--replace` asks for the replacement.
pub(super) const REQUESTED: &str = "replacement requested";

impl Builder<'_> {
    /// Whether `--replace` names `r`.
    pub(super) fn replace_requested(&self, r: &DesiredResource) -> bool {
        self.opts
            .force_replace
            .iter()
            .any(|(kind, name)| *kind == r.kind && *name == r.name)
    }

    /// Every `--replace` must name a declared resource of a kind that can be replaced.
    pub(super) fn check_force_replace(&mut self) {
        for (kind, name) in &self.opts.force_replace {
            let target = format!("--replace {kind}/{name}");
            if !super::REPLACEABLE_KINDS.contains(kind) {
                let hint = match kind {
                    ResourceKind::PartnerTopic => {
                        "the partner creates its topic: replace the Auth0LogStream that asks for it"
                    }
                    _ => {
                        "only Topic, SystemTopic, EventSubscription, Auth0LogStream and GraphSubscription can be replaced"
                    }
                };
                self.errors.push(PlanError {
                    target,
                    message: format!("a {kind} cannot be replaced"),
                    hint: Some(hint.into()),
                });
            } else if self.desired.find(*kind, name).is_none() {
                self.errors.push(PlanError {
                    target,
                    message: format!("no {kind} named `{name}` in the manifests"),
                    hint: Some("name a resource as `KIND/metadata.name`".into()),
                });
            }
        }
    }

    /// Whether `r` (live at `id`) may be deleted and created again; reports why not.
    pub(super) fn may_replace(&mut self, r: &DesiredResource, id: &ResourceId) -> bool {
        // Protection recorded on the live resource counts until a manifest says `false`.
        if ownership::protection_wanted(r.metadata.protect, r.kind, self.live.get(id)) {
            self.error(
                r,
                format!("{} `{}` is protected but would be replaced", r.kind, r.name),
                Some(
                    "revert the immutable field or drop `--replace`, or set `metadata.protect: false` (protection is recorded on the resource)",
                ),
            );
            return false;
        }
        // Deleting a topic deletes every subscription on it.
        if !matches!(r.kind, ResourceKind::Topic | ResourceKind::SystemTopic) {
            return true;
        }
        let foreign: Vec<String> = self
            .live
            .resources
            .iter()
            .filter(|(child, _)| child.parent().as_ref() == Some(id))
            .filter(|(_, body)| {
                !matches!(
                    ownership_of(ResourceKind::EventSubscription, body, self.stack),
                    Ownership::Ours
                )
            })
            .map(|(child, _)| format!("`{}`", child.name()))
            .collect();
        if !foreign.is_empty() {
            self.error(
                r,
                format!(
                    "replacing {} `{}` would delete event subscriptions this stack does not manage: {}",
                    r.kind,
                    r.name,
                    foreign.join(", ")
                ),
                Some("declare them in the manifests (with `metadata.adopt: true`), or move them first"),
            );
            return false;
        }
        true
    }

    /// The old subscription `name` on the partner topic of `topic_handle` when that topic is
    /// replaced through its Auth0 stream: the stream's replacement makes the partner create a
    /// new topic, and the old one (deleted with its subscriptions) is left behind.
    pub(super) fn replaced_partner_child(
        &self,
        topic_handle: &str,
        name: &str,
    ) -> Option<ResourceId> {
        let t = self
            .desired
            .find(ResourceKind::PartnerTopic, topic_handle)?;
        let crate::model::ResourceSpec::PartnerTopic(ps) = &t.spec else {
            return None;
        };
        let stream = ps.from_auth0_log_stream.as_deref()?;
        let action = self.dep(ResourceKind::Auth0LogStream, stream)?;
        if self.actions[action].kind != ActionKind::Replace {
            return None;
        }
        let old_topic = self
            .live
            .auth0_streams
            .get(stream)?
            .pointer("/sink/azurePartnerTopic")?
            .as_str()?;
        let rg = t.resource_group.clone().unwrap_or_default();
        let id = ResourceId::resource_group(&self.desired.stack.spec.subscription_id, &rg)
            .provider_resource(EG, "partnerTopics", old_topic)
            .child("eventSubscriptions", name);
        self.live.get(&id).map(|_| id)
    }
}
