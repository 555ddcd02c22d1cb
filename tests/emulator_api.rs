//! Router tests (no socket): statuses, ARM error bodies, api-version handling, state transitions.

#[path = "emulator_helpers.rs"]
mod helpers;

use axum::http::{Method, StatusCode};
use gridform::emulator::{Config, FaultSpec, ThrottleSpec};
use helpers::*;
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

#[tokio::test]
async fn arm_needs_a_valid_token() {
    let h = Harness::new().await;
    let uri = format!("/subscriptions/{SUB}/resourcegroups?{RS}");
    let (s, headers, b) = h.raw(Method::GET, &uri, &[], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&b), "InvalidAuthenticationToken");
    assert!(headers.contains_key("x-ms-request-id"));
    assert!(headers.contains_key("www-authenticate"));
    let (s, _, b) = h
        .raw(
            Method::GET,
            &uri,
            &[("authorization", "Bearer abc.def.ghi")],
            None,
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken")
    );
    // Expired after the token lifetime on the emulator clock.
    let (s, _) = h.get(&uri).await;
    assert_eq!(s, StatusCode::OK);
    h.advance(3600).await;
    let (s, b) = h.get(&uri).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn token_endpoint_shapes_and_errors() {
    let h = Harness::new().await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let (s, _, b) = h
        .raw(Method::POST, "/t/oauth2/v2.0/token", &form, Some("grant_type=client_credentials&client_id=a&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z&scope=https%3A%2F%2Fmanagement.azure.com%2F.default".into()))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3599);
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/t/oauth2/v2.0/token",
            &form,
            Some("grant_type=password".into()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "unsupported_grant_type");
    let (s, _, b) = h
        .raw(
            Method::POST,
            "/t/oauth2/v2.0/token",
            &form,
            Some("grant_type=client_credentials&client_id=a&scope=x".into()),
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (s, _, b) = h
        .raw(
            Method::GET,
            "/msi/token?resource=https://management.azure.com/&api-version=2019-08-01",
            &[("x-identity-header", "h")],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["expires_on"].is_string());
    let auth = format!("Bearer {}", b["access_token"].as_str().unwrap());
    let (s, _, _) = h
        .raw(
            Method::GET,
            &format!("/subscriptions/{SUB}/resourcegroups?{RS}"),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn api_version_is_checked_per_namespace() {
    let h = Harness::new().await;
    h.setup().await;
    let (s, b) = h.get(&rg_path("rg")).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "MissingApiVersionParameter")
    );
    let (s, b) = h
        .get(&format!("{}?api-version=2019-01-01", rg_path("rg")))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "InvalidApiVersionParameter")
    );
    for v in ["2021-04-01", "2024-03-01", "2025-04-01"] {
        let (s, _) = h.get(&format!("{}?api-version={v}", rg_path("rg"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, b) = h
        .get(&format!(
            "{}?api-version=2022-06-15",
            eg_path("rg", "topics")
        ))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "NoRegisteredProviderFound")
    );
    let (s, _) = h.get(&format!("{}?{EG}", eg_path("rg", "topics"))).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_bad_json_and_wrong_methods_are_arm_shaped() {
    let h = Harness::new().await;
    h.setup().await;
    let (s, b) = h
        .get(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/widgets/w?{EG}"
        ))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NoRouteFound"));
    let (s, _, b) = h.raw(Method::GET, "/nowhere", &[], None).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NoRouteFound"));
    let auth = format!("Bearer {}", h.token);
    let (s, _, b) = h
        .raw(
            Method::PUT,
            &format!("{}?{EG}", eg_path("rg", "topics/topic1")),
            &[("authorization", &auth)],
            Some("{\"location\": ".into()),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "InvalidRequestContent")
    );
    let (s, _, b) = h
        .put(
            &format!("{}?{EG}", eg_path("rg", "topics/topic1")),
            json!({"location": 5}),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "LocationRequired"));
    let (s, _, b) = h
        .put(
            &format!("{}?{EG}", eg_path("rg", "topics/topic1")),
            json!({"location": "westus2", "tags": {"a": 1}}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "InvalidRequestContent")
    );
    let (s, b) = h.post(&format!("{}?{RS}", rg_path("rg")), None).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed")
    );
}

#[tokio::test]
async fn provider_registration_gates_event_grid_writes() {
    let config = Config {
        lro_delay: std::time::Duration::from_secs(10),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let (s, _, _) = h
        .put(
            &format!("{}?{RS}", rg_path("rg")),
            json!({"location": "westus2"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let topic = format!("{}?{EG}", eg_path("rg", "topics/topic1"));
    let (s, _, b) = h.put(&topic, json!({"location": "westus2"})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "MissingSubscriptionRegistration")
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not registered to use namespace 'Microsoft.EventGrid'")
    );
    let provider = format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid");
    let (s, b) = h.get(&format!("{provider}?{RS}")).await;
    assert_eq!(
        (s, b["registrationState"].as_str()),
        (StatusCode::OK, Some("NotRegistered"))
    );
    let (_, b) = h.post(&format!("{provider}/register?{RS}"), None).await;
    assert_eq!(b["registrationState"], "Registering");
    let (s, _, _) = h.put(&topic, json!({"location": "westus2"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    h.advance(10).await;
    let (_, b) = h.get(&format!("{provider}?{RS}")).await;
    assert_eq!(b["registrationState"], "Registered");
    let (s, _, _) = h.put(&topic, json!({"location": "westus2"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = h.get(&format!("/subscriptions/{SUB}/providers?{RS}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["value"].as_array().unwrap().len() > 3);
    let (s, b) = h
        .get(&format!(
            "/subscriptions/{SUB}/providers/Contoso.Nothing?{RS}"
        ))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "InvalidResourceNamespace")
    );
}

#[tokio::test]
async fn resource_groups_lifecycle_and_cascading_delete() {
    let config = Config {
        lro_delay: std::time::Duration::from_secs(5),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    h.setup().await;
    h.advance(5).await;
    let rg = format!("{}?{RS}", rg_path("rg"));
    let (s, _, b) = h
        .put(&rg, json!({"location": "westus2", "tags": {"env": "test"}}))
        .await;
    assert_eq!(
        (s, b["tags"]["env"].as_str()),
        (StatusCode::OK, Some("test"))
    );
    let (s, _, _) = h.call(Method::HEAD, &rg, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = h
        .call(Method::HEAD, &format!("{}?{RS}", rg_path("nope")), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, b) = h.put(&rg, json!({"location": "eastus"})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "InvalidResourceGroupLocation")
    );
    let (s, b) = h.get(&format!("{}?{RS}", rg_path("nope"))).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "ResourceGroupNotFound")
    );
    let (s, b) = h
        .get(&format!("{}?{EG}", eg_path("nope", "topics/t")))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "ResourceGroupNotFound")
    );
    let topic = format!("{}?{EG}", eg_path("rg", "topics/topic1"));
    let (s, _, _) = h.put(&topic, json!({"location": "westus2"})).await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, headers, _) = h.call(Method::DELETE, &rg, None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let location = headers["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://emulator.test/subscriptions/"));
    let poll = location.trim_start_matches("http://emulator.test");
    let (s, _) = h.get(poll).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (_, b) = h.get(&rg).await;
    assert_eq!(b["properties"]["provisioningState"], "Deleting");
    h.advance(5).await;
    let (s, _) = h.get(poll).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h.get(&rg).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The topic went with the group.
    h.put(&rg, json!({"location": "westus2"})).await;
    let (s, _) = h.get(&topic).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn topics_keys_patch_list_and_delete() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    let (s, headers, b) = h
        .put(
            &format!("{topic}?{EG}"),
            json!({"location": "westus2", "tags": {"a": "b"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(headers.contains_key("azure-asyncoperation"));
    let endpoint = b["properties"]["endpoint"].as_str().unwrap();
    assert!(endpoint.starts_with("http://emulator.test/"), "{endpoint}");
    assert_eq!(b["properties"]["provisioningState"], "Succeeded");
    // Second PUT is still 201 (Topics_CreateOrUpdate declares 201 only).
    let (s, _, _) = h
        .put(&format!("{topic}?{EG}"), json!({"location": "West US 2"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, b) = h
        .put(&format!("{topic}?{EG}"), json!({"location": "eastus"}))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    let (s, _, b) = h
        .put(
            &format!("{}?{EG}", eg_path("rg", "topics/a_b")),
            json!({"location": "westus2"}),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));

    let (s, keys) = h.post(&format!("{topic}/listKeys?{EG}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(keys["key1"].as_str().unwrap().len(), 44);
    let (s, b) = h
        .post(
            &format!("{topic}/regenerateKey?{EG}"),
            Some(json!({"keyName": "key2"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["key1"], keys["key1"]);
    assert_ne!(b["key2"], keys["key2"]);
    let (s, b) = h
        .post(
            &format!("{topic}/regenerateKey?{EG}"),
            Some(json!({"keyName": "key3"})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    let (_, b) = h.get(&format!("{topic}?{EG}")).await;
    assert!(
        b.to_string().find(keys["key1"].as_str().unwrap()).is_none(),
        "keys never in GET"
    );

    let (s, _, b) = h
        .call(
            Method::PATCH,
            &format!("{topic}?{EG}"),
            Some(json!({"tags": {"x": "y"}, "properties": {"publicNetworkAccess": "Disabled"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["tags"], json!({"x": "y"}));
    assert_eq!(b["properties"]["publicNetworkAccess"], "Disabled");

    let (_, b) = h.get(&format!("{}?{EG}", eg_path("rg", "topics"))).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);
    let (_, b) = h
        .get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.EventGrid/topics?{EG}"
        ))
        .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);

    let (s, headers, _) = h.call(Method::DELETE, &format!("{topic}?{EG}"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert!(headers.contains_key("location") && headers.contains_key("azure-asyncoperation"));
    let (s, b) = h.get(&format!("{topic}?{EG}")).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    let (s, _, _) = h.call(Method::DELETE, &format!("{topic}?{EG}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn long_running_operations_report_progress_then_success() {
    let config = Config {
        lro_delay: std::time::Duration::from_secs(30),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    h.setup().await;
    h.advance(30).await;
    let topic = eg_path("rg", "topics/slow");
    let (s, headers, b) = h
        .put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(b["properties"]["provisioningState"], "Creating");
    let op_url = headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .trim_start_matches("http://emulator.test")
        .to_string();
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let (s, b) = h.get(&op_url).await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::OK, Some("InProgress"))
    );
    let (_, b) = h.get(&format!("{topic}?{EG}")).await;
    assert_eq!(b["properties"]["provisioningState"], "Creating");
    h.advance(30).await;
    let (_, b) = h.get(&op_url).await;
    assert_eq!(b["status"], "Succeeded");
    let (_, b) = h.get(&format!("{topic}?{EG}")).await;
    assert_eq!(b["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn injected_lro_failures_and_server_errors() {
    let config = Config {
        faults: FaultSpec::parse("lro-fail=1").unwrap(),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    h.setup().await;
    let (s, headers, b) = h
        .put(
            &format!("{}?{EG}", eg_path("rg", "topics/doomed")),
            json!({"location": "westus2"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(b["properties"]["provisioningState"], "Failed");
    let op_url = headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .trim_start_matches("http://emulator.test")
        .to_string();
    let (_, b) = h.get(&op_url).await;
    assert_eq!(b["status"], "Failed");
    assert_eq!(b["error"]["code"], "ResourceOperationFailure");

    let (s, _, b) = h
        .raw(
            Method::PUT,
            "/_emulator/faults",
            &[],
            Some(json!({"spec": "5xx=1"}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = h.get(&format!("{}?{RS}", rg_path("rg"))).await;
    assert!(s == StatusCode::INTERNAL_SERVER_ERROR || s == StatusCode::SERVICE_UNAVAILABLE);
    assert!(b["error"]["code"].is_string());
    let (s, _, _) = h
        .raw(
            Method::PUT,
            "/_emulator/faults",
            &[],
            Some(json!({"spec": "nonsense"}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn throttling_counts_per_class_and_answers_429() {
    let config = Config {
        throttle: ThrottleSpec::parse("2,60,60").unwrap(),
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let uri = format!("/subscriptions/{SUB}/resourcegroups?{RS}");
    let (s, headers, _) = h.call(Method::GET, &uri, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers["x-ms-ratelimit-remaining-subscription-reads"], "1");
    h.call(Method::GET, &uri, None).await;
    let (s, headers, b) = h.call(Method::GET, &uri, None).await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::TOO_MANY_REQUESTS,
            "SubscriptionRequestsThrottled"
        )
    );
    assert_eq!(headers["retry-after"], "30");
    let (s, headers, _) = h
        .put(
            &format!("{}?{RS}", rg_path("rg")),
            json!({"location": "westus"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(headers.contains_key("x-ms-ratelimit-remaining-subscription-writes"));
    h.advance(30).await;
    let (s, _, _) = h.call(Method::GET, &uri, None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn pagination_uses_top_and_next_link() {
    let h = Harness::new().await;
    h.setup().await;
    for i in 0..5 {
        let (s, _, _) = h
            .put(
                &format!("{}?{EG}", eg_path("rg", &format!("topics/topic{i}"))),
                json!({"location": "westus2"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let mut uri = format!("{}?{EG}&$top=2", eg_path("rg", "topics"));
    let mut names = Vec::new();
    for _ in 0..5 {
        let (s, b) = h.get(&uri).await;
        assert_eq!(s, StatusCode::OK);
        names.extend(
            b["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        match b["nextLink"].as_str() {
            Some(next) => uri = next.trim_start_matches("http://emulator.test").to_string(),
            None => break,
        }
    }
    assert_eq!(names, ["topic0", "topic1", "topic2", "topic3", "topic4"]);
    let (s, b) = h
        .get(&format!("{}?{EG}&$top=0", eg_path("rg", "topics")))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));
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
