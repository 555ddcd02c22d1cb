//! Runs an accepted ARM request: locks the store, ticks it to the emulator clock, refuses Event
//! Grid writes in unregistered subscriptions, hands the route to its family's module and writes
//! the state file. Event subscription PUT/PATCH go to `event_subscriptions::write`, which must not
//! hold the lock during the webhook handshake.
//!
//! It must not implement a route itself nor choose a status.

use axum::http::Method;
use axum::response::Response;

use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::{ArmRoute, EventSubscriptionRoute};
use crate::emulator::arm_api::{
    aggregate_lists, catalog, event_subscriptions, eventgrid_resources, groups, operations,
    providers,
};
use crate::emulator::error::ArmApiError;
use crate::emulator::store::{EVENT_GRID, Store};

/// Handles one ARM request after the front-door checks.
pub async fn handle(req: ArmRequest<'_>, route: ArmRoute) -> Result<Response, ArmApiError> {
    if let ArmRoute::EventSubscription(EventSubscriptionRoute::One(scope, style, name)) = &route
        && (req.method == Method::PUT || req.method == Method::PATCH)
    {
        return event_subscriptions::write(&req, scope, *style, name).await;
    }
    let emu = req.emu;
    let mut store = emu.lock();
    store.tick(req.ctx.now);
    let result = if route.is_event_grid() && !route.is_tenant_level() && !req.is_read() {
        store
            .require_registered(&req.subscription, EVENT_GRID)
            .map_err(ArmApiError::from)
    } else {
        Ok(())
    }
    .and_then(|()| execute(&mut store, &req, route));
    emu.flush_locked(&mut store)
        .map_err(|e| ArmApiError::Internal(e.to_string()))?;
    result
}

fn execute(
    store: &mut Store,
    req: &ArmRequest<'_>,
    route: ArmRoute,
) -> Result<Response, ArmApiError> {
    match route {
        ArmRoute::Account(r) => providers::execute(store, req, r),
        ArmRoute::Group(r) => groups::execute(store, req, r),
        ArmRoute::Operation(r) => operations::execute(store, req, r),
        ArmRoute::EventGrid(r) => eventgrid_resources::execute(store, req, r),
        ArmRoute::EventSubscription(r) => event_subscriptions::execute(store, req, r),
        ArmRoute::EventSubscriptionList(r) => aggregate_lists::execute(store, req, r),
        ArmRoute::Catalog(r) => catalog::execute(req, r),
    }
}
