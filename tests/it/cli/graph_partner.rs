//! Microsoft Graph as a partner end to end (issue 17): the real binary against the emulator's
//! Graph and its simulated partner, with `manifests/graph-partner`. Apply converges and events
//! flow; the server's clock moved past `renewBefore` makes the plan renew, and the renewal
//! converges; a changed `resource` replaces the Graph subscription; removing the documents
//! deletes the Graph subscription and its partner topic, while a Graph subscription gridform
//! did not create (same application, same group) survives that and `destroy`; a partner topic
//! another Graph application created under our name is refused, never activated.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{World, outcome, repo};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const RG_PATH: &str =
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/entra-events";
const API: &str = "?api-version=2025-02-15";
const FILES: [&str; 4] = [
    "stack.yaml",
    "azure.yaml",
    "graph.yaml",
    "subscriptions.yaml",
];

/// The reference set copied into `dir`, each file passed through `edit(file, text)`.
fn reference_copy(dir: &Path, edit: &dyn Fn(&str, &str) -> String) {
    for f in FILES {
        let text = std::fs::read_to_string(repo().join("manifests/graph-partner").join(f)).unwrap();
        std::fs::write(dir.join(f), edit(f, &text)).unwrap();
    }
}

fn run(w: &World, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    outcome(&w.run(dir, args))
}

fn apply(w: &World, dir: &Path) -> String {
    let (code, out, err) = run(w, dir, &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    out
}

fn assert_plan_empty(w: &World, dir: &Path) {
    let (code, out, err) = run(w, dir, &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("No changes."), "{out}");
}

/// A Graph token for the application the binary uses against the emulator (tenant `emulator`,
/// client `gridform`): Graph lists only the caller's own subscriptions.
fn graph_token(w: &World) -> String {
    graph_token_of(w, "gridform")
}

fn graph_token_of(w: &World, client: &'static str) -> String {
    let url = format!("{}/emulator/oauth2/v2.0/token", w.base_url);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_secret", "emulator"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let token: Value = w.block_on(async move {
        let resp = reqwest::Client::new().post(url).form(&form).send().await;
        resp.unwrap().json().await.unwrap()
    });
    token["access_token"].as_str().unwrap().to_string()
}

fn graph_subscriptions(w: &World) -> Vec<Value> {
    let (url, token) = (
        format!("{}/graph/v1.0/subscriptions", w.base_url),
        graph_token(w),
    );
    let listed: Value = w.block_on(async move {
        let resp = reqwest::Client::new().get(url).bearer_auth(token).send();
        resp.await.unwrap().json().await.unwrap()
    });
    listed["value"].as_array().unwrap().clone()
}

/// The Graph subscriptions notifying partner topic `topic`.
fn notifying(w: &World, topic: &str) -> Vec<Value> {
    let needle = format!("partnertopic={topic}&");
    graph_subscriptions(w)
        .into_iter()
        .filter(|s| s["notificationUrl"].as_str().unwrap().contains(&needle))
        .collect()
}

/// Creates a Graph subscription outside gridform (same application) notifying `topic`.
fn create_foreign(w: &World, topic: &str) -> String {
    create_as(w, "gridform", topic)
}

/// Creates a Graph subscription as application `client` notifying `topic`.
fn create_as(w: &World, client: &'static str, topic: &str) -> String {
    let url = format!("{}/graph/v1.0/subscriptions", w.base_url);
    let target = format!(
        "EventGrid:?azuresubscriptionid={SUB}&resourcegroup=entra-events&partnertopic={topic}&location=westus2"
    );
    let expiry = (chrono::Utc::now() + chrono::Duration::days(20)).to_rfc3339();
    let body = json!({"changeType": "updated", "resource": "users", "notificationUrl": target,
        "lifecycleNotificationUrl": target, "expirationDateTime": expiry,
        "clientState": "someone-elses-state"});
    let token = graph_token_of(w, client);
    let created: Value = w.block_on(async move {
        let resp = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    });
    created["id"].as_str().unwrap().to_string()
}

fn partner_topics(w: &World) -> Vec<Value> {
    let topics = w.arm_get(&format!(
        "{RG_PATH}/providers/Microsoft.EventGrid/partnerTopics{API}"
    ));
    topics["value"].as_array().unwrap().clone()
}

fn partner_topic_names(w: &World) -> Vec<String> {
    partner_topics(w)
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn record(w: &World) -> Value {
    let config = w.arm_get(&format!(
        "{RG_PATH}/providers/Microsoft.EventGrid/partnerConfigurations/default{API}"
    ));
    config["tags"].clone()
}

#[test]
fn graph_partner_applies_verifies_renews_on_the_servers_clock_and_converges() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    reference_copy(dir.path(), &|_, t| t.to_string());
    apply(&w, dir.path());
    assert_plan_empty(&w, dir.path());

    let users = notifying(&w, "graph-users");
    assert_eq!(users.len(), 1, "{users:?}");
    let users_id = users[0]["id"].as_str().unwrap().to_string();
    assert_eq!(users[0]["resource"], "users");
    assert_eq!(notifying(&w, "graph-groups").len(), 1);
    assert_eq!(
        record(&w)["gridform-graph-subscription:entra-users"],
        json!(users_id)
    );
    for t in partner_topics(&w) {
        assert_eq!(t["properties"]["activationState"], "Activated", "{t}");
        assert_eq!(t["tags"]["gridform-stack"], "entra-events", "{t}");
    }
    let (code, out, err) = run(&w, dir.path(), &["verify", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2 delivered, 0 failed"), "{out}");

    // entra-users: validFor 3d, renewBefore 1d. Two days and an hour later 23 hours are left;
    // entra-groups (29 days, renew a quarter before) and the 30-day authorization are fine.
    let moved = w.control(
        reqwest::Method::POST,
        "/_emulator/clock",
        &json!({"advanceSeconds": 49 * 3_600}),
    );
    assert!(moved.is_success(), "{moved}");
    let (code, out, err) = run(&w, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(2), "no renewal planned: {out}{err}");
    assert!(
        out.contains("~ renew GraphSubscription `entra-users`"),
        "{out}"
    );
    assert!(
        out.contains("# expires in 22h") || out.contains("# expires in 23h"),
        "{out}"
    );
    assert!(!out.contains("entra-groups"), "{out}");
    assert!(
        out.contains("0 to add, 1 to change, 0 to replace, 0 to destroy"),
        "{out}"
    );
    let before = users[0]["expirationDateTime"].as_str().unwrap().to_string();

    apply(&w, dir.path());
    assert_plan_empty(&w, dir.path());
    let renewed = notifying(&w, "graph-users");
    assert_eq!(
        renewed[0]["id"],
        json!(users_id),
        "renewal must keep the subscription"
    );
    let after = renewed[0]["expirationDateTime"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(after).unwrap()
            > chrono::DateTime::parse_from_rfc3339(&before).unwrap(),
        "{before} -> {after}"
    );
}

#[test]
fn a_new_resource_replaces_and_removed_documents_delete_only_what_the_stack_created() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    reference_copy(dir.path(), &|_, t| t.to_string());
    apply(&w, dir.path());
    let foreign = create_foreign(&w, "someone-elses");
    w.wait_until("the foreign partner topic", || {
        partner_topic_names(&w).contains(&"someone-elses".to_string())
    });
    assert_plan_empty(&w, dir.path());
    let old_id = notifying(&w, "graph-users")[0]["id"].clone();

    // `resource` cannot change in place: delete + create, the record follows the new id.
    let edit = |f: &str, t: &str| {
        if f == "graph.yaml" {
            t.replacen("resource: users", "resource: groups", 1)
        } else {
            t.to_string()
        }
    };
    reference_copy(dir.path(), &edit);
    let (code, out, err) = run(&w, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        out.contains("-/+ replace GraphSubscription `entra-users`"),
        "{out}"
    );
    assert!(out.contains("forces replacement"), "{out}");
    apply(&w, dir.path());
    assert_plan_empty(&w, dir.path());
    let replaced = notifying(&w, "graph-users");
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    assert_ne!(replaced[0]["id"], old_id);
    assert_eq!(replaced[0]["resource"], "groups");
    assert_eq!(
        record(&w)["gridform-graph-subscription:entra-users"],
        replaced[0]["id"]
    );

    // Remove the users documents (the Graph subscription, its partner topic, its webhook).
    let graph = std::fs::read_to_string(dir.path().join("graph.yaml")).unwrap();
    let kept: Vec<&str> = graph
        .split("\n---\n")
        .filter(|d| !d.contains("entra-users") && !d.contains("graph-users"))
        .collect();
    std::fs::write(dir.path().join("graph.yaml"), kept.join("\n---\n")).unwrap();
    let subs = std::fs::read_to_string(dir.path().join("subscriptions.yaml")).unwrap();
    let kept: Vec<&str> = subs
        .split("\n---\n")
        .filter(|d| !d.contains("user-changes"))
        .collect();
    std::fs::write(dir.path().join("subscriptions.yaml"), kept.join("\n---\n")).unwrap();
    let (code, out, err) = run(&w, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        out.contains("- delete GraphSubscription `entra-users`"),
        "{out}"
    );
    assert!(out.contains("- delete PartnerTopic `graph-users`"), "{out}");
    assert!(!out.contains(&foreign), "{out}");
    assert!(
        out.contains("partnerTopics/someone-elses (no gridform marker)"),
        "{out}"
    );
    apply(&w, dir.path());
    assert_plan_empty(&w, dir.path());
    assert!(notifying(&w, "graph-users").is_empty());
    let topics = partner_topic_names(&w);
    assert!(!topics.contains(&"graph-users".to_string()), "{topics:?}");
    assert!(topics.contains(&"someone-elses".to_string()), "{topics:?}");
    assert!(
        record(&w)
            .get("gridform-graph-subscription:entra-users")
            .is_none()
    );

    let (code, out, err) = run(&w, dir.path(), &["destroy", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    let left: Vec<Value> = graph_subscriptions(&w);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        left[0]["id"],
        json!(foreign),
        "destroy deleted a foreign Graph subscription"
    );
}

#[test]
fn the_client_state_never_prints_and_a_saved_plan_pins_it() {
    const CANARY: &str = "graph-canary-5ecr3t-7d1";
    const ROTATED: &str = "graph-canary-r0tated-2b9";
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    reference_copy(dir.path(), &|_, t| t.to_string());
    let with = |state: &'static str, args: &[&str]| {
        let out = w.run_with(dir.path(), args, &[("GRAPH_CLIENT_STATE", state)]);
        let (code, stdout, stderr) = outcome(&out);
        for text in [&stdout, &stderr] {
            assert!(!text.contains(CANARY) && !text.contains(ROTATED), "{text}");
        }
        (code, stdout, stderr)
    };

    let (code, out, err) = with(CANARY, &["plan", "--out", "tfplan", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    let saved = std::fs::read(dir.path().join("tfplan")).unwrap();
    assert!(!String::from_utf8_lossy(&saved).contains(CANARY));
    let (code, out, err) = with(CANARY, &["show", "tfplan"]);
    assert_eq!(code, Some(0), "{out}{err}");
    // What was reviewed is what is applied: another clientState than the reviewed one refuses.
    let (code, out, err) = with(ROTATED, &["apply", "tfplan"]);
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(notifying(&w, "graph-users").is_empty());
    let (code, out, err) = with(CANARY, &["apply", "tfplan"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let created = notifying(&w, "graph-users");
    assert_eq!(created[0]["clientState"], CANARY);

    // Rotating it replaces both subscriptions, shown as sensitive only.
    let (code, out, err) = with(ROTATED, &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        out.contains("clientState = (sensitive) # forces replacement"),
        "{out}"
    );
    let (code, out, err) = with(ROTATED, &["plan", "--format", "json", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = with(ROTATED, &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = with(ROTATED, &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(notifying(&w, "graph-users")[0]["clientState"], ROTATED);
    let (code, out, err) = with(ROTATED, &["drift", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn a_partner_topic_another_graph_application_created_under_our_name_is_never_activated() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    // The group and its authorization first, then another application's Graph subscription
    // takes the name `graph-users`.
    reference_copy(dir.path(), &|_, t| t.to_string());
    for f in ["graph.yaml", "subscriptions.yaml"] {
        std::fs::remove_file(dir.path().join(f)).unwrap();
    }
    apply(&w, dir.path());
    create_as(&w, "other-team", "graph-users");
    w.wait_until("the other application's partner topic", || {
        partner_topic_names(&w).contains(&"graph-users".to_string())
    });

    reference_copy(dir.path(), &|_, t| t.to_string());
    let (code, out, err) = run(&w, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(1), "{out}{err}");
    let text = format!("{out}{err}");
    for part in [
        "partner topic `graph-users` has source",
        "/applications/other-team",
        "/applications/gridform",
        "another Microsoft Graph application",
    ] {
        assert!(text.contains(part), "`{part}` missing:\n{text}");
    }
    assert!(
        graph_subscriptions(&w).is_empty(),
        "the refused plan created something"
    );
    let topic = partner_topics(&w)
        .into_iter()
        .find(|t| t["name"] == "graph-users")
        .unwrap();
    assert_eq!(topic["properties"]["activationState"], "NeverActivated");
}

/// Two simultaneous *first* applies run without a lease (docs/locking.md) and may both create a
/// Graph subscription for one handle: the extra one notifies the stack's own (marked) partner
/// topic, so the next plan finds it as the stack's and deletes it, and then plans empty.
#[test]
fn a_duplicate_graph_subscription_on_the_stacks_own_topic_is_deleted_by_the_next_apply() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    reference_copy(dir.path(), &|_, t| t.to_string());
    apply(&w, dir.path());
    let recorded = notifying(&w, "graph-users")[0]["id"].clone();
    let extra = create_foreign(&w, "graph-users");

    let (code, out, err) = run(&w, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        out.contains(&format!("- delete GraphSubscription `{extra}`")),
        "{out}"
    );
    assert!(
        out.contains("0 to add, 0 to change, 0 to replace, 1 to destroy"),
        "{out}"
    );
    apply(&w, dir.path());
    assert_plan_empty(&w, dir.path());
    let left = notifying(&w, "graph-users");
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], recorded);
}
