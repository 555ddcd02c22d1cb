//! Auth0 stream ownership end to end (issue 12 item 2, docs/auth0-streams.md): the real binary
//! against the emulator's Auth0 and its simulated partner. A same-name stream someone else
//! created is a plan error and survives `destroy`; `adopt: true` takes it over; a rename is
//! create-new + delete-old; a run that stops after creating the stream converges next time.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{World, outcome, repo};

const RG_PATH: &str =
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/identity-events";
const API: &str = "?api-version=2025-02-15";

/// The reference set copied into `dir`, each file passed through `edit`.
fn reference_copy(dir: &Path, edit: &dyn Fn(&str) -> String) {
    for f in [
        "stack.yaml",
        "azure.yaml",
        "auth0.yaml",
        "subscriptions.yaml",
    ] {
        let text = std::fs::read_to_string(repo().join("manifests/auth0-partner").join(f)).unwrap();
        std::fs::write(dir.join(f), edit(&text)).unwrap();
    }
}

fn run(w: &World, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    outcome(&w.run(dir, args))
}

/// Creates a stream directly through the emulator's Auth0 Management API: its id.
fn create_stream(w: &World, name: &str, group: &str) -> String {
    let token = w.auth0_token();
    let url = format!("{}/auth0/api/v2/log-streams", w.base_url);
    let body = json!({"name": name, "type": "eventgrid", "sink": {
        "azureSubscriptionId": "00000000-0000-0000-0000-000000000000",
        "azureResourceGroup": group, "azureRegion": "westeurope"}});
    let created: Value = w.block_on(async move {
        let resp = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        resp.json().await.unwrap()
    });
    created["id"].as_str().unwrap().to_string()
}

fn streams(w: &World) -> Vec<Value> {
    w.auth0_get("/auth0/api/v2/log-streams")
        .as_array()
        .unwrap()
        .clone()
}

fn stream_named(w: &World, name: &str) -> Option<Value> {
    streams(w).into_iter().find(|s| s["name"] == name)
}

fn partner_topic_names(w: &World) -> Vec<String> {
    let topics = w.arm_get(&format!(
        "{RG_PATH}/providers/Microsoft.EventGrid/partnerTopics{API}"
    ));
    topics["value"]
        .as_array()
        .unwrap()
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

fn assert_plan_empty(w: &World, dir: &Path) {
    let (code, out, err) = run(w, dir, &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("No changes."), "{out}");
}

#[test]
fn a_foreign_same_name_stream_is_a_plan_error_survives_destroy_and_adopt_takes_it_over() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    reference_copy(dir.path(), &str::to_string);
    let foreign = create_stream(&w, "azure-events", "other-team");

    let (code, out, err) = run(&w, dir.path(), &["plan", "."]);
    assert_eq!(code, Some(1), "{out}{err}");
    let text = format!("{out}{err}");
    for part in [
        "azure-events",
        &foreign,
        "other-team",
        "westeurope",
        "adopt: true",
    ] {
        assert!(text.contains(part), "`{part}` missing:\n{text}");
    }

    let (code, out, err) = run(&w, dir.path(), &["destroy", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        streams(&w).iter().any(|s| s["id"] == foreign.as_str()),
        "destroy deleted a stream it did not create:\n{out}{err}"
    );

    reference_copy(dir.path(), &|t| {
        t.replace("{name: azure-events}", "{name: azure-events, adopt: true}")
    });
    let (code, out, err) = run(&w, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_plan_empty(&w, dir.path());
    let taken = stream_named(&w, "azure-events").unwrap();
    assert_eq!(taken["sink"]["azureResourceGroup"], "identity-events");
    assert_eq!(
        record(&w)["gridform-auth0-stream:azure-events"],
        taken["id"],
        "the adopted stream is recorded as the stack's"
    );
    assert_eq!(streams(&w).len(), 1, "{:?}", streams(&w));
}

#[test]
fn a_rename_creates_the_new_stream_and_deletes_the_old_one_with_its_partner_topic() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    reference_copy(dir.path(), &str::to_string);
    let (code, out, err) = run(&w, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    let old = stream_named(&w, "azure-events").unwrap();
    let old_topic = old["sink"]["azurePartnerTopic"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(partner_topic_names(&w), std::slice::from_ref(&old_topic));

    reference_copy(dir.path(), &|t| {
        t.replace("azure-events", "azure-events-v2")
    });
    let (code, out, err) = run(&w, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("azure-events-v2"), "{out}");
    let deletes: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("destroy") || l.trim_start().starts_with('-'))
        .collect();
    assert!(
        deletes
            .iter()
            .any(|l| l.contains("azure-events") && !l.contains("azure-events-v2")),
        "the old stream's delete is not planned:\n{out}"
    );
    assert!(
        deletes.iter().any(|l| l.contains(&old_topic)),
        "the old partner topic's delete is not planned:\n{out}"
    );

    let (code, out, err) = run(&w, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_plan_empty(&w, dir.path());
    assert!(
        stream_named(&w, "azure-events").is_none(),
        "{:?}",
        streams(&w)
    );
    let new = stream_named(&w, "azure-events-v2").unwrap();
    let topics = partner_topic_names(&w);
    assert!(!topics.contains(&old_topic), "{topics:?}");
    assert_eq!(topics, [new["sink"]["azurePartnerTopic"].as_str().unwrap()]);
    let tags = record(&w);
    assert!(
        tags.get("gridform-auth0-stream:azure-events").is_none(),
        "{tags}"
    );
    assert_eq!(tags["gridform-auth0-stream:azure-events-v2"], new["id"]);
}

#[test]
fn a_run_stopped_after_creating_the_stream_converges_and_keeps_the_stream_as_its_own() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    // Auth0 is not authorized (another partner id), so its partner never creates the topic:
    // the run creates the stream, then stops waiting for the partner, before any tagging.
    reference_copy(dir.path(), &|t| {
        t.replace(
            "804a11ca-ce9b-4158-8e94-3c8dc7a072ec",
            "11111111-1111-1111-1111-111111111111",
        )
        .replace("partnerName: Auth0", "partnerName: SomeoneElse")
        .replace("waitForPartner: 10m", "waitForPartner: 1s")
    });
    let (code, out, err) = run(&w, dir.path(), &["apply", "--auto-approve", "."]);
    assert_ne!(code, Some(0), "{out}{err}");
    let created = stream_named(&w, "azure-events").expect("the stream was created");
    assert!(partner_topic_names(&w).is_empty());
    // The narrowest window: the run stopped before it recorded the stream's id (only the
    // intent is on the partner configuration).
    set_record_entry(&w, "creating");

    reference_copy(dir.path(), &str::to_string);
    let (code, out, err) = run(&w, dir.path(), &["plan", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("gridform-auth0-stream:azure-events"),
        "the plan records the stream's id:\n{out}"
    );
    assert!(!out.contains("already exists"), "{out}");
    let (code, out, err) = run(&w, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_plan_empty(&w, dir.path());
    let named: Vec<Value> = streams(&w)
        .into_iter()
        .filter(|s| s["name"] == "azure-events")
        .collect();
    assert_eq!(named.len(), 1, "a second stream was created: {named:?}");
    assert_eq!(
        named[0]["id"], created["id"],
        "the stream is still the stack's own"
    );
    assert_eq!(
        record(&w)["gridform-auth0-stream:azure-events"],
        created["id"]
    );
    let topic = created["sink"]["azurePartnerTopic"].as_str().unwrap();
    let live = w.arm_get(&format!(
        "{RG_PATH}/providers/Microsoft.EventGrid/partnerTopics/{topic}{API}"
    ));
    assert_eq!(live["tags"]["gridform-stack"], "identity-events");
    assert_eq!(live["properties"]["activationState"], "Activated");
}

/// Rewrites the record entry of `azure-events` on the partner configuration (as a crash before
/// the id was written would leave it).
fn set_record_entry(w: &World, value: &str) {
    let path =
        format!("{RG_PATH}/providers/Microsoft.EventGrid/partnerConfigurations/default{API}");
    let mut config = w.arm_get(&path);
    config["tags"]["gridform-auth0-stream:azure-events"] = json!(value);
    let body = json!({"location": "global", "tags": config["tags"],
                      "properties": {"partnerAuthorization": config["properties"]["partnerAuthorization"]}});
    assert!(w.arm_put(&path, &body).is_success());
}
