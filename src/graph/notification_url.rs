//! The `EventGrid:?azuresubscriptionid=…&resourcegroup=…&partnertopic=…&location=…` notification
//! URL of a Graph subscription that delivers to an Event Grid partner topic: parsing it (keys
//! case-insensitive, as Graph reads them). Pure: no I/O.

/// Where an `EventGrid:?` notification URL delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGridTarget {
    /// `azuresubscriptionid`.
    pub subscription_id: String,
    /// `resourcegroup`.
    pub resource_group: String,
    /// `partnertopic`.
    pub partner_topic: String,
    /// `location` (a region name; absent in some echoes).
    pub location: Option<String>,
}

/// The scheme-like prefix of Event Grid notification URLs.
const PREFIX: &str = "eventgrid:?";

/// Parses an `EventGrid:?` URL; `None` for any other URL (a webhook) or one missing the
/// subscription, group or topic.
pub fn event_grid_target(url: &str) -> Option<EventGridTarget> {
    let head = url.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let query = url.get(PREFIX.len()..)?;
    let mut target = EventGridTarget {
        subscription_id: String::new(),
        resource_group: String::new(),
        partner_topic: String::new(),
        location: None,
    };
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim().to_string();
        match k.to_ascii_lowercase().as_str() {
            "azuresubscriptionid" => target.subscription_id = v,
            "resourcegroup" => target.resource_group = v,
            "partnertopic" => target.partner_topic = v,
            "location" => target.location = Some(v).filter(|l| !l.is_empty()),
            _ => {}
        }
    }
    let complete = [
        &target.subscription_id,
        &target.resource_group,
        &target.partner_topic,
    ]
    .iter()
    .all(|v| !v.is_empty());
    complete.then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_event_grid_urls_with_any_key_case() {
        let t = event_grid_target(
            "EventGrid:?azuresubscriptionid=S1&resourcegroup=rg&partnertopic=users&location=westeurope",
        )
        .unwrap();
        assert_eq!(
            (
                t.subscription_id.as_str(),
                t.resource_group.as_str(),
                t.partner_topic.as_str()
            ),
            ("S1", "rg", "users")
        );
        assert_eq!(t.location.as_deref(), Some("westeurope"));
        let t =
            event_grid_target("eventgrid:?AzureSubscriptionId=s&ResourceGroup=g&PartnerTopic=p")
                .unwrap();
        assert_eq!((t.partner_topic.as_str(), t.location), ("p", None));
    }

    #[test]
    fn other_urls_and_incomplete_ones_are_not_targets() {
        assert_eq!(event_grid_target("https://hooks.example.com/x"), None);
        assert_eq!(
            event_grid_target("EventGrid:?azuresubscriptionid=s&resourcegroup=g"),
            None
        );
        assert_eq!(event_grid_target("Event"), None);
        assert_eq!(event_grid_target("EventGrid€?x"), None);
    }
}
