//! The emulator tests' harness: a router driven with `oneshot` (no socket), a token,
//! and a registered subscription with a resource group.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use gridform::emulator::{self, Clock, Config, Emulator};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const SUB: &str = "11111111-2222-3333-4444-555555555555";
pub const EG: &str = "api-version=2025-02-15";
pub const RS: &str = "api-version=2021-04-01";

pub fn rg_path(rg: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}")
}

pub fn eg_path(rg: &str, rest: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.EventGrid/{rest}")
}

pub struct Harness {
    pub emu: Emulator,
    pub token: String,
}

pub fn start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

impl Harness {
    pub async fn new() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        // `open`: with a `state_file`, the world is kept in that database.
        let emu = Emulator::open(config, Clock::fixed(start())).unwrap();
        let mut h = Self {
            emu,
            token: String::new(),
        };
        let (status, _, body) = h
            .raw(
                Method::POST,
                "/tenant-1/oauth2/v2.0/token",
                &[("content-type", "application/x-www-form-urlencoded")],
                Some("grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=https%3A%2F%2Fmanagement.azure.com%2F.default".into()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        h.token = body["access_token"].as_str().unwrap().to_string();
        h
    }

    pub async fn raw(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "emulator.test");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let resp = emulator::router(self.emu.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, value)
    }

    /// An authenticated ARM call; `uri` gets no api-version added.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let auth = format!("Bearer {}", self.token);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        self.raw(method, uri, &headers, body.map(|b| b.to_string()))
            .await
    }

    pub async fn put(&self, uri: &str, body: Value) -> (StatusCode, HeaderMap, Value) {
        self.call(Method::PUT, uri, Some(body)).await
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.call(Method::GET, uri, None).await;
        (s, b)
    }

    pub async fn post(&self, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (s, _, b) = self.call(Method::POST, uri, body).await;
        (s, b)
    }

    /// Registers Microsoft.EventGrid (zero delay: settles on the next request) and creates `rg`.
    pub async fn setup(&self) {
        let (s, b) = self
            .post(
                &format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid/register?{RS}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, _, b) = self
            .put(
                &format!("{}?{RS}", rg_path("rg")),
                json!({"location": "westus2"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    pub async fn advance(&self, secs: u64) {
        let (s, _, _) = self
            .raw(
                Method::POST,
                "/_emulator/clock",
                &[("content-type", "application/json")],
                Some(json!({"advanceSeconds": secs}).to_string()),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
}
