//! `ArmClient`: one reqwest client, the retry loop, pacing, request counting and logging.
//!
//! Every request goes through `ArmClient::send`: pace (per subscription and class), attach the
//! bearer token, `x-ms-client-request-id` and User-Agent, count, and hand the attempts to the
//! shared retry loop (`remote_http::send_with_retry`, which logs and retries). Typed operations
//! and LRO polling live in `ops`. This module must not decide what to change.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};

use super::auth::TokenSource;
use super::error::{ArmError, RequestIds, RequestTarget};
use super::lro::LroConfig;
use super::pacing::{Pacer, PacingConfig, Permit};
use super::request::OpClass;
use crate::remote_http::{
    AfterResponse, AttemptInfo, Attempts, RawResponse, RequestLog, RetryPolicy, SendError, excerpt,
    parse_arm_error, redact_url, send_with_retry,
};

/// The User-Agent every request carries.
pub const USER_AGENT: &str = concat!("gridform/", env!("CARGO_PKG_VERSION"));

/// Tunables of an `ArmClient`.
#[derive(Debug, Clone)]
pub struct ArmClientOptions {
    /// HTTP retry policy.
    pub retry: RetryPolicy,
    /// Long-running-operation polling.
    pub lro: LroConfig,
    /// Client-side pacing.
    pub pacing: PacingConfig,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Page size asked of Event Grid list operations (`$top`, 1–100).
    pub page_size: u32,
}

impl Default for ArmClientOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            lro: LroConfig::default(),
            pacing: PacingConfig::default(),
            request_timeout: Duration::from_secs(60),
            page_size: 100,
        }
    }
}

pub use crate::model::live::RequestCounts;

#[derive(Debug, Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    deletes: AtomicU64,
}

impl Counters {
    fn add(&self, class: OpClass) {
        let c = match class {
            OpClass::Read => &self.reads,
            OpClass::Write => &self.writes,
            OpClass::Delete => &self.deletes,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RequestCounts {
        RequestCounts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            deletes: self.deletes.load(Ordering::Relaxed),
        }
    }
}

/// A response after retries: status, headers, the whole body, and its request ids.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
    /// Request identifiers.
    pub ids: RequestIds,
}

impl Response {
    /// The body as JSON; `None` for an empty body.
    pub fn json(&self, target: &RequestTarget) -> Result<Option<serde_json::Value>, ArmError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| ArmError::Malformed {
                target: target.clone(),
                status: self.status,
                reason: format!("invalid JSON ({e}): {}", excerpt(&self.body)),
                ids: self.ids.clone(),
            })
    }

    /// The error this response represents (for non-success statuses).
    pub fn to_error(&self, target: &RequestTarget) -> ArmError {
        let env = parse_arm_error(self.status, &self.body);
        ArmError::Http {
            target: target.clone(),
            status: self.status,
            code: env.code,
            message: env.message,
            ids: self.ids.clone(),
        }
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub subscription: &'a str,
    pub target: RequestTarget,
    pub body: Option<&'a serde_json::Value>,
    /// Whether the request may be resent when its outcome is unknown.
    pub idempotent: bool,
}

/// The server's clock as ARM's `Date` headers tell it: the latest date seen and when it was seen,
/// so that `now` is that date plus the time since (time decisions follow the server, not us).
#[derive(Debug, Default)]
struct ServerClock {
    seen: std::sync::Mutex<Option<(chrono::DateTime<chrono::Utc>, std::time::Instant)>>,
}

impl ServerClock {
    fn observe(&self, headers: &HeaderMap) {
        let Some(date) = crate::remote_http::retry::header_str(headers, "date")
            .and_then(crate::remote_http::retry::parse_http_date)
        else {
            return;
        };
        if let Ok(mut seen) = self.seen.lock() {
            // Responses finish out of order; keep the latest server time.
            let newer = seen.is_none_or(|(d, at)| date >= advanced(d, at.elapsed()));
            if newer {
                *seen = Some((date, std::time::Instant::now()));
            }
        }
    }

    fn now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let seen = *self.seen.lock().ok()?;
        seen.map(|(d, at)| advanced(d, at.elapsed()))
    }
}

/// `date + by`, saturating at the largest representable time.
fn advanced(date: chrono::DateTime<chrono::Utc>, by: Duration) -> chrono::DateTime<chrono::Utc> {
    chrono::Duration::from_std(by)
        .ok()
        .and_then(|d| date.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// The ARM client (cheap to clone; clones share pacing and counters).
#[derive(Clone, Debug)]
pub struct ArmClient {
    pub(crate) http: reqwest::Client,
    pub(crate) base: url::Url,
    tokens: TokenSource,
    pacer: Pacer,
    pub(crate) options: Arc<ArmClientOptions>,
    counters: Arc<Counters>,
    server_clock: Arc<ServerClock>,
    /// Turning true interrupts long-running-operation polling (`ArmError::Interrupted`).
    pub(crate) stop: Option<tokio::sync::watch::Receiver<bool>>,
}

/// A reqwest client with our User-Agent, optionally trusting an extra root certificate (PEM).
pub fn http_client(
    timeout: Duration,
    extra_root_pem: Option<&[u8]>,
) -> Result<reqwest::Client, ArmError> {
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(crate::remote_http::redirect_policy())
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout);
    if let Some(pem) = extra_root_pem {
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|e| ArmError::Config(format!("bad root certificate: {e}")))?;
        b = b.add_root_certificate(cert);
    }
    b.build()
        .map_err(|e| ArmError::Config(format!("cannot build the HTTP client: {e}")))
}

impl ArmClient {
    /// A client for the ARM endpoint `base` (e.g. `https://management.azure.com`).
    pub fn new(
        http: reqwest::Client,
        base: url::Url,
        tokens: TokenSource,
        options: ArmClientOptions,
    ) -> Self {
        Self {
            http,
            base,
            tokens,
            pacer: Pacer::new(options.pacing.clone()),
            options: Arc::new(options),
            counters: Arc::default(),
            server_clock: Arc::default(),
            stop: None,
        }
    }

    /// The server's current time as the `Date` headers of its responses tell it (the latest one
    /// plus the time since it arrived); `None` before the first response with one.
    pub fn server_now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.server_clock.now()
    }

    /// A clone whose long-running-operation polling stops (`ArmError::Interrupted`) once `stop`
    /// turns true. Dropping the poll does not cancel the operation in Azure: it may still
    /// complete there, and re-reading the state (the next plan) sees where it ended.
    pub fn with_stop(&self, stop: tokio::sync::watch::Receiver<bool>) -> Self {
        Self {
            stop: Some(stop),
            ..self.clone()
        }
    }

    /// A client with default options and its own HTTP client.
    pub fn with_defaults(base: url::Url, tokens: TokenSource) -> Result<Self, ArmError> {
        let options = ArmClientOptions::default();
        let http = http_client(options.request_timeout, None)?;
        Ok(Self::new(http, base, tokens, options))
    }

    /// The ARM endpoint.
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// A token for another Entra ID scope from the same credential (never logged).
    pub fn token_for(
        &self,
        scope: &str,
    ) -> impl std::future::Future<
        Output = Result<crate::model::Sensitive<String>, super::error::CredentialError>,
    > + Send
    + '_ {
        let scope = scope.to_string();
        async move { self.tokens.token_for(&scope).await }
    }

    /// Requests sent so far, per class.
    pub fn request_counts(&self) -> RequestCounts {
        self.counters.snapshot()
    }

    /// Sends one logical request with pacing and retries (`remote_http::send_with_retry`).
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Response, ArmError> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let path = redact_url(&call.url);
        let log = RequestLog {
            service: "ARM",
            method: &call.method,
            path: &path,
        };
        let mut attempts = ArmAttempts {
            client: self,
            call: &call,
            class: OpClass::of(&call.method),
            client_request_id: &client_request_id,
            refreshed_token: false,
        };
        let sent = send_with_retry(&mut attempts, &self.options.retry, call.idempotent, &log).await;
        let ids = |headers: Option<&HeaderMap>| RequestIds {
            client_request_id: client_request_id.clone(),
            request_id: headers.and_then(|h| header(h, "x-ms-request-id")),
            correlation_id: headers.and_then(|h| header(h, "x-ms-correlation-request-id")),
        };
        match sent {
            Ok(raw) => Ok(Response {
                status: raw.status,
                ids: ids(Some(&raw.headers)),
                headers: raw.headers,
                body: raw.body,
            }),
            Err(SendError::Prepare(e)) => Err(e),
            Err(SendError::OutcomeUnknown { message }) => Err(ArmError::OutcomeUnknown {
                target: call.target.clone(),
                message,
                ids: ids(None),
            }),
            Err(SendError::Refused { message }) => Err(ArmError::Refused {
                target: call.target.clone(),
                message,
                ids: ids(None),
            }),
            Err(SendError::Transport { message, attempts }) => Err(ArmError::Transport {
                target: call.target.clone(),
                message: format!("{message} (after {attempts} attempts)"),
                ids: ids(None),
            }),
        }
    }
}

/// The attempts of one ARM request: paced per subscription and class, with a bearer token,
/// `x-ms-client-request-id` (the same on every attempt) and counted.
struct ArmAttempts<'c, 'a> {
    client: &'c ArmClient,
    call: &'c Call<'a>,
    class: OpClass,
    client_request_id: &'c str,
    refreshed_token: bool,
}

impl Attempts for ArmAttempts<'_, '_> {
    type Error = ArmError;
    type Permit = Permit;

    async fn prepare(&mut self) -> Result<(reqwest::RequestBuilder, Permit), ArmError> {
        let (client, call) = (self.client, self.call);
        let permit = client.pacer.acquire(call.subscription, self.class).await;
        let token = client.tokens.token().await?;
        let mut req = client
            .http
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(token.expose())
            .header("x-ms-client-request-id", self.client_request_id)
            .header("accept", "application/json");
        if let Some(body) = call.body {
            req = req.json(body);
        }
        client.counters.add(self.class);
        Ok((req, permit))
    }

    fn after_response(
        &mut self,
        permit: Permit,
        response: &RawResponse,
        info: &AttemptInfo,
    ) -> AfterResponse {
        let (client, call) = (self.client, self.call);
        client.pacer.observe(&permit, self.class, &response.headers);
        client.server_clock.observe(&response.headers);
        drop(permit);
        if response.status == 429 {
            let hold = info.server_delay.unwrap_or(info.backoff);
            client.pacer.hold(call.subscription, self.class, hold);
        }
        // A token the server no longer accepts (expired early, clock skew, an emulator whose
        // clock was advanced): fetch a fresh one, once.
        if response.status == 401 && !self.refreshed_token && client.tokens.invalidate() {
            self.refreshed_token = true;
            let (method, path) = (&call.method, redact_url(&call.url));
            tracing::info!(%method, path, "token rejected; fetching a new one");
            return AfterResponse::ResendNow;
        }
        AfterResponse::Continue
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_subtract() {
        let a = RequestCounts {
            reads: 5,
            writes: 2,
            deletes: 1,
        };
        let b = RequestCounts {
            reads: 7,
            writes: 2,
            deletes: 3,
        };
        assert_eq!(
            b.since(&a),
            RequestCounts {
                reads: 2,
                writes: 0,
                deletes: 2
            }
        );
        assert_eq!(b.total(), 12);
    }

    #[test]
    fn the_server_clock_keeps_the_latest_date_header() {
        let clock = ServerClock::default();
        assert_eq!(clock.now(), None);
        let mut h = HeaderMap::new();
        h.insert(
            "date",
            HeaderValue::from_static("Sat, 21 Nov 2026 10:00:00 GMT"),
        );
        clock.observe(&h);
        let later = clock.now().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap();
        assert!(
            later >= at && later < at + chrono::Duration::minutes(1),
            "{later}"
        );
        // An older date (a slow response arriving late) does not move the clock back.
        h.insert(
            "date",
            HeaderValue::from_static("Sat, 21 Nov 2026 09:00:00 GMT"),
        );
        clock.observe(&h);
        assert!(clock.now().unwrap() >= at);
        h.insert("date", HeaderValue::from_static("not a date"));
        clock.observe(&h);
        assert!(clock.now().unwrap() >= at);
    }

    #[test]
    fn advancing_saturates() {
        let max = chrono::DateTime::<chrono::Utc>::MAX_UTC;
        assert_eq!(advanced(max, Duration::from_secs(10)), max);
    }

    #[test]
    fn user_agent_names_the_version() {
        assert!(USER_AGENT.starts_with("gridform/"));
    }
}
