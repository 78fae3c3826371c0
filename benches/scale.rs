//! Scale: how get/set latency, disk use and memory behave as the store
//! grows from 10 k to 1 M sessions (10 M with `--sessions 10000000`).
//! Prints p50/p99 latencies at each size beside the floor (raw sled on the
//! engine's own trees, just before), disk bytes per session against the
//! payload bytes and against plain sled holding only the same records, and
//! the process RSS against the configured sled cache. A progress bar shows
//! the fill on a terminal. Under `cargo bench` the table is also written
//! to `benches/results/scale.txt`.
//!
//! `cargo bench --features cli,internals --bench scale` (part of `make
//! bench`; the floors reach the raw trees through `sessile::internals`), or
//! `cargo bench --features cli,internals --bench scale -- --sessions 10000000`
//! for the long run;
//! `--cache-mb N` sets sled's cache (default: the engine's default);
//! `--compression` creates the database compressed
//! (`benches/results/scale_compression.txt`).

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use sessile::internals::{IVec, Trees};
use sessile::{Config, ManualClock, SessionKey};

mod common;

use common::{arg, dir_bytes, rewritten, T0};

const SAMPLES: usize = 20_000;

fn rss_bytes() -> u64 {
    common::status_kib("VmRSS:") * 1024
}

/// Times `SAMPLES` single operations `op(j)` over a spread of session
/// indexes below `n`; returns p50 and p99 in µs.
fn latencies(n: usize, seed: usize, op: impl FnMut(usize, usize)) -> (f64, f64) {
    common::latencies(SAMPLES, n, seed, op)
}

/// One checkpoint's figures (latencies in µs: p50, p99).
struct Row {
    n: usize,
    get: (f64, f64),
    floor_get: (f64, f64),
    set: (f64, f64),
    floor_set: (f64, f64),
    disk: f64,
    rss_mib: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (with the
    // feature `internals`, as `make test` runs it) runs this binary without
    // it: then only a quick smoke run at 10 k.
    let default = if args.iter().any(|a| a == "--bench") {
        1_000_000
    } else {
        10_000
    };
    let target: usize = arg(&args, "--sessions").unwrap_or(default);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let defaults = Config::new(&path);
    // The engine's default sled cache, or `--cache-mb N`.
    let cache = arg::<u64>(&args, "--cache-mb")
        .map_or(defaults.sled_options().cache_capacity, |mb| {
            mb * 1024 * 1024
        });
    let clock = ManualClock::new(T0);
    let compression = args.iter().any(|a| a == "--compression");
    let config = defaults
        .clock(Arc::new(clock.clone()))
        .cache_capacity(cache)
        .compression(compression)
        .reaper_interval(None);
    let (engine, store) = common::engine_on_sled(&path, config.clone());
    let trees = store.trees();
    let bar = ProgressBar::new(target as u64).with_style(
        ProgressStyle::with_template("filling {bar:40} {pos}/{len} sessions, {per_sec}, eta {eta}")
            .expect("template"),
    );
    let mut keys: Vec<String> = Vec::with_capacity(target);
    let mut record = IVec::default();
    let checkpoints: Vec<usize> = [10_000usize, 100_000, 1_000_000, 10_000_000]
        .into_iter()
        .filter(|&n| n <= target)
        .collect();
    let mut out = Vec::new();
    let mut line = |l: String| {
        println!("{l}");
        out.push(l);
    };
    line(format!(
        "{:>10} {:>17} {:>17} {:>17} {:>17} {:>9} {:>8} {:>8}",
        "sessions",
        "get p50/p99",
        "floor get",
        "set p50/p99",
        "floor get+ovw",
        "disk/sess",
        "payload",
        "RSS"
    ));
    let mut rows = Vec::new();
    for &n in &checkpoints {
        let more = n - keys.len();
        keys.extend(common::fill(&engine, more, None, || bar.inc(1)));
        if record.is_empty() {
            record = trees.get(keys[0].as_bytes()).unwrap().unwrap();
        }
        bar.suspend(|| {
            engine.flush().unwrap();
            let floor_get = latencies(n, n, |_, j| {
                std::hint::black_box(trees.get(keys[j].as_bytes()).unwrap());
            });
            // Each series starts elsewhere, so none warms the next one's
            // pages.
            let get = latencies(n, n + n / 3, |_, j| {
                let mut s = engine.session(&keys[j]);
                std::hint::black_box(s.get::<i64>("_auth_user_id").unwrap());
            });
            // Overwrites with bytes that differ from the stored ones (sled
            // skips a set of the same value: see `common::rewritten`), made
            // before the timing: the template record, its deadline moved
            // later by a count no other write of this run uses.
            let first = rows.len() * SAMPLES + 1;
            let rewrites: Vec<Vec<u8>> = (0..SAMPLES)
                .map(|i| rewritten(&record, (first + i) as i64))
                .collect();
            let floor_set = latencies(n, n + 1, |i, j| {
                let k = keys[j].as_bytes();
                std::hint::black_box(trees.get(k).unwrap().unwrap());
                trees.insert(k, IVec::from(&rewrites[i][..])).unwrap();
            });
            // A counter value no earlier save of this run wrote.
            let set = latencies(n, n + 2 * n / 3, |i, j| {
                let mut s = engine.session(&keys[j]);
                s.insert("counter", (first + i) as i64).unwrap();
                s.save().unwrap();
            });
            engine.flush().unwrap();
            let row = Row {
                n,
                get,
                floor_get,
                set,
                floor_set,
                disk: dir_bytes(&path) as f64 / n as f64,
                rss_mib: rss_bytes() / (1024 * 1024),
            };
            let pair = |(a, b): (f64, f64)| format!("{a:>6.2}/{b:>7.2}µs");
            line(format!(
                "{:>10} {:>17} {:>17} {:>17} {:>17} {:>7.0} B {:>6} B {:>4} MiB",
                row.n,
                pair(row.get),
                pair(row.floor_get),
                pair(row.set),
                pair(row.floor_set),
                row.disk,
                record.len(),
                row.rss_mib
            ));
            rows.push(row);
        });
    }
    bar.finish_and_clear();
    line(format!(
        "sled cache configured: {} MiB; compression {}; payload = one record (header + data): {} B",
        cache / (1024 * 1024),
        if compression { "on" } else { "off" },
        record.len()
    ));
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        if last.n > first.n {
            let growth = |f: fn(&Row) -> (f64, f64)| f(last).1 / f(first).1;
            line(format!(
                "p99 growth {}k -> {}k (target <= 1.5x): get {:.2}x (floor {:.2}x), set {:.2}x (floor {:.2}x)",
                first.n / 1000,
                last.n / 1000,
                growth(|r| r.get),
                growth(|r| r.floor_get),
                growth(|r| r.set),
                growth(|r| r.floor_set),
            ));
        }
        // The disk floor, after the rows (so the RSS above is the engine's
        // alone): plain sled on the same settings holding only the same
        // records under keys of the same shape, with as many overwrites.
        let raw_path = dir.path().join("raw");
        let raw = sled::Config::new()
            .path(&raw_path)
            .cache_capacity(cache)
            .flush_every_ms(config.sled_options().flush_every_ms)
            .open()
            .expect("open raw sled");
        let raw_keys: Vec<SessionKey> = (0..last.n).map(|_| SessionKey::generate()).collect();
        for k in &raw_keys {
            raw.insert(k.as_bytes(), IVec::from(&record[..])).unwrap();
        }
        for i in 0..2 * SAMPLES * rows.len() {
            let k = raw_keys[(i * 104_729) % last.n].as_bytes();
            raw.insert(k, IVec::from(rewritten(&record, i as i64 + 1)))
                .unwrap();
        }
        raw.flush().unwrap();
        let raw_disk = dir_bytes(&raw_path) as f64 / last.n as f64;
        let p = record.len() as f64;
        line(format!(
            "disk at {}k (target <= 2.5x payload): engine {:.0} B = {:.2}x payload; plain sled holding only the records {raw_disk:.0} B = {:.2}x",
            last.n / 1000,
            last.disk,
            last.disk / p,
            raw_disk / p
        ));
    }
    if args.iter().any(|a| a == "--bench") {
        let file = format!(
            "{}/benches/results/scale{}.txt",
            env!("CARGO_MANIFEST_DIR"),
            if compression { "_compression" } else { "" }
        );
        std::fs::write(&file, out.join("\n") + "\n").expect("write results");
        println!("wrote {file}");
    }
}
