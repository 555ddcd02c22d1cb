//! HTTP plumbing shared by every route: request ids and latency (the common layer), the base
//! URL seen by the client, and success response helpers.
//!
//! It must not implement any resource semantics.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::emulator::instance::Emulator;

const REQUEST_ID: &str = "x-ms-request-id";
const CORRELATION_ID: &str = "x-ms-correlation-request-id";

/// Adds `x-ms-request-id` / `x-ms-correlation-request-id` and a `Date` from the emulator's clock
/// (as Azure's `Date` is its own clock; hyper would otherwise stamp the machine's) to every
/// response, and applies `--latency`.
pub async fn common_layer(State(emu): State<Emulator>, request: Request, next: Next) -> Response {
    let correlation = request
        .headers()
        .get(CORRELATION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let client_request = request.headers().get("x-ms-client-request-id").cloned();
    let latency = emu.config().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::debug!(%method, %path, status = response.status().as_u16(), %request_id, "emulator request");
    let headers = response.headers_mut();
    for (name, value) in [(REQUEST_ID, request_id), (CORRELATION_ID, correlation)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    if let Some(v) = client_request {
        headers.insert(HeaderName::from_static("x-ms-client-request-id"), v);
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(emu.clock.now())) {
        headers.insert(header::DATE, v);
    }
    response
}

/// An HTTP date (RFC 7231 IMF-fixdate), the form of the `Date` header.
pub fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The base URL the client used (`{scheme}://{Host}`).
pub fn base_url(emu: &Emulator, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("{}://{host}", emu.config().scheme)
}

/// The store context of a request: the emulator clock's now, the base URL the client used and
/// the LRO delay.
pub fn request_ctx(emu: &Emulator, headers: &HeaderMap) -> crate::emulator::store::Ctx {
    crate::emulator::store::Ctx {
        now: emu.clock.now(),
        base: base_url(emu, headers),
        delay: chrono::Duration::from_std(emu.config().lro_delay).unwrap_or_default(),
        fail_lro: false,
    }
}

/// A JSON response.
pub fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A response with no body.
pub fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

/// Sets a header from a string, ignoring values that are not valid header text.
pub fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), v);
    }
}

/// A response whose body fails mid-stream, so the client sees the connection drop.
pub fn connection_reset() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A 200 with a JSON body.
pub fn ok_json(body: Value) -> Response {
    json(StatusCode::OK, body)
}

/// 201 when the write created the resource, else 200, with a JSON body.
pub fn created_or_ok(created: bool, body: Value) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json(status, body)
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates_are_imf_fixdate() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(super::http_date(t), "Fri, 02 Jan 2026 03:04:05 GMT");
    }
}
