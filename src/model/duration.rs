//! Durations as written in manifests: `90s`, `15m`, `12h`, `30d`.
//!
//! At most six digits (`999999d`, under 2,740 years): longer texts are refused when parsed, so
//! no duration from a manifest can overflow a clock; each field's own bound is a validate check.

use std::fmt;
use std::str::FromStr;

/// The most digits a manifest duration may have.
pub const MAX_DURATION_DIGITS: usize = 6;

/// A whole number of seconds, written with one unit suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    seconds: u64,
}

/// Why a duration does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a duration: write a whole number (at most six digits) followed by `s`, `m`, `h` or `d` (e.g. `90s`, `15m`, `12h`, `30d`)"
)]
pub struct ParseDurationError {
    /// The offending text.
    pub text: String,
}

impl Duration {
    /// A duration of `seconds` seconds.
    pub const fn from_secs(seconds: u64) -> Self {
        Self { seconds }
    }

    /// Whole seconds.
    pub const fn as_secs(self) -> u64 {
        self.seconds
    }

    /// As a `std::time::Duration` (never panics: any `u64` of seconds fits).
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds)
    }
}

/// Seconds per unit suffix: the one unit table of manifests (`90s`, `12h`) and flags (`250ms`).
fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return None,
    })
}

impl FromStr for Duration {
    type Err = ParseDurationError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = || ParseDurationError {
            text: text.to_string(),
        };
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(fail)?;
        let (digits, unit) = t.split_at(split);
        if digits.len() > MAX_DURATION_DIGITS {
            return Err(fail());
        }
        let n: u64 = digits.parse().map_err(|_| fail())?;
        // Manifests count whole seconds: `ms` is for flags only.
        let mult = unit_seconds(unit).filter(|m| *m >= 1.0).ok_or_else(fail)? as u64;
        n.checked_mul(mult).map(Self::from_secs).ok_or_else(fail)
    }
}

/// Parses a command-line duration: a number (fractions allowed) with `ms`, `s`, `m`, `h` or `d`,
/// a bare number meaning seconds (`250ms`, `2s`, `1.5m`, `3`). Used as a clap value parser.
pub fn parse_flag_duration(text: &str) -> Result<std::time::Duration, String> {
    let fail = || format!("`{text}` is not a duration (e.g. `250ms`, `2s`, `1m`)");
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().map_err(|_| fail())?;
    let per = if unit.is_empty() {
        1.0
    } else {
        unit_seconds(unit).ok_or_else(fail)?
    };
    std::time::Duration::try_from_secs_f64(n * per).map_err(|e| format!("`{text}`: {e}"))
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        match s {
            0 => f.write_str("0s"),
            _ if s.is_multiple_of(86_400) => write!(f, "{}d", s / 86_400),
            _ if s.is_multiple_of(3600) => write!(f, "{}h", s / 3600),
            _ if s.is_multiple_of(60) => write!(f, "{}m", s / 60),
            _ => write!(f, "{s}s"),
        }
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{1,6}[smhd]$",
            "description": "A duration: a whole number (at most six digits) followed by s, m, h or d (90s, 15m, 12h, 30d)",
            "x-message": "a duration: a whole number (at most six digits) followed by `s`, `m`, `h` or `d` (e.g. `90s`, `15m`, `12h`, `30d`)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_each_unit() {
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("12h", 43_200),
            ("30d", 2_592_000),
        ] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.as_secs(), secs);
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "10",
            "d",
            "1.5h",
            "10w",
            "-3d",
            "3 d",
            "99999999999999999999d",
            "106751991167301d",
            "1000000s",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
        assert!("500ms".parse::<Duration>().is_err());
        assert_eq!(
            "999999d".parse::<Duration>().map(|d| d.as_secs()),
            Ok(86_399_913_600)
        );
    }

    #[test]
    fn the_longest_duration_fits_a_clock() {
        let longest: Duration = "999999d".parse().unwrap();
        let now = std::time::Instant::now();
        assert!(now.checked_add(longest.to_std()).is_some());
    }

    #[test]
    fn flag_durations_take_milliseconds_fractions_and_bare_seconds() {
        let d = std::time::Duration::from_millis;
        assert_eq!(parse_flag_duration("250ms"), Ok(d(250)));
        assert_eq!(parse_flag_duration("2s"), Ok(d(2000)));
        assert_eq!(parse_flag_duration("1.5m"), Ok(d(90_000)));
        assert_eq!(parse_flag_duration("3"), Ok(d(3000)));
        for bad in ["soon", "5y", "", "1e400s", "-1s"] {
            assert!(parse_flag_duration(bad).is_err(), "{bad}");
        }
    }
}
