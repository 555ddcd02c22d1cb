//! Where text goes: data on stdout, everything else on stderr; the only place that prints.
//!
//! Every line it writes — data, status, errors and (through [`ScrubbedStderr`]) every log
//! line — passes the run's one scrubber (`model::secret::scrub_run`), so a server message that
//! echoes a request cannot print a secret value the run knows.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

use crate::model::Sensitive;
use crate::model::secret::{registered_multiline, scrub, scrub_run};

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

    /// A stdout writer for long data (a 10k-document plan): the text is scrubbed and written in
    /// chunks as it is produced instead of being built whole first. `secrets` are removed as by
    /// `model::secret::scrub`, then the run's registered values as by [`Printer::data`].
    pub fn data_stream<'a>(
        &self,
        secrets: &'a [Sensitive<String>],
    ) -> Scrubbing<'a, std::io::Stdout> {
        Scrubbing::new(secrets, std::io::stdout())
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

/// Chunks buffered before they are scrubbed and written.
const STREAM_CHUNK: usize = 64 * 1024;

/// Data on its way to `sink` (stdout) through the scrubber (see [`Printer::data_stream`]).
/// Whole lines are scrubbed, so a value is found as when the text is scrubbed at once; when
/// some secret spans lines, everything is held until [`Scrubbing::finish`].
#[derive(Debug)]
pub struct Scrubbing<'a, W: Write> {
    secrets: &'a [Sensitive<String>],
    by_lines: bool,
    pending: Vec<u8>,
    sink: W,
}

impl<'a, W: Write> Scrubbing<'a, W> {
    fn new(secrets: &'a [Sensitive<String>], sink: W) -> Self {
        let multiline = registered_multiline() || secrets.iter().any(|s| s.expose().contains('\n'));
        Self {
            secrets,
            by_lines: !multiline,
            pending: Vec::new(),
            sink,
        }
    }

    /// Scrubs and writes the bytes before `end` (just after a newline), keeping the rest.
    fn emit(&mut self, end: usize) {
        let rest = self.pending.split_off(end);
        let text = String::from_utf8_lossy(&self.pending);
        let scrubbed = scrub(&text, self.secrets);
        // A closed pipe (`gridform plan | head`) is not an error worth reporting.
        let _ = self.sink.write_all(scrub_run(&scrubbed).as_bytes());
        self.pending = rest;
    }

    /// Writes what is still pending and flushes the sink; gives the sink back.
    pub fn finish(mut self) -> W {
        self.emit(self.pending.len());
        let _ = self.sink.flush();
        self.sink
    }
}

impl<W: Write> Write for Scrubbing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.by_lines
            && self.pending.len() >= STREAM_CHUNK
            && let Some(newline) = self.pending.iter().rposition(|&b| b == b'\n')
        {
            self.emit(newline + 1);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(text: &str, secrets: &[Sensitive<String>], piece: usize) -> String {
        let mut out = Scrubbing::new(secrets, Vec::new());
        for part in text.as_bytes().chunks(piece) {
            let _ = out.write_all(part);
        }
        String::from_utf8_lossy(&out.finish()).into_owned()
    }

    #[test]
    fn streamed_text_is_scrubbed_as_the_whole_text() {
        let secrets = [
            Sensitive::new("s3cr3t-stream".to_string()),
            Sensitive::new("é-two".to_string()),
        ];
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("line {i} s3cr3t-stream é-two ü\n"));
        }
        let whole = scrub_run(&scrub(&text, &secrets)).into_owned();
        assert!(!whole.contains("s3cr3t") && whole.contains("(sensitive)"));
        for piece in [1, 7, 4096, 100_000] {
            assert_eq!(streamed(&text, &secrets, piece), whole, "pieces of {piece}");
        }
    }

    #[test]
    fn a_secret_across_lines_holds_the_text_until_finish() {
        let secrets = [Sensitive::new("two\nlines".to_string())];
        let text = "x\n".repeat(STREAM_CHUNK) + "two\nlines\n";
        let mut out = Scrubbing::new(&secrets, Vec::new());
        let _ = out.write_all(text.as_bytes());
        assert!(out.sink.is_empty(), "nothing written before finish");
        let shown = String::from_utf8_lossy(&out.finish()).into_owned();
        assert!(shown.ends_with("x\n(sensitive)\n"));
    }
}
