//! Long-running operations: deciding how to follow one, and reading status bodies. Pure.
//!
//! ARM signals an asynchronous operation with `Azure-AsyncOperation` (preferred), `Location`, or
//! a non-terminal `provisioningState` in a 200/201 body (azure-behaviour.md §2). This module
//! decides which of the three applies and interprets what the poll returns; the client's poll
//! loop does the waiting. It must not send requests or sleep.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::remote_http::retry::header_str;

/// How to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct LroConfig {
    /// Wait between polls when the server gives no `Retry-After`.
    pub default_interval: Duration,
    /// Shortest wait between polls (a `Retry-After: 0` must not become a busy loop).
    pub min_interval: Duration,
    /// Longest wait between polls.
    pub max_interval: Duration,
    /// Give up after this long.
    pub deadline: Duration,
}

impl Default for LroConfig {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(5),
            min_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(60),
            deadline: Duration::from_secs(30 * 60),
        }
    }
}

impl LroConfig {
    /// The wait before the next poll given the server's requested delay.
    pub fn interval(&self, server: Option<Duration>) -> Duration {
        server
            .unwrap_or(self.default_interval)
            .clamp(self.min_interval, self.max_interval.max(self.min_interval))
    }
}

/// Which mechanism an operation uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Nothing to wait for.
    Done,
    /// Poll this operation-status URL until `status` is terminal.
    AsyncOperation(String),
    /// Poll this URL until it stops answering 202.
    Location(String),
    /// GET the resource until its `provisioningState` is terminal.
    ProvisioningState,
}

/// Decides how to follow an initial response. `Azure-AsyncOperation` wins over `Location`; a
/// 200/201 body with a non-terminal `provisioningState` means polling the resource.
pub fn classify(status: u16, headers: &HeaderMap, body: Option<&serde_json::Value>) -> Poll {
    if let Some(url) = header_str(headers, "azure-asyncoperation") {
        // A body already `Failed` still has its operation polled: the error is in there.
        let succeeded = body.is_some_and(|b| provisioning_state(b).is_none_or(is_success));
        if matches!(status, 200..=202) && (status == 202 || !succeeded) {
            return Poll::AsyncOperation(url.to_string());
        }
    }
    if status == 202
        && let Some(url) = header_str(headers, "location")
    {
        return Poll::Location(url.to_string());
    }
    if (status == 200 || status == 201) && body.is_some_and(|b| !is_settled_body(b)) {
        return Poll::ProvisioningState;
    }
    Poll::Done
}

/// Whether a state waits for a person (`AwaitingManualAction`: an event subscription whose
/// webhook did not echo the validation code). Polling cannot end it, so polling stops there.
pub fn awaits_manual_action(state: &str) -> bool {
    state.eq_ignore_ascii_case("AwaitingManualAction")
}

/// Whether polling a resource body is over: terminal, or waiting for a manual action.
pub fn is_settled_body(body: &serde_json::Value) -> bool {
    provisioning_state(body).is_none_or(|s| is_terminal(s) || awaits_manual_action(s))
}

/// Whether a resource body is in a terminal state (no `provisioningState` counts as done).
pub fn is_terminal_body(body: &serde_json::Value) -> bool {
    provisioning_state(body).is_none_or(is_terminal)
}

/// `properties.provisioningState` of a resource body.
pub fn provisioning_state(body: &serde_json::Value) -> Option<&str> {
    body.get("properties")
        .and_then(|p| p.get("provisioningState"))
        .and_then(serde_json::Value::as_str)
}

/// Whether a status / provisioning state is terminal.
pub fn is_terminal(state: &str) -> bool {
    ["Succeeded", "Failed", "Canceled", "Cancelled"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(state))
}

/// Whether a terminal state is a success.
pub fn is_success(state: &str) -> bool {
    state.eq_ignore_ascii_case("Succeeded")
}

/// An operation-status resource (`Azure-AsyncOperation` body).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OperationStatus {
    /// `InProgress`, `Succeeded`, `Failed`, `Canceled`, ...
    pub status: String,
    /// Present when `Failed` or `Canceled`.
    #[serde(default)]
    pub error: Option<OperationError>,
}

/// The inner error of a failed operation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OperationError {
    /// `error.code`.
    #[serde(default)]
    pub code: Option<String>,
    /// `error.message`.
    #[serde(default)]
    pub message: Option<String>,
}

/// Parses an operation-status body; `Err` names what is wrong.
pub fn parse_operation_status(body: &[u8]) -> Result<OperationStatus, String> {
    serde_json::from_slice::<OperationStatus>(body).map_err(|e| {
        format!(
            "not an operation status ({e}): {}",
            crate::remote_http::excerpt(body)
        )
    })
}

/// The inner code and message of a failed resource body (`properties.error`, rare) or defaults.
pub fn failure_of_body(body: &serde_json::Value) -> (String, String) {
    let err = body
        .get("error")
        .or_else(|| body.get("properties")?.get("error"));
    let get = |k: &str| {
        err.and_then(|e| e.get(k))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    (
        get("code").unwrap_or_else(|| "ProvisioningFailed".into()),
        get("message").unwrap_or_else(|| {
            "the resource's provisioningState became terminal without success".into()
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn async_operation_header_wins() {
        let h = headers(&[
            ("azure-asyncoperation", "https://x/op"),
            ("location", "https://x/loc"),
        ]);
        assert_eq!(
            classify(202, &h, None),
            Poll::AsyncOperation("https://x/op".into())
        );
        let creating = json!({"properties": {"provisioningState": "Creating"}});
        assert_eq!(
            classify(201, &h, Some(&creating)),
            Poll::AsyncOperation("https://x/op".into())
        );
        // A terminal body with the header: nothing to wait for.
        let done = json!({"properties": {"provisioningState": "Succeeded"}});
        assert_eq!(classify(201, &h, Some(&done)), Poll::Done);
        // Unless it failed: the operation carries the error.
        let failed = json!({"properties": {"provisioningState": "Failed"}});
        assert_eq!(
            classify(201, &h, Some(&failed)),
            Poll::AsyncOperation("https://x/op".into())
        );
    }

    #[test]
    fn awaiting_manual_action_ends_polling_but_is_not_success() {
        let awaiting = json!({"properties": {"provisioningState": "AwaitingManualAction"}});
        assert_eq!(
            classify(201, &HeaderMap::new(), Some(&awaiting)),
            Poll::Done
        );
        assert!(is_settled_body(&awaiting));
        assert!(!is_terminal_body(&awaiting));
        let creating = json!({"properties": {"provisioningState": "Creating"}});
        assert!(!is_settled_body(&creating));
    }

    #[test]
    fn location_and_provisioning_state() {
        let h = headers(&[("location", "https://x/loc")]);
        assert_eq!(
            classify(202, &h, None),
            Poll::Location("https://x/loc".into())
        );
        // Location on a 201 is the resource URL, not an operation.
        assert_eq!(classify(201, &h, Some(&json!({}))), Poll::Done);
        let creating = json!({"properties": {"provisioningState": "Creating"}});
        assert_eq!(
            classify(201, &HeaderMap::new(), Some(&creating)),
            Poll::ProvisioningState
        );
        assert_eq!(
            classify(200, &HeaderMap::new(), Some(&json!({}))),
            Poll::Done
        );
        assert_eq!(classify(204, &HeaderMap::new(), None), Poll::Done);
    }

    #[test]
    fn terminal_states() {
        for s in ["Succeeded", "failed", "Canceled"] {
            assert!(is_terminal(s));
        }
        for s in ["InProgress", "Running", "Creating", "Accepted", "Deleting"] {
            assert!(!is_terminal(s));
        }
        assert!(is_terminal_body(&json!({"properties": {}})));
    }

    #[test]
    fn operation_status_bodies() {
        let ok = parse_operation_status(br#"{"status":"Succeeded","startTime":"x"}"#).unwrap();
        assert_eq!(ok.status, "Succeeded");
        let failed = parse_operation_status(
            br#"{"status":"Failed","error":{"code":"EndpointValidationFailed","message":"handshake"}}"#,
        )
        .unwrap();
        assert_eq!(
            failed.error.unwrap().code.as_deref(),
            Some("EndpointValidationFailed")
        );
        assert!(parse_operation_status(b"<html>").is_err());
        assert!(parse_operation_status(b"{}").is_err());
    }

    #[test]
    fn polls_at_the_millisecond_hint_and_at_whole_seconds_without_it() {
        let c = LroConfig::default();
        let now = chrono::Utc::now();
        let interval = |pairs: &[(&'static str, &str)]| {
            c.interval(crate::remote_http::retry::server_delay(
                &headers(pairs),
                now,
            ))
        };
        // The emulator's (and Azure's) pair: the finer hint wins.
        let both = [("retry-after", "1"), ("retry-after-ms", "900")];
        assert_eq!(interval(&both), Duration::from_millis(900));
        let x_ms = [("retry-after", "1"), ("x-ms-retry-after-ms", "450")];
        assert_eq!(interval(&x_ms), Duration::from_millis(450));
        // Real ARM often sends whole seconds only: honoured as sent.
        assert_eq!(interval(&[("retry-after", "1")]), Duration::from_secs(1));
        // The bounds still hold for the finer hint.
        let tiny = [("retry-after", "1"), ("retry-after-ms", "3")];
        assert_eq!(interval(&tiny), c.min_interval);
        let huge = [("retry-after-ms", "86400000")];
        assert_eq!(interval(&huge), c.max_interval);
    }

    #[test]
    fn poll_intervals_are_clamped() {
        let c = LroConfig::default();
        assert_eq!(c.interval(None), Duration::from_secs(5));
        assert_eq!(c.interval(Some(Duration::ZERO)), Duration::from_millis(250));
        assert_eq!(
            c.interval(Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
    }
}
