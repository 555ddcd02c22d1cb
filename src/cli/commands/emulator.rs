//! `gridform emulator serve`: turns the flags into an `emulator::Config`, takes the `--state`
//! file's lock (the one `--emulator` runs take), binds the listener, prints the base URL as the
//! first stdout line, serves until SIGINT/SIGTERM, flushes state.

use anyhow::Context;

use super::common::Ctx;
use crate::cli::args::EmulatorServeArgs;
use crate::cli::exit::{ExitStatus, Hinted};
use crate::emulator::{self, Clock, Config, FaultSpec, ThrottleSpec};

fn usage(message: String, hint: &str) -> anyhow::Error {
    Hinted {
        message,
        hint: hint.into(),
    }
    .into()
}

/// Builds the emulator configuration from the flags.
pub fn config_from_args(args: &EmulatorServeArgs) -> anyhow::Result<Config> {
    let throttle = match &args.throttle {
        None => ThrottleSpec::arm(),
        Some(text) => ThrottleSpec::parse(text)
            .map_err(|e| usage(e, "use `arm`, `off` or `READS,WRITES,DELETES`"))?,
    };
    let faults = match &args.faults {
        None => FaultSpec::default(),
        Some(text) => FaultSpec::parse(text).map_err(|e| {
            usage(
                e,
                "e.g. `--faults 5xx=0.1,429=0.05,reset=0.02,lro-fail=0.05` (see docs/emulator.md)",
            )
        })?,
    };
    Ok(Config {
        latency: args.latency.unwrap_or_default(),
        lro_delay: args.lro_delay.unwrap_or_default(),
        throttle,
        faults,
        seed: args.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        }),
        state_file: args.state.clone(),
        scheme: "http",
        require_auth: true,
        ca_pem: None,
        time_scale: args.time_scale,
        dead_letter_dir: args.dead_letter_dir.clone().or_else(|| {
            args.state
                .as_ref()
                .and_then(|s| s.parent())
                .map(|d| d.join("deadletter"))
        }),
    })
}

/// Installs the SIGINT/SIGTERM handlers now (before the URL is printed, so a signal sent right
/// after reading it is never lost) and returns a future that resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term =
            signal(SignalKind::terminate()).context("could not install the SIGTERM handler")?;
        let mut int =
            signal(SignalKind::interrupt()).context("could not install the SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            tracing::info!("emulator shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("emulator shutting down");
        })
    }
}

/// Runs the emulator until SIGINT/SIGTERM.
pub fn serve(args: &EmulatorServeArgs, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    let printer = ctx.printer;
    let mut config = config_from_args(args)?;
    let cert = if args.tls {
        let cert = emulator::tls::self_signed().context("could not set up --tls")?;
        config.scheme = "https";
        config.ca_pem = Some(cert.cert_pem.clone());
        Some(cert)
    } else {
        None
    };
    ctx.rt.block_on(async {
        let state = config.state_file.clone();
        let scheme = config.scheme;
        // Held until the state is flushed at the end of this block.
        let _state_lock = match &state {
            Some(file) => Some(
                crate::session::state_lock::acquire(file, ctx.lock_timeout, |holder| {
                    printer.status(&format!("waiting for {}, in use by {holder}", file.display()));
                })
                .await
                .map_err(|e| super::common::with_lock_hint(e.into()))?,
            ),
            None => None,
        };
        let emu = emulator::Emulator::open(config, Clock::system())?;
        if state.is_some() {
            emu.lock().touch();
            emu.flush()?;
        }
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("could not listen on {}", args.listen))?;
        let addr = listener.local_addr().context("could not read the bound address")?;
        let shutdown = shutdown_signal()?;
        if let Some(cert) = &cert {
            let pem_path = match &state {
                Some(s) => s.with_extension("ca.pem"),
                None => std::env::temp_dir().join(format!("gridform-emulator-{}.ca.pem", addr.port())),
            };
            emulator::tls::write_ca_pem(&pem_path, &cert.cert_pem)
                .with_context(|| format!("could not write {}", pem_path.display()))?;
            printer.status(&format!(
                "emulator certificate: {} (trust it with SSL_CERT_FILE / REQUESTS_CA_BUNDLE; also at /_emulator/ca.pem)",
                pem_path.display()
            ));
        }
        printer.data(&format!("{scheme}://{addr}\n"));
        emulator::serve_until(listener, cert.as_ref(), emu, shutdown).await
        .context("the emulator failed")?;
        anyhow::Ok(())
    })?;
    Ok(ExitStatus::Success)
}
