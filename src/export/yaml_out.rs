//! Writing exported documents as YAML text: keys in one stable order (the envelope first, then
//! names and discriminators, then the rest alphabetically), block style, strings quoted where
//! YAML would read them as something else (yaml-rust2's emitter decides), one `---` per
//! document. Pure: values in, text out; it must not decide what a document says.

use serde_json::Value;
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

/// Keys written before all others, in this order; the rest follow alphabetically.
const FIRST_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "name",
    "subscriptionId",
    "resourceGroup",
    "adopt",
    "protect",
    "endpointType",
    "operatorType",
    "type",
    "key",
    "topic",
    // A GraphSubscription's what-and-where.
    "resource",
    "changeType",
    "partnerTopic",
];

fn key_rank(key: &str) -> (usize, &str) {
    let rank = FIRST_KEYS
        .iter()
        .position(|k| *k == key)
        .unwrap_or(FIRST_KEYS.len());
    (rank, key)
}

/// The YAML tree of a JSON value, with object keys in the stable order.
fn to_yaml(v: &Value) -> Yaml {
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(to_yaml).collect()),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| key_rank(a).cmp(&key_rank(b)));
            let mut hash = Hash::new();
            for k in keys {
                hash.insert(Yaml::String(k.clone()), to_yaml(&map[k.as_str()]));
            }
            Yaml::Hash(hash)
        }
    }
}

/// `header` (comment lines, each ending in a newline) followed by every document.
pub fn file_text(header: &str, documents: &[Value]) -> Result<String, std::fmt::Error> {
    let mut out = header.to_string();
    for doc in documents {
        let mut text = String::new();
        YamlEmitter::new(&mut text)
            .dump(&to_yaml(doc))
            .map_err(|_| std::fmt::Error)?;
        out.push_str(&text);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_keys_come_first_and_ambiguous_strings_are_quoted() {
        let doc = json!({"spec": {"b": "1.2", "a": "true", "endpointType": "WebHook"},
                         "metadata": {"name": "x"}, "kind": "Topic", "apiVersion": "gridform/v1"});
        let text = file_text("# h\n", &[doc]).unwrap();
        assert_eq!(
            text,
            "# h\n---\napiVersion: gridform/v1\nkind: Topic\nmetadata:\n  name: x\nspec:\n  endpointType: WebHook\n  a: \"true\"\n  b: \"1.2\"\n"
        );
    }
}
