//! Resource groups: list (paged, 100 by default), PUT, GET, HEAD, PATCH, and DELETE as a
//! long-running operation that deletes everything inside.
//!
//! Group semantics are the store's; this module must not decide them.

use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::emulator::arm_api::operations::retry_after;
use crate::emulator::arm_api::paging::page;
use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::GroupRoute;
use crate::emulator::arm_api::validate_resource;
use crate::emulator::error::ArmApiError;
use crate::emulator::infra::http::{created_or_ok, empty, ok_json, set_header};
use crate::emulator::store::{Kind, Store};

/// Runs one resource group request.
pub fn execute(
    store: &mut Store,
    req: &ArmRequest<'_>,
    route: GroupRoute,
) -> Result<Response, ArmApiError> {
    let sub = req.subscription.as_str();
    let name = match (route, &req.method) {
        (GroupRoute::List, &Method::GET) => {
            let path = format!("/subscriptions/{sub}/resourcegroups");
            return page(store.list_groups(sub), req, &path, 100);
        }
        (GroupRoute::One(name), _) => name,
        (GroupRoute::List, m) => return Err(ArmApiError::MethodNotAllowed(m.to_string())),
    };
    if req.method == Method::PUT || req.method == Method::PATCH {
        let patch = req.method == Method::PATCH;
        validate_resource::check_write(Kind::ResourceGroup, &req.body, None, patch)?;
    }
    match req.method {
        Method::PUT => {
            let (created, v) = store.put_group(sub, &name, &req.body)?;
            Ok(created_or_ok(created, v))
        }
        Method::GET => Ok(ok_json(store.get_group(sub, &name)?)),
        Method::HEAD => Ok(empty(match store.get_group(sub, &name) {
            Ok(_) => StatusCode::NO_CONTENT,
            Err(_) => StatusCode::NOT_FOUND,
        })),
        Method::PATCH => Ok(ok_json(store.patch_group(sub, &name, &req.body)?)),
        Method::DELETE => {
            let op = store.delete_group(&req.ctx, sub, &name)?;
            let mut r = empty(StatusCode::ACCEPTED);
            let url = format!(
                "{}/subscriptions/{sub}/operationresults/{}?api-version={}",
                req.ctx.base, op.id, req.api_version
            );
            set_header(&mut r, "location", &url);
            set_header(&mut r, "retry-after", &retry_after(store, &op));
            Ok(r)
        }
        ref m => Err(ArmApiError::MethodNotAllowed(m.to_string())),
    }
}
