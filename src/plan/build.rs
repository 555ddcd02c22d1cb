//! Building the plan: one pass over the desired resources in dependency order, then pruning.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::normalize::{display_form, flatten, normalize};
use super::wire::{self, MARKER, SECRETS_LABEL};
use super::*;
use crate::model::live::LiveState;
use crate::model::spec::*;
use crate::model::{DesiredResource, DesiredState, ResourceSpec};

const EG: &str = "Microsoft.EventGrid";

/// Which ARM paths cannot change in place, per kind (REFERENCE §8.8–8.9).
fn immutable(kind: ResourceKind, path: &str) -> bool {
    match kind {
        ResourceKind::Topic => path == "location" || path == "properties.inputSchema",
        ResourceKind::SystemTopic => {
            path == "location" || path == "properties.source" || path == "properties.topicType"
        }
        ResourceKind::ResourceGroup => path == "location",
        _ => false,
    }
}

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
    /// The action a dependent must wait for, per (kind, handle).
    ready: HashMap<(ResourceKind, String), usize>,
    provider_action: Option<usize>,
    claimed: BTreeSet<ResourceId>,
}

/// Computes the plan. Pure: everything it needs is in its arguments.
pub fn plan(desired: &DesiredState, live: &LiveState, opts: &PlanOptions) -> Plan {
    let mut b = Builder {
        desired,
        live,
        opts,
        stack: &desired.stack.name,
        actions: Vec::new(),
        errors: Vec::new(),
        ready: HashMap::new(),
        provider_action: None,
        claimed: BTreeSet::new(),
    };
    b.check_prerequisites();
    for kind in ResourceKind::ALL {
        for r in desired.resources.iter().filter(|r| r.kind == kind) {
            b.resource(r);
        }
    }
    let unmanaged = b.prune();
    let fingerprint = fingerprint(live);
    Plan {
        stack: desired.stack.name.clone(),
        actions: b.actions,
        unmanaged,
        errors: b.errors,
        refresh: live.requests,
        fingerprint,
    }
}

/// A digest of the normalized live state: a saved plan is refused when it changes.
pub fn fingerprint(live: &LiveState) -> String {
    let mut h = Sha256::new();
    for (id, body) in &live.resources {
        let kind = kind_of(id);
        h.update(id.as_str().to_ascii_lowercase());
        h.update(normalize(kind, body).to_string());
        if kind == ResourceKind::EventSubscription {
            h.update(secrets_label(body).unwrap_or_default());
        }
        if let Some(state) = body.pointer("/properties/activationState") {
            h.update(state.to_string());
        }
        if let Some(list) = body.pointer("/properties/partnerAuthorization/authorizedPartnersList")
        {
            h.update(list.to_string());
        }
    }
    for (name, body) in &live.auth0_streams {
        h.update(name);
        h.update(body.to_string());
    }
    for (ns, state) in &live.providers {
        h.update(format!("{ns}={state}"));
    }
    hex::encode(h.finalize())[..32].to_string()
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
    let a = flatten(&normalize(kind, after));
    let b = before
        .map(|v| flatten(&normalize(kind, v)))
        .unwrap_or_default();
    let a_show = flatten(&display_form(kind, after));
    let b_show = before
        .map(|v| flatten(&display_form(kind, v)))
        .unwrap_or_default();
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
            forces_replacement: before.is_some() && immutable(kind, p),
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
            target: Target {
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
        if let Some(g) = rg {
            if let Some(d) =
                self.desired.resources.iter().find(|r| {
                    r.kind == ResourceKind::ResourceGroup && r.name.eq_ignore_ascii_case(g)
                })
            {
                deps.extend(self.dep(ResourceKind::ResourceGroup, &d.name));
            }
        }
        deps
    }

    fn resource(&mut self, r: &DesiredResource) {
        match &r.spec {
            ResourceSpec::ProviderRegistration => {
                if !self.live.provider_registered(&r.name) {
                    let op = Operation::RegisterProvider {
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
        let Some(live) = self.live.get(&id) else {
            let changes = diff(r.kind, None, &body);
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
        if changes.is_empty() && !adopting {
            return None;
        }
        let replace = changes.iter().any(|c| c.forces_replacement);
        if replace && r.metadata.protect {
            self.error(
                r,
                format!(
                    "{} `{}` is protected but a change forces its replacement",
                    r.kind, r.name
                ),
                Some("revert the immutable field, or remove `metadata.protect`"),
            );
            return None;
        }
        if replace && r.kind == ResourceKind::ResourceGroup {
            self.error(
                r,
                format!(
                    "resource group `{}` cannot move to another location",
                    r.name
                ),
                Some("a resource group's location is fixed; create a new group instead"),
            );
            return None;
        }
        let (kind, op) = match (replace, adopting) {
            (true, _) => (ActionKind::Replace, Operation::Replace { at, body }),
            (false, true) => (ActionKind::Adopt, Operation::Put { at, body }),
            (false, false) => (ActionKind::Update, Operation::Put { at, body }),
        };
        let i = self.push(kind, r, Some(id), changes, deps, op);
        self.ready.insert((r.kind, r.name.clone()), i);
        Some(i)
    }

    fn partner_configuration(&mut self, r: &DesiredResource, s: &PartnerConfigurationSpec) {
        let Some(id) = r.id.clone() else { return };
        let live = self.live.get(&id);
        let live_list: Vec<Value> = live
            .and_then(|l| l.pointer("/properties/partnerAuthorization/authorizedPartnersList"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut expiries = Vec::new();
        let mut auth_changes = Vec::new();
        let mut kind = ActionKind::Update;
        let mut reasons = Vec::new();
        for p in &s.partner_authorization.authorized_partners_list {
            let live_entry = live_list.iter().find(|e| {
                e["partnerRegistrationImmutableId"]
                    .as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case(&p.partner_registration_immutable_id))
            });
            let live_expiry = live_entry
                .and_then(|e| e["authorizationExpirationTimeInUtc"].as_str())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let (expiry, change): (DateTime<Utc>, Option<&str>) =
                match (&p.authorization_expiration_time_in_utc, p.valid_for) {
                    (Some(abs), _) => {
                        let want = DateTime::parse_from_rfc3339(abs)
                            .map(|t| t.with_timezone(&Utc))
                            .unwrap_or(self.opts.now);
                        (
                            want,
                            if live_expiry == Some(want) {
                                None
                            } else if live_entry.is_some() {
                                Some("renew")
                            } else {
                                Some("authorize")
                            },
                        )
                    }
                    (None, valid) => {
                        let valid = valid.map(|v| v.as_secs()).unwrap_or(7 * 86_400);
                        let renew = p.renew_before.map(|v| v.as_secs()).unwrap_or(valid / 4);
                        let fresh = self.opts.now + chrono::Duration::seconds(valid as i64);
                        match live_expiry {
                            None => (fresh, Some("authorize")),
                            Some(t)
                                if t - self.opts.now <= chrono::Duration::seconds(renew as i64) =>
                            {
                                (fresh, Some("renew"))
                            }
                            Some(t) => (t, None),
                        }
                    }
                };
            let text = expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if let Some(what) = change {
                if what == "authorize" {
                    kind = ActionKind::Authorize;
                } else if kind != ActionKind::Authorize {
                    kind = ActionKind::Renew;
                }
                let left = live_expiry.map(|t| humanize(t - self.opts.now));
                reasons.push(match left {
                    Some(l) => format!("{} authorization expires in {l}", p.partner_name),
                    None => format!("{} is not authorized", p.partner_name),
                });
                auth_changes.push(Change {
                    path: format!(
                        "authorization[{}].authorizationExpirationTimeInUtc",
                        p.partner_name
                    ),
                    before: live_entry
                        .and_then(|e| e.get("authorizationExpirationTimeInUtc").cloned()),
                    after: Some(json!(text.clone())),
                    sensitive: false,
                    forces_replacement: false,
                });
            }
            expiries.push(text);
        }
        let body = wire::partner_configuration(s, &expiries, self.stack);
        self.claimed.insert(id.clone());
        let deps = self.group_deps(r.resource_group.as_deref());
        let at = Locator::Id(id.clone());
        let (action_kind, mut changes) = match live {
            None => (ActionKind::Create, diff(r.kind, None, &body)),
            Some(l) => {
                let Some(adopting) = self.check_owner(r, l) else {
                    return;
                };
                let changes = diff(r.kind, Some(l), &body);
                let k = if adopting {
                    ActionKind::Adopt
                } else if changes.is_empty() {
                    kind
                } else {
                    ActionKind::Update
                };
                (k, changes)
            }
        };
        if live.is_some() {
            changes.extend(auth_changes);
        }
        if changes.is_empty() && live.is_some() {
            return;
        }
        let i = self.push(
            action_kind,
            r,
            Some(id),
            changes,
            deps,
            Operation::Put { at, body },
        );
        if !reasons.is_empty() {
            self.actions[i].reason = Some(reasons.join("; "));
        }
        self.ready.insert((r.kind, r.name.clone()), i);
    }

    fn auth0_stream(&mut self, r: &DesiredResource, s: &Auth0LogStreamSpec) {
        let rg = r.resource_group.clone().unwrap_or_default();
        let body = wire::auth0_stream(&r.name, s, &self.desired.stack.spec.subscription_id, &rg);
        // The partner must be authorized before the stream asks it to create the topic.
        let mut deps: Vec<usize> = self
            .desired
            .resources
            .iter()
            .filter(|d| {
                d.kind == ResourceKind::PartnerConfiguration
                    && d.resource_group
                        .as_deref()
                        .is_some_and(|g| g.eq_ignore_ascii_case(&rg))
            })
            .filter_map(|d| self.dep(d.kind, &d.name))
            .collect();
        deps.extend(self.group_deps(Some(&rg)));
        let target = |b: &Value| json!({"status": b["status"], "filters": b.get("filters").cloned().unwrap_or(json!([])), "isPriority": b.get("isPriority").cloned().unwrap_or(json!(false))});
        let sink = |b: &Value| b["sink"].clone();
        let Some(live) = self.live.auth0_streams.get(&r.name) else {
            let changes = diff(r.kind, None, &body);
            let i = self.push(
                ActionKind::CreateLogStream,
                r,
                None,
                changes,
                deps,
                Operation::Auth0Create { body },
            );
            self.ready.insert((r.kind, r.name.clone()), i);
            return;
        };
        let stream_id = live["id"].as_str().unwrap_or_default().to_string();
        let mut live_sink = sink(live);
        if let Some(m) = live_sink.as_object_mut() {
            m.remove("azurePartnerTopic");
        }
        let sink_changes: Vec<Change> = diff(r.kind, Some(&live_sink), &sink(&body))
            .into_iter()
            .map(|mut c| {
                c.path = format!("sink.{}", c.path);
                c.forces_replacement = true;
                c
            })
            .collect();
        let mut changes = sink_changes;
        changes.extend(diff(r.kind, Some(&target(live)), &target(&body)));
        if changes.is_empty() {
            return;
        }
        let (kind, op) = if changes.iter().any(|c| c.forces_replacement) {
            if r.metadata.protect {
                self.error(r, format!("Auth0LogStream `{}` is protected but its sink changed (the sink is immutable in Auth0)", r.name), Some("revert the sink fields, or remove `metadata.protect`"));
                return;
            }
            (
                ActionKind::Replace,
                Operation::Auth0Replace { stream_id, body },
            )
        } else {
            let mut patch = target(&body);
            if let Some(m) = patch.as_object_mut() {
                m.retain(|_, v| !v.is_null());
            }
            (
                ActionKind::Update,
                Operation::Auth0Patch {
                    stream_id,
                    body: patch,
                },
            )
        };
        let i = self.push(kind, r, None, changes, deps, op);
        self.ready.insert((r.kind, r.name.clone()), i);
    }

    /// The expected `source` of a partner topic.
    fn expected_source(&self, s: &PartnerTopicSpec) -> Option<String> {
        if let Some(e) = &s.expected_source {
            return Some(e.clone());
        }
        let stream = self.desired.find(
            ResourceKind::Auth0LogStream,
            s.from_auth0_log_stream.as_deref()?,
        )?;
        let ResourceSpec::Auth0LogStream(st) = &stream.spec else {
            return None;
        };
        st.tenant_domain.clone().or_else(|| {
            self.desired
                .stack
                .spec
                .auth0
                .as_ref()
                .map(|a| a.tenant_domain.clone())
        })
    }

    fn partner_topic(&mut self, r: &DesiredResource, s: &PartnerTopicSpec) {
        let rg = r.resource_group.clone().unwrap_or_default();
        let expected = self.expected_source(s).unwrap_or_default();
        // Resolve the live topic: by name, or through the stream's sink.
        let (id, stream_dep) = match &s.from_auth0_log_stream {
            None => (r.id.clone(), None),
            Some(stream) => {
                let topic_name = self
                    .live
                    .auth0_streams
                    .get(stream)
                    .and_then(|b| b.pointer("/sink/azurePartnerTopic"))
                    .and_then(Value::as_str);
                let stream_action = self.dep(ResourceKind::Auth0LogStream, stream);
                let replaced =
                    stream_action.is_some_and(|i| self.actions[i].kind == ActionKind::Replace);
                let id = topic_name.filter(|_| !replaced).map(|n| {
                    ResourceId::resource_group(&self.desired.stack.spec.subscription_id, &rg)
                        .provider_resource(EG, "partnerTopics", n)
                });
                (id, stream_action)
            }
        };
        let live = id.as_ref().and_then(|i| self.live.get(i));
        let at = match (&id, &s.from_auth0_log_stream) {
            (Some(i), _) => Locator::Id(i.clone()),
            (None, Some(stream)) => Locator::PartnerTopicOf {
                subscription_id: self.desired.stack.spec.subscription_id.clone(),
                stream: stream.clone(),
                resource_group: rg.clone(),
                child: None,
            },
            (None, None) => return,
        };
        if let Some(i) = &id {
            self.claimed.insert(i.clone());
        }
        let tags = wire::partner_topic_tags(s, self.stack);
        let want_active = s.activation_state == ActivationState::Activated;
        let Some(live) = live else {
            let mut deps: Vec<usize> = stream_dep.into_iter().collect();
            deps.extend(self.group_deps(Some(&rg)));
            deps.extend(
                self.desired
                    .resources
                    .iter()
                    .filter(|d| {
                        d.kind == ResourceKind::PartnerConfiguration
                            && d.resource_group
                                .as_deref()
                                .is_some_and(|g| g.eq_ignore_ascii_case(&rg))
                    })
                    .filter_map(|d| self.dep(d.kind, &d.name)),
            );
            let timeout_secs = s.wait_for_partner.map(|d| d.as_secs()).unwrap_or(600);
            let wait = self.push(
                ActionKind::WaitForPartner,
                r,
                id.clone(),
                vec![],
                deps,
                Operation::WaitForPartner {
                    at: at.clone(),
                    timeout_secs,
                    expected_source: expected.clone(),
                },
            );
            let mut last = wait;
            if want_active {
                last = self.push(
                    ActionKind::Activate,
                    r,
                    id.clone(),
                    vec![],
                    vec![wait],
                    Operation::SetActivation {
                        at,
                        activate: true,
                        expected_source: expected,
                        tags,
                    },
                );
            }
            self.ready.insert((r.kind, r.name.clone()), last);
            return;
        };
        let source = live
            .pointer("/properties/source")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !source.eq_ignore_ascii_case(&expected) {
            self.error(r, format!("partner topic `{}` has source `{source}`, expected `{expected}`", id.as_ref().map(|i| i.name()).unwrap_or_default()),
                Some("gridform activates a partner topic only when its source is the expected partner; check `spec.expectedSource` and the Auth0 tenant"));
            return;
        }
        let state = live
            .pointer("/properties/activationState")
            .and_then(Value::as_str)
            .unwrap_or("NeverActivated");
        let active = state.eq_ignore_ascii_case("Activated");
        let mut last = None;
        let deps: Vec<usize> = stream_dep.into_iter().collect();
        let tag_changes = diff(r.kind, Some(live), &tags);
        if active != want_active {
            let kind = if want_active {
                ActionKind::Activate
            } else {
                ActionKind::Deactivate
            };
            let changes = vec![Change {
                path: "properties.activationState".into(),
                before: Some(json!(state)),
                after: Some(json!(s.activation_state)),
                sensitive: false,
                forces_replacement: false,
            }]
            .into_iter()
            .chain(tag_changes)
            .collect();
            last = Some(self.push(
                kind,
                r,
                id.clone(),
                changes,
                deps,
                Operation::SetActivation {
                    at,
                    activate: want_active,
                    expected_source: expected,
                    tags,
                },
            ));
        } else if !tag_changes.is_empty() {
            last = Some(self.push(
                ActionKind::Update,
                r,
                id.clone(),
                tag_changes,
                deps,
                Operation::Patch { at, body: tags },
            ));
        }
        if let Some(l) = last {
            self.ready.insert((r.kind, r.name.clone()), l);
        }
    }

    fn subscription(&mut self, r: &DesiredResource, s: &EventSubscriptionSpec) {
        // Where the subscription lives.
        let (parent_dep, at) = match (&s.topic, &s.scope) {
            (Some(t), _) => {
                let kind = match t.kind {
                    TopicKind::Topic => ResourceKind::Topic,
                    TopicKind::SystemTopic => ResourceKind::SystemTopic,
                    TopicKind::PartnerTopic => ResourceKind::PartnerTopic,
                };
                let dep = self.dep(kind, &t.name);
                let at = match &r.id {
                    Some(id) => Some(Locator::Id(id.clone())),
                    None => self.partner_locator(&t.name, &r.name),
                };
                (dep, at)
            }
            (None, Some(_)) => (None, r.id.clone().map(Locator::Id)),
            (None, None) => (None, None),
        };
        let Some(at) = at else { return };
        let mut deps: Vec<usize> = parent_dep.into_iter().collect();
        deps.extend(self.provider_action);
        let live_id = match &at {
            Locator::Id(id) => Some(id.clone()),
            Locator::PartnerTopicOf { .. } => None,
        };
        let live = live_id.as_ref().and_then(|i| self.live.get(i));
        if let Some(i) = &live_id {
            self.claimed.insert(i.clone());
        }
        let parts = wire::secret_material(s);
        let live_label = live.and_then(secrets_label);
        let salt = live_label
            .as_deref()
            .and_then(|l| l.split_once(':'))
            .map(|(s, _)| s.to_string())
            .unwrap_or_else(|| self.opts.salt.clone());
        let digest = wire::secret_digest(&parts, &salt);
        let labels = wire::subscription_labels(s, self.stack, digest.as_deref());
        let body = wire::event_subscription(s, &labels);
        let Some(live) = live else {
            let mut changes = diff(r.kind, None, &body);
            if digest.is_some() {
                changes.push(secret_change());
            }
            let i = self.push(
                ActionKind::Create,
                r,
                live_id,
                changes,
                deps,
                Operation::Put { at, body },
            );
            self.ready.insert((r.kind, r.name.clone()), i);
            return;
        };
        let Some(adopting) = self.check_owner(r, live) else {
            return;
        };
        let mut changes = diff(r.kind, Some(live), &body);
        let mut secrets_differ = live_label != digest;
        if self.opts.refresh_secrets {
            secrets_differ |= self.refreshed_secrets_differ(live_id.as_ref(), &body);
        }
        if secrets_differ {
            changes.push(secret_change());
        }
        if changes.is_empty() && !adopting {
            return;
        }
        let kind = if adopting {
            ActionKind::Adopt
        } else {
            ActionKind::Update
        };
        let i = self.push(kind, r, live_id, changes, deps, Operation::Put { at, body });
        self.ready.insert((r.kind, r.name.clone()), i);
    }

    /// With `--refresh-secrets`: does the live full URL or a secret attribute differ?
    fn refreshed_secrets_differ(&self, id: Option<&ResourceId>, body: &Value) -> bool {
        let Some(id) = id else { return false };
        let dest = body.pointer("/properties/destination/properties");
        if let (Some(live_url), Some(want)) = (
            self.live.full_urls.get(id),
            dest.and_then(|d| d.get("endpointUrl"))
                .and_then(Value::as_str),
        ) {
            if live_url != want {
                return true;
            }
        }
        if let (Some(live_attrs), Some(want)) = (
            self.live.delivery_attributes.get(id),
            dest.and_then(|d| d.get("deliveryAttributeMappings")),
        ) {
            let secret_values = |v: &Value| -> BTreeSet<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m.pointer("/properties/isSecret") == Some(&json!(true)))
                    .map(|m| {
                        format!(
                            "{}={}",
                            m["name"],
                            m.pointer("/properties/value")
                                .cloned()
                                .unwrap_or(Value::Null)
                        )
                    })
                    .collect()
            };
            let live_list = live_attrs.get("value").unwrap_or(live_attrs);
            if secret_values(live_list) != secret_values(want) {
                return true;
            }
        }
        false
    }

    fn partner_locator(&self, topic_handle: &str, name: &str) -> Option<Locator> {
        let t = self
            .desired
            .find(ResourceKind::PartnerTopic, topic_handle)?;
        let ResourceSpec::PartnerTopic(ps) = &t.spec else {
            return None;
        };
        let stream = ps.from_auth0_log_stream.clone()?;
        let rg = t.resource_group.clone().unwrap_or_default();
        // Known now if the stream already names its topic.
        let topic_name = self
            .live
            .auth0_streams
            .get(&stream)
            .and_then(|b| b.pointer("/sink/azurePartnerTopic"))
            .and_then(Value::as_str);
        match topic_name {
            Some(n)
                if self
                    .dep(ResourceKind::Auth0LogStream, &stream)
                    .is_none_or(|i| self.actions[i].kind != ActionKind::Replace) =>
            {
                let id = ResourceId::resource_group(&self.desired.stack.spec.subscription_id, &rg)
                    .provider_resource(EG, "partnerTopics", n)
                    .child("eventSubscriptions", name);
                Some(Locator::Id(id))
            }
            _ => Some(Locator::PartnerTopicOf {
                subscription_id: self.desired.stack.spec.subscription_id.clone(),
                stream,
                resource_group: rg,
                child: Some(format!("eventSubscriptions/{name}")),
            }),
        }
    }

    /// Owned live resources that the manifests no longer declare become deletes; unowned ones are
    /// listed and left alone.
    fn prune(&mut self) -> Vec<Unmanaged> {
        let mut unmanaged = Vec::new();
        let mut deletes: Vec<(ResourceId, ResourceKind)> = Vec::new();
        let groups: BTreeSet<String> = self
            .live
            .listed_groups
            .iter()
            .map(|g| g.to_ascii_lowercase())
            .collect();
        let managed_parents: BTreeSet<ResourceId> = self.claimed.iter().cloned().collect();
        for (id, body) in &self.live.resources {
            if self.claimed.contains(id) {
                continue;
            }
            let kind = kind_of(id);
            let in_scope = match kind {
                ResourceKind::EventSubscription => id.parent().is_some_and(|p| {
                    managed_parents.contains(&p) || deletes.iter().any(|(d, _)| *d == p)
                }),
                ResourceKind::ResourceGroup | ResourceKind::ProviderRegistration => false,
                _ => id
                    .resource_group_name()
                    .is_some_and(|g| groups.contains(&g.to_ascii_lowercase())),
            };
            if !in_scope {
                continue;
            }
            match ownership_of(kind, body, self.stack) {
                Ownership::Ours => deletes.push((id.clone(), kind)),
                Ownership::Unmarked => unmanaged.push(Unmanaged {
                    id: id.clone(),
                    reason: "no gridform marker".into(),
                }),
                Ownership::Other(s) => unmanaged.push(Unmanaged {
                    id: id.clone(),
                    reason: format!("managed by stack `{s}`"),
                }),
            }
        }
        // Children first: a topic's delete waits for its subscriptions' deletes.
        deletes.sort_by_key(|(id, kind)| (*kind != ResourceKind::EventSubscription, id.clone()));
        let mut index_of: HashMap<ResourceId, usize> = HashMap::new();
        for (id, kind) in deletes {
            let deps: Vec<usize> = index_of
                .iter()
                .filter(|(child, _)| child.parent().as_ref() == Some(&id))
                .map(|(_, i)| *i)
                .collect();
            let index = self.actions.len();
            self.actions.push(Action {
                index,
                kind: ActionKind::Delete,
                target: Target {
                    kind,
                    name: id.name().to_string(),
                    id: Some(id.clone()),
                },
                changes: vec![],
                depends_on: deps,
                reason: Some("owned by this stack and no longer in the manifests".into()),
                operation: Operation::Delete {
                    at: Locator::Id(id.clone()),
                },
            });
            index_of.insert(id, index);
        }
        unmanaged
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
