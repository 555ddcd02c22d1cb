//! `ArmError`, `CredentialError` and the request identifiers errors carry.
//!
//! Owns the error type every `arm` operation returns and its transient/permanent classification.
//! Error bodies are parsed by `remote_http::error_body`. It must not include secrets: URLs are
//! reduced to their path (never a query string) and response bodies are summarised, never echoed
//! whole.

use std::fmt;

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
pub struct RequestTarget {
    /// HTTP method.
    pub method: String,
    /// The resource id or collection path (never a query string).
    pub resource: String,
}

impl fmt::Display for RequestTarget {
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
        target: RequestTarget,
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
        target: RequestTarget,
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
        target: RequestTarget,
        /// What went wrong.
        message: String,
        /// Request identifiers.
        ids: RequestIds,
    },
    /// The server's answer was refused and not retried: a redirect to another origin, a response
    /// body over the size cap.
    #[error("{target} refused: {message} ({ids})")]
    Refused {
        /// Method and resource.
        target: RequestTarget,
        /// Which rule and what the server sent (origins and paths, never a query string).
        message: String,
        /// Request identifiers.
        ids: RequestIds,
    },
    /// The server answered with a success status but a body we cannot use.
    #[error("{target} returned {status} with a malformed body: {reason} ({ids})")]
    Malformed {
        /// Method and resource.
        target: RequestTarget,
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
        target: RequestTarget,
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
        target: RequestTarget,
        /// The last status seen.
        status: String,
        /// How long we waited.
        waited: std::time::Duration,
        /// Request identifiers of the initial request.
        ids: RequestIds,
    },
    /// Waiting for a long-running operation was interrupted (the stop signal, Ctrl-C). Only the
    /// polling stopped: the operation may still complete in Azure, and re-reading the state (the
    /// next plan) sees where it ended.
    #[error(
        "interrupted while waiting for the long-running operation of {target} (last status \
         `{status}`); it may still complete in Azure"
    )]
    Interrupted {
        /// Method and resource.
        target: RequestTarget,
        /// The last status seen.
        status: String,
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

    /// Whether trying the whole operation again may succeed: 429 or 5xx after the client's own
    /// retries, a dropped connection, an unknown outcome (the caller re-reads first), a failed or
    /// timed-out long-running operation. Bad requests, credentials and configuration are not.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http { status, .. } => *status == 429 || *status >= 500,
            Self::Transport { .. }
            | Self::OutcomeUnknown { .. }
            | Self::OperationFailed { .. }
            | Self::OperationTimeout { .. } => true,
            Self::Malformed { .. }
            | Self::Refused { .. }
            | Self::Interrupted { .. }
            | Self::Credential(_)
            | Self::Config(_) => false,
        }
    }

    /// Whether waiting was interrupted by the stop signal.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Self::Interrupted { .. })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> ArmError {
        ArmError::Http {
            target: RequestTarget {
                method: "GET".into(),
                resource: "/x".into(),
            },
            status,
            code: "C".into(),
            message: "m".into(),
            ids: RequestIds::default(),
        }
    }

    #[test]
    fn throttling_server_errors_and_lost_connections_are_transient() {
        assert!(http(429).is_transient());
        assert!(http(503).is_transient());
        assert!(!http(400).is_transient());
        assert!(!http(404).is_transient());
        assert!(!ArmError::Config("x".into()).is_transient());
        let lost = ArmError::OutcomeUnknown {
            target: RequestTarget {
                method: "POST".into(),
                resource: "/x".into(),
            },
            message: "reset".into(),
            ids: RequestIds::default(),
        };
        assert!(lost.is_transient());
    }

    #[test]
    fn display_names_everything() {
        let e = ArmError::Http {
            target: RequestTarget {
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
