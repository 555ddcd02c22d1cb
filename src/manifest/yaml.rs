//! A YAML tree that remembers where every key and value came from.
//!
//! serde_yaml reports at most the first error and drops positions after parsing, so manifests
//! are read through yaml-rust2's event parser into this tree instead; every later check can then
//! point at the offending key or value. Scalars keep their text and whether they were quoted:
//! typing happens against the schema (`manifest::check`), not here.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

impl Pos {
    fn from_marker(m: Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Self {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value.
    pub value: Value,
    /// Set when the value came (partly) from a secret environment variable.
    pub secret: bool,
}

/// A YAML value before typing.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar with its text; `plain` is false for quoted and block scalars.
    Scalar {
        /// The text after unescaping.
        text: String,
        /// Unquoted (subject to null/bool/number resolution).
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in source order.
    Map(Vec<Entry>),
}

/// One key/value pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key text.
    pub key: String,
    /// Where the key is.
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

/// A problem found while reading YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlProblem {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// One `---` document: its root node, or `None` when the document is empty.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where the document starts.
    pub pos: Pos,
    /// The root.
    pub root: Option<Node>,
}

impl Node {
    /// The mapping entries, if this is a mapping.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entry for `key`, if this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.key == key)
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A short description of the value's YAML type for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar { text, plain } => {
                if !plain {
                    "a string"
                } else {
                    match resolve_plain(text) {
                        Plain::Null => "null",
                        Plain::Bool(_) => "a boolean",
                        Plain::Int(_) | Plain::Float(_) => "a number",
                        Plain::Str => "a string",
                    }
                }
            }
        }
    }
}

/// What a plain scalar means under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plain {
    /// `null`, `~` or empty.
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// Anything else.
    Str,
}

/// Resolves a plain scalar per the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> Plain {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = text.parse::<i64>()
    {
        return Plain::Int(n);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(n) = i64::from_str_radix(hex, 16)
    {
        return Plain::Int(n);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(n) = i64::from_str_radix(oct, 8)
    {
        return Plain::Int(n);
    }
    let looks_numeric = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_numeric
        && let Ok(f) = text.parse::<f64>()
        && f.is_finite()
    {
        return Plain::Float(f);
    }
    Plain::Str
}

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<Entry>, Option<(String, Pos)>),
}

#[derive(Default)]
struct Builder {
    docs: Vec<Document>,
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, Node>,
    current_root: Option<Node>,
    doc_pos: Pos,
    problems: Vec<YamlProblem>,
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.current_root = Some(node),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, pending)) => match pending.take() {
                None => {
                    // This node is a key.
                    let key = match &node.value {
                        Value::Scalar { text, .. } => text.clone(),
                        _ => {
                            self.problems.push(YamlProblem {
                                pos: node.pos,
                                message: "mapping keys must be plain strings".into(),
                            });
                            String::new()
                        }
                    };
                    if let Some(first) = entries.iter().find(|e| e.key == key) {
                        self.problems.push(YamlProblem {
                            pos: node.pos,
                            message: format!(
                                "duplicate key `{key}` (first defined at line {})",
                                first.key_pos.line
                            ),
                        });
                    }
                    *pending = Some((key, node.pos));
                }
                Some((key, key_pos)) => entries.push(Entry {
                    key,
                    key_pos,
                    value: node,
                }),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        match event {
            Event::DocumentStart => {
                self.doc_pos = pos;
                self.current_root = None;
            }
            Event::DocumentEnd => {
                self.docs.push(Document {
                    pos: self.doc_pos,
                    root: self.current_root.take(),
                });
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = matches!(style, TScalarStyle::Plain);
                let node = Node {
                    pos,
                    value: Value::Scalar { text, plain },
                    secret: false,
                };
                self.push_node(node, anchor);
            }
            Event::Alias(id) => {
                let node = match self.anchors.get(&id) {
                    Some(n) => n.clone(),
                    None => {
                        self.problems.push(YamlProblem {
                            pos,
                            message: "unknown alias".into(),
                        });
                        Node {
                            pos,
                            value: Value::Scalar {
                                text: String::new(),
                                plain: true,
                            },
                            secret: false,
                        }
                    }
                };
                self.push_node(node, 0);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(pos, anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(pos, anchor, Vec::new(), None))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(p, anchor, items)) = self.stack.pop() {
                    let node = Node {
                        pos: p,
                        value: Value::Seq(items),
                        secret: false,
                    };
                    self.push_node(node, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(p, anchor, entries, _)) = self.stack.pop() {
                    // yaml-rust2 marks a block mapping's start at its first `:`; report it at its
                    // first key instead (a flow mapping's `{` comes first and is kept).
                    let p = entries.first().map_or(p, |e| p.min(e.key_pos));
                    let node = Node {
                        pos: p,
                        value: Value::Map(entries),
                        secret: false,
                    };
                    self.push_node(node, anchor);
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
        }
    }
}

/// Parses every document of `src`. A syntax error stops the file (YAML cannot be resumed after
/// one) and is returned with its position; structural problems (duplicate keys, bad aliases) are
/// returned alongside the documents.
pub fn parse(src: &str) -> Result<(Vec<Document>, Vec<YamlProblem>), YamlProblem> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(src);
    parser.load(&mut builder, true).map_err(|e| YamlProblem {
        pos: Pos::from_marker(*e.marker()),
        message: e.info().to_string(),
    })?;
    Ok((builder.docs, builder.problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_keys_and_values() {
        let (docs, problems) = parse("a: 1\nb:\n  c: [x, 'y']\n---\nd: true\n").unwrap();
        assert!(problems.is_empty());
        assert_eq!(docs.len(), 2);
        let root = docs[0].root.as_ref().unwrap();
        let b = root.entry("b").unwrap();
        assert_eq!(b.key_pos, Pos { line: 2, col: 1 });
        let c = b.value.entry("c").unwrap();
        assert_eq!(c.key_pos, Pos { line: 3, col: 3 });
        let Value::Seq(items) = &c.value.value else {
            panic!()
        };
        assert_eq!(items[1].pos, Pos { line: 3, col: 10 });
        assert_eq!(
            items[1].value,
            Value::Scalar {
                text: "y".into(),
                plain: false
            }
        );
        assert_eq!(
            docs[1]
                .root
                .as_ref()
                .unwrap()
                .entry("d")
                .unwrap()
                .key_pos
                .line,
            5
        );
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_are_reported_with_lines() {
        let (_, problems) = parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pos.line, 3);
        assert!(problems[0].message.contains("duplicate key `a`"));
        let err = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.pos.line >= 2, "{err:?}");
    }

    #[test]
    fn resolves_plain_scalars_like_yaml_1_2() {
        assert_eq!(resolve_plain("42"), Plain::Int(42));
        assert_eq!(resolve_plain("-7"), Plain::Int(-7));
        assert_eq!(resolve_plain("1.5"), Plain::Float(1.5));
        assert_eq!(resolve_plain("true"), Plain::Bool(true));
        assert_eq!(resolve_plain("~"), Plain::Null);
        assert_eq!(resolve_plain("yes"), Plain::Str);
        assert_eq!(resolve_plain("1.2.3"), Plain::Str);
        assert_eq!(resolve_plain("westeurope"), Plain::Str);
        assert_eq!(resolve_plain(".inf"), Plain::Str);
    }
}
