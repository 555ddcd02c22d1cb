//! Where text goes: data on stdout, everything else on stderr; the only place that prints.
//!
//! Every line it writes — data, status, errors and (through [`ScrubbedStderr`]) every log
//! line — passes the run's one scrubber (`model::secret::scrub_run`), so a server message that
//! echoes a request cannot print a secret value the run knows.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

use crate::model::secret::scrub_run;

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
        let _ = out.write_all(scrub_run(text).as_bytes());
        let _ = out.flush();
    }

    /// Writes a diagnostic or progress line to stderr.
    pub fn status(&self, text: &str) {
        eprintln!("{}", scrub_run(text));
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
        eprint!("{}", scrub_run(&text));
    }
}

/// The log writer: each event is formatted into a buffer and written to stderr scrubbed, in one
/// piece, when the formatter is done with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScrubbedStderr;

/// One log event on its way to stderr.
#[derive(Debug, Default)]
pub struct ScrubbedEvent(Vec<u8>);

impl Write for ScrubbedEvent {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedEvent {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let text = String::from_utf8_lossy(&self.0);
            let _ = std::io::stderr()
                .lock()
                .write_all(scrub_run(&text).as_bytes());
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbedEvent;

    fn make_writer(&'a self) -> ScrubbedEvent {
        ScrubbedEvent::default()
    }
}
