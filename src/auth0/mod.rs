//! The Auth0 Management API client (log streams), the only code besides `arm` that talks to a
//! remote API.
//!
//! Owns the client-credentials token for the Management API (`POST https://{domain}/oauth/token`,
//! JSON, `audience=https://{domain}/api/v2/`) and the typed log-stream operations (list, get,
//! create, patch, delete under `/api/v2/log-streams`). Retries 429/5xx and connection errors with
//! the same pure policy as `arm::retry`, honouring `Retry-After` and `x-ratelimit-reset`. It must
//! not decide what to change or print anything, and never logs a token or the client secret.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::arm::auth::TokenResponse;
use crate::arm::error::{excerpt, parse_error_body};
use crate::arm::retry::{self, Decision, Outcome, RetryPolicy};
use crate::model::Sensitive;

pub mod types;

pub use types::{
    EVENTGRID, EventGridSink, LogStream, LogStreamFilter, LogStreamPatch, NewEventGridStream,
};

/// Every way an Auth0 call can fail.
#[derive(Debug, thiserror::Error)]
pub enum Auth0Error {
    /// The API answered with an error status.
    #[error("Auth0 {method} `{path}` returned {status} `{code}`: {message}")]
    Http {
        /// HTTP method.
        method: String,
        /// API path (no query string).
        path: String,
        /// HTTP status.
        status: u16,
        /// Auth0 `errorCode`/`error` (or `Http{status}`).
        code: String,
        /// Auth0 `message`/`error_description`.
        message: String,
    },
    /// The request failed in transport after retries (or was a non-repeatable POST).
    #[error("Auth0 {method} `{path}` failed: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// API path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A success response with a body we cannot use.
    #[error("Auth0 {method} `{path}` returned a malformed body: {reason}")]
    Malformed {
        /// HTTP method.
        method: String,
        /// API path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// No Management API token.
    #[error(
        "Auth0 client-credentials token for `{domain}` failed: {message}\n\nhint: set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET of a machine-to-machine application authorized for the Management API (scopes read:log_streams, create:log_streams, update:log_streams, delete:log_streams)"
    )]
    Token {
        /// The tenant domain.
        domain: String,
        /// What went wrong (never the secret).
        message: String,
    },
    /// Missing or bad configuration.
    #[error("Auth0 configuration: {0}")]
    Config(String),
}

/// The Auth0 Management API client.
#[derive(Debug)]
pub struct Auth0Client {
    http: reqwest::Client,
    /// `https://{domain}` (or `{emulator}/auth0`).
    base: url::Url,
    domain: String,
    client_id: String,
    client_secret: Sensitive<String>,
    retry: RetryPolicy,
    token: Mutex<Option<(Sensitive<String>, Instant)>>,
}

impl Auth0Client {
    /// A client for the tenant `domain` (e.g. `example.eu.auth0.com`).
    pub fn new(
        http: reqwest::Client,
        domain: &str,
        client_id: &str,
        client_secret: Sensitive<String>,
    ) -> Result<Self, Auth0Error> {
        let domain = domain
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/');
        let base = url::Url::parse(&format!("https://{domain}/")).map_err(|e| {
            Auth0Error::Config(format!("AUTH0_DOMAIN `{domain}` is not a host: {e}"))
        })?;
        Ok(Self::with_base(
            http,
            base,
            domain,
            client_id,
            client_secret,
        ))
    }

    /// A client for an arbitrary base URL (the emulator's `{emulator}/auth0`); `domain` is only
    /// used for the token audience `https://{domain}/api/v2/`.
    pub fn with_base(
        http: reqwest::Client,
        mut base: url::Url,
        domain: &str,
        client_id: &str,
        client_secret: Sensitive<String>,
    ) -> Self {
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        Self {
            http,
            base,
            domain: domain.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            retry: RetryPolicy::default(),
            token: Mutex::new(None),
        }
    }

    /// From `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET`; with an emulator URL, the
    /// base is `{emulator}/auth0` and missing variables get placeholders the emulator accepts.
    pub fn from_env(
        http: reqwest::Client,
        env: &dyn Fn(&str) -> Option<String>,
        emulator: Option<&url::Url>,
    ) -> Result<Self, Auth0Error> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        if let Some(e) = emulator {
            let base = e
                .join("auth0/")
                .map_err(|err| Auth0Error::Config(format!("bad emulator URL: {err}")))?;
            return Ok(Self::with_base(
                http,
                base,
                &get("AUTH0_DOMAIN").unwrap_or_else(|| "emulator.auth0.local".into()),
                &get("AUTH0_CLIENT_ID").unwrap_or_else(|| "gridform".into()),
                Sensitive::new(get("AUTH0_CLIENT_SECRET").unwrap_or_else(|| "emulator".into())),
            ));
        }
        let missing: Vec<&str> = ["AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"]
            .into_iter()
            .filter(|k| get(k).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Auth0Error::Config(format!(
                "{} not set (a machine-to-machine application authorized for the Management API)",
                missing.join(", ")
            )));
        }
        Self::new(
            http,
            &get("AUTH0_DOMAIN").unwrap_or_default(),
            &get("AUTH0_CLIENT_ID").unwrap_or_default(),
            Sensitive::new(get("AUTH0_CLIENT_SECRET").unwrap_or_default()),
        )
    }

    /// Overrides the retry policy (tests use tiny delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn token(&self) -> Result<Sensitive<String>, Auth0Error> {
        if let Some((tok, exp)) = self.token.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            if exp > Instant::now() {
                return Ok(tok);
            }
        }
        let fail = |message: String| Auth0Error::Token {
            domain: self.domain.clone(),
            message,
        };
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose(),
            "audience": format!("https://{}/api/v2/", self.domain),
        });
        let resp = self
            .send(
                reqwest::Method::POST,
                "oauth/token",
                Some(&body),
                true,
                None,
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
        let parsed: TokenResponse = serde_json::from_slice(&resp.1)
            .map_err(|e| fail(format!("malformed token response: {e}")))?;
        let ttl = parsed.expires_in.seconds().unwrap_or(3600);
        let token = Sensitive::new(parsed.access_token);
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(ttl.saturating_sub(60).max(1)),
        ));
        Ok(token)
    }

    /// Sends with retries; returns (status, body) for 2xx, an error otherwise.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        idempotent: bool,
        token: Option<&Sensitive<String>>,
    ) -> Result<(u16, Vec<u8>), Auth0Error> {
        let url = self
            .base
            .join(path)
            .map_err(|e| Auth0Error::Config(format!("bad path `{path}`: {e}")))?;
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("accept", "application/json");
            if let Some(t) = token {
                req = req.bearer_auth(t.expose());
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let t0 = Instant::now();
            let result = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(b) => Ok((status, headers, b.to_vec())),
                        Err(e) => {
                            Err((Outcome::NoResponse, crate::arm::error::transport_message(e)))
                        }
                    }
                }
                Err(e) => Err((
                    if e.is_connect() {
                        Outcome::ConnectFailed
                    } else {
                        Outcome::NoResponse
                    },
                    crate::arm::error::transport_message(e),
                )),
            };
            let jitter = rand::random::<f64>();
            match result {
                Ok((status, headers, bytes)) => {
                    tracing::debug!(%method, path, status, elapsed_ms = t0.elapsed().as_millis() as u64, "Auth0 request");
                    let server = retry::server_delay(&headers, chrono::Utc::now())
                        .or_else(|| ratelimit_reset(&headers));
                    let d = retry::decide(
                        &self.retry,
                        idempotent,
                        attempt,
                        Outcome::Status(status),
                        server,
                        started.elapsed(),
                        jitter,
                    );
                    if let Decision::RetryAfter(delay) = d {
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                        continue;
                    }
                    if (200..300).contains(&status) {
                        return Ok((status, bytes));
                    }
                    let (code, message) = auth0_error(status, &bytes);
                    return Err(Auth0Error::Http {
                        method: method.to_string(),
                        path: path.to_string(),
                        status,
                        code,
                        message,
                    });
                }
                Err((outcome, message)) => {
                    match retry::decide(
                        &self.retry,
                        idempotent,
                        attempt,
                        outcome,
                        None,
                        started.elapsed(),
                        jitter,
                    ) {
                        Decision::RetryAfter(delay) => {
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                        }
                        Decision::Unknown => {
                            return Err(Auth0Error::Transport {
                                method: method.to_string(),
                                path: path.to_string(),
                                message: format!(
                                    "{message}; outcome unknown, not resent (list the streams before retrying)"
                                ),
                            });
                        }
                        Decision::Stop => {
                            return Err(Auth0Error::Transport {
                                method: method.to_string(),
                                path: path.to_string(),
                                message,
                            });
                        }
                    }
                }
            }
        }
    }

    async fn api<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<T>, Auth0Error> {
        let token = self.token().await?;
        let idempotent = method != reqwest::Method::POST;
        let (status, bytes) = match self
            .send(method.clone(), path, body, idempotent, Some(&token))
            .await
        {
            // A token Auth0 no longer accepts: fetch a new one, once (nothing was done).
            Err(Auth0Error::Http { status: 401, .. }) => {
                *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
                let token = self.token().await?;
                self.send(method.clone(), path, body, idempotent, Some(&token))
                    .await?
            }
            other => other?,
        };
        if status == 204 || bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Auth0Error::Malformed {
                method: method.to_string(),
                path: path.to_string(),
                reason: format!("{e}: {}", excerpt(&bytes)),
            })
    }

    fn required<T>(v: Option<T>, method: &str, path: &str) -> Result<T, Auth0Error> {
        v.ok_or_else(|| Auth0Error::Malformed {
            method: method.into(),
            path: path.into(),
            reason: "empty body".into(),
        })
    }

    /// `GET /api/v2/log-streams`.
    pub async fn list_log_streams(&self) -> Result<Vec<LogStream>, Auth0Error> {
        let path = "api/v2/log-streams";
        let v = self.api(reqwest::Method::GET, path, None).await?;
        Self::required(v, "GET", path)
    }

    /// `GET /api/v2/log-streams/{id}`; `None` on 404.
    pub async fn get_log_stream(&self, id: &str) -> Result<Option<LogStream>, Auth0Error> {
        let path = format!("api/v2/log-streams/{}", encode(id));
        match self.api(reqwest::Method::GET, &path, None).await {
            Err(Auth0Error::Http { status: 404, .. }) => Ok(None),
            other => other,
        }
    }

    /// Finds a stream by name (gridform's handle for a stream).
    pub async fn find_log_stream(&self, name: &str) -> Result<Option<LogStream>, Auth0Error> {
        Ok(self
            .list_log_streams()
            .await?
            .into_iter()
            .find(|s| s.name == name))
    }

    /// `POST /api/v2/log-streams` with `type: eventgrid`. Not resent when the outcome is
    /// unknown (it would create a second stream): the caller lists first.
    pub async fn create_eventgrid_stream(
        &self,
        new: &NewEventGridStream,
    ) -> Result<LogStream, Auth0Error> {
        let path = "api/v2/log-streams";
        let mut body = serde_json::to_value(new)
            .map_err(|e| Auth0Error::Config(format!("cannot serialize the stream: {e}")))?;
        body["type"] = EVENTGRID.into();
        let v = self.api(reqwest::Method::POST, path, Some(&body)).await?;
        Self::required(v, "POST", path)
    }

    /// `PATCH /api/v2/log-streams/{id}`.
    pub async fn patch_log_stream(
        &self,
        id: &str,
        patch: &LogStreamPatch,
    ) -> Result<LogStream, Auth0Error> {
        let path = format!("api/v2/log-streams/{}", encode(id));
        let body = serde_json::to_value(patch)
            .map_err(|e| Auth0Error::Config(format!("cannot serialize the patch: {e}")))?;
        let v = self.api(reqwest::Method::PATCH, &path, Some(&body)).await?;
        Self::required(v, "PATCH", &path)
    }

    /// `DELETE /api/v2/log-streams/{id}`; `false` when it did not exist.
    pub async fn delete_log_stream(&self, id: &str) -> Result<bool, Auth0Error> {
        let path = format!("api/v2/log-streams/{}", encode(id));
        match self
            .api::<serde_json::Value>(reqwest::Method::DELETE, &path, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(Auth0Error::Http { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// `x-ratelimit-reset` (unix seconds) as a delay from now. Pure apart from the clock.
fn ratelimit_reset(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let reset: i64 = retry::header_str(headers, "x-ratelimit-reset")?
        .trim()
        .parse()
        .ok()?;
    let now = chrono::Utc::now().timestamp();
    Some(Duration::from_secs(u64::try_from(reset - now).unwrap_or(0)))
}

/// Auth0's error body: `{"statusCode","error","message","errorCode"}` or OAuth
/// `{"error","error_description"}`.
fn auth0_error(status: u16, body: &[u8]) -> (String, String) {
    #[derive(Deserialize)]
    struct Body {
        error: Option<String>,
        #[serde(rename = "errorCode")]
        error_code: Option<String>,
        message: Option<String>,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) if b.message.is_some() || b.error_description.is_some() || b.error.is_some() => (
            b.error_code
                .or(b.error)
                .unwrap_or_else(|| format!("Http{status}")),
            b.message
                .or(b.error_description)
                .unwrap_or_else(|| "(no message)".into()),
        ),
        _ => {
            let e = parse_error_body(status, body);
            (e.code, e.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_auth0_error_shapes() {
        let b = br#"{"statusCode":400,"error":"Bad Request","message":"Payload validation error","errorCode":"invalid_body"}"#;
        assert_eq!(
            auth0_error(400, b),
            ("invalid_body".into(), "Payload validation error".into())
        );
        let b = br#"{"error":"access_denied","error_description":"Unauthorized"}"#;
        assert_eq!(
            auth0_error(401, b),
            ("access_denied".into(), "Unauthorized".into())
        );
        assert_eq!(auth0_error(502, b"<html>").0, "Http502");
    }

    #[test]
    fn from_env_names_missing_variables() {
        let http = reqwest::Client::new();
        let err = Auth0Client::from_env(
            http,
            &|k| (k == "AUTH0_DOMAIN").then(|| "x.auth0.com".into()),
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET not set")
        );
    }
}
