//! Router tests (no socket): what Azure refuses, the emulator refuses, with Azure's status and
//! error code — one table per surface (top-level resources, event subscriptions, tokens), each
//! row a request body that differs from an accepted one in the one field that is wrong.

use crate::support::router::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn code(body: &Value) -> String {
    body["error"]["code"]
        .as_str()
        .or_else(|| body["error"].as_str())
        .unwrap_or("<no error code>")
        .to_string()
}

fn signalr() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.SignalRService/SignalR/chat"
    )
}

fn storage_account() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/deadletters"
    )
}

/// `base` with `edit` applied (a JSON merge of one path).
fn with(base: &Value, pointer: &str, value: Value) -> Value {
    let mut v = base.clone();
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if let Some(target) = v.pointer_mut(parent) {
        target[last] = value;
    }
    v
}

#[tokio::test]
async fn top_level_writes_azure_refuses_are_refused() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = json!({"location": "westus2", "properties": {"inboundIpRules": [{"ipMask": "10.0.0.0/8", "action": "Allow"}]}});
    let tags: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let system = json!({"location": "westus2", "properties": {"source": signalr(), "topicType": "Microsoft.SignalRService.SignalR"}});
    let rows: Vec<(&str, &str, Value, u16, &str)> = vec![
        ("accepted topic", "topics/t-ok", topic.clone(), 201, ""),
        (
            "unknown location",
            "topics/t1",
            with(&topic, "/location", json!("mars")),
            400,
            "LocationNotAvailableForResourceType",
        ),
        (
            "deny rule",
            "topics/t2",
            with(&topic, "/properties/inboundIpRules/0/action", json!("Deny")),
            400,
            "InvalidRequest",
        ),
        (
            "bad mask",
            "topics/t3",
            with(
                &topic,
                "/properties/inboundIpRules/0/ipMask",
                json!("not-an-ip"),
            ),
            400,
            "InvalidRequest",
        ),
        (
            "51 tags",
            "topics/t4",
            with(&topic, "/tags", Value::Object(tags)),
            400,
            "InvalidRequest",
        ),
        (
            "provisioningState sent",
            "topics/t5",
            with(&topic, "/properties/provisioningState", json!("Succeeded")),
            400,
            "InvalidRequest",
        ),
        (
            "accepted system topic",
            "systemTopics/st-ok",
            system.clone(),
            201,
            "",
        ),
        (
            "topic type of another source",
            "systemTopics/st1",
            with(
                &with(&system, "/properties/source", json!(storage_account())),
                "/properties/topicType",
                json!("Microsoft.SignalRService.SignalR"),
            ),
            400,
            "InvalidRequest",
        ),
    ];
    for (what, path, body, status, want) in rows {
        let (s, _, b) = h.put(&format!("{}?{EG}", eg_path("rg", path)), body).await;
        assert_eq!(s.as_u16(), status, "{what}: {b}");
        if !want.is_empty() {
            assert_eq!(code(&b), want, "{what}: {b}");
            assert!(
                b["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{what}"
            );
        }
    }
    let (s, _, b) = h
        .put(
            &format!("{}?{RS}", rg_path("rg-mars")),
            json!({"location": "mars"}),
        )
        .await;
    assert_eq!(
        (s, code(&b).as_str()),
        (
            StatusCode::BAD_REQUEST,
            "LocationNotAvailableForResourceGroup"
        ),
        "{b}"
    );
}

#[tokio::test]
async fn event_subscription_bodies_azure_refuses_are_refused() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    let (s, _, b) = h
        .put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let queue = json!({"properties": {
        "destination": {"endpointType": "StorageQueue", "properties": {
            "resourceId": storage_account(), "queueName": "q", "queueMessageTimeToLiveInSeconds": 300}},
        "filter": {"advancedFilters": [{"operatorType": "StringIn", "key": "subject", "values": ["a"]}]},
        "deadLetterDestination": {"endpointType": "StorageBlob", "properties": {"resourceId": storage_account(), "blobContainerName": "dead"}}}});
    let hook = with(
        &queue,
        "/properties/destination",
        json!({"endpointType": "WebHook", "properties": {"endpointUrl": "https://hooks.example.com/x"}}),
    );
    let values: Vec<String> = (0..26).map(|i| format!("v{i}")).collect();
    let attributes: Vec<Value> = (0..11)
        .map(|i| json!({"name": format!("h{i}"), "type": "Static", "properties": {"value": "v", "isSecret": false}}))
        .collect();
    let filter = "/properties/filter/advancedFilters/0";
    let rows: Vec<(&str, Value, u16, &str)> = vec![
        ("accepted", queue.clone(), 201, ""),
        (
            "26 filter values",
            with(&queue, &format!("{filter}/values"), json!(values)),
            400,
            "InvalidRequest",
        ),
        (
            "513-character value",
            with(
                &queue,
                &format!("{filter}/values"),
                json!(["x".repeat(513)]),
            ),
            400,
            "InvalidRequest",
        ),
        (
            "StringMatches",
            with(
                &queue,
                &format!("{filter}/operatorType"),
                json!("StringMatches"),
            ),
            400,
            "InvalidRequest",
        ),
        (
            "NumberIn with strings",
            with(&queue, &format!("{filter}/operatorType"), json!("NumberIn")),
            400,
            "InvalidRequestContent",
        ),
        (
            "maxEventsPerBatch 5001",
            with(
                &hook,
                "/properties/destination/properties/maxEventsPerBatch",
                json!(5001),
            ),
            400,
            "InvalidRequest",
        ),
        (
            "preferredBatchSizeInKilobytes 1025",
            with(
                &hook,
                "/properties/destination/properties/preferredBatchSizeInKilobytes",
                json!(1025),
            ),
            400,
            "InvalidRequest",
        ),
        (
            "11 delivery attributes",
            with(
                &hook,
                "/properties/destination/properties/deliveryAttributeMappings",
                json!(attributes),
            ),
            400,
            "InvalidRequest",
        ),
        (
            "dead letter not a storage account",
            with(
                &queue,
                "/properties/deadLetterDestination/properties/resourceId",
                json!(topic.clone()),
            ),
            400,
            "InvalidRequest",
        ),
        (
            "dead letter without container",
            with(
                &queue,
                "/properties/deadLetterDestination/properties/blobContainerName",
                Value::Null,
            ),
            400,
            "InvalidRequest",
        ),
        (
            "MonitorAlert without severity",
            with(
                &queue,
                "/properties/destination",
                json!({"endpointType": "MonitorAlert", "properties": {"actionGroups": []}}),
            ),
            400,
            "InvalidRequest",
        ),
        (
            "StorageQueue TTL 0",
            with(
                &queue,
                "/properties/destination/properties/queueMessageTimeToLiveInSeconds",
                json!(0),
            ),
            400,
            "InvalidRequest",
        ),
    ];
    for (i, (what, body, status, want)) in rows.into_iter().enumerate() {
        let uri = format!("{topic}/eventSubscriptions/sub{i}?{EG}");
        let (s, _, b) = h.put(&uri, body).await;
        assert_eq!(s.as_u16(), status, "{what}: {b}");
        if !want.is_empty() {
            assert_eq!(code(&b), want, "{what}: {b}");
        }
    }
    // A PATCH is checked like a PUT, with its fields at the top level.
    let (s, _, b) = h
        .call(
            Method::PATCH,
            &format!("{topic}/eventSubscriptions/sub0?{EG}"),
            Some(json!({"destination": {"endpointType": "StorageQueue", "properties": {"resourceId": storage_account(), "queueName": "q", "queueMessageTimeToLiveInSeconds": 0}}})),
        )
        .await;
    assert_eq!(
        (s, code(&b).as_str()),
        (StatusCode::BAD_REQUEST, "InvalidRequest"),
        "{b}"
    );
}

async fn token(h: &Harness, scope: &str) -> (StatusCode, Value) {
    let form = format!(
        "grant_type=client_credentials&client_id=app&client_secret=s3cret&scope={}",
        url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>()
    );
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/tenant-1/oauth2/v2.0/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form),
        )
        .await;
    (s, b)
}

#[tokio::test]
async fn tokens_azure_refuses_are_refused() {
    let h = Harness::new().await;
    let (s, b) = token(&h, "https://management.azure.com").await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope")),
        "{b}"
    );
    let (s, b) = token(&h, "https://management.core.windows.net//.default").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = token(&h, "https://vault.azure.net/.default").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let vault = b["access_token"].as_str().unwrap_or_default().to_string();
    let auth = format!("Bearer {vault}");
    let (s, _, b) = h
        .raw(
            Method::GET,
            &format!("/subscriptions/{SUB}/resourcegroups?{RS}"),
            &[("authorization", auth.as_str())],
            None,
        )
        .await;
    assert_eq!(
        (s, code(&b).as_str()),
        (
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenAudience"
        ),
        "{b}"
    );
}
