//! `gridform validate` and `gridform schema` end to end: reference manifests, examples, the
//! schema file, exit codes.

use crate::support::{gridform, repo, texts};

#[test]
fn reference_manifests_and_examples_validate_on_a_bare_environment() {
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("manifests"))
        .unwrap()
        .map(|e| format!("manifests/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 3, "{dirs:?}");
    for dir in &dirs {
        let out = gridform(&repo(), &["validate", dir], &[]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{dir}:\n{stderr}");
    }
}
