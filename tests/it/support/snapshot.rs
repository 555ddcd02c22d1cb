//! Whole CLI runs as snapshot text: the exit code, stdout and stderr, with what differs between
//! machines and runs replaced by placeholders (ports, temp paths, the repository path, GUIDs,
//! request ids, durations). Tests hand the text to `insta::assert_snapshot!`, so each snapshot
//! file lives beside its test. It never hides secrets: a snapshot holding one must fail review.

use std::path::Path;
use std::process::Output;

use regex::Regex;

use super::{repo, texts};

/// Patterns replaced after the literal paths, in order.
const RULES: &[(&str, &str)] = &[
    // Ports of the emulator, the webhook receiver and anything else on loopback.
    (r"(127\.0\.0\.1|localhost|\[::1\]):\d+", "$1:[port]"),
    (
        r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[guid]",
    ),
    (r"(?i)(request[ _-]?id\W+)[0-9a-z-]+", "${1}[request-id]"),
    // `(0.3s)`, `in 12ms`, `2m`: every duration a run prints.
    (r"\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h)\b", "[duration]"),
];

/// `out` as snapshot text: `exit: CODE`, then stdout and stderr, scrubbed. `dirs` are the
/// run's temporary folders (shown as `[dir]`, `[dir2]`, ...).
pub fn cli_run(out: &Output, dirs: &[&Path]) -> String {
    let (stdout, stderr) = texts(out);
    let text = format!(
        "exit: {:?}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        out.status.code()
    );
    scrub(&text, dirs)
}

/// `text` with `dirs`, the repository path, the temp folder and [`RULES`] replaced.
pub fn scrub(text: &str, dirs: &[&Path]) -> String {
    let mut text = text.to_string();
    for (i, dir) in dirs.iter().enumerate() {
        let name = if i == 0 {
            "[dir]".to_string()
        } else {
            format!("[dir{}]", i + 1)
        };
        for form in [dir.to_path_buf(), dir.canonicalize().unwrap()] {
            text = text.replace(&form.display().to_string(), &name);
        }
    }
    text = text.replace(&repo().display().to_string(), "[repo]");
    let tmp = std::env::temp_dir();
    let tmp = regex::escape(tmp.display().to_string().trim_end_matches('/'));
    text = Regex::new(&format!(r"{tmp}/[^\s'`]+"))
        .unwrap()
        .replace_all(&text, "[tmp]")
        .into_owned();
    for (pattern, with) in RULES {
        let re = Regex::new(pattern).unwrap();
        text = re.replace_all(&text, *with).into_owned();
    }
    text
}

#[test]
fn scrub_replaces_what_differs_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}/m.yaml http://127.0.0.1:40123/x 9f1c2d3e-0000-4a5b-8c7d-0123456789ab (0.3s) in 12ms \
         x-ms-request-id: abc-123 {}/.tmpXyZ/f 2 subscriptions",
        dir.path().display(),
        std::env::temp_dir()
            .display()
            .to_string()
            .trim_end_matches('/'),
    );
    assert_eq!(
        scrub(&text, &[dir.path()]),
        "[dir]/m.yaml http://127.0.0.1:[port]/x [guid] ([duration]) in [duration] \
         x-ms-request-id: [request-id] [tmp] 2 subscriptions"
    );
}
