//! Turning the Microsoft Graph subscriptions that notify a partner topic in the exported group
//! into `GraphSubscription` documents (docs/export.md): which ones (one per partner topic, the
//! stack's own first; another stack's are skipped), under which name (the handle the stack's
//! record names it by, else its partner topic's name), `adopt` as for every unowned resource,
//! `clientState` as a `${env:…}` reference, and `validFor`/`renewBefore` such that the first
//! plan renews nothing.
//!
//! Pure: the live state and the time in, documents and secret values out. It must not decide
//! anything about the partner topic itself (`build` and `convert` do).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::convert::{escaped, owner_of, same_location};
use super::subscription::{SecretVars, env_name};
use crate::model::graph::{change_type_text, max_lifetime};
use crate::model::live::LiveState;
use crate::model::{Duration, ResourceKind};
use crate::plan::graph_record::{
    EventGridTarget, GraphOwner, graph_owner, record_id, recorded_handle, target_of,
};

/// What the Graph reading of one group exports.
#[derive(Debug, Default)]
pub struct GraphExport {
    /// Documents: (name, adopt, spec), sorted by name.
    pub docs: Vec<(String, bool, Value)>,
    /// Partner topic name (lowercase) → the document name of the subscription notifying it.
    pub topics: BTreeMap<String, String>,
    /// Graph subscriptions another stack owns (`Microsoft Graph subscription ID`).
    pub skipped: Vec<String>,
}

/// Where the Graph subscriptions are exported from.
pub struct GraphScope<'a> {
    /// The live state (Graph subscriptions, the partner configuration's records, topics).
    pub live: &'a LiveState,
    /// The exported stack.
    pub stack: &'a str,
    /// The Azure subscription.
    pub subscription: &'a str,
    /// The resource group.
    pub group: &'a str,
    /// The Stack's location (the group's).
    pub location: &'a str,
    /// The server's time.
    pub now: DateTime<Utc>,
}

/// One kept Graph subscription: its id, body, target, and owner (for this stack).
struct Candidate<'a> {
    id: &'a str,
    body: &'a Value,
    target: EventGridTarget,
    owner: Option<GraphOwner>,
}

impl GraphScope<'_> {
    fn in_group(&self, target: &EventGridTarget) -> bool {
        target.subscription.eq_ignore_ascii_case(self.subscription)
            && target.resource_group.eq_ignore_ascii_case(self.group)
    }

    /// A stack other than the exported one that owns `body`: the one marking the group's
    /// partner configuration or the partner topic, when its record or marker claims it.
    fn other_owner(&self, id: &str, body: &Value, target: &EventGridTarget) -> Option<String> {
        let config = self.live.get(&record_id(self.subscription, self.group));
        let topic = self.live.get(&target.topic_id());
        let stacks: BTreeSet<String> = [
            config.and_then(|c| owner_of(ResourceKind::PartnerConfiguration, c)),
            topic.and_then(|t| owner_of(ResourceKind::PartnerTopic, t)),
        ]
        .into_iter()
        .flatten()
        .filter(|s| s != self.stack)
        .collect();
        stacks
            .into_iter()
            .find(|s| graph_owner(self.live, s, self.subscription, id, body).is_some())
    }

    /// The document name: the recorded handle, else the partner topic's name.
    fn wanted_name(&self, c: &Candidate<'_>) -> String {
        let recorded = (c.owner == Some(GraphOwner::Recorded))
            .then(|| recorded_handle(self.live, self.stack, self.subscription, self.group, c.id))
            .flatten();
        recorded.unwrap_or_else(|| c.target.partner_topic.clone())
    }
}

/// The Graph subscriptions of the group as documents.
pub fn graph_documents(scope: &GraphScope<'_>, secrets: &mut SecretVars) -> GraphExport {
    let mut out = GraphExport::default();
    // One per partner topic: the stack's own first, then the smallest id (ids are sorted).
    let mut by_topic: BTreeMap<String, Candidate<'_>> = BTreeMap::new();
    for (id, body) in &scope.live.graph_subscriptions {
        let Some(target) = target_of(body).filter(|t| scope.in_group(t)) else {
            continue;
        };
        let owner = graph_owner(scope.live, scope.stack, scope.subscription, id, body);
        if owner.is_none() && scope.other_owner(id, body, &target).is_some() {
            out.skipped
                .push(format!("Microsoft Graph subscription {id}"));
            continue;
        }
        let key = target.partner_topic.to_ascii_lowercase();
        let candidate = Candidate {
            id,
            body,
            target,
            owner,
        };
        let better = by_topic
            .get(&key)
            .is_none_or(|kept| kept.owner.is_none() && candidate.owner.is_some());
        if better {
            by_topic.insert(key, candidate);
        }
    }
    // Recorded handles keep their names; the others take what is left.
    let mut kept: Vec<(String, Candidate<'_>)> = by_topic.into_iter().collect();
    kept.sort_by_key(|(_, c)| c.owner != Some(GraphOwner::Recorded));
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (topic_key, c) in kept {
        let wanted = scope.wanted_name(&c);
        let mut name = wanted.clone();
        let mut n = 2;
        while taken.contains(&name.to_ascii_lowercase()) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        taken.insert(name.to_ascii_lowercase());
        let spec = graph_subscription_spec(scope, &name, &c, secrets);
        out.topics.insert(topic_key, name.clone());
        out.docs.push((name, c.owner.is_none(), spec));
    }
    out.docs.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn graph_subscription_spec(
    scope: &GraphScope<'_>,
    name: &str,
    c: &Candidate<'_>,
    secrets: &mut SecretVars,
) -> Value {
    let body = c.body;
    let resource = body["resource"].as_str().unwrap_or_default();
    let rich = body["includeResourceData"].as_bool().unwrap_or(false);
    let mut spec = Map::new();
    spec.insert("resource".into(), escaped(&json!(resource)));
    let types = change_type_text(body["changeType"].as_str().unwrap_or_default().split(','));
    let types: Vec<&str> = types.split(',').filter(|t| !t.is_empty()).collect();
    spec.insert("changeType".into(), json!(types));
    spec.insert("partnerTopic".into(), json!(c.target.partner_topic));
    if let Some(loc) = &c.target.location
        && !same_location(loc, scope.location)
    {
        spec.insert("location".into(), json!(loc));
    }
    let client_state = body["clientState"].as_str().unwrap_or_default();
    let reference = secrets.add(&env_name(&format!("{name}_CLIENT_STATE")), client_state);
    spec.insert("clientState".into(), json!(reference));
    if rich {
        spec.insert("includeResourceData".into(), json!(true));
    }
    let lifecycle = body["lifecycleNotificationUrl"]
        .as_str()
        .is_some_and(|u| !u.is_empty());
    if !lifecycle {
        spec.insert("lifecycleNotifications".into(), json!(false));
    }
    let valid_for = max_lifetime(resource, rich).duration();
    let remaining = expiry_of(body).map(|t| t.signed_duration_since(scope.now).num_seconds());
    let renew_before = renew_window(valid_for, remaining.unwrap_or(0));
    spec.insert("validFor".into(), json!(valid_for.to_string()));
    spec.insert("renewBefore".into(), json!(renew_before.to_string()));
    Value::Object(spec)
}

fn expiry_of(body: &Value) -> Option<DateTime<Utc>> {
    body["expirationDateTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

const HOUR: u64 = 3_600;
const MINUTE: u64 = 60;

/// `seconds` rounded down to whole hours (whole minutes under two hours), at least a minute.
fn whole(seconds: u64) -> u64 {
    if seconds >= 2 * HOUR {
        seconds / HOUR * HOUR
    } else {
        (seconds / MINUTE * MINUTE).max(MINUTE)
    }
}

/// `renewBefore` for a subscription whose `validFor` is `valid_for` and that has `remaining`
/// seconds left (docs/export.md): a quarter of `valid_for` — the planner's default — in whole
/// hours, unless that is not an hour (or, for short lifetimes, a quarter) shorter than what
/// remains, when it is half of what remains less a minute. The planner renews when less than `renewBefore` remains, so the first plan after
/// the export renews nothing; an expired subscription (nothing remains) is renewed.
pub fn renew_window(valid_for: Duration, remaining: i64) -> Duration {
    let quarter = whole(valid_for.as_secs() / 4);
    let remaining = u64::try_from(remaining).unwrap_or(0);
    // The margin leaves time for the plan that follows the export.
    if remaining > quarter.saturating_add(quarter.min(HOUR)) {
        Duration::from_secs(quarter)
    } else {
        // Less a minute: a subscription exported within seconds of its creation, whose
        // remainder is a round lifetime, rounds like one exported a little later.
        Duration::from_secs(whole(remaining.saturating_sub(MINUTE) / 2))
    }
}
