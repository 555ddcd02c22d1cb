//! `session::read_live` with a Microsoft Graph client: ARM from the in-process emulator, Graph
//! from a scripted server. A stack whose partner configuration records Graph subscriptions reads
//! Graph (one list), keeps the subscriptions delivering to its Azure subscription, learns its
//! Graph `source` and counts the Graph request among the refresh's reads.

use std::sync::Arc;

use crate::support::World;
use crate::support::scripted_server::{Resp, fast_options, serve};
use gridform::apply::remote::Remote;
use gridform::arm::connect::connect_with_env;
use gridform::arm::{ArmApi, ConnectSettings, TokenSource};
use gridform::graph::GraphClient;
use gridform::model::ResourceId;
use serde_json::json;

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn notification_url(sub: &str) -> String {
    format!(
        "EventGrid:?azuresubscriptionid={sub}&resourcegroup=identity-events&partnertopic=users&location=westeurope"
    )
}

#[tokio::test]
async fn a_stack_that_recorded_graph_subscriptions_reads_them() {
    let emu = World::start();
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(emu.base_url.clone()),
            options: fast_options(),
            ..Default::default()
        },
        &|_| None,
    )
    .unwrap();
    let repo = crate::support::repo();
    let loaded = gridform::manifest::load(&[repo.join("manifests/auth0-partner")], &|_| None);
    let desired = loaded.state.expect("the reference manifests load");
    assert_eq!(desired.stack.spec.subscription_id, SUB);

    // The stack's partner configuration, carrying a record of a Graph subscription.
    conn.arm
        .register_provider(SUB, "Microsoft.EventGrid")
        .await
        .unwrap();
    let rg = ResourceId::resource_group(SUB, "identity-events");
    conn.arm
        .put(&rg, &json!({"location": "westeurope"}))
        .await
        .unwrap();
    let cfg = ResourceId::parse(&format!(
        "{rg}/providers/Microsoft.EventGrid/partnerConfigurations/default"
    ))
    .unwrap();
    let body = json!({"location": "global", "tags": {"gridform-graph-subscription:users": "g-ours"},
        "properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 7}}});
    conn.arm.put(&cfg, &body).await.unwrap();

    let graph_srv = serve(|_, _| {
        Resp::json(
            200,
            json!({"value": [
                {"id": "g-ours", "resource": "users", "notificationUrl": notification_url(SUB)},
                {"id": "g-other-sub", "resource": "users", "notificationUrl": notification_url("99999999-0000-0000-0000-000000000000")},
                {"id": "g-webhook", "resource": "groups", "notificationUrl": "https://hooks.example.com/graph"},
            ]}),
        )
    })
    .await;
    let graph = GraphClient::new(
        reqwest::Client::new(),
        graph_srv.base.join("v1.0/").unwrap(),
        TokenSource::fixed("graph-token"),
        "https://graph.microsoft.com/.default",
    )
    .with_identity(Some("tenant-1".into()), Some("app-1".into()));
    let remote = Remote {
        arm: conn.arm.clone(),
        auth0: None,
        graph: Some(Arc::new(graph)),
    };
    let live = gridform::session::read_live(&remote, &desired, false)
        .await
        .unwrap();
    assert_eq!(
        live.graph_subscriptions.keys().collect::<Vec<_>>(),
        vec!["g-ours"]
    );
    assert_eq!(
        live.graph_source.as_deref(),
        Some("/tenants/tenant-1/applications/app-1")
    );
    assert_eq!(graph_srv.requests().len(), 1);

    // Without the record (and no Graph document) Graph is not asked at all.
    let untagged = json!({"location": "global",
        "properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 7}}});
    conn.arm.put(&cfg, &untagged).await.unwrap();
    let before = live.requests.reads;
    let live = gridform::session::read_live(&remote, &desired, false)
        .await
        .unwrap();
    assert!(live.graph_subscriptions.is_empty() && live.graph_source.is_none());
    assert_eq!(graph_srv.requests().len(), 1);
    assert_eq!(
        live.requests.reads + 1,
        before,
        "the Graph list counted as a read"
    );
    emu.shutdown().unwrap();
}
