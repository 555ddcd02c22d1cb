//! ARM resource ids: parsed once, compared case-insensitively, printed as given.
//!
//! ARM treats ids case-insensitively (`resourceGroups` vs `resourcegroups`, `Microsoft.EventGrid`
//! vs `microsoft.eventgrid`), so equality, ordering and hashing use the lowercased form while
//! `Display` keeps the spelling the id was built with. Shared by the client and the emulator; it
//! is the only type they share.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The Event Grid resource provider namespace, spelled as ARM documents it.
pub const EVENT_GRID_NAMESPACE: &str = "Microsoft.EventGrid";

/// A parsed ARM resource id such as
/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.EventGrid/topics/{name}`.
#[derive(Clone)]
pub struct ResourceId {
    raw: String,
    lower: String,
    /// Path segments without the leading empty one.
    segments: Vec<String>,
}

/// Why a string is not an ARM resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{id}` is not an ARM resource id: {reason}")]
pub struct ParseIdError {
    /// The offending text.
    pub id: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ResourceId {
    /// Parses an id; a missing leading slash is tolerated (ARM examples write scopes without one).
    pub fn parse(text: &str) -> Result<Self, ParseIdError> {
        let fail = |reason| ParseIdError {
            id: text.to_string(),
            reason,
        };
        let trimmed = text.trim().trim_start_matches('/').trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(fail("it is empty"));
        }
        let segments: Vec<String> = trimmed.split('/').map(str::to_string).collect();
        if segments.iter().any(String::is_empty) {
            return Err(fail("it contains an empty segment (`//`)"));
        }
        if !segments[0].eq_ignore_ascii_case("subscriptions") || segments.len() < 2 {
            return Err(fail("it must start with `/subscriptions/{subscriptionId}`"));
        }
        let mut i = 2;
        if segments.len() > i && segments[i].eq_ignore_ascii_case("resourceGroups") {
            if segments.len() < i + 2 {
                return Err(fail("`resourceGroups` must be followed by a name"));
            }
            i += 2;
        }
        while i < segments.len() {
            if segments[i].eq_ignore_ascii_case("providers") {
                // `providers/{ns}` alone is a provider registration; otherwise `{ns}/{type}/{name}`.
                let rest = segments.len() - i;
                if rest == 2 && i == 2 {
                    i += 2;
                    continue;
                }
                if rest < 4 {
                    return Err(fail(
                        "`providers` must be followed by `{namespace}/{type}/{name}`",
                    ));
                }
                i += 4;
            } else {
                if segments.len() < i + 2 {
                    return Err(fail("a child resource type must be followed by a name"));
                }
                i += 2;
            }
        }
        let raw = format!("/{}", segments.join("/"));
        Ok(Self {
            lower: raw.to_ascii_lowercase(),
            raw,
            segments,
        })
    }

    /// The id of a subscription.
    pub fn subscription(subscription_id: &str) -> Self {
        Self::from_segments(vec!["subscriptions".into(), subscription_id.into()])
    }

    /// The id of a resource group.
    pub fn resource_group(subscription_id: &str, resource_group: &str) -> Self {
        Self::subscription(subscription_id).child("resourceGroups", resource_group)
    }

    /// The id of a resource provider registration (`/subscriptions/{s}/providers/{namespace}`).
    pub fn provider(subscription_id: &str, namespace: &str) -> Self {
        let mut segments = Self::subscription(subscription_id).segments;
        segments.push("providers".into());
        segments.push(namespace.into());
        Self::from_segments(segments)
    }

    /// A top-level or extension resource below this scope:
    /// `{self}/providers/{namespace}/{type}/{name}`.
    pub fn provider_resource(&self, namespace: &str, resource_type: &str, name: &str) -> Self {
        let mut segments = self.segments.clone();
        segments.extend([namespace, resource_type, name].map(str::to_string));
        segments.insert(self.segments.len(), "providers".into());
        Self::from_segments(segments)
    }

    /// A nested child resource: `{self}/{type}/{name}`.
    pub fn child(&self, resource_type: &str, name: &str) -> Self {
        let mut segments = self.segments.clone();
        segments.push(resource_type.into());
        segments.push(name.into());
        Self::from_segments(segments)
    }

    fn from_segments(segments: Vec<String>) -> Self {
        let raw = format!("/{}", segments.join("/"));
        Self {
            lower: raw.to_ascii_lowercase(),
            raw,
            segments,
        }
    }

    /// The id as written, with a leading slash.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The subscription id (second segment).
    pub fn subscription_id(&self) -> &str {
        &self.segments[1]
    }

    /// The resource group name, if the id is inside one.
    pub fn resource_group_name(&self) -> Option<&str> {
        match self.segments.get(2) {
            Some(s) if s.eq_ignore_ascii_case("resourceGroups") => {
                self.segments.get(3).map(String::as_str)
            }
            _ => None,
        }
    }

    /// The last name segment (the resource's own name).
    pub fn name(&self) -> &str {
        self.segments.last().map(String::as_str).unwrap_or_default()
    }

    /// The full resource type, e.g. `Microsoft.EventGrid/topics/eventSubscriptions`,
    /// `Microsoft.Resources/resourceGroups`, `Microsoft.Resources/subscriptions`.
    pub fn resource_type(&self) -> String {
        let s = &self.segments;
        if s.len() == 2 {
            return "Microsoft.Resources/subscriptions".into();
        }
        if s.len() == 4 && s[2].eq_ignore_ascii_case("resourceGroups") {
            return "Microsoft.Resources/resourceGroups".into();
        }
        if s.len() == 4 && s[2].eq_ignore_ascii_case("providers") {
            return "Microsoft.Resources/providers".into();
        }
        // Walk from the last `providers` segment: namespace, type, then child types.
        let Some(p) = s
            .iter()
            .rposition(|seg| seg.eq_ignore_ascii_case("providers"))
        else {
            return String::new();
        };
        let mut out = format!("{}/{}", s[p + 1], s[p + 2]);
        let mut i = p + 4;
        while i + 1 < s.len() {
            out.push('/');
            out.push_str(&s[i]);
            i += 2;
        }
        out
    }

    /// The parent scope: the enclosing resource for nested or extension resources, the resource
    /// group for top-level ones, the subscription for a group. `None` for a subscription.
    pub fn parent(&self) -> Option<Self> {
        let s = &self.segments;
        if s.len() <= 2 {
            return None;
        }
        let cut = if s.len() >= 4 && s[s.len() - 4].eq_ignore_ascii_case("providers") {
            s.len() - 4
        } else {
            s.len() - 2
        };
        Some(Self::from_segments(s[..cut].to_vec()))
    }

    /// Whether `self` is `other` or lies below it.
    pub fn is_within(&self, other: &Self) -> bool {
        self.lower == other.lower || self.lower.starts_with(&format!("{}/", other.lower))
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceId({})", self.raw)
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.lower == other.lower
    }
}

impl Eq for ResourceId {}

impl Hash for ResourceId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.lower.hash(state);
    }
}

impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.lower.cmp(&other.lower)
    }
}

impl FromStr for ResourceId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for ResourceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> serde::Deserialize<'de> for ResourceId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "/subscriptions/5b4b650e-28b9-4790-b3ab-ddbd88d727c4/resourceGroups/examplerg/providers/Microsoft.EventGrid/topics/exampletopic1";

    #[test]
    fn compares_case_insensitively_and_keeps_spelling() {
        let a = ResourceId::parse(TOPIC).unwrap();
        let b = ResourceId::parse(&TOPIC.to_lowercase()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), TOPIC);
        assert_eq!(a.name(), "exampletopic1");
        assert_eq!(a.resource_group_name(), Some("examplerg"));
        assert_eq!(a.resource_type(), "Microsoft.EventGrid/topics");
    }

    #[test]
    fn nested_and_extension_types_and_parents() {
        let nested = ResourceId::parse(&format!("{TOPIC}/eventSubscriptions/sub1")).unwrap();
        assert_eq!(
            nested.resource_type(),
            "Microsoft.EventGrid/topics/eventSubscriptions"
        );
        assert_eq!(nested.parent().unwrap().as_str(), TOPIC);
        let ext = ResourceId::parse(&format!(
            "{}/providers/Microsoft.EventGrid/eventSubscriptions/sub1",
            TOPIC.trim_start_matches('/')
        ))
        .unwrap();
        assert_eq!(
            ext.resource_type(),
            "Microsoft.EventGrid/eventSubscriptions"
        );
        assert_eq!(ext.parent().unwrap().as_str(), TOPIC);
        assert!(ext.is_within(&ResourceId::parse(TOPIC).unwrap()));
    }

    #[test]
    fn builders_match_parsing() {
        let rg = ResourceId::resource_group("s1", "rg");
        let topic = rg.provider_resource("Microsoft.EventGrid", "topics", "t");
        assert_eq!(
            topic.as_str(),
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t"
        );
        assert_eq!(ResourceId::parse(topic.as_str()).unwrap(), topic);
        let provider = ResourceId::provider("s1", "Microsoft.EventGrid");
        assert_eq!(provider.resource_type(), "Microsoft.Resources/providers");
        assert_eq!(rg.parent().unwrap(), ResourceId::subscription("s1"));
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "/",
            "/resourceGroups/x",
            "/subscriptions",
            "/subscriptions/s/resourceGroups",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics",
            "/subscriptions//x",
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
