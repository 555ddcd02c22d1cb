//! `Sensitive<T>`: a value that must never be printed by accident; and the one scrubber of the
//! run's secret values.
//!
//! `Debug` and `Display` show `(sensitive)`; serialization writes the value (it goes to ARM), so
//! the type must never reach a renderer or a saved plan; those use digests instead. Text built
//! from what a server says (an error that echoes the request) cannot be typed that way, so every
//! line the process prints or logs goes through [`scrub_run`], which knows every secret value
//! [`register`]ed for the run (`spec.secrets` values, webhook query strings and their parameter
//! values, secret delivery attribute values). This module must not print or do I/O.

use std::fmt;
use std::sync::{OnceLock, RwLock};

/// The placeholder printed in place of a secret value.
pub const REDACTED: &str = "(sensitive)";

/// A secret value (webhook query strings, secret delivery attributes, keys, tokens).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself, for the few places that send it to an API. The name makes each use
    /// easy to find in review.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: serde::Serialize> serde::Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Sensitive<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
    fn inline_schema() -> bool {
        true
    }
}

/// Replaces every occurrence of each secret in `text` with `(sensitive)`: the last line of
/// defence for text built from values that are secret only because of where they came from.
pub fn scrub(text: &str, secrets: &[Sensitive<String>]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.0.is_empty() {
            out = out.replace(s.0.as_str(), REDACTED);
        }
    }
    out
}

/// Secret values shorter than this are not scrubbed from free text (a one-letter value would
/// blank out every such letter); `validate` has no business with them either way.
pub const MIN_SCRUBBED_LEN: usize = 3;

fn registry() -> &'static RwLock<Vec<String>> {
    static REGISTRY: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    REGISTRY.get_or_init(RwLock::default)
}

/// Whether a registered value spans lines (text can then not be scrubbed line by line).
pub fn registered_multiline() -> bool {
    let all = registry().read().unwrap_or_else(|e| e.into_inner());
    all.iter().any(|v| v.contains('\n'))
}

/// Adds secret values to the process-wide set that [`scrub_run`] removes from every printed or
/// logged line. Values shorter than [`MIN_SCRUBBED_LEN`] are skipped; longer ones are tried
/// first, so a value containing another is removed whole.
pub fn register<I: IntoIterator<Item = String>>(values: I) {
    let mut all = registry().write().unwrap_or_else(|e| e.into_inner());
    for v in values {
        if v.chars().count() >= MIN_SCRUBBED_LEN && !all.contains(&v) {
            all.push(v);
        }
    }
    all.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// `text` with every registered secret value replaced by `(sensitive)`.
pub fn scrub_run(text: &str) -> std::borrow::Cow<'_, str> {
    let all = registry().read().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|v| text.contains(v.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for v in all.iter() {
        out = out.replace(v.as_str(), REDACTED);
    }
    std::borrow::Cow::Owned(out)
}

/// The forms a webhook query string may come back in: the whole query, and each parameter's
/// value as written and percent-decoded.
pub fn query_secrets(query: &str) -> Vec<String> {
    let mut out = vec![query.to_string()];
    for pair in query.split('&') {
        let value = pair.split_once('=').map_or(pair, |(_, v)| v);
        out.push(value.to_string());
        out.push(percent_decoded(value));
    }
    out
}

/// `%XX` and `+` decoded (invalid escapes kept as written).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every secret value of a desired state: the `spec.secrets` variables' values, webhook query
/// strings, secret delivery attribute values and Graph `clientState`s (what [`register`] should
/// learn for a run).
pub fn secrets_of(state: &super::DesiredState) -> Vec<String> {
    let mut out: Vec<String> = state.secret_values.iter().map(|s| s.0.clone()).collect();
    for r in &state.resources {
        match &r.spec {
            super::desired::ResourceSpec::EventSubscription(spec) => {
                if let Ok(json) = serde_json::to_value(spec) {
                    json_secrets(&json, &mut out);
                }
            }
            super::desired::ResourceSpec::GraphSubscription(spec) => {
                out.push(spec.client_state.expose().clone());
            }
            _ => {}
        }
    }
    out
}

/// Every secret value in a JSON document built from a spec: query strings of `endpointUrl`s
/// and values of delivery attributes marked `isSecret`.
pub fn json_secrets(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(url) = map.get("endpointUrl").and_then(|v| v.as_str())
                && let Some((_, query)) = url.split_once('?')
            {
                out.extend(query_secrets(query));
            }
            if map.get("isSecret").and_then(|v| v.as_bool()) == Some(true)
                && let Some(v) = map.get("value").and_then(|v| v.as_str())
            {
                out.push(v.to_string());
            }
            map.values().for_each(|v| json_secrets(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_secrets(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Sensitive::new("canary-7f3a".to_string());
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(
            format!("{:#?}", Some(&s)),
            format!("Some(\n    {REDACTED},\n)")
        );
        assert_eq!(s.expose(), "canary-7f3a");
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let secrets = [
            Sensitive::new("k3y".to_string()),
            Sensitive::new(String::new()),
        ];
        assert_eq!(
            scrub("a k3y and k3y", &secrets),
            "a (sensitive) and (sensitive)"
        );
    }

    #[test]
    fn registered_values_are_scrubbed_from_any_text() {
        register(["reg-canary-1".to_string(), "ab".to_string()]);
        register(query_secrets("code=q%2Fcanary&x=1"));
        assert_eq!(scrub_run("id reg-canary-1 ab"), "id (sensitive) ab");
        assert_eq!(scrub_run("?code=q%2Fcanary&x=1"), "?(sensitive)");
        assert_eq!(scrub_run("?code=q%2Fcanary"), "?code=(sensitive)");
        assert_eq!(scrub_run("got q/canary"), "got (sensitive)");
        assert!(matches!(scrub_run("clean"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn secrets_are_found_in_spec_json() {
        let doc = serde_json::json!({"destination": {"endpointUrl": "https://h/x?code=k1",
            "deliveryAttributeMappings": [
                {"name": "a", "type": "Static", "value": "v-secret", "isSecret": true},
                {"name": "b", "type": "Static", "value": "plain", "isSecret": false}]}});
        let mut out = Vec::new();
        json_secrets(&doc, &mut out);
        assert!(out.contains(&"code=k1".to_string()) && out.contains(&"k1".to_string()));
        assert!(out.contains(&"v-secret".to_string()));
        assert!(!out.contains(&"plain".to_string()));
    }
}
