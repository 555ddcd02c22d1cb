//! Normalization: turn a desired request body and a live GET body into the same comparable shape,
//! so that a successful apply is followed by an empty plan. Every rule names the Azure behaviour
//! it absorbs (see `../shared/azure-spec/REFERENCE.md` §8).

use serde_json::{Map, Value, json};

use super::wire::{LEASE_TAG, SECRETS_LABEL};
use crate::model::ResourceKind;

/// Keys whose string values are enums or ids, compared case-insensitively (REFERENCE §8.7).
const CASE_INSENSITIVE_KEYS: &[&str] = &[
    "location",
    "inputSchema",
    "publicNetworkAccess",
    "dataResidencyBoundary",
    "eventDeliverySchema",
    "endpointType",
    "operatorType",
    "resourceId",
    "source",
    "topicType",
    "type",
    "action",
    "userAssignedIdentity",
    "partnerRegistrationImmutableId",
    "status",
    "azureRegion",
    "azureSubscriptionId",
    "azureResourceGroup",
];

/// Operators whose `values` are sets (order does not matter).
const SET_OPERATORS: &[&str] = &[
    "numberin",
    "numbernotin",
    "stringin",
    "stringnotin",
    "stringbeginswith",
    "stringnotbeginswith",
    "stringendswith",
    "stringnotendswith",
    "stringcontains",
    "stringnotcontains",
];

/// The comparable form of an ARM body (desired request or live response) of `kind`.
pub fn normalize(kind: ResourceKind, body: &Value) -> Value {
    normalize_with(kind, body, true)
}

/// The same shape with the original spelling of enum values and ids, for display.
pub fn display_form(kind: ResourceKind, body: &Value) -> Value {
    normalize_with(kind, body, false)
}

fn normalize_with(kind: ResourceKind, body: &Value, lowercase: bool) -> Value {
    let mut v = body.clone();
    // Read-only envelope and properties (REFERENCE §8.5).
    for key in ["id", "name", "type", "systemData", "etag", "kind", "sku"] {
        remove(&mut v, &[key]);
    }
    for key in [
        "provisioningState",
        "endpoint",
        "metricResourceId",
        "privateEndpointConnections",
        "topic",
    ] {
        remove(&mut v, &["properties", key]);
    }
    remove(&mut v, &["identity", "principalId"]);
    remove(&mut v, &["identity", "tenantId"]);
    if let Some(loc) = v.get_mut("location")
        && let Some(s) = loc.as_str()
    {
        // "West Europe" and "westeurope" are the same region.
        *loc = json!(s.replace(' ', "").to_ascii_lowercase());
    }
    match kind {
        ResourceKind::Topic => {
            // Schema defaults that GET may or may not echo (REFERENCE §8.6).
            default(
                &mut v,
                &["properties", "inputSchema"],
                json!("EventGridSchema"),
            );
            default(
                &mut v,
                &["properties", "publicNetworkAccess"],
                json!("Enabled"),
            );
            default(&mut v, &["properties", "disableLocalAuth"], json!(false));
            default(
                &mut v,
                &["properties", "dataResidencyBoundary"],
                json!("WithinGeopair"),
            );
            for key in ["eventTypeInfo", "inputSchemaMapping"] {
                remove(&mut v, &["properties", key]);
            }
        }
        ResourceKind::ResourceGroup => {
            remove(&mut v, &["properties"]);
            remove(&mut v, &["managedBy"]);
            // The stack lease lives in tags while an apply runs; it is never drift.
            if let Some(tags) = v.get_mut("tags").and_then(Value::as_object_mut) {
                tags.retain(|k, _| !k.starts_with(LEASE_TAG));
            }
        }
        ResourceKind::PartnerConfiguration => {
            // The expiry of each partner is planned by `plan` (renewal window), not diffed here.
            if let Some(list) = pointer_mut(
                &mut v,
                &[
                    "properties",
                    "partnerAuthorization",
                    "authorizedPartnersList",
                ],
            ) && let Some(items) = list.as_array_mut()
            {
                for item in items.iter_mut() {
                    remove(item, &["authorizationExpirationTimeInUtc"]);
                }
                items.sort_by_key(|p| {
                    p["partnerRegistrationImmutableId"]
                        .as_str()
                        .unwrap_or("")
                        .to_ascii_lowercase()
                });
            }
            // Azure fills 7 when unset.
            default(
                &mut v,
                &[
                    "properties",
                    "partnerAuthorization",
                    "defaultMaximumExpirationTimeInDays",
                ],
                json!(7),
            );
            remove(&mut v, &["location"]);
        }
        ResourceKind::PartnerTopic => {
            // Only tags are ours; everything else belongs to the partner.
            let tags = v.get("tags").cloned().unwrap_or(Value::Null);
            v = json!({"tags": tags});
        }
        ResourceKind::EventSubscription => normalize_subscription(&mut v),
        _ => {}
    }
    if lowercase {
        lowercase_keys(&mut v);
    }
    prune_empty(&mut v);
    v
}

fn normalize_subscription(v: &mut Value) {
    // Server defaults (REFERENCE §8.3).
    default(
        v,
        &["properties", "eventDeliverySchema"],
        json!("EventGridSchema"),
    );
    default(
        v,
        &["properties", "retryPolicy", "maxDeliveryAttempts"],
        json!(30),
    );
    default(
        v,
        &["properties", "retryPolicy", "eventTimeToLiveInMinutes"],
        json!(1440),
    );
    default(
        v,
        &["properties", "filter", "isSubjectCaseSensitive"],
        json!(false),
    );
    default(
        v,
        &["properties", "filter", "enableAdvancedFilteringOnArrays"],
        json!(false),
    );
    for path in [
        &["properties", "destination"][..],
        &["properties", "deliveryWithResourceIdentity", "destination"],
    ] {
        if let Some(dest) = pointer_mut(v, path) {
            normalize_destination(dest);
        }
    }
    // Labels are a set; the secrets digest is compared on its own (plan::secret_state).
    if let Some(labels) = pointer_mut(v, &["properties", "labels"]).and_then(Value::as_array_mut) {
        labels.retain(|l| !l.as_str().is_some_and(|s| s.starts_with(SECRETS_LABEL)));
        sort_strings(labels);
    }
    if let Some(filter) = pointer_mut(v, &["properties", "filter"]) {
        if let Some(types) = filter
            .get_mut("includedEventTypes")
            .and_then(Value::as_array_mut)
        {
            sort_strings(types);
        }
        if let Some(filters) = filter
            .get_mut("advancedFilters")
            .and_then(Value::as_array_mut)
        {
            for f in filters.iter_mut() {
                let op = f["operatorType"]
                    .as_str()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if SET_OPERATORS.contains(&op.as_str())
                    && let Some(values) = f.get_mut("values").and_then(Value::as_array_mut)
                {
                    values.sort_by_key(|x| x.to_string().to_ascii_lowercase());
                }
            }
        }
    }
}

fn normalize_destination(dest: &mut Value) {
    let is_webhook = dest["endpointType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("WebHook"));
    let is_function = dest["endpointType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("AzureFunction"));
    let Some(props) = dest.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    if is_webhook {
        // GET returns `endpointBaseUrl` (query stripped), never `endpointUrl` (REFERENCE §8.1).
        if let Some(url) = props.remove("endpointUrl") {
            let base = url
                .as_str()
                .map(|u| u.split('?').next().unwrap_or(u).to_string());
            props.insert("endpointBaseUrl".into(), json!(base));
        }
    }
    if is_webhook || is_function {
        props.entry("maxEventsPerBatch").or_insert(json!(1));
        props
            .entry("preferredBatchSizeInKilobytes")
            .or_insert(json!(64));
        for key in ["maxEventsPerBatch", "preferredBatchSizeInKilobytes"] {
            if props.get(key).is_some_and(Value::is_null) {
                props.insert(
                    key.into(),
                    json!(if key == "maxEventsPerBatch" { 1 } else { 64 }),
                );
            }
        }
    }
    // Secret attribute values are hidden on GET (REFERENCE §8.2); they are compared by digest.
    if let Some(list) = props
        .get_mut("deliveryAttributeMappings")
        .and_then(Value::as_array_mut)
    {
        for m in list.iter_mut() {
            if m.pointer("/properties/isSecret") == Some(&json!(true))
                && let Some(p) = m.get_mut("properties").and_then(Value::as_object_mut)
            {
                p.remove("value");
            }
            let dynamic = m["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("Dynamic"));
            if let Some(p) = m.get_mut("properties").and_then(Value::as_object_mut) {
                if dynamic {
                    p.remove("isSecret");
                } else {
                    p.entry("isSecret").or_insert(json!(false));
                }
            }
        }
        list.sort_by_key(|m| m["name"].as_str().unwrap_or("").to_ascii_lowercase());
    }
}

fn pointer_mut<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut cur = v;
    for p in path {
        cur = cur.as_object_mut()?.get_mut(*p)?;
    }
    Some(cur)
}

fn remove(v: &mut Value, path: &[&str]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    if let Some(obj) = pointer_mut(v, parent).and_then(Value::as_object_mut) {
        obj.remove(*last);
    }
}

/// Sets `path` to `value` when it is absent or null, creating parents.
fn default(v: &mut Value, path: &[&str], value: Value) {
    let mut cur = v;
    for (i, p) in path.iter().enumerate() {
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        let last = i + 1 == path.len();
        let entry = obj
            .entry(p.to_string())
            .or_insert(if last { Value::Null } else { json!({}) });
        if entry.is_null() {
            *entry = if last { value.clone() } else { json!({}) };
        }
        cur = entry;
    }
}

fn sort_strings(items: &mut [Value]) {
    items.sort_by_key(|x| x.as_str().map(str::to_ascii_lowercase).unwrap_or_default());
}

fn lowercase_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if CASE_INSENSITIVE_KEYS.contains(&k.as_str())
                    && let Value::String(s) = child
                {
                    *s = s.to_ascii_lowercase();
                }
                lowercase_keys(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(lowercase_keys),
        _ => {}
    }
}

/// `null`, `""`, `[]` and `{}` all mean "unset" (REFERENCE §8.4).
pub(crate) fn prune_empty(v: &mut Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => {
            items.iter_mut().for_each(|i| {
                prune_empty(i);
            });
            items.is_empty()
        }
        Value::Object(map) => {
            map.retain(|_, child| !prune_empty(child));
            map.is_empty()
        }
        _ => false,
    }
}

/// Flattens a normalized value into `(path, leaf)` pairs; lists of scalars stay whole.
pub fn flatten(v: &Value) -> Map<String, Value> {
    flatten_owned(v.clone())
}

/// As [`flatten`], moving the leaves out of `v` instead of copying them.
pub fn flatten_owned(v: Value) -> Map<String, Value> {
    let mut out = Map::new();
    // An empty body has no attributes; without this it would show as one change at path "".
    if v.as_object().is_some_and(Map::is_empty) {
        return out;
    }
    flatten_into(v, &mut String::new(), &mut out);
    out
}

/// `prefix` is the path so far; it is extended in place and restored before returning, so
/// paths are built without a new string per level.
fn flatten_into(v: Value, prefix: &mut String, out: &mut Map<String, Value>) {
    let len = prefix.len();
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                if len > 0 {
                    prefix.push('.');
                }
                prefix.push_str(&k);
                flatten_into(child, prefix, out);
                prefix.truncate(len);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            for (i, child) in items.into_iter().enumerate() {
                prefix.push('[');
                prefix.push_str(&i.to_string());
                prefix.push(']');
                flatten_into(child, prefix, out);
                prefix.truncate(len);
            }
        }
        leaf => {
            out.insert(prefix.clone(), leaf);
        }
    }
}
