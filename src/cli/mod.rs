//! The command-line edge: argument parsing, settings, output, exit codes and wiring.
//!
//! The only module that uses `anyhow`, writes to stdout/stderr or decides the process exit code.
//! It holds no domain logic: each command loads manifests, calls the library, renders the result.

pub mod args;
mod commands;
pub mod exit;
pub mod output;
pub mod progress;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::{Command, EmulatorCommand};
pub use exit::ExitStatus;
use output::Printer;

/// Parses the command line, runs the command, reports errors, returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    ExitStatus::Success.into()
                }
                _ => ExitStatus::Usage.into(),
            };
        }
    };
    let printer = Printer::new(cli.global.color, cli.global.quiet > 0);
    init_tracing(cli.global.verbose, cli.global.quiet > 0);
    match run(cli, printer) {
        Ok(status) => status.into(),
        Err(err) => {
            printer.report_error(&err);
            ExitStatus::Failure.into()
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("gridform={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn run(cli: Cli, printer: Printer) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Validate(args) => commands::validate::run(&args.paths, &printer),
        Command::Schema => commands::schema::run(&printer),
        Command::Emulator(EmulatorCommand::Serve(args)) => {
            commands::emulator::serve(&args, &cli.global, &printer)
        }
        Command::Plan(args) => commands::plan::run(&args, &cli.global, &printer),
        Command::Apply(args) => commands::apply::run(&args, &cli.global, &printer),
        Command::Destroy(args) => commands::destroy::run(&args, &cli.global, &printer),
        Command::Drift(args) => commands::drift::run(&args, &cli.global, &printer),
        Command::Export(_) => Err(exit::not_implemented("export")),
        Command::Emulator(EmulatorCommand::Emit(cmd)) => {
            commands::emit::run(&cmd, &cli.global, &printer)
        }
        Command::Publish(args) => commands::publish::run(&args, &cli.global, &printer),
        Command::Verify(args) => commands::verify::run(&args, &cli.global, &printer),
    }
}
