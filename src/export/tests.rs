//! Unit tests of the pure export steps: conversion of live bodies, secrets, ownership, the
//! authorization window and whole builds (deterministic, several stacks refused).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::build::{BuildInput, build};
use super::convert::*;
use super::subscription::*;
use super::write::shell_quoted;
use crate::model::live::LiveState;
use crate::model::spec::EventSubscriptionSpec;
use crate::model::{ResourceId, ResourceKind};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap()
}

#[test]
fn a_fresh_thirty_day_authorization_exports_as_written_and_does_not_renew() {
    let expiry = now() + chrono::Duration::days(30) - chrono::Duration::minutes(5);
    let (valid, renew) = rolling_authorization(expiry, now(), 30);
    assert_eq!(
        (valid.to_string(), renew.to_string()),
        ("30d".into(), "7d".into())
    );
    // The planner renews when what is left is at most renewBefore.
    assert!((expiry - now()).num_seconds() > renew.as_secs() as i64);
}

#[test]
fn a_short_remainder_gets_a_renew_window_inside_it() {
    for left in [
        chrono::Duration::days(2),
        chrono::Duration::hours(5),
        chrono::Duration::minutes(30),
    ] {
        let (_, renew) = rolling_authorization(now() + left, now(), 30);
        assert!(
            left.num_seconds() > renew.as_secs() as i64,
            "{left:?} -> {renew}"
        );
        assert!(renew.as_secs() > 0);
    }
}

#[test]
fn env_names_are_readable_identifiers() {
    assert_eq!(env_name("orders-to-webhook"), "ORDERS_TO_WEBHOOK");
    assert_eq!(env_name("9lives..x"), "_9LIVES_X");
    assert_eq!(env_name("--"), "_");
    let mut vars = SecretVars::default();
    assert_eq!(vars.add("A", "1"), "${env:A}");
    assert_eq!(vars.add("A", "2"), "${env:A_2}");
}

#[test]
fn shell_quoting_survives_quotes() {
    assert_eq!(shell_quoted("a'b c"), r"'a'\''b c'");
}

#[test]
fn owned_resources_declare_their_managed_tags_adopted_ones_all_but_records() {
    let body = json!({"tags": {"env": "prod", "CostCenter": "42", "gridform-stack": "s",
                               "gridform-managed-tags": "env", "x": "${y}"}});
    assert_eq!(declared_tags(&body, true), Some(json!({"env": "prod"})));
    assert_eq!(
        declared_tags(&body, false),
        Some(json!({"env": "prod", "CostCenter": "42", "x": "$${y}"}))
    );
    let unlisted = json!({"tags": {"CostCenter": "42", "gridform-stack": "s"}});
    assert_eq!(declared_tags(&unlisted, true), None);
    let labels = json!({"properties": {"labels": ["a", "b", "gridform-stack=s",
        "gridform-managed-labels=a", "gridform-secrets=x:y"]}});
    assert_eq!(declared_labels(&labels, true), Some(json!(["a"])));
    assert_eq!(declared_labels(&labels, false), Some(json!(["a", "b"])));
    assert_eq!(
        owner_of(ResourceKind::EventSubscription, &labels).as_deref(),
        Some("s")
    );
}

fn webhook_subscription() -> Value {
    json!({
        "id": "/x", "name": "orders-hook", "type": "Microsoft.EventGrid/eventSubscriptions",
        "properties": {
            "topic": "/subscriptions/x", "provisioningState": "Succeeded",
            "destination": {"endpointType": "WebHook", "properties": {
                "endpointBaseUrl": "https://hooks.example.com/orders",
                "maxEventsPerBatch": 1, "preferredBatchSizeInKilobytes": 64,
                "deliveryAttributeMappings": [
                    {"name": "Authorization", "type": "Static", "properties": {"isSecret": true}},
                    {"name": "X-Source", "type": "Static", "properties": {"value": "gf", "isSecret": false}},
                    {"name": "X-Id", "type": "Dynamic", "properties": {"sourceField": "data.id"}}
                ]}},
            "filter": {"includedEventTypes": ["B", "A"], "subjectBeginsWith": "",
                       "isSubjectCaseSensitive": false,
                       "advancedFilters": [{"operatorType": "StringIn", "key": "data.t", "values": ["f"]}]},
            "labels": ["team", "gridform-stack=s", "gridform-managed-labels=team", "gridform-secrets=a:b"],
            "eventDeliverySchema": "EventGridSchema",
            "retryPolicy": {"maxDeliveryAttempts": 10, "eventTimeToLiveInMinutes": 1440},
            "deadLetterDestination": {"endpointType": "StorageBlob",
                "properties": {"resourceId": "/sa", "blobContainerName": "dl"}}
        }
    })
}

#[test]
fn a_subscription_loses_its_defaults_and_keeps_its_secrets_out_of_the_spec() {
    let attrs = json!([{"name": "Authorization", "type": "Static",
                        "properties": {"value": "Bearer canary", "isSecret": true}}]);
    let parts = SecretParts {
        full_url: Some("https://hooks.example.com/orders?code=canary"),
        attributes: Some(&attrs),
        var_prefix: "ORDERS_HOOK".into(),
    };
    let mut vars = SecretVars::default();
    let topic = json!({"kind": "Topic", "name": "orders"});
    let spec = subscription_spec(&webhook_subscription(), topic, true, &parts, &mut vars);
    assert!(!spec.to_string().contains("canary"), "{spec}");
    assert_eq!(
        spec,
        json!({
            "topic": {"kind": "Topic", "name": "orders"},
            "destination": {"endpointType": "WebHook",
                "endpointUrl": "https://hooks.example.com/orders?${env:ORDERS_HOOK_URL_QUERY}",
                "deliveryAttributeMappings": [
                    {"name": "Authorization", "type": "Static",
                     "value": "${env:ORDERS_HOOK_AUTHORIZATION}", "isSecret": true},
                    {"name": "X-Id", "type": "Dynamic", "sourceField": "data.id"},
                    {"name": "X-Source", "type": "Static", "value": "gf"}
                ]},
            "filter": {"includedEventTypes": ["A", "B"],
                       "advancedFilters": [{"operatorType": "StringIn", "key": "data.t", "values": ["f"]}]},
            "labels": ["team"],
            "retryPolicy": {"maxDeliveryAttempts": 10},
            "deadLetterDestination": {"endpointType": "StorageBlob", "resourceId": "/sa", "blobContainerName": "dl"}
        })
    );
    let values: Vec<(&str, &str)> = vars
        .values
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose().as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("ORDERS_HOOK_AUTHORIZATION", "Bearer canary"),
            ("ORDERS_HOOK_URL_QUERY", "code=canary")
        ]
    );
    // With the variables substituted, the spec is a valid typed spec.
    let text = spec
        .to_string()
        .replace("${env:ORDERS_HOOK_URL_QUERY}", "code=canary")
        .replace("${env:ORDERS_HOOK_AUTHORIZATION}", "Bearer canary");
    let typed: EventSubscriptionSpec = serde_json::from_str(&text).unwrap();
    assert!(typed.dead_letter_destination.is_some());
}

fn group_state(tags: Value) -> LiveState {
    let mut live = LiveState::default();
    let group = ResourceId::resource_group(SUB, "rg");
    live.resources.insert(
        group.clone(),
        json!({"location": "westeurope", "tags": tags}),
    );
    let topic = group.provider_resource("Microsoft.EventGrid", "topics", "orders");
    live.resources.insert(
        topic.clone(),
        json!({"location": "westeurope", "tags": {"gridform-stack": "a"},
               "properties": {"inputSchema": "EventGridSchema", "endpoint": "https://x"}}),
    );
    live.resources.insert(
        topic.child("eventSubscriptions", "hook"),
        webhook_subscription(),
    );
    live.providers
        .insert("microsoft.eventgrid".into(), "Registered".into());
    live
}

fn input<'a>(live: &'a LiveState, stack: Option<&'a str>) -> BuildInput<'a> {
    BuildInput {
        live,
        subscription: SUB,
        group: "rg",
        stack,
        auth0_domain: None,
        now: now(),
    }
}

#[test]
fn several_stacks_need_a_choice_and_the_other_stacks_resources_are_skipped() {
    let live = group_state(json!({"gridform-stack": "b"}));
    let err = build(&input(&live, None)).unwrap_err();
    assert!(err.to_string().contains("several stacks: a, b"), "{err}");
    assert!(err.hint().unwrap().contains("--stack"));
    let out = build(&input(&live, Some("a"))).unwrap();
    assert_eq!(out.skipped.len(), 2, "{:?}", out.skipped); // the group and the subscription
    assert_eq!(out.counts.get(&ResourceKind::Topic), Some(&1));
    assert!(out.files["topics.yaml"].contains("name: orders"));
    assert!(!out.files.contains_key("subscriptions-orders.yaml"));
}

#[test]
fn a_build_is_deterministic_and_marks_unowned_resources_adopted() {
    let mut live = group_state(json!({"owner": "me"}));
    for body in live.resources.values_mut() {
        if let Some(tags) = body.get_mut("tags").and_then(Value::as_object_mut) {
            tags.remove("gridform-stack");
        }
        if let Some(labels) = body.pointer_mut("/properties/labels") {
            *labels = json!(["team"]);
        }
    }
    let first = build(&input(&live, None)).unwrap();
    let again = build(&input(&live, None)).unwrap();
    assert_eq!(first.files, again.files);
    assert_eq!(first.stack, "rg");
    assert_eq!(first.adopted, 3);
    let stack = &first.files["stack.yaml"];
    assert!(
        stack.starts_with("# yaml-language-server: $schema="),
        "{stack}"
    );
    assert!(stack.contains("adopt: true"), "{stack}");
    assert!(stack.contains("owner: me"), "{stack}");
    let subs = &first.files["subscriptions-orders.yaml"];
    assert!(subs.contains("- team"), "{subs}");
    // Without getFullUrl the base URL is all there is; no secret variables appear.
    assert!(subs.contains("https://hooks.example.com/orders"), "{subs}");
}
