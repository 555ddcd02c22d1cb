//! Executor tests against the crate's one in-memory fake (`crate::fake_azure`), which answers like
//! Azure's examples and simulates the Auth0 partner.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use tokio::sync::watch;

use super::executor::pause;
use super::*;
use crate::fake_azure::FakeAzure;
use crate::model::DesiredState;
use crate::model::live::LiveState;
use crate::plan::{ActionKind, Plan, PlanOptions, plan};

fn opts() -> PlanOptions {
    PlanOptions {
        now: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
        salt: "s4lt".into(),
        refresh_secrets: false,
        force_replace: vec![],
    }
}

fn load(dir: &str) -> DesiredState {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    crate::manifest::load(&[root], &|_| None).state.unwrap()
}

fn fast() -> ApplyOptions {
    ApplyOptions {
        parallelism: 10,
        poll_interval: Duration::from_millis(1),
        provider_timeout: Duration::from_secs(1),
        attempts: 3,
    }
}

async fn run(p: &Plan, fake: Arc<FakeAzure>, o: &ApplyOptions) -> (ApplyReport, Vec<ApplyEvent>) {
    let (_tx, rx) = watch::channel(false);
    let mut events = Vec::new();
    let report = execute(p, fake, o, rx, |e| events.push(e.clone())).await;
    (report, events)
}

fn live_of(fake: &FakeAzure, d: &DesiredState) -> LiveState {
    let mut live = fake.live.lock().unwrap().clone();
    live.listed_groups = d
        .resources
        .iter()
        .filter_map(|r| r.resource_group.clone())
        .collect();
    live
}

#[tokio::test]
async fn auth0_reference_converges_and_a_second_apply_writes_nothing() {
    let d = load("manifests/auth0-partner");
    let fake = Arc::new(FakeAzure {
        source: "example.eu.auth0.com".into(),
        ..Default::default()
    });
    let p = plan(&d, &LiveState::default(), &opts());
    let (report, events) = run(&p, fake.clone(), &fast()).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, ApplyEvent::Started(_)))
            .count(),
        p.actions.len()
    );
    let again = plan(&d, &live_of(&fake, &d), &opts());
    assert!(
        again.errors.is_empty() && again.actions.is_empty(),
        "{:#?}",
        again.actions
    );
    let before = fake.writes.load(Ordering::SeqCst);
    let (report, _) = run(&again, fake.clone(), &fast()).await;
    assert!(report.succeeded());
    assert_eq!(
        fake.writes.load(Ordering::SeqCst),
        before,
        "no write on a converged stack"
    );
    // The activated partner topic carries our marker now.
    let live = live_of(&fake, &d);
    let topic = live
        .resources
        .iter()
        .find(|(id, _)| id.resource_type().ends_with("partnerTopics"))
        .unwrap()
        .1;
    assert_eq!(topic["properties"]["activationState"], "Activated");
    assert_eq!(topic["tags"]["gridform-stack"], "identity-events");
}

#[tokio::test]
async fn the_partner_topic_name_is_announced_before_the_wait_ends_and_named_in_lines() {
    let d = load("manifests/auth0-partner");
    let fake = Arc::new(FakeAzure {
        source: "example.eu.auth0.com".into(),
        ..Default::default()
    });
    let p = plan(&d, &LiveState::default(), &opts());
    let (report, events) = run(&p, fake, &fast()).await;
    assert!(report.succeeded(), "{report:?}");
    let wait = p
        .actions
        .iter()
        .position(|a| a.kind == ActionKind::WaitForPartner)
        .unwrap();
    let learned = events
        .iter()
        .position(|e| matches!(e, ApplyEvent::Learned { stream, .. } if stream == "azure-events"))
        .expect("no Learned event");
    let wait_done = events
        .iter()
        .position(|e| matches!(e, ApplyEvent::Finished { index, .. } if *index == wait))
        .unwrap();
    assert!(learned < wait_done, "{events:?}");
    let topic = report.partner_topics.get("azure-events").unwrap();
    let activate = p
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::Activate)
        .unwrap();
    assert!(crate::render::address(activate).contains("(known after apply)"));
    let known = crate::render::address_known(activate, &report.partner_topics);
    assert!(!known.contains("known after apply"), "{known}");
    assert!(
        known.contains(&format!("/partnerTopics/{topic})")),
        "{known}"
    );
    let sub = p
        .actions
        .iter()
        .find(|a| a.target.name == "failed-logins")
        .unwrap();
    let known = crate::render::address_known(sub, &report.partner_topics);
    assert!(
        known.contains(&format!(
            "/partnerTopics/{topic}/eventSubscriptions/failed-logins"
        )),
        "{known}"
    );
}

#[tokio::test]
async fn wrong_partner_source_is_never_activated() {
    let d = load("manifests/auth0-partner");
    let fake = Arc::new(FakeAzure {
        source: "attacker.example".into(),
        ..Default::default()
    });
    let p = plan(&d, &LiveState::default(), &opts());
    let (report, _) = run(&p, fake.clone(), &fast()).await;
    let wait = p
        .actions
        .iter()
        .position(|a| a.kind == ActionKind::WaitForPartner)
        .unwrap();
    let Outcome::Failed(f) = &report.outcomes[wait] else {
        panic!("{:?}", report.outcomes[wait])
    };
    assert!(
        f.message.contains("`attacker.example`") && f.message.contains("`example.eu.auth0.com`"),
        "{}",
        f.message
    );
    let activate = p
        .actions
        .iter()
        .position(|a| a.kind == ActionKind::Activate)
        .unwrap();
    assert_eq!(
        report.outcomes[activate],
        Outcome::Skipped {
            blocked_by: Some(wait)
        }
    );
    assert!(
        fake.live
            .lock()
            .unwrap()
            .resources
            .values()
            .all(|r| r["properties"]["activationState"] != "Activated")
    );
}

#[tokio::test]
async fn a_failure_skips_dependents_and_independent_branches_continue() {
    let d = load("manifests/custom-topic-webhooks");
    let fake = Arc::new(FakeAzure::default());
    fake.fail_put.lock().unwrap().insert("orders".into());
    let p = plan(&d, &LiveState::default(), &opts());
    let (report, _) = run(&p, fake.clone(), &fast()).await;
    let topic = p
        .actions
        .iter()
        .position(|a| {
            a.target.name == "orders"
                && a.kind == ActionKind::Create
                && a.target.kind == crate::model::ResourceKind::Topic
        })
        .unwrap();
    assert!(
        matches!(&report.outcomes[topic], Outcome::Failed(f) if f.message.contains("InvalidRequest"))
    );
    for (i, a) in p.actions.iter().enumerate() {
        if a.target.kind == crate::model::ResourceKind::EventSubscription {
            assert_eq!(
                report.outcomes[i],
                Outcome::Skipped {
                    blocked_by: Some(topic)
                },
                "{}",
                a.target.name
            );
        } else if i != topic {
            assert_eq!(report.outcomes[i], Outcome::Succeeded, "{}", a.target.name);
        }
    }
}

#[tokio::test]
async fn parallelism_bounds_concurrent_operations() {
    let mut yaml = String::from(
        "apiVersion: gridform/v1\nkind: Stack\nmetadata: {name: p}\nspec: {subscriptionId: 00000000-0000-0000-0000-000000000001, resourceGroup: rg, location: westeurope}\n",
    );
    for i in 0..12 {
        yaml.push_str(&format!(
            "---\napiVersion: gridform/v1\nkind: Topic\nmetadata: {{name: topic-{i}}}\n"
        ));
    }
    let d = crate::manifest::parse_sources(&[("m.yaml".into(), yaml)], &|_| None)
        .state
        .unwrap();
    let fake = Arc::new(FakeAzure {
        delay: Duration::from_millis(5),
        ..Default::default()
    });
    let p = plan(&d, &LiveState::default(), &opts());
    let (report, _) = run(
        &p,
        fake.clone(),
        &ApplyOptions {
            parallelism: 3,
            ..fast()
        },
    )
    .await;
    assert!(report.succeeded());
    let max = fake.max_running.load(Ordering::SeqCst);
    assert!((2..=3).contains(&max), "max concurrent {max}");
}

#[tokio::test]
async fn interruption_stops_new_starts_and_reports_the_rest_skipped() {
    let d = load("manifests/custom-topic-webhooks");
    let fake = Arc::new(FakeAzure {
        delay: Duration::from_millis(20),
        ..Default::default()
    });
    let p = plan(&d, &LiveState::default(), &opts());
    let (tx, rx) = watch::channel(false);
    let mut started = 0;
    let report = execute(&p, fake, &fast(), rx, |e| {
        if matches!(e, ApplyEvent::Started(_)) {
            started += 1;
            let _ = tx.send(true);
        }
    })
    .await;
    assert!(report.interrupted);
    assert_eq!(
        report
            .outcomes
            .iter()
            .filter(|o| **o == Outcome::Succeeded)
            .count(),
        started
    );
    assert!(
        report
            .outcomes
            .contains(&Outcome::Skipped { blocked_by: None })
    );
}

#[tokio::test]
async fn interruption_ends_a_partner_wait_at_once_and_says_what_was_interrupted() {
    let d = load("manifests/auth0-partner");
    let fake = Arc::new(FakeAzure {
        source: "example.eu.auth0.com".into(),
        partner_silent: true,
        ..Default::default()
    });
    let p = plan(&d, &LiveState::default(), &opts());
    let wait = p
        .actions
        .iter()
        .position(|a| a.kind == ActionKind::WaitForPartner)
        .unwrap();
    // Polls an hour apart: only the interruption can end the wait before its 10 minutes.
    let slow = ApplyOptions {
        poll_interval: Duration::from_secs(3600),
        ..fast()
    };
    let (tx, rx) = watch::channel(false);
    let report = execute(&p, fake, &slow, rx, |e| {
        if *e == ApplyEvent::Started(wait) {
            let _ = tx.send(true);
        }
    })
    .await;
    assert!(report.interrupted);
    let Outcome::Failed(f) = &report.outcomes[wait] else {
        panic!("{:?}", report.outcomes[wait])
    };
    assert_eq!(
        f.message,
        "interrupted while waiting for the partner topic of Auth0 stream `azure-events`"
    );
    assert!(f.hint.as_deref().unwrap().contains("gridform apply"));
}

#[tokio::test]
async fn the_pause_between_polls_ends_when_the_stop_signal_turns_true() {
    let (tx, mut rx) = watch::channel(false);
    let waiting = tokio::spawn(async move { pause(&mut rx, Duration::from_secs(3600)).await });
    tx.send(true).unwrap();
    assert!(waiting.await.unwrap(), "not reported as interrupted");
    // Without anyone left to signal, a pause just waits.
    let (tx, mut rx) = watch::channel(false);
    drop(tx);
    assert!(!pause(&mut rx, Duration::from_millis(1)).await);
}

#[tokio::test]
async fn failed_webhook_handshake_says_what_the_endpoint_must_do() {
    let d = load("manifests/custom-topic-webhooks");
    let fake = Arc::new(FakeAzure {
        handshake_fails: true,
        ..Default::default()
    });
    let p = plan(&d, &LiveState::default(), &opts());
    let (report, _) = run(&p, fake, &fast()).await;
    let hint = report.outcomes.iter().find_map(|o| match o {
        Outcome::Failed(f) => f.hint.clone(),
        _ => None,
    });
    assert!(hint.unwrap().contains("validationCode"));
}

#[tokio::test]
async fn a_subscription_awaiting_manual_validation_is_not_done() {
    let d = load("manifests/custom-topic-webhooks");
    let fake = Arc::new(FakeAzure {
        handshake_manual: true,
        ..Default::default()
    });
    let p = plan(&d, &LiveState::default(), &opts());
    let (report, _) = run(&p, fake, &fast()).await;
    assert!(!report.succeeded());
    let failures: Vec<&Failure> = report
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(f) => Some(f),
            _ => None,
        })
        .collect();
    assert!(!failures.is_empty());
    for f in failures {
        assert!(f.message.contains("AwaitingManualAction"), "{}", f.message);
        let hint = f.hint.as_deref().unwrap();
        assert!(hint.contains("validationResponse") && hint.contains("validationUrl"));
        assert!(hint.contains("10 minutes"), "{hint}");
    }
}

#[tokio::test]
async fn transient_failures_are_retried_and_permanent_ones_are_not() {
    let d = load("manifests/custom-topic-webhooks");
    let fake = Arc::new(FakeAzure::default());
    fake.flaky_once.lock().unwrap().insert("orders".into());
    let p = plan(&d, &LiveState::default(), &opts());
    let (report, _) = run(&p, fake.clone(), &fast()).await;
    assert!(report.succeeded(), "{report:?}");
    let fake = Arc::new(FakeAzure::default());
    fake.fail_put.lock().unwrap().insert("orders".into());
    let (report, _) = run(&p, fake.clone(), &fast()).await;
    assert!(!report.succeeded());
}
