//! Router tests (no socket) for semantics the Azure CLI and the JavaScript SDK exposed: the
//! delivery schemas a CloudEvents-input topic and a partner topic allow, a PATCH that sends the
//! masked secret back, events emitted through the controls checked and stamped like published
//! ones, and partner configuration writes as long-running operations.

use crate::support::router::*;
use axum::http::{Method, StatusCode};
use gridform::emulator::Config;
use serde_json::{Value, json};

fn queue(schema: Option<&str>) -> Value {
    let account = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acc"
    );
    let mut body = json!({"properties": {"destination": {"endpointType": "StorageQueue",
        "properties": {"resourceId": account, "queueName": "q"}}}});
    if let Some(s) = schema {
        body["properties"]["eventDeliverySchema"] = json!(s);
    }
    body
}

#[tokio::test]
async fn cloud_events_topics_and_partner_topics_deliver_cloud_events_only() {
    let h = Harness::new().await;
    h.setup().await;
    let ce = eg_path("rg", "topics/ce-input");
    let body =
        json!({"location": "westus2", "properties": {"inputSchema": "CloudEventSchemaV1_0"}});
    let (s, _, b) = h.put(&format!("{ce}?{EG}"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let pt = eg_path("rg", "partnerTopics/partner");
    let (s, _, b) = h
        .put(
            &format!("{pt}?{EG}"),
            json!({"location": "westus2", "properties": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for parent in [&ce, &pt] {
        let (s, _, b) = h
            .put(
                &format!("{parent}/eventSubscriptions/event-grid?{EG}"),
                queue(Some("EventGridSchema")),
            )
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("InvalidRequest")),
            "{parent}: {b}"
        );
        let (s, _, b) = h
            .put(
                &format!("{parent}/eventSubscriptions/omitted?{EG}"),
                queue(None),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{parent}: {b}");
        assert_eq!(
            b["properties"]["eventDeliverySchema"],
            "CloudEventSchemaV1_0"
        );
    }
    // An Event Grid schema topic still defaults to the Event Grid schema.
    let eg = eg_path("rg", "topics/plain");
    h.put(&format!("{eg}?{EG}"), json!({"location": "westus2"}))
        .await;
    let (s, _, b) = h
        .put(
            &format!("{eg}/eventSubscriptions/omitted?{EG}"),
            queue(None),
        )
        .await;
    assert_eq!(
        (s, b["properties"]["eventDeliverySchema"].as_str()),
        (StatusCode::CREATED, Some("EventGridSchema")),
        "{b}"
    );
}

#[tokio::test]
async fn a_patch_that_sends_the_masked_secret_back_keeps_the_secret() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    h.put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    let sub = format!("{topic}/eventSubscriptions/with-secret");
    let mut body = queue(None);
    body["properties"]["destination"]["properties"]["deliveryAttributeMappings"] = json!([
        {"name": "X-Token", "type": "Static", "properties": {"value": "s3cret", "isSecret": true}}]);
    let (s, _, b) = h.put(&format!("{sub}?{EG}"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // What `az eventgrid event-subscription update` sends: the destination as GET showed it.
    let shown = b["properties"]["destination"].clone();
    assert_eq!(
        shown["properties"]["deliveryAttributeMappings"][0]["properties"]["value"],
        "Hidden"
    );
    let (s, _, b) = h
        .call(
            Method::PATCH,
            &format!("{sub}?{EG}"),
            Some(json!({"destination": shown, "labels": ["x"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = h
        .post(&format!("{sub}/getDeliveryAttributes?{EG}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["value"][0]["properties"]["value"], "s3cret", "{b}");
}

#[tokio::test]
async fn events_emitted_through_the_controls_are_checked_and_stamped() {
    let h = Harness::new().await;
    h.setup().await;
    let source = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.SignalRService/SignalR/chat"
    );
    let st = eg_path("rg", "systemTopics/chat");
    let body = json!({"location": "westus2", "properties": {"source": source, "topicType": "Microsoft.SignalRService.SignalR"}});
    let (s, _, b) = h.put(&format!("{st}?{EG}"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _, b) = h
        .put(&format!("{st}/eventSubscriptions/queue?{EG}"), queue(None))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let ct = [("content-type", "application/json")];
    let emit = |events: Value| json!({"source": source, "events": events}).to_string();
    let event = json!({"id": "1", "subject": "/hub/chat", "eventType": "Microsoft.SignalRService.ClientConnectionConnected", "eventTime": "2026-01-01T00:00:00Z", "data": {}});
    let mut no_subject = event.clone();
    no_subject.as_object_mut().map(|o| o.remove("subject"));
    let mut other_topic = event.clone();
    other_topic["topic"] = json!("/subscriptions/other");
    for bad in [no_subject, other_topic] {
        let (s, _, b) = h
            .raw(
                Method::POST,
                "/_emulator/system-topics/events",
                &ct,
                Some(emit(json!([bad]))),
            )
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("SystemPublishRefused")),
            "{b}"
        );
    }
    h.raw(Method::DELETE, "/_emulator/sink", &[], None).await;
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/_emulator/system-topics/events",
            &ct,
            Some(emit(json!([event]))),
        )
        .await;
    assert_eq!(
        (s, b["deliveries"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{b}"
    );
    let mut got = Value::Null;
    for _ in 0..200 {
        let (_, _, b) = h.raw(Method::GET, "/_emulator/sink", &[], None).await;
        if b["value"].as_array().is_some_and(|v| !v.is_empty()) {
            got = b["value"][0]["body"][0].clone();
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(got["topic"], json!(source), "{got}");
    assert_eq!(got["metadataVersion"], "1", "{got}");
}

#[tokio::test]
async fn partner_configuration_writes_are_long_running() {
    let h = Harness::with_config(Config {
        lro_delay: std::time::Duration::from_secs(5),
        ..Config::default()
    })
    .await;
    h.setup().await;
    h.advance(10).await;
    let cfg = eg_path("rg", "partnerConfigurations/default");
    let body = json!({"properties": {"partnerAuthorization": {"authorizedPartnersList": []}}});
    let (s, headers, b) = h.put(&format!("{cfg}?{EG}"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["properties"]["provisioningState"], "Creating");
    let status_url = headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    let path = status_url
        .split_once("://")
        .and_then(|(_, r)| r.find('/').map(|i| r[i..].to_string()))
        .unwrap();
    let (_, b) = h.get(&path).await;
    assert_eq!(b["status"], "InProgress", "{b}");
    h.advance(10).await;
    let (_, b) = h.get(&path).await;
    assert_eq!(b["status"], "Succeeded", "{b}");
    let (s, headers, b) = h
        .call(
            Method::PATCH,
            &format!("{cfg}?{EG}"),
            Some(json!({"tags": {"k": "v"}})),
        )
        .await;
    assert_eq!(
        (s, b["properties"]["provisioningState"].as_str()),
        (StatusCode::OK, Some("Updating")),
        "{b}"
    );
    assert!(headers.contains_key("azure-asyncoperation"));
    h.advance(10).await;
    let (_, b) = h.get(&format!("{cfg}?{EG}")).await;
    assert_eq!(
        (
            b["properties"]["provisioningState"].as_str(),
            b["tags"]["k"].as_str()
        ),
        (Some("Succeeded"), Some("v"))
    );
}
