//! `gridform emulator serve`.

use crate::cli::args::{EmulatorServeArgs, GlobalArgs};
use crate::cli::exit::{self, ExitStatus};
use crate::cli::output::Printer;

/// Runs the emulator until SIGINT/SIGTERM.
pub fn serve(
    _args: &EmulatorServeArgs,
    _global: &GlobalArgs,
    _printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    Err(exit::not_implemented("emulator serve"))
}
