//! Subscriptions and resource provider registration: `GET /subscriptions[/{s}]`, provider list
//! and get, `register` / `unregister`.
//!
//! Registration state and its delay are the store's; this module must not decide them.

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::AccountRoute;
use crate::emulator::error::ArmApiError;
use crate::emulator::infra::http::ok_json;
use crate::emulator::store::Store;

/// Runs one subscription or provider request.
pub fn execute(
    store: &mut Store,
    req: &ArmRequest<'_>,
    route: AccountRoute,
) -> Result<Response, ArmApiError> {
    let sub = req.subscription.as_str();
    let body = match (route, &req.method) {
        (AccountRoute::Subscriptions, &Method::GET) => {
            let value: Vec<Value> = store
                .known_subscriptions()
                .iter()
                .map(|s| subscription_body(s))
                .collect();
            json!({ "value": value })
        }
        (AccountRoute::Subscription, &Method::GET) => subscription_body(sub),
        (AccountRoute::Providers, &Method::GET) => json!({"value": store.list_providers(sub)}),
        (AccountRoute::Provider(ns), &Method::GET) => store.get_provider(sub, &ns)?,
        (
            AccountRoute::Registration {
                namespace,
                register,
            },
            &Method::POST,
        ) => store.set_registration(&req.ctx, sub, &namespace, register)?,
        (_, m) => return Err(ArmApiError::MethodNotAllowed(m.to_string())),
    };
    Ok(ok_json(body))
}

fn subscription_body(sub: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}"), "subscriptionId": sub,
        "displayName": "gridform emulator subscription", "state": "Enabled",
        "tenantId": "00000000-0000-0000-0000-000000000000",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        "authorizationSource": "RoleBased",
    })
}
