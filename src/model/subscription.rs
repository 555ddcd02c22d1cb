//! The `EventSubscription` spec: destinations, filters (all 19 advanced operators), retry and
//! dead-lettering, with ARM property names verbatim.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::secret::Sensitive;
use super::url::EndpointUrl;

/// `EventSubscription`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSubscriptionSpec {
    /// The topic in these manifests that the subscription belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicRef>,
    /// ARM id of a topic (or other scope) that is not in these manifests, instead of `topic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Where events go (delivered with Event Grid's own identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// Where events go, delivered with the topic's managed identity (instead of `destination`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_with_resource_identity: Option<DeliveryWithResourceIdentity>,
    /// Which events are delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// User labels (gridform adds its ownership label).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Schema of delivered events (default `EventGridSchema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_delivery_schema: Option<EventDeliverySchema>,
    /// Delivery retries (Azure's defaults: 30 attempts, 1440 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    /// Where undeliverable events are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_destination: Option<DeadLetterDestination>,
    /// Dead-lettering with the topic's managed identity (instead of `deadLetterDestination`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_with_resource_identity: Option<DeadLetterWithResourceIdentity>,
    /// When the subscription expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub expiration_time_utc: Option<String>,
}

/// `spec.topic` of an event subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicRef {
    /// `Topic`, `SystemTopic` or `PartnerTopic`.
    pub kind: TopicKind,
    /// The topic document's `metadata.name`.
    pub name: String,
}

/// Kinds an event subscription can hang off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum TopicKind {
    Topic,
    SystemTopic,
    PartnerTopic,
}

/// `eventDeliverySchema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum EventDeliverySchema {
    EventGridSchema,
    CustomInputSchema,
    #[serde(rename = "CloudEventSchemaV1_0")]
    CloudEventSchemaV10,
}

impl EventDeliverySchema {
    /// Whether a subscription on a topic of `kind` (with `input` for custom topics) may only
    /// deliver CloudEvents: Azure refuses other schemas on partner topics and CloudEvents-input
    /// topics, and an omitted schema there means `CloudEventSchemaV1_0`.
    pub fn cloud_events_only(kind: TopicKind, input: Option<super::spec::InputSchema>) -> bool {
        match kind {
            TopicKind::PartnerTopic => true,
            TopicKind::Topic => input == Some(super::spec::InputSchema::CloudEventSchemaV10),
            TopicKind::SystemTopic => false,
        }
    }
}

/// `retryPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    /// Delivery attempts, 1–30 (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 30))]
    pub max_delivery_attempts: Option<u32>,
    /// Event time to live in minutes, 1–1440 (default 1440).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1440))]
    pub event_time_to_live_in_minutes: Option<u32>,
}

/// `destination`, discriminated by `endpointType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "endpointType", deny_unknown_fields)]
pub enum Destination {
    /// An HTTPS endpoint (answers the validation handshake).
    #[serde(rename_all = "camelCase")]
    WebHook {
        /// The endpoint; its query string is secret and never printed.
        endpoint_url: EndpointUrl,
        /// Events per batch, 1–5000 (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 5000))]
        max_events_per_batch: Option<u32>,
        /// Preferred batch size in KB, 1–1024 (default 64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 1024))]
        preferred_batch_size_in_kilobytes: Option<u32>,
        /// Entra ID tenant for AAD-protected webhooks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        azure_active_directory_tenant_id: Option<String>,
        /// Entra ID application id or URI for AAD-protected webhooks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        azure_active_directory_application_id_or_uri: Option<String>,
        /// Minimum TLS version of the endpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minimum_tls_version_allowed: Option<TlsVersion>,
        /// Extra headers on each delivery (at most 10).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 10))]
        delivery_attribute_mappings: Vec<DeliveryAttributeMapping>,
    },
    /// An Azure Function (`Microsoft.Web/sites/functions` id).
    #[serde(rename_all = "camelCase")]
    AzureFunction {
        /// ARM id of the function.
        resource_id: String,
        /// Events per batch, 1–5000 (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 5000))]
        max_events_per_batch: Option<u32>,
        /// Preferred batch size in KB, 1–1024 (default 64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 1024))]
        preferred_batch_size_in_kilobytes: Option<u32>,
        /// Extra attributes on each delivery (at most 10).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 10))]
        delivery_attribute_mappings: Vec<DeliveryAttributeMapping>,
    },
    /// An Event Hub.
    #[serde(rename_all = "camelCase")]
    EventHub {
        /// ARM id of the event hub.
        resource_id: String,
        /// Extra attributes on each delivery (at most 10).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 10))]
        delivery_attribute_mappings: Vec<DeliveryAttributeMapping>,
    },
    /// A Service Bus queue.
    #[serde(rename_all = "camelCase")]
    ServiceBusQueue {
        /// ARM id of the queue.
        resource_id: String,
        /// Extra attributes on each delivery (at most 10).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 10))]
        delivery_attribute_mappings: Vec<DeliveryAttributeMapping>,
    },
    /// A Service Bus topic.
    #[serde(rename_all = "camelCase")]
    ServiceBusTopic {
        /// ARM id of the Service Bus topic.
        resource_id: String,
        /// Extra attributes on each delivery (at most 10).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 10))]
        delivery_attribute_mappings: Vec<DeliveryAttributeMapping>,
    },
    /// A Storage queue.
    #[serde(rename_all = "camelCase")]
    StorageQueue {
        /// ARM id of the storage account.
        resource_id: String,
        /// Queue name.
        queue_name: String,
        /// Message time to live in seconds; `-1` never expires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = -1))]
        queue_message_time_to_live_in_seconds: Option<i64>,
    },
    /// An Azure Relay hybrid connection.
    #[serde(rename_all = "camelCase")]
    HybridConnection {
        /// ARM id of the hybrid connection.
        resource_id: String,
        /// Extra attributes on each delivery (at most 10).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 10))]
        delivery_attribute_mappings: Vec<DeliveryAttributeMapping>,
    },
}

/// A delivery attribute (header), discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum DeliveryAttributeMapping {
    /// A fixed value; `isSecret: true` hides it everywhere.
    #[serde(rename_all = "camelCase")]
    Static {
        /// Header name.
        name: String,
        /// Header value.
        value: Sensitive<String>,
        /// Secret values never print and are not returned by GET.
        #[serde(default)]
        is_secret: bool,
    },
    /// A value taken from the event.
    #[serde(rename_all = "camelCase")]
    Dynamic {
        /// Header name.
        name: String,
        /// JSON path in the event, e.g. `data.userId`.
        source_field: String,
    },
}

/// `deliveryWithResourceIdentity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryWithResourceIdentity {
    /// Which of the topic's identities to use.
    pub identity: SubscriptionIdentity,
    /// Where events go.
    pub destination: Destination,
}

/// `deadLetterWithResourceIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeadLetterWithResourceIdentity {
    /// Which of the topic's identities to use.
    pub identity: SubscriptionIdentity,
    /// Where undeliverable events are written.
    pub dead_letter_destination: DeadLetterDestination,
}

/// `EventSubscriptionIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionIdentity {
    /// `SystemAssigned` or `UserAssigned`.
    #[serde(rename = "type")]
    pub identity_type: SubscriptionIdentityType,
    /// ARM id of the user-assigned identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_assigned_identity: Option<String>,
}

/// `EventSubscriptionIdentity.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum SubscriptionIdentityType {
    SystemAssigned,
    UserAssigned,
}

/// `deadLetterDestination` (only `StorageBlob` exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "endpointType", deny_unknown_fields)]
pub enum DeadLetterDestination {
    /// A blob container.
    #[serde(rename_all = "camelCase")]
    StorageBlob {
        /// ARM id of the storage account.
        resource_id: String,
        /// Container name (3–63 lowercase letters, digits, `-`).
        #[schemars(regex(pattern = r"^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$"))]
        blob_container_name: String,
    },
}

/// `filter`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// Event types to deliver; all when absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_event_types: Vec<String>,
    /// Subject prefix (no wildcards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_begins_with: Option<String>,
    /// Subject suffix (no wildcards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_ends_with: Option<String>,
    /// Compare subjects case-sensitively (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_subject_case_sensitive: Option<bool>,
    /// Apply advanced filters to array values element by element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_advanced_filtering_on_arrays: Option<bool>,
    /// At most 25 filters with at most 25 values in total.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25))]
    pub advanced_filters: Vec<AdvancedFilter>,
}

/// A string value of an advanced filter (at most 512 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct FilterString(#[schemars(length(max = 512))] pub String);

/// One advanced filter, discriminated by `operatorType` (all 19 operators).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "operatorType", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum AdvancedFilter {
    NumberIn {
        key: String,
        values: Vec<f64>,
    },
    NumberNotIn {
        key: String,
        values: Vec<f64>,
    },
    NumberLessThan {
        key: String,
        value: f64,
    },
    NumberGreaterThan {
        key: String,
        value: f64,
    },
    NumberLessThanOrEquals {
        key: String,
        value: f64,
    },
    NumberGreaterThanOrEquals {
        key: String,
        value: f64,
    },
    BoolEquals {
        key: String,
        value: bool,
    },
    StringIn {
        key: String,
        values: Vec<FilterString>,
    },
    StringNotIn {
        key: String,
        values: Vec<FilterString>,
    },
    StringBeginsWith {
        key: String,
        values: Vec<FilterString>,
    },
    StringNotBeginsWith {
        key: String,
        values: Vec<FilterString>,
    },
    StringEndsWith {
        key: String,
        values: Vec<FilterString>,
    },
    StringNotEndsWith {
        key: String,
        values: Vec<FilterString>,
    },
    StringContains {
        key: String,
        values: Vec<FilterString>,
    },
    StringNotContains {
        key: String,
        values: Vec<FilterString>,
    },
    NumberInRange {
        key: String,
        values: Vec<[f64; 2]>,
    },
    NumberNotInRange {
        key: String,
        values: Vec<[f64; 2]>,
    },
    IsNullOrUndefined {
        key: String,
    },
    IsNotNull {
        key: String,
    },
}

impl AdvancedFilter {
    /// The event field the filter reads.
    pub fn key(&self) -> &str {
        use AdvancedFilter::*;
        match self {
            NumberIn { key, .. }
            | NumberNotIn { key, .. }
            | NumberLessThan { key, .. }
            | NumberGreaterThan { key, .. }
            | NumberLessThanOrEquals { key, .. }
            | NumberGreaterThanOrEquals { key, .. }
            | BoolEquals { key, .. }
            | StringIn { key, .. }
            | StringNotIn { key, .. }
            | StringBeginsWith { key, .. }
            | StringNotBeginsWith { key, .. }
            | StringEndsWith { key, .. }
            | StringNotEndsWith { key, .. }
            | StringContains { key, .. }
            | StringNotContains { key, .. }
            | NumberInRange { key, .. }
            | NumberNotInRange { key, .. }
            | IsNullOrUndefined { key }
            | IsNotNull { key } => key,
        }
    }

    /// How many values the filter carries (Azure limits the total per subscription to 25).
    pub fn value_count(&self) -> usize {
        use AdvancedFilter::*;
        match self {
            NumberIn { values, .. } | NumberNotIn { values, .. } => values.len(),
            StringIn { values, .. }
            | StringNotIn { values, .. }
            | StringBeginsWith { values, .. }
            | StringNotBeginsWith { values, .. }
            | StringEndsWith { values, .. }
            | StringNotEndsWith { values, .. }
            | StringContains { values, .. }
            | StringNotContains { values, .. } => values.len(),
            NumberInRange { values, .. } | NumberNotInRange { values, .. } => values.len(),
            NumberLessThan { .. }
            | NumberGreaterThan { .. }
            | NumberLessThanOrEquals { .. }
            | NumberGreaterThanOrEquals { .. }
            | BoolEquals { .. } => 1,
            IsNullOrUndefined { .. } | IsNotNull { .. } => 0,
        }
    }
}

/// TLS versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum TlsVersion {
    #[serde(rename = "1.0")]
    V1_0,
    #[serde(rename = "1.1")]
    V1_1,
    #[serde(rename = "1.2")]
    V1_2,
}
