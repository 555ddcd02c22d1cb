//! The `GraphSubscription` kind (a Microsoft Graph change-notification subscription delivered
//! through an Event Grid partner topic) and the one table of Graph's subscription lifetimes.
//!
//! Plain data and pure functions: no I/O, no clock. Which Graph subscription is whose and what
//! changes is `plan`'s; the wire body is built there too.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::secret::Sensitive;

/// `GraphSubscription`: Microsoft Graph notifies a partner topic it creates of changes to a
/// resource (`users`, `groups`, `me/mailFolders('Inbox')/messages`, …). `metadata.name` is a
/// handle; the group (default: the Stack's) is where Graph creates the partner topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GraphSubscriptionSpec {
    /// The Graph resource path, e.g. `users` or `groups`. Changing it replaces the subscription.
    #[schemars(length(min = 1, max = 1024))]
    pub resource: String,
    /// The changes to be notified of (sent as `updated,deleted`; order does not matter).
    /// Changing them replaces the subscription.
    #[schemars(length(min = 1))]
    pub change_type: Vec<GraphChangeType>,
    /// The partner topic Graph creates (default: `metadata.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9-]{3,50}$"))]
    pub partner_topic: Option<String>,
    /// Azure region name of the partner topic (default: the Stack's location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Sent back in every notification so that receivers can check it (at most 128
    /// characters). A secret: it must come from a variable listed in the Stack's `spec.secrets`.
    /// Changing it replaces the subscription.
    #[schemars(length(min = 1, max = 128))]
    pub client_state: Sensitive<String>,
    /// Rich notifications (Graph then needs an encryption certificate). Changing it replaces
    /// the subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_resource_data: Option<bool>,
    /// Lifecycle notifications (reauthorization required, …) to the same partner topic
    /// (default `true`). Changing it replaces the subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_notifications: Option<bool>,
    /// How long each (re)newal lasts (default: the resource's maximum; never more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<Duration>,
    /// Renew when less than this remains (default: a quarter of `validFor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before: Option<Duration>,
}

impl GraphSubscriptionSpec {
    /// `includeResourceData`, defaulted.
    pub fn resource_data(&self) -> bool {
        self.include_resource_data.unwrap_or(false)
    }

    /// Whether lifecycle notifications go to the partner topic too.
    pub fn lifecycle(&self) -> bool {
        self.lifecycle_notifications.unwrap_or(true)
    }

    /// `changeType` as Graph takes it: the names sorted and joined by `,`.
    pub fn change_type_text(&self) -> String {
        change_type_text(self.change_type.iter().map(|c| c.as_str()))
    }

    /// The lifetime of each (re)newal: `validFor`, or the resource's maximum.
    pub fn lifetime(&self) -> Duration {
        self.valid_for
            .unwrap_or_else(|| max_lifetime(&self.resource, self.resource_data()).duration())
    }

    /// How long before expiry to renew: `renewBefore`, or a quarter of the lifetime.
    pub fn renew_window(&self) -> Duration {
        self.renew_before
            .unwrap_or_else(|| Duration::from_secs(self.lifetime().as_secs() / 4))
    }
}

/// A `changeType` set written the way gridform sends and compares it: sorted, deduplicated,
/// lowercase, joined by `,` (Graph's own order varies).
pub fn change_type_text<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut names: Vec<String> = parts
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names.join(",")
}

/// One Graph change type.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum GraphChangeType {
    /// An item was created (directory resources report creations as `updated`).
    Created,
    /// An item changed.
    Updated,
    /// An item was deleted.
    Deleted,
}

impl GraphChangeType {
    /// As Graph spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }
}

/// The longest a Graph subscription on a resource may last, and which row of the table says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphLifetime {
    /// Minutes.
    pub minutes: u64,
    /// The table row, e.g. `users, groups and other directory resources`.
    pub row: &'static str,
}

impl GraphLifetime {
    /// As a duration.
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.minutes.saturating_mul(60))
    }
}

/// Graph raises a requested expiry less than this far ahead to it.
pub const GRAPH_MIN_LIFETIME: Duration = Duration::from_secs(45 * 60);

const fn row(minutes: u64, row: &'static str) -> GraphLifetime {
    GraphLifetime { minutes, row }
}

/// The maximum lifetime of a subscription on `resource` (Microsoft Graph's "subscription
/// lifetime" table, 2024-11-07; requests beyond it fail). Matched on the path's segments,
/// lowercased, without `('…')` keys or a query; directory resources are the default row.
pub fn max_lifetime(resource: &str, include_resource_data: bool) -> GraphLifetime {
    let path = resource.split('?').next().unwrap_or_default();
    let segments: Vec<String> = path
        .split('/')
        .map(|s| s.split('(').next().unwrap_or_default().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let has = |name: &str| segments.iter().any(|s| s == name);
    let last = segments.last().map(String::as_str).unwrap_or_default();
    let teams = has("chats") || has("teams") || has("channels") || last.starts_with("getall");
    if has("presences") || last == "presence" {
        row(60, "presence")
    } else if has("callrecords") {
        row(4230, "callRecord")
    } else if teams
        || has("onlinemeetings")
        || matches!(last, "recordings" | "transcripts" | "members")
    {
        row(
            4320,
            "Teams chat, channel, chatMessage, team, conversationMember, onlineMeeting, callRecording, callTranscript",
        )
    } else if has("conversations") || has("threads") || has("print") || has("todo") {
        row(4230, "group conversation, printer, todoTask")
    } else if matches!(last, "messages" | "events" | "contacts") {
        if include_resource_data {
            row(
                1440,
                "Outlook message, event, contact with includeResourceData",
            )
        } else {
            row(10080, "Outlook message, event, contact")
        }
    } else if has("drive") || has("drives") || has("root") || (has("sites") && has("lists")) {
        row(42300, "driveItem, SharePoint list")
    } else if has("security") && has("alerts") {
        row(43200, "security alert")
    } else {
        row(41760, "users, groups and other directory resources")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(resource: &str) -> u64 {
        max_lifetime(resource, false).minutes
    }

    #[test]
    fn the_lifetime_table_matches_graphs_rows() {
        assert_eq!(minutes("users"), 41760);
        assert_eq!(minutes("/groups"), 41760);
        assert_eq!(
            minutes("directory/deletedItems/microsoft.graph.user"),
            41760
        );
        assert_eq!(minutes("me/mailFolders('Inbox')/messages"), 10080);
        assert_eq!(
            max_lifetime("users/u1/events", true).minutes,
            1440,
            "rich Outlook notifications last a day"
        );
        assert_eq!(minutes("me/contacts"), 10080);
        assert_eq!(minutes("chats/getAllMessages"), 4320);
        assert_eq!(minutes("teams/t1/channels/c1/messages"), 4320);
        assert_eq!(minutes("communications/onlineMeetings/m1/recordings"), 4320);
        assert_eq!(minutes("communications/callRecords"), 4230);
        assert_eq!(minutes("me/drive/root"), 42300);
        assert_eq!(minutes("sites/s1/lists/l1"), 42300);
        assert_eq!(minutes("security/alerts?$filter=x"), 43200);
        assert_eq!(minutes("groups/g1/conversations"), 4230);
        assert_eq!(minutes("print/printers/p1/jobs"), 4230);
        assert_eq!(minutes("me/todo/lists/l1/tasks"), 4230);
        assert_eq!(minutes("communications/presences/p1"), 60);
    }

    #[test]
    fn lifetime_defaults_to_the_table_and_renewal_to_a_quarter_of_it() {
        let spec: GraphSubscriptionSpec = serde_json::from_value(serde_json::json!({
            "resource": "groups", "changeType": ["updated"], "clientState": "x"
        }))
        .unwrap();
        assert_eq!(spec.lifetime(), Duration::from_secs(41_760 * 60));
        assert_eq!(spec.renew_window(), Duration::from_secs(41_760 * 15));
        assert!(spec.lifecycle() && !spec.resource_data());
    }

    #[test]
    fn change_types_are_a_set() {
        let text = change_type_text(["updated", "Deleted", "updated", ""].into_iter());
        assert_eq!(text, "deleted,updated");
    }
}
