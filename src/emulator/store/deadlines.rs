//! When `tick` next has work, so a request does not scan the whole world to find nothing due:
//! an index of each resource's earliest expiry (an event subscription's `expirationTimeUtc`, a
//! manual validation's deadline, a never-activated partner topic's expiry), refreshed only for
//! the resources a mutation touched, the earliest time an operation completes or is
//! forgotten, and the earliest time a Microsoft Graph subscription expires or has its partner
//! topic created.
//!
//! It must mirror the expiry scans' conditions (`subscriptions.rs`, `partners.rs`) exactly: a
//! resource it calls due that the scans leave alone would make every tick scan again. It must
//! not change the world (it only answers "is anything due").

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::emulator::infra::clock::parse_time;
use crate::emulator::store::{Kind, Resource, Store};

/// The expiry index and the operations' next check time.
#[derive(Debug, Clone, Default)]
pub struct Deadlines {
    built: bool,
    by_time: BTreeSet<(DateTime<Utc>, String)>,
    by_key: BTreeMap<String, DateTime<Utc>>,
    /// Resources written since the index was last refreshed.
    pending: BTreeSet<String>,
    /// No operation completes or expires before this; `None`: unknown, scan.
    next_operation: Option<DateTime<Utc>>,
    /// No Graph subscription expires or has its partner topic created before this; `None`:
    /// unknown, scan.
    next_graph: Option<DateTime<Utc>>,
}

/// The earliest time the expiry scans would act on `r`.
fn deadline(r: &Resource) -> Option<DateTime<Utc>> {
    let time = |v: &serde_json::Value| v.as_str().and_then(parse_time);
    match r.kind {
        Kind::PartnerTopic => {
            let p = &r.body["properties"];
            if p["activationState"] == "NeverActivated" {
                time(&p["expirationTimeIfNotActivatedUtc"])
            } else {
                None
            }
        }
        Kind::EventSubscription => {
            let expiry = time(&r.body["expirationTimeUtc"]);
            let manual = if r.body["provisioningState"] == "AwaitingManualAction" {
                time(&r.hidden["manualDeadline"])
            } else {
                None
            };
            expiry.into_iter().chain(manual).min()
        }
        _ => None,
    }
}

impl Deadlines {
    /// Remembers that `key` was written (its deadline is read again before the next answer).
    pub fn touched(&mut self, key: &str) {
        if self.built && !self.pending.contains(key) {
            self.pending.insert(key.to_string());
        }
    }

    fn set(&mut self, key: &str, resource: Option<&Resource>) {
        if let Some(old) = self.by_key.remove(key) {
            self.by_time.remove(&(old, key.to_string()));
        }
        if let Some(t) = resource.and_then(deadline) {
            self.by_key.insert(key.to_string(), t);
            self.by_time.insert((t, key.to_string()));
        }
    }

    /// An operation completes or is forgotten at `at`.
    pub fn operation_at(&mut self, at: DateTime<Utc>) {
        if let Some(next) = self.next_operation {
            self.next_operation = Some(next.min(at));
        }
    }

    /// Whether an operation may be due at `now`.
    pub fn operations_due(&self, now: DateTime<Utc>) -> bool {
        self.next_operation.is_none_or(|t| t <= now)
    }

    /// A Graph subscription expires or has its partner topic created at `at`.
    pub fn graph_at(&mut self, at: DateTime<Utc>) {
        if let Some(next) = self.next_graph {
            self.next_graph = Some(next.min(at));
        }
    }

    /// Whether a Graph subscription may have work due at `now`.
    pub fn graph_due(&self, now: DateTime<Utc>) -> bool {
        self.next_graph.is_none_or(|t| t <= now)
    }

    /// After a scan of the Graph subscriptions: the next time one has work.
    pub fn graph_next(&mut self, next: Option<DateTime<Utc>>) {
        self.next_graph = Some(next.unwrap_or(DateTime::<Utc>::MAX_UTC));
    }

    /// After a scan of the operations: the next time one is due.
    pub fn operations_next(&mut self, next: Option<DateTime<Utc>>) {
        self.next_operation = Some(next.unwrap_or(DateTime::<Utc>::MAX_UTC));
    }
}

impl Store {
    /// Whether any resource expiry is due at `now` (building the index on first use, then
    /// refreshing only the resources written since).
    pub(crate) fn expiry_due(&mut self, now: DateTime<Utc>) -> bool {
        let mut index = std::mem::take(&mut self.deadlines);
        if !index.built {
            index = Deadlines {
                built: true,
                next_operation: index.next_operation,
                next_graph: index.next_graph,
                ..Deadlines::default()
            };
            for (key, r) in &self.resources {
                index.set(key, Some(r));
            }
        }
        for key in std::mem::take(&mut index.pending) {
            index.set(&key, self.resources.get(&key));
        }
        let due = index.by_time.first().is_some_and(|(t, _)| *t <= now);
        self.deadlines = index;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deadlines_follow_the_expiry_conditions() {
        let t = "2030-01-01T00:00:00Z";
        let sub = |body: serde_json::Value, hidden: serde_json::Value| Resource {
            id: "x".into(),
            kind: Kind::EventSubscription,
            body,
            hidden,
        };
        assert_eq!(
            deadline(&sub(json!({"expirationTimeUtc": t}), json!({}))),
            parse_time(t)
        );
        let waiting = json!({"provisioningState": "AwaitingManualAction"});
        assert_eq!(
            deadline(&sub(waiting, json!({"manualDeadline": t}))),
            parse_time(t)
        );
        let done = json!({"provisioningState": "Succeeded"});
        assert_eq!(deadline(&sub(done, json!({"manualDeadline": t}))), None);
        let topic = Resource {
            id: "p".into(),
            kind: Kind::PartnerTopic,
            body: json!({"properties": {"activationState": "Activated", "expirationTimeIfNotActivatedUtc": t}}),
            hidden: json!({}),
        };
        assert_eq!(deadline(&topic), None);
    }
}
