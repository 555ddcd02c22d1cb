//! Router tests (no socket): statuses, ARM error bodies, api-version handling, state transitions.

use crate::support::router::*;
use axum::http::{Method, StatusCode};
use gridform::emulator::{Config, FaultSpec, ThrottleSpec};
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
        .get(&format!("{}?api-version=2014-01-01", rg_path("rg")))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "InvalidApiVersionParameter")
    );
    for v in ["2016-06-01", "2021-04-01", "2024-03-01", "2025-04-01"] {
        let (s, _) = h.get(&format!("{}?api-version={v}", rg_path("rg"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, b) = h
        .get(&format!(
            "{}?api-version=2019-06-01",
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
async fn lists_honour_name_filters_and_unregister_needs_an_empty_namespace() {
    let h = Harness::new().await;
    h.setup().await;
    for name in ["orders-1", "orders-2", "billing"] {
        let (s, _, _) = h
            .put(
                &format!("{}?{EG}", eg_path("rg", &format!("topics/{name}"))),
                json!({"location": "westus2"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let filter = "contains(name,%20'ORDERS')%20and%20name%20ne%20'orders-1'";
    let (s, b) = h
        .get(&format!(
            "{}?{EG}&$filter={filter}",
            eg_path("rg", "topics")
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let names: Vec<&str> = b["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["orders-2"]);
    let (s, b) = h
        .get(&format!(
            "{}?{EG}&$filter=location%20eq%20'westus'",
            eg_path("rg", "topics")
        ))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidRequest"));

    let unregister = format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid/unregister?{RS}");
    let (s, b) = h.post(&unregister, None).await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "Conflict"));
    let (s, _, _) = h
        .call(Method::DELETE, &format!("{}?{RS}", rg_path("rg")), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, b) = h.post(&unregister, None).await;
    assert_eq!(
        (s, b["registrationState"].as_str()),
        (StatusCode::OK, Some("Unregistering"))
    );
    let (_, b) = h
        .get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.EventGrid?{RS}"
        ))
        .await;
    assert_eq!(b["registrationState"], "Unregistered");
}

#[tokio::test]
async fn subscriptions_are_listed_and_malformed_ids_rejected() {
    let h = Harness::new().await;
    h.setup().await;
    let (s, b) = h.get(&format!("/subscriptions?{RS}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let ids: Vec<&str> = b["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subscriptionId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&SUB), "{ids:?}");
    let (s, b) = h.get(&format!("/subscriptions/{SUB}?{RS}")).await;
    assert_eq!((s, b["state"].as_str()), (StatusCode::OK, Some("Enabled")));
    let (s, b) = h
        .get(&format!("/subscriptions/not-a-guid/resourcegroups?{RS}"))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "InvalidSubscriptionId")
    );
}

#[tokio::test]
async fn hostile_requests_never_crash_the_router() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    h.put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    let paths = [
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/orders/eventSubscriptions/x/y/z?{EG}"
        ),
        format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid/eventSubscriptions/a/b/c?{EG}"),
        format!(
            "/subscriptions/{SUB}/providers/Microsoft.EventGrid/locations/x/operationsStatus/nope?{EG}"
        ),
        format!("/subscriptions/{SUB}/operationresults/nope?{RS}"),
        format!("{topic}?{EG}&$top=abc"),
        format!(
            "{}?{EG}&$filter=contains(name,%20'%C3%A9')",
            eg_path("rg", "topics")
        ),
        format!("{}?{EG}&$filter=%27%27%27", eg_path("rg", "topics")),
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/partnerConfigurations/notdefault?{EG}"
        ),
        format!("/subscriptions/{SUB}/resourcegroups/%F0%9F%92%A5?{RS}"),
        "/subscriptions//resourcegroups".to_string(),
        "/eventgrid/topics/x/api/events".to_string(),
        "/auth0/api/v2/log-streams/%00".to_string(),
    ];
    let bodies = [
        None,
        Some("null"),
        Some("[]"),
        Some("\"x\""),
        Some("{\"properties\": []}"),
        Some("{\"location\": {}}"),
        Some("\u{0}"),
    ];
    let auth = format!("Bearer {}", h.token);
    for path in &paths {
        for method in [
            Method::GET,
            Method::PUT,
            Method::PATCH,
            Method::POST,
            Method::DELETE,
        ] {
            for body in bodies {
                let (s, _, b) = h
                    .raw(
                        method.clone(),
                        path,
                        &[
                            ("authorization", &auth),
                            ("content-type", "application/json"),
                        ],
                        body.map(str::to_string),
                    )
                    .await;
                assert!(s.as_u16() < 500, "{method} {path} {body:?} -> {s} {b}");
            }
        }
    }
}
