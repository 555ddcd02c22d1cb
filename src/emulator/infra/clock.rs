//! The emulator clock: real time plus a manual offset, or a fixed instant for tests.
//!
//! Everything time-dependent (expiry, LRO completion, registration, token lifetimes, throttling)
//! reads `Clock::now` (only the human-readable timestamps inside error messages use the wall
//! clock). It must not sleep.

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

    /// The current emulator time.
    pub fn now(&self) -> DateTime<Utc> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.fixed.unwrap_or_else(Utc::now) + state.offset
    }

    /// Moves the clock forward (never backwards: negative values are ignored).
    pub fn advance(&self, by: chrono::Duration) {
        if by <= chrono::Duration::zero() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.offset += by;
    }
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
}
