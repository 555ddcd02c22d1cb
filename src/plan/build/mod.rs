//! Building the plan: one pass over the desired resources in dependency order, then pruning.
//! Partner configuration, Auth0 stream and partner topic planning live in `partners`, event
//! subscriptions in `subscriptions`, deletions of what the manifests dropped in `prune`.

mod auth0_streams;
mod freed_names;
mod graph_subscriptions;
mod partners;
mod prune;
mod replace;
mod scopes;
mod secret_values;
mod subscriptions;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use sha2::{Digest, Sha256};

use super::immutable::{OnChange, immutable_field};
use super::normalize::{display_form, flatten_owned, normalize};
use super::ownership;
use super::wire::{self, MARKER, SECRETS_LABEL};
use super::*;
use crate::model::live::LiveState;
use crate::model::{DesiredResource, DesiredState, ResourceSpec};

pub use auth0_streams::order_auth0_deletes;

const EG: &str = crate::model::EVENT_GRID_NAMESPACE;

/// How a live resource is marked.
enum Ownership {
    Ours,
    Unmarked,
    Other(String),
}

fn ownership_of(kind: ResourceKind, body: &Value, stack: &str) -> Ownership {
    let marker = if kind == ResourceKind::EventSubscription {
        body.pointer("/properties/labels")
            .and_then(Value::as_array)
            .and_then(|labels| {
                labels
                    .iter()
                    .filter_map(Value::as_str)
                    .find_map(|l| l.strip_prefix(&format!("{MARKER}=")).map(str::to_string))
            })
    } else {
        body.pointer(&format!("/tags/{MARKER}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match marker {
        Some(m) if m == stack => Ownership::Ours,
        Some(m) => Ownership::Other(m),
        None => Ownership::Unmarked,
    }
}

struct Builder<'a> {
    desired: &'a DesiredState,
    live: &'a LiveState,
    opts: &'a PlanOptions,
    stack: &'a str,
    actions: Vec<Action>,
    errors: Vec<PlanError>,
    warnings: Vec<String>,
    /// The action a dependent must wait for, per (kind, handle).
    ready: HashMap<(ResourceKind, String), usize>,
    provider_action: Option<usize>,
    claimed: BTreeSet<ResourceId>,
    /// Protected owned resources kept instead of deleted.
    kept: Vec<Unmanaged>,
    /// Each declared custom topic's input schema, by handle (one lookup per subscription).
    topic_inputs: HashMap<&'a str, Option<crate::model::spec::InputSchema>>,
}

/// Computes the plan. Pure: everything it needs is in its arguments.
pub fn plan(desired: &DesiredState, live: &LiveState, opts: &PlanOptions) -> Plan {
    let mut b = Builder {
        desired,
        live,
        opts,
        stack: &desired.stack.name,
        // About one action per resource: sized once instead of doubling (10k actions).
        actions: Vec::with_capacity(desired.resources.len()),
        errors: Vec::new(),
        warnings: Vec::new(),
        ready: HashMap::new(),
        provider_action: None,
        claimed: BTreeSet::new(),
        kept: Vec::new(),
        topic_inputs: desired
            .resources
            .iter()
            .filter_map(|r| match &r.spec {
                crate::model::ResourceSpec::Topic(spec) => {
                    Some((r.name.as_str(), spec.input_schema))
                }
                _ => None,
            })
            .collect(),
    };
    b.check_prerequisites();
    b.check_force_replace();
    for kind in ResourceKind::ALL {
        for r in desired.resources.iter().filter(|r| r.kind == kind) {
            b.resource(r);
        }
    }
    let mut unmanaged = b.prune();
    b.prune_auth0_streams(&mut unmanaged);
    b.prune_graph_subscriptions(&mut unmanaged);
    order_auth0_deletes(&mut b.actions);
    b.order_freed_names();
    b.record_scopes();
    secret_values::hide_secret_values(
        &mut b.actions,
        &mut b.errors,
        &mut b.warnings,
        &desired.secret_values,
    );
    let live_digests = live_digests(live);
    let fingerprint = fingerprint_of(&live_digests);
    Plan {
        live_digests,
        stack: desired.stack.name.clone(),
        actions: b.actions,
        unmanaged,
        kept: b.kept,
        errors: b.errors,
        warnings: b.warnings,
        refresh: live.requests,
        fingerprint,
    }
}

/// A digest of the normalized live state (over its [`live_digests`], so that the live state
/// is normalized once): a saved plan is refused when it changes.
fn fingerprint_of(digests: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (part, digest) in digests {
        h.update(part);
        h.update(digest);
    }
    hex::encode(h.finalize())[..32].to_string()
}

/// One digest per part of the live state (`id`, `auth0 stream NAME`, `provider NS`, `graph
/// subscription ID`, `graph source`) over what
/// the planner compares, so that a refused saved plan can name what changed.
pub fn live_digests(live: &LiveState) -> BTreeMap<String, String> {
    let digest = |parts: &[&str]| {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())[..32].to_string()
    };
    let mut out = BTreeMap::new();
    for (id, body) in &live.resources {
        let kind = kind_of(id);
        let secrets = if kind == ResourceKind::EventSubscription {
            secrets_label(body).unwrap_or_default()
        } else {
            String::new()
        };
        let activation = body
            .pointer("/properties/activationState")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let partners = body
            .pointer("/properties/partnerAuthorization/authorizedPartnersList")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let normalized = normalize(kind, body).to_string();
        out.insert(
            id.as_str().to_ascii_lowercase(),
            digest(&[&normalized, &secrets, &activation, &partners]),
        );
    }
    for (name, body) in &live.auth0_streams {
        out.insert(format!("auth0 stream {name}"), digest(&[&body.to_string()]));
    }
    for (ns, state) in &live.providers {
        out.insert(format!("provider {ns}"), digest(&[state]));
    }
    // `clientState` is left out: this digest is unsalted, and a changed one shows as a change
    // of the (salted) variable the manifests read it from.
    for (id, body) in &live.graph_subscriptions {
        let mut shown = body.clone();
        if let Some(o) = shown.as_object_mut() {
            o.remove("clientState");
        }
        out.insert(
            format!("graph subscription {id}"),
            digest(&[&shown.to_string()]),
        );
    }
    if let Some(source) = &live.graph_source {
        out.insert("graph source".into(), digest(&[source]));
    }
    out
}

/// The manifest kind of a live id.
pub fn kind_of(id: &ResourceId) -> ResourceKind {
    let t = id.resource_type().to_ascii_lowercase();
    if t.ends_with("/eventsubscriptions") {
        ResourceKind::EventSubscription
    } else if t.ends_with("/partnertopics") {
        ResourceKind::PartnerTopic
    } else if t.ends_with("/systemtopics") {
        ResourceKind::SystemTopic
    } else if t.ends_with("/topics") {
        ResourceKind::Topic
    } else if t.ends_with("/partnerconfigurations") {
        ResourceKind::PartnerConfiguration
    } else if t == "microsoft.resources/resourcegroups" {
        ResourceKind::ResourceGroup
    } else {
        ResourceKind::ProviderRegistration
    }
}

fn secrets_label(body: &Value) -> Option<String> {
    body.pointer("/properties/labels")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|l| {
            l.strip_prefix(&format!("{SECRETS_LABEL}="))
                .map(str::to_string)
        })
}

/// Attribute changes between a live body and a desired body (both raw; normalized here).
/// Values are compared in normalized form and shown in their original spelling.
pub fn diff(kind: ResourceKind, before: Option<&Value>, after: &Value) -> Vec<Change> {
    let Some(before) = before else {
        // Nothing to compare with: every attribute is added, shown in its original spelling
        // (the display form has the comparable form's paths: it only keeps the case of values).
        return flatten_owned(display_form(kind, after))
            .into_iter()
            .map(|(path, shown)| Change {
                path,
                before: None,
                after: Some(shown),
                sensitive: false,
                forces_replacement: false,
            })
            .collect();
    };
    let a = flatten_owned(normalize(kind, after));
    let b = flatten_owned(normalize(kind, before));
    if a == b {
        return Vec::new();
    }
    let a_show = flatten_owned(display_form(kind, after));
    let b_show = flatten_owned(display_form(kind, before));
    let mut paths: BTreeSet<&String> = a.keys().collect();
    paths.extend(b.keys());
    paths
        .into_iter()
        .filter(|p| a.get(*p) != b.get(*p))
        .map(|p| Change {
            path: p.clone(),
            before: b_show.get(p).or(b.get(p)).cloned(),
            after: a_show.get(p).or(a.get(p)).cloned(),
            sensitive: false,
            forces_replacement: super::immutable::forces_replacement(kind, p),
        })
        .collect()
}

impl<'a> Builder<'a> {
    /// Things gridform does not create unless declared: the Event Grid registration and the
    /// resource groups. Reported at plan time instead of as a 404/409 halfway through apply.
    fn check_prerequisites(&mut self) {
        let declared = |kind: ResourceKind, name: &str| {
            self.desired
                .resources
                .iter()
                .any(|r| r.kind == kind && r.name.eq_ignore_ascii_case(name))
        };
        let sub = &self.desired.stack.spec.subscription_id;
        let uses_eventgrid = self.desired.resources.iter().any(|r| {
            matches!(
                r.kind,
                ResourceKind::PartnerConfiguration
                    | ResourceKind::Topic
                    | ResourceKind::SystemTopic
                    | ResourceKind::EventSubscription
                    | ResourceKind::PartnerTopic
            )
        });
        let eg_state = self.live.providers.get(&EG.to_ascii_lowercase());
        if uses_eventgrid
            && eg_state.is_some_and(|s| !s.eq_ignore_ascii_case("Registered"))
            && !declared(ResourceKind::ProviderRegistration, EG)
        {
            self.errors.push(PlanError {
                target: format!("subscription `{sub}`"),
                message: format!(
                    "the `{EG}` resource provider is not registered (state `{}`)",
                    eg_state.map(String::as_str).unwrap_or_default()
                ),
                hint: Some(format!(
                    "add a document `kind: ProviderRegistration` with `metadata.name: {EG}`"
                )),
            });
        }
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for r in &self.desired.resources {
            let group = match &r.spec {
                ResourceSpec::ResourceGroup(_)
                | ResourceSpec::ProviderRegistration
                | ResourceSpec::EventSubscription(_) => continue,
                _ => r.resource_group.as_deref(),
            };
            let Some(g) = group else { continue };
            let listed = self
                .live
                .listed_groups
                .iter()
                .any(|l| l.eq_ignore_ascii_case(g));
            let exists = self.live.get(&ResourceId::resource_group(sub, g)).is_some();
            if listed
                && !exists
                && !declared(ResourceKind::ResourceGroup, g)
                && reported.insert(g.to_ascii_lowercase())
            {
                self.errors.push(PlanError {
                    target: format!("{} `{}`", r.kind, r.name),
                    message: format!("resource group `{g}` does not exist and no `ResourceGroup` document declares it"),
                    hint: Some(format!("add a document `kind: ResourceGroup` with `metadata.name: {g}`, or create the group")),
                });
            }
        }
    }

    fn push(
        &mut self,
        kind: ActionKind,
        r: &DesiredResource,
        id: Option<ResourceId>,
        changes: Vec<Change>,
        deps: Vec<usize>,
        operation: Operation,
    ) -> usize {
        let index = self.actions.len();
        let mut depends_on: Vec<usize> = deps
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        depends_on.retain(|d| *d < index);
        self.actions.push(Action {
            index,
            kind,
            target: ActionTarget {
                kind: r.kind,
                name: r.name.clone(),
                id,
            },
            changes,
            depends_on,
            reason: None,
            operation,
        });
        index
    }

    fn error(&mut self, r: &DesiredResource, message: String, hint: Option<&str>) {
        self.errors.push(PlanError {
            target: format!("{} `{}`", r.kind, r.name),
            message,
            hint: hint.map(str::to_string),
        });
    }

    fn dep(&self, kind: ResourceKind, name: &str) -> Option<usize> {
        self.ready.get(&(kind, name.to_string())).copied()
    }

    fn group_deps(&self, rg: Option<&str>) -> Vec<usize> {
        let mut deps: Vec<usize> = self.provider_action.into_iter().collect();
        if let Some(g) = rg
            && let Some(d) =
                self.desired.resources.iter().find(|r| {
                    r.kind == ResourceKind::ResourceGroup && r.name.eq_ignore_ascii_case(g)
                })
        {
            deps.extend(self.dep(ResourceKind::ResourceGroup, &d.name));
        }
        deps
    }

    fn resource(&mut self, r: &DesiredResource) {
        match &r.spec {
            ResourceSpec::ProviderRegistration => {
                if !self.live.provider_registered(&r.name) {
                    let op = Operation::Register {
                        subscription_id: self.desired.stack.spec.subscription_id.clone(),
                        namespace: r.name.clone(),
                    };
                    let i = self.push(ActionKind::Register, r, r.id.clone(), vec![], vec![], op);
                    if r.name.eq_ignore_ascii_case(EG) {
                        self.provider_action = Some(i);
                    }
                    self.ready.insert((r.kind, r.name.clone()), i);
                }
            }
            ResourceSpec::ResourceGroup(s) => {
                let body =
                    wire::resource_group(r.location.as_deref().unwrap_or_default(), s, self.stack);
                self.put_resource(r, body, vec![]);
            }
            ResourceSpec::Topic(s) => {
                let body = wire::topic(r.location.as_deref().unwrap_or_default(), s, self.stack);
                let deps = self.group_deps(r.resource_group.as_deref());
                self.put_resource(r, body, deps);
            }
            ResourceSpec::SystemTopic(s) => {
                let body =
                    wire::system_topic(r.location.as_deref().unwrap_or_default(), s, self.stack);
                let deps = self.group_deps(r.resource_group.as_deref());
                self.put_resource(r, body, deps);
            }
            ResourceSpec::PartnerConfiguration(s) => self.partner_configuration(r, s),
            ResourceSpec::Auth0LogStream(s) => self.auth0_stream(r, s),
            ResourceSpec::GraphSubscription(s) => self.graph_subscription(r, s),
            ResourceSpec::PartnerTopic(s) => self.partner_topic(r, s),
            ResourceSpec::EventSubscription(s) => self.subscription(r, s),
        }
    }

    /// Checks ownership of an existing resource; returns whether planning may continue, and
    /// whether the resource is being adopted.
    fn check_owner(&mut self, r: &DesiredResource, live: &Value) -> Option<bool> {
        match ownership_of(r.kind, live, self.stack) {
            Ownership::Ours => Some(false),
            Ownership::Unmarked if r.metadata.adopt => Some(true),
            Ownership::Unmarked => {
                self.error(
                    r,
                    format!(
                        "{} `{}` already exists and is not managed by stack `{}`",
                        r.kind, r.name, self.stack
                    ),
                    Some("set `metadata.adopt: true` to take it over, or pick another name"),
                );
                None
            }
            Ownership::Other(other) => {
                self.error(r, format!("{} `{}` is managed by stack `{other}`", r.kind, r.name),
                    Some("a resource belongs to one stack; remove it from the other stack's manifests first"));
                None
            }
        }
    }

    fn put_resource(
        &mut self,
        r: &DesiredResource,
        body: Value,
        deps: Vec<usize>,
    ) -> Option<usize> {
        let id = r.id.clone()?;
        self.claimed.insert(id.clone());
        let at = Locator::Id(id.clone());
        let protect = ownership::protection_wanted(r.metadata.protect, r.kind, self.live.get(&id));
        let body = self.with_owned_tags(r, body, self.live.get(&id), protect);
        let Some(live) = self.live.get(&id) else {
            let changes = diff(r.kind, None, &body);
            let body = RequestBody::from(body);
            let i = self.push(
                ActionKind::Create,
                r,
                Some(id),
                changes,
                deps,
                Operation::Put { at, body },
            );
            self.ready.insert((r.kind, r.name.clone()), i);
            return Some(i);
        };
        let adopting = self.check_owner(r, live)?;
        let changes = diff(r.kind, Some(live), &body);
        let requested = self.replace_requested(r);
        if changes.is_empty() && !adopting && !requested {
            return None;
        }
        if let Some(refused) = changes.iter().find(|c| {
            immutable_field(r.kind, &c.path).is_some_and(|f| f.on_change == OnChange::Refuse)
        }) {
            self.error(
                r,
                format!(
                    "{} `{}` cannot change `{}` (it would have to be replaced)",
                    r.kind, r.name, refused.path
                ),
                Some("a resource group's location is fixed; create a new group instead"),
            );
            return None;
        }
        let immutable = changes.iter().any(|c| c.forces_replacement);
        if (immutable || requested) && !self.may_replace(r, &id) {
            return None;
        }
        let body = RequestBody::from(body);
        let (kind, op) = match (immutable || requested, adopting) {
            (true, _) => (ActionKind::Replace, Operation::Replace { at, body }),
            (false, true) => (ActionKind::Adopt, Operation::Put { at, body }),
            (false, false) => (ActionKind::Update, Operation::Put { at, body }),
        };
        let i = self.push(kind, r, Some(id), changes, deps, op);
        if requested && !immutable {
            self.actions[i].reason = Some(replace::REQUESTED.into());
        }
        self.ready.insert((r.kind, r.name.clone()), i);
        Some(i)
    }
}

impl Builder<'_> {
    /// `body` with its tags merged per docs/ownership.md: the declared tags (the wire body's,
    /// without the marker), live tags gridform does not manage, and gridform's records.
    pub(super) fn with_owned_tags(
        &self,
        r: &DesiredResource,
        mut body: Value,
        live: Option<&Value>,
        protect: bool,
    ) -> Value {
        let mut declared = body
            .get("tags")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        declared.remove(MARKER);
        let scopes = self.scope_record_for(r);
        let intent = ownership::TagIntent {
            declared: &declared,
            stack: self.stack,
            protect,
            scopes: scopes.as_deref(),
        };
        body["tags"] = ownership::owned_tags(&intent, live);
        body
    }
}

fn secret_change() -> Change {
    Change {
        path: "secret parts".into(),
        before: None,
        after: None,
        sensitive: true,
        forces_replacement: false,
    }
}

fn humanize(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    if s <= 0 {
        "0s (expired)".into()
    } else if s >= 86_400 {
        format!("{}d", s / 86_400)
    } else if s >= 3600 {
        format!("{}h", s / 3600)
    } else {
        format!("{}m", s / 60)
    }
}
