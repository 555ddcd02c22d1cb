//! The scale benchmark (issue 14): how `gridform validate` and `gridform plan` grow from a stack
//! of 1,000 to one of 10,000 webhook subscriptions, and what refreshing a converged 10k stack
//! costs. Results and the commands are in docs/benchmark.md ("Scale: 10k documents").
//!
//! Run with `cargo build --release && cargo run --release --example bench_scale -- [--runs N]
//! [--topics T] [--subs-per-topic S] [--small-topics T1] [--skip-refresh]`.
//!
//! How it measures: the stacks are written to a temporary directory (one file per topic, 13
//! lines per subscription). `validate` and `plan` are the release `gridform` binary (next to
//! this example in `target/release/`), run under `/usr/bin/time` for its user+sys CPU and peak
//! RSS; `plan` runs against `gridform emulator serve` with an empty world. Each figure is the
//! median of `--runs` runs (default 5). The converged world is built in-process: the emulator's
//! router (no state file) and a webhook receiver on loopback, the stack applied through the
//! library; then the refresh is measured twice: in-process on its own single-threaded runtime
//! and thread (that thread's CPU is the client's, the emulator runs on other threads), and as
//! the whole `gridform plan` process against the same emulator.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use clap::Parser;
use gridform::apply::remote::Remote;
use gridform::apply::{ApplyOptions, Outcome, execute};
use gridform::arm::pacing::PacingConfig;
use gridform::arm::{ArmClientOptions, ConnectSettings};
use gridform::emulator::{Clock, Config, Emulator, ThrottleSpec};
use gridform::plan::{PlanOptions, plan};
use serde_json::{Value, json};

/// The targets.
const VALIDATE_CPU: f64 = 0.3;
const VALIDATE_MB: f64 = 100.0;
const PLAN_CPU: f64 = 0.6;
const PLAN_MB: f64 = 120.0;
const GROWTH: f64 = 12.0;
const REFRESH_CPU: f64 = 0.5;

const SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000000be";

/// What to run.
#[derive(Debug, Clone, Parser)]
#[command(about = "gridform validate/plan at 1k and 10k documents, and the converged refresh")]
struct Params {
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Topics in the large stack.
    #[arg(long, default_value_t = 100)]
    topics: usize,
    /// Topics in the small stack (same subscriptions per topic).
    #[arg(long, default_value_t = 10)]
    small_topics: usize,
    /// Webhook subscriptions per topic.
    #[arg(long, default_value_t = 100)]
    subs_per_topic: usize,
    /// Skip building the converged world and measuring its refresh.
    #[arg(long)]
    skip_refresh: bool,
}

/// One process's CPU (user + sys) and peak RSS.
#[derive(Debug, Clone, Copy)]
struct Sample {
    cpu: f64,
    mb: f64,
}

/// The median CPU and the median peak RSS of several samples.
fn median(samples: &[Sample]) -> Sample {
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    Sample {
        cpu: mid(samples.iter().map(|s| s.cpu).collect()),
        mb: mid(samples.iter().map(|s| s.mb).collect()),
    }
}

/// Writes the stack: a Stack file and one file per topic with its subscriptions.
fn write_stack(dir: &Path, topics: usize, subs: usize, hook_base: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("stack.yaml"),
        format!(
            "apiVersion: gridform/v1\nkind: Stack\nmetadata: {{name: scale}}\nspec:\n  \
             subscriptionId: {SUBSCRIPTION}\n  resourceGroup: scale\n  location: westeurope\n---\n\
             apiVersion: gridform/v1\nkind: ProviderRegistration\nmetadata: {{name: Microsoft.EventGrid}}\n---\n\
             apiVersion: gridform/v1\nkind: ResourceGroup\nmetadata: {{name: scale}}\n"
        ),
    )?;
    for t in 0..topics {
        let mut text =
            format!("apiVersion: gridform/v1\nkind: Topic\nmetadata: {{name: topic-{t:03}}}\n");
        for s in 0..subs {
            text.push_str(&format!(
                "---\napiVersion: gridform/v1\nkind: EventSubscription\n\
                 metadata: {{name: t{t:03}-sub-{s:03}}}\nspec:\n  \
                 topic: {{kind: Topic, name: topic-{t:03}}}\n  destination:\n    \
                 endpointType: WebHook\n    endpointUrl: {hook_base}/t{t:03}/s{s:03}\n  \
                 filter:\n    includedEventTypes: [Scale.Created, Scale.Deleted]\n  \
                 retryPolicy:\n    maxDeliveryAttempts: 10\n"
            ));
        }
        std::fs::write(dir.join(format!("topic-{t:03}.yaml")), text)?;
    }
    Ok(())
}

/// The release `gridform` binary next to this example.
fn gridform_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("gridform"))
        .context("cannot locate target/release")?;
    if !bin.is_file() {
        bail!(
            "{} does not exist; run `cargo build --release` first",
            bin.display()
        );
    }
    Ok(bin)
}

/// Runs `gridform ARGS` under `/usr/bin/time`; fails when gridform fails.
fn measured(bin: &Path, args: &[&str], scratch: &Path) -> anyhow::Result<Sample> {
    let report = scratch.join("time.txt");
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%U %S %M")
        .arg("-o")
        .arg(&report)
        .arg(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run /usr/bin/time")?;
    if !status.success() {
        bail!("`gridform {}` failed: {status}", args.join(" "));
    }
    let text = std::fs::read_to_string(&report)?;
    let fields: Vec<f64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [user, sys, kb] = fields[..] else {
        bail!("unexpected /usr/bin/time output: {text}");
    };
    Ok(Sample {
        cpu: user + sys,
        mb: kb / 1024.0,
    })
}

fn median_of(
    runs: usize,
    mut run: impl FnMut() -> anyhow::Result<Sample>,
) -> anyhow::Result<Sample> {
    let samples = (0..runs.max(1))
        .map(|_| run())
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(median(&samples))
}

/// `gridform emulator serve` on a free port, empty and without a state file; killed on drop.
struct ServedEmulator {
    child: std::process::Child,
    url: String,
}

impl ServedEmulator {
    fn start(bin: &Path) -> anyhow::Result<Self> {
        use std::io::BufRead as _;
        let mut child = Command::new(bin)
            .args(["emulator", "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start the emulator")?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        Ok(Self {
            child,
            url: line.trim().to_string(),
        })
    }
}

impl Drop for ServedEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Validate and plan figures of one stack.
struct StackFigures {
    documents: usize,
    validate: Sample,
    plan: Sample,
}

fn measure_stack(
    p: &Params,
    bin: &Path,
    dir: &Path,
    topics: usize,
    emulator: &ServedEmulator,
) -> anyhow::Result<StackFigures> {
    write_stack(dir, topics, p.subs_per_topic, "https://hooks.example.com")?;
    let path = dir.to_str().context("non-UTF-8 temporary path")?;
    let validate = median_of(p.runs, || measured(bin, &["validate", path], dir))?;
    let url = emulator.url.as_str();
    let plan = median_of(p.runs, || {
        measured(bin, &["--emulator-url", url, "plan", path], dir)
    })?;
    Ok(StackFigures {
        documents: 3 + topics * (1 + p.subs_per_topic),
        validate,
        plan,
    })
}

/// GETs the emulator answered under `/subscriptions` (the refresh's requests).
#[derive(Default)]
struct Reads(AtomicU64);

async fn count_reads(State(c): State<Arc<Reads>>, req: Request, next: Next) -> Response {
    if req.method() == "GET" && req.uri().path().starts_with("/subscriptions") {
        c.0.fetch_add(1, Ordering::Relaxed);
    }
    next.run(req).await
}

async fn serve(app: axum::Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

/// A loopback receiver answering Event Grid's validation handshake.
fn receiver() -> axum::Router {
    axum::Router::new().route(
        "/{*path}",
        axum::routing::post(|axum::Json(v): axum::Json<Value>| async move {
            axum::Json(json!({"validationResponse": v[0]["data"]["validationCode"]}))
        }),
    )
}

fn remote_for(url: &str) -> anyhow::Result<Remote> {
    let settings = ConnectSettings {
        emulator_url: Some(url.to_string()),
        // No client pacing: the emulator does not throttle here, and ARM's write refill of
        // 10/s would make converging 10k subscriptions take 17 minutes.
        options: ArmClientOptions {
            pacing: PacingConfig {
                enabled: false,
                ..PacingConfig::default()
            },
            ..ArmClientOptions::default()
        },
        ..ConnectSettings::default()
    };
    let conn = gridform::arm::connect::connect_with_env(settings, &|_| None)
        .context("cannot connect to the emulator")?;
    Ok(Remote {
        arm: conn.arm,
        auth0: None,
        graph: None,
    })
}

fn plan_options() -> PlanOptions {
    PlanOptions {
        now: chrono::Utc::now(),
        salt: "benchsalt000".into(),
        refresh_secrets: false,
        force_replace: Vec::new(),
    }
}

fn load_dir(dir: &Path) -> anyhow::Result<gridform::model::DesiredState> {
    let loaded = gridform::manifest::load(&[dir.to_path_buf()], &|_| None);
    match loaded.state {
        Some(s) => Ok(s),
        None => bail!(
            "the generated manifests are invalid: {:?}",
            loaded.diagnostics.first()
        ),
    }
}

/// CPU time of the calling thread (Linux: utime + stime of /proc/thread-self/stat).
fn thread_cpu() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        // The kernel reports clock ticks of 1/100 s (USER_HZ on Linux).
        (Some(u), Some(s)) => Ok((u + s) / 100.0),
        _ => bail!("cannot read /proc/thread-self/stat"),
    }
}

/// One in-process refresh on its own thread and current-thread runtime: (CPU, GETs served).
fn refresh_on_own_thread(
    url: &str,
    desired: &gridform::model::DesiredState,
    reads: &Reads,
) -> anyhow::Result<(f64, u64)> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let remote = remote_for(url)?;
            let (before, cpu0) = (reads.0.load(Ordering::Relaxed), thread_cpu()?);
            let live = rt.block_on(gridform::session::read_live(&remote, desired, false))?;
            let cpu = thread_cpu()? - cpu0;
            let again = plan(desired, &live, &plan_options());
            if !again.actions.is_empty() {
                bail!(
                    "the converged stack still plans {} actions",
                    again.actions.len()
                );
            }
            Ok((cpu, reads.0.load(Ordering::Relaxed) - before))
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the refresh thread panicked"))?
    })
}

/// The converged refresh: in-process client CPU and requests, and the `gridform plan` process.
struct RefreshFigures {
    apply_wall: Duration,
    requests: u64,
    client_cpu: f64,
    plan_process: Sample,
}

fn measure_converged(p: &Params, bin: &Path, dir: &Path) -> anyhow::Result<RefreshFigures> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let reads = Arc::new(Reads::default());
    let config = Config {
        throttle: ThrottleSpec::Off,
        lro_delay: Duration::ZERO,
        seed: 1,
        ..Config::default()
    };
    let (url, hooks) = rt.block_on(async {
        let app = gridform::emulator::router(Emulator::new(config, Clock::system())).layer(
            axum::middleware::from_fn_with_state(reads.clone(), count_reads),
        );
        anyhow::Ok((serve(app).await?, serve(receiver()).await?))
    })?;
    write_stack(dir, p.topics, p.subs_per_topic, &format!("{hooks}/hooks"))?;
    let desired = load_dir(dir)?;
    let started = std::time::Instant::now();
    rt.block_on(async {
        let remote = remote_for(&url)?;
        let live = gridform::session::read_live(&remote, &desired, false).await?;
        let first = plan(&desired, &live, &plan_options());
        let opts = ApplyOptions {
            parallelism: 64,
            ..ApplyOptions::default()
        };
        let (_stop, stop_rx) = tokio::sync::watch::channel(false);
        let report = execute(&first, Arc::new(remote), &opts, stop_rx, |_| {}).await;
        let failed = report
            .outcomes
            .iter()
            .filter(|o| !matches!(o, Outcome::Succeeded))
            .count();
        if failed > 0 {
            bail!("{failed} actions of the converging apply did not succeed");
        }
        anyhow::Ok(())
    })?;
    let apply_wall = started.elapsed();
    let mut refreshes = Vec::new();
    for _ in 0..p.runs.max(1) {
        refreshes.push(refresh_on_own_thread(&url, &desired, &reads)?);
    }
    let requests = refreshes.first().map_or(0, |r| r.1);
    let client_cpu = median(
        &refreshes
            .iter()
            .map(|r| Sample { cpu: r.0, mb: 0.0 })
            .collect::<Vec<_>>(),
    )
    .cpu;
    let path = dir.to_str().context("non-UTF-8 temporary path")?;
    let plan_process = median_of(p.runs, || {
        measured(bin, &["--emulator-url", &url, "plan", path], dir)
    })?;
    Ok(RefreshFigures {
        apply_wall,
        requests,
        client_cpu,
        plan_process,
    })
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn row(name: &str, measured: String, target: &str, ratio: f64) -> String {
    format!(
        "{name:<40} {measured:>12} {target:>10} {:>7.2} {:>7}\n",
        ratio,
        verdict(ratio <= 1.0)
    )
}

fn render(small: &StackFigures, large: &StackFigures, refresh: Option<&RefreshFigures>) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<12} {:>10} {:>14} {:>14} {:>14} {:>14}\n",
        "stack", "documents", "validate CPU", "validate RSS", "plan CPU", "plan RSS"
    ));
    for f in [small, large] {
        out.push_str(&format!(
            "{:<12} {:>10} {:>12.3} s {:>11.1} MB {:>12.3} s {:>11.1} MB\n",
            if std::ptr::eq(f, small) {
                "small"
            } else {
                "large"
            },
            f.documents,
            f.validate.cpu,
            f.validate.mb,
            f.plan.cpu,
            f.plan.mb
        ));
    }
    let growth = |a: f64, b: f64| b / a;
    let (vg, pg) = (
        growth(small.validate.cpu, large.validate.cpu),
        growth(small.plan.cpu, large.plan.cpu),
    );
    out.push_str(&format!(
        "\n{:<40} {:>12} {:>10} {:>7} {:>7}\n",
        "target (large stack)", "measured", "target", "ratio", "verdict"
    ));
    let (v, pl) = (&large.validate, &large.plan);
    let seconds = |x: f64| format!("{x:.3} s");
    let megabytes = |x: f64| format!("{x:.1} MB");
    let times = |x: f64| format!("{x:.2}x");
    let mut rows = vec![
        (
            "validate CPU",
            seconds(v.cpu),
            "0.3 s",
            v.cpu / VALIDATE_CPU,
        ),
        (
            "validate peak RSS",
            megabytes(v.mb),
            "100 MB",
            v.mb / VALIDATE_MB,
        ),
        (
            "plan (empty world) CPU",
            seconds(pl.cpu),
            "0.6 s",
            pl.cpu / PLAN_CPU,
        ),
        (
            "plan (empty world) peak RSS",
            megabytes(pl.mb),
            "120 MB",
            pl.mb / PLAN_MB,
        ),
        (
            "validate CPU growth small -> large",
            times(vg),
            "12x",
            vg / GROWTH,
        ),
        (
            "plan CPU growth small -> large",
            times(pg),
            "12x",
            pg / GROWTH,
        ),
    ];
    if let Some(r) = refresh {
        rows.push((
            "converged refresh client CPU",
            seconds(r.client_cpu),
            "0.5 s",
            r.client_cpu / REFRESH_CPU,
        ));
    }
    for (name, measured, target, ratio) in rows {
        out.push_str(&row(name, measured, target, ratio));
    }
    if let Some(r) = refresh {
        out.push_str(&format!(
            "\nconverged large stack: applied in {:.1} s (in-process, no latency); refresh = {} \
             GET requests; whole `gridform plan` process: {:.3} s CPU, {:.1} MB\n",
            r.apply_wall.as_secs_f64(),
            r.requests,
            r.plan_process.cpu,
            r.plan_process.mb
        ));
    }
    out
}

fn main() -> anyhow::Result<()> {
    let p = Params::parse();
    let bin = gridform_binary()?;
    let scratch = tempfile::tempdir()?;
    let emulator = ServedEmulator::start(&bin)?;
    note(&format!(
        "emulator at {}; {} runs per figure",
        emulator.url, p.runs
    ));
    let small = measure_stack(
        &p,
        &bin,
        &scratch.path().join("small"),
        p.small_topics,
        &emulator,
    )?;
    let large = measure_stack(&p, &bin, &scratch.path().join("large"), p.topics, &emulator)?;
    drop(emulator);
    let refresh = if p.skip_refresh {
        None
    } else {
        note("building the converged world ...");
        Some(measure_converged(
            &p,
            &bin,
            &scratch.path().join("converged"),
        )?)
    };
    write!(
        std::io::stdout().lock(),
        "{}",
        render(&small, &large, refresh.as_ref())
    )?;
    Ok(())
}

/// Progress on stderr.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
