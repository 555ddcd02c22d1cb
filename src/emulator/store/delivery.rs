//! What the data plane needs from the store: find a topic by its publish endpoint and check its
//! keys, and list the event subscriptions an event matches (event types and subject filters).
//!
//! No HTTP and no network here; advanced filters are not evaluated.

use serde_json::Value;

use super::{Kind, Store};

/// A topic as the data plane sees it.
#[derive(Debug, Clone)]
pub struct PublishTarget {
    /// The topic's ARM id.
    pub id: String,
    /// `key1`, `key2`.
    pub keys: [String; 2],
    /// `disableLocalAuth`: keys are refused.
    pub local_auth_disabled: bool,
}

/// Where one event goes.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Event subscription name.
    pub subscription: String,
    /// Destination type (`WebHook`, `StorageQueue`, ...).
    pub endpoint_type: String,
    /// The full webhook URL, or the destination resource id.
    pub target: String,
}

impl Store {
    /// The topic whose endpoint is `{base}/eventgrid/topics/{host}/api/events`.
    pub fn publish_target(&self, host: &str) -> Option<PublishTarget> {
        let suffix = format!("/eventgrid/topics/{}/api/events", host.to_ascii_lowercase());
        self.resources_of(Kind::Topic, |r| {
            r.body["properties"]["endpoint"]
                .as_str()
                .is_some_and(|e| e.to_ascii_lowercase().ends_with(&suffix))
        })
        .next()
        .map(|r| PublishTarget {
            id: r.id.clone(),
            keys: [
                r.hidden["key1"].as_str().unwrap_or_default().to_string(),
                r.hidden["key2"].as_str().unwrap_or_default().to_string(),
            ],
            local_auth_disabled: r.body["properties"]["disableLocalAuth"] == true,
        })
    }

    /// The event subscriptions on `topic_id` that `event` matches.
    pub fn deliveries(&self, topic_id: &str, event: &Value) -> Vec<Delivery> {
        let topic = topic_id.to_ascii_lowercase();
        self.resources_of(Kind::EventSubscription, |r| {
            r.hidden["scope"]
                .as_str()
                .is_some_and(|s| s.to_ascii_lowercase() == topic)
                && r.body["provisioningState"] == "Succeeded"
                && matches(&r.body["filter"], event)
        })
        .map(|r| {
            let dest = if r.body["destination"].is_object() {
                &r.body["destination"]
            } else {
                &r.body["deliveryWithResourceIdentity"]["destination"]
            };
            let endpoint_type = dest["endpointType"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let target = match r.hidden["endpointUrl"].as_str() {
                Some(url) => url.to_string(),
                None => dest["properties"]["resourceId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            };
            Delivery {
                subscription: r.hidden["name"].as_str().unwrap_or_default().to_string(),
                endpoint_type,
                target,
            }
        })
        .collect()
    }
}

/// Event type and subject filters (advanced filters are not evaluated).
fn matches(filter: &Value, event: &Value) -> bool {
    let event_type = event["eventType"]
        .as_str()
        .or_else(|| event["type"].as_str())
        .unwrap_or_default();
    if let Some(types) = filter["includedEventTypes"].as_array()
        && !types.iter().any(|t| {
            t.as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(event_type))
        })
    {
        return false;
    }
    let case = filter["isSubjectCaseSensitive"] == true;
    let norm = |s: &str| {
        if case {
            s.to_string()
        } else {
            s.to_ascii_lowercase()
        }
    };
    let subject = norm(event["subject"].as_str().unwrap_or_default());
    let begins = norm(filter["subjectBeginsWith"].as_str().unwrap_or_default());
    let ends = norm(filter["subjectEndsWith"].as_str().unwrap_or_default());
    subject.starts_with(&begins) && subject.ends_with(&ends)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_match_types_and_subjects() {
        let f = json!({"includedEventTypes": ["Order.Created"], "subjectBeginsWith": "/orders/", "subjectEndsWith": "", "isSubjectCaseSensitive": false});
        assert!(matches(
            &f,
            &json!({"eventType": "order.created", "subject": "/Orders/1"})
        ));
        assert!(!matches(
            &f,
            &json!({"eventType": "order.deleted", "subject": "/orders/1"})
        ));
        assert!(!matches(
            &f,
            &json!({"eventType": "Order.Created", "subject": "/carts/1"})
        ));
        assert!(matches(&json!({}), &json!({"eventType": "x"})));
    }
}
