//! `/auth0/api/v2/log-streams[/{id}]`: list, get, create, patch, delete, behind a Management API
//! token from `auth0_api::token`.
//!
//! HTTP only: token checks, JSON parsing and the success statuses; log-stream semantics and the
//! simulated partner live in `store::auth0`, failure statuses in `emulator::error`. Tokens are
//! never logged.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::emulator::error::{Auth0ApiError, EmulatorError};
use crate::emulator::identity::jwt::Audience;
use crate::emulator::infra::http::{empty, json as json_response, request_ctx};
use crate::emulator::instance::Emulator;

fn check(emu: &Emulator, headers: &HeaderMap) -> Result<(), Auth0ApiError> {
    if !emu.config().require_auth {
        return Ok(());
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| Auth0ApiError::Unauthorized("Missing authentication".into()))?;
    let key = emu.lock().signing_key.clone();
    let claims = crate::emulator::identity::jwt::verify(&key, token.trim(), emu.clock.now())
        .map_err(|why| Auth0ApiError::Unauthorized(format!("Invalid token: {why}")))?;
    crate::emulator::identity::jwt::check_audience(&claims, Audience::Auth0ManagementApi, "")
        .map_err(|why| Auth0ApiError::Unauthorized(format!("Bad audience: {why}")))
}

fn parse(body: &Bytes) -> Result<Value, Auth0ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        Auth0ApiError::InvalidBody(format!("Invalid request payload JSON format: {e}"))
    })
}

/// Runs `f` on the ticked store and writes the state file.
fn with_store<T>(
    emu: &Emulator,
    now: chrono::DateTime<chrono::Utc>,
    f: impl FnOnce(
        &mut crate::emulator::store::Store,
    ) -> Result<T, crate::emulator::store::auth0::LogStreamError>,
) -> Result<T, Auth0ApiError> {
    let mut store = emu.lock();
    store.tick(now);
    let out = f(&mut store);
    emu.flush_locked(&mut store)
        .map_err(|e| Auth0ApiError::Internal(e.to_string()))?;
    Ok(out?)
}

/// `GET /auth0/api/v2/log-streams`.
pub async fn list(
    State(emu): State<Emulator>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    check(&emu, &headers)?;
    let items = with_store(&emu, emu.clock.now(), |s| Ok(s.list_streams()))?;
    Ok(json_response(StatusCode::OK, Value::Array(items)))
}

/// `GET /auth0/api/v2/log-streams/{id}`.
pub async fn get_one(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    check(&emu, &headers)?;
    let v = with_store(&emu, emu.clock.now(), |s| s.get_stream(&id))?;
    Ok(json_response(StatusCode::OK, v))
}

/// `POST /auth0/api/v2/log-streams`.
pub async fn create(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    check(&emu, &headers)?;
    let body = parse(&body)?;
    let c = request_ctx(&emu, &headers);
    let v = with_store(&emu, c.now, |s| s.create_stream(&c, &body))?;
    Ok(json_response(StatusCode::OK, v))
}

/// `PATCH /auth0/api/v2/log-streams/{id}`.
pub async fn patch(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    check(&emu, &headers)?;
    let body = parse(&body)?;
    let c = request_ctx(&emu, &headers);
    let v = with_store(&emu, c.now, |s| s.patch_stream(&c, &id, &body))?;
    Ok(json_response(StatusCode::OK, v))
}

/// `DELETE /auth0/api/v2/log-streams/{id}`.
pub async fn delete(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    check(&emu, &headers)?;
    with_store(&emu, emu.clock.now(), |s| s.delete_stream(&id))?;
    Ok(empty(StatusCode::NO_CONTENT).into_response())
}
