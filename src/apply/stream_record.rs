//! Creating and deleting Auth0 log streams together with the record of the streams this stack
//! created (docs/auth0-streams.md): the intent (`creating`) is written on the partner
//! configuration before the stream exists and replaced by the stream's id after, so a crash in
//! between leaves a record the next plan recognises. Record writes merge into the live tags
//! (GET, then PATCH of the whole tag set); the executor never runs two of them on one
//! configuration at once.

use serde_json::{Map, Value, json};

use super::backend::Backend;
use super::executor::Learned;
use super::failure::{Failure, fail};
use crate::model::ResourceId;
use crate::plan::auth0_record::{CREATING, entry_names, record_key};

fn failure(message: String, hint: Option<&str>) -> Failure {
    Failure {
        message,
        hint: hint.map(str::to_string),
        retryable: false,
    }
}

/// The live tags of the record `config`, or `None` when it does not exist.
async fn record_tags<B: Backend>(
    backend: &B,
    config: &ResourceId,
) -> Result<Option<Map<String, Value>>, Failure> {
    let body = backend.get(config).await.map_err(fail)?;
    Ok(body.map(|b| b["tags"].as_object().cloned().unwrap_or_default()))
}

/// Sets the record entry of stream `name` to `value` on `config`.
pub(super) async fn record_stream<B: Backend>(
    backend: &B,
    config: &ResourceId,
    name: &str,
    value: &str,
) -> Result<(), Failure> {
    let Some(mut tags) = record_tags(backend, config).await? else {
        return Err(failure(
            format!(
                "cannot record Auth0 stream `{name}`: partner configuration `{config}` does not exist"
            ),
            Some(
                "gridform records the streams it creates on the partner configuration of their resource group; apply it first",
            ),
        ));
    };
    if tags.get(&record_key(name)).and_then(Value::as_str) == Some(value) {
        return Ok(());
    }
    tags.insert(record_key(name), json!(value));
    backend
        .patch(config, &json!({ "tags": tags }))
        .await
        .map_err(fail)
}

/// Drops the record entry of stream `name` when it still names `stream_id` (or the intent).
pub(super) async fn forget_stream<B: Backend>(
    backend: &B,
    config: &ResourceId,
    name: &str,
    stream_id: &str,
) -> Result<(), Failure> {
    let Some(mut tags) = record_tags(backend, config).await? else {
        return Ok(());
    };
    if !entry_names(tags.get(&record_key(name)), stream_id) {
        return Ok(());
    }
    tags.remove(&record_key(name));
    backend
        .patch(config, &json!({ "tags": tags }))
        .await
        .map_err(fail)
}

/// Creates the stream `body` (intent recorded first, id after). A same-name stream that exists
/// already is taken only when the record names it (a run interrupted after the create).
pub(super) async fn create_recorded_stream<B: Backend>(
    body: &Value,
    record: Option<&ResourceId>,
    backend: &B,
    learned: &Learned,
) -> Result<(), Failure> {
    let name = body["name"].as_str().unwrap_or_default();
    let prior = match record {
        Some(r) => record_tags(backend, r)
            .await?
            .and_then(|t| t.get(&record_key(name)).cloned()),
        None => None,
    };
    if let Some(existing) = backend.auth0_stream(name).await.map_err(fail)? {
        let id = existing["id"].as_str().unwrap_or_default();
        return match record {
            Some(r) if entry_names(prior.as_ref(), id) => record_stream(backend, r, name, id).await,
            _ => Err(failure(
                format!(
                    "an Auth0 log stream named `{name}` (id `{id}`) exists that this stack did not create; not taking it over"
                ),
                Some(
                    "run `gridform plan`: it names the stream's sink; `metadata.adopt: true` takes it over",
                ),
            )),
        };
    }
    if let Some(r) = record {
        record_stream(backend, r, name, CREATING).await?;
    }
    let created = backend.auth0_create(body).await.map_err(fail)?;
    if let (Some(topic), Ok(mut m)) = (
        created
            .pointer("/sink/azurePartnerTopic")
            .and_then(Value::as_str),
        learned.lock(),
    ) {
        m.insert(name.to_string(), topic.to_string());
    }
    match (record, created["id"].as_str()) {
        (Some(r), Some(id)) => record_stream(backend, r, name, id).await,
        _ => Ok(()),
    }
}
