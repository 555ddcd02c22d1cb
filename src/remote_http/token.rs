//! OAuth token responses (`{"access_token", "expires_in"}`) and when to stop using a token.
//!
//! Shared by the emulator token endpoint of `arm::auth` and the Auth0 client. Pure apart from
//! reading the clock; it must never log or print a token.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::model::Sensitive;

/// An OAuth token response (Entra ID, the emulator's token endpoint, Auth0).
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    /// The token.
    pub access_token: String,
    /// Lifetime in seconds (a number, or a string from some endpoints).
    #[serde(default)]
    pub expires_in: ExpiresIn,
}

/// `expires_in` as number or string.
#[derive(Debug, Deserialize, Default)]
#[serde(untagged)]
pub enum ExpiresIn {
    /// Not given.
    #[default]
    Missing,
    /// A number.
    Number(u64),
    /// A string holding a number.
    Text(String),
}

impl ExpiresIn {
    /// The lifetime in seconds, when known.
    pub fn seconds(&self) -> Option<u64> {
        match self {
            Self::Missing => None,
            Self::Number(n) => Some(*n),
            Self::Text(t) => t.trim().parse().ok(),
        }
    }
}

impl TokenResponse {
    /// Parses a token response body; the token is used until a minute before it expires
    /// (`default_ttl` when the response gives no lifetime). The error never quotes the body.
    pub fn parse(
        body: &[u8],
        default_ttl: Duration,
    ) -> Result<(Sensitive<String>, Instant), serde_json::Error> {
        let parsed: Self = serde_json::from_slice(body)?;
        let ttl = parsed
            .expires_in
            .seconds()
            .map_or(default_ttl, Duration::from_secs);
        Ok((Sensitive::new(parsed.access_token), use_until(ttl)))
    }
}

/// When to stop using a token that lives `ttl` from now: a minute early, at least one second
/// from now; saturates instead of overflowing on absurd lifetimes.
pub fn use_until(ttl: Duration) -> Instant {
    let keep = ttl
        .saturating_sub(Duration::from_secs(60))
        .max(Duration::from_secs(1));
    let now = Instant::now();
    now.checked_add(keep)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_number_or_string() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":"3599"}"#).unwrap();
        assert_eq!(t.expires_in.seconds(), Some(3599));
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":60}"#).unwrap();
        assert_eq!(t.expires_in.seconds(), Some(60));
        let t: TokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(t.expires_in.seconds(), None);
    }

    #[test]
    fn a_token_is_dropped_a_minute_early_and_huge_lifetimes_do_not_overflow() {
        let body = br#"{"access_token":"a","expires_in":3600}"#;
        let (token, until) = TokenResponse::parse(body, Duration::from_secs(300)).unwrap();
        assert_eq!(token.expose(), "a");
        assert!(until > Instant::now() + Duration::from_secs(3000));
        assert!(until <= Instant::now() + Duration::from_secs(3540));
        let short = use_until(Duration::from_secs(10));
        assert!(short > Instant::now());
        assert!(use_until(Duration::MAX) > Instant::now());
        assert!(TokenResponse::parse(b"{}", Duration::ZERO).is_err());
    }
}
