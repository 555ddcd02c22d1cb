//! Why an action failed and what to do about it: the `Failure` an action ends with, the hints
//! for the failures gridform knows (interrupted, webhook handshake, partner, source, provider),
//! and the checks that turn a response into one (the final `provisioningState`, a partner
//! topic's `source`). Pure: no I/O, no waiting.

use serde_json::Value;

use super::backend::BackendError;
use crate::model::ResourceId;
use crate::plan::Action;

/// Why an action failed, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed.
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
    /// Transient: trying the action again may succeed.
    pub retryable: bool,
}

pub(super) const INTERRUPTED_HINT: &str = "run `gridform apply` again to finish: what was \
    started may still complete in Azure (or the partner may still create its topic), and the \
    next plan starts from where it ended";

/// The failure of an action whose wait the stop signal ended.
pub(super) fn interrupted(what: &str) -> Failure {
    Failure {
        message: format!("interrupted while {what}"),
        hint: Some(INTERRUPTED_HINT.into()),
        retryable: false,
    }
}

pub(super) const HANDSHAKE_HINT: &str = "the webhook endpoint must answer Event Grid's \
    SubscriptionValidationEvent by echoing `data.validationCode` as \
    `{\"validationResponse\": ...}` within 30 seconds (or open the `validationUrl`)";

pub(super) const MANUAL_HANDSHAKE_HINT: &str = "Event Grid posted a SubscriptionValidationEvent \
    (header `aeg-event-type: SubscriptionValidation`) and the endpoint answered 200 without \
    `validationResponse`. Make the endpoint answer that event within 30 seconds with HTTP 200 and \
    the body `{\"validationResponse\": \"<data.validationCode>\"}` and run `gridform apply` \
    again, or complete this handshake by GETting the event's `data.validationUrl` within 10 \
    minutes (after that Azure marks the subscription Failed and apply recreates it)";

pub(super) const PARTNER_HINT: &str = "check that the partner is authorized in the partner \
    configuration and that the Auth0 stream is active (or the Graph subscription exists); raise \
    `spec.waitForPartner` if the partner is slow";

pub(super) const SOURCE_HINT: &str = "only a topic from the expected partner is activated; check \
    `spec.expectedSource` and the Auth0 tenant";

pub(super) fn fail(e: BackendError) -> Failure {
    let lower = e.message.to_ascii_lowercase();
    let hint = if e.code.as_deref() == Some(super::backend::INTERRUPTED) {
        Some(INTERRUPTED_HINT.into())
    } else if lower.contains("validation")
        && (lower.contains("handshake") || lower.contains("webhook"))
    {
        Some(HANDSHAKE_HINT.into())
    } else if e.code.as_deref() == Some("MissingSubscriptionRegistration") {
        Some("add a `ProviderRegistration` document for `Microsoft.EventGrid`".into())
    } else {
        None
    };
    Failure {
        message: e.message,
        hint,
        retryable: e.retryable,
    }
}

/// A PUT whose resource did not end `Succeeded` is not done: an event subscription whose webhook
/// answered the handshake without the code stays `AwaitingManualAction` until someone acts.
pub(super) fn provisioned(action: &Action, body: &Value) -> Result<(), Failure> {
    let state = body
        .pointer("/properties/provisioningState")
        .and_then(Value::as_str)
        .unwrap_or("Succeeded");
    if state.eq_ignore_ascii_case("Succeeded") {
        return Ok(());
    }
    let what = format!("{} `{}`", action.target.kind, action.target.name);
    if state.eq_ignore_ascii_case("AwaitingManualAction") {
        return Err(Failure {
            message: format!(
                "{what} is not done: its provisioningState is `AwaitingManualAction` (the webhook \
                 did not echo the validation code)"
            ),
            hint: Some(MANUAL_HANDSHAKE_HINT.into()),
            retryable: false,
        });
    }
    Err(Failure {
        message: format!("{what} is not done: its provisioningState is `{state}`"),
        hint: Some("run `gridform plan` to see what is left, and apply again".into()),
        retryable: false,
    })
}

/// Refuses a partner topic whose `source` is not the expected partner's.
pub(super) fn check_source(id: &ResourceId, topic: &Value, expected: &str) -> Result<(), Failure> {
    let source = topic
        .pointer("/properties/source")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if source.eq_ignore_ascii_case(expected) {
        return Ok(());
    }
    Err(Failure {
        message: format!(
            "partner topic `{}` has source `{source}`, expected `{expected}`; not activating it",
            id.name()
        ),
        hint: Some(SOURCE_HINT.into()),
        retryable: false,
    })
}
