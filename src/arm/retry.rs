//! ARM's rules on which POST actions may be resent and which return secrets: pure, no I/O.
//!
//! The retry policy itself (statuses, backoff, server delays) is shared with the other remote
//! clients and lives in `remote_http::retry`; this module only adds what is specific to ARM
//! actions. It must not sleep or send anything.

pub use crate::remote_http::RetryPolicy;

/// POST actions that may be resent when their outcome is unknown: the ones that only read
/// (`getFullUrl`, `getDeliveryAttributes`, `listKeys`) and the ones that set a state whose repeat
/// is harmless (`activate`, `deactivate`, `register`). Everything else (`authorizePartner`,
/// `regenerateKey`, ...) is reported as outcome-unknown so the caller re-reads first.
pub fn is_repeatable_action(action: &str) -> bool {
    [
        "getFullUrl",
        "getDeliveryAttributes",
        "listKeys",
        "activate",
        "deactivate",
        "register",
    ]
    .iter()
    .any(|a| a.eq_ignore_ascii_case(action))
}

/// POST actions whose response body holds secrets (never quoted in errors or logs).
pub fn returns_secrets(action: &str) -> bool {
    [
        "getFullUrl",
        "getDeliveryAttributes",
        "listKeys",
        "regenerateKey",
    ]
    .iter()
    .any(|a| a.eq_ignore_ascii_case(action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_harmless_actions_are_resent_and_secret_ones_are_known() {
        assert!(is_repeatable_action("getfullurl"));
        assert!(is_repeatable_action("activate"));
        assert!(!is_repeatable_action("authorizePartner"));
        assert!(!is_repeatable_action("regenerateKey"));
        assert!(returns_secrets("listKeys"));
        assert!(returns_secrets("regeneratekey"));
        assert!(!returns_secrets("activate"));
    }
}
