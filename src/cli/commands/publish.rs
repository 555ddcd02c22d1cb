//! `gridform publish --topic NAME`: post events to a custom topic of the stack — a generated
//! event (`--type`, `--subject`, `--data`) or a file (`--file`); the data-plane client resolves
//! the endpoint and credential and checks the events (`dataplane::publish`).

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::common::{Ctx, load};
use crate::cli::args::PublishArgs;
use crate::cli::exit::{ExitStatus, Hinted};
use crate::dataplane::{self, PublishSchema, events};
use crate::model::{DesiredResource, DesiredState, ResourceKind};

/// The topic document called `name` (or the only one).
fn find_topic<'a>(
    desired: &'a DesiredState,
    name: Option<&str>,
) -> anyhow::Result<&'a DesiredResource> {
    let topics: Vec<&DesiredResource> = desired
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Topic)
        .collect();
    let names = topics
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let hint = format!("Topics in these manifests: {names}");
    match name {
        Some(n) => topics.iter().copied().find(|t| t.name == n).ok_or_else(|| {
            Hinted {
                message: format!("the manifests declare no Topic `{n}`"),
                hint,
            }
            .into()
        }),
        None if topics.len() == 1 => Ok(topics[0]),
        None => Err(Hinted {
            message: "which topic? pass `--topic NAME`".into(),
            hint,
        }
        .into()),
    }
}

fn events_of(args: &PublishArgs, schema: PublishSchema) -> anyhow::Result<Vec<Value>> {
    if let Some(path) = &args.file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let parsed: Value = serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not JSON", path.display()))?;
        return Ok(match parsed {
            Value::Array(list) => list,
            one => vec![one],
        });
    }
    let data = match &args.data {
        Some(text) => serde_json::from_str(text).context("--data is not valid JSON")?,
        None => json!({}),
    };
    let id = uuid::Uuid::new_v4().to_string();
    let event_type = args.event_type.as_deref().unwrap_or("Gridform.Test");
    let subject = args.subject.as_deref().unwrap_or("/gridform/test");
    let now = dataplane::event_time(chrono::Utc::now());
    Ok(vec![events::make_event(
        schema, &id, event_type, subject, data, &now,
    )])
}

/// Converts a data-plane error, keeping its hint.
pub fn with_hint(e: dataplane::DataPlaneError) -> anyhow::Error {
    match e.hint() {
        Some(hint) => Hinted {
            message: e.to_string(),
            hint: hint.to_string(),
        }
        .into(),
        None => e.into(),
    }
}

/// Runs `gridform publish`.
pub fn run(args: &PublishArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let desired = load(&args.paths, ctx.printer)?;
    let topic = find_topic(&desired, args.topic.as_deref())?;
    let events = events_of(args, PublishSchema::of(topic))?;
    let session = ctx.open(&desired)?;
    let (http, controls) = dataplane::link(session.emulator_base.as_deref())?;
    let sent = ctx.rt.block_on(async {
        let endpoint =
            dataplane::publish::resolve(&session.remote.arm, controls.as_ref(), topic).await?;
        dataplane::publish::send(&http, &endpoint, &events).await
    });
    ctx.close(session, Duration::from_secs(5))?;
    sent.map_err(with_hint)?;
    ctx.printer.data(&format!(
        "Published {} event(s) to topic `{}`.\n",
        events.len(),
        topic.name
    ));
    Ok(ExitStatus::Success)
}
