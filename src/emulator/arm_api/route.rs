//! ARM paths: parses `/subscriptions/...` (case-insensitively) into an `ArmRoute`, one variant
//! per route family, and knows which api-versions each family speaks.
//!
//! Pure text in, route out: it must not look at the store, the token or the method.

use axum::http::Uri;

use crate::emulator::store::subscriptions::Style;
use crate::emulator::store::{EVENT_GRID, Kind};
use crate::model::id::ResourceId;

/// The newest Event Grid api-version the emulator speaks (the default for operation URLs).
pub const EVENT_GRID_API: &str = "2025-02-15";
/// Every Event Grid api-version served, newest first: the ones current official clients send
/// (Azure CLI 2.x 2021-10-15-preview, JavaScript `@azure/arm-eventgrid` 14 2022-06-15, Python
/// `azure-mgmt-eventgrid` 10.4 2025-02-15) and the stable and preview versions between them.
/// Each is answered with the 2025-02-15 shapes: newer fields are extra properties older models
/// ignore.
pub const EVENT_GRID_APIS: &[&str] = &[
    EVENT_GRID_API,
    "2024-12-15-preview",
    "2024-06-01-preview",
    "2023-12-15-preview",
    "2023-06-01-preview",
    "2022-06-15",
    "2021-12-01",
    "2021-10-15-preview",
];
/// Microsoft.Resources api-versions accepted (inclusive range, ISO dates compare as text). The
/// Azure CLI still sends 2016-06-01 (subscriptions, tenants) and 2019-11-01 (metadata).
pub const RESOURCES_API: (&str, &str) = ("2015-01-01", "2025-04-01");

/// A parsed ARM request target, by route family.
#[derive(Debug, Clone)]
pub enum ArmRoute {
    /// Subscriptions and resource provider registration.
    Account(AccountRoute),
    /// Resource groups.
    Group(GroupRoute),
    /// Long-running operation status and result URLs.
    Operation(OperationRoute),
    /// Topics, system topics, partner topics and partner configurations.
    EventGrid(EventGridRoute),
    /// Event subscriptions (nested under a topic or extension-style on any scope).
    EventSubscription(EventSubscriptionRoute),
    /// The regional and topic-type aggregated event subscription lists.
    EventSubscriptionList(AggregateList),
    /// Tenant-level Event Grid catalogs: `/providers/Microsoft.EventGrid/{verifiedPartners,topicTypes}`.
    Catalog(CatalogRoute),
}

/// `/providers/Microsoft.EventGrid/...` (no subscription in the path).
#[derive(Debug, Clone)]
pub enum CatalogRoute {
    /// `verifiedPartners`.
    VerifiedPartners,
    /// `verifiedPartners/{name}`.
    VerifiedPartner(String),
    /// `topicTypes`.
    TopicTypes,
    /// `topicTypes/{name}`.
    TopicType(String),
    /// `topicTypes/{name}/eventTypes`.
    EventTypes(String),
}

/// An aggregated event subscription list under a subscription or resource group
/// (`.../providers/Microsoft.EventGrid/[locations/{l}/][topicTypes/{t}/]eventSubscriptions`).
#[derive(Debug, Clone)]
pub struct AggregateList {
    /// The subscription or resource group.
    pub scope: ResourceId,
    /// `Some` for the regional lists.
    pub location: Option<String>,
    /// `Some` for the topic-type lists.
    pub topic_type: Option<String>,
}

/// Subscriptions and `Microsoft.*` provider registration.
#[derive(Debug, Clone)]
pub enum AccountRoute {
    /// `/subscriptions` (the subscriptions the emulator has seen).
    Subscriptions,
    /// `/subscriptions/{s}`.
    Subscription,
    /// `/subscriptions/{s}/locations`.
    Locations,
    /// `/subscriptions/{s}/providers`.
    Providers,
    /// `/subscriptions/{s}/providers/{ns}`.
    Provider(String),
    /// `/subscriptions/{s}/providers/{ns}/register|unregister`.
    Registration {
        /// Provider namespace.
        namespace: String,
        /// `true` for `register`, `false` for `unregister`.
        register: bool,
    },
}

/// Resource groups.
#[derive(Debug, Clone)]
pub enum GroupRoute {
    /// `/subscriptions/{s}/resourcegroups`.
    List,
    /// `/subscriptions/{s}/resourcegroups/{rg}`.
    One(String),
}

/// Long-running operation URLs.
#[derive(Debug, Clone)]
pub enum OperationRoute {
    /// `/subscriptions/{s}/operationresults/{id}` (resource group deletion).
    GroupDeletion(String),
    /// `.../locations/{l}/operationsStatus/{id}` (the `Azure-AsyncOperation` URL).
    Status(String),
    /// `.../locations/{l}/operationResults/{id}` (the `Location` URL).
    Result(String),
}

/// Top-level Event Grid resources.
#[derive(Debug, Clone)]
pub enum EventGridRoute {
    /// List by subscription or resource group.
    List(Kind, ResourceId),
    /// One resource.
    One(Kind, ResourceId),
    /// A POST action on a resource (`listKeys`, `activate`, ...).
    Action(Kind, ResourceId, String),
}

/// Event subscriptions: scope, address style, name.
#[derive(Debug, Clone)]
pub enum EventSubscriptionRoute {
    /// Event subscriptions on a scope.
    List(ResourceId, Style),
    /// One event subscription.
    One(ResourceId, Style, String),
    /// A POST action (`getFullUrl`, `getDeliveryAttributes`).
    Action(ResourceId, Style, String, String),
}

impl ArmRoute {
    /// Whether this route belongs to Microsoft.EventGrid (api-version 2025-02-15).
    pub fn is_event_grid(&self) -> bool {
        matches!(
            self,
            Self::EventGrid(_)
                | Self::EventSubscription(_)
                | Self::EventSubscriptionList(_)
                | Self::Catalog(_)
        )
    }

    /// Whether the path names no subscription (`/subscriptions`, tenant-level catalogs).
    pub fn is_tenant_level(&self) -> bool {
        matches!(
            self,
            Self::Account(AccountRoute::Subscriptions) | Self::Catalog(_)
        )
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn id_of(segments: &[&str]) -> Option<ResourceId> {
    ResourceId::parse(&segments.join("/")).ok()
}

/// Parses an ARM path into (subscription id, route); `None` when no emulated route matches.
pub fn parse_route(path: &str) -> Option<(String, ArmRoute)> {
    let s: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if s.len() == 1 && eq(s[0], "subscriptions") {
        return Some((
            String::new(),
            ArmRoute::Account(AccountRoute::Subscriptions),
        ));
    }
    if s.len() >= 3 && eq(s[0], "providers") && eq(s[1], EVENT_GRID) {
        return Some((String::new(), ArmRoute::Catalog(catalog(&s[2..])?)));
    }
    if s.len() < 2 || !eq(s[0], "subscriptions") {
        return None;
    }
    let route = match extension_subscription(&s) {
        Some(found) => found?,
        None => subscription_scoped(&s)?,
    };
    Some((s[1].to_string(), route))
}

/// Extension-style event subscriptions: the last `providers/Microsoft.EventGrid/eventSubscriptions`.
/// `None` when the path has none; `Some(None)` when it has one but the rest does not parse.
fn extension_subscription(s: &[&str]) -> Option<Option<ArmRoute>> {
    let i = (2..s.len().saturating_sub(2)).rev().find(|&i| {
        eq(s[i], "providers") && eq(s[i + 1], EVENT_GRID) && eq(s[i + 2], "eventSubscriptions")
    })?;
    let Some(scope) = id_of(&s[..i]) else {
        return Some(None);
    };
    let ext = Style::Extension;
    let route = match &s[i + 3..] {
        [] => EventSubscriptionRoute::List(scope, ext),
        [name] => EventSubscriptionRoute::One(scope, ext, name.to_string()),
        [name, action] => {
            EventSubscriptionRoute::Action(scope, ext, name.to_string(), action.to_string())
        }
        _ => return Some(None),
    };
    Some(Some(ArmRoute::EventSubscription(route)))
}

/// `verifiedPartners[/{name}]`, `topicTypes[/{name}[/eventTypes]]`.
fn catalog(rest: &[&str]) -> Option<CatalogRoute> {
    Some(match rest {
        [c] if eq(c, "verifiedPartners") => CatalogRoute::VerifiedPartners,
        [c, name] if eq(c, "verifiedPartners") => CatalogRoute::VerifiedPartner(name.to_string()),
        [c] if eq(c, "topicTypes") => CatalogRoute::TopicTypes,
        [c, name] if eq(c, "topicTypes") => CatalogRoute::TopicType(name.to_string()),
        [c, name, e] if eq(c, "topicTypes") && eq(e, "eventTypes") => {
            CatalogRoute::EventTypes(name.to_string())
        }
        _ => return None,
    })
}

/// A path segment with its percent-escapes decoded (`West%20US%202`).
fn decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// After `.../providers/Microsoft.EventGrid/`: `[locations/{l}/][topicTypes/{t}/]eventSubscriptions`
/// (at least one of the two prefixes: the bare list is the extension-style one).
fn aggregate_list(scope: ResourceId, rest: &[&str]) -> Option<ArmRoute> {
    let (location, rest) = match rest {
        [l, name, tail @ ..] if eq(l, "locations") => (Some(decoded(name)), tail),
        _ => (None, rest),
    };
    let (topic_type, rest) = match rest {
        [t, name, tail @ ..] if eq(t, "topicTypes") => (Some(decoded(name)), tail),
        _ => (None, rest),
    };
    let listed = matches!(rest, [e] if eq(e, "eventSubscriptions"));
    (listed && (location.is_some() || topic_type.is_some())).then_some(
        ArmRoute::EventSubscriptionList(AggregateList {
            scope,
            location,
            topic_type,
        }),
    )
}

fn subscription_scoped(s: &[&str]) -> Option<ArmRoute> {
    if s.len() >= 7
        && eq(s[2], "providers")
        && eq(s[3], EVENT_GRID)
        && let Some(route) = aggregate_list(id_of(&s[..2])?, &s[4..])
    {
        return Some(route);
    }
    if s.len() >= 9
        && eq(s[2], "resourcegroups")
        && eq(s[4], "providers")
        && eq(s[5], EVENT_GRID)
        && let Some(route) = aggregate_list(id_of(&s[..4])?, &s[6..])
    {
        return Some(route);
    }
    let route = match s.len() {
        2 => ArmRoute::Account(AccountRoute::Subscription),
        3 if eq(s[2], "providers") => ArmRoute::Account(AccountRoute::Providers),
        3 if eq(s[2], "locations") => ArmRoute::Account(AccountRoute::Locations),
        3 if eq(s[2], "resourcegroups") => ArmRoute::Group(GroupRoute::List),
        4 if eq(s[2], "providers") => ArmRoute::Account(AccountRoute::Provider(s[3].to_string())),
        4 if eq(s[2], "resourcegroups") => ArmRoute::Group(GroupRoute::One(s[3].to_string())),
        4 if eq(s[2], "operationresults") => {
            ArmRoute::Operation(OperationRoute::GroupDeletion(s[3].to_string()))
        }
        5 if eq(s[2], "providers") && (eq(s[4], "register") || eq(s[4], "unregister")) => {
            ArmRoute::Account(AccountRoute::Registration {
                namespace: s[3].to_string(),
                register: eq(s[4], "register"),
            })
        }
        5 if eq(s[2], "providers") && eq(s[3], EVENT_GRID) => ArmRoute::EventGrid(
            EventGridRoute::List(Kind::from_collection(s[4])?, id_of(&s[..2])?),
        ),
        8 if eq(s[2], "providers") && eq(s[4], "locations") => {
            let id = s[7].to_string();
            if eq(s[6], "operationsStatus") || eq(s[6], "operationStatuses") {
                ArmRoute::Operation(OperationRoute::Status(id))
            } else if eq(s[6], "operationResults") {
                ArmRoute::Operation(OperationRoute::Result(id))
            } else {
                return None;
            }
        }
        n if n >= 7
            && eq(s[2], "resourcegroups")
            && eq(s[4], "providers")
            && eq(s[5], EVENT_GRID) =>
        {
            group_scoped_event_grid(s)?
        }
        _ => return None,
    };
    Some(route)
}

/// `/subscriptions/{s}/resourcegroups/{rg}/providers/Microsoft.EventGrid/{collection}/...`.
fn group_scoped_event_grid(s: &[&str]) -> Option<ArmRoute> {
    let kind = Kind::from_collection(s[6]).filter(|k| *k != Kind::EventSubscription)?;
    let nested = matches!(kind, Kind::Topic | Kind::SystemTopic | Kind::PartnerTopic)
        && s.len() > 8
        && eq(s[8], "eventSubscriptions");
    if nested {
        let (scope, style) = (id_of(&s[..8])?, Style::Nested(kind));
        let route = match s.len() {
            9 => EventSubscriptionRoute::List(scope, style),
            10 => EventSubscriptionRoute::One(scope, style, s[9].to_string()),
            11 => EventSubscriptionRoute::Action(scope, style, s[9].to_string(), s[10].to_string()),
            _ => return None,
        };
        return Some(ArmRoute::EventSubscription(route));
    }
    let route = match s.len() {
        7 => EventGridRoute::List(kind, id_of(&s[..4])?),
        8 => EventGridRoute::One(kind, id_of(&s[..8])?),
        9 => EventGridRoute::Action(kind, id_of(&s[..8])?, s[8].to_string()),
        _ => return None,
    };
    Some(ArmRoute::EventGrid(route))
}

/// The query parameters in order; look them up with `query`.
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// One query parameter, case-insensitively, first value wins.
pub fn query<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| eq(k, name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(path: &str) -> Option<String> {
        parse_route(path).map(|(_, r)| format!("{r:?}"))
    }

    #[test]
    fn parses_the_route_shapes() {
        let cases = [
            ("/subscriptions/s/resourcegroups/rg", "Group(One"),
            (
                "/subscriptions/s/providers/Microsoft.EventGrid/register",
                "Account(Registration",
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t",
                "EventGrid(One(Topic",
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/microsoft.eventgrid/topics/t/listKeys",
                "EventGrid(Action",
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/systemTopics/t/eventSubscriptions/x",
                "EventSubscription(One(",
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t/providers/Microsoft.EventGrid/eventSubscriptions/x/getFullUrl",
                "EventSubscription(Action",
            ),
            (
                "/subscriptions/s/providers/Microsoft.EventGrid/eventSubscriptions",
                "EventSubscription(List",
            ),
            (
                "/subscriptions/s/providers/Microsoft.EventGrid/locations/eastus/operationsStatus/x",
                "Operation(Status",
            ),
            ("/subscriptions/s/locations", "Account(Locations"),
            (
                "/providers/Microsoft.EventGrid/verifiedPartners/Auth0",
                "Catalog(VerifiedPartner(",
            ),
            (
                "/providers/microsoft.eventgrid/topicTypes/T/eventTypes",
                "Catalog(EventTypes(",
            ),
            (
                "/subscriptions/s/providers/Microsoft.EventGrid/locations/West%20US/eventSubscriptions",
                "EventSubscriptionList(AggregateList { scope: ResourceId(/subscriptions/s), location: Some(\"West US\"), topic_type: None",
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/locations/l/topicTypes/T/eventSubscriptions",
                "EventSubscriptionList(AggregateList { scope: ResourceId(/subscriptions/s/resourceGroups/rg), location: Some(\"l\"), topic_type: Some(\"T\")",
            ),
            (
                "/subscriptions/s/providers/Microsoft.EventGrid/topicTypes/T/eventSubscriptions",
                "EventSubscriptionList(AggregateList { scope: ResourceId(/subscriptions/s), location: None, topic_type: Some(\"T\")",
            ),
        ];
        for (path, prefix) in cases {
            let got = shape(path).unwrap_or_default();
            assert!(got.starts_with(prefix), "{path}: {got}");
        }
        assert!(
            shape("/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/widgets/t")
                .is_none()
        );
        assert!(shape("/nothing").is_none());
        assert!(shape("/providers/Microsoft.EventGrid/widgets").is_none());
        assert!(
            shape("/subscriptions/s/providers/Microsoft.EventGrid/locations/l/widgets").is_none()
        );
    }
}
