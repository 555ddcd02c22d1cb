//! Event delivery with Azure's durability: matching events are converted to each
//! subscription's output schema, batched (`maxEventsPerBatch`, `preferredBatchSizeInKilobytes`),
//! queued in the store's outbox (persisted, so a restart resumes them) and delivered by one task
//! per batch. Failures are retried on Azure's schedule (10 s, 30 s, 1 min, 5 min, 10 min, 30 min,
//! 1 h, 3 h, 6 h, then 12 h) divided by `Config::time_scale`, bounded by `maxDeliveryAttempts` and
//! `eventTimeToLiveInMinutes`; 400, 401, 403 and 413 are not retried. The 30 s response timeout
//! is scaled too, but never below 5 s; at most 64 webhook requests are in flight at once. Batches
//! that give up are dead-lettered (Azure's shape) as JSON files under `Config::dead_letter_dir`,
//! standing for the blob container, and recorded in the sink as `DeadLetter`.
//!
//! Loopback webhooks get real POSTs; other destinations (and `/_emulator/sink/...`) are recorded
//! by the built-in sink. Full URLs and header values are never logged.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::emulator::dataplane::webhook;
use crate::emulator::infra::clock::format_time;
use crate::emulator::instance::Emulator;
use crate::emulator::store::delivery::{DeliveryRecord, DeliveryRoute, Pending};

/// Azure's retry schedule, in seconds after the n-th failed attempt.
pub const SCHEDULE: [u64; 10] = [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200];

/// Azure waits this long for a webhook to answer.
pub const RESPONSE_TIMEOUT_SECS: u64 = 30;

/// The unscaled wait after `attempts` failed attempts.
pub fn retry_delay(attempts: u32) -> u64 {
    let i = (attempts.max(1) - 1) as usize;
    SCHEDULE[i.min(SCHEDULE.len() - 1)]
}

/// Event Grid schema → CloudEvents 1.0 (the only output conversion Azure allows).
pub fn to_cloud_event(event: &Value) -> Value {
    if event["specversion"].is_string() {
        return event.clone();
    }
    let mut ce = json!({
        "specversion": "1.0",
        "id": event["id"],
        "source": event["topic"],
        "type": event["eventType"],
        "subject": event["subject"],
        "time": event["eventTime"],
        "data": event["data"],
    });
    if let Some(v) = event["dataVersion"].as_str().filter(|v| !v.is_empty()) {
        ce["dataschema"] = json!(v);
    }
    ce
}

/// Splits `events` into batches: at most `max_events` each, and closed once over `preferred_kb`
/// (a single larger event still goes alone).
pub fn batches(events: Vec<Value>, max_events: usize, preferred_kb: usize) -> Vec<Vec<Value>> {
    let limit = preferred_kb.max(1) * 1024;
    let mut out: Vec<Vec<Value>> = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut size = 0usize;
    for e in events {
        let n = e.to_string().len();
        if !current.is_empty() && (current.len() >= max_events.max(1) || size + n > limit) {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        size += n;
        current.push(e);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Queues `events` published on `topic_id` for every matching subscription and starts their
/// delivery; returns how many batches were queued.
pub fn dispatch(emu: &Emulator, topic_id: &str, events: &[Value]) -> usize {
    let now = format_time(emu.clock.now());
    let keys: Vec<String> = {
        let mut store = emu.lock();
        let mut per_sub: Vec<(String, Vec<Value>)> = Vec::new();
        for event in events {
            for d in store.deliveries(topic_id, event) {
                match per_sub.iter_mut().find(|(id, _)| *id == d.id) {
                    Some((_, list)) => list.push(event.clone()),
                    None => per_sub.push((d.id.clone(), vec![event.clone()])),
                }
            }
        }
        let mut keys = Vec::new();
        for (sub_id, list) in per_sub {
            let Some(route) = store.route(&sub_id) else {
                continue;
            };
            let list = if route.cloud_events {
                list.iter().map(to_cloud_event).collect()
            } else {
                list
            };
            for batch in batches(list, route.max_events, route.preferred_kb) {
                keys.push(store.enqueue(Pending {
                    subscription_id: sub_id.clone(),
                    events: batch,
                    attempts: 0,
                    publish_time: now.clone(),
                    waited_seconds: 0,
                    last_outcome: None,
                    last_attempt_time: None,
                }));
            }
        }
        if let Err(e) = emu.flush_locked(&mut store) {
            tracing::warn!(error = %e, "could not write the state file");
        }
        keys
    };
    let count = keys.len();
    for key in keys {
        spawn(emu, key);
    }
    count
}

/// Restarts delivery of everything left in the outbox (after loading a state file).
pub fn resume(emu: &Emulator) {
    let keys: Vec<String> = emu.lock().outbox.keys().cloned().collect();
    for key in keys {
        spawn(emu, key);
    }
}

fn spawn(emu: &Emulator, key: String) {
    let emu = emu.clone();
    tokio::spawn(async move { run(&emu, &key).await });
}

fn scaled(emu: &Emulator, seconds: u64) -> Duration {
    let scale = emu.config().time_scale;
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    Duration::from_secs_f64(seconds as f64 / scale).max(Duration::from_millis(1))
}

/// The outcome of one attempt.
enum Attempt {
    Delivered,
    Failed { outcome: &'static str, retry: bool },
}

async fn run(emu: &Emulator, key: &str) {
    loop {
        let (pending, route) = {
            let store = emu.lock();
            let Some(p) = store.outbox.get(key).cloned() else {
                return;
            };
            let route = store.route(&p.subscription_id);
            (p, route)
        };
        let Some(route) = route else {
            // The subscription is gone: nothing to deliver to.
            settle(emu, key, None);
            return;
        };
        let mut pending = pending;
        let result = attempt(emu, &route, &pending).await;
        pending.attempts += 1;
        pending.last_attempt_time = Some(format_time(emu.clock.now()));
        let (outcome, retry) = match result {
            Attempt::Delivered => {
                log(emu, &route, &pending, "Delivered");
                settle(emu, key, None);
                return;
            }
            Attempt::Failed { outcome, retry } => (outcome, retry),
        };
        pending.last_outcome = Some(outcome.to_string());
        let delay = retry_delay(pending.attempts);
        let reason = if !retry {
            Some("UndeliverableDueToClientError")
        } else if pending.attempts >= route.max_attempts {
            Some("MaxDeliveryAttemptsExceeded")
        } else if pending.waited_seconds + delay > route.ttl_minutes * 60 {
            Some("TimeToLiveExceeded")
        } else {
            None
        };
        if let Some(reason) = reason {
            let dropped = route.dead_letter.is_none();
            log(
                emu,
                &route,
                &pending,
                if dropped { "Dropped" } else { "DeadLettered" },
            );
            dead_letter(emu, &route, &pending, reason);
            settle(emu, key, None);
            return;
        }
        log(emu, &route, &pending, "Retrying");
        pending.waited_seconds += delay;
        tracing::info!(subscription = %route.name, attempts = pending.attempts, outcome, "delivery failed; will retry");
        settle(emu, key, Some(pending));
        tokio::time::sleep(scaled(emu, delay)).await;
    }
}

fn log(emu: &Emulator, route: &DeliveryRoute, p: &Pending, result: &str) {
    let record = DeliveryRecord {
        at: format_time(emu.clock.now()),
        subscription: route.name.clone(),
        scope: route.scope.clone(),
        event_ids: p
            .events
            .iter()
            .map(|e| e["id"].as_str().unwrap_or_default().to_string())
            .collect(),
        result: result.to_string(),
        attempts: p.attempts,
        last_delivery_outcome: p.last_outcome.clone(),
    };
    emu.lock().log_delivery(record);
}

fn settle(emu: &Emulator, key: &str, pending: Option<Pending>) {
    let mut store = emu.lock();
    store.settle(key, pending);
    if let Err(e) = emu.flush_locked(&mut store) {
        tracing::warn!(error = %e, "could not write the state file");
    }
}

fn lookup<'a>(event: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(event, |v, part| &v[part])
}

/// One HTTP client for every delivery (connection reuse; timeouts are set per request).
fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: std::sync::OnceLock<Option<reqwest::Client>> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| reqwest::Client::builder().build().ok())
        .as_ref()
}

async fn attempt(emu: &Emulator, route: &DeliveryRoute, p: &Pending) -> Attempt {
    let parsed = url::Url::parse(&route.target).ok();
    let real_webhook = route.endpoint_type == "WebHook"
        && parsed
            .as_ref()
            .is_some_and(|u| webhook::is_loopback(u) && !u.path().starts_with("/_emulator/sink"));
    if !real_webhook {
        let url = if route.endpoint_type == "WebHook" {
            route.target.clone()
        } else {
            format!("{}:{}", route.endpoint_type, route.target)
        };
        webhook::record(emu, &url, "Notification", Value::Array(p.events.clone()));
        return Attempt::Delivered;
    }
    // Scaled, but never under 5 s: a compressed timeout must not fail busy, healthy endpoints.
    let timeout = scaled(emu, RESPONSE_TIMEOUT_SECS)
        .max(Duration::from_secs(5))
        .min(Duration::from_secs(RESPONSE_TIMEOUT_SECS));
    let Some(client) = client() else {
        return Attempt::Failed {
            outcome: "Aborted",
            retry: true,
        };
    };
    let request = webhook_post(client, route, p).timeout(timeout);
    // Like Azure, bound the concurrency towards endpoints (no thundering herd of 5000 POSTs).
    static IN_FLIGHT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(64);
    let _permit = IN_FLIGHT.acquire().await.ok();
    classify(request.send().await)
}

/// The delivery POST: body and content type per schema and batch size, `aeg-*` headers and the
/// static and dynamic delivery attributes (dynamic ones from the batch's first event).
fn webhook_post(
    client: &reqwest::Client,
    route: &DeliveryRoute,
    p: &Pending,
) -> reqwest::RequestBuilder {
    let batch = || Value::Array(p.events.clone()).to_string();
    let (payload, content_type) = match (route.cloud_events, p.events.as_slice()) {
        (true, [one]) => (
            one.to_string(),
            "application/cloudevents+json; charset=utf-8",
        ),
        (true, [_, _, ..]) => (batch(), "application/cloudevents-batch+json; charset=utf-8"),
        (true, []) => (batch(), "application/cloudevents+json; charset=utf-8"),
        (false, _) => (batch(), "application/json; charset=utf-8"),
    };
    let mut request = client
        .post(&route.target)
        .header("content-type", content_type)
        .header("aeg-event-type", "Notification")
        .header("aeg-subscription-name", route.name.to_ascii_uppercase())
        .header("aeg-delivery-count", p.attempts.to_string())
        .header("aeg-metadata-version", "1")
        .header(
            "aeg-data-version",
            p.events
                .first()
                .and_then(|e| e["dataVersion"].as_str())
                .unwrap_or_default(),
        );
    for (name, value) in &route.static_headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(first) = p.events.first() {
        for (name, field) in &route.dynamic_headers {
            let v = lookup(first, field);
            let text = v.as_str().map(str::to_string).unwrap_or_else(|| {
                if v.is_null() {
                    String::new()
                } else {
                    v.to_string()
                }
            });
            request = request.header(name.as_str(), text);
        }
    }
    request.body(payload)
}

/// Event Grid's view of a webhook answer: 200–204 delivered; 400, 401, 403, 413 not retried.
fn classify(result: reqwest::Result<reqwest::Response>) -> Attempt {
    match result {
        Ok(r) if matches!(r.status().as_u16(), 200..=204) => Attempt::Delivered,
        Ok(r) => {
            let code = r.status().as_u16();
            let outcome = match code {
                400 => "BadRequest",
                401 => "Unauthorized",
                403 => "Forbidden",
                404 => "NotFound",
                413 => "PayloadTooLarge",
                408 => "TimedOut",
                429 | 500..=599 => "Busy",
                _ => "Aborted",
            };
            Attempt::Failed {
                outcome,
                retry: !matches!(code, 400 | 401 | 403 | 413),
            }
        }
        Err(e) if e.is_timeout() => Attempt::Failed {
            outcome: "TimedOut",
            retry: true,
        },
        Err(_) => Attempt::Failed {
            outcome: "SocketError",
            retry: true,
        },
    }
}

/// Azure's dead-letter shape: the event plus delivery metadata (lower-case for CloudEvents).
pub fn dead_letter_event(event: &Value, p: &Pending, reason: &str) -> Value {
    let mut e = event.clone();
    let ce = e["specversion"].is_string();
    let fields = [
        ("deadLetterReason", json!(reason)),
        ("deliveryAttempts", json!(p.attempts)),
        ("lastDeliveryOutcome", json!(p.last_outcome)),
        ("publishTime", json!(p.publish_time)),
        ("lastDeliveryAttemptTime", json!(p.last_attempt_time)),
    ];
    if let Some(obj) = e.as_object_mut() {
        for (k, v) in fields {
            let k = if ce {
                k.to_ascii_lowercase()
            } else {
                k.to_string()
            };
            obj.insert(k, v);
        }
    }
    e
}

fn dead_letter(emu: &Emulator, route: &DeliveryRoute, p: &Pending, reason: &str) {
    let Some(container) = &route.dead_letter else {
        tracing::info!(subscription = %route.name, reason, "undeliverable events dropped (no dead-letter destination)");
        return;
    };
    let events: Vec<Value> = p
        .events
        .iter()
        .map(|e| dead_letter_event(e, p, reason))
        .collect();
    tracing::info!(subscription = %route.name, reason, "events dead-lettered");
    webhook::record(emu, container, "DeadLetter", Value::Array(events.clone()));
    let Some(dir) = &emu.config().dead_letter_dir else {
        return;
    };
    let Some(folder) =
        dead_letter_folder(dir, container, &route.scope, &route.name, emu.clock.now())
    else {
        tracing::warn!(subscription = %route.name, "dead-letter names are not safe folder names; file not written");
        return;
    };
    let written = write_dead_letter(dir, &folder, &Value::Array(events));
    if let Err(e) = written {
        tracing::warn!(error = %e, "could not write a dead-letter file");
    }
}

/// `dir/{account}/{container}/{TOPIC}/{SUBSCRIPTION}/{yyyy}/{M}/{d}/{H}`, or `None` when a name
/// is not one plain path component (empty, `.`, `..`, a separator): nothing may land outside
/// `dir`, whatever the stored names.
pub fn dead_letter_folder(
    dir: &Path,
    container: &str,
    scope: &str,
    subscription: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<PathBuf> {
    use chrono::{Datelike, Timelike};
    let last = |s: &str| s.rsplit('/').next().unwrap_or_default().to_string();
    let account = container
        .split("/blobServices/")
        .next()
        .map(last)
        .unwrap_or_default();
    let names = [
        account,
        last(container),
        last(scope).to_ascii_uppercase(),
        subscription.to_ascii_uppercase(),
        now.year().to_string(),
        now.month().to_string(),
        now.day().to_string(),
        now.hour().to_string(),
    ];
    let mut path = dir.to_path_buf();
    for name in &names {
        let mut parts = Path::new(name).components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(n)), None)
                if n.to_str() == Some(name.as_str()) && !name.contains('\\') =>
            {
                path.push(n);
            }
            _ => return None,
        }
    }
    Some(path)
}

/// Creates `folder` one level at a time below `dir`, refusing any level that is a symlink or not
/// a directory, and writes one new `{guid}.json` in it: nothing is created outside `dir`.
fn write_dead_letter(dir: &Path, folder: &Path, events: &Value) -> std::io::Result<()> {
    let rest = folder
        .strip_prefix(dir)
        .map_err(|_| std::io::Error::other("the dead-letter folder is outside the directory"))?;
    std::fs::create_dir_all(dir)?;
    let mut real = dir.to_path_buf();
    for part in rest.components() {
        let Component::Normal(part) = part else {
            return Err(std::io::Error::other(
                "a dead-letter folder name is not plain",
            ));
        };
        real.push(part);
        if let Err(e) = std::fs::create_dir(&real)
            && e.kind() != std::io::ErrorKind::AlreadyExists
        {
            return Err(e);
        }
        // Checked after creating, so nothing planted in between is followed.
        if !std::fs::symlink_metadata(&real)?.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is a symlink or a file, not a folder",
                real.display()
            )));
        }
    }
    let file = real.join(format!("{}.json", uuid::Uuid::new_v4()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)?;
    f.write_all(&serde_json::to_vec_pretty(events).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_batches_and_shapes() {
        assert_eq!(retry_delay(1), 10);
        assert_eq!(retry_delay(4), 300);
        assert_eq!(retry_delay(20), 43200);
        let events: Vec<Value> = (0..5).map(|i| json!({"id": i})).collect();
        let b = batches(events.clone(), 2, 64);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        let big = json!({"data": "x".repeat(2000)});
        let b = batches(vec![big.clone(), big.clone(), json!({})], 10, 1);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 1, 1]);
        let eg = json!({"id": "1", "topic": "/t", "subject": "s", "eventType": "T", "eventTime": "x", "data": {"a": 1}, "dataVersion": "2"});
        let ce = to_cloud_event(&eg);
        assert_eq!(ce["source"], "/t");
        assert_eq!(ce["type"], "T");
        let p = Pending {
            subscription_id: "s".into(),
            events: vec![],
            attempts: 3,
            publish_time: "p".into(),
            waited_seconds: 40,
            last_outcome: Some("Busy".into()),
            last_attempt_time: Some("l".into()),
        };
        let dl = dead_letter_event(&eg, &p, "MaxDeliveryAttemptsExceeded");
        assert_eq!(dl["deliveryAttempts"], 3);
        assert_eq!(dl["lastDeliveryOutcome"], "Busy");
        let dl = dead_letter_event(&ce, &p, "TimeToLiveExceeded");
        assert_eq!(dl["deadletterreason"], "TimeToLiveExceeded");
    }

    #[test]
    fn dead_letter_folders_never_leave_the_directory() {
        let dir = Path::new("/dl");
        let now = crate::emulator::infra::clock::parse_time("2026-01-02T03:04:05Z").unwrap();
        let acct = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts";
        let good = format!("{acct}/acct/blobServices/default/containers/dead");
        assert_eq!(
            dead_letter_folder(dir, &good, "/x/topics/orders", "sub1", now).unwrap(),
            Path::new("/dl/acct/dead/ORDERS/SUB1/2026/1/2/3")
        );
        for (container, scope, name) in [
            (
                format!("{acct}/../blobServices/default/containers/dead"),
                "/t/o",
                "s",
            ),
            (
                format!("{acct}/acct/blobServices/default/containers/.."),
                "/t/o",
                "s",
            ),
            (
                format!("{acct}/acct/blobServices/default/containers/."),
                "/t/o",
                "s",
            ),
            (
                format!("{acct}/acct/blobServices/default/containers/"),
                "/t/o",
                "s",
            ),
            (good.clone(), "/t/..", "s"),
            (good.clone(), "/t/o", ".."),
            (good.clone(), "/t/o", "a\\b"),
        ] {
            assert_eq!(
                dead_letter_folder(dir, &container, scope, name, now),
                None,
                "{container} {scope} {name}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_inside_the_directory_is_not_followed_out_of_it() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("acct")).unwrap();
        let folder = dir.path().join("acct/dead");
        assert!(write_dead_letter(dir.path(), &folder, &json!([])).is_err());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        let fine = dir.path().join("other/dead");
        write_dead_letter(dir.path(), &fine, &json!([1])).unwrap();
        assert_eq!(std::fs::read_dir(&fine).unwrap().count(), 1);
    }
}
