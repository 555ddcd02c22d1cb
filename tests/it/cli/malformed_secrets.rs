//! A `spec.secrets` that is not a list of names is reported without quoting its value: it may
//! hold a secret's value (found by the manifest fuzzer on the system-topic example).

use crate::support::{gridform, texts};

#[test]
fn a_malformed_secrets_value_is_reported_without_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let stack = "apiVersion: gridform/v1\nkind: Stack\nmetadata: {name: s}\nspec:\n  secrets: \"x-${env:HOOK_TOKEN}\"\n  subscriptionId: 00000000-0000-0000-0000-000000000000\n  resourceGroup: rg\n  location: westeurope\n";
    std::fs::write(dir.path().join("stack.yaml"), stack).unwrap();
    let out = gridform(
        dir.path(),
        &["validate", "."],
        &[("HOOK_TOKEN", "tok-9f3e")],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("spec.secrets"), "{stderr}");
    assert!(
        !stdout.contains("tok-9f3e") && !stderr.contains("tok-9f3e"),
        "{stdout}{stderr}"
    );
}
