//! Test fixture: what Azure's GET returns after a PUT, per the official examples. Shared by the
//! planner and executor tests.

use serde_json::{Value, json};

use crate::model::{ResourceId, ResourceKind};

/// What Azure's GET returns for a PUT body, per the example responses (REFERENCE §8).
pub fn azure_echo(id: &ResourceId, body: &Value) -> Value {
    let mut v = body.clone();
    v["id"] = json!(id.to_string());
    v["name"] = json!(id.name());
    v["type"] = json!(id.resource_type());
    v["systemData"] = json!({"createdBy": "someone"});
    if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("provisioningState".into(), json!("Succeeded"));
    }
    match super::build::kind_of(id) {
        ResourceKind::EventSubscription => {
            let p = &mut v["properties"];
            p["topic"] = json!(id.parent().unwrap().to_string().to_lowercase());
            // Server defaults (§8.3), labels null when empty (§8.4).
            if p.get("eventDeliverySchema").is_none() {
                p["eventDeliverySchema"] = json!("EventGridSchema");
            }
            if p.get("retryPolicy").is_none() {
                p["retryPolicy"] =
                    json!({"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440});
            }
            if let Some(filter) = p.get_mut("filter") {
                filter
                    .as_object_mut()
                    .unwrap()
                    .entry("subjectBeginsWith")
                    .or_insert(json!(""));
                filter
                    .as_object_mut()
                    .unwrap()
                    .entry("subjectEndsWith")
                    .or_insert(json!(""));
            }
            let dest = &mut p["destination"];
            if dest["endpointType"] == "WebHook" {
                let d = dest["properties"].as_object_mut().unwrap();
                let url = d.remove("endpointUrl").unwrap();
                d.insert(
                    "endpointBaseUrl".into(),
                    json!(url.as_str().unwrap().split('?').next().unwrap()),
                );
                d.entry("maxEventsPerBatch").or_insert(json!(1));
                d.entry("preferredBatchSizeInKilobytes")
                    .or_insert(json!(64));
                if let Some(list) = d
                    .get_mut("deliveryAttributeMappings")
                    .and_then(Value::as_array_mut)
                {
                    for m in list {
                        if m["properties"]["isSecret"] == json!(true) {
                            m["properties"]["value"] = Value::Null;
                        }
                    }
                }
            }
        }
        ResourceKind::Topic => {
            v["properties"]["endpoint"] = json!(format!(
                "https://{}.westeurope-1.eventgrid.azure.net/api/events",
                id.name()
            ));
            let loc = v["location"].as_str().unwrap().to_uppercase();
            v["location"] = json!(loc); // ARM may answer "West Europe" or "WESTEUROPE"
        }
        ResourceKind::SystemTopic => {
            v["properties"]["metricResourceId"] = json!("183c0fb1-0000-0000-0000-000000000000");
            let src = v["properties"]["source"].as_str().unwrap().to_lowercase();
            v["properties"]["source"] = json!(src);
        }
        ResourceKind::PartnerConfiguration => {
            v["properties"]["partnerAuthorization"]
                .as_object_mut()
                .unwrap()
                .entry("defaultMaximumExpirationTimeInDays")
                .or_insert(json!(7));
        }
        _ => {}
    }
    v
}
