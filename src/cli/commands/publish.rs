//! `gridform publish --topic NAME`: post events to a custom topic of the stack — a generated
//! event (`--type`, `--subject`, `--data`) or a file (`--file`) — authenticated with a key from
//! `listKeys`, or with an Entra ID token for `disableLocalAuth` topics (the emulator's, or on Azure
//! the ARM credential's token for `https://eventgrid.azure.net/.default`).
//! Size and schema are checked before sending, with the emulator's own rules; Azure's error
//! message is printed on refusal. Keys and tokens are never printed.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::emit::{EmulatorLink, with_url};
use super::session::{Session, load};
use crate::arm::ArmApi;
use crate::cli::args::{GlobalArgs, PublishArgs};
use crate::cli::exit::{ExitStatus, Hinted};
use crate::cli::output::Printer;
use crate::emulator::publish_input::{self, InputSchema};
use crate::model::spec::InputSchema as SpecSchema;
use crate::model::{DesiredResource, DesiredState, ResourceKind, ResourceSpec};

/// How a topic accepts events, resolved from the manifests and ARM.
pub struct TopicTarget {
    /// The topic's handle.
    pub name: String,
    /// Its ARM id.
    pub id: String,
    /// The publish URL (with `api-version`).
    pub url: String,
    /// Its input schema.
    pub schema: InputSchema,
    /// `aeg-sas-key` or `Authorization: Bearer` header (never printed).
    pub auth: (&'static str, String),
}

/// The input schema a topic document declares.
pub fn schema_of(topic: &DesiredResource) -> InputSchema {
    match &topic.spec {
        ResourceSpec::Topic(t) => match t.input_schema {
            Some(SpecSchema::CloudEventSchemaV10) => InputSchema::CloudEvents,
            Some(SpecSchema::CustomEventSchema) => InputSchema::Custom,
            _ => InputSchema::EventGrid,
        },
        _ => InputSchema::EventGrid,
    }
}

/// The topic document called `name` (or the only one).
pub fn find_topic<'a>(
    desired: &'a DesiredState,
    name: Option<&str>,
) -> anyhow::Result<&'a DesiredResource> {
    let topics: Vec<&DesiredResource> = desired
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Topic)
        .collect();
    let names = || {
        topics
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(n) => topics.iter().copied().find(|t| t.name == n).ok_or_else(|| {
            Hinted {
                message: format!("the manifests declare no Topic `{n}`"),
                hint: format!("Topics in these manifests: {}", names()),
            }
            .into()
        }),
        None if topics.len() == 1 => Ok(topics[0]),
        None => Err(Hinted {
            message: "which topic? pass `--topic NAME`".into(),
            hint: format!("Topics in these manifests: {}", names()),
        }
        .into()),
    }
}

/// Resolves the endpoint and credentials of `topic`.
pub fn resolve(
    session: &Session,
    link: Option<&EmulatorLink>,
    topic: &DesiredResource,
) -> anyhow::Result<TopicTarget> {
    let id = topic
        .id
        .clone()
        .context("the topic has no resource id yet")?;
    let arm = &session.remote.arm;
    let observed = session
        .rt
        .block_on(arm.get(&id))
        .with_context(|| format!("cannot read topic `{}`", topic.name))?
        .ok_or_else(|| Hinted {
            message: format!("topic `{}` does not exist", topic.name),
            hint: "run `gridform apply` first".into(),
        })?;
    let endpoint = observed
        .property_str("endpoint")
        .context("the topic reports no endpoint")?
        .to_string();
    // The embedded emulator gets a new port each run: keep the path, use the live base.
    let endpoint = match (link, url::Url::parse(&endpoint)) {
        (Some(l), Ok(u)) => format!("{}{}", l.base, u.path()),
        _ => endpoint,
    };
    let local_auth_disabled = observed
        .properties()
        .is_some_and(|p| p["disableLocalAuth"] == true);
    let auth = if local_auth_disabled {
        let token = match link {
            Some(l) => emulator_token(l)?,
            // Real Azure: the same credential as for ARM, for the Event Grid data-plane scope.
            None => session
                .rt
                .block_on(arm.token_for("https://eventgrid.azure.net/.default"))
                .map_err(|e| Hinted {
                    message: format!(
                        "topic `{}` has disableLocalAuth and no Microsoft Entra ID token could be had: {e}",
                        topic.name
                    ),
                    hint: "the identity also needs the `EventGrid Data Sender` role on the topic".into(),
                })?
                .expose()
                .to_string(),
        };
        ("authorization", format!("Bearer {token}"))
    } else {
        let (key1, _) = session
            .rt
            .block_on(crate::arm::typed::list_topic_keys(arm, &id))
            .with_context(|| format!("cannot list the keys of topic `{}`", topic.name))?;
        ("aeg-sas-key", key1.expose().to_string())
    };
    Ok(TopicTarget {
        name: topic.name.clone(),
        id: id.as_str().to_string(),
        url: format!("{endpoint}?api-version=2018-01-01"),
        schema: schema_of(topic),
        auth,
    })
}

fn emulator_token(link: &EmulatorLink) -> anyhow::Result<String> {
    let url = format!("{}/gridform/oauth2/v2.0/token", link.base);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "gridform-publish"),
        ("client_secret", "gridform"),
        ("scope", "https://eventgrid.azure.net/.default"),
    ];
    let body: Value = link.rt.block_on(async {
        let resp = link
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .context("cannot get a token from the emulator")?;
        resp.json()
            .await
            .context("the emulator's token is not JSON")
    })?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .context("the emulator returned no access token")
}

/// A generated event in the topic's schema.
pub fn make_event(
    schema: InputSchema,
    id: &str,
    event_type: &str,
    subject: &str,
    data: Value,
) -> Value {
    let now = crate::emulator::clock::format_time(chrono::Utc::now());
    match schema {
        InputSchema::CloudEvents => json!({
            "specversion": "1.0", "id": id, "source": "gridform", "type": event_type,
            "subject": subject, "time": now, "data": data,
        }),
        _ => json!({
            "id": id, "subject": subject, "eventType": event_type, "eventTime": now,
            "dataVersion": "1.0", "data": data,
        }),
    }
}

/// Posts `events` (already in the topic's schema); `Err` carries Azure's message.
pub fn send(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    target: &TopicTarget,
    events: &[Value],
) -> anyhow::Result<()> {
    let content_type = match target.schema {
        InputSchema::CloudEvents => "application/cloudevents-batch+json; charset=utf-8",
        _ => "application/json",
    };
    let body = serde_json::to_vec(events).context("cannot encode the events")?;
    let now = crate::emulator::clock::format_time(chrono::Utc::now());
    publish_input::parse(&body, content_type, target.schema, &target.id, &now).map_err(|e| {
        anyhow::anyhow!("the events are not valid for topic `{}`: {e}", target.name)
    })?;
    let (status, text) = rt.block_on(async {
        let resp = http
            .post(&target.url)
            .header("content-type", content_type)
            .header(target.auth.0, &target.auth.1)
            .body(body)
            .send()
            .await
            .with_context(|| format!("cannot reach the endpoint of topic `{}`", target.name))?;
        let status = resp.status().as_u16();
        Ok::<_, anyhow::Error>((status, resp.text().await.unwrap_or_default()))
    })?;
    if status == 200 {
        return Ok(());
    }
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let message = value["error"]["message"].as_str().unwrap_or(&text);
    bail!(
        "topic `{}` refused the events ({status}): {message}",
        target.name
    )
}

/// Runs `gridform publish`.
pub fn run(
    args: &PublishArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let desired = load(&args.paths, printer)?;
    let topic = find_topic(&desired, args.topic.as_deref())?;
    let schema = schema_of(topic);
    let events: Vec<Value> = match &args.file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            match serde_json::from_str(&text)
                .with_context(|| format!("`{}` is not JSON", path.display()))?
            {
                Value::Array(list) => list,
                one => vec![one],
            }
        }
        None => {
            let data = match &args.data {
                Some(text) => serde_json::from_str(text).context("--data is not valid JSON")?,
                None => json!({}),
            };
            let id = uuid::Uuid::new_v4().to_string();
            let event_type = args.event_type.as_deref().unwrap_or("Gridform.Test");
            let subject = args.subject.as_deref().unwrap_or("/gridform/test");
            vec![make_event(schema, &id, event_type, subject, data)]
        }
    };
    let link = EmulatorLink::open(global)?;
    let session_global = match &link {
        Some(l) => with_url(global, &l.base),
        None => GlobalArgs {
            emulator_url: None,
            ..with_url(global, "")
        },
    };
    let session = Session::open(&session_global, &desired)?;
    let result = resolve(&session, link.as_ref(), topic).and_then(|target| {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        send(&session.rt, &http, &target, &events)
    });
    session.close()?;
    if let Some(l) = link {
        l.close(Duration::from_secs(5))?;
    }
    result?;
    printer.data(&format!(
        "Published {} event(s) to topic `{}`.\n",
        events.len(),
        topic.name
    ));
    Ok(ExitStatus::Success)
}
