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

/// Keeps, by Graph id, the Graph subscriptions whose `notificationUrl` is an `EventGrid:?` URL
/// naming Azure subscription `subscription_id` (and resource group `group`, when given).
pub fn event_grid_subscriptions(
    listed: Vec<serde_json::Value>,
    subscription_id: &str,
    group: Option<&str>,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    listed
        .into_iter()
        .filter_map(|s| {
            let target = EventGridTarget::parse(s.get("notificationUrl")?.as_str()?)?;
            let id = s.get("id")?.as_str()?.to_string();
            let here = target.subscription.eq_ignore_ascii_case(subscription_id)
                && group.is_none_or(|g| target.resource_group.eq_ignore_ascii_case(g));
            here.then_some((id, s))
        })
        .collect()
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

    #[test]
    fn only_event_grid_subscriptions_to_the_azure_subscription_and_group_are_kept() {
        let sub = |id: &str, url: &str| serde_json::json!({"id": id, "notificationUrl": url, "resource": "users"});
        let listed = || {
            vec![
                sub(
                    "g1",
                    "EventGrid:?azuresubscriptionid=S1&resourcegroup=rg&partnertopic=t&location=westeurope",
                ),
                sub(
                    "g2",
                    "eventgrid:?AzureSubscriptionId=s1&ResourceGroup=other-rg&PartnerTopic=u",
                ),
                sub(
                    "g3",
                    "EventGrid:?azuresubscriptionid=other&resourcegroup=rg&partnertopic=t",
                ),
                sub("g4", "https://hooks.example.com/graph"),
                serde_json::json!({"notificationUrl": "EventGrid:?azuresubscriptionid=s1&resourcegroup=rg&partnertopic=t"}),
            ]
        };
        let all = event_grid_subscriptions(listed(), "s1", None);
        assert_eq!(all.keys().collect::<Vec<_>>(), vec!["g1", "g2"]);
        let group = event_grid_subscriptions(listed(), "s1", Some("RG"));
        assert_eq!(group.keys().collect::<Vec<_>>(), vec!["g1"]);
    }
}
