//! Client-side pacing: one token bucket per subscription and operation class.
//!
//! ARM throttles reads, writes and deletes per subscription with token buckets (azure-behaviour.md
//! §1.1). We keep a governor bucket per (subscription, class) seeded from the published limits so
//! a big apply queues locally instead of collecting 429s, and we follow the
//! `x-ms-ratelimit-remaining-subscription-*` headers: when the server says few tokens remain we
//! hold the class back until its bucket has refilled a little. A 429 holds the class for the
//! server's delay. This module must not send requests; the client calls `acquire` before each.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use super::request::OpClass;

/// One class's bucket: size and refill rate per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Tokens the bucket holds when full.
    pub size: u32,
    /// Tokens added per second.
    pub refill_per_second: u32,
}

/// Pacing limits for the three classes.
#[derive(Debug, Clone, PartialEq)]
pub struct PacingConfig {
    /// Reads (GET/HEAD).
    pub reads: Bucket,
    /// Writes (PUT/PATCH/POST).
    pub writes: Bucket,
    /// Deletes.
    pub deletes: Bucket,
    /// Fraction of the server's bucket we allow ourselves to burst (leaves room for others).
    pub burst_fraction: f64,
    /// When the server reports fewer remaining tokens than this fraction of the bucket, pause
    /// until it has refilled back to it.
    pub low_water_fraction: f64,
    /// `false` disables pacing entirely (tests of raw retry behaviour).
    pub enabled: bool,
}

impl Default for PacingConfig {
    /// ARM's published per-subscription limits (token-bucket model): reads 250 + 25/s, writes
    /// and deletes 200 + 10/s.
    fn default() -> Self {
        Self {
            reads: Bucket {
                size: 250,
                refill_per_second: 25,
            },
            writes: Bucket {
                size: 200,
                refill_per_second: 10,
            },
            deletes: Bucket {
                size: 200,
                refill_per_second: 10,
            },
            burst_fraction: 0.9,
            low_water_fraction: 0.1,
            enabled: true,
        }
    }
}

impl PacingConfig {
    /// The bucket of a class.
    pub fn bucket(&self, class: OpClass) -> Bucket {
        match class {
            OpClass::Read => self.reads,
            OpClass::Write => self.writes,
            OpClass::Delete => self.deletes,
        }
    }
}

/// How long to hold a class back given the server's remaining-token count: long enough for the
/// server's bucket to refill to the low-water mark. Pure.
pub fn pause_for_remaining(
    remaining: u32,
    bucket: Bucket,
    low_water_fraction: f64,
) -> Option<Duration> {
    let low_water = (f64::from(bucket.size) * low_water_fraction).ceil();
    let remaining = f64::from(remaining);
    if remaining >= low_water || bucket.refill_per_second == 0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        (low_water - remaining) / f64::from(bucket.refill_per_second),
    ))
}

/// The quota of our local bucket for a server bucket.
pub fn local_quota(bucket: Bucket, burst_fraction: f64) -> Quota {
    let rate = NonZeroU32::new(bucket.refill_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = (f64::from(bucket.size) * burst_fraction).floor() as u32;
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

type Lanes = HashMap<(String, OpClass), Arc<Mutex<Lane>>>;

struct Lane {
    limiter: Arc<DefaultDirectRateLimiter>,
    hold_until: Option<Instant>,
}

/// The pacer shared by all requests of one client.
#[derive(Clone)]
pub struct Pacer {
    config: Arc<PacingConfig>,
    lanes: Arc<Mutex<Lanes>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("config", &self.config)
            .finish()
    }
}

impl Pacer {
    /// A pacer with these limits.
    pub fn new(config: PacingConfig) -> Self {
        Self {
            config: Arc::new(config),
            lanes: Arc::default(),
        }
    }

    fn lane(&self, subscription: &str, class: OpClass) -> Arc<Mutex<Lane>> {
        let key = (subscription.to_ascii_lowercase(), class);
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        lanes
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Mutex::new(Lane {
                    limiter: Arc::new(RateLimiter::direct(local_quota(
                        self.config.bucket(class),
                        self.config.burst_fraction,
                    ))),
                    hold_until: None,
                }))
            })
            .clone()
    }

    /// Waits until a request of `class` against `subscription` may be sent.
    pub async fn acquire(&self, subscription: &str, class: OpClass) {
        if !self.config.enabled {
            return;
        }
        let lane = self.lane(subscription, class);
        loop {
            let hold = lane.lock().unwrap_or_else(|e| e.into_inner()).hold_until;
            match hold {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        let limiter = lane
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .limiter
            .clone();
        limiter.until_ready().await;
    }

    /// Holds a class back for `delay` (after a 429, or when the server's bucket runs low).
    pub fn hold(&self, subscription: &str, class: OpClass, delay: Duration) {
        if !self.config.enabled {
            return;
        }
        let lane = self.lane(subscription, class);
        let mut lane = lane.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + delay;
        if lane.hold_until.is_none_or(|h| h < until) {
            lane.hold_until = Some(until);
        }
    }

    /// Follows the `x-ms-ratelimit-remaining-subscription-{class}` header of a response.
    pub fn observe(
        &self,
        subscription: &str,
        class: OpClass,
        headers: &reqwest::header::HeaderMap,
    ) {
        let name = format!(
            "x-ms-ratelimit-remaining-subscription-{}",
            class.header_suffix()
        );
        let Some(remaining) =
            super::retry::header_str(headers, &name).and_then(|v| v.trim().parse::<u32>().ok())
        else {
            return;
        };
        if let Some(pause) = pause_for_remaining(
            remaining,
            self.config.bucket(class),
            self.config.low_water_fraction,
        ) {
            tracing::debug!(%class, remaining, ?pause, "ARM bucket running low; pausing this class");
            self.hold(subscription, class, pause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_only_below_the_low_water_mark() {
        let writes = PacingConfig::default().writes;
        assert_eq!(pause_for_remaining(199, writes, 0.1), None);
        assert_eq!(pause_for_remaining(20, writes, 0.1), None);
        assert_eq!(
            pause_for_remaining(10, writes, 0.1),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            pause_for_remaining(0, writes, 0.1),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn local_quota_is_a_fraction_of_the_server_bucket() {
        let q = local_quota(PacingConfig::default().writes, 0.9);
        assert_eq!(q.burst_size().get(), 180);
        assert_eq!(q.replenish_interval(), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn acquire_paces_after_the_burst() {
        let pacer = Pacer::new(PacingConfig {
            writes: Bucket {
                size: 5,
                refill_per_second: 50,
            },
            burst_fraction: 1.0,
            ..PacingConfig::default()
        });
        let start = std::time::Instant::now();
        for _ in 0..10 {
            pacer.acquire("S", OpClass::Write).await;
        }
        // 5 immediately, 5 more at 50/s = ~100 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(80), "{took:?}");
        // Other classes and subscriptions have their own buckets.
        let start = std::time::Instant::now();
        for _ in 0..5 {
            pacer.acquire("other", OpClass::Write).await;
        }
        assert!(start.elapsed() < Duration::from_millis(50));
    }
}
