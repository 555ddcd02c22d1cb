//! Executes a parsed ARM `Route`: locks the store, ticks it to the emulator clock, calls the
//! store operation, and shapes the success response (status, long-running operation headers,
//! pagination). Event subscription writes run the webhook handshake between the store's prepare
//! and commit steps, without holding the lock.
//!
//! Error statuses are never chosen here: failures are returned as `ApiError`.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::Emulator;
use crate::emulator::arm_api::{EVENT_GRID_API, Route};
use crate::emulator::error::{ApiError, StoreError};
use crate::emulator::infra::http::{
    base_url, empty, json as json_response, parse_json, set_header,
};
use crate::emulator::store::subscriptions::Style;
use crate::emulator::store::{Ctx, EVENT_GRID, Kind, OpRef, Store};
use crate::model::id::ResourceId;

/// Handles one ARM request after the front-door checks.
#[allow(clippy::too_many_arguments)]
pub async fn handle(
    emu: &Emulator,
    method: &Method,
    sub: &str,
    route: Route,
    pairs: &[(String, String)],
    headers: &HeaderMap,
    body: Bytes,
    fail_lro: bool,
) -> Result<Response, ApiError> {
    let ctx = Ctx {
        now: emu.clock.now(),
        base: base_url(emu, headers),
        delay: chrono::Duration::from_std(emu.config().lro_delay).unwrap_or_default(),
        fail_lro,
    };
    let api_version = crate::emulator::arm_api::query(pairs, "api-version")
        .unwrap_or(EVENT_GRID_API)
        .to_string();
    let body = parse_json(&body)?;
    if let Route::Sub(scope, style, name) = &route
        && (method == Method::PUT || method == Method::PATCH)
    {
        return write_subscription(
            emu,
            &ctx,
            method == Method::PATCH,
            scope,
            *style,
            name,
            &body,
            &api_version,
        )
        .await;
    }
    let mut store = emu.lock();
    store.tick(ctx.now);
    let writes_event_grid =
        route.is_event_grid() && *method != Method::GET && *method != Method::HEAD;
    let result = if writes_event_grid {
        store
            .require_registered(sub, EVENT_GRID)
            .map_err(ApiError::from)
    } else {
        Ok(())
    }
    .and_then(|()| {
        execute(
            &mut store,
            &ctx,
            method,
            sub,
            route,
            pairs,
            &body,
            &api_version,
        )
    });
    emu.flush_locked(&mut store)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    result
}

fn not_allowed(method: &Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

#[allow(clippy::too_many_arguments)]
fn execute(
    store: &mut Store,
    ctx: &Ctx,
    method: &Method,
    sub: &str,
    route: Route,
    pairs: &[(String, String)],
    body: &Value,
    api: &str,
) -> Result<Response, ApiError> {
    let ok = |v: Value| Ok(json_response(StatusCode::OK, v));
    let created = |c: bool| {
        if c {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        }
    };
    match (route, method.clone()) {
        (Route::Subscriptions, Method::GET) => ok(json!({"value": store
            .known_subscriptions()
            .iter()
            .map(|s| subscription_body(s))
            .collect::<Vec<_>>()})),
        (Route::Subscription, Method::GET) => ok(subscription_body(sub)),
        (Route::Providers, Method::GET) => ok(json!({"value": store.list_providers(sub)})),
        (Route::Provider(ns), Method::GET) => ok(store.get_provider(sub, &ns)?),
        (Route::ProviderAction(ns, register), Method::POST) => {
            ok(store.set_registration(ctx, sub, &ns, register)?)
        }
        (Route::Groups, Method::GET) => page(
            store.list_groups(sub),
            ctx,
            pairs,
            &format!("/subscriptions/{sub}/resourcegroups"),
            100,
        ),
        (Route::Group(name), Method::PUT) => {
            let (c, v) = store.put_group(sub, &name, body)?;
            Ok(json_response(created(c), v))
        }
        (Route::Group(name), Method::GET) => ok(store.get_group(sub, &name)?),
        (Route::Group(name), Method::HEAD) => Ok(empty(match store.get_group(sub, &name) {
            Ok(_) => StatusCode::NO_CONTENT,
            Err(_) => StatusCode::NOT_FOUND,
        })),
        (Route::Group(name), Method::PATCH) => ok(store.patch_group(sub, &name, body)?),
        (Route::Group(name), Method::DELETE) => {
            let op = store.delete_group(ctx, sub, &name)?;
            let mut r = empty(StatusCode::ACCEPTED);
            let url = format!(
                "{}/subscriptions/{sub}/operationresults/{}?api-version={api}",
                ctx.base, op.id
            );
            set_header(&mut r, "location", &url);
            set_header(&mut r, "retry-after", &retry_after(store, &op));
            Ok(r)
        }
        (Route::GroupOperation(id), Method::GET) => {
            operation_result(store, ctx, sub, &id, api, true)
        }
        (Route::Operation { status: true, id }, Method::GET) => {
            let op = store.operation(sub, &id)?;
            let mut r = json_response(StatusCode::OK, Store::operation_status_body(op));
            if op.status == "InProgress" {
                let secs = (op.due - ctx.now)
                    .num_milliseconds()
                    .max(0)
                    .div_euclid(1000)
                    + 1;
                set_header(&mut r, "retry-after", &secs.to_string());
            }
            Ok(r)
        }
        (Route::Operation { status: false, id }, Method::GET) => {
            operation_result(store, ctx, sub, &id, api, false)
        }
        (Route::EgList(kind, scope), Method::GET) => {
            let items = store.eg_list(kind, &scope)?;
            if kind == Kind::PartnerConfiguration && scope.resource_group_name().is_some() {
                return ok(json!({"value": items}));
            }
            page(
                items,
                ctx,
                pairs,
                &format!(
                    "{}/providers/{EVENT_GRID}/{}",
                    scope.as_str(),
                    collection(kind)
                ),
                20,
            )
        }
        (Route::EgResource(kind, id), Method::GET) => ok(store.eg_get(kind, &id)?),
        (Route::EgResource(kind, id), Method::DELETE) => {
            Ok(match store.eg_delete(ctx, kind, &id)? {
                Some(op) => lro(empty(StatusCode::ACCEPTED), store, ctx, &op, api, true),
                None => empty(StatusCode::NO_CONTENT),
            })
        }
        (Route::EgResource(Kind::Topic, id), Method::PUT) => {
            let (_, v, op) = store.put_topic(ctx, &id, body)?;
            Ok(lro(
                json_response(StatusCode::CREATED, v),
                store,
                ctx,
                &op,
                api,
                false,
            ))
        }
        (Route::EgResource(Kind::Topic, id), Method::PATCH) => {
            let (v, op) = store.patch_topic(ctx, &id, body)?;
            Ok(lro(
                json_response(StatusCode::CREATED, v),
                store,
                ctx,
                &op,
                api,
                false,
            ))
        }
        (Route::EgResource(Kind::SystemTopic, id), Method::PUT) => {
            let (c, v, op) = store.put_system_topic(ctx, &id, body)?;
            Ok(lro(
                json_response(created(c), v),
                store,
                ctx,
                &op,
                api,
                false,
            ))
        }
        (Route::EgResource(Kind::SystemTopic, id), Method::PATCH) => {
            ok(store.patch_tags_identity(Kind::SystemTopic, &id, body)?)
        }
        (Route::EgResource(Kind::PartnerTopic, id), Method::PUT) => {
            let (c, v) = store.put_partner_topic(&id, body)?;
            Ok(json_response(created(c), v))
        }
        (Route::EgResource(Kind::PartnerTopic, id), Method::PATCH) => Ok(json_response(
            StatusCode::CREATED,
            store.patch_tags_identity(Kind::PartnerTopic, &id, body)?,
        )),
        (Route::EgResource(Kind::PartnerConfiguration, id), Method::PUT) => {
            let (c, v) = store.put_partner_configuration(ctx, &id, body)?;
            Ok(json_response(created(c), v))
        }
        (Route::EgResource(Kind::PartnerConfiguration, id), Method::PATCH) => {
            ok(store.patch_partner_configuration(&id, body)?)
        }
        (Route::EgAction(kind, id, action), Method::POST) => {
            match (kind, action.to_ascii_lowercase().as_str()) {
                (Kind::Topic, "listkeys") => ok(store.topic_keys(&id)?),
                (Kind::Topic, "regeneratekey") => ok(store.regenerate_topic_key(&id, body)?),
                (Kind::PartnerConfiguration, "authorizepartner") => {
                    ok(store.authorize_partner(ctx, &id, body, true)?)
                }
                (Kind::PartnerConfiguration, "unauthorizepartner") => {
                    ok(store.authorize_partner(ctx, &id, body, false)?)
                }
                (Kind::PartnerTopic, "activate") => ok(store.set_activation(&id, true)?),
                (Kind::PartnerTopic, "deactivate") => ok(store.set_activation(&id, false)?),
                _ => Err(ApiError::NoRoute {
                    method: method.to_string(),
                    path: format!("{}/{action}", id.as_str()),
                }),
            }
        }
        (Route::SubList(scope, style), Method::GET) => {
            let items = store.list_subscriptions(&scope, style)?;
            let path = match style {
                Style::Nested(_) => format!("{}/eventSubscriptions", scope.as_str()),
                Style::Extension => format!(
                    "{}/providers/{EVENT_GRID}/eventSubscriptions",
                    scope.as_str()
                ),
            };
            page(items, ctx, pairs, &path, 20)
        }
        (Route::Sub(scope, style, name), Method::GET) => {
            ok(store.get_subscription(&scope, style, &name)?)
        }
        (Route::Sub(scope, style, name), Method::DELETE) => Ok(
            match store.delete_subscription(ctx, &scope, style, &name)? {
                Some(op) => lro(empty(StatusCode::ACCEPTED), store, ctx, &op, api, true),
                None => empty(StatusCode::NO_CONTENT),
            },
        ),
        (Route::SubAction(scope, style, name, action), Method::POST) => {
            match action.to_ascii_lowercase().as_str() {
                "getfullurl" => ok(store.full_url(&scope, style, &name)?),
                "getdeliveryattributes" => ok(store.delivery_attributes(&scope, style, &name)?),
                _ => Err(ApiError::NoRoute {
                    method: method.to_string(),
                    path: format!("{}/{action}", scope.as_str()),
                }),
            }
        }
        (_, m) => Err(not_allowed(&m)),
    }
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

fn collection(kind: Kind) -> &'static str {
    kind.type_name().rsplit('/').next().unwrap_or_default()
}

fn retry_after(store: &Store, op: &OpRef) -> String {
    match store.operation(&op.subscription, &op.id) {
        Ok(o) if o.status == "InProgress" => ((o.due - o.started)
            .num_milliseconds()
            .max(0)
            .div_euclid(1000)
            + 1)
        .to_string(),
        _ => "0".into(),
    }
}

/// Adds `Azure-AsyncOperation`, `Location` (for deletes) and `Retry-After`.
fn lro(
    mut r: Response,
    store: &Store,
    ctx: &Ctx,
    op: &OpRef,
    api: &str,
    location: bool,
) -> Response {
    let prefix = format!(
        "{}/subscriptions/{}/providers/{}/locations/{}",
        ctx.base, op.subscription, op.namespace, op.location
    );
    set_header(
        &mut r,
        "azure-asyncoperation",
        &format!("{prefix}/operationsStatus/{}?api-version={api}", op.id),
    );
    if location {
        set_header(
            &mut r,
            "location",
            &format!("{prefix}/operationResults/{}?api-version={api}", op.id),
        );
    }
    set_header(&mut r, "retry-after", &retry_after(store, op));
    r
}

/// The `Location` URL of an operation: 202 while running, 200/204 when done, the error if failed.
fn operation_result(
    store: &Store,
    ctx: &Ctx,
    sub: &str,
    id: &str,
    api: &str,
    group: bool,
) -> Result<Response, ApiError> {
    let op = store.operation(sub, id)?;
    match op.status.as_str() {
        "InProgress" => {
            let mut r = empty(StatusCode::ACCEPTED);
            let url = if group {
                format!(
                    "{}/subscriptions/{sub}/operationresults/{id}?api-version={api}",
                    ctx.base
                )
            } else {
                format!(
                    "{}/subscriptions/{sub}/providers/{}/locations/{}/operationResults/{id}?api-version={api}",
                    ctx.base, op.namespace, op.location
                )
            };
            set_header(&mut r, "location", &url);
            let secs = (op.due - ctx.now)
                .num_milliseconds()
                .max(0)
                .div_euclid(1000)
                + 1;
            set_header(&mut r, "retry-after", &secs.to_string());
            Ok(r)
        }
        "Failed" => Err(StoreError::bad(
            "ResourceOperationFailure",
            "The resource operation completed with terminal provisioning state 'Failed'.",
        )
        .into()),
        _ if group => Ok(empty(StatusCode::OK)),
        _ if op.action == crate::emulator::store::OpAction::Delete => {
            Ok(empty(StatusCode::NO_CONTENT))
        }
        _ => Ok(json_response(
            StatusCode::OK,
            Store::operation_status_body(op),
        )),
    }
}

/// `{"value": [...], "nextLink": ...}` honouring `$top` (1–100) and `$skiptoken`.
fn page(
    items: Vec<Value>,
    ctx: &Ctx,
    pairs: &[(String, String)],
    path: &str,
    default_top: usize,
) -> Result<Response, ApiError> {
    let top =
        match crate::emulator::arm_api::query(pairs, "$top") {
            None => default_top,
            Some(t) => match t.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => return Err(StoreError::invalid(format!(
                    "The value '{t}' of $top is invalid; it must be an integer between 1 and 100."
                ))
                .into()),
            },
        };
    let items =
        match crate::emulator::arm_api::query(pairs, "$filter").filter(|f| !f.trim().is_empty()) {
            None => items,
            Some(text) => {
                let filter = crate::emulator::arm_api::odata_filter::NameFilter::parse(text)?;
                items
                    .into_iter()
                    .filter(|i| filter.matches(i["name"].as_str().unwrap_or_default()))
                    .collect()
            }
        };
    let skip = crate::emulator::arm_api::query(pairs, "$skiptoken")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (skip + top).min(items.len());
    let value: Vec<Value> = items
        .get(skip.min(end)..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut out = json!({"value": value});
    if end < items.len() {
        let mut link = url::Url::parse(&format!("{}{path}", ctx.base))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        {
            let mut q = link.query_pairs_mut();
            for (k, v) in pairs {
                if !k.eq_ignore_ascii_case("$top") && !k.eq_ignore_ascii_case("$skiptoken") {
                    q.append_pair(k, v);
                }
            }
            q.append_pair("$top", &top.to_string());
            q.append_pair("$skiptoken", &end.to_string());
        }
        out["nextLink"] = json!(link.to_string());
    }
    Ok(json_response(StatusCode::OK, out))
}

/// PUT/PATCH of an event subscription: prepare (locked), handshake (unlocked), commit (locked).
#[allow(clippy::too_many_arguments)]
async fn write_subscription(
    emu: &Emulator,
    ctx: &Ctx,
    patch: bool,
    scope: &ResourceId,
    style: Style,
    name: &str,
    body: &Value,
    api: &str,
) -> Result<Response, ApiError> {
    let prepared = {
        let mut store = emu.lock();
        store.tick(ctx.now);
        store.require_registered(scope.subscription_id(), EVENT_GRID)?;
        store.prepare_subscription(ctx, scope, style, name, body, patch)?
    };
    let mut prepared = prepared;
    if let Some(hs) = prepared.handshake.clone()
        && let crate::emulator::dataplane::webhook::Validated::Manual(code) =
            crate::emulator::dataplane::webhook::validate(emu, ctx, &hs).await?
    {
        // Azure's window for the manual handshake is 10 minutes.
        prepared.await_manual_validation(&code, ctx.now + chrono::Duration::minutes(10));
    }
    let mut store = emu.lock();
    let result = store.commit_subscription(ctx, prepared, style);
    emu.flush_locked(&mut store)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (_, v, op) = result?;
    Ok(lro(
        json_response(StatusCode::CREATED, v),
        &store,
        ctx,
        &op,
        api,
        false,
    ))
}
