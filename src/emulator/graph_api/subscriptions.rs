//! `/graph/v1.0/subscriptions[/{id}[/reauthorize]]`: create, list (paged with
//! `@odata.nextLink`), get, patch, delete and reauthorize, each for the token's application
//! only.
//!
//! HTTP only: injected faults (`faults_layer`), the token check (an emulator Entra token whose
//! `aud` is Graph's; its `tid` and `appid` say who calls), JSON parsing, paging, success
//! statuses, and handing the lifecycle
//! events the store returns to the partner topic's delivery. Semantics live in `store::graph`,
//! failure statuses in `emulator::error`. Tokens and `clientState` are never logged.

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::emulator::controls::events::publish_as_partner;
use crate::emulator::error::{EmulatorError, GraphApiError};
use crate::emulator::identity::jwt::{self, Audience};
use crate::emulator::identity::{DEFAULT_TENANT, tenant_id};
use crate::emulator::infra::faults::InjectedFailure;
use crate::emulator::infra::http::{
    base_url, connection_reset, empty, json as json_response, request_ctx,
};
use crate::emulator::instance::Emulator;
use crate::emulator::store::graph::{GraphCaller, GraphError, PartnerEvents};
use crate::emulator::store::{Ctx, Store};

/// Subscriptions per page of `GET /subscriptions` (Graph's own page size is not documented).
pub const PAGE_SIZE: usize = 100;
/// The application of unauthenticated calls when the emulator runs without `require_auth`.
const ANONYMOUS_APP: &str = "00000000-0000-0000-0000-00000000a11e";

/// The `--faults` layer of the Graph routes: injected latency, dropped connections, 500/503
/// (`serviceNotAvailable` with `Retry-After`) and 429 (`TooManyRequests` with `Retry-After`),
/// rolled as for ARM reads.
pub async fn faults_layer(State(emu): State<Emulator>, request: Request, next: Next) -> Response {
    let roll = emu.faults().roll(false);
    if !roll.extra_latency.is_zero() {
        tokio::time::sleep(roll.extra_latency).await;
    }
    if roll.reset {
        return connection_reset();
    }
    match roll.error {
        Some(InjectedFailure::ServerError(code)) => {
            EmulatorError::from(GraphApiError::InjectedFault(code)).into_response()
        }
        Some(InjectedFailure::Throttled) => {
            EmulatorError::from(GraphApiError::Throttled).into_response()
        }
        None => next.run(request).await,
    }
}

/// The caller the bearer token names; 401 without a valid Graph token.
fn caller(emu: &Emulator, headers: &HeaderMap) -> Result<GraphCaller, GraphApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        if !emu.config().require_auth {
            return Ok(GraphCaller {
                tenant: DEFAULT_TENANT.into(),
                app: ANONYMOUS_APP.into(),
            });
        }
        return Err(GraphApiError::Unauthorized("Access token is empty.".into()));
    };
    let key = emu.lock().signing_key.clone();
    let claims = jwt::verify(&key, token.trim(), emu.clock.now()).map_err(|why| {
        GraphApiError::Unauthorized(format!("Access token validation failure: {why}."))
    })?;
    jwt::check_audience(&claims, Audience::Graph, "").map_err(|why| {
        GraphApiError::Unauthorized(format!(
            "Access token validation failure. Invalid audience. {why}"
        ))
    })?;
    let claim = |c: &str| claims[c].as_str().unwrap_or_default().to_string();
    let app = [claim("appid"), claim("azp")]
        .into_iter()
        .find(|a| !a.is_empty())
        .unwrap_or_default();
    Ok(GraphCaller {
        tenant: tenant_id(&claim("tid")).to_string(),
        app,
    })
}

fn parse(body: &Bytes) -> Result<Value, GraphApiError> {
    serde_json::from_slice(body)
        .map_err(|e| GraphApiError::InvalidBody(format!("Invalid JSON in the request body: {e}")))
}

/// Runs `f` on the store and writes the state database.
fn with_store<T>(
    emu: &Emulator,
    f: impl FnOnce(&mut Store) -> Result<T, GraphError>,
) -> Result<T, GraphApiError> {
    let mut store = emu.lock();
    let out = f(&mut store);
    emu.flush_locked(&mut store)
        .map_err(|e| GraphApiError::Internal(e.to_string()))?;
    Ok(out?)
}

/// A subscription as Graph answers it, with its `@odata.context`.
fn entity(base: &str, mut body: Value) -> Value {
    if let Some(obj) = body.as_object_mut() {
        obj.insert(
            "@odata.context".into(),
            json!(format!("{base}/graph/v1.0/$metadata#subscriptions/$entity")),
        );
    }
    body
}

/// Hands lifecycle events to their partner topics; a refusal is logged (Graph does not tell).
fn deliver(emu: &Emulator, events: PartnerEvents) {
    for (topic, event) in events {
        if let Err(e) = publish_as_partner(emu, &topic, vec![event], "GraphLifecycleRefused") {
            tracing::warn!(%topic, error = %e, "a Graph lifecycle event was not delivered");
        }
    }
}

/// A write (create or PATCH): the caller, the JSON body and the request context go to `op`;
/// the lifecycle events it returns are delivered; `status` with the subscription.
fn write(
    emu: &Emulator,
    headers: &HeaderMap,
    body: &Bytes,
    status: StatusCode,
    op: impl FnOnce(
        &mut Store,
        &Ctx,
        &GraphCaller,
        &Value,
    ) -> Result<(Value, PartnerEvents), GraphError>,
) -> Result<Response, EmulatorError> {
    let who = caller(emu, headers)?;
    let body = parse(body)?;
    let c = request_ctx(emu, headers);
    let (out, events) = with_store(emu, |s| op(s, &c, &who, &body))?;
    deliver(emu, events);
    Ok(json_response(status, entity(&c.base, out)))
}

/// `POST /graph/v1.0/subscriptions`: 201 with the subscription.
pub async fn create(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    write(
        &emu,
        &headers,
        &body,
        StatusCode::CREATED,
        Store::graph_create,
    )
}

/// `GET /graph/v1.0/subscriptions[?$skiptoken=N]`: a page of the caller's subscriptions.
pub async fn list(
    State(emu): State<Emulator>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    let who = caller(&emu, &headers)?;
    let base = base_url(&emu, &headers);
    let now = emu.clock.now();
    let all = with_store(&emu, |s| Ok(s.graph_list(now, &who)))?;
    let skip = match query.get("$skiptoken") {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| {
            GraphApiError::Store(GraphError::BadRequest {
                code: "BadRequest",
                message: format!("Invalid $skiptoken '{t}'."),
            })
        })?,
    };
    let page: Vec<Value> = all.iter().skip(skip).take(PAGE_SIZE).cloned().collect();
    let mut out = json!({
        "@odata.context": format!("{base}/graph/v1.0/$metadata#subscriptions"),
        "value": page,
    });
    let next = skip.saturating_add(PAGE_SIZE);
    if next < all.len() {
        out["@odata.nextLink"] =
            json!(format!("{base}/graph/v1.0/subscriptions?$skiptoken={next}"));
    }
    Ok(json_response(StatusCode::OK, out))
}

/// `GET /graph/v1.0/subscriptions/{id}`.
pub async fn get_one(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    let who = caller(&emu, &headers)?;
    let now = emu.clock.now();
    let out = with_store(&emu, |s| s.graph_get(now, &who, &id))?;
    Ok(json_response(
        StatusCode::OK,
        entity(&base_url(&emu, &headers), out),
    ))
}

/// `PATCH /graph/v1.0/subscriptions/{id}`: 200 with the subscription (the expiry granted).
pub async fn patch(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    write(&emu, &headers, &body, StatusCode::OK, |s, c, who, b| {
        s.graph_patch(c, who, &id, b)
    })
}

/// Runs `op` on the caller's subscription `id`: 204 when it succeeds.
fn no_content(
    emu: &Emulator,
    id: &str,
    headers: &HeaderMap,
    op: fn(&mut Store, chrono::DateTime<chrono::Utc>, &GraphCaller, &str) -> Result<(), GraphError>,
) -> Result<Response, EmulatorError> {
    let who = caller(emu, headers)?;
    let now = emu.clock.now();
    with_store(emu, |s| op(s, now, &who, id))?;
    Ok(empty(StatusCode::NO_CONTENT).into_response())
}

/// `DELETE /graph/v1.0/subscriptions/{id}`: 204.
pub async fn delete(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    no_content(&emu, &id, &headers, Store::graph_delete)
}

/// `POST /graph/v1.0/subscriptions/{id}/reauthorize`: 204.
pub async fn reauthorize(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    no_content(&emu, &id, &headers, Store::graph_reauthorize)
}
