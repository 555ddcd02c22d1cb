//! Two rules of an event subscription write that depend on what is stored: the delivery schema
//! its topic allows (a CloudEvents-input topic and every partner topic deliver CloudEvents only;
//! an omitted schema there means `CloudEventSchemaV1_0`, elsewhere `EventGridSchema`), and the
//! masked secret delivery attribute values an update sends back (`Hidden`, as GET shows them),
//! which keep the stored secret instead of replacing it.
//!
//! No HTTP here; the caller (`prepare_subscription`) decides what to do with the results.

use serde_json::{Map, Value, json};

use super::eventgrid::key;
use super::subscriptions::Style;
use super::{Kind, Resource, Store};
use crate::emulator::store::StoreError;
use crate::model::id::ResourceId;

const SCHEMAS: &[&str] = &[
    "EventGridSchema",
    "CustomInputSchema",
    "CloudEventSchemaV1_0",
];
const CLOUD_EVENTS: &str = "CloudEventSchemaV1_0";
/// What GET shows instead of a secret delivery attribute value.
pub(crate) const MASKED: &str = "Hidden";

impl Store {
    /// Whether the subscription's topic takes CloudEvents only (a partner topic, or a topic
    /// whose `inputSchema` is `CloudEventSchemaV1_0`).
    fn delivers_cloud_events_only(&self, scope: &ResourceId, style: Style) -> bool {
        let kind = match style {
            Style::Nested(kind) => Some(kind),
            Style::Extension => scope
                .resource_type()
                .strip_prefix("Microsoft.EventGrid/")
                .and_then(Kind::from_collection),
        };
        match kind {
            Some(Kind::PartnerTopic) => true,
            Some(Kind::Topic) => self.resource(&key(scope)).is_some_and(|t| {
                t.body["properties"]["inputSchema"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(CLOUD_EVENTS))
            }),
            _ => false,
        }
    }

    /// The `eventDeliverySchema` to store for `requested` on `scope`.
    pub(crate) fn delivery_schema(
        &self,
        scope: &ResourceId,
        style: Style,
        requested: Option<&Value>,
    ) -> Result<String, StoreError> {
        let cloud_only = self.delivers_cloud_events_only(scope, style);
        let schema = match requested {
            None | Some(Value::Null) if cloud_only => CLOUD_EVENTS.to_string(),
            None | Some(Value::Null) => "EventGridSchema".to_string(),
            Some(Value::String(s)) => SCHEMAS
                .iter()
                .find(|a| a.eq_ignore_ascii_case(s))
                .map(|a| a.to_string())
                .ok_or_else(|| {
                    StoreError::invalid(format!("Invalid eventDeliverySchema '{s}'."))
                })?,
            Some(other) => {
                return Err(StoreError::invalid(format!(
                    "Invalid eventDeliverySchema {other}."
                )));
            }
        };
        if cloud_only && schema != CLOUD_EVENTS {
            return Err(StoreError::invalid(format!(
                "Invalid event subscription request: the event delivery schema '{schema}' is not supported for '{}', whose events are in the CloudEvents v1.0 schema. Use '{CLOUD_EVENTS}'.",
                scope.name()
            )));
        }
        Ok(schema)
    }
}

/// Puts the stored secret back into every secret delivery attribute of `request` whose value is
/// the mask (`Hidden`) or missing, so that sending back what GET showed keeps the secret.
pub(crate) fn keep_masked_secrets(old: &Resource, request: &mut Map<String, Value>) {
    let secrets = &old.hidden["secrets"];
    let restore = |dest: &mut Value| {
        let Some(maps) = dest["properties"]["deliveryAttributeMappings"].as_array_mut() else {
            return;
        };
        for m in maps {
            let name = m["name"].as_str().unwrap_or_default();
            let masked = matches!(&m["properties"]["value"], Value::Null)
                || m["properties"]["value"] == MASKED;
            if m["properties"]["isSecret"] == true
                && masked
                && let Some(secret) = secrets.get(name).filter(|s| !s.is_null())
            {
                m["properties"]["value"] = json!(secret);
            }
        }
    };
    if let Some(d) = request.get_mut("destination") {
        restore(d);
    }
    if let Some(d) = request.get_mut("deliveryWithResourceIdentity") {
        restore(&mut d["destination"]);
    }
}
