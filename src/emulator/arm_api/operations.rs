//! Long-running operations: the `Azure-AsyncOperation` status URL, the `Location` result URLs
//! (per provider and for resource group deletion), and the headers a write that started an
//! operation answers with (`Azure-AsyncOperation`, `Location`, `Retry-After`).
//!
//! While an operation runs, every answer says when to look again twice: `Retry-After` in whole
//! seconds (rounded up, as ARM sends it) and `retry-after-ms` in milliseconds, the finer hint
//! Azure services send beside it and the Azure SDKs read first. A client that reads only
//! `Retry-After` polls a 0.9 s operation after 1 s; one that reads the finer hint after 0.9 s.
//!
//! Operations themselves (due times, completion, failure) are the store's; this module must not
//! change them.

use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::OperationRoute;
use crate::emulator::error::ArmApiError;
use crate::emulator::infra::http::{empty, json as json_response, set_header};
use crate::emulator::store::StoreError;
use crate::emulator::store::{OpAction, OpRef, Store};

/// GET of an operation URL.
pub fn execute(
    store: &Store,
    req: &ArmRequest<'_>,
    route: OperationRoute,
) -> Result<Response, ArmApiError> {
    if req.method != Method::GET {
        return Err(ArmApiError::MethodNotAllowed(req.method.to_string()));
    }
    match route {
        OperationRoute::GroupDeletion(id) => result(store, req, &id, true),
        OperationRoute::Result(id) => result(store, req, &id, false),
        OperationRoute::Status(id) => status(store, req, &id),
    }
}

/// Whole seconds (rounded up, at least 1) until `due`.
fn seconds_until(due: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> i64 {
    millis_until(due, now).div_euclid(1000) + 1
}

/// Milliseconds (at least 0) until `due`.
fn millis_until(due: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> i64 {
    (due - now).num_milliseconds().max(0)
}

/// Sets `Retry-After` (whole seconds) and `retry-after-ms` for a running operation due at `due`.
fn set_retry_hints(
    r: &mut Response,
    due: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) {
    set_header(r, "retry-after", &seconds_until(due, now).to_string());
    set_header(r, "retry-after-ms", &millis_until(due, now).to_string());
}

/// The `Azure-AsyncOperation` URL: always 200 with the status body.
fn status(store: &Store, req: &ArmRequest<'_>, id: &str) -> Result<Response, ArmApiError> {
    let op = store.operation(&req.subscription, id)?;
    let mut r = json_response(StatusCode::OK, Store::operation_status_body(op));
    if op.status == "InProgress" {
        set_retry_hints(&mut r, op.due, req.ctx.now);
    }
    Ok(r)
}

/// The `Location` URL of an operation: 202 while running, 200/204 when done, the error if failed.
fn result(
    store: &Store,
    req: &ArmRequest<'_>,
    id: &str,
    group: bool,
) -> Result<Response, ArmApiError> {
    let (sub, api, base) = (&req.subscription, &req.api_version, &req.ctx.base);
    let op = store.operation(sub, id)?;
    match op.status.as_str() {
        "InProgress" => {
            let mut r = empty(StatusCode::ACCEPTED);
            let url = if group {
                format!("{base}/subscriptions/{sub}/operationresults/{id}?api-version={api}")
            } else {
                format!(
                    "{base}/subscriptions/{sub}/providers/{}/locations/{}/operationResults/{id}?api-version={api}",
                    op.namespace, op.location
                )
            };
            set_header(&mut r, "location", &url);
            set_retry_hints(&mut r, op.due, req.ctx.now);
            Ok(r)
        }
        "Failed" => Err(StoreError::bad(
            "ResourceOperationFailure",
            "The resource operation completed with terminal provisioning state 'Failed'.",
        )
        .into()),
        _ if group => Ok(empty(StatusCode::OK)),
        _ if op.action == OpAction::Delete => Ok(empty(StatusCode::NO_CONTENT)),
        _ => Ok(json_response(
            StatusCode::OK,
            Store::operation_status_body(op),
        )),
    }
}

/// `Retry-After` for a just-started operation: its whole duration, `0` when already done.
pub fn retry_after(store: &Store, op: &OpRef) -> String {
    match store.operation(&op.subscription, &op.id) {
        Ok(o) if o.status == "InProgress" => seconds_until(o.due, o.started).to_string(),
        _ => "0".into(),
    }
}

/// The retry hints of a just-started operation: its whole duration (`Retry-After` and
/// `retry-after-ms`), or `Retry-After: 0` alone when it is already done.
fn set_initial_retry_hints(r: &mut Response, store: &Store, op: &OpRef) {
    match store.operation(&op.subscription, &op.id) {
        Ok(o) if o.status == "InProgress" => set_retry_hints(r, o.due, o.started),
        _ => set_header(r, "retry-after", "0"),
    }
}

/// Adds `Azure-AsyncOperation`, `Location` (when `location`, i.e. for deletes) and the retry
/// hints (`Retry-After`, `retry-after-ms`).
pub fn with_operation_headers(
    mut r: Response,
    store: &Store,
    req: &ArmRequest<'_>,
    op: &OpRef,
    location: bool,
) -> Response {
    let prefix = format!(
        "{}/subscriptions/{}/providers/{}/locations/{}",
        req.ctx.base, op.subscription, op.namespace, op.location
    );
    let api = &req.api_version;
    set_header(
        &mut r,
        "azure-asyncoperation",
        &format!("{prefix}/operationsStatus/{}?api-version={api}", op.id),
    );
    if location {
        set_header(
            &mut r,
            "location",
            &format!("{prefix}/operationResults/{}?api-version={api}", op.id),
        );
    }
    set_initial_retry_hints(&mut r, store, op);
    r
}

/// A 202 for a delete: with the operation headers when it started one, else 204.
pub fn accepted_delete(store: &Store, req: &ArmRequest<'_>, op: Option<OpRef>) -> Response {
    match op {
        Some(op) => with_operation_headers(empty(StatusCode::ACCEPTED), store, req, &op, true),
        None => empty(StatusCode::NO_CONTENT),
    }
}
