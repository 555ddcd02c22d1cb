//! Fault injection (`--faults SPEC`, `/_emulator/faults`): a seeded mix of 500/503, 429,
//! connection resets, added latency and long-running operations that end `Failed`.
//!
//! SPEC is `KIND=PROBABILITY` pairs separated by commas: `5xx`, `429`, `reset`, `latency`
//! (adds `latency-ms`, default 500), `lro-fail`. It only decides; the ARM front door acts on the
//! `Roll` (and `emulator::error` picks the statuses).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::emulator::infra::ids::IdGen;

/// Fault probabilities (0..=1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// 500 or 503.
    #[serde(rename = "5xx")]
    pub server_error: f64,
    /// 429 with Retry-After.
    #[serde(rename = "429")]
    pub throttle: f64,
    /// Connection dropped mid-response.
    pub reset: f64,
    /// Extra latency.
    pub latency: f64,
    /// How much latency, in milliseconds.
    #[serde(rename = "latency-ms")]
    pub latency_ms: u64,
    /// A write's long-running operation ends `Failed`.
    #[serde(rename = "lro-fail")]
    pub lro_fail: f64,
}

impl FaultSpec {
    /// Parses `5xx=0.1,429=0.05,reset=0.02,latency=0.1,latency-ms=200,lro-fail=0.05`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut spec = Self {
            latency_ms: 500,
            ..Self::default()
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("invalid fault `{part}`: expected KIND=PROBABILITY"))?;
            let v = v.trim();
            if k.trim() == "latency-ms" {
                spec.latency_ms = v.parse().map_err(|_| format!("invalid latency-ms `{v}`"))?;
                continue;
            }
            let p: f64 = v
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=1.0).contains(p))
                .ok_or_else(|| format!("invalid probability `{v}` for `{k}` (0..1)"))?;
            match k.trim() {
                "5xx" | "500" | "503" => spec.server_error = p,
                "429" => spec.throttle = p,
                "reset" => spec.reset = p,
                "latency" => spec.latency = p,
                "lro-fail" => spec.lro_fail = p,
                other => {
                    return Err(format!(
                        "unknown fault kind `{other}` (use 5xx, 429, reset, latency, latency-ms, lro-fail)"
                    ));
                }
            }
        }
        Ok(spec)
    }
}

/// An injected failure instead of the real answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFailure {
    /// A server error with this status code (500 or 503).
    ServerError(u16),
    /// ARM throttling (429, `Retry-After: 1`).
    Throttled,
}

/// The outcome of one roll.
#[derive(Debug, Default)]
pub struct Roll {
    /// Answer with this error instead.
    pub error: Option<InjectedFailure>,
    /// Drop the connection.
    pub reset: bool,
    /// Sleep this long first.
    pub extra_latency: Duration,
    /// Make the long-running operation fail.
    pub lro_fail: bool,
}

/// The live fault injector.
#[derive(Debug)]
pub struct Faults {
    /// Current spec (replaceable at run time).
    pub spec: FaultSpec,
    rng: IdGen,
}

impl Faults {
    /// An injector seeded with `seed`.
    pub fn new(spec: FaultSpec, seed: u64) -> Self {
        Self {
            spec,
            rng: IdGen::new(seed ^ 0xFA17),
        }
    }

    /// Rolls the dice for one ARM request (`write`: whether LRO failure applies).
    pub fn roll(&mut self, write: bool) -> Roll {
        let s = self.spec.clone();
        let mut roll = Roll::default();
        if s.latency > 0.0 && self.rng.next_f64() < s.latency {
            roll.extra_latency = Duration::from_millis(s.latency_ms);
        }
        if s.reset > 0.0 && self.rng.next_f64() < s.reset {
            roll.reset = true;
        } else if s.server_error > 0.0 && self.rng.next_f64() < s.server_error {
            roll.error = Some(InjectedFailure::ServerError(
                if self.rng.next_u64().is_multiple_of(2) {
                    500
                } else {
                    503
                },
            ));
        } else if s.throttle > 0.0 && self.rng.next_f64() < s.throttle {
            roll.error = Some(InjectedFailure::Throttled);
        }
        roll.lro_fail = write && s.lro_fail > 0.0 && self.rng.next_f64() < s.lro_fail;
        roll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_certain_rolls() {
        let spec = FaultSpec::parse("5xx=1,lro-fail=1,latency-ms=10").unwrap();
        let mut f = Faults::new(spec, 1);
        let r = f.roll(true);
        assert!(matches!(
            r.error,
            Some(InjectedFailure::ServerError(500 | 503))
        ));
        assert!(r.lro_fail);
        assert!(!f.roll(false).lro_fail);
        assert!(FaultSpec::parse("5xx=2").is_err());
        assert!(FaultSpec::parse("boom=0.1").is_err());
        let none = Faults::new(FaultSpec::default(), 1).roll(true);
        assert!(none.error.is_none() && !none.reset && !none.lro_fail);
    }
}
