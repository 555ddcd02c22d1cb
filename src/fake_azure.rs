//! The one in-memory fake of Azure and Auth0 for unit tests (compiled only under `cfg(test)`).
//!
//! Owns what the services do to a `LiveState` when asked: a PUT is answered the way Azure's
//! official example responses answer it (`azure_echo`), PATCH replaces tags, actions set the
//! activation state, and creating an Auth0 stream makes the simulated partner create its partner
//! topic. The planner's tests drive it step by step; the executor's tests drive it through the
//! `Backend` trait, with injectable failures, delays and a concurrency meter. It is deliberately
//! simple and no substitute for the emulator, which everything end to end runs against.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::apply::{Backend, BackendError, BackendResult};
use crate::model::ResourceId;
use crate::model::live::LiveState;

/// What Azure's GET returns for a PUT body, per the example responses (REFERENCE §8).
pub fn azure_echo(id: &ResourceId, body: &Value) -> Value {
    let mut v = body.clone();
    v["id"] = json!(id.to_string());
    v["name"] = json!(id.name());
    v["type"] = json!(id.resource_type());
    v["systemData"] = json!({"createdBy": "someone"});
    if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("provisioningState".into(), json!("Succeeded"));
    }
    let ty = id.resource_type().to_ascii_lowercase();
    if ty.ends_with("/eventsubscriptions") {
        echo_subscription(id, &mut v);
    } else if ty.ends_with("/systemtopics") {
        v["properties"]["metricResourceId"] = json!("183c0fb1-0000-0000-0000-000000000000");
        let src = v["properties"]["source"].as_str().unwrap().to_lowercase();
        v["properties"]["source"] = json!(src);
    } else if ty.ends_with("/topics") {
        v["properties"]["endpoint"] = json!(format!(
            "https://{}.westeurope-1.eventgrid.azure.net/api/events",
            id.name()
        ));
        let loc = v["location"].as_str().unwrap().to_uppercase();
        v["location"] = json!(loc); // ARM may answer "West Europe" or "WESTEUROPE"
    } else if ty.ends_with("/partnerconfigurations") {
        v["properties"]["partnerAuthorization"]
            .as_object_mut()
            .unwrap()
            .entry("defaultMaximumExpirationTimeInDays")
            .or_insert(json!(7));
    }
    v
}

/// Server defaults (§8.3), labels null when empty (§8.4), the webhook URL's secret query string
/// and secret delivery attribute values never returned.
fn echo_subscription(id: &ResourceId, v: &mut Value) {
    let p = &mut v["properties"];
    p["topic"] = json!(id.parent().unwrap().to_string().to_lowercase());
    if p.get("eventDeliverySchema").is_none() {
        p["eventDeliverySchema"] = json!("EventGridSchema");
    }
    if p.get("retryPolicy").is_none() {
        p["retryPolicy"] = json!({"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440});
    }
    if let Some(filter) = p.get_mut("filter").and_then(Value::as_object_mut) {
        filter.entry("subjectBeginsWith").or_insert(json!(""));
        filter.entry("subjectEndsWith").or_insert(json!(""));
    }
    let dest = &mut p["destination"];
    if dest["endpointType"] != "WebHook" {
        return;
    }
    let d = dest["properties"].as_object_mut().unwrap();
    let url = d.remove("endpointUrl").unwrap();
    let base = url.as_str().unwrap().split('?').next().unwrap();
    d.insert("endpointBaseUrl".into(), json!(base));
    d.entry("maxEventsPerBatch").or_insert(json!(1));
    d.entry("preferredBatchSizeInKilobytes")
        .or_insert(json!(64));
    if let Some(list) = d
        .get_mut("deliveryAttributeMappings")
        .and_then(Value::as_array_mut)
    {
        for m in list {
            if m["properties"]["isSecret"] == json!(true) {
                m["properties"]["value"] = Value::Null;
            }
        }
    }
}

/// Registers a provider namespace at once.
pub fn register(live: &mut LiveState, namespace: &str) {
    live.providers
        .insert(namespace.to_ascii_lowercase(), "Registered".into());
}

/// PUT: stores and returns what Azure would answer.
pub fn put(live: &mut LiveState, id: &ResourceId, body: &Value) -> Value {
    let echo = azure_echo(id, body);
    live.resources.insert(id.clone(), echo.clone());
    echo
}

/// PATCH of the tags (the only PATCH gridform sends); `false` when the resource is missing.
pub fn patch_tags(live: &mut LiveState, id: &ResourceId, body: &Value) -> bool {
    let Some(r) = live.resources.get_mut(id) else {
        return false;
    };
    r["tags"] = body["tags"].clone();
    true
}

/// POST `activate` or `deactivate`: the resource after the action, `None` when missing.
pub fn set_activation(live: &mut LiveState, id: &ResourceId, action: &str) -> Option<Value> {
    let r = live.resources.get_mut(id)?;
    let state = if action == "activate" {
        "Activated"
    } else {
        "Deactivated"
    };
    r["properties"]["activationState"] = json!(state);
    Some(r.clone())
}

/// Creates (or replaces) an Auth0 log stream; the simulated partner names its partner topic in
/// the stream's sink and creates it, with `source`, in the sink's resource group.
pub fn create_stream(live: &mut LiveState, body: &Value, source: &str) -> Value {
    let mut b = body.clone();
    let name = b["name"].as_str().unwrap().to_string();
    let group = ResourceId::resource_group(
        b["sink"]["azureSubscriptionId"].as_str().unwrap(),
        b["sink"]["azureResourceGroup"].as_str().unwrap(),
    );
    // A recreated stream gets a new topic, as Auth0 names each one afresh.
    let (topic, id) = (0x7f3a..)
        .map(|n| format!("auth0-{name}-{n:x}"))
        .map(|t| {
            let id = group.provider_resource(crate::arm::EVENT_GRID_NAMESPACE, "partnerTopics", &t);
            (t, id)
        })
        .find(|(_, id)| !live.resources.contains_key(id))
        .unwrap();
    b["id"] = json!(format!("lst_{name}"));
    b["sink"]["azurePartnerTopic"] = json!(topic);
    partner_creates_topic(live, &id, source);
    live.auth0_streams.insert(name, b.clone());
    b
}

/// The partner creates its partner topic `id` (not yet activated) with `source`.
pub fn partner_creates_topic(live: &mut LiveState, id: &ResourceId, source: &str) {
    let created = json!({
        "id": id.to_string(), "name": id.name(), "type": id.resource_type(),
        "location": "westeurope", "tags": null,
        "properties": {
            "source": source, "activationState": "NeverActivated",
            "provisioningState": "Succeeded"
        }
    });
    live.resources.insert(id.clone(), created);
}

/// PATCH of a log stream: top-level keys replaced.
pub fn patch_stream(live: &mut LiveState, stream_id: &str, body: &Value) {
    let found = live
        .auth0_streams
        .values_mut()
        .find(|s| s["id"] == json!(stream_id));
    if let (Some(s), Some(fields)) = (found, body.as_object()) {
        for (k, v) in fields {
            s[k] = v.clone();
        }
    }
}

/// DELETE of a log stream (a missing one is fine).
pub fn delete_stream(live: &mut LiveState, stream_id: &str) {
    live.auth0_streams
        .retain(|_, s| s["id"] != json!(stream_id));
}

/// The fake as the executor sees it, with knobs for failures and timing.
#[derive(Default)]
pub struct FakeAzure {
    /// Everything that exists.
    pub live: Mutex<LiveState>,
    /// PUTs of resources with these names fail permanently (400 `InvalidRequest`).
    pub fail_put: Mutex<BTreeSet<String>>,
    /// The next PUT of each of these names fails transiently (a failed operation).
    pub flaky_once: Mutex<BTreeSet<String>>,
    /// Writes received (PUT, PATCH, DELETE, POST, stream creation).
    pub writes: AtomicUsize,
    /// PUTs running now.
    pub running: AtomicUsize,
    /// The most PUTs that ran at once.
    pub max_running: AtomicUsize,
    /// How long each PUT takes.
    pub delay: Duration,
    /// The source of the partner topics the simulated Auth0 partner creates.
    pub source: String,
    /// Webhook subscriptions fail their validation handshake.
    pub handshake_fails: bool,
    /// Webhooks answer the handshake without the code: subscriptions stay
    /// `AwaitingManualAction`.
    pub handshake_manual: bool,
    /// The simulated partner never creates its partner topic (not authorized, say).
    pub partner_silent: bool,
    /// Microsoft Graph refuses every subscription create (400, echoing nothing secret).
    pub graph_refuses: bool,
}

impl FakeAzure {
    fn state(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.live.lock().unwrap()
    }

    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    async fn work(&self) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
    }

    fn injected_put_failure(&self, id: &ResourceId) -> Option<BackendError> {
        if self.flaky_once.lock().unwrap().remove(id.name()) {
            return Some(BackendError {
                message: format!("PUT `{id}`: long-running operation Failed `InternalServerError`"),
                code: None,
                retryable: true,
            });
        }
        if self.fail_put.lock().unwrap().contains(id.name()) {
            return Some(BackendError {
                message: format!("PUT `{id}` returned 400 `InvalidRequest`"),
                code: Some("InvalidRequest".into()),
                retryable: false,
            });
        }
        let webhook = id.resource_type().ends_with("eventSubscriptions");
        (self.handshake_fails && webhook).then(|| {
            BackendError::new(format!(
                "PUT `{id}` returned 400 `InvalidRequest`: Webhook validation handshake failed \
                 for https://h.example.com"
            ))
        })
    }
}

impl Backend for FakeAzure {
    async fn provider_state(&self, _: &str, ns: &str) -> BackendResult<String> {
        let state = self
            .state()
            .providers
            .get(&ns.to_ascii_lowercase())
            .cloned();
        Ok(state.unwrap_or("NotRegistered".into()))
    }
    async fn register_provider(&self, _: &str, ns: &str) -> BackendResult<()> {
        self.wrote();
        register(&mut self.state(), ns);
        Ok(())
    }
    async fn get(&self, id: &ResourceId) -> BackendResult<Option<Value>> {
        Ok(self.state().resources.get(id).cloned())
    }
    async fn put(&self, id: &ResourceId, body: &Value) -> BackendResult<Value> {
        self.work().await;
        self.wrote();
        if let Some(e) = self.injected_put_failure(id) {
            return Err(e);
        }
        let mut done = put(&mut self.state(), id, body);
        if self.handshake_manual && id.resource_type().ends_with("eventSubscriptions") {
            done["properties"]["provisioningState"] = json!("AwaitingManualAction");
            self.state().resources.insert(id.clone(), done.clone());
        }
        Ok(done)
    }
    async fn patch(&self, id: &ResourceId, body: &Value) -> BackendResult<()> {
        self.wrote();
        match patch_tags(&mut self.state(), id, body) {
            true => Ok(()),
            false => Err(BackendError::new("404")),
        }
    }
    async fn delete(&self, id: &ResourceId) -> BackendResult<()> {
        self.wrote();
        self.state().resources.remove(id);
        Ok(())
    }
    async fn post_action(&self, id: &ResourceId, action: &str) -> BackendResult<Value> {
        self.wrote();
        set_activation(&mut self.state(), id, action).ok_or_else(|| BackendError::new("404"))
    }
    async fn auth0_stream(&self, name: &str) -> BackendResult<Option<Value>> {
        Ok(self.state().auth0_streams.get(name).cloned())
    }
    async fn auth0_create(&self, body: &Value) -> BackendResult<Value> {
        self.wrote();
        let mut live = self.state();
        let mut created = create_stream(&mut live, body, &self.source);
        if self.partner_silent {
            live.resources
                .retain(|id, _| !id.resource_type().ends_with("partnerTopics"));
            let name = body["name"].as_str().unwrap_or_default();
            if let Some(s) = live.auth0_streams.get_mut(name) {
                s["sink"]["azurePartnerTopic"] = Value::Null;
            }
            created["sink"]["azurePartnerTopic"] = Value::Null;
        }
        Ok(created)
    }
    async fn auth0_patch(&self, stream_id: &str, body: &Value) -> BackendResult<()> {
        patch_stream(&mut self.state(), stream_id, body);
        Ok(())
    }
    async fn auth0_delete(&self, stream_id: &str) -> BackendResult<()> {
        delete_stream(&mut self.state(), stream_id);
        Ok(())
    }
    async fn graph_create(&self, body: &Value) -> BackendResult<Value> {
        self.wrote();
        if self.graph_refuses {
            return Err(BackendError::new(
                "POST /subscriptions returned 400 `InvalidRequest`",
            ));
        }
        Ok(create_graph_subscription(
            &mut self.state(),
            body,
            &self.source,
        ))
    }
    async fn graph_get(&self, id: &str) -> BackendResult<Option<Value>> {
        Ok(self.state().graph_subscriptions.get(id).cloned())
    }
    async fn graph_patch(&self, id: &str, body: &Value) -> BackendResult<Value> {
        self.wrote();
        patch_graph_subscription(&mut self.state(), id, body)
            .ok_or_else(|| BackendError::new("404 ResourceNotFound"))
    }
    async fn graph_delete(&self, id: &str) -> BackendResult<()> {
        self.wrote();
        self.state().graph_subscriptions.remove(id);
        Ok(())
    }
}

/// Microsoft Graph's PATCH: the fields given replaced; `None` when the subscription is gone.
pub fn patch_graph_subscription(live: &mut LiveState, id: &str, body: &Value) -> Option<Value> {
    let sub = live.graph_subscriptions.get_mut(id)?;
    for (k, v) in body.as_object().into_iter().flatten() {
        sub[k] = v.clone();
    }
    Some(sub.clone())
}

/// Microsoft Graph creates a subscription; its partner creates the partner topic the
/// `EventGrid:?` notification URL names (not yet activated), with `source`.
pub fn create_graph_subscription(live: &mut LiveState, body: &Value, source: &str) -> Value {
    let mut b = body.clone();
    // Never an id used before (Graph ids are GUIDs, never reused).
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let id = format!("graph-{:04}", NEXT.fetch_add(1, Ordering::SeqCst));
    b["id"] = json!(id);
    let url = b["notificationUrl"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let query: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(url.trim_start_matches("EventGrid:?").as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
    if let (Some(sub), Some(rg), Some(topic)) = (
        query.get("azuresubscriptionid"),
        query.get("resourcegroup"),
        query.get("partnertopic"),
    ) {
        let topic_id = ResourceId::resource_group(sub, rg).provider_resource(
            crate::arm::EVENT_GRID_NAMESPACE,
            "partnerTopics",
            topic,
        );
        if !live.resources.contains_key(&topic_id) {
            partner_creates_topic(live, &topic_id, source);
        }
    }
    live.graph_subscriptions.insert(id, b.clone());
    b
}
