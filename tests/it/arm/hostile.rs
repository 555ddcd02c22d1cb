//! The ARM, token-endpoint and Auth0 clients against a hostile or broken server (scripted
//! loopback): redirects to another origin, absurd delays and lifetimes, endless `nextLink`s,
//! giant bodies, and a table of malformed responses that must each end in an error — never a
//! panic, a hang or a success — whose text carries no secret of the request.

use gridform::arm::auth::Credential;
use gridform::arm::pacing::PacingConfig;
use gridform::arm::{ArmApi, ArmClient, Chosen, Collection, TokenSource};
use gridform::auth0::Auth0Client;
use gridform::model::{ResourceId, Sensitive};
use serde_json::json;

use crate::support::scripted_server::{Resp, SUB, client, fast_options, serve};

const CANARY: &str = "canary-7f3a9c";

fn topic(name: &str) -> ResourceId {
    ResourceId::resource_group(SUB, "rg").provider_resource("Microsoft.EventGrid", "topics", name)
}

fn topic_body(name: &str) -> serde_json::Value {
    json!({"id": topic(name).to_string(), "name": name, "type": "Microsoft.EventGrid/topics",
           "location": "westeurope", "properties": {"provisioningState": "Succeeded"}})
}

/// A PUT body carrying the canary the way a subscription carries a webhook secret.
fn secret_body() -> serde_json::Value {
    json!({"location": "westeurope", "properties": {
        "endpointUrl": format!("https://hook.example/x?code={CANARY}")}})
}

fn http() -> reqwest::Client {
    gridform::arm::client::http_client(std::time::Duration::from_secs(5), None).unwrap()
}

fn auth0_env(k: &str) -> Option<String> {
    match k {
        "AUTH0_DOMAIN" => Some("tenant.example.auth0.com".to_string()),
        "AUTH0_CLIENT_SECRET" => Some(CANARY.to_string()),
        _ => None,
    }
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_no_body_follows_it() {
    let elsewhere = serve(|_, _| Resp::json(200, topic_body("t1"))).await;
    let target = elsewhere.base.join("stolen?x=1").unwrap().to_string();
    let (t1, t2) = (target.clone(), target.clone());
    let srv = serve(move |req, _| {
        let status = if req.method == "PUT" { 307 } else { 302 };
        Resp::new(status).header("location", &t1)
    })
    .await;
    let arm = client(&srv.base, fast_options());
    let err = arm.put(&topic("t1"), &secret_body()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("another origin"), "{text}");
    assert!(!text.contains(CANARY), "{text}");
    let err = arm.get(&topic("t1")).await.unwrap_err().to_string();
    assert!(err.contains("another origin"), "{err}");
    assert_eq!(elsewhere.requests().len(), 0, "followed to {t2}");
    // Refused, not retried: one PUT and one GET reached the redirecting server.
    assert_eq!(srv.requests().len(), 2);
}

#[tokio::test]
async fn the_token_endpoint_and_auth0_refuse_redirects_to_another_origin() {
    let elsewhere =
        serve(|_, _| Resp::json(200, json!({"access_token": "evil", "expires_in": 3600}))).await;
    let target = elsewhere.base.join("token").unwrap().to_string();
    let srv = serve(move |_, _| Resp::new(307).header("location", &target)).await;
    let tokens = TokenSource::emulator(
        http(),
        &srv.base,
        "tenant",
        "client",
        Credential::Secret(Sensitive::new(CANARY.into())),
        "https://management.azure.com/.default",
        Chosen::ClientSecret,
    )
    .unwrap();
    let arm = ArmClient::new(http(), srv.base.clone(), tokens, fast_options());
    let err = arm.get(&topic("t1")).await.unwrap_err().to_string();
    assert!(err.contains("another origin"), "{err}");
    assert!(!err.contains(CANARY), "{err}");

    let a0 = Auth0Client::from_env(http(), &auth0_env, Some(&srv.base))
        .unwrap()
        .with_retry(fast_options().retry);
    let err = a0.list_log_streams().await.unwrap_err().to_string();
    assert!(err.contains("another origin"), "{err}");
    assert!(!err.contains(CANARY), "{err}");
    assert_eq!(elsewhere.requests().len(), 0);
}

/// A client that paces (so a 429 holds the lane) and gives up at once (so no test sleeps).
fn pacing_client(base: &url::Url) -> ArmClient {
    let mut options = fast_options();
    options.pacing = PacingConfig::default();
    options.retry.max_retries = 0;
    client(base, options)
}

#[tokio::test]
async fn absurd_server_delays_do_not_panic() {
    for (name, value) in [
        ("retry-after", "18446744073709551615"),
        ("retry-after", "1e20"),
        ("x-ms-retry-after-ms", "1e30"),
        ("retry-after-ms", "1e300"),
    ] {
        let srv = serve(move |_, _| {
            Resp::json(
                429,
                json!({"error": {"code": "Throttled", "message": "slow"}}),
            )
            .header(name, value)
        })
        .await;
        let err = pacing_client(&srv.base)
            .get(&topic("t1"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(429), "{name}: {value}: {err}");
    }
}

#[tokio::test]
async fn huge_token_lifetimes_and_auth0_delays_do_not_panic() {
    let srv = serve(|req, _| {
        // The ARM token endpoint (`/tenant/oauth2/v2.0/token`) and Auth0's (`/auth0/oauth/token`).
        if req.path.ends_with("/token") {
            Resp::json(200, json!({"access_token": "t", "expires_in": u64::MAX}))
        } else if req.path.contains("log-streams") {
            Resp::json(
                429,
                json!({"statusCode": 429, "error": "Too Many Requests"}),
            )
            .header("retry-after", "1e20")
        } else {
            Resp::json(200, topic_body("t1"))
        }
    })
    .await;
    let tokens = TokenSource::emulator(
        http(),
        &srv.base,
        "tenant",
        "client",
        Credential::Secret(Sensitive::new(CANARY.into())),
        "https://management.azure.com/.default",
        Chosen::ClientSecret,
    )
    .unwrap();
    let arm = ArmClient::new(http(), srv.base.clone(), tokens, fast_options());
    assert!(arm.get(&topic("t1")).await.unwrap().is_some());
    let mut retry = fast_options().retry;
    retry.max_retries = 0;
    let a0 = Auth0Client::from_env(http(), &auth0_env, Some(&srv.base))
        .unwrap()
        .with_retry(retry);
    let err = a0.list_log_streams().await.unwrap_err().to_string();
    assert!(err.contains("429"), "{err}");
}

fn topics() -> Collection {
    Collection::eventgrid(&ResourceId::resource_group(SUB, "rg"), "topics")
}

#[tokio::test]
async fn a_next_link_back_to_a_page_seen_before_fails_naming_the_collection() {
    let srv = serve(|req, n| {
        // Page 0 → page 1 → page 0 again.
        let next = format!(
            "http://{}{}?page={}",
            req.header("host").unwrap(),
            req.path,
            n % 2
        );
        Resp::json(200, json!({"value": [topic_body("t1")], "nextLink": next}))
    })
    .await;
    let arm = client(&srv.base, fast_options());
    let err = arm.list(&topics()).await.unwrap_err().to_string();
    assert!(err.contains("/topics"), "{err}");
    assert!(err.contains("seen before"), "{err}");
    assert!(srv.requests().len() <= 3, "{}", srv.requests().len());
}

#[tokio::test]
async fn a_giant_body_is_cut_off_naming_the_request() {
    let srv = serve(|_, _| Resp::new(200).with_body(&"x".repeat(5 * 1024 * 1024))).await;
    let arm = client(&srv.base, fast_options());
    let err = arm.get(&topic("t1")).await.unwrap_err().to_string();
    assert!(err.contains("GET"), "{err}");
    assert!(err.contains("/topics/t1"), "{err}");
    assert!(err.contains("MiB"), "{err}");
    assert!(!err.contains("api-version"), "{err}");
}

/// One malformed answer: what every request gets (`{base}` is replaced by the server's own
/// origin, `{other}` by another server's).
struct Case {
    name: &'static str,
    /// The operations that must fail (a list page is a fine PUT answer to a lenient client).
    ops: &'static [&'static str],
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
}

const ALL: &[&str] = &["PUT", "GET", "list"];
const LIST: &[&str] = &["list"];

const fn case(
    name: &'static str,
    ops: &'static [&'static str],
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
) -> Case {
    Case {
        name,
        ops,
        status,
        headers,
        body,
    }
}

const MALFORMED: &[Case] = &[
    case(
        "truncated JSON",
        ALL,
        200,
        &[],
        r#"{"id": "/subscriptions/x", "name":"#,
    ),
    case(
        "wrong types",
        ALL,
        200,
        &[],
        r#"{"id": 5, "name": [], "properties": "x", "value": 7}"#,
    ),
    case(
        "huge numbers",
        ALL,
        200,
        &[],
        r#"{"id": 1e400, "value": [1e400], "nextLink": 1e400}"#,
    ),
    case("null", ALL, 200, &[], "null"),
    case("empty body", ALL, 200, &[], ""),
    case("not JSON", ALL, 200, &[], "<html>oops</html>"),
    case(
        "error echoing the request",
        ALL,
        400,
        &[],
        "{\"error\": {\"code\": \"Bad\", \"message\": \"{echo}\"}}",
    ),
    case(
        "transient error echoing",
        ALL,
        500,
        &[("retry-after", "0")],
        "{\"error\": {\"message\": \"{echo}\"}}",
    ),
    case(
        "throttled with an absurd delay",
        ALL,
        429,
        &[("x-ms-retry-after-ms", "1e30"), ("retry-after", "0")],
        "",
    ),
    case(
        "redirect to another origin",
        ALL,
        302,
        &[("location", "{other}stolen")],
        "",
    ),
    case(
        "307 to another origin",
        ALL,
        307,
        &[("location", "{other}stolen?code=x")],
        "",
    ),
    case(
        "redirect loop on the same origin",
        ALL,
        307,
        &[("location", "{base}again")],
        "",
    ),
    case(
        "301 on the same origin",
        ALL,
        301,
        &[("location", "{base}moved")],
        "",
    ),
    case(
        "operation on another origin",
        ALL,
        201,
        &[("azure-asyncoperation", "{other}op")],
        r#"{"error": 1}"#,
    ),
    case(
        "endless nextLink to itself",
        LIST,
        200,
        &[],
        r#"{"value": [], "nextLink": "{self}"}"#,
    ),
    case("value not a list", LIST, 200, &[], r#"{"value": {"a": 1}}"#),
    case(
        "list items without ids",
        LIST,
        200,
        &[],
        r#"{"value": [{}, 5, null]}"#,
    ),
];

fn fill(text: &str, base: &str, other: &str, this: &str, echo: &str) -> String {
    text.replace("{base}", base)
        .replace("{other}", other)
        .replace("{self}", this)
        .replace("{echo}", &echo.replace('"', "'"))
}

#[tokio::test]
async fn malformed_server_responses_end_in_errors_without_secrets() {
    gridform::model::secret::register([CANARY.to_string()]);
    let elsewhere = serve(|_, _| Resp::json(200, topic_body("t1"))).await;
    let other = elsewhere.base.to_string();
    for c in MALFORMED {
        let other = other.clone();
        let srv = serve(move |req, _| {
            let host = req.header("host").unwrap_or_default();
            let base = format!("http://{host}/");
            let this = format!("http://{host}{}?{}", req.path, req.query);
            let mut r =
                Resp::new(c.status).with_body(&fill(c.body, &base, &other, &this, &req.body));
            for (k, v) in c.headers {
                r = r.header(k, &fill(v, &base, &other, &this, ""));
            }
            r
        })
        .await;
        let mut options = fast_options();
        options.retry.max_server_delay = std::time::Duration::from_millis(1);
        let arm = client(&srv.base, options);
        let put = arm.put(&topic("t1"), &secret_body()).await;
        let list = arm.list(&topics()).await.map(|_| ());
        let outcomes = [
            ("PUT", put.map(|_| ())),
            ("GET", arm.get(&topic("t1")).await.map(|_| ())),
            ("list", list),
        ];
        for (what, outcome) in outcomes {
            if !c.ops.contains(&what) {
                continue;
            }
            let Err(e) = outcome else {
                panic!("{}: {what} succeeded", c.name);
            };
            let text = e.to_string();
            let shown = gridform::model::secret::scrub_run(&text);
            assert!(!shown.contains(CANARY), "{}: {what}: {shown}", c.name);
        }
        assert_eq!(elsewhere.requests().len(), 0, "{}: followed", c.name);
    }
}
