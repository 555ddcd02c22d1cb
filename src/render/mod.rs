//! Renderers for plans: human (Terraform-like), JSON and markdown.
//!
//! Every renderer writes to `&mut dyn io::Write` and gets colors through `RenderOptions`; it never
//! talks to the network, reads files, or decides what changes. Values in a `Plan` are never
//! secret; the CLI additionally scrubs the values of secret variables from the final text.

pub mod human;
pub mod json;
pub mod markdown;

use crate::plan::{Action, ActionKind, Locator, Operation};

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colors.
    pub color: bool,
}

/// The symbol and verb of an action kind.
pub fn symbol(kind: ActionKind) -> (&'static str, &'static str) {
    match kind {
        ActionKind::Register => ("+", "register"),
        ActionKind::Create => ("+", "create"),
        ActionKind::CreateLogStream => ("+", "create log stream"),
        ActionKind::Update => ("~", "update"),
        ActionKind::Adopt => ("~", "adopt"),
        ActionKind::Authorize => ("~", "authorize"),
        ActionKind::Renew => ("~", "renew"),
        ActionKind::Replace => ("-/+", "replace"),
        ActionKind::Delete => ("-", "delete"),
        ActionKind::WaitForPartner => ("…", "wait for"),
        ActionKind::Activate => ("~", "activate"),
        ActionKind::Deactivate => ("~", "deactivate"),
    }
}

/// As [`address`], naming the id once the partner topic's name became known during apply
/// (`learned`: Auth0 stream name → partner topic name).
pub fn address_known(
    action: &Action,
    learned: &std::collections::BTreeMap<String, String>,
) -> String {
    let id = match (&action.target.id, locator(&action.operation)) {
        (None, Some(at)) => at
            .stream()
            .and_then(|s| learned.get(s))
            .and_then(|name| at.resolve(Some(name))),
        _ => None,
    };
    match id {
        Some(id) => format!("{} `{}` ({id})", action.target.kind, action.target.name),
        None => address(action),
    }
}

/// Where an operation's target lives, for the operations that have one.
fn locator(op: &Operation) -> Option<&Locator> {
    match op {
        Operation::Put { at, .. }
        | Operation::Patch { at, .. }
        | Operation::Replace { at, .. }
        | Operation::Delete { at }
        | Operation::SetActivation { at, .. }
        | Operation::WaitForPartner { at, .. } => Some(at),
        _ => None,
    }
}

/// `Kind name` plus the id, or `(known after apply)` for a partner topic not created yet.
pub fn address(action: &Action) -> String {
    let id = match (&action.target.id, &action.operation) {
        (_, Operation::Recorded { address }) => return address.clone(),
        (Some(id), _) => id.to_string(),
        (
            None,
            Operation::WaitForPartner {
                at: Locator::PartnerTopicOf { stream, .. },
                ..
            },
        )
        | (
            None,
            Operation::SetActivation {
                at: Locator::PartnerTopicOf { stream, .. },
                ..
            },
        )
        | (
            None,
            Operation::Put {
                at: Locator::PartnerTopicOf { stream, .. },
                ..
            },
        ) => {
            format!("partner topic of Auth0 stream `{stream}` (known after apply)")
        }
        (None, op) => match op.graph_id() {
            Some(graph_id) => format!("Graph subscription `{graph_id}`"),
            None => String::new(),
        },
    };
    if id.is_empty() {
        format!("{} `{}`", action.target.kind, action.target.name)
    } else {
        format!("{} `{}` ({id})", action.target.kind, action.target.name)
    }
}
