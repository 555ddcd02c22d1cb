//! The simulated Auth0 tenant in the store: log streams (Auth0 Management API semantics) and the
//! partner side of Event Grid: an `eventgrid` stream makes "Auth0" create a partner topic in the
//! customer's resource group, after the LRO delay, only if a partner configuration there
//! authorizes Auth0 and the authorization has not expired; otherwise the stream is `suspended`.
//!
//! Errors are `LogStreamError` (Auth0's error shape and statuses are chosen in
//! `emulator::error`). No HTTP here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Ctx, EVENT_GRID, Kind, Store};
use crate::emulator::infra::clock::format_time;
use crate::model::id::ResourceId;

/// Auth0's partner registration immutable id in the emulator (documented in docs/emulator.md).
pub const AUTH0_PARTNER_ID: &str = "804a11ca-ce9b-4158-8e94-3c8dc7a072ec";
/// Auth0's partner name.
pub const AUTH0_PARTNER_NAME: &str = "Auth0";

/// Azure regions Auth0 accepts for `sink.azureRegion`.
const REGIONS: &[&str] = &[
    "australiacentral",
    "australiaeast",
    "australiasoutheast",
    "brazilsouth",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "germanywestcentral",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "southafricanorth",
    "southcentralus",
    "southeastasia",
    "southindia",
    "swedencentral",
    "switzerlandnorth",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
];
const TYPES: &[&str] = &[
    "http",
    "eventbridge",
    "eventgrid",
    "datadog",
    "splunk",
    "sumo",
    "segment",
    "mixpanel",
];

/// An Auth0 API failure (mapped to Auth0's error body in `error.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogStreamError {
    /// 404.
    #[error("The log stream does not exist.")]
    NotFound,
    /// 400 with Auth0's `errorCode`.
    #[error("{message}")]
    BadRequest {
        /// `invalid_body`, `operation_not_supported`, ...
        code: &'static str,
        /// Human message.
        message: String,
    },
}

fn invalid(message: impl Into<String>) -> LogStreamError {
    LogStreamError::BadRequest {
        code: "invalid_body",
        message: message.into(),
    }
}

/// A partner action waiting for its time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingTopic {
    /// The log stream id.
    pub stream: String,
    /// When the partner acts.
    pub due: DateTime<Utc>,
}

/// The Auth0 tenant's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth0State {
    /// Tenant domain (e.g. `example.eu.auth0.com`): the partner topic `source`. Learned from the
    /// `audience` of the Management API token request, as a real tenant has its own domain.
    pub tenant: String,
    /// Log streams by id.
    pub streams: BTreeMap<String, Value>,
    /// Partner topics to create.
    pub pending: Vec<PendingTopic>,
}

impl Default for Auth0State {
    fn default() -> Self {
        Self {
            tenant: "gridform-emulator.auth0.com".into(),
            streams: BTreeMap::new(),
            pending: Vec::new(),
        }
    }
}

impl Store {
    /// `GET /api/v2/log-streams`.
    pub fn list_streams(&self) -> Vec<Value> {
        self.auth0.streams.values().cloned().collect()
    }

    /// `GET /api/v2/log-streams/{id}`.
    pub fn get_stream(&self, id: &str) -> Result<Value, LogStreamError> {
        self.auth0
            .streams
            .get(id)
            .cloned()
            .ok_or(LogStreamError::NotFound)
    }

    /// `POST /api/v2/log-streams`.
    pub fn create_stream(&mut self, ctx: &Ctx, body: &Value) -> Result<Value, LogStreamError> {
        let Some(obj) = body.as_object() else {
            return Err(invalid(
                "Payload validation error: 'Expected type object but found type other'.",
            ));
        };
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
        if !TYPES.contains(&kind) {
            return Err(invalid(format!(
                "Payload validation error: 'No enum match for: \"{kind}\"' on property type."
            )));
        }
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind} stream"));
        let mut sink = obj
            .get("sink")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let id = format!("lst_{}", self.ids.hex(16));
        if kind == "eventgrid" {
            validate_eventgrid_sink(&sink)?;
            sink.insert(
                "azurePartnerTopic".into(),
                json!(format!(
                    "auth0-{}-{}",
                    self.auth0.tenant.split('.').next().unwrap_or("tenant"),
                    &id[4..12]
                )),
            );
        }
        let mut stream =
            json!({"id": id, "name": name, "type": kind, "status": "active", "sink": sink});
        for f in ["filters", "isPriority", "pii_config"] {
            if let Some(v) = obj.get(f) {
                stream[f] = v.clone();
            }
        }
        self.auth0.streams.insert(id.clone(), stream);
        if kind == "eventgrid" {
            self.auth0.pending.push(PendingTopic {
                stream: id.clone(),
                due: ctx.now + ctx.delay,
            });
        }
        self.touch();
        self.tick(ctx.now);
        self.get_stream(&id)
    }

    /// `PATCH /api/v2/log-streams/{id}`: the sink of an `eventgrid` stream cannot change.
    pub fn patch_stream(
        &mut self,
        ctx: &Ctx,
        id: &str,
        body: &Value,
    ) -> Result<Value, LogStreamError> {
        let Some(patch) = body.as_object() else {
            return Err(invalid(
                "Payload validation error: 'Expected type object but found type other'.",
            ));
        };
        let stream = self
            .auth0
            .streams
            .get(id)
            .ok_or(LogStreamError::NotFound)?
            .clone();
        if let Some(sink) = patch.get("sink") {
            let changed = sink
                .as_object()
                .into_iter()
                .flatten()
                .any(|(k, v)| stream["sink"].get(k) != Some(v));
            if stream["type"] == "eventgrid" && changed {
                return Err(LogStreamError::BadRequest {
                    code: "operation_not_supported",
                    message: "The sink of an eventgrid log stream cannot be changed; delete and recreate the stream.".into(),
                });
            }
        }
        let mut updated = stream.clone();
        for (k, v) in patch {
            match k.as_str() {
                "name" | "filters" | "isPriority" | "pii_config" => updated[k.as_str()] = v.clone(),
                "status" => match v.as_str() {
                    Some(s @ ("active" | "paused")) => updated["status"] = json!(s),
                    _ => {
                        return Err(invalid(format!(
                            "Payload validation error: 'No enum match for: {v}' on property status."
                        )));
                    }
                },
                "sink" => {}
                other => {
                    return Err(invalid(format!(
                        "Payload validation error: 'Additional properties not allowed: {other}'."
                    )));
                }
            }
        }
        let resumed = stream["status"] == "suspended" && updated["status"] == "active";
        self.auth0.streams.insert(id.to_string(), updated);
        if resumed && stream["type"] == "eventgrid" {
            self.auth0.pending.push(PendingTopic {
                stream: id.to_string(),
                due: ctx.now + ctx.delay,
            });
        }
        self.touch();
        self.tick(ctx.now);
        self.get_stream(id)
    }

    /// `DELETE /api/v2/log-streams/{id}`.
    pub fn delete_stream(&mut self, id: &str) -> Result<(), LogStreamError> {
        self.auth0
            .streams
            .remove(id)
            .ok_or(LogStreamError::NotFound)?;
        self.auth0.pending.retain(|p| p.stream != id);
        self.touch();
        Ok(())
    }

    /// The partner acts on every due pending topic.
    pub(crate) fn run_partner(&mut self, now: DateTime<Utc>) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.auth0.pending)
            .into_iter()
            .partition(|p| p.due <= now);
        self.auth0.pending = later;
        for p in due {
            self.touch();
            let Some(stream) = self.auth0.streams.get(&p.stream).cloned() else {
                continue;
            };
            let status = match self.partner_creates_topic(now, &stream) {
                Ok(()) => "active",
                Err(reason) => {
                    tracing::info!(stream = %p.stream, %reason, "Auth0 could not create the partner topic");
                    "suspended"
                }
            };
            if let Some(s) = self.auth0.streams.get_mut(&p.stream) {
                s["status"] = json!(status);
            }
        }
    }

    fn partner_creates_topic(&mut self, now: DateTime<Utc>, stream: &Value) -> Result<(), String> {
        let sink = &stream["sink"];
        let text = |f: &str| sink[f].as_str().unwrap_or_default().to_string();
        let (sub, group, region, topic) = (
            text("azureSubscriptionId"),
            text("azureResourceGroup"),
            text("azureRegion"),
            text("azurePartnerTopic"),
        );
        let group_id = ResourceId::resource_group(&sub, &group);
        self.require_group(&group_id).map_err(|e| e.to_string())?;
        self.require_registered(&sub, EVENT_GRID)
            .map_err(|e| e.to_string())?;
        if !self.partner_authorized(&group_id, AUTH0_PARTNER_NAME, AUTH0_PARTNER_ID, now) {
            return Err(format!(
                "partner Auth0 is not authorized in resource group '{group}'"
            ));
        }
        let id = group_id.provider_resource(EVENT_GRID, "partnerTopics", &topic);
        let body = json!({
            "location": region,
            "properties": {
                "partnerRegistrationImmutableId": AUTH0_PARTNER_ID,
                "source": self.auth0.tenant.clone(),
                "expirationTimeIfNotActivatedUtc": format_time(now + chrono::Duration::days(7)),
                "partnerTopicFriendlyDescription": format!("Auth0 log stream '{}'", stream["name"].as_str().unwrap_or_default()),
                "messageForActivation": "Activate this partner topic to receive Auth0 logs.",
            }
        });
        if self
            .resource(&id.as_str().to_ascii_lowercase())
            .is_some_and(|r| r.kind == Kind::PartnerTopic)
        {
            return Ok(());
        }
        self.put_partner_topic(&id, &body)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn validate_eventgrid_sink(sink: &Map<String, Value>) -> Result<(), LogStreamError> {
    let field = |f: &str| sink.get(f).and_then(Value::as_str).unwrap_or_default();
    if uuid::Uuid::parse_str(field("azureSubscriptionId")).is_err() {
        return Err(invalid(
            "Payload validation error: 'sink.azureSubscriptionId' must be a subscription GUID.",
        ));
    }
    if field("azureResourceGroup").is_empty() {
        return Err(invalid(
            "Payload validation error: 'Missing required property: azureResourceGroup' on property sink.",
        ));
    }
    if !REGIONS.contains(&field("azureRegion")) {
        return Err(invalid(format!(
            "Payload validation error: 'No enum match for: \"{}\"' on property sink.azureRegion.",
            field("azureRegion")
        )));
    }
    if sink.contains_key("azurePartnerTopic") {
        return Err(invalid(
            "Payload validation error: 'sink.azurePartnerTopic' is read-only.",
        ));
    }
    Ok(())
}
