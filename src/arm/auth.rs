//! Credentials: choosing one, and getting bearer tokens for ARM.
//!
//! Real Azure credentials come from `azure_identity` only (client secret, workload identity,
//! managed identity, az CLI). The one exception is an emulator served over plain http: Azure's
//! credentials insist on an https authority host, so there we call the emulator's own token
//! endpoint (`POST {emulator}/{tenant}/oauth2/v2.0/token`, form client_credentials) — the
//! emulator's contract, not Entra ID (see docs/arm-client.md). Tokens are `Sensitive` and never
//! logged. This module must not send ARM requests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;

use super::error::CredentialError;
use crate::model::Sensitive;
use crate::remote_http::limits::read_body;
use crate::remote_http::{MAX_BODY_BYTES, TokenResponse, parse_arm_error, transport_message};

/// Which Azure cloud to talk to (mirrors `--cloud`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AzureCloud {
    /// Public cloud.
    #[default]
    Public,
    /// US Government.
    UsGovernment,
    /// China (21Vianet).
    China,
}

impl AzureCloud {
    /// The ARM endpoint.
    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Self::Public => "https://management.azure.com",
            Self::UsGovernment => "https://management.usgovcloudapi.net",
            Self::China => "https://management.chinacloudapi.cn",
        }
    }

    /// The Entra ID authority host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Self::Public => "https://login.microsoftonline.com",
            Self::UsGovernment => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The token scope for ARM.
    pub fn arm_scope(self) -> &'static str {
        match self {
            Self::Public => "https://management.azure.com/.default",
            Self::UsGovernment => "https://management.core.usgovcloudapi.net/.default",
            Self::China => "https://management.core.chinacloudapi.cn/.default",
        }
    }
}

/// How to get credentials (mirrors `--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// Pick from the environment.
    #[default]
    Auto,
    /// The az CLI.
    Cli,
    /// `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `AZURE_FEDERATED_TOKEN_FILE` (+ tenant and client id).
    WorkloadIdentity,
    /// Managed identity (`IDENTITY_ENDPOINT`/`MSI_ENDPOINT` or IMDS).
    ManagedIdentity,
}

/// The credential actually used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// Client secret.
    ClientSecret,
    /// Workload identity (federated token file).
    WorkloadIdentity,
    /// Managed identity.
    ManagedIdentity,
    /// The az CLI.
    Cli,
    /// The emulator's token endpoint with placeholder client credentials.
    EmulatorToken,
}

impl Chosen {
    /// A human name for error messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::ClientSecret => "client secret credential (AZURE_CLIENT_SECRET)",
            Self::WorkloadIdentity => "workload identity credential (AZURE_FEDERATED_TOKEN_FILE)",
            Self::ManagedIdentity => "managed identity credential",
            Self::Cli => "Azure CLI credential (`az account get-access-token`)",
            Self::EmulatorToken => "emulator token endpoint",
        }
    }

    /// What to set or do when it fails.
    pub fn hint(self) -> &'static str {
        match self {
            Self::ClientSecret => {
                "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal (and AZURE_AUTHORITY_HOST for a sovereign cloud)"
            }
            Self::WorkloadIdentity => {
                "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE (pod/CI OIDC configuration)"
            }
            Self::ManagedIdentity => {
                "run on an Azure host with a managed identity, or set IDENTITY_ENDPOINT and IDENTITY_HEADER; set AZURE_CLIENT_ID for a user-assigned identity"
            }
            Self::Cli => {
                "install the Azure CLI and run `az login`, or choose another method with --auth / GRIDFORM_AUTH"
            }
            Self::EmulatorToken => "check that the emulator is running at --emulator-url",
        }
    }
}

/// Picks the credential for `method` given an environment lookup. With an emulator and `auto`,
/// no Azure variables set means the emulator's token endpoint (no az CLI needed).
pub fn choose(method: AuthMethod, env: &dyn Fn(&str) -> Option<String>, emulator: bool) -> Chosen {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    match method {
        AuthMethod::Cli => Chosen::Cli,
        AuthMethod::ClientSecret => Chosen::ClientSecret,
        AuthMethod::WorkloadIdentity => Chosen::WorkloadIdentity,
        AuthMethod::ManagedIdentity => Chosen::ManagedIdentity,
        AuthMethod::Auto => {
            if set("AZURE_CLIENT_SECRET") {
                Chosen::ClientSecret
            } else if set("AZURE_FEDERATED_TOKEN_FILE") {
                Chosen::WorkloadIdentity
            } else if set("IDENTITY_ENDPOINT") || set("MSI_ENDPOINT") {
                Chosen::ManagedIdentity
            } else if emulator {
                Chosen::EmulatorToken
            } else {
                Chosen::Cli
            }
        }
    }
}

/// Where tokens come from.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

enum Inner {
    Azure {
        credential: Arc<dyn TokenCredential>,
        scope: String,
        chosen: Chosen,
    },
    Form {
        http: reqwest::Client,
        url: url::Url,
        form: Vec<(&'static str, Sensitive<String>)>,
        chosen: Chosen,
        cache: Mutex<Option<(Sensitive<String>, Instant)>>,
    },
    Static(Sensitive<String>),
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &*self.inner {
            Inner::Azure { chosen, .. } | Inner::Form { chosen, .. } => chosen.label(),
            Inner::Static(_) => "static token",
        };
        f.debug_struct("TokenSource").field("kind", &kind).finish()
    }
}

impl TokenSource {
    /// A fixed token (tests, or a token obtained elsewhere).
    pub fn fixed(token: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner::Static(Sensitive::new(token.into()))),
        }
    }

    /// Wraps any `azure_core` credential.
    pub fn azure(credential: Arc<dyn TokenCredential>, scope: &str, chosen: Chosen) -> Self {
        Self {
            inner: Arc::new(Inner::Azure {
                credential,
                scope: scope.into(),
                chosen,
            }),
        }
    }

    /// The emulator's client-credentials token endpoint `POST {base}/{tenant}/oauth2/v2.0/token`
    /// (plain http allowed: the emulator is not Entra ID).
    pub fn emulator(
        http: reqwest::Client,
        base: &url::Url,
        tenant: &str,
        client_id: &str,
        secret_or_assertion: Credential,
        scope: &str,
        chosen: Chosen,
    ) -> Result<Self, CredentialError> {
        let url = base
            .join(&format!("{tenant}/oauth2/v2.0/token"))
            .map_err(|e| CredentialError {
                credential: chosen.label().into(),
                message: format!("cannot build the token URL: {e}"),
                hint: chosen.hint().into(),
            })?;
        let mut form = vec![
            (
                "grant_type",
                Sensitive::new("client_credentials".to_string()),
            ),
            ("client_id", Sensitive::new(client_id.to_string())),
            ("scope", Sensitive::new(scope.to_string())),
        ];
        match secret_or_assertion {
            Credential::Secret(s) => form.push(("client_secret", s)),
            Credential::Assertion(a) => {
                form.push((
                    "client_assertion_type",
                    Sensitive::new("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()),
                ));
                form.push(("client_assertion", a));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner::Form {
                http,
                url,
                form,
                chosen,
                cache: Mutex::new(None),
            }),
        })
    }

    /// Which credential this is.
    pub fn chosen(&self) -> Option<Chosen> {
        match &*self.inner {
            Inner::Azure { chosen, .. } | Inner::Form { chosen, .. } => Some(*chosen),
            Inner::Static(_) => None,
        }
    }

    /// Forgets a cached token so the next `token()` fetches a new one; `false` when this
    /// source cannot refresh (a fixed token; azure_identity credentials manage their own cache).
    pub fn invalidate(&self) -> bool {
        match &*self.inner {
            Inner::Form { cache, .. } => {
                *cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
                true
            }
            _ => false,
        }
    }

    /// A bearer token for another Entra ID resource with the same credential (e.g.
    /// `https://eventgrid.azure.net/.default` to publish to `disableLocalAuth` topics); sources
    /// that are not Entra ID (the emulator, a fixed token) answer with their ARM token.
    pub async fn token_for(&self, scope: &str) -> Result<Sensitive<String>, CredentialError> {
        match &*self.inner {
            Inner::Azure {
                credential, chosen, ..
            } => credential
                .get_token(&[scope], None)
                .await
                .map(|t| Sensitive::new(t.token.secret().to_string()))
                .map_err(|e| CredentialError {
                    credential: chosen.label().into(),
                    message: first_line(&e.to_string()),
                    hint: chosen.hint().into(),
                }),
            _ => self.token().await,
        }
    }

    /// A bearer token for ARM. A token that cannot be a header value (CR, LF, other control
    /// characters) fails here, at once: sending it would fail on every retried attempt.
    pub async fn token(&self) -> Result<Sensitive<String>, CredentialError> {
        let token = self.fetch_token().await?;
        if reqwest::header::HeaderValue::from_str(token.expose()).is_err() {
            let chosen = self.chosen();
            return Err(CredentialError {
                credential: chosen.map_or("static token", |c| c.label()).into(),
                message: "the token contains characters an HTTP header cannot carry (CR, LF or other control characters)".into(),
                hint: chosen.map_or("check where the token comes from", |c| c.hint()).into(),
            });
        }
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<Sensitive<String>, CredentialError> {
        match &*self.inner {
            Inner::Static(t) => Ok(t.clone()),
            Inner::Azure {
                credential,
                scope,
                chosen,
            } => credential
                .get_token(&[scope.as_str()], None)
                .await
                .map(|t| Sensitive::new(t.token.secret().to_string()))
                .map_err(|e| CredentialError {
                    credential: chosen.label().into(),
                    message: first_line(&e.to_string()),
                    hint: chosen.hint().into(),
                }),
            Inner::Form {
                http,
                url,
                form,
                chosen,
                cache,
            } => {
                if let Some((tok, exp)) = cache.lock().unwrap_or_else(|e| e.into_inner()).clone()
                    && exp > Instant::now()
                {
                    return Ok(tok);
                }
                let fail = |message: String| CredentialError {
                    credential: chosen.label().into(),
                    message,
                    hint: chosen.hint().into(),
                };
                let pairs: Vec<(&str, &str)> = form
                    .iter()
                    .map(|(k, v)| (*k, v.expose().as_str()))
                    .collect();
                let resp = http
                    .post(url.clone())
                    .form(&pairs)
                    .send()
                    .await
                    .map_err(|e| fail(format!("request failed: {}", transport_message(e))))?;
                let status = resp.status().as_u16();
                let what = format!("POST {}", url.path());
                let body = read_body(resp, MAX_BODY_BYTES, &what)
                    .await
                    .map_err(|e| match e {
                        Ok(too_large) => fail(too_large),
                        Err(e) => fail(format!(
                            "reading the response failed: {}",
                            transport_message(e)
                        )),
                    })?;
                if status != 200 {
                    return Err(fail(format!(
                        "token endpoint returned {status}: {}",
                        parse_arm_error(status, &body).message
                    )));
                }
                let (token, expiry) = TokenResponse::parse(&body, Duration::from_secs(300))
                    .map_err(|e| fail(format!("malformed token response: {e}")))?;
                *cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((token.clone(), expiry));
                Ok(token)
            }
        }
    }
}

/// What proves the client's identity to a token endpoint.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A client secret.
    Secret(Sensitive<String>),
    /// A federated token (JWT) used as client assertion.
    Assertion(Sensitive<String>),
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn auto_prefers_secret_then_workload_then_managed_then_cli() {
        let all = env(&[
            ("AZURE_CLIENT_SECRET", "x"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/f"),
            ("IDENTITY_ENDPOINT", "http://x"),
        ]);
        assert_eq!(choose(AuthMethod::Auto, &all, false), Chosen::ClientSecret);
        let wi = env(&[("AZURE_FEDERATED_TOKEN_FILE", "/f"), ("MSI_ENDPOINT", "x")]);
        assert_eq!(
            choose(AuthMethod::Auto, &wi, false),
            Chosen::WorkloadIdentity
        );
        let mi = env(&[("MSI_ENDPOINT", "http://x")]);
        assert_eq!(
            choose(AuthMethod::Auto, &mi, false),
            Chosen::ManagedIdentity
        );
        let none = env(&[("AZURE_CLIENT_SECRET", "")]);
        assert_eq!(choose(AuthMethod::Auto, &none, false), Chosen::Cli);
        assert_eq!(choose(AuthMethod::Auto, &none, true), Chosen::EmulatorToken);
        assert_eq!(choose(AuthMethod::Cli, &all, true), Chosen::Cli);
        assert_eq!(
            choose(AuthMethod::ManagedIdentity, &none, false),
            Chosen::ManagedIdentity
        );
    }

    #[tokio::test]
    async fn a_token_with_a_line_break_fails_at_once_without_quoting_it() {
        let err = TokenSource::fixed("canary-a\r\nInjected: header")
            .token()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("HTTP header cannot carry"), "{text}");
        assert!(!text.contains("canary"), "{text}");
        assert!(TokenSource::fixed("eyJ.a-b_c.d").token().await.is_ok());
    }

    #[test]
    fn token_source_debug_hides_the_token() {
        let t = TokenSource::fixed("canary-token");
        assert!(!format!("{t:?}").contains("canary"));
    }
}
