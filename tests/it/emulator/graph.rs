//! Router tests (no socket) for the emulated Microsoft Graph subscriptions API: tokens and
//! ownership, what Graph refuses in a body, the lifetime table and the 45-minute floor, renewal,
//! expiry on the emulator clock, paging and injected faults. The partner side (partner topics,
//! events) is in `graph_partner.rs`.

use crate::support::router::*;
use axum::http::{Method, StatusCode};
use gridform::emulator::Config;
use serde_json::{Value, json};

pub const GRAPH: &str = "/graph/v1.0/subscriptions";
pub const GRAPH_ID: &str = "c02e0126-707c-436d-b6a1-175d2748fb58";

pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

pub fn event_grid_url(topic: &str) -> String {
    format!(
        "EventGrid:?azuresubscriptionid={SUB}&resourcegroup=rg&partnertopic={topic}&location=westus2"
    )
}

/// A subscription body for `users` through `topic`, expiring `hours` after the harness start.
pub fn body(topic: &str, hours: i64) -> Value {
    let expiry = start() + chrono::Duration::hours(hours);
    json!({
        "changeType": "updated,deleted", "resource": "users",
        "notificationUrl": event_grid_url(topic), "lifecycleNotificationUrl": event_grid_url(topic),
        "expirationDateTime": expiry.to_rfc3339(), "clientState": "s3cret-state",
    })
}

/// An Entra token for `scope` issued to `app` in tenant `tenant`.
pub async fn token_for(h: &Harness, tenant: &str, app: &str, scope: &str) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={app}&client_secret=x&scope={}",
        url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>()
    );
    let (s, _, b) = h
        .raw(
            Method::POST,
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const APP: &str = "0e5f3f2a-1111-4222-8333-444455556666";

/// A Graph token for `APP` in `TENANT`.
pub async fn graph_token(h: &Harness) -> String {
    token_for(h, TENANT, APP, "https://graph.microsoft.com/.default").await
}

/// A Graph token for another application in `TENANT`.
pub async fn other_app_token(h: &Harness) -> String {
    token_for(
        h,
        TENANT,
        "another-app",
        "https://graph.microsoft.com/.default",
    )
    .await
}

/// A Graph call with `token`.
pub async fn graph(
    h: &Harness,
    token: &str,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let (s, _, b) = h
        .raw(method, uri, &headers, body.map(|b| b.to_string()))
        .await;
    (s, b)
}

/// Registers Event Grid, creates `rg` and a partner configuration authorizing `partner`.
pub async fn authorized(h: &Harness, partner: Value) {
    authorized_after(h, partner, 0).await;
}

/// `authorized`, with the clock moved `settle` seconds (the LRO delay) for the registration.
pub async fn authorized_after(h: &Harness, partner: Value, settle: u64) {
    h.setup().await;
    h.advance(settle).await;
    let cfg = eg_path("rg", "partnerConfigurations/default");
    let (s, _, b) = h
        .put(
            &format!("{cfg}?{EG}"),
            json!({"properties": {"partnerAuthorization": {"authorizedPartnersList": [partner]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn graph_needs_a_token_for_graph() {
    let h = Harness::new().await;
    let (s, _, b) = h.raw(Method::GET, GRAPH, &[], None).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken")
    );
    assert!(b["error"]["innerError"]["request-id"].is_string(), "{b}");
    let (s, b) = graph(&h, &h.token.clone(), Method::GET, GRAPH, None).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"),
        "an ARM token"
    );
    let token = graph_token(&h).await;
    let (s, b) = graph(&h, &token, Method::GET, GRAPH, None).await;
    assert_eq!((s, b["value"].clone()), (StatusCode::OK, json!([])), "{b}");
}

#[tokio::test]
async fn graph_refuses_what_graph_refuses() {
    let h = Harness::new().await;
    authorized(&h, json!({"partnerName": "MicrosoftGraphAPI"})).await;
    let token = graph_token(&h).await;
    let with = |f: &str, v: Value| {
        let mut b = body("t", 24);
        b[f] = v;
        b
    };
    let without = |f: &str| {
        let mut b = body("t", 24);
        b.as_object_mut().unwrap().remove(f);
        b
    };
    let other_topic = event_grid_url("other");
    let no_location = event_grid_url("t").replace("&location=westus2", "");
    let cases: Vec<(Value, &str, &str)> = vec![
        (without("changeType"), "InvalidRequest", "changeType"),
        (
            with("changeType", json!("renamed")),
            "InvalidRequest",
            "renamed",
        ),
        (without("resource"), "InvalidRequest", "resource"),
        (
            with("notificationUrl", json!("https://example.com/hook")),
            "InvalidRequest",
            "only to Event Grid",
        ),
        (
            with("notificationUrl", json!(no_location)),
            "InvalidRequest",
            "'location' is missing",
        ),
        (
            with("lifecycleNotificationUrl", json!(other_topic)),
            "InvalidRequest",
            "same partner topic",
        ),
        (
            without("expirationDateTime"),
            "InvalidRequest",
            "expirationDateTime is a required property",
        ),
        (
            with("expirationDateTime", json!("2025-12-31T00:00:00Z")),
            "ExtensionError",
            "in the future",
        ),
        (
            with("expirationDateTime", json!("2026-02-01T00:00:00Z")),
            "ExtensionError",
            "41760 minutes",
        ),
        (
            with("clientState", json!("x".repeat(129))),
            "InvalidRequest",
            "128",
        ),
        (with("colour", json!("red")), "BadRequest", "'colour'"),
        (
            with("includeResourceData", json!(true)),
            "InvalidRequest",
            "encryptionCertificate",
        ),
    ];
    for (request, want, words) in cases {
        let (s, b) = graph(&h, &token, Method::POST, GRAPH, Some(request.clone())).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, want),
            "{request} -> {b}"
        );
        let message = b["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{message} lacks {words}");
    }
    let (s, b) = graph(&h, &token, Method::GET, GRAPH, None).await;
    assert_eq!(
        (s, b["value"].clone()),
        (StatusCode::OK, json!([])),
        "nothing was created"
    );
    let mut teams = with("resource", json!("chats/getAllMessages"));
    teams["expirationDateTime"] = json!("2026-01-04T01:00:00Z");
    let (s, b) = graph(&h, &token, Method::POST, GRAPH, Some(teams)).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "ExtensionError"),
        "Teams: 4320 minutes"
    );
    assert!(
        b["error"]["message"].as_str().unwrap().contains("4320"),
        "{b}"
    );
}

#[tokio::test]
async fn graph_needs_the_partner_authorized_by_name_or_id_and_unexpired() {
    let h = Harness::new().await;
    h.setup().await;
    let token = graph_token(&h).await;
    let (s, b) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "ExtensionError"),
        "no configuration"
    );
    let cfg = eg_path("rg", "partnerConfigurations/default");
    let put = |partner: Value| json!({"properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 1, "authorizedPartnersList": [partner]}}});
    h.put(&format!("{cfg}?{EG}"), put(json!({"partnerName": "Auth0"})))
        .await;
    let (s, b) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "ExtensionError"),
        "another partner: {b}"
    );
    h.put(
        &format!("{cfg}?{EG}"),
        put(json!({"partnerRegistrationImmutableId": GRAPH_ID})),
    )
    .await;
    let (s, b) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 48))).await;
    assert_eq!(s, StatusCode::CREATED, "authorized by immutable id: {b}");
    h.advance(24 * 3600).await;
    let token = graph_token(&h).await;
    let (s, b) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 47))).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "ExtensionError"),
        "expired authorization: {b}"
    );
}

#[tokio::test]
async fn graph_subscriptions_belong_to_their_application() {
    let h = Harness::new().await;
    authorized(&h, json!({"partnerName": "MicrosoftGraphAPI"})).await;
    let token = graph_token(&h).await;
    let (s, created) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(created["applicationId"], APP);
    assert_eq!(created["creatorId"], APP);
    assert_eq!(created["clientState"], "s3cret-state");
    assert_eq!(created["changeType"], "updated,deleted");
    assert_eq!(
        created["expirationDateTime"],
        "2026-01-02T00:00:00.0000000Z"
    );
    let one = format!("{GRAPH}/{id}");
    let (s, got) = graph(&h, &token, Method::GET, &one, None).await;
    assert_eq!((s, &got["resource"]), (StatusCode::OK, &json!("users")));
    let other = other_app_token(&h).await;
    let (s, b) = graph(&h, &other, Method::GET, &one, None).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    let (_, b) = graph(&h, &other, Method::GET, GRAPH, None).await;
    assert_eq!(b["value"], json!([]));
    let renew = json!({"expirationDateTime": "2026-01-03T00:00:00Z"});
    let (s, _) = graph(&h, &other, Method::PATCH, &one, Some(renew)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = graph(&h, &other, Method::DELETE, &one, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = graph(
        &h,
        &other,
        Method::POST,
        &format!("{one}/reauthorize"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = graph(
        &h,
        &token,
        Method::POST,
        &format!("{one}/reauthorize"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = graph(&h, &token, Method::DELETE, &one, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = graph(&h, &token, Method::GET, &one, None).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "ResourceNotFound"));
}

#[tokio::test]
async fn graph_renewals_change_only_the_expiry_and_the_url() {
    let h = Harness::new().await;
    authorized(&h, json!({"partnerName": "MicrosoftGraphAPI"})).await;
    let token = graph_token(&h).await;
    let (_, created) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
    let one = format!("{GRAPH}/{}", created["id"].as_str().unwrap());
    let renew = json!({"expirationDateTime": "2026-01-20T00:00:00+00:00"});
    let (s, b) = graph(&h, &token, Method::PATCH, &one, Some(renew)).await;
    assert_eq!(
        (s, &b["expirationDateTime"]),
        (StatusCode::OK, &json!("2026-01-20T00:00:00.0000000Z")),
        "{b}"
    );
    let soon = json!({"expirationDateTime": "2026-01-01T00:05:00Z"});
    let (_, b) = graph(&h, &token, Method::PATCH, &one, Some(soon)).await;
    assert_eq!(
        b["expirationDateTime"], "2026-01-01T00:45:00.0000000Z",
        "raised to 45 minutes"
    );
    for field in [
        "resource",
        "changeType",
        "clientState",
        "includeResourceData",
        "lifecycleNotificationUrl",
    ] {
        let (s, b) = graph(&h, &token, Method::PATCH, &one, Some(json!({field: "x"}))).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, "BadRequest"),
            "{field}: {b}"
        );
    }
    let far = json!({"expirationDateTime": "2026-02-01T00:00:00Z"});
    let (s, b) = graph(&h, &token, Method::PATCH, &one, Some(far)).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "ExtensionError"));
    let moved = json!({"notificationUrl": event_grid_url("t2")});
    let (s, b) = graph(&h, &token, Method::PATCH, &one, Some(moved)).await;
    assert_eq!(
        (s, &b["notificationUrl"]),
        (StatusCode::OK, &json!(event_grid_url("t2")))
    );
}

#[tokio::test]
async fn graph_subscriptions_expire_on_the_emulator_clock() {
    let h = Harness::new().await;
    authorized(&h, json!({"partnerName": "MicrosoftGraphAPI"})).await;
    let token = graph_token(&h).await;
    let mut short = body("t", 1);
    short["expirationDateTime"] = json!("2026-01-01T00:10:00Z");
    let (_, created) = graph(&h, &token, Method::POST, GRAPH, Some(short)).await;
    assert_eq!(
        created["expirationDateTime"],
        "2026-01-01T00:45:00.0000000Z"
    );
    let one = format!("{GRAPH}/{}", created["id"].as_str().unwrap());
    h.advance(44 * 60).await;
    let (s, _) = graph(&h, &token, Method::GET, &one, None).await;
    assert_eq!(s, StatusCode::OK, "not yet");
    h.advance(60).await;
    let (s, b) = graph(&h, &token, Method::GET, &one, None).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    let (_, b) = graph(&h, &token, Method::GET, GRAPH, None).await;
    assert_eq!(b["value"], json!([]));
}

#[tokio::test]
async fn graph_lists_page_with_an_odata_next_link() {
    let h = Harness::with_config(Config::default()).await;
    authorized(&h, json!({"partnerName": "MicrosoftGraphAPI"})).await;
    let token = graph_token(&h).await;
    let page = gridform::emulator::graph_api::subscriptions::PAGE_SIZE;
    for _ in 0..=page {
        let (s, b) = graph(&h, &token, Method::POST, GRAPH, Some(body("t", 24))).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (_, first) = graph(&h, &token, Method::GET, GRAPH, None).await;
    assert_eq!(first["value"].as_array().unwrap().len(), page);
    let next = first["@odata.nextLink"].as_str().unwrap();
    let path = next.strip_prefix("http://emulator.test").unwrap();
    let (s, second) = graph(&h, &token, Method::GET, path, None).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_eq!(second["value"].as_array().unwrap().len(), 1);
    assert!(second.get("@odata.nextLink").is_none());
    let mut ids: Vec<&str> = first["value"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["value"].as_array().unwrap())
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), page + 1, "every subscription once");
}

#[tokio::test]
async fn graph_answers_injected_faults_with_retry_after() {
    let faulty = |spec: &str| Config {
        faults: gridform::emulator::FaultSpec::parse(spec).unwrap(),
        ..Config::default()
    };
    let h = Harness::with_config(faulty("429=1")).await;
    let token = graph_token(&h).await;
    let auth = format!("Bearer {token}");
    let (s, headers, b) = h
        .raw(
            Method::GET,
            GRAPH,
            &[("authorization", auth.as_str())],
            None,
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests")
    );
    assert_eq!(headers["retry-after"], "1");
    let h = Harness::with_config(faulty("5xx=1")).await;
    let token = graph_token(&h).await;
    let (s, b) = graph(&h, &token, Method::GET, GRAPH, None).await;
    let expected = match s.as_u16() {
        503 => "serviceNotAvailable",
        _ => "generalException",
    };
    assert!(matches!(s.as_u16(), 500 | 503), "{s}");
    assert_eq!(code(&b), expected);
}
