//! Router tests (no socket) for Microsoft Graph as an Event Grid partner in the emulator: the
//! partner topic created after the LRO delay (reused for the same application, never taken from
//! another source, left by DELETE), the emit control with Graph's stamped fields, the
//! reauthorization lifecycle event of a near renewal, and Graph subscriptions kept in the state
//! database across a restart (and in a version 1 database, which gains their table).

use std::time::Duration;

use super::graph::*;
use crate::support::router::*;
use axum::http::{Method, StatusCode};
use gridform::emulator::Config;
use serde_json::{Value, json};

fn with_delay(secs: u64) -> Config {
    Config {
        lro_delay: Duration::from_secs(secs),
        ..Config::default()
    }
}

fn topic_path(name: &str) -> String {
    format!("{}?{EG}", eg_path("rg", &format!("partnerTopics/{name}")))
}

/// Activates `name` and subscribes a storage queue (recorded by the built-in sink) to it.
async fn activate_with_queue(h: &Harness, name: &str) {
    let pt = eg_path("rg", &format!("partnerTopics/{name}"));
    let (s, b) = h.post(&format!("{pt}/activate?{EG}"), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let queue = json!({"properties": {"destination": {"endpointType": "StorageQueue", "properties": {"resourceId": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acc"), "queueName": "q"}}}});
    let (s, _, b) = h
        .put(&format!("{pt}/eventSubscriptions/graph?{EG}"), queue)
        .await;
    assert!(s.is_success(), "{b}");
    h.raw(Method::DELETE, "/_emulator/sink", &[], None).await;
}

/// What the sink received, once something arrived (delivery runs on its own task).
async fn sink_events(h: &Harness) -> Vec<Value> {
    for _ in 0..200 {
        let (_, _, b) = h.raw(Method::GET, "/_emulator/sink", &[], None).await;
        let got: Vec<Value> = b["value"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["body"].as_array().cloned().unwrap_or_default())
            .collect();
        if !got.is_empty() {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing was delivered");
}

#[tokio::test]
async fn graph_creates_the_partner_topic_after_the_delay() {
    let h = Harness::with_config(with_delay(30)).await;
    authorized_after(&h, json!({"partnerName": "MicrosoftGraphAPI"}), 30).await;
    let token = graph_token(&h).await;
    let (s, created) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let (s, _) = h.get(&topic_path("t")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not before the delay");
    h.advance(30).await;
    let (s, topic) = h.get(&topic_path("t")).await;
    assert_eq!(s, StatusCode::OK, "{topic}");
    let p = &topic["properties"];
    assert_eq!(p["activationState"], "NeverActivated");
    assert_eq!(p["source"], format!("/tenants/{TENANT}/applications/{APP}"));
    assert_eq!(p["partnerRegistrationImmutableId"], GRAPH_ID);
    assert_eq!(topic["location"], "westus2");
    // A second subscription of the same application reuses it; DELETE leaves it.
    let (s, second) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    for id in [&created["id"], &second["id"]] {
        let uri = format!("{GRAPH}/{}", id.as_str().unwrap());
        let (s, _) = graph(&h, &token, Method::DELETE, &uri, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    h.advance(60).await;
    let (s, _) = h.get(&topic_path("t")).await;
    assert_eq!(s, StatusCode::OK, "DELETE leaves the partner topic");
    // Another application cannot take the topic.
    let other = other_app_token(&h).await;
    let (s, b) = graph(&h, &other, Method::POST, GRAPH, Some(body("t", 24))).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "ExtensionError"),
        "{b}"
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another source")
    );
}

#[tokio::test]
async fn graph_emits_stamped_events_to_activated_partner_topics_only() {
    let h = Harness::new().await;
    authorized(&h, json!({"partnerName": "MicrosoftGraphAPI"})).await;
    let token = graph_token(&h).await;
    let (_, created) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    let id = created["id"].as_str().unwrap().to_string();
    let json_ct = [("content-type", "application/json")];
    let emit = |sub: &str| format!("/_emulator/graph/subscriptions/{sub}/events");
    let event = json!([{"specversion": "1.0", "id": "e1", "source": "x", "type": "Microsoft.Graph.UserUpdated",
        "subject": "Users/u1", "data": {"changeType": "updated", "resource": "Users/u1"}}])
    .to_string();
    let (s, _, b) = h
        .raw(Method::POST, &emit("nope"), &json_ct, Some(event.clone()))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "PartnerPublishRefused")
    );
    let (s, _, _) = h
        .raw(Method::POST, &emit(&id), &json_ct, Some(event.clone()))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "not activated yet");
    activate_with_queue(&h, "t").await;
    let (s, _, b) = h.raw(Method::POST, &emit(&id), &json_ct, Some(event)).await;
    assert_eq!(
        (s, b["deliveries"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{b}"
    );
    let got = sink_events(&h).await;
    assert_eq!(got[0]["type"], "Microsoft.Graph.UserUpdated");
    assert_eq!(
        got[0]["source"],
        format!("/tenants/{TENANT}/applications/{APP}")
    );
    let data = &got[0]["data"];
    assert_eq!(data["subscriptionId"], id.as_str());
    assert_eq!(data["clientState"], "s3cret-state");
    assert_eq!(data["tenantId"], TENANT);
    assert_eq!(
        data["subscriptionExpirationDateTime"],
        created["expirationDateTime"]
    );
    assert_eq!(data["resource"], "Users/u1");
    h.advance(25 * 3600).await;
    let (s, _, _) = h
        .raw(Method::POST, &emit(&id), &json_ct, Some("[]".into()))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "expired");
}

#[tokio::test]
async fn a_near_renewal_sends_reauthorization_required() {
    let h = Harness::new().await;
    authorized(&h, json!({"partnerName": "MicrosoftGraphAPI"})).await;
    let token = graph_token(&h).await;
    let (_, created) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    let one = format!("{GRAPH}/{}", created["id"].as_str().unwrap());
    activate_with_queue(&h, "t").await;
    let near = json!({"expirationDateTime": "2026-01-01T02:00:00Z"});
    let (s, b) = graph(&h, &token, Method::PATCH, &one, Some(near)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let got = sink_events(&h).await;
    assert_eq!(
        got[0]["type"],
        "Microsoft.Graph.SubscriptionReauthorizationRequired"
    );
    assert_eq!(got[0]["data"]["subscriptionId"], created["id"]);
    assert_eq!(got[0]["data"]["lifecycleEvent"], "reauthorizationRequired");
    assert_eq!(
        got[0]["data"]["subscriptionExpirationDateTime"],
        "2026-01-01T02:00:00.0000000Z"
    );
}

#[tokio::test]
async fn graph_subscriptions_survive_a_restart_with_a_state_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        state_file: Some(dir.path().join("state.db")),
        lro_delay: Duration::from_secs(30),
        ..Config::default()
    };
    let h = Harness::with_config(config.clone()).await;
    authorized_after(&h, json!({"partnerName": "MicrosoftGraphAPI"}), 30).await;
    let token = graph_token(&h).await;
    let (_, created) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    let one = format!("{GRAPH}/{}", created["id"].as_str().unwrap());
    h.emu.flush().unwrap();
    drop(h);
    // A new emulator on the same file (its clock starts over at the harness start).
    let h = Harness::with_config(config).await;
    h.advance(30).await;
    let token = graph_token(&h).await;
    let (s, got) = graph(&h, &token, Method::GET, &one, None).await;
    assert_eq!(
        (s, &got["clientState"]),
        (StatusCode::OK, &json!("s3cret-state")),
        "{got}"
    );
    h.advance(31).await;
    let (s, _) = h.get(&topic_path("t")).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the pending partner topic came after the restart"
    );
}

#[tokio::test]
async fn a_version_1_state_database_gains_the_graph_table() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let config = Config {
        state_file: Some(state.clone()),
        ..Config::default()
    };
    let h = Harness::with_config(config.clone()).await;
    h.setup().await;
    h.emu.flush().unwrap();
    drop(h);
    let conn = rusqlite::Connection::open(&state).unwrap();
    conn.execute_batch("DROP TABLE graph_subscriptions; PRAGMA user_version = 1")
        .unwrap();
    drop(conn);
    let h = Harness::with_config(config).await;
    let cfg = eg_path("rg", "partnerConfigurations/default");
    let partners = json!({"properties": {"partnerAuthorization": {"authorizedPartnersList": [{"partnerName": "MicrosoftGraphAPI"}]}}});
    let (s, _, b) = h.put(&format!("{cfg}?{EG}"), partners).await;
    assert_eq!(s, StatusCode::CREATED, "the world was kept: {b}");
    let token = graph_token(&h).await;
    let (s, b) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h.emu.flush().unwrap();
    let conn = rusqlite::Connection::open(&state).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM graph_subscriptions", [], |r| r.get(0))
        .unwrap();
    assert_eq!((version, rows), (2, 1));
}
