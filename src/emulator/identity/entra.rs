//! The Entra ID (Azure AD) token endpoints: client credentials (`/{tenant}/oauth2[/v2.0]/token`),
//! managed-identity style endpoints, and the discovery documents MSAL asks for.
//!
//! Any client id and secret are accepted; refusals are `TokenError`s. Secrets and tokens are
//! never logged. Signing is `jwt`'s; it must not implement ARM resources.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use std::collections::HashMap;

use crate::emulator::error::{EmulatorError, TokenError};
use crate::emulator::identity::jwt::{LIFETIME, mint};
use crate::emulator::identity::{DEFAULT_MANAGED_IDENTITY_CLIENT, DEFAULT_TENANT, tenant_id};
use crate::emulator::infra::http::{base_url, json as json_response};
use crate::emulator::instance::Emulator;

fn form(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
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
    let audience = client_credentials_audience(params.get("scope"), params.get("resource"))?;
    let tid = tenant_id(&tenant);
    let issuer = format!("https://sts.windows.net/{tid}/");
    let token =
        mint(&emu, &issuer, &audience, get("client_id"), tid, "aad").map_err(TokenError::Server)?;
    Ok(json_response(
        StatusCode::OK,
        json!({
            "token_type": "Bearer", "expires_in": LIFETIME, "ext_expires_in": LIFETIME, "access_token": token,
        }),
    ))
}

/// The audience of a client-credentials request: a v2.0 `scope` must name one resource with
/// `/.default` (`openid`, `profile` and `offline_access` are ignored, as Entra ID does); the v1
/// endpoint's `resource` is the audience itself.
fn client_credentials_audience(
    scope: Option<&String>,
    resource: Option<&String>,
) -> Result<String, TokenError> {
    if let Some(scope) = scope {
        let wanted: Vec<&str> = scope
            .split_whitespace()
            .filter(|s| !matches!(*s, "openid" | "profile" | "offline_access"))
            .collect();
        if let [one] = wanted.as_slice()
            && let Some(audience) = one.strip_suffix("/.default")
        {
            return Ok(audience.to_string());
        }
        return Err(TokenError::InvalidScope(format!(
            "AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        )));
    }
    match resource.filter(|r| !r.is_empty()) {
        Some(r) => Ok(r.clone()),
        None => Err(TokenError::InvalidScope(
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).".into(),
        )),
    }
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
        .filter(|c| uuid::Uuid::parse_str(c).is_ok())
        .cloned()
        .unwrap_or_else(|| DEFAULT_MANAGED_IDENTITY_CLIENT.into());
    let now = emu.clock.now().timestamp();
    let token = mint(
        &emu,
        &format!("https://sts.windows.net/{DEFAULT_TENANT}/"),
        resource.trim_end_matches('/'),
        &client,
        DEFAULT_TENANT,
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
