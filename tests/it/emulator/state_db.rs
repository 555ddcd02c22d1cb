//! The `--state` database with the real binary: every acknowledged write survives `kill -9`,
//! two processes writing one file concurrently keep each other's writes, a JSON state file of
//! the current format is migrated (kept as `.migrated`), and a corrupt or newer file is refused
//! with `error:` and a hint, left as it was.

use std::process::Command;

use gridform::emulator::{self, Config};
use serde_json::json;

use super::serve::{Client, RS, SUB, signal, spawn};

fn group_path(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourcegroups/{name}?{RS}")
}

/// Every resource group name, following `nextLink`.
async fn group_names(c: &Client) -> Vec<String> {
    let mut names = Vec::new();
    let mut next = Some(format!("/subscriptions/{SUB}/resourcegroups?{RS}&$top=100"));
    while let Some(path) = next {
        let (s, b) = c.send(reqwest::Method::GET, &path, None).await;
        assert_eq!(s, 200, "{b}");
        names.extend(
            b["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["name"].as_str().unwrap().to_string()),
        );
        next = b["nextLink"]
            .as_str()
            .map(|l| l.trim_start_matches(&c.base).to_string());
    }
    names
}

async fn put_group(c: &Client, name: &str) -> u16 {
    let body = json!({"location": "westus2"});
    c.send(reqwest::Method::PUT, &group_path(name), Some(body))
        .await
        .0
}

#[tokio::test]
async fn kill_9_right_after_n_acknowledged_writes_loses_none() {
    const N: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.db");
    let (mut child, base) = spawn(&state);
    let c = Client::connect(&base).await;
    for i in 0..N {
        assert_eq!(put_group(&c, &format!("rg{i}")).await, 201);
    }
    signal(&child, "-9");
    child.wait().unwrap();
    let (mut child, base) = spawn(&state);
    let c = Client { base, ..c };
    let names = group_names(&c).await;
    let found = (0..N).filter(|i| names.contains(&format!("rg{i}"))).count();
    assert_eq!(found, N, "{N} acknowledged, {found} found after kill -9");
    signal(&child, "-TERM");
    child.wait().unwrap();
}

#[tokio::test]
async fn two_processes_writing_one_file_concurrently_keep_both_their_writes() {
    const EACH: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.db");
    // Process one: the binary. Process two: this test process, on the same file.
    let (mut child, base) = spawn(&state);
    let here = emulator::spawn_local(Config {
        state_file: Some(state.clone()),
        ..Config::default()
    })
    .await
    .unwrap();
    let one = Client::connect(&base).await;
    let two = Client {
        http: reqwest::Client::new(),
        base: here.base_url.clone(),
        token: one.token.clone(),
    };
    let write_all = |c: &Client, prefix: &'static str| {
        let c = Client {
            http: c.http.clone(),
            base: c.base.clone(),
            token: c.token.clone(),
        };
        tokio::spawn(async move {
            for i in 0..EACH {
                assert_eq!(put_group(&c, &format!("{prefix}{i}")).await, 201);
            }
        })
    };
    let (a, b) = (write_all(&one, "one-"), write_all(&two, "two-"));
    a.await.unwrap();
    b.await.unwrap();
    for c in [&one, &two] {
        let names = group_names(c).await;
        for i in 0..EACH {
            for prefix in ["one-", "two-"] {
                assert!(
                    names.contains(&format!("{prefix}{i}")),
                    "{prefix}{i} lost at {}",
                    c.base
                );
            }
        }
    }
    here.shutdown().await.unwrap();
    signal(&child, "-TERM");
    child.wait().unwrap();
    let (mut child, base) = spawn(&state);
    let names = group_names(&Client { base, ..one }).await;
    assert_eq!(names.len(), 2 * EACH, "{names:?}");
    signal(&child, "-TERM");
    child.wait().unwrap();
}

#[tokio::test]
async fn a_json_state_file_of_the_current_format_is_migrated_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.json");
    // The JSON format as the current store serializes it, with a group made through the API.
    let running = emulator::spawn_local(Config::default()).await.unwrap();
    let c = Client::connect(&running.base_url).await;
    assert_eq!(put_group(&c, "before").await, 201);
    let json = serde_json::to_vec_pretty(&*running.emulator.lock()).unwrap();
    running.shutdown().await.unwrap();
    std::fs::write(&state, &json).unwrap();
    let (mut child, base) = spawn(&state);
    // The old token still verifies: the signing key moved with the rest.
    let c = Client { base, ..c };
    let (s, _) = c
        .send(reqwest::Method::GET, &group_path("before"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(put_group(&c, "after").await, 201);
    assert_eq!(group_names(&c).await, ["after", "before"]);
    signal(&child, "-TERM");
    child.wait().unwrap();
    let kept = std::fs::read(dir.path().join("emulator.json.migrated")).unwrap();
    assert_eq!(kept, json);
    assert!(
        std::fs::read(&state)
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );
}

fn serve_error(state: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gridform"))
        .args(["emulator", "serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_corrupt_or_newer_database_is_refused_with_a_hint_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.db");
    std::fs::write(&state, "garbage, not a database").unwrap();
    let err = serve_error(&state);
    assert!(err.starts_with("error:"), "{err}");
    assert!(err.contains("is corrupt") && err.contains("hint:"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "garbage, not a database"
    );

    std::fs::remove_file(&state).unwrap();
    let conn = rusqlite::Connection::open(&state).unwrap();
    conn.execute_batch("PRAGMA user_version = 42").unwrap();
    drop(conn);
    let err = serve_error(&state);
    assert!(
        err.contains("schema version 42") && err.contains("upgrade gridform"),
        "{err}"
    );
    let conn = rusqlite::Connection::open(&state).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 42);
}
