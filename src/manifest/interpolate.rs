//! `${env:NAME}` and `${env:NAME:-default}` in scalar values; `$${` writes a literal `${`.
//!
//! Pure: the environment is passed in as a lookup function, so tests never touch the process
//! environment. Values of variables listed in the Stack's `spec.secrets` mark their node secret
//! and are collected so that every output can be scrubbed of them.

use std::collections::BTreeSet;

use super::yaml::{Node, Pos, Value};

/// A problem with a `${env:…}` reference.
#[derive(Debug, Clone, PartialEq)]
pub struct InterpolationProblem {
    /// Where the scalar is.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Result of interpolating a tree.
#[derive(Debug, Default)]
pub struct Interpolated {
    /// Problems found.
    pub problems: Vec<InterpolationProblem>,
    /// Values substituted from secret variables.
    pub secret_values: Vec<String>,
}

/// Replaces every `${env:…}` reference in the scalars of `node`, in place.
pub fn interpolate(
    node: &mut Node,
    env: &dyn Fn(&str) -> Option<String>,
    secret_vars: &BTreeSet<String>,
    path: &mut Vec<String>,
    out: &mut Interpolated,
) {
    match &mut node.value {
        Value::Scalar { text, .. } => {
            if !text.contains("${") {
                return;
            }
            match expand(text, env, secret_vars) {
                Ok(expanded) => {
                    *text = expanded.text;
                    if !expanded.secret_values.is_empty() {
                        node.secret = true;
                        out.secret_values.extend(expanded.secret_values);
                    }
                }
                Err((message, hint)) => out.problems.push(InterpolationProblem {
                    pos: node.pos,
                    message: format!("{message} (used in `{}`)", path.join(".")),
                    hint,
                }),
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(format!("[{i}]"));
                interpolate(item, env, secret_vars, path, out);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for entry in entries.iter_mut() {
                path.push(entry.key.clone());
                interpolate(&mut entry.value, env, secret_vars, path, out);
                path.pop();
            }
        }
    }
}

struct Expanded {
    text: String,
    secret_values: Vec<String>,
}

fn expand(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    secret_vars: &BTreeSet<String>,
) -> Result<Expanded, (String, Option<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut secret_values = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(stripped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = stripped;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${env:") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body_start.find('}') else {
            return Err((
                "unterminated `${env:…}` reference".into(),
                Some("close it with `}`; write `$${` for a literal `${`".into()),
            ));
        };
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        let valid_name = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !valid_name {
            return Err((
                format!("`${{env:{name}}}` is not a valid environment variable reference"),
                Some("names are letters, digits and `_`, e.g. `${env:HOOK_CODE}`".into()),
            ));
        }
        let value = match (env(name), default) {
            (Some(v), _) => v,
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                return Err((
                    format!("environment variable `{name}` is not set"),
                    Some(format!(
                        "set `{name}`, or give a default with `${{env:{name}:-value}}`"
                    )),
                ));
            }
        };
        if secret_vars.contains(name) && !value.is_empty() {
            secret_values.push(value.clone());
        }
        out.push_str(&value);
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(Expanded {
        text: out,
        secret_values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml;

    fn run(src: &str, vars: &[(&str, &str)], secrets: &[&str]) -> (Node, Interpolated) {
        let (docs, _) = yaml::parse(src).unwrap();
        let mut root = docs.into_iter().next().unwrap().root.unwrap();
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let secrets = secrets.iter().map(|s| s.to_string()).collect();
        let mut out = Interpolated::default();
        interpolate(&mut root, &env, &secrets, &mut Vec::new(), &mut out);
        (root, out)
    }

    #[test]
    fn substitutes_values_and_defaults() {
        let (root, out) = run(
            "a: ${env:A}\nb: x-${env:B:-dflt}-y\nc: ${env:A}${env:A}\nd: $${env:A}\ne: $5\n",
            &[("A", "1")],
            &[],
        );
        assert!(out.problems.is_empty());
        assert_eq!(root.get("a").unwrap().as_str(), Some("1"));
        assert_eq!(root.get("b").unwrap().as_str(), Some("x-dflt-y"));
        assert_eq!(root.get("c").unwrap().as_str(), Some("11"));
        assert_eq!(root.get("d").unwrap().as_str(), Some("${env:A}"));
        assert_eq!(root.get("e").unwrap().as_str(), Some("$5"));
    }

    #[test]
    fn empty_default_is_allowed_and_set_variable_wins() {
        let (root, out) = run("a: ${env:A:-}\nb: ${env:B:-no}\n", &[("B", "yes")], &[]);
        assert!(out.problems.is_empty());
        assert_eq!(root.get("a").unwrap().as_str(), Some(""));
        assert_eq!(root.get("b").unwrap().as_str(), Some("yes"));
    }

    #[test]
    fn missing_variable_names_variable_field_and_line() {
        let (_, out) = run("spec:\n  url: https://x/?code=${env:HOOK_CODE}\n", &[], &[]);
        assert_eq!(out.problems.len(), 1);
        let p = &out.problems[0];
        assert_eq!(p.pos.line, 2);
        assert!(
            p.message.contains("`HOOK_CODE` is not set"),
            "{}",
            p.message
        );
        assert!(p.message.contains("`spec.url`"), "{}", p.message);
        assert!(
            p.hint
                .as_deref()
                .unwrap()
                .contains("${env:HOOK_CODE:-value}")
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        let (_, out) = run("a: ${env:A\nb: ${env:}\nc: ${env:1X}\n", &[], &[]);
        assert_eq!(out.problems.len(), 3);
    }

    #[test]
    fn secret_variables_mark_nodes_and_are_collected() {
        let (root, out) = run(
            "a: k-${env:KEY}\nb: ${env:PLAIN}\n",
            &[("KEY", "canary-s3cr3t"), ("PLAIN", "p")],
            &["KEY"],
        );
        assert!(root.get("a").unwrap().secret);
        assert!(!root.get("b").unwrap().secret);
        assert_eq!(out.secret_values, vec!["canary-s3cr3t".to_string()]);
    }
}
