//! What the data plane needs from the store: find a topic by its publish endpoint and check its
//! keys, list the event subscriptions an event matches (all filters, via `event_filter`),
//! describe how one subscription delivers (URL, batching, retry policy, headers, dead-letter
//! container), and the outbox of undelivered batches, persisted with the rest of the store so
//! they survive a restart.
//!
//! No HTTP and no network here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Kind, Store};
use crate::emulator::dataplane::event_filter;

/// A topic as the data plane sees it.
#[derive(Debug, Clone)]
pub struct PublishTarget {
    /// The topic's ARM id.
    pub id: String,
    /// `key1`, `key2`.
    pub keys: [String; 2],
    /// `disableLocalAuth`: keys are refused.
    pub local_auth_disabled: bool,
    /// `inputSchema`.
    pub input_schema: Option<String>,
}

/// Where one event goes.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The event subscription's stored id (the outbox key part).
    pub id: String,
    /// Event subscription name.
    pub subscription: String,
}

/// How one subscription delivers, read at each attempt.
#[derive(Debug, Clone)]
pub struct DeliveryRoute {
    /// Event subscription name.
    pub name: String,
    /// The scope (topic id) it listens on.
    pub scope: String,
    /// Destination type (`WebHook`, `StorageQueue`, ...).
    pub endpoint_type: String,
    /// The full webhook URL, or the destination resource id.
    pub target: String,
    /// `maxEventsPerBatch` (1 when unset).
    pub max_events: usize,
    /// `preferredBatchSizeInKilobytes` (64 when unset).
    pub preferred_kb: usize,
    /// `retryPolicy.maxDeliveryAttempts`.
    pub max_attempts: u32,
    /// `retryPolicy.eventTimeToLiveInMinutes`.
    pub ttl_minutes: u64,
    /// `eventDeliverySchema` is CloudEvents.
    pub cloud_events: bool,
    /// Static headers (name, value) — secret values included, never logged.
    pub static_headers: Vec<(String, String)>,
    /// Dynamic headers (name, dotted source field).
    pub dynamic_headers: Vec<(String, String)>,
    /// Dead-letter container resource id.
    pub dead_letter: Option<String>,
}

/// A batch waiting for (re)delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The event subscription's stored id.
    pub subscription_id: String,
    /// The events, already in the subscription's output schema.
    pub events: Vec<Value>,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was published (emulator clock).
    pub publish_time: String,
    /// Unscaled seconds waited between attempts so far (for the TTL).
    pub waited_seconds: u64,
    /// Outcome of the last attempt.
    #[serde(default)]
    pub last_outcome: Option<String>,
    /// When the last attempt was made.
    #[serde(default)]
    pub last_attempt_time: Option<String>,
}

/// One delivery attempt's result, for `GET /_emulator/deliveries` (and `gridform verify`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// When (emulator clock).
    pub at: String,
    /// Event subscription name.
    pub subscription: String,
    /// The topic (scope) it listens on.
    pub scope: String,
    /// `id` of every event in the batch.
    pub event_ids: Vec<String>,
    /// `Delivered`, `Retrying`, `DeadLettered` or `Dropped`.
    pub result: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Azure's outcome of the last attempt (`Busy`, `BadRequest`, ...), if it failed.
    pub last_delivery_outcome: Option<String>,
}

/// At most this many delivery records are kept.
pub const DELIVERY_LOG_CAP: usize = 2000;

impl Store {
    /// Appends to the delivery log (oldest dropped past the cap).
    pub fn log_delivery(&mut self, record: DeliveryRecord) {
        self.push_delivery(record, DELIVERY_LOG_CAP);
    }

    /// The id of the Auth0 log stream whose id or name is `id_or_name`.
    pub fn stream_id(&self, id_or_name: &str) -> Option<String> {
        self.list_streams()
            .into_iter()
            .find(|s| s["id"] == id_or_name || s["name"] == id_or_name)
            .and_then(|s| s["id"].as_str().map(str::to_string))
    }

    /// The topic whose endpoint is `{base}/eventgrid/topics/{host}/api/events`.
    pub fn publish_target(&self, host: &str) -> Option<PublishTarget> {
        let suffix = format!("/eventgrid/topics/{}/api/events", host.to_ascii_lowercase());
        self.resources_of(Kind::Topic, |r| {
            r.body["properties"]["endpoint"]
                .as_str()
                .is_some_and(|e| e.to_ascii_lowercase().ends_with(&suffix))
        })
        .next()
        .map(|r| PublishTarget {
            id: r.id.clone(),
            keys: [
                r.hidden["key1"].as_str().unwrap_or_default().to_string(),
                r.hidden["key2"].as_str().unwrap_or_default().to_string(),
            ],
            local_auth_disabled: r.body["properties"]["disableLocalAuth"] == true,
            input_schema: r.body["properties"]["inputSchema"]
                .as_str()
                .map(str::to_string),
        })
    }

    /// The event subscriptions on `topic_id` that `event` matches.
    pub fn deliveries(&self, topic_id: &str, event: &Value) -> Vec<Delivery> {
        let topic = topic_id.to_ascii_lowercase();
        self.resources_of(Kind::EventSubscription, |r| {
            r.hidden["scope"]
                .as_str()
                .is_some_and(|s| s.to_ascii_lowercase() == topic)
                && r.body["provisioningState"] == "Succeeded"
                && event_filter::matches(&r.body["filter"], event)
        })
        .map(|r| Delivery {
            id: r.id.clone(),
            subscription: r.hidden["name"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
    }

    /// How the event subscription stored as `id` delivers; `None` once it is gone.
    pub fn route(&self, id: &str) -> Option<DeliveryRoute> {
        let r = self
            .resources_of(Kind::EventSubscription, |r| r.id == id)
            .next()?;
        let dest = if r.body["destination"].is_object() {
            &r.body["destination"]
        } else {
            &r.body["deliveryWithResourceIdentity"]["destination"]
        };
        let props = &dest["properties"];
        let target = match r.hidden["endpointUrl"].as_str() {
            Some(url) => url.to_string(),
            None => props["resourceId"].as_str().unwrap_or_default().to_string(),
        };
        let mut static_headers = Vec::new();
        let mut dynamic_headers = Vec::new();
        for m in props["deliveryAttributeMappings"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = m["name"].as_str().unwrap_or_default().to_string();
            if m["type"] == "Dynamic" {
                let field = m["properties"]["sourceField"].as_str().unwrap_or_default();
                dynamic_headers.push((name, field.to_string()));
            } else {
                let value = r.hidden["secrets"]
                    .get(&name)
                    .unwrap_or(&m["properties"]["value"]);
                static_headers.push((name, value.as_str().unwrap_or_default().to_string()));
            }
        }
        let dl = if r.body["deadLetterDestination"].is_object() {
            &r.body["deadLetterDestination"]
        } else {
            &r.body["deadLetterWithResourceIdentity"]["deadLetterDestination"]
        };
        let dead_letter = match (
            dl["properties"]["resourceId"].as_str(),
            dl["properties"]["blobContainerName"].as_str(),
        ) {
            (Some(account), Some(container)) => Some(format!(
                "{account}/blobServices/default/containers/{container}"
            )),
            _ => None,
        };
        let retry = &r.body["retryPolicy"];
        let num = |v: &Value, default: u64| v.as_u64().filter(|n| *n > 0).unwrap_or(default);
        Some(DeliveryRoute {
            name: r.hidden["name"].as_str().unwrap_or_default().to_string(),
            scope: r.hidden["scope"].as_str().unwrap_or_default().to_string(),
            endpoint_type: dest["endpointType"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            target,
            max_events: num(&props["maxEventsPerBatch"], 1) as usize,
            preferred_kb: num(&props["preferredBatchSizeInKilobytes"], 64) as usize,
            max_attempts: num(&retry["maxDeliveryAttempts"], 30) as u32,
            ttl_minutes: num(&retry["eventTimeToLiveInMinutes"], 1440),
            cloud_events: r.body["eventDeliverySchema"] == "CloudEventSchemaV1_0",
            static_headers,
            dynamic_headers,
            dead_letter,
        })
    }

    /// The ids of the system topics whose `source` is `source` (case-insensitive).
    pub fn system_topics_for(&self, source: &str) -> Vec<String> {
        let source = source.trim_end_matches('/').to_ascii_lowercase();
        self.resources_of(Kind::SystemTopic, |r| {
            r.body["properties"]["source"]
                .as_str()
                .is_some_and(|s| s.trim_end_matches('/').to_ascii_lowercase() == source)
        })
        .map(|r| r.id.clone())
        .collect()
    }

    /// Queues a batch; returns its outbox key.
    pub fn enqueue(&mut self, pending: Pending) -> String {
        let key = uuid::Uuid::new_v4().to_string();
        self.outbox.insert(key.clone(), pending);
        self.mark(super::rows::OUTBOX, &key);
        key
    }

    /// Replaces (after a failed attempt) or removes (`None`: delivered, dead-lettered or
    /// dropped) an outbox entry.
    pub fn settle(&mut self, key: &str, pending: Option<Pending>) {
        match pending {
            Some(p) => {
                self.outbox.insert(key.to_string(), p);
            }
            None => {
                self.outbox.remove(key);
            }
        }
        self.mark(super::rows::OUTBOX, key);
    }
}
