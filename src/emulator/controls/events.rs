//! Controls that drive and observe event delivery: "Auth0" publishing to a log stream's partner
//! topic (`POST /_emulator/auth0/log-streams/{id}/events`), a source resource emitting to its
//! system topics (`POST /_emulator/system-topics/events`), and the delivery log
//! (`GET /_emulator/deliveries`).
//!
//! Events are checked and stamped as a publish to the topic would be (`dataplane::publish_input`:
//! required attributes, `topic`, `metadataVersion`). Delivery itself is `dataplane::outbox`'s;
//! these controls must not change ARM resources.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::dataplane::outbox;
use crate::emulator::dataplane::publish_input::{self, TopicInputSchema};
use crate::emulator::error::{ControlError, EmulatorError};
use crate::emulator::infra::clock::format_time;
use crate::emulator::infra::http::ok_json;
use crate::emulator::instance::Emulator;
use crate::emulator::store::delivery::DeliveryRecord;
use crate::emulator::store::{EVENT_GRID, Kind, Store};
use crate::model::id::ResourceId;

/// Refusals of `partner_publish` (and of `graph_events::graph_publish`).
pub(crate) const PARTNER_REFUSED: &str = "PartnerPublishRefused";

/// `POST /_emulator/auth0/log-streams/{id}/events` (`{id}` may also be the stream's name): makes
/// "Auth0" publish the given events (sent as they are) to the partner topic of that `eventgrid`
/// stream. 409 when the stream is not active or the partner topic is missing or not `Activated`
/// (Auth0 would drop them).
pub async fn partner_publish(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    let events = partner_events(&body)?;
    let topic_id = {
        let mut store = emu.lock();
        store.tick(emu.clock.now());
        activated_partner_topic(&store, id)?
    };
    let delivered = publish_as_partner(&emu, &topic_id, events, PARTNER_REFUSED)?;
    Ok(ok_json(json!({ "deliveries": delivered })))
}

/// The body of a partner publish control: a JSON array of events (or one event).
pub(crate) fn partner_events(body: &Bytes) -> Result<Vec<Value>, ControlError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(list)) => Ok(list),
        Ok(event @ Value::Object(_)) => Ok(vec![event]),
        _ => Err(ControlError::Invalid {
            code: PARTNER_REFUSED,
            message: "the body must be a JSON array of events".into(),
        }),
    }
}

/// A partner (Auth0, Graph) publishes `events` to the partner topic `topic_id`: CloudEvents
/// 1.0, checked and stamped as a publish would be (a refusal is a 400 with `code`), then
/// queued; returns the batches queued.
pub(crate) fn publish_as_partner(
    emu: &Emulator,
    topic_id: &str,
    events: Vec<Value>,
    code: &'static str,
) -> Result<usize, ControlError> {
    let events = checked(emu, events, TopicInputSchema::CloudEvents, topic_id, code)?;
    Ok(outbox::dispatch(emu, topic_id, &events))
}

/// The id of the activated partner topic an active `eventgrid` log stream publishes to.
fn activated_partner_topic(store: &Store, id: String) -> Result<String, ControlError> {
    let conflict = |message: String| ControlError::Conflict {
        code: PARTNER_REFUSED,
        message,
    };
    let id = store.stream_id(&id).unwrap_or(id);
    let Ok(stream) = store.get_stream(&id) else {
        return Err(ControlError::NotFound {
            code: PARTNER_REFUSED,
            message: format!("log stream '{id}' does not exist"),
        });
    };
    if stream["type"] != "eventgrid" || stream["status"] != "active" {
        return Err(conflict(format!(
            "log stream '{id}' is not an active eventgrid stream"
        )));
    }
    let sink = &stream["sink"];
    let text = |f: &str| sink[f].as_str().unwrap_or_default().to_string();
    let group =
        ResourceId::resource_group(&text("azureSubscriptionId"), &text("azureResourceGroup"));
    let topic_id = group.provider_resource(EVENT_GRID, "partnerTopics", &text("azurePartnerTopic"));
    match store.eg_get(Kind::PartnerTopic, &topic_id) {
        Ok(topic) if topic["properties"]["activationState"] == "Activated" => {
            Ok(topic_id.as_str().to_string())
        }
        Ok(_) => Err(conflict(
            "the partner topic is not activated; Auth0 drops the events".into(),
        )),
        Err(_) => Err(conflict("the partner topic does not exist".into())),
    }
}

/// `POST /_emulator/system-topics/events` with `{"source": ARM id, "events": [...]}`: makes the
/// source resource (e.g. a SignalR service) emit Event Grid events to every system topic on it.
/// 404 when no system topic has that source.
pub async fn system_publish(
    State(emu): State<Emulator>,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    const REFUSED: &str = "SystemPublishRefused";
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(source), Some(events)) = (request["source"].as_str(), request["events"].as_array())
    else {
        return Err(ControlError::Invalid {
            code: REFUSED,
            message: "the body must be {\"source\": \"<resource id>\", \"events\": [...]}".into(),
        }
        .into());
    };
    let topics = emu.lock().system_topics_for(source);
    if topics.is_empty() {
        return Err(ControlError::NotFound {
            code: REFUSED,
            message: format!("no system topic has the source '{source}'"),
        }
        .into());
    }
    // System events carry their source as `topic`, checked and stamped as a publish would be.
    let events = checked(
        &emu,
        events.clone(),
        TopicInputSchema::EventGrid,
        source,
        REFUSED,
    )?;
    let mut delivered = 0;
    for topic in &topics {
        delivered += outbox::dispatch(&emu, topic, &events);
    }
    Ok(ok_json(
        json!({"deliveries": delivered, "systemTopics": topics}),
    ))
}

/// Checks `events` against `schema` (required attributes, `topic` equal to `topic_id` and
/// `metadataVersion` `"1"` when present) and stamps them as Event Grid does; a refusal is a 400
/// with `code`.
fn checked(
    emu: &Emulator,
    events: Vec<Value>,
    schema: TopicInputSchema,
    topic_id: &str,
    code: &'static str,
) -> Result<Vec<Value>, ControlError> {
    let content_type = match schema {
        TopicInputSchema::CloudEvents => "application/cloudevents-batch+json; charset=utf-8",
        _ => "application/json",
    };
    let body = serde_json::to_vec(&Value::Array(events)).unwrap_or_default();
    let now = format_time(emu.clock.now());
    publish_input::parse(&body, content_type, schema, topic_id, &now).map_err(|e| {
        ControlError::Invalid {
            code,
            message: e.to_string(),
        }
    })
}

/// `GET /_emulator/deliveries`: the latest delivery attempts (`?subscription=` and `?eventId=`
/// narrow them).
pub async fn deliveries(
    State(emu): State<Emulator>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let store = emu.lock();
    let keep: Vec<&DeliveryRecord> = store
        .delivery_log
        .iter()
        .filter(|r| {
            query
                .get("subscription")
                .is_none_or(|s| r.subscription.eq_ignore_ascii_case(s))
                && query
                    .get("eventId")
                    .is_none_or(|id| r.event_ids.iter().any(|e| e == id))
        })
        .collect();
    ok_json(json!({"value": keep}))
}
