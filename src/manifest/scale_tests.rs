//! Guards against loading work that grows faster than the manifests (issue 14), without timing
//! anything: valid documents compute no "did you mean", and the schema walk of `2n` documents
//! does exactly twice the work of `n` more than the fixed part does.

use std::path::PathBuf;

use super::check::WALKS;
use super::parse_sources;
use super::words::SUGGESTIONS;

const STACK: &str = "apiVersion: gridform/v1\nkind: Stack\nmetadata: {name: scale}\nspec:\n  subscriptionId: 00000000-0000-0000-0000-000000000000\n  resourceGroup: scale\n  location: westeurope\n---\napiVersion: gridform/v1\nkind: ProviderRegistration\nmetadata: {name: Microsoft.EventGrid}\n---\napiVersion: gridform/v1\nkind: ResourceGroup\nmetadata: {name: scale}\n";

/// A Stack and `topics` topics with `subs` webhook subscriptions each (as the benchmark's).
fn stack(topics: usize, subs: usize) -> Vec<(PathBuf, String)> {
    let mut files = vec![(PathBuf::from("stack.yaml"), STACK.to_string())];
    for t in 0..topics {
        let mut text =
            format!("apiVersion: gridform/v1\nkind: Topic\nmetadata: {{name: topic-{t}}}\n");
        for s in 0..subs {
            text.push_str(&format!(
                "---\napiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: t{t}-s{s}}}\n\
                 spec:\n  topic: {{kind: Topic, name: topic-{t}}}\n  destination:\n    \
                 endpointType: WebHook\n    endpointUrl: https://hooks.example.com/{t}/{s}\n  \
                 filter:\n    includedEventTypes: [A.Created, A.Deleted]\n  \
                 retryPolicy:\n    maxDeliveryAttempts: 10\n"
            ));
        }
        files.push((PathBuf::from(format!("topic-{t}.yaml")), text));
    }
    files
}

/// (schema nodes walked, suggestions computed) to load the stack, which must be valid.
fn work_to_load(topics: usize, subs: usize) -> (usize, usize) {
    WALKS.with(|n| n.set(0));
    SUGGESTIONS.with(|n| n.set(0));
    let loaded = parse_sources(&stack(topics, subs), &|_| None);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let state = loaded.state.expect("a valid stack");
    assert_eq!(state.resources.len(), 2 + topics * (1 + subs));
    (WALKS.with(|n| n.get()), SUGGESTIONS.with(|n| n.get()))
}

#[test]
fn valid_documents_compute_no_did_you_mean() {
    let (_, suggestions) = work_to_load(4, 25);
    assert_eq!(suggestions, 0);
}

#[test]
fn schema_work_grows_linearly_with_the_documents() {
    let (fixed, _) = work_to_load(0, 0);
    let (n, _) = work_to_load(4, 25);
    let (two_n, _) = work_to_load(8, 25);
    assert!(n > fixed);
    assert_eq!(two_n - fixed, 2 * (n - fixed));
}

#[test]
fn a_typo_still_gets_its_did_you_mean() {
    let mut files = stack(1, 1);
    files[1].1 = files[1]
        .1
        .replace("maxDeliveryAttempts", "maxDeliveryAttempt");
    let loaded = parse_sources(&files, &|_| None);
    let hints: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter_map(|d| d.hint.clone())
        .collect();
    assert_eq!(
        hints,
        ["did you mean `maxDeliveryAttempts`?"],
        "{:?}",
        loaded.diagnostics
    );
}
