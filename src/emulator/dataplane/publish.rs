//! The Event Grid data plane for custom topics: `POST {topic endpoint}` (the `endpoint` a topic
//! reports) authenticated with `aeg-sas-key` (header or query), a SAS token (`aeg-sas-token` or
//! `Authorization: SharedAccessSignature …`) or a bearer token from this emulator; the body is
//! checked against the topic's input schema (`publish_input`) and the events are handed to the
//! outbox for delivery with retries.
//!
//! It must not change ARM resources. Keys, tokens and full webhook URLs are never logged.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

use crate::emulator::dataplane::publish_input::{PublishError, TopicInputSchema};
use crate::emulator::error::EmulatorError;
use crate::emulator::identity::jwt::{Audience, check_audience};
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
            let claims =
                crate::emulator::identity::jwt::verify(&signing, token.trim(), emu.clock.now())
                    .map_err(|why| {
                        PublishError::Unauthorized(format!("The access token is invalid: {why}."))
                    })?;
            check_audience(&claims, Audience::EventGridDataPlane, "")
                .map_err(PublishError::Unauthorized)
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
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let why = format!(
                "The total size of the request exceeds the maximum allowed size of {} bytes.",
                crate::emulator::dataplane::publish_input::MAX_BYTES
            );
            return EmulatorError::from(PublishError::TooLarge(why)).into_response();
        }
        Err(e) => {
            let why = format!("The request body could not be read: {e}.");
            return EmulatorError::from(PublishError::BadRequest(why)).into_response();
        }
    };
    match run(&emu, &host, &query, &headers, &body) {
        Ok(()) => empty(StatusCode::OK),
        Err(e) => EmulatorError::from(e).into_response(),
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
    let schema = TopicInputSchema::from_property(target.input_schema.as_deref());
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
