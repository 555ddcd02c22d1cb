//! Taking things over and moving them: a by-name partner topic adopted by its tags, and a topic
//! moved to another group of its region (its name is freed by the delete first).

use serde_json::json;

use super::*;

#[test]
fn an_unmarked_partner_topic_declared_with_adopt_is_adopted_by_its_tags() {
    let mut d = repo_manifests("manifests/auth0-partner");
    let (_, mut live) = converge(&d);
    let topic = live
        .resources
        .keys()
        .find(|id| id.resource_type().ends_with("partnerTopics"))
        .unwrap()
        .clone();
    live.resources.get_mut(&topic).unwrap()["tags"] = json!({});
    for r in &mut d.resources {
        if r.kind == crate::model::ResourceKind::PartnerTopic {
            r.metadata.adopt = true;
        }
    }
    let p = plan(&d, &live, &opts());
    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    assert_eq!(p.actions[0].kind, ActionKind::Adopt);
    assert!(
        p.actions[0]
            .changes
            .iter()
            .all(|c| c.path.starts_with("tags")),
        "{:#?}",
        p.actions[0].changes
    );
}

#[test]
fn a_topic_moved_to_another_group_in_its_region_is_created_after_the_old_one_is_deleted() {
    let d = desired(&format!("{STACK}{TOPIC_AND_SUB}"));
    let (_, live) = converge(&d);
    let moved = desired(
        &format!("{STACK}{TOPIC_AND_SUB}").replace("resourceGroup: rg", "resourceGroup: rg2"),
    );
    let p = plan(&moved, &live, &opts());
    let of = |kind: ActionKind, rg: &str| {
        p.actions
            .iter()
            .find(|a| {
                a.kind == kind
                    && a.target.kind == crate::model::ResourceKind::Topic
                    && a.target.id.as_ref().and_then(|i| i.resource_group_name()) == Some(rg)
            })
            .unwrap_or_else(|| panic!("no {kind:?} in {rg}: {:#?}", p.actions))
            .index
    };
    let (create, delete) = (of(ActionKind::Create, "rg2"), of(ActionKind::Delete, "rg"));
    assert!(
        p.actions[create].depends_on.contains(&delete),
        "{:#?}",
        p.actions
    );
}
