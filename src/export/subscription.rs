//! Turning a live event subscription into its manifest `spec`: destinations of every type
//! written flat (no `properties` wrapper), filters, retry, dead-letter, labels and expiry, with
//! the secret parts — a webhook's query string, secret delivery attributes — replaced by
//! `${env:NAME}` references whose values are collected in [`SecretVars`] (for `DIR/.env` only).
//!
//! Pure. Variable names are derived from the subscription's name (docs/export.md); it must not
//! put a secret value anywhere but into [`SecretVars`].

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::convert::{copy_keys, declared_labels, escaped, without_defaults};
use crate::model::{ResourceKind, Sensitive};

/// The variables that hold the secrets of the exported manifests, by name.
#[derive(Debug, Default)]
pub struct SecretVars {
    /// Name → value.
    pub values: BTreeMap<String, Sensitive<String>>,
}

/// An environment variable name made of `text`: upper case, `_` for anything but letters and
/// digits, no leading digit.
pub fn env_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        };
        if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
            out.push(c);
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        format!("_{out}")
    } else {
        out
    }
}

impl SecretVars {
    /// Records `value` under `wanted` (or `wanted_2`, `_3`, ... when taken): the reference.
    pub fn add(&mut self, wanted: &str, value: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 2;
        while self.values.contains_key(&name) {
            name = format!("{wanted}_{n}");
            n += 1;
        }
        self.values
            .insert(name.clone(), Sensitive::new(value.to_string()));
        format!("${{env:{name}}}")
    }
}

/// The live secret parts of one subscription and the variable prefix for them.
pub struct SecretParts<'a> {
    /// The full webhook URL from `getFullUrl`, when read.
    pub full_url: Option<&'a str>,
    /// The mappings from `getDeliveryAttributes`, when read.
    pub attributes: Option<&'a Value>,
    /// Prefix of the variable names (e.g. `ORDERS_TO_WEBHOOK`).
    pub var_prefix: String,
}

/// `{endpointType, ...properties}` of an ARM destination, secrets replaced by references.
fn flat_destination(dest: &Value, parts: &SecretParts<'_>, vars: &mut SecretVars) -> Value {
    let mut out = Map::new();
    copy_keys(dest, &["endpointType"], &mut out);
    let props = dest.get("properties").cloned().unwrap_or(Value::Null);
    for (k, v) in props.as_object().into_iter().flatten() {
        match k.as_str() {
            "endpointBaseUrl" | "endpointUrl" | "deliveryAttributeMappings" => {}
            _ => {
                out.insert(k.clone(), escaped(v));
            }
        }
    }
    if let Some(base) = props["endpointBaseUrl"]
        .as_str()
        .or(props["endpointUrl"].as_str())
    {
        out.insert("endpointUrl".into(), json!(webhook_url(base, parts, vars)));
    }
    if let Some(list) = props["deliveryAttributeMappings"].as_array() {
        let mapped: Vec<Value> = list
            .iter()
            .map(|m| flat_attribute(m, parts, vars))
            .collect();
        out.insert("deliveryAttributeMappings".into(), Value::Array(mapped));
    }
    Value::Object(out)
}

/// The URL to declare: the base as GET shows it, plus `?${env:…_URL_QUERY}` when the full URL
/// has a query string (its value goes to the variable).
fn webhook_url(base: &str, parts: &SecretParts<'_>, vars: &mut SecretVars) -> String {
    let full = parts.full_url.unwrap_or(base);
    match full.split_once('?') {
        Some((b, query)) => {
            let reference = vars.add(&format!("{}_URL_QUERY", parts.var_prefix), query);
            format!("{}?{reference}", b.replace("${", "$${"))
        }
        None => full.replace("${", "$${"),
    }
}

fn flat_attribute(m: &Value, parts: &SecretParts<'_>, vars: &mut SecretVars) -> Value {
    let mut out = Map::new();
    copy_keys(m, &["name", "type"], &mut out);
    let props = m.get("properties").cloned().unwrap_or(Value::Null);
    let name = m["name"].as_str().unwrap_or_default();
    if props["isSecret"] == json!(true) {
        let value = parts
            .attributes
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|a| a["name"].as_str() == Some(name))
            .and_then(|a| a.pointer("/properties/value"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let var = format!(
            "{}_{}",
            parts.var_prefix,
            super::subscription::env_name(name)
        );
        out.insert("value".into(), json!(vars.add(&var, value)));
        out.insert("isSecret".into(), json!(true));
    } else {
        copy_keys(&props, &["value", "sourceField"], &mut out);
    }
    Value::Object(out)
}

fn flat_dead_letter(d: &Value) -> Value {
    let mut out = Map::new();
    copy_keys(d, &["endpointType"], &mut out);
    if let Some(props) = d.get("properties") {
        copy_keys(props, &["resourceId", "blobContainerName"], &mut out);
    }
    Value::Object(out)
}

/// A skeleton subscription with the same destination types, whose normalized form is Azure's
/// defaults for this shape.
fn skeleton(body: &Value) -> Value {
    let mut props = Map::new();
    if let Some(t) = body.pointer("/properties/destination/endpointType") {
        props.insert(
            "destination".into(),
            json!({"endpointType": t, "properties": {}}),
        );
    }
    if let Some(t) =
        body.pointer("/properties/deliveryWithResourceIdentity/destination/endpointType")
    {
        props.insert(
            "deliveryWithResourceIdentity".into(),
            json!({"destination": {"endpointType": t, "properties": {}}}),
        );
    }
    json!({ "properties": props })
}

/// An event subscription's spec below `topic` (`{kind, name}`); `owned` decides which labels
/// are declared.
pub fn subscription_spec(
    body: &Value,
    topic: Value,
    owned: bool,
    parts: &SecretParts<'_>,
    vars: &mut SecretVars,
) -> Value {
    let shown = without_defaults(ResourceKind::EventSubscription, body, &skeleton(body));
    let props = shown.get("properties").cloned().unwrap_or(Value::Null);
    let mut spec = Map::new();
    spec.insert("topic".into(), topic);
    if let Some(d) = props.get("destination") {
        spec.insert("destination".into(), flat_destination(d, parts, vars));
    }
    if let Some(d) = props.get("deliveryWithResourceIdentity") {
        let mut out = Map::new();
        copy_keys(d, &["identity"], &mut out);
        if let Some(dest) = d.get("destination") {
            out.insert("destination".into(), flat_destination(dest, parts, vars));
        }
        spec.insert("deliveryWithResourceIdentity".into(), Value::Object(out));
    }
    if let Some(f) = props.get("filter") {
        let mut out = Map::new();
        copy_keys(
            f,
            &[
                "includedEventTypes",
                "subjectBeginsWith",
                "subjectEndsWith",
                "isSubjectCaseSensitive",
                "enableAdvancedFilteringOnArrays",
                "advancedFilters",
            ],
            &mut out,
        );
        if !out.is_empty() {
            spec.insert("filter".into(), Value::Object(out));
        }
    }
    if let Some(l) = declared_labels(body, owned) {
        spec.insert("labels".into(), l);
    }
    copy_keys(
        &props,
        &["eventDeliverySchema", "retryPolicy", "expirationTimeUtc"],
        &mut spec,
    );
    if let Some(d) = props.get("deadLetterDestination") {
        spec.insert("deadLetterDestination".into(), flat_dead_letter(d));
    }
    if let Some(d) = props.get("deadLetterWithResourceIdentity") {
        let mut out = Map::new();
        copy_keys(d, &["identity"], &mut out);
        if let Some(dl) = d.get("deadLetterDestination") {
            out.insert("deadLetterDestination".into(), flat_dead_letter(dl));
        }
        spec.insert("deadLetterWithResourceIdentity".into(), Value::Object(out));
    }
    Value::Object(spec)
}
