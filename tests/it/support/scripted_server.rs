//! A scripted HTTP server on 127.0.0.1:0 for client tests: every request is recorded and
//! answered by a closure. It is for client behaviour the emulator cannot be made to show (exact
//! request shapes, malformed bodies, scripted failures); tests that need Azure's behaviour run
//! against the emulator instead (`support::World`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gridform::arm::lro::LroConfig;
use gridform::arm::pacing::PacingConfig;
use gridform::arm::retry::RetryPolicy;
use gridform::arm::{ArmClient, ArmClientOptions, TokenSource};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A scripted response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: vec![],
            body: String::new(),
        }
    }
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }
    pub fn with_body(mut self, body: &str) -> Self {
        self.body = body.into();
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = Arc<dyn Fn(&Req, usize) -> Resp + Send + Sync>;

#[derive(Clone)]
struct AppState {
    handler: Handler,
    log: Arc<Mutex<Vec<Req>>>,
}

/// A running scripted server.
pub struct Server {
    pub base: url::Url,
    pub log: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
}

async fn handle(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = {
        let mut log = s.log.lock().unwrap();
        log.push(req.clone());
        log.len() - 1
    };
    let r = (s.handler)(&req, n);
    let mut resp = (StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
    for (k, v) in r.headers {
        resp.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    resp
}

fn app(
    handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static,
) -> (axum::Router, Arc<Mutex<Vec<Req>>>) {
    let state = AppState {
        handler: Arc::new(handler),
        log: Arc::default(),
    };
    let log = state.log.clone();
    (axum::Router::new().fallback(handle).with_state(state), log)
}

/// Serves `handler(request, index)` on 127.0.0.1:0.
pub async fn serve(handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> Server {
    let (app, log) = app(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        base: url::Url::parse(&format!("http://{addr}/")).unwrap(),
        log,
    }
}

/// Serves `handler` over HTTPS on 127.0.0.1:0 with the test-only certificate in
/// `tests/fixtures/arm-tls` (trust `tls_ca_pem()` to talk to it).
pub async fn serve_tls(handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> Server {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tower::ServiceExt;

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arm-tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (app, log) = app(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req| app.clone().oneshot(req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    Server {
        base: url::Url::parse(&format!("https://127.0.0.1:{}/", addr.port())).unwrap(),
        log,
    }
}

/// The PEM of the test CA that signed the TLS server's certificate.
pub fn tls_ca_pem() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arm-tls/ca.pem"),
    )
    .unwrap()
}

/// Options with tiny waits and no pacing.
pub fn fast_options() -> ArmClientOptions {
    ArmClientOptions {
        retry: RetryPolicy {
            max_retries: 4,
            initial_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            max_server_delay: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(10),
        },
        lro: LroConfig {
            default_interval: Duration::from_millis(5),
            min_interval: Duration::from_millis(1),
            max_interval: Duration::from_millis(50),
            deadline: Duration::from_secs(5),
        },
        pacing: PacingConfig {
            enabled: false,
            ..PacingConfig::default()
        },
        request_timeout: Duration::from_secs(5),
        page_size: 100,
    }
}

pub fn client(base: &url::Url, options: ArmClientOptions) -> ArmClient {
    let http = gridform::arm::client::http_client(options.request_timeout, None).unwrap();
    ArmClient::new(
        http,
        base.clone(),
        TokenSource::fixed("test-token"),
        options,
    )
}

pub const SUB: &str = "00000000-0000-0000-0000-000000000001";
