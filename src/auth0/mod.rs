//! The Auth0 Management API client (log streams), the only code besides `arm` that talks to a
//! remote API.
//!
//! Owns the client-credentials token for the Management API (`POST https://{domain}/oauth/token`,
//! JSON, `audience=https://{domain}/api/v2/`) and the typed log-stream operations (list, get,
//! create, patch, delete under `/api/v2/log-streams`). Requests go through the retry loop shared
//! with `arm` (`remote_http`), which retries 429/5xx and connection errors, honouring
//! `Retry-After` and here also `x-ratelimit-reset`. It must not decide what to change or print
//! anything, and never logs a token or the client secret.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::Sensitive;
use crate::remote_http::retry::{header_str, server_delay};
use crate::remote_http::{
    Attempts, ErrorEnvelope, RequestLog, RetryPolicy, SendError, TokenResponse, excerpt,
    parse_auth0_error, send_with_retry,
};

pub mod types;

pub use types::{
    EventGridSink, LOG_STREAM_TYPE_EVENTGRID, LogStream, LogStreamFilter, LogStreamPatch,
    NewEventGridStream,
};

/// Every way an Auth0 call can fail.
#[derive(Debug, thiserror::Error)]
pub enum Auth0ApiError {
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
    /// The server's answer was refused and not retried (a redirect to another origin, a body
    /// over the size cap).
    #[error("Auth0 request refused: {message}")]
    Refused {
        /// Which request and rule (method and path, never a query string).
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

impl Auth0ApiError {
    /// Whether trying the whole operation again may succeed: 429 or 5xx after the client's own
    /// retries, or a transport failure (an unknown create outcome included: the caller lists the
    /// streams before creating again).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http { status, .. } => *status == 429 || *status >= 500,
            Self::Transport { .. } => true,
            Self::Malformed { .. }
            | Self::Refused { .. }
            | Self::Token { .. }
            | Self::Config(_) => false,
        }
    }
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
    ) -> Result<Self, Auth0ApiError> {
        let domain = domain
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/');
        let base = url::Url::parse(&format!("https://{domain}/")).map_err(|e| {
            Auth0ApiError::Config(format!("AUTH0_DOMAIN `{domain}` is not a host: {e}"))
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

    /// The tenant domain this client's token is for (e.g. `example.eu.auth0.com`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// From `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET`; with an emulator URL, the
    /// base is `{emulator}/auth0` and missing variables get placeholders the emulator accepts.
    pub fn from_env(
        http: reqwest::Client,
        env: &dyn Fn(&str) -> Option<String>,
        emulator: Option<&url::Url>,
    ) -> Result<Self, Auth0ApiError> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        if let Some(e) = emulator {
            let base = e
                .join("auth0/")
                .map_err(|err| Auth0ApiError::Config(format!("bad emulator URL: {err}")))?;
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
            return Err(Auth0ApiError::Config(format!(
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

    async fn token(&self) -> Result<Sensitive<String>, Auth0ApiError> {
        if let Some((tok, exp)) = self.token.lock().unwrap_or_else(|e| e.into_inner()).clone()
            && exp > Instant::now()
        {
            return Ok(tok);
        }
        let fail = |message: String| Auth0ApiError::Token {
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
        let (token, until) = TokenResponse::parse(&resp.1, Duration::from_secs(3600))
            .map_err(|e| fail(format!("malformed token response: {e}")))?;
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some((token.clone(), until));
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
    ) -> Result<(u16, Vec<u8>), Auth0ApiError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| Auth0ApiError::Config(format!("bad path `{path}`: {e}")))?;
        let log = RequestLog {
            service: "Auth0",
            method: &method,
            path,
        };
        let mut attempts = Auth0Attempts {
            http: &self.http,
            method: &method,
            url: &url,
            body,
            token,
        };
        let transport = |message: String| Auth0ApiError::Transport {
            method: method.to_string(),
            path: path.to_string(),
            message,
        };
        let response = match send_with_retry(&mut attempts, &self.retry, idempotent, &log).await {
            Ok(r) => r,
            Err(SendError::Prepare(never)) => match never {},
            Err(SendError::OutcomeUnknown { message }) => {
                return Err(transport(format!(
                    "{message}; outcome unknown, not resent (list the streams before retrying)"
                )));
            }
            Err(SendError::Refused { message }) => return Err(Auth0ApiError::Refused { message }),
            Err(SendError::Transport { message, .. }) => return Err(transport(message)),
        };
        if (200..300).contains(&response.status) {
            return Ok((response.status, response.body));
        }
        let ErrorEnvelope { code, message } = parse_auth0_error(response.status, &response.body);
        Err(Auth0ApiError::Http {
            method: method.to_string(),
            path: path.to_string(),
            status: response.status,
            code,
            message,
        })
    }

    async fn api<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<T>, Auth0ApiError> {
        let token = self.token().await?;
        let idempotent = method != reqwest::Method::POST;
        let (status, bytes) = match self
            .send(method.clone(), path, body, idempotent, Some(&token))
            .await
        {
            // A token Auth0 no longer accepts: fetch a new one, once (nothing was done).
            Err(Auth0ApiError::Http { status: 401, .. }) => {
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
            .map_err(|e| Auth0ApiError::Malformed {
                method: method.to_string(),
                path: path.to_string(),
                reason: format!("{e}: {}", excerpt(&bytes)),
            })
    }

    fn required<T>(v: Option<T>, method: &str, path: &str) -> Result<T, Auth0ApiError> {
        v.ok_or_else(|| Auth0ApiError::Malformed {
            method: method.into(),
            path: path.into(),
            reason: "empty body".into(),
        })
    }

    /// `GET /api/v2/log-streams`.
    pub async fn list_log_streams(&self) -> Result<Vec<LogStream>, Auth0ApiError> {
        let path = "api/v2/log-streams";
        let v = self.api(reqwest::Method::GET, path, None).await?;
        Self::required(v, "GET", path)
    }

    /// `GET /api/v2/log-streams/{id}`; `None` on 404.
    pub async fn get_log_stream(&self, id: &str) -> Result<Option<LogStream>, Auth0ApiError> {
        let path = format!("api/v2/log-streams/{}", encode(id));
        match self.api(reqwest::Method::GET, &path, None).await {
            Err(Auth0ApiError::Http { status: 404, .. }) => Ok(None),
            other => other,
        }
    }

    /// Finds a stream by name (gridform's handle for a stream).
    pub async fn find_log_stream(&self, name: &str) -> Result<Option<LogStream>, Auth0ApiError> {
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
    ) -> Result<LogStream, Auth0ApiError> {
        let path = "api/v2/log-streams";
        let mut body = serde_json::to_value(new)
            .map_err(|e| Auth0ApiError::Config(format!("cannot serialize the stream: {e}")))?;
        body["type"] = LOG_STREAM_TYPE_EVENTGRID.into();
        let v = self.api(reqwest::Method::POST, path, Some(&body)).await?;
        Self::required(v, "POST", path)
    }

    /// `PATCH /api/v2/log-streams/{id}`.
    pub async fn patch_log_stream(
        &self,
        id: &str,
        patch: &LogStreamPatch,
    ) -> Result<LogStream, Auth0ApiError> {
        let path = format!("api/v2/log-streams/{}", encode(id));
        let body = serde_json::to_value(patch)
            .map_err(|e| Auth0ApiError::Config(format!("cannot serialize the patch: {e}")))?;
        let v = self.api(reqwest::Method::PATCH, &path, Some(&body)).await?;
        Self::required(v, "PATCH", &path)
    }

    /// `DELETE /api/v2/log-streams/{id}`; `false` when it did not exist.
    pub async fn delete_log_stream(&self, id: &str) -> Result<bool, Auth0ApiError> {
        let path = format!("api/v2/log-streams/{}", encode(id));
        match self
            .api::<serde_json::Value>(reqwest::Method::DELETE, &path, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(Auth0ApiError::Http { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The attempts of one Auth0 request: the same request each time, with the token it was given.
struct Auth0Attempts<'a> {
    http: &'a reqwest::Client,
    method: &'a reqwest::Method,
    url: &'a url::Url,
    body: Option<&'a serde_json::Value>,
    token: Option<&'a Sensitive<String>>,
}

impl Attempts for Auth0Attempts<'_> {
    type Error = std::convert::Infallible;
    type Permit = ();

    async fn prepare(&mut self) -> Result<(reqwest::RequestBuilder, ()), std::convert::Infallible> {
        let mut req = self
            .http
            .request(self.method.clone(), self.url.clone())
            .header("accept", "application/json");
        if let Some(t) = self.token {
            req = req.bearer_auth(t.expose());
        }
        if let Some(b) = self.body {
            req = req.json(b);
        }
        Ok((req, ()))
    }

    /// Azure's delay headers, then Auth0's `x-ratelimit-reset`.
    fn server_delay(&self, headers: &reqwest::header::HeaderMap) -> Option<Duration> {
        server_delay(headers, chrono::Utc::now()).or_else(|| ratelimit_reset(headers))
    }
}

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// `x-ratelimit-reset` (unix seconds) as a delay from now. Pure apart from the clock.
fn ratelimit_reset(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let reset: i64 = header_str(headers, "x-ratelimit-reset")?
        .trim()
        .parse()
        .ok()?;
    let now = chrono::Utc::now().timestamp();
    Some(Duration::from_secs(
        u64::try_from(reset.saturating_sub(now)).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
