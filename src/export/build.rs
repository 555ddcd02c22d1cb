//! The pure heart of `gridform export`: which live resources become documents (the chosen
//! stack's and the unowned ones; docs/export.md), under which stack name, in which file, and
//! the text of every file. Same input, same bytes: documents are sorted by name, keys by
//! `yaml_out`'s order, and nothing depends on the clock but the partner authorization window.
//!
//! No I/O: the live state and the time come in, files and secret values go out.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::convert::{self, TopicCreator, owner_of, protected};
use super::graph::{GraphScope, graph_documents};
use super::subscription::{SecretParts, SecretVars, env_name, subscription_spec};
use super::{ExportError, yaml_out};
use crate::model::live::LiveState;
use crate::model::{EVENT_GRID_NAMESPACE, ResourceId, ResourceKind};

/// The line that lets editors find the schema; `DIR/gridform.schema.json` is written beside.
pub const SCHEMA_LINE: &str = "# yaml-language-server: $schema=gridform.schema.json";
/// The second header line of every file export writes (`--force` replaces files that have it).
pub const EXPORTED_MARK: &str = "# Exported by `gridform export`";

/// What to export.
pub struct BuildInput<'a> {
    /// The live state of the group (with full URLs, delivery attributes, Auth0 streams).
    pub live: &'a LiveState,
    /// The Azure subscription.
    pub subscription: &'a str,
    /// The resource group.
    pub group: &'a str,
    /// `--stack`.
    pub stack: Option<&'a str>,
    /// The Auth0 tenant, when Auth0 was read.
    pub auth0_domain: Option<&'a str>,
    /// The server's time.
    pub now: DateTime<Utc>,
}

/// The files to write and what they hold.
#[derive(Debug, Default)]
pub struct Exported {
    /// The stack name the manifests carry.
    pub stack: String,
    /// File name → text.
    pub files: BTreeMap<String, String>,
    /// The secret variables (for `DIR/.env` only).
    pub secrets: SecretVars,
    /// Documents per kind.
    pub counts: BTreeMap<ResourceKind, usize>,
    /// Documents with `adopt: true`.
    pub adopted: usize,
    /// Live resources left out because another stack owns them.
    pub skipped: Vec<String>,
}

/// One document of a kind family, before it is written.
struct Doc {
    kind: ResourceKind,
    name: String,
    adopt: bool,
    protect: bool,
    spec: Value,
}

impl Doc {
    fn value(&self) -> Value {
        let mut meta = Map::new();
        meta.insert("name".into(), json!(self.name));
        if self.adopt {
            meta.insert("adopt".into(), json!(true));
        }
        if self.protect {
            meta.insert("protect".into(), json!(true));
        }
        let mut doc =
            json!({"apiVersion": "gridform/v1", "kind": self.kind.as_str(), "metadata": meta});
        if self.spec.as_object().is_some_and(|m| !m.is_empty()) {
            doc["spec"] = self.spec.clone();
        }
        doc
    }
}

/// A stack name made of a resource group name: lowercase letters, digits and `-`, 1–40.
fn stack_name_of(group: &str) -> String {
    let mut name: String = group
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.truncate(40);
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "exported".into()
    } else {
        name
    }
}

fn eventgrid_type(id: &ResourceId) -> Option<String> {
    let ty = id.resource_type();
    let (ns, rest) = ty.split_once('/')?;
    ns.eq_ignore_ascii_case(EVENT_GRID_NAMESPACE)
        .then(|| rest.to_ascii_lowercase())
}

fn kind_of(id: &ResourceId) -> Option<ResourceKind> {
    Some(match eventgrid_type(id)?.as_str() {
        "partnerconfigurations" => ResourceKind::PartnerConfiguration,
        "topics" => ResourceKind::Topic,
        "systemtopics" => ResourceKind::SystemTopic,
        "partnertopics" => ResourceKind::PartnerTopic,
        t if t.ends_with("/eventsubscriptions") => ResourceKind::EventSubscription,
        _ => return None,
    })
}

/// The stack to export: `--stack`, else the only one marked in the group, else one named
/// after the group; several stacks without `--stack` is an error naming them.
fn choose_stack(input: &BuildInput<'_>) -> Result<String, ExportError> {
    if let Some(s) = input.stack {
        return Ok(s.to_string());
    }
    let stacks: BTreeSet<String> = input
        .live
        .resources
        .iter()
        .filter_map(|(id, body)| {
            let kind = kind_of(id).unwrap_or(ResourceKind::ResourceGroup);
            owner_of(kind, body)
        })
        .collect();
    match stacks.len() {
        0 => Ok(stack_name_of(input.group)),
        1 => Ok(stacks.into_iter().next().unwrap_or_default()),
        _ => Err(ExportError::SeveralStacks {
            group: input.group.to_string(),
            stacks: stacks.into_iter().collect(),
        }),
    }
}

/// Builds every file of the export.
pub fn build(input: &BuildInput<'_>) -> Result<Exported, ExportError> {
    let stack = choose_stack(input)?;
    let mut b = Builder {
        input,
        stack: stack.clone(),
        out: Exported {
            stack,
            ..Exported::default()
        },
        docs: BTreeMap::new(),
        topics: BTreeMap::new(),
        graph_topics: BTreeMap::new(),
    };
    b.collect();
    b.finish()
}

/// File of each kind family.
fn file_of(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Stack | ResourceKind::ProviderRegistration | ResourceKind::ResourceGroup => {
            "stack.yaml"
        }
        ResourceKind::PartnerConfiguration
        | ResourceKind::Auth0LogStream
        | ResourceKind::GraphSubscription
        | ResourceKind::PartnerTopic => "partner.yaml",
        ResourceKind::Topic | ResourceKind::SystemTopic => "topics.yaml",
        ResourceKind::EventSubscription => "subscriptions.yaml",
    }
}

struct Builder<'a> {
    input: &'a BuildInput<'a>,
    stack: String,
    out: Exported,
    /// File name → documents.
    docs: BTreeMap<String, Vec<Doc>>,
    /// Exported topics by id: (kind, name).
    topics: BTreeMap<ResourceId, (ResourceKind, String)>,
    /// Partner topic name (lowercase) → the `GraphSubscription` document notifying it.
    graph_topics: BTreeMap<String, String>,
}

impl Builder<'_> {
    fn group_location(&self) -> String {
        let id = ResourceId::resource_group(self.input.subscription, self.input.group);
        self.input
            .live
            .get(&id)
            .and_then(|g| g["location"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// Whether to export a resource: `Some(adopt)`, or `None` when another stack owns it.
    fn ownership(&mut self, kind: ResourceKind, id: &ResourceId, body: &Value) -> Option<bool> {
        match owner_of(kind, body) {
            None => Some(true),
            Some(s) if s == self.stack => Some(false),
            Some(_) => {
                self.out.skipped.push(id.to_string());
                None
            }
        }
    }

    fn push(&mut self, file: &str, doc: Doc) {
        *self.out.counts.entry(doc.kind).or_default() += 1;
        if doc.adopt {
            self.out.adopted += 1;
        }
        self.docs.entry(file.to_string()).or_default().push(doc);
    }

    fn collect(&mut self) {
        let live = self.input.live;
        let location = self.group_location();
        if live.provider_registered(EVENT_GRID_NAMESPACE) {
            self.push(
                "stack.yaml",
                Doc {
                    kind: ResourceKind::ProviderRegistration,
                    name: EVENT_GRID_NAMESPACE.into(),
                    adopt: false,
                    protect: false,
                    spec: json!({}),
                },
            );
        }
        let group_id = ResourceId::resource_group(self.input.subscription, self.input.group);
        if let Some(body) = live.get(&group_id)
            && let Some(adopt) = self.ownership(ResourceKind::ResourceGroup, &group_id, body)
        {
            let doc = Doc {
                kind: ResourceKind::ResourceGroup,
                name: group_id.name().to_string(),
                adopt,
                protect: protected(ResourceKind::ResourceGroup, body),
                spec: convert::resource_group_spec(body, !adopt),
            };
            self.push("stack.yaml", doc);
        }
        // Before the partner topics, which name the Graph subscription that made them.
        self.graph_subscriptions(&location);
        for (id, body) in &live.resources {
            let Some(kind) = kind_of(id) else { continue };
            if kind == ResourceKind::EventSubscription {
                continue;
            }
            let Some(adopt) = self.ownership(kind, id, body) else {
                continue;
            };
            let spec = match kind {
                ResourceKind::Topic => convert::topic_spec(body, &location, !adopt),
                ResourceKind::SystemTopic => convert::system_topic_spec(body, &location, !adopt),
                ResourceKind::PartnerConfiguration => {
                    convert::partner_configuration_spec(body, self.input.now, !adopt)
                }
                _ => self.partner_topic(id, body, !adopt),
            };
            if kind != ResourceKind::PartnerConfiguration {
                self.topics
                    .insert(id.clone(), (kind, id.name().to_string()));
            }
            let doc = Doc {
                kind,
                name: id.name().to_string(),
                adopt,
                protect: protected(kind, body),
                spec,
            };
            self.push(file_of(kind), doc);
        }
        self.streams();
        self.subscriptions();
    }

    /// The stream that created the partner topic `id`, if Auth0 was read.
    fn stream_of(&self, id: &ResourceId) -> Option<&str> {
        self.input.live.auth0_streams.iter().find_map(|(name, s)| {
            s.pointer("/sink/azurePartnerTopic")
                .and_then(Value::as_str)
                .filter(|t| t.eq_ignore_ascii_case(id.name()))
                .map(|_| name.as_str())
        })
    }

    /// The tenant the Stack names: the source of a partner topic a stream created (that is
    /// what Auth0 sets it to), else the Auth0 client's domain.
    fn tenant(&self) -> Option<String> {
        let from_topic = self.input.live.resources.iter().find_map(|(id, body)| {
            (kind_of(id) == Some(ResourceKind::PartnerTopic) && self.stream_of(id).is_some())
                .then(|| body.pointer("/properties/source").and_then(Value::as_str))
                .flatten()
        });
        from_topic.or(self.input.auth0_domain).map(str::to_string)
    }

    fn partner_topic(&self, id: &ResourceId, body: &Value, owned: bool) -> Value {
        let graph = self.graph_topics.get(&id.name().to_ascii_lowercase());
        if let Some(g) = graph {
            let implied = self.input.live.graph_source.as_deref();
            let creator = Some(TopicCreator::GraphSubscription(g));
            return convert::partner_topic_spec(body, creator, implied, owned);
        }
        let tenant = self.tenant();
        let creator = self.stream_of(id).map(TopicCreator::Auth0Stream);
        convert::partner_topic_spec(body, creator, tenant.as_deref(), owned)
    }

    /// The Graph subscriptions notifying a partner topic of the group (read when a Graph
    /// client is connected), as `GraphSubscription` documents.
    fn graph_subscriptions(&mut self, location: &str) {
        let scope = GraphScope {
            live: self.input.live,
            stack: &self.stack,
            subscription: self.input.subscription,
            group: self.input.group,
            location,
            now: self.input.now,
        };
        let graph = graph_documents(&scope, &mut self.out.secrets);
        self.out.skipped.extend(graph.skipped);
        self.graph_topics = graph.topics;
        for (name, adopt, spec) in graph.docs {
            let doc = Doc {
                kind: ResourceKind::GraphSubscription,
                name,
                adopt,
                protect: false,
                spec,
            };
            self.push("partner.yaml", doc);
        }
    }

    fn streams(&mut self) {
        let live = self.input.live;
        for (name, body) in &live.auth0_streams {
            let owner = crate::plan::auth0_record::stream_owner(
                live,
                &self.stack,
                self.input.subscription,
                body,
            );
            let doc = Doc {
                kind: ResourceKind::Auth0LogStream,
                name: name.clone(),
                // Only a recorded stream is the stack's; one whose topic the stack merely
                // activated (a partner topic declared by name) was made outside gridform.
                adopt: !matches!(
                    owner,
                    Some(crate::plan::auth0_record::StreamOwner::Recorded)
                ),
                protect: false,
                spec: convert::stream_spec(body),
            };
            self.push("partner.yaml", doc);
        }
    }

    /// On a partner topic or a CloudEvents-input topic, CloudEvents is the only delivery schema
    /// and what an omitted one means: left out, like Azure's other defaults.
    fn drop_implied_cloud_events(&self, topic: &ResourceId, kind: ResourceKind, spec: &mut Value) {
        let cloud_events_input = self
            .input
            .live
            .get(topic)
            .and_then(|t| t.pointer("/properties/inputSchema"))
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("CloudEventSchemaV1_0"));
        let only_cloud_events = kind == ResourceKind::PartnerTopic || cloud_events_input;
        let Some(map) = spec.as_object_mut() else {
            return;
        };
        let implied = map
            .get("eventDeliverySchema")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("CloudEventSchemaV1_0"));
        if only_cloud_events && implied {
            map.remove("eventDeliverySchema");
        }
    }

    fn subscriptions(&mut self) {
        let live = self.input.live;
        let subs: Vec<(&ResourceId, &Value, (ResourceKind, String))> = live
            .resources
            .iter()
            .filter(|(id, _)| kind_of(id) == Some(ResourceKind::EventSubscription))
            .filter_map(|(id, body)| {
                let topic = self.topics.get(&id.parent()?)?.clone();
                Some((id, body, topic))
            })
            .collect();
        let mut name_count: BTreeMap<String, usize> = BTreeMap::new();
        for (id, _, _) in &subs {
            *name_count
                .entry(id.name().to_ascii_lowercase())
                .or_default() += 1;
        }
        for (id, body, (topic_kind, topic_name)) in subs {
            let Some(adopt) = self.ownership(ResourceKind::EventSubscription, id, body) else {
                continue;
            };
            let shared = name_count
                .get(&id.name().to_ascii_lowercase())
                .is_some_and(|n| *n > 1);
            let var_prefix = if shared {
                env_name(&format!("{topic_name}_{}", id.name()))
            } else {
                env_name(id.name())
            };
            let parts = SecretParts {
                full_url: live.full_urls.get(id).map(String::as_str),
                attributes: live.delivery_attributes.get(id),
                var_prefix,
            };
            let topic = json!({"kind": topic_kind.as_str(), "name": topic_name});
            let mut spec = subscription_spec(body, topic, !adopt, &parts, &mut self.out.secrets);
            if let Some(topic_id) = id.parent() {
                self.drop_implied_cloud_events(&topic_id, topic_kind, &mut spec);
            }
            let file = subscriptions_file(topic_kind, &topic_name, &self.topics);
            let doc = Doc {
                kind: ResourceKind::EventSubscription,
                name: id.name().to_string(),
                adopt,
                protect: protected(ResourceKind::EventSubscription, body),
                spec,
            };
            self.push(&file, doc);
        }
    }

    fn stack_doc(&self) -> Value {
        let mut spec = Map::new();
        spec.insert("subscriptionId".into(), json!(self.input.subscription));
        spec.insert("resourceGroup".into(), json!(self.input.group));
        let location = self.group_location();
        if !location.is_empty() {
            spec.insert("location".into(), json!(location));
        }
        let uses_auth0 = self.out.counts.contains_key(&ResourceKind::Auth0LogStream)
            || self.topics.keys().any(|id| self.stream_of(id).is_some());
        if uses_auth0 && let Some(t) = self.tenant() {
            spec.insert("auth0".into(), json!({"tenantDomain": t}));
        }
        let secrets: Vec<&String> = self.out.secrets.values.keys().collect();
        if !secrets.is_empty() {
            spec.insert("secrets".into(), json!(secrets));
        }
        json!({"apiVersion": "gridform/v1", "kind": "Stack",
               "metadata": {"name": self.stack}, "spec": spec})
    }

    fn finish(mut self) -> Result<Exported, ExportError> {
        let header = format!(
            "{SCHEMA_LINE}\n{EXPORTED_MARK} from resource group `{}`: review before applying.\n",
            self.input.group
        );
        let mut stack_docs = vec![self.stack_doc()];
        let mut docs = std::mem::take(&mut self.docs);
        let rank = |k: ResourceKind| ResourceKind::ALL.iter().position(|x| *x == k);
        for list in docs.values_mut() {
            list.sort_by(|a, b| (rank(a.kind), &a.name).cmp(&(rank(b.kind), &b.name)));
        }
        if let Some(list) = docs.remove("stack.yaml") {
            stack_docs.extend(list.iter().map(Doc::value));
        }
        let text = yaml_out::file_text(&header, &stack_docs).map_err(|_| ExportError::Render)?;
        self.out.files.insert("stack.yaml".into(), text);
        for (file, list) in docs {
            let values: Vec<Value> = list.iter().map(Doc::value).collect();
            let text = yaml_out::file_text(&header, &values).map_err(|_| ExportError::Render)?;
            self.out.files.insert(file, text);
        }
        Ok(self.out)
    }
}

/// `subscriptions-<topic>.yaml`, with the kind added when two exported topics share the name.
fn subscriptions_file(
    kind: ResourceKind,
    name: &str,
    topics: &BTreeMap<ResourceId, (ResourceKind, String)>,
) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let shared = topics
        .values()
        .filter(|(_, n)| n.eq_ignore_ascii_case(name))
        .count()
        > 1;
    if shared {
        format!(
            "subscriptions-{safe}.{}.yaml",
            kind.as_str().to_ascii_lowercase()
        )
    } else {
        format!("subscriptions-{safe}.yaml")
    }
}
