//! `gridform emulator emit auth0|signalr`: make the emulator's simulated Auth0 (a log event to
//! the stream's activated partner topic) or an Azure SignalR service (a `ClientConnection*`
//! event to its system topics) emit an event. Also the emulator link `publish` and `verify`
//! share: a running emulator (`--emulator-url`) or the embedded one (`--emulator`), with JSON
//! helpers for its `/_emulator` controls.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::cli::args::{EmitCommand, GlobalArgs};
use crate::cli::exit::{ExitStatus, Hinted};
use crate::cli::output::Printer;

/// A connection to a running or embedded emulator.
pub struct EmulatorLink {
    /// The runtime the embedded emulator (if any) and the requests run on.
    pub rt: tokio::runtime::Runtime,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
    embedded: Option<crate::emulator::Running>,
}

/// The same flags with the embedded emulator replaced by its URL (so `Session::open` talks to
/// the emulator this link started instead of starting a second one).
pub fn with_url(global: &GlobalArgs, base: &str) -> GlobalArgs {
    GlobalArgs {
        verbose: global.verbose,
        quiet: global.quiet,
        color: global.color,
        endpoint: global.endpoint.clone(),
        cloud: global.cloud,
        auth: global.auth,
        emulator_url: Some(base.to_string()),
        emulator: false,
    }
}

impl EmulatorLink {
    /// Connects per the global flags; `None` when neither `--emulator` nor `--emulator-url`.
    pub fn open(global: &GlobalArgs) -> anyhow::Result<Option<Self>> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        if global.emulator {
            let state = PathBuf::from(super::session::EMBEDDED_STATE);
            let dir = state.parent().map(PathBuf::from).unwrap_or_default();
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            let config = crate::emulator::Config {
                state_file: Some(state),
                dead_letter_dir: Some(dir.join("deadletter")),
                ..Default::default()
            };
            let running = rt
                .block_on(crate::emulator::spawn_local(config))
                .context("cannot start the embedded emulator")?;
            let base = running.base_url.clone();
            return Ok(Some(Self {
                rt,
                base,
                http,
                embedded: Some(running),
            }));
        }
        Ok(global.emulator_url.clone().map(|base| Self {
            rt,
            base: base.trim_end_matches('/').to_string(),
            http,
            embedded: None,
        }))
    }

    /// Like `open`, but an error when no emulator was named.
    pub fn require(global: &GlobalArgs, command: &str) -> anyhow::Result<Self> {
        Self::open(global)?.ok_or_else(|| {
            Hinted {
                message: format!("`gridform {command}` needs an emulator"),
                hint: "pass `--emulator-url URL` (a running `gridform emulator serve`) or `--emulator`"
                    .into(),
            }
            .into()
        })
    }

    /// Sends `body` to `{base}{path}` with `method`; returns the status and JSON body.
    pub fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let mut req = self.http.request(method, &url);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .with_context(|| format!("cannot reach the emulator at {}", self.base))?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.unwrap_or_default();
            let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            Ok((status, value))
        })
    }

    /// Lets the embedded emulator finish queued deliveries (up to `wait`), then stops it; the
    /// rest stays in its state file and resumes next time.
    pub fn close(mut self, wait: Duration) -> anyhow::Result<()> {
        if let Some(running) = self.embedded.take() {
            let started = std::time::Instant::now();
            while !running.emulator.lock().outbox.is_empty() && started.elapsed() < wait {
                std::thread::sleep(Duration::from_millis(20));
            }
            self.rt
                .block_on(running.shutdown())
                .context("cannot stop the embedded emulator")?;
        }
        Ok(())
    }
}

/// An Auth0 log event as the Auth0 partner sends it (CloudEvents 1.0).
pub fn auth0_event(code: &str, id: &str, now: &str) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": "gridform-emulator",
        "type": format!("auth0.log.{code}"),
        "time": now,
        "datacontenttype": "application/json",
        "data": {
            "log_id": id,
            "date": now,
            "type": code,
            "description": "emitted by gridform emulator emit",
            "client_id": "gridform-emulator",
            "client_name": "gridform",
            "user_id": "auth0|gridform",
        }
    })
}

/// A SignalR `ClientConnection*` event (Event Grid schema) with Azure's data fields.
pub fn signalr_event(source: &str, hub: &str, connected: bool, id: &str, now: &str) -> Value {
    let (kind, extra) = if connected {
        ("Connected", json!(null))
    } else {
        ("Disconnected", json!("Internal server error."))
    };
    let mut data = json!({
        "timestamp": now,
        "hubName": hub,
        "connectionId": id,
        "userId": "gridform-user",
    });
    if !extra.is_null() {
        data["errorMessage"] = extra;
    }
    json!({
        "id": id,
        "topic": source,
        "subject": format!("/hub/{hub}"),
        "eventType": format!("Microsoft.SignalRService.ClientConnection{kind}"),
        "eventTime": now,
        "data": data,
        "dataVersion": "1.0",
        "metadataVersion": "1",
    })
}

fn now() -> String {
    crate::emulator::clock::format_time(chrono::Utc::now())
}

/// Emits to a partner topic through the simulated Auth0; returns the number of batches queued.
pub fn emit_auth0(link: &EmulatorLink, stream: &str, event: &Value) -> anyhow::Result<u64> {
    let path = format!(
        "/_emulator/auth0/log-streams/{}/events",
        url::form_urlencoded::byte_serialize(stream.as_bytes()).collect::<String>()
    );
    let (status, body) = link.call(reqwest::Method::POST, &path, Some(&json!([event])))?;
    if status != 200 {
        bail!(
            "the emulator refused to emit for stream `{stream}` ({status}): {}",
            body["error"]["message"].as_str().unwrap_or("no message")
        );
    }
    Ok(body["deliveries"].as_u64().unwrap_or(0))
}

/// Emits to the system topics on `source`; returns the number of batches queued.
pub fn emit_system(link: &EmulatorLink, source: &str, event: &Value) -> anyhow::Result<u64> {
    let (status, body) = link.call(
        reqwest::Method::POST,
        "/_emulator/system-topics/events",
        Some(&json!({"source": source, "events": [event]})),
    )?;
    if status != 200 {
        bail!(
            "the emulator refused to emit for `{source}` ({status}): {}",
            body["error"]["message"].as_str().unwrap_or("no message")
        );
    }
    Ok(body["deliveries"].as_u64().unwrap_or(0))
}

/// Runs `gridform emulator emit ...`.
pub fn run(
    cmd: &EmitCommand,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let link = EmulatorLink::require(global, "emulator emit")?;
    let id = uuid::Uuid::new_v4().to_string();
    let (what, queued) = match cmd {
        EmitCommand::Auth0(a) => {
            let event = auth0_event(&a.code, &id, &now());
            (
                format!("auth0.log.{} on stream `{}`", a.code, a.stream),
                emit_auth0(&link, &a.stream, &event),
            )
        }
        EmitCommand::Signalr(s) => {
            let event = signalr_event(&s.source, &s.hub, s.connected, &id, &now());
            (
                format!(
                    "{} from `{}`",
                    event["eventType"].as_str().unwrap_or_default(),
                    s.source
                ),
                emit_system(&link, &s.source, &event),
            )
        }
    };
    let result = queued.map(|n| {
        printer.data(&format!(
            "Emitted {what} (event id {id}); {n} delivery batch(es) queued.\n"
        ));
    });
    link.close(Duration::from_secs(5))?;
    result.map(|()| ExitStatus::Success)
}
