//! Planner tests of Auth0 stream ownership (docs/auth0-streams.md): a same-name stream this
//! stack did not create, adoption, renames, destroy, and the crash window between creating a
//! stream and recording it.

use serde_json::{Value, json};

use super::*;
use crate::plan::auth0_record::{CREATING, record_id, record_key};
use crate::plan::build::kind_of;
use crate::plan::destroy::destroy_plan;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const GROUP: &str = "identity-events";

fn reference() -> DesiredState {
    repo_manifests("manifests/auth0-partner")
}

fn foreign_stream(group: &str) -> Value {
    json!({"id": "lst_foreign", "name": "azure-events", "type": "eventgrid", "status": "active",
           "sink": {"azureSubscriptionId": SUB, "azureResourceGroup": group,
                    "azureRegion": "westeurope", "azurePartnerTopic": "auth0-foreign"}})
}

/// The reference set applied through the fake, its group listed as a real read lists it.
fn applied(d: &DesiredState) -> LiveState {
    let (_, mut live) = converge(d);
    live.listed_groups = vec![GROUP.into()];
    let again = plan(d, &live, &opts());
    assert!(
        again.errors.is_empty() && again.actions.is_empty(),
        "{again:#?}"
    );
    live
}

fn rename(d: &mut DesiredState, to: &str) {
    for r in &mut d.resources {
        match &mut r.spec {
            crate::model::ResourceSpec::Auth0LogStream(_) => r.name = to.into(),
            crate::model::ResourceSpec::PartnerTopic(p) => {
                p.from_auth0_log_stream = Some(to.into())
            }
            _ => {}
        }
    }
}

fn stream_deletes(p: &Plan) -> Vec<&str> {
    p.actions
        .iter()
        .filter_map(|a| match &a.operation {
            Operation::DeleteLogStream { stream_id, .. } => Some(stream_id.as_str()),
            _ => None,
        })
        .collect()
}

fn assert_dependency_order(p: &Plan) {
    for a in &p.actions {
        assert!(a.depends_on.iter().all(|d| *d < a.index), "{a:?}");
    }
}

#[test]
fn a_same_name_stream_this_stack_did_not_create_is_an_error_naming_its_sink() {
    let mut live = LiveState::default();
    live.auth0_streams
        .insert("azure-events".into(), foreign_stream("other-team"));
    let p = plan(&reference(), &live, &opts());
    let e = p
        .errors
        .iter()
        .find(|e| e.target == "Auth0LogStream `azure-events`")
        .unwrap_or_else(|| panic!("{:?}", p.errors));
    for part in [
        "lst_foreign",
        SUB,
        "other-team",
        "westeurope",
        "identity-events",
    ] {
        assert!(e.message.contains(part), "{part} missing: {}", e.message);
    }
    assert!(e.hint.as_deref().unwrap().contains("metadata.adopt: true"));
    assert!(!p.actions.iter().any(|a| a.kind == ActionKind::Replace));
}

#[test]
fn adopt_takes_a_foreign_stream_over_and_records_it() {
    let mut d = reference();
    for r in &mut d.resources {
        if r.kind == ResourceKind::Auth0LogStream {
            r.metadata.adopt = true;
        }
    }
    let mut live = LiveState::default();
    live.auth0_streams
        .insert("azure-events".into(), foreign_stream(GROUP));
    let p = plan(&d, &live, &opts());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let config = p
        .actions
        .iter()
        .find(|a| a.target.id.as_ref() == Some(&record_id(SUB, GROUP)))
        .unwrap();
    let Operation::Put { body, .. } = &config.operation else {
        panic!("{config:?}")
    };
    assert_eq!(
        body.as_value()["tags"][record_key("azure-events")],
        "lst_foreign"
    );
    assert!(
        !p.actions
            .iter()
            .any(|a| a.kind == ActionKind::CreateLogStream)
    );
}

#[test]
fn destroy_deletes_only_streams_this_stack_created_topic_then_stream_then_record() {
    let mut live = LiveState {
        listed_groups: vec![GROUP.into()],
        ..Default::default()
    };
    live.auth0_streams
        .insert("azure-events".into(), foreign_stream(GROUP));
    assert!(stream_deletes(&destroy_plan(&reference(), &live, &opts())).is_empty());

    let live = applied(&reference());
    let p = destroy_plan(&reference(), &live, &opts());
    assert_eq!(stream_deletes(&p), ["lst_azure-events"]);
    assert_dependency_order(&p);
    let at = |pred: &dyn Fn(&Action) -> bool| p.actions.iter().position(pred).unwrap();
    let stream = at(&|a| matches!(a.operation, Operation::DeleteLogStream { .. }));
    let topic = at(&|a| a.target.kind == ResourceKind::PartnerTopic);
    let config = at(&|a| a.target.id.as_ref() == Some(&record_id(SUB, GROUP)));
    assert!(p.actions[stream].depends_on.contains(&topic));
    assert!(p.actions[config].depends_on.contains(&stream));
}

#[test]
fn a_rename_creates_the_new_stream_and_deletes_the_old_one_with_its_partner_topic() {
    let mut live = applied(&reference());
    let mut d = reference();
    rename(&mut d, "azure-events-v2");
    let p = plan(&d, &live, &opts());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_dependency_order(&p);
    assert!(
        p.actions
            .iter()
            .any(|a| a.kind == ActionKind::CreateLogStream && a.target.name == "azure-events-v2")
    );
    assert_eq!(stream_deletes(&p), ["lst_azure-events"]);
    assert!(
        p.actions
            .iter()
            .any(|a| a.kind == ActionKind::Delete && a.target.kind == ResourceKind::PartnerTopic)
    );
    fake_apply(&p, &mut live);
    let next = plan(&d, &live, &opts());
    assert!(
        next.errors.is_empty() && next.actions.is_empty(),
        "{next:#?}"
    );
    assert!(!live.auth0_streams.contains_key("azure-events"));
    let config = &live.resources[&record_id(SUB, GROUP)];
    assert!(
        config["tags"].get(record_key("azure-events")).is_none(),
        "{config}"
    );
}

#[test]
fn a_crash_between_creating_the_stream_and_recording_it_converges() {
    let d = reference();
    let mut live = applied(&d);
    // As if the run stopped after the create: the intent is recorded, the partner topic exists
    // but was never activated (no marker).
    let config = record_id(SUB, GROUP);
    live.resources.get_mut(&config).unwrap()["tags"][record_key("azure-events")] = json!(CREATING);
    let topic = live
        .resources
        .iter_mut()
        .find(|(id, _)| kind_of(id) == ResourceKind::PartnerTopic)
        .unwrap()
        .1;
    topic["tags"] = Value::Null;
    topic["properties"]["activationState"] = json!("NeverActivated");
    let p = plan(&d, &live, &opts());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert!(
        !p.actions
            .iter()
            .any(|a| a.kind == ActionKind::CreateLogStream)
    );
    let record = p
        .actions
        .iter()
        .find(|a| a.target.id.as_ref() == Some(&config))
        .unwrap();
    let change = &record.changes[0];
    assert_eq!(change.before, Some(json!(CREATING)));
    assert_eq!(change.after, Some(json!("lst_azure-events")));
    assert!(p.actions.iter().any(|a| a.kind == ActionKind::Activate));
    fake_apply(&p, &mut live);
    assert!(plan(&d, &live, &opts()).actions.is_empty());
}
