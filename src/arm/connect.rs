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
    let chosen = choose(settings.auth, env, emulator.is_some());
    let authority = match (
        env("AZURE_AUTHORITY_HOST").filter(|s| !s.is_empty()),
        &emulator,
    ) {
        (Some(a), _) => a,
        (None, Some(e)) => e.origin().ascii_serialization(),
        (None, None) => settings.cloud.authority_host().to_string(),
    };
    let plain_http_emulator = emulator.as_ref().is_some_and(|e| e.scheme() == "http");
    let fail = |message: String| CredentialError {
        credential: chosen.label().into(),
        message,
        hint: chosen.hint().into(),
    };
    let need = |names: &[&str]| -> Result<Vec<String>, CredentialError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| env(n).is_none_or(|v| v.is_empty()))
            .collect();
        if !missing.is_empty() {
            return Err(fail(format!("{} not set", missing.join(", "))));
        }
        Ok(names.iter().map(|n| env(n).unwrap_or_default()).collect())
    };
    let client_options = || {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = authority.clone();
        let mut o = ClientOptions {
            cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
            ..Default::default()
        };
        // Fail a broken credential within seconds, not the SDK's default minute of retries.
        o.retry = RetryOptions::exponential(ExponentialRetryOptions {
            max_retries: 3,
            ..Default::default()
        });
        if settings.extra_root_pem.is_some() {
            o.transport = Some(Transport::new(Arc::new(http.clone())));
        }
        o
    };
    let azure_err = |e: azure_core::Error| fail(e.to_string());
    let tokens = match chosen {
        Chosen::ClientSecret => {
            let v = need(&["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"])?;
            let (tenant, client, secret) = (&v[0], &v[1], &v[2]);
            match (&emulator, plain_http_emulator) {
                (Some(e), true) => TokenSource::emulator(
                    http.clone(),
                    e,
                    tenant,
                    client,
                    Credential::Secret(Sensitive::new(secret.clone())),
                    &scope,
                    chosen,
                )?,
                _ => {
                    let cred: Arc<dyn TokenCredential> = ClientSecretCredential::new(
                        tenant,
                        client.clone(),
                        Secret::new(secret.clone()),
                        Some(ClientSecretCredentialOptions {
                            client_options: client_options(),
                        }),
                    )
                    .map_err(azure_err)?;
                    TokenSource::azure(cred, &scope, chosen)
                }
            }
        }
        Chosen::WorkloadIdentity => {
            let v = need(&[
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "AZURE_FEDERATED_TOKEN_FILE",
            ])?;
            let (tenant, client, file) = (&v[0], &v[1], &v[2]);
            match (&emulator, plain_http_emulator) {
                (Some(e), true) => {
                    let jwt = std::fs::read_to_string(file).map_err(|err| {
                        fail(format!(
                            "cannot read AZURE_FEDERATED_TOKEN_FILE `{file}`: {err}"
                        ))
                    })?;
                    TokenSource::emulator(
                        http.clone(),
                        e,
                        tenant,
                        client,
                        Credential::Assertion(Sensitive::new(jwt.trim().to_string())),
                        &scope,
                        chosen,
                    )?
                }
                _ => {
                    let cred: Arc<dyn TokenCredential> =
                        WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                            credential_options: ClientAssertionCredentialOptions {
                                client_options: client_options(),
                            },
                            client_id: Some(client.clone()),
                            tenant_id: Some(tenant.clone()),
                            token_file_path: Some(file.into()),
                        }))
                        .map_err(azure_err)?;
                    TokenSource::azure(cred, &scope, chosen)
                }
            }
        }
        Chosen::ManagedIdentity => {
            let mut o = client_options();
            o.cloud = None;
            let cred: Arc<dyn TokenCredential> =
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: env("AZURE_CLIENT_ID")
                        .filter(|s| !s.is_empty())
                        .map(UserAssignedId::ClientId),
                    client_options: o,
                }))
                .map_err(azure_err)?;
            TokenSource::azure(cred, &scope, chosen)
        }
        Chosen::Cli => {
            let cred: Arc<dyn TokenCredential> =
                AzureCliCredential::new(Some(AzureCliCredentialOptions {
                    tenant_id: env("AZURE_TENANT_ID").filter(|s| !s.is_empty()),
                    ..Default::default()
                }))
                .map_err(azure_err)?;
            TokenSource::azure(cred, &scope, chosen)
        }
        Chosen::EmulatorToken => {
            let e = emulator
                .as_ref()
                .ok_or_else(|| fail("no emulator URL".into()))?;
            let tenant = env("AZURE_TENANT_ID")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "emulator".into());
            let client = env("AZURE_CLIENT_ID")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "gridform".into());
            TokenSource::emulator(
                http.clone(),
                e,
                &tenant,
                &client,
                Credential::Secret(Sensitive::new("emulator".into())),
                &scope,
                chosen,
            )?
        }
    };
    tracing::debug!(credential = chosen.label(), endpoint = %crate::remote_http::redact_url(&base), "ARM client configured");
    Ok(Connection {
        arm: ArmClient::new(http.clone(), base, tokens, settings.options),
        credential: chosen,
        http,
        emulator,
    })
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
