//! The emulator under hostile input (issue 13, items 10–15), through the router without a
//! socket: deep `$filter`s, absurd clock moves, dead-letter names that would escape the folder,
//! tokens for another audience, oversized bodies. Each test failed before its fix.

use crate::support::router::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// A token from the emulator's Entra ID endpoint for `scope`.
async fn aad_token(h: &Harness, scope: &str) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id=app&client_secret=s&scope={}",
        url_encode(scope)
    );
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    let (s, _, b) = h
        .raw(Method::POST, "/tenant-1/oauth2/v2.0/token", &ct, Some(form))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

fn url_encode(text: &str) -> String {
    text.replace(':', "%3A").replace('/', "%2F")
}

async fn auth0_token(h: &Harness) -> String {
    let ct = [("content-type", "application/json")];
    let body = json!({"grant_type": "client_credentials", "client_id": "c", "client_secret": "s",
        "audience": "https://tenant.auth0.com/api/v2/"});
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/auth0/oauth/token",
            &ct,
            Some(body.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_deeply_nested_filter_is_refused_not_a_stack_overflow() {
    let h = Harness::new().await;
    h.setup().await;
    let filter = format!("{}name eq 'a'", "not ".repeat(5000));
    let uri = format!(
        "{}?{EG}&$filter={}",
        eg_path("rg", "topics"),
        filter.replace(' ', "%20").replace('\'', "%27")
    );
    let (s, b) = h.get(&uri).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "InvalidFilter"),
        "{b}"
    );
    // A long but flat filter is refused the same way.
    let long = vec!["name eq 'a'"; 500].join(" or ");
    let uri = format!(
        "{}?{EG}&$filter={}",
        eg_path("rg", "topics"),
        long.replace(' ', "%20").replace('\'', "%27")
    );
    let (s, b) = h.get(&uri).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "InvalidFilter"),
        "{b}"
    );
}

#[tokio::test]
async fn an_absurd_clock_advance_is_refused_and_the_emulator_keeps_working() {
    let h = Harness::new().await;
    h.setup().await;
    let ct = [("content-type", "application/json")];
    for secs in ["1e13", "1e300", "9223372036854775807"] {
        let body = format!("{{\"advanceSeconds\": {secs}}}");
        let (s, _, b) = h
            .raw(Method::POST, "/_emulator/clock", &ct, Some(body))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{secs}: {b}");
    }
    let (s, b) = h.get(&format!("{}?{RS}", rg_path("rg"))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _, b) = h.raw(Method::GET, "/_emulator/clock", &[], None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["now"].as_str().unwrap().starts_with("2026-01-01"), "{b}");
}

fn subscription_with_dead_letter(account: &str, container: &str) -> Value {
    json!({"properties": {
        "destination": {"endpointType": "WebHook", "properties": {
            "endpointUrl": "https://hooks.example.com/api/events"}},
        "deadLetterDestination": {"endpointType": "StorageBlob", "properties": {
            "resourceId": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}"),
            "blobContainerName": container}}
    }})
}

#[tokio::test]
async fn dead_letter_names_that_could_escape_the_folder_are_refused() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    h.put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    let uri = format!("{topic}/eventSubscriptions/sub1?{EG}");
    for (account, container) in [
        ("..", "dead"),
        ("acct", ".."),
        ("acct", "a%2F..%2F.."),
        ("UPPER", "dead"),
        ("acct", "Dead"),
        ("acct", "a--b"),
        ("ab", "dead"),
    ] {
        let body = subscription_with_dead_letter(account, container);
        let (s, _, b) = h.put(&uri, body).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, "InvalidRequest"),
            "{account}/{container}: {b}"
        );
    }
    let (s, _, b) = h
        .put(&uri, subscription_with_dead_letter("acct1", "dead-letters"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn tokens_for_another_audience_are_refused_per_surface() {
    let h = Harness::new().await;
    h.setup().await;
    let rg = format!("{}?{RS}", rg_path("rg"));
    let get_rg = |token: String| {
        let h = &h;
        let rg = rg.clone();
        async move {
            let auth = format!("Bearer {token}");
            h.raw(Method::GET, &rg, &[("authorization", auth.as_str())], None)
                .await
        }
    };
    // An Auth0 Management API token is not an ARM token.
    let (s, _, b) = get_rg(auth0_token(&h).await).await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenAudience"
        ),
        "{b}"
    );
    // Nor is an Entra ID token for the data plane.
    let eg_token = aad_token(&h, "https://eventgrid.azure.net/.default").await;
    let (s, _, b) = get_rg(eg_token.clone()).await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenAudience"
        ),
        "{b}"
    );
    let (s, _, b) = get_rg(aad_token(&h, "https://management.azure.com/.default").await).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // The data plane takes only Event Grid tokens.
    let topic = eg_path("rg", "topics/orders");
    let (s, _, b) = h
        .put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let publish = "/eventgrid/topics/orders.westus2-1/api/events?api-version=2018-01-01";
    let event = json!([{"id": "1", "subject": "s", "eventType": "T",
        "eventTime": "2026-01-01T00:00:00Z", "data": {}}])
    .to_string();
    for (token, want) in [
        (auth0_token(&h).await, StatusCode::UNAUTHORIZED),
        (h.token.clone(), StatusCode::UNAUTHORIZED),
        (eg_token, StatusCode::OK),
    ] {
        let auth = format!("Bearer {token}");
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        let (s, _, b) = h
            .raw(Method::POST, publish, &headers, Some(event.clone()))
            .await;
        assert_eq!(s, want, "{b}");
    }

    // Auth0 takes only Auth0 tokens.
    let auth = format!("Bearer {}", h.token);
    let (s, _, _) = h
        .raw(
            Method::GET,
            "/auth0/api/v2/log-streams",
            &[("authorization", auth.as_str())],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_per_surface() {
    let h = Harness::new().await;
    h.setup().await;
    // ARM: over 4 MB is refused before it is parsed (an ARM error envelope).
    let big = json!({"location": "westus2", "tags": {"pad": "x".repeat(4 * 1024 * 1024)}});
    let (s, _, b) = h.put(&format!("{}?{RS}", rg_path("rg2")), big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{}", code(&b));
    assert!(b["error"]["code"].is_string(), "ARM envelope expected");
    // Data plane: over 1 MB is refused before the topic is even looked up.
    let body = format!("[{}]", "\"x\",".repeat(600_000).trim_end_matches(','));
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/eventgrid/topics/missing.westus2-1/api/events?api-version=2018-01-01",
            &[("content-type", "application/json")],
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{}", code(&b));
    // Auth0: token and Management API bodies are small.
    let body = json!({"grant_type": "client_credentials", "pad": "x".repeat(200 * 1024)});
    let (s, _, _) = h
        .raw(
            Method::POST,
            "/auth0/oauth/token",
            &[("content-type", "application/json")],
            Some(body.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}
