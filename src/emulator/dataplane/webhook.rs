//! The webhook side of Event Grid: the validation handshake run on event subscription create and
//! update, and the built-in recording sink.
//!
//! Loopback endpoints get a real HTTP POST (`aeg-event-type: SubscriptionValidation`; the answer
//! must echo `validationCode`). This machine has no internet, so non-loopback endpoints — and
//! `{base}/_emulator/sink/...` — are answered by the built-in sink, which records what it got.
//! Full URLs (they may carry secrets in the query) are never logged.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::dataplane::handshake_http::{call, handshake_client, read_json_body};
use crate::emulator::error::ArmApiError;
use crate::emulator::infra::clock::format_time;
use crate::emulator::infra::http::{empty, json as json_response};
use crate::emulator::instance::Emulator;
use crate::emulator::store::StoreError;
use crate::emulator::store::subscriptions::Handshake;
use crate::emulator::store::{Ctx, SinkRecord};

/// At most this many sink records are kept (oldest dropped first).
const SINK_CAP: usize = 1000;

pub(crate) fn record(emu: &Emulator, url: &str, event_type: &str, body: Value) {
    let at = format_time(emu.clock.now());
    let mut store = emu.lock();
    let record = SinkRecord {
        at,
        url: url.to_string(),
        event_type: event_type.to_string(),
        body,
    };
    store.push_sink(record, SINK_CAP);
    if let Err(e) = emu.flush_locked(&mut store) {
        tracing::warn!(error = %e, "could not write the state file");
    }
}

pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A failed handshake in Azure's words (`Url validation`), with `what` saying what happened;
/// the URL is shown without its query string, fragment and user info (they may carry secrets).
fn failure(url: &url::Url, what: &str) -> ArmApiError {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    StoreError::UrlValidation(format!(
        "Webhook validation handshake failed for {shown}. {what} For troublehooting, visit https://aka.ms/esvalidation. Activity id:{}, timestamp: {} (UTC).",
        uuid::Uuid::new_v4(),
        chrono::Utc::now().format("%-m/%-d/%Y %-I:%M:%S %p"),
    ))
    .into()
}

/// The origin Event Grid announces in the CloudEvents abuse-protection handshake.
pub const WEBHOOK_ORIGIN: &str = "eventgrid.azure.net";

/// How a handshake ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validated {
    /// The endpoint echoed the code.
    Done,
    /// The endpoint answered 200 without a code: manual validation with this code is pending.
    Manual(String),
}

/// Runs the validation handshake against `hs.url`; an error fails the create/update.
pub async fn validate(emu: &Emulator, ctx: &Ctx, hs: &Handshake) -> Result<Validated, ArmApiError> {
    let url = url::Url::parse(&hs.url).map_err(|_| failure_text(&hs.url))?;
    if hs.cloud_events {
        return validate_cloud_events(emu, ctx, &url)
            .await
            .map(|()| Validated::Done);
    }
    let code = uuid::Uuid::new_v4().to_string().to_ascii_uppercase();
    let event = json!([{
        "id": uuid::Uuid::new_v4().to_string(),
        "topic": hs.topic,
        "subject": "",
        "data": {
            "validationCode": code,
            "validationUrl": format!("{}/_emulator/validate?id={code}", ctx.base),
        },
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": format_time(ctx.now),
        "metadataVersion": "1",
        "dataVersion": "2",
    }]);
    let own_sink = url
        .as_str()
        .starts_with(&format!("{}/_emulator/sink", ctx.base));
    if !is_loopback(&url) || own_sink {
        record(emu, url.as_str(), "SubscriptionValidation", event);
        return Ok(Validated::Done);
    }
    let request = handshake_client()?
        .post(url.clone())
        .header("content-type", "application/json")
        .header("aeg-event-type", "SubscriptionValidation")
        .header(
            "aeg-subscription-name",
            hs.subscription_name.to_ascii_uppercase(),
        )
        .header("aeg-delivery-count", "0")
        .header("aeg-data-version", "2")
        .header("aeg-metadata-version", "1")
        .body(event.to_string());
    let response = call(request, "POST")
        .await
        .map_err(|what| failure(&url, &what))?;
    let body = read_json_body(response).await.map_err(|why| {
        failure(
            &url,
            &format!(
                "Http POST request got response code 200, but its body could not be read: {why}."
            ),
        )
    })?;
    let echoed = body["validationResponse"]
        .as_str()
        .or_else(|| body["ValidationResponse"].as_str());
    let Some(echoed) = echoed else {
        return Ok(Validated::Manual(code));
    };
    if echoed.eq_ignore_ascii_case(&code) {
        Ok(Validated::Done)
    } else {
        Err(failure(
            &url,
            "Http POST request got response code 200, but the response did not echo the validationCode.",
        ))
    }
}

/// CloudEvents v1.0 webhook abuse protection: `OPTIONS` with `WebHook-Request-Origin`; the
/// endpoint must answer 200 with `WebHook-Allowed-Origin` set to that origin or `*`.
async fn validate_cloud_events(
    emu: &Emulator,
    ctx: &Ctx,
    url: &url::Url,
) -> Result<(), ArmApiError> {
    let own_sink = url
        .as_str()
        .starts_with(&format!("{}/_emulator/sink", ctx.base));
    if !is_loopback(url) || own_sink {
        record(
            emu,
            url.as_str(),
            "CloudEventsValidation",
            json!({"WebHook-Request-Origin": WEBHOOK_ORIGIN}),
        );
        return Ok(());
    }
    let request = handshake_client()?
        .request(reqwest::Method::OPTIONS, url.clone())
        .header("WebHook-Request-Origin", WEBHOOK_ORIGIN)
        .header("WebHook-Request-Rate", "120");
    let response = call(request, "OPTIONS")
        .await
        .map_err(|what| failure(url, &what))?;
    let allowed = response
        .headers()
        .get("WebHook-Allowed-Origin")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if allowed == "*" || allowed.eq_ignore_ascii_case(WEBHOOK_ORIGIN) {
        Ok(())
    } else {
        Err(failure(
            url,
            "Http OPTIONS request got response code 200, but WebHook-Allowed-Origin did not grant eventgrid.azure.net.",
        ))
    }
}

fn failure_text(url: &str) -> ArmApiError {
    let shown = url.split('?').next().unwrap_or_default();
    StoreError::UrlValidation(format!(
        "Webhook validation handshake failed for {shown}. For troublehooting, visit https://aka.ms/esvalidation."
    ))
    .into()
}

/// `{base}/_emulator/sink/...`: records anything posted and answers validation handshakes
/// (the validation event, and the CloudEvents `OPTIONS` abuse-protection request).
pub async fn sink_endpoint(
    State(emu): State<Emulator>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == axum::http::Method::OPTIONS {
        let origin = headers
            .get("webhook-request-origin")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("*")
            .to_string();
        let note = json!({"WebHook-Request-Origin": origin});
        record(&emu, &uri.to_string(), "CloudEventsValidation", note);
        let mut r = empty(StatusCode::OK);
        crate::emulator::infra::http::set_header(&mut r, "webhook-allowed-origin", &origin);
        crate::emulator::infra::http::set_header(&mut r, "webhook-allowed-rate", "*");
        crate::emulator::infra::http::set_header(&mut r, "allow", "POST, OPTIONS");
        return r;
    }
    let event_type = headers
        .get("aeg-event-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Notification")
        .to_string();
    let json_body: Value =
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
    let code = json_body[0]["data"]["validationCode"]
        .as_str()
        .map(str::to_string);
    record(&emu, &uri.to_string(), &event_type, json_body);
    match code {
        Some(code) if event_type.eq_ignore_ascii_case("SubscriptionValidation") => {
            json_response(StatusCode::OK, json!({"validationResponse": code}))
        }
        _ => empty(StatusCode::OK),
    }
}
