//! Router tests of the retry hints on long-running operations: every answer while an operation
//! runs carries `Retry-After` in whole seconds (rounded up) and `retry-after-ms` with the
//! milliseconds left, on the write that started it, its status URL and its result URL.

use crate::support::router::*;
use axum::http::{HeaderMap, Method, StatusCode};
use gridform::emulator::Config;
use serde_json::json;

fn hints(headers: &HeaderMap) -> (&str, &str) {
    let get = |name| headers.get(name).map_or("<none>", |v| v.to_str().unwrap());
    (get("retry-after"), get("retry-after-ms"))
}

fn local(url: &axum::http::HeaderValue) -> String {
    url.to_str()
        .unwrap()
        .trim_start_matches("http://emulator.test")
        .to_string()
}

#[tokio::test]
async fn running_operations_send_whole_seconds_and_milliseconds() {
    let config = Config {
        lro_delay: std::time::Duration::from_millis(1500),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    h.setup().await;
    h.advance(2).await;
    let topic = format!("{}?{EG}", eg_path("rg", "topics/hinted"));
    let (s, headers, _) = h.put(&topic, json!({"location": "westus2"})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(hints(&headers), ("2", "1500"));
    let status_url = local(&headers["azure-asyncoperation"]);
    let (s, headers, b) = h.call(Method::GET, &status_url, None).await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::OK, Some("InProgress"))
    );
    assert_eq!(hints(&headers), ("2", "1500"));

    h.advance(2).await;
    let (s, headers, b) = h.call(Method::GET, &status_url, None).await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::OK, Some("Succeeded"))
    );
    assert_eq!(hints(&headers), ("<none>", "<none>"), "nothing to wait for");

    let (s, headers, _) = h.call(Method::DELETE, &topic, None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(hints(&headers), ("2", "1500"));
    let (s, headers, _) = h
        .call(Method::GET, &local(&headers["location"]), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(hints(&headers), ("2", "1500"));
}

#[tokio::test]
async fn operations_done_at_once_say_retry_after_zero_only() {
    let h = Harness::new().await;
    h.setup().await;
    h.advance(1).await;
    let topic = format!("{}?{EG}", eg_path("rg", "topics/instant"));
    let (s, headers, _) = h.put(&topic, json!({"location": "westus2"})).await;
    assert!(s.is_success(), "{s}");
    assert_eq!(hints(&headers), ("0", "<none>"));
}
