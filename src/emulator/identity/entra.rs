//! Tokens: the Azure AD (Entra ID) token endpoint, managed-identity style endpoints, discovery
//! documents MSAL asks for, and the HMAC-SHA256 signing / checking of every token the emulator
//! issues (ARM and Auth0 alike).
//!
//! Any client id and secret are accepted. Secrets and tokens are never logged. It must not
//! implement ARM resources.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;

use crate::emulator::error::{EmulatorError, TokenError};
use crate::emulator::infra::http::{base_url, json as json_response};
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

fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
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

/// `POST /{tenant}/oauth2/v2.0/token`: client credentials with a secret or a client assertion.
pub async fn token(
    State(emu): State<Emulator>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    let params = form(&body);
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "client_credentials" {
        return Err(TokenError::UnsupportedGrantType(
            "AADSTS70003: The app requested an unsupported grant type. Only 'client_credentials' is emulated.".into(),
        )
        .into());
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"Basic "));
    if get("client_id").is_empty() && !basic {
        return Err(TokenError::InvalidRequest(
            "AADSTS900144: The request body must contain the following parameter: 'client_id'."
                .into(),
        )
        .into());
    }
    let has_secret = !get("client_secret").is_empty() || basic;
    let has_assertion = !get("client_assertion").is_empty()
        && get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    if !has_secret && !has_assertion {
        return Err(TokenError::InvalidClient(
            "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.".into(),
        )
        .into());
    }
    let scope = params
        .get("scope")
        .or_else(|| params.get("resource"))
        .cloned()
        .unwrap_or_default();
    if scope.is_empty() {
        return Err(TokenError::InvalidScope(
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).".into(),
        )
        .into());
    }
    let audience = scope.trim_end_matches("/.default").to_string();
    let issuer = format!("https://sts.windows.net/{tenant}/");
    let token = mint(&emu, &issuer, &audience, get("client_id"), &tenant, "aad")
        .map_err(TokenError::Server)?;
    Ok(json_response(
        StatusCode::OK,
        json!({
            "token_type": "Bearer", "expires_in": LIFETIME, "ext_expires_in": LIFETIME, "access_token": token,
        }),
    ))
}

/// Managed identity: App Service style (`/msi/token`, `X-IDENTITY-HEADER`) and IMDS style
/// (`/metadata/identity/oauth2/token`, `Metadata: true`). Numbers are strings, as Azure sends.
pub async fn managed_identity_token(
    State(emu): State<Emulator>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, EmulatorError> {
    let has = |h: &str| headers.get(h).is_some();
    if !has("x-identity-header") && !has("secret") && !has("metadata") {
        return Err(
            TokenError::InvalidRequest("Required metadata header not specified".into()).into(),
        );
    }
    let resource = q.get("resource").cloned().unwrap_or_default();
    if resource.is_empty() {
        return Err(TokenError::InvalidResource("A resource parameter is required.".into()).into());
    }
    let client = q
        .get("client_id")
        .cloned()
        .unwrap_or_else(|| "00000000-0000-0000-0000-0000000000mi".into());
    let now = emu.clock.now().timestamp();
    let token = mint(
        &emu,
        "https://sts.windows.net/emulator/",
        resource.trim_end_matches('/'),
        &client,
        "emulator",
        "aad",
    )
    .map_err(TokenError::Server)?;
    Ok(json_response(
        StatusCode::OK,
        json!({
            "access_token": token, "refresh_token": "", "expires_in": LIFETIME.to_string(),
            "expires_on": (now + LIFETIME).to_string(), "not_before": now.to_string(),
            "resource": resource, "token_type": "Bearer", "client_id": client,
        }),
    ))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration` (MSAL authority validation).
pub async fn openid_configuration(
    State(emu): State<Emulator>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&emu, &headers);
    json_response(
        StatusCode::OK,
        json!({
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
            "issuer": format!("{base}/{tenant}/v2.0"),
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "tenant_region_scope": null, "cloud_instance_name": "emulator",
        }),
    )
}

/// `GET /common/discovery/instance` (MSAL instance discovery).
pub async fn instance_discovery(State(emu): State<Emulator>, headers: HeaderMap) -> Response {
    let base = base_url(&emu, &headers);
    let host = base.split("://").nth(1).unwrap_or_default().to_string();
    json_response(
        StatusCode::OK,
        json!({
            "tenant_discovery_endpoint": format!("{base}/common/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }),
    )
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
}
