//! The emulator clock: real time plus a manual offset, or a fixed instant for tests.
//!
//! Everything time-dependent (expiry, LRO completion, registration, token lifetimes, throttling)
//! reads `Clock::now` (only the human-readable timestamps inside error messages use the wall
//! clock). It must not sleep. It never passes `latest()` (year 9999), so adding days or years
//! to `now` anywhere in the emulator cannot overflow.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

#[derive(Debug)]
struct State {
    /// `None` follows the system clock.
    fixed: Option<DateTime<Utc>>,
    offset: chrono::Duration,
}

/// A shared, injectable clock.
#[derive(Debug, Clone)]
pub struct Clock {
    state: Arc<Mutex<State>>,
}

impl Clock {
    /// Follows the system clock (plus whatever `advance` added).
    pub fn system() -> Self {
        Self::from_state(None)
    }

    /// Frozen at `at` until advanced.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self::from_state(Some(at))
    }

    fn from_state(fixed: Option<DateTime<Utc>>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                fixed,
                offset: chrono::Duration::zero(),
            })),
        }
    }

    /// The current emulator time (saturating at `latest()`).
    pub fn now(&self) -> DateTime<Utc> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        shifted(state.fixed.unwrap_or_else(Utc::now), state.offset)
    }

    /// Moves the clock forward by `seconds` (never backwards: negative values are ignored).
    /// Refuses, changing nothing, a move that is not finite or would pass `latest()`.
    pub fn advance_seconds(&self, seconds: f64) -> Result<DateTime<Utc>, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = shifted(state.fixed.unwrap_or_else(Utc::now), state.offset);
        let room = (latest() - now).num_seconds();
        if !seconds.is_finite() || seconds > room as f64 {
            return Err(format!(
                "advanceSeconds must be a finite number of at most {room} (the clock stops at {})",
                format_time(latest())
            ));
        }
        if seconds <= 0.0 {
            return Ok(now);
        }
        // Within `room` (< 2^38 s), so the milliseconds fit an i64 and the sum cannot overflow.
        let by = chrono::Duration::milliseconds((seconds * 1000.0) as i64);
        state.offset = state.offset.checked_add(&by).unwrap_or(state.offset);
        Ok(shifted(state.fixed.unwrap_or_else(Utc::now), state.offset))
    }

    /// Moves the clock forward (never backwards: negative values are ignored), saturating at
    /// `latest()`.
    pub fn advance(&self, by: chrono::Duration) {
        let seconds = by.num_milliseconds() as f64 / 1000.0;
        if self.advance_seconds(seconds).is_err() {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let base = state.fixed.unwrap_or_else(Utc::now);
            state.offset = latest() - base;
        }
    }
}

/// The latest time the emulator clock shows: 9999-12-31T23:59:59Z.
pub fn latest() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

fn shifted(base: DateTime<Utc>, offset: chrono::Duration) -> DateTime<Utc> {
    base.checked_add_signed(offset)
        .map_or_else(latest, |t| t.min(latest()))
}

/// ARM's timestamp format (`2025-01-02T03:04:05.1234567Z` style, 7 fractional digits).
pub fn format_time(t: DateTime<Utc>) -> String {
    use chrono::Timelike;
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.nanosecond() % 1_000_000_000 / 100
    )
}

/// Parses an RFC 3339 timestamp as ARM accepts it.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_advanced() {
        let start = parse_time("2026-01-01T00:00:00Z").unwrap();
        let clock = Clock::fixed(start);
        assert_eq!(clock.now(), start);
        clock.advance(chrono::Duration::seconds(90));
        clock.advance(chrono::Duration::seconds(-5));
        assert_eq!(clock.now(), start + chrono::Duration::seconds(90));
        assert_eq!(format_time(start), "2026-01-01T00:00:00.0000000Z");
    }

    #[test]
    fn absurd_moves_are_refused_and_the_clock_never_overflows() {
        let start = parse_time("2026-01-01T00:00:00Z").unwrap();
        let clock = Clock::fixed(start);
        for bad in [1e13, 1e300, f64::INFINITY, f64::NAN, i64::MAX as f64] {
            assert!(clock.advance_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(clock.now(), start);
        assert_eq!(clock.advance_seconds(-5.0).unwrap(), start);
        assert_eq!(
            clock.advance_seconds(1.5).unwrap(),
            start + chrono::Duration::milliseconds(1500)
        );
        clock.advance(chrono::Duration::MAX);
        assert_eq!(clock.now(), latest());
        assert_eq!(format_time(latest()), "9999-12-31T23:59:59.0000000Z");
        // Adding days to the latest time stays representable.
        assert!(
            latest()
                .checked_add_signed(chrono::Duration::days(3650))
                .is_some()
        );
    }
}
