//! `Diagnostic`: one problem in one manifest, printed as `path:line:col: error: message`.

use std::fmt;
use std::path::PathBuf;

use super::yaml::Pos;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Validation fails.
    Error,
    /// Reported, validation still passes.
    Warning,
}

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The manifest file.
    pub file: PathBuf,
    /// Where in it.
    pub pos: Pos,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong (no trailing period; names in backticks; never a secret value).
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `pos`.
    pub fn error(file: impl Into<PathBuf>, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            pos,
            severity: Severity::Error,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {label}: {}",
            self.file.display(),
            self.pos.line,
            self.pos.col,
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}
