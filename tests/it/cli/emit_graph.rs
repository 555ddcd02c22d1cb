//! `gridform emulator emit graph` with the real binary: a Graph subscription created through the
//! emulator's Graph API, its partner topic activated and subscribed to a storage queue (the
//! emulator's sink records it), then a change notification and the reauthorization lifecycle
//! event emitted by the CLI arrive with Graph's stamped fields; an unknown subscription is a
//! clear error.

use serde_json::{Value, json};

use crate::support::world::ARM_SCOPE;
use crate::support::{World, outcome};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const EG: &str = "api-version=2025-02-15";

fn group() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/graph")
}

/// POSTs `body` to the emulator's Graph API with a Graph token: the status and JSON body.
fn graph_post(w: &World, body: &Value) -> (u16, Value) {
    let token = w.token("https://graph.microsoft.com/.default");
    let url = format!("{}/graph/v1.0/subscriptions", w.base_url);
    let body = body.clone();
    w.block_on(async move {
        let resp = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    })
}

/// PUTs `body` to `path` with an ARM token: the status and JSON body.
fn arm_put(w: &World, path: &str, body: &Value) -> (u16, Value) {
    let token = w.token(ARM_SCOPE);
    let url = format!("{}{path}", w.base_url);
    let body = body.clone();
    w.block_on(async move {
        let resp = reqwest::Client::new()
            .put(url)
            .bearer_auth(token)
            .json(&body)
            .send();
        let resp = resp.await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    })
}

fn post_arm(w: &World, path: &str) {
    let token = w.token(ARM_SCOPE);
    let url = format!("{}{path}", w.base_url);
    let status = w.block_on(async move {
        let resp = reqwest::Client::new().post(url).bearer_auth(token).send();
        resp.await.unwrap().status()
    });
    assert!(status.is_success(), "{path}: {status}");
}

/// Event Grid registered, the group, a partner configuration authorizing Graph, a Graph
/// subscription, its partner topic activated and subscribed to a storage queue.
fn graph_subscription(w: &World) -> Value {
    post_arm(
        w,
        &format!(
            "/subscriptions/{SUB}/providers/Microsoft.EventGrid/register?api-version=2021-04-01"
        ),
    );
    let rg = format!("{}?api-version=2021-04-01", group());
    assert!(w.arm_put(&rg, &json!({"location": "westus2"})).is_success());
    let cfg = format!(
        "{}/providers/Microsoft.EventGrid/partnerConfigurations/default?{EG}",
        group()
    );
    let partners = json!({"properties": {"partnerAuthorization": {"authorizedPartnersList": [{"partnerName": "MicrosoftGraphAPI"}]}}});
    assert!(w.arm_put(&cfg, &partners).is_success());
    let url = format!(
        "EventGrid:?azuresubscriptionid={SUB}&resourcegroup=graph&partnertopic=users&location=westus2"
    );
    let expiry = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let (status, created) = graph_post(
        w,
        &json!({"changeType": "updated,deleted", "resource": "users", "notificationUrl": url,
                "lifecycleNotificationUrl": url, "expirationDateTime": expiry, "clientState": "cli-state"}),
    );
    assert_eq!(status, 201, "{created}");
    let topic = format!(
        "{}/providers/Microsoft.EventGrid/partnerTopics/users",
        group()
    );
    w.wait_until("Graph created the partner topic", || {
        w.arm_get(&format!("{topic}?{EG}"))["properties"]["activationState"] == "NeverActivated"
    });
    post_arm(w, &format!("{topic}/activate?{EG}"));
    // A storage queue: the emulator's sink records what it would receive.
    let queue = json!({"properties": {"destination": {"endpointType": "StorageQueue", "properties": {
        "resourceId": format!("{}/providers/Microsoft.Storage/storageAccounts/acc", group()), "queueName": "q"}}}});
    let (status, body) = arm_put(
        w,
        &format!("{topic}/eventSubscriptions/to-queue?{EG}"),
        &queue,
    );
    assert!(status < 300, "{status}: {body}");
    created
}

/// The events the sink (the storage queue) received, once there are `n`.
fn queued(w: &World, n: usize) -> Vec<Value> {
    let mut got = Vec::new();
    w.wait_until(&format!("{n} event(s) in the queue"), || {
        let store = w.emulator.lock();
        got = store
            .sink
            .iter()
            .flat_map(|r| r.body.as_array().cloned().unwrap_or_default())
            .collect();
        got.len() >= n
    });
    got
}

#[test]
fn emit_graph_sends_stamped_change_and_lifecycle_events() {
    let w = World::start();
    let cwd = tempfile::tempdir().unwrap();
    let created = graph_subscription(&w);
    let id = created["id"].as_str().unwrap();
    let args = ["emulator", "emit", "graph", "--subscription", id];
    let resource = ["--resource", "Users/5b1c", "--change-type", "deleted"];
    let (code, out, err) = outcome(&w.run(cwd.path(), &[&args[..], &resource[..]].concat()));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "Emitted Microsoft.Graph.UserDeleted for Graph subscription `{id}`"
        )),
        "{out}"
    );
    assert!(
        !out.contains("cli-state") && !err.contains("cli-state"),
        "clientState printed"
    );
    let got = queued(&w, 1);
    let event = &got[0];
    assert_eq!(event["type"], "Microsoft.Graph.UserDeleted");
    assert_eq!(event["subject"], "Users/5b1c");
    assert!(
        event["source"].as_str().unwrap().starts_with("/tenants/"),
        "{event}"
    );
    assert_eq!(event["data"]["subscriptionId"], id);
    assert_eq!(event["data"]["clientState"], "cli-state");
    assert_eq!(event["data"]["resourceData"]["id"], "5b1c");
    let lifecycle = [&args[..], &["--reauthorization-required"][..]].concat();
    let (code, out, err) = outcome(&w.run(cwd.path(), &lifecycle));
    assert_eq!(code, Some(0), "{out}{err}");
    let got = queued(&w, 2);
    assert_eq!(
        got[1]["type"],
        "Microsoft.Graph.SubscriptionReauthorizationRequired"
    );
    assert_eq!(got[1]["data"]["subscriptionId"], id);
    let unknown = ["emulator", "emit", "graph", "--subscription", "no-such-id"];
    let (code, _, err) = outcome(&w.run(cwd.path(), &unknown));
    assert_eq!(code, Some(1));
    assert!(err.contains("does not exist"), "{err}");
}
