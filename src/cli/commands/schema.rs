//! `gridform schema`: the JSON Schema of the manifest format on stdout.

use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;

/// Prints the schema.
pub fn run(printer: &Printer) -> anyhow::Result<ExitStatus> {
    let schema = crate::manifest::schema::manifest_schema();
    printer.data(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
    Ok(ExitStatus::Success)
}
