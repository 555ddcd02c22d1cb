//! The emulator's state database benchmark (issue 14): the per-write cost curve with 0, 2,500,
//! 5,000 and 10,000 resources present (medians over interleaved rounds, ratio to the empty
//! world) and the `kill -9` durability count (N acknowledged writes, how many a restarted
//! emulator finds). Results and the reading of them: docs/benchmark.md.
//!
//! Run with `cargo run --release --example bench_emulator_store -- [--runs R] [--writes W]
//! [--killed N]`. The world has an estate's shape: topics of 99 webhook event subscriptions each
//! (100 resources per topic) in one resource group; one emulator on 127.0.0.1:0 with `--state`
//! per size, all built before measuring. A measured write is an event-subscription `PUT` over
//! HTTP (one SQLite transaction, committed before the response). Each of the R rounds measures
//! a batch of W writes in every world, the worlds in a rotating order, each batch into a topic
//! of its own that is deleted afterwards (untimed), so the sizes stay what they say; a size's
//! figure is the median of its rounds, its ratio the median of the rounds' ratios to the empty
//! world's batch of the same round. The durability part runs the emulator in a child process
//! (this example started with `--serve-child STATE`), kills it with SIGKILL right after the last
//! acknowledgement, restarts it on the same file and GETs every acknowledged group.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use gridform::emulator::{self, Clock, Config, Emulator, ThrottleSpec};

const SUB: &str = "11111111-2222-3333-4444-555555555555";
const API: &str = "api-version=2021-04-01";
const EG: &str = "api-version=2025-02-15";
const HOOK: &str = r#"{"properties":{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"https://hooks.example.com/bench"}}}}"#;
const SIZES: [usize; 4] = [0, 2_500, 5_000, 10_000];

struct Params {
    runs: usize,
    writes: usize,
    killed: usize,
}

fn parse_args() -> anyhow::Result<Result<Params, PathBuf>> {
    let mut p = Params {
        runs: 9,
        writes: 300,
        killed: 1_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--serve-child" => return Ok(Err(PathBuf::from(value()?))),
            "--runs" => p.runs = value()?.parse()?,
            "--writes" => p.writes = value()?.parse()?,
            "--killed" => p.killed = value()?.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(Ok(p))
}

fn config(state: &Path) -> Config {
    Config {
        state_file: Some(state.to_path_buf()),
        require_auth: false,
        throttle: ThrottleSpec::Off,
        seed: 1,
        ..Config::default()
    }
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: &'static str,
) -> anyhow::Result<()> {
    let resp = http
        .request(method, &url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    if !resp.status().is_success() {
        let status = resp.status();
        bail!("{url}: {status} {}", resp.text().await.unwrap_or_default());
    }
    Ok(())
}

async fn put_group(http: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<()> {
    let url = format!("{base}/subscriptions/{SUB}/resourcegroups/{name}?{API}");
    send(http, reqwest::Method::PUT, url, r#"{"location":"westus2"}"#).await
}

fn topic_url(base: &str, topic: &str) -> String {
    format!(
        "{base}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/{topic}"
    )
}

async fn put_topic(http: &reqwest::Client, base: &str, topic: &str) -> anyhow::Result<()> {
    let url = format!("{}?{EG}", topic_url(base, topic));
    send(http, reqwest::Method::PUT, url, r#"{"location":"westus2"}"#).await
}

async fn put_hook(
    http: &reqwest::Client,
    base: &str,
    topic: &str,
    name: &str,
) -> anyhow::Result<()> {
    let url = format!("{}/eventSubscriptions/{name}?{EG}", topic_url(base, topic));
    send(http, reqwest::Method::PUT, url, HOOK).await
}

/// The resource group, the Event Grid registration and `present` resources: topics of 99
/// event subscriptions each.
async fn build_world(http: &reqwest::Client, base: &str, present: usize) -> anyhow::Result<()> {
    let register =
        format!("{base}/subscriptions/{SUB}/providers/Microsoft.EventGrid/register?{API}");
    send(http, reqwest::Method::POST, register, "").await?;
    put_group(http, base, "rg").await?;
    for t in 0..present / 100 {
        let topic = format!("present-{t}");
        put_topic(http, base, &topic).await?;
        for i in 0..99 {
            put_hook(http, base, &topic, &format!("hook-{i}")).await?;
        }
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One emulator per size with its world built (untimed), each on its own database.
struct World {
    running: emulator::Running,
    _dir: tempfile::TempDir,
}

async fn open_world(present: usize) -> anyhow::Result<World> {
    let dir = tempfile::tempdir()?;
    let running = emulator::spawn_local(config(&dir.path().join("emulator.db"))).await?;
    build_world(&reqwest::Client::new(), &running.base_url, present).await?;
    Ok(World { running, _dir: dir })
}

/// Mean ms per write of one batch: `writes` event subscriptions PUT into a topic of its own,
/// which is deleted afterwards (untimed; its subscriptions go with it), so that the world keeps
/// its size from batch to batch.
async fn batch(http: &reqwest::Client, base: &str, writes: usize, n: usize) -> anyhow::Result<f64> {
    let topic = format!("measured-{n}");
    put_topic(http, base, &topic).await?;
    let started = Instant::now();
    for i in 0..writes {
        put_hook(http, base, &topic, &format!("hook-{i}")).await?;
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / writes as f64;
    let url = format!("{}?{EG}", topic_url(base, &topic));
    send(http, reqwest::Method::DELETE, url, "").await?;
    Ok(ms)
}

/// Per size (in `SIZES` order), each round's ms per write. The rounds interleave the sizes (in
/// a rotating order), so that a slow spell of the shared machine hits every size alike instead
/// of whichever size was being measured at the time.
async fn write_costs(p: &Params) -> anyhow::Result<Vec<Vec<f64>>> {
    let mut worlds = Vec::new();
    for present in SIZES {
        worlds.push(open_world(present).await?);
    }
    let http = reqwest::Client::new();
    let mut costs = vec![Vec::new(); worlds.len()];
    for round in 0..p.runs.max(1) {
        for k in 0..worlds.len() {
            let w = (round + k) % worlds.len();
            let ms = batch(&http, &worlds[w].running.base_url, p.writes, round).await?;
            costs[w].push(ms);
        }
    }
    for w in worlds {
        w.running.shutdown().await?;
    }
    Ok(costs)
}

fn spawn_child(state: &Path) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--serve-child")
        .arg(state)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    let stdout = child.stdout.take().context("no stdout")?;
    BufReader::new(stdout).read_line(&mut line)?;
    Ok((child, line.trim().to_string()))
}

/// `(acknowledged, found after kill -9 and restart)`.
async fn durability(p: &Params) -> anyhow::Result<(usize, usize)> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("emulator.db");
    let (mut child, base) = spawn_child(&state)?;
    let http = reqwest::Client::new();
    let mut acked = 0;
    for i in 0..p.killed {
        put_group(&http, &base, &format!("acked-{i}")).await?;
        acked += 1;
    }
    child.kill()?; // SIGKILL, right after the last acknowledgement
    child.wait()?;
    let (mut child, base) = spawn_child(&state)?;
    let mut found = 0;
    for i in 0..acked {
        let url = format!("{base}/subscriptions/{SUB}/resourcegroups/acked-{i}?{API}");
        if http.get(url).send().await?.status().is_success() {
            found += 1;
        }
    }
    child.kill()?;
    child.wait()?;
    Ok((acked, found))
}

/// The child: serves the emulator on `state` until killed.
async fn serve_child(state: PathBuf) -> anyhow::Result<()> {
    let emu = Emulator::open(config(&state), Clock::system())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut out = std::io::stdout();
    writeln!(out, "http://{}", listener.local_addr()?)?;
    out.flush()?;
    emulator::serve_until(listener, None, emu, std::future::pending()).await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let p = match parse_args()? {
        Err(state) => return rt.block_on(serve_child(state)),
        Ok(p) => p,
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "emulator state database: {} interleaved rounds of {} event-subscription PUTs per size (medians)",
        p.runs, p.writes
    )?;
    writeln!(
        out,
        "{:>9}  {:>12}  {:>8}  runs (ms/write)",
        "present", "ms/write", "ratio"
    )?;
    let costs = rt.block_on(write_costs(&p))?;
    let empty = costs.first().cloned().unwrap_or_default();
    for (present, runs) in SIZES.iter().zip(&costs) {
        // Each round's ratio to the empty world's batch of the same round, then the median.
        let ratios: Vec<f64> = runs.iter().zip(&empty).map(|(c, e)| c / e).collect();
        let shown: Vec<String> = runs.iter().map(|r| format!("{r:.3}")).collect();
        writeln!(
            out,
            "{present:>9}  {:>12.3}  {:>7.2}x  {}",
            median(runs.clone()),
            median(ratios),
            shown.join(" ")
        )?;
    }
    let started = Instant::now();
    let (acked, found) = rt.block_on(durability(&p))?;
    writeln!(
        out,
        "kill -9 durability: {acked} acknowledged, {found} found after restart ({:.1?})",
        started.elapsed()
    )?;
    Ok(())
}
