//! ARM throttling: token buckets per subscription and operation class (reads, writes, deletes;
//! POST actions count as writes) on the emulator clock, ARM's defaults (reads 250 + 25/s,
//! writes and deletes 200 + 10/s), `x-ms-ratelimit-remaining-subscription-*` values and 429s.
//!
//! It must not build responses: it answers "remaining N" or `Exhausted` (the front door turns that
//! into ARM's 429).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

/// The class of an ARM request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// GET, HEAD.
    Read,
    /// PUT, PATCH, POST.
    Write,
    /// DELETE.
    Delete,
}

impl Class {
    /// The remaining-quota header for this class.
    pub fn header(self) -> &'static str {
        match self {
            Self::Read => "x-ms-ratelimit-remaining-subscription-reads",
            Self::Write => "x-ms-ratelimit-remaining-subscription-writes",
            Self::Delete => "x-ms-ratelimit-remaining-subscription-deletes",
        }
    }

    /// `read`, `write` or `delete` (for messages).
    pub fn word(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Delete => "delete",
        }
    }
}

/// `--throttle`: off, or (bucket size, refill per second) per class.
#[derive(Debug, Clone, PartialEq)]
pub enum ThrottleSpec {
    /// No throttling, no headers.
    Off,
    /// Limits for reads, writes, deletes.
    Limits {
        /// Reads.
        reads: (f64, f64),
        /// Writes.
        writes: (f64, f64),
        /// Deletes.
        deletes: (f64, f64),
    },
}

impl ThrottleSpec {
    /// ARM's current limits.
    pub fn arm() -> Self {
        Self::Limits {
            reads: (250.0, 25.0),
            writes: (200.0, 10.0),
            deletes: (200.0, 10.0),
        }
    }

    /// Parses `arm`, `off`, or `READS,WRITES,DELETES` (requests per minute: bucket N, refill N/60 per second).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "arm" => return Ok(Self::arm()),
            "off" | "none" => return Ok(Self::Off),
            _ => {}
        }
        let numbers: Vec<f64> = text
            .split(',')
            .map(|p| p.trim().parse::<f64>().ok().filter(|n| *n >= 1.0 && n.is_finite()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("invalid --throttle `{text}`: expected `arm`, `off` or `READS,WRITES,DELETES` (positive numbers per minute)"))?;
        match numbers.as_slice() {
            [r, w, d] => Ok(Self::Limits {
                reads: (*r, r / 60.0),
                writes: (*w, w / 60.0),
                deletes: (*d, d / 60.0),
            }),
            _ => Err(format!(
                "invalid --throttle `{text}`: expected three numbers READS,WRITES,DELETES"
            )),
        }
    }
}

/// The bucket is empty: retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// Seconds until a token is available (at least 1).
    pub retry_after: u64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

/// The live buckets.
#[derive(Debug)]
pub struct Buckets {
    spec: ThrottleSpec,
    buckets: HashMap<(String, Class), Bucket>,
}

impl Buckets {
    /// Buckets for `spec`, all full.
    pub fn new(spec: ThrottleSpec) -> Self {
        Self {
            spec,
            buckets: HashMap::new(),
        }
    }

    /// Takes one token: `Ok(Some(remaining))`, `Ok(None)` when off, or `Exhausted`.
    pub fn take(
        &mut self,
        subscription: &str,
        class: Class,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, Exhausted> {
        let ThrottleSpec::Limits {
            reads,
            writes,
            deletes,
        } = &self.spec
        else {
            return Ok(None);
        };
        let (size, rate) = match class {
            Class::Read => *reads,
            Class::Write => *writes,
            Class::Delete => *deletes,
        };
        let bucket = self
            .buckets
            .entry((subscription.to_ascii_lowercase(), class))
            .or_insert(Bucket {
                tokens: size,
                at: now,
            });
        // Microseconds: requests less than a millisecond apart must still refill the bucket.
        let elapsed = (now - bucket.at)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as f64
            / 1e6;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(size);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(Some(bucket.tokens.floor() as u64));
        }
        let retry_after = ((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64;
        Err(Exhausted { retry_after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_drains_and_refills() {
        let now = Utc::now();
        let mut b = Buckets::new(ThrottleSpec::parse("3,60,60").unwrap());
        assert_eq!(b.take("s", Class::Read, now).unwrap(), Some(2));
        b.take("s", Class::Read, now).unwrap();
        b.take("s", Class::Read, now).unwrap();
        let err = b.take("s", Class::Read, now).unwrap_err();
        assert!(err == Exhausted { retry_after: 20 }, "{err:?}");
        assert!(b.take("other", Class::Read, now).is_ok());
        assert!(b.take("s", Class::Write, now).is_ok());
        assert!(
            b.take("s", Class::Read, now + chrono::Duration::seconds(20))
                .is_ok()
        );
        assert_eq!(
            Buckets::new(ThrottleSpec::Off)
                .take("s", Class::Read, now)
                .unwrap(),
            None
        );
        assert!(ThrottleSpec::parse("1,2").is_err());
        assert_eq!(ThrottleSpec::parse("ARM").unwrap(), ThrottleSpec::arm());
    }
}
