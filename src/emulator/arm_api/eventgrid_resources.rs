//! Top-level Event Grid resources: topics, system topics, partner topics and partner
//! configurations — list (paged, 20 by default; partner configurations of a group in one page),
//! GET, PUT, PATCH, DELETE and their POST actions (`listKeys`, `regenerateKey`,
//! `authorizePartner`, `unauthorizePartner`, `activate`, `deactivate`).
//!
//! Each kind's success statuses follow Azure (topic PUT answers 201 only). Resource semantics are
//! the store's; this module must not decide them.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::emulator::arm_api::operations::{accepted_delete, with_operation_headers};
use crate::emulator::arm_api::paging::page;
use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::EventGridRoute;
use crate::emulator::arm_api::validate_resource;
use crate::emulator::error::ArmApiError;
use crate::emulator::infra::http::{created_or_ok, json as json_response, ok_json};
use crate::emulator::store::{EVENT_GRID, Kind, Store};
use crate::model::id::ResourceId;

/// Runs one request on a top-level Event Grid resource.
pub fn execute(
    store: &mut Store,
    req: &ArmRequest<'_>,
    route: EventGridRoute,
) -> Result<Response, ArmApiError> {
    match (route, &req.method) {
        (EventGridRoute::List(kind, scope), &Method::GET) => list(store, req, kind, &scope),
        (EventGridRoute::One(kind, id), &Method::GET) => Ok(ok_json(store.eg_get(kind, &id)?)),
        (EventGridRoute::One(kind, id), &Method::DELETE) => {
            let op = store.eg_delete(&req.ctx, kind, &id)?;
            Ok(accepted_delete(store, req, op))
        }
        (EventGridRoute::One(kind, id), &Method::PUT) => put(store, req, kind, &id),
        (EventGridRoute::One(kind, id), &Method::PATCH) => patch(store, req, kind, &id),
        (EventGridRoute::Action(kind, id, action), &Method::POST) => {
            run_action(store, req, kind, &id, &action)
        }
        (_, m) => Err(ArmApiError::MethodNotAllowed(m.to_string())),
    }
}

fn list(
    store: &Store,
    req: &ArmRequest<'_>,
    kind: Kind,
    scope: &ResourceId,
) -> Result<Response, ArmApiError> {
    let items = store.eg_list(kind, scope)?;
    if kind == Kind::PartnerConfiguration && scope.resource_group_name().is_some() {
        return Ok(ok_json(json!({ "value": items })));
    }
    let collection = kind.type_name().rsplit('/').next().unwrap_or_default();
    let path = format!("{}/providers/{EVENT_GRID}/{collection}", scope.as_str());
    page(items, req, &path, 20)
}

fn put(
    store: &mut Store,
    req: &ArmRequest<'_>,
    kind: Kind,
    id: &ResourceId,
) -> Result<Response, ArmApiError> {
    let (ctx, body) = (&req.ctx, &req.body);
    let existing = store.eg_get(kind, id).ok();
    validate_resource::check_write(kind, body, existing.as_ref(), false)?;
    match kind {
        Kind::Topic => {
            let (_, v, op) = store.put_topic(ctx, id, body)?;
            let r = json_response(StatusCode::CREATED, v);
            Ok(with_operation_headers(r, store, req, &op, false))
        }
        Kind::SystemTopic => {
            let (created, v, op) = store.put_system_topic(ctx, id, body)?;
            let r = created_or_ok(created, v);
            Ok(with_operation_headers(r, store, req, &op, false))
        }
        Kind::PartnerTopic => {
            let (created, v) = store.put_partner_topic(id, body)?;
            Ok(created_or_ok(created, v))
        }
        Kind::PartnerConfiguration => {
            let (created, v, op) = store.put_partner_configuration(ctx, id, body)?;
            let r = created_or_ok(created, v);
            Ok(with_operation_headers(r, store, req, &op, false))
        }
        _ => Err(ArmApiError::MethodNotAllowed(req.method.to_string())),
    }
}

fn patch(
    store: &mut Store,
    req: &ArmRequest<'_>,
    kind: Kind,
    id: &ResourceId,
) -> Result<Response, ArmApiError> {
    let body = &req.body;
    validate_resource::check_write(kind, body, None, true)?;
    match kind {
        Kind::Topic => {
            let (v, op) = store.patch_topic(&req.ctx, id, body)?;
            let r = json_response(StatusCode::CREATED, v);
            Ok(with_operation_headers(r, store, req, &op, false))
        }
        Kind::SystemTopic => Ok(ok_json(store.patch_tags_identity(kind, id, body)?)),
        Kind::PartnerTopic => Ok(json_response(
            StatusCode::CREATED,
            store.patch_tags_identity(kind, id, body)?,
        )),
        Kind::PartnerConfiguration => {
            let (v, op) = store.patch_partner_configuration(&req.ctx, id, body)?;
            Ok(with_operation_headers(ok_json(v), store, req, &op, false))
        }
        _ => Err(ArmApiError::MethodNotAllowed(req.method.to_string())),
    }
}

fn run_action(
    store: &mut Store,
    req: &ArmRequest<'_>,
    kind: Kind,
    id: &ResourceId,
    action: &str,
) -> Result<Response, ArmApiError> {
    let (ctx, body) = (&req.ctx, &req.body);
    let v = match (kind, action.to_ascii_lowercase().as_str()) {
        (Kind::Topic, "listkeys") => store.topic_keys(id)?,
        (Kind::Topic, "regeneratekey") => store.regenerate_topic_key(id, body)?,
        (Kind::PartnerConfiguration, "authorizepartner") => {
            store.authorize_partner(ctx, id, body, true)?
        }
        (Kind::PartnerConfiguration, "unauthorizepartner") => {
            store.authorize_partner(ctx, id, body, false)?
        }
        (Kind::PartnerTopic, "activate") => store.set_activation(id, true)?,
        (Kind::PartnerTopic, "deactivate") => store.set_activation(id, false)?,
        _ => {
            return Err(ArmApiError::NoRoute {
                method: req.method.to_string(),
                path: format!("{}/{action}", id.as_str()),
            });
        }
    };
    Ok(ok_json(v))
}
