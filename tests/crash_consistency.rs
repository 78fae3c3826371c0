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
//!   exists and fires no later than its deadline).
//!
//! 20 rounds by default; `SESSILE_CRASH_ROUNDS=N` for a long run.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use sessile::{
    decode_data, Config, Engine, Expiry, Record, SessionKey, SledOptions, SledStore, Store, Value,
};

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
/// the same line): `I <op> <key> <v>` before an operation, `A <op>` after
/// it returns, `D <op>` after a durable one returns.
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
    let engine = Engine::open(Config::new(&path).reaper_interval(None)).unwrap();
    let mut rng = Rng(seed | 1);
    let mut live: Vec<String> = Vec::new();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    for op in 0u64.. {
        let durable = rng.below(5) == 0;
        let choice = if live.is_empty() { 0 } else { rng.below(10) };
        match choice {
            // create (an upsert, so the key is known beforehand)
            0..=2 => {
                let key = SessionKey::generate();
                writeln!(out, "@@ I {op} {key} {op}").unwrap();
                let mut data = sessile::Data::new();
                data.insert("v".into(), Value::from(op));
                data.insert(
                    "pad".into(),
                    Value::from("x".repeat(rng.below(300) as usize)),
                );
                let change = sessile::Delta::replace(data).with_expiry(Expiry::Seconds(7200));
                engine
                    .save(&key, &change, sessile::SaveOptions::default().upsert())
                    .unwrap();
                if durable {
                    engine.flush().unwrap();
                }
                live.push(key.to_string());
            }
            // update through a Session, sometimes with an expiry change
            3..=7 => {
                let key = live[rng.below(live.len() as u64) as usize].clone();
                writeln!(out, "@@ I {op} {key} {op}").unwrap();
                let mut s = engine.session(&key);
                s.insert("v", op).unwrap();
                if rng.below(3) == 0 {
                    let secs = 600 + rng.below(7200) as i64;
                    s.set_expiry(Expiry::seconds(secs)).unwrap();
                }
                if durable {
                    s.save_durable().unwrap();
                } else {
                    s.save().unwrap();
                }
            }
            // delete (logout)
            _ => {
                let i = rng.below(live.len() as u64) as usize;
                let key = live.swap_remove(i);
                writeln!(out, "@@ I {op} {key} -").unwrap();
                let mut s = engine.session(&key);
                s.flush().unwrap();
                if durable {
                    engine.flush().unwrap();
                }
            }
        }
        writeln!(out, "@@ {} {op}", if durable { "D" } else { "A" }).unwrap();
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
    let mut last_durable: Option<usize> = None;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0;
    while acked < kill_after {
        let Some(Ok(line)) = lines.next() else { break };
        let Some(f) = protocol(&line) else { continue };
        match f[0] {
            "I" => {
                assert_eq!(f[1].parse::<usize>().unwrap(), ops.len());
                ops.push(Op {
                    key: f[2].to_owned(),
                    v: f[3].parse().ok(),
                });
            }
            "A" => acked += 1,
            "D" => {
                acked += 1;
                last_durable = Some(f[1].parse().unwrap());
            }
            _ => {}
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Anything the child printed after we stopped reading is still in the
    // pipe: an `I` there is an operation that may have reached the disk.
    for line in lines.map_while(Result::ok) {
        let Some(f) = protocol(&line) else { continue };
        if f[0] == "I" && f.len() == 4 {
            ops.push(Op {
                key: f[2].to_owned(),
                v: f[3].parse().ok(),
            });
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

    // What is on disk: key -> v, every record decoded, every one indexed.
    let mut found: HashMap<String, u64> = HashMap::new();
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
            found.insert(key, data["v"].as_u64().unwrap());
        }
    }
    // Every record has its index entry (else the sweeper would never see
    // it), and none is damaged. Entries without a record are allowed: a
    // crash between two writes leaves one.
    let report = store.check(false).unwrap();
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
    let lo_bound = last_durable.map_or(0, |d| d + 1);
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
            let state = idxs.iter().rev().find(|&&i| i < p).and_then(|&i| ops[i].v);
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
    // And the engine opens it and serves it.
    let engine = Engine::open(Config::new(path).reaper_interval(None)).unwrap();
    for (k, v) in &found {
        assert_eq!(
            engine.session(k).get::<u64>("v").unwrap(),
            Some(*v),
            "{ctx}"
        );
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
