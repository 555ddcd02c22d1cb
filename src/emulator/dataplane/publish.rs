//! The Event Grid data plane for custom topics: `POST {topic endpoint}` (the `endpoint` a topic
//! reports) authenticated with `aeg-sas-key` (header or query), a SAS token (`aeg-sas-token` or
//! `Authorization: SharedAccessSignature …`) or a bearer token from this emulator; the body is
//! checked against the topic's input schema (`publish_input`) and the events are handed to the
//! outbox for delivery with retries. Also the simulated Auth0 partner's publish control.
//!
//! It must not change ARM resources. Keys, tokens and full webhook URLs are never logged.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

use crate::emulator::dataplane::publish_input::{InputSchema, PublishError};
use crate::emulator::infra::clock::format_time;
use crate::emulator::infra::http::empty;
use crate::emulator::instance::Emulator;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn authorized(
    emu: &Emulator,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    host: &str,
    keys: &[String; 2],
    local_auth_disabled: bool,
) -> Result<(), PublishError> {
    let key =
        header(headers, "aeg-sas-key").or_else(|| query.get("aeg-sas-key").map(String::as_str));
    let authorization = header(headers, "authorization").unwrap_or_default();
    let sas = header(headers, "aeg-sas-token").or_else(|| {
        authorization
            .get(..22)
            .filter(|p| p.eq_ignore_ascii_case("SharedAccessSignature "))
            .map(|_| &authorization[22..])
    });
    if (key.is_some() || sas.is_some()) && local_auth_disabled {
        return Err(PublishError::Unauthorized(
            "Local authentication (keys and SAS tokens) is disabled for this topic; use Microsoft Entra ID."
                .into(),
        ));
    }
    if let Some(given) = key {
        let ok = keys
            .iter()
            .any(|k| !k.is_empty() && bool::from(k.as_bytes().ct_eq(given.as_bytes())));
        return if ok {
            Ok(())
        } else {
            Err(PublishError::Unauthorized(
                "The request authorization key is not authorized for this topic.".into(),
            ))
        };
    }
    if let Some(token) = sas {
        let suffix = format!("/eventgrid/topics/{host}/api/events");
        return crate::emulator::dataplane::sas::verify(token, &suffix, keys, emu.clock.now())
            .map_err(|why| {
                PublishError::Unauthorized(format!("The SAS token is not valid: {why}."))
            });
    }
    match authorization.strip_prefix("Bearer ") {
        Some(token) => {
            let signing = emu.lock().signing_key.clone();
            crate::emulator::identity::entra::verify(&signing, token.trim(), emu.clock.now())
                .map(|_| ())
                .map_err(|why| {
                    PublishError::Unauthorized(format!("The access token is invalid: {why}."))
                })
        }
        None => Err(PublishError::Unauthorized(
            "The request needs an aeg-sas-key, an aeg-sas-token or an Authorization header.".into(),
        )),
    }
}

/// `POST /eventgrid/topics/{host}/api/events`.
pub async fn publish(
    State(emu): State<Emulator>,
    Path(host): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&emu, &host, &query, &headers, &body) {
        Ok(()) => empty(StatusCode::OK),
        Err(e) => e.into_response(),
    }
}

fn run(
    emu: &Emulator,
    host: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(), PublishError> {
    let target = emu
        .lock()
        .publish_target(host)
        .ok_or_else(|| PublishError::NotFound(format!("No topic is published at '{host}'.")))?;
    authorized(
        emu,
        headers,
        query,
        host,
        &target.keys,
        target.local_auth_disabled,
    )?;
    let schema = InputSchema::from_property(target.input_schema.as_deref());
    let content_type = header(headers, "content-type").unwrap_or("application/json");
    let now = format_time(emu.clock.now());
    let events = crate::emulator::dataplane::publish_input::parse(
        body,
        content_type,
        schema,
        &target.id,
        &now,
    )?;
    crate::emulator::dataplane::outbox::dispatch(emu, &target.id, &events);
    Ok(())
}

/// `POST /_emulator/auth0/log-streams/{id}/events` (`{id}` may also be the stream's name): makes
/// "Auth0" publish the given events (sent as they are) to the partner topic of that `eventgrid` stream. 409 when the stream is not
/// active or the partner topic is missing or not `Activated` (Auth0 would drop them).
pub async fn partner_publish(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let refuse = |status: StatusCode, message: String| {
        crate::emulator::infra::http::json(
            status,
            json!({"error": {"code": "PartnerPublishRefused", "message": message}}),
        )
    };
    let events = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(list)) => list,
        Ok(event @ Value::Object(_)) => vec![event],
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON array of events".into(),
            );
        }
    };
    let topic_id = {
        let mut store = emu.lock();
        store.tick(emu.clock.now());
        let id = store.stream_id(&id).unwrap_or(id);
        let Ok(stream) = store.get_stream(&id) else {
            return refuse(
                StatusCode::NOT_FOUND,
                format!("log stream '{id}' does not exist"),
            );
        };
        if stream["type"] != "eventgrid" || stream["status"] != "active" {
            return refuse(
                StatusCode::CONFLICT,
                format!("log stream '{id}' is not an active eventgrid stream"),
            );
        }
        let sink = &stream["sink"];
        let text = |f: &str| sink[f].as_str().unwrap_or_default().to_string();
        let group = crate::model::id::ResourceId::resource_group(
            &text("azureSubscriptionId"),
            &text("azureResourceGroup"),
        );
        let topic_id = group.provider_resource(
            crate::emulator::store::EVENT_GRID,
            "partnerTopics",
            &text("azurePartnerTopic"),
        );
        match store.eg_get(crate::emulator::store::Kind::PartnerTopic, &topic_id) {
            Ok(topic) if topic["properties"]["activationState"] == "Activated" => {}
            Ok(_) => {
                return refuse(
                    StatusCode::CONFLICT,
                    "the partner topic is not activated; Auth0 drops the events".into(),
                );
            }
            Err(_) => {
                return refuse(
                    StatusCode::CONFLICT,
                    "the partner topic does not exist".into(),
                );
            }
        }
        topic_id.as_str().to_string()
    };
    let delivered = crate::emulator::dataplane::outbox::dispatch(&emu, &topic_id, &events);
    crate::emulator::infra::http::json(StatusCode::OK, json!({"deliveries": delivered}))
}

/// `POST /_emulator/system-topics/events` with `{"source": ARM id, "events": [...]}`: makes the
/// source resource (e.g. a SignalR service) emit Event Grid events to every system topic on it.
/// 404 when no system topic has that source.
pub async fn system_publish(State(emu): State<Emulator>, body: Bytes) -> Response {
    let refuse = |status: StatusCode, message: String| {
        crate::emulator::infra::http::json(
            status,
            json!({"error": {"code": "SystemPublishRefused", "message": message}}),
        )
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(source), Some(events)) = (request["source"].as_str(), request["events"].as_array())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the body must be {\"source\": \"<resource id>\", \"events\": [...]}".into(),
        );
    };
    let topics = emu.lock().system_topics_for(source);
    if topics.is_empty() {
        return refuse(
            StatusCode::NOT_FOUND,
            format!("no system topic has the source '{source}'"),
        );
    }
    let mut delivered = 0;
    for topic in &topics {
        delivered += crate::emulator::dataplane::outbox::dispatch(&emu, topic, events);
    }
    crate::emulator::infra::http::json(
        StatusCode::OK,
        json!({"deliveries": delivered, "systemTopics": topics}),
    )
}

/// `GET /_emulator/deliveries`: the latest delivery attempts (`?subscription=` and `?eventId=`
/// narrow them).
pub async fn deliveries(
    State(emu): State<Emulator>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let store = emu.lock();
    let keep: Vec<&crate::emulator::store::delivery::DeliveryRecord> = store
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
    crate::emulator::infra::http::json(StatusCode::OK, json!({"value": keep}))
}
