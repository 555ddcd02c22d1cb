//! Event Grid's `$filter` on list operations: OData restricted to the `name` property —
//! `contains(name, 'x')`, `name eq 'x'`, `name ne 'x'`, `not`, `and`, `or` (no parentheses
//! besides `contains`). Matching is case-insensitive, as the service does.
//!
//! Pure: parses and evaluates, returns `StoreError` for anything else. Input is bounded
//! (`MAX_FILTER_CHARS`, `MAX_NOT_DEPTH`) so a hostile filter cannot exhaust the stack or the CPU.

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

/// The longest `$filter` accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 1024;
/// The deepest chain of `not`s accepted.
pub const MAX_NOT_DEPTH: usize = 32;

fn too_complex(why: String) -> StoreError {
    StoreError::bad("InvalidFilter", format!("The $filter is invalid: {why}."))
}

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
    // `not`s are peeled iteratively: no recursion, whatever the input.
    let mut t = text.trim();
    let mut nots = 0;
    while let Some(prefix) = t.get(..4)
        && prefix.eq_ignore_ascii_case("not ")
    {
        nots += 1;
        if nots > MAX_NOT_DEPTH {
            return Err(too_complex(format!(
                "more than {MAX_NOT_DEPTH} nested 'not' operators"
            )));
        }
        t = t[4..].trim_start();
    }
    let mut out = simple_term(t, whole)?;
    for _ in 0..nots {
        out = Term::Not(Box::new(out));
    }
    Ok(out)
}

fn simple_term(t: &str, whole: &str) -> Result<Term, StoreError> {
    let lower = t.to_ascii_lowercase();
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
        let chars = text.chars().count();
        if chars > MAX_FILTER_CHARS {
            return Err(too_complex(format!(
                "it is {chars} characters long; at most {MAX_FILTER_CHARS} are allowed"
            )));
        }
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
    // Depth is bounded by `MAX_NOT_DEPTH` at parse time.
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

    #[test]
    fn depth_and_length_are_bounded() {
        let ok = format!("{}name eq 'a'", "not ".repeat(MAX_NOT_DEPTH));
        assert!(NameFilter::parse(&ok).unwrap().matches("a"));
        let f = NameFilter::parse("not not name eq 'a'").unwrap();
        assert!(f.matches("a") && !f.matches("b"));
        let deep = format!("{}name eq 'a'", "not ".repeat(5000));
        let err = NameFilter::parse(&deep).unwrap_err();
        assert!(matches!(err, StoreError::BadRequest { ref code, .. } if code == "InvalidFilter"));
        let long = vec!["name eq 'a'"; 200].join(" or ");
        assert!(NameFilter::parse(&long).is_err());
    }
}
