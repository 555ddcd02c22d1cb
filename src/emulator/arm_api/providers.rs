//! Subscriptions and resource provider registration: `GET /subscriptions[/{s}]` (the default
//! subscription first, each with the caller's tenant), `GET /subscriptions/{s}/locations`,
//! provider list and get (with every api-version served), `register` / `unregister`.
//!
//! Registration state and its delay are the store's; this module must not decide them.

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::arm_api::locations;
use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::{AccountRoute, EVENT_GRID_APIS};
use crate::emulator::error::ArmApiError;
use crate::emulator::identity::DEFAULT_TENANT;
use crate::emulator::infra::http::ok_json;
use crate::emulator::store::{EVENT_GRID, Store};

/// The subscription `GET /subscriptions` lists before anything was written, so that `az login`
/// finds one (documented in docs/emulator.md).
pub const DEFAULT_SUBSCRIPTION: &str = "c0ffee00-0000-4000-8000-000000000001";

/// Event Grid resource types served besides the store's (tenant-level catalogs, regional lists).
const EXTRA_EVENT_GRID_TYPES: &[&str] = &[
    "verifiedPartners",
    "topicTypes",
    "locations",
    "locations/eventSubscriptions",
    "locations/topicTypes",
];

/// Runs one subscription or provider request.
pub fn execute(
    store: &mut Store,
    req: &ArmRequest<'_>,
    route: AccountRoute,
) -> Result<Response, ArmApiError> {
    let sub = req.subscription.as_str();
    let tenant = req.tenant.as_deref().unwrap_or(DEFAULT_TENANT);
    let body = match (route, &req.method) {
        (AccountRoute::Subscriptions, &Method::GET) => {
            let mut subs = vec![DEFAULT_SUBSCRIPTION.to_string()];
            let others = store.known_subscriptions().into_iter();
            subs.extend(others.filter(|s| !s.eq_ignore_ascii_case(DEFAULT_SUBSCRIPTION)));
            let value: Vec<Value> = subs.iter().map(|s| subscription_body(s, tenant)).collect();
            json!({ "value": value })
        }
        (AccountRoute::Subscription, &Method::GET) => subscription_body(sub, tenant),
        (AccountRoute::Locations, &Method::GET) => locations::list(sub),
        (AccountRoute::Providers, &Method::GET) => {
            let mut providers = store.list_providers(sub);
            providers.iter_mut().for_each(with_api_versions);
            json!({ "value": providers })
        }
        (AccountRoute::Provider(ns), &Method::GET) => {
            let mut provider = store.get_provider(sub, &ns)?;
            with_api_versions(&mut provider);
            provider
        }
        (
            AccountRoute::Registration {
                namespace,
                register,
            },
            &Method::POST,
        ) => {
            let mut provider = store.set_registration(&req.ctx, sub, &namespace, register)?;
            with_api_versions(&mut provider);
            provider
        }
        (_, m) => return Err(ArmApiError::MethodNotAllowed(m.to_string())),
    };
    Ok(ok_json(body))
}

/// Lists every Event Grid api-version served (and the catalogs) in an Event Grid provider body.
fn with_api_versions(provider: &mut Value) {
    if !provider["namespace"]
        .as_str()
        .is_some_and(|n| n.eq_ignore_ascii_case(EVENT_GRID))
    {
        return;
    }
    let Some(types) = provider["resourceTypes"].as_array_mut() else {
        return;
    };
    let locations = types
        .first()
        .map(|t| t["locations"].clone())
        .unwrap_or_else(|| json!([]));
    for extra in EXTRA_EVENT_GRID_TYPES {
        types.push(json!({"resourceType": extra, "locations": locations, "locationMappings": [], "capabilities": "None"}));
    }
    for t in types.iter_mut() {
        t["apiVersions"] = json!(EVENT_GRID_APIS);
    }
}

fn subscription_body(sub: &str, tenant: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}"), "subscriptionId": sub,
        "displayName": "gridform emulator subscription", "state": "Enabled",
        "tenantId": tenant, "homeTenantId": tenant, "managedByTenants": [],
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        "authorizationSource": "RoleBased",
    })
}
