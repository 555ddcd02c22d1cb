//! Wording of checker messages: type names, value descriptions that never show a secret, and
//! "did you mean" suggestions.

use super::yaml::{Node, Value as Yaml, is_null};

pub(super) fn type_words(t: &str) -> &'static str {
    match t {
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "`true` or `false`",
        "array" => "a list",
        "object" => "a mapping",
        _ => "null",
    }
}

/// `string "abc"`, or `a string (sensitive)` for secret values; long values are shortened.
pub(super) fn describe(node: &Node) -> String {
    match &node.value {
        Yaml::Scalar { text, .. } if !is_null(node) => {
            let kind = node.type_name();
            if node.secret {
                format!("{kind} (sensitive)")
            } else {
                format!("{kind} `{}`", shorten(text))
            }
        }
        _ => node.type_name().to_string(),
    }
}

pub(super) fn shown(node: &Node, text: &str) -> String {
    if node.secret {
        "(sensitive)".to_string()
    } else {
        shorten(text)
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(57).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
thread_local! {
    /// How many suggestions this thread computed (tests: none for valid documents).
    pub(crate) static SUGGESTIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The closest candidate: same letters in another case, or a small edit distance.
pub fn did_you_mean<'a>(got: &str, candidates: &[&'a str]) -> Option<&'a str> {
    #[cfg(test)]
    SUGGESTIONS.with(|n| n.set(n.get() + 1));
    if let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(got)) {
        return Some(c);
    }
    let limit = (got.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| {
            (
                strsim::levenshtein(&got.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
