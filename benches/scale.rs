//! Scale: how get/set latency, disk use and memory behave as the store
//! grows from 10 k to 1 M sessions (10 M with `--sessions 10000000`).
//! Prints p50/p99 latencies at each size, disk bytes per session against
//! the payload bytes, and the process RSS against the configured sled
//! cache. A progress bar shows the fill on a terminal.
//!
//! `cargo bench --bench scale` (part of `make bench`), or
//! `cargo bench --bench scale -- --sessions 10000000` for the long run;
//! `--cache-mb N` sets sled's cache (default: the engine's default).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use sessile::{Config, Engine, ManualClock};

mod common;

use common::T0;

const SAMPLES: usize = 20_000;

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn dir_bytes(p: &Path) -> u64 {
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

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Times `SAMPLES` single operations over random existing sessions.
fn latencies(engine: &Engine, keys: &[String], set: bool, seed: usize) -> (f64, f64) {
    let mut ns = Vec::with_capacity(SAMPLES);
    let mut j = seed;
    for i in 0..SAMPLES {
        j = (j + 104_729) % keys.len();
        let start = Instant::now();
        let mut s = engine.session(&keys[j]);
        if set {
            s.insert("counter", i as i64).unwrap();
            s.save().unwrap();
        } else {
            std::hint::black_box(s.get::<i64>("_auth_user_id").unwrap());
        }
        ns.push(start.elapsed().as_nanos() as u64);
    }
    ns.sort_unstable();
    (percentile(&ns, 0.5), percentile(&ns, 0.99))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // binary without it: then only a quick smoke run at 10 k.
    let default = if args.iter().any(|a| a == "--bench") {
        1_000_000
    } else {
        10_000
    };
    let target: usize = args
        .iter()
        .position(|a| a == "--sessions")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    // The engine's default sled cache, or `--cache-mb N`.
    let cache = args
        .iter()
        .position(|a| a == "--cache-mb")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(Config::new(&path).sled_options().cache_capacity, |mb| {
            mb * 1024 * 1024
        });
    let clock = ManualClock::new(T0);
    let engine = Engine::open(
        Config::new(&path)
            .clock(Arc::new(clock.clone()))
            .cache_capacity(cache)
            .reaper_interval(None),
    )
    .expect("open");
    let bar = ProgressBar::new(target as u64).with_style(
        ProgressStyle::with_template("filling {bar:40} {pos}/{len} sessions, {per_sec}, eta {eta}")
            .expect("template"),
    );
    let mut keys: Vec<String> = Vec::with_capacity(target);
    let mut payload = 0usize;
    let checkpoints: Vec<usize> = [10_000usize, 100_000, 1_000_000, 10_000_000]
        .into_iter()
        .filter(|&n| n <= target)
        .collect();
    println!(
        "{:>10} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11} {:>9}",
        "sessions", "get p50", "get p99", "set p50", "set p99", "disk/sess", "payload", "RSS"
    );
    for &n in &checkpoints {
        keys.extend(common::fill(&engine, n - keys.len(), None, || bar.inc(1)));
        if payload == 0 {
            let (_, raw) = engine.store().scan(None, 1).unwrap().remove(0);
            payload = raw.len();
        }
        bar.suspend(|| {
            engine.flush().unwrap();
            let (g50, g99) = latencies(&engine, &keys, false, n);
            let (s50, s99) = latencies(&engine, &keys, true, n + 1);
            let disk = dir_bytes(&path) as f64 / n as f64;
            println!(
                "{:>10} {:>7.2}µs {:>7.2}µs {:>7.2}µs {:>7.2}µs {:>9.0} B {:>9} B {:>6} MiB",
                n,
                g50,
                g99,
                s50,
                s99,
                disk,
                payload,
                rss_bytes() / (1024 * 1024)
            );
        });
    }
    bar.finish_and_clear();
    println!(
        "sled cache configured: {} MiB; record size (header + data): {payload} B",
        cache / (1024 * 1024)
    );
}
