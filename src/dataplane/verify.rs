//! `verify`: for each event subscription of the stack, send a uniquely tagged canary that its
//! filter accepts through the path that can carry it — custom topics: publish; partner topics:
//! the emulated Auth0's or Microsoft Graph's emit (a Graph partner topic's canary goes through
//! the Graph subscription that notifies it, found by listing Graph's subscriptions once); system
//! topics: the emulated source's emit — and read the
//! emulator's delivery log for the verdict. Against Azure only custom topics can be published
//! to and no delivery receipt exists, so the rest is reported as not verifiable.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::canary::canary;
use super::controls::{DeliveryVerdict, EmulatorControls};
use super::events::{auth0_event, graph_event, make_event, signalr_event};
use super::publish::{PublishSchema, TopicEndpoint, resolve, send};
use crate::arm::ArmClient;
use crate::graph::GraphClient;
use crate::model::graph_url::EventGridTarget;
use crate::model::spec::{EventSubscriptionSpec, TopicKind};
use crate::model::{DesiredResource, DesiredState, ResourceId, ResourceKind, ResourceSpec};

/// What became of one subscription's canary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanaryResult {
    /// Delivered (with how).
    Delivered(String),
    /// Sent but not delivered, or not sendable (why).
    Failed(String),
    /// Published, but delivery cannot be observed on this target.
    PublishedOnly(String),
    /// No path can carry a canary (why).
    NotVerifiable(String),
}

/// The verdict per subscription, in manifest order.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Subscription name and result.
    pub results: Vec<(String, CanaryResult)>,
}

enum CanaryPath {
    Publish(String),
    Partner(String),
    /// The partner topic `id` a Graph subscription on `resource` notifies.
    Graph {
        topic: ResourceId,
        resource: String,
    },
    System(String),
    Unknown(String),
}

fn path_of(desired: &DesiredState, s: &EventSubscriptionSpec) -> CanaryPath {
    let Some(t) = &s.topic else {
        return CanaryPath::Unknown("its scope is outside these manifests".into());
    };
    match t.kind {
        TopicKind::Topic => CanaryPath::Publish(t.name.clone()),
        TopicKind::PartnerTopic => match desired.find(ResourceKind::PartnerTopic, &t.name) {
            Some(DesiredResource {
                spec: ResourceSpec::PartnerTopic(p),
                id,
                ..
            }) => match (&p.from_auth0_log_stream, &p.from_graph_subscription, id) {
                (Some(stream), _, _) => CanaryPath::Partner(stream.clone()),
                (None, Some(handle), Some(topic)) => graph_path(desired, handle, topic),
                _ => CanaryPath::Unknown(
                    "its partner is neither an Auth0 log stream nor a Graph subscription of this stack"
                        .into(),
                ),
            },
            _ => CanaryPath::Unknown(format!("partner topic `{}` is not declared", t.name)),
        },
        TopicKind::SystemTopic => match desired.find(ResourceKind::SystemTopic, &t.name) {
            Some(DesiredResource {
                spec: ResourceSpec::SystemTopic(st),
                ..
            }) => CanaryPath::System(st.source.clone()),
            _ => CanaryPath::Unknown(format!("system topic `{}` is not declared", t.name)),
        },
    }
}

fn graph_path(desired: &DesiredState, handle: &str, topic: &ResourceId) -> CanaryPath {
    match desired.find(ResourceKind::GraphSubscription, handle) {
        Some(DesiredResource {
            spec: ResourceSpec::GraphSubscription(g),
            ..
        }) => CanaryPath::Graph {
            topic: topic.clone(),
            resource: g.resource.clone(),
        },
        _ => CanaryPath::Unknown(format!("Graph subscription `{handle}` is not declared")),
    }
}

/// The id of the Graph subscription (of those listed) that notifies partner topic `topic`.
fn graph_subscription_for(listed: &[Value], topic: &ResourceId) -> Option<String> {
    listed.iter().find_map(|s| {
        let target = EventGridTarget::parse(s["notificationUrl"].as_str()?)?;
        (target.topic_id() == *topic).then(|| s["id"].as_str().map(str::to_string))?
    })
}

/// Everything a verify run needs.
pub struct Verifier<'a> {
    /// ARM, for topic endpoints and keys.
    pub arm: &'a ArmClient,
    /// The Microsoft Graph client, when the manifests declare Graph subscriptions.
    pub graph: Option<&'a GraphClient>,
    /// The emulator's controls, when the target is one.
    pub emulator: Option<&'a EmulatorControls>,
    /// The data-plane HTTP client.
    pub http: &'a reqwest::Client,
    /// How long to wait for each verdict.
    pub timeout: Duration,
    /// The event time to stamp (RFC 3339).
    pub now: String,
}

impl Verifier<'_> {
    /// Sends one canary per subscription of `desired` and collects the verdicts.
    pub async fn run(&self, desired: &DesiredState) -> VerifyReport {
        let mut endpoints: BTreeMap<String, Result<TopicEndpoint, String>> = BTreeMap::new();
        let mut report = VerifyReport::default();
        let mut graph_listed = None;
        for r in &desired.resources {
            let ResourceSpec::EventSubscription(s) = &r.spec else {
                continue;
            };
            let result = self
                .one(desired, r, s, &mut endpoints, &mut graph_listed)
                .await;
            report.results.push((r.name.clone(), result));
        }
        report
    }

    async fn one(
        &self,
        desired: &DesiredState,
        r: &DesiredResource,
        s: &EventSubscriptionSpec,
        endpoints: &mut BTreeMap<String, Result<TopicEndpoint, String>>,
        graph_listed: &mut Option<Result<Vec<Value>, String>>,
    ) -> CanaryResult {
        let filter = s
            .filter
            .as_ref()
            .and_then(|f| serde_json::to_value(f).ok())
            .unwrap_or_else(|| json!({}));
        let id = format!("gridform-canary-{}", uuid::Uuid::new_v4());
        let sent = match path_of(desired, s) {
            CanaryPath::Unknown(why) => {
                return CanaryResult::NotVerifiable(format!("cannot verify: {why}"));
            }
            CanaryPath::Publish(topic) => {
                self.publish_canary(desired, &topic, &id, &filter, endpoints).await
            }
            CanaryPath::Partner(stream) => match self.emulator {
                None => return CanaryResult::NotVerifiable("cannot verify on Azure: only Auth0 can publish to its partner topic (trigger a log event in Auth0 and watch the endpoint)".into()),
                Some(e) => {
                    let mut base = auth0_event("s", &id, &self.now);
                    base["data"]["gridformCanary"] = json!(id);
                    self.emit(base, &filter, |ev| async move { e.emit_auth0(&stream, &ev).await }).await
                }
            },
            CanaryPath::Graph { topic, resource } => match self.emulator {
                None => return CanaryResult::NotVerifiable("cannot verify on Azure: only Microsoft Graph notifies its partner topic (change a user or group and watch the endpoint)".into()),
                Some(e) => match self.graph_id(graph_listed, &topic).await {
                    Err(why) => Err(why),
                    Ok(graph_id) => {
                        let mut base = graph_event("updated", &format!("{resource}/{id}"), &id, &self.now);
                        base["data"]["gridformCanary"] = json!(id);
                        self.emit(base, &filter, |ev| async move { e.emit_graph(&graph_id, &ev).await }).await
                    }
                },
            },
            CanaryPath::System(source) => match self.emulator {
                None => return CanaryResult::NotVerifiable("cannot verify on Azure: only the source resource emits system events (e.g. connect a SignalR client)".into()),
                Some(e) => {
                    let mut base = signalr_event(&source, "chat", true, &id, &self.now);
                    base["data"]["gridformCanary"] = json!(id);
                    self.emit(base, &filter, |ev| async move { e.emit_system(&source, &ev).await }).await
                }
            },
        };
        match (sent, self.emulator) {
            (Err(e), _) => CanaryResult::Failed(e),
            (Ok(()), None) => CanaryResult::PublishedOnly(format!(
                "canary {id} published; delivery not verifiable on Azure (no delivery receipt API: check the endpoint or the subscription's metrics)"
            )),
            (Ok(()), Some(e)) => match e.delivery_verdict(&r.name, &id, self.timeout).await {
                DeliveryVerdict::Delivered(n) => {
                    CanaryResult::Delivered(format!("delivered after {n} attempt(s)"))
                }
                DeliveryVerdict::Failed(why) | DeliveryVerdict::Pending(why) => {
                    CanaryResult::Failed(why)
                }
            },
        }
    }

    /// The Graph subscription notifying `topic`, listing Graph's subscriptions on first use.
    async fn graph_id(
        &self,
        listed: &mut Option<Result<Vec<Value>, String>>,
        topic: &ResourceId,
    ) -> Result<String, String> {
        if listed.is_none() {
            let fresh = match self.graph {
                None => Err("no Microsoft Graph client".to_string()),
                Some(g) => g.list_subscriptions().await.map_err(|e| error_chain(&e)),
            };
            *listed = Some(fresh);
        }
        match listed {
            Some(Ok(subs)) => graph_subscription_for(subs, topic).ok_or_else(|| {
                format!(
                    "no Graph subscription notifies partner topic `{}`",
                    topic.name()
                )
            }),
            Some(Err(e)) => Err(e.clone()),
            None => Err("Graph subscriptions not listed".into()),
        }
    }

    async fn emit<F, Fut>(&self, base: Value, filter: &Value, send_it: F) -> Result<(), String>
    where
        F: FnOnce(Value) -> Fut,
        Fut: std::future::Future<Output = Result<u64, super::DataPlaneError>>,
    {
        let event = canary(base, filter).ok_or("cannot build an event that its filter accepts")?;
        send_it(event)
            .await
            .map(|_| ())
            .map_err(|e| error_chain(&e))
    }

    async fn publish_canary(
        &self,
        desired: &DesiredState,
        topic: &str,
        id: &str,
        filter: &Value,
        endpoints: &mut BTreeMap<String, Result<TopicEndpoint, String>>,
    ) -> Result<(), String> {
        let doc = desired
            .find(ResourceKind::Topic, topic)
            .ok_or_else(|| format!("topic `{topic}` is not declared"))?;
        if !endpoints.contains_key(topic) {
            let resolved = resolve(self.arm, self.emulator, doc)
                .await
                .map_err(|e| error_chain(&e));
            endpoints.insert(topic.to_string(), resolved);
        }
        let endpoint = match endpoints.get(topic) {
            Some(Ok(t)) => t,
            Some(Err(e)) => return Err(e.clone()),
            None => return Err("topic not resolved".into()),
        };
        let data = json!({"gridformCanary": id});
        let base = make_event(
            PublishSchema::of(doc),
            id,
            "Gridform.Canary",
            "/gridform/canary",
            data,
            &self.now,
        );
        let event = canary(base, filter).ok_or("cannot build an event that its filter accepts")?;
        send(self.http, endpoint, &[event])
            .await
            .map_err(|e| error_chain(&e))
    }
}

/// An error and its causes on one line (`a: b: c`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cur = c.source();
    }
    text
}
