//! Signing and checking the emulator's tokens: compact HS256 JWTs keyed with the store's signing
//! key, used for Entra ID (ARM, data plane) and Auth0 Management API tokens alike; the `gfe`
//! claim says which issuer, `aud` which surface (`Audience`): a token for one surface is refused
//! by the others, as Azure and Auth0 do.
//!
//! Pure apart from reading the key and clock in `mint`; it must not log tokens or build
//! responses.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::emulator::instance::Emulator;

/// Token lifetime in seconds (what Entra ID answers for client credentials).
pub const LIFETIME: i64 = 3599;

fn mac(key_hex: &str) -> Result<Hmac<Sha256>, String> {
    let key = hex::decode(key_hex).map_err(|_| "the signing key is corrupt".to_string())?;
    Hmac::<Sha256>::new_from_slice(&key).map_err(|_| "the signing key is unusable".to_string())
}

/// Signs `claims` as a compact HS256 JWT.
pub fn issue(key_hex: &str, claims: &Value) -> Result<String, String> {
    let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{head}.{body}");
    let mut m = mac(key_hex)?;
    m.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    Ok(format!("{signing_input}.{sig}"))
}

/// Checks the signature and expiry of a token this emulator issued; returns its claims.
pub fn verify(key_hex: &str, token: &str, now: DateTime<Utc>) -> Result<Value, String> {
    let mut parts = token.split('.');
    let (Some(head), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("it is not a JWT".into());
    };
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "the signature is not base64url".to_string())?;
    let mut m = mac(key_hex)?;
    m.update(format!("{head}.{body}").as_bytes());
    m.verify_slice(&sig)
        .map_err(|_| "the signature does not match".to_string())?;
    let claims: Value = URL_SAFE_NO_PAD
        .decode(body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| "the claims are not JSON".to_string())?;
    match claims["exp"].as_i64() {
        Some(exp) if exp > now.timestamp() => Ok(claims),
        Some(_) => Err("the token has expired".into()),
        None => Err("the token has no expiry".into()),
    }
}

/// The surfaces a token can be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Azure Resource Manager: `https://management.azure.com/` (or another cloud's, or the
    /// emulator's own base URL).
    Arm,
    /// The Event Grid data plane: `https://eventgrid.azure.net`.
    EventGridDataPlane,
    /// The Auth0 Management API: `https://{domain}/api/v2/`.
    Auth0ManagementApi,
    /// Microsoft Graph: `https://graph.microsoft.com`.
    Graph,
}

/// ARM's audiences in every cloud, without the trailing slash.
const ARM_AUDIENCES: &[&str] = &[
    "https://management.azure.com",
    "https://management.core.windows.net",
    "https://management.usgovcloudapi.net",
    "https://management.core.usgovcloudapi.net",
    "https://management.chinacloudapi.cn",
    "https://management.core.chinacloudapi.cn",
];

/// Whether verified `claims` were issued for `surface`; `base` is the emulator's own base URL
/// as the client reached it. The error names the token's audience.
pub fn check_audience(claims: &Value, surface: Audience, base: &str) -> Result<(), String> {
    let aud = claims["aud"].as_str().unwrap_or_default();
    let trimmed = aud.trim_end_matches('/');
    let kind = claims["gfe"].as_str().unwrap_or_default();
    let ok = match surface {
        Audience::Arm => {
            kind == "aad"
                && (ARM_AUDIENCES
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(trimmed))
                    || trimmed.eq_ignore_ascii_case(base.trim_end_matches('/')))
        }
        Audience::EventGridDataPlane => {
            kind == "aad" && trimmed.eq_ignore_ascii_case("https://eventgrid.azure.net")
        }
        Audience::Auth0ManagementApi => kind == "auth0" && aud.ends_with("/api/v2/"),
        Audience::Graph => {
            kind == "aad" && trimmed.eq_ignore_ascii_case("https://graph.microsoft.com")
        }
    };
    if ok {
        return Ok(());
    }
    let expected = match surface {
        Audience::Arm => "https://management.azure.com/",
        Audience::EventGridDataPlane => "https://eventgrid.azure.net",
        Audience::Auth0ManagementApi => "https://{domain}/api/v2/",
        Audience::Graph => "https://graph.microsoft.com",
    };
    Err(format!(
        "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences ('{expected}')."
    ))
}

/// Issues a token for `audience` to `client_id`; `kind` is `aad` or `auth0`.
pub fn mint(
    emu: &Emulator,
    issuer: &str,
    audience: &str,
    client_id: &str,
    tenant: &str,
    kind: &str,
) -> Result<String, String> {
    let now = emu.clock.now().timestamp();
    let claims = json!({
        "aud": audience, "iss": issuer, "iat": now, "nbf": now, "exp": now + LIFETIME,
        "tid": tenant, "appid": client_id, "oid": client_id, "sub": client_id,
        "idtyp": "app", "ver": "1.0", "gfe": kind,
    });
    let key = emu.lock().signing_key.clone();
    issue(&key, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_expiry_and_reject_tampering() {
        let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let now = Utc::now();
        let token = issue(key, &json!({"exp": now.timestamp() + 10, "sub": "x"})).unwrap();
        assert_eq!(verify(key, &token, now).unwrap()["sub"], "x");
        assert!(
            verify(key, &token, now + chrono::Duration::seconds(11))
                .unwrap_err()
                .contains("expired")
        );
        let other = "ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert!(verify(other, &token, now).is_err());
        assert!(verify(key, "a.b", now).is_err());
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'A');
        assert!(verify(key, &tampered, now).is_err());
    }

    #[test]
    fn audiences_are_per_surface() {
        let base = "http://127.0.0.1:1234";
        let arm = json!({"aud": "https://management.azure.com", "gfe": "aad"});
        let arm_slash = json!({"aud": "https://management.core.windows.net/", "gfe": "aad"});
        let own = json!({"aud": "http://127.0.0.1:1234/", "gfe": "aad"});
        let eg = json!({"aud": "https://eventgrid.azure.net", "gfe": "aad"});
        let auth0 = json!({"aud": "https://t.auth0.com/api/v2/", "gfe": "auth0"});
        let forged = json!({"aud": "https://management.azure.com", "gfe": "auth0"});
        for c in [&arm, &arm_slash, &own] {
            assert!(check_audience(c, Audience::Arm, base).is_ok(), "{c}");
        }
        for c in [&eg, &auth0, &forged] {
            assert!(check_audience(c, Audience::Arm, base).is_err(), "{c}");
        }
        assert!(check_audience(&eg, Audience::EventGridDataPlane, base).is_ok());
        for c in [&arm, &auth0] {
            assert!(check_audience(c, Audience::EventGridDataPlane, base).is_err());
        }
        assert!(check_audience(&auth0, Audience::Auth0ManagementApi, base).is_ok());
        let graph = json!({"aud": "https://graph.microsoft.com", "gfe": "aad"});
        assert!(check_audience(&graph, Audience::Graph, base).is_ok());
        for c in [&arm, &eg, &auth0] {
            assert!(check_audience(c, Audience::Graph, base).is_err(), "{c}");
        }
        let err = check_audience(&arm, Audience::Auth0ManagementApi, base).unwrap_err();
        assert!(err.contains("'https://management.azure.com'"), "{err}");
    }
}
