//! Where text goes: data on stdout, everything else on stderr; the only place that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

use super::args::ColorChoice;
use super::exit::{Hinted, UsageError};

/// Output settings resolved once from the global flags and the environment.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Color on stderr.
    pub color_stderr: bool,
    /// Color on stdout.
    pub color_stdout: bool,
    /// `-q` given.
    pub quiet: bool,
}

impl Printer {
    /// Resolves `--color` against `NO_COLOR` and whether each stream is a terminal.
    pub fn new(color: ColorChoice, quiet: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |tty: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        Self {
            color_stderr: decide(std::io::stderr().is_terminal()),
            color_stdout: decide(std::io::stdout().is_terminal()),
            quiet,
        }
    }

    /// Writes data to stdout (never suppressed by `-q`).
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`gridform schema | head`) is not an error worth reporting.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Writes a diagnostic or progress line to stderr.
    pub fn status(&self, text: &str) {
        eprintln!("{text}");
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color_stderr {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// The `error:` prefix, red and bold on a color terminal.
    pub fn error_label(&self) -> String {
        self.paint("1;31", "error")
    }

    /// The `hint:` prefix, cyan on a color terminal.
    pub fn hint_label(&self) -> String {
        self.paint("1;36", "hint")
    }

    /// The `warning:` prefix, yellow on a color terminal.
    pub fn warning_label(&self) -> String {
        self.paint("1;33", "warning")
    }

    /// Prints `error: …`, one `Caused by:` line per cause, then the first hint in the chain.
    pub fn report_error(&self, err: &anyhow::Error) {
        let mut text = format!("{}: {err}\n", self.error_label());
        for cause in err.chain().skip(1) {
            text.push_str(&format!("  Caused by: {cause}\n"));
        }
        let hint = err.chain().find_map(|c| {
            c.downcast_ref::<Hinted>()
                .map(|h| h.hint.as_str())
                .or_else(|| c.downcast_ref::<UsageError>().map(|u| u.hint.as_str()))
        });
        if let Some(hint) = hint {
            text.push_str(&format!("\n{}: {hint}\n", self.hint_label()));
        }
        eprint!("{text}");
    }
}
