//! `gridform export` of a world gridform did not build: ARM requests shaped as the official
//! SDKs send them (provider registration, resource group, partner configuration, custom topic,
//! subscriptions of several destination types with filters, retry, dead-letter, labels,
//! expiry and secrets), and a partner topic the partner created. The export plans as adopts
//! only, applies, then plans empty; its canary secret is found in `DIR/.env` and nowhere else.

use std::path::Path;

use gridform::model::ResourceId;
use serde_json::{Value, json};

use super::export::{SUB, actions, export, files_of, plan_exported};
use crate::support::world::ARM_SCOPE;
use crate::support::{World, texts};

const CANARY: &str = "c4n4ry-s3cr3t-7f1e";
const EG: &str = "api-version=2025-02-15";
const RS: &str = "api-version=2021-04-01";
const GROUP: &str = "legacy";

fn send(w: &World, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", w.base_url);
    let token = w.token(ARM_SCOPE);
    w.block_on(async move {
        let mut req = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

fn group_path() -> String {
    format!("/subscriptions/{SUB}/resourcegroups/{GROUP}")
}

fn eg_path(rest: &str) -> String {
    format!("{}/providers/Microsoft.EventGrid/{rest}", group_path())
}

/// PUTs `body` (as an SDK's `begin_create_or_update` does) and waits for `Succeeded`.
fn create(w: &World, path: &str, body: Value) {
    let (status, answer) = send(w, reqwest::Method::PUT, &format!("{path}?{EG}"), Some(body));
    assert!(status < 300, "PUT {path}: {status} {answer}");
    w.wait_until(&format!("{path} succeeds"), || {
        let got = w.arm_get(&format!("{path}?{EG}"));
        got.pointer("/properties/provisioningState") == Some(&json!("Succeeded"))
    });
}

fn webhook_subscription() -> Value {
    let expiry = (chrono::Utc::now() + chrono::Duration::days(90))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({"properties": {
        "destination": {"endpointType": "WebHook", "properties": {
            "endpointUrl": format!("https://hooks.example.com/orders?code={CANARY}"),
            "maxEventsPerBatch": 10, "preferredBatchSizeInKilobytes": 64,
            "deliveryAttributeMappings": [
                {"name": "Authorization", "type": "Static",
                 "properties": {"value": format!("Bearer {CANARY}"), "isSecret": true}},
                {"name": "X-Tenant", "type": "Dynamic", "properties": {"sourceField": "data.tenant"}}
            ]}},
        "filter": {"includedEventTypes": ["Orders.Created"], "subjectBeginsWith": "/orders/",
                   "isSubjectCaseSensitive": true, "enableAdvancedFilteringOnArrays": true,
                   "advancedFilters": [
                       {"operatorType": "NumberInRange", "key": "data.total", "values": [[1, 100]]},
                       {"operatorType": "BoolEquals", "key": "data.paid", "value": true},
                       {"operatorType": "StringContains", "key": "data.sku", "values": ["x", "y"]},
                       {"operatorType": "IsNotNull", "key": "data.id"}]},
        "labels": ["team-orders", "tier-1"],
        "eventDeliverySchema": "CloudEventSchemaV1_0",
        "retryPolicy": {"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 60},
        "expirationTimeUtc": expiry,
        "deadLetterDestination": {"endpointType": "StorageBlob", "properties": {
            "resourceId": format!("/subscriptions/{SUB}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/deadletters1"),
            "blobContainerName": "dead-letters"}}
    }})
}

fn queue_subscription(kind: &str, resource: &str) -> Value {
    let id = format!("/subscriptions/{SUB}/resourceGroups/data/providers/{resource}");
    let props = if kind == "StorageQueue" {
        json!({"resourceId": id, "queueName": "orders", "queueMessageTimeToLiveInSeconds": 300})
    } else {
        json!({"resourceId": id, "deliveryAttributeMappings": [
            {"name": "source", "type": "Static", "properties": {"value": "legacy", "isSecret": false}}]})
    };
    json!({"properties": {"destination": {"endpointType": kind, "properties": props},
                          "eventDeliverySchema": "CloudEventSchemaV1_0"}})
}

/// The world: everything created with raw ARM requests, nothing marked by gridform.
fn build_world(w: &World) {
    let register = format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid/register?{RS}");
    send(w, reqwest::Method::POST, &register, None);
    w.wait_until("Microsoft.EventGrid is registered", || {
        let p = w.arm_get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.EventGrid?{RS}"
        ));
        p["registrationState"] == "Registered"
    });
    let rg = json!({"location": "westeurope", "tags": {"managed-by": "terraform"}});
    let (status, _) = send(
        w,
        reqwest::Method::PUT,
        &format!("{}?{RS}", group_path()),
        Some(rg),
    );
    assert!(status < 300);
    let expiry = (chrono::Utc::now() + chrono::Duration::days(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    create(
        w,
        &eg_path("partnerConfigurations/default"),
        json!({"location": "global",
        "properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 10,
            "authorizedPartnersList": [{"partnerRegistrationImmutableId": "804a11ca-ce9b-4158-8e94-3c8dc7a072ec",
                "partnerName": "Auth0", "authorizationExpirationTimeInUtc": expiry}]}}}),
    );
    create(
        w,
        &eg_path("topics/orders"),
        json!({"location": "westeurope", "tags": {"env": "prod"},
        "properties": {"inputSchema": "CloudEventSchemaV1_0", "publicNetworkAccess": "Enabled",
                       "disableLocalAuth": false}}),
    );
    let subs = eg_path("topics/orders/eventSubscriptions");
    create(w, &format!("{subs}/to-webhook"), webhook_subscription());
    create(
        w,
        &format!("{subs}/to-queue"),
        queue_subscription(
            "StorageQueue",
            "Microsoft.Storage/storageAccounts/ordersqueue1",
        ),
    );
    create(
        w,
        &format!("{subs}/to-bus"),
        queue_subscription(
            "ServiceBusQueue",
            "Microsoft.ServiceBus/namespaces/ns/queues/q",
        ),
    );
    create(
        w,
        &format!("{subs}/to-hub"),
        queue_subscription("EventHub", "Microsoft.EventHub/namespaces/ns/eventhubs/h"),
    );
    create(
        w,
        &format!("{subs}/to-relay"),
        queue_subscription(
            "HybridConnection",
            "Microsoft.Relay/namespaces/ns/hybridConnections/hc",
        ),
    );
    let partner = ResourceId::resource_group(SUB, GROUP).provider_resource(
        "Microsoft.EventGrid",
        "partnerTopics",
        "auth0-logs",
    );
    let body = json!({"location": "westeurope", "properties": {"source": "tenant.eu.auth0.com",
        "partnerRegistrationImmutableId": "804a11ca-ce9b-4158-8e94-3c8dc7a072ec"}});
    w.emulator
        .lock()
        .put_partner_topic(&partner, &body)
        .unwrap();
}

fn assert_no_canary(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY),
        "the canary secret leaked into {what}:\n{text}"
    );
}

fn check_canary_only_in_env(dir: &Path, out: &std::process::Output) {
    let (stdout, stderr) = texts(out);
    assert_no_canary("stdout", &stdout);
    assert_no_canary("stderr", &stderr);
    for (name, bytes) in files_of(dir) {
        let text = String::from_utf8_lossy(&bytes);
        if name == ".env" {
            assert!(text.contains(CANARY), ".env lacks the secret:\n{text}");
        } else {
            assert_no_canary(&name, &text);
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join(".env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let ignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == ".env"), "{ignore}");
}

#[test]
fn an_sdk_built_world_exports_as_adopts_applies_and_then_plans_empty() {
    let w = World::start();
    build_world(&w);
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path().join("exported");
    let run = export(&w, cwd.path(), GROUP, &dir, &[]);
    assert_eq!(run.status.code(), Some(0), "{:?}", texts(&run));
    check_canary_only_in_env(&dir, &run);

    let (code, out, err) = plan_exported(&w, cwd.path(), &dir, &["--format", "json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_no_canary("plan output", &format!("{out}{err}"));
    let planned = actions(&out);
    assert!(planned.len() >= 8, "{planned:#?}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    for a in plan["actions"].as_array().unwrap() {
        assert_eq!(a["action"], "adopt", "not an adopt: {a}\n{planned:#?}");
    }

    let env = super::export::dot_env(&dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let path = dir.display().to_string();
    let apply = w.run_with(cwd.path(), &["apply", "--auto-approve", &path], &env);
    let (out, err) = texts(&apply);
    assert_eq!(apply.status.code(), Some(0), "{out}{err}");
    assert_no_canary("apply output", &format!("{out}{err}"));
    let (code, out, err) = plan_exported(&w, cwd.path(), &dir, &["--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("No changes."), "{out}");
}
