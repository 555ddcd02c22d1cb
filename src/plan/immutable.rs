//! The one table of fields that Azure and Auth0 will not change in place, each row with its
//! source. The planner asks it whether a changed attribute path forces a replacement (or, for a
//! resource group's location, cannot be planned at all). It decides nothing else: which actions
//! follow from a replacement is `build`'s.
//!
//! Partner topic fields (`source`, `partnerRegistrationImmutableId`, `eventTypeInfo`, …,
//! REFERENCE §8.9) have no rows: the partner creates the topic and gridform never writes them
//! (a wrong `source` is a plan error of its own).

use crate::model::ResourceKind;

/// What a change of an immutable field leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChange {
    /// Delete the resource and create it again.
    Replace,
    /// Nothing gridform may do: the plan reports an error.
    Refuse,
}

/// One field that cannot change in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImmutableField {
    /// The manifest kind.
    pub kind: ResourceKind,
    /// Dotted path in the compared body; the row covers everything below it too.
    pub path: &'static str,
    /// What a change leads to.
    pub on_change: OnChange,
    /// Where the rule comes from.
    pub source: &'static str,
}

const fn row(
    kind: ResourceKind,
    path: &'static str,
    on_change: OnChange,
    source: &'static str,
) -> ImmutableField {
    ImmutableField {
        kind,
        path,
        on_change,
        source,
    }
}

use OnChange::{Refuse, Replace};
use ResourceKind as K;

/// Every field Azure and Auth0 will not change in place.
pub const IMMUTABLE_FIELDS: &[ImmutableField] = &[
    // x-ms-mutability read,create; in no UpdateParameters model.
    row(K::Topic, "location", Replace, "REFERENCE.md §8.8"),
    row(
        K::Topic,
        "properties.inputSchema",
        Replace,
        "REFERENCE.md §8.9",
    ),
    row(
        K::Topic,
        "properties.inputSchemaMapping",
        Replace,
        "REFERENCE.md §8.9",
    ),
    row(K::SystemTopic, "location", Replace, "REFERENCE.md §8.8"),
    row(
        K::SystemTopic,
        "properties.source",
        Replace,
        "REFERENCE.md §8.9",
    ),
    row(
        K::SystemTopic,
        "properties.topicType",
        Replace,
        "REFERENCE.md §8.9",
    ),
    // A group cannot be replaced without deleting everything in it.
    row(K::ResourceGroup, "location", Refuse, "REFERENCE.md §8.8"),
    // Azure answers 400 "The new event delivery schema value … cannot be different from the
    // already existing event delivery schema value …" (MicrosoftDocs/azure-docs#17010; issue 11).
    row(
        K::EventSubscription,
        "properties.eventDeliverySchema",
        Replace,
        "MicrosoftDocs/azure-docs#17010",
    ),
    // PATCH /api/v2/log-streams/{id}: "For log streams of type eventbridge and eventgrid,
    // updating the sink is not permitted"; `type` is not among the updatable fields.
    row(
        K::Auth0LogStream,
        "type",
        Replace,
        "Auth0 Management API, PATCH log-streams",
    ),
    row(
        K::Auth0LogStream,
        "sink",
        Replace,
        "Auth0 Management API, PATCH log-streams; MANIFESTS.md",
    ),
    // Graph's PATCH /subscriptions/{id} changes only `expirationDateTime` and `notificationUrl`;
    // `lifecycleNotificationUrl` cannot be added by PATCH (research/graph-partner.md).
    row(K::GraphSubscription, "resource", Replace, GRAPH_PATCH),
    row(K::GraphSubscription, "changeType", Replace, GRAPH_PATCH),
    row(K::GraphSubscription, "clientState", Replace, GRAPH_PATCH),
    row(
        K::GraphSubscription,
        "includeResourceData",
        Replace,
        GRAPH_PATCH,
    ),
    row(
        K::GraphSubscription,
        "lifecycleNotificationUrl",
        Replace,
        GRAPH_PATCH,
    ),
];

const GRAPH_PATCH: &str =
    "Microsoft Graph, Update subscription (only expirationDateTime and notificationUrl)";

/// The row covering `path` of `kind`, if the field cannot change in place.
pub fn immutable_field(kind: ResourceKind, path: &str) -> Option<&'static ImmutableField> {
    IMMUTABLE_FIELDS.iter().find(|f| {
        f.kind == kind
            && path.strip_prefix(f.path).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
            })
    })
}

/// Whether a change of `path` of an existing `kind` needs more than an in-place update.
pub fn forces_replacement(kind: ResourceKind, path: &str) -> bool {
    immutable_field(kind, path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_change(kind: ResourceKind, path: &str) -> Option<OnChange> {
        immutable_field(kind, path).map(|f| f.on_change)
    }

    #[test]
    fn subscription_event_delivery_schema_forces_replacement() {
        let k = K::EventSubscription;
        assert_eq!(
            on_change(k, "properties.eventDeliverySchema"),
            Some(Replace)
        );
        assert_eq!(
            on_change(k, "properties.retryPolicy.maxDeliveryAttempts"),
            None
        );
        assert_eq!(
            on_change(k, "properties.destination.properties.endpointUrl"),
            None
        );
    }

    #[test]
    fn topic_input_schema_forces_replacement() {
        assert_eq!(on_change(K::Topic, "properties.inputSchema"), Some(Replace));
        assert_eq!(on_change(K::Topic, "properties.publicNetworkAccess"), None);
    }

    #[test]
    fn topic_input_schema_mapping_and_what_is_below_it_force_replacement() {
        let k = K::Topic;
        assert_eq!(on_change(k, "properties.inputSchemaMapping"), Some(Replace));
        assert_eq!(
            on_change(k, "properties.inputSchemaMapping.properties.id.sourceField"),
            Some(Replace)
        );
        // A prefix of the name is not the field.
        assert_eq!(on_change(k, "properties.inputSchemaMappingX"), None);
    }

    #[test]
    fn topic_location_forces_replacement() {
        assert_eq!(on_change(K::Topic, "location"), Some(Replace));
        assert_eq!(on_change(K::Topic, "tags.team"), None);
    }

    #[test]
    fn system_topic_location_forces_replacement() {
        assert_eq!(on_change(K::SystemTopic, "location"), Some(Replace));
    }

    #[test]
    fn system_topic_source_forces_replacement() {
        assert_eq!(
            on_change(K::SystemTopic, "properties.source"),
            Some(Replace)
        );
    }

    #[test]
    fn system_topic_topic_type_forces_replacement() {
        assert_eq!(
            on_change(K::SystemTopic, "properties.topicType"),
            Some(Replace)
        );
        assert_eq!(on_change(K::SystemTopic, "identity.type"), None);
    }

    #[test]
    fn resource_group_location_is_refused() {
        assert_eq!(on_change(K::ResourceGroup, "location"), Some(Refuse));
        assert_eq!(on_change(K::ResourceGroup, "tags.team"), None);
    }

    #[test]
    fn auth0_stream_type_forces_replacement() {
        assert_eq!(on_change(K::Auth0LogStream, "type"), Some(Replace));
        assert_eq!(on_change(K::Auth0LogStream, "status"), None);
        let g = K::GraphSubscription;
        for field in [
            "resource",
            "changeType",
            "clientState",
            "includeResourceData",
        ] {
            assert_eq!(on_change(g, field), Some(Replace), "{field}");
        }
        assert_eq!(on_change(g, "lifecycleNotificationUrl"), Some(Replace));
        assert_eq!(on_change(g, "notificationUrl"), None);
        assert_eq!(on_change(g, "expirationDateTime"), None);
    }

    #[test]
    fn auth0_stream_sink_fields_force_replacement() {
        let k = K::Auth0LogStream;
        assert_eq!(on_change(k, "sink.azureRegion"), Some(Replace));
        assert_eq!(on_change(k, "sink.azureResourceGroup"), Some(Replace));
        assert_eq!(on_change(k, "filters[0].name"), None);
        assert_eq!(on_change(k, "isPriority"), None);
    }

    #[test]
    fn kinds_without_rows_change_in_place() {
        for kind in [K::PartnerConfiguration, K::PartnerTopic] {
            assert_eq!(on_change(kind, "location"), None, "{kind}");
        }
        assert_eq!(on_change(K::Topic, "properties.source"), None);
    }

    #[test]
    fn every_row_names_its_source_and_is_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for f in IMMUTABLE_FIELDS {
            assert!(!f.source.trim().is_empty(), "{f:?}");
            assert!(seen.insert((f.kind, f.path)), "duplicate row {f:?}");
        }
    }
}
