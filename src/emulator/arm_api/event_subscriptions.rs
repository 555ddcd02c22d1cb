//! Event subscriptions, nested under a topic, system topic or partner topic or extension-style on
//! any scope: list (paged, 20 by default), GET, DELETE, `getFullUrl`, `getDeliveryAttributes`,
//! and PUT/PATCH, which run the webhook validation handshake between the store's prepare and
//! commit steps without holding the store lock.
//!
//! Subscription semantics are the store's and the handshake is `dataplane::webhook`'s; this
//! module must not decide either.

use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::emulator::arm_api::operations::{accepted_delete, with_operation_headers};
use crate::emulator::arm_api::paging::page;
use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::EventSubscriptionRoute;
use crate::emulator::arm_api::validate_subscription;
use crate::emulator::dataplane::webhook::{self, Validated};
use crate::emulator::error::ArmApiError;
use crate::emulator::infra::http::{json as json_response, ok_json};
use crate::emulator::store::subscriptions::Style;
use crate::emulator::store::{EVENT_GRID, Store};
use crate::model::id::ResourceId;

/// Azure's window for the manual validation handshake.
const MANUAL_VALIDATION_WINDOW_MINUTES: i64 = 10;

/// Runs one event subscription request other than PUT/PATCH (see `write`).
pub fn execute(
    store: &mut Store,
    req: &ArmRequest<'_>,
    route: EventSubscriptionRoute,
) -> Result<Response, ArmApiError> {
    match (route, &req.method) {
        (EventSubscriptionRoute::List(scope, style), &Method::GET) => {
            let items = store.list_subscriptions(&scope, style)?;
            let path = match style {
                Style::Nested(_) => format!("{}/eventSubscriptions", scope.as_str()),
                Style::Extension => format!(
                    "{}/providers/{EVENT_GRID}/eventSubscriptions",
                    scope.as_str()
                ),
            };
            page(items, req, &path, 20)
        }
        (EventSubscriptionRoute::One(scope, style, name), &Method::GET) => {
            Ok(ok_json(store.get_subscription(&scope, style, &name)?))
        }
        (EventSubscriptionRoute::One(scope, style, name), &Method::DELETE) => {
            let op = store.delete_subscription(&req.ctx, &scope, style, &name)?;
            Ok(accepted_delete(store, req, op))
        }
        (EventSubscriptionRoute::Action(scope, style, name, action), &Method::POST) => {
            let v = match action.to_ascii_lowercase().as_str() {
                "getfullurl" => store.full_url(&scope, style, &name)?,
                "getdeliveryattributes" => store.delivery_attributes(&scope, style, &name)?,
                _ => {
                    return Err(ArmApiError::NoRoute {
                        method: req.method.to_string(),
                        path: format!("{}/{action}", scope.as_str()),
                    });
                }
            };
            Ok(ok_json(v))
        }
        (_, m) => Err(ArmApiError::MethodNotAllowed(m.to_string())),
    }
}

/// PUT/PATCH of an event subscription: prepare (locked), handshake (unlocked), commit (locked).
pub async fn write(
    req: &ArmRequest<'_>,
    scope: &ResourceId,
    style: Style,
    name: &str,
) -> Result<Response, ArmApiError> {
    let (emu, ctx) = (req.emu, &req.ctx);
    let patch = req.method == Method::PATCH;
    validate_subscription::check_write(&req.body, patch)?;
    let mut prepared = {
        let mut store = emu.lock();
        store.tick(ctx.now);
        store.require_registered(scope.subscription_id(), EVENT_GRID)?;
        store.prepare_subscription(ctx, scope, style, name, &req.body, patch)?
    };
    if let Some(hs) = prepared.handshake.clone()
        && let Validated::Manual(code) = webhook::validate(emu, ctx, &hs).await?
    {
        let window = chrono::Duration::minutes(MANUAL_VALIDATION_WINDOW_MINUTES);
        prepared.await_manual_validation(&code, ctx.now + window);
    }
    let mut store = emu.lock();
    let result = store.commit_subscription(ctx, prepared, style);
    emu.flush_locked(&mut store)
        .map_err(|e| ArmApiError::Internal(e.to_string()))?;
    let (_, v, op) = result?;
    let r = json_response(StatusCode::CREATED, v);
    Ok(with_operation_headers(r, &store, req, &op, false))
}
