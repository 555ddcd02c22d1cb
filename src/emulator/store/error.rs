//! `StoreError`: why a store operation failed, in ARM terms (error code and message) but without
//! HTTP. `emulator::error` maps it to a status; the store must not know statuses.

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
