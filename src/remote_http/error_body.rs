//! Error bodies of the remote APIs and transport errors, as short printable text: pure, no I/O.
//!
//! Owns the parsing of ARM's envelope (`{"error": {"code", "message", "details"}}`, also spoken by
//! the Event Grid data plane), Auth0's shapes (`{"errorCode", "message"}`, OAuth
//! `{"error", "error_description"}`), Microsoft Graph's (`{"error": {"code", "message",
//! "innerError": {"request-id", "date"}}}`), body excerpts, transport error text and URL redaction. It
//! must not echo a body whole or keep a query string: both may carry secrets.

use serde::Deserialize;

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
pub fn parse_arm_error(status: u16, body: &[u8]) -> ErrorEnvelope {
    if let Ok(env) = serde_json::from_slice::<Envelope>(body) {
        if let Some(err) = env.error {
            let mut message = err.message.unwrap_or_default();
            if let Some(detail) = err.details.iter().find_map(|d| d.message.as_deref())
                && !message.contains(detail)
            {
                if !message.is_empty() {
                    message.push_str(": ");
                }
                message.push_str(detail);
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

/// Auth0's error body: `{"statusCode","error","message","errorCode"}` or OAuth
/// `{"error","error_description"}`; anything else is read as [`parse_arm_error`] reads it.
pub fn parse_auth0_error(status: u16, body: &[u8]) -> ErrorEnvelope {
    #[derive(Deserialize)]
    struct Body {
        error: Option<String>,
        #[serde(rename = "errorCode")]
        error_code: Option<String>,
        message: Option<String>,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) if b.message.is_some() || b.error_description.is_some() || b.error.is_some() => {
            ErrorEnvelope {
                code: b
                    .error_code
                    .or(b.error)
                    .unwrap_or_else(|| fallback_code(status)),
                message: b
                    .message
                    .or(b.error_description)
                    .unwrap_or_else(|| "(no message)".into()),
            }
        }
        _ => parse_arm_error(status, body),
    }
}

/// Microsoft Graph's error body `{"error": {"code", "message", "innerError": {"request-id",
/// "date"}}}`: the envelope plus the `request-id` Graph support asks for (`None` when absent).
/// Anything else is read as [`parse_arm_error`] reads it.
pub fn parse_graph_error(status: u16, body: &[u8]) -> (ErrorEnvelope, Option<String>) {
    #[derive(Deserialize)]
    struct Body {
        error: Option<Inner>,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(rename = "innerError", alias = "innererror")]
        inner_error: Option<RequestIdOnly>,
    }
    #[derive(Deserialize)]
    struct RequestIdOnly {
        #[serde(rename = "request-id")]
        request_id: Option<String>,
    }
    let request_id = serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.error?.inner_error?.request_id)
        .filter(|id| !id.is_empty());
    (parse_arm_error(status, body), request_id)
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
            parse_arm_error(429, body),
            ErrorEnvelope {
                code: "SubscriptionRequestsThrottled".into(),
                message: "Too many".into()
            }
        );
    }

    #[test]
    fn appends_the_first_detail() {
        let body = br#"{"error":{"code":"InvalidRequest","message":"Bad","details":[{"code":"X","message":"field y is wrong"}]}}"#;
        assert_eq!(parse_arm_error(400, body).message, "Bad: field y is wrong");
    }

    #[test]
    fn html_and_empty_bodies_get_synthesized_codes() {
        let html = b"<html>\n<body>502 Bad Gateway</body></html>";
        let e = parse_arm_error(502, html);
        assert_eq!(e.code, "Http502");
        assert!(e.message.starts_with("non-JSON"), "{}", e.message);
        assert_eq!(parse_arm_error(500, b"").message, "(empty body)");
        assert_eq!(parse_arm_error(500, b"{not json").code, "Http500");
        // Top-level code/message (some RPs).
        let flat = br#"{"code":"Conflict","message":"busy"}"#;
        assert_eq!(parse_arm_error(409, flat).code, "Conflict");
    }

    #[test]
    fn redacts_query_strings() {
        let u = url::Url::parse("https://user:pw@hooks.example.com/x?code=secret#frag").unwrap();
        assert_eq!(redact_url(&u), "https://hooks.example.com/x");
    }

    #[test]
    fn parses_auth0_error_shapes() {
        let b = br#"{"statusCode":400,"error":"Bad Request","message":"Payload validation error","errorCode":"invalid_body"}"#;
        let e = parse_auth0_error(400, b);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("invalid_body", "Payload validation error")
        );
        let b = br#"{"error":"access_denied","error_description":"Unauthorized"}"#;
        let e = parse_auth0_error(401, b);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("access_denied", "Unauthorized")
        );
        assert_eq!(parse_auth0_error(502, b"<html>").code, "Http502");
    }

    #[test]
    fn parses_the_graph_error_body_with_its_request_id() {
        let b = br#"{"error":{"code":"InvalidRequest","message":"Subscription validation request failed.","innerError":{"request-id":"r-1","date":"2026-11-21T10:00:00"}}}"#;
        let (e, id) = parse_graph_error(400, b);
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), id.as_deref()),
            (
                "InvalidRequest",
                "Subscription validation request failed.",
                Some("r-1")
            )
        );
        let (e, id) = parse_graph_error(503, b"<html>busy</html>");
        assert_eq!((e.code.as_str(), id), ("Http503", None));
        let (_, id) = parse_graph_error(
            404,
            br#"{"error":{"code":"ResourceNotFound","message":"x"}}"#,
        );
        assert_eq!(id, None);
    }
}
