//! The Event Grid data plane for custom topics: `POST {topic endpoint}` (the `endpoint` a topic
//! reports) with `aeg-sas-key` or a bearer token, then best-effort delivery of each event to the
//! matching event subscriptions — loopback webhooks get a real POST (`aeg-event-type:
//! Notification`), every other destination is recorded by the built-in sink.
//!
//! One attempt per event, no retries, no dead-lettering, no advanced filters. It must not change
//! ARM resources. Keys, tokens and full webhook URLs are never logged.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::Emulator;
use super::clock::format_time;
use super::error::ApiError;
use super::http::{base_url, empty};
use super::store::delivery::Delivery;

fn authorized(
    emu: &Emulator,
    headers: &HeaderMap,
    keys: &[String; 2],
    local_auth_disabled: bool,
) -> Result<(), ApiError> {
    if let Some(given) = headers.get("aeg-sas-key").and_then(|v| v.to_str().ok()) {
        if local_auth_disabled {
            return Err(ApiError::Unauthorized(
                "Local authentication (keys) is disabled for this topic.".into(),
            ));
        }
        let ok = keys
            .iter()
            .any(|k| !k.is_empty() && bool::from(k.as_bytes().ct_eq(given.as_bytes())));
        return if ok {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "The aeg-sas-key is not valid for this topic.".into(),
            ))
        };
    }
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match bearer {
        Some(token) => {
            let key = emu.lock().signing_key.clone();
            super::auth::verify(&key, token.trim(), emu.clock.now())
                .map(|_| ())
                .map_err(|why| {
                    ApiError::Unauthorized(format!("The access token is invalid: {why}."))
                })
        }
        None => Err(ApiError::Unauthorized(
            "The request needs an aeg-sas-key header or a bearer token.".into(),
        )),
    }
}

/// `POST /eventgrid/topics/{host}/api/events`.
pub async fn publish(
    State(emu): State<Emulator>,
    Path(host): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&emu, &host, &headers, &body) {
        Ok(()) => empty(StatusCode::OK),
        Err(e) => e.into_response(),
    }
}

fn run(emu: &Emulator, host: &str, headers: &HeaderMap, body: &Bytes) -> Result<(), ApiError> {
    let target = emu
        .lock()
        .publish_target(host)
        .ok_or_else(|| ApiError::NoRoute {
            method: "POST".into(),
            path: format!("/eventgrid/topics/{host}/api/events"),
        })?;
    authorized(emu, headers, &target.keys, target.local_auth_disabled)?;
    let events = match super::http::parse_json(body)? {
        Value::Array(list) => list,
        event @ Value::Object(_) => vec![event],
        _ => {
            return Err(ApiError::InvalidBody(
                "The request body must be a JSON array of events.".into(),
            ));
        }
    };
    let now = format_time(emu.clock.now());
    let mut plan: Vec<(Delivery, Value)> = Vec::new();
    {
        let store = emu.lock();
        for mut event in events {
            if !event.is_object() || (event["eventType"].is_null() && event["type"].is_null()) {
                return Err(ApiError::InvalidBody(
                    "Every event needs an eventType (or a CloudEvents type).".into(),
                ));
            }
            if event["eventType"].is_string() {
                event["topic"] = json!(target.id);
                if event["eventTime"].is_null() {
                    event["eventTime"] = json!(now);
                }
                event["metadataVersion"] = json!("1");
            }
            for d in store.deliveries(&target.id, &event) {
                plan.push((d, event.clone()));
            }
        }
    }
    let base = base_url(emu, headers);
    for (delivery, event) in plan {
        let emu = emu.clone();
        let base = base.clone();
        tokio::spawn(async move { deliver(&emu, &base, &delivery, event).await });
    }
    Ok(())
}

async fn deliver(emu: &Emulator, base: &str, d: &Delivery, event: Value) {
    let body = json!([event]);
    let loopback_webhook = d.endpoint_type == "WebHook"
        && url::Url::parse(&d.target).is_ok_and(|u| super::webhook::is_loopback(&u))
        && !d.target.starts_with(&format!("{base}/_emulator/sink"));
    if !loopback_webhook {
        let url = if d.endpoint_type == "WebHook" {
            d.target.clone()
        } else {
            format!("{}:{}", d.endpoint_type, d.target)
        };
        super::webhook::record(emu, &url, "Notification", body);
        return;
    }
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(_) => return,
    };
    let result = client
        .post(&d.target)
        .header("content-type", "application/json")
        .header("aeg-event-type", "Notification")
        .header("aeg-subscription-name", d.subscription.to_ascii_uppercase())
        .header("aeg-delivery-count", "0")
        .header("aeg-metadata-version", "1")
        .body(body.to_string())
        .send()
        .await;
    match result {
        Ok(r) => {
            tracing::debug!(subscription = %d.subscription, status = r.status().as_u16(), "event delivered")
        }
        Err(_) => {
            tracing::info!(subscription = %d.subscription, "event delivery failed (no retry in the emulator)")
        }
    }
}

/// `POST /_emulator/auth0/log-streams/{id}/events`: makes "Auth0" publish the given events (sent
/// as they are) to the partner topic of that `eventgrid` stream. 409 when the stream is not
/// active or the partner topic is missing or not `Activated` (Auth0 would drop them).
pub async fn partner_publish(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse = |status: StatusCode, message: String| {
        super::http::json(
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
    let plan = {
        let mut store = emu.lock();
        store.tick(emu.clock.now());
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
            super::store::EVENT_GRID,
            "partnerTopics",
            &text("azurePartnerTopic"),
        );
        match store.eg_get(super::store::Kind::PartnerTopic, &topic_id) {
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
        let mut plan = Vec::new();
        for event in events {
            for d in store.deliveries(topic_id.as_str(), &event) {
                plan.push((d, event.clone()));
            }
        }
        plan
    };
    let delivered = plan.len();
    let base = base_url(&emu, &headers);
    for (delivery, event) in plan {
        let emu = emu.clone();
        let base = base.clone();
        tokio::spawn(async move { deliver(&emu, &base, &delivery, event).await });
    }
    super::http::json(StatusCode::OK, json!({"deliveries": delivered}))
}
