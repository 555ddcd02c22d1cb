//! Validation and server defaults for the fields of an event subscription: destinations (with
//! the write-only webhook URL and secret delivery attribute values moved to `hidden`), the
//! dead-letter destination (Azure Storage's account and container naming rules, so the names
//! are safe as folder names), filters and the retry policy.
//!
//! Pure functions over JSON; no store access, no HTTP.

use serde_json::{Map, Value, json};

use crate::emulator::store::StoreError;
use crate::model::id::ResourceId;

const ENDPOINT_TYPES: &[&str] = &[
    "WebHook",
    "EventHub",
    "StorageQueue",
    "HybridConnection",
    "ServiceBusQueue",
    "ServiceBusTopic",
    "AzureFunction",
    "MonitorAlert",
    "NamespaceTopic",
];

pub(crate) fn normalize_destination(
    dest: &Value,
    hidden: &mut Value,
) -> Result<(Value, Option<String>), StoreError> {
    let Some(kind) = dest["endpointType"].as_str() else {
        return Err(StoreError::invalid(
            "Invalid event subscription request: destination.endpointType is required.",
        ));
    };
    let Some(kind) = ENDPOINT_TYPES.iter().find(|t| t.eq_ignore_ascii_case(kind)) else {
        return Err(StoreError::invalid(format!(
            "Invalid endpointType '{kind}'."
        )));
    };
    let mut props = dest["properties"].as_object().cloned().unwrap_or_default();
    let mut handshake = None;
    match *kind {
        "WebHook" => {
            let url = props
                .remove("endpointUrl")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let base = webhook_base(&url)?;
            props.remove("endpointBaseUrl");
            props.insert("endpointBaseUrl".into(), json!(base));
            hidden["endpointUrl"] = json!(url);
            handshake = Some(url);
        }
        "MonitorAlert" => {}
        other => {
            if props
                .get("resourceId")
                .and_then(Value::as_str)
                .is_none_or(|r| ResourceId::parse(r).is_err())
            {
                return Err(StoreError::invalid(format!(
                    "Invalid event subscription request: a {other} destination needs a valid resourceId."
                )));
            }
        }
    }
    if matches!(*kind, "WebHook" | "AzureFunction") {
        props.entry("maxEventsPerBatch").or_insert(json!(1));
        props
            .entry("preferredBatchSizeInKilobytes")
            .or_insert(json!(64));
    }
    if let Some(maps) = props
        .get_mut("deliveryAttributeMappings")
        .and_then(Value::as_array_mut)
    {
        for m in maps.iter_mut() {
            let name = m["name"].as_str().unwrap_or_default().to_string();
            match m["type"].as_str() {
                Some(t) if t.eq_ignore_ascii_case("Static") => {
                    m["type"] = json!("Static");
                    let secret = m["properties"]["isSecret"].as_bool().unwrap_or(false);
                    m["properties"]["isSecret"] = json!(secret);
                    if secret {
                        hidden["secrets"][&name] = m["properties"]["value"].clone();
                        m["properties"]["value"] = json!(super::subscription_rules::MASKED);
                    }
                }
                Some(t) if t.eq_ignore_ascii_case("Dynamic") => m["type"] = json!("Dynamic"),
                _ => {
                    return Err(StoreError::invalid(format!(
                        "Delivery attribute mapping '{name}' needs type Static or Dynamic."
                    )));
                }
            }
        }
    }
    Ok((
        json!({"endpointType": kind, "properties": props}),
        handshake,
    ))
}

/// The webhook URL without its query string; `http://` only for loopback hosts.
fn webhook_base(text: &str) -> Result<String, StoreError> {
    let bad = || {
        StoreError::invalid(
            "Invalid event subscription request: Supplied URL is invalid. It cannot be null or empty and should be a proper HTTPS URL like https://www.example.com.",
        )
    };
    let mut url = url::Url::parse(text).map_err(|_| bad())?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad()),
    };
    if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
        return Err(bad());
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.to_string())
}

/// Checks a `deadLetterDestination` (`StorageBlob`): a storage account id whose name follows
/// Azure's rules (3–24 lowercase letters and digits) and a container name that does (3–63
/// lowercase letters, digits and single hyphens, starting and ending with a letter or digit).
pub(crate) fn check_dead_letter(dest: &Value) -> Result<(), StoreError> {
    let props = &dest["properties"];
    let id = props["resourceId"].as_str().unwrap_or_default();
    let mut segments = id.rsplit('/');
    let (account, kind) = (segments.next(), segments.next());
    let is_account = kind.is_some_and(|k| k.eq_ignore_ascii_case("storageAccounts"))
        && ResourceId::parse(id).is_ok();
    let Some(account) = account.filter(|a| is_account && storage_account_name_ok(a)) else {
        return Err(StoreError::invalid(format!(
            "Invalid event subscription request: the dead-letter destination resourceId '{id}' is not a storage account id with a valid name (3-24 lowercase letters and digits)."
        )));
    };
    let container = props["blobContainerName"].as_str().unwrap_or_default();
    if !blob_container_name_ok(container) {
        return Err(StoreError::invalid(format!(
            "Invalid event subscription request: the dead-letter blobContainerName '{container}' of storage account '{account}' is invalid: container names are 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit."
        )));
    }
    Ok(())
}

/// Azure's storage account name rule.
pub fn storage_account_name_ok(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Azure's blob container name rule.
pub fn blob_container_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    let plain = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| plain(c) || *c == b'-')
        && b.first().is_some_and(plain)
        && b.last().is_some_and(plain)
        && !name.contains("--")
}

pub(crate) fn normalize_filter(filter: Option<&Value>) -> Result<Value, StoreError> {
    let mut f = match filter {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(StoreError::invalid("filter must be an object.")),
    };
    for field in ["subjectBeginsWith", "subjectEndsWith"] {
        let v = f.entry(field).or_insert(json!(""));
        if v.is_null() {
            *v = json!("");
        }
        if v.as_str().is_some_and(|s| s.contains('*')) {
            return Err(StoreError::invalid(format!(
                "{field} does not support wildcards."
            )));
        }
    }
    f.entry("isSubjectCaseSensitive").or_insert(json!(false));
    if let Some(filters) = f.get("advancedFilters").and_then(Value::as_array) {
        if filters.len() > 25 {
            return Err(StoreError::invalid(
                "At most 25 advanced filters are allowed.",
            ));
        }
        for af in filters {
            if af["operatorType"].as_str().is_none() {
                return Err(StoreError::invalid(
                    "Every advanced filter needs an operatorType.",
                ));
            }
        }
    }
    Ok(Value::Object(f))
}

pub(crate) fn normalize_retry(retry: Option<&Value>) -> Result<Value, StoreError> {
    let r = retry
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !r.is_object() {
        return Err(StoreError::invalid("retryPolicy must be an object."));
    }
    for field in ["maxDeliveryAttempts", "eventTimeToLiveInMinutes"] {
        if r.get(field).is_some_and(|v| !v.is_null() && !v.is_i64()) {
            return Err(StoreError::invalid(format!(
                "retryPolicy.{field} must be an integer."
            )));
        }
    }
    let attempts = r
        .get("maxDeliveryAttempts")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    let ttl = r
        .get("eventTimeToLiveInMinutes")
        .and_then(Value::as_i64)
        .unwrap_or(1440);
    if !(1..=30).contains(&attempts) {
        return Err(StoreError::invalid(
            "retryPolicy.maxDeliveryAttempts must be between 1 and 30.",
        ));
    }
    if !(1..=1440).contains(&ttl) {
        return Err(StoreError::invalid(
            "retryPolicy.eventTimeToLiveInMinutes must be between 1 and 1440.",
        ));
    }
    Ok(json!({"maxDeliveryAttempts": attempts, "eventTimeToLiveInMinutes": ttl}))
}

/// `labels`: an array of strings, or null.
pub(crate) fn normalize_labels(labels: Option<&Value>) -> Result<Value, StoreError> {
    match labels {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            Ok(Value::Array(items.clone()))
        }
        Some(_) => Err(StoreError::invalid("labels must be an array of strings.")),
    }
}
