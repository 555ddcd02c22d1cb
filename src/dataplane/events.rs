//! Event bodies the data-plane client builds: generated test events in a topic's schema, and
//! the shapes Auth0 (CloudEvents log events), Microsoft Graph (change notifications and the
//! reauthorization lifecycle event) and Azure SignalR Service (`ClientConnection*`) send, for
//! the emulator to emit on their behalf.

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

/// A Microsoft Graph change notification as a CloudEvent (`Microsoft.Graph.{Kind}{Change}`,
/// e.g. `Microsoft.Graph.UserUpdated` for `resource` `Users/{id}` and `change_type` `updated`);
/// the emulator fills `source` and the subscription's `data` fields (and
/// `resourceData.organizationId`) when it emits it.
pub fn graph_event(change_type: &str, resource: &str, id: &str, now: &str) -> Value {
    let kind = graph_resource_kind(resource);
    let mut change = change_type.to_ascii_lowercase();
    if let Some(first) = change.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    json!({
        "specversion": "1.0",
        "id": id,
        "source": "gridform-emulator",
        "type": format!("Microsoft.Graph.{kind}{change}"),
        "subject": resource,
        "time": now,
        "datacontenttype": "application/json",
        "data": {
            "changeType": change_type,
            "resource": resource,
            "resourceData": {
                "@odata.type": format!("#Microsoft.Graph.{kind}"),
                "@odata.id": resource,
                "id": resource.rsplit('/').next().unwrap_or(resource),
            },
        }
    })
}

/// Microsoft Graph's `SubscriptionReauthorizationRequired` lifecycle event as a CloudEvent;
/// the emulator fills `source` and the subscription's `data` fields when it emits it.
pub fn graph_reauthorization_event(id: &str, now: &str) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": "gridform-emulator",
        "type": "Microsoft.Graph.SubscriptionReauthorizationRequired",
        "time": now,
        "datacontenttype": "application/json",
        "data": {"lifecycleEvent": "reauthorizationRequired"},
    })
}

/// `User` for `Users/{id}` or `users`, `Group` for groups, `Message` for `…/messages/{id}`, …:
/// the singular of the last collection segment, capitalized.
fn graph_resource_kind(resource: &str) -> String {
    let collection = resource
        .split('/')
        .rev()
        .find(|s| s.ends_with('s') || s.ends_with("s')"))
        .unwrap_or(resource);
    let plain = collection
        .split('(')
        .next()
        .unwrap_or(collection)
        .trim_end_matches('s');
    let mut out = plain.to_string();
    if let Some(first) = out.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    out
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

#[cfg(test)]
mod graph_event_tests {
    use super::{graph_event, graph_reauthorization_event};

    #[test]
    fn graph_event_types_follow_the_resource_and_change() {
        let e = graph_event("updated", "Users/0f1e", "id-1", "2026-12-07T00:00:00Z");
        assert_eq!(e["type"], "Microsoft.Graph.UserUpdated");
        assert_eq!(e["subject"], "Users/0f1e");
        let e = graph_event("deleted", "groups", "id-2", "t");
        assert_eq!(e["type"], "Microsoft.Graph.GroupDeleted");
        let e = graph_event("created", "me/mailFolders('Inbox')/messages", "id-3", "t");
        assert_eq!(e["type"], "Microsoft.Graph.MessageCreated");
        let e = graph_event("updated", "Users/0f1e", "id-4", "t");
        assert_eq!(e["data"]["resourceData"]["id"], "0f1e");
        assert_eq!(
            e["data"]["resourceData"]["@odata.type"],
            "#Microsoft.Graph.User"
        );
        let e = graph_reauthorization_event("id-5", "t");
        assert_eq!(
            e["type"],
            "Microsoft.Graph.SubscriptionReauthorizationRequired"
        );
    }
}
