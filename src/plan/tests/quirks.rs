//! Normalization tests, each named after the Azure behaviour it absorbs: what GET returns
//! differently from what was PUT must never show as a change.

use serde_json::{Value, json};

use super::*;

pub(super) fn sub_body() -> Value {
    json!({"properties": {
        "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "https://h.example.com/x?code=secret"}},
        "filter": {"includedEventTypes": ["B", "A"], "advancedFilters": [{"operatorType": "StringIn", "key": "data.t", "values": ["y", "x"]}]},
        "labels": ["gridform-stack=s1", "team"]
    }})
}

#[track_caller]
fn assert_same(kind: ResourceKind, desired: Value, live: Value) {
    let changes = diff(kind, Some(&live), &desired);
    assert!(changes.is_empty(), "{changes:#?}");
}

#[test]
fn quirk_webhook_url_is_returned_as_endpoint_base_url_without_query() {
    let live = json!({"properties": {
        "destination": {"endpointType": "WebHook", "properties": {"endpointBaseUrl": "https://h.example.com/x", "maxEventsPerBatch": 1, "preferredBatchSizeInKilobytes": 64}},
        "filter": {"includedEventTypes": ["A", "B"], "advancedFilters": [{"operatorType": "StringIn", "key": "data.t", "values": ["x", "y"]}]},
        "labels": ["team", "gridform-stack=s1", "gridform-secrets=abc:123"]
    }});
    assert_same(ResourceKind::EventSubscription, sub_body(), live);
}

#[test]
fn quirk_server_fills_defaults_and_read_only_fields() {
    let live = json!({"id": "/x", "name": "n", "type": "Microsoft.EventGrid/topics/eventSubscriptions", "systemData": {},
        "properties": {"topic": "/subscriptions/x", "provisioningState": "Succeeded", "eventDeliverySchema": "EventGridSchema",
        "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}, "labels": null,
        "destination": {"properties": {"endpointBaseUrl": "https://h.example.com/x"}, "endpointType": "WebHook"},
        "filter": {"subjectBeginsWith": "", "subjectEndsWith": "", "isSubjectCaseSensitive": false,
                   "includedEventTypes": ["A", "B"], "advancedFilters": [{"operatorType": "StringIn", "key": "data.t", "values": ["x", "y"]}]}}});
    let mut desired = sub_body();
    desired["properties"]["labels"] = json!([]);
    assert_same(ResourceKind::EventSubscription, desired, live);
}

#[test]
fn quirk_ids_locations_and_enums_compare_case_insensitively() {
    let desired = json!({"location": "westeurope", "properties": {"source": "/subscriptions/S/resourceGroups/rg/providers/Microsoft.SignalRService/SignalR/chat", "topicType": "Microsoft.SignalRService.SignalR"}});
    let live = json!({"location": "West Europe", "properties": {"source": "/subscriptions/s/resourcegroups/rg/providers/microsoft.signalrservice/signalr/chat", "topicType": "microsoft.signalrservice.signalr", "metricResourceId": "g"}});
    assert_same(ResourceKind::SystemTopic, desired, live);
}

#[test]
fn a_stack_lease_on_a_resource_group_is_not_drift() {
    let desired = json!({"location": "westeurope", "tags": {"gridform-stack": "s1", "team": "a"}});
    let live = json!({"location": "westeurope", "tags": {"gridform-stack": "s1", "team": "a",
        "gridform-lease": "0f3c", "gridform-lease-holder": "ana@ci pid 7 (gridform apply)",
        "gridform-lease-since": "2030-01-01T00:00:00Z", "gridform-lease-expires": "2030-01-01T00:10:00Z"}});
    assert_same(ResourceKind::ResourceGroup, desired, live);
}

#[test]
fn quirk_topic_get_is_sparse_and_omits_schema_defaults() {
    let desired = json!({"location": "westeurope", "tags": {"gridform-stack": "s1"}, "properties": {"inputSchema": "EventGridSchema", "publicNetworkAccess": "Enabled"}});
    let live = json!({"location": "westeurope", "tags": {"gridform-stack": "s1"}, "properties": {"endpoint": "https://t.eventgrid.azure.net/api/events", "provisioningState": "Succeeded"}});
    assert_same(ResourceKind::Topic, desired, live);
}

#[test]
fn quirk_secret_delivery_attribute_values_are_hidden_on_get() {
    let attrs = |value: Value| {
        json!({"properties": {"destination": {"endpointType": "EventHub", "properties": {"resourceId": "/subscriptions/s/rg/x",
        "deliveryAttributeMappings": [{"name": "k", "type": "Static", "properties": {"value": value, "isSecret": true}},
                                      {"name": "d", "type": "Dynamic", "properties": {"sourceField": "data.x"}}]}}}})
    };
    assert_same(
        ResourceKind::EventSubscription,
        attrs(json!("s3cret")),
        attrs(Value::Null),
    );
}

#[test]
fn quirk_partner_configuration_days_default_to_seven_and_expiry_is_not_diffed() {
    let desired = json!({"location": "global", "properties": {"partnerAuthorization": {"authorizedPartnersList": [{"partnerName": "Auth0", "partnerRegistrationImmutableId": "ABC", "authorizationExpirationTimeInUtc": "2026-12-01T00:00:00Z"}]}}});
    let live = json!({"properties": {"partnerAuthorization": {"defaultMaximumExpirationTimeInDays": 7, "authorizedPartnersList": [{"partnerName": "Auth0", "partnerRegistrationImmutableId": "abc", "authorizationExpirationTimeInUtc": "2026-11-20T00:00:00Z"}]}}});
    assert_same(ResourceKind::PartnerConfiguration, desired, live);
}
