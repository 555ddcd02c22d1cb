//! The schema checker's position and problem sink: where the walk is (a path built only when a
//! message needs it) and where problems go (collected, or only counted during a trial walk of an
//! `if` or `anyOf` branch). Must not know the schema or word messages (`check`, `words` do).

use super::check::Problem;
use super::yaml::Pos;

/// Where the walk is: the path is built only when a message needs it, not for every node.
pub(super) struct Ctx<'a> {
    pub(super) parent: Option<&'a Ctx<'a>>,
    pub(super) step: Step<'a>,
    pub(super) key_pos: Pos,
}

pub(super) enum Step<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl Ctx<'_> {
    /// The dotted path (`spec.filter.advancedFilters[0].key`); empty at the root.
    pub(super) fn path(&self) -> String {
        let mut out = String::new();
        self.write_path(&mut out);
        out
    }

    fn write_path(&self, out: &mut String) {
        use std::fmt::Write as _;
        if let Some(parent) = self.parent {
            parent.write_path(out);
        }
        match self.step {
            Step::Root => {}
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }

    pub(super) fn is_root(&self) -> bool {
        matches!(self.step, Step::Root)
    }
}

/// Where problems go. A trial walk (an `if` condition, an `anyOf` branch tried) only needs to
/// know whether there is one, so it builds no message, path or "did you mean".
pub(super) struct Problems {
    pub(super) list: Vec<Problem>,
    trial: bool,
    /// The walk's JSON is thrown away (an `if` condition): mappings need not be built.
    condition: bool,
    found: usize,
}

impl Problems {
    pub(super) fn collect() -> Self {
        Self {
            list: Vec::new(),
            trial: false,
            condition: false,
            found: 0,
        }
    }

    pub(super) fn trial() -> Self {
        Self {
            trial: true,
            ..Self::collect()
        }
    }

    /// A trial walk whose JSON is not used, only whether it found a problem.
    pub(super) fn condition() -> Self {
        Self {
            condition: true,
            ..Self::trial()
        }
    }

    /// Whether the walk's JSON is used (mappings are built only then).
    pub(super) fn wants_values(&self) -> bool {
        !self.condition
    }

    pub(super) fn push(&mut self, make: impl FnOnce() -> Problem) {
        self.found += 1;
        if !self.trial {
            self.list.push(make());
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.found == 0
    }
}
