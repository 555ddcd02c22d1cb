//! The credential paths (emulator token endpoint, client secret, workload identity, managed
//! identity, Azure CLI), their error messages, and secrets kept out of the logs; against scripted
//! loopback servers and the emulator's identity endpoints. Nothing here talks to live Azure.

use std::sync::{Arc, Mutex};

use crate::support::World;
use crate::support::scripted_server::{Req, Resp, SUB, fast_options, serve};
use gridform::arm::connect::connect_with_env;
use gridform::arm::{ArmApi, AuthMethod, Chosen, ConnectSettings};
use gridform::model::ResourceId;
use serde_json::{Value, json};

#[tokio::test]
async fn emulator_token_endpoint_is_used_and_cached() {
    let srv = serve(|req, _| {
        if req.path.ends_with("/oauth2/v2.0/token") {
            return Resp::json(
                200,
                json!({"access_token": "emu-token", "token_type": "Bearer", "expires_in": 3599}),
            );
        }
        Resp::json(200, json!({"id": req.path, "name": "rg"}))
    })
    .await;
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(srv.base.to_string()),
            options: fast_options(),
            ..Default::default()
        },
        &|_| None,
    )
    .unwrap();
    assert_eq!(conn.credential, Chosen::EmulatorToken);
    let rg = ResourceId::resource_group(SUB, "rg");
    conn.arm.get(&rg).await.unwrap();
    conn.arm.get(&rg).await.unwrap();
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 3, "one token request, two ARM requests");
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/emulator/oauth2/v2.0/token");
    assert!(
        reqs[0].body.contains("grant_type=client_credentials"),
        "{}",
        reqs[0].body
    );
    assert!(
        reqs[0]
            .body
            .contains("scope=https%3A%2F%2Fmanagement.azure.com%2F.default")
    );
    assert_eq!(reqs[2].header("authorization"), Some("Bearer emu-token"));
}

#[tokio::test]
async fn client_secret_and_workload_identity_against_an_http_emulator() {
    let srv = serve(|req, _| {
        if req.path.ends_with("/oauth2/v2.0/token") {
            return Resp::json(200, json!({"access_token": "tok", "expires_in": "60"}));
        }
        Resp::json(200, json!({"id": req.path}))
    })
    .await;
    let rg = ResourceId::resource_group(SUB, "rg");
    let env = |k: &str| match k {
        "AZURE_TENANT_ID" => Some("tenant-1".to_string()),
        "AZURE_CLIENT_ID" => Some("app-1".to_string()),
        "AZURE_CLIENT_SECRET" => Some("canary-secret".to_string()),
        _ => None,
    };
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(srv.base.to_string()),
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    assert_eq!(conn.credential, Chosen::ClientSecret);
    conn.arm.get(&rg).await.unwrap();
    let token_req = &srv.requests()[0];
    assert_eq!(token_req.path, "/tenant-1/oauth2/v2.0/token");
    assert!(token_req.body.contains("client_secret=canary-secret"));
    assert!(token_req.body.contains("client_id=app-1"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "header.payload.sig\n").unwrap();
    let file_s = file.to_string_lossy().to_string();
    let env = move |k: &str| match k {
        "AZURE_TENANT_ID" => Some("tenant-2".to_string()),
        "AZURE_CLIENT_ID" => Some("app-2".to_string()),
        "AZURE_FEDERATED_TOKEN_FILE" => Some(file_s.clone()),
        _ => None,
    };
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(srv.base.to_string()),
            auth: AuthMethod::Auto,
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    assert_eq!(conn.credential, Chosen::WorkloadIdentity);
    conn.arm.get(&rg).await.unwrap();
    let token_req = srv
        .requests()
        .into_iter()
        .find(|r| r.path == "/tenant-2/oauth2/v2.0/token")
        .unwrap();
    assert!(
        token_req
            .body
            .contains("client_assertion=header.payload.sig")
    );
    assert!(token_req.body.contains("jwt-bearer"));
}

#[tokio::test]
async fn failed_token_says_which_credential_and_what_to_set() {
    let srv = serve(|_, _| {
        Resp::json(
            401,
            json!({"error": "invalid_client", "error_description": "bad"}),
        )
    })
    .await;
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(srv.base.to_string()),
            options: fast_options(),
            ..Default::default()
        },
        &|_| None,
    )
    .unwrap();
    let err = conn
        .arm
        .get(&ResourceId::resource_group(SUB, "rg"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("emulator token endpoint could not get a token"),
        "{text}"
    );
    assert!(text.contains("hint:"), "{text}");
}

// Credentials that read the process environment themselves (managed identity, az CLI) are
// exercised in a child process, because this crate forbids `unsafe` (and so `set_var`).
const CHILD: &str = "GRIDFORM_ARM_TEST_CHILD";

async fn run_child(test: &str, envs: Vec<(&str, String)>) {
    // The full test name in this binary, e.g. `arm::credentials::managed_identity_...`.
    let module = module_path!().split_once("::").map_or("", |(_, rest)| rest);
    let test = format!("{module}::{test}");
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(envs)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "child did not run the test:\n{text}"
    );
}

async fn child_get(auth: AuthMethod) -> Result<(), String> {
    let base = std::env::var("GRIDFORM_TEST_ARM").unwrap();
    let conn = gridform::arm::connect(ConnectSettings {
        emulator_url: Some(base),
        auth,
        options: fast_options(),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    conn.arm
        .get(&ResourceId::resource_group(SUB, "rg"))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn arm_or_token(token_path: &'static str, token: Value) -> impl Fn(&Req, usize) -> Resp {
    move |req, _| {
        if req.path == token_path {
            Resp::json(200, token.clone())
        } else {
            Resp::json(
                200,
                json!({"id": req.path, "bearer": req.header("authorization")}),
            )
        }
    }
}

#[tokio::test]
async fn managed_identity_via_identity_endpoint() {
    if std::env::var(CHILD).is_ok() {
        child_get(AuthMethod::Auto).await.unwrap();
        return;
    }
    let expires = (chrono::Utc::now().timestamp() + 3600).to_string();
    let srv = serve(arm_or_token(
        "/msi/token",
        json!({"access_token": "mi-token", "expires_on": expires, "resource": "https://management.azure.com", "token_type": "Bearer"}),
    ))
    .await;
    run_child(
        "managed_identity_via_identity_endpoint",
        vec![
            ("GRIDFORM_TEST_ARM", srv.base.to_string()),
            ("IDENTITY_ENDPOINT", format!("{}msi/token", srv.base)),
            ("IDENTITY_HEADER", "id-header-1".into()),
        ],
    )
    .await;
    let reqs = srv.requests();
    let token = reqs.iter().find(|r| r.path == "/msi/token").unwrap();
    assert_eq!(token.header("x-identity-header"), Some("id-header-1"));
    assert_eq!(
        token.query_param("resource").as_deref(),
        Some("https://management.azure.com")
    );
    let arm = reqs
        .iter()
        .find(|r| r.path.starts_with("/subscriptions"))
        .unwrap();
    assert_eq!(arm.header("authorization"), Some("Bearer mi-token"));
}

#[tokio::test]
async fn azure_cli_via_a_fake_az_on_path() {
    if std::env::var(CHILD).is_ok() {
        child_get(AuthMethod::Cli).await.unwrap();
        return;
    }
    let srv = serve(arm_or_token("/never", json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let expires = chrono::Utc::now().timestamp() + 3600;
    let script = format!(
        "#!/bin/sh\necho \"$@\" > '{}/args'\nprintf '%s' '{{\"accessToken\":\"cli-token\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":{expires},\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'\n",
        dir.path().display()
    );
    let az = dir.path().join("az");
    std::fs::write(&az, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    run_child(
        "azure_cli_via_a_fake_az_on_path",
        vec![("GRIDFORM_TEST_ARM", srv.base.to_string()), ("PATH", path)],
    )
    .await;
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert!(args.contains("account get-access-token"), "{args}");
    assert!(
        args.contains("--scope https://management.azure.com/.default"),
        "{args}"
    );
    let arm = srv
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/subscriptions"))
        .unwrap();
    assert_eq!(arm.header("authorization"), Some("Bearer cli-token"));
}

/// Captures everything logged (all targets, TRACE) into a buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Product bar: secrets (tokens, webhook query strings, client secrets) never appear in logs at
// any verbosity.
// Runs in a child process with a global TRACE subscriber: a scoped one races with the other
// tests' threads over tracing's callsite interest cache and misses events.
#[tokio::test]
async fn secrets_never_reach_the_logs() {
    if std::env::var(CHILD).is_err() {
        run_child("secrets_never_reach_the_logs", vec![]).await;
        return;
    }
    let capture = Capture::default();
    let c = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || c.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let srv = serve(|req, _| {
        if req.path.ends_with("/oauth2/v2.0/token") {
            return Resp::json(
                200,
                json!({"access_token": "canary-token", "expires_in": 3599}),
            );
        }
        if req.path.ends_with("/getFullUrl") {
            return Resp::json(200, json!({"endpointUrl": "https://h/x?code=canary-query"}));
        }
        Resp::json(
            400,
            json!({"error": {"code": "InvalidRequest", "message": "bad"}}),
        )
    })
    .await;
    let env = |k: &str| match k {
        "AZURE_TENANT_ID" => Some("t".to_string()),
        "AZURE_CLIENT_ID" => Some("c".to_string()),
        "AZURE_CLIENT_SECRET" => Some("canary-secret".to_string()),
        _ => None,
    };
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(srv.base.to_string()),
            options: fast_options(),
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    let pt = gridform::arm::typed::partner_topic_id(SUB, "rg", "auth0");
    let sub = gridform::arm::typed::event_subscription_id(&pt, "hook");
    let url = gridform::arm::typed::get_full_url(&conn.arm, &sub)
        .await
        .unwrap();
    let err = conn
        .arm
        .put(
            &sub,
            &json!({"properties": {"destination": {"endpointType": "WebHook",
        "properties": {"endpointUrl": url.expose()}}}}),
        )
        .await
        .unwrap_err();
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("ARM request"), "nothing logged?\n{logs}");
    for canary in ["canary-token", "canary-query", "canary-secret"] {
        assert!(
            !logs.contains(canary),
            "{canary} leaked into the logs:\n{logs}"
        );
        assert!(
            !err.to_string().contains(canary),
            "{canary} leaked into {err}"
        );
        assert!(
            !format!("{err:?}").contains(canary),
            "{canary} leaked into {err:?}"
        );
    }
}

// Managed identity against the real emulator: its `/msi/token` issues the token and its ARM
// (which checks every bearer token) accepts it.
#[tokio::test]
async fn managed_identity_against_the_emulator() {
    if std::env::var(CHILD).is_ok() {
        child_get(AuthMethod::ManagedIdentity).await.unwrap();
        return;
    }
    let emu = World::start();
    run_child(
        "managed_identity_against_the_emulator",
        vec![
            ("GRIDFORM_TEST_ARM", emu.base_url.clone()),
            ("IDENTITY_ENDPOINT", format!("{}/msi/token", emu.base_url)),
            ("IDENTITY_HEADER", "emulator-header".into()),
        ],
    )
    .await;
    emu.shutdown().unwrap();
}
