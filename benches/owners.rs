//! The owner index (`Config::owner_key`): what it costs the hot path, and
//! what it buys "log out everywhere" (docs/BENCHMARKS.md, "Owner index").
//!
//! Cost: two sled databases of 10 000 sessions of ~200 B, filled alike,
//! one keeping an owner index by `_auth_user_id` and one keeping none; the
//! same operations on each. Criterion times each operation on both, one
//! after the other. Then a paired pass measures the ratios (indexed over
//! plain) in 31 rounds, each timing 1 000 operations on one database and
//! 1 000 on the other back to back (which goes first alternates), so that a
//! change in the machine's load hits both sides of a ratio alike. The
//! operations: a save that leaves the owner as it is, a create and a sweep
//! of sessions with no owner (the index only reads the data: goal ≤ 1.05×),
//! and a login (the save that sets the owner), a create and a sweep of
//! sessions with one (each writes or removes one entry: goal ≤ 1.3×).
//!
//! Gain: one database of 1 M sessions, one user each, plus 100 sessions of
//! one more user; `Engine::sessions_of` and `Engine::end_sessions_of` for
//! that user through the index, against the same calls on an engine over
//! the same store seen through a wrapper that keeps no index (the engine
//! then reads every session, as it does on such a store). Goal: ≥ 1000×
//! faster. Not criterion: filling a million sessions is most of the time
//! (about a minute here), and each scan takes seconds.
//!
//! `cargo bench --features internals --bench owners` (part of `make bench`;
//! the feature only shares the build with the other benches); under `cargo bench`
//! the ratios and the gain are also written to `benches/results/owners.txt`.
//! `-- --sessions N` changes the million. Under `cargo test` (which runs
//! each criterion bench once) the gain is measured on 10 000 sessions.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Bencher, BenchmarkId, Criterion};
use sessile::{
    Change, Config, Engine, Expiry, ManualClock, Record, SessionKey, SledStore, Store, StoreStats,
    Sweep,
};

mod common;

use common::{fill, T0};

/// The data key that names a session's owner (Django's).
const OWNER: &str = "_auth_user_id";

/// The sessions each cost database holds.
const SESSIONS: usize = 10_000;

/// The time `f` takes.
fn span(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// One of the two databases of the cost benches.
struct Side {
    engine: Engine,
    keys: Vec<String>,
    /// Sessions saved since the fill (so each `set` writes new bytes).
    counter: i64,
    /// The next key index a `set` draws.
    at: usize,
    _dir: tempfile::TempDir,
}

impl Side {
    fn new(clock: &ManualClock, indexed: bool) -> Side {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let mut config = Config::new(&path)
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None);
        if indexed {
            config = config.owner_key(OWNER);
        }
        let (engine, store) = common::engine_on_sled(&path, config);
        let keys = fill(&engine, SESSIONS, None, || {});
        assert_eq!(
            store.owner_index_len().unwrap(),
            if indexed { SESSIONS } else { 0 }
        );
        Side {
            engine,
            keys,
            counter: 0,
            at: 0,
            _dir: dir,
        }
    }

    fn next(&mut self) -> usize {
        self.at = (self.at + 7919) % self.keys.len();
        self.at
    }

    /// `m` saves of a new counter value, the owner left as it is.
    fn sets(&mut self, m: u64) -> Duration {
        let ks: Vec<usize> = (0..m).map(|_| self.next()).collect();
        span(|| {
            for j in ks {
                self.counter += 1;
                let mut s = self.engine.session(&self.keys[j]);
                s.insert("counter", self.counter).unwrap();
                s.save().unwrap();
            }
        })
    }

    /// `m` logins: sessions made without an owner (not timed) get one.
    fn logins(&mut self, m: u64) -> Duration {
        let anonymous: Vec<String> = (0..m).map(|_| self.created(false)).collect();
        span(|| {
            for (i, key) in anonymous.iter().enumerate() {
                let mut s = self.engine.session(key);
                s.insert(OWNER, i as i64).unwrap();
                s.save().unwrap();
            }
        })
    }

    /// `m` creates, with an owner or without.
    fn creates(&mut self, m: u64, owned: bool) -> Duration {
        span(|| {
            for _ in 0..m {
                black_box(self.created(owned));
            }
        })
    }

    /// A sweep of `m` expired sessions (made beforehand, not timed), with
    /// an owner or without.
    fn expiries(&mut self, clock: &ManualClock, m: u64, owned: bool) -> Duration {
        for i in 0..m {
            let mut s = self.engine.new_session();
            s.insert("a", 1).unwrap();
            if owned {
                s.insert(OWNER, i as i64).unwrap();
            }
            s.set_expiry(Expiry::seconds(1)).unwrap();
            s.save().unwrap();
        }
        clock.advance_secs(2);
        let mut removed = 0;
        let t = span(|| removed = self.engine.clear_expired().unwrap());
        assert!(removed as u64 >= m);
        t
    }

    /// A new session, with an owner or without; returns its key.
    fn created(&self, owned: bool) -> String {
        let mut s = self.engine.new_session();
        s.insert("theme", "dark").unwrap();
        if owned {
            s.insert(OWNER, 1).unwrap();
        }
        s.save().unwrap();
        s.session_key().unwrap().to_owned()
    }
}

/// An operation of the cost benches, on one side: `m` of them, timed.
type Op = fn(&mut Side, &ManualClock, u64) -> Duration;

/// The operations, each with its goal (indexed time over plain time).
const OPS: &[(&str, f64, Op)] = &[
    ("set, owner unchanged", 1.05, |s, _, m| s.sets(m)),
    ("create, no owner", 1.05, |s, _, m| s.creates(m, false)),
    ("expire, no owner", 1.05, |s, c, m| s.expiries(c, m, false)),
    ("login (save that sets the owner)", 1.3, |s, _, m| {
        s.logins(m)
    }),
    ("create with an owner", 1.3, |s, _, m| s.creates(m, true)),
    ("expire with an owner", 1.3, |s, c, m| {
        s.expiries(c, m, true)
    }),
];

fn bench_cost(c: &mut Criterion) {
    let clock = ManualClock::new(T0);
    let mut plain = Side::new(&clock, false);
    let mut indexed = Side::new(&clock, true);
    for (name, _, op) in OPS {
        for (label, side) in [("plain", &mut plain), ("indexed", &mut indexed)] {
            c.benchmark_group("owners")
                .bench_function(BenchmarkId::new(*name, label), |b: &mut Bencher<'_>| {
                    b.iter_custom(|iters| op(side, &clock, iters))
                });
        }
    }
    // The paired pass is for `cargo bench`, not `cargo test`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut lines = vec![format!(
        "cost of the owner index, {}k sessions of ~200 B: indexed / plain, median (quartiles) of {ROUNDS} rounds of {CHUNK} operations each; median µs per operation, plain → indexed",
        SESSIONS / 1000
    )];
    for (name, goal, op) in OPS {
        let rounds: Vec<(Duration, Duration)> = (0..ROUNDS)
            .map(|r| {
                if r % 2 == 0 {
                    let p = op(&mut plain, &clock, CHUNK);
                    (p, op(&mut indexed, &clock, CHUNK))
                } else {
                    let i = op(&mut indexed, &clock, CHUNK);
                    (op(&mut plain, &clock, CHUNK), i)
                }
            })
            .collect();
        let mut ratios: Vec<f64> = rounds
            .iter()
            .map(|(p, i)| i.as_secs_f64() / p.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let per_op = |side: fn(&(Duration, Duration)) -> Duration| -> f64 {
            let mut t: Vec<f64> = rounds.iter().map(|r| side(r).as_secs_f64()).collect();
            t.sort_by(f64::total_cmp);
            quantile(&t, 0.5) * 1e6 / CHUNK as f64
        };
        let median = quantile(&ratios, 0.5);
        lines.push(format!(
            "  {name:<34} {median:.3}× ({:.3}–{:.3}), {:.1} → {:.1} µs; goal ≤ {goal}×: {}",
            quantile(&ratios, 0.25),
            quantile(&ratios, 0.75),
            per_op(|r| r.0),
            per_op(|r| r.1),
            if median <= *goal { "met" } else { "not met" }
        ));
    }
    for l in &lines {
        println!("{l}");
    }
    *COST.lock().unwrap() = lines;
}

/// Rounds of the paired pass, and operations per side in each.
const ROUNDS: usize = 31;
const CHUNK: u64 = 1000;

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// A store seen without its owner index: every call but the owner index's
/// goes to the store, so an engine over it finds owners by reading every
/// session (the engine's fallback for stores that keep no index).
#[derive(Debug)]
struct NoIndex(Arc<SledStore>);

impl Store for NoIndex {
    fn load(&self, key: &SessionKey, now_ms: i64) -> sessile::Result<Option<Record>> {
        self.0.load(key, now_ms)
    }
    fn create(
        &self,
        key: &SessionKey,
        rec: Record,
        now_ms: i64,
    ) -> sessile::Result<Option<Record>> {
        self.0.create(key, rec, now_ms)
    }
    fn update(
        &self,
        key: &SessionKey,
        seen: Option<&Record>,
        now_ms: i64,
        change: &mut Change<'_>,
    ) -> sessile::Result<Record> {
        self.0.update(key, seen, now_ms, change)
    }
    fn delete(&self, key: &SessionKey) -> sessile::Result<bool> {
        self.0.delete(key)
    }
    fn sweep(&self, now_ms: i64, budget: usize) -> sessile::Result<Sweep> {
        self.0.sweep(now_ms, budget)
    }
    fn scan(&self, after: Option<&[u8]>, limit: usize) -> sessile::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.0.scan(after, limit)
    }
    fn flush(&self) -> sessile::Result<()> {
        self.0.flush()
    }
    fn len(&self) -> sessile::Result<usize> {
        self.0.len()
    }
    fn stats(&self) -> StoreStats {
        self.0.stats()
    }
}

/// The sessions of the one user the gain is measured for.
const USER_SESSIONS: usize = 100;
/// Timed calls through the index (the median is reported), and through a
/// full scan (each takes seconds at a million).
const INDEX_RUNS: usize = 21;
const SCAN_RUNS: usize = 3;

/// The gain: one user's sessions among `n`, found and ended through the
/// index against a full scan.
fn one_user_among_many(n: usize) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let clock = ManualClock::new(T0);
    let config = Config::new(&path)
        .clock(Arc::new(clock.clone()))
        .reaper_interval(None)
        .owner_key(OWNER);
    let (engine, store) = common::engine_on_sled(&path, config.clone());
    let started = Instant::now();
    let step = (n / 10).max(1);
    let mut filled = 0usize;
    fill(&engine, n, None, || {
        filled += 1;
        if filled.is_multiple_of(step) && n >= 100_000 {
            eprintln!("filled {filled}/{n} sessions ({:.0?})", started.elapsed());
        }
    });
    let fill_time = started.elapsed();
    let scanning = Engine::with_store(config, Arc::new(NoIndex(store.clone()))).unwrap();
    let user = "user-with-100-sessions";
    let log_in = || {
        for _ in 0..USER_SESSIONS {
            let mut s = engine.new_session();
            s.insert(OWNER, user).unwrap();
            s.insert("theme", "dark").unwrap();
            s.save().unwrap();
        }
    };
    // The median of `runs` timings of `f`, each after `before` (not timed).
    let median = |runs: usize, before: &dyn Fn(), f: &dyn Fn() -> usize| -> f64 {
        let mut t: Vec<f64> = (0..runs)
            .map(|_| {
                before();
                let start = Instant::now();
                assert_eq!(f(), USER_SESSIONS);
                start.elapsed().as_secs_f64()
            })
            .collect();
        t.sort_by(f64::total_cmp);
        quantile(&t, 0.5)
    };
    // Each end is timed on the user's sessions made again before it.
    let end_index = median(INDEX_RUNS, &log_in, &|| {
        engine.end_sessions_of(user, None).unwrap()
    });
    let end_scan = median(SCAN_RUNS, &log_in, &|| {
        scanning.end_sessions_of(user, None).unwrap()
    });
    // What both ways do once they have found the sessions: a delete each.
    let found = std::cell::RefCell::new(Vec::new());
    let deletes = median(
        INDEX_RUNS,
        &|| {
            log_in();
            *found.borrow_mut() = engine.sessions_of(user).unwrap();
        },
        &|| {
            let found = found.borrow();
            found
                .iter()
                .filter(|(k, _)| engine.delete(k).unwrap())
                .count()
        },
    );
    log_in();
    let list_index = median(INDEX_RUNS, &|| {}, &|| {
        engine.sessions_of(user).unwrap().len()
    });
    let list_scan = median(SCAN_RUNS, &|| {}, &|| {
        scanning.sessions_of(user).unwrap().len()
    });
    let ms = |s: f64| s * 1e3;
    vec![
        format!(
            "one user's {USER_SESSIONS} sessions among {n} others (filled in {:.0} s; owner index: {} entries), median of {INDEX_RUNS} runs through the index, {SCAN_RUNS} by full scan",
            fill_time.as_secs_f64(),
            store.owner_index_len().unwrap()
        ),
        format!(
            "  end_sessions_of: index {:.2} ms, full scan {:.0} ms: {:.0}× faster, goal ≥ 1000×: {}",
            ms(end_index),
            ms(end_scan),
            end_scan / end_index,
            if end_scan / end_index >= 1000.0 { "met" } else { "not met" }
        ),
        format!(
            "  sessions_of:     index {:.2} ms, full scan {:.0} ms: {:.0}× faster",
            ms(list_index),
            ms(list_scan),
            list_scan / list_index
        ),
        format!(
            "  {USER_SESSIONS} deletes by key, what both ways of ending pay once the sessions are found: {:.2} ms",
            ms(deletes)
        ),
    ]
}

/// The paired pass's lines, for `main` to write with the gain's.
static COST: Mutex<Vec<String>> = Mutex::new(Vec::new());

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = bench_cost
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let args: Vec<String> = std::env::args().collect();
    let default = if args.iter().any(|a| a == "--bench") {
        1_000_000
    } else {
        10_000
    };
    let n = args
        .iter()
        .position(|a| a == "--sessions")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let gain = one_user_among_many(n);
    for l in &gain {
        println!("{l}");
    }
    if args.iter().any(|a| a == "--bench") {
        let file = format!("{}/benches/results/owners.txt", env!("CARGO_MANIFEST_DIR"));
        let mut lines = std::mem::take(&mut *COST.lock().unwrap());
        lines.extend(gain);
        std::fs::write(&file, lines.join("\n") + "\n").expect("write results");
        println!("wrote {file}");
    }
}
