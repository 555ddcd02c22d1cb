//! Reading manifests: discover files, parse, interpolate, check, type, build the desired state.
//!
//! The only code in `manifest` that touches the file system is `discover` and `load`; `parse_sources`
//! works on strings so that tests need no files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use serde_json::Value as Json;

use super::check::{Checker, Problem};
use super::declared::{
    Unreadable, check_delivery_schemas, check_duplicates, check_references, check_stack_count,
    read_declared, stack_defaults,
};
use super::diagnostic::Diagnostic;
use super::graph_checks::check_graph_documents;
use super::interpolate::{Interpolated, interpolate};
use super::schema::manifest_schema;
use super::semantic::{TypedDoc, check_all};
use super::typing::{
    Placement, TopicIndex, build_resource, origin, placement, stack_spec, to_typed,
};
use super::yaml::{self, Node, Pos};
use crate::model::spec::*;
use crate::model::{DesiredState, ResourceKind, Sensitive, Stack};

/// What loading produced: the state when there were no errors, and every diagnostic.
#[derive(Debug)]
pub struct Loaded {
    /// The desired state, when every document is valid.
    pub state: Option<DesiredState>,
    /// Every problem, in file and line order.
    pub diagnostics: Vec<Diagnostic>,
    /// How many files were read.
    pub files: usize,
    /// How many non-empty documents they held.
    pub documents: usize,
    /// Each file read and the SHA-256 of its bytes (what a saved plan pins).
    pub inputs: Vec<(PathBuf, String)>,
}

/// Every `*.yaml`/`*.yml` below the given paths (files are taken as given), sorted per directory.
/// Hidden directories (`.git`, `.gridform`) are skipped.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            walk_dir(path, &mut files, &mut problems);
            if files.len() == before {
                problems.push(Diagnostic::error(
                    path,
                    Pos::default(),
                    "no `*.yaml` or `*.yml` files in this directory",
                ));
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            problems.push(Diagnostic::error(
                path,
                Pos::default(),
                "no such file or directory",
            ));
        }
    }
    (files, problems)
}

fn walk_dir(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Diagnostic>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            problems.push(Diagnostic::error(
                dir,
                Pos::default(),
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if p.is_dir() && !hidden {
            walk_dir(&p, files, problems);
        } else if p.is_file()
            && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        {
            files.push(p);
        }
    }
}

/// Loads manifests from files and directories, with `env` for `${env:…}`.
pub fn load(paths: &[PathBuf], env: &dyn Fn(&str) -> Option<String>) -> Loaded {
    let (files, mut diagnostics) = discover(paths);
    let mut sources = Vec::new();
    for file in files {
        match std::fs::read(&file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push((file, text)),
                Err(e) => diagnostics.push(not_utf8(&file, e.as_bytes(), e.utf8_error())),
            },
            Err(e) => diagnostics.push(Diagnostic::error(
                &file,
                Pos::default(),
                format!("cannot read file: {e}"),
            )),
        }
    }
    let mut loaded = parse_sources(&sources, env);
    loaded.inputs = sources
        .iter()
        .map(|(path, text)| (path.clone(), hex::encode(Sha256::digest(text.as_bytes()))))
        .collect();
    diagnostics.append(&mut loaded.diagnostics);
    loaded.diagnostics = diagnostics;
    if !loaded.diagnostics.is_empty() {
        loaded.state = None;
    }
    loaded
}

/// A file that is not UTF-8, at the line and column (in characters) of its first bad byte.
fn not_utf8(path: &Path, bytes: &[u8], e: std::str::Utf8Error) -> Diagnostic {
    let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
    let line = valid.matches('\n').count() + 1;
    let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Diagnostic::error(path, Pos { line, col }, "the file is not UTF-8 text")
        .with_hint("save the manifest as UTF-8")
}

struct RawDoc {
    file: usize,
    root: Node,
}

/// Reads every file's YAML documents; a file with a syntax error yields none and is unreadable.
fn read_yaml<'a>(
    sources: &'a [(PathBuf, String)],
    diags: &mut Vec<Diagnostic>,
) -> (Vec<RawDoc>, Unreadable<'a>) {
    let mut raws = Vec::new();
    let mut unreadable = Unreadable { texts: Vec::new() };
    for (i, (path, text)) in sources.iter().enumerate() {
        match yaml::parse(text) {
            Err(p) => {
                unreadable.texts.push(text);
                diags.push(yaml_error(path, text, p));
            }
            Ok((docs, problems)) => {
                diags.extend(
                    problems
                        .into_iter()
                        .map(|p| Diagnostic::error(path, p.pos, p.message)),
                );
                for doc in docs {
                    match doc.root {
                        Some(root) if !is_empty_scalar(&root) => {
                            raws.push(RawDoc { file: i, root })
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    (raws, unreadable)
}

fn yaml_error(path: &Path, text: &str, p: yaml::YamlProblem) -> Diagnostic {
    let mut d = Diagnostic::error(path, p.pos, format!("invalid YAML: {}", p.message));
    // `{name: ${env:X}}`: the `}` of the reference closes the flow mapping.
    let line = text.lines().nth(p.pos.line.saturating_sub(1)).unwrap_or("");
    if p.message.contains("flow") && line.contains("${") {
        d = d.with_hint(
            "inside `{…}` or `[…]`, quote a value that contains `${env:…}`, e.g. `{name: \"${env:NAME}\"}`",
        );
    }
    if p.message.contains("tabs") {
        d = d.with_hint("YAML does not allow tabs in indentation; indent with spaces");
    }
    d
}

/// Marks secret fields and expands `${env:…}` in every document.
fn interpolate_all(
    raws: &mut [RawDoc],
    sources: &[(PathBuf, String)],
    env: &dyn Fn(&str) -> Option<String>,
    diags: &mut Vec<Diagnostic>,
) -> Interpolated {
    // Secret variable names come from the Stack before interpolation, so they apply everywhere.
    // Without a readable Stack (one whose `spec` is a mapping) nobody can say which are secret:
    // then every variable is.
    let has_stack = raws.iter().any(|r| {
        r.root.get("kind").and_then(Node::as_str) == Some("Stack")
            && r.root
                .get("spec")
                .is_some_and(|s| matches!(s.value, yaml::Value::Map(_)))
    });
    if !has_stack {
        let every = every_variable_named(sources);
        return interpolate_with(raws, sources, env, &every, diags);
    }
    let secret_vars: BTreeSet<String> = raws
        .iter()
        .filter(|r| r.root.get("kind").and_then(Node::as_str) == Some("Stack"))
        .filter_map(|r| match &r.root.get("spec")?.get("secrets")?.value {
            yaml::Value::Seq(items) => Some(
                items
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    interpolate_with(raws, sources, env, &secret_vars, diags)
}

/// Every `NAME` of `${env:NAME…}` in the sources.
fn every_variable_named(sources: &[(PathBuf, String)]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (_, text) in sources {
        for (_, rest) in text
            .match_indices("${env:")
            .map(|(i, m)| (i, &text[i + m.len()..]))
        {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.insert(rest[..end].to_string());
        }
    }
    names
}

fn interpolate_with(
    raws: &mut [RawDoc],
    sources: &[(PathBuf, String)],
    env: &dyn Fn(&str) -> Option<String>,
    secret_vars: &BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) -> Interpolated {
    let mut interpolated = Interpolated::default();
    for raw in raws.iter_mut() {
        mark_secret_fields(&mut raw.root);
        let before = interpolated.problems.len();
        interpolate(
            &mut raw.root,
            env,
            secret_vars,
            &mut Vec::new(),
            &mut interpolated,
        );
        for p in &interpolated.problems[before..] {
            let mut d = Diagnostic::error(&sources[raw.file].0, p.pos, p.message.clone());
            d.hint = p.hint.clone();
            diags.push(d);
        }
    }
    interpolated
}

/// Checks every document and hands the JSON of each schema-valid one (with its index into
/// `raws`) to `on_valid` at once, so that only one document's JSON is alive at a time.
fn schema_check(
    raws: &[RawDoc],
    sources: &[(PathBuf, String)],
    diags: &mut Vec<Diagnostic>,
    on_valid: &mut dyn FnMut(usize, Json, &mut Vec<Diagnostic>),
) {
    CHECKER.with(|checker| schema_check_with(checker, raws, sources, diags, on_valid))
}

/// The schema, built once per process.
static SCHEMA: std::sync::OnceLock<Json> = std::sync::OnceLock::new();

thread_local! {
    /// One checker per thread, so its compiled patterns are kept between loads.
    static CHECKER: Checker<'static> = Checker::new(SCHEMA.get_or_init(manifest_schema));
}

fn schema_check_with(
    checker: &Checker,
    raws: &[RawDoc],
    sources: &[(PathBuf, String)],
    diags: &mut Vec<Diagnostic>,
    on_valid: &mut dyn FnMut(usize, Json, &mut Vec<Diagnostic>),
) {
    for (i, raw) in raws.iter().enumerate() {
        if !matches!(raw.root.value, yaml::Value::Map(_)) {
            diags.push(Diagnostic::error(&sources[raw.file].0, raw.root.pos,
                "a manifest document must be a mapping with `apiVersion`, `kind`, `metadata` and `spec`"));
            continue;
        }
        let (json, problems) = checker.check(&raw.root);
        if problems.is_empty() {
            on_valid(i, json, diags);
        }
        diags.extend(
            problems
                .into_iter()
                .map(|p| to_diag(&sources[raw.file].0, p)),
        );
    }
}

/// Parses and checks in-memory sources `(path, text)`.
pub fn parse_sources(
    sources: &[(PathBuf, String)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Loaded {
    let mut diags = Vec::new();
    let (mut raws, unreadable) = read_yaml(sources, &mut diags);
    let documents = raws.len();
    if documents == 0
        && unreadable.texts.is_empty()
        && let Some((first, _)) = sources.first()
    {
        diags.push(
            Diagnostic::error(first, Pos::default(), "no manifest documents: the files hold only comments or empty documents")
                .with_hint("a manifest set needs at least one document: a `kind: Stack` with `metadata.name` and `spec.subscriptionId`"),
        );
    }
    let interpolated = interpolate_all(&mut raws, sources, env, &mut diags);
    // One typed document per schema-valid raw one (~1.5 kB each): sized once, not doubled.
    let mut docs = Vec::with_capacity(raws.len());
    let mut stacks: Vec<(usize, String, StackSpec)> = Vec::new();
    schema_check(&raws, sources, &mut diags, &mut |i, json, diags| {
        let raw = &raws[i];
        match to_typed(&json) {
            Ok((kind, metadata, spec)) => {
                let name = metadata.name.clone().unwrap_or_else(|| "default".into());
                if let Some(Ok(stack)) = (kind == ResourceKind::Stack).then(|| stack_spec(&json)) {
                    stacks.push((i, name.clone(), stack));
                }
                docs.push(TypedDoc {
                    file: raw.file,
                    root: &raw.root,
                    name,
                    kind,
                    resource_group: metadata.resource_group.clone(),
                    metadata,
                    spec,
                });
            }
            Err(e) => diags.push(Diagnostic::error(
                &sources[raw.file].0,
                raw.root.pos,
                format!("invalid document: {e}"),
            )),
        }
    });
    let paths: Vec<&PathBuf> = sources.iter().map(|(p, _)| p).collect();
    let raw_refs: Vec<(usize, &Node)> = raws.iter().map(|r| (r.file, &r.root)).collect();
    let declared = read_declared(&raw_refs);
    let defaults = stack_defaults(&declared, stacks.first().map(|(_, _, s)| s));
    for (file, p) in check_all(&docs, &defaults)
        .into_iter()
        .chain(check_duplicates(&declared, &defaults, &paths))
        .chain(check_references(&declared, &unreadable))
        .chain(check_delivery_schemas(&declared))
        .chain(check_graph_documents(&declared, &defaults))
    {
        diags.push(to_diag(&sources[file].0, p));
    }
    diags.extend(check_stack_count(&declared, &unreadable, &paths));
    diags.sort_by(|a, b| a.file.cmp(&b.file).then(a.pos.cmp(&b.pos)));
    diags.dedup();
    let state = match (diags.is_empty(), stacks.into_iter().next()) {
        (true, Some((i, name, spec))) => {
            let raw = &raws[i];
            let stack = Stack {
                name,
                spec,
                origin: origin(sources, raw.file, &raw.root),
            };
            let placements: Vec<Placement> = {
                let parents = TopicIndex::new(&docs);
                docs.iter()
                    .map(|d| placement(d, &stack, &parents))
                    .collect()
            };
            // Sized up front: grown by doubling, 10k resources of ~1.5 kB left ~9 MB unused.
            let mut resources = Vec::with_capacity(docs.len());
            resources.extend(
                docs.into_iter()
                    .zip(placements)
                    .filter(|(d, _)| d.kind != ResourceKind::Stack)
                    .filter_map(|(d, placed)| build_resource(d, placed, sources)),
            );
            let secret_values = interpolated
                .secret_values
                .into_iter()
                .map(Sensitive::new)
                .collect();
            Some(DesiredState {
                stack,
                resources,
                secret_values,
            })
        }
        _ => None,
    };
    Loaded {
        state,
        diagnostics: diags,
        files: sources.len(),
        documents,
        inputs: Vec::new(),
    }
}

/// Marks values that are secret by position (webhook URLs, `isSecret: true` attribute values, and
/// a `secrets` value that is not the list of names it should be: it may hold a secret's value)
/// so that no message ever quotes them.
fn mark_secret_fields(node: &mut Node) {
    match &mut node.value {
        yaml::Value::Map(entries) => {
            let secret_attr = entries
                .iter()
                .any(|e| e.key == "isSecret" && e.value.as_str() == Some("true"));
            for e in entries.iter_mut() {
                let malformed_secrets =
                    e.key == "secrets" && !matches!(e.value.value, yaml::Value::Seq(_));
                if e.key == "endpointUrl" || (secret_attr && e.key == "value") || malformed_secrets
                {
                    e.value.secret = true;
                }
                mark_secret_fields(&mut e.value);
            }
        }
        yaml::Value::Seq(items) => items.iter_mut().for_each(mark_secret_fields),
        yaml::Value::Scalar { .. } => {}
    }
}

fn to_diag(path: &Path, p: Problem) -> Diagnostic {
    let mut d = Diagnostic::error(path, p.pos, p.message);
    d.hint = p.hint;
    d
}

fn is_empty_scalar(node: &Node) -> bool {
    matches!(&node.value, yaml::Value::Scalar { text, plain: true } if text.is_empty())
}
