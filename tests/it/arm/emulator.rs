//! The ARM and Auth0 clients against the real emulator (`gridform::emulator::spawn_local`, the
//! same server as `gridform emulator serve`): the reference Auth0 scenario end to end, retries
//! under fault injection, pacing under ARM-style throttling, and the refresh budget; plus the
//! Auth0 client against a scripted Auth0.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::World;
use crate::support::scripted_server::{self, Resp, SUB, fast_options};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use gridform::arm::connect::{Connection, connect_with_env};
use gridform::arm::pacing::PacingConfig;
use gridform::arm::{
    ArmApi, ArmClientOptions, Chosen, Collection, ConnectSettings, Deleted, LiveScope, read_live,
    typed,
};
use gridform::auth0::{
    Auth0Client, EventGridSink, LogStreamFilter, LogStreamPatch, NewEventGridStream,
};
use gridform::emulator::{Config, FaultSpec, ThrottleSpec};
use gridform::model::ResourceId;
use serde_json::{Value, json};

const AUTH0_ID: &str = "804a11ca-ce9b-4158-8e94-3c8dc7a072ec";

fn emulator(config: Config) -> (World, Connection) {
    emulator_with(config, fast_options())
}

/// The emulator and a client connected to it with its token endpoint.
fn emulator_with(config: Config, options: ArmClientOptions) -> (World, Connection) {
    let emu = World::with_config(config);
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(emu.base_url.clone()),
            options,
            ..Default::default()
        },
        &|_| None,
    )
    .unwrap();
    assert_eq!(conn.credential, Chosen::EmulatorToken);
    (emu, conn)
}

fn rg_id() -> ResourceId {
    ResourceId::resource_group(SUB, "identity-events")
}

async fn prepare(conn: &Connection) {
    let info = crate::support::arm_waits::ensure_registered(
        &conn.arm,
        SUB,
        "Microsoft.EventGrid",
        Duration::from_millis(10),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(info.is_registered());
    conn.arm
        .put(&rg_id(), &json!({"location": "westus2"}))
        .await
        .unwrap();
}

// The product's reference scenario: register, authorize Auth0, create the log stream, wait for
// the partner topic, activate it, subscribe a webhook, read it all back, tear it down.
#[tokio::test]
async fn auth0_reference_scenario_end_to_end() {
    let (emu, conn) = emulator(Config {
        lro_delay: Duration::from_millis(100),
        seed: 7,
        ..Default::default()
    });
    let arm = &conn.arm;
    prepare(&conn).await;
    let pc = typed::partner_configuration_id(SUB, "identity-events");
    let cfg = arm
        .put(
            &pc,
            &json!({"properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 7,
                "authorizedPartnersList": []}}}),
        )
        .await
        .unwrap();
    assert_eq!(cfg.provisioning_state(), Some("Succeeded"));
    let authorized = typed::authorize_partner(
        arm,
        &pc,
        &json!({"partnerName": "Auth0", "partnerRegistrationImmutableId": AUTH0_ID}),
    )
    .await
    .unwrap();
    assert_eq!(
        authorized["properties"]["partnerAuthorization"]["authorizedPartnersList"][0]["partnerName"],
        "Auth0"
    );

    let a0 = Auth0Client::from_env(conn.http.clone(), &|_| None, conn.emulator.as_ref()).unwrap();
    let stream = a0
        .create_eventgrid_stream(&NewEventGridStream {
            name: "azure-events".into(),
            sink: EventGridSink {
                azure_subscription_id: SUB.into(),
                azure_resource_group: "identity-events".into(),
                azure_region: "westus2".into(),
                azure_partner_topic: None,
            },
            filters: None,
            is_priority: None,
        })
        .await
        .unwrap();
    let topic_name = stream
        .eventgrid_sink()
        .unwrap()
        .azure_partner_topic
        .unwrap();
    let pt = typed::partner_topic_id(SUB, "identity-events", &topic_name);
    let topic = crate::support::arm_waits::wait_for_resource(
        arm,
        &pt,
        Duration::from_millis(20),
        Duration::from_secs(10),
    )
    .await
    .unwrap()
    .expect("Auth0 created the partner topic");
    assert_eq!(
        topic.property_str("activationState"),
        Some("NeverActivated")
    );
    // The emulator's partner names the Auth0 tenant from the token audience (our domain).
    assert_eq!(topic.property_str("source"), Some("emulator.auth0.local"));
    let activated = typed::activate_partner_topic(arm, &pt).await.unwrap();
    assert_eq!(activated["properties"]["activationState"], "Activated");

    let hook = typed::event_subscription_id(&pt, "failed-logins");
    let url = format!("{}/_emulator/sink/auth0?code=canary-code", emu.base_url);
    let created = arm
        .put(
            &hook,
            &json!({"properties": {"destination": {"endpointType": "WebHook",
                "properties": {"endpointUrl": url}},
                "filter": {"includedEventTypes": ["f", "fp"]}}}),
        )
        .await
        .unwrap();
    assert_eq!(created.provisioning_state(), Some("Succeeded"));
    assert!(!created.body.to_string().contains("canary-code"));
    let full = typed::get_full_url(arm, &hook).await.unwrap();
    assert!(full.expose().ends_with("code=canary-code"));

    let patched = a0
        .patch_log_stream(
            &stream.id,
            &LogStreamPatch {
                status: Some("paused".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.status.as_deref(), Some("paused"));

    let before = arm.request_counts();
    let live = read_live(
        arm,
        &LiveScope::covering(SUB, &["Microsoft.EventGrid"], [&pc, &pt, &hook]),
    )
    .await
    .unwrap();
    assert!(live.get(&pc).is_some() && live.get(&pt).is_some() && live.get(&hook).is_some());
    assert_eq!(live.requests.writes, 0);
    assert_eq!(arm.request_counts().since(&before).writes, 0);

    assert_eq!(arm.delete(&hook).await.unwrap(), Deleted::Deleted);
    assert_eq!(arm.delete(&hook).await.unwrap(), Deleted::NotFound);
    assert_eq!(arm.delete(&pt).await.unwrap(), Deleted::Deleted);
    assert!(a0.delete_log_stream(&stream.id).await.unwrap());
    // Resource group delete: 202 + Location, followed to the end.
    assert_eq!(arm.delete(&rg_id()).await.unwrap(), Deleted::Deleted);
    assert!(arm.get(&pc).await.unwrap().is_none());
    emu.shutdown().unwrap();
}

#[tokio::test]
async fn long_running_failure_carries_the_inner_error() {
    let (emu, conn) = emulator(Config {
        lro_delay: Duration::from_millis(50),
        ..Default::default()
    });
    prepare(&conn).await;
    let resp = conn
        .http
        .put(format!("{}/_emulator/faults", emu.base_url))
        .json(&json!({"spec": "lro-fail=1"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let t = typed::topic_id(SUB, "identity-events", "orders");
    let err = conn
        .arm
        .put(&t, &json!({"location": "westus2"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, gridform::arm::ArmError::OperationFailed { status, .. } if status == "Failed"),
        "{err}"
    );
    assert!(
        err.to_string().contains("long-running operation Failed"),
        "{err}"
    );
    emu.shutdown().unwrap();
}

// Issue acceptance: every operation succeeds under injected 5xx, 429 and connection resets.
#[tokio::test]
async fn operations_succeed_under_fault_injection() {
    let (emu, conn) = emulator(Config {
        faults: FaultSpec::parse("5xx=0.2,429=0.05,reset=0.1").unwrap(),
        seed: 42,
        ..Default::default()
    });
    let arm = &conn.arm;
    prepare(&conn).await;
    let names: Vec<String> = (0..8).map(|i| format!("topic-{i}")).collect();
    stream::iter(names.clone())
        .map(|n| async move {
            arm.put(
                &typed::topic_id(SUB, "identity-events", &n),
                &json!({"location": "westus2"}),
            )
            .await
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let listed = arm
        .list(&Collection::eventgrid(&rg_id(), "topics"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 8);
    for n in &names {
        let t = typed::topic_id(SUB, "identity-events", n);
        assert!(arm.get(&t).await.unwrap().is_some());
        let (k1, _) = typed::list_topic_keys(arm, &t).await.unwrap();
        assert!(!k1.expose().is_empty());
        // A reset after the delete may turn the retry into a 404: both mean "gone".
        arm.delete(&t).await.unwrap();
        assert!(arm.get(&t).await.unwrap().is_none());
    }
    let c = arm.request_counts();
    assert!(
        c.total() > 8 * 5,
        "faults should have caused retries: {c:?}"
    );
    emu.shutdown().unwrap();
}

// Issue acceptance: under `--throttle arm` (writes: bucket 200, refill 10/s) a burst of 500
// writes sees no 429 at all and never outpaces the bucket (at most 10% over its rate). Takes
// ~32 s: the rate is ARM's. (The faster, more precise variant runs against the scripted server in
// `arm/client.rs`; at 200/s this emulator's bucket under-refills, see docs/arm-client.md.)
#[tokio::test]
async fn burst_of_500_writes_under_arm_throttling() {
    let (emu, conn) = emulator_with(
        Config {
            throttle: ThrottleSpec::arm(),
            ..Default::default()
        },
        ArmClientOptions {
            pacing: PacingConfig::default(),
            ..fast_options()
        },
    );
    prepare(&conn).await;
    let arm = conn.arm.clone();
    let before = arm.request_counts();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..500 {
        let arm = arm.clone();
        set.spawn(async move {
            arm.put(
                &typed::topic_id(SUB, "identity-events", &format!("burst-{i}")),
                &json!({"location": "westus2"}),
            )
            .await
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    let spent = arm.request_counts().since(&before);
    assert_eq!(spent.writes, 500, "a retry means a 429: {spent:?}");
    // 180 at once (90% of the bucket), then 10/s: 32 s.
    let rate = 320.0 / took;
    assert!(rate <= 10.0 * 1.1, "faster than the bucket: {rate:.2}/s");
    // No lower rate bound: load slows the client at will; speed is measured by the benchmark
    // (`examples/bench.rs`, docs/benchmark.md).
    emu.shutdown().unwrap();
}

// Issue acceptance: refreshing 20 topics with 1,000 webhook subscriptions costs at most ~50 ARM
// requests and no write-class request.
#[tokio::test]
async fn refresh_budget_against_the_emulator() {
    let (emu, conn) = emulator(Config::default());
    let arm = &conn.arm;
    prepare(&conn).await;
    let topics: Vec<ResourceId> = (0..20)
        .map(|i| typed::topic_id(SUB, "identity-events", &format!("topic-{i}")))
        .collect();
    stream::iter(topics.clone())
        .map(|t| async move { arm.put(&t, &json!({"location": "westus2"})).await })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let base = emu.base_url.clone();
    let subs: Vec<ResourceId> = topics
        .iter()
        .flat_map(|t| (0..50).map(move |s| typed::event_subscription_id(t, &format!("sub-{s}"))))
        .collect();
    stream::iter(subs.clone())
        .map(|s| {
            let url = format!("{base}/_emulator/sink/{}?code=secret", s.name());
            async move {
                arm.put(
                    &s,
                    &json!({"properties": {"destination": {"endpointType": "WebHook",
                        "properties": {"endpointUrl": url}}}}),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let ids: Vec<&ResourceId> = topics.iter().chain(subs.iter()).collect();
    let live = read_live(
        arm,
        &LiveScope::covering(SUB, &["Microsoft.EventGrid"], ids),
    )
    .await
    .unwrap();
    assert!(subs.iter().all(|s| live.get(s).is_some()));
    assert_eq!(live.requests.writes, 0);
    assert!(live.requests.total() <= 50, "{:?}", live.requests);
    emu.shutdown().unwrap();
}

// The Auth0 client's error and retry paths, against a scripted Auth0 (the emulator's Auth0 is
// exercised by the reference scenario above).
#[tokio::test]
async fn auth0_log_stream_lifecycle() {
    let streams: Arc<Mutex<Vec<Value>>> = Arc::default();
    let s = streams.clone();
    let srv = scripted_server::serve(move |req, n| {
        let mut streams = s.lock().unwrap();
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/auth0/oauth/token") => {
                let b = req.json();
                assert_eq!(b["grant_type"], "client_credentials");
                assert_eq!(b["audience"], "https://tenant.example.auth0.com/api/v2/");
                assert_eq!(b["client_secret"], "auth0-secret");
                Resp::json(200, json!({"access_token": "a0", "expires_in": 86400, "token_type": "Bearer"}))
            }
            (_, p) if req.header("authorization") != Some("Bearer a0") => {
                Resp::json(401, json!({"statusCode": 401, "error": "Unauthorized", "message": p}))
            }
            ("GET", "/auth0/api/v2/log-streams") if n == 1 => {
                Resp::json(429, json!({"statusCode": 429, "error": "Too Many Requests", "message": "slow"}))
                    .header("retry-after", "0")
            }
            ("GET", "/auth0/api/v2/log-streams") => Resp::json(200, Value::Array(streams.clone())),
            ("POST", "/auth0/api/v2/log-streams") => {
                let mut b = req.json();
                b["id"] = json!("lst_1");
                b["status"] = json!("active");
                b["sink"]["azurePartnerTopic"] = json!("auth0-lst_1");
                streams.push(b.clone());
                Resp::json(201, b)
            }
            ("PATCH", "/auth0/api/v2/log-streams/lst_1") => {
                let patch = req.json();
                let s = &mut streams[0];
                for (k, v) in patch.as_object().unwrap() {
                    s[k] = v.clone();
                }
                Resp::json(200, s.clone())
            }
            ("GET", "/auth0/api/v2/log-streams/lst_1") if !streams.is_empty() => Resp::json(200, streams[0].clone()),
            ("DELETE", "/auth0/api/v2/log-streams/lst_1") if !streams.is_empty() => {
                streams.clear();
                Resp::new(204)
            }
            _ => Resp::json(404, json!({"statusCode": 404, "error": "Not Found", "message": "The log stream does not exist", "errorCode": "inexistent_log_stream"})),
        }
    })
    .await;
    let env = |k: &str| match k {
        "AUTH0_DOMAIN" => Some("tenant.example.auth0.com".to_string()),
        "AUTH0_CLIENT_SECRET" => Some("auth0-secret".to_string()),
        _ => None,
    };
    let a0 = Auth0Client::from_env(reqwest::Client::new(), &env, Some(&srv.base))
        .unwrap()
        .with_retry(fast_options().retry);
    assert!(a0.list_log_streams().await.unwrap().is_empty());
    let created = a0
        .create_eventgrid_stream(&NewEventGridStream {
            name: "azure-events".into(),
            sink: EventGridSink {
                azure_subscription_id: SUB.into(),
                azure_resource_group: "rg".into(),
                azure_region: "westeurope".into(),
                azure_partner_topic: None,
            },
            filters: Some(vec![LogStreamFilter {
                kind: "category".into(),
                name: "auth.login.fail".into(),
            }]),
            is_priority: None,
        })
        .await
        .unwrap();
    assert_eq!(created.kind, "eventgrid");
    assert_eq!(
        created
            .eventgrid_sink()
            .unwrap()
            .azure_partner_topic
            .as_deref(),
        Some("auth0-lst_1")
    );
    let found = a0.find_log_stream("azure-events").await.unwrap().unwrap();
    assert_eq!(found.id, "lst_1");
    let patched = a0
        .patch_log_stream(
            "lst_1",
            &LogStreamPatch {
                status: Some("paused".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.status.as_deref(), Some("paused"));
    assert!(a0.get_log_stream("lst_1").await.unwrap().is_some());
    assert!(a0.delete_log_stream("lst_1").await.unwrap());
    assert!(!a0.delete_log_stream("lst_1").await.unwrap());
    assert!(a0.get_log_stream("lst_1").await.unwrap().is_none());
    let tokens = srv
        .requests()
        .iter()
        .filter(|r| r.path == "/auth0/oauth/token")
        .count();
    assert_eq!(tokens, 1, "token cached");
}

// The operations the scenario above does not touch: PATCH, deactivate, unauthorizePartner,
// getDeliveryAttributes, system topics and extension-style subscriptions.
#[tokio::test]
async fn remaining_operations_against_the_emulator() {
    let (emu, conn) = emulator(Config::default());
    let arm = &conn.arm;
    prepare(&conn).await;

    let topic = typed::topic_id(SUB, "identity-events", "orders");
    arm.put(&topic, &json!({"location": "westus2"}))
        .await
        .unwrap();
    let patched = arm
        .patch(&topic, &json!({"tags": {"gridform-stack": "s1"}}))
        .await
        .unwrap();
    assert_eq!(patched.body["tags"]["gridform-stack"], "s1");

    let pc = typed::partner_configuration_id(SUB, "identity-events");
    let partner = json!({"partnerName": "Auth0", "partnerRegistrationImmutableId": AUTH0_ID});
    arm.put(
        &pc,
        &json!({"properties": {"partnerAuthorization": {"authorizedPartnersList": [partner]}}}),
    )
    .await
    .unwrap();
    let after = typed::unauthorize_partner(arm, &pc, &partner)
        .await
        .unwrap();
    let list = &after["properties"]["partnerAuthorization"]["authorizedPartnersList"];
    assert!(list.as_array().is_none_or(|l| l.is_empty()), "{after}");

    // A partner topic as the partner would create it, then activate/deactivate.
    let pt = typed::partner_topic_id(SUB, "identity-events", "partner");
    arm.put(
        &pt,
        &json!({"location": "westus2", "properties": {"partnerRegistrationImmutableId": AUTH0_ID,
            "source": "tenant.auth0.com"}}),
    )
    .await
    .unwrap();
    typed::activate_partner_topic(arm, &pt).await.unwrap();
    let off = typed::deactivate_partner_topic(arm, &pt).await.unwrap();
    assert_eq!(off["properties"]["activationState"], "Deactivated");

    // Delivery attributes: a secret static header comes back only through the POST.
    let sub = typed::event_subscription_id(&topic, "with-headers");
    let url = format!("{}/_emulator/sink/h", emu.base_url);
    let got = arm
        .put(
            &sub,
            &json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {
                "endpointUrl": url,
                "deliveryAttributeMappings": [{"name": "x-key", "type": "Static",
                    "properties": {"value": "canary-header", "isSecret": true}}]}}}}),
        )
        .await
        .unwrap();
    assert!(!got.body.to_string().contains("canary-header"));
    let attrs = typed::get_delivery_attributes(arm, &sub).await.unwrap();
    assert!(attrs.expose()[0].to_string().contains("canary-header"));

    // System topic, and an extension-style subscription on its source.
    let source = ResourceId::resource_group(SUB, "identity-events").provider_resource(
        "Microsoft.SignalRService",
        "SignalR",
        "hub",
    );
    let st = typed::system_topic_id(SUB, "identity-events", "signalr");
    arm.put(
        &st,
        &json!({"location": "westus2", "properties": {"source": source.to_string(),
            "topicType": "Microsoft.SignalRService.SignalR"}}),
    )
    .await
    .unwrap();
    let ext = typed::event_subscription_id(&source, "ext");
    arm.put(
        &ext,
        &json!({"properties": {"destination": {"endpointType": "WebHook",
            "properties": {"endpointUrl": format!("{}/_emulator/sink/e", emu.base_url)}}}}),
    )
    .await
    .unwrap();
    let listed = arm
        .list(&Collection::extension_subscriptions(&source))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let live = read_live(
        arm,
        &LiveScope::covering(SUB, &["Microsoft.EventGrid"], [&st, &ext, &sub]),
    )
    .await
    .unwrap();
    assert!(live.get(&st).is_some() && live.get(&ext).is_some() && live.get(&sub).is_some());
    assert_eq!(live.requests.writes, 0);
    emu.shutdown().unwrap();
}
