//! Checks that span the fields of one document: defaults that must exist (from the document or
//! the Stack), URL rules, filter totals, authorization windows. Runs on schema-valid documents;
//! checks across documents (references, duplicates, the Stack count) are `declared`'s.

use std::collections::HashMap;

use super::check::Problem;
use super::yaml::{Node, Pos, Value};
use crate::model::graph::{GRAPH_MIN_LIFETIME, max_lifetime};
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
    walk_to(root, path).0
}

/// The position and node at `path`, or the deepest ones on the way when it does not resolve.
fn walk_to<'n>(root: &'n Node, path: &str) -> (Pos, &'n Node) {
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
    (pos, node)
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

    /// Whether the value at `path` came from a secret variable (then never quote it).
    fn secret_at(&self, path: &str) -> bool {
        self.doc.is_some_and(|d| walk_to(d.root, path).1.secret)
    }
}

/// The defaults the Stack gives every other document.
#[derive(Debug, Default)]
pub struct StackDefaults {
    /// `spec.resourceGroup`.
    pub resource_group: Option<String>,
    /// `spec.location`.
    pub location: Option<String>,
    /// Whether `spec.auth0.tenantDomain` is set.
    pub auth0: bool,
    /// Whether an unset default is known to be unset: false when the Stack has errors, is missing
    /// or may be in an unreadable file. Then no "has no …" error is derived from it.
    pub complete: bool,
}

impl StackDefaults {
    /// Whether a document lacks `own` and the Stack surely gives no default either.
    fn lacks(&self, own: bool, default: bool) -> bool {
        !own && !default && self.complete
    }
}

/// Runs every check that spans the fields of one document (or its defaults from the Stack).
pub fn check_all<'a>(docs: &'a [TypedDoc<'a>], stack: &StackDefaults) -> Vec<FileProblem> {
    let mut sink = Sink {
        out: Vec::new(),
        doc: None,
    };
    for doc in docs {
        sink.doc = Some(doc);
        let needs_rg = matches!(
            doc.kind,
            ResourceKind::PartnerConfiguration
                | ResourceKind::GraphSubscription
                | ResourceKind::PartnerTopic
                | ResourceKind::Topic
                | ResourceKind::SystemTopic
        );
        let has_rg = doc.resource_group.is_some();
        if needs_rg && stack.lacks(has_rg, stack.resource_group.is_some()) {
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
    stack: &StackDefaults,
) {
    let missing_location =
        |own: &Option<String>| stack.lacks(own.is_some(), stack.location.is_some());
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
            if stack.lacks(s.tenant_domain.is_some(), stack.auth0) {
                sink.at(
                    "spec",
                    format!("Auth0LogStream `{}` has no Auth0 tenant", doc.name),
                    Some(
                        "set `spec.tenantDomain`, or `spec.auth0.tenantDomain` on the Stack".into(),
                    ),
                );
            }
            if stack.lacks(
                s.azure_resource_group.is_some(),
                stack.resource_group.is_some(),
            ) {
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
        ResourceSpec::GraphSubscription(s) => {
            if missing_location(&s.location) {
                location_error(sink);
            }
            check_graph_subscription(sink, doc, s);
        }
        ResourceSpec::PartnerTopic(s) => check_partner_topic(sink, s, &doc.name),
        ResourceSpec::EventSubscription(s) => check_subscription(sink, s),
        _ => {}
    }
}

/// The longest `waitForPartner`: a partner creates its topic within minutes.
pub const LONGEST_PARTNER_WAIT: Duration = Duration::from_secs(24 * 3600);

fn check_partner_topic(sink: &mut Sink, s: &PartnerTopicSpec, name: &str) {
    if let Some(wait) = s.wait_for_partner
        && (wait.as_secs() == 0 || wait > LONGEST_PARTNER_WAIT)
    {
        sink.at(
            "spec.waitForPartner",
            format!("`waitForPartner` {wait} must be between 1s and {LONGEST_PARTNER_WAIT}"),
            Some("the partner creates the topic within minutes; the default is 10m".into()),
        );
    }
    if s.from_auth0_log_stream.is_some() && s.from_graph_subscription.is_some() {
        sink.at(
            "spec.fromGraphSubscription",
            "give either `fromAuth0LogStream` or `fromGraphSubscription`, not both".into(),
            Some("a partner topic is created by one partner".into()),
        );
    }
    if s.from_auth0_log_stream.is_none()
        && s.from_graph_subscription.is_none()
        && s.expected_source.is_none()
        && s.activation_state == ActivationState::Activated
    {
        sink.at("spec", format!("PartnerTopic `{name}` would be activated without a source check"),
            Some("set `spec.expectedSource` to the partner's source, or use `spec.fromAuth0LogStream` or `spec.fromGraphSubscription`".into()));
    }
}

/// `clientState` from a secret variable; `validFor` within Graph's lifetime table (and not under
/// the 45 minutes Graph raises shorter expiries to); `renewBefore` shorter than the lifetime.
fn check_graph_subscription(sink: &mut Sink, doc: &TypedDoc, s: &GraphSubscriptionSpec) {
    let from_secret = doc
        .root
        .get("spec")
        .and_then(|spec| spec.get("clientState"))
        .is_some_and(|n| n.secret);
    if !from_secret {
        sink.at(
            "spec.clientState",
            "`spec.clientState` is a secret but does not come from a secret variable".into(),
            Some(
                "write `clientState: ${env:NAME}` and list `NAME` in the Stack's `spec.secrets`"
                    .into(),
            ),
        );
    }
    let max = max_lifetime(&s.resource, s.resource_data());
    if let Some(valid) = s.valid_for {
        if valid > max.duration() {
            sink.at(
                "spec.validFor",
                format!(
                    "`validFor` {valid} is longer than Microsoft Graph allows for `{}`: {} minutes ({})",
                    s.resource, max.minutes, max.row
                ),
                Some(format!("use at most `{}m`, or leave `validFor` out (it defaults to the maximum)", max.minutes)),
            );
        } else if valid < GRAPH_MIN_LIFETIME {
            sink.at(
                "spec.validFor",
                format!("`validFor` {valid} is shorter than {GRAPH_MIN_LIFETIME}: Graph raises shorter expiries to 45 minutes"),
                None,
            );
        }
    }
    let lifetime = s.lifetime();
    if let Some(renew) = s.renew_before
        && renew >= lifetime
    {
        sink.at(
            "spec.renewBefore",
            format!("`renewBefore` {renew} must be shorter than `validFor` {lifetime}"),
            None,
        );
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
        let key = p
            .partner_registration_immutable_id
            .as_deref()
            .unwrap_or(&p.partner_name)
            .to_lowercase();
        if let Some(first) = ids.insert(key, i) {
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
            if let Some(renew) = p.renew_before
                && renew >= valid
            {
                sink.at(
                    &format!("{base}.renewBefore"),
                    format!("`renewBefore` {renew} must be shorter than `validFor` {valid}"),
                    None,
                );
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
        let message = if sink.secret_at(path) {
            format!("invalid `{path}`: the value (sensitive) is not an ARM resource id")
        } else {
            format!("invalid `{path}`: {e}")
        };
        sink.at(path, message, None);
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
    if url.expose().contains('#') {
        sink.at(
            path,
            format!("`{path}` has a `#fragment`"),
            Some("Azure drops the fragment, so the URL would never match; remove it".into()),
        );
    }
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
