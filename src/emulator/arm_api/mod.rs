//! The ARM front door: parses `/subscriptions/...` paths (case-insensitively) into a `Route`,
//! then checks the bearer token, the `api-version`, throttling and injected faults before handing
//! the route to `arm_handlers`.
//!
//! It must not implement resource semantics (the store does) nor pick error statuses (`error`).

pub mod handlers;
pub mod odata_filter;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};

use crate::emulator::Emulator;
use crate::emulator::error::{ApiError, StoreError};
use crate::emulator::infra::faults::Roll;
use crate::emulator::infra::http::{connection_reset, set_header};
use crate::emulator::infra::throttle::Class;
use crate::emulator::store::{EVENT_GRID, Kind, subscriptions::Style};
use crate::model::id::ResourceId;

/// The Event Grid api-version the emulator speaks.
pub const EVENT_GRID_API: &str = "2025-02-15";
/// Microsoft.Resources api-versions accepted (inclusive range, ISO dates compare as text).
pub const RESOURCES_API: (&str, &str) = ("2021-04-01", "2025-04-01");

/// A parsed ARM request target.
#[derive(Debug, Clone)]
pub enum Route {
    /// `/subscriptions` (the subscriptions the emulator has seen).
    Subscriptions,
    /// `/subscriptions/{s}`.
    Subscription,
    /// `/subscriptions/{s}/providers`.
    Providers,
    /// `/subscriptions/{s}/providers/{ns}`.
    Provider(String),
    /// `/subscriptions/{s}/providers/{ns}/register|unregister`.
    ProviderAction(String, bool),
    /// `/subscriptions/{s}/resourcegroups`.
    Groups,
    /// `/subscriptions/{s}/resourcegroups/{rg}`.
    Group(String),
    /// `/subscriptions/{s}/operationresults/{id}` (resource group deletion).
    GroupOperation(String),
    /// `/subscriptions/{s}/providers/{ns}/locations/{l}/operationsStatus|operationResults/{id}`.
    Operation {
        /// `true` for the `Azure-AsyncOperation` status URL, `false` for `Location`.
        status: bool,
        /// Operation id.
        id: String,
    },
    /// Event Grid list by subscription or resource group.
    EgList(Kind, ResourceId),
    /// One Event Grid resource.
    EgResource(Kind, ResourceId),
    /// A POST action on an Event Grid resource.
    EgAction(Kind, ResourceId, String),
    /// Event subscriptions on a scope.
    SubList(ResourceId, Style),
    /// One event subscription: scope, style, name.
    Sub(ResourceId, Style, String),
    /// A POST action on an event subscription.
    SubAction(ResourceId, Style, String, String),
}

impl Route {
    /// Whether this route belongs to Microsoft.EventGrid (api-version 2025-02-15).
    pub fn is_event_grid(&self) -> bool {
        match self {
            Self::Operation { .. } => false,
            Self::EgList(..) | Self::EgResource(..) | Self::EgAction(..) => true,
            Self::SubList(..) | Self::Sub(..) | Self::SubAction(..) => true,
            _ => false,
        }
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn id_of(segments: &[&str]) -> Option<ResourceId> {
    ResourceId::parse(&segments.join("/")).ok()
}

/// Parses an ARM path; `None` when no emulated route matches.
pub fn parse_route(path: &str) -> Option<(String, Route)> {
    let s: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if s.len() == 1 && eq(s[0], "subscriptions") {
        return Some((String::new(), Route::Subscriptions));
    }
    if s.len() < 2 || !eq(s[0], "subscriptions") {
        return None;
    }
    let sub = s[1].to_string();
    // Extension-style event subscriptions: the last `providers/Microsoft.EventGrid/eventSubscriptions`.
    let ext = (2..s.len().saturating_sub(2)).rev().find(|&i| {
        eq(s[i], "providers") && eq(s[i + 1], EVENT_GRID) && eq(s[i + 2], "eventSubscriptions")
    });
    if let Some(i) = ext {
        let scope = id_of(&s[..i])?;
        let route = match &s[i + 3..] {
            [] => Route::SubList(scope, Style::Extension),
            [name] => Route::Sub(scope, Style::Extension, name.to_string()),
            [name, action] => Route::SubAction(
                scope,
                Style::Extension,
                name.to_string(),
                action.to_string(),
            ),
            _ => return None,
        };
        return Some((sub, route));
    }
    let route = match s.len() {
        2 => Route::Subscription,
        3 if eq(s[2], "providers") => Route::Providers,
        3 if eq(s[2], "resourcegroups") => Route::Groups,
        4 if eq(s[2], "providers") => Route::Provider(s[3].to_string()),
        4 if eq(s[2], "resourcegroups") => Route::Group(s[3].to_string()),
        4 if eq(s[2], "operationresults") => Route::GroupOperation(s[3].to_string()),
        5 if eq(s[2], "providers") && (eq(s[4], "register") || eq(s[4], "unregister")) => {
            Route::ProviderAction(s[3].to_string(), eq(s[4], "register"))
        }
        5 if eq(s[2], "providers") && eq(s[3], EVENT_GRID) => {
            Route::EgList(Kind::from_collection(s[4])?, id_of(&s[..2])?)
        }
        8 if eq(s[2], "providers") && eq(s[4], "locations") => {
            let status = eq(s[6], "operationsStatus") || eq(s[6], "operationStatuses");
            if !status && !eq(s[6], "operationResults") {
                return None;
            }
            Route::Operation {
                status,
                id: s[7].to_string(),
            }
        }
        n if n >= 7
            && eq(s[2], "resourcegroups")
            && eq(s[4], "providers")
            && eq(s[5], EVENT_GRID) =>
        {
            let kind = Kind::from_collection(s[6]).filter(|k| *k != Kind::EventSubscription)?;
            let nested =
                |k: Kind| matches!(k, Kind::Topic | Kind::SystemTopic | Kind::PartnerTopic);
            match n {
                7 => Route::EgList(kind, id_of(&s[..4])?),
                8 => Route::EgResource(kind, id_of(&s[..8])?),
                9 if eq(s[8], "eventSubscriptions") && nested(kind) => {
                    Route::SubList(id_of(&s[..8])?, Style::Nested(kind))
                }
                9 => Route::EgAction(kind, id_of(&s[..8])?, s[8].to_string()),
                10 if eq(s[8], "eventSubscriptions") && nested(kind) => {
                    Route::Sub(id_of(&s[..8])?, Style::Nested(kind), s[9].to_string())
                }
                11 if eq(s[8], "eventSubscriptions") && nested(kind) => Route::SubAction(
                    id_of(&s[..8])?,
                    Style::Nested(kind),
                    s[9].to_string(),
                    s[10].to_string(),
                ),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some((sub, route))
}

/// The query parameters, first value wins, names compared case-insensitively by callers.
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// One query parameter, case-insensitively.
pub fn query<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| eq(k, name))
        .map(|(_, v)| v.as_str())
}

fn check_api_version(route: &Route, version: Option<&str>) -> Result<(), ApiError> {
    let Some(version) = version else {
        return Err(ApiError::MissingApiVersion);
    };
    if route.is_event_grid() {
        if version == EVENT_GRID_API {
            return Ok(());
        }
        return Err(ApiError::InvalidApiVersion {
            code: "NoRegisteredProviderFound",
            message: format!(
                "No registered resource provider found for API version '{version}' for namespace '{EVENT_GRID}'. The supported api-versions are '{EVENT_GRID_API}'."
            ),
        });
    }
    if matches!(route, Route::Operation { .. }) {
        return Ok(());
    }
    let valid_date =
        version.len() == 10 && chrono::NaiveDate::parse_from_str(version, "%Y-%m-%d").is_ok();
    if valid_date && version >= RESOURCES_API.0 && version <= RESOURCES_API.1 {
        return Ok(());
    }
    Err(ApiError::InvalidApiVersion {
        code: "InvalidApiVersionParameter",
        message: format!(
            "The api-version '{version}' is invalid. The supported versions are between '{}' and '{}'.",
            RESOURCES_API.0, RESOURCES_API.1
        ),
    })
}

fn check_token(emu: &Emulator, headers: &HeaderMap) -> Result<(), ApiError> {
    if !emu.config().require_auth {
        return Ok(());
    }
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        return Err(ApiError::Unauthorized(
            "Authentication failed. The 'Authorization' header is missing.".into(),
        ));
    };
    let key = emu.lock().signing_key.clone();
    crate::emulator::identity::entra::verify(&key, token.trim(), emu.clock.now())
        .map(|_| ())
        .map_err(|why| ApiError::Unauthorized(format!("The access token is invalid: {why}.")))
}

/// The fallback handler: every ARM request lands here.
pub async fn dispatch(
    State(emu): State<Emulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&emu, &method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run(
    emu: &Emulator,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some((sub, route)) = parse_route(uri.path()) else {
        return Err(ApiError::NoRoute {
            method: method.to_string(),
            path: uri.path().to_string(),
        });
    };
    check_token(emu, headers)?;
    if !matches!(route, Route::Subscriptions) && uuid::Uuid::parse_str(&sub).is_err() {
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
    let now = emu.clock.now();
    let remaining = emu.throttle().take(&sub, class, now)?;
    let roll: Roll = emu.faults().roll(matches!(
        method,
        &Method::PUT | &Method::PATCH | &Method::DELETE | &Method::POST
    ));
    if !roll.extra_latency.is_zero() {
        tokio::time::sleep(roll.extra_latency).await;
    }
    if roll.reset {
        return Ok(connection_reset());
    }
    if let Some(err) = roll.error {
        return Err(match err {
            ApiError::Throttled { retry_after, .. } => ApiError::Throttled {
                subscription: sub,
                class: class.word(),
                retry_after,
            },
            other => other,
        });
    }
    let mut response = crate::emulator::arm_api::handlers::handle(
        emu,
        method,
        &sub,
        route,
        &pairs,
        headers,
        body,
        roll.lro_fail,
    )
    .await?;
    if let Some(remaining) = remaining {
        set_header(&mut response, class.header(), &remaining.to_string());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_route_shapes() {
        let p = |s: &str| parse_route(s).map(|(_, r)| format!("{r:?}"));
        assert!(
            p("/subscriptions/s/resourcegroups/rg")
                .unwrap()
                .starts_with("Group")
        );
        assert!(
            p("/subscriptions/s/providers/Microsoft.EventGrid/register")
                .unwrap()
                .starts_with("ProviderAction")
        );
        assert!(
            p("/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t")
                .unwrap()
                .starts_with("EgResource(Topic")
        );
        assert!(
            p("/subscriptions/s/resourceGroups/rg/providers/microsoft.eventgrid/topics/t/listKeys")
                .unwrap()
                .starts_with("EgAction")
        );
        assert!(p("/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/systemTopics/t/eventSubscriptions/x").unwrap().starts_with("Sub("));
        assert!(p("/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t/providers/Microsoft.EventGrid/eventSubscriptions/x/getFullUrl").unwrap().starts_with("SubAction"));
        assert!(
            p("/subscriptions/s/providers/Microsoft.EventGrid/eventSubscriptions")
                .unwrap()
                .starts_with("SubList")
        );
        assert!(
            p("/subscriptions/s/providers/Microsoft.EventGrid/locations/eastus/operationsStatus/x")
                .unwrap()
                .starts_with("Operation")
        );
        assert!(
            p("/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/widgets/t")
                .is_none()
        );
        assert!(p("/nothing").is_none());
    }
}
