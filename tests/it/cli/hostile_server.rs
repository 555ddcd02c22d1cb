//! The real binary against a server that echoes every request in its errors (a transient 500 on
//! every write, 404s that quote the path): secret values the run knows — a `spec.secrets` value
//! used as the subscription id, a webhook query string, a secret delivery attribute — never reach
//! stdout or stderr, at default verbosity (the executor's retry warning) or at `-vv` (request
//! paths).

use serde_json::json;

use crate::support::scripted_server::{Resp, serve};
use crate::support::{gridform, outcome};

const SUB_CANARY: &str = "c0dec0de-5ec7-4e57-8000-00000000beef";
const HOOK_CANARY: &str = "hookc4nary9x";
const ATTR_CANARY: &str = "attrc4nary7q";

fn manifest() -> String {
    format!(
        r#"apiVersion: gridform/v1
kind: Stack
metadata: {{name: hostile}}
spec:
  subscriptionId: "${{env:SUB_SECRET}}"
  resourceGroup: rg
  location: westeurope
  secrets: [SUB_SECRET]
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {{name: rg}}
spec: {{}}
---
apiVersion: gridform/v1
kind: Topic
metadata: {{name: orders}}
spec: {{}}
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {{name: sub-1}}
spec:
  topic: {{kind: Topic, name: orders}}
  destination:
    endpointType: WebHook
    endpointUrl: https://hooks.example.com/x?code={HOOK_CANARY}
    deliveryAttributeMappings:
      - {{name: x-key, type: Static, value: {ATTR_CANARY}, isSecret: true}}
"#
    )
}

fn echo(req: &crate::support::scripted_server::Req, status: u16) -> Resp {
    let message = format!(
        "cannot {} {}?{}: {}",
        req.method, req.path, req.query, req.body
    );
    Resp::json(
        status,
        json!({"error": {"code": "Echo", "message": message}}),
    )
    .header("retry-after-ms", "1")
}

/// The group and the topic are created; only the subscription (which carries the secrets) fails.
fn created(req: &crate::support::scripted_server::Req) -> Resp {
    let mut body = req.json();
    body["id"] = json!(req.path);
    body["name"] = json!(req.path.rsplit('/').next().unwrap_or_default());
    body["properties"]["provisioningState"] = json!("Succeeded");
    Resp::json(200, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_echoes_requests_never_makes_a_secret_print() {
    let srv = serve(|req, _| {
        let lists = [
            "topics",
            "systemTopics",
            "partnerTopics",
            "partnerConfigurations",
            "eventSubscriptions",
        ];
        if req.path.ends_with("/token") {
            Resp::json(200, json!({"access_token": "t", "expires_in": 3600}))
        } else if req.method == "PUT" && !req.path.contains("/eventSubscriptions/") {
            created(req)
        } else if req.method != "GET" {
            echo(req, 500)
        } else if lists.iter().any(|l| req.path.ends_with(l)) {
            // Collections, in groups and across the subscription.
            Resp::json(200, json!({"value": []}))
        } else if req.path.contains("/providers/Microsoft.")
            && !req.path.contains("/resourceGroups/")
        {
            Resp::json(
                200,
                json!({"namespace": "Microsoft.EventGrid", "registrationState": "Registered",
                "resourceTypes": []}),
            )
        } else {
            echo(req, 404)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), manifest()).unwrap();
    let url = srv.base.as_str().trim_end_matches('/').to_string();
    let env = [("SUB_SECRET", SUB_CANARY), ("GRIDFORM_POLL_MS", "5")];
    for verbosity in [None, Some("-vv"), Some("-vvv")] {
        let mut args = vec!["--emulator-url", url.as_str(), "apply", "--auto-approve"];
        args.extend(verbosity);
        let out = gridform(dir.path(), &args, &env);
        let (code, stdout, stderr) = outcome(&out);
        assert_ne!(code, Some(0), "{verbosity:?}: {stderr}");
        for canary in [SUB_CANARY, HOOK_CANARY, ATTR_CANARY] {
            assert!(
                !stdout.contains(canary),
                "{verbosity:?} {canary} in stdout:\n{stdout}"
            );
            assert!(
                !stderr.contains(canary),
                "{verbosity:?} {canary} in stderr:\n{stderr}"
            );
        }
        assert!(stderr.contains("(sensitive)"), "{verbosity:?}: {stderr}");
    }
    // The server did see (and echo) the secrets: the scrubber, not luck, kept them out.
    let sent: String = srv
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.path, r.body))
        .collect();
    for canary in [SUB_CANARY, HOOK_CANARY, ATTR_CANARY] {
        assert!(sent.contains(canary), "{canary} never sent");
    }
}
