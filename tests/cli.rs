//! The `sessile` command-line tool, run as a real binary on real databases
//! in temporary directories. It guards what an operator relies on: an
//! export imported into a fresh database gives back identical sessions
//! (key, data bytes, expiry policy and deadline); `check` finds faults
//! planted in the trees and `--repair` removes them; a database held by
//! another process is refused with a message that names it; clear-expired
//! counts what it removed; one user's sessions are listed and ended through
//! the owner index (`list --owner`, `delete --owner`), which `--owner-key`
//! builds and `check` verifies; and the exit codes are the documented ones
//! (0 ok, 1 error, 2 usage).
//!
//! Sessions are written by opening the store directly in the test process,
//! which drops its handle before running the binary (one process per sled
//! database). Expiry uses deadlines well in the past or the future of the
//! real clock, since the binary reads the system clock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

mod common;

use common::{open, released, with_store};
use serde_json::Value as Json;
use sessile::{
    decode_data, encode_data, to_ms, Config, Data, Engine, Expiry, Header, Record, SessionKey,
    SledStore, Store, Value,
};

const DAY_MS: i64 = 86_400_000;

fn now() -> i64 {
    to_ms(SystemTime::now())
}

/// A valid session key made from a number, so tests can name sessions.
fn key(n: u64) -> SessionKey {
    SessionKey::parse(&format!("{n:032}")).unwrap()
}

/// A record of `bytes` under `expiry`, written now with Django's default
/// age of two weeks.
fn record(bytes: &[u8], expiry: Expiry) -> Record {
    Record::new(Header::new(expiry, now(), 1_209_600), bytes)
}

fn data(pairs: &[(&str, Value)]) -> Vec<u8> {
    let d: Data = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    encode_data(&d)
}

/// Writes one session with raw MessagePack data bytes.
fn put(store: &SledStore, k: &SessionKey, bytes: &[u8], expiry: Expiry) {
    store
        .create(k, record(bytes, expiry), now())
        .unwrap()
        .unwrap();
}

/// Every stored record, decoded: key → (policy, deadline, data bytes).
fn dump(db: &Path) -> Vec<(Vec<u8>, Expiry, i64, Vec<u8>)> {
    with_store(db, |store| {
        let mut all = Vec::new();
        for (k, raw) in store.scan(None, usize::MAX).unwrap() {
            let rec = Record::decode(&raw).unwrap();
            let h = *rec.header();
            all.push((k.to_vec(), h.expiry, h.expires_at_ms, rec.data().to_vec()));
        }
        all
    })
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn finish(out: Output) -> Run {
    Run {
        code: out
            .status
            .code()
            .expect("the binary was killed by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn sessile(db: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_sessile"))
        .args(args)
        .arg("--db")
        .arg(db)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    finish(out)
}

fn sessile_with_stdin(db: &Path, args: &[&str], input: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessile"))
        .args(args)
        .arg("--db")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    finish(child.wait_with_output().unwrap())
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
    root: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    Fixture {
        db: root.join("sessions.db"),
        root,
        _dir: dir,
    }
}

/// Sessions of every expiry policy, with every kind of MessagePack value,
/// including bytes the readable JSON cannot carry exactly.
fn varied_sessions(db: &Path) {
    with_store(db, varied_sessions_in);
}

fn varied_sessions_in(store: &SledStore) {
    let soon = now() + DAY_MS;
    let nested = Value::Map(vec![
        (Value::from(1), Value::from("int key")),
        (
            Value::Nil,
            Value::Array(vec![Value::from(true), Value::Nil]),
        ),
    ]);
    put(
        store,
        &key(1),
        &data(&[
            ("user_id", Value::from(42)),
            ("name", Value::from("Zoë ✓")),
            ("avatar", Value::Binary(vec![0, 159, 146, 150, 255])),
            ("ext", Value::Ext(7, vec![1, 2, 3])),
            ("ratio", Value::F32(1.5)),
            ("nan", Value::F64(f64::NAN)),
            ("big", Value::from(u64::MAX)),
            ("small", Value::from(i64::MIN)),
            ("nested", nested),
        ]),
        Expiry::Default,
    );
    put(
        store,
        &key(2),
        &data(&[("cart", Value::from(vec![Value::from(1)]))]),
        Expiry::BrowserClose,
    );
    put(store, &key(3), &data(&[]), Expiry::Seconds(300));
    put(
        store,
        &key(4),
        &data(&[("x", Value::from(1))]),
        Expiry::At(soon),
    );
    // Already expired, not swept: exported and imported as it is.
    put(
        store,
        &key(5),
        &data(&[("old", Value::from(1))]),
        Expiry::At(now() - DAY_MS),
    );
    // A string that is not UTF-8, and an int16-encoded 1 (MessagePack
    // allows wider encodings than needed): only exact bytes keep these.
    put(
        store,
        &key(6),
        &[
            0x82, 0xa1, b's', 0xa2, 0xff, 0xfe, 0xa1, b'w', 0xd1, 0x00, 0x01,
        ],
        Expiry::Seconds(-5),
    );
}

#[test]
fn export_then_import_into_a_fresh_database_gives_identical_sessions() {
    let f = fixture();
    varied_sessions(&f.db);
    let file = f.root.join("sessions.jsonl");
    let fresh = f.root.join("fresh.db");

    let out = sessile(&f.db, &["export", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("exported 6 sessions"), "{}", out.stdout);
    // Not a terminal: no progress bar, nothing on stderr.
    assert_eq!(out.stderr, "");

    let out = sessile(&fresh, &["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("imported 6 sessions, skipped 0"),
        "{}",
        out.stdout
    );

    let (a, b) = (dump(&f.db), dump(&fresh));
    assert_eq!(a.len(), 6);
    assert_eq!(a, b);

    // Importing again changes nothing: every key exists, none is bad.
    let out = sessile(&fresh, &["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("imported 0 sessions, skipped 6"));
    assert_eq!(out.stderr.matches("already exists").count(), 6);
    assert_eq!(dump(&fresh), a);

    // The imported database passes its own check.
    let out = sessile(&fresh, &["check"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn export_to_stdout_is_readable_json_lines_and_imports_from_stdin() {
    let f = fixture();
    varied_sessions(&f.db);
    let out = sessile(&f.db, &["export", "-"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("exported 6 sessions to stdout"));
    let lines: Vec<Json> = out.stdout.lines().map(json).collect();
    assert_eq!(lines.len(), 6);

    let first = &lines[0];
    assert_eq!(first["key"], key(1).as_str());
    assert_eq!(first["expiry"]["policy"], "default");
    assert_eq!(first["data"]["user_id"], 42);
    assert_eq!(first["data"]["name"], "Zoë ✓");
    assert_eq!(first["data"]["avatar"]["$base64"], "AJ+Slv8=");
    assert_eq!(first["data"]["ext"]["$ext"]["type"], 7);
    assert_eq!(first["data"]["nested"]["1"], "int key");
    assert_eq!(first["data"]["nan"], Json::Null);
    assert!(first["msgpack"].is_string());
    assert_eq!(lines[2]["expiry"]["seconds"], 300);
    assert!(lines[3]["expires_at"].as_str().unwrap().ends_with('Z'));

    let fresh = f.root.join("fresh.db");
    let imported = sessile_with_stdin(&fresh, &["import", "-"], out.stdout.as_bytes());
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(dump(&fresh), dump(&f.db));
}

#[test]
fn import_reports_bad_lines_by_number_and_keeps_the_good_ones() {
    let f = fixture();
    let soon = now() + DAY_MS;
    let good = |n: u64| {
        format!(
            r#"{{"key":"{}","expiry":{{"policy":"at","at_ms":{soon}}},"expires_at_ms":{soon},"data":{{"n":{n},"blob":{{"$base64":"AQI="}}}}}}"#,
            key(n)
        )
    };
    let lines = [
        good(1),
        "{not json".to_string(),
        r#"{"key":"short","expiry":{"policy":"default"},"expires_at_ms":1,"data":{}}"#.into(),
        format!(
            r#"{{"key":"{}","expiry":{{"policy":"default"}},"expires_at_ms":1,"msgpack":"!!"}}"#,
            key(4)
        ),
        String::new(),
        format!(
            r#"{{"key":"{}","expiry":{{"policy":"sometimes"}},"expires_at_ms":1,"data":{{}}}}"#,
            key(6)
        ),
        format!(
            r#"{{"key":"{}","expiry":{{"policy":"at","at_ms":5}},"expires_at_ms":6,"data":{{}}}}"#,
            key(7)
        ),
        format!(
            r#"{{"key":"{}","expiry":{{"policy":"default"}},"expires_at_ms":1}}"#,
            key(8)
        ),
        good(9),
    ];
    let file = f.root.join("in.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let out = sessile(&f.db, &["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "bad lines make the import fail");
    assert!(
        out.stdout
            .contains("imported 2 sessions, skipped 0 already present, 6 bad lines"),
        "{}",
        out.stdout
    );
    for n in [2, 3, 4, 6, 7, 8] {
        assert!(
            out.stderr.contains(&format!("line {n}: ")),
            "line {n} not reported:\n{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("line 1:") && !out.stderr.contains("line 9:"));

    let all = dump(&f.db);
    assert_eq!(all.len(), 2);
    let (k, expiry, at, bytes) = &all[1];
    assert_eq!(k, key(9).as_bytes());
    assert_eq!((*expiry, *at), (Expiry::At(soon), soon));
    let d = decode_data(bytes).unwrap();
    assert_eq!(d["n"], Value::from(9));
    assert_eq!(d["blob"], Value::Binary(vec![1, 2]));
}

#[test]
fn check_finds_planted_faults_and_repair_fixes_them() {
    let f = fixture();
    let later = now() + DAY_MS;
    with_store(&f.db, |store| {
        for n in 1..=5 {
            put(
                store,
                &key(n),
                &data(&[("n", Value::from(n))]),
                Expiry::At(later),
            );
        }
        // 6: data that passes the checksum but is not a map.
        put(store, &key(6), &[0x01], Expiry::At(later));
    });
    {
        // Behind the store's back, with sled itself: 2's record loses its
        // index entry (nothing would sweep it), 3's index entry loses its
        // record, 5's bytes are damaged on disk (checksum mismatch), and an
        // index entry of the wrong length appears.
        let db = sled::Config::new().path(&f.db).open().unwrap();
        let sessions = db.open_tree("sessions").unwrap();
        let expiry = db.open_tree("expiry").unwrap();
        // An index entry ends with its session's key (docs/FORMAT.md).
        let entry_of_2 = expiry
            .iter()
            .keys()
            .map(Result::unwrap)
            .find(|e| e.ends_with(key(2).as_bytes()))
            .unwrap();
        expiry.remove(entry_of_2).unwrap();
        sessions.remove(key(3).as_bytes()).unwrap();
        let mut raw = sessions.get(key(5).as_bytes()).unwrap().unwrap().to_vec();
        *raw.last_mut().unwrap() ^= 0xff;
        sessions.insert(key(5).as_bytes(), raw).unwrap();
        expiry.insert(b"short", &[]).unwrap();
        db.flush().unwrap();
        drop((sessions, expiry, db));
        released(&f.db);
    }

    let out = sessile(&f.db, &["check"]);
    assert_eq!(out.code, 1, "faults found make check fail");
    let report = &out.stdout;
    let has = |text: &str| assert!(report.contains(text), "no {text:?} in:\n{report}");
    has("damaged records:              2");
    has("records without index entry:  1");
    has("malformed index entries:      1");
    has("index entries without record: 1");
    has(&format!("damaged record {}: checksum", key(5)));
    has(&format!("damaged record {}: session data", key(6)));
    has(&format!("record without index entry: {}", key(2)));
    has(&format!("index entry without record: {}", key(3)));
    has("malformed index entry short");
    // The entry without a record is harmless: not one of the faults.
    has("4 faults");

    // Export writes the readable sessions and reports the damaged ones.
    let file = f.root.join("out.jsonl");
    let out = sessile(&f.db, &["export", file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "damaged records make export fail");
    assert!(out.stdout.contains("exported 3 sessions"), "{}", out.stdout);
    assert_eq!(out.stderr.matches("damaged record ").count(), 2);

    let out = sessile(&f.db, &["check", "--repair"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("(entry filed)"));

    let out = sessile(&f.db, &["check"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("no faults"));
    assert!(out.stdout.contains("index entries without record: 0"));
    let keys: Vec<Vec<u8>> = dump(&f.db).into_iter().map(|r| r.0).collect();
    assert_eq!(
        keys,
        [1, 2, 4].map(|n| key(n).as_bytes().to_vec()).to_vec(),
        "the healthy sessions stay, the damaged ones go"
    );
}

#[test]
fn entries_the_lazy_index_leaves_behind_are_reported_but_not_faults() {
    let f = fixture();
    with_store(&f.db, |store| {
        put(store, &key(1), &data(&[]), Expiry::Seconds(3600));
        // Shortening the deadline files an earlier entry and leaves the
        // old one; deleting the session then leaves that one behind.
        let mut shorter = |stored: &Record, _: bool| Ok(record(stored.data(), Expiry::Seconds(60)));
        store.update(&key(1), None, now(), &mut shorter).unwrap();
        assert!(store.delete(&key(1)).unwrap());
    });
    let out = sessile(&f.db, &["check"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("index entries without record: 1"));
    assert!(out.stdout.contains("no faults"));
    let out = sessile(&f.db, &["check", "--repair"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let stats = json(&sessile(&f.db, &["stats", "--json"]).stdout);
    assert_eq!(stats["index_entries"], 0);
}

/// The data key that names a session's owner in the owner tests.
const OWNER: &str = "_auth_user_id";

/// Sessions of two users, as Django writes them (the user id as a string
/// or, from other frameworks, an integer: the same owner), and one of
/// nobody: 1, 2 and 3 are user 42's, 4 is user 7's, 5 has no owner, 6 is
/// 42's but expired. Returns the keys of 42's live sessions.
fn sessions_of_two_users(store: &SledStore) -> Vec<SessionKey> {
    let later = now() + DAY_MS;
    let owners = [
        Some(Value::from("42")),
        Some(Value::from(42)),
        Some(Value::from("42")),
        Some(Value::from("7")),
        None,
    ];
    for (n, owner) in (1..).zip(owners) {
        let mut pairs = vec![("n", Value::from(n))];
        pairs.extend(owner.map(|o| (OWNER, o)));
        put(store, &key(n), &data(&pairs), Expiry::At(later - n as i64));
    }
    let old = Record::new(
        Header::new(Expiry::At(now() - DAY_MS), 0, 0),
        &data(&[(OWNER, Value::from(42))]),
    );
    store
        .create(&key(6), old, now() - 2 * DAY_MS)
        .unwrap()
        .unwrap();
    vec![key(1), key(2), key(3)]
}

/// The keys `list` printed (text: the first field of each line).
fn listed_keys(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn one_user_s_sessions_are_listed_and_ended_through_the_owner_index() {
    let f = fixture();
    let ours = with_store(&f.db, sessions_of_two_users);
    let shown = |keys: &[SessionKey]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();

    // The database keeps no owner index yet: the command line must name the
    // owner key.
    let out = sessile(&f.db, &["list", "--owner", "42"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--owner-key"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let stats = json(&sessile(&f.db, &["stats", "--json"]).stdout);
    assert_eq!(
        (&stats["owner_key"], &stats["owner_entries"]),
        (&Json::Null, &Json::from(0))
    );

    // Naming it builds the index (said on stderr); the live sessions of 42
    // are listed in `list`'s format, the one that expires last first.
    let out = sessile(&f.db, &["list", "--owner", "42", "--owner-key", OWNER]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("built the owner index"),
        "{}",
        out.stderr
    );
    assert_eq!(listed_keys(&out.stdout), shown(&ours));
    let all = sessile(&f.db, &["list"]).stdout;
    for line in out.stdout.lines() {
        assert!(
            all.lines().any(|l| l == line),
            "{line} is not as `list` shows it"
        );
        assert!(line.ends_with("\tlive"), "{line}");
    }

    // The database keeps the index from then on: no --owner-key needed, and
    // stats shows it (one entry per session that names an owner, the
    // expired one included until it is swept).
    let stats = json(&sessile(&f.db, &["stats", "--json"]).stdout);
    assert_eq!(
        (&stats["owner_key"], &stats["owner_entries"]),
        (&Json::from(OWNER), &Json::from(5))
    );
    assert!(sessile(&f.db, &["stats"])
        .stdout
        .contains(&format!("owner key       {OWNER}")));
    let listed = json(&sessile(&f.db, &["list", "--owner", "42", "--json", "--limit", "2"]).stdout);
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["key"], key(1).as_str());
    assert_eq!(items[1]["state"], "live");
    assert_eq!(
        listed_keys(&sessile(&f.db, &["list", "--owner", "7"]).stdout),
        shown(&[key(4)])
    );
    assert_eq!(sessile(&f.db, &["list", "--owner", "nobody"]).stdout, "");

    // "Sign out my other devices" from session 2, then "log out
    // everywhere"; the other user's session and the anonymous one stay.
    let out = sessile(
        &f.db,
        &["delete", "--owner", "42", "--except", key(2).as_str()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("ended 2 sessions of owner 42 (all but {})\n", key(2))
    );
    assert_eq!(
        listed_keys(&sessile(&f.db, &["list", "--owner", "42"]).stdout),
        shown(&[key(2)])
    );
    let out = sessile(&f.db, &["delete", "--owner", "42"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "ended 1 sessions of owner 42\n")
    );
    let out = sessile(&f.db, &["delete", "--owner", "42"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "ended 0 sessions of owner 42\n")
    );
    let left: Vec<Vec<u8>> = dump(&f.db).into_iter().map(|r| r.0).collect();
    assert_eq!(left, [4, 5, 6].map(|n| key(n).as_bytes().to_vec()));

    // Another owner key rebuilds the index by it (and says which it
    // replaced): 5 gets an owner under "n".
    let out = sessile(&f.db, &["list", "--owner", "5", "--owner-key", "n"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("(it was kept by {OWNER})")),
        "{}",
        out.stderr
    );
    assert_eq!(listed_keys(&out.stdout), shown(&[key(5)]));
    let out = sessile(&f.db, &["check"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("owner entries:                2 (by n)"),
        "{}",
        out.stdout
    );
}

#[test]
fn owner_options_that_do_not_fit_are_usage_errors_and_change_nothing() {
    let f = fixture();
    with_store(&f.db, |store| {
        sessions_of_two_users(store);
    });
    let k = key(1).to_string();
    for args in [
        &["delete"][..],
        &["delete", &k, "--owner", "42"],
        &["delete", "--except", &k],
        &["delete", "--owner", "42", "--except", "NOT-A-KEY"],
        &["list", "--owner-key", OWNER],
        &["list", "--owner", "42", "--expired"],
        &["list", "--owner", "42", "--owner-key", "a..b"],
        &["list", "--owner", "42", "--owner-key", ""],
    ] {
        let out = sessile(&f.db, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
    }
    assert_eq!(dump(&f.db).len(), 6, "nothing deleted");
    let stats = json(&sessile(&f.db, &["stats", "--json"]).stdout);
    assert_eq!(stats["owner_key"], Json::Null, "no index built");
}

#[test]
fn check_finds_a_session_missing_from_the_owner_index_and_repair_files_it() {
    let f = fixture();
    with_store(&f.db, |store| {
        store
            .index_owners(&sessile::OwnerKey::parse(OWNER).unwrap())
            .unwrap();
        sessions_of_two_users(store);
    });
    {
        // With sled itself: session 2 loses its owner entry (owner length,
        // two bytes big-endian, the owner, the key: src/owner.rs), and
        // an entry files session 5 under a user its data does not name.
        let db = sled::Config::new().path(&f.db).open().unwrap();
        let owners = db.open_tree("owners").unwrap();
        let entry = |owner: &[u8], k: &SessionKey| {
            let mut e = (owner.len() as u16).to_be_bytes().to_vec();
            e.extend_from_slice(owner);
            e.extend_from_slice(k.as_bytes());
            e
        };
        owners.remove(entry(b"42", &key(2))).unwrap().unwrap();
        owners.insert(entry(b"7", &key(5)), &[]).unwrap();
        db.flush().unwrap();
        drop((owners, db));
        released(&f.db);
    }
    let listed = |owner| listed_keys(&sessile(&f.db, &["list", "--owner", owner]).stdout);
    assert_eq!(listed("42"), [key(1).to_string(), key(3).to_string()]);

    let out = sessile(&f.db, &["check"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let has = |text: &str| assert!(out.stdout.contains(text), "no {text:?} in:\n{}", out.stdout);
    has(&format!(
        "record without owner entry: {} (owner 42)",
        key(2)
    ));
    has(&format!("stale owner entry: {} under owner 7", key(5)));
    has("records without owner entry:  1");
    has("stale owner entries:          1");
    has("1 faults");

    let out = sessile(&f.db, &["check", "--repair"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("(entry filed)"), "{}", out.stdout);
    assert_eq!(
        listed("42"),
        [key(1), key(2), key(3)].map(|k| k.to_string())
    );
    assert_eq!(listed("7"), [key(4).to_string()]);
    let out = sessile(&f.db, &["check"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("stale owner entries:          0"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_database_held_by_another_process_is_refused_with_a_clear_message() {
    let f = fixture();
    let engine = Engine::open(Config::new(&f.db).reaper_interval(None)).unwrap();
    let canonical = f.db.canonicalize().unwrap();
    for args in [&["stats"][..], &["list"], &["import", "-"]] {
        let out = sessile(&f.db, args);
        assert_eq!(out.code, 1, "{args:?}");
        assert!(
            out.stderr.contains(&canonical.display().to_string()),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("held by another process"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stdout, "");
    }
    drop(engine);
    released(&f.db);
    assert_eq!(sessile(&f.db, &["stats"]).code, 0, "free once released");
}

#[test]
fn clear_expired_removes_only_expired_sessions_and_prints_how_many() {
    let f = fixture();
    with_store(&f.db, |store| {
        for n in 1..=3 {
            put(store, &key(n), &data(&[]), Expiry::At(now() - DAY_MS));
        }
        for n in 4..=5 {
            put(store, &key(n), &data(&[]), Expiry::Seconds(3600));
        }
    });
    let stats = json(&sessile(&f.db, &["stats", "--json"]).stdout);
    assert_eq!(stats["sessions"], 5);
    assert_eq!(stats["expired"], 3);
    assert_eq!(stats["live"], 2);
    assert_eq!(stats["index_entries"], 5);
    assert_eq!(stats["format_version"], 1);
    assert!(stats["disk_bytes"].as_u64().unwrap() > 0);

    let listed = sessile(&f.db, &["list", "--expired"]);
    assert_eq!(listed.stdout.lines().count(), 3);
    assert!(listed.stdout.lines().all(|l| l.ends_with("\texpired")));

    let out = sessile(&f.db, &["clear-expired"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "removed 3 expired sessions\n");
    let out = sessile(&f.db, &["clear-expired", "--json"]);
    assert_eq!(json(&out.stdout)["removed"], 0);

    let stats = json(&sessile(&f.db, &["stats", "--json"]).stdout);
    assert_eq!(
        (stats["sessions"].as_u64(), stats["expired"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(stats["index_entries"], 2);
}

#[test]
fn get_and_list_show_sessions_as_json() {
    let f = fixture();
    varied_sessions(&f.db);

    let got = json(&sessile(&f.db, &["get", key(1).as_str()]).stdout);
    assert_eq!(got["data"]["avatar"]["$base64"], "AJ+Slv8=");
    assert_eq!(got["expiry"]["policy"], "default");
    assert_eq!(got["browser_close"], Json::Null);
    assert_eq!(got["expired"], false);
    let got = json(&sessile(&f.db, &["get", key(2).as_str()]).stdout);
    assert_eq!(got["browser_close"], true);
    let got = json(&sessile(&f.db, &["get", key(5).as_str()]).stdout);
    assert_eq!(got["expired"], true);
    assert_eq!(got["browser_close"], false);

    let listed = json(&sessile(&f.db, &["list", "--json", "--limit", "4"]).stdout);
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[2]["key"], key(3).as_str());
    assert_eq!(items[2]["expiry"]["seconds"], 300);
    assert_eq!(items[0]["state"], "live");
    let listed = json(&sessile(&f.db, &["list", "--json", "--expired"]).stdout);
    assert_eq!(listed.as_array().unwrap().len(), 2, "5 and 6 are expired");
    assert_eq!(sessile(&f.db, &["list", "--limit", "0"]).stdout, "");
}

#[test]
fn exit_codes_are_0_ok_1_error_2_usage() {
    let f = fixture();
    with_store(&f.db, |store| {
        put(store, &key(1), &data(&[]), Expiry::Default);
        put(store, &key(2), &data(&[]), Expiry::Default);
    });
    let code = |args: &[&str]| sessile(&f.db, args).code;

    assert_eq!(code(&["--help"]), 0);
    assert_eq!(code(&["stats"]), 0);
    // Usage: no command, an unknown one, a malformed key, a missing --yes.
    assert_eq!(code(&[]), 2);
    assert_eq!(code(&["frobnicate"]), 2);
    assert_eq!(code(&["get", "NOT-A-KEY"]), 2);
    assert_eq!(code(&["list", "--limit", "-1"]), 2);
    let out = sessile(&f.db, &["flush-all"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_eq!(dump(&f.db).len(), 2, "nothing deleted without --yes");

    // Errors: an unknown key, a missing database (which is not created).
    let out = sessile(&f.db, &["get", key(9).as_str()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("sessile: no session"),
        "{}",
        out.stderr
    );
    let missing = f.root.join("missing.db");
    let out = sessile(&missing, &["stats"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no database at"), "{}", out.stderr);
    assert!(!missing.exists());
    assert_eq!(code(&["import", "/nonexistent/file.jsonl"]), 1);

    assert_eq!(code(&["delete", key(1).as_str()]), 0);
    assert_eq!(code(&["delete", key(1).as_str()]), 1, "already gone");

    let out = sessile(&f.db, &["flush-all", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "removed 1 sessions\n");
    let stats = json(&sessile(&f.db, &["stats", "--json"]).stdout);
    assert_eq!(
        (stats["sessions"].as_u64(), stats["index_entries"].as_u64()),
        (Some(0), Some(0))
    );
}

/// Not a test: builds a database for measuring export and import at scale
/// (docs/CLI.md, "Memory"). Run with
/// `SESSILE_BENCH_DB=/tmp/big.db cargo test --release --test cli -- --ignored --nocapture`;
/// `SESSILE_BENCH_SESSIONS` sets the count (default 1 000 000).
#[test]
#[ignore = "builds a large database for the export/import measurement"]
fn build_database_for_the_export_import_measurement() {
    let Ok(db) = std::env::var("SESSILE_BENCH_DB") else {
        eprintln!("set SESSILE_BENCH_DB to the database directory to build");
        return;
    };
    let n: u64 = std::env::var("SESSILE_BENCH_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let store = open(Path::new(&db));
    let now = now();
    for i in 0..n {
        // A typical logged-in Django session, about 200 bytes.
        let bytes = data(&[
            ("_auth_user_id", Value::from(i.to_string())),
            (
                "_auth_user_backend",
                Value::from("django.contrib.auth.backends.ModelBackend"),
            ),
            ("_auth_user_hash", Value::from(format!("{i:064x}"))),
            ("cart", Value::from(vec![Value::from(i), Value::from(7)])),
            ("seen", Value::Binary(i.to_be_bytes().to_vec())),
        ]);
        let expiry = match i % 4 {
            0 => Expiry::Default,
            1 => Expiry::BrowserClose,
            2 => Expiry::Seconds(3600),
            _ => Expiry::At(now + DAY_MS),
        };
        store.create(&key(i), record(&bytes, expiry), now).unwrap();
    }
    store.flush().unwrap();
    eprintln!("{n} sessions in {db}");
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut all: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    all.sort();
    all
}

#[test]
fn reading_commands_refuse_what_is_not_a_database_and_change_nothing() {
    let root = tempfile::tempdir().unwrap();
    // A new user's first try: `--db` pointing at the Django project.
    let project = root.path().join("mysite");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("manage.py"), "").unwrap();
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let file = project.join("manage.py");
    for cmd in [
        &["list"][..],
        &["stats"],
        &["get", key(1).as_str()],
        &["export", "-"],
        &["check"],
        &["clear-expired"],
        &["flush-all", "--yes"],
    ] {
        for db in [&project, &empty, &file] {
            let out = sessile(db, cmd);
            assert_eq!(out.code, 1, "{cmd:?} on {db:?}: {}", out.stderr);
            assert!(
                out.stderr.contains("is not a sessile database"),
                "{cmd:?} on {db:?}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains("os error"), "{}", out.stderr);
        }
        assert_eq!(names(&project), ["manage.py"], "{cmd:?}");
        assert!(names(&empty).is_empty(), "{cmd:?}");
    }
    // import refuses them too, rather than turning a folder into a database.
    let input = root.path().join("in.jsonl");
    std::fs::write(&input, "").unwrap();
    let out = sessile(&project, &["import", input.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("is not a sessile database"),
        "{}",
        out.stderr
    );
    assert_eq!(names(&project), ["manage.py"]);
}

#[test]
fn a_failed_import_leaves_no_database_behind() {
    let root = tempfile::tempdir().unwrap();
    let new_db = root.path().join("new.db");
    let missing = root.path().join("missing.jsonl");
    let out = sessile(&new_db, &["import", missing.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    assert!(!new_db.exists(), "a missing input created {new_db:?}");

    // Nothing imported (every line bad): the new database goes again; an
    // empty directory the user made stays, empty.
    let bad = root.path().join("bad.jsonl");
    std::fs::write(&bad, "{not json\n").unwrap();
    let out = sessile(&new_db, &["import", bad.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(!new_db.exists(), "a failed import left {new_db:?}");
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(sessile(&empty, &["import", bad.to_str().unwrap()]).code, 1);
    assert!(names(&empty).is_empty(), "{:?}", names(&empty));

    // A good import still creates the database, and a later failed import
    // into it removes nothing.
    let line = format!(
        "{{\"key\":\"{}\",\"expiry\":{{\"policy\":\"default\"}},\"expires_at_ms\":{},\"data\":{{}}}}\n",
        key(1).as_str(),
        now() + DAY_MS
    );
    let good = root.path().join("good.jsonl");
    std::fs::write(&good, line).unwrap();
    let out = sessile(&new_db, &["import", good.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sessile(&new_db, &["import", bad.to_str().unwrap()]).code, 1);
    assert_eq!(dump(&new_db).len(), 1);
}

#[test]
fn a_store_url_is_refused_never_taken_for_a_directory() {
    // Taken as a path, `import --db redis://…` wrote the sessions into
    // `./redis:/…` and reported success. A URL the tool does not open is a
    // usage error; a Redis server that does not answer is an error; and
    // neither leaves anything in the working directory.
    let f = fixture();
    let cwd = tempfile::tempdir().unwrap();
    let input = f.root.join("in.jsonl");
    std::fs::write(&input, "").unwrap();
    for (url, code, says) in [
        ("memory:", 2, "memory:"),
        ("sled://", 2, "sled://"),
        ("mongodb://h/0", 2, "mongodb://h/0"),
        #[cfg(feature = "redis")]
        ("redis://127.0.0.1:1/0", 1, "unavailable"),
        #[cfg(not(feature = "redis"))]
        ("redis://127.0.0.1:1/0", 2, "without Redis support"),
    ] {
        for args in [&["stats"][..], &["import", input.to_str().unwrap()][..]] {
            let out = Command::new(env!("CARGO_BIN_EXE_sessile"))
                .args(args)
                .args(["--db", url])
                .current_dir(cwd.path())
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let run = finish(out);
            assert_eq!(run.code, code, "{url} {args:?}: {}", run.stderr);
            assert!(run.stderr.contains(says), "{}", run.stderr);
        }
    }
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
    // `sled://` and a path is the directory.
    let db = f.root.join("via-url");
    let url = format!("sled://{}", db.display());
    let out = Command::new(env!("CARGO_BIN_EXE_sessile"))
        .args(["import", input.to_str().unwrap(), "--db", &url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = finish(out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(db.join("conf").is_file());
}

/// The tool on a Redis server: the move from sled and back, and the
/// commands that work on any store.
#[cfg(feature = "redis")]
mod on_redis {
    use super::*;

    /// Every record in a store, decoded as `dump` decodes a sled database's.
    fn dump_store(store: &dyn Store) -> Vec<(Vec<u8>, Expiry, i64, Vec<u8>)> {
        let mut all = Vec::new();
        store
            .walk(None, &mut |k, raw| {
                let rec = Record::decode(&raw).unwrap();
                let h = *rec.header();
                all.push((k, h.expiry, h.expires_at_ms, rec.data().to_vec()));
                Ok(true)
            })
            .unwrap();
        all
    }

    /// The README's migration recipe (the line that pipes `sessile export`
    /// into `sessile import --db redis://…`), with the test's server in place
    /// of the README's `redis://127.0.0.1:6379/0`.
    fn readme_recipe(url: &str) -> String {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        let line = readme
            .lines()
            .find(|l| {
                l.starts_with("sessile export --db ")
                    && l.contains("| sessile import --db redis://")
            })
            .expect("README.md has no `sessile export … | sessile import --db redis://…` line");
        assert!(line.contains("redis://127.0.0.1:6379/0"), "{line}");
        line.replace("redis://127.0.0.1:6379/0", url)
    }

    /// Runs a shell pipeline in `dir` with the built `sessile` first on PATH.
    fn pipeline(dir: &Path, script: &str) -> Run {
        let bin = Path::new(env!("CARGO_BIN_EXE_sessile")).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c", script])
            .current_dir(dir)
            .env("PATH", path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        finish(out)
    }

    fn sessile_at(db: &str, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_sessile"))
            .args(args)
            .args(["--db", db])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        finish(out)
    }

    #[test]
    fn sessions_move_to_redis_and_back_with_the_readme_recipe() {
        // A site that outgrows one process moves its sessions to Redis without
        // logging anyone out, by the README's one line, and can move back.
        let server = common::redis::RedisServer::start();
        let url = server.url_with("?prefix=moved:");
        let f = fixture();
        varied_sessions(&f.db);
        let live: Vec<_> = dump(&f.db)
            .into_iter()
            .filter(|(_, _, at, _)| *at > now())
            .collect();
        assert_eq!(live.len(), 4);

        let run = pipeline(&f.root, &readme_recipe(&url));
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains("imported 6 sessions, skipped 0"),
            "{}",
            run.stdout
        );
        let redis =
            sessile::RedisStore::open(&url, &sessile::RedisOptions::from_url(&url).unwrap())
                .unwrap();
        // Every live session, with its data bytes, policy and deadline. The
        // two that had expired get a TTL of 1 ms, which Redis counts by
        // its own clock (cached while it is busy), so they may still be
        // listed for a moment: only live sessions are compared.
        let live_in = |all: Vec<(Vec<u8>, Expiry, i64, Vec<u8>)>| -> Vec<_> {
            let now = now();
            all.into_iter().filter(|(_, _, at, _)| *at > now).collect()
        };
        assert_eq!(live_in(dump_store(&redis)), live);

        // And back, into a new sled database.
        let run = pipeline(
            &f.root,
            &format!("sessile export --db '{url}' - | sessile import --db ./back.db -"),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains(" sessions, skipped 0"),
            "{}",
            run.stdout
        );
        assert_eq!(live_in(dump(&f.root.join("back.db"))), live);

        // A second import into Redis skips every live key already there.
        let run = pipeline(&f.root, &readme_recipe(&url));
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.matches("already exists").count() >= 4,
            "{}",
            run.stderr
        );
        assert_eq!(live_in(dump_store(&redis)), live);
    }

    #[test]
    fn the_inspecting_and_cleaning_commands_work_on_redis() {
        let server = common::redis::RedisServer::start();
        let url = server.url_with("?prefix=cli:");
        let opts = sessile::RedisOptions::from_url(&url).unwrap();
        let redis = sessile::RedisStore::open(&url, &opts).unwrap();
        let soon = now() + DAY_MS;
        for n in 1..=3 {
            let bytes = data(&[("user_id", Value::from(n))]);
            let rec = Record::new(Header::new(Expiry::At(soon), now(), 0), &bytes);
            redis.create(&key(n), rec, now()).unwrap().unwrap();
        }
        // Expired by the clock, still in Redis: written "two days ago" with a
        // day to live, so its TTL runs a day longer than its deadline.
        let old = Record::new(Header::new(Expiry::At(now() - DAY_MS), 0, 0), &data(&[]));
        redis
            .create(&key(9), old, now() - 2 * DAY_MS)
            .unwrap()
            .unwrap();
        // A key under another prefix is not sessile's business here.
        let other = server.url_with("?prefix=other:");
        let other =
            sessile::RedisStore::open(&other, &sessile::RedisOptions::from_url(&other).unwrap())
                .unwrap();
        let rec = Record::new(Header::new(Expiry::At(soon), now(), 0), &data(&[]));
        other.create(&key(1), rec, now()).unwrap().unwrap();

        let run = sessile_at(&url, &["stats", "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let stats = json(&run.stdout);
        assert_eq!(stats["store"], "redis");
        assert_eq!(
            (stats["sessions"].as_u64(), stats["live"].as_u64()),
            (Some(4), Some(3))
        );
        assert_eq!(
            (stats["expired"].as_u64(), stats["damaged"].as_u64()),
            (Some(1), Some(0))
        );
        assert!(stats.get("index_entries").is_none(), "{stats}");

        let run = sessile_at(&url, &["list", "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let keys: Vec<_> = json(&run.stdout)
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["key"].as_str().unwrap().to_string(),
                    i["state"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let state = |n: u64, s: &str| (key(n).to_string(), s.to_string());
        assert_eq!(
            keys,
            [
                state(1, "live"),
                state(2, "live"),
                state(3, "live"),
                state(9, "expired")
            ]
        );

        let run = sessile_at(&url, &["get", key(2).as_str()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(json(&run.stdout)["data"]["user_id"], 2);

        let run = sessile_at(&url, &["delete", key(2).as_str()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let run = sessile_at(&url, &["get", key(2).as_str()]);
        assert_eq!(run.code, 1);
        assert!(run.stderr.contains("no session"), "{}", run.stderr);

        let run = sessile_at(&url, &["clear-expired", "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(json(&run.stdout)["removed"], 1);

        // Redis keeps no index to check.
        assert_eq!(sessile_at(&url, &["check"]).code, 2);

        let run = sessile_at(&url, &["flush-all", "--yes"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("removed 2 sessions"), "{}", run.stdout);
        assert!(redis.is_empty().unwrap());
        assert_eq!(other.len().unwrap(), 1);
    }

    #[test]
    fn one_user_s_sessions_are_listed_and_ended_on_redis() {
        // The same commands as on sled: through the store's owner index
        // where it keeps one, else by reading every session.
        let server = common::redis::RedisServer::start();
        let url = server.url_with("?prefix=owners:");
        let opts = sessile::RedisOptions::from_url(&url).unwrap();
        let redis = sessile::RedisStore::open(&url, &opts).unwrap();
        let soon = now() + DAY_MS;
        for (n, user) in [(1, 42), (2, 42), (3, 7)] {
            let bytes = data(&[(OWNER, Value::from(user))]);
            let rec = Record::new(Header::new(Expiry::At(soon - n as i64), now(), 0), &bytes);
            redis.create(&key(n), rec, now()).unwrap().unwrap();
        }
        let fresh = sessile_at(&url, &["list", "--owner", "42"]);
        if redis.owner_key().is_none() {
            // No key kept (none was ever named on this prefix).
            assert_eq!(fresh.code, 2, "{}", fresh.stderr);
            assert!(fresh.stderr.contains("--owner-key"), "{}", fresh.stderr);
        }
        let with_key = |args: &[&str]| {
            let mut args = args.to_vec();
            args.extend(["--owner-key", OWNER]);
            sessile_at(&url, &args)
        };
        let run = with_key(&["list", "--owner", "42"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            listed_keys(&run.stdout),
            [key(1).to_string(), key(2).to_string()]
        );
        let run = with_key(&["delete", "--owner", "42", "--except", key(1).as_str()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            run.stdout,
            format!("ended 1 sessions of owner 42 (all but {})\n", key(1))
        );
        let run = with_key(&["list", "--owner", "42", "--json"]);
        let listed = json(&run.stdout);
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["key"], key(1).as_str());
        assert!(redis.load(&key(2), now()).unwrap().is_none());
        assert!(redis.load(&key(3), now()).unwrap().is_some());
        let run = sessile_at(&url, &["stats", "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            json(&run.stdout).get("owner_entries").is_none(),
            "{}",
            run.stdout
        );
    }
}
