//! What a custom topic accepts on `POST …/api/events`: size limits (1 MB per request and per
//! event ⇒ 413), the topic's input schema (Event Grid schema: required `id`, `subject`,
//! `eventType`, `eventTime`, `topic` equal to the topic id if present, `metadataVersion` `"1"`
//! if present; CloudEvents 1.0: `id`, `source`, `specversion` `"1.0"`, `type`, single or batch
//! content type).
//!
//! Pure: bytes and JSON in, events or a `PublishError` out (its status and body are chosen in
//! `emulator::error`); it must not do I/O, so the CLI can check events before publishing. Stamps `topic`, `metadataVersion`
//! and `dataVersion` on Event Grid events as the service does.

use serde_json::{Value, json};

/// Azure's size limit for a publish request and for one event.
pub const MAX_BYTES: usize = 1024 * 1024;

/// A refused publish request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// 400: malformed body or invalid event.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing or wrong key, bad or expired token.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: no topic at this endpoint.
    #[error("{0}")]
    NotFound(String),
    /// 413: the request or one event is over 1 MB.
    #[error("{0}")]
    TooLarge(String),
}

/// The input schemas a topic can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicInputSchema {
    /// `EventGridSchema` (the default).
    EventGrid,
    /// `CloudEventSchemaV1_0`.
    CloudEvents,
    /// `CustomEventSchema`: any JSON objects.
    Custom,
}

impl TopicInputSchema {
    /// From the topic's `inputSchema` property.
    pub fn from_property(value: Option<&str>) -> Self {
        match value {
            Some(s) if s.eq_ignore_ascii_case("CloudEventSchemaV1_0") => Self::CloudEvents,
            Some(s) if s.eq_ignore_ascii_case("CustomEventSchema") => Self::Custom,
            _ => Self::EventGrid,
        }
    }
}

fn missing(index: usize, field: &str) -> PublishError {
    PublishError::BadRequest(format!(
        "Event at index {index}: required property '{field}' was not set or is not a string."
    ))
}

/// Checks a publish body and returns the events, stamped.
pub fn parse(
    body: &[u8],
    content_type: &str,
    schema: TopicInputSchema,
    topic_id: &str,
    now: &str,
) -> Result<Vec<Value>, PublishError> {
    if body.len() > MAX_BYTES {
        return Err(PublishError::TooLarge(format!(
            "The total size of the request ({} bytes) exceeds the maximum allowed size of {MAX_BYTES} bytes.",
            body.len()
        )));
    }
    let parsed: Value = serde_json::from_slice(body).map_err(|e| {
        PublishError::BadRequest(format!("The request body is not valid JSON: {e}."))
    })?;
    let ct = content_type.to_ascii_lowercase();
    let single_ce = ct.starts_with("application/cloudevents+json");
    let mut events = match parsed {
        Value::Array(list) if !single_ce => list,
        event @ Value::Object(_) if single_ce || schema == TopicInputSchema::Custom => vec![event],
        _ if single_ce => {
            return Err(PublishError::BadRequest(
                "The content type application/cloudevents+json needs one JSON object.".into(),
            ));
        }
        _ => {
            return Err(PublishError::BadRequest(
                "The request body must be a JSON array of events.".into(),
            ));
        }
    };
    for (i, event) in events.iter_mut().enumerate() {
        let size = serde_json::to_vec(event).map(|b| b.len()).unwrap_or(0);
        if size > MAX_BYTES {
            return Err(PublishError::TooLarge(format!(
                "Event at index {i} is {size} bytes, over the maximum event size of {MAX_BYTES} bytes."
            )));
        }
        if !event.is_object() {
            return Err(PublishError::BadRequest(format!(
                "Event at index {i} is not a JSON object."
            )));
        }
        match schema {
            TopicInputSchema::EventGrid => event_grid(i, event, topic_id)?,
            TopicInputSchema::CloudEvents => cloud_event(i, event)?,
            TopicInputSchema::Custom => {}
        }
        if schema == TopicInputSchema::EventGrid {
            event["topic"] = json!(topic_id);
            event["metadataVersion"] = json!("1");
            if event["dataVersion"].is_null() {
                event["dataVersion"] = json!("");
            }
        } else if schema == TopicInputSchema::CloudEvents && event["time"].is_null() {
            event["time"] = json!(now);
        }
    }
    Ok(events)
}

fn event_grid(i: usize, event: &Value, topic_id: &str) -> Result<(), PublishError> {
    for field in ["id", "subject", "eventType", "eventTime"] {
        if !event[field].is_string() {
            return Err(missing(i, field));
        }
    }
    if event["eventTime"]
        .as_str()
        .and_then(crate::emulator::infra::clock::parse_time)
        .is_none()
    {
        return Err(PublishError::BadRequest(format!(
            "Event at index {i}: property 'eventTime' is not a valid RFC 3339 date-time."
        )));
    }
    if let Some(topic) = event.get("topic").filter(|t| !t.is_null())
        && topic.as_str() != Some(topic_id)
    {
        return Err(PublishError::BadRequest(format!(
            "Event at index {i}: property 'topic' must be absent or equal to the topic's resource id."
        )));
    }
    if let Some(v) = event.get("metadataVersion").filter(|t| !t.is_null())
        && v.as_str() != Some("1")
    {
        return Err(PublishError::BadRequest(format!(
            "Event at index {i}: property 'metadataVersion' must be absent or \"1\"."
        )));
    }
    Ok(())
}

fn cloud_event(i: usize, event: &Value) -> Result<(), PublishError> {
    for field in ["id", "source", "specversion", "type"] {
        if !event[field].is_string() {
            return Err(missing(i, field));
        }
    }
    if event["specversion"] != "1.0" {
        return Err(PublishError::BadRequest(format!(
            "Event at index {i}: property 'specversion' must be \"1.0\"."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.EventGrid/topics/t";

    fn eg(body: &Value) -> Result<Vec<Value>, PublishError> {
        parse(
            body.to_string().as_bytes(),
            "application/json",
            TopicInputSchema::EventGrid,
            T,
            "now",
        )
    }

    #[test]
    fn event_grid_schema_rules() {
        let ok = json!([{"id": "1", "subject": "s", "eventType": "t", "eventTime": "2026-01-01T00:00:00Z", "data": {}}]);
        let events = eg(&ok).unwrap();
        assert_eq!(events[0]["topic"], T);
        assert_eq!(events[0]["metadataVersion"], "1");
        let no_subject = json!([ok[0].clone(), {"id": "2", "eventType": "t", "eventTime": "2026-01-01T00:00:00Z"}]);
        let err = eg(&no_subject).unwrap_err();
        assert!(err.to_string().contains("index 1") && err.to_string().contains("'subject'"));
        let mut wrong_topic = ok.clone();
        wrong_topic[0]["topic"] = json!("/other");
        assert!(
            eg(&wrong_topic)
                .unwrap_err()
                .to_string()
                .contains("'topic'")
        );
        let mut wrong_mv = ok.clone();
        wrong_mv[0]["metadataVersion"] = json!("2");
        assert!(
            eg(&wrong_mv)
                .unwrap_err()
                .to_string()
                .contains("metadataVersion")
        );
        assert!(matches!(eg(&json!(5)), Err(PublishError::BadRequest(_))));
        let body = parse(
            b"{not json",
            "application/json",
            TopicInputSchema::EventGrid,
            T,
            "now",
        );
        assert!(matches!(body, Err(PublishError::BadRequest(_))));
    }

    #[test]
    fn sizes_and_cloud_events() {
        let big = "x".repeat(MAX_BYTES);
        let huge = json!([{"id": "1", "subject": "s", "eventType": "t", "eventTime": "2026-01-01T00:00:00Z", "data": big}]);
        assert!(matches!(eg(&huge), Err(PublishError::TooLarge(_))));
        let ce = json!({"id": "1", "source": "/s", "specversion": "1.0", "type": "t"});
        let one = parse(
            ce.to_string().as_bytes(),
            "application/cloudevents+json; charset=utf-8",
            TopicInputSchema::CloudEvents,
            T,
            "now",
        )
        .unwrap();
        assert_eq!(one.len(), 1);
        let batch = json!([ce, {"id": "2", "source": "/s", "specversion": "1.0"}]);
        let err = parse(
            batch.to_string().as_bytes(),
            "application/cloudevents-batch+json",
            TopicInputSchema::CloudEvents,
            T,
            "now",
        )
        .unwrap_err();
        assert!(err.to_string().contains("index 1") && err.to_string().contains("'type'"));
        assert!(matches!(err, PublishError::BadRequest(_)));
    }
}
