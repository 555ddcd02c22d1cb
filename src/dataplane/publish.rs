//! Publishing to a custom topic: resolving its endpoint and credential through ARM (`listKeys`
//! for `aeg-sas-key`, or an Entra ID token when local auth is disabled), checking the events
//! against Event Grid's documented input rules, and posting them. Keys and tokens stay in memory.

use serde_json::Value;

use super::{DataPlaneError, EmulatorControls, error_message};
use crate::arm::{ArmApi, ArmClient};
use crate::model::spec::InputSchema;
use crate::model::{DesiredResource, ResourceSpec};

/// The largest request (and event) Event Grid accepts on a custom topic: 1 MB.
const MAX_PUBLISH_BYTES: usize = 1_048_576;

/// The event schema a topic accepts, as the publisher sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishSchema {
    /// Event Grid schema (the default).
    EventGrid,
    /// CloudEvents 1.0.
    CloudEvents,
    /// Any JSON with an input mapping.
    Custom,
}

impl PublishSchema {
    /// The schema a topic document declares.
    pub fn of(topic: &DesiredResource) -> Self {
        match &topic.spec {
            ResourceSpec::Topic(t) => match t.input_schema {
                Some(InputSchema::CloudEventSchemaV10) => Self::CloudEvents,
                Some(InputSchema::CustomEventSchema) => Self::Custom,
                _ => Self::EventGrid,
            },
            _ => Self::EventGrid,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::CloudEvents => "application/cloudevents-batch+json; charset=utf-8",
            _ => "application/json",
        }
    }
}

/// Where and how to post events to one topic.
pub struct TopicEndpoint {
    /// The topic's manifest name.
    pub name: String,
    /// The publish URL (with `api-version`).
    pub url: String,
    /// Its input schema.
    pub schema: PublishSchema,
    /// `aeg-sas-key` or `Authorization: Bearer` header (never printed).
    auth: (&'static str, String),
}

fn arm_error(what: String) -> impl FnOnce(crate::arm::ArmError) -> DataPlaneError {
    move |source| DataPlaneError::Arm {
        what,
        source: Box::new(source),
    }
}

/// Resolves the endpoint and credential of `topic` through ARM; with `emulator`, the endpoint's
/// host is the emulator's current one (the embedded emulator gets a new port each run).
pub async fn resolve(
    arm: &ArmClient,
    emulator: Option<&EmulatorControls>,
    topic: &DesiredResource,
) -> Result<TopicEndpoint, DataPlaneError> {
    let missing = |message: String, hint: &str| DataPlaneError::Missing {
        message,
        hint: hint.into(),
    };
    let id = topic.id.clone().ok_or_else(|| {
        missing(
            format!("topic `{}` has no resource id", topic.name),
            "check its Stack",
        )
    })?;
    let observed = arm
        .get(&id)
        .await
        .map_err(arm_error(format!("cannot read topic `{}`", topic.name)))?
        .ok_or_else(|| {
            missing(
                format!("topic `{}` does not exist", topic.name),
                "run `gridform apply` first",
            )
        })?;
    let endpoint = observed
        .property_str("endpoint")
        .ok_or_else(|| {
            missing(
                format!("topic `{}` reports no endpoint", topic.name),
                "wait until it is provisioned",
            )
        })?
        .to_string();
    let endpoint = match (emulator, url::Url::parse(&endpoint)) {
        (Some(e), Ok(u)) => format!("{}{}", e.base, u.path()),
        _ => endpoint,
    };
    let local_auth_disabled = observed
        .properties()
        .is_some_and(|p| p["disableLocalAuth"] == true);
    let auth = if local_auth_disabled {
        (
            "authorization",
            format!("Bearer {}", entra_token(arm, emulator, topic).await?),
        )
    } else {
        let (key1, _) = crate::arm::typed::list_topic_keys(arm, &id)
            .await
            .map_err(arm_error(format!(
                "cannot list the keys of topic `{}`",
                topic.name
            )))?;
        ("aeg-sas-key", key1.expose().to_string())
    };
    Ok(TopicEndpoint {
        name: topic.name.clone(),
        url: format!("{endpoint}?api-version=2018-01-01"),
        schema: PublishSchema::of(topic),
        auth,
    })
}

async fn entra_token(
    arm: &ArmClient,
    emulator: Option<&EmulatorControls>,
    topic: &DesiredResource,
) -> Result<String, DataPlaneError> {
    if let Some(e) = emulator {
        return e.event_grid_token().await;
    }
    // Real Azure: the ARM credential, for the Event Grid data-plane scope.
    arm.token_for("https://eventgrid.azure.net/.default")
        .await
        .map(|t| t.expose().to_string())
        .map_err(|e| DataPlaneError::Missing {
            message: format!(
                "topic `{}` has disableLocalAuth and no Microsoft Entra ID token could be had: {e}",
                topic.name
            ),
            hint: "the identity also needs the `EventGrid Data Sender` role on the topic".into(),
        })
}

fn missing_field(i: usize, field: &str) -> String {
    format!("event at index {i} has no string property `{field}`")
}

/// Checks `events` against Event Grid's input rules for `schema` (sizes, required fields);
/// returns the request body.
pub fn check_events(events: &[Value], schema: PublishSchema) -> Result<Vec<u8>, String> {
    let body = serde_json::to_vec(events).map_err(|e| e.to_string())?;
    if body.len() > MAX_PUBLISH_BYTES {
        return Err(format!(
            "the request is {} bytes, over Event Grid's limit of {MAX_PUBLISH_BYTES}",
            body.len()
        ));
    }
    let required: &[&str] = match schema {
        PublishSchema::EventGrid => &["id", "subject", "eventType", "eventTime"],
        PublishSchema::CloudEvents => &["id", "source", "specversion", "type"],
        PublishSchema::Custom => &[],
    };
    for (i, event) in events.iter().enumerate() {
        if !event.is_object() {
            return Err(format!("event at index {i} is not a JSON object"));
        }
        if let Some(f) = required.iter().find(|f| !event[**f].is_string()) {
            return Err(missing_field(i, f));
        }
        if schema == PublishSchema::EventGrid
            && event["eventTime"]
                .as_str()
                .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_err())
        {
            return Err(format!(
                "event at index {i}: `eventTime` is not an RFC 3339 date-time"
            ));
        }
        if schema == PublishSchema::CloudEvents && event["specversion"] != "1.0" {
            return Err(format!("event at index {i}: `specversion` must be \"1.0\""));
        }
    }
    Ok(body)
}

/// Posts `events` (already in the topic's schema); a refusal carries Azure's message.
pub async fn send(
    http: &reqwest::Client,
    target: &TopicEndpoint,
    events: &[Value],
) -> Result<(), DataPlaneError> {
    let body =
        check_events(events, target.schema).map_err(|reason| DataPlaneError::InvalidEvents {
            topic: target.name.clone(),
            reason,
        })?;
    let what = format!("publishing to topic `{}`", target.name);
    let unreachable = format!("cannot reach the endpoint of topic `{}`", target.name);
    let path = url::Url::parse(&target.url)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    let resp = super::send(&unreachable, &reqwest::Method::POST, &path, || {
        http.post(&target.url)
            .header("content-type", target.schema.content_type())
            .header(target.auth.0, &target.auth.1)
            .body(body.clone())
    })
    .await?;
    let status = resp.status;
    if status == 200 {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&resp.body);
    Err(DataPlaneError::Refused {
        what,
        status,
        message: error_message(&text),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn event_grid_events_need_their_fields_and_a_real_time() {
        let ok = json!({"id": "1", "subject": "s", "eventType": "t", "eventTime": "2026-01-01T00:00:00Z", "data": {}});
        assert!(check_events(std::slice::from_ref(&ok), PublishSchema::EventGrid).is_ok());
        let mut bad = ok.clone();
        bad["eventTime"] = json!("yesterday");
        assert!(
            check_events(&[bad], PublishSchema::EventGrid)
                .unwrap_err()
                .contains("eventTime")
        );
        let no_id = json!({"subject": "s", "eventType": "t", "eventTime": "2026-01-01T00:00:00Z"});
        assert!(
            check_events(&[no_id], PublishSchema::EventGrid)
                .unwrap_err()
                .contains("`id`")
        );
        assert!(check_events(&[json!(5)], PublishSchema::Custom).is_err());
    }

    #[test]
    fn cloud_events_need_version_one_and_size_is_capped() {
        let ce = json!({"id": "1", "source": "s", "specversion": "0.3", "type": "t"});
        assert!(
            check_events(&[ce], PublishSchema::CloudEvents)
                .unwrap_err()
                .contains("specversion")
        );
        let big = json!({"data": "x".repeat(MAX_PUBLISH_BYTES)});
        assert!(
            check_events(&[big], PublishSchema::Custom)
                .unwrap_err()
                .contains("limit")
        );
    }
}
