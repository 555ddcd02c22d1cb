//! The command-line edge: argument parsing, settings, output, exit codes and wiring.
//!
//! The only module that uses `anyhow`, writes to stdout/stderr or decides the process exit code.
//! It holds no domain logic: each command loads manifests, calls the library, renders the result.

pub(crate) mod args;
mod commands;
pub(crate) mod exit;
pub(crate) mod output;
pub(crate) mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use clap::Parser;

pub use args::Cli;
use args::{Command, EmulatorCommand};
use commands::common::Ctx;
pub use exit::ExitStatus;
use output::Printer;

use crate::arm::{AuthMethod as ArmAuth, AzureCloud};
use crate::session::{AzureSettings, Target};

/// Parses the command line, runs the command, reports errors, returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                // Help asked for is success; help shown because a command is missing is a
                // usage error (a script that runs bare `gridform` must not pass).
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitStatus::Success.into()
                }
                _ => ExitStatus::Usage.into(),
            };
        }
    };
    let printer = Printer::new(cli.global.color, cli.global.quiet > 0);
    init_tracing(
        cli.global.verbose,
        cli.global.quiet > 0,
        printer.color_stderr,
    );
    match run(cli, printer) {
        Ok(status) => status.into(),
        Err(err) => {
            printer.report_error(&err);
            if err.chain().any(|c| c.is::<exit::UsageError>()) {
                ExitStatus::Usage.into()
            } else {
                ExitStatus::Failure.into()
            }
        }
    }
}

/// Logs on stderr; ANSI colour only when the printer colours stderr (`--color`, `NO_COLOR`, TTY).
fn init_tracing(verbose: u8, quiet: bool, color: bool) {
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
        .with_writer(output::ScrubbedStderr)
        .with_ansi(color)
        .with_target(false)
        .try_init();
}

/// The target the global flags name, resolved once.
fn target_of(global: &args::GlobalArgs) -> Target {
    if global.emulator {
        return Target::Embedded {
            state: PathBuf::from(crate::session::EMBEDDED_STATE),
            lock_timeout: global.lock_timeout,
        };
    }
    if let Some(url) = &global.emulator_url {
        return Target::EmulatorUrl(url.clone());
    }
    Target::Azure(AzureSettings {
        endpoint: global.endpoint.clone(),
        cloud: match global.cloud {
            args::Cloud::AzureCloud => AzureCloud::Public,
            args::Cloud::AzureUSGovernment => AzureCloud::UsGovernment,
            args::Cloud::AzureChinaCloud => AzureCloud::China,
        },
        auth: match global.auth {
            args::AuthFlag::Auto => ArmAuth::Auto,
            args::AuthFlag::Cli => ArmAuth::Cli,
            args::AuthFlag::ClientSecret => ArmAuth::ClientSecret,
            args::AuthFlag::WorkloadIdentity => ArmAuth::WorkloadIdentity,
            args::AuthFlag::ManagedIdentity => ArmAuth::ManagedIdentity,
        },
    })
}

fn run(cli: Cli, printer: Printer) -> anyhow::Result<ExitStatus> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let target = target_of(&cli.global);
    let ctx = Ctx {
        rt: &rt,
        target: &target,
        printer: &printer,
        lock_timeout: cli.global.lock_timeout,
    };
    match cli.command {
        Command::Validate(args) => commands::validate::run(&args, &printer),
        Command::Schema => commands::schema::run(&printer),
        Command::Emulator(EmulatorCommand::Serve(args)) => commands::emulator::serve(&args, &ctx),
        Command::Plan(args) => commands::plan::run(&args, &ctx),
        Command::Apply(args) => commands::apply::run(&args, &ctx),
        Command::Destroy(args) => commands::destroy::run(&args, &ctx),
        Command::Drift(args) => commands::drift::run(&args, &ctx),
        Command::Show(args) => commands::show::run(&args, &ctx),
        Command::Unlock(args) => commands::unlock::run(&args, &ctx),
        Command::Export(args) => commands::export::run(&args, &ctx),
        Command::Emulator(EmulatorCommand::Emit(cmd)) => commands::emit::run(&cmd, &ctx),
        Command::Publish(args) => commands::publish::run(&args, &ctx),
        Command::Verify(args) => commands::verify::run(&args, &ctx),
    }
}
