//! `POST /auth0/oauth/token`: Auth0's client-credentials grant (JSON or form) for the
//! Management API. The `audience` must end in `/api/v2/`; its host becomes the tenant domain the
//! simulated partner reports.
//!
//! Any client id and secret are accepted; refusals are `TokenError`s. Secrets and tokens are never
//! logged; it must not touch log streams.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::error::{EmulatorError, TokenError};
use crate::emulator::infra::http::{base_url, json as json_response};
use crate::emulator::instance::Emulator;

/// Scopes granted to every Management API token.
const SCOPES: &str = "read:log_streams create:log_streams update:log_streams delete:log_streams";

/// `POST /auth0/oauth/token` with JSON (or form) `{grant_type, client_id, client_secret, audience}`.
pub async fn token(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    let params: Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
        let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(map)
    });
    let get = |k: &str| params[k].as_str().unwrap_or_default().to_string();
    if get("grant_type") != "client_credentials" {
        let why = "Grant type not allowed for the client.";
        return Err(TokenError::UnauthorizedClient(why.into()).into());
    }
    if get("client_id").is_empty()
        || (get("client_secret").is_empty() && get("client_assertion").is_empty())
    {
        return Err(TokenError::AccessDenied("Unauthorized".into()).into());
    }
    let base = base_url(&emu, &headers);
    let audience = match get("audience") {
        a if a.is_empty() => format!("{base}/auth0/api/v2/"),
        a if a.trim_end_matches('/').ends_with("/api/v2") => a,
        a => {
            return Err(TokenError::UnknownAudience(format!("Service not found: {a}")).into());
        }
    };
    // `https://{tenant domain}/api/v2/`: the tenant the client believes it talks to.
    if let Some(host) = url::Url::parse(&audience)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    {
        let own = url::Url::parse(&base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        if Some(&host) != own.as_ref() {
            emu.lock().auth0.tenant = host;
        }
    }
    let token = crate::emulator::identity::jwt::mint(
        &emu,
        &format!("{base}/auth0/"),
        &audience,
        &get("client_id"),
        "auth0",
        "auth0",
    )
    .map_err(TokenError::Server)?;
    Ok(json_response(
        StatusCode::OK,
        json!({
            "access_token": token, "token_type": "Bearer", "expires_in": 86400, "scope": SCOPES,
        }),
    ))
}
