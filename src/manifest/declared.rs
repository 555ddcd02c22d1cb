//! What the documents declare, read from their trees whether or not they pass the schema: kind,
//! name, identity, the Stack's defaults, and which files could not be read at all. Owns the
//! cross-document checks that need only that (duplicates, references, the Stack count), so that
//! a schema error in one document hides no problem of another, and so that a document or file
//! that cannot be read causes no follow-on errors. Must not type specs or check one document's
//! fields (`check` and `semantic` do).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::check::{Problem, did_you_mean};
use super::diagnostic::Diagnostic;
use super::semantic::{FileProblem, StackDefaults, locate};
use super::yaml::{Node, Pos};
use crate::model::ResourceKind;
use crate::model::spec::StackSpec;

/// One document as far as its tree tells, schema errors or not.
pub struct Declared<'a> {
    /// Which file (index into the caller's sources).
    pub file: usize,
    /// Its tree.
    pub root: &'a Node,
    /// `kind` as written, when it is a string.
    pub kind_text: Option<String>,
    /// `kind`, when it names a known kind.
    pub kind: Option<ResourceKind>,
    /// `metadata.name`, `default` when absent.
    pub name: String,
}

/// Reads what each document declares.
pub fn read_declared<'a>(docs: &[(usize, &'a Node)]) -> Vec<Declared<'a>> {
    docs.iter()
        .map(|&(file, root)| {
            let kind_text = text_at(root, &["kind"]);
            let kind = kind_text
                .as_deref()
                .and_then(|t| ResourceKind::ALL.into_iter().find(|k| k.as_str() == t));
            Declared {
                file,
                root,
                kind_text,
                kind,
                name: text_at(root, &["metadata", "name"]).unwrap_or_else(|| "default".into()),
            }
        })
        .collect()
}

/// The texts of files with YAML syntax errors: their documents are unknown, so a name they might
/// declare must not be reported as missing.
pub struct Unreadable<'a> {
    /// The whole text of each such file.
    pub texts: Vec<&'a str>,
}

impl Unreadable<'_> {
    /// Whether an unreadable file might declare something spelled `token`: its text contains it,
    /// or a `${env:…}` reference that could expand to it.
    pub fn may_declare(&self, token: &str) -> bool {
        self.texts
            .iter()
            .any(|t| t.contains(token) || t.contains("${env:"))
    }
}

pub(super) fn text_at(node: &Node, path: &[&str]) -> Option<String> {
    node_at(node, path)?.as_str().map(str::to_string)
}

fn node_at<'n>(node: &'n Node, path: &[&str]) -> Option<&'n Node> {
    let mut cur = node;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// The Stack's defaults: all of them when the first Stack is schema-valid (`typed`); otherwise
/// those of its fields that can be read, marked incomplete so that no missing default is reported
/// (the Stack's own errors, the missing Stack or the unreadable file say what is wrong).
pub fn stack_defaults(declared: &[Declared], typed: Option<&StackSpec>) -> StackDefaults {
    if let Some(spec) = typed {
        return StackDefaults {
            resource_group: spec.resource_group.clone(),
            location: spec.location.clone(),
            auth0: spec.auth0.is_some(),
            complete: true,
        };
    }
    let stack = declared
        .iter()
        .find(|d| d.kind == Some(ResourceKind::Stack));
    let field = |path: &[&str]| stack.and_then(|d| text_at(d.root, path));
    StackDefaults {
        resource_group: field(&["spec", "resourceGroup"]),
        location: field(&["spec", "location"]),
        auth0: field(&["spec", "auth0", "tenantDomain"]).is_some(),
        complete: false,
    }
}

/// What makes two documents the same resource: the kind and a name in its namespace.
fn identity(d: &Declared, kind: ResourceKind, stack: &StackDefaults) -> String {
    match kind {
        ResourceKind::EventSubscription => {
            let parent = match (
                text_at(d.root, &["spec", "topic", "kind"]),
                text_at(d.root, &["spec", "topic", "name"]),
                text_at(d.root, &["spec", "scope"]),
            ) {
                (Some(k), Some(n), _) => format!("{k}/{n}"),
                (_, _, Some(scope)) => scope.to_lowercase(),
                _ => String::new(),
            };
            format!("{parent}/{}", d.name.to_lowercase())
        }
        ResourceKind::Auth0LogStream | ResourceKind::GraphSubscription => d.name.clone(),
        ResourceKind::ProviderRegistration | ResourceKind::ResourceGroup => d.name.to_lowercase(),
        _ => {
            let rg = text_at(d.root, &["metadata", "resourceGroup"])
                .or_else(|| stack.resource_group.clone())
                .unwrap_or_default();
            format!("{}/{}", rg.to_lowercase(), d.name.to_lowercase())
        }
    }
}

/// Every document declared a second time, reported at the second with the place of the first.
/// Stacks are left to [`check_stack_count`].
pub fn check_duplicates(
    declared: &[Declared],
    stack: &StackDefaults,
    paths: &[&PathBuf],
) -> Vec<FileProblem> {
    let mut seen: HashMap<(ResourceKind, String), &Declared> = HashMap::new();
    let mut out = Vec::new();
    for d in declared {
        let Some(kind) = d.kind.filter(|k| *k != ResourceKind::Stack) else {
            continue;
        };
        let key = (kind, identity(d, kind, stack));
        let Some(first) = seen.get(&key) else {
            seen.insert(key, d);
            continue;
        };
        let at = locate(first.root, "metadata.name");
        out.push((
            d.file,
            Problem {
                pos: locate(d.root, "metadata.name"),
                message: format!(
                    "`{kind}` `{}` is declared twice: here and at {}:{}:{}",
                    d.name,
                    paths[first.file].display(),
                    at.line,
                    at.col
                ),
                hint: Some(
                    "each resource may be declared once; remove or rename one of them".into(),
                ),
            },
        ));
    }
    out
}

/// Checks `spec.topic`, `spec.fromAuth0LogStream` and `spec.fromGraphSubscription` of every document, schema errors or not.
/// A name that a document of unknown kind or an unreadable file may declare is not reported.
pub fn check_references(declared: &[Declared], unreadable: &Unreadable) -> Vec<FileProblem> {
    // Looked up once per reference instead of scanning every document for each.
    let by_kind_and_name: HashSet<(&str, &str)> = declared
        .iter()
        .filter_map(|o| Some((o.kind_text.as_deref()?, o.name.as_str())))
        .collect();
    let unknown_kind_names: HashSet<String> = declared
        .iter()
        .filter(|o| o.kind.is_none())
        .filter_map(|o| text_at(o.root, &["metadata", "name"]))
        .collect();
    let mut out = Vec::new();
    for d in declared {
        let reference = match d.kind {
            Some(ResourceKind::EventSubscription) => text_at(d.root, &["spec", "topic", "kind"])
                .zip(text_at(d.root, &["spec", "topic", "name"]))
                .map(|(k, n)| (k, n, "spec.topic.name")),
            Some(ResourceKind::PartnerTopic) => text_at(d.root, &["spec", "fromAuth0LogStream"])
                .map(|n| ("Auth0LogStream".to_string(), n, "spec.fromAuth0LogStream"))
                .or_else(|| {
                    text_at(d.root, &["spec", "fromGraphSubscription"]).map(|n| {
                        (
                            "GraphSubscription".to_string(),
                            n,
                            "spec.fromGraphSubscription",
                        )
                    })
                }),
            _ => None,
        };
        let Some((target_kind, name, path)) = reference else {
            continue;
        };
        if !matches!(
            target_kind.as_str(),
            "Topic" | "SystemTopic" | "PartnerTopic" | "Auth0LogStream" | "GraphSubscription"
        ) {
            continue; // the schema check reports the bad kind
        }
        if by_kind_and_name.contains(&(target_kind.as_str(), name.as_str()))
            || unknown_kind_names.contains(&name)
            || unreadable.may_declare(&name)
        {
            continue;
        }
        out.push((
            d.file,
            missing_reference(d, &target_kind, &name, path, declared),
        ));
    }
    out
}

/// A subscription on a partner topic, or on a Topic whose `inputSchema` is
/// `CloudEventSchemaV1_0`, can only deliver CloudEvents: Azure refuses any other
/// `eventDeliverySchema` there (and an omitted one means `CloudEventSchemaV1_0`).
pub fn check_delivery_schemas(declared: &[Declared]) -> Vec<FileProblem> {
    const CLOUD_EVENTS: &str = "CloudEventSchemaV1_0";
    let mut out = Vec::new();
    for d in declared
        .iter()
        .filter(|d| d.kind == Some(ResourceKind::EventSubscription))
    {
        let Some(schema) = text_at(d.root, &["spec", "eventDeliverySchema"]) else {
            continue;
        };
        let kind = text_at(d.root, &["spec", "topic", "kind"]).unwrap_or_default();
        let name = text_at(d.root, &["spec", "topic", "name"]).unwrap_or_default();
        let why = match kind.as_str() {
            "PartnerTopic" => format!("PartnerTopic `{name}` receives CloudEvents 1.0"),
            "Topic"
                if declared.iter().any(|t| {
                    t.kind == Some(ResourceKind::Topic)
                        && t.name == name
                        && text_at(t.root, &["spec", "inputSchema"]).as_deref()
                            == Some(CLOUD_EVENTS)
                }) =>
            {
                format!("Topic `{name}` has `inputSchema: {CLOUD_EVENTS}`")
            }
            _ => continue,
        };
        if schema == CLOUD_EVENTS {
            continue;
        }
        // A value from a secret variable is never quoted.
        let schema = match node_at(d.root, &["spec", "eventDeliverySchema"]) {
            Some(node) => super::words::shown(node, &schema),
            None => schema,
        };
        out.push((
            d.file,
            Problem {
                pos: locate(d.root, "spec.eventDeliverySchema"),
                message: format!(
                    "`eventDeliverySchema: {schema}` is refused by Azure here: {why}, so its events are delivered as {CLOUD_EVENTS} only"
                ),
                hint: Some(format!(
                    "use `eventDeliverySchema: {CLOUD_EVENTS}`, or leave it out (it is the default there)"
                )),
            },
        ));
    }
    out
}

fn missing_reference(
    d: &Declared,
    target_kind: &str,
    name: &str,
    path: &str,
    declared: &[Declared],
) -> Problem {
    let same_kind: Vec<&str> = declared
        .iter()
        .filter(|o| o.kind_text.as_deref() == Some(target_kind))
        .map(|o| o.name.as_str())
        .collect();
    let hint = match did_you_mean(name, &same_kind) {
        Some(s) => format!("did you mean `{s}`?"),
        None if same_kind.is_empty() => format!("add a `{target_kind}` document named `{name}`"),
        None => format!("{target_kind} documents: {}", same_kind.join(", ")),
    };
    Problem {
        pos: locate(d.root, path),
        message: format!("`{path}` names {target_kind} `{name}`, but no such document exists"),
        hint: Some(hint),
    }
}

/// Exactly one Stack: an error at every extra one, and one when there is none (unless an
/// unreadable file may hold it).
pub fn check_stack_count(
    declared: &[Declared],
    unreadable: &Unreadable,
    paths: &[&PathBuf],
) -> Vec<Diagnostic> {
    let stacks: Vec<&Declared> = declared
        .iter()
        .filter(|d| d.kind == Some(ResourceKind::Stack))
        .collect();
    let mut out = Vec::new();
    if stacks.is_empty()
        && !declared.is_empty()
        && !unreadable.may_declare("Stack")
        && let Some(path) = paths.first()
    {
        out.push(Diagnostic::error(*path, Pos::default(), "no `Stack` document: exactly one is required")
                .with_hint("add a document with `kind: Stack`, `metadata.name` (the ownership marker) and `spec.subscriptionId`"));
    }
    if let Some((first, extras)) = stacks.split_first() {
        for extra in extras {
            out.push(
                Diagnostic::error(
                    paths[extra.file],
                    locate(extra.root, "kind"),
                    format!(
                        "a second `Stack` document; the first is at {}:{}",
                        paths[first.file].display(),
                        locate(first.root, "kind").line
                    ),
                )
                .with_hint(
                    "a manifest set has exactly one Stack; apply separate stacks separately",
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::manifest::parse_sources;

    const STACK: &str = "apiVersion: gridform/v1\nkind: Stack\nmetadata: {name: s}\nspec:\n  subscriptionId: 00000000-0000-0000-0000-000000000000\n  resourceGroup: rg\n  location: westeurope\n";

    fn messages(files: &[(&str, &str)]) -> Vec<String> {
        let sources: Vec<_> = files
            .iter()
            .map(|(p, t)| (p.into(), t.to_string()))
            .collect();
        parse_sources(&sources, &|_| None)
            .diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{}:{}:{}: {}",
                    d.file.display(),
                    d.pos.line,
                    d.pos.col,
                    d.message
                )
            })
            .collect()
    }

    fn topic(name: &str, spec: &str) -> String {
        format!("apiVersion: gridform/v1\nkind: Topic\nmetadata: {{name: {name}}}\n{spec}")
    }

    fn subscription(topic: &str) -> String {
        format!(
            "apiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: hook}}\nspec:\n  topic: {{kind: Topic, name: {topic}}}\n  destination: {{endpointType: WebHook, endpointUrl: 'https://example.com/x'}}\n"
        )
    }

    #[test]
    fn a_duplicate_names_the_file_line_and_column_of_the_first() {
        let got = messages(&[
            ("s.yaml", STACK),
            ("a.yaml", &topic("orders", "")),
            ("b.yaml", &format!("# moved\n{}", topic("Orders", ""))),
        ]);
        assert_eq!(
            got,
            ["b.yaml:4:12: `Topic` `Orders` is declared twice: here and at a.yaml:3:12"]
        );
    }

    #[test]
    fn a_schema_error_hides_neither_the_duplicate_nor_other_documents_problems() {
        let got = messages(&[
            ("s.yaml", STACK),
            ("a.yaml", &topic("orders", "spec: {colour: blue}\n")),
            ("b.yaml", &topic("orders", "")),
            ("c.yaml", &subscription("ordrs")),
        ]);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got[0].starts_with("a.yaml:4:8: unknown field `colour`"),
            "{got:?}"
        );
        assert!(
            got[1].starts_with("b.yaml:3:12: `Topic` `orders` is declared twice"),
            "{got:?}"
        );
        assert!(
            got[2].contains("names Topic `ordrs`, but no such document"),
            "{got:?}"
        );
    }

    #[test]
    fn a_name_an_unreadable_file_may_declare_is_not_missing() {
        let broken = topic("payments", "spec:\n\tlocation: westeurope\n");
        let got = messages(&[
            ("s.yaml", STACK),
            ("a.yaml", &broken),
            ("b.yaml", &subscription("payments")),
            ("c.yaml", &subscription("refunds")),
        ]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("a.yaml:5:2: invalid YAML"), "{got:?}");
        assert!(got[1].contains("names Topic `refunds`"), "{got:?}");
    }

    #[test]
    fn a_document_of_unknown_kind_may_be_the_reference_target() {
        let typo = "apiVersion: gridform/v1\nkind: Topc\nmetadata: {name: orders}\n";
        let got = messages(&[
            ("s.yaml", STACK),
            ("a.yaml", typo),
            ("b.yaml", &subscription("orders")),
        ]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("`Topc` is not a valid `kind`"), "{got:?}");
    }

    #[test]
    fn a_broken_stack_lends_its_valid_fields_and_derives_no_missing_default() {
        let typo = STACK.replace("  location: westeurope\n", "  locaton: westeurope\n");
        let got = messages(&[("s.yaml", &typo), ("a.yaml", &topic("orders", ""))]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("unknown field `locaton`"), "{got:?}");
        let without = STACK.replace("  location: westeurope\n", "");
        let got = messages(&[("s.yaml", &without), ("a.yaml", &topic("orders", ""))]);
        assert_eq!(
            got,
            ["a.yaml:1:1: no location"],
            "a valid Stack's gaps are still errors"
        );
    }

    #[test]
    fn no_stack_is_reported_unless_an_unreadable_file_may_hold_it() {
        let got = messages(&[("a.yaml", &topic("orders", ""))]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("no `Stack` document"), "{got:?}");
        let broken = STACK.replace("spec:\n  sub", "spec:\n\tsub");
        let got = messages(&[("a.yaml", &topic("orders", "")), ("s.yaml", &broken)]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("s.yaml:5:2: invalid YAML"), "{got:?}");
    }
}
