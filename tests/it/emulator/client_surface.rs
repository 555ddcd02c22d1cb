//! Router tests for what the Azure CLI and the JavaScript SDKs need (issue 16 parts 1 and 2):
//! every Event Grid api-version they send, old Microsoft.Resources versions, `/metadata/endpoints`,
//! the default subscription in the caller's tenant, GUID tenants in tokens, locations,
//! `verifiedPartners`, `topicTypes` / `eventTypes`, the aggregated event subscription lists and
//! unregistration ending `Unregistered`.

use crate::support::router::*;
use axum::http::{Method, StatusCode};
use base64::Engine;
use serde_json::{Value, json};

const VERSIONS: &[&str] = &[
    "2021-10-15-preview",
    "2021-12-01",
    "2022-06-15",
    "2023-06-01-preview",
    "2023-12-15-preview",
    "2024-06-01-preview",
    "2024-12-15-preview",
    "2025-02-15",
];

fn claims(token: &str) -> Value {
    let body = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn is_guid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

fn names(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn every_client_event_grid_api_version_is_served_and_listed() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    for v in VERSIONS {
        let (s, _, b) = h
            .put(
                &format!("{topic}?api-version={v}"),
                json!({"location": "westus2"}),
            )
            .await;
        assert!(s.is_success(), "{v}: {s} {b}");
        let (s, b) = h.get(&format!("{topic}?api-version={v}")).await;
        assert_eq!(s, StatusCode::OK, "{v}: {b}");
        assert_eq!(b["properties"]["provisioningState"], "Succeeded", "{v}");
        let list = format!("{}?api-version={v}", eg_path("rg", "topics"));
        assert_eq!(h.get(&list).await.0, StatusCode::OK, "{v}");
    }
    let (_, b) = h
        .get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.EventGrid?{RS}"
        ))
        .await;
    for t in b["resourceTypes"].as_array().unwrap() {
        let listed = t["apiVersions"].as_array().unwrap();
        for v in VERSIONS {
            assert!(listed.contains(&json!(v)), "{}: {v}", t["resourceType"]);
        }
    }
    let types: Vec<&str> = b["resourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["resourceType"].as_str().unwrap())
        .collect();
    for t in ["topics", "verifiedPartners", "topicTypes"] {
        assert!(types.contains(&t), "{types:?}");
    }
}

#[tokio::test]
async fn metadata_endpoints_describe_the_emulator_as_a_cloud() {
    let h = Harness::new().await;
    for path in ["/metadata/endpoints", "//metadata/endpoints"] {
        let (s, _, b) = h
            .raw(
                Method::GET,
                &format!("{path}?api-version=2022-09-01"),
                &[],
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(b["resourceManager"], "http://emulator.test/");
        assert_eq!(
            b["authentication"]["loginEndpoint"],
            "http://emulator.test/"
        );
        let audience = b["authentication"]["audiences"][0].as_str().unwrap();
        assert!(audience.starts_with("https://management."), "{audience}");
    }
    let (s, _, b) = h
        .raw(
            Method::GET,
            "/metadata/endpoints?api-version=2019-05-01",
            &[],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b[0]["resourceManager"], "http://emulator.test/");
}

#[tokio::test]
async fn the_default_subscription_is_listed_in_the_callers_tenant() {
    let h = Harness::new().await;
    let tenant = "7a1c3e5f-0000-4000-8000-00000000ca13";
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let body = "grant_type=client_credentials&client_id=a&client_secret=b&scope=https%3A%2F%2Fmanagement.azure.com%2F.default";
    let (s, _, t) = h
        .raw(
            Method::POST,
            &format!("/{tenant}/oauth2/v2.0/token"),
            &form,
            Some(body.into()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["tid"], tenant);
    let auth = format!("Bearer {token}");
    for v in ["2016-06-01", "2022-12-01"] {
        let (s, _, b) = h
            .raw(
                Method::GET,
                &format!("/subscriptions?api-version={v}"),
                &[("authorization", &auth)],
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}: {b}");
        assert_eq!(b["value"].as_array().unwrap().len(), 1, "{b}");
        assert!(is_guid(&b["value"][0]["subscriptionId"]));
        assert_eq!(b["value"][0]["tenantId"], tenant);
    }
    // A token asked for under a name (not a GUID) still carries a GUID tenant.
    assert!(is_guid(&claims(&h.token)["tid"]));
}

#[tokio::test]
async fn managed_identity_tokens_carry_guid_tenant_and_app() {
    let h = Harness::new().await;
    for (path, header) in [
        ("/msi/token", "x-identity-header"),
        ("/metadata/identity/oauth2/token", "metadata"),
    ] {
        let uri = format!("{path}?resource=https://management.azure.com/&api-version=2019-08-01");
        let (s, _, b) = h.raw(Method::GET, &uri, &[(header, "true")], None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        let c = claims(b["access_token"].as_str().unwrap());
        assert!(is_guid(&c["tid"]) && is_guid(&c["appid"]), "{path}: {c}");
    }
}

#[tokio::test]
async fn locations_are_listed_per_subscription() {
    let h = Harness::new().await;
    let (s, b) = h
        .get(&format!(
            "/subscriptions/{SUB}/locations?api-version=2022-12-01"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let westus2 = b["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "westus2")
        .unwrap();
    assert_eq!(westus2["displayName"], "West US 2");
    assert_eq!(
        westus2["id"],
        format!("/subscriptions/{SUB}/locations/westus2")
    );
}

#[tokio::test]
async fn verified_partners_list_auth0_and_graph_with_their_immutable_ids() {
    let h = Harness::new().await;
    for v in ["2022-06-15", "2025-02-15"] {
        let base = "/providers/Microsoft.EventGrid/verifiedPartners";
        let (s, b) = h.get(&format!("{base}?api-version={v}")).await;
        let both = vec!["Auth0".to_string(), "MicrosoftGraphAPI".to_string()];
        assert_eq!((s, names(&b)), (StatusCode::OK, both));
        let (s, b) = h.get(&format!("{base}/auth0?api-version={v}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            b["properties"]["partnerRegistrationImmutableId"],
            "804a11ca-ce9b-4158-8e94-3c8dc7a072ec"
        );
        let (s, b) = h
            .get(&format!("{base}/microsoftgraphapi?api-version={v}"))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            b["properties"]["partnerRegistrationImmutableId"],
            "c02e0126-707c-436d-b6a1-175d2748fb58"
        );
        let (s, _) = h.get(&format!("{base}/Contoso?api-version={v}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, _) = h
        .get("/providers/Microsoft.EventGrid/verifiedPartners?api-version=2019-06-01")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn topic_types_and_their_event_types() {
    let h = Harness::new().await;
    let base = "/providers/Microsoft.EventGrid/topicTypes";
    let (s, b) = h.get(&format!("{base}?{EG}")).await;
    assert_eq!(s, StatusCode::OK);
    let all = names(&b);
    for t in [
        "Microsoft.SignalRService.SignalR",
        "Microsoft.Resources.Subscriptions",
        "Microsoft.EventGrid.Topics",
    ] {
        assert!(all.contains(&t.to_string()), "{all:?}");
    }
    let (s, b) = h
        .get(&format!("{base}/microsoft.signalrservice.signalr?{EG}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["properties"]["resourceRegionType"], "RegionalResource");
    let (s, b) = h
        .get(&format!(
            "{base}/Microsoft.SignalRService.SignalR/eventTypes?{EG}"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(names(&b).contains(&"Microsoft.SignalRService.ClientConnectionConnected".into()));
    let (s, _) = h.get(&format!("{base}/Microsoft.Nothing.Here?{EG}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A webhook subscription body (example.com receivers are not called by the router tests).
fn to_hook(path: &str) -> Value {
    json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": format!("https://hooks.example.com/api/{path}")}}}})
}

#[tokio::test]
async fn regional_and_topic_type_event_subscription_lists() {
    let h = Harness::new().await;
    h.setup().await;
    let topic = eg_path("rg", "topics/orders");
    h.put(&format!("{topic}?{EG}"), json!({"location": "westus2"}))
        .await;
    let system = eg_path("rg", "systemTopics/chat");
    let source = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.SignalRService/SignalR/chat"
    );
    let (s, _, b) = h
        .put(
            &format!("{system}?{EG}"),
            json!({"location": "westus2", "properties": {"source": source, "topicType": "Microsoft.SignalRService.SignalR"}}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let subs = [
        format!("{topic}/eventSubscriptions/on-topic"),
        format!("{system}/eventSubscriptions/on-signalr"),
        format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid/eventSubscriptions/on-sub"),
        format!(
            "{}/providers/Microsoft.EventGrid/eventSubscriptions/on-rg",
            rg_path("rg")
        ),
    ];
    for (i, sub) in subs.iter().enumerate() {
        let (s, _, b) = h.put(&format!("{sub}?{EG}"), to_hook(&i.to_string())).await;
        assert!(s.is_success(), "{sub}: {b}");
    }
    let eg = format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid");
    let in_rg = format!("{}/providers/Microsoft.EventGrid", rg_path("rg"));
    let cases = [
        (
            format!("{eg}/locations/westus2/eventSubscriptions"),
            vec!["on-signalr", "on-topic"],
        ),
        (
            format!("{in_rg}/locations/West%20US%202/eventSubscriptions"),
            vec!["on-signalr", "on-topic"],
        ),
        (format!("{eg}/locations/eastus/eventSubscriptions"), vec![]),
        (
            format!(
                "{eg}/locations/westus2/topicTypes/Microsoft.SignalRService.SignalR/eventSubscriptions"
            ),
            vec!["on-signalr"],
        ),
        (
            format!(
                "{in_rg}/locations/westus2/topicTypes/Microsoft.EventGrid.Topics/eventSubscriptions"
            ),
            vec!["on-topic"],
        ),
        (
            format!("{eg}/topicTypes/Microsoft.Resources.Subscriptions/eventSubscriptions"),
            vec!["on-sub"],
        ),
        (
            format!("{eg}/topicTypes/Microsoft.Resources.ResourceGroups/eventSubscriptions"),
            vec!["on-rg"],
        ),
        (
            format!("{in_rg}/topicTypes/Microsoft.Resources.ResourceGroups/eventSubscriptions"),
            vec!["on-rg"],
        ),
    ];
    for (path, wanted) in cases {
        let (s, b) = h.get(&format!("{path}?{EG}")).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        assert_eq!(names(&b), wanted, "{path}");
        for item in b["value"].as_array().unwrap() {
            assert_eq!(item["type"], "Microsoft.EventGrid/eventSubscriptions");
        }
    }
    // Paged (topics first, then system topics): the nextLink keeps the location escaped.
    let first = format!("{in_rg}/locations/West%20US%202/eventSubscriptions?{EG}&$top=1");
    let (s, b) = h.get(&first).await;
    assert_eq!(
        (s, names(&b)),
        (StatusCode::OK, vec!["on-topic".to_string()])
    );
    let next = b["nextLink"].as_str().unwrap();
    assert!(next.contains("/locations/West%20US%202/"), "{next}");
    let (s, b) = h.get(next.trim_start_matches("http://emulator.test")).await;
    assert_eq!(
        (s, names(&b)),
        (StatusCode::OK, vec!["on-signalr".to_string()])
    );
    let (s, _) = h
        .get(&format!(
            "{eg}/locations/westus2/eventSubscriptions?api-version=2019-06-01"
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unregistration_ends_unregistered_and_can_register_again() {
    let h = Harness::new().await;
    h.setup().await;
    let provider = format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid");
    let (s, b) = h.post(&format!("{provider}/unregister?{RS}"), None).await;
    assert_eq!(
        (s, b["registrationState"].as_str()),
        (StatusCode::OK, Some("Unregistering"))
    );
    let (_, b) = h.get(&format!("{provider}?{RS}")).await;
    assert_eq!(b["registrationState"], "Unregistered");
    let (_, b) = h.post(&format!("{provider}/unregister?{RS}"), None).await;
    assert_eq!(b["registrationState"], "Unregistered");
    let (s, _, _) = h
        .put(
            &format!("{}?{EG}", eg_path("rg", "topics/t")),
            json!({"location": "westus2"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    h.post(&format!("{provider}/register?{RS}"), None).await;
    let (_, b) = h.get(&format!("{provider}?{RS}")).await;
    assert_eq!(b["registrationState"], "Registered");
}
