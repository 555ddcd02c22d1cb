//! `POST /_emulator/graph/subscriptions/{id}/events`: makes the simulated Microsoft Graph send
//! change notifications (or lifecycle events) of one Graph subscription to its partner topic,
//! as `events::partner_publish` does for Auth0.
//!
//! Each event gets what Graph fills in (`store::graph::stamp_subscription`: `source`,
//! `data.subscriptionId`, `data.clientState`, `data.tenantId`,
//! `data.subscriptionExpirationDateTime`); delivery is `dataplane::outbox`'s. It must not change
//! ARM resources or the subscription.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::events::{PARTNER_REFUSED, partner_events, publish_as_partner};
use crate::emulator::error::{ControlError, EmulatorError};
use crate::emulator::infra::http::ok_json;
use crate::emulator::instance::Emulator;
use crate::emulator::store::graph::stamp_subscription;

/// `POST /_emulator/graph/subscriptions/{id}/events` with a JSON array of CloudEvents: 404 for
/// an unknown or expired subscription, 409 when its partner topic is missing or not `Activated`
/// (Graph would drop them).
pub async fn graph_publish(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, EmulatorError> {
    let events = partner_events(&body)?;
    let (sub, topic) = {
        let mut store = emu.lock();
        let Some(sub) = store.graph_subscription(emu.clock.now(), &id) else {
            return Err(ControlError::NotFound {
                code: PARTNER_REFUSED,
                message: format!("Graph subscription '{id}' does not exist (or expired)"),
            }
            .into());
        };
        let topic = store.activated_partner_topic(&sub.topic_id());
        (sub, topic)
    };
    let Some(topic) = topic else {
        return Err(ControlError::Conflict {
            code: PARTNER_REFUSED,
            message:
                "the partner topic is missing or not activated; Microsoft Graph drops the events"
                    .into(),
        }
        .into());
    };
    let events = events
        .into_iter()
        .map(|e| stamp_subscription(e, &sub))
        .collect();
    let delivered = publish_as_partner(&emu, &topic, events, PARTNER_REFUSED)?;
    Ok(ok_json(json!({ "deliveries": delivered })))
}
