//! Event subscriptions in the store, nested (`{topic}/eventSubscriptions/{name}`) and
//! extension-style (`{scope}/providers/Microsoft.EventGrid/eventSubscriptions/{name}`): both
//! address one stored entry keyed by the extension-style id, rendered in the style asked for.
//!
//! Create/update is two-phase (`prepare_subscription`, then `commit_subscription`) so the HTTP
//! layer can run the webhook validation handshake in between without holding the lock. The full
//! webhook URL and secret delivery attribute values live in `hidden` and only leave through
//! `full_url` / `delivery_attributes`. No HTTP here.

use serde_json::{Map, Value, json};

use super::eventgrid::key;
use super::subscription_fields::{
    check_dead_letter, normalize_destination, normalize_filter, normalize_labels, normalize_retry,
};
use super::subscription_rules::keep_masked_secrets;
use super::{Ctx, EVENT_GRID, Kind, OpAction, OpRef, Resource, Store};
use crate::emulator::infra::clock::parse_time;
use crate::emulator::store::StoreError;
use crate::model::id::ResourceId;

/// How the request addressed the subscription (decides `id` and `type` in responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `{parent}/eventSubscriptions/{name}` below a topic, system topic or partner topic.
    Nested(Kind),
    /// `{scope}/providers/Microsoft.EventGrid/eventSubscriptions/{name}`.
    Extension,
}

/// A validated create/update waiting for the webhook handshake.
#[derive(Debug, Clone)]
pub struct Prepared {
    key: String,
    scope: ResourceId,
    name: String,
    props: Value,
    hidden: Value,
    created: bool,
    /// The webhook to validate before committing, if any.
    pub handshake: Option<Handshake>,
}

impl Prepared {
    /// The endpoint answered 200 without a validation code: the subscription waits for a GET on
    /// its `validationUrl` (code `code`) until `deadline`, as Azure's manual handshake does.
    pub fn await_manual_validation(&mut self, code: &str, deadline: chrono::DateTime<chrono::Utc>) {
        self.props["provisioningState"] = json!("AwaitingManualAction");
        self.hidden["manualCode"] = json!(code);
        self.hidden["manualDeadline"] = json!(crate::emulator::infra::clock::format_time(deadline));
    }
}

/// What the validation handshake needs.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The full endpoint URL (with query).
    pub url: String,
    /// The event subscription name.
    pub subscription_name: String,
    /// The topic id placed in the validation event.
    pub topic: String,
    /// CloudEvents delivery: the CloudEvents abuse-protection handshake (HTTP OPTIONS) is used
    /// instead of the validation event.
    pub cloud_events: bool,
}

const PATCH_FIELDS: &[&str] = &[
    "destination",
    "deliveryWithResourceIdentity",
    "filter",
    "labels",
    "expirationTimeUtc",
    "eventDeliverySchema",
    "retryPolicy",
    "deadLetterDestination",
    "deadLetterWithResourceIdentity",
];

impl Store {
    /// Completes a manual validation handshake (`GET` on the `validationUrl`).
    pub fn complete_manual_validation(
        &mut self,
        code: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, StoreError> {
        self.tick(now);
        let key = self
            .resources_of(Kind::EventSubscription, |r| {
                r.hidden["manualCode"].as_str() == Some(code)
                    && r.body["provisioningState"] == "AwaitingManualAction"
            })
            .map(|r| r.id.to_ascii_lowercase())
            .next()
            .ok_or_else(|| {
                StoreError::invalid("The validation code is unknown, already used or expired.")
            })?;
        let res = self
            .resource_mut(&key)
            .ok_or_else(|| StoreError::invalid("The event subscription no longer exists."))?;
        res.body["provisioningState"] = json!("Succeeded");
        if let Some(h) = res.hidden.as_object_mut() {
            h.remove("manualCode");
            h.remove("manualDeadline");
        }
        Ok(res.hidden["name"].as_str().unwrap_or_default().to_string())
    }

    /// Manual validations not completed in time leave the subscription `Failed`.
    pub(crate) fn expire_manual_validations(&mut self, now: chrono::DateTime<chrono::Utc>) {
        let late: Vec<String> = self
            .resources_of(Kind::EventSubscription, |r| {
                r.body["provisioningState"] == "AwaitingManualAction"
                    && r.hidden["manualDeadline"]
                        .as_str()
                        .and_then(parse_time)
                        .is_some_and(|t| t <= now)
            })
            .map(|r| r.id.to_ascii_lowercase())
            .collect();
        for key in late {
            if let Some(res) = self.resource_mut(&key) {
                res.body["provisioningState"] = json!("Failed");
            }
        }
    }

    /// Deletes event subscriptions whose `expirationTimeUtc` has passed.
    pub(crate) fn expire_event_subscriptions(&mut self, now: chrono::DateTime<chrono::Utc>) {
        let expired: Vec<String> = self
            .resources_of(Kind::EventSubscription, |r| {
                r.body["expirationTimeUtc"]
                    .as_str()
                    .and_then(parse_time)
                    .is_some_and(|t| t <= now)
            })
            .map(|r| r.id.to_ascii_lowercase())
            .collect();
        for k in expired {
            self.remove_tree(&k);
        }
    }

    fn check_scope(&self, scope: &ResourceId, style: Style) -> Result<(), StoreError> {
        self.require_group(scope)?;
        let parent_kind = match style {
            Style::Nested(kind) => Some(kind),
            Style::Extension => {
                Kind::from_collection(scope.resource_type().rsplit('/').next().unwrap_or_default())
                    .filter(|_| {
                        scope
                            .resource_type()
                            .to_ascii_lowercase()
                            .starts_with("microsoft.eventgrid/")
                    })
            }
        };
        if let Some(kind) = parent_kind
            && !self.resource(&key(scope)).is_some_and(|r| r.kind == kind)
        {
            return Err(StoreError::ParentNotFound(scope.name().to_string()));
        }
        Ok(())
    }

    fn subscription_key(scope: &ResourceId, name: &str) -> String {
        key(&scope.provider_resource(EVENT_GRID, "eventSubscriptions", name))
    }

    /// Validates a PUT (`patch = false`, body with `properties`) or PATCH (fields at top level).
    pub fn prepare_subscription(
        &self,
        ctx: &Ctx,
        scope: &ResourceId,
        style: Style,
        name: &str,
        body: &Value,
        patch: bool,
    ) -> Result<Prepared, StoreError> {
        self.check_scope(scope, style)?;
        let ok_name = (3..=64).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok_name {
            return Err(StoreError::invalid(
                "Event subscription name must be between 3 and 64 characters in length and use alphanumeric and hyphen characters only.",
            ));
        }
        let k = Self::subscription_key(scope, name);
        let existing = self
            .resource(&k)
            .filter(|r| r.kind == Kind::EventSubscription);
        let mut request: Map<String, Value> = if patch {
            let Some(old) = existing else {
                return Err(StoreError::NotFound {
                    type_name: "Microsoft.EventGrid/eventSubscriptions".into(),
                    name: name.into(),
                    group: scope.resource_group_name().unwrap_or_default().into(),
                });
            };
            let mut merged = request_form(old);
            let Some(fields) = body.as_object() else {
                return Err(StoreError::bad(
                    "InvalidRequestContent",
                    "The request content must be a JSON object.",
                ));
            };
            for (f, v) in fields {
                if PATCH_FIELDS.contains(&f.as_str()) {
                    merged.insert(f.clone(), v.clone());
                }
            }
            merged
        } else {
            match body.get("properties") {
                Some(Value::Object(p)) => p.clone(),
                None | Some(Value::Null) => Map::new(),
                Some(_) => {
                    return Err(StoreError::bad(
                        "InvalidRequestContent",
                        "'properties' must be an object.",
                    ));
                }
            }
        };
        if let Some(old) = existing {
            keep_masked_secrets(old, &mut request);
        }
        // A webhook update without a URL keeps the one it had.
        if let (Some(old), Some(dest)) = (existing, request.get_mut("destination"))
            && dest["endpointType"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("WebHook"))
            && dest["properties"]["endpointUrl"].is_null()
            && let Some(url) = old.hidden["endpointUrl"].as_str()
            && let Some(p) = dest.get_mut("properties").and_then(Value::as_object_mut)
        {
            p.insert("endpointUrl".into(), json!(url));
        }
        let mut hidden = json!({"scope": scope.as_str(), "name": name, "secrets": {}});
        let mut props = Map::new();
        let dest_field = if request.contains_key("destination") {
            "destination"
        } else {
            "deliveryWithResourceIdentity"
        };
        let handshake_url = match request.get(dest_field) {
            Some(d) if dest_field == "destination" => {
                let (dest, url) = normalize_destination(d, &mut hidden)?;
                props.insert("destination".into(), dest);
                url
            }
            Some(d) if d.is_object() => {
                let (dest, url) = normalize_destination(&d["destination"], &mut hidden)?;
                let mut d = d.clone();
                d["destination"] = dest;
                props.insert("deliveryWithResourceIdentity".into(), d);
                url
            }
            _ => {
                return Err(StoreError::invalid(
                    "Invalid event subscription request: a destination is required.",
                ));
            }
        };
        props.insert("filter".into(), normalize_filter(request.get("filter"))?);
        props.insert("labels".into(), normalize_labels(request.get("labels"))?);
        let schema = self.delivery_schema(scope, style, request.get("eventDeliverySchema"))?;
        if let Some(old) = existing
            && old.body["eventDeliverySchema"]
                .as_str()
                .is_some_and(|s| s != schema)
        {
            return Err(StoreError::invalid(
                "The eventDeliverySchema of an existing event subscription cannot be changed.",
            ));
        }
        props.insert("eventDeliverySchema".into(), json!(schema));
        props.insert(
            "retryPolicy".into(),
            normalize_retry(request.get("retryPolicy"))?,
        );
        if let Some(exp) = request.get("expirationTimeUtc").filter(|v| !v.is_null()) {
            let t = exp
                .as_str()
                .and_then(parse_time)
                .ok_or_else(|| StoreError::invalid("expirationTimeUtc must be a date-time."))?;
            if t <= ctx.now {
                return Err(StoreError::invalid(
                    "expirationTimeUtc must be in the future.",
                ));
            }
            props.insert("expirationTimeUtc".into(), exp.clone());
        }
        for f in ["deadLetterDestination", "deadLetterWithResourceIdentity"] {
            if let Some(v) = request.get(f).filter(|v| !v.is_null()) {
                let dest = if f == "deadLetterDestination" {
                    v
                } else {
                    &v["deadLetterDestination"]
                };
                if !dest.is_null() {
                    check_dead_letter(dest)?;
                }
                props.insert(f.into(), v.clone());
            }
        }
        let created = existing.is_none();
        let state = if ctx.delay > chrono::Duration::zero() {
            if created { "Creating" } else { "Updating" }
        } else {
            "Succeeded"
        };
        props.insert("topic".into(), json!(scope.as_str()));
        props.insert("provisioningState".into(), json!(state));
        Ok(Prepared {
            key: k,
            scope: scope.clone(),
            name: name.to_string(),
            props: Value::Object(props),
            hidden,
            created,
            handshake: handshake_url.map(|url| Handshake {
                url,
                subscription_name: name.to_string(),
                topic: scope.as_str().to_string(),
                cloud_events: schema == "CloudEventSchemaV1_0",
            }),
        })
    }

    /// Stores a prepared subscription: `(created, body in the requested style, operation)`.
    pub fn commit_subscription(
        &mut self,
        ctx: &Ctx,
        prepared: Prepared,
        style: Style,
    ) -> Result<(bool, Value, OpRef), StoreError> {
        self.check_scope(&prepared.scope, style)?;
        let action = if prepared.props["provisioningState"] == "AwaitingManualAction" {
            OpAction::Track
        } else {
            OpAction::Provision
        };
        let id = prepared
            .scope
            .provider_resource(EVENT_GRID, "eventSubscriptions", &prepared.name);
        self.insert(Resource {
            id: id.as_str().to_string(),
            kind: Kind::EventSubscription,
            body: prepared.props,
            hidden: prepared.hidden,
        });
        let location = "global";
        let op = self.start_operation(
            ctx,
            prepared.scope.subscription_id(),
            EVENT_GRID,
            location,
            &prepared.key,
            action,
        );
        let body = self.get_subscription(&prepared.scope, style, &prepared.name)?;
        Ok((prepared.created, body, op))
    }

    fn stored_subscription(
        &self,
        scope: &ResourceId,
        style: Style,
        name: &str,
    ) -> Result<&Resource, StoreError> {
        self.check_scope(scope, style)?;
        self.resource(&Self::subscription_key(scope, name))
            .filter(|r| r.kind == Kind::EventSubscription)
            .ok_or_else(|| StoreError::NotFound {
                type_name: "Microsoft.EventGrid/eventSubscriptions".into(),
                name: name.into(),
                group: scope.resource_group_name().unwrap_or_default().into(),
            })
    }

    /// `GET` of an event subscription.
    pub fn get_subscription(
        &self,
        scope: &ResourceId,
        style: Style,
        name: &str,
    ) -> Result<Value, StoreError> {
        self.stored_subscription(scope, style, name)
            .map(|r| render(r, style))
    }

    /// Event subscriptions directly on `scope`.
    pub fn list_subscriptions(
        &self,
        scope: &ResourceId,
        style: Style,
    ) -> Result<Vec<Value>, StoreError> {
        self.check_scope(scope, style)?;
        let wanted = scope.as_str().to_ascii_lowercase();
        Ok(self
            .resources_of(Kind::EventSubscription, |r| {
                r.hidden["scope"]
                    .as_str()
                    .is_some_and(|s| s.to_ascii_lowercase() == wanted)
            })
            .map(|r| render(r, style))
            .collect())
    }

    /// `DELETE`: `None` when absent.
    pub fn delete_subscription(
        &mut self,
        ctx: &Ctx,
        scope: &ResourceId,
        style: Style,
        name: &str,
    ) -> Result<Option<OpRef>, StoreError> {
        let k = match self.stored_subscription(scope, style, name) {
            Ok(r) => r.id.to_ascii_lowercase(),
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Some(res) = self.resource_mut(&k) {
            super::set_state(res, "Deleting");
        }
        Ok(Some(self.start_operation(
            ctx,
            scope.subscription_id(),
            EVENT_GRID,
            "global",
            &k,
            OpAction::Delete,
        )))
    }

    /// `POST .../getFullUrl`.
    pub fn full_url(
        &self,
        scope: &ResourceId,
        style: Style,
        name: &str,
    ) -> Result<Value, StoreError> {
        let res = self.stored_subscription(scope, style, name)?;
        match res.hidden["endpointUrl"].as_str() {
            Some(url) => Ok(json!({"endpointUrl": url})),
            None => Err(StoreError::invalid(
                "getFullUrl is only supported for WebHook destinations.",
            )),
        }
    }

    /// `POST .../getDeliveryAttributes`: mappings with secret values in clear.
    pub fn delivery_attributes(
        &self,
        scope: &ResourceId,
        style: Style,
        name: &str,
    ) -> Result<Value, StoreError> {
        let res = self.stored_subscription(scope, style, name)?;
        let form = request_form(res);
        let dest = form.get("destination").cloned().or_else(|| {
            form.get("deliveryWithResourceIdentity")
                .map(|d| d["destination"].clone())
        });
        let value = dest
            .and_then(|d| {
                d["properties"]["deliveryAttributeMappings"]
                    .as_array()
                    .cloned()
            })
            .unwrap_or_default();
        Ok(json!({"value": value}))
    }
}

fn render(res: &Resource, style: Style) -> Value {
    let scope = res.hidden["scope"].as_str().unwrap_or_default();
    let name = res.hidden["name"].as_str().unwrap_or_default();
    let (id, type_name) = match style {
        Style::Nested(kind) => (
            format!("{scope}/eventSubscriptions/{name}"),
            format!("{}/eventSubscriptions", kind.type_name()),
        ),
        Style::Extension => (
            format!("{scope}/providers/{EVENT_GRID}/eventSubscriptions/{name}"),
            Kind::EventSubscription.type_name().to_string(),
        ),
    };
    json!({"properties": res.body, "id": id, "name": name, "type": type_name})
}

/// The stored subscription turned back into request form (full URL, secret values restored).
fn request_form(res: &Resource) -> Map<String, Value> {
    let mut props = res.body.as_object().cloned().unwrap_or_default();
    for f in ["topic", "provisioningState"] {
        props.remove(f);
    }
    let restore = |dest: &mut Value| {
        if let Some(url) = res.hidden["endpointUrl"].as_str() {
            dest["properties"]["endpointUrl"] = json!(url);
        }
        if let Some(p) = dest["properties"].as_object_mut() {
            p.remove("endpointBaseUrl");
        }
        if let Some(maps) = dest["properties"]["deliveryAttributeMappings"].as_array_mut() {
            for m in maps {
                let attr = m["name"].as_str().unwrap_or_default().to_string();
                if let Some(secret) = res.hidden["secrets"].get(&attr) {
                    m["properties"]["value"] = secret.clone();
                }
            }
        }
    };
    if let Some(d) = props.get_mut("destination") {
        restore(d);
    }
    if let Some(d) = props.get_mut("deliveryWithResourceIdentity") {
        restore(&mut d["destination"]);
    }
    props
}
