//! The export benchmark (issue 15): the benchmark world of `examples/bench.rs` (20 topics ×
//! 50 webhook subscriptions = 1,000, applied by gridform), then `export::export` of its resource
//! group, several times: ARM requests by class (the figure issue 15 asks for), wall time per
//! run (median), and a check that the exported manifests plan empty against the same world.
//! See `docs/export.md`.
//!
//! Run with `cargo run --release --example bench_export -- [--runs N] [--latency-ms L]`.
//! The world is built with `bench.rs`'s manifests, included here as a module (not edited).

#[path = "bench.rs"]
#[allow(dead_code)]
mod bench;

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use gridform::apply::remote::Remote;
use gridform::apply::{ApplyOptions, execute};
use gridform::arm::ConnectSettings;
use gridform::emulator::Config;
use gridform::export::{ExportRequest, export};
use gridform::model::DesiredState;
use gridform::plan::{PlanOptions, plan};

const SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000000be";

/// What to run.
#[derive(Debug, Clone, Parser)]
#[command(about = "gridform export benchmark against the in-process emulator")]
struct Args {
    /// Exports to time.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Emulator latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

fn desired_of(sources: &[(std::path::PathBuf, String)]) -> anyhow::Result<DesiredState> {
    let loaded = gridform::manifest::parse_sources(sources, &|_| None);
    match loaded.state {
        Some(d) => Ok(d),
        None => bail!("manifests invalid: {:?}", loaded.diagnostics.first()),
    }
}

fn options() -> PlanOptions {
    PlanOptions {
        now: chrono::Utc::now(),
        salt: "benchsalt000".into(),
        refresh_secrets: false,
        force_replace: Vec::new(),
    }
}

/// The exported files as manifest sources (`.env` is empty: the world has no secrets).
fn exported_sources(dir: &std::path::Path) -> anyhow::Result<Vec<(std::path::PathBuf, String)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "yaml") {
            out.push((p.clone(), std::fs::read_to_string(&p)?));
        }
    }
    out.sort();
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config {
        latency: Duration::from_millis(args.latency_ms),
        seed: 1,
        ..Config::default()
    };
    let running = gridform::emulator::spawn_local(config).await?;
    let params = bench::Params {
        topics: 20,
        subs_per_topic: 50,
        ..bench::Params::tiny()
    };
    // Webhooks on an address nothing listens on: the emulator's validation handshake only
    // runs for loopback URLs it can reach, so use the documentation host.
    let desired = desired_of(&bench::stack_sources(&params, "https://hooks.example.com"))?;
    let settings = ConnectSettings {
        emulator_url: Some(running.base_url.clone()),
        ..ConnectSettings::default()
    };
    let conn = gridform::arm::connect::connect_with_env(settings, &|_| None)?;
    let remote = Remote {
        arm: conn.arm,
        auth0: None,
        graph: None,
    };
    let live = gridform::session::read_live(&remote, &desired, false).await?;
    let first = plan(&desired, &live, &options());
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let applied = execute(
        &first,
        Arc::new(remote.clone()),
        &ApplyOptions::default(),
        stop_rx,
        |_| {},
    )
    .await;
    if applied
        .outcomes
        .iter()
        .any(|o| !matches!(o, gridform::apply::Outcome::Succeeded))
    {
        bail!("the benchmark world did not apply");
    }

    let tmp = tempfile::tempdir()?;
    let mut walls = Vec::new();
    let mut report = None;
    for run in 0..args.runs.max(1) {
        let request = ExportRequest {
            subscription: SUBSCRIPTION.into(),
            resource_group: "bench".into(),
            stack: None,
            out: tmp.path().join(format!("run-{run}")),
            force: false,
        };
        let t0 = Instant::now();
        let r = export(&remote, &request, chrono::Utc::now()).await?;
        walls.push(t0.elapsed());
        report = Some((r, request.out));
    }
    let Some((r, dir)) = report else {
        bail!("no run");
    };
    let exported = desired_of(&exported_sources(&dir)?).context("the export does not load")?;
    let live = gridform::session::read_live(&remote, &exported, false).await?;
    let again = plan(&exported, &live, &options());
    walls.sort();
    let median = walls[walls.len() / 2];
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "export of 20 topics x 1,000 webhook subscriptions (emulator latency {} ms; shared machine)",
        args.latency_ms
    )?;
    writeln!(
        out,
        "  requests per export: {} ({} reads, {} write-class POSTs)",
        r.requests.total(),
        r.requests.reads,
        r.requests.writes
    )?;
    writeln!(
        out,
        "  wall per export: median {:.3}s of {} runs",
        median.as_secs_f64(),
        walls.len()
    )?;
    writeln!(
        out,
        "  plan of the exported manifests: {} actions",
        again.actions.len()
    )?;
    running.shutdown().await?;
    if !again.actions.is_empty() {
        bail!("the exported manifests do not plan empty");
    }
    Ok(())
}
