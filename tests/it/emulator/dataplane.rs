//! The emulator's Event Grid data plane: publish responses (router, no socket) for every auth
//! style, schema and size rule, and delivery to a real loopback webhook — retries on the
//! time-scaled schedule, dead-lettering, no retry on 400, delivery headers and batching.

use std::sync::{Arc, Mutex};

use crate::support::router::*;
use axum::http::{HeaderMap, Method, StatusCode};
use gridform::emulator::{Config, sas};
use serde_json::{Value, json};

/// Creates topic `orders` (with `props`) and returns (publish path, key1).
async fn topic(h: &Harness, props: Value) -> (String, String) {
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    let (s, _, b) = h
        .put(
            &format!("{topic}?{EG}"),
            json!({"location": "westus2", "properties": props}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let endpoint = b["properties"]["endpoint"].as_str().unwrap();
    let path = endpoint
        .split_once("://")
        .unwrap()
        .1
        .split_once('/')
        .unwrap()
        .1;
    let (_, keys) = h.post(&format!("{topic}/listKeys?{EG}"), None).await;
    (
        format!("/{path}?api-version=2018-01-01"),
        keys["key1"].as_str().unwrap().to_string(),
    )
}

fn event(id: &str) -> Value {
    json!({"id": id, "subject": "/orders/1", "eventType": "Order.Created", "eventTime": "2026-01-01T00:00:00Z", "data": {"n": 1}})
}

#[tokio::test]
async fn publish_auth_styles_and_refusals() {
    let h = Harness::new().await;
    let (path, key) = topic(&h, json!({})).await;
    let body = Some(json!([event("1")]).to_string());
    let post = |headers: Vec<(&'static str, String)>, body: Option<String>| {
        let h = &h;
        let path = path.clone();
        async move {
            let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            h.raw(Method::POST, &path, &hs, body).await
        }
    };
    let (s, _, b) = post(vec![("aeg-sas-key", key.clone())], body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _, b) = post(vec![("aeg-sas-key", "bad".into())], body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(b["error"]["code"], "Unauthorized");
    assert!(b["error"]["details"][0]["message"].is_string());
    let (s, _, _) = post(vec![], body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // SAS tokens signed like the Python SDK (resource with ?apiVersion=), both headers.
    let resource = format!(
        "https://emulator.test{}",
        path.replace("?api-version=", "?apiVersion=")
    );
    let later = start() + chrono::Duration::hours(1);
    let token = sas::generate(&resource, &key, later).unwrap();
    let (s, _, b) = post(vec![("aeg-sas-token", token.clone())], body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let header = format!("SharedAccessSignature {token}");
    let (s, _, b) = post(vec![("authorization", header)], body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let expired = sas::generate(&resource, &key, start() - chrono::Duration::hours(1)).unwrap();
    let (s, _, b) = post(vec![("aeg-sas-token", expired)], body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(b["error"]["message"].as_str().unwrap().contains("expired"));
    let forged = sas::generate(&resource, "b3RoZXI=", later).unwrap();
    let (s, _, _) = post(vec![("aeg-sas-token", forged)], body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Schema: the message names the event index and the field.
    let bad = json!([event("1"), {"id": "2", "subject": "s", "eventTime": "2026-01-01T00:00:00Z"}]);
    let (s, _, b) = post(vec![("aeg-sas-key", key.clone())], Some(bad.to_string())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let msg = b["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("index 1") && msg.contains("eventType"),
        "{msg}"
    );
    assert_eq!(b["error"]["details"][0]["code"], "InputJsonInvalid");
    let (s, _, _) = post(vec![("aeg-sas-key", key.clone())], Some("{oops".into())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Size: over 1 MB is 413.
    let mut big = event("3");
    big["data"] = json!("x".repeat(1024 * 1024));
    let (s, _, b) = post(
        vec![("aeg-sas-key", key.clone())],
        Some(json!([big]).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    // Unknown topic.
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/eventgrid/topics/nope.westus2-1/api/events",
            &[("aeg-sas-key", key.as_str())],
            body,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["error"]["code"], "NotFound");
}

#[tokio::test]
async fn local_auth_disabled_and_cloud_events_topics() {
    let h = Harness::new().await;
    let (path, key) = topic(
        &h,
        json!({"disableLocalAuth": true, "inputSchema": "CloudEventSchemaV1_0"}),
    )
    .await;
    let ce = json!({"id": "1", "source": "/app", "specversion": "1.0", "type": "T", "data": {}});
    let (s, _, _) = h
        .raw(
            Method::POST,
            &path,
            &[
                ("aeg-sas-key", key.as_str()),
                ("content-type", "application/cloudevents+json"),
            ],
            Some(ce.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A data-plane token (audience https://eventgrid.azure.net); ARM tokens are refused.
    let form = "grant_type=client_credentials&client_id=app&client_secret=s&scope=https%3A%2F%2Feventgrid.azure.net%2F.default";
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/tenant-1/oauth2/v2.0/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form.into()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let bearer = format!("Bearer {}", b["access_token"].as_str().unwrap());
    let (s, _, b) = h
        .raw(
            Method::POST,
            &path,
            &[
                ("authorization", bearer.as_str()),
                ("content-type", "application/cloudevents+json"),
            ],
            Some(ce.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let batch = json!([ce, {"id": "2", "source": "/app", "type": "T"}]);
    let (s, _, b) = h
        .raw(
            Method::POST,
            &path,
            &[
                ("authorization", bearer.as_str()),
                ("content-type", "application/cloudevents-batch+json"),
            ],
            Some(batch.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'specversion'")
    );
}

#[derive(Clone, Default)]
struct Hook {
    /// Status codes to answer notifications with, in order (the last repeats).
    statuses: Arc<Mutex<Vec<u16>>>,
    /// (headers, body) of every notification.
    got: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn hook_handler(
    axum::extract::State(hook): axum::extract::State<Hook>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if headers.get("aeg-event-type").unwrap() == "SubscriptionValidation" {
        let code = value[0]["data"]["validationCode"].clone();
        return axum::Json(json!({"validationResponse": code})).into_response();
    }
    let n = {
        let mut got = hook.got.lock().unwrap();
        got.push((headers, value));
        got.len()
    };
    let statuses = hook.statuses.lock().unwrap();
    let status = statuses
        .get(n - 1)
        .or(statuses.last())
        .copied()
        .unwrap_or(200);
    StatusCode::from_u16(status).unwrap().into_response()
}

async fn serve_hook(hook: Hook) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook_handler))
        .with_state(hook);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn delivery_setup(
    statuses: Vec<u16>,
    dest_extra: Value,
) -> (Harness, Hook, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        time_scale: 1000.0,
        dead_letter_dir: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let (path, key) = topic(&h, json!({})).await;
    let hook = Hook::default();
    *hook.statuses.lock().unwrap() = statuses;
    let url = serve_hook(hook.clone()).await;
    let mut props = json!({"endpointUrl": format!("{url}?code=SECRET"),
        "deliveryAttributeMappings": [
            {"name": "x-static", "type": "Static", "properties": {"value": "v1", "isSecret": false}},
            {"name": "x-dyn", "type": "Dynamic", "properties": {"sourceField": "data.n"}}]});
    if let (Some(p), Some(extra)) = (props.as_object_mut(), dest_extra.as_object()) {
        p.extend(extra.clone());
    }
    let sub = json!({"properties": {
        "destination": {"endpointType": "WebHook", "properties": props},
        "retryPolicy": {"maxDeliveryAttempts": 3, "eventTimeToLiveInMinutes": 1440},
        "deadLetterDestination": {"endpointType": "StorageBlob", "properties": {
            "resourceId": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"),
            "blobContainerName": "dead"}}
    }});
    let (s, _, b) = h
        .put(
            &format!(
                "{}?{EG}",
                eg_path("rg", "topics/orders/eventSubscriptions/sub1")
            ),
            sub,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    (h, hook, path, key, dir)
}

fn dead_letters(dir: &std::path::Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                out.extend(v.as_array().unwrap().clone());
            }
        }
    }
    out
}

#[tokio::test]
async fn a_503_is_retried_on_the_scaled_schedule_then_dead_lettered() {
    let (h, hook, path, key, dir) = delivery_setup(vec![503], json!({})).await;
    let started = std::time::Instant::now();
    let (s, _, b) = h
        .raw(
            Method::POST,
            &path,
            &[("aeg-sas-key", key.as_str())],
            Some(json!([event("e1")]).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    wait_for(|| !dead_letters(dir.path()).is_empty()).await;
    // 3 attempts: waits of 10 s and 30 s scaled by 1000 => at least 40 ms.
    assert!(started.elapsed() >= std::time::Duration::from_millis(40));
    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    let counts: Vec<&str> = got
        .iter()
        .map(|(h, _)| h["aeg-delivery-count"].to_str().unwrap())
        .collect();
    assert_eq!(counts, ["0", "1", "2"]);
    let (headers, body) = &got[0];
    assert_eq!(headers["aeg-event-type"], "Notification");
    assert_eq!(headers["aeg-subscription-name"], "SUB1");
    assert_eq!(headers["x-static"], "v1");
    assert_eq!(headers["x-dyn"], "1");
    assert_eq!(body[0]["id"], "e1");
    let dl = dead_letters(dir.path());
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0]["deadLetterReason"], "MaxDeliveryAttemptsExceeded");
    assert_eq!(dl[0]["deliveryAttempts"], 3);
    assert_eq!(dl[0]["lastDeliveryOutcome"], "Busy");
    assert!(dl[0]["publishTime"].is_string() && dl[0]["lastDeliveryAttemptTime"].is_string());
    assert!(h.emu.lock().outbox.is_empty());
}

#[tokio::test]
async fn a_400_is_dead_lettered_without_retry_and_batches_follow_max_events() {
    let (h, hook, path, key, dir) = delivery_setup(vec![400], json!({})).await;
    h.raw(
        Method::POST,
        &path,
        &[("aeg-sas-key", key.as_str())],
        Some(json!([event("e1")]).to_string()),
    )
    .await;
    wait_for(|| !dead_letters(dir.path()).is_empty()).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(hook.got.lock().unwrap().len(), 1);
    let dl = dead_letters(dir.path());
    assert_eq!(dl[0]["deliveryAttempts"], 1);
    assert_eq!(dl[0]["lastDeliveryOutcome"], "BadRequest");

    let (h, hook, path, key, _dir) =
        delivery_setup(vec![200], json!({"maxEventsPerBatch": 2})).await;
    let events: Vec<Value> = (0..5).map(|i| event(&format!("b{i}"))).collect();
    h.raw(
        Method::POST,
        &path,
        &[("aeg-sas-key", key.as_str())],
        Some(Value::Array(events).to_string()),
    )
    .await;
    wait_for(|| hook.got.lock().unwrap().len() >= 3).await;
    let mut sizes: Vec<usize> = hook
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b.as_array().unwrap().len())
        .collect();
    sizes.sort();
    assert_eq!(sizes, [1, 2, 2]);
}

#[tokio::test]
async fn undelivered_events_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    // Real-time schedule: after the first failure the next attempt is 10 s away.
    let config = Config {
        state_file: Some(state.clone()),
        ..Config::default()
    };
    let h = Harness::with_config(config.clone()).await;
    let (path, key) = topic(&h, json!({})).await;
    let hook = Hook::default();
    *hook.statuses.lock().unwrap() = vec![503, 200];
    let url = serve_hook(hook.clone()).await;
    let sub = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url}}}});
    let (s, _, b) = h
        .put(
            &format!(
                "{}?{EG}",
                eg_path("rg", "topics/orders/eventSubscriptions/sub1")
            ),
            sub,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h.raw(
        Method::POST,
        &path,
        &[("aeg-sas-key", key.as_str())],
        Some(json!([event("keep")]).to_string()),
    )
    .await;
    wait_for(|| {
        h.emu
            .lock()
            .outbox
            .values()
            .next()
            .is_some_and(|p| p.attempts == 1)
    })
    .await;
    h.emu.flush().unwrap();
    // "Restart": a new emulator from the state file resumes the outbox at once.
    let again =
        gridform::emulator::Emulator::open(config, gridform::emulator::Clock::system()).unwrap();
    assert_eq!(again.lock().outbox.len(), 1);
    gridform::emulator::outbox::resume(&again);
    wait_for(|| hook.got.lock().unwrap().len() >= 2).await;
    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got[1].1[0]["id"], "keep");
    assert_eq!(got[1].0["aeg-delivery-count"], "1");
    wait_for(|| again.lock().outbox.is_empty()).await;
    assert!(again.lock().outbox.is_empty());
}

/// Throughput: publish → delivered to a local webhook (one event per delivery, Azure's default).
/// `cargo test --release --test it -- --ignored --nocapture emulator::dataplane::bench`
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark"]
async fn bench_publish_to_webhook() {
    let (h, hook, path, key, _dir) = delivery_setup(vec![200], json!({})).await;
    let total = 5000usize;
    let started = std::time::Instant::now();
    for chunk in 0..total / 100 {
        let events: Vec<Value> = (0..100).map(|i| event(&format!("{chunk}-{i}"))).collect();
        let (s, _, _) = h
            .raw(
                Method::POST,
                &path,
                &[("aeg-sas-key", key.as_str())],
                Some(Value::Array(events).to_string()),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let published = started.elapsed();
    let distinct = || {
        let got = hook.got.lock().unwrap();
        let ids: std::collections::HashSet<String> = got
            .iter()
            .map(|(_, b)| b[0]["id"].as_str().unwrap().to_string())
            .collect();
        (ids.len(), got.len())
    };
    for _ in 0..6000 {
        if distinct().0 >= total {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let delivered = started.elapsed();
    let (unique, posts) = distinct();
    assert_eq!(unique, total);
    println!(
        "bench: {total} events published in {published:?} ({:.0}/s), delivered to the webhook in {delivered:?} ({:.0}/s), {} duplicate(s)",
        total as f64 / published.as_secs_f64(),
        total as f64 / delivered.as_secs_f64(),
        posts - unique
    );
}
