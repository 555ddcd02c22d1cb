//! Checks a positioned YAML node against the manifest JSON Schema and converts it to JSON.
//!
//! A small interpreter for the subset of JSON Schema that `manifest::schema` emits (`$ref`,
//! `type`, `properties`, `additionalProperties`, `required`, `enum`, `const`, `anyOf`,
//! `allOf` with `if`/`then`, ranges, lengths, `pattern`, `items`, `format: date-time`). It reports
//! every problem at the key or value that causes it, with "did you mean" hints, instead of the
//! first one (serde) or a bare JSON pointer (generic validators). Plain scalars are typed by the
//! schema: `1.0` where a string is expected is the string `"1.0"`; quotes force a string.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::keywords::{CompiledSchema, Keywords, Types};
use super::schema::name_rule;
use super::walk::{Ctx, Problems, Step};
use super::words::{describe, shown, type_words};
use super::yaml::{Node, Plain, Pos, Value as Yaml, is_null, resolve_plain};
use crate::model::ResourceKind;
use crate::model::spec::GUID_PATTERN;

pub use super::words::did_you_mean;

/// A problem found by the checker, before it is tied to a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

#[cfg(test)]
thread_local! {
    /// How many schema nodes this thread walked (tests: the work grows linearly).
    pub(crate) static WALKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Checks nodes against one root schema.
pub struct Checker<'s> {
    root: &'s Value,
    /// Every schema object's keywords, read once (not per YAML node).
    schema: CompiledSchema<'s>,
    regexes: RefCell<HashMap<&'s str, Option<Regex>>>,
}

impl<'s> Checker<'s> {
    /// A checker for `root` (the output of `manifest_schema`).
    pub fn new(root: &'s Value) -> Self {
        Self {
            root,
            schema: CompiledSchema::new(root),
            regexes: RefCell::new(HashMap::new()),
        }
    }

    /// Checks a document; returns the typed JSON and every problem.
    pub fn check(&self, node: &Node) -> (Value, Vec<Problem>) {
        let mut problems = Problems::collect();
        let ctx = Ctx {
            parent: None,
            step: Step::Root,
            key_pos: node.pos,
        };
        let value = self.walk(self.root, node, &ctx, &mut problems);
        (value, problems.list)
    }

    fn walk(&self, schema: &'s Value, node: &Node, ctx: &Ctx, out: &mut Problems) -> Value {
        #[cfg(test)]
        WALKS.with(|n| n.set(n.get() + 1));
        let (schema, kw) = self.schema.resolved(schema);
        if let Some(branches) = kw.any_of {
            return self.walk_any_of(branches, node, ctx, out);
        }
        let mut value = if kw.typed {
            self.check_type(schema, kw, node, ctx, out)
        } else {
            self.convert_untyped(kw, node, ctx, out)
        };
        if let Some(allowed) = kw.enumeration {
            self.check_enum(allowed, &value, node, ctx, out);
        }
        if let Some(expected) = kw.constant {
            self.check_enum(std::slice::from_ref(expected), &value, node, ctx, out);
        }
        for part in kw.all_of.unwrap_or_default() {
            let (part, part_kw) = self.schema.resolved(part);
            let sub = match (part_kw.condition, part_kw.then) {
                (Some(cond), Some(then)) => {
                    let mut scratch = Problems::condition();
                    self.walk(cond, node, ctx, &mut scratch);
                    if !scratch.is_empty() {
                        continue;
                    }
                    self.walk(then, node, ctx, out)
                }
                _ => self.walk(part, node, ctx, out),
            };
            merge(&mut value, sub);
        }
        value
    }

    fn walk_any_of(
        &self,
        branches: &'s [Value],
        node: &Node,
        ctx: &Ctx,
        out: &mut Problems,
    ) -> Value {
        let is_null_schema = |b: &Value| self.schema.get(b).null_only;
        if is_null(node) && branches.iter().any(is_null_schema) {
            return Value::Null;
        }
        let mut real = branches.iter().filter(|b| !is_null_schema(b));
        for branch in real.clone() {
            let mut scratch = Problems::trial();
            let value = self.walk(branch, node, ctx, &mut scratch);
            if scratch.is_empty() {
                return value;
            }
        }
        match real.next() {
            Some(first) => self.walk(first, node, ctx, out),
            None => Value::Null,
        }
    }

    /// Objects without `type` (the `if` of a branch, the name-rule overlay).
    fn convert_untyped(
        &self,
        kw: &Keywords<'s>,
        node: &Node,
        ctx: &Ctx,
        out: &mut Problems,
    ) -> Value {
        if kw.has_properties || kw.has_required {
            if let Yaml::Map(_) = node.value {
                return self.check_object(kw, node, ctx, out);
            }
            return Value::Null;
        }
        if kw.enumeration.is_some() || kw.constant.is_some() {
            return scalar_as_json(node);
        }
        Value::Null
    }

    fn check_type(
        &self,
        schema: &'s Value,
        kw: &Keywords<'s>,
        node: &Node,
        ctx: &Ctx,
        out: &mut Problems,
    ) -> Value {
        let types = kw.types;
        if types.has(Types::NULL) && is_null(node) {
            return Value::Null;
        }
        match &node.value {
            Yaml::Map(_) if types.has(Types::OBJECT) => {
                return self.check_object(kw, node, ctx, out);
            }
            Yaml::Seq(items) if types.has(Types::ARRAY) => {
                return self.check_array(kw, items, node, ctx, out);
            }
            Yaml::Scalar { text, plain } => {
                let resolved = if *plain {
                    resolve_plain(text)
                } else {
                    Plain::Str
                };
                if types.has(Types::INTEGER)
                    && let Plain::Int(n) = resolved
                {
                    self.check_range(kw, n as f64, node, ctx, out);
                    return Value::from(n);
                }
                if types.has(Types::NUMBER) {
                    let n = match resolved {
                        Plain::Int(n) => Some(n as f64),
                        Plain::Float(f) => Some(f),
                        _ => None,
                    };
                    if let Some(n) = n {
                        self.check_range(kw, n, node, ctx, out);
                        return serde_json::Number::from_f64(n)
                            .map(Value::Number)
                            .unwrap_or(Value::Null);
                    }
                }
                if types.has(Types::BOOLEAN)
                    && let Plain::Bool(b) = resolved
                {
                    return Value::Bool(b);
                }
                if types.has(Types::STRING) && resolved != Plain::Null {
                    self.check_string(schema, kw, text, node, ctx, out);
                    return Value::String(text.clone());
                }
            }
            _ => {}
        }
        out.push(|| wrong_type(&kw.type_names, node, ctx));
        Value::Null
    }

    fn check_object(&self, kw: &Keywords<'s>, node: &Node, ctx: &Ctx, out: &mut Problems) -> Value {
        let Some(entries) = node.entries() else {
            return Value::Null;
        };
        let props = kw.properties;
        let additional = kw.additional;
        let mut result = Map::new();
        // Fields that an unknown key was taken for: their "missing required field" would only
        // repeat the "did you mean" of the unknown key (`values` on `BoolEquals`).
        let mut suggested: Vec<&str> = Vec::new();
        for entry in entries {
            let child_ctx = Ctx {
                parent: Some(ctx),
                step: Step::Key(&entry.key),
                key_pos: entry.key_pos,
            };
            if let Some(sub) = props.and_then(|p| p.get(&entry.key)) {
                let v = self.walk(sub, &entry.value, &child_ctx, out);
                if out.wants_values() {
                    result.insert(entry.key.clone(), v);
                }
            } else if let Some(extra @ Value::Object(_)) = additional {
                let v = self.walk(extra, &entry.value, &child_ctx, out);
                if out.wants_values() {
                    result.insert(entry.key.clone(), v);
                }
            } else if additional == Some(&Value::Bool(false)) {
                out.push(|| {
                    let known: Vec<&str> = props
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let hint = match did_you_mean(&entry.key, &known) {
                        Some(s) => {
                            suggested.push(s);
                            format!("did you mean `{s}`?")
                        }
                        None => format!("expected one of: {}", known.join(", ")),
                    };
                    Problem {
                        pos: entry.key_pos,
                        message: format!("unknown field `{}` in {}", entry.key, place(ctx)),
                        hint: Some(hint),
                    }
                });
            }
        }
        if let Some(required) = kw.required {
            for name in required.iter().filter_map(Value::as_str) {
                if node.entry(name).is_none() && !suggested.contains(&name) {
                    out.push(|| Problem {
                        pos: ctx.key_pos,
                        message: format!("missing required field `{name}` in {}", place(ctx)),
                        hint: None,
                    });
                }
            }
        }
        Value::Object(result)
    }

    fn check_array(
        &self,
        kw: &Keywords<'s>,
        items: &[Node],
        node: &Node,
        ctx: &Ctx,
        out: &mut Problems,
    ) -> Value {
        let n = items.len() as u64;
        if let Some(max) = kw.max_items
            && n > max
        {
            out.push(|| Problem {
                pos: node.pos,
                message: format!(
                    "`{}` has {n} entries; at most {max} are allowed",
                    ctx.path()
                ),
                hint: None,
            });
        }
        if let Some(min) = kw.min_items
            && n < min
        {
            out.push(|| Problem {
                pos: node.pos,
                message: format!(
                    "`{}` has {n} entries; at least {min} are required",
                    ctx.path()
                ),
                hint: None,
            });
        }
        let item_schema = kw.items;
        let values = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let child = Ctx {
                    parent: Some(ctx),
                    step: Step::Index(i),
                    key_pos: item.pos,
                };
                match item_schema {
                    Some(s) => self.walk(s, item, &child, out),
                    None => scalar_as_json(item),
                }
            })
            .collect();
        Value::Array(values)
    }

    fn check_range(&self, kw: &Keywords<'s>, n: f64, node: &Node, ctx: &Ctx, out: &mut Problems) {
        let (min, max) = (kw.minimum, kw.maximum);
        let below = min.is_some_and(|m| n < m);
        let above = max.is_some_and(|m| n > m);
        if !(below || above) {
            return;
        }
        let bound = match (min, max) {
            (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
            (Some(lo), None) => format!("at least {lo}"),
            (None, Some(hi)) => format!("at most {hi}"),
            (None, None) => return,
        };
        out.push(|| Problem {
            pos: node.pos,
            message: format!(
                "`{}` must be {bound}, found {}",
                ctx.path(),
                shown(node, &n.to_string())
            ),
            hint: None,
        });
    }

    fn check_string(
        &self,
        schema: &Value,
        kw: &Keywords<'s>,
        text: &str,
        node: &Node,
        ctx: &Ctx,
        out: &mut Problems,
    ) {
        let len = text.chars().count() as u64;
        if let Some(max) = kw.max_length
            && len > max
        {
            out.push(|| Problem {
                pos: node.pos,
                message: format!(
                    "`{}` is {len} characters long; at most {max} are allowed",
                    ctx.path()
                ),
                hint: None,
            });
        }
        if let Some(min) = kw.min_length
            && len < min
        {
            out.push(|| Problem {
                pos: node.pos,
                message: format!(
                    "`{}` is {len} characters long; at least {min} are required",
                    ctx.path()
                ),
                hint: None,
            });
        }
        if let Some(pattern) = kw.pattern
            && !self.matches(pattern, text)
        {
            out.push(|| Problem {
                pos: node.pos,
                message: format!(
                    "invalid `{}` {}: expected {}",
                    ctx.path(),
                    shown(node, &format!("`{text}`")),
                    pattern_words(schema, pattern)
                ),
                hint: None,
            });
        }
        if kw.date_time && chrono::DateTime::parse_from_rfc3339(text).is_err() {
            out.push(|| Problem {
                pos: node.pos,
                message: format!("`{}` is not an RFC 3339 date-time", ctx.path()),
                hint: Some("write it like `2027-01-31T00:00:00Z`".into()),
            });
        }
    }

    fn matches(&self, pattern: &'s str, text: &str) -> bool {
        let mut cache = self.regexes.borrow_mut();
        let re = cache
            .entry(pattern)
            .or_insert_with(|| Regex::new(pattern).ok());
        re.as_ref().is_none_or(|re| re.is_match(text))
    }

    fn check_enum(
        &self,
        allowed: &[Value],
        value: &Value,
        node: &Node,
        ctx: &Ctx,
        out: &mut Problems,
    ) {
        if value.is_null() || allowed.contains(value) {
            return;
        }
        out.push(|| {
            let names: Vec<String> = allowed
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            let got = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = match did_you_mean(&got, &refs) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("expected one of: {}", names.join(", ")),
            };
            Problem {
                pos: node.pos,
                message: format!(
                    "{} is not a valid `{}`",
                    shown(node, &format!("`{got}`")),
                    ctx.path()
                ),
                hint: Some(hint),
            }
        });
    }
}

/// What a `pattern` expects, in words.
fn pattern_words(schema: &Value, pattern: &str) -> String {
    match schema.get("x-message").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        None if pattern == GUID_PATTERN => {
            "a GUID such as `00000000-0000-0000-0000-000000000000`".into()
        }
        None if pattern.starts_with("^[a-z0-9](?:[a-z0-9]|-[a-z0-9])") => {
            "3–63 lowercase letters, digits and single `-` between them".into()
        }
        None => match ResourceKind::ALL
            .into_iter()
            .map(name_rule)
            .find(|r| r.pattern == pattern)
        {
            Some(rule) => rule.message.to_string(),
            None => format!("text matching `{pattern}`"),
        },
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if !v.is_null() => merge(existing, v),
                    Some(_) => {}
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot @ Value::Null, from) => *slot = from,
        (slot, from) if !from.is_null() && !from.is_object() => *slot = from,
        _ => {}
    }
}

fn scalar_as_json(node: &Node) -> Value {
    match &node.value {
        Yaml::Scalar { text, plain: true } => match resolve_plain(text) {
            Plain::Null => Value::Null,
            Plain::Bool(b) => Value::Bool(b),
            Plain::Int(n) => Value::from(n),
            Plain::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            Plain::Str => Value::String(text.clone()),
        },
        Yaml::Scalar { text, .. } => Value::String(text.clone()),
        _ => Value::Null,
    }
}

/// `the document` at the root, else the quoted path.
fn place(ctx: &Ctx) -> String {
    if ctx.is_root() {
        "the document".to_string()
    } else {
        format!("`{}`", ctx.path())
    }
}

/// `` `path` must be a string, found … `` (or "has no value" for a null).
fn wrong_type(types: &[&str], node: &Node, ctx: &Ctx) -> Problem {
    let expected = types
        .iter()
        .filter(|t| **t != "null")
        .map(|t| type_words(t))
        .collect::<Vec<_>>()
        .join(" or ");
    let path = ctx.path();
    let mut problem = Problem {
        pos: node.pos,
        message: format!("`{path}` must be {expected}, found {}", describe(node)),
        hint: None,
    };
    if let Yaml::Scalar { plain: false, text } = &node.value
        && (types.contains(&"integer") || types.contains(&"number") || types.contains(&"boolean"))
        && resolve_plain(text) != Plain::Str
    {
        problem.hint = Some("remove the quotes".into());
    }
    if is_null(node) {
        problem.message = format!("`{path}` has no value; it must be {expected}");
    }
    problem
}
