//! Retry decisions, backoff and server-delay parsing: pure functions, no I/O.
//!
//! Owns the HTTP-level retry policy copied from the Azure SDK (status 408, 429, 500, 502, 503,
//! 504 and connection errors; `x-ms-retry-after-ms`, `retry-after-ms`, `Retry-After` in that
//! order; exponential backoff with jitter, capped) for every remote client. It must not sleep or
//! send anything: `send_with_retry` asks it what to do and does it. ARM's long-running-operation
//! polling is separate (`arm::lro`), and so are ARM's per-action rules (`arm::retry`).

use std::time::Duration;

use reqwest::header::HeaderMap;

/// How patiently to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before the first retry (doubles each time).
    pub initial_delay: Duration,
    /// Upper bound of one backoff (server-requested delays may exceed it up to `max_server_delay`).
    pub max_delay: Duration,
    /// Upper bound of a server-requested delay (a broken header must not stall us for a day).
    pub max_server_delay: Duration,
    /// Give up once this much time has been spent on one request.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// The Azure SDK defaults: 200 ms initial, 8 retries, 30 s per delay, 60 s overall (we allow
    /// 5 minutes overall because ARM's write bucket refills in 20 s and a Retry-After may say so).
    fn default() -> Self {
        Self {
            max_retries: 8,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_server_delay: Duration::from_secs(120),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

/// The HTTP statuses that are worth retrying.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// What happened on one attempt, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A response with this status arrived.
    Status(u16),
    /// The connection could not be established: nothing reached the server.
    ConnectFailed,
    /// The request may have reached the server but no response arrived (reset, timeout).
    NoResponse,
}

/// Whether a method can be repeated without changing the result (PUT/DELETE/GET/HEAD/PATCH of
/// a full resource are idempotent in ARM and Auth0; POST is not, unless the caller knows better,
/// e.g. `arm::retry::is_repeatable_action`).
pub fn is_idempotent(method: &reqwest::Method) -> bool {
    method != reqwest::Method::POST
}

/// What the client should do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Done: hand the response (or error) to the caller.
    Stop,
    /// Wait this long, then send again.
    RetryAfter(Duration),
    /// The outcome of a non-idempotent request is unknown: do not resend it.
    Unknown,
}

/// Decides whether to retry after `attempt` (0 = first try) failed with `outcome`, having spent
/// `elapsed`. `server_delay` is what the response headers asked for; `jitter` in `[0, 1)` spreads
/// concurrent clients apart.
pub fn decide(
    policy: &RetryPolicy,
    idempotent: bool,
    attempt: u32,
    outcome: AttemptOutcome,
    server_delay: Option<Duration>,
    elapsed: Duration,
    jitter: f64,
) -> Decision {
    let retryable = match outcome {
        // A non-idempotent request that got 500/502/504 may have been applied: only the
        // statuses that say "not processed" (408, 429, 503) are resent.
        AttemptOutcome::Status(s) if !idempotent => matches!(s, 408 | 429 | 503),
        AttemptOutcome::Status(s) => is_retryable_status(s),
        AttemptOutcome::ConnectFailed => true,
        AttemptOutcome::NoResponse => {
            if !idempotent {
                return Decision::Unknown;
            }
            true
        }
    };
    if !retryable || attempt >= policy.max_retries {
        return Decision::Stop;
    }
    let backoff = backoff(policy, attempt, jitter);
    let delay = match server_delay {
        Some(d) => d.min(policy.max_server_delay),
        None => backoff,
    };
    if elapsed.saturating_add(delay) > policy.max_elapsed {
        return Decision::Stop;
    }
    Decision::RetryAfter(delay)
}

/// Exponential backoff for retry `attempt` (0-based): `initial * 2^attempt`, capped at
/// `max_delay`, with "equal jitter" (half fixed, half random) so it never collapses to zero.
pub fn backoff(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(30));
    let base = policy
        .initial_delay
        .saturating_mul(factor)
        .min(policy.max_delay);
    let jitter = jitter.clamp(0.0, 1.0);
    base / 2 + base.mul_f64(jitter / 2.0)
}

/// The delay a response asks for: `x-ms-retry-after-ms`, `retry-after-ms` (milliseconds), then
/// `Retry-After` (seconds or an HTTP date relative to `now`). Unparseable values are ignored.
pub fn server_delay(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = header_str(headers, name).and_then(|v| v.trim().parse::<f64>().ok())
            && ms.is_finite()
            && ms >= 0.0
        {
            return Some(saturating_secs(ms / 1000.0));
        }
    }
    header_str(headers, "retry-after").and_then(|v| parse_retry_after(v, now))
}

/// Parses a `Retry-After` value: delta seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| saturating_secs(secs));
    }
    let when = parse_http_date(value)?;
    let delta = when - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// Non-negative finite seconds as a `Duration`, `Duration::MAX` when too large to represent (a
/// server's `1e20` must not panic; callers cap it).
pub fn saturating_secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
}

/// Parses an HTTP date (RFC 7231 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, the form of
/// the `Date` header); `None` when it is not one.
pub fn parse_http_date(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// A header's value when it is valid visible ASCII.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_server_delay: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(100),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn http_dates_parse_as_the_date_header_sends_them() {
        assert_eq!(
            parse_http_date("Sat, 21 Nov 2026 10:00:00 GMT"),
            Some(now())
        );
        assert_eq!(
            parse_http_date(" Sat, 21 Nov 2026 10:00:00 GMT "),
            Some(now())
        );
        assert_eq!(parse_http_date("2026-11-21T10:00:00Z"), None);
        assert_eq!(parse_http_date("soon"), None);
    }

    #[test]
    fn retries_exactly_the_azure_status_list() {
        let retried: Vec<u16> = (100..600)
            .filter(|s| {
                matches!(
                    decide(
                        &policy(),
                        true,
                        0,
                        AttemptOutcome::Status(*s),
                        None,
                        Duration::ZERO,
                        0.5
                    ),
                    Decision::RetryAfter(_)
                )
            })
            .collect();
        assert_eq!(retried, vec![408, 429, 500, 502, 503, 504]);
    }

    #[test]
    fn stops_after_max_retries_and_max_elapsed() {
        let p = policy();
        let d = |attempt, elapsed| {
            decide(
                &p,
                true,
                attempt,
                AttemptOutcome::Status(503),
                None,
                elapsed,
                0.0,
            )
        };
        assert!(matches!(d(2, Duration::ZERO), Decision::RetryAfter(_)));
        assert_eq!(d(3, Duration::ZERO), Decision::Stop);
        assert_eq!(d(0, Duration::from_secs(100)), Decision::Stop);
    }

    #[test]
    fn post_with_unknown_outcome_is_not_resent() {
        let p = policy();
        let post = decide(
            &p,
            false,
            0,
            AttemptOutcome::NoResponse,
            None,
            Duration::ZERO,
            0.0,
        );
        assert_eq!(post, Decision::Unknown);
        // Nothing was sent: safe for POST too.
        let connect = decide(
            &p,
            false,
            0,
            AttemptOutcome::ConnectFailed,
            None,
            Duration::ZERO,
            0.0,
        );
        assert!(matches!(connect, Decision::RetryAfter(_)));
        // PUT is idempotent.
        let put = decide(
            &p,
            true,
            0,
            AttemptOutcome::NoResponse,
            None,
            Duration::ZERO,
            0.0,
        );
        assert!(matches!(put, Decision::RetryAfter(_)));
        let post_500 = decide(
            &p,
            false,
            0,
            AttemptOutcome::Status(500),
            None,
            Duration::ZERO,
            0.0,
        );
        assert_eq!(post_500, Decision::Stop);
        let post_429 = decide(
            &p,
            false,
            0,
            AttemptOutcome::Status(429),
            None,
            Duration::ZERO,
            0.0,
        );
        assert!(matches!(post_429, Decision::RetryAfter(_)));
        assert!(!is_idempotent(&reqwest::Method::POST));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let p = policy();
        assert_eq!(backoff(&p, 0, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(&p, 0, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(&p, 1, 1.0), Duration::from_millis(200));
        assert_eq!(backoff(&p, 2, 0.5), Duration::from_millis(300));
        assert_eq!(backoff(&p, 10, 1.0), Duration::from_millis(1000));
        assert_eq!(backoff(&p, 500, 1.0), Duration::from_millis(1000));
    }

    #[test]
    fn server_delay_wins_over_backoff_and_is_capped() {
        let p = policy();
        let d = |server| {
            decide(
                &p,
                true,
                0,
                AttemptOutcome::Status(429),
                Some(server),
                Duration::ZERO,
                1.0,
            )
        };
        assert_eq!(
            d(Duration::from_secs(5)),
            Decision::RetryAfter(Duration::from_secs(5))
        );
        // A short server delay is honoured as asked (it knows its bucket).
        assert_eq!(
            d(Duration::from_millis(10)),
            Decision::RetryAfter(Duration::from_millis(10))
        );
        assert_eq!(
            d(Duration::from_secs(3600)),
            Decision::RetryAfter(Duration::from_secs(60))
        );
    }

    #[test]
    fn header_precedence_and_formats() {
        let h = headers(&[
            ("retry-after", "7"),
            ("retry-after-ms", "300"),
            ("x-ms-retry-after-ms", "20"),
        ]);
        assert_eq!(server_delay(&h, now()), Some(Duration::from_millis(20)));
        let h = headers(&[("retry-after", "7"), ("retry-after-ms", "300")]);
        assert_eq!(server_delay(&h, now()), Some(Duration::from_millis(300)));
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(server_delay(&h, now()), Some(Duration::from_secs(7)));
        let h = headers(&[("retry-after", "Sat, 21 Nov 2026 10:00:30 GMT")]);
        assert_eq!(server_delay(&h, now()), Some(Duration::from_secs(30)));
        // A date in the past means "now".
        let h = headers(&[("retry-after", "Sat, 21 Nov 2026 09:00:00 GMT")]);
        assert_eq!(server_delay(&h, now()), Some(Duration::ZERO));
        let h = headers(&[("retry-after", "soon"), ("x-ms-retry-after-ms", "-5")]);
        assert_eq!(server_delay(&h, now()), None);
        assert_eq!(server_delay(&HeaderMap::new(), now()), None);
    }

    #[test]
    fn absurd_delays_saturate_instead_of_panicking() {
        for (name, value) in [
            ("retry-after", "18446744073709551615"),
            ("retry-after", "1e20"),
            ("x-ms-retry-after-ms", "1e30"),
            ("retry-after-ms", "1e300"),
        ] {
            let d = server_delay(&headers(&[(name, value)]), now()).unwrap();
            assert!(
                d >= Duration::from_secs(1_000_000),
                "{name}: {value}: {d:?}"
            );
            let decided = decide(
                &policy(),
                true,
                0,
                AttemptOutcome::Status(429),
                Some(d),
                Duration::ZERO,
                0.5,
            );
            assert_eq!(decided, Decision::RetryAfter(Duration::from_secs(60)));
        }
    }
}
