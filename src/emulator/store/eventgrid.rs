//! Microsoft.EventGrid resources in the store, except event subscriptions and partner resources
//! (`partners.rs`): topics (and their keys), system topics, plus the generic get / list / delete
//! and PATCH plumbing every Event Grid kind shares.
//!
//! Bodies are kept in the shape GET returns; server defaults are filled here. A topic's endpoint
//! is named after its name and region, which are therefore unique together (as in Azure). No HTTP
//! here.

use serde_json::{Map, Value, json};

use super::groups::same_location;
use super::{
    Ctx, EVENT_GRID, Kind, OpAction, OpRef, Resource, Store, not_found, object_field, tags_field,
};
use crate::emulator::store::StoreError;
use crate::model::id::ResourceId;

const TOPIC_READ_ONLY: &[&str] = &[
    "provisioningState",
    "endpoint",
    "metricResourceId",
    "privateEndpointConnections",
];
const TOPIC_PATCHABLE: &[&str] = &[
    "publicNetworkAccess",
    "inboundIpRules",
    "minimumTlsVersionAllowed",
    "disableLocalAuth",
    "dataResidencyBoundary",
    "eventTypeInfo",
];

impl Store {
    /// `GET` of any Event Grid resource except event subscriptions.
    pub fn eg_get(&self, kind: Kind, id: &ResourceId) -> Result<Value, StoreError> {
        self.require_group(id)?;
        match self.resource(&key(id)) {
            Some(r) if r.kind == kind => Ok(r.body.clone()),
            _ => Err(not_found(kind, id)),
        }
    }

    /// Resources of `kind` inside `scope` (a subscription or a resource group).
    pub fn eg_list(&self, kind: Kind, scope: &ResourceId) -> Result<Vec<Value>, StoreError> {
        self.require_group(scope)?;
        Ok(self
            .resources_of(kind, |r| {
                ResourceId::parse(&r.id).is_ok_and(|id| id.is_within(scope))
            })
            .map(|r| r.body.clone())
            .collect())
    }

    /// `DELETE`: `None` when there was nothing to delete (ARM answers 204).
    pub fn eg_delete(
        &mut self,
        ctx: &Ctx,
        kind: Kind,
        id: &ResourceId,
    ) -> Result<Option<OpRef>, StoreError> {
        self.require_group(id)?;
        let k = key(id);
        let Some(res) = self.resource_mut(&k) else {
            return Ok(None);
        };
        if res.kind != kind {
            return Ok(None);
        }
        let location = res.body["location"]
            .as_str()
            .unwrap_or("global")
            .to_string();
        super::set_state(res, "Deleting");
        Ok(Some(self.start_operation(
            ctx,
            id.subscription_id(),
            EVENT_GRID,
            &location,
            &k,
            OpAction::Delete,
        )))
    }

    /// `PUT .../topics/{name}`: `(created, body, operation)`.
    pub fn put_topic(
        &mut self,
        ctx: &Ctx,
        id: &ResourceId,
        body: &Value,
    ) -> Result<(bool, Value, OpRef), StoreError> {
        self.require_group(id)?;
        validate_name(id.name(), 3, 50, "Topic")?;
        let location = required_location(body)?;
        let tags = tags_field(body)?;
        let mut props = object_field(body, "properties")?
            .cloned()
            .unwrap_or_default();
        for field in TOPIC_READ_ONLY {
            props.remove(*field);
        }
        check_enum(
            &props,
            "inputSchema",
            &[
                "EventGridSchema",
                "CustomEventSchema",
                "CloudEventSchemaV1_0",
            ],
        )?;
        check_enum(
            &props,
            "publicNetworkAccess",
            &["Enabled", "Disabled", "SecuredByPerimeter"],
        )?;
        for (field, default) in [
            ("inputSchema", json!("EventGridSchema")),
            ("publicNetworkAccess", json!("Enabled")),
            ("inboundIpRules", json!([])),
            ("disableLocalAuth", json!(false)),
            ("dataResidencyBoundary", json!("WithinGeopair")),
        ] {
            props.entry(field).or_insert(default);
        }
        let k = key(id);
        let created = match self.resource(&k) {
            Some(existing) => {
                check_same_location(&existing.body, &location)?;
                if existing.body["properties"]["inputSchema"] != props["inputSchema"] {
                    return Err(StoreError::invalid(
                        "The inputSchema of an existing topic cannot be changed.",
                    ));
                }
                for field in ["endpoint", "metricResourceId"] {
                    props.insert(field.into(), existing.body["properties"][field].clone());
                }
                false
            }
            None => {
                self.check_topic_endpoint_free(id, &location)?;
                let endpoint = format!(
                    "{}/eventgrid/topics/{}.{}-1/api/events",
                    ctx.base,
                    id.name().to_ascii_lowercase(),
                    location.replace(' ', "").to_ascii_lowercase()
                );
                props.insert("endpoint".into(), json!(endpoint));
                props.insert("metricResourceId".into(), json!(self.ids.uuid()));
                true
            }
        };
        let state = if ctx.delay > chrono::Duration::zero() {
            if created { "Creating" } else { "Updating" }
        } else {
            "Succeeded"
        };
        props.insert("provisioningState".into(), json!(state));
        let mut new = json!({
            "id": id.as_str(), "name": id.name(), "type": Kind::Topic.type_name(),
            "location": location, "properties": props,
        });
        if let Some(tags) = tags {
            new["tags"] = tags;
        }
        if let Some(identity) = body.get("identity") {
            new["identity"] = identity.clone();
        }
        let hidden = match self.resource(&k) {
            Some(existing) => existing.hidden.clone(),
            None => json!({"key1": self.ids.key(), "key2": self.ids.key()}),
        };
        self.insert(Resource {
            id: id.as_str().to_string(),
            kind: Kind::Topic,
            body: new,
            hidden,
        });
        let op = self.start_operation(
            ctx,
            id.subscription_id(),
            EVENT_GRID,
            &location,
            &k,
            OpAction::Provision,
        );
        Ok((created, self.eg_get(Kind::Topic, id)?, op))
    }

    /// A topic's endpoint host is `{name}.{region}-1`, so Azure keeps topic names unique per
    /// region across every resource group and subscription: a second one is 409.
    fn check_topic_endpoint_free(&self, id: &ResourceId, location: &str) -> Result<(), StoreError> {
        let k = key(id);
        let taken = self
            .resources_of(Kind::Topic, |r| {
                r.body["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(id.name()))
                    && same_location(r.body["location"].as_str().unwrap_or_default(), location)
            })
            .any(|r| r.id.to_ascii_lowercase() != k);
        if taken {
            return Err(StoreError::Conflict {
                code: "Conflict".into(),
                message: "Topic with the specified name already exists. Choose a different topic name. Topic names must be unique within an Azure region.".into(),
            });
        }
        Ok(())
    }

    /// `PATCH .../topics/{name}`.
    pub fn patch_topic(
        &mut self,
        ctx: &Ctx,
        id: &ResourceId,
        body: &Value,
    ) -> Result<(Value, OpRef), StoreError> {
        let patch_props = object_field(body, "properties")?
            .cloned()
            .unwrap_or_default();
        check_enum(
            &patch_props,
            "publicNetworkAccess",
            &["Enabled", "Disabled", "SecuredByPerimeter"],
        )?;
        let location = self.patch_common(Kind::Topic, id, body, |props| {
            for (k, v) in &patch_props {
                if TOPIC_PATCHABLE.contains(&k.as_str()) {
                    props.insert(k.clone(), v.clone());
                }
            }
        })?;
        let op = self.start_operation(
            ctx,
            id.subscription_id(),
            EVENT_GRID,
            &location,
            &key(id),
            OpAction::Provision,
        );
        Ok((self.eg_get(Kind::Topic, id)?, op))
    }

    /// Tags and identity (and `edit` on properties) for every PATCH; returns the location.
    pub(crate) fn patch_common(
        &mut self,
        kind: Kind,
        id: &ResourceId,
        body: &Value,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<String, StoreError> {
        self.require_group(id)?;
        let tags = tags_field(body)?;
        let res = match self.resource_mut(&key(id)) {
            Some(r) if r.kind == kind => r,
            _ => return Err(not_found(kind, id)),
        };
        if let Some(tags) = tags {
            res.body["tags"] = tags;
        }
        if let Some(identity) = body.get("identity") {
            res.body["identity"] = identity.clone();
        }
        if let Some(props) = res.body["properties"].as_object_mut() {
            edit(props);
        }
        Ok(res.body["location"]
            .as_str()
            .unwrap_or("global")
            .to_string())
    }

    /// `POST .../topics/{name}/listKeys`.
    pub fn topic_keys(&self, id: &ResourceId) -> Result<Value, StoreError> {
        self.eg_get(Kind::Topic, id)?;
        let res = self
            .resource(&key(id))
            .ok_or_else(|| not_found(Kind::Topic, id))?;
        Ok(json!({"key1": res.hidden["key1"], "key2": res.hidden["key2"]}))
    }

    /// `POST .../topics/{name}/regenerateKey` with `{"keyName": "key1"|"key2"}`.
    pub fn regenerate_topic_key(
        &mut self,
        id: &ResourceId,
        body: &Value,
    ) -> Result<Value, StoreError> {
        self.eg_get(Kind::Topic, id)?;
        let name = match body.get("keyName").and_then(Value::as_str) {
            Some(n) if n.eq_ignore_ascii_case("key1") => "key1",
            Some(n) if n.eq_ignore_ascii_case("key2") => "key2",
            Some(n) => {
                return Err(StoreError::invalid(format!(
                    "Invalid key name '{n}'. Allowed values are 'key1' and 'key2'."
                )));
            }
            None => return Err(StoreError::invalid("The keyName property is required.")),
        };
        let new_key = self.ids.key();
        if let Some(res) = self.resource_mut(&key(id)) {
            res.hidden[name] = json!(new_key);
        }
        self.topic_keys(id)
    }

    /// `PUT .../systemTopics/{name}`: one system topic per `source`.
    pub fn put_system_topic(
        &mut self,
        ctx: &Ctx,
        id: &ResourceId,
        body: &Value,
    ) -> Result<(bool, Value, OpRef), StoreError> {
        self.require_group(id)?;
        validate_name(id.name(), 3, 128, "System topic")?;
        let location = required_location(body)?;
        let tags = tags_field(body)?;
        let props = object_field(body, "properties")?
            .cloned()
            .unwrap_or_default();
        let source = props
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let topic_type = props
            .get("topicType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if source.is_empty() || ResourceId::parse(&source).is_err() {
            return Err(StoreError::invalid(
                "The source property of a system topic must be the ARM id of the source resource.",
            ));
        }
        if topic_type.is_empty() {
            return Err(StoreError::invalid(
                "The topicType property of a system topic is required.",
            ));
        }
        let k = key(id);
        if let Some(other) = self
            .resources_of(Kind::SystemTopic, |r| {
                r.body["properties"]["source"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&source))
            })
            .find(|r| r.id.to_ascii_lowercase() != k)
        {
            return Err(StoreError::invalid(format!(
                "System topic '{}' already exists for source '{source}'. Only one system topic is allowed per source.",
                other.body["name"].as_str().unwrap_or_default()
            )));
        }
        let (created, metric) = match self.resource(&k) {
            Some(existing) => {
                check_same_location(&existing.body, &location)?;
                let p = &existing.body["properties"];
                if !p["source"]
                    .as_str()
                    .unwrap_or_default()
                    .eq_ignore_ascii_case(&source)
                    || !p["topicType"]
                        .as_str()
                        .unwrap_or_default()
                        .eq_ignore_ascii_case(&topic_type)
                {
                    return Err(StoreError::invalid(
                        "The source and topicType of an existing system topic cannot be changed.",
                    ));
                }
                (false, p["metricResourceId"].clone())
            }
            None => (true, json!(self.ids.uuid())),
        };
        let state = if ctx.delay > chrono::Duration::zero() {
            if created { "Creating" } else { "Updating" }
        } else {
            "Succeeded"
        };
        let mut new = json!({
            "id": id.as_str(), "name": id.name(), "type": Kind::SystemTopic.type_name(),
            "location": location, "tags": tags.unwrap_or(Value::Null),
            "properties": {"source": source, "topicType": topic_type, "metricResourceId": metric, "provisioningState": state},
        });
        if let Some(identity) = body.get("identity") {
            new["identity"] = identity.clone();
        }
        self.insert(Resource {
            id: id.as_str().to_string(),
            kind: Kind::SystemTopic,
            body: new,
            hidden: Value::Null,
        });
        let op = self.start_operation(
            ctx,
            id.subscription_id(),
            EVENT_GRID,
            &location,
            &k,
            OpAction::Provision,
        );
        Ok((created, self.eg_get(Kind::SystemTopic, id)?, op))
    }

    /// `PATCH .../systemTopics/{name}` (tags, identity) or `.../partnerTopics/{name}`.
    pub fn patch_tags_identity(
        &mut self,
        kind: Kind,
        id: &ResourceId,
        body: &Value,
    ) -> Result<Value, StoreError> {
        self.patch_common(kind, id, body, |_| {})?;
        self.eg_get(kind, id)
    }
}

/// The store key (lowercased id).
pub(crate) fn key(id: &ResourceId) -> String {
    id.as_str().to_ascii_lowercase()
}

pub(crate) fn required_location(body: &Value) -> Result<String, StoreError> {
    match body.get("location") {
        Some(Value::String(l)) if !l.trim().is_empty() => Ok(l.clone()),
        _ => Err(StoreError::bad(
            "LocationRequired",
            "The location property is required for this definition.",
        )),
    }
}

pub(crate) fn check_same_location(existing: &Value, location: &str) -> Result<(), StoreError> {
    let old = existing["location"].as_str().unwrap_or_default();
    if same_location(old, location) {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "The location of an existing resource cannot be changed from '{old}' to '{location}'."
        )))
    }
}

fn validate_name(name: &str, min: usize, max: usize, what: &str) -> Result<(), StoreError> {
    let ok = (min..=max).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "{what} name must be between {min} and {max} characters in length and use alphanumeric and hyphen characters only."
        )))
    }
}

fn check_enum(props: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), StoreError> {
    match props.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => Ok(()),
        Some(other) => Err(StoreError::invalid(format!(
            "Invalid value {other} for '{field}'. Allowed values: {}.",
            allowed.join(", ")
        ))),
    }
}
