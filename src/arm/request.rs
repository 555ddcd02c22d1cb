//! Sans-IO request building: ARM id → URL path + `api-version`, collections, operation classes.
//!
//! Owns the table of api-versions per resource provider and the mapping of a method to ARM's
//! throttling class. It must not send anything or know about credentials.

use std::fmt;

use crate::model::ResourceId;

pub use crate::model::EVENT_GRID_NAMESPACE;

/// Api-version of every `Microsoft.EventGrid` operation.
pub const EVENTGRID_API_VERSION: &str = "2025-02-15";
/// Api-version of `Microsoft.Resources` (resource groups, provider registrations).
pub const RESOURCES_API_VERSION: &str = "2025-04-01";

/// ARM's throttling classes (each has its own token bucket per subscription).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpClass {
    /// GET and HEAD.
    Read,
    /// PUT, PATCH and POST (actions such as `activate`, `getFullUrl` spend the write budget).
    Write,
    /// DELETE.
    Delete,
}

impl OpClass {
    /// The class of an HTTP method.
    pub fn of(method: &reqwest::Method) -> Self {
        match *method {
            reqwest::Method::GET | reqwest::Method::HEAD => Self::Read,
            reqwest::Method::DELETE => Self::Delete,
            _ => Self::Write,
        }
    }

    /// The suffix ARM uses in `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`.
    pub fn header_suffix(self) -> &'static str {
        match self {
            Self::Read => "reads",
            Self::Write => "writes",
            Self::Delete => "deletes",
        }
    }
}

impl fmt::Display for OpClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header_suffix())
    }
}

/// The provider namespace that serves an id (the last `providers/{ns}` segment), or
/// `Microsoft.Resources` for subscriptions, resource groups and provider registrations.
pub fn namespace_of(id: &ResourceId) -> String {
    let ty = id.resource_type();
    ty.split('/').next().unwrap_or_default().to_string()
}

/// The api-version to use for a resource id.
pub fn api_version_for(id: &ResourceId) -> &'static str {
    api_version_for_namespace(&namespace_of(id))
}

/// The api-version to use for a provider namespace. Unknown namespaces get the Resources one
/// (the only other namespace we talk to is Microsoft.Resources).
pub fn api_version_for_namespace(namespace: &str) -> &'static str {
    if namespace.eq_ignore_ascii_case(EVENT_GRID_NAMESPACE) {
        EVENTGRID_API_VERSION
    } else {
        RESOURCES_API_VERSION
    }
}

/// A collection that can be listed: `{parent}/providers/{ns}/{type}` for top-level resources or
/// `{parent}/{type}` for nested children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// The container (resource group, subscription, or parent resource).
    pub parent: ResourceId,
    /// `Some(namespace)` for top-level/extension resources, `None` for nested children.
    pub namespace: Option<String>,
    /// The resource type segment, e.g. `topics` or `eventSubscriptions`.
    pub resource_type: String,
}

impl Collection {
    /// Top-level Event Grid resources of a type in a resource group (e.g. `topics`).
    pub fn eventgrid(resource_group: &ResourceId, resource_type: &str) -> Self {
        Self {
            parent: resource_group.clone(),
            namespace: Some(EVENT_GRID_NAMESPACE.into()),
            resource_type: resource_type.into(),
        }
    }

    /// Nested children of a resource (e.g. a topic's `eventSubscriptions`).
    pub fn children(parent: &ResourceId, resource_type: &str) -> Self {
        Self {
            parent: parent.clone(),
            namespace: None,
            resource_type: resource_type.into(),
        }
    }

    /// Extension event subscriptions on any scope:
    /// `{scope}/providers/Microsoft.EventGrid/eventSubscriptions`.
    pub fn extension_subscriptions(scope: &ResourceId) -> Self {
        Self::eventgrid(scope, "eventSubscriptions")
    }

    /// The URL path of the collection.
    pub fn path(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/providers/{}/{}", self.parent, ns, self.resource_type),
            None => format!("{}/{}", self.parent, self.resource_type),
        }
    }

    /// The api-version for listing it.
    pub fn api_version(&self) -> &'static str {
        match &self.namespace {
            Some(ns) => api_version_for_namespace(ns),
            None => api_version_for(&self.parent),
        }
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Joins an ARM base URL and a path with the api-version (and extra query pairs).
pub fn build_url(
    base: &url::Url,
    path: &str,
    api_version: &str,
    extra: &[(&str, &str)],
) -> Result<url::Url, url::ParseError> {
    let mut url = base.clone();
    let base_path = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{base_path}{path}"));
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        q.append_pair("api-version", api_version);
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    Ok(url)
}

/// Checks that a `nextLink` or polling URL points at the same host as the ARM endpoint, so a
/// malicious or broken response cannot make us send our bearer token elsewhere.
pub fn same_origin(base: &url::Url, other: &url::Url) -> bool {
    base.scheme() == other.scheme()
        && base.host_str().map(str::to_ascii_lowercase)
            == other.host_str().map(str::to_ascii_lowercase)
        && base.port_or_known_default() == other.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ResourceId {
        ResourceId::parse(s).unwrap()
    }

    #[test]
    fn api_versions_per_type() {
        let rg = ResourceId::resource_group("s", "rg");
        assert_eq!(api_version_for(&rg), RESOURCES_API_VERSION);
        assert_eq!(
            api_version_for(&ResourceId::provider("s", "Microsoft.EventGrid")),
            RESOURCES_API_VERSION
        );
        let topic = rg.provider_resource("Microsoft.EventGrid", "topics", "t");
        assert_eq!(api_version_for(&topic), EVENTGRID_API_VERSION);
        assert_eq!(
            api_version_for(&topic.child("eventSubscriptions", "e")),
            EVENTGRID_API_VERSION
        );
        // Extension subscription on a storage account: served by Event Grid.
        let ext = id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/providers/microsoft.eventgrid/eventSubscriptions/e",
        );
        assert_eq!(api_version_for(&ext), EVENTGRID_API_VERSION);
        assert_eq!(
            api_version_for(&id(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/partnerConfigurations/default"
            )),
            EVENTGRID_API_VERSION
        );
    }

    #[test]
    fn collections_and_urls() {
        let rg = ResourceId::resource_group("s", "rg");
        let topics = Collection::eventgrid(&rg, "topics");
        assert_eq!(
            topics.path(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics"
        );
        assert_eq!(topics.api_version(), EVENTGRID_API_VERSION);
        let subs = Collection::children(
            &rg.provider_resource("Microsoft.EventGrid", "partnerTopics", "p"),
            "eventSubscriptions",
        );
        assert_eq!(
            subs.path(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/partnerTopics/p/eventSubscriptions"
        );
        assert_eq!(subs.api_version(), EVENTGRID_API_VERSION);
        let base = url::Url::parse("http://127.0.0.1:9/arm/").unwrap();
        let u = build_url(&base, &rg.to_string(), "2025-04-01", &[("$top", "100")]).unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/arm/subscriptions/s/resourceGroups/rg?api-version=2025-04-01&%24top=100"
        );
    }

    #[test]
    fn op_classes() {
        use reqwest::Method;
        assert_eq!(OpClass::of(&Method::GET), OpClass::Read);
        assert_eq!(OpClass::of(&Method::HEAD), OpClass::Read);
        assert_eq!(OpClass::of(&Method::POST), OpClass::Write);
        assert_eq!(OpClass::of(&Method::PATCH), OpClass::Write);
        assert_eq!(OpClass::of(&Method::PUT), OpClass::Write);
        assert_eq!(OpClass::of(&Method::DELETE), OpClass::Delete);
    }

    #[test]
    fn same_origin_guards_the_token() {
        let base = url::Url::parse("https://management.azure.com").unwrap();
        let ok = url::Url::parse("https://MANAGEMENT.azure.com:443/x?$skiptoken=1").unwrap();
        let bad = url::Url::parse("https://evil.example.com/x").unwrap();
        assert!(same_origin(&base, &ok));
        assert!(!same_origin(&base, &bad));
    }
}
