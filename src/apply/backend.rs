//! What the executor needs from the outside world: ARM and Auth0 operations, already retried and
//! paced by the clients. `remote::Remote` implements it over `arm` and `auth0`; unit tests use
//! `crate::fake_azure::FakeAzure`. It must not hold logic of its own.

use std::future::Future;

use serde_json::Value;

use crate::model::ResourceId;

/// `BackendError::code` of a wait the stop signal interrupted (a long-running operation's
/// polling): the operation may still complete remotely.
pub const INTERRUPTED: &str = "gridform.Interrupted";

/// A failed remote operation, as the executor reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    /// What failed, with method, resource, status, error code and request id when known.
    pub message: String,
    /// The service's error code (`InvalidRequest`, `MissingSubscriptionRegistration`, ...).
    pub code: Option<String>,
    /// A transient failure (5xx or 429 after the client's retries, a failed or timed-out
    /// long-running operation, a dropped connection): the whole action may be tried again.
    pub retryable: bool,
}

impl BackendError {
    /// A permanent error without a code.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: None,
            retryable: false,
        }
    }
}

/// Result of a backend call.
pub type BackendResult<T> = Result<T, BackendError>;

/// Remote operations the executor performs. Every method must be safe to call again after a
/// failure or interruption (the client re-reads before retrying a non-idempotent request).
pub trait Backend: Send + Sync + 'static {
    /// `registrationState` of a provider namespace.
    fn provider_state(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> impl Future<Output = BackendResult<String>> + Send;
    /// POST `…/providers/{namespace}/register`.
    fn register_provider(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> impl Future<Output = BackendResult<()>> + Send;
    /// GET; `None` on 404.
    fn get(&self, id: &ResourceId) -> impl Future<Output = BackendResult<Option<Value>>> + Send;
    /// PUT and wait for the long-running operation.
    fn put(
        &self,
        id: &ResourceId,
        body: &Value,
    ) -> impl Future<Output = BackendResult<Value>> + Send;
    /// PATCH and wait for the long-running operation.
    fn patch(
        &self,
        id: &ResourceId,
        body: &Value,
    ) -> impl Future<Output = BackendResult<()>> + Send;
    /// DELETE and wait; a missing resource is success.
    fn delete(&self, id: &ResourceId) -> impl Future<Output = BackendResult<()>> + Send;
    /// POST `{id}/{action}` (e.g. `activate`).
    fn post_action(
        &self,
        id: &ResourceId,
        action: &str,
    ) -> impl Future<Output = BackendResult<Value>> + Send;
    /// The Auth0 log stream called `name`, if any.
    fn auth0_stream(&self, name: &str)
    -> impl Future<Output = BackendResult<Option<Value>>> + Send;
    /// Creates an Auth0 log stream.
    fn auth0_create(&self, body: &Value) -> impl Future<Output = BackendResult<Value>> + Send;
    /// Patches an Auth0 log stream.
    fn auth0_patch(
        &self,
        stream_id: &str,
        body: &Value,
    ) -> impl Future<Output = BackendResult<()>> + Send;
    /// Deletes an Auth0 log stream; a missing one is success.
    fn auth0_delete(&self, stream_id: &str) -> impl Future<Output = BackendResult<()>> + Send;
    /// Microsoft Graph: `POST /subscriptions`; returns the created subscription (with its `id`
    /// and the `expirationDateTime` Graph granted).
    fn graph_create(&self, body: &Value) -> impl Future<Output = BackendResult<Value>> + Send;
    /// Microsoft Graph: `GET /subscriptions/{id}`; `None` on 404.
    fn graph_get(&self, id: &str) -> impl Future<Output = BackendResult<Option<Value>>> + Send;
    /// Microsoft Graph: `PATCH /subscriptions/{id}` (renewal: `expirationDateTime`); returns the
    /// subscription as Graph answers it (the expiry granted may differ from the one asked).
    fn graph_patch(
        &self,
        id: &str,
        body: &Value,
    ) -> impl Future<Output = BackendResult<Value>> + Send;
    /// Microsoft Graph: `DELETE /subscriptions/{id}`; a missing one is success.
    fn graph_delete(&self, id: &str) -> impl Future<Output = BackendResult<()>> + Send;
}
