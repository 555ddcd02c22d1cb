//! The emulator's one error type, `EmulatorError`, with one variant per error surface (ARM, the
//! token endpoints, the Auth0 Management API, Microsoft Graph, the Event Grid data plane, the
//! `/_emulator` controls), and the one place that maps every failure to an HTTP status, an error code and the
//! body shape of its surface.
//!
//! No other module chooses the status of a failure: handlers return these errors. The store's
//! `StoreError`, `LogStreamError` and `GraphError` and the data plane's `PublishError` stay
//! HTTP-agnostic.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::emulator::dataplane::publish_input::PublishError;
use crate::emulator::store::StoreError;
use crate::emulator::store::auth0::LogStreamError;
use crate::emulator::store::graph::GraphError;

/// Every failure the emulator answers with, by surface.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// ARM (`/subscriptions/...`): the ARM error envelope.
    #[error(transparent)]
    Arm(#[from] ArmApiError),
    /// The Entra ID and Auth0 token endpoints: an OAuth2 error body.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The Auth0 Management API: Auth0's error body.
    #[error(transparent)]
    Auth0(#[from] Auth0ApiError),
    /// Microsoft Graph: `{"error": {"code", "message", "innerError"}}`.
    #[error(transparent)]
    Graph(#[from] GraphApiError),
    /// The Event Grid data plane: its error body with details.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The `/_emulator/...` controls: `{"error": {"code", "message"}}`.
    #[error(transparent)]
    Control(#[from] ControlError),
}

impl From<StoreError> for EmulatorError {
    fn from(e: StoreError) -> Self {
        Self::Arm(e.into())
    }
}

/// Anything an ARM request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ArmApiError {
    /// From the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Missing or invalid bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token issued for another audience (the data plane, Auth0).
    #[error("{0}")]
    WrongAudience(String),
    /// No `api-version` query parameter.
    #[error("The api-version query parameter (?api-version=) is required for all requests.")]
    MissingApiVersion,
    /// An `api-version` the emulated provider does not support.
    #[error("{message}")]
    InvalidApiVersion {
        /// ARM error code (`InvalidApiVersionParameter` or `NoRegisteredProviderFound`).
        code: &'static str,
        /// Human message listing the supported versions.
        message: String,
    },
    /// No route matches.
    #[error("The requested path '{path}' with method '{method}' is not supported by the emulator.")]
    NoRoute {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
    },
    /// The route exists, the method does not.
    #[error("The HTTP method '{0}' is not supported for this resource.")]
    MethodNotAllowed(String),
    /// The body is not valid JSON or has the wrong shape.
    #[error("{0}")]
    InvalidBody(String),
    /// The body is over ARM's request size limit (bytes).
    #[error("The request content is larger than the maximum allowed size of {0} bytes.")]
    TooLarge(usize),
    /// ARM throttling.
    #[error(
        "Number of {class} requests for subscription '{subscription}' exceeded the limit. Please try again after '{retry_after}' seconds."
    )]
    Throttled {
        /// Subscription id.
        subscription: String,
        /// `read`, `write` or `delete`.
        class: &'static str,
        /// Seconds until a token is available.
        retry_after: u64,
    },
    /// An injected server error.
    #[error("An injected fault: the emulated service failed ({0}).")]
    InjectedFault(u16),
    /// Something inside the emulator failed (e.g. writing the state file).
    #[error("{0}")]
    Internal(String),
}

/// A refused token request (Entra ID or Auth0), answered with an OAuth2 error body.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The grant type is not client credentials (Entra ID).
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// A required parameter or header is missing.
    #[error("{0}")]
    InvalidRequest(String),
    /// No client secret or assertion (Entra ID).
    #[error("{0}")]
    InvalidClient(String),
    /// No or a bad scope (Entra ID).
    #[error("{0}")]
    InvalidScope(String),
    /// No resource (managed identity).
    #[error("{0}")]
    InvalidResource(String),
    /// The grant type is not allowed for the client (Auth0).
    #[error("{0}")]
    UnauthorizedClient(String),
    /// Missing client credentials (Auth0).
    #[error("{0}")]
    AccessDenied(String),
    /// The audience is not the Management API (Auth0).
    #[error("{0}")]
    UnknownAudience(String),
    /// Signing the token failed.
    #[error("{0}")]
    Server(String),
}

/// Auth0 Management API failures, in Auth0's error shape.
#[derive(Debug, thiserror::Error)]
pub enum Auth0ApiError {
    /// From the store.
    #[error(transparent)]
    Store(#[from] LogStreamError),
    /// Missing or invalid bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// The body is not JSON.
    #[error("{0}")]
    InvalidBody(String),
    /// Writing the state file failed.
    #[error("{0}")]
    Internal(String),
}

/// Microsoft Graph failures, in Graph's error shape.
#[derive(Debug, thiserror::Error)]
pub enum GraphApiError {
    /// From the store.
    #[error(transparent)]
    Store(#[from] GraphError),
    /// Missing or invalid bearer token, or one for another audience.
    #[error("{0}")]
    Unauthorized(String),
    /// The body is not JSON.
    #[error("{0}")]
    InvalidBody(String),
    /// An injected server error (500 or 503, `--faults 5xx=`).
    #[error("An injected fault: the emulated service failed ({0}).")]
    InjectedFault(u16),
    /// Injected throttling (`--faults 429=`).
    #[error("Too many requests: retry after the number of seconds in Retry-After.")]
    Throttled,
    /// Writing the state file failed.
    #[error("{0}")]
    Internal(String),
}

/// A refused `/_emulator/...` control request; `code` names the control's refusal.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The request is malformed or names something unusable.
    #[error("{message}")]
    Invalid {
        /// E.g. `InvalidControlRequest`, `PartnerPublishRefused`.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// What the control acts on does not exist (or TLS is off for `/_emulator/ca.pem`).
    #[error("{message}")]
    NotFound {
        /// E.g. `NotServingTls`, `SystemPublishRefused`.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// The current state does not allow it (e.g. the partner topic is not activated).
    #[error("{message}")]
    Conflict {
        /// E.g. `PartnerPublishRefused`.
        code: &'static str,
        /// Human message.
        message: String,
    },
}

impl ControlError {
    /// The usual refusal of a malformed control request.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            code: "InvalidControlRequest",
            message: message.into(),
        }
    }
}

impl EmulatorError {
    /// The status and the surface's error code: the single mapping table.
    pub fn status_and_code(&self) -> (StatusCode, String) {
        match self {
            Self::Arm(e) => arm_status(e),
            Self::Token(e) => {
                let (status, code) = token_status(e);
                (status, code.to_string())
            }
            Self::Auth0(e) => auth0_status(e),
            Self::Graph(e) => graph_status(e),
            Self::Publish(e) => {
                let (status, code, _) = publish_status(e);
                (status, code.to_string())
            }
            Self::Control(e) => control_status(e),
        }
    }
}

fn arm_status(e: &ArmApiError) -> (StatusCode, String) {
    let (status, code) = match e {
        ArmApiError::Store(e) => match e {
            StoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "ResourceNotFound"),
            StoreError::ResourceGroupNotFound(_) => {
                (StatusCode::NOT_FOUND, "ResourceGroupNotFound")
            }
            StoreError::ParentNotFound(_) => (StatusCode::NOT_FOUND, "ParentResourceNotFound"),
            StoreError::MissingRegistration(_) => {
                (StatusCode::CONFLICT, "MissingSubscriptionRegistration")
            }
            StoreError::InvalidNamespace(_) => (StatusCode::NOT_FOUND, "InvalidResourceNamespace"),
            StoreError::BadRequest { code, .. } => return (StatusCode::BAD_REQUEST, code.clone()),
            StoreError::Conflict { code, .. } => return (StatusCode::CONFLICT, code.clone()),
            StoreError::UrlValidation(_) => (StatusCode::BAD_REQUEST, "Url validation"),
        },
        ArmApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"),
        ArmApiError::WrongAudience(_) => (
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenAudience",
        ),
        ArmApiError::MissingApiVersion => (StatusCode::BAD_REQUEST, "MissingApiVersionParameter"),
        ArmApiError::InvalidApiVersion { code, .. } => (StatusCode::BAD_REQUEST, *code),
        ArmApiError::NoRoute { .. } => (StatusCode::NOT_FOUND, "NoRouteFound"),
        ArmApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
        ArmApiError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "InvalidRequestContent"),
        ArmApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
        ArmApiError::Throttled { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "SubscriptionRequestsThrottled",
        ),
        ArmApiError::InjectedFault(503) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        ArmApiError::InjectedFault(_) | ArmApiError::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError")
        }
    };
    (status, code.to_string())
}

fn token_status(e: &TokenError) -> (StatusCode, &'static str) {
    match e {
        TokenError::UnsupportedGrantType(_) => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        TokenError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        TokenError::InvalidClient(_) => (StatusCode::UNAUTHORIZED, "invalid_client"),
        TokenError::InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope"),
        TokenError::InvalidResource(_) => (StatusCode::BAD_REQUEST, "invalid_resource"),
        TokenError::UnauthorizedClient(_) => (StatusCode::FORBIDDEN, "unauthorized_client"),
        TokenError::AccessDenied(_) => (StatusCode::UNAUTHORIZED, "access_denied"),
        TokenError::UnknownAudience(_) => (StatusCode::FORBIDDEN, "access_denied"),
        TokenError::Server(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    }
}

fn auth0_status(e: &Auth0ApiError) -> (StatusCode, String) {
    let (status, code) = match e {
        Auth0ApiError::Store(LogStreamError::NotFound) => {
            (StatusCode::NOT_FOUND, "inexistent_log_stream")
        }
        Auth0ApiError::Store(LogStreamError::BadRequest { code, .. }) => {
            (StatusCode::BAD_REQUEST, *code)
        }
        Auth0ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
        Auth0ApiError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
        Auth0ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
    };
    (status, code.to_string())
}

fn graph_status(e: &GraphApiError) -> (StatusCode, String) {
    let (status, code) = match e {
        GraphApiError::Store(GraphError::NotFound) => (StatusCode::NOT_FOUND, "ResourceNotFound"),
        GraphApiError::Store(GraphError::BadRequest { code, .. }) => {
            (StatusCode::BAD_REQUEST, *code)
        }
        GraphApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"),
        GraphApiError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
        GraphApiError::InjectedFault(503) => {
            (StatusCode::SERVICE_UNAVAILABLE, "serviceNotAvailable")
        }
        GraphApiError::Throttled => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
        GraphApiError::InjectedFault(_) | GraphApiError::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "generalException")
        }
    };
    (status, code.to_string())
}

/// Status, top-level code and detail code of a refused publish.
fn publish_status(e: &PublishError) -> (StatusCode, &'static str, &'static str) {
    match e {
        PublishError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequest", "InputJsonInvalid"),
        PublishError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized"),
        PublishError::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound", "TopicNotFound"),
        PublishError::TooLarge(_) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "PayloadTooLarge",
        ),
    }
}

fn control_status(e: &ControlError) -> (StatusCode, String) {
    let (status, code) = match e {
        ControlError::Invalid { code, .. } => (StatusCode::BAD_REQUEST, code),
        ControlError::NotFound { code, .. } => (StatusCode::NOT_FOUND, code),
        ControlError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
    };
    (status, code.to_string())
}

/// The ARM error body for a code and message.
pub fn envelope(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "details": []}})
}

impl IntoResponse for EmulatorError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.to_string();
        let body = match &self {
            Self::Arm(e) => arm_body(e, &code, &message),
            Self::Token(_) => oauth_body(&code, &message),
            Self::Auth0(_) => json!({
                "statusCode": status.as_u16(),
                "error": status.canonical_reason().unwrap_or_default(),
                "message": message,
                "errorCode": code,
            }),
            Self::Graph(_) => json!({"error": {"code": code, "message": message, "innerError": {
                "request-id": uuid::Uuid::new_v4().to_string(),
                "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
            }}}),
            Self::Publish(e) => publish_body(e),
            Self::Control(_) => json!({"error": {"code": code, "message": message}}),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::Arm(e) = &self {
            add_arm_headers(&mut response, e);
        }
        // Graph sends Retry-After (seconds) with its 429 and 503 answers.
        if let Self::Graph(GraphApiError::Throttled | GraphApiError::InjectedFault(503)) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn arm_body(e: &ArmApiError, code: &str, message: &str) -> Value {
    let mut body = envelope(code, message);
    if let ArmApiError::Store(StoreError::MissingRegistration(ns)) = e {
        body["error"]["details"] = json!([{"code": code, "target": ns, "message": message}]);
    }
    body
}

/// `WWW-Authenticate` on 401s and `Retry-After` on 429s, as ARM sends them.
fn add_arm_headers(response: &mut Response, e: &ArmApiError) {
    let headers = response.headers_mut();
    if matches!(
        e,
        ArmApiError::Unauthorized(_) | ArmApiError::WrongAudience(_)
    ) {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"",
            ),
        );
    }
    if let ArmApiError::Throttled { retry_after, .. } = e
        && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
    {
        headers.insert(header::RETRY_AFTER, v);
    }
}

/// An OAuth2 (Entra ID style) error body for the token endpoints.
fn oauth_body(error: &str, description: &str) -> Value {
    json!({
        "error": error, "error_description": description, "error_codes": [],
        "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": uuid::Uuid::new_v4().to_string(), "correlation_id": uuid::Uuid::new_v4().to_string(),
    })
}

/// The data plane's error body: `{"error": {"code", "message", "details": [{"code", "message"}]}}`.
fn publish_body(e: &PublishError) -> Value {
    let (_, code, detail) = publish_status(e);
    let message = format!(
        "{e} Report '{}:{}' to our forums for assistance or raise a support ticket.",
        uuid::Uuid::new_v4(),
        chrono::Utc::now().format("%-m/%-d/%Y %-I:%M:%S %p")
    );
    json!({"error": {"code": code, "message": message, "details": [{"code": detail, "message": message}]}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(err: impl Into<EmulatorError>) -> (u16, String) {
        let (s, c) = err.into().status_and_code();
        (s.as_u16(), c)
    }

    #[test]
    fn arm_statuses_come_from_one_table() {
        let cases: Vec<(ArmApiError, u16, &str)> = vec![
            (
                StoreError::MissingRegistration("Microsoft.EventGrid".into()).into(),
                409,
                "MissingSubscriptionRegistration",
            ),
            (
                StoreError::ResourceGroupNotFound("rg".into()).into(),
                404,
                "ResourceGroupNotFound",
            ),
            (StoreError::invalid("x").into(), 400, "InvalidRequest"),
            (
                StoreError::UrlValidation("x".into()).into(),
                400,
                "Url validation",
            ),
            (
                ArmApiError::Unauthorized("x".into()),
                401,
                "InvalidAuthenticationToken",
            ),
            (
                ArmApiError::MissingApiVersion,
                400,
                "MissingApiVersionParameter",
            ),
            (ArmApiError::InjectedFault(503), 503, "ServiceUnavailable"),
        ];
        for (err, s, c) in cases {
            assert_eq!(status(err), (s, c.to_string()));
        }
    }

    #[test]
    fn other_surfaces_map_in_the_same_table() {
        let bad = PublishError::BadRequest("x".into());
        assert_eq!(status(bad), (400, "BadRequest".into()));
        let big = PublishError::TooLarge("x".into());
        assert_eq!(status(big), (413, "RequestEntityTooLarge".into()));
        let denied = TokenError::UnknownAudience("x".into());
        assert_eq!(status(denied), (403, "access_denied".into()));
        let missing = Auth0ApiError::Store(LogStreamError::NotFound);
        assert_eq!(status(missing), (404, "inexistent_log_stream".into()));
        let gone = GraphApiError::Store(GraphError::NotFound);
        assert_eq!(status(gone), (404, "ResourceNotFound".into()));
        let token = GraphApiError::Unauthorized("x".into());
        assert_eq!(status(token), (401, "InvalidAuthenticationToken".into()));
        assert_eq!(
            status(GraphApiError::Throttled),
            (429, "TooManyRequests".into())
        );
        let down = GraphApiError::InjectedFault(503);
        assert_eq!(status(down), (503, "serviceNotAvailable".into()));
        let refused = ControlError::Conflict {
            code: "PartnerPublishRefused",
            message: "x".into(),
        };
        assert_eq!(status(refused), (409, "PartnerPublishRefused".into()));
    }

    #[test]
    fn publish_body_names_the_detail_code() {
        let body = publish_body(&PublishError::BadRequest("Event at index 1".into()));
        assert_eq!(body["error"]["code"], "BadRequest");
        assert_eq!(body["error"]["details"][0]["code"], "InputJsonInvalid");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("Event at index 1 Report"), "{message}");
    }
}
