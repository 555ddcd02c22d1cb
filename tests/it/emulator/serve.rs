//! The emulator over real sockets: `serve` on 127.0.0.1:0 with the webhook validation handshake
//! against a local receiver, and the `gridform emulator serve` binary (first stdout line, SIGTERM
//! flush; `kill -9` durability is in `state_db.rs`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use axum::Router;
use axum::routing::post;
use gridform::emulator::{self, Clock, Config, Emulator};
use serde_json::{Value, json};

pub(super) const SUB: &str = "11111111-2222-3333-4444-555555555555";
const EG: &str = "api-version=2025-02-15";
pub(super) const RS: &str = "api-version=2021-04-01";

pub(super) struct Client {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) token: String,
}

impl Client {
    pub(super) async fn connect(base: &str) -> Self {
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{base}/tenant/oauth2/v2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&client_id=a&client_secret=b&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        Self {
            http,
            base: base.to_string(),
            token: body["access_token"].as_str().unwrap().to_string(),
        }
    }

    pub(super) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// A webhook receiver on loopback: `/ok` echoes the validation code, `/wrong` answers junk, `/fail` 500s.
async fn receiver() -> String {
    async fn ok(body: axum::body::Bytes) -> axum::Json<Value> {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        axum::Json(json!({"validationResponse": v[0]["data"]["validationCode"]}))
    }
    async fn wrong() -> axum::Json<Value> {
        axum::Json(json!({"validationResponse": "nope"}))
    }
    async fn fail() -> axum::http::StatusCode {
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn ce_ok(headers: axum::http::HeaderMap) -> impl axum::response::IntoResponse {
        let origin = headers["webhook-request-origin"]
            .to_str()
            .unwrap()
            .to_string();
        ([("webhook-allowed-origin", origin)], "")
    }
    async fn ce_refuse() -> &'static str {
        ""
    }
    let app = Router::new()
        .route("/ok", post(ok))
        .route("/wrong", post(wrong))
        .route("/fail", post(fail))
        .route("/ce-ok", axum::routing::options(ce_ok))
        .route("/ce-refuse", axum::routing::options(ce_refuse));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn serve_runs_the_webhook_handshake_against_loopback_receivers() {
    let emu = Emulator::new(Config::default(), Clock::system());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator::serve_until(
        listener,
        None,
        emu,
        std::future::pending(),
    ));
    let hooks = receiver().await;
    let c = Client::connect(&base).await;
    let (s, _) = c
        .send(
            reqwest::Method::POST,
            &format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid/register?{RS}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = c
        .send(
            reqwest::Method::PUT,
            &format!("/subscriptions/{SUB}/resourcegroups/rg?{RS}"),
            Some(json!({"location": "westus2"})),
        )
        .await;
    assert_eq!(s, 201);
    let topic = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/orders"
    );
    let (s, b) = c
        .send(
            reqwest::Method::PUT,
            &format!("{topic}?{EG}"),
            Some(json!({"location": "westus2"})),
        )
        .await;
    assert_eq!(s, 201);
    assert!(
        b["properties"]["endpoint"]
            .as_str()
            .unwrap()
            .starts_with(&base)
    );

    let sub = |url: String| json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url}}}});
    let (s, b) = c
        .send(
            reqwest::Method::PUT,
            &format!("{topic}/eventSubscriptions/good?{EG}"),
            Some(sub(format!("{hooks}/ok?key=secret"))),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["properties"]["destination"]["properties"]["endpointBaseUrl"],
        format!("{hooks}/ok")
    );
    for path in ["wrong", "fail"] {
        let (s, b) = c
            .send(
                reqwest::Method::PUT,
                &format!("{topic}/eventSubscriptions/{path}sub?{EG}"),
                Some(sub(format!("{hooks}/{path}?key=secret"))),
            )
            .await;
        assert_eq!(s, 400, "{b}");
        assert_eq!(b["error"]["code"], "Url validation");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Webhook validation handshake failed") && !message.contains("secret"),
            "{message}"
        );
        let (s, _) = c
            .send(
                reqwest::Method::GET,
                &format!("{topic}/eventSubscriptions/{path}sub?{EG}"),
                None,
            )
            .await;
        assert_eq!(s, 404, "a failed handshake creates nothing");
    }
    // CloudEvents delivery uses the OPTIONS abuse-protection handshake instead.
    let ce = |url: String| json!({"properties": {"eventDeliverySchema": "CloudEventSchemaV1_0", "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url}}}});
    let (s, b) = c
        .send(
            reqwest::Method::PUT,
            &format!("{topic}/eventSubscriptions/cloudevents?{EG}"),
            Some(ce(format!("{hooks}/ce-ok"))),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = c
        .send(
            reqwest::Method::PUT,
            &format!("{topic}/eventSubscriptions/cloudrefused?{EG}"),
            Some(ce(format!("{hooks}/ce-refuse"))),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("Url validation")),
        "{b}"
    );
    let (s, b) = c
        .send(
            reqwest::Method::PUT,
            &format!("{topic}/eventSubscriptions/cloudsink?{EG}"),
            Some(ce(format!("{base}/_emulator/sink/ce"))),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    // The emulator's own sink answers the handshake too.
    let (s, b) = c
        .send(
            reqwest::Method::PUT,
            &format!("{topic}/eventSubscriptions/sinksub?{EG}"),
            Some(sub(format!("{base}/_emulator/sink/orders"))),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = c.send(reqwest::Method::GET, "/_emulator/sink", None).await;
    assert!(b["value"].as_array().unwrap().iter().any(|r| {
        r["url"]
            .as_str()
            .unwrap()
            .contains("/_emulator/sink/orders")
    }));
}

pub(super) fn spawn(state: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridform"))
        .args([
            "emulator",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
            "--throttle",
            "off",
            "--state",
        ])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "first stdout line: {line:?}"
    );
    (child, base)
}

pub(super) fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(sig)
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn binary_prints_base_url_and_flushes_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.json");
    let (mut child, base) = spawn(&state);
    let c = Client::connect(&base).await;
    let (s, _) = c
        .send(
            reqwest::Method::PUT,
            &format!("/subscriptions/{SUB}/resourcegroups/kept?{RS}"),
            Some(json!({"location": "westus2"})),
        )
        .await;
    assert_eq!(s, 201);
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    // The database is checkpointed on exit: the row is in the main file.
    let text = String::from_utf8_lossy(&std::fs::read(&state).unwrap()).into_owned();
    assert!(text.contains("/resourceGroups/kept"));

    // A restart sees the same world, and old tokens still verify (the key is in the state).
    let (mut child, base) = spawn(&state);
    let c2 = Client { base, ..c };
    let (s, _) = c2
        .send(
            reqwest::Method::GET,
            &format!("/subscriptions/{SUB}/resourcegroups/kept?{RS}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    signal(&child, "-TERM");
    child.wait().unwrap();

    std::fs::write(&state, r#"{"version": 99}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gridform"))
        .args(["emulator", "serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("format version 99"));
}

#[tokio::test]
async fn tls_serves_https_with_the_self_signed_certificate() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    let cert = emulator::tls::self_signed().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert_der.clone()).unwrap();
    let config = Config {
        scheme: "https",
        ca_pem: Some(cert.cert_pem.clone()),
        ..Config::default()
    };
    let emu = Emulator::new(config, Clock::system());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        emulator::serve_until(listener, Some(&cert), emu, async {
            let _ = stop_rx.await;
        })
        .await
    });
    // A plain-text client gets no HTTP answer from the TLS port (and does not stall the server).
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut junk = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        plain.read_to_end(&mut junk),
    )
    .await;
    assert!(!String::from_utf8_lossy(&junk).starts_with("HTTP/1.1"));

    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    for host in ["localhost", "127.0.0.1"] {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from(host).unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(
            b"GET /_emulator/ca.pem HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut buf = Vec::new();
        let _ = tls.read_to_end(&mut buf).await;
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("BEGIN CERTIFICATE"));
    }
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}

#[test]
fn binary_with_tls_prints_an_https_url_and_writes_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridform"))
        .args([
            "emulator",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--state",
        ])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("https://127.0.0.1:"), "{line:?}");
    let pem = std::fs::read_to_string(dir.path().join("emulator.ca.pem")).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    signal(&child, "-TERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn spawn_local_keeps_one_world_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config {
        state_file: Some(dir.path().join(".gridform/emulator.json")),
        ..Config::default()
    };
    let running = emulator::spawn_local(config()).await.unwrap();
    let c = Client::connect(&running.base_url).await;
    let (s, _) = c
        .send(
            reqwest::Method::PUT,
            &format!("/subscriptions/{SUB}/resourcegroups/shared?{RS}"),
            Some(json!({"location": "westus2"})),
        )
        .await;
    assert_eq!(s, 201);
    let resp = c
        .http
        .get(format!(
            "{}/subscriptions/{SUB}/resourcegroups/shared?{RS}",
            c.base
        ))
        .bearer_auth(&c.token)
        .header("x-ms-client-request-id", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-ms-client-request-id"], "abc");
    assert!(resp.headers().contains_key("x-ms-request-id"));
    running.shutdown().await.unwrap();
    let running = emulator::spawn_local(config()).await.unwrap();
    let c = Client {
        base: running.base_url.clone(),
        ..c
    };
    let (s, _) = c
        .send(
            reqwest::Method::GET,
            &format!("/subscriptions/{SUB}/resourcegroups/shared?{RS}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn latency_and_connection_resets_are_applied_over_sockets() {
    let config = Config {
        latency: std::time::Duration::from_millis(50),
        faults: gridform::emulator::FaultSpec::parse("reset=1").unwrap(),
        ..Config::default()
    };
    let emu = Emulator::new(config, Clock::system());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator::serve_until(
        listener,
        None,
        emu,
        std::future::pending(),
    ));
    let started = std::time::Instant::now();
    let c = Client::connect(&base).await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(50),
        "latency applies to every request"
    );
    let result = async {
        let resp = c
            .http
            .get(format!("{base}/subscriptions/{SUB}/resourcegroups?{RS}"))
            .bearer_auth(&c.token)
            .send()
            .await?;
        resp.bytes().await
    }
    .await;
    assert!(
        result.is_err(),
        "an injected reset must break the response: {result:?}"
    );
}

static MANUAL_URL: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[tokio::test]
async fn a_200_without_the_code_waits_for_manual_validation() {
    async fn manual(body: axum::body::Bytes) -> axum::Json<Value> {
        let v: Value = serde_json::from_slice(&body).unwrap();
        MANUAL_URL
            .lock()
            .unwrap()
            .push(v[0]["data"]["validationUrl"].as_str().unwrap().to_string());
        axum::Json(json!({}))
    }
    let hooks_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hooks = format!("http://{}", hooks_listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(hooks_listener, Router::new().route("/manual", post(manual))).await
    });

    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let emu = Emulator::new(Config::default(), Clock::fixed(start));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator::serve_until(
        listener,
        None,
        emu,
        std::future::pending(),
    ));
    let c = Client::connect(&base).await;
    c.send(
        reqwest::Method::POST,
        &format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid/register?{RS}"),
        None,
    )
    .await;
    c.send(
        reqwest::Method::PUT,
        &format!("/subscriptions/{SUB}/resourcegroups/rg?{RS}"),
        Some(json!({"location": "westus2"})),
    )
    .await;
    let topic = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/orders"
    );
    c.send(
        reqwest::Method::PUT,
        &format!("{topic}?{EG}"),
        Some(json!({"location": "westus2"})),
    )
    .await;
    let sub = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": format!("{hooks}/manual")}}}});
    for name in ["manual1", "manual2"] {
        let (s, b) = c
            .send(
                reqwest::Method::PUT,
                &format!("{topic}/eventSubscriptions/{name}?{EG}"),
                Some(sub.clone()),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["properties"]["provisioningState"], "AwaitingManualAction");
    }
    let urls = MANUAL_URL.lock().unwrap().clone();
    assert_eq!(urls.len(), 2);
    assert!(
        urls[0].starts_with(&format!("{base}/_emulator/validate?id=")),
        "{urls:?}"
    );
    let resp = reqwest::get(&urls[0]).await.unwrap();
    assert_eq!(resp.status(), 200);
    let (_, b) = c
        .send(
            reqwest::Method::GET,
            &format!("{topic}/eventSubscriptions/manual1?{EG}"),
            None,
        )
        .await;
    assert_eq!(b["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        reqwest::get(&urls[0]).await.unwrap().status(),
        400,
        "a code works once"
    );
    // The second one is not validated within 10 minutes.
    reqwest::Client::new()
        .post(format!("{base}/_emulator/clock"))
        .body(r#"{"advanceSeconds": 601}"#)
        .send()
        .await
        .unwrap();
    let (_, b) = c
        .send(
            reqwest::Method::GET,
            &format!("{topic}/eventSubscriptions/manual2?{EG}"),
            None,
        )
        .await;
    assert_eq!(b["properties"]["provisioningState"], "Failed");
    assert_eq!(reqwest::get(&urls[1]).await.unwrap().status(), 400);
}
