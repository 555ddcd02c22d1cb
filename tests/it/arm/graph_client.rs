//! The Microsoft Graph client (`gridform::graph`) against scripted servers: paging and its
//! origin rule, 404s, Graph's error bodies, throttling, the 401 hint, the token scope asked, and
//! `clientState` kept out of every error.

use std::time::Duration;

use crate::support::scripted_server::{Req, Resp, serve};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gridform::arm::retry::RetryPolicy;
use gridform::arm::{ConnectSettings, TokenSource};
use gridform::graph::GraphClient;
use serde_json::json;

const CANARY: &str = "canary-client-state-5f2e";

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_server_delay: Duration::from_secs(2),
        max_elapsed: Duration::from_secs(10),
    }
}

fn graph(base: &url::Url) -> GraphClient {
    let root = base.join("v1.0/").unwrap();
    GraphClient::new(
        reqwest::Client::new(),
        root,
        TokenSource::fixed("graph-token"),
        "https://graph.microsoft.com/.default",
    )
    .with_retry(fast())
}

/// Graph's error answer, with `innerError.request-id` when `request_id` is given.
fn graph_error(status: u16, code: &str, message: &str, request_id: Option<&str>) -> Resp {
    let mut error = json!({"code": code, "message": message});
    if let Some(id) = request_id {
        error["innerError"] = json!({"request-id": id, "date": "2026-11-21T10:00:00"});
    }
    Resp::json(status, json!({ "error": error }))
}

fn subscription(id: &str) -> serde_json::Value {
    json!({
        "id": id,
        "resource": "users",
        "changeType": "updated,deleted",
        "notificationUrl": "EventGrid:?azuresubscriptionid=s1&resourcegroup=rg&partnertopic=users&location=westeurope",
    })
}

fn new_subscription() -> serde_json::Value {
    json!({
        "changeType": "updated,deleted",
        "resource": "users",
        "notificationUrl": "EventGrid:?azuresubscriptionid=s1&resourcegroup=rg&partnertopic=users&location=westeurope",
        "lifecycleNotificationUrl": "EventGrid:?azuresubscriptionid=s1&resourcegroup=rg&partnertopic=users&location=westeurope",
        "expirationDateTime": "2026-12-20T00:00:00Z",
        "clientState": CANARY,
    })
}

#[tokio::test]
async fn the_list_follows_next_links_on_the_same_origin() {
    let srv = serve(|req: &Req, _| {
        if req.query_param("$skiptoken").as_deref() == Some("p2") {
            return Resp::json(200, json!({"value": [subscription("g2")]}));
        }
        let next = format!(
            "http://{}/v1.0/subscriptions?$skiptoken=p2",
            req.header("host").unwrap()
        );
        Resp::json(
            200,
            json!({"value": [subscription("g1")], "@odata.nextLink": next}),
        )
    })
    .await;
    let client = graph(&srv.base);
    let all = client.list_subscriptions().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["g1", "g2"]);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.path == "/v1.0/subscriptions"));
    assert_eq!(reqs[0].header("authorization"), Some("Bearer graph-token"));
    assert_eq!(client.request_counts().reads, 2);
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_refused_and_paging_is_bounded() {
    let srv = serve(|_, _| {
        Resp::json(
            200,
            json!({"value": [], "@odata.nextLink": "https://evil.example/v1.0/subscriptions?$skiptoken=secret"}),
        )
    })
    .await;
    let err = graph(&srv.base).list_subscriptions().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("another origin https://evil.example"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    assert_eq!(srv.requests().len(), 1);

    // A server that always has one more page.
    let endless = serve(|req: &Req, n| {
        let next = format!(
            "http://{}/v1.0/subscriptions?$skiptoken={n}",
            req.header("host").unwrap()
        );
        Resp::json(200, json!({"value": [], "@odata.nextLink": next}))
    })
    .await;
    let err = graph(&endless.base)
        .with_max_pages(3)
        .list_subscriptions()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than 3 pages"), "{err}");
    assert_eq!(endless.requests().len(), 3);
}

#[tokio::test]
async fn missing_subscriptions_are_none_and_deleting_one_is_success() {
    let srv = serve(|_, _| {
        graph_error(
            404,
            "ResourceNotFound",
            "The object was not found.",
            Some("rid-404"),
        )
    })
    .await;
    let client = graph(&srv.base);
    assert!(client.get_subscription("g/1").await.unwrap().is_none());
    assert!(!client.delete_subscription("g1").await.unwrap());
    let reqs = srv.requests();
    assert_eq!(reqs[0].path, "/v1.0/subscriptions/g%2F1");
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        ("DELETE", "/v1.0/subscriptions/g1")
    );
}

#[tokio::test]
async fn error_bodies_name_method_path_status_code_message_and_request_id() {
    let message = "Subscription expiration can only be 41760 minutes in the future.";
    let srv = serve(move |_, _| graph_error(400, "InvalidRequest", message, Some("rid-7"))).await;
    let err = graph(&srv.base)
        .update_subscription("g1", &json!({"expirationDateTime": "2027-12-01T00:00:00Z"}))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some("InvalidRequest"))
    );
    assert!(!err.is_transient());
    let text = err.to_string();
    for part in [
        "PATCH",
        "`/v1.0/subscriptions/g1`",
        "400",
        "InvalidRequest",
        "41760 minutes",
        "request-id rid-7",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    assert!(!text.contains("hint:"), "{text}");
}

#[tokio::test]
async fn throttling_is_retried_after_the_servers_delay() {
    let srv = serve(|_, n| match n {
        0 => graph_error(429, "TooManyRequests", "slow down", None).header("retry-after", "0"),
        1 => Resp::new(503).header("retry-after", "0"),
        _ => Resp::json(200, subscription("g1")),
    })
    .await;
    let got = graph(&srv.base)
        .get_subscription("g1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got["id"], "g1");
    assert_eq!(srv.requests().len(), 3);
}

#[tokio::test]
async fn a_refused_token_gets_a_permission_hint_and_is_not_looped() {
    let srv = serve(|_, _| {
        let denied = "Insufficient privileges to complete the operation.";
        graph_error(403, "Authorization_RequestDenied", denied, None)
            .header("request-id", "hdr-rid")
    })
    .await;
    let err = graph(&srv.base)
        .create_subscription(&json!({"resource": "groups", "clientState": CANARY}))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("hint:") && text.contains("Group.Read.All"),
        "{text}"
    );
    assert!(text.contains("request-id hdr-rid"), "{text}");

    let unauthorized = serve(|_, _| {
        let invalid = "Access token validation failure.";
        graph_error(401, "InvalidAuthenticationToken", invalid, None)
    })
    .await;
    let err = graph(&unauthorized.base)
        .list_subscriptions()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("401") && text.contains("hint:") && text.contains("User.Read.All"),
        "{text}"
    );
    // A fixed token cannot be refreshed: one request, no loop.
    assert_eq!(unauthorized.requests().len(), 1);
}

#[tokio::test]
async fn client_state_appears_in_no_error() {
    // A server that quotes what it refused.
    let srv = serve(|_, _| {
        let quoted = format!("clientState '{CANARY}' is invalid");
        graph_error(400, "InvalidRequest", &quoted, None)
    })
    .await;
    let client = graph(&srv.base);
    let refused = client
        .create_subscription(&new_subscription())
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(text.contains("InvalidRequest"), "{text}");
    assert!(!text.contains(CANARY), "{text}");
    assert!(!format!("{refused:?}").contains(CANARY));

    // A success body cut short (it echoes the clientState).
    let cut =
        serve(|_, _| Resp::new(201).with_body(&format!(r#"{{"id":"g1","clientState":"{CANARY}""#)))
            .await;
    let malformed = graph(&cut.base)
        .create_subscription(&new_subscription())
        .await
        .unwrap_err();
    let text = malformed.to_string();
    assert!(text.contains("malformed body"), "{text}");
    assert!(!text.contains(CANARY), "{text}");
    // The create was sent once, its body whole.
    assert_eq!(cut.requests().len(), 1);
    assert_eq!(cut.requests()[0].json()["clientState"], CANARY);
}

fn jwt(claims: serde_json::Value) -> String {
    let enc = |v: &str| URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.sig",
        enc(r#"{"alg":"none"}"#),
        enc(&claims.to_string())
    )
}

#[tokio::test]
async fn the_token_is_asked_for_graphs_scope_and_the_source_comes_from_its_claims() {
    let token =
        jwt(json!({"aud": "https://graph.microsoft.com", "tid": "tenant-1", "appid": "app-1"}));
    let srv = serve(move |req: &Req, _| {
        if req.path.ends_with("/oauth2/v2.0/token") {
            return Resp::json(200, json!({"access_token": token, "expires_in": 3599}));
        }
        Resp::json(200, json!({"value": [subscription("g1")]}))
    })
    .await;
    let settings = ConnectSettings {
        emulator_url: Some(srv.base.to_string()),
        ..Default::default()
    };
    let client = gridform::graph::connect(&settings, &reqwest::Client::new(), &|_| None)
        .unwrap()
        .with_retry(fast());
    assert_eq!(client.base().path(), "/graph/v1.0/");
    assert_eq!(client.list_subscriptions().await.unwrap().len(), 1);
    assert_eq!(
        client.source().await.unwrap(),
        "/tenants/tenant-1/applications/app-1"
    );
    let reqs = srv.requests();
    let token_req = reqs
        .iter()
        .find(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .unwrap();
    let scope = url::form_urlencoded::parse(token_req.body.as_bytes())
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        scope.as_deref(),
        Some("https://graph.microsoft.com/.default")
    );
    assert!(reqs.iter().any(|r| r.path == "/graph/v1.0/subscriptions"));
}

#[tokio::test]
async fn configured_ids_make_the_source_without_a_token() {
    let srv = serve(|_, _| Resp::new(500)).await;
    let client = graph(&srv.base).with_identity(Some("t".into()), Some("a".into()));
    assert_eq!(client.source().await.unwrap(), "/tenants/t/applications/a");
    assert!(srv.requests().is_empty());
}

#[tokio::test]
async fn reauthorize_posts_and_a_lost_create_is_not_resent() {
    let srv = serve(|req: &Req, _| match req.path.as_str() {
        "/v1.0/subscriptions/g1/reauthorize" => Resp::new(204),
        _ => Resp::new(500),
    })
    .await;
    let client = graph(&srv.base);
    client.reauthorize_subscription("g1").await.unwrap();
    // A create answered 500 may have been applied: not resent.
    let err = client
        .create_subscription(&new_subscription())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(!err.to_string().contains(CANARY));
    let posts = srv
        .requests()
        .iter()
        .filter(|r| r.path == "/v1.0/subscriptions")
        .count();
    assert_eq!(posts, 1);
}
