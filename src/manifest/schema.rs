//! The JSON Schema (draft 2020-12) of the manifest format, generated from the `model` types.
//!
//! schemars derives a schema per spec type; this module assembles the document envelope, the
//! per-kind name rules and the `kind` dispatch, and rewrites discriminated unions (`oneOf` whose
//! branches each fix the tag with `const`) into `if`/`then` chains, so that validators, editors
//! and `manifest::check` report errors inside the matching branch instead of "matches no branch".
//! `gridform validate` checks documents against exactly this schema.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::model::spec::*;
use crate::model::{Metadata, ResourceKind};

/// The `$id` of the schema, and what the `# yaml-language-server: $schema=` lines point to.
pub const SCHEMA_ID: &str = "https://gridform.dev/schema/v1/manifest.json";

/// The only manifest `apiVersion`.
pub const API_VERSION: &str = "gridform/v1";

/// A document whose `spec` is required.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Doc<S> {
    /// Always `gridform/v1`.
    pub api_version: String,
    /// The document kind.
    pub kind: ResourceKind,
    /// Name, resource group, adopt, protect.
    pub metadata: Metadata,
    /// The kind's properties (ARM names verbatim).
    pub spec: S,
}

/// A document whose `spec` may be omitted.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocDefault<S: Default> {
    /// Always `gridform/v1`.
    pub api_version: String,
    /// The document kind.
    pub kind: ResourceKind,
    /// Name, resource group, adopt, protect.
    pub metadata: Metadata,
    /// The kind's properties (ARM names verbatim).
    #[serde(default)]
    pub spec: S,
}

/// A name rule: the pattern, and the words used when a name breaks it.
pub struct NameRule {
    /// Regex the whole name must match.
    pub pattern: &'static str,
    /// What a valid name looks like.
    pub message: &'static str,
}

/// The naming rule of `metadata.name` for each kind (Azure's, from the spec and its docs).
pub fn name_rule(kind: ResourceKind) -> NameRule {
    use ResourceKind::*;
    let (pattern, message) = match kind {
        Stack => (
            r"^[a-z0-9-]{1,40}$",
            "1–40 lowercase letters, digits and `-`",
        ),
        ProviderRegistration => (
            r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$",
            "a resource provider namespace such as `Microsoft.EventGrid`",
        ),
        ResourceGroup => (
            RESOURCE_GROUP_PATTERN,
            "1–90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in `.`",
        ),
        PartnerConfiguration => (r"^default$", "`default` (or omit it)"),
        Auth0LogStream => (r"^.{1,128}$", "1–128 characters"),
        GraphSubscription => (
            r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$",
            "1–80 letters, digits, `.`, `_` and `-`, starting with a letter or digit",
        ),
        PartnerTopic | Topic => (r"^[A-Za-z0-9-]{3,50}$", "3–50 letters, digits and `-`"),
        SystemTopic => (r"^[A-Za-z0-9-]{3,128}$", "3–128 letters, digits and `-`"),
        EventSubscription => (r"^[A-Za-z0-9-]{3,64}$", "3–64 letters, digits and `-`"),
    };
    NameRule { pattern, message }
}

/// The whole schema (draft 2020-12).
pub fn manifest_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut branches = Vec::new();
    for kind in ResourceKind::ALL {
        use ResourceKind::*;
        let doc = match kind {
            Stack => generator.subschema_for::<Doc<StackSpec>>(),
            ProviderRegistration => generator.subschema_for::<DocDefault<EmptySpec>>(),
            ResourceGroup => generator.subschema_for::<DocDefault<ResourceGroupSpec>>(),
            PartnerConfiguration => generator.subschema_for::<Doc<PartnerConfigurationSpec>>(),
            Auth0LogStream => generator.subschema_for::<Doc<Auth0LogStreamSpec>>(),
            GraphSubscription => generator.subschema_for::<Doc<GraphSubscriptionSpec>>(),
            PartnerTopic => generator.subschema_for::<DocDefault<PartnerTopicSpec>>(),
            Topic => generator.subschema_for::<DocDefault<TopicSpec>>(),
            SystemTopic => generator.subschema_for::<Doc<SystemTopicSpec>>(),
            EventSubscription => generator.subschema_for::<Doc<EventSubscriptionSpec>>(),
        };
        let rule = name_rule(kind);
        let mut metadata = json!({
            "properties": {"name": {"type": "string", "pattern": rule.pattern, "x-message": rule.message}}
        });
        if kind != PartnerConfiguration {
            metadata["required"] = json!(["name"]);
        }
        branches.push(json!({
            "if": {"properties": {"kind": {"const": kind.as_str()}}, "required": ["kind"]},
            "then": {"allOf": [doc.to_value(), {"properties": {"metadata": metadata}}]}
        }));
    }
    let defs: Map<String, Value> = generator.take_definitions(true);
    let kinds: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "gridform manifest (v1)",
        "description": "One gridform document: apiVersion, kind, metadata, spec. ARM property names verbatim.",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"enum": kinds}
        },
        "allOf": branches,
        "$defs": defs,
    });
    rewrite_tagged_unions(&mut root);
    root
}

/// Rewrites every `oneOf` whose branches are objects fixing the same property with `const`
/// into `{properties: {tag: {enum}}, allOf: [{if: tag == c, then: branch}]}`.
fn rewrite_tagged_unions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                rewrite_tagged_unions(child);
            }
            let Some(Value::Array(branches)) = map.get("oneOf") else {
                return;
            };
            // A documented unit enum: `oneOf` of `{const}`s is just an `enum`.
            if branches.iter().all(|b| b.get("const").is_some()) {
                let values: Vec<Value> = branches.iter().map(|b| b["const"].clone()).collect();
                map.remove("oneOf");
                map.insert("type".into(), json!("string"));
                map.insert("enum".into(), Value::Array(values));
                return;
            }
            let Some(tag) = common_tag(branches) else {
                return;
            };
            let mut consts = Vec::new();
            let mut chain = Vec::new();
            for branch in branches {
                let c = branch["properties"][&tag]["const"].clone();
                chain.push(json!({
                    "if": {"properties": {tag.clone(): {"const": c.clone()}}, "required": [tag.clone()]},
                    "then": branch.clone()
                }));
                consts.push(c);
            }
            map.remove("oneOf");
            map.insert("type".into(), json!("object"));
            map.insert("required".into(), json!([tag.clone()]));
            map.insert("properties".into(), json!({tag: {"enum": consts}}));
            map.insert("allOf".into(), Value::Array(chain));
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_tagged_unions),
        _ => {}
    }
}

fn common_tag(branches: &[Value]) -> Option<String> {
    let first = branches.first()?.get("properties")?.as_object()?;
    let tag = first
        .iter()
        .find(|(_, s)| s.get("const").is_some())
        .map(|(k, _)| k.clone())?;
    branches
        .iter()
        .all(|b| b["properties"][&tag].get("const").is_some())
        .then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_unions_become_if_then_chains() {
        let schema = manifest_schema();
        let text = serde_json::to_string(&schema).unwrap();
        assert!(!text.contains("\"oneOf\""), "every oneOf is rewritten");
        let filter = &schema["$defs"]["AdvancedFilter"];
        assert_eq!(
            filter["properties"]["operatorType"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            19
        );
        assert_eq!(filter["allOf"].as_array().unwrap().len(), 19);
        let dest = &schema["$defs"]["Destination"];
        assert_eq!(dest["required"], json!(["endpointType"]));
    }

    #[test]
    fn every_kind_has_a_branch() {
        let schema = manifest_schema();
        assert_eq!(
            schema["allOf"].as_array().unwrap().len(),
            ResourceKind::ALL.len()
        );
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
    }
}
