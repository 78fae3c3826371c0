//! Nothing acknowledged as durable is lost to `kill -9`, and nothing comes
//! back from the dead. A child process (this test binary, re-executed) runs
//! a random mix of creates, updates, deletes and expiry changes, some saved
//! durably, and reports each operation before and after it runs; the parent
//! kills it with SIGKILL at a random moment, reopens the database and
//! checks:
//! - it opens, and every record decodes;
//! - the database is the state after some prefix of the operations that
//!   includes every durably acknowledged one (sled recovers a prefix of its
//!   log), so no durable write is missing and no deleted session is back;
//! - every surviving session is reachable by the sweeper (its index entry
//!   exists and fires no later than its deadline);
//! - every surviving session whose data names an owner is reachable by its
//!   owner's listing (`Engine::sessions_of`, which "log out everywhere"
//!   ends), and the listing names no session of another owner. The child
//!   keeps an owner index (`Config::owner_key`) and its workload writes it:
//!   logins at creation and on a live session, switches to another user,
//!   logouts that keep the session, and `end_sessions_of` (each session it
//!   ends is one operation of the record, in the order it ends them).
//!
//! In every other round a thread of the child flushes without pause, so
//! that the kill cuts the log inside operations too, between the writes of
//! a record and of its index entries, where an ordering mistake would show.
//!
//! 20 rounds by default; `SESSILE_CRASH_ROUNDS=N` for a long run.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use sessile::{
    decode_data, CheckFinding, Config, Engine, Expiry, Record, SessionKey, SledOptions, SledStore,
    Store, Value,
};

/// The data key that names a session's owner in the child's sessions.
const OWNER_KEY: &str = "uid";
/// The users the child logs in (few, so each has several sessions).
const USERS: u64 = 6;

/// A user as the child writes it: an integer or the same digits as a
/// string (the same owner either way).
fn user_value(rng: &mut Rng, user: u64) -> Value {
    if rng.below(2) == 0 {
        Value::from(user)
    } else {
        Value::from(user.to_string())
    }
}

/// xorshift: a tiny deterministic generator, so a failing seed replays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The child: runs operations until killed. Protocol on stdout, one line
/// per event, after a `@@ ` marker (the test harness may print before it on
/// the same line): `I <n> <key> <v> <owner>` before the operation that
/// leaves `key` with `v` and `owner` (`-`: deleted, or no owner), numbered
/// from 0; `A <n>` after a call returns, `D <n>` after a durable one
/// returns, `n` being the number of `I` lines so far; `E <what>` when the
/// owner listing disagrees with what the child wrote.
#[test]
#[ignore]
fn crash_writer_child() {
    let Ok(path) = std::env::var("SESSILE_CRASH_DB") else {
        return;
    };
    let seed: u64 = std::env::var("SESSILE_CRASH_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let config = Config::new(&path)
        .reaper_interval(None)
        .owner_key(OWNER_KEY);
    let engine = Engine::open(config).unwrap();
    if seed % 2 == 1 {
        // Every other round, a thread flushes without pause: what reaches
        // the disk then ends anywhere, often inside an operation, between
        // the writes of one record and its entries (sled's own flush
        // every 500 ms rarely lands there, and an explicit flush never
        // does).
        let engine = engine.clone();
        std::thread::spawn(move || loop {
            let _ = engine.flush();
        });
    }
    let mut rng = Rng(seed | 1);
    // Each live session's key and owner, as the child wrote them.
    let mut live: Vec<(String, Option<u64>)> = Vec::new();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    // `I` lines written.
    let mut n = 0u64;
    let mut intend =
        |out: &mut std::io::StdoutLock, key: &str, v: Option<u64>, owner: Option<u64>| {
            let show = |x: Option<u64>| x.map_or("-".to_string(), |x| x.to_string());
            writeln!(out, "@@ I {n} {key} {} {}", show(v), show(owner)).unwrap();
            n += 1;
            n
        };
    let mut written = 0u64;
    for op in 0u64.. {
        let durable = rng.below(5) == 0;
        let choice = if live.is_empty() { 0 } else { rng.below(10) };
        match choice {
            // create (an upsert, so the key is known beforehand); half of
            // them logged in from the start
            0..=2 => {
                let key = SessionKey::generate();
                let owner = (rng.below(2) == 0).then(|| rng.below(USERS));
                written = intend(&mut out, key.as_str(), Some(op), owner);
                let mut data = sessile::Data::new();
                data.insert("v".into(), Value::from(op));
                data.insert(
                    "pad".into(),
                    Value::from("x".repeat(rng.below(300) as usize)),
                );
                if let Some(user) = owner {
                    data.insert(OWNER_KEY.into(), user_value(&mut rng, user));
                }
                let change = sessile::Delta::replace(data).with_expiry(Expiry::Seconds(7200));
                engine
                    .save(&key, &change, sessile::SaveOptions::default().upsert())
                    .unwrap();
                if durable {
                    engine.flush().unwrap();
                }
                live.push((key.to_string(), owner));
            }
            // update through a Session, sometimes with an expiry change,
            // sometimes a login, a switch of user or a logout that keeps
            // the session (most saves leave the owner as it is)
            3..=7 => {
                let i = rng.below(live.len() as u64) as usize;
                let (key, owner) = live[i].clone();
                let new_owner = match rng.below(8) {
                    0 | 1 => Some(rng.below(USERS)),
                    2 => None,
                    _ => owner,
                };
                written = intend(&mut out, &key, Some(op), new_owner);
                let mut s = engine.session(&key);
                s.insert("v", op).unwrap();
                if new_owner != owner {
                    match new_owner {
                        Some(user) => {
                            let user = user_value(&mut rng, user);
                            s.insert_value(OWNER_KEY, user).unwrap();
                        }
                        None => {
                            s.remove(OWNER_KEY).unwrap();
                        }
                    }
                }
                if rng.below(3) == 0 {
                    let secs = 600 + rng.below(7200) as i64;
                    s.set_expiry(Expiry::seconds(secs)).unwrap();
                }
                if durable {
                    s.save_durable().unwrap();
                } else {
                    s.save().unwrap();
                }
                live[i].1 = new_owner;
            }
            // delete (logout)
            8 => {
                let i = rng.below(live.len() as u64) as usize;
                let (key, _) = live.swap_remove(i);
                written = intend(&mut out, &key, None, None);
                let mut s = engine.session(&key);
                s.flush().unwrap();
                if durable {
                    engine.flush().unwrap();
                }
            }
            // log a user out everywhere, sometimes but for one session:
            // the owner of a live session, or a user with none
            _ => {
                let user = live[rng.below(live.len() as u64) as usize]
                    .1
                    .unwrap_or_else(|| rng.below(USERS));
                let listed: Vec<String> = engine
                    .sessions_of(&user.to_string())
                    .unwrap()
                    .into_iter()
                    .map(|(k, _)| k.to_string())
                    .collect();
                let mut mine: Vec<&str> = live
                    .iter()
                    .filter(|(_, o)| *o == Some(user))
                    .map(|(k, _)| k.as_str())
                    .collect();
                let mut seen: Vec<&str> = listed.iter().map(String::as_str).collect();
                mine.sort_unstable();
                seen.sort_unstable();
                if mine != seen {
                    writeln!(out, "@@ E user {user}: wrote {mine:?}, listed {seen:?}").unwrap();
                }
                let except = (rng.below(2) == 0)
                    .then(|| listed.first().cloned())
                    .flatten();
                // The engine ends them in the order it lists them.
                for key in listed.iter().filter(|k| Some(*k) != except.as_ref()) {
                    written = intend(&mut out, key, None, None);
                }
                let except_key = except.as_deref().map(|k| SessionKey::parse(k).unwrap());
                engine
                    .end_sessions_of(&user.to_string(), except_key.as_ref())
                    .unwrap();
                if durable {
                    engine.flush().unwrap();
                }
                live.retain(|(k, o)| *o != Some(user) || Some(k) == except.as_ref());
            }
        }
        writeln!(out, "@@ {} {written}", if durable { "D" } else { "A" }).unwrap();
        out.flush().unwrap();
    }
}

/// The fields of a protocol line, if it is one.
fn protocol(line: &str) -> Option<Vec<&str>> {
    let at = line.find("@@ ")?;
    Some(line[at + 3..].split(' ').collect())
}

struct Op {
    key: String,
    /// The value of "v" after the operation; None: deleted.
    v: Option<u64>,
    /// The owner its data names after the operation, if any.
    owner: Option<u64>,
}

impl Op {
    /// The operation an `I` line announces.
    fn parse(f: &[&str]) -> Op {
        Op {
            key: f[2].to_owned(),
            v: f[3].parse().ok(),
            owner: f[4].parse().ok(),
        }
    }

    /// The state it leaves its key in: (v, owner), or `None` when deleted.
    fn state(&self) -> Option<(u64, Option<u64>)> {
        self.v.map(|v| (v, self.owner))
    }
}

fn run_round(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let kill_after = 5 + rng.below(400);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SESSILE_CRASH_DB", &path)
        .env("SESSILE_CRASH_SEED", seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ops: Vec<Op> = Vec::new();
    // How many operations were durable when the child last said so.
    let mut last_durable: Option<usize> = None;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0;
    while acked < kill_after {
        let Some(Ok(line)) = lines.next() else { break };
        let Some(f) = protocol(&line) else { continue };
        match f[0] {
            "I" => {
                assert_eq!(f[1].parse::<usize>().unwrap(), ops.len());
                ops.push(Op::parse(&f));
            }
            "A" => acked += 1,
            "D" => {
                acked += 1;
                last_durable = Some(f[1].parse().unwrap());
            }
            "E" => panic!("seed {seed}: the owner listing in the child: {line}"),
            _ => {}
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Anything the child printed after we stopped reading is still in the
    // pipe: an `I` there is an operation that may have reached the disk.
    for line in lines.map_while(Result::ok) {
        let Some(f) = protocol(&line) else { continue };
        if f[0] == "I" && f.len() == 5 {
            ops.push(Op::parse(&f));
        }
    }
    check(&path, &ops, last_durable, seed);
}

fn check(path: &std::path::Path, ops: &[Op], last_durable: Option<usize>, seed: u64) {
    let ctx = format!(
        "seed {seed}, {} ops, last durable {last_durable:?}",
        ops.len()
    );
    let store = SledStore::open(
        path,
        &SledOptions::default()
            .cache_capacity(1 << 20)
            .flush_every_ms(None)
            .compression(None),
    )
    .unwrap_or_else(|e| panic!("reopen failed ({ctx}): {e}"));

    // What is on disk: key -> (v, owner), every record decoded, every one
    // indexed.
    let mut found: HashMap<String, (u64, Option<u64>)> = HashMap::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(after.as_deref(), 500).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.0.to_vec());
        for (k, raw) in page {
            let key = String::from_utf8(k.to_vec()).unwrap();
            let rec = Record::decode(&raw).unwrap_or_else(|e| panic!("{key}: {e} ({ctx})"));
            let data = decode_data(rec.data()).unwrap_or_else(|e| panic!("{key}: {e} ({ctx})"));
            let h = rec.header();
            assert!(h.index_at_ms <= h.expires_at_ms, "{key} fires late ({ctx})");
            // An owner is written as an integer or as its digits.
            let owner = data.get(OWNER_KEY).map(|o| match o {
                Value::String(s) => s.as_str().unwrap().parse().unwrap(),
                o => o.as_u64().unwrap(),
            });
            found.insert(key, (data["v"].as_u64().unwrap(), owner));
        }
    }
    // Every record has its index entry (else the sweeper would never see
    // it) and, when it names an owner, its owner entry (else its owner's
    // listing would miss it), and none is damaged. Entries without a
    // record, and owner entries that no longer match theirs, are allowed:
    // a crash between two writes leaves one.
    let report = store.check(false).unwrap();
    let unlisted: Vec<_> = report
        .findings
        .iter()
        .filter(|f| matches!(f, CheckFinding::RecordWithoutOwnerEntry { .. }))
        .collect();
    assert!(
        unlisted.is_empty(),
        "sessions missing from their owner's listing ({ctx}): {unlisted:?}"
    );
    assert_eq!(
        report.faults(),
        0,
        "the store's invariants are broken ({ctx}): {:?}",
        report.findings
    );

    // For each key, the prefixes P (ops[..P] applied) consistent with what
    // is on disk; their intersection over all keys must reach past the last
    // durable operation.
    let n = ops.len();
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(&op.key).or_default().push(i);
    }
    for k in found.keys() {
        assert!(
            by_key.contains_key(k.as_str()),
            "phantom session {k} ({ctx})"
        );
    }
    let lo_bound = last_durable.unwrap_or(0);
    // allowed[p] for p in 0..=n: P = p means ops[..p] are applied.
    let mut allowed = vec![true; n + 1];
    for p in allowed.iter_mut().take(lo_bound) {
        *p = false;
    }
    for (key, idxs) in &by_key {
        let on_disk = found.get(*key).copied();
        for (p, ok) in allowed.iter_mut().enumerate() {
            if !*ok {
                continue;
            }
            // The state of `key` after ops[..p].
            let state = idxs
                .iter()
                .rev()
                .find(|&&i| i < p)
                .and_then(|&i| ops[i].state());
            if state != on_disk {
                *ok = false;
            }
        }
    }
    assert!(
        allowed.iter().any(|&ok| ok),
        "the database is not the state after any prefix that includes every durable write ({ctx})"
    );
    if std::env::var("SESSILE_CRASH_VERBOSE").is_ok() {
        let p = allowed.iter().rposition(|&ok| ok);
        eprintln!("{ctx}: consistent prefixes end at {p:?}");
    }
    drop(store);
    // And the engine opens it and serves it, by key and by owner. It is
    // opened without an owner key: the database remembers the child's
    // (written before any session, so any session there comes with it).
    let engine = Engine::open(Config::new(path).reaper_interval(None)).unwrap();
    for (k, (v, _)) in &found {
        assert_eq!(
            engine.session(k).get::<u64>("v").unwrap(),
            Some(*v),
            "{ctx}"
        );
    }
    if engine.owner_key().is_none() {
        assert!(found.is_empty(), "the owner key was lost ({ctx})");
        return;
    }
    assert_eq!(engine.owner_key().unwrap().as_str(), OWNER_KEY, "{ctx}");
    for user in 0..USERS {
        let mut listed: Vec<String> = engine
            .sessions_of(&user.to_string())
            .unwrap()
            .into_iter()
            .map(|(k, _)| k.to_string())
            .collect();
        let mut owned: Vec<String> = found
            .iter()
            .filter(|(_, (_, o))| *o == Some(user))
            .map(|(k, _)| k.clone())
            .collect();
        listed.sort();
        owned.sort();
        assert_eq!(listed, owned, "the sessions of user {user} ({ctx})");
    }
}

#[test]
fn killed_writers_lose_no_durable_write_and_resurrect_nothing() {
    let rounds: u64 = std::env::var("SESSILE_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    for r in 0..rounds {
        run_round(base.wrapping_add(r));
    }
}
