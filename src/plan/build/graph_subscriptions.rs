//! Planning Microsoft Graph subscriptions (docs/graph-partner.md): which live subscription a
//! declared one is (ownership as for Auth0 streams, `plan::graph_record`), create, renew within
//! `renewBefore` (the plan's time is the server's), update the notification URL in place,
//! replace on the fields Graph cannot change (`plan::immutable`), the record tags of the partner
//! configuration, and deleting the subscriptions this stack created and no longer declares.
//! `clientState` is compared by value but every change of it is `sensitive`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::*;
use crate::model::graph::{GraphSubscriptionSpec, change_type_text};
use crate::plan::graph_record::{
    CREATING, EventGridTarget, GraphMatch, declared_target, graph_entries, graph_owner,
    match_declared, record_id, record_key, recorded_handle, target_of,
};

/// `now + seconds`, saturating.
fn after(now: DateTime<Utc>, seconds: u64) -> DateTime<Utc> {
    chrono::TimeDelta::try_seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The expiry of a live Graph subscription.
fn expiry_of(live: &Value) -> Option<DateTime<Utc>> {
    live["expirationDateTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn graph_spec(r: &DesiredResource) -> Option<&GraphSubscriptionSpec> {
    match &r.spec {
        ResourceSpec::GraphSubscription(s) => Some(s),
        _ => None,
    }
}

impl<'a> Builder<'a> {
    /// The partner topic the declared subscription `r` notifies.
    pub(super) fn graph_target(
        &self,
        r: &DesiredResource,
        s: &GraphSubscriptionSpec,
    ) -> EventGridTarget {
        declared_target(self.desired, r, s)
    }

    /// The live subscription the declared `r` is, with `metadata.adopt` applied: `Ours` for
    /// an adopted foreign one.
    fn graph_match(&self, r: &DesiredResource, s: &GraphSubscriptionSpec) -> GraphMatch<'a> {
        let live: &'a LiveState = self.live;
        match match_declared(live, self.stack, &r.name, &self.graph_target(r, s)) {
            GraphMatch::Foreign(id, body) if r.metadata.adopt => GraphMatch::Ours(id, body),
            other => other,
        }
    }

    fn declared_graph(&self) -> impl Iterator<Item = (&DesiredResource, &GraphSubscriptionSpec)> {
        self.desired
            .resources
            .iter()
            .filter_map(|r| graph_spec(r).map(|s| (r, s)))
    }

    /// The body Graph gets on create (and, on renewal, its `expirationDateTime`).
    fn graph_body(&self, target: &EventGridTarget, s: &GraphSubscriptionSpec) -> Value {
        let url = target.url();
        let expiry = after(self.opts.now, s.lifetime().as_secs());
        let mut body = json!({
            "changeType": s.change_type_text(),
            "resource": s.resource,
            "notificationUrl": url,
            "expirationDateTime": rfc3339(expiry),
            "clientState": s.client_state.expose(),
            "includeResourceData": s.resource_data(),
        });
        if s.lifecycle() {
            body["lifecycleNotificationUrl"] = json!(url);
        }
        body
    }

    pub(super) fn graph_subscription(&mut self, r: &DesiredResource, s: &GraphSubscriptionSpec) {
        // Without a Graph application the live subscriptions are unknown: planning a create
        // could make a second one.
        if self.live.graph_source.is_none() {
            self.error(r, "no Microsoft Graph application is connected, so gridform cannot read the Graph subscriptions".into(),
                Some("give gridform Microsoft Graph credentials (the same service principal, with the Graph permissions the resource needs)"));
            return;
        }
        let target = self.graph_target(r, s);
        let rg = target.resource_group.clone();
        let Some(record) = self.graph_record_of(&rg) else {
            self.error(r, format!("no PartnerConfiguration document for resource group `{rg}`: Microsoft Graph creates its partner topic only where one authorizes it, and gridform records the Graph subscriptions it creates on it"),
                Some("declare the partner configuration that authorizes `MicrosoftGraphAPI` in the subscription's resource group"));
            return;
        };
        let mut deps: Vec<usize> = self.config_action_in(&rg).into_iter().collect();
        deps.extend(self.group_deps(Some(&rg)));
        let body = self.graph_body(&target, s);
        let (graph_id, live) = match self.graph_match(r, s) {
            GraphMatch::Missing => {
                let changes = created_changes(&body);
                let op = Operation::CreateGraphSubscription {
                    handle: r.name.clone(),
                    body,
                    record: Some(record),
                };
                let i = self.push(ActionKind::Create, r, None, changes, deps, op);
                self.ready.insert((r.kind, r.name.clone()), i);
                return;
            }
            GraphMatch::Foreign(id, live) => {
                self.error(r, format!(
                    "a Microsoft Graph subscription (id `{id}`, resource `{}`) already notifies partner topic `{}` in resource group `{rg}` and was not created by stack `{}`",
                    live["resource"].as_str().unwrap_or_default(), target.partner_topic, self.stack),
                    Some("set `metadata.adopt: true` on the GraphSubscription to take it over (gridform then records it as this stack's), or use another `spec.partnerTopic`"));
                return;
            }
            GraphMatch::Ours(id, live) => (id.to_string(), live),
        };
        let changes = graph_changes(live, &body);
        let requested = self.replace_requested(r);
        if changes.iter().any(|c| c.forces_replacement) || requested {
            if r.metadata.protected() {
                self.error(r, format!("GraphSubscription `{}` is protected but would be replaced (Graph cannot change `resource`, `changeType`, `clientState`, `includeResourceData` or `lifecycleNotificationUrl` in place)", r.name),
                    Some("revert those fields or drop `--replace`, or remove `metadata.protect`"));
                return;
            }
            let op = Operation::ReplaceGraphSubscription {
                handle: r.name.clone(),
                graph_id,
                body,
                record: Some(record),
            };
            let i = self.push(ActionKind::Replace, r, None, changes, deps, op);
            if requested && !self.actions[i].changes.iter().any(|c| c.forces_replacement) {
                self.actions[i].reason = Some(super::replace::REQUESTED.into());
            }
            self.ready.insert((r.kind, r.name.clone()), i);
            return;
        }
        self.renew_or_update(r, s, (graph_id, live), &body, deps);
    }

    /// A PATCH when the notification URL changed or the expiry is within `renewBefore`; the
    /// changes are then only those Graph patches in place.
    fn renew_or_update(
        &mut self,
        r: &DesiredResource,
        s: &GraphSubscriptionSpec,
        (graph_id, live): (String, &Value),
        body: &Value,
        deps: Vec<usize>,
    ) {
        let mut changes = graph_changes(live, body);
        let mut patch = Map::new();
        if !changes.is_empty() {
            patch.insert("notificationUrl".into(), body["notificationUrl"].clone());
        }
        let expiry = expiry_of(live);
        let window = chrono::TimeDelta::try_seconds(
            i64::try_from(s.renew_window().as_secs()).unwrap_or(i64::MAX),
        )
        .unwrap_or(chrono::TimeDelta::MAX);
        let renew = expiry.is_none_or(|t| t.signed_duration_since(self.opts.now) < window);
        if renew {
            patch.insert(
                "expirationDateTime".into(),
                body["expirationDateTime"].clone(),
            );
            changes.push(Change {
                path: "expirationDateTime".into(),
                before: live.get("expirationDateTime").cloned(),
                after: Some(body["expirationDateTime"].clone()),
                sensitive: false,
                forces_replacement: false,
            });
        }
        if patch.is_empty() {
            return;
        }
        let kind = if r.metadata.adopt && !self.graph_recorded(r, &graph_id) {
            ActionKind::Adopt
        } else if changes.len() == 1 && renew {
            ActionKind::Renew
        } else {
            ActionKind::Update
        };
        let op = Operation::PatchGraphSubscription {
            graph_id,
            body: Value::Object(patch),
        };
        let i = self.push(kind, r, None, changes, deps, op);
        if renew {
            self.actions[i].reason = Some(match expiry {
                Some(t) => format!(
                    "expires in {}",
                    humanize(t.signed_duration_since(self.opts.now))
                ),
                None => "no expiry known".into(),
            });
        }
        self.ready.insert((r.kind, r.name.clone()), i);
    }

    fn graph_recorded(&self, r: &DesiredResource, graph_id: &str) -> bool {
        let sub = &self.desired.stack.spec.subscription_id;
        let rg = r.resource_group.as_deref().unwrap_or_default();
        graph_entries(self.live, self.stack, sub, rg)
            .get(&record_key(&r.name))
            .and_then(Value::as_str)
            == Some(graph_id)
    }

    /// The partner configuration recording Graph subscriptions in `rg`, when it is declared.
    fn graph_record_of(&self, rg: &str) -> Option<ResourceId> {
        self.declared_config_in(rg)
            .map(|_| record_id(&self.desired.stack.spec.subscription_id, rg))
    }

    /// The Graph record tags the partner configuration of `rg` should carry: every declared
    /// subscription there that exists (ours or adopted) by id, `creating` kept for declared
    /// ones not created yet, entries of live subscriptions no longer declared kept until their
    /// delete drops them; entries naming nothing are dropped.
    pub(super) fn graph_record_tags(&self, rg: &str) -> Map<String, Value> {
        let sub = &self.desired.stack.spec.subscription_id;
        let mut tags = Map::new();
        let declared_here: Vec<(&DesiredResource, &GraphSubscriptionSpec)> = self
            .declared_graph()
            .filter(|(r, _)| {
                r.resource_group
                    .as_deref()
                    .is_some_and(|g| g.eq_ignore_ascii_case(rg))
            })
            .collect();
        for (key, value) in graph_entries(self.live, self.stack, sub, rg) {
            let exists = value
                .as_str()
                .is_some_and(|v| self.live.graph_subscriptions.contains_key(v));
            let pending = value.as_str() == Some(CREATING)
                && declared_here
                    .iter()
                    .any(|(r, _)| record_key(&r.name) == key);
            if exists || pending {
                tags.insert(key, value);
            }
        }
        for (r, s) in declared_here {
            if let GraphMatch::Ours(id, _) = self.graph_match(r, s) {
                tags.insert(record_key(&r.name), json!(id));
            }
        }
        tags
    }

    /// Graph subscriptions this stack created that the manifests no longer declare: the
    /// partner topic they notify goes first (unless declared or others subscribed to it), then
    /// the subscription, then its record entry.
    pub(super) fn prune_graph_subscriptions(&mut self, unmanaged: &mut Vec<Unmanaged>) {
        let live = self.live;
        let sub = self.desired.stack.spec.subscription_id.clone();
        let kept: Vec<String> = self
            .declared_graph()
            .filter_map(|(r, s)| match self.graph_match(r, s) {
                GraphMatch::Ours(id, _) => Some(id.to_string()),
                _ => None,
            })
            .collect();
        for (graph_id, body) in &live.graph_subscriptions {
            if kept.contains(graph_id)
                || graph_owner(live, self.stack, &sub, graph_id, body).is_none()
            {
                continue;
            }
            let Some(target) = target_of(body) else {
                continue;
            };
            let topic_id = target.topic_id();
            let topic = live
                .get(&topic_id)
                .map(|_| topic_id.clone())
                .filter(|t| !self.claimed.contains(t));
            if let Some(t) = &topic {
                self.delete_partner_topic_of(
                    t,
                    unmanaged,
                    "the partner topic of a Graph subscription this stack created",
                );
            }
            let record = record_id(&sub, &target.resource_group);
            let name = recorded_handle(live, self.stack, &sub, &target.resource_group, graph_id)
                .unwrap_or_else(|| graph_id.clone());
            let index = self.actions.len();
            self.actions.push(Action {
                index,
                kind: ActionKind::Delete,
                target: ActionTarget {
                    kind: ResourceKind::GraphSubscription,
                    name,
                    id: None,
                },
                changes: vec![],
                depends_on: self.config_action(&record).into_iter().collect(),
                reason: Some("created by this stack and no longer in the manifests".into()),
                operation: Operation::DeleteGraphSubscription {
                    graph_id: graph_id.clone(),
                    record: Some(record),
                    partner_topic: topic,
                },
            });
        }
    }
}

/// What a create sends, as changes: every field, `clientState` only as changed.
fn created_changes(body: &Value) -> Vec<Change> {
    let mut out: Vec<Change> = [
        "resource",
        "changeType",
        "notificationUrl",
        "lifecycleNotificationUrl",
        "includeResourceData",
        "expirationDateTime",
    ]
    .into_iter()
    .filter(|f| body.get(*f).is_some())
    .map(|f| Change {
        path: f.into(),
        before: None,
        after: body.get(f).cloned(),
        sensitive: false,
        forces_replacement: false,
    })
    .collect();
    out.push(client_state_change(false));
    out
}

fn client_state_change(forces_replacement: bool) -> Change {
    Change {
        path: "clientState".into(),
        before: None,
        after: None,
        sensitive: true,
        forces_replacement,
    }
}

fn url_of(body: &Value, field: &str) -> Option<EventGridTarget> {
    body[field].as_str().and_then(EventGridTarget::parse)
}

/// The changes from a live Graph subscription to the desired body (the expiry aside):
/// `changeType` as a set, URLs as the topic they name, `clientState` by value but sensitive.
fn graph_changes(live: &Value, body: &Value) -> Vec<Change> {
    let kind = ResourceKind::GraphSubscription;
    let mut out = Vec::new();
    let mut field = |path: &str, same: bool| {
        if !same {
            out.push(Change {
                path: path.into(),
                before: live.get(path).cloned(),
                after: body.get(path).cloned(),
                sensitive: false,
                forces_replacement: super::super::immutable::forces_replacement(kind, path),
            });
        }
    };
    let text = |v: &Value, f: &str| {
        v[f].as_str()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string()
    };
    field(
        "resource",
        text(live, "resource").eq_ignore_ascii_case(&text(body, "resource")),
    );
    let types =
        |v: &Value| change_type_text(v["changeType"].as_str().unwrap_or_default().split(','));
    field("changeType", types(live) == types(body));
    let rich = |v: &Value| v["includeResourceData"].as_bool().unwrap_or(false);
    field("includeResourceData", rich(live) == rich(body));
    let same_url = |f: &str| match (url_of(live, f), url_of(body, f)) {
        (Some(a), Some(b)) => a.same_url(&b),
        (None, None) => {
            live[f].as_str().unwrap_or_default() == body[f].as_str().unwrap_or_default()
        }
        _ => false,
    };
    field(
        "lifecycleNotificationUrl",
        same_url("lifecycleNotificationUrl"),
    );
    field("notificationUrl", same_url("notificationUrl"));
    // A subscription read without its clientState (null) cannot be compared: not a change.
    if !live["clientState"].is_null() && live["clientState"] != body["clientState"] {
        out.push(client_state_change(
            super::super::immutable::forces_replacement(kind, "clientState"),
        ));
    }
    out
}
