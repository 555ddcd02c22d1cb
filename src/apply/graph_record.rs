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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::{TimeZone, Utc};
    use serde_json::Value;
    use tokio::sync::watch;

    use crate::apply::{ApplyEvent, ApplyOptions, ApplyReport, execute};
    use crate::fake_azure::FakeAzure;
    use crate::model::DesiredState;
    use crate::model::live::LiveState;
    use crate::plan::graph_record::{CREATING, record_id, record_key};
    use crate::plan::{ActionKind, Plan, PlanOptions, plan};

    const SOURCE: &str = "/tenants/t-1/applications/app-1";
    const SUB: &str = "00000000-0000-0000-0000-000000000000";
    const CLIENT_STATE: &str = "local-dev-client-state";

    fn opts() -> PlanOptions {
        PlanOptions {
            now: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
            salt: "s4lt".into(),
            refresh_secrets: false,
            force_replace: vec![],
        }
    }

    fn reference() -> DesiredState {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/graph-partner");
        crate::manifest::load(&[root], &|_| None).state.unwrap()
    }

    fn fake(graph_refuses: bool) -> Arc<FakeAzure> {
        let f = FakeAzure {
            source: SOURCE.into(),
            graph_refuses,
            ..Default::default()
        };
        f.live.lock().unwrap().graph_source = Some(SOURCE.into());
        Arc::new(f)
    }

    fn live_of(fake: &FakeAzure) -> LiveState {
        let mut live = fake.live.lock().unwrap().clone();
        live.listed_groups = vec!["entra-events".into()];
        live
    }

    async fn run(p: &Plan, fake: Arc<FakeAzure>) -> (ApplyReport, Vec<ApplyEvent>) {
        let o = ApplyOptions {
            parallelism: 10,
            poll_interval: Duration::from_millis(1),
            provider_timeout: Duration::from_secs(1),
            attempts: 1,
        };
        let (_tx, rx) = watch::channel(false);
        let mut events = Vec::new();
        let report = execute(p, fake, &o, rx, |e| events.push(e.clone())).await;
        (report, events)
    }

    fn recorded(fake: &FakeAzure, handle: &str) -> Option<Value> {
        let live = fake.live.lock().unwrap();
        live.resources[&record_id(SUB, "entra-events")]["tags"]
            .get(record_key(handle))
            .cloned()
    }

    #[tokio::test]
    async fn the_reference_converges_with_each_subscription_recorded_by_id() {
        let d = reference();
        let fake = fake(false);
        let (report, _) = run(&plan(&d, &live_of(&fake), &opts()), fake.clone()).await;
        assert!(report.succeeded(), "{report:?}");
        let live = live_of(&fake);
        assert_eq!(live.graph_subscriptions.len(), 2);
        for handle in ["entra-users", "entra-groups"] {
            let id = recorded(&fake, handle).unwrap();
            assert!(
                live.graph_subscriptions.contains_key(id.as_str().unwrap()),
                "{handle}"
            );
        }
        let again = plan(&d, &live, &opts());
        assert!(
            again.errors.is_empty() && again.actions.is_empty(),
            "{again:#?}"
        );
    }

    #[tokio::test]
    async fn a_refused_create_leaves_the_intent_and_the_next_apply_converges() {
        let d = reference();
        let refusing = fake(true);
        let (report, events) = run(&plan(&d, &live_of(&refusing), &opts()), refusing.clone()).await;
        assert!(!report.succeeded());
        assert_eq!(recorded(&refusing, "entra-users"), Some(CREATING.into()));
        assert!(refusing.live.lock().unwrap().graph_subscriptions.is_empty());
        assert!(!format!("{report:?}{events:?}").contains(CLIENT_STATE));
        // The same world, Graph willing now: the intent is kept and the create goes ahead.
        let fake = fake(false);
        *fake.live.lock().unwrap() = live_of(&refusing);
        let p = plan(&d, &live_of(&fake), &opts());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let (report, _) = run(&p, fake.clone()).await;
        assert!(report.succeeded(), "{report:?}");
        assert!(plan(&d, &live_of(&fake), &opts()).actions.is_empty());
    }

    #[tokio::test]
    async fn a_replace_records_the_new_id_and_a_removed_document_is_deleted_and_forgotten() {
        let mut d = reference();
        let fake = fake(false);
        run(&plan(&d, &live_of(&fake), &opts()), fake.clone()).await;
        let old = recorded(&fake, "entra-users").unwrap();
        for r in &mut d.resources {
            if let crate::model::ResourceSpec::GraphSubscription(s) = &mut r.spec {
                s.resource = format!("{}/delta", s.resource);
            }
        }
        let p = plan(&d, &live_of(&fake), &opts());
        assert!(p.actions.iter().any(|a| a.kind == ActionKind::Replace));
        let (report, _) = run(&p, fake.clone()).await;
        assert!(report.succeeded(), "{report:?}");
        let new = recorded(&fake, "entra-users").unwrap();
        assert_ne!(old, new);
        assert!(
            !live_of(&fake)
                .graph_subscriptions
                .contains_key(old.as_str().unwrap())
        );

        d.resources
            .retain(|r| !r.name.contains("users") && r.name != "user-changes");
        let p = plan(&d, &live_of(&fake), &opts());
        let (report, _) = run(&p, fake.clone()).await;
        assert!(report.succeeded(), "{report:?}");
        assert_eq!(recorded(&fake, "entra-users"), None);
        assert_eq!(live_of(&fake).graph_subscriptions.len(), 1);
        assert!(plan(&d, &live_of(&fake), &opts()).actions.is_empty());
    }
}
