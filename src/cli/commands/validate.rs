//! `gridform validate`: every problem in every manifest, `path:line:col: error: message`.

use std::path::PathBuf;

use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::manifest::{self, Diagnostic, Severity};

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

/// Validates the manifests under `paths` (the current directory when empty).
pub fn run(paths: &[PathBuf], printer: &Printer) -> anyhow::Result<ExitStatus> {
    let loaded = manifest::load(&paths_or_cwd(paths), &manifest::process_env);
    print_diagnostics(&loaded.diagnostics, printer);
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
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
    Ok(ExitStatus::Success)
}
