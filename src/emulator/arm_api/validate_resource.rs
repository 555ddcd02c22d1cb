//! What Azure refuses in the body of a top-level write (resource groups, topics, system topics,
//! partner topics, partner configurations) before the store sees it: an unknown `location`,
//! more than 50 tags, a `provisioningState` the client made up, inbound IP rules that are not
//! `Allow` rules over an IPv4 address or CIDR range, and a system topic whose `topicType` does
//! not belong to its source's resource type.
//!
//! Pure: the request body (and the stored body, if any) in, a `StoreError` out; it must not
//! change anything. Codes and messages follow Azure where known (docs/emulator.md lists them).

use std::net::Ipv4Addr;

use serde_json::Value;

use crate::emulator::arm_api::validate_location;
use crate::emulator::store::{Kind, StoreError};
use crate::model::id::ResourceId;

/// ARM's limit of tags per resource or resource group.
pub const MAX_TAGS: usize = 50;

/// Checks a PUT (`patch = false`) or PATCH body of `kind`; `existing` is the stored body.
pub fn check_write(
    kind: Kind,
    body: &Value,
    existing: Option<&Value>,
    patch: bool,
) -> Result<(), StoreError> {
    check_tags(body)?;
    if kind == Kind::ResourceGroup {
        return validate_location::check_for_group(body["location"].as_str());
    }
    if !patch {
        validate_location::check_for_type(body["location"].as_str(), kind.type_name())?;
        check_provisioning_state(body, existing)?;
    }
    let props = &body["properties"];
    if kind == Kind::Topic {
        check_inbound_ip_rules(&props["inboundIpRules"])?;
    }
    if kind == Kind::SystemTopic && !patch {
        check_topic_type(props)?;
    }
    Ok(())
}

/// At most 50 tags.
pub fn check_tags(body: &Value) -> Result<(), StoreError> {
    match body["tags"].as_object() {
        Some(tags) if tags.len() > MAX_TAGS => Err(StoreError::invalid(format!(
            "The number of tags ({}) exceeds the maximum of {MAX_TAGS} tags per resource.",
            tags.len()
        ))),
        _ => Ok(()),
    }
}

/// `properties.provisioningState` is read-only: a PUT may only echo the stored value.
fn check_provisioning_state(body: &Value, existing: Option<&Value>) -> Result<(), StoreError> {
    let sent = &body["properties"]["provisioningState"];
    if sent.is_null() {
        return Ok(());
    }
    let stored = existing.map(|b| &b["properties"]["provisioningState"]);
    if stored.is_some_and(|s| s == sent) {
        return Ok(());
    }
    Err(StoreError::invalid(format!(
        "The property 'provisioningState' is read-only and cannot be set (sent {sent})."
    )))
}

/// `inboundIpRules`: `Allow` rules over an IPv4 address or CIDR range.
fn check_inbound_ip_rules(rules: &Value) -> Result<(), StoreError> {
    let Some(rules) = rules.as_array() else {
        return Ok(());
    };
    for rule in rules {
        let action = rule["action"].as_str().unwrap_or("Allow");
        if !action.eq_ignore_ascii_case("Allow") {
            return Err(StoreError::invalid(format!(
                "Invalid inbound IP rule action '{action}'. The only supported action is 'Allow'."
            )));
        }
        let mask = rule["ipMask"].as_str().unwrap_or_default();
        if !ipv4_mask_ok(mask) {
            return Err(StoreError::invalid(format!(
                "Invalid IP mask '{mask}' in inboundIpRules. Specify an IPv4 address or a range in CIDR notation, e.g. 10.0.0.0/8."
            )));
        }
    }
    Ok(())
}

fn ipv4_mask_ok(mask: &str) -> bool {
    let (addr, prefix) = match mask.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (mask, None),
    };
    addr.parse::<Ipv4Addr>().is_ok()
        && prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|n| n <= 32))
}

/// The resource type each system topic type's source must have (`topicType` → source type).
const SOURCE_TYPES: &[(&str, &str)] = &[
    (
        "Microsoft.SignalRService.SignalR",
        "Microsoft.SignalRService/SignalR",
    ),
    (
        "Microsoft.Storage.StorageAccounts",
        "Microsoft.Storage/storageAccounts",
    ),
    (
        "Microsoft.EventHub.Namespaces",
        "Microsoft.EventHub/namespaces",
    ),
    (
        "Microsoft.ServiceBus.Namespaces",
        "Microsoft.ServiceBus/namespaces",
    ),
    ("Microsoft.KeyVault.vaults", "Microsoft.KeyVault/vaults"),
    (
        "Microsoft.ContainerRegistry.Registries",
        "Microsoft.ContainerRegistry/registries",
    ),
    ("Microsoft.Devices.IoTHubs", "Microsoft.Devices/IotHubs"),
    ("Microsoft.Web.Sites", "Microsoft.Web/sites"),
    (
        "Microsoft.AppConfiguration.ConfigurationStores",
        "Microsoft.AppConfiguration/configurationStores",
    ),
    (
        "Microsoft.Communication.CommunicationServices",
        "Microsoft.Communication/CommunicationServices",
    ),
    ("Microsoft.Maps.Accounts", "Microsoft.Maps/accounts"),
    (
        "Microsoft.MachineLearningServices.Workspaces",
        "Microsoft.MachineLearningServices/workspaces",
    ),
    (
        "Microsoft.Media.MediaServices",
        "Microsoft.Media/mediaservices",
    ),
    (
        "Microsoft.ApiManagement.Service",
        "Microsoft.ApiManagement/service",
    ),
    (
        "Microsoft.HealthcareApis.Workspaces",
        "Microsoft.HealthcareApis/workspaces",
    ),
    ("Microsoft.Cache.Redis", "Microsoft.Cache/Redis"),
    (
        "Microsoft.EventGrid.Namespaces",
        "Microsoft.EventGrid/namespaces",
    ),
];

/// A system topic's `topicType` must be the one of its source: a SignalR topic type on a storage
/// account is refused. Subscription and resource group sources take the `Microsoft.Resources.*`
/// types; topic types the emulator does not know are not judged.
fn check_topic_type(props: &Value) -> Result<(), StoreError> {
    let (Some(topic_type), Some(source)) = (props["topicType"].as_str(), props["source"].as_str())
    else {
        return Ok(());
    };
    let Ok(id) = ResourceId::parse(source) else {
        return Ok(());
    };
    let source_type = id.resource_type();
    let expected = if topic_type.eq_ignore_ascii_case("Microsoft.Resources.Subscriptions") {
        Some(source_type.eq_ignore_ascii_case("Microsoft.Resources/subscriptions"))
    } else if topic_type.eq_ignore_ascii_case("Microsoft.Resources.ResourceGroups") {
        Some(source_type.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups"))
    } else {
        SOURCE_TYPES
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(topic_type))
            .map(|(_, s)| s.eq_ignore_ascii_case(&source_type))
    };
    match expected {
        Some(false) => Err(StoreError::invalid(format!(
            "The topic type '{topic_type}' does not match the source '{source}' (a '{source_type}' resource)."
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ip_masks_are_ipv4_addresses_or_ranges() {
        for ok in ["10.0.0.1", "12.18.30.0/24", "0.0.0.0/0"] {
            assert!(ipv4_mask_ok(ok), "{ok}");
        }
        for bad in ["not-an-ip", "10.0.0.0/33", "10.0.0/8", "::1", ""] {
            assert!(!ipv4_mask_ok(bad), "{bad}");
        }
    }

    #[test]
    fn system_topic_types_follow_their_source() {
        let signalr =
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.SignalRService/SignalR/chat";
        let storage =
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct";
        let t = "Microsoft.SignalRService.SignalR";
        assert!(check_topic_type(&json!({"topicType": t, "source": signalr})).is_ok());
        assert!(check_topic_type(&json!({"topicType": t, "source": storage})).is_err());
        let unknown = json!({"topicType": "Contoso.Widgets", "source": storage});
        assert!(check_topic_type(&unknown).is_ok());
    }
}
