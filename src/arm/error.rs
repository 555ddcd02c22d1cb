//! `ArmError` and the parsing of ARM's error envelope.
//!
//! Owns the error type every `arm` operation returns and the pure function that turns an error
//! response body into a code and message. It must not include secrets: URLs are reduced to their
//! path (never a query string) and response bodies are summarised, never echoed whole.

use std::fmt;

use serde::Deserialize;

/// The identifiers that let a human (or Azure support) find a request in the server's logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestIds {
    /// `x-ms-client-request-id` we sent.
    pub client_request_id: String,
    /// `x-ms-request-id` the server returned, if any.
    pub request_id: Option<String>,
    /// `x-ms-correlation-request-id` the server returned, if any.
    pub correlation_id: Option<String>,
}

impl fmt::Display for RequestIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client request id {}", self.client_request_id)?;
        if let Some(id) = &self.request_id {
            write!(f, ", x-ms-request-id {id}")?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, ", x-ms-correlation-request-id {id}")?;
        }
        Ok(())
    }
}

/// What a request was about: method plus resource id (or collection path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// HTTP method.
    pub method: String,
    /// The resource id or collection path (never a query string).
    pub resource: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.method, self.resource)
    }
}

/// Every way an ARM operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// The server answered with a non-success status.
    #[error("{target} returned {status} `{code}`: {message} ({ids})")]
    Http {
        /// Method and resource.
        target: Target,
        /// HTTP status code.
        status: u16,
        /// ARM `error.code` (or a synthesized one when the body had none).
        code: String,
        /// ARM `error.message` (or a summary of the body).
        message: String,
        /// Request identifiers.
        ids: RequestIds,
    },
    /// The request could not be sent or the response could not be read, after all retries.
    #[error("{target} failed: {message} ({ids})")]
    Transport {
        /// Method and resource.
        target: Target,
        /// What went wrong (the transport error text, without the URL's query string).
        message: String,
        /// Request identifiers.
        ids: RequestIds,
    },
    /// A POST/DELETE whose outcome is unknown (the connection broke after it was sent); it was
    /// not retried blindly. The caller must re-read the resource before trying again.
    #[error(
        "{target} outcome unknown: {message} ({ids}); the request was not retried because it is \
         not idempotent, re-read the resource before retrying"
    )]
    OutcomeUnknown {
        /// Method and resource.
        target: Target,
        /// What went wrong.
        message: String,
        /// Request identifiers.
        ids: RequestIds,
    },
    /// The server answered with a success status but a body we cannot use.
    #[error("{target} returned {status} with a malformed body: {reason} ({ids})")]
    Malformed {
        /// Method and resource.
        target: Target,
        /// HTTP status code.
        status: u16,
        /// What is wrong with the body.
        reason: String,
        /// Request identifiers.
        ids: RequestIds,
    },
    /// A long-running operation ended `Failed` or `Canceled`.
    #[error("{target}: long-running operation {status} `{code}`: {message} ({ids})")]
    OperationFailed {
        /// Method and resource.
        target: Target,
        /// `Failed` or `Canceled`.
        status: String,
        /// Inner `error.code`.
        code: String,
        /// Inner `error.message`.
        message: String,
        /// Request identifiers of the initial request.
        ids: RequestIds,
    },
    /// A long-running operation did not finish within the deadline.
    #[error("{target}: long-running operation still `{status}` after {waited:?} ({ids})")]
    OperationTimeout {
        /// Method and resource.
        target: Target,
        /// The last status seen.
        status: String,
        /// How long we waited.
        waited: std::time::Duration,
        /// Request identifiers of the initial request.
        ids: RequestIds,
    },
    /// No access token could be obtained.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// A client was configured with values that cannot work (bad endpoint URL, ...).
    #[error("invalid ARM client configuration: {0}")]
    Config(String),
}

impl ArmError {
    /// The HTTP status, for HTTP and malformed-body errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } | Self::Malformed { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The ARM error code (`error.code`, or the inner code of a failed operation).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Http { code, .. } | Self::OperationFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the error says the subscription is not registered for a resource provider.
    pub fn is_missing_registration(&self) -> bool {
        self.code().is_some_and(|c| {
            c.eq_ignore_ascii_case("MissingSubscriptionRegistration")
                || c.eq_ignore_ascii_case("NoRegisteredProviderFound")
        })
    }
}

/// A credential could not produce a token.
#[derive(Debug, thiserror::Error)]
#[error("{credential} could not get a token: {message}\n\nhint: {hint}")]
pub struct CredentialError {
    /// Which credential was tried (e.g. `client secret (AZURE_CLIENT_SECRET)`).
    pub credential: String,
    /// What went wrong (never contains the secret).
    pub message: String,
    /// What to set or do.
    pub hint: String,
}

/// `error.code` and `error.message` from an error response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEnvelope {
    /// `error.code`.
    pub code: String,
    /// `error.message`, with the first detail's message appended when there is one.
    pub message: String,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<ErrorBody>,
    // Some services answer with the body at top level.
    code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    details: Vec<ErrorBody>,
}

/// Longest body excerpt kept in an error message.
const EXCERPT: usize = 200;

/// Parses an ARM error envelope (`{"error": {"code", "message", "details"}}`). Anything else
/// (HTML error pages, empty bodies, bad JSON) becomes a synthesized code from the status and a
/// short excerpt of the text, so a message always exists.
pub fn parse_error_body(status: u16, body: &[u8]) -> ErrorEnvelope {
    if let Ok(env) = serde_json::from_slice::<Envelope>(body) {
        if let Some(err) = env.error {
            let mut message = err.message.unwrap_or_default();
            if let Some(detail) = err.details.iter().find_map(|d| d.message.as_deref()) {
                if !message.contains(detail) {
                    if !message.is_empty() {
                        message.push_str(": ");
                    }
                    message.push_str(detail);
                }
            }
            return ErrorEnvelope {
                code: err.code.unwrap_or_else(|| fallback_code(status)),
                message: if message.is_empty() {
                    "(no message)".into()
                } else {
                    message
                },
            };
        }
        if env.code.is_some() || env.message.is_some() {
            return ErrorEnvelope {
                code: env.code.unwrap_or_else(|| fallback_code(status)),
                message: env.message.unwrap_or_else(|| "(no message)".into()),
            };
        }
    }
    ErrorEnvelope {
        code: fallback_code(status),
        message: excerpt(body),
    }
}

fn fallback_code(status: u16) -> String {
    format!("Http{status}")
}

/// A short, single-line, printable excerpt of a body for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(EXCERPT)
        .collect();
    if flat.is_empty() {
        "(empty body)".into()
    } else if text.trim_start().starts_with('<') {
        format!("non-JSON (HTML?) body: {flat}")
    } else {
        flat
    }
}

/// A transport error with its causes (`error sending request: connection refused`), without
/// the URL (which could carry a query string).
pub fn transport_message(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        source = cause.source();
    }
    text
}

/// A URL with its query string and fragment removed, for logs and errors.
pub fn redact_url(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_arm_envelope() {
        let body = br#"{"error":{"code":"SubscriptionRequestsThrottled","message":"Too many","details":[]}}"#;
        assert_eq!(
            parse_error_body(429, body),
            ErrorEnvelope {
                code: "SubscriptionRequestsThrottled".into(),
                message: "Too many".into()
            }
        );
    }

    #[test]
    fn appends_the_first_detail() {
        let body = br#"{"error":{"code":"InvalidRequest","message":"Bad","details":[{"code":"X","message":"field y is wrong"}]}}"#;
        assert_eq!(parse_error_body(400, body).message, "Bad: field y is wrong");
    }

    #[test]
    fn html_and_empty_bodies_get_synthesized_codes() {
        let html = b"<html>\n<body>502 Bad Gateway</body></html>";
        let e = parse_error_body(502, html);
        assert_eq!(e.code, "Http502");
        assert!(e.message.starts_with("non-JSON"), "{}", e.message);
        assert_eq!(parse_error_body(500, b"").message, "(empty body)");
        assert_eq!(parse_error_body(500, b"{not json").code, "Http500");
        // Top-level code/message (some RPs).
        let flat = br#"{"code":"Conflict","message":"busy"}"#;
        assert_eq!(parse_error_body(409, flat).code, "Conflict");
    }

    #[test]
    fn redacts_query_strings() {
        let u = url::Url::parse("https://user:pw@hooks.example.com/x?code=secret#frag").unwrap();
        assert_eq!(redact_url(&u), "https://hooks.example.com/x");
    }

    #[test]
    fn display_names_everything() {
        let e = ArmError::Http {
            target: Target {
                method: "PUT".into(),
                resource: "/subscriptions/s/resourceGroups/rg".into(),
            },
            status: 409,
            code: "Conflict".into(),
            message: "busy".into(),
            ids: RequestIds {
                client_request_id: "c1".into(),
                request_id: Some("r1".into()),
                correlation_id: Some("k1".into()),
            },
        };
        assert_eq!(
            e.to_string(),
            "PUT `/subscriptions/s/resourceGroups/rg` returned 409 `Conflict`: busy \
             (client request id c1, x-ms-request-id r1, x-ms-correlation-request-id k1)"
        );
    }
}
