//! Reading the live state (the request budget of a refresh) and the typed ARM actions and waits,
//! against a scripted ARM.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gridform::arm::{LiveScope, read_live};
use gridform::model::ResourceId;
use serde_json::{Value, json};

use crate::support::scripted_server::{self, Req, Resp, SUB, client, fast_options, serve};

/// Pages `items` the way Event Grid does: `$top` (default 20) and a `$skiptoken` offset.
fn page(req: &Req, items: Vec<Value>) -> Resp {
    let top: usize = req
        .query_param("$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(20);
    let skip: usize = req
        .query_param("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let chunk: Vec<Value> = items.iter().skip(skip).take(top).cloned().collect();
    let mut body = json!({"value": chunk});
    if skip + top < items.len() {
        body["nextLink"] = json!(format!(
            "http://{}{}?api-version=2025-02-15&$top={top}&$skiptoken={}",
            req.header("host").unwrap(),
            req.path,
            skip + top
        ));
    }
    Resp::json(200, body)
}

/// A fake ARM with one resource group holding `topics` custom topics of `subs` webhook
/// subscriptions each.
async fn stack_server(topics: usize, subs: usize) -> scripted_server::Server {
    serve(move |req, _| {
        let rg = format!("/subscriptions/{SUB}/resourceGroups/rg");
        let eg = format!("{rg}/providers/Microsoft.EventGrid");
        if req.method != "GET" {
            return Resp::new(405);
        }
        let p = req.path.as_str();
        if p == format!("/subscriptions/{SUB}/providers/Microsoft.EventGrid") {
            return Resp::json(200, json!({"namespace": "Microsoft.EventGrid", "registrationState": "Registered"}));
        }
        if p == rg {
            return Resp::json(200, json!({"id": rg, "name": "rg", "location": "westeurope"}));
        }
        if p == format!("{eg}/topics") {
            let items = (0..topics)
                .map(|t| json!({"id": format!("{eg}/topics/t{t}"), "name": format!("t{t}"),
                                "type": "Microsoft.EventGrid/topics", "properties": {"provisioningState": "Succeeded"}}))
                .collect();
            return page(req, items);
        }
        if let Some(rest) = p.strip_prefix(&format!("{eg}/topics/"))
            && let Some(t) = rest.strip_suffix("/eventSubscriptions") {
                let items = (0..subs)
                    .map(|s| json!({"id": format!("{eg}/topics/{t}/eventSubscriptions/s{s}"), "name": format!("s{s}"),
                                    "type": "Microsoft.EventGrid/topics/eventSubscriptions",
                                    "properties": {"destination": {"endpointType": "WebHook",
                                        "properties": {"endpointBaseUrl": "https://hooks.example.com/x"}}}}))
                    .collect();
                return page(req, items);
            }
        if p.starts_with(&eg) {
            return page(req, vec![]);
        }
        Resp::json(404, json!({"error": {"code": "NotFound", "message": p}}))
    })
    .await
}

// Issue acceptance: a refresh of 20 topics with 1,000 webhook subscriptions costs at most ~50
// ARM requests and no write-class requests (Terraform calls getFullUrl per subscription).
#[tokio::test]
async fn refresh_of_a_thousand_subscriptions_stays_within_budget() {
    let srv = stack_server(20, 50).await;
    let arm = client(&srv.base, fast_options());
    let scope = LiveScope {
        subscription_id: SUB.into(),
        providers: vec!["Microsoft.EventGrid".into()],
        resource_groups: vec!["rg".into(), "absent".into()],
        extra_scopes: vec![],
    };
    let live = read_live(&arm, &scope).await.unwrap();
    let subs = live
        .resources
        .values()
        .filter(|o| o.id.resource_type().ends_with("eventSubscriptions"))
        .count();
    assert_eq!(subs, 1000);
    assert_eq!(live.resources.len(), 1020);
    assert_eq!(live.requests.writes, 0);
    assert_eq!(live.requests.deletes, 0);
    assert!(live.requests.reads <= 50, "{:?}", live.requests);
    assert!(srv.requests().iter().all(|r| r.method == "GET"));
    assert!(live.providers["microsoft.eventgrid"].is_registered());
    // Known-absent answers: a missing subscription under a listed topic, anything in a missing
    // group; present ones are found case-insensitively.
    let eg = ResourceId::resource_group(SUB, "rg");
    let t0 = eg.provider_resource("Microsoft.EventGrid", "topics", "t0");
    assert!(live.get(&t0.child("EVENTSUBSCRIPTIONS", "S7")).is_some());
    assert!(live.known_absent(&t0.child("eventSubscriptions", "nope")));
    let gone = ResourceId::resource_group(SUB, "absent").provider_resource(
        "Microsoft.EventGrid",
        "topics",
        "x",
    );
    assert!(live.known_absent(&gone));
    assert_eq!(live.subscriptions_of(&t0).count(), 50);
}

#[tokio::test]
async fn typed_actions_and_waits() {
    use gridform::arm::typed;
    let registered = Arc::new(AtomicUsize::new(0));
    let r = registered.clone();
    let srv = serve(move |req, _| {
        let p = req.path.as_str();
        if p.ends_with("/getFullUrl") {
            if p.contains("/broken/") {
                return Resp::new(200)
                    .with_body("{\"endpointUrl\": \"https://h/x?code=canary-secret");
            }
            return Resp::json(
                200,
                json!({"endpointUrl": "https://h/x?code=canary-secret"}),
            );
        }
        if p.ends_with("/register") {
            r.store(1, Ordering::SeqCst);
            return Resp::json(200, json!({"registrationState": "Registering"}));
        }
        if p.ends_with("/providers/Microsoft.EventGrid") {
            let polls = r.fetch_add(1, Ordering::SeqCst);
            let state = match polls {
                0 => "NotRegistered",
                1 | 2 => "Registering",
                _ => "Registered",
            };
            return Resp::json(
                200,
                json!({"namespace": "Microsoft.EventGrid", "registrationState": state}),
            );
        }
        Resp::new(404)
    })
    .await;
    let arm = client(&srv.base, fast_options());
    let pt = typed::partner_topic_id(SUB, "rg", "auth0");
    let sub = typed::event_subscription_id(&pt, "hook");
    let url = typed::get_full_url(&arm, &sub).await.unwrap();
    assert_eq!(format!("{url}"), "(sensitive)");
    assert!(url.expose().ends_with("canary-secret"));
    let broken =
        typed::event_subscription_id(&typed::partner_topic_id(SUB, "rg", "broken"), "hook");
    let err = typed::get_full_url(&arm, &broken).await.unwrap_err();
    assert!(!err.to_string().contains("canary"), "{err}");

    let info = crate::support::arm_waits::ensure_registered(
        &arm,
        SUB,
        "Microsoft.EventGrid",
        Duration::from_millis(2),
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert!(info.is_registered());
    assert!(
        crate::support::arm_waits::wait_for_resource(
            &arm,
            &pt,
            Duration::from_millis(2),
            Duration::from_millis(10)
        )
        .await
        .unwrap()
        .is_none()
    );
}
