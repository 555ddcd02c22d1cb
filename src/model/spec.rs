//! The `spec` of every manifest kind, with ARM property names and enum values verbatim.
//!
//! These types are the single source of the manifest format: `manifest` validates documents
//! against the JSON Schema generated from them, then deserializes into them. Doc comments become
//! schema descriptions (editor hovers), `#[schemars(...)]` attributes carry the API's limits.
//! Destinations, delivery attributes and dead-letter destinations are written flat (no
//! `properties` wrapper), as MANIFESTS.md shows; `arm` adds the wrapper on the wire.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Duration;

/// Pattern of a GUID (subscription ids, partner registration ids).
pub const GUID_PATTERN: &str =
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Azure's resource group name rule: 1–90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending
/// in `.`. Names become request paths, so `a/b` or `..` must never pass.
pub const RESOURCE_GROUP_PATTERN: &str = r"^[-\w._()]{0,89}[-\w_()]$";

/// Tags on ARM resources.
pub type Tags = BTreeMap<String, String>;

/// `Stack`: the ownership marker and defaults for every other document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StackSpec {
    /// Azure subscription id (GUID) that every resource lives in.
    #[schemars(regex(pattern = GUID_PATTERN))]
    pub subscription_id: String,
    /// Default resource group for documents that do not name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = RESOURCE_GROUP_PATTERN))]
    pub resource_group: Option<String>,
    /// Default Azure location (e.g. `westeurope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Auth0 defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth0: Option<StackAuth0>,
    /// Environment variables whose values are secret wherever they are used; they never print.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

/// `Stack.spec.auth0`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StackAuth0 {
    /// The Auth0 tenant domain, e.g. `example.eu.auth0.com`.
    pub tenant_domain: String,
}

/// `ProviderRegistration` has no spec; `metadata.name` is the namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptySpec {}

/// `ResourceGroup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceGroupSpec {
    /// Azure location; defaults to the Stack's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Resource tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

/// `PartnerConfiguration` (Azure name always `default`, one per resource group).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartnerConfigurationSpec {
    /// Which partners may create partner topics in this resource group, and for how long.
    #[serde(default)]
    pub partner_authorization: PartnerAuthorization,
    /// Resource tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

/// `properties.partnerAuthorization`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartnerAuthorization {
    /// Upper bound of each partner's authorization, 1–365 days (Azure's default: 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 365))]
    pub default_maximum_expiration_time_in_days: Option<u32>,
    /// The authorized partners.
    #[serde(default)]
    pub authorized_partners_list: Vec<AuthorizedPartner>,
}

/// One entry of `authorizedPartnersList`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizedPartner {
    /// The partner's name, e.g. `Auth0` or `MicrosoftGraphAPI`.
    pub partner_name: String,
    /// The partner registration's immutable id (GUID). Azure accepts either the name or the
    /// id; give the id when you know it (Microsoft Graph's appears only in third-party setups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = GUID_PATTERN))]
    pub partner_registration_immutable_id: Option<String>,
    /// Absolute expiry (RFC 3339), instead of `validFor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub authorization_expiration_time_in_utc: Option<String>,
    /// Rolling authorization length (e.g. `30d`), instead of an absolute expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<Duration>,
    /// Re-authorize when less than this remains (with `validFor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before: Option<Duration>,
}

/// `Auth0LogStream`: an Auth0 log stream of type `eventgrid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Auth0LogStreamSpec {
    /// Auth0 tenant domain; defaults to the Stack's `spec.auth0.tenantDomain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_domain: Option<String>,
    /// Resource group where Auth0 creates the partner topic; defaults to the Stack's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = RESOURCE_GROUP_PATTERN))]
    pub azure_resource_group: Option<String>,
    /// Azure region of the partner topic (Auth0's region list).
    pub azure_region: Auth0Region,
    /// `active` or `paused`.
    #[serde(default)]
    pub status: Auth0StreamStatus,
    /// Log categories to send; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Auth0LogFilter>,
    /// Priority stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_priority: Option<bool>,
}

/// Auth0's `status` of a log stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Auth0StreamStatus {
    /// Delivering.
    #[default]
    Active,
    /// Paused by the user.
    Paused,
}

/// A log-stream filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Auth0LogFilter {
    /// Filter type; Auth0 supports `category`.
    #[serde(rename = "type")]
    pub filter_type: Auth0FilterType,
    /// Category name, e.g. `auth.login.fail`.
    pub name: String,
}

/// Auth0 log filter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Auth0FilterType {
    /// A log category.
    Category,
}

/// Azure regions Auth0 can create partner topics in (Auth0's `LogStreamEventGridRegionEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Auth0Region {
    Australiacentral,
    Australiaeast,
    Australiasoutheast,
    Brazilsouth,
    Canadacentral,
    Canadaeast,
    Centralindia,
    Centralus,
    Eastasia,
    Eastus,
    Eastus2,
    Francecentral,
    Germanywestcentral,
    Japaneast,
    Japanwest,
    Koreacentral,
    Koreasouth,
    Northcentralus,
    Northeurope,
    Norwayeast,
    Southafricanorth,
    Southcentralus,
    Southeastasia,
    Southindia,
    Swedencentral,
    Switzerlandnorth,
    Uaenorth,
    Uksouth,
    Ukwest,
    Westcentralus,
    Westeurope,
    Westindia,
    Westus,
    Westus2,
}

/// `PartnerTopic`: created by the partner; gridform checks its source and activates it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartnerTopicSpec {
    /// The `Auth0LogStream` (metadata.name) whose partner creates this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_auth0_log_stream: Option<String>,
    /// The `GraphSubscription` (metadata.name) that makes Microsoft Graph create this topic; the
    /// topic's name must be the subscription's `partnerTopic`. Not with `fromAuth0LogStream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_graph_subscription: Option<String>,
    /// Activation is refused unless the topic's `source` equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_source: Option<String>,
    /// `Activated` or `Deactivated`.
    #[serde(default)]
    pub activation_state: ActivationState,
    /// How long apply waits for the partner to create the topic (e.g. `10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for_partner: Option<Duration>,
    /// Friendly description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_topic_friendly_description: Option<String>,
    /// Resource tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

/// Desired `activationState` of a partner topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ActivationState {
    /// Events flow.
    #[default]
    Activated,
    /// Events are dropped.
    Deactivated,
}

/// `Topic`: a custom topic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicSpec {
    /// Azure location; defaults to the Stack's. Changing it replaces the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Schema of published events (default `EventGridSchema`). Changing it replaces the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<InputSchema>,
    /// `Enabled` (default) or `Disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_network_access: Option<PublicNetworkAccess>,
    /// IP allow-list, honoured when public access is enabled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inbound_ip_rules: Vec<InboundIpRule>,
    /// `true`: publishers must use Entra ID tokens, keys are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_local_auth: Option<bool>,
    /// Minimum TLS version of publishers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_tls_version_allowed: Option<TlsVersion>,
    /// `WithinGeopair` or `WithinRegion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_residency_boundary: Option<DataResidencyBoundary>,
    /// Managed identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// SKU; api-version 2025-02-15 knows only `Basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    /// Resource tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

/// `inputSchema` of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum InputSchema {
    EventGridSchema,
    CustomEventSchema,
    #[serde(rename = "CloudEventSchemaV1_0")]
    CloudEventSchemaV10,
}

/// `publicNetworkAccess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum PublicNetworkAccess {
    Enabled,
    Disabled,
}

/// One inbound IP rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InboundIpRule {
    /// An IPv4 address or CIDR range, e.g. `12.18.30.0/24`.
    #[schemars(regex(pattern = r"^[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?$"))]
    pub ip_mask: String,
    /// Only `Allow` exists.
    #[serde(default)]
    pub action: IpAction,
}

/// `inboundIpRules[].action`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IpAction {
    /// Allow the range.
    #[default]
    Allow,
}

/// `dataResidencyBoundary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum DataResidencyBoundary {
    WithinGeopair,
    WithinRegion,
}

/// Topic SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sku {
    /// Only `Basic` exists in api-version 2025-02-15.
    pub name: SkuName,
}

/// Topic SKU names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SkuName {
    /// The only SKU of api-version 2025-02-15.
    Basic,
}

/// Managed identity of a topic or system topic (`IdentityInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Identity {
    /// Identity type.
    #[serde(rename = "type")]
    pub identity_type: IdentityType,
    /// User-assigned identities (ARM ids) for `UserAssigned`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_assigned_identities: Vec<String>,
}

/// `identity.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum IdentityType {
    None,
    SystemAssigned,
    UserAssigned,
    #[serde(rename = "SystemAssigned, UserAssigned")]
    SystemAssignedUserAssigned,
}

/// `SystemTopic`: the topic of an Azure resource's own events (e.g. SignalR Service).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemTopicSpec {
    /// Azure location; defaults to the Stack's. Changing it replaces the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// ARM id of the resource whose events this topic carries. Changing it replaces the topic.
    pub source: String,
    /// Topic type, e.g. `Microsoft.SignalRService.SignalR`. Changing it replaces the topic.
    pub topic_type: String,
    /// Managed identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// Resource tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

pub use super::graph::{GraphChangeType, GraphSubscriptionSpec};
pub use super::subscription::*;
