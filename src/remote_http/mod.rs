//! HTTP plumbing shared by the clients of remote APIs (`arm`, `auth0`, `graph` and the Event
//! Grid data plane): sending one logical request with the retry policy, error bodies, token responses.
//!
//! Owns the one retry loop ([`send_with_retry`]): send, read the whole body, log the attempt
//! (method, path without query string, status, duration — never headers, tokens or bodies), ask
//! the pure policy (`retry`) whether to try again, sleep, repeat. The caller builds each attempt
//! (token, pacing, headers) and may look at each response through [`Attempts`]. This module must
//! not know any API's paths or shapes beyond error bodies, decide what to change, or print.
//!
//! ```ignore
//! // The simple form: the same request on every attempt.
//! let log = RequestLog { service: "Event Grid", method: &Method::POST, path: "/api/events" };
//! let response = send_simple(&RetryPolicy::default(), false, &log, || {
//!     http.post(url.clone()).header("aeg-sas-key", key.expose()).json(&events)
//! })
//! .await?; // RawResponse { status, headers, body } of the last attempt, or a SendError
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

pub mod error_body;
pub mod limits;
pub mod retry;
pub mod token;

pub use error_body::{
    ErrorEnvelope, excerpt, parse_arm_error, parse_auth0_error, parse_graph_error, redact_url,
    transport_message,
};
pub use limits::{MAX_BODY_BYTES, redirect_policy};
pub use retry::{AttemptOutcome, Decision, RetryPolicy};
pub use token::TokenResponse;

/// `url` with a path ending in `/`, so that `join("x")` appends to it instead of replacing its
/// last segment (API roots such as `…/v1.0`).
pub fn directory_url(mut url: url::Url) -> url::Url {
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url
}

/// The response of the last attempt: any status (the caller decides what an error is).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

/// Why no response could be returned.
#[derive(Debug)]
pub enum SendError<E> {
    /// Building an attempt failed (no token, ...); `E` is the caller's error.
    Prepare(E),
    /// A non-idempotent request may have reached the server but no response arrived; it was not
    /// resent. The caller must re-read before trying again.
    OutcomeUnknown {
        /// The transport error (without the URL).
        message: String,
    },
    /// The server's answer was refused and not retried: a redirect to another origin, a body
    /// over [`MAX_BODY_BYTES`]. The message names the request and the rule.
    Refused {
        /// Why (method and path, never a query string).
        message: String,
    },
    /// Transport failures until the policy gave up.
    Transport {
        /// The last transport error (without the URL).
        message: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// What the logs say about a request. `path` must not carry a query string.
#[derive(Debug, Clone, Copy)]
pub struct RequestLog<'a> {
    /// The API, as the log message names it (`ARM`, `Auth0`, `Event Grid`).
    pub service: &'static str,
    /// HTTP method.
    pub method: &'a reqwest::Method,
    /// Path or URL without query string.
    pub path: &'a str,
}

/// What the retry loop knows about an attempt that got a response.
#[derive(Debug, Clone, Copy)]
pub struct AttemptInfo {
    /// The delay the response asked for (`Attempts::server_delay`).
    pub server_delay: Option<Duration>,
    /// The backoff the policy would use for this attempt.
    pub backoff: Duration,
}

/// What to do with a response before the retry policy looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterResponse {
    /// Let the policy decide (retry or return the response).
    Continue,
    /// Send again at once without counting a retry (e.g. a rejected token was dropped).
    ResendNow,
}

/// How a client builds and watches the attempts of one logical request.
pub trait Attempts: Send {
    /// The caller's error when building an attempt fails.
    type Error: Send;
    /// Held from `prepare` until the response arrived (e.g. a pacing permit).
    type Permit: Send;

    /// Builds the next attempt (fresh token, pacing, headers, body).
    fn prepare(
        &mut self,
    ) -> impl Future<Output = Result<(reqwest::RequestBuilder, Self::Permit), Self::Error>> + Send;

    /// The delay a response asks for; by default the Azure headers (`retry::server_delay`).
    fn server_delay(&self, headers: &HeaderMap) -> Option<Duration> {
        retry::server_delay(headers, chrono::Utc::now())
    }

    /// Sees every response before the retry decision (record rate-limit headers, drop a
    /// rejected token).
    fn after_response(
        &mut self,
        permit: Self::Permit,
        response: &RawResponse,
        info: &AttemptInfo,
    ) -> AfterResponse {
        let _ = (permit, response, info);
        AfterResponse::Continue
    }
}

/// Sends one logical request: retries retryable statuses and transport errors per `policy`
/// (honouring the server's delay, capped), never resends a non-`idempotent` request whose outcome
/// is unknown, and returns the last response whatever its status.
pub async fn send_with_retry<A: Attempts>(
    attempts: &mut A,
    policy: &RetryPolicy,
    idempotent: bool,
    log: &RequestLog<'_>,
) -> Result<RawResponse, SendError<A::Error>> {
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let (request, permit) = attempts.prepare().await.map_err(SendError::Prepare)?;
        let t0 = Instant::now();
        let result = send_once(request, log).await;
        let elapsed_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
        let jitter = rand::random::<f64>();
        let (method, path, service) = (log.method, log.path, log.service);
        let delay = match result {
            Ok(response) => {
                let status = response.status;
                tracing::debug!(%method, path, status, elapsed_ms, attempt, "{service} request");
                let server_delay = attempts.server_delay(&response.headers);
                let info = AttemptInfo {
                    server_delay,
                    backoff: retry::backoff(policy, attempt, jitter),
                };
                if attempts.after_response(permit, &response, &info) == AfterResponse::ResendNow {
                    continue;
                }
                let outcome = AttemptOutcome::Status(status);
                let elapsed = started.elapsed();
                match retry::decide(
                    policy,
                    idempotent,
                    attempt,
                    outcome,
                    server_delay,
                    elapsed,
                    jitter,
                ) {
                    Decision::RetryAfter(delay) => {
                        tracing::info!(
                            %method, path, status, ?delay, attempt,
                            "retrying {service} request"
                        );
                        delay
                    }
                    Decision::Stop | Decision::Unknown => return Ok(response),
                }
            }
            Err(Failure::Refused(message)) => {
                tracing::debug!(%method, path, error = %message, attempt, "{service} request refused");
                return Err(SendError::Refused { message });
            }
            Err(Failure::Attempt(outcome, message)) => {
                drop(permit);
                tracing::debug!(
                    %method, path, error = %message, elapsed_ms, attempt,
                    "{service} request failed"
                );
                let elapsed = started.elapsed();
                match retry::decide(policy, idempotent, attempt, outcome, None, elapsed, jitter) {
                    Decision::RetryAfter(delay) => {
                        tracing::info!(
                            %method, path, ?delay, attempt,
                            "retrying {service} request after a transport error"
                        );
                        delay
                    }
                    Decision::Unknown => return Err(SendError::OutcomeUnknown { message }),
                    Decision::Stop => {
                        let attempts = attempt.saturating_add(1);
                        return Err(SendError::Transport { message, attempts });
                    }
                }
            }
        };
        tokio::time::sleep(delay).await;
        attempt = attempt.saturating_add(1);
    }
}

/// [`send_with_retry`] for a client without pacing or token refresh: `build` makes the request
/// of each attempt.
pub async fn send_simple<F>(
    policy: &RetryPolicy,
    idempotent: bool,
    log: &RequestLog<'_>,
    build: F,
) -> Result<RawResponse, SendError<Infallible>>
where
    F: FnMut() -> reqwest::RequestBuilder + Send,
{
    send_with_retry(&mut Simple(build), policy, idempotent, log).await
}

struct Simple<F>(F);

impl<F: FnMut() -> reqwest::RequestBuilder + Send> Attempts for Simple<F> {
    type Error = Infallible;
    type Permit = ();

    async fn prepare(&mut self) -> Result<(reqwest::RequestBuilder, ()), Infallible> {
        Ok(((self.0)(), ()))
    }
}

/// Why an attempt got no usable response.
enum Failure {
    /// Worth asking the retry policy: what happened and the transport error's text.
    Attempt(AttemptOutcome, String),
    /// Final whatever the policy: a refused redirect, a body over the cap.
    Refused(String),
}

/// One attempt: the response with its whole body (at most [`MAX_BODY_BYTES`]), or what went
/// wrong and whether anything can have reached the server.
async fn send_once(
    request: reqwest::RequestBuilder,
    log: &RequestLog<'_>,
) -> Result<RawResponse, Failure> {
    let what = format!("{} {}", log.method, log.path);
    match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            match limits::read_body(resp, MAX_BODY_BYTES, &what).await {
                Ok(body) => Ok(RawResponse {
                    status,
                    headers,
                    body,
                }),
                Err(Ok(message)) => Err(Failure::Refused(message)),
                Err(Err(e)) => Err(Failure::Attempt(
                    AttemptOutcome::NoResponse,
                    transport_message(e),
                )),
            }
        }
        Err(e) if limits::is_refused_redirect(&e) => Err(Failure::Refused(format!(
            "{what}: {}",
            transport_message(e)
        ))),
        Err(e) => {
            let outcome = if e.is_connect() {
                AttemptOutcome::ConnectFailed
            } else {
                AttemptOutcome::NoResponse
            };
            Err(Failure::Attempt(outcome, transport_message(e)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server that answers each connection with the next canned response.
    async fn scripted(responses: Vec<&'static str>) -> url::Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for r in responses {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await.unwrap();
                sock.write_all(r.as_bytes()).await.unwrap();
                sock.shutdown().await.unwrap();
            }
        });
        url::Url::parse(&format!("http://{addr}/x")).unwrap()
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        }
    }

    const BUSY: &str = "HTTP/1.1 503 Service Unavailable\r\nretry-after-ms: 1\r\n\
                        connection: close\r\ncontent-length: 0\r\n\r\n";
    const OK: &str = "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok";

    #[tokio::test]
    async fn a_busy_server_is_asked_again_and_the_last_response_returned() {
        let url = scripted(vec![BUSY, OK]).await;
        let http = reqwest::Client::new();
        let log = RequestLog {
            service: "test",
            method: &reqwest::Method::GET,
            path: "/x",
        };
        let mut sent = 0;
        let r = send_simple(&fast(), true, &log, || {
            sent += 1;
            http.get(url.clone())
        })
        .await
        .unwrap();
        assert_eq!((r.status, r.body.as_slice(), sent), (200, &b"ok"[..], 2));
    }

    #[tokio::test]
    async fn a_final_error_status_is_a_response_not_an_error() {
        let url = scripted(vec![BUSY]).await;
        let policy = RetryPolicy {
            max_retries: 0,
            ..fast()
        };
        let log = RequestLog {
            service: "test",
            method: &reqwest::Method::POST,
            path: "/x",
        };
        let http = reqwest::Client::new();
        let r = send_simple(&policy, false, &log, || http.post(url.clone()))
            .await
            .unwrap();
        assert_eq!(r.status, 503);
    }
}
