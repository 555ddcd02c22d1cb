//! The emulated world, independent of HTTP: subscriptions and their provider registrations,
//! resource groups, Event Grid resources, long-running operations, Auth0 log streams, Microsoft
//! Graph subscriptions and what the built-in webhook sink recorded.
//!
//! Methods take a `Ctx` (time, base URL, LRO delay) and return `Result<_, StoreError>`; time only
//! moves through `tick`, which completes operations, registrations, partner actions and expiries.
//! This module must not know about statuses, headers or axum; it is kept in the state database
//! row by row (`rows.rs`) and read from the old JSON state file for a migration.

pub mod auth0;
pub mod deadlines;
pub mod delivery;
pub mod error;
pub mod eventgrid;
pub mod graph;
pub mod graph_rules;
pub mod groups;
pub mod partners;
pub mod rows;
pub mod subscription_fields;
pub mod subscription_rules;
pub mod subscriptions;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::emulator::infra::clock::format_time;
use crate::emulator::infra::ids::IdGen;
pub use crate::emulator::store::error::StoreError;
use crate::model::id::ResourceId;

/// The JSON state file format version this build migrates (and the `version` meta row).
pub const STATE_VERSION: u32 = 1;

/// The Event Grid namespace.
pub const EVENT_GRID: &str = "Microsoft.EventGrid";

/// Per-call inputs the store needs but does not own.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Emulator time of this request.
    pub now: DateTime<Utc>,
    /// Base URL of this emulator (`http://127.0.0.1:PORT`), for absolute URLs in bodies.
    pub base: String,
    /// How long long-running work takes.
    pub delay: chrono::Duration,
    /// Whether a long-running operation started by this call must end `Failed`.
    pub fail_lro: bool,
}

impl Ctx {
    /// A context at `now` with no delay (tests).
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            base: "http://emulator.invalid".into(),
            delay: chrono::Duration::zero(),
            fail_lro: false,
        }
    }
}

/// What kind of resource a stored entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// `Microsoft.Resources/resourceGroups`.
    ResourceGroup,
    /// `Microsoft.EventGrid/topics`.
    Topic,
    /// `Microsoft.EventGrid/systemTopics`.
    SystemTopic,
    /// `Microsoft.EventGrid/partnerConfigurations`.
    PartnerConfiguration,
    /// `Microsoft.EventGrid/partnerTopics`.
    PartnerTopic,
    /// `Microsoft.EventGrid/eventSubscriptions` (stored extension-style).
    EventSubscription,
}

impl Kind {
    /// The ARM `type` string.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::ResourceGroup => "Microsoft.Resources/resourceGroups",
            Self::Topic => "Microsoft.EventGrid/topics",
            Self::SystemTopic => "Microsoft.EventGrid/systemTopics",
            Self::PartnerConfiguration => "Microsoft.EventGrid/partnerConfigurations",
            Self::PartnerTopic => "Microsoft.EventGrid/partnerTopics",
            Self::EventSubscription => "Microsoft.EventGrid/eventSubscriptions",
        }
    }

    /// The kind for an Event Grid collection segment (`topics`, ...), case-insensitively.
    pub fn from_collection(segment: &str) -> Option<Self> {
        match segment.to_ascii_lowercase().as_str() {
            "topics" => Some(Self::Topic),
            "systemtopics" => Some(Self::SystemTopic),
            "partnerconfigurations" => Some(Self::PartnerConfiguration),
            "partnertopics" => Some(Self::PartnerTopic),
            "eventsubscriptions" => Some(Self::EventSubscription),
            _ => None,
        }
    }
}

/// One stored resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    /// The id as first written.
    pub id: String,
    /// Its kind.
    pub kind: Kind,
    /// The body GET returns (for event subscriptions: without `id`/`name`/`type`).
    pub body: Value,
    /// Write-only values GET never shows (keys, full webhook URL, secret attribute values).
    #[serde(default)]
    pub hidden: Value,
}

/// A provider registration in one subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    /// Namespace as spelled in the catalog.
    pub namespace: String,
    /// `NotRegistered`, `Registering`, `Registered`, `Unregistering`, `Unregistered`.
    pub state: String,
    /// When a `Registering`/`Unregistering` state settles.
    pub settles_at: Option<DateTime<Utc>>,
}

/// What a long-running operation does when it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpAction {
    /// Finish provisioning (`Succeeded`).
    Provision,
    /// Remove the resource and everything below it.
    Delete,
    /// Nothing to apply (the resource's state is driven elsewhere, e.g. a manual validation).
    Track,
}

/// A long-running operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LongRunningOperation {
    /// Operation id (a GUID).
    pub id: String,
    /// Subscription it belongs to.
    pub subscription: String,
    /// Namespace whose URL shape it uses.
    pub namespace: String,
    /// Location segment for the status URL.
    pub location: String,
    /// Lowercased key of the resource it acts on.
    pub resource: String,
    /// What completion does.
    pub action: OpAction,
    /// Started at.
    pub started: DateTime<Utc>,
    /// Completes at.
    pub due: DateTime<Utc>,
    /// `InProgress`, `Succeeded` or `Failed`.
    pub status: String,
    /// Whether it must end `Failed`.
    pub fail: bool,
}

/// A reference to an operation, enough to build its URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpRef {
    /// Operation id.
    pub id: String,
    /// Subscription id.
    pub subscription: String,
    /// Namespace.
    pub namespace: String,
    /// Location segment.
    pub location: String,
}

/// Something the built-in webhook sink received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SinkRecord {
    /// When (emulator clock).
    pub at: String,
    /// The URL it was addressed to.
    pub url: String,
    /// The `aeg-event-type` header.
    pub event_type: String,
    /// The JSON body.
    pub body: Value,
}

/// The whole emulated world.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Store {
    /// State file format version.
    pub version: u32,
    /// Token signing key (hex); kept so tokens survive restarts with `--state`.
    pub signing_key: String,
    /// Seeded generator for ids and keys.
    pub ids: IdGen,
    registrations: BTreeMap<String, BTreeMap<String, Registration>>,
    resources: BTreeMap<String, Resource>,
    operations: BTreeMap<String, LongRunningOperation>,
    /// Auth0 tenant, log streams and pending partner actions.
    pub auth0: auth0::Auth0State,
    /// Microsoft Graph subscriptions by lowercased id.
    #[serde(default)]
    graph: BTreeMap<String, graph::GraphSubscription>,
    /// What the built-in webhook sink received.
    pub sink: Vec<SinkRecord>,
    /// Batches not yet delivered (retried after a restart).
    #[serde(default)]
    pub outbox: BTreeMap<String, delivery::Pending>,
    /// The latest delivery attempts (newest last, capped).
    #[serde(default)]
    pub delivery_log: Vec<delivery::DeliveryRecord>,
    #[serde(skip)]
    dirty: rows::Dirty,
    #[serde(skip)]
    sink_seq: rows::LogSeq,
    #[serde(skip)]
    delivery_seq: rows::LogSeq,
    #[serde(skip)]
    deadlines: deadlines::Deadlines,
}

impl Store {
    /// An empty world.
    pub fn new(seed: u64) -> Self {
        let mut ids = IdGen::new(seed);
        let signing_key = ids.hex(64);
        Self {
            version: STATE_VERSION,
            signing_key,
            ids,
            registrations: BTreeMap::new(),
            resources: BTreeMap::new(),
            operations: BTreeMap::new(),
            auth0: auth0::Auth0State::default(),
            graph: BTreeMap::new(),
            sink: Vec::new(),
            outbox: BTreeMap::new(),
            delivery_log: Vec::new(),
            dirty: rows::Dirty::everything(),
            sink_seq: rows::LogSeq::default(),
            delivery_seq: rows::LogSeq::default(),
            deadlines: deadlines::Deadlines::default(),
        }
    }

    /// Marks the whole store to be written (a store read from a JSON state file).
    pub fn mark_all(&mut self) {
        self.dirty = rows::Dirty::everything();
    }

    /// Applies everything due by `now`: operations, registrations, partner actions, expiries.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        if self.deadlines.operations_due(now) {
            self.tick_operations(now);
        }
        let mut settled = Vec::new();
        for (sub, regs) in &mut self.registrations {
            for reg in regs.values_mut() {
                if reg.settles_at.is_some_and(|t| t <= now) {
                    reg.settles_at = None;
                    reg.state = match reg.state.as_str() {
                        "Unregistering" => "Unregistered".into(),
                        _ => "Registered".into(),
                    };
                    settled.push(sub.clone());
                }
            }
        }
        for sub in settled {
            self.mark(rows::REGISTRATIONS, &sub);
        }
        self.run_partner(now);
        if self.deadlines.graph_due(now) {
            self.tick_graph(now);
        }
        if self.expiry_due(now) {
            self.expire_partner_topics(now);
            self.expire_event_subscriptions(now);
            self.expire_manual_validations(now);
        }
    }

    /// Completes the due operations and forgets those finished over an hour ago.
    fn tick_operations(&mut self, now: DateTime<Utc>) {
        let due: Vec<String> = self
            .operations
            .values()
            .filter(|op| op.status == "InProgress" && op.due <= now)
            .map(|op| op.id.clone())
            .collect();
        for id in due {
            self.complete_operation(&id);
        }
        // Finished operations are kept for an hour so pollers can still read them.
        let horizon = now - chrono::Duration::hours(1);
        let expired: Vec<String> = self
            .operations
            .values()
            .filter(|op| op.status != "InProgress" && op.due <= horizon)
            .map(|op| op.id.clone())
            .collect();
        for id in expired {
            self.operations.remove(&id);
            self.mark(rows::OPERATIONS, &id);
        }
        let next = self.operations.values().map(operation_check_time).min();
        self.deadlines.operations_next(next);
    }

    fn complete_operation(&mut self, id: &str) {
        let Some(op) = self.operations.get_mut(id) else {
            return;
        };
        op.status = if op.fail { "Failed" } else { "Succeeded" }.into();
        let (action, key, fail) = (op.action, op.resource.clone(), op.fail);
        self.mark(rows::OPERATIONS, id);
        match action {
            OpAction::Provision => {
                if let Some(res) = self.resource_mut(&key) {
                    set_state(res, if fail { "Failed" } else { "Succeeded" });
                }
            }
            OpAction::Track => {}
            OpAction::Delete => {
                if fail {
                    if let Some(res) = self.resource_mut(&key) {
                        set_state(res, "Failed");
                    }
                } else {
                    self.remove_tree(&key);
                }
            }
        }
    }

    /// Starts a long-running operation on `key`; completes it at once when `ctx.delay` is zero.
    pub(crate) fn start_operation(
        &mut self,
        ctx: &Ctx,
        subscription: &str,
        namespace: &str,
        location: &str,
        key: &str,
        action: OpAction,
    ) -> OpRef {
        let id = self.ids.uuid();
        let op = LongRunningOperation {
            id: id.clone(),
            subscription: subscription.to_string(),
            namespace: namespace.to_string(),
            location: location.to_ascii_lowercase().replace(' ', ""),
            resource: key.to_string(),
            action,
            started: ctx.now,
            due: ctx.now + ctx.delay,
            status: "InProgress".into(),
            fail: ctx.fail_lro,
        };
        let op_ref = OpRef {
            id: id.clone(),
            subscription: op.subscription.clone(),
            namespace: op.namespace.clone(),
            location: op.location.clone(),
        };
        self.operations.insert(id.clone(), op);
        self.mark(rows::OPERATIONS, &id);
        if ctx.delay <= chrono::Duration::zero() {
            self.complete_operation(&id);
        }
        if let Some(op) = self.operations.get(&id) {
            self.deadlines.operation_at(operation_check_time(op));
        }
        op_ref
    }

    /// The operation-status body (`Azure-AsyncOperation` URL) for `id`.
    pub fn operation(
        &self,
        subscription: &str,
        id: &str,
    ) -> Result<&LongRunningOperation, StoreError> {
        self.operations
            .get(id)
            .filter(|op| op.subscription.eq_ignore_ascii_case(subscription))
            .ok_or_else(|| StoreError::NotFound {
                type_name: "operationStatuses".into(),
                name: id.into(),
                group: String::new(),
            })
    }

    /// `Azure-AsyncOperation` status body.
    pub fn operation_status_body(op: &LongRunningOperation) -> Value {
        let mut body = json!({
            "id": format!("/subscriptions/{}/providers/{}/locations/{}/operationsStatus/{}",
                op.subscription, op.namespace, op.location, op.id),
            "name": op.id,
            "status": op.status,
            "startTime": format_time(op.started),
        });
        if op.status != "InProgress" {
            body["endTime"] = json!(format_time(op.due));
        }
        if op.status == "Failed" {
            body["error"] = json!({
                "code": "ResourceOperationFailure",
                "message": "The resource operation completed with terminal provisioning state 'Failed'.",
                "details": [{"code": "InjectedFault", "message": "The emulator was told to fail this operation."}]
            });
        }
        body
    }

    /// Removes `key` and every resource whose id is below it; returns how many went.
    pub(crate) fn remove_tree(&mut self, key: &str) -> usize {
        let prefix = format!("{key}/");
        // Keys below `key` are one contiguous range: no scan of the whole world.
        let below = self
            .resources
            .range(prefix.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix));
        let doomed: Vec<String> = self
            .resources
            .get_key_value(key)
            .map(|(k, _)| k)
            .into_iter()
            .chain(below)
            .cloned()
            .collect();
        for k in &doomed {
            self.resources.remove(k);
            self.mark(rows::RESOURCES, k);
        }
        doomed.len()
    }

    pub(crate) fn resource(&self, key: &str) -> Option<&Resource> {
        self.resources.get(key)
    }

    pub(crate) fn resource_mut(&mut self, key: &str) -> Option<&mut Resource> {
        self.mark(rows::RESOURCES, key);
        self.resources.get_mut(key)
    }

    pub(crate) fn insert(&mut self, res: Resource) {
        let key = res.id.to_ascii_lowercase();
        self.mark(rows::RESOURCES, &key);
        self.resources.insert(key, res);
    }

    /// Stored resources of `kind`, in key order, for which `keep` holds.
    pub(crate) fn resources_of<'a>(
        &'a self,
        kind: Kind,
        keep: impl Fn(&Resource) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .values()
            .filter(move |r| r.kind == kind && keep(r))
    }

    /// Errors unless the resource group of `id` exists.
    pub(crate) fn require_group(&self, id: &ResourceId) -> Result<(), StoreError> {
        let Some(group) = id.resource_group_name() else {
            return Ok(());
        };
        let key = ResourceId::resource_group(id.subscription_id(), group)
            .as_str()
            .to_ascii_lowercase();
        match self.resources.get(&key) {
            Some(_) => Ok(()),
            None => Err(StoreError::ResourceGroupNotFound(group.to_string())),
        }
    }
}

/// When `tick` must next look at `op`: its completion, or its removal an hour after.
fn operation_check_time(op: &LongRunningOperation) -> DateTime<Utc> {
    if op.status == "InProgress" {
        op.due
    } else {
        op.due + chrono::Duration::hours(1)
    }
}

/// Sets `properties.provisioningState`.
pub(crate) fn set_state(res: &mut Resource, state: &str) {
    let props = if res.kind == Kind::EventSubscription {
        &mut res.body
    } else {
        &mut res.body["properties"]
    };
    if let Some(obj) = props.as_object_mut() {
        obj.insert("provisioningState".into(), json!(state));
    }
}

/// A `NotFound` error for `id`.
pub(crate) fn not_found(kind: Kind, id: &ResourceId) -> StoreError {
    StoreError::NotFound {
        type_name: kind.type_name().into(),
        name: id.name().to_string(),
        group: id.resource_group_name().unwrap_or_default().to_string(),
    }
}

/// `body[field]` as an object, or a 400 naming the field.
pub(crate) fn object_field<'a>(
    body: &'a Value,
    field: &str,
) -> Result<Option<&'a serde_json::Map<String, Value>>, StoreError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(StoreError::bad(
            "InvalidRequestContent",
            format!("The request content was invalid: '{field}' must be an object."),
        )),
    }
}

/// `tags` from a body: an object of strings, or a 400.
pub(crate) fn tags_field(body: &Value) -> Result<Option<Value>, StoreError> {
    match object_field(body, "tags")? {
        None => Ok(None),
        Some(map) => {
            if map.values().all(Value::is_string) {
                Ok(Some(Value::Object(map.clone())))
            } else {
                Err(StoreError::bad(
                    "InvalidRequestContent",
                    "The request content was invalid: tag values must be strings.",
                ))
            }
        }
    }
}
