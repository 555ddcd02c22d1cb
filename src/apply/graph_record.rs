//! Creating, replacing and deleting Microsoft Graph subscriptions together with the record of
//! the ones this stack created (docs/graph-partner.md): the intent (`creating`) is written under
//! the `GraphSubscription` handle on the partner configuration before the create and replaced by
//! the Graph id after, so a crash in between leaves a record the next plan recognises. Record
//! writes merge into the live tags (GET, then PATCH of the whole tag set); the executor never
//! runs two of them on one configuration at once. Bodies hold `clientState`: no message here
//! quotes one.

use serde_json::{Map, Value, json};

use super::backend::Backend;
use super::failure::{Failure, fail};
use crate::model::ResourceId;
use crate::plan::graph_record::{CREATING, RECORD_PREFIX, record_key};

fn failure(message: String, hint: Option<&str>) -> Failure {
    Failure {
        message,
        hint: hint.map(str::to_string),
        retryable: false,
    }
}

async fn tags_of<B: Backend>(
    backend: &B,
    config: &ResourceId,
) -> Result<Option<Map<String, Value>>, Failure> {
    let body = backend.get(config).await.map_err(fail)?;
    Ok(body.map(|b| b["tags"].as_object().cloned().unwrap_or_default()))
}

/// Sets the record entry of handle `handle` to `value` on `config`.
async fn record_graph<B: Backend>(
    backend: &B,
    config: &ResourceId,
    handle: &str,
    value: &str,
) -> Result<(), Failure> {
    let Some(mut tags) = tags_of(backend, config).await? else {
        return Err(failure(
            format!(
                "cannot record Graph subscription `{handle}`: partner configuration `{config}` does not exist"
            ),
            Some(
                "gridform records the Graph subscriptions it creates on the partner configuration of their resource group; apply it first",
            ),
        ));
    };
    let key = record_key(handle);
    if tags.get(&key).and_then(Value::as_str) == Some(value) {
        return Ok(());
    }
    tags.insert(key, json!(value));
    backend
        .patch(config, &json!({ "tags": tags }))
        .await
        .map_err(fail)
}

/// Drops every Graph record entry naming `graph_id` from `config`.
async fn forget_graph<B: Backend>(
    backend: &B,
    config: &ResourceId,
    graph_id: &str,
) -> Result<(), Failure> {
    let Some(mut tags) = tags_of(backend, config).await? else {
        return Ok(());
    };
    let before = tags.len();
    tags.retain(|k, v| !(k.starts_with(RECORD_PREFIX) && v.as_str() == Some(graph_id)));
    if tags.len() == before {
        return Ok(());
    }
    backend
        .patch(config, &json!({ "tags": tags }))
        .await
        .map_err(fail)
}

/// Creates the Graph subscription `body` for handle `handle`: intent recorded first, id after.
pub(super) async fn create_recorded_graph<B: Backend>(
    handle: &str,
    body: &Value,
    record: Option<&ResourceId>,
    backend: &B,
) -> Result<(), Failure> {
    if let Some(r) = record {
        record_graph(backend, r, handle, CREATING).await?;
    }
    let created = backend.graph_create(body).await.map_err(fail)?;
    let Some(id) = created["id"].as_str() else {
        return Err(failure(
            format!("Microsoft Graph created subscription `{handle}` but answered without an id"),
            Some(
                "run `gridform plan`: the record's `creating` entry makes it find the subscription by its partner topic",
            ),
        ));
    };
    match record {
        Some(r) => record_graph(backend, r, handle, id).await,
        None => Ok(()),
    }
}

/// Deletes `graph_id` and creates `body` in its place; the intent is recorded before the
/// delete, so a crash in between still finds the old one (or none) as this stack's.
pub(super) async fn replace_recorded_graph<B: Backend>(
    handle: &str,
    graph_id: &str,
    body: &Value,
    record: Option<&ResourceId>,
    backend: &B,
) -> Result<(), Failure> {
    if let Some(r) = record {
        record_graph(backend, r, handle, CREATING).await?;
    }
    backend.graph_delete(graph_id).await.map_err(fail)?;
    create_recorded_graph(handle, body, record, backend).await
}

/// Deletes `graph_id` (a missing one is success), then its record entry.
pub(super) async fn delete_recorded_graph<B: Backend>(
    graph_id: &str,
    record: Option<&ResourceId>,
    backend: &B,
) -> Result<(), Failure> {
    backend.graph_delete(graph_id).await.map_err(fail)?;
    match record {
        Some(r) => forget_graph(backend, r, graph_id).await,
        None => Ok(()),
    }
}
