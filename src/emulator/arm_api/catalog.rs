//! The tenant-level Event Grid catalogs: `GET /providers/Microsoft.EventGrid/verifiedPartners`
//! (Auth0, under the immutable id partner configurations authorize) and `topicTypes` with their
//! `eventTypes` (the system-topic sources the emulator knows, SignalR among them).
//!
//! Fixed data, no store: it must not list partners or topic types the emulator cannot serve.

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::arm_api::route::CatalogRoute;
use crate::emulator::error::ArmApiError;
use crate::emulator::infra::http::ok_json;
use crate::emulator::store::auth0::{AUTH0_PARTNER_ID, AUTH0_PARTNER_NAME};
use crate::emulator::store::graph::{GRAPH_PARTNER_ID, GRAPH_PARTNER_NAME};
use crate::emulator::store::{EVENT_GRID, StoreError};

/// A topic type: name, display name, region type, event types (name, display name).
struct TopicType {
    name: &'static str,
    display: &'static str,
    global: bool,
    source_format: &'static str,
    event_types: &'static [(&'static str, &'static str)],
}

const RESOURCE_EVENTS: &[(&str, &str)] = &[
    (
        "Microsoft.Resources.ResourceWriteSuccess",
        "Resource Write Success",
    ),
    (
        "Microsoft.Resources.ResourceWriteFailure",
        "Resource Write Failure",
    ),
    (
        "Microsoft.Resources.ResourceDeleteSuccess",
        "Resource Delete Success",
    ),
];

/// The system-topic sources the emulator accepts (custom topics have no fixed event types).
const TOPIC_TYPES: &[TopicType] = &[
    TopicType {
        name: "Microsoft.Resources.Subscriptions",
        display: "Azure Subscriptions",
        global: true,
        source_format: "/subscriptions/{subscriptionId}",
        event_types: RESOURCE_EVENTS,
    },
    TopicType {
        name: "Microsoft.Resources.ResourceGroups",
        display: "Resource Groups",
        global: true,
        source_format: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
        event_types: RESOURCE_EVENTS,
    },
    TopicType {
        name: "Microsoft.EventGrid.Topics",
        display: "Event Grid Topics",
        global: false,
        source_format: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.EventGrid/topics/{topicName}",
        event_types: &[],
    },
    TopicType {
        name: "Microsoft.SignalRService.SignalR",
        display: "Azure SignalR Service",
        global: false,
        source_format: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.SignalRService/SignalR/{signalRName}",
        event_types: &[
            (
                "Microsoft.SignalRService.ClientConnectionConnected",
                "Client Connection Connected",
            ),
            (
                "Microsoft.SignalRService.ClientConnectionDisconnected",
                "Client Connection Disconnected",
            ),
        ],
    },
    TopicType {
        name: "Microsoft.Storage.StorageAccounts",
        display: "Storage Accounts (Blob & GPv2)",
        global: false,
        source_format: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{storageAccountName}",
        event_types: &[
            ("Microsoft.Storage.BlobCreated", "Blob Created"),
            ("Microsoft.Storage.BlobDeleted", "Blob Deleted"),
        ],
    },
];

/// Runs one catalog request (GET only).
pub fn execute(req: &ArmRequest<'_>, route: CatalogRoute) -> Result<Response, ArmApiError> {
    if req.method != Method::GET {
        return Err(ArmApiError::MethodNotAllowed(req.method.to_string()));
    }
    let body = match route {
        CatalogRoute::VerifiedPartners => {
            json!({"value": VERIFIED_PARTNERS.iter().map(verified_partner).collect::<Vec<_>>()})
        }
        CatalogRoute::VerifiedPartner(name) => {
            match VERIFIED_PARTNERS
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&name))
            {
                Some(p) => verified_partner(p),
                None => return Err(not_found("verifiedPartners", &name).into()),
            }
        }
        CatalogRoute::TopicTypes => {
            json!({"value": TOPIC_TYPES.iter().map(topic_type_body).collect::<Vec<_>>()})
        }
        CatalogRoute::TopicType(name) => topic_type_body(find(&name)?),
        CatalogRoute::EventTypes(name) => {
            let t = find(&name)?;
            let value: Vec<Value> = t
                .event_types
                .iter()
                .map(|(event, display)| event_type_body(t, event, display))
                .collect();
            json!({ "value": value })
        }
    };
    Ok(ok_json(body))
}

fn not_found(collection: &str, name: &str) -> StoreError {
    StoreError::NotFound {
        type_name: format!("{EVENT_GRID}/{collection}"),
        name: name.to_string(),
        group: String::new(),
    }
}

fn find(name: &str) -> Result<&'static TopicType, StoreError> {
    TOPIC_TYPES
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| not_found("topicTypes", name))
}

/// Whether `name` is a topic type the emulator knows (case-insensitively).
pub fn is_known_topic_type(name: &str) -> bool {
    find(name).is_ok()
}

/// A verified partner: name, immutable id, description and setup page.
struct VerifiedPartner {
    name: &'static str,
    id: &'static str,
    description: &'static str,
    long_description: &'static str,
    setup: &'static str,
}

const VERIFIED_PARTNERS: &[VerifiedPartner] = &[
    VerifiedPartner {
        name: AUTH0_PARTNER_NAME,
        id: AUTH0_PARTNER_ID,
        description: "Auth0 log streams delivered as Event Grid partner events (emulated).",
        long_description: "An Auth0 log stream of type eventgrid creates a partner topic in the Azure subscription, resource group and region it names.",
        setup: "https://auth0.com/docs/customize/log-streams/event-grid",
    },
    VerifiedPartner {
        name: GRAPH_PARTNER_NAME,
        id: GRAPH_PARTNER_ID,
        description: "Microsoft Graph change notifications delivered as Event Grid partner events (emulated).",
        long_description: "A Microsoft Graph subscription whose notificationUrl is EventGrid:?... creates a partner topic in the Azure subscription, resource group and region it names.",
        setup: "https://learn.microsoft.com/azure/event-grid/subscribe-to-graph-api-events",
    },
];

fn verified_partner(p: &VerifiedPartner) -> Value {
    json!({
        "id": format!("/providers/{EVENT_GRID}/verifiedPartners/{}", p.name),
        "name": p.name,
        "type": format!("{EVENT_GRID}/verifiedPartners"),
        "properties": {
            "partnerRegistrationImmutableId": p.id,
            "organizationName": p.name,
            "partnerDisplayName": p.name,
            "partnerTopicDetails": {
                "description": p.description,
                "longDescription": p.long_description,
                "setupUri": p.setup,
            },
            "provisioningState": "Succeeded",
        },
    })
}

fn topic_type_body(t: &TopicType) -> Value {
    let (region, scopes) = if t.global {
        (
            "GlobalResource",
            json!(["AzureSubscription", "ResourceGroup"]),
        )
    } else {
        ("RegionalResource", json!(["Resource"]))
    };
    json!({
        "id": format!("/providers/{EVENT_GRID}/topicTypes/{}", t.name),
        "name": t.name,
        "type": format!("{EVENT_GRID}/topicTypes"),
        "properties": {
            "provider": t.name.rsplit_once('.').map(|(ns, _)| ns).unwrap_or(t.name),
            "displayName": t.display,
            "description": format!("{} as an Event Grid source (emulated).", t.display),
            "resourceRegionType": region,
            "provisioningState": "Succeeded",
            "sourceResourceFormat": t.source_format,
            "supportedScopesForSource": scopes,
            "areRegionalAndGlobalSourcesSupported": false,
        },
    })
}

fn event_type_body(t: &TopicType, event: &str, display: &str) -> Value {
    json!({
        "id": format!("/providers/{EVENT_GRID}/topicTypes/{}/eventTypes/{event}", t.name),
        "name": event,
        "type": format!("{EVENT_GRID}/topicTypes/eventTypes"),
        "properties": {
            "displayName": display,
            "description": format!("{display} ({}).", t.display),
            "schemaUrl": "https://github.com/Azure/azure-rest-api-specs/tree/main/specification/eventgrid/data-plane",
            "isInDefaultSet": true,
        },
    })
}
