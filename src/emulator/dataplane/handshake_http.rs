//! The HTTP exchange of a webhook validation handshake: one request to a loopback receiver,
//! bounded in time ([`HANDSHAKE_TIMEOUT`]) and in the body read ([`MAX_HANDSHAKE_BODY`]), and a
//! plain sentence for each way it can fail — refused, no answer in time, cut connection, a
//! status other than 200, an unreadable body. A body needs no `Content-Length`: a close-delimited
//! one is read to EOF, and one that is complete JSON is taken without waiting for the close (a
//! receiver that keeps the connection open must not turn a valid echo into a timeout).
//!
//! It must not decide what the answer means (`webhook` does) and never puts the URL or its
//! query string into a message: reqwest errors are reduced to their I/O kind.

use std::error::Error as _;

use serde_json::Value;

use crate::emulator::error::ArmApiError;

/// Event Grid waits this long for a validation answer.
pub(crate) const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The most of a validation answer read (an echo is a few dozen bytes).
pub(crate) const MAX_HANDSHAKE_BODY: usize = 64 * 1024;

/// The one client every handshake shares: building a client loads the system's certificate
/// store, which per handshake cost a quarter of a 1,000-subscription apply's CPU (perf).
pub(crate) fn handshake_client() -> Result<reqwest::Client, ArmApiError> {
    static SHARED: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = SHARED.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .timeout(HANDSHAKE_TIMEOUT)
        .build()
        .map_err(|e| ArmApiError::Internal(e.without_url().to_string()))?;
    Ok(SHARED.get_or_init(|| client).clone())
}

/// Sends `request` (an HTTP `method`): the response when its status is 200, else a sentence
/// saying what happened.
pub(crate) async fn call(
    request: reqwest::RequestBuilder,
    method: &str,
) -> Result<reqwest::Response, String> {
    let response = request.send().await.map_err(|e| {
        format!(
            "Http {method} request failed with response code Unknown: {}.",
            transport_failure(&e)
        )
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::OK {
        Ok(response)
    } else {
        Err(format!(
            "Http {method} request failed with response code {}.",
            status.as_u16()
        ))
    }
}

/// The body as JSON: `Null` when it is empty or not JSON (the caller treats that as "no echo");
/// an error when it cannot be read (cut, too slow, too large).
pub(crate) async fn read_json_body(mut response: reqwest::Response) -> Result<Value, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_HANDSHAKE_BODY {
                    return Err(format!(
                        "it is larger than {} KB",
                        MAX_HANDSHAKE_BODY / 1024
                    ));
                }
                if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                    return Ok(value);
                }
            }
            Ok(None) => return Ok(serde_json::from_slice(&body).unwrap_or(Value::Null)),
            Err(e) => {
                return Err(format!(
                    "{} after {} byte(s)",
                    transport_failure(&e),
                    body.len()
                ));
            }
        }
    }
}

/// What went wrong on the wire, in words, from the error's kind and its innermost I/O error.
fn transport_failure(e: &reqwest::Error) -> String {
    let io_kind = io_error_kind(e);
    if e.is_timeout() {
        return format!(
            "no complete answer within {} seconds",
            HANDSHAKE_TIMEOUT.as_secs()
        );
    }
    match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => {
            "the connection was refused (is the receiver listening?)".into()
        }
        Some(kind) if e.is_connect() => format!("the connection could not be made ({kind})"),
        Some(kind) => format!("the connection failed ({kind})"),
        None if e.is_connect() => "the connection could not be made".into(),
        None if e.is_body() || e.is_decode() => {
            "the connection closed before the whole body arrived".into()
        }
        None => "the receiver closed the connection without a valid HTTP answer".into(),
    }
}

fn io_error_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}
