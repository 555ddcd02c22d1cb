//! Names a delete frees: a custom topic's name is unique per region across every resource group
//! (its endpoint is `NAME.REGION-1.eventgrid.azure.net`), so moving a topic to another group in
//! the same region must delete the old one before creating the new one, or the create gets 409.
//! Only orders existing actions; it must not add or remove any.

use super::*;

impl Builder<'_> {
    /// Makes each custom-topic create wait for the delete of a same-named topic in its region.
    pub(super) fn order_freed_names(&mut self) {
        let deletes: Vec<(usize, String, String)> = self
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete && a.target.kind == ResourceKind::Topic)
            .filter_map(|a| {
                let id = a.target.id.as_ref()?;
                let location = self.live.get(id)?.get("location")?.as_str()?;
                Some((
                    a.index,
                    id.name().to_ascii_lowercase(),
                    region_key(location),
                ))
            })
            .collect();
        if deletes.is_empty() {
            return;
        }
        for action in &mut self.actions {
            if action.kind != ActionKind::Create || action.target.kind != ResourceKind::Topic {
                continue;
            }
            let Operation::Put {
                at: Locator::Id(id),
                body,
            } = &action.operation
            else {
                continue;
            };
            let body = body.as_value();
            let Some(location) = body.get("location").and_then(Value::as_str) else {
                continue;
            };
            let (name, region) = (id.name().to_ascii_lowercase(), region_key(location));
            for (delete, _, _) in deletes
                .iter()
                .filter(|(_, n, r)| *n == name && *r == region)
            {
                if !action.depends_on.contains(delete) {
                    action.depends_on.push(*delete);
                }
            }
        }
    }
}

/// `West Europe` and `westeurope` are one region.
fn region_key(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}
