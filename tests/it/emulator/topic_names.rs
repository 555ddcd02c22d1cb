//! Custom topic names are unique per region, as in Azure (the endpoint host is
//! `{name}.{region}-1`): a second `orders` in the same region — another resource group or another
//! subscription — is refused with 409, the same name in another region gets its own endpoint, and
//! publishing to each topic works with its own key only.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::router::{EG, Harness, RS, SUB, eg_path};

const OTHER_SUB: &str = "99999999-8888-7777-6666-555555555555";

async fn put_topic(h: &Harness, path: &str, location: &str) -> (StatusCode, Value) {
    let (s, _, b) = h
        .put(&format!("{path}?{EG}"), json!({"location": location}))
        .await;
    (s, b)
}

/// Registers Event Grid in `sub` and creates resource group `rg` there.
async fn group(h: &Harness, sub: &str, rg: &str) {
    let (s, b) = h
        .post(
            &format!("/subscriptions/{sub}/providers/Microsoft.EventGrid/register?{RS}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let path = format!("/subscriptions/{sub}/resourceGroups/{rg}?{RS}");
    let (s, _, b) = h.put(&path, json!({"location": "westus2"})).await;
    assert!(s.is_success(), "{b}");
}

/// Publishes one event to the topic at `path` with the key of the topic at `key_of`: the status.
async fn publish(h: &Harness, path: &str, key_of: &str) -> StatusCode {
    let (_, topic) = h.get(&format!("{path}?{EG}")).await;
    let endpoint = topic["properties"]["endpoint"].as_str().unwrap();
    let route = endpoint.strip_prefix("http://emulator.test").unwrap();
    let (_, keys) = h.post(&format!("{key_of}/listKeys?{EG}"), None).await;
    let key = keys["key1"].as_str().unwrap();
    let event = json!([{"id": "1", "subject": "/orders/1", "eventType": "Orders.Created",
                        "eventTime": "2026-01-01T00:00:00Z", "data": {}, "dataVersion": "1"}]);
    let headers = [("aeg-sas-key", key), ("content-type", "application/json")];
    let (s, _, _) = h
        .raw(Method::POST, route, &headers, Some(event.to_string()))
        .await;
    s
}

#[tokio::test]
async fn a_topic_name_is_unique_per_region_across_groups_and_subscriptions() {
    let h = Harness::new().await;
    h.setup().await;
    group(&h, SUB, "rg2").await;
    group(&h, OTHER_SUB, "rg").await;
    let first = eg_path("rg", "topics/orders");
    let (s, b) = put_topic(&h, &first, "westus2").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let same_region = [
        eg_path("rg2", "topics/orders"),
        eg_path("rg2", "topics/ORDERS"),
        format!(
            "/subscriptions/{OTHER_SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/orders"
        ),
    ];
    for (path, location) in same_region.iter().zip(["westus2", "West US 2", "westus2"]) {
        let (s, b) = put_topic(&h, path, location).await;
        assert_eq!(s, StatusCode::CONFLICT, "{path}: {b}");
        assert_eq!(b["error"]["code"], "Conflict", "{b}");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("Topic with the specified name already exists."),
            "{message}"
        );
        let (s, _) = h.get(&format!("{path}?{EG}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "a refused topic is not created");
    }

    // The first topic is untouched: an update of it is fine and it still takes its key.
    let (s, b) = put_topic(&h, &first, "westus2").await;
    assert!(s.is_success(), "{b}");
    assert_eq!(publish(&h, &first, &first).await, StatusCode::OK);

    // Another region: its own endpoint, its own keys.
    let elsewhere = eg_path("rg2", "topics/orders");
    let (s, b) = put_topic(&h, &elsewhere, "westeurope").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, a) = h.get(&format!("{first}?{EG}")).await;
    assert_ne!(a["properties"]["endpoint"], b["properties"]["endpoint"]);
    assert_eq!(publish(&h, &elsewhere, &elsewhere).await, StatusCode::OK);
    assert_eq!(
        publish(&h, &elsewhere, &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(publish(&h, &first, &first).await, StatusCode::OK);

    // Once the first is deleted its name is free in its region again.
    let (s, _, b) = h.call(Method::DELETE, &format!("{first}?{EG}"), None).await;
    assert!(s.is_success(), "{b}");
    let other_sub = &same_region[2];
    let (s, b) = put_topic(&h, other_sub, "westus2").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(publish(&h, other_sub, other_sub).await, StatusCode::OK);
}
