//! The credentials that insist on https (client secret, workload identity) through the real
//! `azure_identity` types, against a TLS loopback server whose test-only CA is injected with
//! `ConnectSettings.extra_root_pem` (it reaches azure_identity via `ClientOptions.transport`).

use crate::support::scripted_server::{self, Resp, SUB, fast_options, serve_tls, tls_ca_pem};
use gridform::arm::connect::connect_with_env;
use gridform::arm::{ArmApi, AuthMethod, Chosen, ConnectSettings};
use gridform::model::ResourceId;
use serde_json::json;

async fn token_server() -> scripted_server::Server {
    serve_tls(|req, _| {
        if req.path.ends_with("/oauth2/v2.0/token") {
            return Resp::json(
                200,
                json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "tls-token"}),
            );
        }
        Resp::json(200, json!({"id": req.path, "name": "rg"}))
    })
    .await
}

fn settings(base: &url::Url, auth: AuthMethod) -> ConnectSettings {
    ConnectSettings {
        emulator_url: Some(base.to_string()),
        extra_root_pem: Some(tls_ca_pem()),
        auth,
        options: fast_options(),
        ..Default::default()
    }
}

#[tokio::test]
async fn client_secret_credential_over_tls() {
    let srv = token_server().await;
    let env = |k: &str| match k {
        "AZURE_TENANT_ID" => Some("tenant-tls".to_string()),
        "AZURE_CLIENT_ID" => Some("app-tls".to_string()),
        "AZURE_CLIENT_SECRET" => Some("tls-secret".to_string()),
        _ => None,
    };
    let conn = connect_with_env(settings(&srv.base, AuthMethod::Auto), &env).unwrap();
    assert_eq!(conn.credential, Chosen::ClientSecret);
    conn.arm
        .get(&ResourceId::resource_group(SUB, "rg"))
        .await
        .unwrap();
    let reqs = srv.requests();
    let token = reqs
        .iter()
        .find(|r| r.path == "/tenant-tls/oauth2/v2.0/token")
        .unwrap();
    assert!(
        token.body.contains("client_secret=tls-secret"),
        "{}",
        token.body
    );
    assert!(token.body.contains("grant_type=client_credentials"));
    let arm = reqs
        .iter()
        .find(|r| r.path.starts_with("/subscriptions"))
        .unwrap();
    assert_eq!(arm.header("authorization"), Some("Bearer tls-token"));
}

#[tokio::test]
async fn workload_identity_credential_over_tls() {
    let srv = token_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("federated-token");
    std::fs::write(&file, "fed.jwt.sig").unwrap();
    let file_s = file.to_string_lossy().to_string();
    let env = move |k: &str| match k {
        "AZURE_TENANT_ID" => Some("tenant-wi".to_string()),
        "AZURE_CLIENT_ID" => Some("app-wi".to_string()),
        "AZURE_FEDERATED_TOKEN_FILE" => Some(file_s.clone()),
        _ => None,
    };
    let conn = connect_with_env(settings(&srv.base, AuthMethod::WorkloadIdentity), &env).unwrap();
    conn.arm
        .get(&ResourceId::resource_group(SUB, "rg"))
        .await
        .unwrap();
    let token = srv
        .requests()
        .into_iter()
        .find(|r| r.path == "/tenant-wi/oauth2/v2.0/token")
        .unwrap();
    assert!(
        token.body.contains("client_assertion=fed.jwt.sig"),
        "{}",
        token.body
    );
}

#[tokio::test]
async fn untrusted_certificate_is_a_credential_error() {
    let srv = token_server().await;
    let env = |k: &str| match k {
        "AZURE_TENANT_ID" => Some("t".to_string()),
        "AZURE_CLIENT_ID" => Some("c".to_string()),
        "AZURE_CLIENT_SECRET" => Some("canary-secret".to_string()),
        _ => None,
    };
    let mut s = settings(&srv.base, AuthMethod::ClientSecret);
    s.extra_root_pem = None;
    let conn = connect_with_env(s, &env).unwrap();
    let err = conn
        .arm
        .get(&ResourceId::resource_group(SUB, "rg"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("client secret credential"), "{text}");
    assert!(!text.contains("canary-secret"), "{text}");
}

// The same path against `gridform emulator serve --tls`: its self-signed certificate becomes the
// extra trusted root, its origin the authority host of the real azure_identity credential, and
// the token it issues is accepted by its ARM.
#[tokio::test]
async fn client_secret_against_the_tls_emulator() {
    use gridform::emulator::{Clock, Config, Emulator, serve_until, tls};
    let cert = tls::self_signed().unwrap();
    let pem = cert.cert_pem.clone();
    let emulator = Emulator::new(
        Config {
            scheme: "https",
            ca_pem: Some(pem.clone()),
            ..Default::default()
        },
        Clock::system(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve_until(listener, Some(&cert), emulator, async {
            let _ = stopped.await;
        })
        .await
    });
    let env = |k: &str| match k {
        "AZURE_TENANT_ID" => Some("00000000-0000-0000-0000-0000000000aa".to_string()),
        "AZURE_CLIENT_ID" => Some("gridform-ci".to_string()),
        "AZURE_CLIENT_SECRET" => Some("any-secret".to_string()),
        _ => None,
    };
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(format!("https://127.0.0.1:{port}")),
            extra_root_pem: Some(pem.into_bytes()),
            options: fast_options(),
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    assert_eq!(conn.credential, Chosen::ClientSecret);
    let rg = ResourceId::resource_group(SUB, "tls-rg");
    let created = conn
        .arm
        .put(&rg, &json!({"location": "westus2"}))
        .await
        .unwrap();
    assert_eq!(created.id, rg);
    assert!(conn.arm.get(&rg).await.unwrap().is_some());
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
