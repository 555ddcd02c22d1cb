//! The Event Grid data-plane client: publishing events to custom topics (`publish`), proving
//! delivery end to end (`verify`), and the emulator's `/_emulator` controls that stand in for
//! Auth0 and Azure services as event sources (`controls`).
//!
//! With `arm` and `auth0`, the only client code that talks HTTP. It resolves endpoints and
//! credentials through `arm`, checks events against its own reading of Azure's rules (never the
//! emulator's code) and never prints: keys and tokens stay in memory.

pub mod canary;
pub mod controls;
pub mod events;
pub mod publish;
pub mod verify;

use std::time::Duration;

pub use controls::EmulatorControls;
pub use publish::PublishSchema;

/// Why a data-plane call failed.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    /// The events break Event Grid's input rules (checked before sending).
    #[error("the events are not valid for topic `{topic}`: {reason}")]
    InvalidEvents {
        /// The topic's manifest name.
        topic: String,
        /// What is wrong.
        reason: String,
    },
    /// The endpoint answered with an error status.
    #[error("{what} was refused ({status}): {message}")]
    Refused {
        /// What was being done.
        what: String,
        /// HTTP status.
        status: u16,
        /// The service's message (never the request).
        message: String,
    },
    /// The endpoint could not be reached or its answer not read.
    #[error("{what}: {message}")]
    Transport {
        /// What was being done.
        what: String,
        /// The transport error (without the URL, which may hold a key).
        message: String,
    },
    /// A topic could not be resolved through ARM.
    #[error("{what}")]
    Arm {
        /// What was being done.
        what: String,
        /// The ARM error.
        #[source]
        source: Box<crate::arm::ArmError>,
    },
    /// Something the manifests or the live state lack.
    #[error("{message}")]
    Missing {
        /// What is missing.
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl DataPlaneError {
    /// How to fix it, when known.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Missing { hint, .. } => Some(hint),
            _ => None,
        }
    }
}

/// The HTTP client every data-plane call uses (bounded: 30 s per request).
pub fn http_client() -> Result<reqwest::Client, DataPlaneError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(crate::remote_http::redirect_policy())
        .build()
        .map_err(|e| DataPlaneError::Transport {
            what: "cannot build the HTTP client".into(),
            message: crate::remote_http::error_body::transport_message(e),
        })
}

/// Sends one request through the shared retry loop (`remote_http`); `build` makes each attempt.
pub(crate) async fn send<F>(
    what: &str,
    method: &reqwest::Method,
    path: &str,
    build: F,
) -> Result<crate::remote_http::RawResponse, DataPlaneError>
where
    F: FnMut() -> reqwest::RequestBuilder + Send,
{
    use crate::remote_http::{RequestLog, SendError, retry::RetryPolicy};
    let log = RequestLog {
        service: "Event Grid",
        method,
        path,
    };
    let idempotent = crate::remote_http::retry::is_idempotent(method);
    crate::remote_http::send_simple(&RetryPolicy::default(), idempotent, &log, build)
        .await
        .map_err(|e| DataPlaneError::Transport {
            what: what.to_string(),
            message: match e {
                SendError::Prepare(never) => match never {},
                SendError::OutcomeUnknown { message } => {
                    format!("{message} (the request may have been received)")
                }
                SendError::Transport { message, .. } | SendError::Refused { message } => message,
            },
        })
}

/// The HTTP client and, when `emulator_base` names an emulator, its controls.
pub fn link(
    emulator_base: Option<&str>,
) -> Result<(reqwest::Client, Option<EmulatorControls>), DataPlaneError> {
    let http = http_client()?;
    let controls = emulator_base.map(|b| EmulatorControls::new(http.clone(), b));
    Ok((http, controls))
}

/// The message of an error body (`{"error":{"message":…}}`), else a bounded prefix of the text.
pub(crate) fn error_message(text: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    match value["error"]["message"].as_str() {
        Some(m) => m.to_string(),
        None => text.chars().take(300).collect(),
    }
}

/// RFC 3339 with milliseconds and `Z`, as Event Grid writes times.
pub(crate) fn event_time(now: chrono::DateTime<chrono::Utc>) -> String {
    now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
