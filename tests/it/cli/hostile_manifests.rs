//! Hostile manifests through the real binary: alias bombs, deep nesting, odd encodings, limits.
//! Each test is a regression test for issue 13 (items 7–9): the binary must answer with
//! `path:line:col: error` and exit 1, never abort, hang or panic.

use crate::support::{gridform, texts};

const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: demo}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: demo
  location: westeurope
";

/// Writes `files` to a fresh directory and runs `gridform validate .` there.
fn validate(files: &[(&str, &[u8])]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let out = gridform(dir.path(), &["validate", "."], &[]);
    let (stdout, stderr) = texts(&out);
    (out.status.code(), format!("{stdout}{stderr}"))
}

#[test]
fn an_alias_bomb_is_refused_at_its_line() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x]\n");
    for i in 1..=9 {
        let p = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    let (code, out) = validate(&[
        ("stack.yaml", STACK.as_bytes()),
        ("bomb.yaml", bomb.as_bytes()),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("bomb.yaml:8:"), "{out}");
    assert!(out.contains("alias budget"), "{out}");
}

#[test]
fn a_long_alias_chain_does_not_overflow_the_stack() {
    let mut chain = String::from("a0: &a0 [x]\n");
    for i in 1..24_000 {
        chain.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
    }
    let (code, out) = validate(&[
        ("stack.yaml", STACK.as_bytes()),
        ("chain.yaml", chain.as_bytes()),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("chain.yaml:63:"), "{out}");
    assert!(out.contains("deeper than 64 levels"), "{out}");
}

#[test]
fn deep_nesting_without_aliases_does_not_overflow_the_stack() {
    let block: String = (0..24_000).map(|_| "- ").collect::<String>() + "x\n";
    let flow = format!("{}{}\n", "[".repeat(24_000), "]".repeat(24_000));
    for text in [block, flow] {
        let (code, out) = validate(&[
            ("stack.yaml", STACK.as_bytes()),
            ("deep.yaml", text.as_bytes()),
        ]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("deep.yaml:1:"), "{out}");
    }
}

#[test]
fn a_non_utf8_file_names_the_line_and_column_of_the_first_bad_byte() {
    let bad: &[u8] = b"apiVersion: gridform/v1\nkind: Topic\nmetadata: {name: caf\xe9}\n";
    let (code, out) = validate(&[("stack.yaml", STACK.as_bytes()), ("bad.yaml", bad)]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("bad.yaml:3:21: error:"), "{out}");
    assert!(out.contains("UTF-8"), "{out}");
}

#[test]
fn a_utf8_byte_order_mark_is_skipped() {
    let with_bom = format!("\u{feff}{STACK}");
    let (code, out) = validate(&[("stack.yaml", with_bom.as_bytes())]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_set_without_documents_is_an_error() {
    let (code, out) = validate(&[("empty.yaml", b"# only a comment\n---\n")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no manifest documents"), "{out}");
    assert!(out.contains("hint:"), "{out}");
}

#[test]
fn without_a_readable_stack_every_variable_is_secret() {
    // Found by the fuzzer: a Stack with a YAML error hid `spec.secrets`, so the value printed.
    let broken_stack = format!("{STACK}  secrets: [TOKEN]\n  bad: [\n");
    let topic = "apiVersion: gridform/v1\nkind: Topic\nmetadata: {name: orders}\nspec: {inputSchema: \"${env:TOKEN}\"}\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), broken_stack).unwrap();
    std::fs::write(dir.path().join("topic.yaml"), topic).unwrap();
    let out = gridform(
        dir.path(),
        &["validate", "."],
        &[("TOKEN", "canary-nostack")],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("topic.yaml:4:"), "{stderr}");
    assert!(
        !format!("{stdout}{stderr}").contains("canary-nostack"),
        "{stderr}"
    );
}
