//! The committed performance benchmark (issues 5 and 6): a stack of 20 topics and 1,000 webhook
//! subscriptions, planned and applied against the in-process emulator with per-request latency,
//! long-running-operation delay and ARM throttling, reporting wall time, requests per class,
//! 429s and the ratio of the apply time to its lower bound. See `docs/benchmark.md`.
//!
//! Run with `cargo run --release --example bench -- [--scale F] [--latency-ms L]
//! [--lro-delay-ms D] [--parallelism P]`. The same code path on a tiny stack is exercised by
//! `tests/it/bench_smoke.rs` (which includes this file as a module), so everything but `main`
//! is written to be reused there.
//!
//! Scaling: `--scale F` compresses ARM's throttling in time: the emulator's token buckets keep
//! ARM's sizes (reads 250, writes 200, deletes 200) and refill F times faster (reads 25·F/s,
//! writes and deletes 10·F/s); the client's pacer is configured with the same scaled limits (as
//! it is configured with ARM's published limits against Azure). Latency and LRO delay are given
//! directly. The bound (docs/benchmark.md):
//!
//! ```text
//! bound           = max(throttle bound, critical-path bound)
//! throttle bound  = max over write, delete: max(0, N_class - bucket_class) / refill_class
//! critical path   = max(longest chain, sum of action times / P), action time = L + D
//!                   (L for actions without a long-running operation: resource-group PUT)
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gridform::apply::remote::Remote;
use gridform::apply::{ApplyOptions, Outcome, execute};
use gridform::arm::pacing::{Bucket, PacingConfig};
use gridform::arm::{ArmClientOptions, ConnectSettings, RequestCounts};
use gridform::emulator::{Clock, Config, Emulator, ThrottleSpec};
use gridform::model::{DesiredState, ResourceKind};
use gridform::plan::{Operation, Plan, PlanOptions, plan};
use serde_json::{Value, json};

/// ARM's published per-subscription buckets (azure-behaviour.md §1.1): (size, refill per second).
const ARM_READS: (f64, f64) = (250.0, 25.0);
const ARM_WRITES: (f64, f64) = (200.0, 10.0);
const ARM_DELETES: (f64, f64) = (200.0, 10.0);

/// The refresh budget of issue 4 for the 20-topic, 1,000-subscription stack.
pub const REFRESH_BUDGET: u64 = 50;

const SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000000be";

/// What to run.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "gridform apply/plan benchmark against the in-process emulator")]
pub struct Params {
    /// Topics in the stack.
    #[arg(long, default_value_t = 20)]
    pub topics: usize,
    /// Webhook subscriptions per topic.
    #[arg(long, default_value_t = 50)]
    pub subs_per_topic: usize,
    /// Time compression of ARM throttling: bucket sizes as ARM's, refill rates × F.
    #[arg(long, default_value_t = 2.0)]
    pub scale: f64,
    /// Disable emulator throttling (and client pacing stays at the scaled limits).
    #[arg(long)]
    pub no_throttle: bool,
    /// Latency the emulator adds to every request, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Duration of every long-running operation (and provider registration), in milliseconds.
    #[arg(long, default_value_t = 900)]
    pub lro_delay_ms: u64,
    /// Executor parallelism (`gridform apply --parallelism`).
    #[arg(long, default_value_t = 50)]
    pub parallelism: usize,
}

impl Params {
    /// A tiny, unthrottled stack with no latency (the smoke test).
    pub fn tiny() -> Self {
        Self {
            topics: 2,
            subs_per_topic: 5,
            scale: 1.0,
            no_throttle: true,
            latency_ms: 0,
            lro_delay_ms: 0,
            parallelism: 10,
        }
    }

    fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    fn lro_delay(&self) -> Duration {
        Duration::from_millis(self.lro_delay_ms)
    }

    fn scaled(&self, (size, rate): (f64, f64)) -> (f64, f64) {
        (size, rate * self.scale)
    }

    fn throttle(&self) -> ThrottleSpec {
        if self.no_throttle {
            return ThrottleSpec::Off;
        }
        ThrottleSpec::Limits {
            reads: self.scaled(ARM_READS),
            writes: self.scaled(ARM_WRITES),
            deletes: self.scaled(ARM_DELETES),
        }
    }

    fn pacing(&self) -> PacingConfig {
        let bucket = |limits: (f64, f64)| {
            let (size, rate) = self.scaled(limits);
            Bucket {
                size: size as u32,
                refill_per_second: (rate.round() as u32).max(1),
            }
        };
        PacingConfig {
            reads: bucket(ARM_READS),
            writes: bucket(ARM_WRITES),
            deletes: bucket(ARM_DELETES),
            ..PacingConfig::default()
        }
    }
}

/// ARM requests the emulator saw, per class, and how many it answered 429.
#[derive(Debug, Default)]
pub struct ServerCounters {
    reads: AtomicU64,
    writes: AtomicU64,
    deletes: AtomicU64,
    throttled: AtomicU64,
}

/// A snapshot of [`ServerCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerCounts {
    /// GET/HEAD.
    pub reads: u64,
    /// PUT/PATCH/POST.
    pub writes: u64,
    /// DELETE.
    pub deletes: u64,
    /// Answered 429.
    pub throttled: u64,
}

impl ServerCounters {
    fn snapshot(&self) -> ServerCounts {
        ServerCounts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            deletes: self.deletes.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }
}

impl ServerCounts {
    fn since(&self, earlier: &Self) -> Self {
        Self {
            reads: self.reads - earlier.reads,
            writes: self.writes - earlier.writes,
            deletes: self.deletes - earlier.deletes,
            throttled: self.throttled - earlier.throttled,
        }
    }
}

async fn count_arm(State(c): State<Arc<ServerCounters>>, req: Request, next: Next) -> Response {
    let arm = req.uri().path().starts_with("/subscriptions");
    let counter = match req.method().as_str() {
        "GET" | "HEAD" => &c.reads,
        "DELETE" => &c.deletes,
        _ => &c.writes,
    };
    let resp = next.run(req).await;
    if arm {
        counter.fetch_add(1, Ordering::Relaxed);
        if resp.status().as_u16() == 429 {
            c.throttled.fetch_add(1, Ordering::Relaxed);
        }
    }
    resp
}

/// One measured phase.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phase {
    /// Wall time.
    pub wall: Duration,
    /// Requests the client sent (every attempt and poll).
    pub client: RequestCounts,
    /// Requests the emulator answered, and its 429s.
    pub server: ServerCounts,
}

/// The lower bounds of the apply time and their parts (docs/benchmark.md).
#[derive(Debug, Clone, Copy, Default)]
pub struct Bound {
    /// Write-class requests the plan needs at least.
    pub min_writes: u64,
    /// Delete requests the plan needs at least.
    pub min_deletes: u64,
    /// Time to spend those tokens after the bucket's burst at the scaled refill rate.
    pub throttle: Duration,
    /// Longest dependency chain, in actions.
    pub chain_actions: usize,
    /// Longest dependency chain, in time.
    pub chain: Duration,
    /// Total action time divided by the parallelism.
    pub work: Duration,
    /// `max(chain, work)`.
    pub critical_path: Duration,
    /// The issue's bound, `max(throttle, critical_path)`: every action may start at once.
    pub total: Duration,
    /// The target: the same model, but the work and tokens of actions that cannot start before
    /// their dependencies finish are counted from then. Also a lower bound, never below `total`.
    pub staged: Duration,
    /// Not a bound: `staged` with the time the protocol forces on every long-running action
    /// (PUT, wait for the operation, status poll, final GET: 3 × latency + LRO delay).
    pub protocol: Duration,
}

/// Everything the benchmark measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Topics × subscriptions per topic.
    pub subscriptions: usize,
    /// Refresh + plan of the empty world.
    pub plan: Phase,
    /// Actions in the first plan.
    pub plan_actions: usize,
    /// The apply.
    pub apply: Phase,
    /// Actions that did not succeed, with their messages.
    pub apply_failures: Vec<String>,
    /// Failures caused by throttling (a 429 reaching the user).
    pub surfaced_429: usize,
    /// Refresh + plan of the converged world.
    pub replan: Phase,
    /// Actions in the second plan (must be 0).
    pub replan_actions: usize,
    /// The lower bound of the apply.
    pub bound: Bound,
}

impl Report {
    /// Apply wall time over the staged bound (the target, <= 1.2).
    pub fn apply_ratio(&self) -> f64 {
        ratio(self.apply.wall, self.bound.staged)
    }

    /// Apply wall time over the issue's bound, `max(throttle, critical path)`.
    pub fn issue_ratio(&self) -> f64 {
        ratio(self.apply.wall, self.bound.total)
    }

    /// Apply wall time over the protocol figure.
    pub fn protocol_ratio(&self) -> f64 {
        ratio(self.apply.wall, self.bound.protocol)
    }

    /// Refresh requests of the converged stack over [`REFRESH_BUDGET`].
    pub fn refresh_ratio(&self) -> f64 {
        self.replan.client.total() as f64 / REFRESH_BUDGET as f64
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        return f64::NAN;
    }
    a.as_secs_f64() / b.as_secs_f64()
}

/// The manifests of the stack as YAML sources; webhooks point at `hook_base`.
pub fn stack_sources(p: &Params, hook_base: &str) -> Vec<(PathBuf, String)> {
    let mut stack = format!(
        "apiVersion: gridform/v1\nkind: Stack\nmetadata: {{name: bench}}\nspec:\n  \
         subscriptionId: {SUBSCRIPTION}\n  resourceGroup: bench\n  location: westeurope\n---\n\
         apiVersion: gridform/v1\nkind: ProviderRegistration\nmetadata: {{name: Microsoft.EventGrid}}\n---\n\
         apiVersion: gridform/v1\nkind: ResourceGroup\nmetadata: {{name: bench}}\n"
    );
    let mut subs = String::new();
    for t in 0..p.topics {
        stack.push_str(&format!(
            "---\napiVersion: gridform/v1\nkind: Topic\nmetadata: {{name: topic-{t:02}}}\n"
        ));
        for s in 0..p.subs_per_topic {
            subs.push_str(&format!(
                "---\napiVersion: gridform/v1\nkind: EventSubscription\n\
                 metadata: {{name: t{t:02}-sub-{s:03}}}\nspec:\n  \
                 topic: {{kind: Topic, name: topic-{t:02}}}\n  destination:\n    \
                 endpointType: WebHook\n    endpointUrl: {hook_base}/t{t:02}/s{s:03}\n  \
                 filter:\n    includedEventTypes: [Bench.Created, Bench.Deleted]\n"
            ));
        }
    }
    vec![
        (PathBuf::from("bench/stack.yaml"), stack),
        (PathBuf::from("bench/subscriptions.yaml"), subs),
    ]
}

/// A loopback webhook receiver answering the validation handshake; returns its base URL.
async fn spawn_receiver() -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(|axum::Json(v): axum::Json<Value>| async move {
            axum::Json(json!({"validationResponse": v[0]["data"]["validationCode"]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind the webhook receiver")?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://127.0.0.1:{}/hooks", addr.port()), task))
}

/// The emulator with request counting in front of it; returns its base URL.
async fn spawn_emulator(
    p: &Params,
    counters: Arc<ServerCounters>,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let config = Config {
        latency: p.latency(),
        lro_delay: p.lro_delay(),
        throttle: p.throttle(),
        seed: 1,
        ..Config::default()
    };
    let app = gridform::emulator::router(Emulator::new(config, Clock::system()))
        .layer(axum::middleware::from_fn_with_state(counters, count_arm));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind the emulator")?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}"), task))
}

/// Write-class and delete requests an operation needs at least.
fn min_requests(op: &Operation) -> (u64, u64) {
    match op {
        Operation::Register { .. } | Operation::Put { .. } | Operation::Patch { .. } => (1, 0),
        Operation::Replace { .. } => (1, 1),
        Operation::Delete { .. } => (0, 1),
        Operation::SetActivation { .. } => (2, 0),
        Operation::WaitForPartner { .. }
        | Operation::CreateLogStream { .. }
        | Operation::UpdateLogStream { .. }
        | Operation::ReplaceLogStream { .. }
        | Operation::DeleteLogStream { .. }
        | Operation::CreateGraphSubscription { .. }
        | Operation::PatchGraphSubscription { .. }
        | Operation::ReplaceGraphSubscription { .. }
        | Operation::DeleteGraphSubscription { .. }
        | Operation::Recorded { .. } => (0, 0),
    }
}

/// Time to spend `writes` and `deletes` tokens from full buckets at the scaled refill.
fn spend(p: &Params, (writes, deletes): (u64, u64)) -> Duration {
    if p.no_throttle {
        return Duration::ZERO;
    }
    let after_burst = |n: u64, (size, rate): (f64, f64)| (n as f64 - size).max(0.0) / rate;
    Duration::from_secs_f64(
        after_burst(writes, p.scaled(ARM_WRITES)).max(after_burst(deletes, p.scaled(ARM_DELETES))),
    )
}

/// The write-class and delete tokens of `actions`.
fn tokens(plan: &Plan, actions: impl Iterator<Item = usize>) -> (u64, u64) {
    actions
        .map(|i| min_requests(&plan.actions[i].operation))
        .fold((0, 0), |(w, d), (a, b)| (w + a, d + b))
}

/// When each action finishes at the earliest (its heaviest dependency chain with `time`), and
/// how many actions that chain has.
fn earliest_finish(plan: &Plan, time: &[Duration]) -> (Vec<Duration>, Vec<usize>) {
    let n = plan.actions.len();
    let mut finish = vec![Duration::ZERO; n];
    let mut chain_len = vec![0usize; n];
    // Actions are in dependency order, but do not rely on it: relax until stable.
    for _ in 0..n {
        let mut changed = false;
        for (i, a) in plan.actions.iter().enumerate() {
            let (start, len) = a
                .depends_on
                .iter()
                .filter(|d| **d < n)
                .map(|d| (finish[*d], chain_len[*d]))
                .max()
                .unwrap_or_default();
            let (f, l) = (start + time[i], len + 1);
            if (f, l) != (finish[i], chain_len[i]) {
                (finish[i], chain_len[i]) = (f, l);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    (finish, chain_len)
}

/// The staged bound with action times `time`: for every start time `x` of some action, the
/// actions that cannot start before `x` need at least `x` + their work over the parallelism,
/// and `x` + the time to spend their tokens from a full bucket; never below the longest chain.
fn staged(p: &Params, plan: &Plan, time: &[Duration]) -> Duration {
    let (finish, _) = earliest_finish(plan, time);
    let start: Vec<Duration> = finish.iter().zip(time).map(|(f, t)| *f - *t).collect();
    let mut stages = start.clone();
    stages.sort();
    stages.dedup();
    let mut bound = finish.iter().copied().max().unwrap_or_default();
    for x in stages {
        let later = || (0..start.len()).filter(|i| start[*i] >= x);
        let work: Duration = later().map(|i| time[i]).sum();
        let need = work
            .div_f64(p.parallelism.max(1) as f64)
            .max(spend(p, tokens(plan, later())));
        bound = bound.max(x + need);
    }
    bound
}

/// The lower bounds of applying `plan` (docs/benchmark.md).
pub fn bound(p: &Params, plan: &Plan) -> Bound {
    let (latency, lro) = (p.latency(), p.lro_delay());
    // Resource groups answer a PUT at once; everything else here runs a long-running
    // operation (provider registration included), which the protocol follows with a status
    // poll once the server's hint says it is done and a final GET of the resource.
    let lro_action = |i: usize| plan.actions[i].target.kind != ResourceKind::ResourceGroup;
    let n = plan.actions.len();
    let time: Vec<Duration> = (0..n)
        .map(|i| {
            if lro_action(i) {
                latency + lro
            } else {
                latency
            }
        })
        .collect();
    let protocol_time: Vec<Duration> = (0..n)
        .map(|i| {
            if lro_action(i) {
                latency * 3 + lro
            } else {
                latency
            }
        })
        .collect();
    let (finish, chain_len) = earliest_finish(plan, &time);
    let (chain, chain_actions) = finish
        .iter()
        .zip(&chain_len)
        .map(|(f, l)| (*f, *l))
        .max()
        .unwrap_or_default();
    let work = time
        .iter()
        .sum::<Duration>()
        .div_f64(p.parallelism.max(1) as f64);
    let (min_writes, min_deletes) = tokens(plan, 0..n);
    let throttle = spend(p, (min_writes, min_deletes));
    let critical_path = chain.max(work);
    Bound {
        min_writes,
        min_deletes,
        throttle,
        chain_actions,
        chain,
        work,
        critical_path,
        total: throttle.max(critical_path),
        staged: staged(p, plan, &time),
        protocol: staged(p, plan, &protocol_time),
    }
}

/// Refresh + plan, measured.
async fn refresh_and_plan(
    remote: &Remote,
    desired: &DesiredState,
    counters: &ServerCounters,
) -> anyhow::Result<(Plan, Phase)> {
    let (c0, s0, t0) = (
        remote.arm.request_counts(),
        counters.snapshot(),
        Instant::now(),
    );
    let live = gridform::session::read_live(remote, desired, false)
        .await
        .context("refresh failed")?;
    let opts = PlanOptions {
        now: chrono::Utc::now(),
        salt: "benchsalt000".into(),
        refresh_secrets: false,
        force_replace: Vec::new(),
    };
    let p = plan(desired, &live, &opts);
    let phase = Phase {
        wall: t0.elapsed(),
        client: remote.arm.request_counts().since(&c0),
        server: counters.snapshot().since(&s0),
    };
    if let Some(e) = p.errors.first() {
        bail!("the plan has errors; first: {}: {}", e.target, e.message);
    }
    Ok((p, phase))
}

/// Runs the whole scenario: refresh + plan, apply, refresh + plan again.
pub async fn run(p: &Params) -> anyhow::Result<Report> {
    let counters = Arc::new(ServerCounters::default());
    let (hook, receiver) = spawn_receiver().await?;
    let (base, server) = spawn_emulator(p, counters.clone()).await?;

    let loaded = gridform::manifest::parse_sources(&stack_sources(p, &hook), &|_| None);
    let Some(desired) = loaded.state else {
        let first = loaded
            .diagnostics
            .first()
            .map(|d| format!("{d:?}"))
            .unwrap_or_default();
        bail!("the generated manifests are invalid: {first}");
    };

    let settings = ConnectSettings {
        emulator_url: Some(base),
        options: ArmClientOptions {
            pacing: p.pacing(),
            ..ArmClientOptions::default()
        },
        ..ConnectSettings::default()
    };
    // A hermetic environment: no AZURE_* variable of the caller changes the credential.
    let conn = gridform::arm::connect::connect_with_env(settings, &|_| None)
        .context("cannot connect to the emulator")?;
    let remote = Remote {
        arm: conn.arm,
        auth0: None,
        graph: None,
    };

    let (first, plan_phase) = refresh_and_plan(&remote, &desired, &counters).await?;
    let bound = bound(p, &first);

    let opts = ApplyOptions {
        parallelism: p.parallelism,
        // The CLI polls domain waits every 2 s; compressed like the throttling.
        poll_interval: Duration::from_secs_f64(2.0 / p.scale.max(0.01)),
        ..ApplyOptions::default()
    };
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (c0, s0, t0) = (
        remote.arm.request_counts(),
        counters.snapshot(),
        Instant::now(),
    );
    let report = execute(&first, Arc::new(remote.clone()), &opts, stop_rx, |_| {}).await;
    let apply = Phase {
        wall: t0.elapsed(),
        client: remote.arm.request_counts().since(&c0),
        server: counters.snapshot().since(&s0),
    };
    let apply_failures: Vec<String> = report
        .outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Outcome::Succeeded => None,
            Outcome::Failed(f) => Some(format!("{}: {}", first.actions[i].target.name, f.message)),
            Outcome::Skipped { .. } => Some(format!("{}: skipped", first.actions[i].target.name)),
        })
        .collect();
    let surfaced_429 = apply_failures
        .iter()
        .filter(|f| f.contains("429") || f.contains("Throttled"))
        .count();

    let (second, replan) = refresh_and_plan(&remote, &desired, &counters).await?;

    server.abort();
    receiver.abort();
    Ok(Report {
        subscriptions: p.topics * p.subs_per_topic,
        plan: plan_phase,
        plan_actions: first.actions.len(),
        apply,
        apply_failures,
        surfaced_429,
        replan,
        replan_actions: second.actions.len(),
        bound,
    })
}

/// A duration as seconds with two decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The report as a small text table.
pub fn render(p: &Params, r: &Report) -> String {
    let mut out = String::new();
    let throttle = if p.no_throttle {
        "off".to_string()
    } else {
        let (w, wr) = p.scaled(ARM_WRITES);
        let (rd, rr) = p.scaled(ARM_READS);
        let (d, dr) = p.scaled(ARM_DELETES);
        format!(
            "ARM buckets, refill x{}: reads {rd}+{rr}/s, writes {w}+{wr}/s, deletes {d}+{dr}/s",
            p.scale
        )
    };
    out.push_str(&format!(
        "stack: {} topics x {} webhook subscriptions = {} subscriptions\n\
         emulator: latency {} ms, LRO delay {} ms, throttling: {throttle}\n\
         apply parallelism: {}\n\n",
        p.topics, p.subs_per_topic, r.subscriptions, p.latency_ms, p.lro_delay_ms, p.parallelism
    ));
    out.push_str(&format!(
        "{:<22} {:>9} {:>8} {:>7} {:>8} {:>6} {:>8}\n",
        "phase", "wall", "actions", "reads", "writes", "dels", "429s"
    ));
    let row = |name: &str, ph: &Phase, actions: usize| {
        format!(
            "{:<22} {:>9} {:>8} {:>7} {:>8} {:>6} {:>8}\n",
            name,
            secs(ph.wall),
            actions,
            ph.client.reads,
            ph.client.writes,
            ph.client.deletes,
            ph.server.throttled
        )
    };
    out.push_str(&row("refresh+plan (empty)", &r.plan, r.plan_actions));
    out.push_str(&row("apply", &r.apply, r.plan_actions));
    out.push_str(&row("refresh+plan (again)", &r.replan, r.replan_actions));
    let b = &r.bound;
    out.push_str(&format!(
        "\nbound = max(throttle, critical path)   (the issue's bound: everything may start at once)\n  \
         throttle      = max(0, {} writes - bucket) / refill, same for {} deletes = {}\n  \
         critical path = max(chain {} actions = {}, sum(action time) / {} = {}) = {}\n  \
         action time   = latency + LRO delay (latency only for the resource group)\n  \
         bound         = {}, apply / bound = {:.2}x\n\
         staged bound  = the same, what cannot start before its dependencies finish counted\n  \
                         from then = {} (the target)\n\
         protocol      = staged, each long-running action taking what the protocol forces\n  \
                         (PUT, the operation, status poll, final GET) = {}, apply / that = {:.2}x\n\n",
        b.min_writes,
        b.min_deletes,
        secs(b.throttle),
        b.chain_actions,
        secs(b.chain),
        p.parallelism,
        secs(b.work),
        secs(b.critical_path),
        secs(b.total),
        r.issue_ratio(),
        secs(b.staged),
        secs(b.protocol),
        r.protocol_ratio(),
    ));
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    let apply_ok = r.apply_failures.is_empty();
    out.push_str(&format!(
        "{:<44} {:>10} {:>8}\n",
        "target", "measured", "verdict"
    ));
    out.push_str(&format!(
        "{:<44} {:>10} {:>8}\n",
        "apply / staged bound <= 1.2",
        format!("{:.2}x", r.apply_ratio()),
        verdict(r.apply_ratio() <= 1.2)
    ));
    out.push_str(&format!(
        "{:<44} {:>10} {:>8}\n",
        "429s reaching the user = 0 (429s retried)",
        format!("{} ({})", r.surfaced_429, r.apply.server.throttled),
        verdict(r.surfaced_429 == 0 && apply_ok)
    ));
    out.push_str(&format!(
        "{:<44} {:>10} {:>8}\n",
        format!("refresh requests / budget {REFRESH_BUDGET}"),
        format!(
            "{}/{} = {:.2}",
            r.replan.client.total(),
            REFRESH_BUDGET,
            r.refresh_ratio()
        ),
        verdict(r.refresh_ratio() <= 1.0 && r.replan.client.writes == 0)
    ));
    out.push_str(&format!(
        "{:<44} {:>10} {:>8}\n",
        "second plan empty",
        r.replan_actions,
        verdict(r.replan_actions == 0)
    ));
    if !apply_ok {
        out.push_str(&format!(
            "\n{} action(s) did not succeed; first: {}\n",
            r.apply_failures.len(),
            r.apply_failures[0]
        ));
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let p = <Params as clap::Parser>::parse();
    if p.scale <= 0.0 || !p.scale.is_finite() {
        bail!("--scale must be a positive number");
    }
    let r = run(&p).await?;
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", render(&p, &r))?;
    Ok(())
}
