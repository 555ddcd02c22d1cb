//! `gridform validate`: every problem in every manifest, `path:line:col: error: message` on
//! stderr, and with `--format json` one JSON report on stdout (docs/validate-json.md). Also how
//! other commands report manifest problems.

use std::path::PathBuf;

use serde::Serialize;

use crate::cli::args::{ReportFormat, ValidateArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::manifest::{self, Diagnostic, Loaded, Severity};

/// The version of the JSON report; bumped as `plan --format json`'s is.
const REPORT_FORMAT_VERSION: &str = "1.0";

/// The manifest paths to read: the arguments, or the current directory.
pub fn paths_or_cwd(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    }
}

/// Prints diagnostics to stderr in the `path:line:col: error: message` form.
pub fn print_diagnostics(diagnostics: &[Diagnostic], printer: &Printer) {
    for d in diagnostics {
        let label = match d.severity {
            Severity::Error => printer.error_label(),
            Severity::Warning => printer.warning_label(),
        };
        let location = if d.pos.line == 0 {
            format!("{}", d.file.display())
        } else {
            format!("{}:{}:{}", d.file.display(), d.pos.line, d.pos.col)
        };
        let mut text = format!("{location}: {label}: {}", d.message);
        if let Some(hint) = &d.hint {
            text.push_str(&format!("\n  {}: {hint}", printer.hint_label()));
        }
        printer.status(&text);
    }
}

/// The JSON report of a load.
#[derive(Serialize)]
struct Report<'a> {
    format_version: &'static str,
    valid: bool,
    files: usize,
    documents: usize,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<ReportedDiagnostic<'a>>,
}

#[derive(Serialize)]
struct ReportedDiagnostic<'a> {
    file: String,
    /// `None` for a problem with a whole file or directory.
    line: Option<usize>,
    column: Option<usize>,
    severity: &'static str,
    message: &'a str,
    hint: Option<&'a str>,
}

fn count(loaded: &Loaded, severity: Severity) -> usize {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

/// The JSON report of `loaded` (pretty, with a final newline).
pub fn report_json(loaded: &Loaded) -> anyhow::Result<String> {
    let errors = count(loaded, Severity::Error);
    let report = Report {
        format_version: REPORT_FORMAT_VERSION,
        valid: errors == 0,
        files: loaded.files,
        documents: loaded.documents,
        errors,
        warnings: count(loaded, Severity::Warning),
        diagnostics: loaded
            .diagnostics
            .iter()
            .map(|d| ReportedDiagnostic {
                file: d.file.display().to_string(),
                line: (d.pos.line > 0).then_some(d.pos.line),
                column: (d.pos.line > 0).then_some(d.pos.col),
                severity: match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                message: &d.message,
                hint: d.hint.as_deref(),
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&report)? + "\n")
}

/// Reports the problems of `loaded`: on stderr, and as JSON on stdout when `format` is JSON and
/// `always_json` or there is an error (a command whose own JSON follows a valid load passes
/// `false`).
pub fn report(
    loaded: &Loaded,
    format: ReportFormat,
    always_json: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    print_diagnostics(&loaded.diagnostics, printer);
    if format == ReportFormat::Json && (always_json || count(loaded, Severity::Error) > 0) {
        printer.data(&report_json(loaded)?);
    }
    Ok(())
}

/// Validates the manifests under `args.paths` (the current directory when empty).
pub fn run(args: &ValidateArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let loaded = manifest::load(&paths_or_cwd(&args.paths), &manifest::process_env);
    report(&loaded, args.format, true, printer)?;
    let errors = count(&loaded, Severity::Error);
    if errors > 0 {
        printer.status(&format!(
            "{}: {errors} problem{} in {} file{}",
            printer.error_label(),
            if errors == 1 { "" } else { "s" },
            loaded.files,
            if loaded.files == 1 { "" } else { "s" }
        ));
        return Ok(ExitStatus::Failure);
    }
    if !printer.quiet {
        printer.status(&format!(
            "ok: {} document{} in {} file{} are valid",
            loaded.documents,
            if loaded.documents == 1 { "" } else { "s" },
            loaded.files,
            if loaded.files == 1 { "" } else { "s" }
        ));
    }
    // The process ends right after this; freeing 10k documents piece by piece is wasted CPU,
    // and nothing in them flushes or unlocks when dropped.
    std::mem::forget(loaded);
    Ok(ExitStatus::Success)
}
