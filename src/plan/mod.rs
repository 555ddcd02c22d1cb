//! The planner: `plan(&DesiredState, &LiveState, &PlanOptions) -> Plan`.
//!
//! Owns diffing, normalization, ownership rules, the request bodies gridform sends and the
//! dependency graph of actions. It must stay pure: no I/O, no tokio, no clock (time is an input),
//! no `arm`/`render` imports; `apply` executes what it decides.

pub(crate) mod auth0_record;
mod build;
pub(crate) mod destroy;
pub(crate) mod graph_record;
pub(crate) mod immutable;
pub(crate) mod inventory;
pub(crate) mod normalize;
pub(crate) mod ownership;
pub(crate) mod saved;
pub(crate) mod wire;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::live::RequestCounts;
use crate::model::{ResourceId, ResourceKind};

pub use build::{order_auth0_deletes, plan};

#[cfg(test)]
mod ownership_tests;
#[cfg(test)]
mod replace_tests;
#[cfg(test)]
mod tests;

/// Inputs besides the two states.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The current time (authorization windows, renewals).
    pub now: DateTime<Utc>,
    /// Salt for the digest of new secret parts (random per run; existing digests keep theirs).
    pub salt: String,
    /// Whether the live state includes full webhook URLs and delivery attributes.
    pub refresh_secrets: bool,
    /// Resources to replace even though nothing forces it (`--replace KIND/NAME`).
    pub force_replace: Vec<(ResourceKind, String)>,
}

/// The kinds `--replace` can name: the others are created by someone else (partner topics),
/// hold everything else (resource groups) or have nothing to recreate.
pub const REPLACEABLE_KINDS: [ResourceKind; 5] = [
    ResourceKind::Topic,
    ResourceKind::SystemTopic,
    ResourceKind::EventSubscription,
    ResourceKind::Auth0LogStream,
    ResourceKind::GraphSubscription,
];

/// What to do to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Register a resource provider.
    Register,
    /// Create a resource.
    Create,
    /// Change a resource in place.
    Update,
    /// Delete and create again (an immutable field changed).
    Replace,
    /// Delete a resource this stack owns.
    Delete,
    /// Authorize a partner in a partner configuration.
    Authorize,
    /// Renew a partner authorization that expires within `renewBefore`.
    Renew,
    /// Create the Auth0 log stream.
    CreateLogStream,
    /// Wait for the partner to create its partner topic.
    WaitForPartner,
    /// Activate a partner topic.
    Activate,
    /// Deactivate a partner topic.
    Deactivate,
    /// Take ownership of an existing unowned resource (`metadata.adopt: true`).
    Adopt,
}

impl Operation {
    /// The Graph subscription id an operation acts on, for Graph operations on an existing one.
    pub fn graph_id(&self) -> Option<&str> {
        match self {
            Self::PatchGraphSubscription { graph_id, .. }
            | Self::ReplaceGraphSubscription { graph_id, .. }
            | Self::DeleteGraphSubscription { graph_id, .. } => Some(graph_id),
            _ => None,
        }
    }
}

/// Which resource an action is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionTarget {
    /// The manifest kind.
    pub kind: ResourceKind,
    /// The manifest name (handle).
    pub name: String,
    /// The ARM id, when known before apply.
    pub id: Option<ResourceId>,
}

/// One attribute-level change. Values are normalized and never secret.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    /// Dotted path in the ARM body (or `secret parts`).
    pub path: String,
    /// The live value.
    pub before: Option<Value>,
    /// The desired value.
    pub after: Option<Value>,
    /// The values are secret: only the fact of the change is shown.
    pub sensitive: bool,
    /// This change alone forces a replacement.
    pub forces_replacement: bool,
}

/// Where an operation's target lives when the plan is made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Locator {
    /// A known ARM id.
    Id(ResourceId),
    /// The partner topic that this Auth0 stream's partner creates (name known after apply), and
    /// optionally a child path below it (`eventSubscriptions/{name}`).
    PartnerTopicOf {
        /// Azure subscription id.
        subscription_id: String,
        /// The Auth0 stream name.
        stream: String,
        /// Resource group the topic appears in.
        resource_group: String,
        /// `eventSubscriptions/{name}` for a subscription on it.
        child: Option<String>,
    },
}

/// An ARM request body, held as its compact JSON text: at 10k documents the bodies as
/// `serde_json` maps (a B-tree node of ~630 bytes per map, six maps per subscription) were the
/// largest part of `plan`'s peak memory, and only `apply` (and a saved plan's request digest)
/// reads them. The text is what `Value`'s `Display` prints, so digests are unchanged.
/// Bodies hold secrets: `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestBody(Box<str>);

impl RequestBody {
    /// The body as a `serde_json` value (parsed on each call: readers are apply and tests).
    pub fn as_value(&self) -> Value {
        // The text is `Value`'s own serialization, so parsing it back cannot fail.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// The compact JSON text (what the request sends; secret).
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

impl From<&Value> for RequestBody {
    fn from(body: &Value) -> Self {
        Self(body.to_string().into_boxed_str())
    }
}

impl From<Value> for RequestBody {
    fn from(body: Value) -> Self {
        Self::from(&body)
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestBody(..)")
    }
}

/// The request(s) an action makes; bodies hold secrets and never leave memory.
#[derive(Clone, PartialEq)]
pub enum Operation {
    /// `POST /subscriptions/{s}/providers/{ns}/register`, then wait for `Registered`.
    Register {
        /// Subscription id.
        subscription_id: String,
        /// Provider namespace.
        namespace: String,
    },
    /// PUT the body (create or full update).
    Put {
        /// Target.
        at: Locator,
        /// Body.
        body: RequestBody,
    },
    /// PATCH the body.
    Patch {
        /// Target.
        at: Locator,
        /// Body.
        body: RequestBody,
    },
    /// DELETE, then PUT the body.
    Replace {
        /// Target.
        at: Locator,
        /// Body.
        body: RequestBody,
    },
    /// DELETE.
    Delete {
        /// Target.
        at: Locator,
    },
    /// POST `…/activate` or `…/deactivate`, then PATCH tags (the ownership marker).
    SetActivation {
        /// Target partner topic.
        at: Locator,
        /// Activate (true) or deactivate.
        activate: bool,
        /// Expected `source`, checked again right before activation.
        expected_source: String,
        /// PATCH body with tags.
        tags: Value,
    },
    /// Poll until the partner topic appears (and its source matches).
    WaitForPartner {
        /// Where it appears.
        at: Locator,
        /// How long to wait, in seconds.
        timeout_secs: u64,
        /// Expected `source`.
        expected_source: String,
    },
    /// Auth0: create the stream, recording it (intent first, then its id) on `record`.
    CreateLogStream {
        /// Body.
        body: Value,
        /// The partner configuration that records the streams this stack created.
        record: Option<ResourceId>,
    },
    /// Auth0: patch a stream by id.
    UpdateLogStream {
        /// Stream id.
        stream_id: String,
        /// Body.
        body: Value,
    },
    /// Auth0: delete a stream by id, then drop it from `record`.
    DeleteLogStream {
        /// Stream id.
        stream_id: String,
        /// The partner configuration that records it.
        record: Option<ResourceId>,
        /// The partner topic its partner created (deleted first).
        partner_topic: Option<ResourceId>,
    },
    /// Auth0: delete a stream by id, then create it again (recorded as by `CreateLogStream`).
    ReplaceLogStream {
        /// Stream id.
        stream_id: String,
        /// Body.
        body: Value,
        /// The partner configuration that records the streams this stack created.
        record: Option<ResourceId>,
    },
    /// Microsoft Graph: create the subscription, recording it on `record` under `handle`
    /// (`creating` first, its id after).
    CreateGraphSubscription {
        /// The `GraphSubscription` handle (`metadata.name`).
        handle: String,
        /// Body (holds `clientState`: never shown).
        body: Value,
        /// The partner configuration that records the Graph subscriptions this stack created.
        record: Option<ResourceId>,
    },
    /// Microsoft Graph: PATCH a subscription (`expirationDateTime` to renew, `notificationUrl`).
    PatchGraphSubscription {
        /// Graph subscription id.
        graph_id: String,
        /// Body.
        body: Value,
    },
    /// Microsoft Graph: delete a subscription, then create it again (recorded as by
    /// `CreateGraphSubscription`).
    ReplaceGraphSubscription {
        /// The `GraphSubscription` handle.
        handle: String,
        /// The Graph subscription id deleted.
        graph_id: String,
        /// Body of the new one.
        body: Value,
        /// The partner configuration that records it.
        record: Option<ResourceId>,
    },
    /// Microsoft Graph: delete a subscription, then drop it from `record`.
    DeleteGraphSubscription {
        /// Graph subscription id.
        graph_id: String,
        /// The partner configuration that records it.
        record: Option<ResourceId>,
        /// The partner topic it notifies, when that goes too (deleted first).
        partner_topic: Option<ResourceId>,
    },
    /// An action read back from a saved plan to be shown (`gridform show FILE`): it carries no
    /// request and is never executed (`apply FILE` re-plans and runs the fresh operations).
    Recorded {
        /// How the plan named its target.
        address: String,
    },
}

impl Locator {
    /// The id, once `partner_topic` (the name the partner chose) is known.
    pub fn resolve(&self, partner_topic: Option<&str>) -> Option<ResourceId> {
        match self {
            Self::Id(id) => Some(id.clone()),
            Self::PartnerTopicOf {
                subscription_id,
                resource_group,
                child,
                ..
            } => {
                let topic = ResourceId::resource_group(subscription_id, resource_group)
                    .provider_resource(
                        crate::model::EVENT_GRID_NAMESPACE,
                        "partnerTopics",
                        partner_topic?,
                    );
                Some(
                    match child
                        .as_deref()
                        .and_then(|c| c.strip_prefix("eventSubscriptions/"))
                    {
                        Some(name) => topic.child("eventSubscriptions", name),
                        None => topic,
                    },
                )
            }
        }
    }

    /// The Auth0 stream whose partner topic this is, when the id is not known yet.
    pub fn stream(&self) -> Option<&str> {
        match self {
            Self::Id(_) => None,
            Self::PartnerTopicOf { stream, .. } => Some(stream),
        }
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies may hold secrets: never print them.
        let name = match self {
            Self::Register { .. } => "Register",
            Self::Put { .. } => "Put",
            Self::Patch { .. } => "Patch",
            Self::Replace { .. } => "Replace",
            Self::Delete { .. } => "Delete",
            Self::SetActivation { .. } => "SetActivation",
            Self::WaitForPartner { .. } => "WaitForPartner",
            Self::CreateLogStream { .. } => "CreateLogStream",
            Self::UpdateLogStream { .. } => "UpdateLogStream",
            Self::ReplaceLogStream { .. } => "ReplaceLogStream",
            Self::DeleteLogStream { .. } => "DeleteLogStream",
            Self::CreateGraphSubscription { .. } => "CreateGraphSubscription",
            Self::PatchGraphSubscription { .. } => "PatchGraphSubscription",
            Self::ReplaceGraphSubscription { .. } => "ReplaceGraphSubscription",
            Self::DeleteGraphSubscription { .. } => "DeleteGraphSubscription",
            Self::Recorded { .. } => "Recorded",
        };
        write!(f, "Operation::{name}")
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Position in `Plan::actions`.
    pub index: usize,
    /// What.
    pub kind: ActionKind,
    /// On which resource.
    pub target: ActionTarget,
    /// Attribute-level changes.
    pub changes: Vec<Change>,
    /// Actions that must finish first.
    pub depends_on: Vec<usize>,
    /// Why (shown next to the action), e.g. `authorization expires in 3d`.
    pub reason: Option<String>,
    /// The request to make.
    pub operation: Operation,
}

/// A live resource in the stack's scope that gridform leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unmanaged {
    /// Its id.
    pub id: ResourceId,
    /// Why it is left alone.
    pub reason: String,
}

/// A problem that makes the plan unusable (apply refuses it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanError {
    /// The resource.
    pub target: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// The plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The stack name.
    pub stack: String,
    /// Actions in dependency order.
    pub actions: Vec<Action>,
    /// Live resources left alone.
    pub unmanaged: Vec<Unmanaged>,
    /// Owned resources that are protected and therefore kept although the manifests (or
    /// `destroy`) would delete them, with why.
    pub kept: Vec<Unmanaged>,
    /// Problems; a plan with errors must not be applied.
    pub errors: Vec<PlanError>,
    /// Things to know that change nothing by themselves (a partner topic about to expire).
    pub warnings: Vec<String>,
    /// Requests spent reading the live state.
    pub refresh: RequestCounts,
    /// Digest of the live state the plan was computed from.
    pub fingerprint: String,
    /// A digest per part of that live state (what a saved plan pins).
    pub live_digests: std::collections::BTreeMap<String, String>,
}

impl Plan {
    /// Whether applying would do anything: every action (waits included) is a step of apply.
    pub fn has_changes(&self) -> bool {
        !self.actions.is_empty()
    }

    /// Counts for the summary line: (add, change, replace, destroy, other).
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for a in &self.actions {
            match a.kind {
                ActionKind::Create | ActionKind::CreateLogStream => s.add += 1,
                ActionKind::Update
                | ActionKind::Adopt
                | ActionKind::Authorize
                | ActionKind::Renew => s.change += 1,
                ActionKind::Replace => s.replace += 1,
                ActionKind::Delete => s.destroy += 1,
                ActionKind::Register
                | ActionKind::WaitForPartner
                | ActionKind::Activate
                | ActionKind::Deactivate => s.other += 1,
            }
        }
        s
    }
}

/// Counts of actions by effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Creations.
    pub add: usize,
    /// In-place changes (updates, adoptions, authorizations).
    pub change: usize,
    /// Replacements.
    pub replace: usize,
    /// Deletions.
    pub destroy: usize,
    /// Registrations, waits, activations.
    pub other: usize,
}
