//! Durations as written in manifests: `90s`, `15m`, `12h`, `30d`.

use std::fmt;
use std::str::FromStr;

/// A whole number of seconds, written with one unit suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    seconds: u64,
}

/// Why a duration does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a duration: write a whole number followed by `s`, `m`, `h` or `d` (e.g. `90s`, `15m`, `12h`, `30d`)"
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

    /// As a `std::time::Duration`.
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds)
    }
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
        let n: u64 = digits.parse().map_err(|_| fail())?;
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(fail()),
        };
        n.checked_mul(mult).map(Self::from_secs).ok_or_else(fail)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        match s {
            0 => f.write_str("0s"),
            _ if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            _ if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            _ if s % 60 == 0 => write!(f, "{}m", s / 60),
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
            "pattern": "^[0-9]+[smhd]$",
            "description": "A duration: a whole number followed by s, m, h or d (90s, 15m, 12h, 30d)"
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
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }
}
