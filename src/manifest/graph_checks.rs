//! Checks across documents for Microsoft Graph subscriptions, read from the trees whether or not
//! they pass the schema: a `GraphSubscription`'s resource group needs a `PartnerConfiguration`
//! that authorizes Microsoft Graph (Graph creates no partner topic otherwise, and gridform
//! records the subscriptions it creates on that configuration), and a `PartnerTopic`
//! `fromGraphSubscription` must be the topic that subscription names, in its group. One-document
//! checks are `semantic`'s.

use super::check::Problem;
use super::declared::{Declared, text_at};
use super::semantic::{FileProblem, StackDefaults, locate};
use super::yaml::{Node, Value};
use crate::model::ResourceKind;

/// The partner name Microsoft Graph has in partner configurations.
pub const GRAPH_PARTNER_NAME: &str = "MicrosoftGraphAPI";
/// Microsoft Graph's partner registration immutable id (seen in third-party setups only).
pub const GRAPH_PARTNER_ID: &str = "c02e0126-707c-436d-b6a1-175d2748fb58";

fn group_of(d: &Declared, stack: &StackDefaults) -> Option<String> {
    text_at(d.root, &["metadata", "resourceGroup"]).or_else(|| stack.resource_group.clone())
}

fn authorizes_graph(config: &Node) -> bool {
    let Some(list) = config
        .get("spec")
        .and_then(|s| s.get("partnerAuthorization"))
        .and_then(|a| a.get("authorizedPartnersList"))
    else {
        return false;
    };
    let Value::Seq(items) = &list.value else {
        return false;
    };
    items.iter().any(|p| {
        text_at(p, &["partnerName"]).is_some_and(|n| n.eq_ignore_ascii_case(GRAPH_PARTNER_NAME))
            || text_at(p, &["partnerRegistrationImmutableId"])
                .is_some_and(|i| i.eq_ignore_ascii_case(GRAPH_PARTNER_ID))
    })
}

/// Every Graph cross-document problem (a group that cannot be known is not checked).
pub fn check_graph_documents(declared: &[Declared], stack: &StackDefaults) -> Vec<FileProblem> {
    let mut out = Vec::new();
    let of_kind = |k: ResourceKind| declared.iter().filter(move |d| d.kind == Some(k));
    for sub in of_kind(ResourceKind::GraphSubscription) {
        let Some(group) = group_of(sub, stack) else {
            continue; // `semantic` reports the missing group
        };
        let authorized = of_kind(ResourceKind::PartnerConfiguration).any(|c| {
            group_of(c, stack).is_some_and(|g| g.eq_ignore_ascii_case(&group))
                && authorizes_graph(c.root)
        });
        if !authorized {
            out.push((sub.file, Problem {
                pos: locate(sub.root, "metadata"),
                message: format!(
                    "GraphSubscription `{}`: no PartnerConfiguration in resource group `{group}` authorizes Microsoft Graph",
                    sub.name
                ),
                hint: Some(format!(
                    "add a `PartnerConfiguration` document for `{group}` whose `authorizedPartnersList` has `partnerName: {GRAPH_PARTNER_NAME}` (Graph creates the partner topic only then, and gridform records its Graph subscriptions there)"
                )),
            }));
        }
    }
    for topic in of_kind(ResourceKind::PartnerTopic) {
        let Some(handle) = text_at(topic.root, &["spec", "fromGraphSubscription"]) else {
            continue;
        };
        let Some(sub) = of_kind(ResourceKind::GraphSubscription).find(|s| s.name == handle) else {
            continue; // `check_references` reports it
        };
        let named =
            text_at(sub.root, &["spec", "partnerTopic"]).unwrap_or_else(|| sub.name.clone());
        if !named.eq_ignore_ascii_case(&topic.name) {
            out.push((topic.file, Problem {
                pos: locate(topic.root, "metadata.name"),
                message: format!(
                    "PartnerTopic `{}` comes from GraphSubscription `{handle}`, whose partner topic is `{named}`",
                    topic.name
                ),
                hint: Some(format!(
                    "name the PartnerTopic `{named}`, or set `spec.partnerTopic: {}` on the GraphSubscription",
                    topic.name
                )),
            }));
        }
        if let (Some(a), Some(b)) = (group_of(topic, stack), group_of(sub, stack))
            && !a.eq_ignore_ascii_case(&b)
        {
            out.push((topic.file, Problem {
                pos: locate(topic.root, "metadata"),
                message: format!(
                    "PartnerTopic `{}` is in resource group `{a}`, but Graph creates it in `{b}` (GraphSubscription `{handle}`)",
                    topic.name
                ),
                hint: Some("give both documents the same `metadata.resourceGroup`".into()),
            }));
        }
    }
    out
}
