//! The emulator's `/_emulator` controls as the client sees them over HTTP: emitting events on
//! behalf of Auth0 and Azure services, reading the delivery log, and its token endpoint. Used by
//! `gridform emulator emit`, `publish` and `verify` against an emulator; never against Azure.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{DataPlaneError, error_message, send};

/// A running (or embedded) emulator's controls.
#[derive(Debug, Clone)]
pub struct EmulatorControls {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
}

/// What the delivery log says about one canary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryVerdict {
    /// Delivered, after this many attempts.
    Delivered(u64),
    /// Dead-lettered or dropped, with the last outcome.
    Failed(String),
    /// Nothing final before the timeout; the last state seen.
    Pending(String),
}

impl EmulatorControls {
    /// Controls of the emulator at `base`.
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// Sends `body` to `{base}{path}`; returns the status and JSON body (Null when not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), DataPlaneError> {
        let url = format!("{}{path}", self.base);
        let what = format!("cannot reach the emulator at {}", self.base);
        let resp = send(&what, &method, path, || {
            let req = self.http.request(method.clone(), &url);
            match body {
                Some(b) => req.json(b),
                None => req,
            }
        })
        .await?;
        Ok((
            resp.status,
            serde_json::from_slice(&resp.body).unwrap_or(Value::Null),
        ))
    }

    async fn emit(&self, what: String, path: &str, body: &Value) -> Result<u64, DataPlaneError> {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(body)).await?;
        if status != 200 {
            return Err(DataPlaneError::Refused {
                what,
                status,
                message: answer["error"]["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .to_string(),
            });
        }
        Ok(answer["deliveries"].as_u64().unwrap_or(0))
    }

    /// Emits to a partner topic through the simulated Auth0; returns the batches queued.
    pub async fn emit_auth0(&self, stream: &str, event: &Value) -> Result<u64, DataPlaneError> {
        let path = format!(
            "/_emulator/auth0/log-streams/{}/events",
            url::form_urlencoded::byte_serialize(stream.as_bytes()).collect::<String>()
        );
        let what = format!("emitting for Auth0 stream `{stream}`");
        self.emit(what, &path, &json!([event])).await
    }

    /// Makes the emulated Microsoft Graph send `event` (a CloudEvent; the emulator stamps the
    /// subscription's `source` and `data` fields) for the Graph subscription `graph_subscription_id`
    /// to its partner topic; returns the batches queued.
    pub async fn emit_graph(
        &self,
        graph_subscription_id: &str,
        event: &Value,
    ) -> Result<u64, DataPlaneError> {
        let path = format!(
            "/_emulator/graph/subscriptions/{}/events",
            url::form_urlencoded::byte_serialize(graph_subscription_id.as_bytes())
                .collect::<String>()
        );
        let what = format!("emitting for Graph subscription `{graph_subscription_id}`");
        self.emit(what, &path, &json!([event])).await
    }

    /// Emits to the system topics on `source`; returns the batches queued.
    pub async fn emit_system(&self, source: &str, event: &Value) -> Result<u64, DataPlaneError> {
        let body = json!({"source": source, "events": [event]});
        let what = format!("emitting for `{source}`");
        self.emit(what, "/_emulator/system-topics/events", &body)
            .await
    }

    /// A Microsoft Entra ID token for the Event Grid data plane from the emulator's endpoint.
    pub async fn event_grid_token(&self) -> Result<String, DataPlaneError> {
        let url = format!("{}/gridform/oauth2/v2.0/token", self.base);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", "gridform-publish"),
            ("client_secret", "gridform"),
            ("scope", "https://eventgrid.azure.net/.default"),
        ];
        let path = "/gridform/oauth2/v2.0/token";
        let resp = send(
            "cannot get a token from the emulator",
            &reqwest::Method::POST,
            path,
            || self.http.post(&url).form(&form),
        )
        .await?;
        let status = resp.status;
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        let body: Value = serde_json::from_str(&text).unwrap_or_default();
        match body["access_token"].as_str() {
            Some(t) if status == 200 => Ok(t.to_string()),
            _ => Err(DataPlaneError::Refused {
                what: "getting a token from the emulator".into(),
                status,
                message: error_message(&text),
            }),
        }
    }

    /// Polls the delivery log for event `id` to subscription `name` until it is final or
    /// `timeout` passes.
    pub async fn delivery_verdict(
        &self,
        name: &str,
        id: &str,
        timeout: Duration,
    ) -> DeliveryVerdict {
        let started = Instant::now();
        let path = format!("/_emulator/deliveries?eventId={id}&subscription={name}");
        let mut last = String::from("no delivery attempt recorded");
        while started.elapsed() < timeout {
            if let Ok((200, body)) = self.call(reqwest::Method::GET, &path, None).await {
                for r in body["value"].as_array().into_iter().flatten() {
                    let outcome = r["lastDeliveryOutcome"].as_str().unwrap_or("-");
                    let attempts = r["attempts"].as_u64().unwrap_or(0);
                    match r["result"].as_str() {
                        Some("Delivered") => return DeliveryVerdict::Delivered(attempts),
                        Some(res @ ("DeadLettered" | "Dropped")) => {
                            return DeliveryVerdict::Failed(format!(
                                "{res} after {attempts} attempt(s), last outcome {outcome}"
                            ));
                        }
                        Some(res) => last = format!("{res}, last outcome {outcome}"),
                        None => {}
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        DeliveryVerdict::Pending(format!("not delivered within {timeout:?} ({last})"))
    }
}
