//! `gridform verify`: for each event subscription of the stack, send a uniquely-tagged canary
//! that its filter accepts through the path that can carry it — custom topics: publish; partner
//! topics: the emulated Auth0's emit; system topics: the emulated source's emit — and report per
//! subscription whether it was delivered, read from the emulator's delivery log. Against real
//! Azure only custom topics can be published to and no delivery receipt exists, so those are
//! reported as "published, delivery not verifiable" and the rest as not verifiable. Exit 1 when
//! any verifiable path failed.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use super::emit::{EmulatorLink, auth0_event, emit_auth0, emit_system, with_url};
use super::publish::{TopicTarget, make_event, resolve, schema_of, send};
use super::session::{Session, load};
use crate::cli::args::{GlobalArgs, VerifyArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::emulator::event_filter;
use crate::model::spec::{EventSubscriptionSpec, TopicKind};
use crate::model::{DesiredResource, DesiredState, ResourceKind, ResourceSpec};

/// Sets a dotted `key` in `event` (objects created on the way).
fn set(event: &mut Value, key: &str, value: Value) {
    let mut cur = event;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        // Reuse an existing property of another case (keys match case-insensitively).
        let name = obj
            .keys()
            .find(|k| k.eq_ignore_ascii_case(part))
            .cloned()
            .unwrap_or_else(|| (*part).to_string());
        if i + 1 == parts.len() {
            obj.insert(name, value);
            return;
        }
        let next = obj.entry(name).or_insert_with(|| json!({}));
        if !next.is_object() {
            *next = json!({});
        }
        cur = next;
    }
}

fn unset(event: &mut Value, key: &str) {
    let (parent, last) = match key.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, key),
    };
    let mut cur = event;
    if let Some(p) = parent {
        for part in p.split('.') {
            cur = &mut cur[part];
        }
    }
    if let Some(obj) = cur.as_object_mut() {
        obj.retain(|k, _| !k.eq_ignore_ascii_case(last));
    }
}

/// A value that satisfies one advanced filter (best effort; checked afterwards).
fn satisfy(f: &Value) -> Option<Value> {
    let op = f["operatorType"].as_str()?;
    let nums = || -> Vec<f64> {
        f["values"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let first_str = || f["values"][0].as_str().map(str::to_string);
    let value = f["value"].as_f64();
    Some(match op {
        "NumberIn" => json!(nums().first().copied()?),
        "NumberNotIn" => json!(nums().iter().fold(0.0_f64, |a, b| a.max(*b)) + 1.0),
        "NumberLessThan" => json!(value? - 1.0),
        "NumberGreaterThan" => json!(value? + 1.0),
        "NumberLessThanOrEquals" | "NumberGreaterThanOrEquals" => json!(value?),
        "NumberInRange" => f["values"][0][0].clone(),
        "NumberNotInRange" => {
            let hi = f["values"]
                .as_array()?
                .iter()
                .filter_map(|r| r[1].as_f64())
                .fold(0.0_f64, f64::max);
            json!(hi + 1.0)
        }
        "BoolEquals" => f["value"].clone(),
        "StringIn" | "StringContains" => json!(first_str()?),
        "StringBeginsWith" => json!(format!("{}-gridform-canary", first_str()?)),
        "StringEndsWith" => json!(format!("gridform-canary-{}", first_str()?)),
        "StringNotIn"
        | "StringNotContains"
        | "StringNotBeginsWith"
        | "StringNotEndsWith"
        | "IsNotNull" => json!("zq-gridform-canary-zq"),
        _ => return None,
    })
}

/// Makes `base` match `filter` (JSON form of the subscription's filter); `None` when the
/// synthesised canary still does not match.
pub fn canary(base: Value, filter: &Value) -> Option<Value> {
    let mut event = base;
    let ce = event["specversion"].is_string();
    if let Some(t) = filter["includedEventTypes"].as_array().and_then(|ts| {
        ts.iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("all"))
    }) {
        event[if ce { "type" } else { "eventType" }] = json!(t);
    }
    let begins = filter["subjectBeginsWith"].as_str().unwrap_or_default();
    let ends = filter["subjectEndsWith"].as_str().unwrap_or_default();
    if !begins.is_empty() || !ends.is_empty() {
        event["subject"] = json!(format!("{begins}gridform-canary{ends}"));
    }
    let arrays = filter["enableAdvancedFilteringOnArrays"] == true;
    for f in filter["advancedFilters"].as_array().into_iter().flatten() {
        let key = f["key"].as_str().unwrap_or_default();
        if event_filter::advanced_one(f, &event, arrays) {
            continue;
        }
        if f["operatorType"] == "IsNullOrUndefined" {
            unset(&mut event, key);
        } else if let Some(v) = satisfy(f) {
            set(&mut event, key, v);
        }
    }
    event_filter::matches(filter, &event).then_some(event)
}

enum Path {
    Publish(String),
    Partner(String),
    System(String),
    Unknown(String),
}

fn path_of(desired: &DesiredState, s: &EventSubscriptionSpec) -> Path {
    let Some(t) = &s.topic else {
        return Path::Unknown("its scope is outside these manifests".into());
    };
    match t.kind {
        TopicKind::Topic => Path::Publish(t.name.clone()),
        TopicKind::PartnerTopic => match desired.find(ResourceKind::PartnerTopic, &t.name) {
            Some(DesiredResource {
                spec: ResourceSpec::PartnerTopic(p),
                ..
            }) => match &p.from_auth0_log_stream {
                Some(stream) => Path::Partner(stream.clone()),
                None => {
                    Path::Unknown("its partner is not an Auth0 log stream of this stack".into())
                }
            },
            _ => Path::Unknown(format!("partner topic `{}` is not declared", t.name)),
        },
        TopicKind::SystemTopic => match desired.find(ResourceKind::SystemTopic, &t.name) {
            Some(DesiredResource {
                spec: ResourceSpec::SystemTopic(st),
                ..
            }) => Path::System(st.source.clone()),
            _ => Path::Unknown(format!("system topic `{}` is not declared", t.name)),
        },
    }
}

/// Waits for the emulator's verdict on `id` for subscription `name`.
fn verdict(link: &EmulatorLink, name: &str, id: &str, timeout: Duration) -> Result<String, String> {
    let started = Instant::now();
    let path = format!("/_emulator/deliveries?eventId={id}&subscription={name}");
    let mut last = String::from("no delivery attempt recorded");
    while started.elapsed() < timeout {
        if let Ok((200, body)) = link.call(reqwest::Method::GET, &path, None) {
            for r in body["value"].as_array().into_iter().flatten() {
                let outcome = r["lastDeliveryOutcome"].as_str().unwrap_or("-");
                match r["result"].as_str() {
                    Some("Delivered") => {
                        return Ok(format!("delivered after {} attempt(s)", r["attempts"]));
                    }
                    Some(res @ ("DeadLettered" | "Dropped")) => {
                        return Err(format!(
                            "{res} after {} attempt(s), last outcome {outcome}",
                            r["attempts"]
                        ));
                    }
                    Some(res) => last = format!("{res}, last outcome {outcome}"),
                    None => {}
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("not delivered within {timeout:?} ({last})"))
}

/// Runs `gridform verify`.
pub fn run(
    args: &VerifyArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let timeout = super::emulator::parse_delay(&args.timeout)
        .map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
    let desired = load(&args.paths, printer)?;
    let link = EmulatorLink::open(global)?;
    let session_global = match &link {
        Some(l) => with_url(global, &l.base),
        None => GlobalArgs {
            emulator_url: None,
            ..with_url(global, "")
        },
    };
    let session = Session::open(&session_global, &desired)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let mut targets: Vec<(String, anyhow::Result<TopicTarget>)> = Vec::new();
    let (mut ok, mut failed, mut unverifiable) = (0, 0, 0);
    let mut lines = Vec::new();
    for r in &desired.resources {
        let ResourceSpec::EventSubscription(s) = &r.spec else {
            continue;
        };
        let filter = s
            .filter
            .as_ref()
            .and_then(|f| serde_json::to_value(f).ok())
            .unwrap_or_else(|| json!({}));
        let id = format!("gridform-canary-{}", uuid::Uuid::new_v4());
        let data = json!({"gridformCanary": id});
        let sent: Result<(), String> = match path_of(&desired, s) {
            Path::Unknown(why) => {
                unverifiable += 1;
                lines.push(format!("  ? {}: cannot verify: {why}", r.name));
                continue;
            }
            Path::Publish(topic) => {
                let Some(doc) = desired.find(ResourceKind::Topic, &topic) else {
                    continue;
                };
                if !targets.iter().any(|(n, _)| *n == topic) {
                    targets.push((topic.clone(), resolve(&session, link.as_ref(), doc)));
                }
                let target = targets.iter().find(|(n, _)| *n == topic).map(|(_, t)| t);
                let base = make_event(
                    schema_of(doc),
                    &id,
                    "Gridform.Canary",
                    "/gridform/canary",
                    data,
                );
                match (target, canary(base, &filter)) {
                    (_, None) => Err("cannot build an event that its filter accepts".into()),
                    (Some(Ok(t)), Some(event)) => {
                        send(&session.rt, &http, t, &[event]).map_err(|e| format!("{e:#}"))
                    }
                    (Some(Err(e)), _) => Err(format!("{e:#}")),
                    _ => Err("topic not resolved".into()),
                }
            }
            Path::Partner(stream) => match &link {
                None => {
                    unverifiable += 1;
                    lines.push(format!("  ? {}: cannot verify on Azure: only Auth0 can publish to its partner topic (trigger a log event in Auth0 and watch the endpoint)", r.name));
                    continue;
                }
                Some(l) => {
                    let now = crate::emulator::clock::format_time(chrono::Utc::now());
                    let mut base = auth0_event("s", &id, &now);
                    base["data"]["gridformCanary"] = json!(id);
                    match canary(base, &filter) {
                        None => Err("cannot build an event that its filter accepts".into()),
                        Some(e) => emit_auth0(l, &stream, &e)
                            .map(|_| ())
                            .map_err(|e| format!("{e:#}")),
                    }
                }
            },
            Path::System(source) => match &link {
                None => {
                    unverifiable += 1;
                    lines.push(format!("  ? {}: cannot verify on Azure: only the source resource emits system events (e.g. connect a SignalR client)", r.name));
                    continue;
                }
                Some(l) => {
                    let now = crate::emulator::clock::format_time(chrono::Utc::now());
                    let mut base = super::emit::signalr_event(&source, "chat", true, &id, &now);
                    base["data"]["gridformCanary"] = json!(id);
                    match canary(base, &filter) {
                        None => Err("cannot build an event that its filter accepts".into()),
                        Some(e) => emit_system(l, &source, &e)
                            .map(|_| ())
                            .map_err(|e| format!("{e:#}")),
                    }
                }
            },
        };
        let result = match (sent, &link) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(l)) => verdict(l, &r.name, &id, timeout),
            (Ok(()), None) => {
                unverifiable += 1;
                lines.push(format!("  ~ {}: canary {id} published; delivery not verifiable on Azure (no delivery receipt API: check the endpoint or the subscription's metrics)", r.name));
                continue;
            }
        };
        match result {
            Ok(how) => {
                ok += 1;
                lines.push(format!("  ✓ {}: {how}", r.name));
            }
            Err(why) => {
                failed += 1;
                lines.push(format!("  ✗ {}: {why}", r.name));
            }
        }
    }
    session.close()?;
    if let Some(l) = link {
        l.close(Duration::from_secs(1))?;
    }
    let mut out = format!("Verify stack `{}`:\n", desired.stack.name);
    for l in &lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&format!(
        "{ok} delivered, {failed} failed, {unverifiable} not verifiable.\n"
    ));
    printer.data(&out);
    Ok(if failed > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canaries_satisfy_filters() {
        let base =
            json!({"id": "c", "subject": "/x", "eventType": "T", "eventTime": "t", "data": {}});
        let filter = json!({
            "includedEventTypes": ["Orders.Created"],
            "subjectBeginsWith": "/orders/", "subjectEndsWith": ".json",
            "advancedFilters": [
                {"operatorType": "NumberGreaterThan", "key": "data.total", "value": 100},
                {"operatorType": "StringIn", "key": "data.region", "values": ["eu", "us"]},
                {"operatorType": "StringNotContains", "key": "subject", "values": ["test"]},
                {"operatorType": "IsNullOrUndefined", "key": "data.deleted"},
                {"operatorType": "NumberNotInRange", "key": "data.n", "values": [[1, 5]]},
                {"operatorType": "BoolEquals", "key": "data.ok", "value": true}
            ]
        });
        let e = canary(base.clone(), &filter).unwrap();
        assert_eq!(e["eventType"], "Orders.Created");
        assert_eq!(e["data"]["region"], "eu");
        // Contradictory filters cannot be satisfied.
        let impossible = json!({"advancedFilters": [
            {"operatorType": "NumberLessThan", "key": "data.n", "value": 1},
            {"operatorType": "NumberGreaterThan", "key": "data.n", "value": 5}
        ]});
        assert!(canary(base, &impossible).is_none());
    }
}
