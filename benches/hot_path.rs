//! The hot path (get / set / touch / create / expire) against the storage
//! floor: raw sled operations of the same size on the same sled settings,
//! measured in the same run. Read the results as ratios to the floor
//! (`benches/ratios.py` prints them after `make bench`).
//!
//! Shapes: records of ~200 B and ~2 KB in a store of 10 k sessions; with
//! `SESSILE_BENCH_LARGE=1` also 1 M sessions. Threads: gets and sets from
//! 1 and 2 threads (the machine has 2 cores).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sessile::{Config, Engine, Expiry, ManualClock, SessionKey};

mod common;

use common::{fill, T0};

fn engine(dir: &tempfile::TempDir, clock: &ManualClock) -> Engine {
    Engine::open(
        Config::new(dir.path().join("db"))
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None),
    )
    .expect("open")
}

fn shapes() -> Vec<(usize, bool)> {
    let mut v = vec![(10_000, false), (10_000, true)];
    if std::env::var("SESSILE_BENCH_LARGE").is_ok() {
        v.push((1_000_000, false));
    }
    v
}

fn label(n: usize, big: bool) -> String {
    format!("{}k/{}", n / 1000, if big { "2KB" } else { "200B" })
}

fn bench_engine(c: &mut Criterion) {
    for (n, big) in shapes() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let engine = engine(&dir, &clock);
        let blob = "x".repeat(1800);
        let keys = fill(&engine, n, big.then_some(blob.as_str()), || {});
        let shape = label(n, big);
        let mut g = c.benchmark_group("hot_path");
        let mut i = 0usize;
        let mut next = || {
            i = (i + 7919) % keys.len();
            keys[i].clone()
        };
        g.bench_function(BenchmarkId::new("get", &shape), |b| {
            b.iter(|| {
                let mut s = engine.session(&next());
                black_box(s.get::<i64>("_auth_user_id").unwrap())
            })
        });
        g.bench_function(BenchmarkId::new("set", &shape), |b| {
            b.iter(|| {
                let mut s = engine.session(&next());
                s.insert("counter", 1).unwrap();
                s.save().unwrap();
            })
        });
        // Touch as a request does it: the session was read for the
        // request; the save only extends its deadline.
        g.bench_function(BenchmarkId::new("touch", &shape), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut s = engine.session(&next());
                    s.get::<i64>("_auth_user_id").unwrap();
                    let start = Instant::now();
                    s.save().unwrap();
                    total += start.elapsed();
                }
                total
            })
        });
        g.bench_function(BenchmarkId::new("create", &shape), |b| {
            b.iter(|| {
                let mut s = engine.new_session();
                s.insert("_auth_user_id", 1).unwrap();
                s.save().unwrap();
            })
        });
        g.bench_function(BenchmarkId::new("expire", &shape), |b| {
            b.iter_custom(|iters| {
                for _ in 0..iters {
                    let mut s = engine.new_session();
                    s.insert("a", 1).unwrap();
                    s.set_expiry(Expiry::seconds(1)).unwrap();
                    s.save().unwrap();
                }
                clock.advance_secs(2);
                let start = Instant::now();
                let removed = engine.clear_expired().unwrap();
                let t = start.elapsed();
                assert!(removed as u64 >= iters);
                t
            })
        });
        for threads in [1usize, 2] {
            for op in ["get", "set"] {
                let id = BenchmarkId::new(format!("{op} x{threads} threads"), &shape);
                g.bench_function(id, |b| {
                    b.iter_custom(|iters| threaded(&engine, &keys, op, threads, iters))
                });
            }
        }
        g.finish();
    }
}

/// `iters` operations shared by `threads` threads; returns the wall time
/// from when all threads are ready, so the per-operation figure criterion
/// reports is the throughput view (2 threads: half the wall time each).
fn threaded(engine: &Engine, keys: &[String], op: &str, threads: usize, iters: u64) -> Duration {
    let per = iters.div_ceil(threads as u64);
    let ready = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let ready = &ready;
            scope.spawn(move || {
                let mut j = t * 104_729;
                ready.wait();
                for _ in 0..per {
                    j = (j + 7919) % keys.len();
                    let mut s = engine.session(&keys[j]);
                    if op == "get" {
                        black_box(s.get::<i64>("_auth_user_id").unwrap());
                    } else {
                        s.insert("counter", 2).unwrap();
                        s.save().unwrap();
                    }
                }
            });
        }
        ready.wait();
        let start = Instant::now();
        // Leaving the scope joins the threads.
        (start, ())
    })
    .0
    .elapsed()
}

fn bench_floor(c: &mut Criterion) {
    for (n, big) in shapes() {
        let dir = tempfile::tempdir().unwrap();
        // The engine's default sled settings.
        let db = sled::Config::new()
            .path(dir.path())
            .cache_capacity(64 * 1024 * 1024)
            .flush_every_ms(Some(500))
            .open()
            .unwrap();
        let tree = db.open_tree("sessions").unwrap();
        let value = vec![7u8; if big { 2030 } else { 215 }];
        // Keys of the engine's shape and order: random 32-character keys,
        // inserted as they come (sequential keys would pack sled's leaves
        // densely and make a floor no session store sees).
        let keys: Vec<Vec<u8>> = (0..n)
            .map(|_| SessionKey::generate().as_bytes().to_vec())
            .collect();
        for k in &keys {
            tree.insert(k, value.clone()).unwrap();
        }
        let shape = label(n, big);
        let mut g = c.benchmark_group("floor");
        let mut i = 0usize;
        let mut next = || {
            i = (i + 7919) % keys.len();
            keys[i].clone()
        };
        g.bench_function(BenchmarkId::new("sled get", &shape), |b| {
            b.iter(|| black_box(tree.get(next()).unwrap()))
        });
        g.bench_function(BenchmarkId::new("sled overwrite", &shape), |b| {
            b.iter(|| tree.insert(next(), value.clone()).unwrap())
        });
        // What a compare-and-swap based save would cost (not a floor the
        // issue names; it is why saves use per-key locks instead). 200 B
        // only: on the 2 KB tree of random keys, sled's compare_and_swap
        // once spun at 100% CPU for over ten minutes without finishing.
        if !big {
            g.bench_function(BenchmarkId::new("sled get+cas", &shape), |b| {
                b.iter(|| {
                    let k = next();
                    let old = tree.get(&k).unwrap();
                    tree.compare_and_swap(&k, old, Some(value.clone()))
                        .unwrap()
                        .unwrap()
                })
            });
        }
        let mut fresh = 0u64;
        // New records land at random places in the tree, as sessions do
        // (the engine draws its keys the same way); index entries are
        // ordered by time, so they go to the end.
        g.bench_function(BenchmarkId::new("sled insert", &shape), |b| {
            b.iter(|| {
                tree.insert(SessionKey::generate().as_bytes(), value.clone())
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("sled insert index entry", &shape), |b| {
            b.iter(|| {
                fresh += 1;
                tree.insert(format!("idx{fresh:037}"), &[]).unwrap()
            })
        });
        let mut m = 0u64;
        g.bench_function(BenchmarkId::new("sled remove", &shape), |b| {
            b.iter_custom(|iters| {
                let batch: Vec<String> = (0..iters)
                    .map(|_| {
                        m += 1;
                        format!("rem{m:029}")
                    })
                    .collect();
                for k in &batch {
                    tree.insert(k, value.clone()).unwrap();
                }
                let start = Instant::now();
                for k in &batch {
                    tree.remove(k).unwrap();
                }
                start.elapsed()
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = bench_engine, bench_floor
}
criterion_main!(benches);
