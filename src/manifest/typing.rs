//! Typing checked documents and building desired resources from them: each document's JSON
//! into its spec, the topic index subscriptions are placed by, ids and origins. Pure: no files.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::schema::{Doc, DocDefault};
use super::semantic::{TypedDoc, locate};
use super::yaml::Node;
use crate::model::spec::*;
use crate::model::{
    DesiredResource, Metadata, Origin, ResourceId, ResourceKind, ResourceSpec, Stack,
};

pub(super) fn origin(sources: &[(PathBuf, String)], file: usize, root: &Node) -> Origin {
    Origin {
        file: sources[file].0.clone(),
        line: locate(root, "kind").line,
    }
}

/// The first typed document of each (kind, name): what a subscription's `spec.topic` names,
/// found without scanning every document for every subscription.
pub(super) struct TopicIndex<'d> {
    first: HashMap<(ResourceKind, &'d str), &'d TypedDoc<'d>>,
}

impl<'d> TopicIndex<'d> {
    pub(super) fn new(docs: &'d [TypedDoc<'d>]) -> Self {
        let mut first = HashMap::new();
        for d in docs {
            first.entry((d.kind, d.name.as_str())).or_insert(d);
        }
        Self { first }
    }

    fn get(&self, kind: ResourceKind, name: &str) -> Option<&'d TypedDoc<'d>> {
        self.first.get(&(kind, name)).copied()
    }
}

pub(super) fn stack_spec(json: &Json) -> Result<StackSpec, serde_json::Error> {
    Ok(Doc::<StackSpec>::deserialize(json)?.spec)
}

fn doc<S: DeserializeOwned>(json: &Json) -> Result<(Metadata, S), serde_json::Error> {
    // Deserialized from the borrowed tree: no copy of the document.
    let d = Doc::<S>::deserialize(json)?;
    Ok((d.metadata, d.spec))
}

fn doc_default<S: DeserializeOwned + Default>(
    json: &Json,
) -> Result<(Metadata, S), serde_json::Error> {
    let d = DocDefault::<S>::deserialize(json)?;
    Ok((d.metadata, d.spec))
}

type Typed = (ResourceKind, Metadata, Option<ResourceSpec>);

pub(super) fn to_typed(json: &Json) -> Result<Typed, serde_json::Error> {
    let kind = ResourceKind::deserialize(&json["kind"])?;
    use ResourceKind as K;
    let (metadata, spec) = match kind {
        K::Stack => (doc::<StackSpec>(json)?.0, None),
        K::ProviderRegistration => (
            doc_default::<EmptySpec>(json)?.0,
            Some(ResourceSpec::ProviderRegistration),
        ),
        K::ResourceGroup => wrap(doc_default(json)?, ResourceSpec::ResourceGroup),
        K::PartnerConfiguration => wrap(doc(json)?, ResourceSpec::PartnerConfiguration),
        K::Auth0LogStream => wrap(doc(json)?, ResourceSpec::Auth0LogStream),
        K::GraphSubscription => wrap(doc(json)?, ResourceSpec::GraphSubscription),
        K::PartnerTopic => wrap(doc_default(json)?, ResourceSpec::PartnerTopic),
        K::Topic => wrap(doc_default(json)?, ResourceSpec::Topic),
        K::SystemTopic => wrap(doc(json)?, ResourceSpec::SystemTopic),
        K::EventSubscription => wrap(doc(json)?, ResourceSpec::EventSubscription),
    };
    Ok((kind, metadata, spec))
}

fn wrap<S>((m, s): (Metadata, S), f: fn(S) -> ResourceSpec) -> (Metadata, Option<ResourceSpec>) {
    (m, Some(f(s)))
}

const EG: &str = crate::model::EVENT_GRID_NAMESPACE;

/// Where a typed document's resource lives: resource group, location and id.
pub(super) fn placement(d: &TypedDoc, stack: &Stack, parents: &TopicIndex) -> Placement {
    let sub = &stack.spec.subscription_id;
    let rg = d
        .resource_group
        .clone()
        .or_else(|| stack.spec.resource_group.clone());
    let stack_loc = stack.spec.location.clone();
    let rg_id = |rg: &Option<String>| rg.as_ref().map(|g| ResourceId::resource_group(sub, g));
    let Some(spec) = &d.spec else {
        return (None, None, None);
    };
    match spec {
        ResourceSpec::ProviderRegistration => {
            (None, None, Some(ResourceId::provider(sub, &d.name)))
        }
        ResourceSpec::ResourceGroup(s) => (
            Some(d.name.clone()),
            s.location.clone().or(stack_loc),
            Some(ResourceId::resource_group(sub, &d.name)),
        ),
        ResourceSpec::PartnerConfiguration(_) => {
            let id =
                rg_id(&rg).map(|g| g.provider_resource(EG, "partnerConfigurations", "default"));
            (rg, Some("global".into()), id)
        }
        ResourceSpec::Auth0LogStream(s) => (s.azure_resource_group.clone().or(rg), None, None),
        // A handle: no ARM id; the partner topic it names is known before apply.
        ResourceSpec::GraphSubscription(s) => (rg, s.location.clone().or(stack_loc), None),
        ResourceSpec::PartnerTopic(s) => {
            let id = if s.from_auth0_log_stream.is_some() {
                None
            } else {
                rg_id(&rg).map(|g| g.provider_resource(EG, "partnerTopics", &d.name))
            };
            (rg, None, id)
        }
        ResourceSpec::Topic(s) => {
            let id = rg_id(&rg).map(|g| g.provider_resource(EG, "topics", &d.name));
            (rg, s.location.clone().or(stack_loc), id)
        }
        ResourceSpec::SystemTopic(s) => {
            let id = rg_id(&rg).map(|g| g.provider_resource(EG, "systemTopics", &d.name));
            (rg, s.location.clone().or(stack_loc), id)
        }
        ResourceSpec::EventSubscription(s) => {
            subscription_placement(s, &d.name, sub, stack, parents)
        }
    }
}

/// The desired resource of a typed document placed by [`placement`]; its spec is moved, not
/// copied (10k specs are ~15 MB).
pub(super) fn build_resource(
    d: TypedDoc,
    (resource_group, location, id): Placement,
    sources: &[(PathBuf, String)],
) -> Option<DesiredResource> {
    let origin = origin(sources, d.file, d.root);
    Some(DesiredResource {
        kind: d.kind,
        name: d.name,
        metadata: d.metadata,
        resource_group,
        location,
        id,
        spec: d.spec?,
        origin,
    })
}

pub(super) type Placement = (Option<String>, Option<String>, Option<ResourceId>);

fn subscription_placement(
    s: &EventSubscriptionSpec,
    name: &str,
    sub: &str,
    stack: &Stack,
    parents: &TopicIndex,
) -> Placement {
    if let Some(scope) = &s.scope {
        let id = ResourceId::parse(scope)
            .ok()
            .map(|p| p.provider_resource(EG, "eventSubscriptions", name));
        let rg = id
            .as_ref()
            .and_then(|i| i.resource_group_name().map(str::to_string));
        return (rg, None, id);
    }
    let Some(t) = &s.topic else {
        return (None, None, None);
    };
    let (kind, segment) = match t.kind {
        TopicKind::Topic => (ResourceKind::Topic, "topics"),
        TopicKind::SystemTopic => (ResourceKind::SystemTopic, "systemTopics"),
        TopicKind::PartnerTopic => (ResourceKind::PartnerTopic, "partnerTopics"),
    };
    let Some(parent) = parents.get(kind, &t.name) else {
        return (None, None, None);
    };
    let rg = parent
        .resource_group
        .clone()
        .or_else(|| stack.spec.resource_group.clone());
    let from_stream = matches!(&parent.spec, Some(ResourceSpec::PartnerTopic(p)) if p.from_auth0_log_stream.is_some());
    let id = match (&rg, from_stream) {
        (Some(g), false) => Some(
            ResourceId::resource_group(sub, g)
                .provider_resource(EG, segment, &parent.name)
                .child("eventSubscriptions", name),
        ),
        _ => None,
    };
    (rg, None, id)
}
