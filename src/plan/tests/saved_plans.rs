//! Planner tests of secret parts and saved plans: a changed secret is detected by its digest and
//! never shown, and a saved plan pins values, is recognised by content and refuses a changed
//! live state.

use serde_json::json;

use super::*;

#[test]
fn changed_secret_is_detected_by_digest_and_never_shown() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, live) = converge(&d);
    let rotated = desired(&format!(
        "{STACK}{}",
        TOPIC_AND_SUB.replace("canary-k3y", "canary-n3w")
    ));
    let p = plan(&rotated, &live, &opts());
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].changes.len(), 1);
    assert!(p.actions[0].changes[0].sensitive);
    let mut text = Vec::new();
    crate::render::human::write_plan(&p, &Default::default(), &mut text).unwrap();
    crate::render::json::write_plan(&p, &mut text).unwrap();
    crate::render::markdown::write_plan(&p, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap() + &format!("{p:?}");
    assert!(!text.contains("canary"), "{text}");
    let shown = crate::render::json::plan_value(&p);
    let saved = saved::SavedPlan::record(&p, shown, &inputs("canary-n3w"), &opts());
    assert!(!serde_json::to_string(&saved).unwrap().contains("canary"));
}

fn inputs(secret: &str) -> saved::PlanInputs {
    saved::PlanInputs {
        paths: vec!["/m".into()],
        files: vec![("/m/m.yaml".into(), "aa".into())],
        variables: vec![("HOOK_CODE".into(), Some(secret.into()))],
    }
}

fn record(p: &Plan, secret: &str) -> saved::SavedPlan {
    let shown = crate::render::json::plan_value(p);
    saved::SavedPlan::record(p, shown, &inputs(secret), &opts())
}

#[test]
fn saved_plan_pins_values_not_only_paths() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, live) = converge(&d);
    let five = desired(&format!(
        "{STACK}{}",
        TOPIC_AND_SUB.replace("x?code", "y?code")
    ));
    let approved = record(&plan(&five, &live, &opts()), "k");
    assert!(
        approved
            .differences(&record(&plan(&five, &live, &opts()), "k"))
            .is_empty()
    );
    // Same paths changed, another value: refused, naming the action.
    let other = desired(&format!(
        "{STACK}{}",
        TOPIC_AND_SUB.replace("x?code", "z?code")
    ));
    let diffs = approved.differences(&record(&plan(&other, &live, &opts()), "k"));
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert!(diffs[0].contains("would now differ"), "{diffs:?}");
    // Another variable value: refused, naming the variable and never its value.
    let diffs = approved.differences(&record(&plan(&five, &live, &opts()), "k2"));
    assert_eq!(
        diffs,
        vec!["variable `HOOK_CODE` has another value".to_string()]
    );
}

#[test]
fn a_saved_plan_is_recognised_by_content_and_versioned() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let text =
        serde_json::to_string_pretty(&record(&plan(&d, &LiveState::default(), &opts()), "k"))
            .unwrap();
    assert!(
        text.starts_with("{\n  \"gridform_saved_plan\": 2"),
        "{}",
        &text[..60]
    );
    assert!(saved::SavedPlan::parse(&text).is_ok());
    let old = r#"{"format_version": "1", "stack": "s", "fingerprint": "f", "actions": []}"#;
    assert!(matches!(
        saved::SavedPlan::parse(old),
        Err(saved::SavedPlanError::Version { .. })
    ));
    assert!(saved::SavedPlan::parse("apiVersion: gridform/v1").is_err());
}

#[test]
fn saved_plan_is_refused_when_live_state_changes() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, mut live) = converge(&d);
    let changed = desired(&format!(
        "{STACK}{}",
        TOPIC_AND_SUB.replace("x?code", "y?code")
    ));
    let saved = record(&plan(&changed, &live, &opts()), "k");
    assert!(
        saved
            .differences(&record(&plan(&changed, &live, &opts()), "k"))
            .is_empty()
    );
    live.resources.get_mut(&topic_id()).unwrap()["tags"]["x"] = json!("y");
    let diffs = saved.differences(&record(&plan(&changed, &live, &opts()), "k"));
    assert!(diffs[0].contains("live state changed"), "{diffs:?}");
    assert!(diffs[0].contains("topics/orders` changed"), "{diffs:?}");
}

#[test]
fn a_request_body_keeps_the_digested_text_round_trips_and_hides_itself() {
    let value = json!({
        "properties": {"destination": {"endpointUrl": "https://h/?code=canary-k3y"}},
        "tags": {"n": 1.5, "big": u64::MAX, "neg": -3, "list": ["a", null, true]}
    });
    let body = RequestBody::from(&value);
    // A saved plan's request digest hashed `Value`'s Display before bodies became text.
    assert_eq!(body.as_json(), value.to_string());
    assert_eq!(body.as_value(), value);
    let op = Operation::Put {
        at: Locator::Id(ResourceId::resource_group("s", "g")),
        body,
    };
    let shown = format!("{op:?} {:?}", RequestBody::from(value));
    assert!(!shown.contains("canary"), "{shown}");
}
