//! Exit codes, in one place (see README.md, "Exit codes").

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success, or no changes.
    Success,
    /// 1: an error (invalid manifests, API failure, failed apply).
    Failure,
    /// 2: `plan --detailed-exitcode` found changes.
    Changes,
    /// 64: the command line was wrong.
    Usage,
    /// 130: interrupted.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Changes => 2,
            Self::Usage => 64,
            Self::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// An error that carries a `hint:` line; `cli::output` finds it anywhere in a `Caused by:` chain.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    /// What failed.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// A command line that names something the manifests do not have: reported like an error,
/// exit 64 like clap's usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}
