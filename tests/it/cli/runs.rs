//! Whole runs of plan, apply, verify, publish, drift and destroy against the emulator, each kept
//! as a snapshot (exit code, stdout, stderr; ports, paths, ids and durations scrubbed): what a user
//! sees, reviewed as a whole. The stack holds a secret to show that none of it prints.

use serde_json::json;

use crate::support::World;
use crate::support::snapshot::cli_run;

const SECRET: &str = "snapshot-5ecr3t-k3y";

const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: runs}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: runs, location: westeurope, secrets: [HOOK_KEY]}
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {name: runs}
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
---
apiVersion: gridform/v1
kind: EventSubscription
metadata: {name: to-hook}
spec:
  topic: {kind: Topic, name: orders}
  destination:
    endpointType: WebHook
    endpointUrl: ${env:HOOK}/orders?code=${env:HOOK_KEY}
    deliveryAttributeMappings:
      - {name: x-key, type: Static, value: '${env:HOOK_KEY}', isSecret: true}
  retryPolicy: {maxDeliveryAttempts: 3}
";

#[test]
fn plan_apply_verify_publish_drift_destroy() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), STACK).unwrap();
    let run = |args: &[&str]| {
        let out = w.run_with(dir.path(), args, &[("HOOK_KEY", SECRET)]);
        let text = cli_run(&out, &[dir.path()]);
        assert!(!text.contains(SECRET), "the secret printed:\n{text}");
        text
    };
    insta::assert_snapshot!("plan", run(&["plan", "--out", "saved.plan", "."]));
    insta::assert_snapshot!("show_saved", run(&["show", "saved.plan"]));
    insta::assert_snapshot!(
        "apply",
        run(&["apply", "--auto-approve", "--parallelism", "1", "."])
    );
    insta::assert_snapshot!("show_live", run(&["show", "."]));
    insta::assert_snapshot!("verify", run(&["verify", "."]));
    insta::assert_snapshot!(
        "publish",
        run(&[
            "publish",
            "--topic",
            "orders",
            "--type",
            "Orders.Created",
            "--subject",
            "/orders/1",
            "--data",
            r#"{"total": 1}"#,
            "."
        ])
    );
    insta::assert_snapshot!("drift_none", run(&["drift", "."]));
    // Someone changes the topic by hand.
    let topic = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/runs/providers/Microsoft.EventGrid/topics/orders?api-version=2025-02-15";
    let mut body = w.arm_get(topic);
    body["properties"]["publicNetworkAccess"] = json!("Disabled");
    assert!(w.arm_put(topic, &body).is_success());
    insta::assert_snapshot!("drift", run(&["drift", "."]));
    insta::assert_snapshot!("destroy", run(&["destroy", "--auto-approve", "."]));
}
