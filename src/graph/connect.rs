//! Connecting to Microsoft Graph: the base URL and token scope per cloud (or the emulator's
//! `{emulator}/graph/v1.0`, or `GRIDFORM_GRAPH_URL`), the credential (the one `arm::connect`
//! chooses, asked for Graph's scope), and who we are to Graph (`tid`, `appid`).
//!
//! Does no network I/O (credentials fetch tokens lazily). Reading `tid`/`appid` from a token
//! decodes its payload only: the token is Graph's to verify, not ours, so no JWT library (which
//! would want the signing keys) is needed; base64 and serde_json do it. The token is never logged.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{GraphApiError, GraphClient};
use crate::arm::connect::credential_for;
use crate::arm::{AzureCloud, Chosen, ConnectSettings};

/// Overrides the Graph base URL (the `v1.0` root), for tests and proxies.
pub const GRAPH_URL_ENV: &str = "GRIDFORM_GRAPH_URL";

/// The Graph host of `cloud` (national clouds have their own).
fn graph_host(cloud: AzureCloud) -> &'static str {
    match cloud {
        AzureCloud::Public => "https://graph.microsoft.com",
        AzureCloud::UsGovernment => "https://graph.microsoft.us",
        AzureCloud::China => "https://microsoftgraph.chinacloudapi.cn",
    }
}

/// The token scope for Microsoft Graph in `cloud` (the emulator takes the public one).
pub fn graph_scope(cloud: AzureCloud) -> String {
    format!("{}/.default", graph_host(cloud))
}

/// The Graph base URL: `GRIDFORM_GRAPH_URL` when set, else `{emulator}/graph/v1.0/`, else the
/// cloud's `https://…/v1.0/`.
pub fn graph_base(
    cloud: AzureCloud,
    emulator: Option<&url::Url>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<url::Url, GraphApiError> {
    let bad = |what: &str, e: url::ParseError| GraphApiError::Config(format!("{what}: {e}"));
    if let Some(u) = env(GRAPH_URL_ENV).filter(|u| !u.trim().is_empty()) {
        return url::Url::parse(u.trim()).map_err(|e| bad(GRAPH_URL_ENV, e));
    }
    match emulator {
        Some(e) => crate::remote_http::directory_url(e.clone())
            .join("graph/v1.0/")
            .map_err(|err| bad("bad emulator URL", err)),
        None => url::Url::parse(&format!("{}/v1.0/", graph_host(cloud)))
            .map_err(|e| bad("cloud Graph URL", e)),
    }
}

/// A Graph client with the credential `settings` and `env` choose (the ARM one, asked for
/// Graph's scope), over `http` (the ARM connection's, which trusts the same roots).
pub fn connect(
    settings: &ConnectSettings,
    http: &reqwest::Client,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GraphClient, GraphApiError> {
    let emulator = match &settings.emulator_url {
        Some(u) => Some(url::Url::parse(u).map_err(|e| {
            GraphApiError::Config(format!("--emulator-url `{u}` is not a URL: {e}"))
        })?),
        None => None,
    };
    let base = graph_base(settings.cloud, emulator.as_ref(), env)?;
    let scope = match &emulator {
        Some(_) => graph_scope(AzureCloud::Public),
        None => graph_scope(settings.cloud),
    };
    let (tokens, chosen) =
        credential_for(settings, env, http, emulator.as_ref(), &scope).map_err(|source| {
            GraphApiError::Credential {
                scope: scope.clone(),
                source,
            }
        })?;
    let (tenant, application) = configured_identity(chosen, env);
    tracing::debug!(credential = chosen.label(), endpoint = %crate::remote_http::redact_url(&base), "Microsoft Graph client configured");
    Ok(GraphClient::new(http.clone(), base, tokens, &scope).with_identity(tenant, application))
}

/// The tenant and application the credential is configured with, where they are the token's:
/// a service principal's (secret or federated) ids; a user-assigned managed identity's client
/// id. The az CLI and the emulator's placeholders are read from the token instead.
fn configured_identity(
    chosen: Chosen,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Option<String>, Option<String>) {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    match chosen {
        Chosen::ClientSecret | Chosen::WorkloadIdentity => {
            (get("AZURE_TENANT_ID"), get("AZURE_CLIENT_ID"))
        }
        Chosen::ManagedIdentity => (None, get("AZURE_CLIENT_ID")),
        Chosen::Cli | Chosen::EmulatorToken => (None, None),
    }
}

/// `/tenants/{tenant}/applications/{application}`: the partner topic `source` of Graph events.
pub fn source_of(tenant: &str, application: &str) -> String {
    format!("/tenants/{tenant}/applications/{application}")
}

/// The `tid` and `appid` (v1 tokens; `azp` in v2 tokens) claims of a JWT, payload decoded
/// without verification; `None` when it is not a JWT with both.
pub fn token_identity(token: &str) -> Option<(String, String)> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let text = |k: &str| {
        claims
            .get(k)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Some((text("tid")?, text("appid").or_else(|| text("azp"))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &serde_json::Value) -> String {
        let enc = |v: &str| URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            enc(r#"{"alg":"none"}"#),
            enc(&claims.to_string())
        )
    }

    #[test]
    fn identity_comes_from_tid_and_appid_or_azp() {
        let t = jwt(
            &serde_json::json!({"tid": "t1", "appid": "a1", "aud": "https://graph.microsoft.com"}),
        );
        assert_eq!(token_identity(&t), Some(("t1".into(), "a1".into())));
        let v2 = jwt(&serde_json::json!({"tid": "t2", "azp": "a2"}));
        assert_eq!(token_identity(&v2), Some(("t2".into(), "a2".into())));
        assert_eq!(token_identity(&jwt(&serde_json::json!({"tid": "t"}))), None);
        assert_eq!(token_identity("opaque-token"), None);
        assert_eq!(token_identity("a.%%%.c"), None);
        assert_eq!(source_of("t", "a"), "/tenants/t/applications/a");
    }

    #[test]
    fn base_urls_per_cloud_emulator_and_override() {
        let none = |_: &str| None;
        let base = |cloud, emu: Option<&str>, env: &dyn Fn(&str) -> Option<String>| {
            let e = emu.map(|u| url::Url::parse(u).unwrap());
            graph_base(cloud, e.as_ref(), env).unwrap().to_string()
        };
        assert_eq!(
            base(AzureCloud::Public, None, &none),
            "https://graph.microsoft.com/v1.0/"
        );
        assert_eq!(
            base(AzureCloud::China, None, &none),
            "https://microsoftgraph.chinacloudapi.cn/v1.0/"
        );
        assert_eq!(
            base(AzureCloud::Public, Some("http://127.0.0.1:8787"), &none),
            "http://127.0.0.1:8787/graph/v1.0/"
        );
        let over = |k: &str| (k == GRAPH_URL_ENV).then(|| "http://127.0.0.1:9/v1.0/".to_string());
        assert_eq!(
            base(AzureCloud::Public, Some("http://127.0.0.1:8787"), &over),
            "http://127.0.0.1:9/v1.0/"
        );
        assert_eq!(
            graph_scope(AzureCloud::UsGovernment),
            "https://graph.microsoft.us/.default"
        );
    }

    #[test]
    fn configured_ids_are_used_only_where_they_are_the_tokens() {
        let env = |k: &str| match k {
            "AZURE_TENANT_ID" => Some("t".to_string()),
            "AZURE_CLIENT_ID" => Some("c".to_string()),
            _ => None,
        };
        assert_eq!(
            configured_identity(Chosen::ClientSecret, &env),
            (Some("t".into()), Some("c".into()))
        );
        assert_eq!(configured_identity(Chosen::Cli, &env), (None, None));
        assert_eq!(
            configured_identity(Chosen::EmulatorToken, &env),
            (None, None)
        );
    }
}
