//! Secret values in plain fields: a `spec.secrets` variable may feed a field that is not secret
//! by type (a tag, a location, a queue name). The plan then shows that change as `(sensitive)`
//! and scrubs the value from reasons, warnings and errors, so a rendered plan holds no secret
//! even before the CLI's output scrubber (which stays the last line of defence). Pure.

use serde_json::Value;

use crate::model::Sensitive;
use crate::model::secret::{MIN_SCRUBBED_LEN, scrub};
use crate::plan::{Action, PlanError};

/// Marks every change whose value holds one of `secrets` sensitive and scrubs the texts.
pub(super) fn hide_secret_values(
    actions: &mut [Action],
    errors: &mut [PlanError],
    warnings: &mut [String],
    secrets: &[Sensitive<String>],
) {
    let secrets: Vec<Sensitive<String>> = secrets
        .iter()
        .filter(|s| s.expose().len() >= MIN_SCRUBBED_LEN)
        .cloned()
        .collect();
    if secrets.is_empty() {
        return;
    }
    let holds = |v: &Option<Value>| v.as_ref().is_some_and(|v| holds_secret(v, &secrets));
    for a in actions.iter_mut() {
        for c in &mut a.changes {
            if !c.sensitive && (holds(&c.before) || holds(&c.after)) {
                c.sensitive = true;
            }
        }
        if let Some(r) = &mut a.reason {
            *r = scrub(r, &secrets);
        }
    }
    for e in errors.iter_mut() {
        e.message = scrub(&e.message, &secrets);
        e.target = scrub(&e.target, &secrets);
        e.hint = e.hint.as_deref().map(|h| scrub(h, &secrets));
    }
    for w in warnings.iter_mut() {
        *w = scrub(w, &secrets);
    }
}

/// Whether a string anywhere in `v` contains one of `secrets` (no serialization: plans are
/// large, and a secret with a quote in it would not be found in JSON text).
fn holds_secret(v: &Value, secrets: &[Sensitive<String>]) -> bool {
    let in_text = |text: &str| secrets.iter().any(|s| text.contains(s.expose().as_str()));
    match v {
        Value::String(text) => in_text(text),
        Value::Array(items) => items.iter().any(|i| holds_secret(i, secrets)),
        Value::Object(map) => map
            .iter()
            .any(|(k, i)| in_text(k) || holds_secret(i, secrets)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::manifest::parse_sources;
    use crate::model::LiveState;
    use crate::plan::tests::opts;
    use crate::render::{RenderOptions, human, json};

    const SECRET: &str = "s3cr3t-region-7f";

    #[test]
    fn a_secret_variable_in_a_plain_field_shows_as_sensitive() {
        let text = r#"
apiVersion: gridform/v1
kind: Stack
metadata: {name: s}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: rg
  location: westeurope
  secrets: [QUEUE]
---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
spec:
  tags: {queue: "q-${env:QUEUE}"}
"#;
        let env = |k: &str| (k == "QUEUE").then(|| SECRET.to_string());
        let loaded = parse_sources(&[(PathBuf::from("m.yaml"), text.to_string())], &env);
        let desired = loaded.state.unwrap();
        let plan = crate::plan::plan(&desired, &LiveState::default(), &opts());
        let tag = plan
            .actions
            .iter()
            .flat_map(|a| &a.changes)
            .find(|c| c.path == "tags.queue")
            .unwrap();
        assert!(tag.sensitive);
        let mut out = Vec::new();
        human::write_plan(&plan, &RenderOptions { color: false }, &mut out).unwrap();
        json::write_plan(&plan, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(SECRET), "{out}");
        assert!(out.contains("tags.queue = (sensitive)"), "{out}");
    }
}
