//! The hot path (get / set / touch / create / expire) against the storage
//! floor: raw sled operations of the same size on the same sled settings,
//! measured in the same run. Read the results as ratios to the floor.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sessile::{Config, Engine, Expiry, ManualClock};

const SESSIONS: usize = 10_000;
const T0: i64 = 1_767_225_600_000;

fn engine(dir: &tempfile::TempDir, clock: &ManualClock) -> Engine {
    Engine::open(
        Config::new(dir.path().join("db"))
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None),
    )
    .expect("open")
}

/// A typical logged-in session: about 200 bytes on disk.
fn fill(engine: &Engine, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut s = engine.new_session();
            s.insert("_auth_user_id", i as i64).unwrap();
            s.insert(
                "_auth_user_backend",
                "django.contrib.auth.backends.ModelBackend",
            )
            .unwrap();
            s.insert(
                "_auth_user_hash",
                "5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f6a7b8c9d0",
            )
            .unwrap();
            s.insert("cart", vec!["tea", "cake", "biscuits"]).unwrap();
            s.insert("theme", "dark").unwrap();
            s.save().unwrap();
            s.session_key().unwrap().to_owned()
        })
        .collect()
}

fn bench_engine(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let engine = engine(&dir, &clock);
    let keys = fill(&engine, SESSIONS);
    let size = engine
        .store()
        .scan(None, 1)
        .unwrap()
        .first()
        .map(|(_, v)| v.len())
        .unwrap_or(0);
    eprintln!("record size: {size} bytes, {SESSIONS} sessions");
    let mut g = c.benchmark_group("hot_path");
    let mut i = 0usize;
    let mut next = || {
        i = (i + 7919) % keys.len();
        &keys[i]
    };
    g.bench_function("get", |b| {
        b.iter(|| {
            let mut s = engine.session(next());
            black_box(s.get::<i64>("_auth_user_id").unwrap())
        })
    });
    g.bench_function("set", |b| {
        b.iter(|| {
            let mut s = engine.session(next());
            s.insert("counter", 1).unwrap();
            s.save().unwrap();
        })
    });
    g.bench_function("touch", |b| {
        b.iter(|| {
            let mut s = engine.session(next());
            s.save().unwrap();
        })
    });
    g.bench_function("create", |b| {
        b.iter(|| {
            let mut s = engine.new_session();
            s.insert("_auth_user_id", 1).unwrap();
            s.save().unwrap();
        })
    });
    g.bench_function("expire (per session)", |b| {
        b.iter_custom(|iters| {
            for _ in 0..iters {
                let mut s = engine.new_session();
                s.insert("a", 1).unwrap();
                s.set_expiry(Expiry::seconds(1)).unwrap();
                s.save().unwrap();
            }
            clock.advance_secs(2);
            let start = Instant::now();
            let n = engine.clear_expired().unwrap();
            let t = start.elapsed();
            assert!(n as u64 >= iters);
            t
        })
    });
    g.finish();
}

fn bench_floor(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    // The engine's default sled settings.
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(64 * 1024 * 1024)
        .flush_every_ms(Some(500))
        .open()
        .unwrap();
    let tree = db.open_tree("sessions").unwrap();
    let value = vec![7u8; 200];
    let keys: Vec<Vec<u8>> = (0..SESSIONS)
        .map(|i| format!("{i:032}").into_bytes())
        .collect();
    for k in &keys {
        tree.insert(k, value.clone()).unwrap();
    }
    let mut g = c.benchmark_group("floor");
    let mut i = 0usize;
    let mut next = || {
        i = (i + 7919) % keys.len();
        keys[i].clone()
    };
    g.bench_function("sled get", |b| {
        b.iter(|| black_box(tree.get(next()).unwrap()))
    });
    g.bench_function("sled overwrite", |b| {
        b.iter(|| tree.insert(next(), value.clone()).unwrap())
    });
    // Not a floor the issue names, but what a safe read-modify-write costs:
    // the engine's saves are a get then a compare-and-swap.
    g.bench_function("sled get+cas", |b| {
        b.iter(|| {
            let k = next();
            let old = tree.get(&k).unwrap();
            tree.compare_and_swap(&k, old, Some(value.clone()))
                .unwrap()
                .unwrap()
        })
    });
    let mut n = 0u64;
    g.bench_function("sled insert", |b| {
        b.iter(|| {
            n += 1;
            tree.insert(format!("new{n:029}"), value.clone()).unwrap()
        })
    });
    let mut m = 0u64;
    g.bench_function("sled remove", |b| {
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

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_engine, bench_floor
}
criterion_main!(benches);
