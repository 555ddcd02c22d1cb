//! Turning CLI-level settings (endpoint, cloud, auth method, emulator URL) into an `ArmClient`.
//!
//! The CLI calls [`connect`] with plain values; this module picks the ARM endpoint, the token
//! scope, the authority host and the credential, and builds the client. It does no network I/O
//! (credentials fetch tokens lazily, on the first request). It must not read clap types.

use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};

use super::auth::{AuthMethod, AzureCloud, Chosen, Credential, TokenSource, choose};
use super::client::{ArmClient, ArmClientOptions, http_client};
use super::error::{ArmError, CredentialError};
use crate::model::Sensitive;

/// Everything needed to reach ARM.
#[derive(Debug, Clone, Default)]
pub struct ConnectSettings {
    /// `--endpoint`: an ARM endpoint other than the cloud's.
    pub endpoint: Option<String>,
    /// `--cloud`.
    pub cloud: AzureCloud,
    /// `--auth`.
    pub auth: AuthMethod,
    /// `--emulator-url` (or the URL of the embedded emulator the CLI started for `--emulator`):
    /// ARM at its root, token endpoint at `/{tenant}/oauth2/v2.0/token`, Auth0 at `/auth0`.
    pub emulator_url: Option<String>,
    /// Entra ID authority host for `--endpoint` clouds (overrides `AZURE_AUTHORITY_HOST` and
    /// the cloud's default).
    pub authority_host: Option<String>,
    /// An extra trusted root certificate (PEM), e.g. the emulator's `--tls` certificate.
    pub extra_root_pem: Option<Vec<u8>>,
    /// Client tunables.
    pub options: ArmClientOptions,
}

/// A connected client plus what the rest of the program may want to know.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The ARM client.
    pub arm: ArmClient,
    /// The credential in use.
    pub credential: Chosen,
    /// The HTTP client (shares the trusted roots; reuse it for Auth0).
    pub http: reqwest::Client,
    /// The emulator base URL, when talking to one.
    pub emulator: Option<url::Url>,
}

/// Builds a client from settings and the process environment.
pub fn connect(settings: ConnectSettings) -> Result<Connection, ArmError> {
    connect_with_env(settings, &|k| std::env::var(k).ok())
}

/// Builds a client from settings and an environment lookup (tests pass their own).
pub fn connect_with_env(
    settings: ConnectSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Connection, ArmError> {
    let http = http_client(
        settings.options.request_timeout,
        settings.extra_root_pem.as_deref(),
    )?;
    let parse = |what: &str, s: &str| {
        url::Url::parse(s).map_err(|e| ArmError::Config(format!("{what} `{s}` is not a URL: {e}")))
    };
    let emulator = match &settings.emulator_url {
        Some(u) => Some(parse("--emulator-url", u)?),
        None => None,
    };
    let base = match (&emulator, &settings.endpoint) {
        (Some(e), _) => e.clone(),
        (None, Some(endpoint)) => parse("--endpoint", endpoint)?,
        (None, None) => parse("cloud endpoint", settings.cloud.arm_endpoint())?,
    };
    let scope = match (&emulator, &settings.endpoint) {
        (None, Some(endpoint)) => format!("{}/.default", endpoint.trim_end_matches('/')),
        _ => settings.cloud.arm_scope().to_string(),
    };
    let (tokens, chosen) = credential_for(&settings, env, &http, emulator.as_ref(), &scope)?;
    tracing::debug!(credential = chosen.label(), endpoint = %crate::remote_http::redact_url(&base), "ARM client configured");
    Ok(Connection {
        arm: ArmClient::new(http.clone(), base, tokens, settings.options),
        credential: chosen,
        http,
        emulator,
    })
}

/// The credential `settings` and `env` choose, asking tokens for `scope`: ARM's here, Microsoft
/// Graph's for `graph::connect`. With a plain-http `emulator`, the emulator's token endpoint
/// (Azure's credentials insist on an https authority). Does no network I/O.
pub fn credential_for(
    settings: &ConnectSettings,
    env: &dyn Fn(&str) -> Option<String>,
    http: &reqwest::Client,
    emulator: Option<&url::Url>,
    scope: &str,
) -> Result<(TokenSource, Chosen), CredentialError> {
    let chosen = choose(settings.auth, env, emulator.is_some());
    let make = CredentialMaker {
        settings,
        env,
        http,
        any_emulator: emulator,
        emulator: emulator.filter(|e| e.scheme() == "http"),
        scope,
        chosen,
    };
    let tokens = match chosen {
        Chosen::ClientSecret => make.client_secret()?,
        Chosen::WorkloadIdentity => make.workload_identity()?,
        Chosen::ManagedIdentity => make.managed_identity()?,
        Chosen::Cli => {
            let cred: Arc<dyn TokenCredential> =
                AzureCliCredential::new(Some(AzureCliCredentialOptions {
                    tenant_id: env("AZURE_TENANT_ID").filter(|s| !s.is_empty()),
                    ..Default::default()
                }))
                .map_err(|e| make.fail(e.to_string()))?;
            TokenSource::azure(cred, scope, chosen)
        }
        Chosen::EmulatorToken => make.emulator_token(emulator)?,
    };
    Ok((tokens, chosen))
}

/// What building one credential needs.
struct CredentialMaker<'a> {
    settings: &'a ConnectSettings,
    env: &'a dyn Fn(&str) -> Option<String>,
    http: &'a reqwest::Client,
    /// The emulator, when the target is one (its origin is the authority host).
    any_emulator: Option<&'a url::Url>,
    /// The emulator, when it is served over plain http (its own token endpoint then).
    emulator: Option<&'a url::Url>,
    scope: &'a str,
    chosen: Chosen,
}

impl CredentialMaker<'_> {
    fn fail(&self, message: String) -> CredentialError {
        CredentialError {
            credential: self.chosen.label().into(),
            message,
            hint: self.chosen.hint().into(),
        }
    }

    fn need(&self, names: &[&str]) -> Result<Vec<String>, CredentialError> {
        let env = self.env;
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| env(n).is_none_or(|v| v.is_empty()))
            .collect();
        if !missing.is_empty() {
            return Err(self.fail(format!("{} not set", missing.join(", "))));
        }
        Ok(names.iter().map(|n| env(n).unwrap_or_default()).collect())
    }

    fn client_options(&self) -> ClientOptions {
        let authority = match (
            (self.env)("AZURE_AUTHORITY_HOST").filter(|s| !s.is_empty()),
            self.any_emulator,
        ) {
            (Some(a), _) => a,
            (None, Some(e)) => e.origin().ascii_serialization(),
            (None, None) => self.settings.cloud.authority_host().to_string(),
        };
        let mut custom = CustomConfiguration::default();
        custom.authority_host = authority;
        let mut o = ClientOptions {
            cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
            ..Default::default()
        };
        // Fail a broken credential within seconds, not the SDK's default minute of retries.
        o.retry = RetryOptions::exponential(ExponentialRetryOptions {
            max_retries: 3,
            ..Default::default()
        });
        if self.settings.extra_root_pem.is_some() {
            o.transport = Some(Transport::new(Arc::new(self.http.clone())));
        }
        o
    }

    fn form(
        &self,
        e: &url::Url,
        tenant: &str,
        client: &str,
        c: Credential,
    ) -> Result<TokenSource, CredentialError> {
        TokenSource::emulator(
            self.http.clone(),
            e,
            tenant,
            client,
            c,
            self.scope,
            self.chosen,
        )
    }

    fn client_secret(&self) -> Result<TokenSource, CredentialError> {
        let v = self.need(&["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"])?;
        let (tenant, client, secret) = (&v[0], &v[1], &v[2]);
        if let Some(e) = self.emulator {
            let secret = Credential::Secret(Sensitive::new(secret.clone()));
            return self.form(e, tenant, client, secret);
        }
        let cred: Arc<dyn TokenCredential> = ClientSecretCredential::new(
            tenant,
            client.clone(),
            Secret::new(secret.clone()),
            Some(ClientSecretCredentialOptions {
                client_options: self.client_options(),
            }),
        )
        .map_err(|e| self.fail(e.to_string()))?;
        Ok(TokenSource::azure(cred, self.scope, self.chosen))
    }

    fn workload_identity(&self) -> Result<TokenSource, CredentialError> {
        let v = self.need(&[
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
        ])?;
        let (tenant, client, file) = (&v[0], &v[1], &v[2]);
        if let Some(e) = self.emulator {
            let jwt = std::fs::read_to_string(file).map_err(|err| {
                self.fail(format!(
                    "cannot read AZURE_FEDERATED_TOKEN_FILE `{file}`: {err}"
                ))
            })?;
            let assertion = Credential::Assertion(Sensitive::new(jwt.trim().to_string()));
            return self.form(e, tenant, client, assertion);
        }
        let cred: Arc<dyn TokenCredential> =
            WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: self.client_options(),
                },
                client_id: Some(client.clone()),
                tenant_id: Some(tenant.clone()),
                token_file_path: Some(file.into()),
            }))
            .map_err(|e| self.fail(e.to_string()))?;
        Ok(TokenSource::azure(cred, self.scope, self.chosen))
    }

    fn managed_identity(&self) -> Result<TokenSource, CredentialError> {
        let mut o = self.client_options();
        o.cloud = None;
        let cred: Arc<dyn TokenCredential> =
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: (self.env)("AZURE_CLIENT_ID")
                    .filter(|s| !s.is_empty())
                    .map(UserAssignedId::ClientId),
                client_options: o,
            }))
            .map_err(|e| self.fail(e.to_string()))?;
        Ok(TokenSource::azure(cred, self.scope, self.chosen))
    }

    /// The emulator's endpoint with placeholder client credentials (http or https emulator).
    fn emulator_token(&self, emulator: Option<&url::Url>) -> Result<TokenSource, CredentialError> {
        let e = emulator.ok_or_else(|| self.fail("no emulator URL".into()))?;
        let get = |k: &str, default: &str| {
            (self.env)(k)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| default.into())
        };
        let secret = Credential::Secret(Sensitive::new("emulator".into()));
        self.form(
            e,
            &get("AZURE_TENANT_ID", "emulator"),
            &get("AZURE_CLIENT_ID", "gridform"),
            secret,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn client_secret_without_variables_says_what_to_set() {
        let err = connect_with_env(
            ConnectSettings {
                auth: AuthMethod::ClientSecret,
                ..Default::default()
            },
            &env_of(vec![("AZURE_CLIENT_ID", "c".into())]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("client secret credential"), "{text}");
        assert!(
            text.contains("AZURE_TENANT_ID, AZURE_CLIENT_SECRET not set"),
            "{text}"
        );
        assert!(text.contains("hint: set AZURE_TENANT_ID"), "{text}");
    }

    #[test]
    fn http_authority_is_refused_by_azure_identity_with_a_clear_error() {
        let err = connect_with_env(
            ConnectSettings::default(),
            &env_of(vec![
                ("AZURE_TENANT_ID", "t".into()),
                ("AZURE_CLIENT_ID", "c".into()),
                ("AZURE_CLIENT_SECRET", "canary-secret".into()),
                ("AZURE_AUTHORITY_HOST", "http://login.example".into()),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("HTTPS"), "{text}");
        assert!(!text.contains("canary-secret"), "{text}");
    }

    #[test]
    fn endpoints_per_cloud_and_emulator() {
        let env = env_of(vec![]);
        let c = connect_with_env(
            ConnectSettings {
                cloud: AzureCloud::China,
                auth: AuthMethod::Cli,
                ..Default::default()
            },
            &env,
        )
        .unwrap();
        assert_eq!(
            c.arm.base().as_str(),
            "https://management.chinacloudapi.cn/"
        );
        assert_eq!(c.credential, Chosen::Cli);
        let c = connect_with_env(
            ConnectSettings {
                emulator_url: Some("http://127.0.0.1:8787".into()),
                ..Default::default()
            },
            &env,
        )
        .unwrap();
        assert_eq!(c.arm.base().as_str(), "http://127.0.0.1:8787/");
        assert_eq!(c.credential, Chosen::EmulatorToken);
        assert!(
            connect_with_env(
                ConnectSettings {
                    endpoint: Some("not a url".into()),
                    ..Default::default()
                },
                &env
            )
            .is_err()
        );
    }
}
