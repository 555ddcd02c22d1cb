//! The `EventGrid:?azuresubscriptionid=…&resourcegroup=…&partnertopic=…&location=…` URL a
//! Microsoft Graph subscription notifies an Event Grid partner topic through: built by the
//! planner, read by the planner and the Graph client's session reads (keys and scheme
//! case-insensitive, as Graph reads them). Pure: no I/O.

use super::ResourceId;

/// The partner topic an `EventGrid:?` notification URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGridTarget {
    /// `azuresubscriptionid`.
    pub subscription: String,
    /// `resourcegroup`.
    pub resource_group: String,
    /// `partnertopic`.
    pub partner_topic: String,
    /// `location` (a region name); Graph may echo the URL without it.
    pub location: Option<String>,
}

impl EventGridTarget {
    /// The URL Graph takes as `notificationUrl` and `lifecycleNotificationUrl`.
    pub fn url(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("azuresubscriptionid", &self.subscription)
            .append_pair("resourcegroup", &self.resource_group)
            .append_pair("partnertopic", &self.partner_topic);
        if let Some(l) = &self.location {
            query.append_pair("location", l);
        }
        format!("EventGrid:?{}", query.finish())
    }

    /// Reads an `EventGrid:?` URL (scheme and keys case-insensitive); `None` for any other URL
    /// or one without subscription, group and topic.
    pub fn parse(url: &str) -> Option<Self> {
        let (scheme, query) = url.split_once(":?")?;
        if !scheme.eq_ignore_ascii_case("EventGrid") {
            return None;
        }
        let mut out = Self {
            subscription: String::new(),
            resource_group: String::new(),
            partner_topic: String::new(),
            location: None,
        };
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.to_ascii_lowercase().as_str() {
                "azuresubscriptionid" => out.subscription = v.into_owned(),
                "resourcegroup" => out.resource_group = v.into_owned(),
                "partnertopic" => out.partner_topic = v.into_owned(),
                "location" => out.location = Some(v.into_owned()),
                _ => {}
            }
        }
        let complete = [&out.subscription, &out.resource_group, &out.partner_topic]
            .iter()
            .all(|s| !s.is_empty());
        complete.then_some(out)
    }

    /// The partner topic's ARM id.
    pub fn topic_id(&self) -> ResourceId {
        ResourceId::resource_group(&self.subscription, &self.resource_group).provider_resource(
            super::EVENT_GRID_NAMESPACE,
            "partnerTopics",
            &self.partner_topic,
        )
    }

    /// Whether both name the same partner topic (Azure names are case-insensitive).
    pub fn same_topic(&self, other: &Self) -> bool {
        self.subscription.eq_ignore_ascii_case(&other.subscription)
            && self
                .resource_group
                .eq_ignore_ascii_case(&other.resource_group)
            && self
                .partner_topic
                .eq_ignore_ascii_case(&other.partner_topic)
    }

    /// Whether both are the same URL, a location missing on one side (Graph's echo) aside.
    pub fn same_url(&self, other: &Self) -> bool {
        let location = match (&self.location, &other.location) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        self.same_topic(other) && location
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_event_grid_urls_with_any_key_case() {
        let t = EventGridTarget::parse(
            "EventGrid:?azuresubscriptionid=S1&resourcegroup=rg&partnertopic=users&location=westeurope",
        )
        .unwrap();
        assert_eq!(
            (
                t.subscription.as_str(),
                t.resource_group.as_str(),
                t.partner_topic.as_str()
            ),
            ("S1", "rg", "users")
        );
        assert_eq!(t.location.as_deref(), Some("westeurope"));
        let t = EventGridTarget::parse(
            "eventgrid:?AzureSubscriptionId=s&ResourceGroup=g&PartnerTopic=p",
        )
        .unwrap();
        assert_eq!((t.partner_topic.as_str(), t.location), ("p", None));
    }

    #[test]
    fn other_urls_and_incomplete_ones_are_not_targets() {
        assert_eq!(EventGridTarget::parse("https://hooks.example.com/x"), None);
        assert_eq!(
            EventGridTarget::parse("EventGrid:?azuresubscriptionid=s&resourcegroup=g"),
            None
        );
        assert_eq!(EventGridTarget::parse("Event"), None);
        assert_eq!(EventGridTarget::parse("EventGrid€?x"), None);
    }
}
