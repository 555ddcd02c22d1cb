//! Event Grid's `$filter` on list operations: OData restricted to the `name` property —
//! `contains(name, 'x')`, `name eq 'x'`, `name ne 'x'`, `not`, `and`, `or` (no parentheses
//! besides `contains`). Matching is case-insensitive, as the service does.
//!
//! Pure: parses and evaluates, returns `StoreError` for anything else.

use crate::emulator::store::StoreError;

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Contains(String),
    Eq(String),
    Ne(String),
    Not(Box<Term>),
}

/// A parsed filter: OR of ANDs of terms.
#[derive(Debug, Clone, PartialEq)]
pub struct NameFilter(Vec<Vec<Term>>);

fn unsupported(text: &str) -> StoreError {
    StoreError::invalid(format!(
        "The $filter '{text}' is not supported: only the name property with contains(), eq, ne, not, and, or is allowed."
    ))
}

fn split_ci<'a>(text: &'a str, sep: &str) -> Vec<&'a str> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_quote = !in_quote;
        } else if !in_quote && bytes[i..].starts_with(sep.as_bytes()) {
            out.push(&text[start..i]);
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    out.push(&text[start..]);
    out
}

fn quoted(text: &str) -> Option<String> {
    let t = text.trim();
    t.strip_prefix('\'')?
        .strip_suffix('\'')
        .map(|s| s.replace("''", "'").to_ascii_lowercase())
}

fn term(text: &str, whole: &str) -> Result<Term, StoreError> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("not ") {
        let offset = t.len() - rest.len();
        return Ok(Term::Not(Box::new(term(&t[offset..], whole)?)));
    }
    if lower.starts_with("contains(") && lower.ends_with(')') {
        let inner = &t["contains(".len()..t.len() - 1];
        let (prop, value) = inner.split_once(',').ok_or_else(|| unsupported(whole))?;
        if !prop.trim().eq_ignore_ascii_case("name") {
            return Err(unsupported(whole));
        }
        return Ok(Term::Contains(
            quoted(value).ok_or_else(|| unsupported(whole))?,
        ));
    }
    for (op, make) in [(" eq ", Term::Eq as fn(String) -> Term), (" ne ", Term::Ne)] {
        if let Some(pos) = lower.find(op) {
            if !t[..pos].trim().eq_ignore_ascii_case("name") {
                return Err(unsupported(whole));
            }
            return Ok(make(
                quoted(&t[pos + op.len()..]).ok_or_else(|| unsupported(whole))?,
            ));
        }
    }
    Err(unsupported(whole))
}

impl NameFilter {
    /// Parses a `$filter` value.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let groups = split_ci(text, " or ")
            .into_iter()
            .map(|g| {
                split_ci(g, " and ")
                    .into_iter()
                    .map(|t| term(t, text))
                    .collect()
            })
            .collect::<Result<Vec<Vec<Term>>, _>>()?;
        Ok(Self(groups))
    }

    /// Whether a resource named `name` passes.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.0.iter().any(|all| all.iter().all(|t| eval(t, &name)))
    }
}

fn eval(term: &Term, name: &str) -> bool {
    match term {
        Term::Contains(v) => name.contains(v.as_str()),
        Term::Eq(v) => name == v,
        Term::Ne(v) => name != v,
        Term::Not(t) => !eval(t, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_and_refusals() {
        let f = NameFilter::parse("contains(namE, 'PATTERN') and name ne 'PATTERN-1'").unwrap();
        assert!(f.matches("my-pattern-2"));
        assert!(!f.matches("pattern-1"));
        assert!(!f.matches("other"));
        let f = NameFilter::parse("name eq 'a' or not contains(name, 'x')").unwrap();
        assert!(f.matches("A") && f.matches("bbb") && !f.matches("xa"));
        assert!(NameFilter::parse("location eq 'westus'").is_err());
        assert!(NameFilter::parse("contains(name, x)").is_err());
        assert!(NameFilter::parse("name gt 'a'").is_err());
        // Non-ASCII text never splits inside a character.
        let f = NameFilter::parse("contains(name, 'été') or name eq 'ß'").unwrap();
        assert!(f.matches("x-été-y") && f.matches("ß") && !f.matches("ete"));
    }
}
