//! The schema checker's precompiled schema: what each schema object of the manifest schema says
//! (its keywords, its `$ref` resolved, its `type` as a set), read once when the checker is made
//! instead of by a `serde_json` lookup by string for each of ~20 keywords at every YAML node of
//! every document. Must not walk YAML or word messages (`check`, `words` do).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::{Map, Value};

/// A set of JSON Schema type names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Types(u8);

impl Types {
    pub(super) const NULL: Self = Self(1);
    pub(super) const OBJECT: Self = Self(2);
    pub(super) const ARRAY: Self = Self(4);
    pub(super) const INTEGER: Self = Self(8);
    pub(super) const NUMBER: Self = Self(16);
    pub(super) const BOOLEAN: Self = Self(32);
    pub(super) const STRING: Self = Self(64);

    fn of(name: &str) -> Self {
        match name {
            "null" => Self::NULL,
            "object" => Self::OBJECT,
            "array" => Self::ARRAY,
            "integer" => Self::INTEGER,
            "number" => Self::NUMBER,
            "boolean" => Self::BOOLEAN,
            "string" => Self::STRING,
            _ => Self(0),
        }
    }

    pub(super) fn has(self, t: Self) -> bool {
        self.0 & t.0 != 0
    }
}

/// What one schema object says, as the checker reads it.
#[derive(Debug, Default)]
pub(super) struct Keywords<'s> {
    /// `$ref`: the schema it names (chains followed; `true` when it names nothing).
    pub(super) reference: Option<&'s Value>,
    pub(super) any_of: Option<&'s [Value]>,
    /// `type` is present (even when it names no known type).
    pub(super) typed: bool,
    /// `type`'s names in schema order (for messages) and as a set.
    pub(super) type_names: Vec<&'s str>,
    pub(super) types: Types,
    /// `type` is exactly `"null"` (the null branch of an `anyOf`).
    pub(super) null_only: bool,
    pub(super) enumeration: Option<&'s [Value]>,
    pub(super) constant: Option<&'s Value>,
    pub(super) all_of: Option<&'s [Value]>,
    pub(super) condition: Option<&'s Value>,
    pub(super) then: Option<&'s Value>,
    /// `properties` is present; its map when it is one.
    pub(super) has_properties: bool,
    pub(super) properties: Option<&'s Map<String, Value>>,
    pub(super) additional: Option<&'s Value>,
    pub(super) has_required: bool,
    pub(super) required: Option<&'s [Value]>,
    pub(super) items: Option<&'s Value>,
    pub(super) min_items: Option<u64>,
    pub(super) max_items: Option<u64>,
    pub(super) minimum: Option<f64>,
    pub(super) maximum: Option<f64>,
    pub(super) min_length: Option<u64>,
    pub(super) max_length: Option<u64>,
    pub(super) pattern: Option<&'s str>,
    pub(super) date_time: bool,
}

/// The keywords of a schema that is not an object (`true`, a broken `$ref`): none.
static NONE: Keywords<'static> = Keywords {
    reference: None,
    any_of: None,
    typed: false,
    type_names: Vec::new(),
    types: Types(0),
    null_only: false,
    enumeration: None,
    constant: None,
    all_of: None,
    condition: None,
    then: None,
    has_properties: false,
    properties: None,
    additional: None,
    has_required: false,
    required: None,
    items: None,
    min_items: None,
    max_items: None,
    minimum: None,
    maximum: None,
    min_length: None,
    max_length: None,
    pattern: None,
    date_time: false,
};

/// What a broken `$ref` resolves to: accept anything.
static ANYTHING: Value = Value::Bool(true);

/// Hashes a schema object's address: addresses are unique and need no SipHash.
#[derive(Default)]
pub(super) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // Fibonacci hashing: spreads aligned addresses over the table.
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every schema object reachable from the root, by address.
pub(super) struct CompiledSchema<'s> {
    by_address: HashMap<usize, Keywords<'s>, BuildHasherDefault<AddressHasher>>,
}

impl<'s> CompiledSchema<'s> {
    /// Reads every schema object under `root` once.
    pub(super) fn new(root: &'s Value) -> Self {
        let mut compiled = Self {
            by_address: HashMap::default(),
        };
        compiled.visit(root, root);
        compiled
    }

    fn visit(&mut self, root: &'s Value, v: &'s Value) {
        match v {
            Value::Object(map) => {
                self.by_address.insert(address(v), keywords_of(root, map));
                map.values().for_each(|child| self.visit(root, child));
            }
            Value::Array(items) => items.iter().for_each(|child| self.visit(root, child)),
            _ => {}
        }
    }

    /// The keywords of `schema` (none for anything that is not a schema object of the root).
    pub(super) fn get(&self, schema: &Value) -> &Keywords<'s> {
        self.by_address.get(&address(schema)).unwrap_or(&NONE)
    }

    /// `schema`, or what its `$ref` names, with its keywords.
    pub(super) fn resolved(&self, schema: &'s Value) -> (&'s Value, &Keywords<'s>) {
        let keywords = self.get(schema);
        match keywords.reference {
            Some(target) => (target, self.get(target)),
            None => (schema, keywords),
        }
    }
}

fn address(v: &Value) -> usize {
    std::ptr::from_ref(v) as usize
}

fn keywords_of<'s>(root: &'s Value, map: &'s Map<String, Value>) -> Keywords<'s> {
    let get = |k: &str| map.get(k);
    let type_names: Vec<&str> = match get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let types = Types(type_names.iter().fold(0, |acc, t| acc | Types::of(t).0));
    Keywords {
        reference: get("$ref")
            .and_then(Value::as_str)
            .map(|r| target_of(root, r).unwrap_or(&ANYTHING)),
        any_of: get("anyOf").and_then(Value::as_array).map(Vec::as_slice),
        typed: get("type").is_some(),
        null_only: get("type").and_then(Value::as_str) == Some("null"),
        type_names,
        types,
        enumeration: get("enum").and_then(Value::as_array).map(Vec::as_slice),
        constant: get("const"),
        all_of: get("allOf").and_then(Value::as_array).map(Vec::as_slice),
        condition: get("if"),
        then: get("then"),
        has_properties: get("properties").is_some(),
        properties: get("properties").and_then(Value::as_object),
        additional: get("additionalProperties"),
        has_required: get("required").is_some(),
        required: get("required").and_then(Value::as_array).map(Vec::as_slice),
        items: get("items"),
        min_items: get("minItems").and_then(Value::as_u64),
        max_items: get("maxItems").and_then(Value::as_u64),
        minimum: get("minimum").and_then(Value::as_f64),
        maximum: get("maximum").and_then(Value::as_f64),
        min_length: get("minLength").and_then(Value::as_u64),
        max_length: get("maxLength").and_then(Value::as_u64),
        pattern: get("pattern").and_then(Value::as_str),
        date_time: get("format").and_then(Value::as_str) == Some("date-time"),
    }
}

/// The schema a `$ref` names, following a chain of bare `$ref`s; a cycle or a dangling
/// reference names nothing.
fn target_of<'s>(root: &'s Value, reference: &str) -> Option<&'s Value> {
    let mut target = root.pointer(reference.strip_prefix('#')?)?;
    for _ in 0..32 {
        let Some(next) = target.get("$ref").and_then(Value::as_str) else {
            return Some(target);
        };
        target = root.pointer(next.strip_prefix('#')?)?;
    }
    None
}
