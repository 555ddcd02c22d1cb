//! `GraphApiError`: every way a Microsoft Graph call fails, and the hints that go with them.
//!
//! Owns the error type of `graph`, its transient/permanent classification and the table of
//! application permissions a subscription's resource needs (the hint of a 401/403). Messages
//! name the method and path (never a query string), the status, Graph's code and message and the
//! `request-id`; they never quote a request body (a `clientState` is a secret). Pure: no I/O.

use crate::arm::CredentialError;

/// Every way a Microsoft Graph call can fail.
#[derive(Debug, thiserror::Error)]
pub enum GraphApiError {
    /// Graph answered with an error status.
    #[error("{0}")]
    Http(Box<GraphHttpError>),
    /// A create whose answer never arrived: it may exist. Not resent (it would make a second
    /// subscription); the next plan finds it.
    #[error(
        "Microsoft Graph {method} `{path}` failed: {message}; outcome unknown, not resent\n\nhint: run `gridform plan` again: a subscription created meanwhile is read back"
    )]
    OutcomeUnknown {
        /// HTTP method.
        method: String,
        /// API path.
        path: String,
        /// The transport error.
        message: String,
    },
    /// The request failed in transport after retries.
    #[error("Microsoft Graph {method} `{path}` failed: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// API path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The server's answer was refused and not retried (a redirect or next link to another
    /// origin, a body over the size cap, too many pages).
    #[error("Microsoft Graph request refused: {message}")]
    Refused {
        /// Which request and rule (never a query string).
        message: String,
    },
    /// A success response with a body we cannot use.
    #[error("Microsoft Graph {method} `{path}` returned a malformed body: {reason}")]
    Malformed {
        /// HTTP method.
        method: String,
        /// API path.
        path: String,
        /// What is wrong (never the body whole).
        reason: String,
    },
    /// No token for Microsoft Graph.
    #[error("no Microsoft Graph token ({scope})")]
    Credential {
        /// The scope asked.
        scope: String,
        /// The credential's error (with its own hint).
        #[source]
        source: CredentialError,
    },
    /// Missing or bad configuration.
    #[error("Microsoft Graph configuration: {0}")]
    Config(String),
}

/// An error answer from Graph (boxed in [`GraphApiError::Http`]: it is the large variant).
#[derive(Debug, thiserror::Error)]
#[error(
    "Microsoft Graph {method} `{path}` returned {status} `{code}`: {message} (request-id {request_id}){hint}"
)]
pub struct GraphHttpError {
    /// HTTP method.
    pub method: String,
    /// API path (no query string).
    pub path: String,
    /// HTTP status.
    pub status: u16,
    /// Graph's `error.code` (or `Http{status}`).
    pub code: String,
    /// Graph's `error.message`.
    pub message: String,
    /// `error.innerError.request-id`, else the `request-id` header, else `none`.
    pub request_id: String,
    /// `\n\nhint: …` for 401/403, else empty.
    pub hint: String,
}

impl GraphApiError {
    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http(e) => Some(e.status),
            _ => None,
        }
    }

    /// Graph's error code of an error answer.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Http(e) => Some(&e.code),
            _ => None,
        }
    }

    /// Whether trying the whole operation again may succeed: 429 or 5xx after the client's own
    /// retries, or a transport failure. An unknown create outcome is not (re-read first).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http(e) => e.status == 429 || e.status >= 500,
            Self::Transport { .. } => true,
            Self::OutcomeUnknown { .. }
            | Self::Malformed { .. }
            | Self::Refused { .. }
            | Self::Credential { .. }
            | Self::Config(_) => false,
        }
    }
}

/// The application permission (Microsoft Graph, admin-consented) that change notifications on
/// `resource` need; `None` when the resource is not in the table. From the Graph docs' table
/// (docs/graph-client.md).
pub fn permission_for(resource: &str) -> Option<&'static str> {
    let r = resource.trim_start_matches('/').to_ascii_lowercase();
    let segments: Vec<&str> = r
        .split('/')
        .map(|s| s.split('(').next().unwrap_or(s))
        .collect();
    let has = |word: &str| segments.contains(&word);
    // The most specific part decides: `users/{id}/messages` is mail, `teams/…/messages` Teams.
    let rules: [(bool, &str); 10] = [
        (
            r.starts_with("communications/callrecords"),
            "CallRecords.Read.All",
        ),
        (has("channels") || has("teams"), "ChannelMessage.Read.All"),
        (has("chats"), "Chat.Read.All"),
        (has("messages") || has("mailfolders"), "Mail.Read"),
        (has("events"), "Calendars.Read"),
        (has("contacts"), "Contacts.Read"),
        (has("drive") || has("drives"), "Files.ReadWrite.All"),
        (has("sites") || has("lists"), "Sites.ReadWrite.All"),
        (
            segments.first() == Some(&"security"),
            "SecurityEvents.ReadWrite.All",
        ),
        (segments.first() == Some(&"users"), "User.Read.All"),
    ];
    if let Some((_, p)) = rules.iter().find(|(hit, _)| *hit) {
        return Some(p);
    }
    (segments.first() == Some(&"groups")).then_some("Group.Read.All")
}

/// The hint of a 401/403 answer: which permission `resource` needs (when known), else the table.
pub fn auth_hint(status: u16, resource: Option<&str>) -> String {
    if !matches!(status, 401 | 403) {
        return String::new();
    }
    let needed = match resource.and_then(|r| permission_for(r).map(|p| (r, p))) {
        Some((r, p)) => format!("change notifications on `{r}` need the application permission {p}"),
        None => "change notifications need the resource's application permission (User.Read.All for users, Group.Read.All for groups, Mail.Read for messages, …)".into(),
    };
    if status == 401 {
        format!(
            "\n\nhint: Microsoft Graph did not accept the token: check that the credential's application exists in the tenant and that the token is for https://graph.microsoft.com; {needed}, granted with admin consent"
        )
    } else {
        format!(
            "\n\nhint: {needed}, granted to the application with admin consent (Entra ID > App registrations > API permissions)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_follow_the_most_specific_segment() {
        assert_eq!(permission_for("users"), Some("User.Read.All"));
        assert_eq!(permission_for("/groups"), Some("Group.Read.All"));
        assert_eq!(
            permission_for("me/mailFolders('Inbox')/messages"),
            Some("Mail.Read")
        );
        assert_eq!(permission_for("users/u1/events"), Some("Calendars.Read"));
        assert_eq!(
            permission_for("communications/callRecords"),
            Some("CallRecords.Read.All")
        );
        assert_eq!(
            permission_for("teams/t/channels/c/messages"),
            Some("ChannelMessage.Read.All")
        );
        assert_eq!(permission_for("users/u1"), Some("User.Read.All"));
        assert_eq!(permission_for("chats"), Some("Chat.Read.All"));
        assert_eq!(permission_for("print/printers"), None);
    }

    #[test]
    fn only_401_and_403_get_a_permission_hint() {
        assert_eq!(auth_hint(400, Some("users")), "");
        let h = auth_hint(403, Some("groups"));
        assert!(h.contains("hint:") && h.contains("Group.Read.All"), "{h}");
        let h = auth_hint(401, None);
        assert!(h.contains("User.Read.All") && h.contains("token"), "{h}");
    }

    #[test]
    fn transient_means_throttled_server_errors_and_transport() {
        let http = |status| {
            GraphApiError::Http(Box::new(GraphHttpError {
                method: "GET".into(),
                path: "/v1.0/subscriptions".into(),
                status,
                code: "c".into(),
                message: "m".into(),
                request_id: "none".into(),
                hint: String::new(),
            }))
        };
        assert!(http(429).is_transient() && http(503).is_transient());
        assert!(!http(400).is_transient() && !http(403).is_transient());
        let unknown = GraphApiError::OutcomeUnknown {
            method: "POST".into(),
            path: "/v1.0/subscriptions".into(),
            message: "reset".into(),
        };
        assert!(!unknown.is_transient());
    }
}
