//! The aggregated event subscription lists the spec defines under a subscription or resource
//! group: regional (`locations/{l}/eventSubscriptions`), global by topic type
//! (`topicTypes/{t}/eventSubscriptions`) and regional by topic type (both). Global sources are
//! the subscription and its resource groups; regional ones the topics, system topics and
//! partner topics in the scope, with their location.
//!
//! It only gathers what the store's public lists return; it must not decide subscription
//! semantics.

use axum::response::Response;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::emulator::arm_api::paging::page;
use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::AggregateList;
use crate::emulator::error::ArmApiError;
use crate::emulator::store::groups::same_location;
use crate::emulator::store::subscriptions::Style;
use crate::emulator::store::{EVENT_GRID, Kind, Store};
use crate::model::id::ResourceId;

/// One place event subscriptions can hang on.
struct Source {
    scope: ResourceId,
    topic_type: String,
    /// `None` for global sources.
    location: Option<String>,
}

fn global_sources(store: &Store, scope: &ResourceId) -> Vec<Source> {
    let global = |scope: ResourceId, topic_type: &str| Source {
        scope,
        topic_type: topic_type.to_string(),
        location: None,
    };
    if scope.resource_group_name().is_some() {
        return vec![global(scope.clone(), "Microsoft.Resources.ResourceGroups")];
    }
    let sub = scope.subscription_id();
    let mut out = vec![global(scope.clone(), "Microsoft.Resources.Subscriptions")];
    for group in store.list_groups(sub) {
        if let Some(id) = group["id"].as_str().and_then(|i| ResourceId::parse(i).ok()) {
            out.push(global(id, "Microsoft.Resources.ResourceGroups"));
        }
    }
    out
}

fn regional_sources(store: &Store, scope: &ResourceId) -> Vec<Source> {
    let kinds = [
        (Kind::Topic, "Microsoft.EventGrid.Topics"),
        (Kind::SystemTopic, ""),
        (Kind::PartnerTopic, "Microsoft.EventGrid.PartnerTopics"),
    ];
    let mut out = Vec::new();
    for (kind, fixed_type) in kinds {
        for body in store.eg_list(kind, scope).unwrap_or_default() {
            let Some(id) = body["id"].as_str().and_then(|i| ResourceId::parse(i).ok()) else {
                continue;
            };
            let topic_type = match body["properties"]["topicType"].as_str() {
                Some(t) if fixed_type.is_empty() => t.to_string(),
                _ => fixed_type.to_string(),
            };
            let location = body["location"].as_str().map(str::to_string);
            out.push(Source {
                scope: id,
                topic_type,
                location,
            });
        }
    }
    out
}

/// Runs one aggregated list (GET only; the front door refuses other methods by route).
pub fn execute(
    store: &Store,
    req: &ArmRequest<'_>,
    list: AggregateList,
) -> Result<Response, ArmApiError> {
    if !req.is_read() {
        return Err(ArmApiError::MethodNotAllowed(req.method.to_string()));
    }
    store.require_group(&list.scope)?;
    let sources = match &list.location {
        Some(_) => regional_sources(store, &list.scope),
        None => global_sources(store, &list.scope),
    };
    let mut items: Vec<Value> = Vec::new();
    for source in sources {
        let in_location = match (&list.location, &source.location) {
            (Some(wanted), Some(have)) => same_location(wanted, have),
            (Some(_), None) => false,
            (None, _) => true,
        };
        let of_type = list
            .topic_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(&source.topic_type));
        if in_location && of_type {
            items.extend(
                store
                    .list_subscriptions(&source.scope, Style::Extension)
                    .unwrap_or_default(),
            );
        }
    }
    let mut path = format!("{}/providers/{EVENT_GRID}", list.scope.as_str());
    let escaped = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    if let Some(l) = &list.location {
        path.push_str(&format!("/locations/{}", escaped(l)));
    }
    if let Some(t) = &list.topic_type {
        path.push_str(&format!("/topicTypes/{}", escaped(t)));
    }
    path.push_str("/eventSubscriptions");
    page(items, req, &path, 100)
}
