//! Emulator-only controls under `/_emulator/...` (documented in `docs/emulator.md`): read and
//! advance the clock, read and replace the fault spec, read and clear what the built-in webhook
//! sink received, the TLS certificate, the manual validation URL; `events` makes sources emit and
//! lists deliveries, `graph_events` makes Microsoft Graph emit. They need no token and are not ARM (`ControlError` bodies).
//!
//! They must not change ARM resources directly: advancing the clock only ticks the store.

pub mod events;
pub mod graph_events;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::error::{ControlError, EmulatorError};
use crate::emulator::infra::clock::format_time;
use crate::emulator::infra::faults::FaultSpec;
use crate::emulator::infra::http::{empty, json as json_response};
use crate::emulator::instance::Emulator;

/// `GET /_emulator/clock` → `{"now": ...}`.
pub async fn get_clock(State(emu): State<Emulator>) -> Response {
    json_response(StatusCode::OK, json!({"now": format_time(emu.clock.now())}))
}

/// `POST /_emulator/clock` with `{"advanceSeconds": N}`: moves the clock and applies what is due.
pub async fn advance_clock(
    State(emu): State<Emulator>,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(secs) = body["advanceSeconds"].as_f64().filter(|s| *s >= 0.0) else {
        let why = "expected {\"advanceSeconds\": N} with N >= 0";
        return Err(ControlError::invalid(why).into());
    };
    emu.clock
        .advance_seconds(secs)
        .map_err(ControlError::invalid)?;
    let now = emu.clock.now();
    let mut store = emu.lock();
    store.tick(now);
    if let Err(e) = emu.flush_locked(&mut store) {
        tracing::warn!(error = %e, "could not write the state file");
    }
    Ok(json_response(
        StatusCode::OK,
        json!({"now": format_time(now)}),
    ))
}

/// `GET /_emulator/faults`.
pub async fn get_faults(State(emu): State<Emulator>) -> Response {
    let spec = emu.faults().spec.clone();
    json_response(
        StatusCode::OK,
        serde_json::to_value(spec).unwrap_or(Value::Null),
    )
}

/// `PUT /_emulator/faults` with `{"spec": "5xx=0.1,..."}` (an empty spec turns faults off).
pub async fn put_faults(
    State(emu): State<Emulator>,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(text) = body["spec"].as_str() else {
        let why = "expected {\"spec\": \"5xx=0.1,429=0.05,...\"}";
        return Err(ControlError::invalid(why).into());
    };
    let spec = FaultSpec::parse(text).map_err(ControlError::invalid)?;
    emu.faults().spec = spec.clone();
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_value(spec).unwrap_or(Value::Null),
    ))
}

/// `GET /_emulator/sink` → `{"value": [{at, url, eventType, body}]}`.
pub async fn get_sink(State(emu): State<Emulator>) -> Response {
    let records: Vec<Value> = emu
        .lock()
        .sink
        .iter()
        .map(|r| json!({"at": r.at, "url": r.url, "eventType": r.event_type, "body": r.body}))
        .collect();
    json_response(StatusCode::OK, json!({"value": records}))
}

/// `DELETE /_emulator/sink`.
pub async fn clear_sink(State(emu): State<Emulator>) -> Response {
    let mut store = emu.lock();
    store.sink.clear();
    store.touch();
    if let Err(e) = emu.flush_locked(&mut store) {
        tracing::warn!(error = %e, "could not write the state file");
    }
    empty(StatusCode::NO_CONTENT)
}

/// `GET /_emulator/ca.pem`: the self-signed certificate when serving TLS (404 otherwise).
pub async fn get_ca(State(emu): State<Emulator>) -> Result<Response, EmulatorError> {
    let Some(pem) = &emu.config().ca_pem else {
        return Err(ControlError::NotFound {
            code: "NotServingTls",
            message: "the emulator was started without --tls".into(),
        }
        .into());
    };
    let mut r = Response::new(axum::body::Body::from(pem.clone()));
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/x-pem-file"),
    );
    Ok(r)
}

/// `GET /_emulator/validate?id=CODE`: the `validationUrl` of a manual validation handshake.
pub async fn manual_validation(
    State(emu): State<Emulator>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, EmulatorError> {
    let code = q.get("id").cloned().unwrap_or_default();
    let now = emu.clock.now();
    let mut store = emu.lock();
    let result = store.complete_manual_validation(&code, now);
    if let Err(e) = emu.flush_locked(&mut store) {
        tracing::warn!(error = %e, "could not write the state file");
    }
    let name = result.map_err(|e| ControlError::invalid(e.to_string()))?;
    Ok(json_response(
        StatusCode::OK,
        json!({"message": format!("Webhook successfully validated for event subscription '{name}'.")}),
    ))
}
