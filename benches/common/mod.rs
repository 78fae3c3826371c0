//! What the benches share: the session they store and how they fill a store.

// Each bench uses part of this.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use sessile::{Config, Engine, Record, SledStore};

/// 2026-01-01T00:00:00Z, where the benches' manual clocks start.
pub const T0: i64 = 1_767_225_600_000;

/// Saves `n` typical logged-in sessions (about 215 bytes on disk; with
/// `blob`, that much more) and returns their keys. `progress` is called
/// once per session.
pub fn fill(
    engine: &Engine,
    n: usize,
    blob: Option<&str>,
    mut progress: impl FnMut(),
) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut s = engine.new_session();
            s.insert("_auth_user_id", i as i64).unwrap();
            s.insert(
                "_auth_user_backend",
                "django.contrib.auth.backends.ModelBackend",
            )
            .unwrap();
            // Each user's own hash (52 hex digits, as random as Django's).
            s.insert("_auth_user_hash", user_hash(i)).unwrap();
            s.insert("cart", vec!["tea", "cake", "biscuits"]).unwrap();
            s.insert("theme", "dark").unwrap();
            if let Some(blob) = blob {
                s.insert("history", blob).unwrap();
            }
            s.save().unwrap();
            progress();
            s.session_key().unwrap().to_owned()
        })
        .collect()
}

/// 52 pseudo-random hex digits for user `i`.
fn user_hash(i: usize) -> String {
    let mut x = (i as u64) ^ 0x9e37_79b9_7f4a_7c15;
    (0..4)
        .map(|_| {
            // splitmix64
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            format!("{:016x}", z ^ (z >> 31))
        })
        .collect::<String>()[..52]
        .to_owned()
}

/// An engine on the sled database at `path`, opened with `config`'s sled
/// settings, and that store: the floors run on its trees.
pub fn engine_on_sled(path: &Path, config: Config) -> (Engine, Arc<SledStore>) {
    let store = Arc::new(SledStore::open(path, &config.sled_options()).expect("open store"));
    let engine = Engine::with_store(config, store.clone()).expect("open engine");
    (engine, store)
}

/// `record` with its deadline moved `later_ms` later: a valid record whose
/// bytes differ from `record`'s. Floors that rewrite records write these:
/// sled skips a set whose value equals the stored one (sled 0.34,
/// `Tree::insert_inner`: "short-circuit a no-op set"), so writing a record
/// back as it was would measure no write at all.
pub fn rewritten(record: &[u8], later_ms: i64) -> Vec<u8> {
    let rec = Record::decode(record).expect("a stored record");
    let mut header = *rec.header();
    header.expires_at_ms += later_ms;
    Record::encode(&header, rec.data())
}

/// The figure of `field` (`VmRSS:`, `VmHWM:`) in this process's
/// `/proc/self/status`, in KiB; 0 where there is none.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

/// Bytes of every file below `p`.
pub fn dir_bytes(p: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// p50 and p99 in µs of `samples` single calls `op(i, j)`, `j` stepping
/// over a spread of indexes below `n` from `seed`.
pub fn latencies(
    samples: usize,
    n: usize,
    seed: usize,
    mut op: impl FnMut(usize, usize),
) -> (f64, f64) {
    let mut ns = Vec::with_capacity(samples);
    let mut j = seed % n;
    for i in 0..samples {
        j = (j + 104_729) % n;
        let start = std::time::Instant::now();
        op(i, j);
        ns.push(start.elapsed().as_nanos() as u64);
    }
    ns.sort_unstable();
    let at = |p: f64| ns[((ns.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    (at(0.5), at(0.99))
}

/// The value after `name` in a bench's arguments, parsed.
pub fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}
