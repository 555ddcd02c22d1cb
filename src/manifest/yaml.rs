//! A YAML tree that remembers where every key and value came from.
//!
//! serde_yaml reports at most the first error and drops positions after parsing, so manifests
//! are read through yaml-rust2's event parser into this tree instead; every later check can then
//! point at the offending key or value. Scalars keep their text and whether they were quoted:
//! typing happens against the schema (`manifest::check`), not here. Hostile input is bounded
//! here, before any recursive code sees the tree: nesting stops at [`MAX_DEPTH`] levels and
//! aliases may add at most [`ALIAS_BUDGET`] nodes per file (an alias bomb is a few hundred bytes).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The deepest nesting of sequences and mappings (aliases included) a manifest may have.
pub const MAX_DEPTH: usize = 64;

/// How many nodes aliases may add to one file in total.
pub const ALIAS_BUDGET: usize = 100_000;

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

/// Whether `node` is a plain null (`~`, `null`, empty).
pub fn is_null(node: &Node) -> bool {
    matches!(&node.value, Value::Scalar { text, plain: true } if resolve_plain(text) == Plain::Null)
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

/// An anchored node with its node count and depth (what an alias to it adds).
struct Anchored {
    node: Node,
    size: usize,
    depth: usize,
}

#[derive(Default)]
struct Builder {
    docs: Vec<Document>,
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, Anchored>,
    current_root: Option<Node>,
    doc_pos: Pos,
    problems: Vec<YamlProblem>,
    /// Nodes added by aliases so far (against [`ALIAS_BUDGET`]).
    expanded: usize,
    /// A limit was exceeded: parsing stops here.
    fatal: Option<YamlProblem>,
}

/// Node count and depth (a scalar is 1 deep) of `node`; bounded by [`MAX_DEPTH`].
fn measure(node: &Node) -> (usize, usize) {
    let children: Box<dyn Iterator<Item = &Node>> = match &node.value {
        Value::Scalar { .. } => return (1, 1),
        Value::Seq(items) => Box::new(items.iter()),
        Value::Map(entries) => Box::new(entries.iter().map(|e| &e.value)),
    };
    children.fold((1, 1), |(size, depth), child| {
        let (s, d) = measure(child);
        (size.saturating_add(s), depth.max(d + 1))
    })
}

impl Builder {
    fn fail(&mut self, pos: Pos, message: String) {
        if self.fatal.is_none() {
            self.fatal = Some(YamlProblem { pos, message });
        }
    }

    /// Opens a sequence or mapping unless that nests deeper than [`MAX_DEPTH`].
    fn open(&mut self, frame: Frame, pos: Pos) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(
                pos,
                format!("nesting deeper than {MAX_DEPTH} levels (gridform's limit)"),
            );
        }
        self.stack.push(frame);
    }

    /// The node an alias stands for, unless it breaks the depth or the alias budget.
    fn expand_alias(&mut self, id: usize, pos: Pos) -> Option<Node> {
        let Some(anchored) = self.anchors.get(&id) else {
            self.problems.push(YamlProblem {
                pos,
                message: "unknown alias".into(),
            });
            return None;
        };
        let (size, depth) = (anchored.size, anchored.depth);
        if self.stack.len() + depth > MAX_DEPTH {
            self.fail(
                pos,
                format!("this alias nests deeper than {MAX_DEPTH} levels (gridform's limit)"),
            );
            return None;
        }
        self.expanded = self.expanded.saturating_add(size);
        if self.expanded > ALIAS_BUDGET {
            self.fail(
                pos,
                format!(
                    "aliases expand to more than {ALIAS_BUDGET} nodes (gridform's alias budget)"
                ),
            );
            return None;
        }
        Some(anchored.node.clone())
    }

    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let (size, depth) = measure(&node);
            let anchored = Anchored {
                node: node.clone(),
                size,
                depth,
            };
            self.anchors.insert(anchor, anchored);
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
                self.anchors.clear();
            }
            Event::DocumentEnd => {
                self.docs.push(Document {
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
                let node = self.expand_alias(id, pos).unwrap_or(Node {
                    pos,
                    value: Value::Scalar {
                        text: String::new(),
                        plain: true,
                    },
                    secret: false,
                });
                self.push_node(node, 0);
            }
            Event::SequenceStart(anchor, _) => self.open(Frame::Seq(pos, anchor, Vec::new()), pos),
            Event::MappingStart(anchor, _) => {
                self.open(Frame::Map(pos, anchor, Vec::new(), None), pos)
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
/// returned alongside the documents. Nesting past [`MAX_DEPTH`] or aliases past
/// [`ALIAS_BUDGET`] stop the file like a syntax error.
pub fn parse(src: &str) -> Result<(Vec<Document>, Vec<YamlProblem>), YamlProblem> {
    let mut builder = Builder::default();
    // A UTF-8 byte order mark is not part of the first key.
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut parser = Parser::new_from_str(src);
    // Events are pulled one by one: `Parser::load` recurses once per nesting level.
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlProblem {
            pos: Pos::from_marker(*e.marker()),
            // The scanner's own flow-nesting limit (255) speaks of recursion.
            message: match e.info() {
                "recursion limit exceeded" => {
                    format!("nesting deeper than {MAX_DEPTH} levels (gridform's limit)")
                }
                info => info.to_string(),
            },
        })?;
        if event == Event::StreamEnd {
            break;
        }
        builder.on_event(event, mark);
        if let Some(problem) = builder.fatal.take() {
            return Err(problem);
        }
    }
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

    /// `a0: &a0 [x, x, x, x]`, then each level lists the previous one four times.
    pub(crate) fn alias_bomb(levels: usize) -> String {
        let mut text = String::from("a0: &a0 [x, x, x, x]\n");
        for i in 1..=levels {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        text
    }

    #[test]
    fn an_alias_bomb_stops_at_the_budget_and_names_its_line() {
        // 4^9 = 262,144 nodes from 10 short lines.
        let err = parse(&alias_bomb(9)).unwrap_err();
        assert!(err.message.contains("alias budget"), "{err:?}");
        // 4 + 16 + … + 4^7 nodes by line 8 exceed the budget.
        assert_eq!(err.pos.line, 8, "{err:?}");
        // Below the budget aliases still work.
        let (docs, problems) = parse(&alias_bomb(3)).unwrap();
        assert!(problems.is_empty());
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn an_alias_chain_stops_at_the_depth_limit_and_names_its_line() {
        let mut text = String::from("a0: &a0 [x]\n");
        for i in 1..200 {
            text.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("deeper than 64"), "{err:?}");
        // Line n nests n + 1 levels below the root mapping.
        assert_eq!(err.pos.line, MAX_DEPTH - 1, "{err:?}");
    }

    #[test]
    fn deep_plain_nesting_stops_at_the_depth_limit() {
        let flow = format!("{}{}", "[".repeat(24_000), "]".repeat(24_000));
        let err = parse(&flow).unwrap_err();
        assert!(err.message.contains("deeper than 64"), "{err:?}");
        let block: String = (0..24_000).map(|_| "- ").collect::<String>() + "x\n";
        let err = parse(&block).unwrap_err();
        assert!(err.message.contains("deeper than 64"), "{err:?}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn aliases_within_a_document_resolve() {
        let (docs, problems) = parse("a: &x 1\nb: *x\n").unwrap();
        assert!(problems.is_empty());
        assert_eq!(
            docs[0].root.as_ref().unwrap().get("b").unwrap().as_str(),
            Some("1")
        );
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
