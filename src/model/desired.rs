//! The desired state: every manifest document, typed, with defaults from the Stack applied.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::id::ResourceId;
use super::secret::Sensitive;
use super::spec::*;

/// The kinds of manifest document.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[allow(missing_docs)]
pub enum ResourceKind {
    Stack,
    ProviderRegistration,
    ResourceGroup,
    PartnerConfiguration,
    Auth0LogStream,
    GraphSubscription,
    PartnerTopic,
    Topic,
    SystemTopic,
    EventSubscription,
}

impl ResourceKind {
    /// Every kind, in dependency order.
    pub const ALL: [ResourceKind; 10] = [
        Self::Stack,
        Self::ProviderRegistration,
        Self::ResourceGroup,
        Self::PartnerConfiguration,
        Self::Auth0LogStream,
        Self::GraphSubscription,
        Self::PartnerTopic,
        Self::Topic,
        Self::SystemTopic,
        Self::EventSubscription,
    ];

    /// The name as written in `kind:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stack => "Stack",
            Self::ProviderRegistration => "ProviderRegistration",
            Self::ResourceGroup => "ResourceGroup",
            Self::PartnerConfiguration => "PartnerConfiguration",
            Self::Auth0LogStream => "Auth0LogStream",
            Self::GraphSubscription => "GraphSubscription",
            Self::PartnerTopic => "PartnerTopic",
            Self::Topic => "Topic",
            Self::SystemTopic => "SystemTopic",
            Self::EventSubscription => "EventSubscription",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `metadata` of every document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// The Azure resource name (or the Auth0 stream name, or a handle; see the kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Resource group; defaults to the Stack's `spec.resourceGroup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = super::spec::RESOURCE_GROUP_PATTERN))]
    pub resource_group: Option<String>,
    /// Take ownership of an existing, unowned resource of this name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt: bool,
    /// gridform never deletes or replaces this resource. `true` is recorded on the resource
    /// (tag or label `gridform-protect`) and stays there until an applied manifest says
    /// `false`; leaving the field out keeps what is recorded (docs/ownership.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub protect: Option<bool>,
}

impl Metadata {
    /// Whether the document itself asks for protection (`protect: true`).
    pub fn protected(&self) -> bool {
        self.protect == Some(true)
    }
}

/// The typed spec of one document.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs, clippy::large_enum_variant)]
pub enum ResourceSpec {
    ProviderRegistration,
    ResourceGroup(ResourceGroupSpec),
    PartnerConfiguration(PartnerConfigurationSpec),
    Auth0LogStream(Auth0LogStreamSpec),
    GraphSubscription(GraphSubscriptionSpec),
    PartnerTopic(PartnerTopicSpec),
    Topic(TopicSpec),
    SystemTopic(SystemTopicSpec),
    EventSubscription(EventSubscriptionSpec),
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The manifest file.
    pub file: PathBuf,
    /// Line of the document's `kind:` key.
    pub line: usize,
}

/// One resource the manifests declare (every kind but `Stack`).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    /// The kind.
    pub kind: ResourceKind,
    /// `metadata.name` (for a partner configuration: `default`); the handle other documents use.
    pub name: String,
    /// The metadata as written.
    pub metadata: Metadata,
    /// The resource group, after Stack defaults (none for provider registrations and Auth0).
    pub resource_group: Option<String>,
    /// The location, after Stack defaults, for kinds that have one.
    pub location: Option<String>,
    /// The ARM id, when it is known before apply (not for a partner topic that a stream creates).
    pub id: Option<ResourceId>,
    /// The typed spec.
    pub spec: ResourceSpec,
    /// Where it was declared.
    pub origin: Origin,
}

/// The `Stack` document.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// The ownership marker.
    pub name: String,
    /// The spec.
    pub spec: StackSpec,
    /// Where it was declared.
    pub origin: Origin,
}

/// Everything the manifests declare, validated. Its `Debug` output is scrubbed of the values of
/// secret variables (they may sit in plain fields such as tags).
#[derive(Clone, PartialEq)]
pub struct DesiredState {
    /// The stack.
    pub stack: Stack,
    /// Every other document, in file order.
    pub resources: Vec<DesiredResource>,
    /// Values of secret variables, to scrub from any output.
    pub secret_values: Vec<Sensitive<String>>,
}

impl fmt::Debug for DesiredState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = format!(
            "DesiredState {{ stack: {:#?}, resources: {:#?}, secret_values: {} }}",
            self.stack,
            self.resources,
            self.secret_values.len()
        );
        f.write_str(&super::secret::scrub(&raw, &self.secret_values))
    }
}

impl DesiredState {
    /// The resource of `kind` whose handle is `name`.
    pub fn find(&self, kind: ResourceKind, name: &str) -> Option<&DesiredResource> {
        self.resources
            .iter()
            .find(|r| r.kind == kind && r.name == name)
    }
}
