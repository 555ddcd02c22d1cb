//! `World`: the one way tests start an emulator for a client. The emulator runs in-process on
//! `127.0.0.1:0` (`gridform::emulator::spawn_local`, the server behind `gridform emulator serve`)
//! on a runtime of its own, beside a webhook receiver; `World` hands out tokens, reads and writes
//! through the emulator's HTTP API, and runs the real `gridform` binary against both. It works
//! from plain `#[test]`s and from inside `#[tokio::test]`s alike (it never blocks the caller's
//! runtime). It asserts nothing about the product: the tests do.

use std::future::Future;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridform::emulator::{Config, Emulator, Running, spawn_local};
use serde_json::{Value, json};

use super::{gridform, gridform_command};

/// The scope of ARM tokens.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The scope of Event Grid data-plane tokens.
pub const EVENT_GRID_SCOPE: &str = "https://eventgrid.azure.net/.default";

/// How long [`World::wait_until`] polls before giving up: a guard against hanging, far above
/// anything a passing run needs, not a bound the tests assert.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Notifications the receiver got: (request path, JSON body).
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A running emulator, a webhook receiver, and the environment that points `gridform` at them.
pub struct World {
    rt: Option<tokio::runtime::Runtime>,
    running: Option<Running>,
    /// `http://127.0.0.1:PORT` of the emulator.
    pub base_url: String,
    /// The emulator's handle (store, clock): to look inside it or to play the partner.
    pub emulator: Emulator,
    hook: String,
    local_function: String,
    received: Received,
}

impl World {
    /// An emulator with the default configuration.
    pub fn start() -> Self {
        Self::with_config(Config::default())
    }

    /// An emulator with `config` (latency, faults, throttling, time scale ...).
    pub fn with_config(config: Config) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let received = Received::default();
        let record = received.clone();
        let (running, hook) = on(&rt, async move {
            let running = spawn_local(config).await.unwrap();
            (running, serve_hook(record).await)
        });
        Self {
            base_url: running.base_url.clone(),
            emulator: running.emulator.clone(),
            rt: Some(rt),
            running: Some(running),
            local_function: format!("{hook}/local"),
            hook,
            received,
        }
    }

    /// Runs `future` on the world's runtime (from a helper thread, so this works inside a
    /// `#[tokio::test]` too).
    pub fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        on(self.rt.as_ref().unwrap(), future)
    }

    /// Stops serving and flushes the state file, as the binary does on exit.
    pub fn shutdown(mut self) -> std::io::Result<()> {
        let running = self.running.take().unwrap();
        self.block_on(running.shutdown())
    }

    /// The environment that points the binary at this world: the emulator URL, a 20 ms poll
    /// interval for domain waits, `HOOK` (the receiver) and `LOCAL_FUNCTION_URL` (`HOOK/local`,
    /// the examples' local webhook).
    pub fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("GRIDFORM_EMULATOR_URL", self.base_url.as_str()),
            ("GRIDFORM_POLL_MS", "20"),
            ("HOOK", self.hook.as_str()),
            ("LOCAL_FUNCTION_URL", self.local_function.as_str()),
        ]
    }

    /// Runs `gridform args` in `dir` against this world.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.run_with(dir, args, &[])
    }

    /// As [`World::run`], with `extra` variables added to (or overriding) [`World::env`].
    pub fn run_with(&self, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
        gridform(dir, args, &self.env_with(extra))
    }

    /// The `gridform args` command against this world, not yet started (to signal or kill it).
    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        gridform_command(dir, args, &self.env())
    }

    fn env_with<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut env = self.env();
        env.retain(|(k, _)| extra.iter().all(|(e, _)| e != k));
        env.extend_from_slice(extra);
        env
    }

    /// A token from the emulator's Azure AD endpoint for `scope` ([`ARM_SCOPE`] or
    /// [`EVENT_GRID_SCOPE`]).
    pub fn token(&self, scope: &str) -> String {
        let url = format!("{}/tenant/oauth2/v2.0/token", self.base_url);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", "test"),
            ("client_secret", "test"),
            ("scope", scope),
        ];
        let token: Value = self.block_on(async move {
            let resp = reqwest::Client::new().post(url).form(&form).send().await;
            resp.unwrap().json().await.unwrap()
        });
        token["access_token"].as_str().unwrap().to_string()
    }

    /// A token from the emulator's Auth0 for its Management API.
    pub fn auth0_token(&self) -> String {
        let base = &self.base_url;
        let url = format!("{base}/auth0/oauth/token");
        let body = json!({"grant_type": "client_credentials", "client_id": "test",
                          "client_secret": "test", "audience": format!("{base}/auth0/api/v2/")});
        let token: Value = self.block_on(async move {
            let resp = reqwest::Client::new().post(url).json(&body).send().await;
            resp.unwrap().json().await.unwrap()
        });
        token["access_token"].as_str().unwrap().to_string()
    }

    /// GET `path` (from the root, query included) with an ARM token: the JSON body.
    pub fn arm_get(&self, path: &str) -> Value {
        let token = self.token(ARM_SCOPE);
        self.get_json(path, token)
    }

    /// GET `path` (under `/auth0/api/v2`, from the root) with an Auth0 token: the JSON body.
    pub fn auth0_get(&self, path: &str) -> Value {
        let token = self.auth0_token();
        self.get_json(path, token)
    }

    fn get_json(&self, path: &str, token: String) -> Value {
        let url = format!("{}{path}", self.base_url);
        self.block_on(async move {
            let resp = reqwest::Client::new().get(url).bearer_auth(token).send();
            resp.await.unwrap().json().await.unwrap()
        })
    }

    /// PUT `body` to `path` (from the root, query included) with an ARM token: the status.
    pub fn arm_put(&self, path: &str, body: &Value) -> reqwest::StatusCode {
        let token = self.token(ARM_SCOPE);
        self.send(reqwest::Method::PUT, path, body, Some(token))
    }

    /// Sends `body` to an emulator control endpoint (`/_emulator/...`, no token): the status.
    pub fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::StatusCode {
        self.send(method, path, body, None)
    }

    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        token: Option<String>,
    ) -> reqwest::StatusCode {
        let url = format!("{}{path}", self.base_url);
        let body = body.clone();
        self.block_on(async move {
            let mut req = reqwest::Client::new().request(method, url).json(&body);
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            req.send().await.unwrap().status()
        })
    }

    /// The webhook receiver's base URL. It answers the validation handshake, records every
    /// notification with its path, and answers 503 under `/fail`; under `/manual` it answers
    /// the validation event 200 without the code (and records it), as a webhook that leaves
    /// the handshake to a person does.
    pub fn hook(&self) -> &str {
        &self.hook
    }

    /// The notifications the receiver got under paths starting with `prefix`, oldest first.
    pub fn received(&self, prefix: &str) -> Vec<Value> {
        let got = self.received.lock().unwrap();
        got.iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Waits until the receiver got at least `n` notifications under `prefix`: all of them.
    pub fn wait_for_hook(&self, prefix: &str, n: usize) -> Vec<Value> {
        let mut got = Vec::new();
        self.wait_until(&format!("{n} notification(s) under {prefix}"), || {
            got = self.received(prefix);
            got.len() >= n
        });
        got
    }

    /// Polls `done` every 20 ms until it holds (panics naming `what` after [`HANG_GUARD`]).
    pub fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < HANG_GUARD, "never happened: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Dropping `Running` closes its stop channel; the runtime then goes without blocking.
        drop(self.running.take());
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Runs `future` on `rt` from a scoped thread (a runtime cannot block inside another one).
fn on<F>(rt: &tokio::runtime::Runtime, future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| rt.block_on(future))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Serves the webhook receiver on 127.0.0.1:0: its base URL.
async fn serve_hook(record: Received) -> String {
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::IntoResponse;
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(
            move |uri: Uri, headers: HeaderMap, axum::Json(v): axum::Json<Value>| {
                let record = record.clone();
                async move {
                    let kind = headers.get("aeg-event-type");
                    let validation = kind.is_some_and(|k| k == "SubscriptionValidation");
                    if validation && uri.path().starts_with("/manual") {
                        // 200 without `validationResponse`: the manual handshake.
                        record.lock().unwrap().push((uri.path().to_string(), v));
                        return StatusCode::OK.into_response();
                    }
                    if validation {
                        let code = &v[0]["data"]["validationCode"];
                        return axum::Json(json!({"validationResponse": code})).into_response();
                    }
                    record.lock().unwrap().push((uri.path().to_string(), v));
                    if uri.path().starts_with("/fail") {
                        StatusCode::SERVICE_UNAVAILABLE.into_response()
                    } else {
                        StatusCode::OK.into_response()
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}
