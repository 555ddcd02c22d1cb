//! Router tests (no socket) for the partner side: partner configurations, the simulated Auth0
//! partner and its log streams, partner topics (activation, expiry on the emulator clock).

use crate::support::router::*;
use axum::http::{Method, StatusCode};
use gridform::emulator::Config;
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

#[tokio::test]
async fn partner_configuration_authorize_and_unauthorize() {
    let h = Harness::new().await;
    h.setup().await;
    let cfg = eg_path("rg", "partnerConfigurations/default");
    let (s, b) = h
        .post(
            &format!("{cfg}/authorizePartner?{EG}"),
            Some(json!({"partnerName": "Auth0"})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    let (s, _, b) = h.put(&format!("{cfg}?{EG}"), json!({"properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 10}}})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["location"], "global");
    let (s, _, b) = h.put(&format!("{cfg}?{EG}"), json!({"properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 400}}})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    let (s, b) = h
        .post(
            &format!("{cfg}/authorizePartner?{EG}"),
            Some(json!({"partnerName": "Auth0"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let list = &b["properties"]["partnerAuthorization"]["authorizedPartnersList"];
    assert_eq!(list[0]["partnerName"], "Auth0");
    assert_eq!(
        list[0]["authorizationExpirationTimeInUtc"],
        "2026-01-11T00:00:00.0000000Z"
    );
    let (s, b) = h.post(&format!("{cfg}/authorizePartner?{EG}"), Some(json!({"partnerName": "Other", "authorizationExpirationTimeInUtc": "2027-01-01T00:00:00Z"}))).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    let (s, _, b) = h
        .call(
            Method::PATCH,
            &format!("{cfg}?{EG}"),
            Some(json!({"properties": {"defaultMaximumExpirationTimeInDays": 100}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["properties"]["partnerAuthorization"]["defaultMaximumExpirationTimeInDays"],
        100
    );
    assert_eq!(
        b["properties"]["partnerAuthorization"]["authorizedPartnersList"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, b) = h
        .post(
            &format!("{cfg}/unauthorizePartner?{EG}"),
            Some(json!({"partnerName": "auth0"})),
        )
        .await;
    assert_eq!(
        b["properties"]["partnerAuthorization"]["authorizedPartnersList"],
        json!([])
    );
    let (_, b) = h
        .get(&format!("{}?{EG}", eg_path("rg", "partnerConfigurations")))
        .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);
    assert!(b.get("nextLink").is_none());
    let (_, b) = h
        .get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.EventGrid/partnerConfigurations?{EG}"
        ))
        .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);
    let (s, _, _) = h.call(Method::DELETE, &format!("{cfg}?{EG}"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = h.get(&format!("{cfg}?{EG}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn auth0_log_stream_creates_partner_topic_only_when_authorized() {
    let config = Config {
        lro_delay: std::time::Duration::from_secs(2),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    h.setup().await;
    h.advance(2).await;
    let json_ct = [("content-type", "application/json")];
    let (s, _, b) = h
        .raw(Method::POST, "/auth0/oauth/token", &json_ct, Some(json!({"grant_type": "client_credentials", "client_id": "c", "client_secret": "s", "audience": "https://tenant.auth0.com/api/v2/"}).to_string()))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let auth = format!("Bearer {}", b["access_token"].as_str().unwrap());
    let headers = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    let (s, _, _) = h
        .raw(Method::GET, "/auth0/api/v2/log-streams", &[], None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let arm_auth = format!("Bearer {}", h.token);
    let (s, _, _) = h
        .raw(
            Method::GET,
            "/auth0/api/v2/log-streams",
            &[("authorization", &arm_auth)],
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "ARM tokens are not Auth0 tokens"
    );

    let stream = |name: &str| json!({"name": name, "type": "eventgrid", "sink": {"azureSubscriptionId": SUB, "azureResourceGroup": "rg", "azureRegion": "westus2"}});
    // Not authorized: suspended, no topic.
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/auth0/api/v2/log-streams",
            &headers,
            Some(stream("first").to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let first = b["id"].as_str().unwrap().to_string();
    h.advance(2).await;
    let (_, _, b) = h
        .raw(
            Method::GET,
            &format!("/auth0/api/v2/log-streams/{first}"),
            &headers,
            None,
        )
        .await;
    assert_eq!(b["status"], "suspended");
    let (_, b) = h
        .get(&format!("{}?{EG}", eg_path("rg", "partnerTopics")))
        .await;
    assert_eq!(b["value"], json!([]));

    // Authorized: the partner topic appears after the delay, NeverActivated.
    let cfg = eg_path("rg", "partnerConfigurations/default");
    h.put(&format!("{cfg}?{EG}"), json!({"properties": {"partnerAuthorization": {"authorizedPartnersList": [{"partnerName": "Auth0"}]}}})).await;
    let (_, _, b) = h
        .raw(
            Method::POST,
            "/auth0/api/v2/log-streams",
            &headers,
            Some(stream("second").to_string()),
        )
        .await;
    let topic_name = b["sink"]["azurePartnerTopic"].as_str().unwrap().to_string();
    let topic = format!(
        "{}?{EG}",
        eg_path("rg", &format!("partnerTopics/{topic_name}"))
    );
    let (s, _) = h.get(&topic).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    h.advance(2).await;
    let (s, b) = h.get(&topic).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["properties"]["activationState"], "NeverActivated");
    assert!(
        b["properties"]["source"]
            .as_str()
            .unwrap()
            .contains("auth0")
    );

    // Sink is immutable; status can change.
    let (_, _, list) = h
        .raw(Method::GET, "/auth0/api/v2/log-streams", &headers, None)
        .await;
    let second = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "second")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, b) = h
        .raw(
            Method::PATCH,
            &format!("/auth0/api/v2/log-streams/{second}"),
            &headers,
            Some(json!({"sink": {"azureRegion": "eastus"}}).to_string()),
        )
        .await;
    assert_eq!(
        (s, b["statusCode"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(400))
    );
    let (s, _, b) = h
        .raw(
            Method::PATCH,
            &format!("/auth0/api/v2/log-streams/{second}"),
            &headers,
            Some(json!({"status": "paused"}).to_string()),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("paused")));

    // Activate / deactivate, then expiry does not apply to activated topics.
    let pt = eg_path("rg", &format!("partnerTopics/{topic_name}"));
    let (_, b) = h.post(&format!("{pt}/activate?{EG}"), None).await;
    assert_eq!(b["properties"]["activationState"], "Activated");
    let (_, b) = h.post(&format!("{pt}/deactivate?{EG}"), None).await;
    assert_eq!(b["properties"]["activationState"], "Deactivated");
    let (s, _, b) = h
        .call(
            Method::PATCH,
            &format!("{pt}?{EG}"),
            Some(json!({"tags": {"t": "1"}})),
        )
        .await;
    assert_eq!(
        (s, b["tags"]["t"].as_str()),
        (StatusCode::CREATED, Some("1"))
    );

    let (s, _, _) = h
        .raw(
            Method::DELETE,
            &format!("/auth0/api/v2/log-streams/{second}"),
            &headers,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, b) = h
        .raw(
            Method::GET,
            &format!("/auth0/api/v2/log-streams/{second}"),
            &headers,
            None,
        )
        .await;
    assert_eq!(
        (s, b["statusCode"].as_u64()),
        (StatusCode::NOT_FOUND, Some(404))
    );
    let (s, _, _) = h.raw(Method::POST, "/auth0/api/v2/log-streams", &headers, Some(json!({"type": "eventgrid", "sink": {"azureSubscriptionId": SUB, "azureResourceGroup": "rg", "azureRegion": "mars"}}).to_string())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn never_activated_partner_topics_expire_on_the_emulator_clock() {
    // An hour passes: longer than a token lives, so this test runs without auth.
    let h = Harness::with_config(Config {
        require_auth: false,
        ..Config::default()
    })
    .await;
    h.setup().await;
    let pt = eg_path("rg", "partnerTopics/pt1");
    let (s, _, b) = h.put(&format!("{pt}?{EG}"), json!({"location": "westus2", "properties": {"source": "x", "expirationTimeIfNotActivatedUtc": "2026-01-01T01:00:00Z"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, headers, b) = h.put(&format!("{pt}/eventSubscriptions/sub1?{EG}"), json!({"properties": {"destination": {"endpointType": "StorageQueue", "properties": {"resourceId": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acc"), "queueName": "q"}}}})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(headers.contains_key("azure-asyncoperation"));
    assert_eq!(
        b["type"],
        "Microsoft.EventGrid/partnerTopics/eventSubscriptions"
    );
    let (s, b) = h
        .post(
            &format!("{pt}/eventSubscriptions/sub1/getFullUrl?{EG}"),
            None,
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    h.advance(3599).await;
    let (s, _) = h.get(&format!("{pt}?{EG}")).await;
    assert_eq!(s, StatusCode::OK);
    h.advance(1).await;
    let (s, _) = h.get(&format!("{pt}?{EG}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn suspended_streams_resume_once_authorized_and_expired_authorizations_do_not_count() {
    let h = Harness::with_config(Config {
        require_auth: false,
        ..Config::default()
    })
    .await;
    h.setup().await;
    let json_ct = [("content-type", "application/json")];
    let stream = json!({"name": "s", "type": "eventgrid", "sink": {"azureSubscriptionId": SUB, "azureResourceGroup": "rg", "azureRegion": "eastus"}});
    let (_, _, b) = h
        .raw(
            Method::POST,
            "/auth0/api/v2/log-streams",
            &json_ct,
            Some(stream.to_string()),
        )
        .await;
    assert_eq!(b["status"], "suspended");
    let id = b["id"].as_str().unwrap().to_string();
    let topic = b["sink"]["azurePartnerTopic"].as_str().unwrap().to_string();
    let cfg = eg_path("rg", "partnerConfigurations/default");
    let (s, _, _) = h.put(&format!("{cfg}?{EG}"), json!({"properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 1, "authorizedPartnersList": [{"partnerRegistrationImmutableId": "804a11ca-ce9b-4158-8e94-3c8dc7a072ec"}]}}})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, b) = h
        .raw(
            Method::PATCH,
            &format!("/auth0/api/v2/log-streams/{id}"),
            &json_ct,
            Some(json!({"status": "active"}).to_string()),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("active")));
    let (s, b) = h
        .get(&format!(
            "{}?{EG}",
            eg_path("rg", &format!("partnerTopics/{topic}"))
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["location"], "eastus");
    // A day later the authorization has expired: a new stream is suspended.
    h.advance(86_400).await;
    let (_, _, b) = h
        .raw(
            Method::POST,
            "/auth0/api/v2/log-streams",
            &json_ct,
            Some(stream.to_string()),
        )
        .await;
    assert_eq!(b["status"], "suspended");
}

#[tokio::test]
async fn auth0_publishes_to_activated_partner_topics_only() {
    let h = Harness::with_config(Config {
        require_auth: false,
        ..Config::default()
    })
    .await;
    h.setup().await;
    let json_ct = [("content-type", "application/json")];
    let cfg = eg_path("rg", "partnerConfigurations/default");
    h.put(&format!("{cfg}?{EG}"), json!({"properties": {"partnerAuthorization": {"authorizedPartnersList": [{"partnerName": "Auth0"}]}}})).await;
    let stream = json!({"name": "s", "type": "eventgrid", "sink": {"azureSubscriptionId": SUB, "azureResourceGroup": "rg", "azureRegion": "westus2"}});
    let (_, _, b) = h
        .raw(
            Method::POST,
            "/auth0/api/v2/log-streams",
            &json_ct,
            Some(stream.to_string()),
        )
        .await;
    let id = b["id"].as_str().unwrap().to_string();
    let pt = eg_path(
        "rg",
        &format!(
            "partnerTopics/{}",
            b["sink"]["azurePartnerTopic"].as_str().unwrap()
        ),
    );
    let queue = json!({"properties": {"destination": {"endpointType": "StorageQueue", "properties": {"resourceId": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acc"), "queueName": "q"}}}});
    let (s, _, b) = h
        .put(&format!("{pt}/eventSubscriptions/logs?{EG}"), queue)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let events = json!([{"specversion": "1.0", "id": "1", "source": "x", "type": "auth0.log.s", "data": {}}]).to_string();
    let publish = format!("/_emulator/auth0/log-streams/{id}/events");
    let (s, _, _) = h
        .raw(Method::POST, &publish, &json_ct, Some(events.clone()))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "not activated yet");
    h.post(&format!("{pt}/activate?{EG}"), None).await;
    h.raw(Method::DELETE, "/_emulator/sink", &[], None).await;
    let (s, _, b) = h.raw(Method::POST, &publish, &json_ct, Some(events)).await;
    assert_eq!((s, b["deliveries"].as_u64()), (StatusCode::OK, Some(1)));
    let mut got = Value::Null;
    for _ in 0..50 {
        let (_, _, b) = h.raw(Method::GET, "/_emulator/sink", &[], None).await;
        if !b["value"].as_array().unwrap().is_empty() {
            got = b;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(got["value"][0]["body"][0]["type"], "auth0.log.s");
    assert!(
        got["value"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("StorageQueue:")
    );
}
