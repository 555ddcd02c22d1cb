//! Unit tests of the state database: round trips, only dirtied rows written, refusals of
//! corrupt and newer files, migration of a JSON state file, file modes.

use super::*;
use crate::emulator::store::rows::RESOURCES;
use crate::emulator::store::{Kind, Resource};

fn resource(name: &str) -> Resource {
    Resource {
        id: format!("/subscriptions/s/resourceGroups/{name}"),
        kind: Kind::ResourceGroup,
        body: serde_json::json!({"name": name}),
        hidden: serde_json::Value::Null,
    }
}

fn count(path: &Path, table: &str) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_write_puts_only_the_rows_it_dirtied_and_deletes_delete_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/state.db");
    let (mut db, mut store) = Db::open(&path, 3).unwrap();
    let key = store.signing_key.clone();
    db.begin(&mut store).unwrap();
    store.insert(resource("a"));
    store.insert(resource("b"));
    db.commit(&mut store).unwrap();
    db.begin(&mut store).unwrap();
    store.insert(resource("c"));
    let changes = store.take_changes().unwrap();
    let puts: Vec<_> = changes.put.iter().filter(|p| p.0 == RESOURCES).collect();
    assert_eq!(puts.len(), 1, "{puts:?}");
    store.mark(RESOURCES, "/subscriptions/s/resourcegroups/c");
    store.remove_tree("/subscriptions/s/resourcegroups/a");
    db.commit(&mut store).unwrap();
    drop(db);
    assert_eq!(count(&path, RESOURCES), 2);
    let (_, back) = Db::open(&path, 9).unwrap();
    assert_eq!(back.signing_key, key);
    assert!(back.resource("/subscriptions/s/resourcegroups/b").is_some());
    assert!(back.resource("/subscriptions/s/resourcegroups/a").is_none());
}

#[test]
fn a_second_connection_sees_the_first_ones_commits_and_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let (mut one, mut store_one) = Db::open(&path, 1).unwrap();
    let (mut two, mut store_two) = Db::open(&path, 2).unwrap();
    assert_eq!(store_one.signing_key, store_two.signing_key);
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        let (db, store) = if i % 2 == 0 {
            (&mut one, &mut store_one)
        } else {
            (&mut two, &mut store_two)
        };
        db.begin(store).unwrap();
        store.insert(resource(name));
        db.commit(store).unwrap();
    }
    for (db, store) in [(&mut one, &mut store_one), (&mut two, &mut store_two)] {
        db.begin(store).unwrap();
        db.commit(store).unwrap();
        for name in ["a", "b", "c", "d"] {
            let key = format!("/subscriptions/s/resourcegroups/{name}");
            assert!(store.resource(&key).is_some(), "{name}");
        }
    }
}

#[test]
fn corrupt_foreign_and_newer_files_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, "not a database at all").unwrap();
    let err = Db::open(&path, 1).unwrap_err();
    assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("hint:"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "not a database at all"
    );

    let mut garbage = b"SQLite format 3\0".to_vec();
    garbage.extend(std::iter::repeat_n(0xA5u8, 4096));
    std::fs::write(&path, &garbage).unwrap();
    let err = Db::open(&path, 1).unwrap_err();
    assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");

    std::fs::remove_file(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE other (x); ").unwrap();
    drop(conn);
    let err = Db::open(&path, 1).unwrap_err();
    assert!(
        err.to_string().contains("without a gridform schema"),
        "{err}"
    );

    std::fs::remove_file(&path).unwrap();
    drop(Db::open(&path, 1).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let err = Db::open(&path, 1).unwrap_err();
    assert!(
        matches!(err, PersistError::FutureVersion { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn a_json_state_file_is_migrated_in_place_or_from_the_old_default_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::new(5);
    store.insert(resource("kept"));
    let json = serde_json::to_vec_pretty(&store).unwrap();
    let in_place = dir.path().join("state.json");
    std::fs::write(&in_place, &json).unwrap();
    let (_, back) = Db::open(&in_place, 1).unwrap();
    assert_eq!(back.signing_key, store.signing_key);
    assert!(
        back.resource("/subscriptions/s/resourcegroups/kept")
            .is_some()
    );
    assert_eq!(
        std::fs::read(dir.path().join("state.json.migrated")).unwrap(),
        json
    );

    let legacy = dir.path().join(".gridform/emulator.json");
    std::fs::create_dir(dir.path().join(".gridform")).unwrap();
    std::fs::write(&legacy, &json).unwrap();
    let (_, back) = Db::open(&dir.path().join(".gridform/emulator.db"), 1).unwrap();
    assert!(
        back.resource("/subscriptions/s/resourcegroups/kept")
            .is_some()
    );
    assert!(!legacy.exists());
    assert!(dir.path().join(".gridform/emulator.json.migrated").exists());

    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, r#"{"version": 99}"#).unwrap();
    let err = Db::open(&newer, 1).unwrap_err();
    assert!(err.to_string().contains("format version 99"), "{err}");
    assert!(newer.exists());
}

#[cfg(unix)]
#[test]
fn the_database_and_its_wal_files_are_private_and_its_folder_ignored_by_git() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/state.db");
    let (mut db, mut store) = Db::open(&path, 3).unwrap();
    db.begin(&mut store).unwrap();
    store.insert(resource("a"));
    db.commit(&mut store).unwrap();
    let ignore = std::fs::read_to_string(dir.path().join("new/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    for name in ["state.db", "state.db-wal", "state.db-shm"] {
        let mode = std::fs::metadata(dir.path().join("new").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    // A folder that exists already is left alone, unless it is `.gridform`.
    prepare(&dir.path().join("state.db")).unwrap();
    assert!(!dir.path().join(".gitignore").exists());
    std::fs::create_dir(dir.path().join(".gridform")).unwrap();
    prepare(&dir.path().join(".gridform/emulator.db")).unwrap();
    assert!(dir.path().join(".gridform/.gitignore").exists());
}

#[test]
fn the_sink_appends_one_row_per_record_and_its_cap_deletes_the_oldest() {
    use crate::emulator::store::SinkRecord;
    use crate::emulator::store::rows::SINK;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let (mut db, mut store) = Db::open(&path, 3).unwrap();
    let record = |n: u32| SinkRecord {
        at: String::new(),
        url: format!("u{n}"),
        event_type: String::new(),
        body: serde_json::Value::Null,
    };
    for n in 0..5 {
        db.begin(&mut store).unwrap();
        store.push_sink(record(n), 3);
        let mut probe = store.clone();
        let changes = probe.take_changes().unwrap();
        let puts = changes.put.iter().filter(|p| p.0 == SINK).count();
        let deletes = changes.delete.iter().filter(|d| d.0 == SINK).count();
        assert_eq!((puts, deletes), (1, usize::from(n >= 3)), "record {n}");
        db.commit(&mut store).unwrap();
    }
    drop(db);
    assert_eq!(count(&path, SINK), 3);
    let (_, back) = Db::open(&path, 3).unwrap();
    let urls: Vec<&str> = back.sink.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls, ["u2", "u3", "u4"]);
}
