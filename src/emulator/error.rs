//! Errors of the emulator and the one place that turns them into HTTP statuses and the ARM error
//! envelope `{"error":{"code","message","details"}}`.
//!
//! `StoreError` is HTTP-agnostic (the store returns it); `ApiError` adds what only the HTTP layer
//! knows (auth, api-version, routing, throttling, bad JSON). No other module picks an ARM status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed store operation, in ARM terms but without HTTP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The resource does not exist.
    #[error("The Resource '{type_name}/{name}' under resource group '{group}' was not found.")]
    NotFound {
        /// `Microsoft.EventGrid/topics` and the like.
        type_name: String,
        /// Resource name.
        name: String,
        /// Resource group name (may be empty).
        group: String,
    },
    /// The resource group does not exist.
    #[error("Resource group '{0}' could not be found.")]
    ResourceGroupNotFound(String),
    /// A nested resource's parent does not exist.
    #[error(
        "Can not perform requested operation on nested resource. Parent resource '{0}' not found."
    )]
    ParentNotFound(String),
    /// The subscription is not registered for the namespace.
    #[error(
        "The subscription is not registered to use namespace '{0}'. See https://aka.ms/rps-not-found for how to register subscriptions."
    )]
    MissingRegistration(String),
    /// An unknown resource provider namespace.
    #[error("The resource namespace '{0}' is invalid.")]
    InvalidNamespace(String),
    /// The request is invalid; `code` is the ARM error code.
    #[error("{message}")]
    BadRequest {
        /// ARM error code, e.g. `InvalidRequest`.
        code: String,
        /// Human message.
        message: String,
    },
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// ARM error code.
        code: String,
        /// Human message.
        message: String,
    },
    /// The webhook endpoint failed the validation handshake.
    #[error("{0}")]
    UrlValidation(String),
}

impl StoreError {
    /// A 400 with code `InvalidRequest`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "InvalidRequest".into(),
            message: message.into(),
        }
    }

    /// A 400 with a specific code.
    pub fn bad(code: &str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Anything an HTTP handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// From the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Missing or invalid bearer token.
    #[error("{0}")]
    Unauthorized(String),
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

impl ApiError {
    /// The status and ARM error code: the single mapping table.
    pub fn status_and_code(&self) -> (StatusCode, String) {
        let (status, code) = match self {
            Self::Store(e) => match e {
                StoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "ResourceNotFound"),
                StoreError::ResourceGroupNotFound(_) => {
                    (StatusCode::NOT_FOUND, "ResourceGroupNotFound")
                }
                StoreError::ParentNotFound(_) => (StatusCode::NOT_FOUND, "ParentResourceNotFound"),
                StoreError::MissingRegistration(_) => {
                    (StatusCode::CONFLICT, "MissingSubscriptionRegistration")
                }
                StoreError::InvalidNamespace(_) => {
                    (StatusCode::NOT_FOUND, "InvalidResourceNamespace")
                }
                StoreError::BadRequest { code, .. } => {
                    return (StatusCode::BAD_REQUEST, code.clone());
                }
                StoreError::Conflict { code, .. } => return (StatusCode::CONFLICT, code.clone()),
                StoreError::UrlValidation(_) => (StatusCode::BAD_REQUEST, "Url validation"),
            },
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"),
            Self::MissingApiVersion => (StatusCode::BAD_REQUEST, "MissingApiVersionParameter"),
            Self::InvalidApiVersion { code, .. } => (StatusCode::BAD_REQUEST, *code),
            Self::NoRoute { .. } => (StatusCode::NOT_FOUND, "NoRouteFound"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            Self::InvalidBody(_) => (StatusCode::BAD_REQUEST, "InvalidRequestContent"),
            Self::Throttled { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
            ),
            Self::InjectedFault(503) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            Self::InjectedFault(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        };
        (status, code.to_string())
    }
}

/// The ARM error body for a code and message.
pub fn envelope(code: &str, message: &str) -> serde_json::Value {
    json!({"error": {"code": code, "message": message, "details": []}})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.to_string();
        let mut body = envelope(&code, &message);
        if let Self::Store(StoreError::MissingRegistration(ns)) = &self {
            body["error"]["details"] = json!([{"code": code, "target": ns, "message": message}]);
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"",
                ),
            );
        }
        if let Self::Throttled { retry_after, .. } = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// An OAuth2 (Entra ID style) error body for the token endpoints.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({
        "error": error, "error_description": description, "error_codes": [],
        "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": uuid::Uuid::new_v4().to_string(), "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    (status, axum::Json(body)).into_response()
}

/// Auth0 Management API failures, in Auth0's error shape
/// `{"statusCode","error","message","errorCode"}`.
#[derive(Debug, thiserror::Error)]
pub enum Auth0ApiError {
    /// From the store.
    #[error(transparent)]
    Store(#[from] crate::emulator::store::auth0::Auth0Error),
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

impl IntoResponse for Auth0ApiError {
    fn into_response(self) -> Response {
        use crate::emulator::store::auth0::Auth0Error;
        let (status, code) = match &self {
            Self::Store(Auth0Error::NotFound) => (StatusCode::NOT_FOUND, "inexistent_log_stream"),
            Self::Store(Auth0Error::BadRequest { code, .. }) => (StatusCode::BAD_REQUEST, *code),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            Self::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        };
        let body = json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or_default(),
            "message": self.to_string(),
            "errorCode": code,
        });
        (status, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_from_one_table() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
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
                ApiError::Unauthorized("x".into()),
                401,
                "InvalidAuthenticationToken",
            ),
            (
                ApiError::MissingApiVersion,
                400,
                "MissingApiVersionParameter",
            ),
            (ApiError::InjectedFault(503), 503, "ServiceUnavailable"),
        ];
        for (err, status, code) in cases {
            let (s, c) = err.status_and_code();
            assert_eq!((s.as_u16(), c.as_str()), (status, code));
        }
    }
}
