//! What Microsoft Graph refuses in a subscription body, as pure functions: the `changeType`
//! list, the `EventGrid:?` notification URL (the emulator delivers only to Event Grid), the
//! maximum lifetime per resource (the emulator's own copy of Graph's table), the expiry rules
//! (refused when past or beyond the maximum, raised to 45 minutes ahead) and `clientState`.
//!
//! No state and no HTTP: the store (`graph.rs`) applies these; statuses are `emulator::error`'s.
//! Codes and wordings not confirmed against Graph are listed in docs/emulator.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::graph::GraphError;
use crate::emulator::infra::clock::parse_time;

/// The shortest lifetime Graph grants: a nearer expiry is raised to this.
pub const MIN_LIFETIME_MINUTES: i64 = 45;
/// A renewal that leaves less than this makes Graph ask for reauthorization at once.
pub const REAUTHORIZE_WITHIN_MINUTES: i64 = 180;
/// `clientState`'s longest length.
pub const MAX_CLIENT_STATE: usize = 128;

/// The partner topic an `EventGrid:?` URL names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventGridTarget {
    /// `azuresubscriptionid`.
    pub subscription: String,
    /// `resourcegroup`.
    pub group: String,
    /// `partnertopic`.
    pub topic: String,
    /// `location` (a region name).
    pub location: String,
}

impl EventGridTarget {
    /// Whether `other` names the same partner topic (Azure names are case-insensitive).
    pub fn same_topic(&self, other: &Self) -> bool {
        self.subscription.eq_ignore_ascii_case(&other.subscription)
            && self.group.eq_ignore_ascii_case(&other.group)
            && self.topic.eq_ignore_ascii_case(&other.topic)
    }
}

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::BadRequest {
        code: "InvalidRequest",
        message: message.into(),
    }
}

/// `created`, `updated`, `deleted` as a comma list (each at most once), normalized.
pub fn change_type(value: Option<&str>) -> Result<String, GraphError> {
    let text = value.unwrap_or_default().trim();
    if text.is_empty() {
        return Err(bad(
            "changeType is a required property for subscription creation.",
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for part in text.split(',').map(str::trim) {
        let known = ["created", "updated", "deleted"]
            .into_iter()
            .find(|k| k.eq_ignore_ascii_case(part));
        match known {
            Some(k) if !seen.contains(&k) => seen.push(k),
            _ => {
                return Err(bad(format!(
                    "Invalid changeType '{part}': use created, updated or deleted, comma-separated."
                )));
            }
        }
    }
    Ok(seen.join(","))
}

/// The partner topic `url` (`field` names it in messages) names; the emulator delivers only to
/// Event Grid, so any other URL is refused.
pub fn event_grid_target(field: &str, url: &str) -> Result<EventGridTarget, GraphError> {
    let usage = "EventGrid:?azuresubscriptionid=<id>&resourcegroup=<group>&partnertopic=<name>&location=<region>";
    let Some(query) = url
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case("EventGrid:?"))
        .and_then(|_| url.get(11..))
    else {
        return Err(bad(format!(
            "Invalid {field} '{url}': the emulator delivers Graph notifications only to Event Grid ({usage})."
        )));
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let missing = |key: &str| {
        bad(format!(
            "Invalid event grid {field} '{url}': '{key}' is missing ({usage})."
        ))
    };
    let subscription = get("azuresubscriptionid").ok_or_else(|| missing("azuresubscriptionid"))?;
    if uuid::Uuid::parse_str(&subscription).is_err() {
        return Err(bad(format!(
            "Invalid event grid {field} '{url}': azuresubscriptionid '{subscription}' is not a GUID."
        )));
    }
    Ok(EventGridTarget {
        subscription,
        group: get("resourcegroup").ok_or_else(|| missing("resourcegroup"))?,
        topic: get("partnertopic").ok_or_else(|| missing("partnertopic"))?,
        location: get("location")
            .ok_or_else(|| missing("location"))?
            .to_ascii_lowercase(),
    })
}

/// The longest lifetime (minutes) Graph grants a subscription on `resource`; resources the
/// table does not name count as directory objects.
pub fn max_lifetime_minutes(resource: &str, include_resource_data: bool) -> i64 {
    let r = resource.trim_start_matches('/').to_ascii_lowercase();
    let has = |s: &str| r.contains(s);
    let starts = |s: &str| r.starts_with(s);
    if has("presence") {
        60
    } else if has("callrecords") {
        4230
    } else if has("onlinemeetings")
        || has("recordings")
        || has("transcripts")
        || starts("chats")
        || starts("teams")
        || has("/chats")
        || has("/channels")
        || has("conversationmembers")
    {
        4320
    } else if starts("groups") && (has("/conversations") || has("/threads")) {
        4230
    } else if has("messages") || has("events") || has("contacts") {
        if include_resource_data { 1440 } else { 10080 }
    } else if has("drive") || (starts("sites") && has("/lists")) {
        42300
    } else if starts("security/alerts") {
        43200
    } else if starts("print/") || has("/todo/") {
        4230
    } else {
        41760
    }
}

/// The expiry Graph grants for `requested` at `now`: refused when missing, unreadable, past or
/// beyond `max_minutes`; raised to 45 minutes ahead when nearer.
pub fn granted_expiry(
    requested: Option<&str>,
    now: DateTime<Utc>,
    max_minutes: i64,
) -> Result<DateTime<Utc>, GraphError> {
    let Some(text) = requested.filter(|t| !t.is_empty()) else {
        return Err(bad(
            "expirationDateTime is a required property for subscription creation.",
        ));
    };
    let Some(at) = parse_time(text) else {
        return Err(bad(format!(
            "Cannot convert the literal '{text}' to the expected type 'Edm.DateTimeOffset'."
        )));
    };
    let too_far = GraphError::BadRequest {
        code: "ExtensionError",
        message: format!(
            "Subscription expiration can only be {max_minutes} minutes in the future."
        ),
    };
    if at <= now {
        return Err(GraphError::BadRequest {
            code: "ExtensionError",
            message: "Subscription expiration must be in the future.".into(),
        });
    }
    if at > now + chrono::Duration::minutes(max_minutes) {
        return Err(too_far);
    }
    Ok(at.max(now + chrono::Duration::minutes(MIN_LIFETIME_MINUTES)))
}

/// `clientState`: a string of at most 128 characters, or absent.
pub fn client_state(value: Option<&serde_json::Value>) -> Result<Option<String>, GraphError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.chars().count() <= MAX_CLIENT_STATE => {
            Ok(Some(s.clone()))
        }
        Some(serde_json::Value::String(_)) => Err(bad(format!(
            "clientState must be at most {MAX_CLIENT_STATE} characters."
        ))),
        Some(_) => Err(bad("clientState must be a string.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_time(text).unwrap()
    }

    #[test]
    fn change_types_are_a_known_comma_list() {
        assert_eq!(
            change_type(Some("Updated, deleted")).unwrap(),
            "updated,deleted"
        );
        assert!(change_type(Some("updated,updated")).is_err());
        assert!(change_type(Some("renamed")).is_err());
        assert!(change_type(None).is_err());
    }

    #[test]
    fn event_grid_urls_need_all_four_parameters() {
        let url = "EventGrid:?azuresubscriptionid=11111111-2222-3333-4444-555555555555&resourcegroup=rg&partnertopic=t&location=WestUS2";
        let t = event_grid_target("notificationUrl", url).unwrap();
        assert_eq!(
            (t.group.as_str(), t.topic.as_str(), t.location.as_str()),
            ("rg", "t", "westus2")
        );
        let no_location = url.replace("&location=WestUS2", "");
        let err = event_grid_target("notificationUrl", &no_location).unwrap_err();
        assert!(err.to_string().contains("'location' is missing"), "{err}");
        let webhook = event_grid_target("notificationUrl", "https://example.com/hook").unwrap_err();
        assert!(
            webhook.to_string().contains("only to Event Grid"),
            "{webhook}"
        );
        let bad_sub = url.replace("11111111-2222-3333-4444-555555555555", "abc");
        assert!(event_grid_target("notificationUrl", &bad_sub).is_err());
    }

    #[test]
    fn lifetimes_follow_the_table() {
        let cases = [
            ("users", false, 41760),
            ("groups/abc", false, 41760),
            ("me/mailFolders('Inbox')/messages", false, 10080),
            ("users/x/events", true, 1440),
            ("teams/getAllMessages", false, 4320),
            ("chats/x/messages", false, 4320),
            ("communications/callRecords", false, 4230),
            ("communications/presences/x", false, 60),
            ("me/drive/root", false, 42300),
            ("sites/s/lists/l", false, 42300),
            ("security/alerts", false, 43200),
            ("groups/g/conversations", false, 4230),
            ("print/printers/p/jobs", false, 4230),
        ];
        for (resource, data, minutes) in cases {
            assert_eq!(max_lifetime_minutes(resource, data), minutes, "{resource}");
        }
    }

    #[test]
    fn expiries_are_refused_or_raised() {
        let now = at("2026-01-01T00:00:00Z");
        let raised = granted_expiry(Some("2026-01-01T00:10:00Z"), now, 60).unwrap();
        assert_eq!(raised, at("2026-01-01T00:45:00Z"));
        let kept = granted_expiry(Some("2026-01-01T00:59:00+00:00"), now, 60).unwrap();
        assert_eq!(kept, at("2026-01-01T00:59:00Z"));
        let far = granted_expiry(Some("2026-01-01T01:01:00Z"), now, 60).unwrap_err();
        assert!(far.to_string().contains("60 minutes"), "{far}");
        assert!(granted_expiry(Some("2025-12-31T00:00:00Z"), now, 60).is_err());
        assert!(granted_expiry(Some("soon"), now, 60).is_err());
        assert!(granted_expiry(None, now, 60).is_err());
    }

    #[test]
    fn client_state_is_at_most_128_characters() {
        let long = serde_json::json!("x".repeat(129));
        assert!(client_state(Some(&long)).is_err());
        let ok = serde_json::json!("x".repeat(128));
        assert_eq!(client_state(Some(&ok)).unwrap().map(|s| s.len()), Some(128));
    }
}
