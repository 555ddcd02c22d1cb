//! Router tests (no socket) for system topics and event subscriptions: defaults, masking,
//! nested vs extension-style addresses, full URL and delivery attributes.

use crate::support::router::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

#[tokio::test]
async fn system_topics_are_unique_per_source() {
    let h = Harness::new().await;
    h.setup().await;
    let source = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.SignalRService/SignalR/chat"
    );
    let body = json!({"location": "westus2", "properties": {"source": source, "topicType": "Microsoft.SignalRService.SignalR"}});
    let (s, _, b) = h
        .put(
            &format!("{}?{EG}", eg_path("rg", "systemTopics/st1")),
            body.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(b["properties"]["metricResourceId"].is_string());
    let (s, _, _) = h
        .put(
            &format!("{}?{EG}", eg_path("rg", "systemTopics/st1")),
            body.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, b) = h
        .put(&format!("{}?{EG}", eg_path("rg", "systemTopics/st2")), body)
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Only one system topic")
    );
    let (s, _, b) = h
        .call(
            Method::PATCH,
            &format!("{}?{EG}", eg_path("rg", "systemTopics/st1")),
            Some(json!({"tags": {"k": "v"}})),
        )
        .await;
    assert_eq!((s, b["tags"]["k"].as_str()), (StatusCode::OK, Some("v")));
}

#[tokio::test]
async fn event_subscriptions_on_topics_nested_and_extension_style() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    h.put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    let secret_url = "https://hooks.example.com/api/events?code=SECRET123";
    let body = json!({"properties": {
        "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": secret_url,
            "deliveryAttributeMappings": [
                {"name": "h1", "type": "Static", "properties": {"value": "plain", "isSecret": false}},
                {"name": "h2", "type": "Static", "properties": {"value": "hush", "isSecret": true}}]}},
        "filter": {"includedEventTypes": ["a.b"]}}});
    let (s, headers, b) = h
        .put(&format!("{topic}/eventSubscriptions/sub1?{EG}"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(headers.contains_key("azure-asyncoperation"));
    assert_eq!(b["type"], "Microsoft.EventGrid/topics/eventSubscriptions");
    let p = &b["properties"];
    assert_eq!(
        p["destination"]["properties"]["endpointBaseUrl"],
        "https://hooks.example.com/api/events"
    );
    assert!(p["destination"]["properties"].get("endpointUrl").is_none());
    assert!(!b.to_string().contains("SECRET123") && !b.to_string().contains("hush"));
    assert_eq!(p["eventDeliverySchema"], "EventGridSchema");
    assert_eq!(
        p["retryPolicy"],
        json!({"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440})
    );
    assert_eq!(p["filter"]["subjectBeginsWith"], "");
    assert_eq!(p["destination"]["properties"]["maxEventsPerBatch"], 1);
    assert_eq!(
        p["topic"].as_str().unwrap().to_ascii_lowercase(),
        topic.to_ascii_lowercase()
    );

    // The same subscription through the extension-style path.
    let ext = format!("{topic}/providers/Microsoft.EventGrid/eventSubscriptions/sub1");
    let (s, b) = h.get(&format!("{ext}?{EG}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["type"], "Microsoft.EventGrid/eventSubscriptions");
    assert!(
        b["id"]
            .as_str()
            .unwrap()
            .ends_with("/providers/Microsoft.EventGrid/eventSubscriptions/sub1")
    );
    let (_, b) = h.post(&format!("{ext}/getFullUrl?{EG}"), None).await;
    assert_eq!(b["endpointUrl"], secret_url);
    let (_, b) = h
        .post(
            &format!("{topic}/eventSubscriptions/sub1/getDeliveryAttributes?{EG}"),
            None,
        )
        .await;
    assert_eq!(b["value"][1]["properties"]["value"], "hush");

    // PATCH without a URL keeps it; fields at the top level.
    let (s, _, b) = h
        .call(
            Method::PATCH,
            &format!("{ext}?{EG}"),
            Some(json!({"labels": ["x"], "retryPolicy": {"maxDeliveryAttempts": 5}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["properties"]["labels"], json!(["x"]));
    assert_eq!(b["properties"]["retryPolicy"]["maxDeliveryAttempts"], 5);
    let (_, b) = h.post(&format!("{ext}/getFullUrl?{EG}"), None).await;
    assert_eq!(b["endpointUrl"], secret_url);

    let (_, b) = h.get(&format!("{topic}/eventSubscriptions?{EG}")).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);
    let (_, b) = h
        .get(&format!(
            "{topic}/providers/Microsoft.EventGrid/eventSubscriptions?{EG}"
        ))
        .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);

    let (s, _, b) = h.put(&format!("{topic}/eventSubscriptions/sub2?{EG}"), json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "http://hooks.example.com/x"}}}})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    let (s, _, b) = h
        .put(
            &format!("{topic}/eventSubscriptions/sub2?{EG}"),
            json!({"properties": {}}),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    let (s, _, b) = h.put(&format!("{}?{EG}", eg_path("rg", "topics/missing/eventSubscriptions/sub3")), json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": secret_url}}}})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "ParentResourceNotFound")
    );

    let (s, _, _) = h
        .call(
            Method::DELETE,
            &format!("{topic}/eventSubscriptions/sub1?{EG}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = h.get(&format!("{ext}?{EG}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Sink recorded the validation handshake for the non-loopback endpoint.
    let (_, _, b) = h.raw(Method::GET, "/_emulator/sink", &[], None).await;
    assert_eq!(b["value"][0]["eventType"], "SubscriptionValidation");
}

#[tokio::test]
async fn publishing_to_a_topic_delivers_matching_events_to_the_sink() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    let (_, _, b) = h
        .put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    let endpoint = b["properties"]["endpoint"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://emulator.test")
        .to_string();
    let (_, keys) = h.post(&format!("{topic}/listKeys?{EG}"), None).await;
    let hook = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "https://hooks.example.com/orders"}},
        "filter": {"includedEventTypes": ["Order.Created"]}}});
    let (s, _, _) = h
        .put(&format!("{topic}/eventSubscriptions/created?{EG}"), hook)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let queue = json!({"properties": {"destination": {"endpointType": "StorageQueue", "properties": {"resourceId": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acc"), "queueName": "q"}}}});
    let (s, _, _) = h
        .put(
            &format!("{topic}/eventSubscriptions/everything?{EG}"),
            queue,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    h.raw(Method::DELETE, "/_emulator/sink", &[], None).await;

    let events = json!([
        {"id": "1", "subject": "/orders/1", "eventType": "Order.Created", "eventTime": "2026-01-01T00:00:00Z", "data": {}, "dataVersion": "1"},
        {"id": "2", "subject": "/orders/2", "eventType": "Order.Deleted", "eventTime": "2026-01-01T00:00:00Z", "data": {}, "dataVersion": "1"}
    ]);
    let (s, _, _) = h
        .raw(
            Method::POST,
            &endpoint,
            &[("aeg-sas-key", "wrong")],
            Some(events.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = h
        .raw(
            Method::POST,
            "/eventgrid/topics/nope.westus2-1/api/events",
            &[],
            Some(events.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let key = keys["key2"].as_str().unwrap();
    let (s, _, b) = h
        .raw(
            Method::POST,
            &endpoint,
            &[("aeg-sas-key", key)],
            Some(events.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mut records = Vec::new();
    for _ in 0..50 {
        let (_, _, b) = h.raw(Method::GET, "/_emulator/sink", &[], None).await;
        records = b["value"].as_array().unwrap().clone();
        if records.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(records.len(), 3, "{records:?}");
    let to_hook: Vec<_> = records
        .iter()
        .filter(|r| r["url"] == "https://hooks.example.com/orders")
        .collect();
    assert_eq!(to_hook.len(), 1);
    assert_eq!(to_hook[0]["body"][0]["eventType"], "Order.Created");
    assert_eq!(to_hook[0]["eventType"], "Notification");
    assert!(
        to_hook[0]["body"][0]["topic"]
            .as_str()
            .unwrap()
            .ends_with("/topics/orders")
    );
}

#[tokio::test]
async fn wrong_types_are_rejected_and_expired_subscriptions_disappear() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    h.put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    let dest = json!({"endpointType": "WebHook", "properties": {"endpointUrl": "https://hooks.example.com/x"}});
    for bad in [
        json!({"properties": {"destination": dest, "labels": "x"}}),
        json!({"properties": {"destination": dest, "retryPolicy": "x"}}),
        json!({"properties": {"destination": dest, "retryPolicy": {"maxDeliveryAttempts": "3"}}}),
        json!({"properties": {"destination": dest, "filter": "x"}}),
        json!({"properties": {"destination": "x"}}),
        json!({"properties": "x"}),
        json!({"properties": {"destination": dest, "eventDeliverySchema": "Nope"}}),
        json!({"properties": {"destination": dest, "expirationTimeUtc": "2025-01-01T00:00:00Z"}}),
    ] {
        let (s, _, b) = h
            .put(
                &format!("{topic}/eventSubscriptions/sub1?{EG}"),
                bad.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad} -> {b}");
        assert!(b["error"]["code"].is_string());
    }
    let (s, _, b) = h.put(&format!("{topic}/eventSubscriptions/sub1?{EG}"), json!({"properties": {"destination": dest, "expirationTimeUtc": "2026-01-01T00:10:00Z"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h.advance(600).await;
    let (s, _) = h
        .get(&format!("{topic}/eventSubscriptions/sub1?{EG}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sink_grants_cloud_events_abuse_protection() {
    let h = Harness::new().await;
    let (s, headers, _) = h
        .raw(
            Method::OPTIONS,
            "/_emulator/sink/ce",
            &[("webhook-request-origin", "eventgrid.azure.net")],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers["webhook-allowed-origin"], "eventgrid.azure.net");
    let (_, _, b) = h.raw(Method::GET, "/_emulator/sink", &[], None).await;
    assert_eq!(b["value"][0]["eventType"], "CloudEventsValidation");
}

#[tokio::test]
async fn system_and_partner_topics_get_list_and_delete_with_their_subscriptions() {
    let h = Harness::new().await;
    h.setup().await;
    let (s, _, b) = h
        .call(
            Method::PATCH,
            &format!("{}?{RS}", rg_path("rg")),
            Some(json!({"tags": {"team": "id"}})),
        )
        .await;
    assert_eq!(
        (s, b["tags"]["team"].as_str()),
        (StatusCode::OK, Some("id"))
    );
    let st = eg_path("rg", "systemTopics/signalr");
    let source = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.SignalRService/SignalR/chat"
    );
    h.put(&format!("{st}?{EG}"), json!({"location": "westus2", "properties": {"source": source, "topicType": "Microsoft.SignalRService.SignalR"}})).await;
    let pt = eg_path("rg", "partnerTopics/auth0");
    h.put(
        &format!("{pt}?{EG}"),
        json!({"location": "westus2", "properties": {"source": "tenant.auth0.com"}}),
    )
    .await;
    let dest = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "https://hooks.example.com/x"}}}});
    for parent in [&st, &pt] {
        let (s, _, b) = h
            .put(
                &format!("{parent}/eventSubscriptions/sub1?{EG}"),
                dest.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (s, b) = h.get(&format!("{parent}?{EG}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, b) = h.get(&format!("{parent}/eventSubscriptions?{EG}")).await;
        assert_eq!(b["value"].as_array().unwrap().len(), 1);
    }
    let (_, b) = h
        .get(&format!("{}?{EG}", eg_path("rg", "systemTopics")))
        .await;
    assert_eq!(
        b["value"][0]["properties"]["topicType"],
        "Microsoft.SignalRService.SignalR"
    );
    let (_, b) = h
        .get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.EventGrid/partnerTopics?{EG}"
        ))
        .await;
    assert_eq!(
        b["value"][0]["properties"]["activationState"],
        "NeverActivated"
    );
    for parent in [&st, &pt] {
        let (s, _, _) = h
            .call(Method::DELETE, &format!("{parent}?{EG}"), None)
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let (s, _) = h.get(&format!("{parent}?{EG}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, b) = h
            .get(&format!("{parent}/eventSubscriptions/sub1?{EG}"))
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("ParentResourceNotFound"))
        );
    }
    // The same source can get a system topic again once the old one is gone.
    let (s, _, _) = h.put(&format!("{}?{EG}", eg_path("rg", "systemTopics/signalr2")), json!({"location": "westus2", "properties": {"source": source, "topicType": "Microsoft.SignalRService.SignalR"}})).await;
    assert_eq!(s, StatusCode::CREATED);
}
