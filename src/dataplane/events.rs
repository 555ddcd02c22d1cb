//! Event bodies the data-plane client builds: generated test events in a topic's schema, and
//! the shapes Auth0 (CloudEvents log events) and Azure SignalR Service (`ClientConnection*`)
//! send, for the emulator to emit on their behalf.

use serde_json::{Value, json};

use super::PublishSchema;

/// A generated event in `schema` (for `publish` and `verify`).
pub fn make_event(
    schema: PublishSchema,
    id: &str,
    event_type: &str,
    subject: &str,
    data: Value,
    now: &str,
) -> Value {
    match schema {
        PublishSchema::CloudEvents => json!({
            "specversion": "1.0", "id": id, "source": "gridform", "type": event_type,
            "subject": subject, "time": now, "data": data,
        }),
        _ => json!({
            "id": id, "subject": subject, "eventType": event_type, "eventTime": now,
            "dataVersion": "1.0", "data": data,
        }),
    }
}

/// An Auth0 log event as the Auth0 partner sends it (CloudEvents 1.0).
pub fn auth0_event(code: &str, id: &str, now: &str) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": "gridform-emulator",
        "type": format!("auth0.log.{code}"),
        "time": now,
        "datacontenttype": "application/json",
        "data": {
            "log_id": id,
            "date": now,
            "type": code,
            "description": "emitted by gridform emulator emit",
            "client_id": "gridform-emulator",
            "client_name": "gridform",
            "user_id": "auth0|gridform",
        }
    })
}

/// A SignalR `ClientConnection*` event (Event Grid schema) with Azure's data fields.
pub fn signalr_event(source: &str, hub: &str, connected: bool, id: &str, now: &str) -> Value {
    let kind = if connected {
        "Connected"
    } else {
        "Disconnected"
    };
    let mut data = json!({
        "timestamp": now,
        "hubName": hub,
        "connectionId": id,
        "userId": "gridform-user",
    });
    if !connected {
        data["errorMessage"] = json!("Internal server error.");
    }
    json!({
        "id": id,
        "topic": source,
        "subject": format!("/hub/{hub}"),
        "eventType": format!("Microsoft.SignalRService.ClientConnection{kind}"),
        "eventTime": now,
        "data": data,
        "dataVersion": "1.0",
        "metadataVersion": "1",
    })
}
