//! Checks that span fields or documents: references, duplicates, exactly one Stack, defaults that
//! must exist, URL rules, filter totals, authorization windows. Runs on schema-valid documents.

use std::collections::HashMap;

use super::check::{Problem, did_you_mean};
use super::yaml::{Node, Pos, Value};
use crate::model::spec::*;
use crate::model::url::EndpointUrl;
use crate::model::{Duration, ResourceId, ResourceKind, ResourceSpec};

/// A schema-valid document, typed, with its tree for positions.
pub struct TypedDoc<'a> {
    /// Which file (index into the caller's list).
    pub file: usize,
    /// Its tree.
    pub root: &'a Node,
    /// `metadata.name` after defaults.
    pub name: String,
    /// Its kind.
    pub kind: ResourceKind,
    /// `metadata.resourceGroup`.
    pub resource_group: Option<String>,
    /// The metadata as written.
    pub metadata: crate::model::Metadata,
    /// The typed spec (`None` for the Stack).
    pub spec: Option<ResourceSpec>,
}

/// A problem tied to a file index.
pub type FileProblem = (usize, Problem);

/// The key position of `path` (dot-separated, numeric segments index lists) in `root`, or of
/// the deepest part of it that exists.
pub fn locate(root: &Node, path: &str) -> Pos {
    let mut node = root;
    let mut pos = root.pos;
    for seg in path.split('.') {
        let next = match &node.value {
            Value::Map(entries) => entries
                .iter()
                .find(|e| e.key == seg)
                .map(|e| (e.key_pos, &e.value)),
            Value::Seq(items) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .map(|n| (n.pos, n)),
            Value::Scalar { .. } => None,
        };
        match next {
            Some((p, n)) => {
                pos = p;
                node = n;
            }
            None => break,
        }
    }
    pos
}

struct Sink<'a> {
    out: Vec<FileProblem>,
    doc: Option<&'a TypedDoc<'a>>,
}

impl<'a> Sink<'a> {
    fn at(&mut self, path: &str, message: String, hint: Option<String>) {
        if let Some(doc) = self.doc {
            self.out.push((
                doc.file,
                Problem {
                    pos: locate(doc.root, path),
                    message,
                    hint,
                },
            ));
        }
    }
}

/// Runs every cross-field and cross-document check.
pub fn check_all<'a>(docs: &'a [TypedDoc<'a>], stack: Option<&StackSpec>) -> Vec<FileProblem> {
    let mut sink = Sink {
        out: Vec::new(),
        doc: None,
    };
    let mut seen: HashMap<(ResourceKind, String), &TypedDoc> = HashMap::new();
    for doc in docs {
        sink.doc = Some(doc);
        let rg = doc
            .resource_group
            .clone()
            .or_else(|| stack.and_then(|s| s.resource_group.clone()));
        let identity = match &doc.spec {
            Some(ResourceSpec::EventSubscription(s)) => {
                let parent = match (&s.topic, &s.scope) {
                    (Some(t), _) => format!("{:?}/{}", t.kind, t.name),
                    (None, Some(scope)) => scope.to_lowercase(),
                    _ => String::new(),
                };
                format!("{parent}/{}", doc.name.to_lowercase())
            }
            Some(ResourceSpec::Auth0LogStream(_)) => doc.name.clone(),
            _ if matches!(
                doc.kind,
                ResourceKind::ProviderRegistration | ResourceKind::ResourceGroup
            ) =>
            {
                doc.name.to_lowercase()
            }
            _ => format!(
                "{}/{}",
                rg.clone().unwrap_or_default().to_lowercase(),
                doc.name.to_lowercase()
            ),
        };
        if let Some(first) = seen.get(&(doc.kind, identity.clone())) {
            let first_line = locate(first.root, "metadata.name").line;
            sink.at(
                "metadata.name",
                format!("duplicate {} `{}` (first declared at line {first_line} of the same or another file)", doc.kind, doc.name),
                Some("each resource may be declared once; remove or rename one of them".into()),
            );
        } else {
            seen.insert((doc.kind, identity), doc);
        }
        let needs_rg = matches!(
            doc.kind,
            ResourceKind::PartnerConfiguration
                | ResourceKind::PartnerTopic
                | ResourceKind::Topic
                | ResourceKind::SystemTopic
        );
        if needs_rg && rg.is_none() {
            sink.at(
                "metadata",
                format!("{} `{}` has no resource group", doc.kind, doc.name),
                Some("set `metadata.resourceGroup`, or `spec.resourceGroup` on the Stack".into()),
            );
        }
        let Some(spec) = &doc.spec else { continue };
        check_spec(&mut sink, doc, spec, stack);
    }
    sink.out
}

fn check_spec<'a>(
    sink: &mut Sink<'a>,
    doc: &TypedDoc<'a>,
    spec: &ResourceSpec,
    stack: Option<&StackSpec>,
) {
    let stack_location = stack.and_then(|s| s.location.as_deref());
    let missing_location = |own: &Option<String>| own.is_none() && stack_location.is_none();
    match spec {
        ResourceSpec::ResourceGroup(s) if missing_location(&s.location) => location_error(sink),
        ResourceSpec::Topic(s) if missing_location(&s.location) => location_error(sink),
        ResourceSpec::SystemTopic(s) => {
            if missing_location(&s.location) {
                location_error(sink);
            }
            check_system_topic(sink, s);
        }
        ResourceSpec::PartnerConfiguration(s) => check_partner_configuration(sink, s),
        ResourceSpec::Auth0LogStream(s) => {
            let has_tenant =
                s.tenant_domain.is_some() || stack.and_then(|st| st.auth0.as_ref()).is_some();
            if !has_tenant {
                sink.at(
                    "spec",
                    format!("Auth0LogStream `{}` has no Auth0 tenant", doc.name),
                    Some(
                        "set `spec.tenantDomain`, or `spec.auth0.tenantDomain` on the Stack".into(),
                    ),
                );
            }
            if s.azure_resource_group.is_none()
                && stack.and_then(|st| st.resource_group.as_ref()).is_none()
            {
                sink.at(
                    "spec",
                    format!("Auth0LogStream `{}` has no Azure resource group", doc.name),
                    Some(
                        "set `spec.azureResourceGroup`, or `spec.resourceGroup` on the Stack"
                            .into(),
                    ),
                );
            }
        }
        ResourceSpec::PartnerTopic(s)
            if s.from_auth0_log_stream.is_none()
                && s.expected_source.is_none()
                && s.activation_state == ActivationState::Activated =>
        {
            sink.at("spec", format!("PartnerTopic `{}` would be activated without a source check", doc.name),
                Some("set `spec.expectedSource` to the partner's source, or use `spec.fromAuth0LogStream`".into()));
        }
        ResourceSpec::EventSubscription(s) => check_subscription(sink, s),
        _ => {}
    }
}

fn location_error(sink: &mut Sink) {
    sink.at(
        "spec",
        "no location".into(),
        Some("set `spec.location`, or `spec.location` on the Stack".into()),
    );
}

fn check_system_topic(sink: &mut Sink, s: &SystemTopicSpec) {
    match ResourceId::parse(&s.source) {
        Err(e) => sink.at("spec.source", format!("invalid `spec.source`: {e}"), None),
        Ok(id) => {
            let expected = id.resource_type().replace('/', ".");
            if !expected.eq_ignore_ascii_case(&s.topic_type) {
                sink.at(
                    "spec.topicType",
                    format!(
                        "`spec.topicType` `{}` does not match the source's resource type `{}`",
                        s.topic_type,
                        id.resource_type()
                    ),
                    Some(format!("use `topicType: {expected}`")),
                );
            }
        }
    }
}

fn check_partner_configuration(sink: &mut Sink, s: &PartnerConfigurationSpec) {
    let auth = &s.partner_authorization;
    let max_days = u64::from(auth.default_maximum_expiration_time_in_days.unwrap_or(7));
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (i, p) in auth.authorized_partners_list.iter().enumerate() {
        let base = format!("spec.partnerAuthorization.authorizedPartnersList.{i}");
        if let Some(first) = ids.insert(p.partner_registration_immutable_id.to_lowercase(), i) {
            sink.at(
                &format!("{base}.partnerRegistrationImmutableId"),
                format!(
                    "partner `{}` is listed twice (entries {first} and {i})",
                    p.partner_name
                ),
                None,
            );
        }
        match (&p.authorization_expiration_time_in_utc, p.valid_for) {
            (Some(_), Some(_)) => sink.at(
                &format!("{base}.validFor"),
                "give either `authorizationExpirationTimeInUtc` or `validFor`, not both".into(),
                None,
            ),
            (None, None) => sink.at(
                &base,
                format!("partner `{}` has no authorization expiry", p.partner_name),
                Some("add `validFor` (e.g. `7d`) and `renewBefore` so gridform renews it".into()),
            ),
            _ => {}
        }
        if let Some(valid) = p.valid_for {
            let day = Duration::from_secs(86_400);
            if valid < day || valid.as_secs() > max_days * 86_400 {
                sink.at(&format!("{base}.validFor"),
                    format!("`validFor` {valid} must be between 1d and {max_days}d (`defaultMaximumExpirationTimeInDays`)"),
                    Some("Azure rejects authorizations longer than `defaultMaximumExpirationTimeInDays` (7 when unset, at most 365)".into()));
            }
            if let Some(renew) = p.renew_before {
                if renew >= valid {
                    sink.at(
                        &format!("{base}.renewBefore"),
                        format!("`renewBefore` {renew} must be shorter than `validFor` {valid}"),
                        None,
                    );
                }
            }
        } else if p.renew_before.is_some() {
            sink.at(
                &format!("{base}.renewBefore"),
                "`renewBefore` needs `validFor`".into(),
                None,
            );
        }
    }
}

fn check_subscription(sink: &mut Sink, s: &EventSubscriptionSpec) {
    match (&s.topic, &s.scope) {
        (Some(_), None) => {} // checked on the raw tree by `check_references`
        (None, Some(scope)) => {
            if let Err(e) = ResourceId::parse(scope) {
                sink.at("spec.scope", format!("invalid `spec.scope`: {e}"), None);
            }
        }
        (Some(_), Some(_)) => sink.at(
            "spec.scope",
            "give either `spec.topic` or `spec.scope`, not both".into(),
            None,
        ),
        (None, None) => sink.at(
            "spec",
            "the subscription names no topic".into(),
            Some("add `spec.topic: {kind: Topic, name: ...}` or `spec.scope: <ARM id>`".into()),
        ),
    }
    match (&s.destination, &s.delivery_with_resource_identity) {
        (Some(d), None) => check_destination(sink, d, "spec.destination"),
        (None, Some(d)) => check_destination(
            sink,
            &d.destination,
            "spec.deliveryWithResourceIdentity.destination",
        ),
        (Some(_), Some(_)) => sink.at(
            "spec.deliveryWithResourceIdentity",
            "give either `destination` or `deliveryWithResourceIdentity`, not both".into(),
            None,
        ),
        (None, None) => sink.at(
            "spec",
            "the subscription has no destination".into(),
            Some("add `spec.destination` with an `endpointType`".into()),
        ),
    }
    if s.dead_letter_destination.is_some() && s.dead_letter_with_resource_identity.is_some() {
        sink.at(
            "spec.deadLetterWithResourceIdentity",
            "give either `deadLetterDestination` or `deadLetterWithResourceIdentity`, not both"
                .into(),
            None,
        );
    }
    if let Some(DeadLetterDestination::StorageBlob { resource_id, .. }) = &s.dead_letter_destination
    {
        check_arm_id(sink, resource_id, "spec.deadLetterDestination.resourceId");
    }
    if let Some(filter) = &s.filter {
        let total: usize = filter
            .advanced_filters
            .iter()
            .map(AdvancedFilter::value_count)
            .sum();
        if total > 25 {
            sink.at(
                "spec.filter.advancedFilters",
                format!(
                    "the advanced filters carry {total} values; Azure allows at most 25 in total"
                ),
                None,
            );
        }
        for (i, f) in filter.advanced_filters.iter().enumerate() {
            if f.key().trim().is_empty() {
                sink.at(
                    &format!("spec.filter.advancedFilters.{i}.key"),
                    "empty filter `key`".into(),
                    None,
                );
            }
            if let AdvancedFilter::NumberInRange { values, .. }
            | AdvancedFilter::NumberNotInRange { values, .. } = f
            {
                for (j, [lo, hi]) in values.iter().enumerate() {
                    if lo > hi {
                        sink.at(
                            &format!("spec.filter.advancedFilters.{i}.values.{j}"),
                            format!(
                                "range [{lo}, {hi}] is empty: the low end is above the high end"
                            ),
                            None,
                        );
                    }
                }
            }
        }
    }
}

fn check_arm_id(sink: &mut Sink, id: &str, path: &str) {
    if let Err(e) = ResourceId::parse(id) {
        sink.at(path, format!("invalid `{path}`: {e}"), None);
    }
}

fn check_destination(sink: &mut Sink, d: &Destination, path: &str) {
    match d {
        Destination::WebHook { endpoint_url, .. } => {
            check_webhook_url(sink, endpoint_url, &format!("{path}.endpointUrl"))
        }
        Destination::AzureFunction { resource_id, .. }
        | Destination::EventHub { resource_id, .. }
        | Destination::ServiceBusQueue { resource_id, .. }
        | Destination::ServiceBusTopic { resource_id, .. }
        | Destination::StorageQueue { resource_id, .. }
        | Destination::HybridConnection { resource_id, .. } => {
            check_arm_id(sink, resource_id, &format!("{path}.resourceId"))
        }
    }
    if let Destination::StorageQueue {
        queue_message_time_to_live_in_seconds: Some(0),
        ..
    } = d
    {
        sink.at(
            &format!("{path}.queueMessageTimeToLiveInSeconds"),
            "`queueMessageTimeToLiveInSeconds` must be positive, or -1 for never".into(),
            None,
        );
    }
}

fn check_webhook_url(sink: &mut Sink, url: &EndpointUrl, path: &str) {
    // Parse the base only, so that no error can quote the secret query string.
    let parsed = match url::Url::parse(url.base()) {
        Ok(u) => u,
        Err(e) => {
            sink.at(path, format!("`{path}` is not a valid URL: {e}"), None);
            return;
        }
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        sink.at(
            path,
            format!("`{path}` carries credentials before the host"),
            Some("put secrets in the query string or a secret delivery attribute".into()),
        );
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => sink.at(
            path,
            format!("`{path}` must use https:// (plain http:// is only for loopback hosts)"),
            Some(format!(
                "Event Grid delivers only to https endpoints; use `https://{}`",
                parsed.host_str().unwrap_or("...")
            )),
        ),
        other => sink.at(
            path,
            format!("`{path}` has scheme `{other}`; webhooks need https://"),
            None,
        ),
    }
}

/// Checks `spec.topic` and `spec.fromAuth0LogStream` on the raw trees of every document, so that
/// a dangling reference is reported even when the document has other (schema) errors.
pub fn check_references(docs: &[(usize, &Node)]) -> Vec<FileProblem> {
    let text = |n: &Node, path: &[&str]| -> Option<String> {
        let mut cur = n;
        for p in path {
            cur = cur.get(p)?;
        }
        cur.as_str().map(str::to_string)
    };
    let names: Vec<(String, String)> = docs
        .iter()
        .filter_map(|(_, n)| {
            Some((
                text(n, &["kind"])?,
                text(n, &["metadata", "name"]).unwrap_or_else(|| "default".into()),
            ))
        })
        .collect();
    let mut out = Vec::new();
    for (file, node) in docs {
        let kind = text(node, &["kind"]);
        let reference = match kind.as_deref() {
            Some("EventSubscription") => text(node, &["spec", "topic", "kind"])
                .zip(text(node, &["spec", "topic", "name"]))
                .map(|(k, n)| (k, n, "spec.topic.name")),
            Some("PartnerTopic") => text(node, &["spec", "fromAuth0LogStream"])
                .map(|n| ("Auth0LogStream".to_string(), n, "spec.fromAuth0LogStream")),
            _ => None,
        };
        let Some((target_kind, name, path)) = reference else {
            continue;
        };
        if !matches!(
            target_kind.as_str(),
            "Topic" | "SystemTopic" | "PartnerTopic" | "Auth0LogStream"
        ) {
            continue; // the schema check reports the bad kind
        }
        if names.iter().any(|(k, n)| *k == target_kind && *n == name) {
            continue;
        }
        let same_kind: Vec<&str> = names
            .iter()
            .filter(|(k, _)| *k == target_kind)
            .map(|(_, n)| n.as_str())
            .collect();
        let hint = match did_you_mean(&name, &same_kind) {
            Some(s) => format!("did you mean `{s}`?"),
            None if same_kind.is_empty() => {
                format!("add a `{target_kind}` document named `{name}`")
            }
            None => format!("{target_kind} documents: {}", same_kind.join(", ")),
        };
        out.push((
            *file,
            Problem {
                pos: locate(node, path),
                message: format!(
                    "`{path}` names {target_kind} `{name}`, but no such document exists"
                ),
                hint: Some(hint),
            },
        ));
    }
    out
}
