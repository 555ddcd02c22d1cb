//! The three documented configurations of the benchmark (`examples/bench.rs`, included here
//! as a module) side by side in one run, each several times: a table of the apply time's
//! median and spread and of its ratios to the bounds (docs/benchmark.md). The configurations
//! are those of the "Results" table: throttle-bound (the defaults), parallelism-bound
//! (`--parallelism 10`) and the near tie (`--scale 10 --parallelism 100`).
//!
//! Run with `cargo run --release --example bench_configs -- [--runs N] [bench options]`;
//! `--scale` and `--parallelism` are each configuration's own, every other option of `bench`
//! applies to all three. Runs are taken in turn (one of each, then again), so a busy moment of
//! the shared machine does not fall on one configuration only.

use std::io::Write as _;

#[path = "bench.rs"]
#[allow(dead_code)]
mod bench;

/// What to run.
#[derive(Debug, clap::Parser)]
#[command(about = "gridform's apply benchmark in its three documented configurations")]
struct Cli {
    /// Runs per configuration (the table shows medians).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The benchmark's options (`--scale` and `--parallelism` are overridden).
    #[command(flatten)]
    base: bench::Params,
}

/// The three documented configurations (docs/benchmark.md): name, `--scale`, `--parallelism`.
pub const CONFIGS: [(&str, f64, usize); 3] = [
    ("throttle-bound (defaults)", 2.0, 50),
    ("parallelism-bound (-p 10)", 2.0, 10),
    ("near tie (scale 10, -p 100)", 10.0, 100),
];

/// The runs of one configuration.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name in [`CONFIGS`].
    pub name: &'static str,
    /// What was run.
    pub params: bench::Params,
    /// One report per run.
    pub reports: Vec<bench::Report>,
}

/// The median (mean of the middle two for an even count); NaN when empty.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// Runs every configuration of [`CONFIGS`] `runs` times, one of each in turn (so a busy
/// moment of the machine does not fall on one configuration only); `base` gives the rest.
pub async fn run_configs(
    base: &bench::Params,
    runs: usize,
    mut progress: impl FnMut(&str, &bench::Report),
) -> anyhow::Result<Vec<Series>> {
    let mut series: Vec<Series> = CONFIGS
        .iter()
        .map(|(name, scale, parallelism)| Series {
            name,
            params: bench::Params {
                scale: *scale,
                parallelism: *parallelism,
                ..base.clone()
            },
            reports: Vec::new(),
        })
        .collect();
    for _ in 0..runs.max(1) {
        for s in &mut series {
            let report = bench::run(&s.params).await?;
            progress(s.name, &report);
            s.reports.push(report);
        }
    }
    Ok(series)
}

/// The side-by-side table of [`run_configs`]: medians, and the spread of the apply time.
pub fn render_configs(series: &[Series]) -> String {
    let mut out = format!(
        "{:<28} {:>8} {:>8} {:>25} {:>7} {:>8} {:>9} {:>5} {:>8}\n",
        "configuration",
        "bound",
        "staged",
        "apply median [min-max]",
        "/bound",
        "/staged",
        "/protocol",
        "429s",
        "verdict"
    );
    for s in series {
        let col = |f: fn(&bench::Report) -> f64| median(s.reports.iter().map(f).collect());
        let walls = || s.reports.iter().map(|r| r.apply.wall.as_secs_f64());
        let (min, max) = walls().fold((f64::INFINITY, 0.0f64), |(lo, hi), w| {
            (lo.min(w), hi.max(w))
        });
        let failed = s
            .reports
            .iter()
            .any(|r| !r.apply_failures.is_empty() || r.surfaced_429 > 0);
        let b = s.reports.first().map(|r| r.bound).unwrap_or_default();
        let staged = col(bench::Report::apply_ratio);
        out.push_str(&format!(
            "{:<28} {:>8} {:>8} {:>25} {:>6.2}x {:>7.2}x {:>8.2}x {:>5} {:>8}\n",
            s.name,
            bench::secs(b.total),
            bench::secs(b.staged),
            format!("{:.2} s [{min:.2}-{max:.2}]", median(walls().collect())),
            col(bench::Report::issue_ratio),
            staged,
            col(bench::Report::protocol_ratio),
            s.reports
                .iter()
                .map(|r| r.apply.server.throttled)
                .max()
                .unwrap_or(0),
            if staged <= 1.2 && !failed {
                "ok"
            } else {
                "MISSED"
            },
        ));
    }
    let runs = series.iter().map(|s| s.reports.len()).min().unwrap_or(0);
    out.push_str(&format!(
        "\n{runs} run(s) per configuration, taken in turn; ratios are medians of the per-run \
         ratios; 429s: the most in one run (retried, none reached the user unless MISSED)\n"
    ));
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = <Cli as clap::Parser>::parse();
    let series = run_configs(&cli.base, cli.runs, |name, r| {
        let _ = writeln!(
            std::io::stderr(),
            "{name}: apply {}, {:.2}x the bound, {:.2}x the staged bound",
            bench::secs(r.apply.wall),
            r.issue_ratio(),
            r.apply_ratio()
        );
    })
    .await?;
    write!(std::io::stdout().lock(), "{}", render_configs(&series))?;
    Ok(())
}
