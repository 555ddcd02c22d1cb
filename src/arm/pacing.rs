//! Client-side pacing: one token bucket per subscription and operation class.
//!
//! ARM throttles reads, writes and deletes per subscription with token buckets (azure-behaviour.md
//! §1.1). We keep a governor bucket per (subscription, class) seeded from the published limits so
//! a big apply queues locally instead of collecting 429s, and we follow the
//! `x-ms-ratelimit-remaining-subscription-*` headers: each one updates an estimate of the
//! server's bucket (reported tokens, minus what we admitted after that request, plus refill since)
//! and a request is only admitted while the estimate stays above a low-water mark. That keeps us
//! inside the server's bucket even when it refills slower than published or answers with a lag.
//! A 429 holds the class for the server's delay. This module must not send requests; the client
//! calls `acquire` before each request and `observe` on each response.

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
    /// Tokens (as a fraction of the bucket, at least one) the estimated server bucket must keep
    /// for a request to be admitted.
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
            low_water_fraction: 0.02,
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

/// What we last learnt about the server's bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Tokens the server will have once every request we had admitted by then has landed
    /// (`remaining` minus the requests admitted after the reporting one).
    pub tokens: f64,
    /// When we learnt it.
    pub at: Instant,
    /// How many requests we had admitted by then.
    pub admitted: u64,
}

/// The server bucket projected to `now` given `admitted` requests so far: the estimate, plus
/// refill since, minus what was admitted since, capped at the bucket size. Pure.
pub fn projected_tokens(estimate: &Estimate, now: Instant, admitted: u64, bucket: Bucket) -> f64 {
    let refill = now.saturating_duration_since(estimate.at).as_secs_f64()
        * f64::from(bucket.refill_per_second);
    let spent = admitted.saturating_sub(estimate.admitted) as f64;
    (estimate.tokens + refill).min(f64::from(bucket.size)) - spent
}

/// How long to wait before the projected bucket reaches `low_water` tokens; `None` if it has
/// them now. Pure.
pub fn wait_for_tokens(projected: f64, low_water: f64, bucket: Bucket) -> Option<Duration> {
    if projected >= low_water {
        return None;
    }
    let rate = f64::from(bucket.refill_per_second.max(1));
    Some(Duration::from_secs_f64((low_water - projected) / rate).max(Duration::from_millis(1)))
}

/// The longest a 429 holds a lane: the retry loop's cap on a server delay (2 minutes), so a
/// `Retry-After: 1000000000` cannot stall a run for ever.
pub const MAX_HOLD: Duration = Duration::from_secs(120);

/// When a hold of `delay` from `now` ends: capped at [`MAX_HOLD`], saturating. Pure.
pub fn hold_end(now: Instant, delay: Duration) -> Instant {
    now.checked_add(delay.min(MAX_HOLD)).unwrap_or(now)
}

/// What a lane knows when deciding to admit a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Admission {
    /// The last estimate of the server's bucket (rebased at each admission).
    pub estimate: Option<Estimate>,
    /// Requests admitted so far.
    pub admitted: u64,
    /// Whether any request has finished.
    pub finished_any: bool,
    /// Requests admitted before the first response, at most.
    pub burst: u64,
}

impl Admission {
    /// Admits one request at `now` (`None`, the state updated) or says how long to wait. The
    /// estimate is rebased to `now` on each admission, so the refill since it keeps counting
    /// when no rate-limit header arrives any more (otherwise the projection, capped at the
    /// bucket size, falls by one per admission for ever and the lane never sends again). Pure.
    pub fn try_admit(&mut self, now: Instant, bucket: Bucket, low_water: f64) -> Option<Duration> {
        let wait = match self.estimate {
            Some(e) => {
                let projected = projected_tokens(&e, now, self.admitted, bucket);
                let wait = wait_for_tokens(projected, low_water, bucket);
                if wait.is_none() {
                    self.estimate = Some(Estimate {
                        tokens: projected - 1.0,
                        at: now,
                        admitted: self.admitted.saturating_add(1),
                    });
                }
                wait
            }
            // Nothing known about the server yet: the first burst only.
            None if !self.finished_any && self.admitted >= self.burst => {
                Some(Duration::from_millis(2))
            }
            None => None,
        };
        if wait.is_none() {
            self.admitted = self.admitted.saturating_add(1);
        }
        wait
    }
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
    /// Admissions so far (`admitted` is the sequence number of the last permit), the server
    /// estimate, whether a request finished, and the burst allowed before the first response.
    state: Admission,
}

/// One admitted request, numbered in admission order.
pub struct Permit {
    lane: Option<Arc<Mutex<Lane>>>,
    seq: u64,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(lane) = &self.lane {
            lock(lane).state.finished_any = true;
        }
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Permit({})", self.seq)
    }
}

fn lock(lane: &Mutex<Lane>) -> std::sync::MutexGuard<'_, Lane> {
    lane.lock().unwrap_or_else(|e| e.into_inner())
}

async fn wait_for_hold(lane: &Mutex<Lane>) {
    loop {
        let hold = lock(lane).hold_until;
        match hold {
            Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
            _ => return,
        }
    }
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
                    state: Admission {
                        estimate: None,
                        admitted: 0,
                        finished_any: false,
                        burst: u64::from(
                            local_quota(self.config.bucket(class), self.config.burst_fraction)
                                .burst_size()
                                .get(),
                        ),
                    },
                }))
            })
            .clone()
    }

    fn low_water(&self, class: OpClass) -> f64 {
        (f64::from(self.config.bucket(class).size) * self.config.low_water_fraction)
            .ceil()
            .max(1.0)
    }

    /// Waits until a request of `class` against `subscription` may be sent: past any hold
    /// (429), through the local bucket, then until the estimated server bucket has a token
    /// above the low-water mark for it.
    pub async fn acquire(&self, subscription: &str, class: OpClass) -> Permit {
        if !self.config.enabled {
            return Permit { lane: None, seq: 0 };
        }
        let lane = self.lane(subscription, class);
        let bucket = self.config.bucket(class);
        let low_water = self.low_water(class);
        wait_for_hold(&lane).await;
        let limiter = lock(&lane).limiter.clone();
        limiter.until_ready().await;
        loop {
            wait_for_hold(&lane).await;
            let wait = {
                let mut l = lock(&lane);
                let wait = l.state.try_admit(Instant::now(), bucket, low_water);
                if wait.is_none() {
                    return Permit {
                        seq: l.state.admitted,
                        lane: Some(lane.clone()),
                    };
                }
                wait
            };
            if let Some(d) = wait {
                tokio::time::sleep(d).await;
            }
        }
    }

    /// Holds a class back for `delay` (after a 429).
    pub fn hold(&self, subscription: &str, class: OpClass, delay: Duration) {
        if !self.config.enabled {
            return;
        }
        let lane = self.lane(subscription, class);
        let mut lane = lock(&lane);
        let until = hold_end(Instant::now(), delay);
        if lane.hold_until.is_none_or(|h| h < until) {
            lane.hold_until = Some(until);
        }
    }

    /// Follows the `x-ms-ratelimit-remaining-subscription-{class}` header of the response to
    /// the request holding `permit`.
    pub fn observe(&self, permit: &Permit, class: OpClass, headers: &reqwest::header::HeaderMap) {
        let Some(lane) = &permit.lane else {
            return;
        };
        let name = format!(
            "x-ms-ratelimit-remaining-subscription-{}",
            class.header_suffix()
        );
        let Some(remaining) = crate::remote_http::retry::header_str(headers, &name)
            .and_then(|v| v.trim().parse::<u32>().ok())
        else {
            return;
        };
        let mut l = lock(lane);
        // Requests admitted after this one were (most likely) not yet counted in `remaining`.
        let after = l.state.admitted.saturating_sub(permit.seq);
        let estimate = Estimate {
            tokens: f64::from(remaining) - after as f64,
            at: Instant::now(),
            admitted: l.state.admitted,
        };
        if estimate.tokens < self.low_water(class) {
            tracing::debug!(%class, remaining, admitted_after = after, "ARM bucket running low; slowing down");
        }
        l.state.estimate = Some(estimate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes() -> Bucket {
        PacingConfig::default().writes
    }

    #[test]
    fn projection_adds_refill_and_subtracts_later_admissions() {
        let at = Instant::now();
        let e = Estimate {
            tokens: 5.0,
            at,
            admitted: 100,
        };
        // 10/s: one second later 15 tokens, minus 3 admitted since.
        let p = projected_tokens(&e, at + Duration::from_secs(1), 103, writes());
        assert!((p - 12.0).abs() < 1e-9, "{p}");
        // Never above the bucket size.
        let p = projected_tokens(&e, at + Duration::from_secs(100), 100, writes());
        assert!((p - 200.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn waits_until_the_low_water_mark_refills() {
        assert_eq!(wait_for_tokens(5.0, 4.0, writes()), None);
        assert_eq!(
            wait_for_tokens(-6.0, 4.0, writes()),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn local_quota_is_a_fraction_of_the_server_bucket() {
        let q = local_quota(writes(), 0.9);
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
            drop(pacer.acquire("S", OpClass::Write).await);
        }
        // 5 immediately, 5 more at 50/s = ~100 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(80), "{took:?}");
        // Other classes and subscriptions have their own buckets.
        let start = std::time::Instant::now();
        for _ in 0..5 {
            drop(pacer.acquire("other", OpClass::Write).await);
        }
        assert!(start.elapsed() < Duration::from_millis(80));
    }

    #[tokio::test]
    async fn a_reported_empty_bucket_stops_admissions_until_it_refills() {
        let pacer = Pacer::new(PacingConfig {
            writes: Bucket {
                size: 100,
                refill_per_second: 100,
            },
            ..PacingConfig::default()
        });
        let permit = pacer.acquire("s", OpClass::Write).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-ms-ratelimit-remaining-subscription-writes",
            "0".parse().unwrap(),
        );
        pacer.observe(&permit, OpClass::Write, &headers);
        let start = std::time::Instant::now();
        drop(pacer.acquire("s", OpClass::Write).await);
        // Low water is 2 tokens (2% of 100) at 100/s: ~20 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(15),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_hold_is_capped_at_two_minutes_and_saturates() {
        let now = Instant::now();
        assert_eq!(
            hold_end(now, Duration::from_secs(1_000_000_000)),
            now + MAX_HOLD
        );
        assert_eq!(hold_end(now, Duration::MAX), now + MAX_HOLD);
        assert_eq!(
            hold_end(now, Duration::from_secs(3)),
            now + Duration::from_secs(3)
        );
        assert_eq!(MAX_HOLD, Duration::from_secs(120));
    }

    #[test]
    fn admissions_go_on_when_rate_limit_headers_stop_arriving() {
        let reads = PacingConfig::default().reads;
        let start = Instant::now();
        let mut lane = Admission {
            // One response reported a full bucket, then no header ever again.
            estimate: Some(Estimate {
                tokens: 250.0,
                at: start,
                admitted: 1,
            }),
            admitted: 1,
            finished_any: true,
            burst: 225,
        };
        let (mut now, mut steps) = (start, 0);
        while lane.admitted < 1_000 && steps < 100_000 {
            steps += 1;
            if let Some(wait) = lane.try_admit(now, reads, 5.0) {
                now += wait;
            }
        }
        assert_eq!(lane.admitted, 1_000, "stuck after {steps} steps");
        // 999 reads at 25/s after a burst of ~245: about 30 s of server refill, not more.
        let took = now - start;
        assert!(took <= Duration::from_secs(32), "{took:?}");
    }
}
