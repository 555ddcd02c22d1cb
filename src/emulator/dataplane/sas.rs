//! Event Grid shared access signatures, as `generate_sas` in the Azure SDKs makes them:
//! `r={url-encoded resource}&e={url-encoded "M/d/yyyy h:mm:ss AM"}&s={url-encoded base64
//! HMAC-SHA256 of "r=…&e=…" keyed with the base64-decoded topic key}`. The resource may carry
//! `?apiVersion=…` (the Python SDK signs `{endpoint}?apiVersion=2018-01-01`).
//!
//! Pure: no HTTP, no clock (callers pass `now`). Signatures are compared in constant time and
//! tokens are never logged.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The expiry format of SAS tokens (`%m/%d/%Y %I:%M:%S %p`, UTC).
pub const EXPIRY_FORMAT: &str = "%m/%d/%Y %I:%M:%S %p";

/// Why a SAS token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SasError {
    /// Not `r=…&e=…&s=…`.
    #[error("the SAS token is malformed (expected r=…&e=…&s=…)")]
    Malformed,
    /// The expiry could not be read.
    #[error("the SAS token's expiry is not a valid date")]
    BadExpiry,
    /// Past its expiry.
    #[error("the SAS token has expired")]
    Expired,
    /// Signed for another resource.
    #[error("the SAS token was issued for another resource")]
    WrongResource,
    /// No key produces this signature.
    #[error("the SAS token's signature is not valid for this topic")]
    BadSignature,
}

fn decode(text: &str) -> String {
    let plus_as_space = text.replace('+', "%20");
    url::form_urlencoded::parse(format!("x={plus_as_space}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn encode(text: &str) -> String {
    // Like Python's `quote(text, safe="~()*!.'")`.
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~()*!'".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn sign(key: &str, unsigned: &str) -> Option<String> {
    let raw = STANDARD
        .decode(key.trim())
        .unwrap_or_else(|_| key.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&raw).ok()?;
    mac.update(unsigned.as_bytes());
    Some(STANDARD.encode(mac.finalize().into_bytes()))
}

/// Makes a token for `resource` (the topic endpoint, optionally with `?apiVersion=`), valid
/// until `expiry`, signed with `key` (base64, as `listKeys` returns it).
pub fn generate(resource: &str, key: &str, expiry: DateTime<Utc>) -> Option<String> {
    let unsigned = format!(
        "r={}&e={}",
        encode(resource),
        encode(&expiry.format(EXPIRY_FORMAT).to_string())
    );
    let signature = sign(key, &unsigned)?;
    Some(format!("{unsigned}&s={}", encode(&signature)))
}

/// Reads an expiry leniently: `M/d/yyyy h:mm:ss AM` (the documented form), RFC 3339, or
/// Python's `str(datetime)` (`2026-01-02 03:04:05.123456+00:00`, naive = UTC) that the Python
/// SDK's `generate_sas` sends.
pub fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(text, EXPIRY_FORMAT) {
        return Some(t.and_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Checks `token` for a topic whose publish path ends with `path_suffix`
/// (`/eventgrid/topics/{host}/api/events` in the emulator, `/api/events` in general).
pub fn verify(
    token: &str,
    path_suffix: &str,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<(), SasError> {
    let token = token.trim();
    let token = token
        .strip_prefix("SharedAccessSignature ")
        .unwrap_or(token)
        .trim();
    let (mut r, mut e, mut s) = (None, None, None);
    for part in token.split('&') {
        match part.split_once('=') {
            Some(("r", v)) => r = Some(v),
            Some(("e", v)) => e = Some(v),
            Some(("s", v)) => s = Some(v),
            _ => {}
        }
    }
    let (Some(r), Some(e), Some(s)) = (r, e, s) else {
        return Err(SasError::Malformed);
    };
    let expiry = parse_expiry(&decode(e)).ok_or(SasError::BadExpiry)?;
    if expiry <= now {
        return Err(SasError::Expired);
    }
    let resource = decode(r);
    let resource = resource.split('?').next().unwrap_or_default();
    if !resource
        .trim_end_matches('/')
        .to_ascii_lowercase()
        .ends_with(&path_suffix.to_ascii_lowercase())
    {
        return Err(SasError::WrongResource);
    }
    let given = decode(s);
    let unsigned = format!("r={r}&e={e}");
    let ok = keys.iter().filter(|k| !k.is_empty()).any(|k| {
        sign(k, &unsigned).is_some_and(|want| bool::from(want.as_bytes().ct_eq(given.as_bytes())))
    });
    if ok {
        Ok(())
    } else {
        Err(SasError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA==";
    const EP: &str =
        "http://127.0.0.1:1/eventgrid/topics/t1.westus-1.eventgrid.localhost/api/events";
    const SUFFIX: &str = "/eventgrid/topics/t1.westus-1.eventgrid.localhost/api/events";

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn round_trip_with_api_version_and_header_prefix() {
        let exp = at("2030-01-02T15:04:05Z");
        let token = generate(&format!("{EP}?apiVersion=2018-01-01"), KEY, exp).unwrap();
        assert!(token.contains("&e=01%2F02%2F2030%2003%3A04%3A05%20PM&s="));
        let keys = vec!["other".to_string(), KEY.to_string()];
        let now = at("2030-01-01T00:00:00Z");
        assert_eq!(verify(&token, SUFFIX, &keys, now), Ok(()));
        let header = format!("SharedAccessSignature {token}");
        assert_eq!(verify(&header, SUFFIX, &keys, now), Ok(()));
    }

    #[test]
    fn refusals() {
        let exp = at("2030-01-02T15:04:05Z");
        let now = at("2030-01-01T00:00:00Z");
        let keys = vec![KEY.to_string()];
        let token = generate(EP, KEY, exp).unwrap();
        assert_eq!(
            verify(&token, SUFFIX, &keys, at("2030-01-03T00:00:00Z")),
            Err(SasError::Expired)
        );
        let wrong_key = generate(EP, "b3RoZXI=", exp).unwrap();
        assert_eq!(
            verify(&wrong_key, SUFFIX, &keys, now),
            Err(SasError::BadSignature)
        );
        assert_eq!(
            verify(&token, "/eventgrid/topics/other/api/events", &keys, now),
            Err(SasError::WrongResource)
        );
        assert_eq!(
            verify("r=a&e=b", SUFFIX, &keys, now),
            Err(SasError::Malformed)
        );
        assert_eq!(
            parse_expiry("2030-01-02 15:04:05.123456+00:00"),
            Some(at("2030-01-02T15:04:05.123456Z"))
        );
        assert!(parse_expiry("2030-01-02 15:04:05").is_some());
        assert!(parse_expiry("tomorrow").is_none());
        let tampered = token.replace("2030", "2031");
        assert!(verify(&tampered, SUFFIX, &keys, now).is_err());
    }
}
