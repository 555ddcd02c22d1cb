//! The real `Backend`: ARM through `arm::ArmClient`, Auth0 through `auth0::Auth0Client`,
//! Microsoft Graph through `graph::GraphClient`.
//!
//! Only adapts shapes and errors; retries, pacing and long-running operations are the clients'.

use serde_json::Value;

use super::backend::{Backend, BackendError, BackendResult};
use crate::arm::{ArmApi, ArmClient, ArmError};
use crate::auth0::types::{EventGridSink, LogStreamFilter, LogStreamPatch, NewEventGridStream};
use crate::auth0::{Auth0ApiError, Auth0Client};
use crate::graph::{GraphApiError, GraphClient};
use crate::model::ResourceId;

/// ARM, Auth0 (when the manifests have Auth0 streams) and Microsoft Graph (when they have
/// Graph subscriptions).
#[derive(Clone)]
pub struct Remote {
    /// The ARM client.
    pub arm: ArmClient,
    /// The Auth0 client.
    pub auth0: Option<std::sync::Arc<Auth0Client>>,
    /// The Microsoft Graph client.
    pub graph: Option<std::sync::Arc<GraphClient>>,
}

fn arm_err(e: ArmError) -> BackendError {
    let code = if e.is_interrupted() {
        Some(super::backend::INTERRUPTED.to_string())
    } else {
        e.code().map(str::to_string)
    };
    BackendError {
        code,
        message: e.to_string(),
        retryable: e.is_transient(),
    }
}

fn auth0_err(e: Auth0ApiError) -> BackendError {
    BackendError {
        message: e.to_string(),
        code: None,
        retryable: e.is_transient(),
    }
}

fn graph_err(e: GraphApiError) -> BackendError {
    BackendError {
        code: e.code().map(str::to_string),
        retryable: e.is_transient(),
        message: e.to_string(),
    }
}

impl Remote {
    fn graph(&self) -> BackendResult<&GraphClient> {
        self.graph.as_deref().ok_or_else(|| {
            BackendError::new(
                "no Microsoft Graph client: the session connects one when the manifests declare a GraphSubscription",
            )
        })
    }

    fn auth0(&self) -> BackendResult<&Auth0Client> {
        self.auth0.as_deref().ok_or_else(|| {
            BackendError::new(
                "no Auth0 client: set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET",
            )
        })
    }
}

fn filters(body: &Value) -> Option<Vec<LogStreamFilter>> {
    body.get("filters")
        .and_then(|f| serde_json::from_value(f.clone()).ok())
}

impl Backend for Remote {
    async fn provider_state(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> BackendResult<String> {
        self.arm
            .get_provider(subscription_id, namespace)
            .await
            .map(|p| p.registration_state)
            .map_err(arm_err)
    }

    async fn register_provider(&self, subscription_id: &str, namespace: &str) -> BackendResult<()> {
        self.arm
            .register_provider(subscription_id, namespace)
            .await
            .map(|_| ())
            .map_err(arm_err)
    }

    async fn get(&self, id: &ResourceId) -> BackendResult<Option<Value>> {
        self.arm
            .get(id)
            .await
            .map(|o| o.map(|o| o.body))
            .map_err(arm_err)
    }

    async fn put(&self, id: &ResourceId, body: &Value) -> BackendResult<Value> {
        self.arm
            .put(id, body)
            .await
            .map(|o| o.body)
            .map_err(arm_err)
    }

    async fn patch(&self, id: &ResourceId, body: &Value) -> BackendResult<()> {
        self.arm.patch(id, body).await.map(|_| ()).map_err(arm_err)
    }

    async fn delete(&self, id: &ResourceId) -> BackendResult<()> {
        self.arm.delete(id).await.map(|_| ()).map_err(arm_err)
    }

    async fn post_action(&self, id: &ResourceId, action: &str) -> BackendResult<Value> {
        self.arm
            .post_action(id, action, None)
            .await
            .map(|b| b.unwrap_or(Value::Null))
            .map_err(arm_err)
    }

    async fn auth0_stream(&self, name: &str) -> BackendResult<Option<Value>> {
        let found = self
            .auth0()?
            .find_log_stream(name)
            .await
            .map_err(auth0_err)?;
        Ok(found.and_then(|s| serde_json::to_value(s).ok()))
    }

    async fn auth0_create(&self, body: &Value) -> BackendResult<Value> {
        let sink: EventGridSink = serde_json::from_value(body["sink"].clone())
            .map_err(|e| BackendError::new(format!("invalid Auth0 sink: {e}")))?;
        let new = NewEventGridStream {
            name: body["name"].as_str().unwrap_or_default().to_string(),
            sink,
            filters: filters(body),
            is_priority: body.get("isPriority").and_then(Value::as_bool),
        };
        let client = self.auth0()?;
        let created = client
            .create_eventgrid_stream(&new)
            .await
            .map_err(auth0_err)?;
        // Auth0 creates streams active; a desired `paused` is one PATCH away.
        if body["status"].as_str() == Some("paused") {
            let patch = LogStreamPatch {
                status: Some("paused".into()),
                ..Default::default()
            };
            client
                .patch_log_stream(&created.id, &patch)
                .await
                .map_err(auth0_err)?;
        }
        serde_json::to_value(created).map_err(|e| BackendError::new(e.to_string()))
    }

    async fn auth0_patch(&self, stream_id: &str, body: &Value) -> BackendResult<()> {
        let patch = LogStreamPatch {
            status: body
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_string),
            filters: filters(body),
            is_priority: body.get("isPriority").and_then(Value::as_bool),
            ..Default::default()
        };
        self.auth0()?
            .patch_log_stream(stream_id, &patch)
            .await
            .map(|_| ())
            .map_err(auth0_err)
    }

    async fn auth0_delete(&self, stream_id: &str) -> BackendResult<()> {
        self.auth0()?
            .delete_log_stream(stream_id)
            .await
            .map(|_| ())
            .map_err(auth0_err)
    }

    async fn graph_create(&self, body: &Value) -> BackendResult<Value> {
        self.graph()?
            .create_subscription(body)
            .await
            .map_err(graph_err)
    }

    async fn graph_get(&self, id: &str) -> BackendResult<Option<Value>> {
        self.graph()?.get_subscription(id).await.map_err(graph_err)
    }

    async fn graph_patch(&self, id: &str, body: &Value) -> BackendResult<Value> {
        self.graph()?
            .update_subscription(id, body)
            .await
            .map_err(graph_err)
    }

    async fn graph_delete(&self, id: &str) -> BackendResult<()> {
        self.graph()?
            .delete_subscription(id)
            .await
            .map(|_| ())
            .map_err(graph_err)
    }
}
