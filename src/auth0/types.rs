//! Auth0 Management API log-stream shapes (serde types; names as Auth0 spells them).
//!
//! Plain data shared by the client and its callers; no I/O. Checked against Auth0's public
//! Management API docs and SDK models (`LogStreamEventGridSink`).

use serde::{Deserialize, Serialize};

/// Log stream `type` for Azure Event Grid.
pub const LOG_STREAM_TYPE_EVENTGRID: &str = "eventgrid";

/// The Event Grid sink of a log stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventGridSink {
    /// Azure subscription id (GUID).
    pub azure_subscription_id: String,
    /// Resource group where Auth0 creates the partner topic.
    pub azure_resource_group: String,
    /// Auth0's Azure region enum (e.g. `westeurope`).
    pub azure_region: String,
    /// The partner topic Auth0 created (filled by Auth0, read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_partner_topic: Option<String>,
}

/// A log-stream filter (`{"type": "category", "name": "auth.login.fail"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStreamFilter {
    /// Filter type (`category`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Category name.
    pub name: String,
}

/// A log stream as Auth0 returns it. Non-Event-Grid sinks are kept as raw JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStream {
    /// Auth0's id (`lst_...`).
    pub id: String,
    /// Display name (gridform matches streams by it).
    pub name: String,
    /// `eventgrid`, `http`, `eventbridge`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// `active`, `paused` or `suspended`.
    #[serde(default)]
    pub status: Option<String>,
    /// The sink (raw, see [`LogStream::eventgrid_sink`]).
    #[serde(default)]
    pub sink: serde_json::Value,
    /// Filters; absent means all events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<LogStreamFilter>>,
    /// Priority stream flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_priority: Option<bool>,
}

impl LogStream {
    /// The Event Grid sink, when this is an `eventgrid` stream with a well-formed sink.
    pub fn eventgrid_sink(&self) -> Option<EventGridSink> {
        (self.kind == LOG_STREAM_TYPE_EVENTGRID)
            .then(|| serde_json::from_value(self.sink.clone()).ok())
            .flatten()
    }
}

/// Body of `POST /api/v2/log-streams` for an Event Grid stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEventGridStream {
    /// Stream name.
    pub name: String,
    /// The sink (without `azurePartnerTopic`).
    pub sink: EventGridSink,
    /// Filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<LogStreamFilter>>,
    /// Priority flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_priority: Option<bool>,
}

/// Body of `PATCH /api/v2/log-streams/{id}`: only the fields that change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStreamPatch {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `active` or `paused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// New filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<LogStreamFilter>>,
    /// New priority flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_priority: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventgrid_stream_round_trip() {
        let s: LogStream = serde_json::from_value(serde_json::json!({
            "id": "lst_1", "name": "azure-events", "type": "eventgrid", "status": "active",
            "sink": {"azureSubscriptionId": "s", "azureResourceGroup": "rg",
                     "azureRegion": "westeurope", "azurePartnerTopic": "auth0-lst_1"},
            "filters": [{"type": "category", "name": "auth.login.fail"}]
        }))
        .unwrap();
        let sink = s.eventgrid_sink().unwrap();
        assert_eq!(sink.azure_partner_topic.as_deref(), Some("auth0-lst_1"));
        let patch = LogStreamPatch {
            status: Some("paused".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!({"status": "paused"})
        );
    }
}
