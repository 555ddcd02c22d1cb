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
        (None, _) => String::new(),
    };
    if id.is_empty() {
        format!("{} `{}`", action.target.kind, action.target.name)
    } else {
        format!("{} `{}` ({id})", action.target.kind, action.target.name)
    }
}
