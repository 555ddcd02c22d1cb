//! The Microsoft Graph client (change-notification subscriptions), the fourth remote API beside
//! `arm`, `auth0` and `dataplane`.
//!
//! Owns the typed subscription operations (list with `@odata.nextLink` paging, get, create,
//! update, delete, reauthorize under `{base}/subscriptions`), the bearer token for Graph's scope
//! (the ARM credential asked for `https://graph.microsoft.com/.default`: `connect`), Graph's
//! error bodies in our error format (`error`) and the partner topic `source` Graph stamps for our
//! application. Requests go through `remote_http` (429/5xx with `Retry-After`, transient
//! transport errors; a create whose outcome is unknown is not resent). It must not decide what to
//! change or print anything; tokens and `clientState` values never reach a log or an error.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::arm::{RequestCounts, TokenSource};
use crate::model::Sensitive;
use crate::model::secret::scrub;
use crate::remote_http::{
    AfterResponse, AttemptInfo, Attempts, RawResponse, RetryPolicy, SendError, parse_graph_error,
    send_with_retry,
};

pub mod connect;
pub mod error;

pub use connect::{GRAPH_URL_ENV, connect, graph_base, graph_scope};
pub use error::{GraphApiError, GraphHttpError, permission_for};

/// Pages of `GET /subscriptions` followed before giving up (Graph pages hold 100 or more).
pub const MAX_PAGES: usize = 100;

/// The Microsoft Graph client.
#[derive(Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    /// `https://graph.microsoft.com/v1.0/` (or `{emulator}/graph/v1.0/`), ending in `/`.
    base: url::Url,
    tokens: TokenSource,
    scope: String,
    /// The configured tenant and application, when known (else read from the token).
    tenant: Option<String>,
    application: Option<String>,
    retry: RetryPolicy,
    max_pages: usize,
    counts: Counts,
}

#[derive(Debug, Default)]
struct Counts {
    reads: AtomicU64,
    writes: AtomicU64,
    deletes: AtomicU64,
}

impl Counts {
    fn add(&self, method: &reqwest::Method) {
        let counter = match *method {
            reqwest::Method::GET | reqwest::Method::HEAD => &self.reads,
            reqwest::Method::DELETE => &self.deletes,
            _ => &self.writes,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl GraphClient {
    /// A client for `base` (the `v1.0` root) whose tokens come from `tokens` (asked for `scope`).
    pub fn new(http: reqwest::Client, base: url::Url, tokens: TokenSource, scope: &str) -> Self {
        Self {
            http,
            base: crate::remote_http::directory_url(base),
            tokens,
            scope: scope.to_string(),
            tenant: None,
            application: None,
            retry: RetryPolicy::default(),
            max_pages: MAX_PAGES,
            counts: Counts::default(),
        }
    }

    /// The tenant and application the credential is configured with (used for [`Self::source`]
    /// instead of the token's claims).
    pub fn with_identity(mut self, tenant: Option<String>, application: Option<String>) -> Self {
        self.tenant = tenant.filter(|t| !t.is_empty());
        self.application = application.filter(|a| !a.is_empty());
        self
    }

    /// Overrides the retry policy (tests use tiny delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Overrides the page limit of [`Self::list_subscriptions`].
    pub fn with_max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// The base URL (`…/v1.0/`).
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// Requests sent so far (every attempt), by class as ARM counts them.
    pub fn request_counts(&self) -> RequestCounts {
        RequestCounts {
            reads: self.counts.reads.load(Ordering::Relaxed),
            writes: self.counts.writes.load(Ordering::Relaxed),
            deletes: self.counts.deletes.load(Ordering::Relaxed),
        }
    }

    /// The partner topic `source` Graph stamps for this application:
    /// `/tenants/{tid}/applications/{appid}`, from the configured ids or else the token's
    /// `tid` and `appid` (`azp`) claims.
    pub async fn source(&self) -> Result<String, GraphApiError> {
        if let (Some(t), Some(a)) = (&self.tenant, &self.application) {
            return Ok(connect::source_of(t, a));
        }
        let token = self.token().await?;
        let (tid, appid) = connect::token_identity(token.expose()).ok_or_else(|| {
            GraphApiError::Config(
                "the Graph token carries no `tid`/`appid` claims; set AZURE_TENANT_ID and AZURE_CLIENT_ID".into(),
            )
        })?;
        Ok(connect::source_of(
            self.tenant.as_deref().unwrap_or(&tid),
            self.application.as_deref().unwrap_or(&appid),
        ))
    }

    async fn token(&self) -> Result<Sensitive<String>, GraphApiError> {
        self.tokens
            .token()
            .await
            .map_err(|source| GraphApiError::Credential {
                scope: self.scope.clone(),
                source,
            })
    }

    fn url(&self, segments: &[&str]) -> Result<url::Url, GraphApiError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| {
                GraphApiError::Config(format!("base URL `{}` cannot take a path", self.base))
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// `GET /subscriptions`, every page: the calling application's subscriptions. A next link
    /// to another origin, or more than the page limit, is refused.
    pub async fn list_subscriptions(&self) -> Result<Vec<Value>, GraphApiError> {
        let mut url = self.url(&["subscriptions"])?;
        let mut out = Vec::new();
        for _ in 0..self.max_pages {
            let page = self.call(reqwest::Method::GET, &url, None, None).await?;
            let page = required(page, "GET", url.path())?;
            let malformed = |reason: &str| GraphApiError::Malformed {
                method: "GET".into(),
                path: url.path().to_string(),
                reason: reason.into(),
            };
            match page.get("value") {
                Some(Value::Array(items)) => out.extend(items.iter().cloned()),
                _ => return Err(malformed("no `value` array")),
            }
            let Some(next) = page.get("@odata.nextLink") else {
                return Ok(out);
            };
            let next = next
                .as_str()
                .and_then(|n| self.base.join(n).ok())
                .ok_or_else(|| malformed("`@odata.nextLink` is not a URL"))?;
            if next.origin() != self.base.origin() {
                return Err(GraphApiError::Refused {
                    message: format!(
                        "GET `{}`: the next link points to another origin {} (the token would follow it)",
                        url.path(),
                        next.origin().ascii_serialization()
                    ),
                });
            }
            url = next;
        }
        Err(GraphApiError::Refused {
            message: format!(
                "GET `{}`: more than {} pages of subscriptions",
                self.url(&["subscriptions"])?.path(),
                self.max_pages
            ),
        })
    }

    /// `GET /subscriptions/{id}`; `None` on 404.
    pub async fn get_subscription(&self, id: &str) -> Result<Option<Value>, GraphApiError> {
        let url = self.url(&["subscriptions", id])?;
        match self.call(reqwest::Method::GET, &url, None, None).await {
            Err(e) if e.status() == Some(404) => Ok(None),
            Ok(v) => required(v, "GET", url.path()).map(Some),
            Err(e) => Err(e),
        }
    }

    /// `POST /subscriptions` (201 + the subscription). Not resent when the outcome is unknown:
    /// a second subscription would be made.
    pub async fn create_subscription(&self, body: &Value) -> Result<Value, GraphApiError> {
        let url = self.url(&["subscriptions"])?;
        let v = self
            .call(reqwest::Method::POST, &url, Some(body), resource_of(body))
            .await?;
        required(v, "POST", url.path())
    }

    /// `PATCH /subscriptions/{id}` (`expirationDateTime`, `notificationUrl`); returns the
    /// subscription as Graph answers (the expiry granted may differ from the one asked).
    pub async fn update_subscription(
        &self,
        id: &str,
        body: &Value,
    ) -> Result<Value, GraphApiError> {
        let url = self.url(&["subscriptions", id])?;
        let v = self
            .call(reqwest::Method::PATCH, &url, Some(body), None)
            .await?;
        required(v, "PATCH", url.path())
    }

    /// `DELETE /subscriptions/{id}`; `false` when it did not exist (404 is success).
    pub async fn delete_subscription(&self, id: &str) -> Result<bool, GraphApiError> {
        let url = self.url(&["subscriptions", id])?;
        match self.call(reqwest::Method::DELETE, &url, None, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `POST /subscriptions/{id}/reauthorize` (204).
    pub async fn reauthorize_subscription(&self, id: &str) -> Result<(), GraphApiError> {
        let url = self.url(&["subscriptions", id, "reauthorize"])?;
        self.call(reqwest::Method::POST, &url, None, None)
            .await
            .map(|_| ())
    }

    /// Sends with retries; the parsed JSON of a 2xx (`None` when empty), an error otherwise.
    /// `resource` names the subscription's resource for a 401/403 hint.
    async fn call(
        &self,
        method: reqwest::Method,
        url: &url::Url,
        body: Option<&Value>,
        resource: Option<&str>,
    ) -> Result<Option<Value>, GraphApiError> {
        let path = url.path().to_string();
        // A POST that is not a create (reauthorize) changes nothing when repeated.
        let idempotent = method != reqwest::Method::POST || path.ends_with("/reauthorize");
        let log = crate::remote_http::RequestLog {
            service: "Microsoft Graph",
            method: &method,
            path: &path,
        };
        let mut attempts = GraphAttempts {
            client: self,
            method: &method,
            url,
            body,
            refreshed: false,
        };
        let (m, p) = (method.to_string(), path.clone());
        let response = match send_with_retry(&mut attempts, &self.retry, idempotent, &log).await {
            Ok(r) => r,
            Err(SendError::Prepare(e)) => return Err(e),
            Err(SendError::OutcomeUnknown { message }) => {
                return Err(GraphApiError::OutcomeUnknown {
                    method: m,
                    path: p,
                    message,
                });
            }
            Err(SendError::Refused { message }) => return Err(GraphApiError::Refused { message }),
            Err(SendError::Transport { message, .. }) => {
                return Err(GraphApiError::Transport {
                    method: m,
                    path: p,
                    message,
                });
            }
        };
        if !(200..300).contains(&response.status) {
            return Err(http_error(&m, &p, &response, body, resource));
        }
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&response.body)
            .map(Some)
            // Never the body: a created subscription echoes its `clientState`.
            .map_err(|e| GraphApiError::Malformed {
                method: m,
                path: p,
                reason: format!(
                    "not JSON ({:?} at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            })
    }
}

/// The error of a non-2xx answer, with any `clientState` of the request scrubbed from Graph's
/// message (a server may quote what it refused).
fn http_error(
    method: &str,
    path: &str,
    response: &RawResponse,
    body: Option<&Value>,
    resource: Option<&str>,
) -> GraphApiError {
    let (envelope, request_id) = parse_graph_error(response.status, &response.body);
    let header_id = || {
        ["request-id", "client-request-id"]
            .iter()
            .find_map(|h| crate::remote_http::retry::header_str(&response.headers, h))
            .map(str::to_string)
    };
    let secrets: Vec<Sensitive<String>> = body
        .and_then(|b| b.get("clientState"))
        .and_then(Value::as_str)
        .map(|s| Sensitive::new(s.to_string()))
        .into_iter()
        .collect();
    GraphApiError::Http(Box::new(error::GraphHttpError {
        method: method.to_string(),
        path: path.to_string(),
        status: response.status,
        code: scrub(&envelope.code, &secrets),
        message: scrub(&envelope.message, &secrets),
        request_id: request_id
            .or_else(header_id)
            .unwrap_or_else(|| "none".into()),
        hint: error::auth_hint(response.status, resource),
    }))
}

fn resource_of(body: &Value) -> Option<&str> {
    body.get("resource").and_then(Value::as_str)
}

fn required(v: Option<Value>, method: &str, path: &str) -> Result<Value, GraphApiError> {
    v.ok_or_else(|| GraphApiError::Malformed {
        method: method.into(),
        path: path.into(),
        reason: "empty body".into(),
    })
}

/// The attempts of one Graph request: a fresh (cached) token each time; a 401 drops the token
/// and resends once, when the source can fetch a new one.
struct GraphAttempts<'a> {
    client: &'a GraphClient,
    method: &'a reqwest::Method,
    url: &'a url::Url,
    body: Option<&'a Value>,
    refreshed: bool,
}

impl Attempts for GraphAttempts<'_> {
    type Error = GraphApiError;
    type Permit = ();

    async fn prepare(&mut self) -> Result<(reqwest::RequestBuilder, ()), GraphApiError> {
        let token = self.client.token().await?;
        self.client.counts.add(self.method);
        let mut req = self
            .client
            .http
            .request(self.method.clone(), self.url.clone())
            .header("accept", "application/json")
            .bearer_auth(token.expose());
        if let Some(b) = self.body {
            req = req.json(b);
        }
        Ok((req, ()))
    }

    fn after_response(&mut self, (): (), response: &RawResponse, _: &AttemptInfo) -> AfterResponse {
        if response.status == 401 && !self.refreshed && self.client.tokens.invalidate() {
            self.refreshed = true;
            return AfterResponse::ResendNow;
        }
        AfterResponse::Continue
    }
}
