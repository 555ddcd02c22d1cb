//! The ARM front door: the axum fallback every `/subscriptions/...` request lands in. It parses
//! the path (`route`), then checks the bearer token, the subscription id, the `api-version`,
//! throttling and injected faults, builds the `ArmRequest` and hands it to `handlers`.
//!
//! It must not implement resource semantics (the store does) nor pick statuses (`error` does).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::emulator::arm_api::handlers;
use crate::emulator::arm_api::request::{ArmRequest, parse_body};
use crate::emulator::arm_api::route::{
    ArmRoute, EVENT_GRID_API, EVENT_GRID_APIS, RESOURCES_API, parse_route, query, query_pairs,
};
use crate::emulator::error::{ArmApiError, EmulatorError};
use crate::emulator::identity::jwt::{Audience, check_audience};
use crate::emulator::infra::faults::{InjectedFailure, Roll};
use crate::emulator::infra::http::{base_url, connection_reset, set_header};
use crate::emulator::infra::throttle::Class;
use crate::emulator::instance::Emulator;
use crate::emulator::server::ARM_BODY_LIMIT;
use crate::emulator::store::StoreError;
use crate::emulator::store::{Ctx, EVENT_GRID};

fn check_api_version(route: &ArmRoute, version: Option<&str>) -> Result<(), ArmApiError> {
    let Some(version) = version else {
        return Err(ArmApiError::MissingApiVersion);
    };
    if route.is_event_grid() {
        if EVENT_GRID_APIS.contains(&version) {
            return Ok(());
        }
        return Err(ArmApiError::InvalidApiVersion {
            code: "NoRegisteredProviderFound",
            message: format!(
                "No registered resource provider found for API version '{version}' for namespace '{EVENT_GRID}'. The supported api-versions are '{}'.",
                EVENT_GRID_APIS.join(", ")
            ),
        });
    }
    if matches!(route, ArmRoute::Operation(_)) {
        return Ok(());
    }
    let valid_date =
        version.len() == 10 && chrono::NaiveDate::parse_from_str(version, "%Y-%m-%d").is_ok();
    if valid_date && version >= RESOURCES_API.0 && version <= RESOURCES_API.1 {
        return Ok(());
    }
    Err(ArmApiError::InvalidApiVersion {
        code: "InvalidApiVersionParameter",
        message: format!(
            "The api-version '{version}' is invalid. The supported versions are between '{}' and '{}'.",
            RESOURCES_API.0, RESOURCES_API.1
        ),
    })
}

/// Checks the bearer token; returns the caller's tenant (`tid`), `None` without auth.
fn check_token(emu: &Emulator, headers: &HeaderMap) -> Result<Option<String>, ArmApiError> {
    if !emu.config().require_auth {
        return Ok(None);
    }
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        return Err(ArmApiError::Unauthorized(
            "Authentication failed. The 'Authorization' header is missing.".into(),
        ));
    };
    let key = emu.lock().signing_key.clone();
    let claims = crate::emulator::identity::jwt::verify(&key, token.trim(), emu.clock.now())
        .map_err(|why| ArmApiError::Unauthorized(format!("The access token is invalid: {why}.")))?;
    check_audience(&claims, Audience::Arm, &base_url(emu, headers))
        .map_err(ArmApiError::WrongAudience)?;
    Ok(claims["tid"].as_str().map(str::to_string))
}

/// The fallback handler: every ARM request lands here.
pub async fn dispatch(
    State(emu): State<Emulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return EmulatorError::from(ArmApiError::TooLarge(ARM_BODY_LIMIT)).into_response();
        }
        Err(e) => {
            let why = format!("The request body could not be read: {e}.");
            return EmulatorError::from(ArmApiError::InvalidBody(why)).into_response();
        }
    };
    match run(&emu, &method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(e) => EmulatorError::from(e).into_response(),
    }
}

async fn run(
    emu: &Emulator,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ArmApiError> {
    let Some((sub, route)) = parse_route(uri.path()) else {
        return Err(ArmApiError::NoRoute {
            method: method.to_string(),
            path: uri.path().to_string(),
        });
    };
    let tenant = check_token(emu, headers)?;
    if !route.is_tenant_level() && uuid::Uuid::parse_str(&sub).is_err() {
        return Err(StoreError::bad(
            "InvalidSubscriptionId",
            format!("The provided subscription identifier '{sub}' is malformed or invalid."),
        )
        .into());
    }
    let pairs = query_pairs(uri);
    check_api_version(&route, query(&pairs, "api-version"))?;
    let class = match *method {
        Method::GET | Method::HEAD => Class::Read,
        Method::DELETE => Class::Delete,
        _ => Class::Write,
    };
    let throttled = |retry_after| ArmApiError::Throttled {
        subscription: sub.clone(),
        class: class.word(),
        retry_after,
    };
    let remaining = emu
        .throttle()
        .take(&sub, class, emu.clock.now())
        .map_err(|e| throttled(e.retry_after))?;
    let roll = roll_faults(emu, method).await;
    if roll.reset {
        return Ok(connection_reset());
    }
    match roll.error {
        Some(InjectedFailure::ServerError(code)) => return Err(ArmApiError::InjectedFault(code)),
        Some(InjectedFailure::Throttled) => return Err(throttled(1)),
        None => {}
    }
    let request = ArmRequest {
        emu,
        method: method.clone(),
        api_version: query(&pairs, "api-version")
            .unwrap_or(EVENT_GRID_API)
            .to_string(),
        subscription: sub,
        tenant,
        query: pairs,
        body: parse_body(&body)?,
        ctx: Ctx {
            now: emu.clock.now(),
            base: base_url(emu, headers),
            delay: chrono::Duration::from_std(emu.config().lro_delay).unwrap_or_default(),
            fail_lro: roll.lro_fail,
        },
    };
    let mut response = handlers::handle(request, route).await?;
    if let Some(remaining) = remaining {
        set_header(&mut response, class.header(), &remaining.to_string());
    }
    Ok(response)
}

/// Rolls the injected faults for this request and sleeps the injected latency.
async fn roll_faults(emu: &Emulator, method: &Method) -> Roll {
    let writes = matches!(
        *method,
        Method::PUT | Method::PATCH | Method::DELETE | Method::POST
    );
    let roll = emu.faults().roll(writes);
    if !roll.extra_latency.is_zero() {
        tokio::time::sleep(roll.extra_latency).await;
    }
    roll
}
