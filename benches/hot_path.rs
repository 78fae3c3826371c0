//! The hot path (get / set / touch / create / expire) against the storage
//! floor: raw sled operations on the engine's own trees (same records, same
//! settings, same write history), each measured just before the engine
//! operation it bounds. Read the results as ratios to the floor
//! (`benches/ratios.py` prints them after `make bench`).
//!
//! After criterion's figures for a shape, a paired pass measures the same
//! ratios again in 21 rounds, each timing 1 000 floor operations and 1 000
//! engine operations back to back, so that a change in the machine's load
//! hits both sides of a ratio alike. It writes `target/criterion/paired.txt`
//! (median and quartiles of the rounds' ratios), which `ratios.py` prints
//! beside criterion's ratio.
//!
//! Shapes: records of ~200 B and ~2 KB in a store of 10 k sessions; with
//! `SESSILE_BENCH_LARGE=1` also 1 M sessions. Threads: gets and sets from
//! 1 and 2 threads (the machine has 2 cores).
//!
//! `cargo bench --features internals --bench hot_path`: the floors reach
//! the raw trees through `sessile::internals`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Bencher, BenchmarkId, Criterion};
use sessile::internals::{index_entry, IVec, Trees};
use sessile::{Config, Engine, Expiry, ManualClock, Record, SessionKey, SledStore};

mod common;

use common::{fill, rewritten, T0};

/// A database of `n` sessions (~2 KB each with `big`, else ~200 B) on the
/// default sled settings and a manual clock, and what the floors need: the
/// store (they run on its trees), the keys, a stored record and where it
/// is filed.
struct Fixture {
    clock: ManualClock,
    engine: Engine,
    store: Arc<SledStore>,
    keys: Vec<String>,
    raw_keys: Vec<Vec<u8>>,
    template: IVec,
    filed_at: i64,
    shape: String,
    _dir: tempfile::TempDir,
}

fn fixture(n: usize, big: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let path = dir.path().join("db");
    let config = Config::new(&path)
        .clock(Arc::new(clock.clone()))
        .reaper_interval(None);
    let (engine, store) = common::engine_on_sled(&path, config);
    let blob = "x".repeat(1800);
    let keys = fill(&engine, n, big.then_some(blob.as_str()), || {});
    let raw_keys: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
    let template = store.trees().get(&raw_keys[0]).unwrap().unwrap();
    let filed_at = Record::decode(&template).unwrap().header().index_at_ms;
    Fixture {
        clock,
        engine,
        store,
        keys,
        raw_keys,
        template,
        filed_at,
        shape: label(n, big),
        _dir: dir,
    }
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
        let f = fixture(n, big);
        let Fixture {
            clock,
            engine,
            keys,
            raw_keys,
            template,
            filed_at,
            shape,
            ..
        } = &f;
        let filed_at = *filed_at;
        let trees = f.store.trees();
        let mut i = 0usize;
        let mut next = || {
            i = (i + 7919) % keys.len();
            i
        };
        // Each operation's floor runs just before it, on the same trees, so
        // both see the same records, the same cache and the same write
        // history (a separate database would be younger, and sled slows
        // as overwrites accumulate in its log).
        floor(c, "sled get", shape, |b| {
            b.iter(|| black_box(trees.get(&raw_keys[next()]).unwrap()))
        });
        hot(c, "get", shape, |b| {
            b.iter(|| {
                let mut s = engine.session(&keys[next()]);
                black_box(s.get::<i64>("_auth_user_id").unwrap())
            })
        });
        // Every write below changes the stored bytes (sled skips a set of
        // the same value; see `common::rewritten`): the floors write the
        // template record with a deadline moved one more millisecond each
        // time, and the engine writes a new counter value, a day of clock
        // later, one more millisecond per request.
        clock.advance(Duration::from_secs(86_400));
        let mut later = 0i64;
        let mut rewrite = || {
            later += 1;
            rewritten(template, later)
        };
        floor(c, "sled get+overwrite", shape, |b| {
            b.iter_custom(|iters| {
                timed_with_inputs(
                    iters,
                    || (next(), rewrite()),
                    |(j, bytes)| {
                        let k = &raw_keys[j];
                        black_box(trees.get(k).unwrap().unwrap());
                        // New bytes, as any writer has.
                        trees.insert(k, IVec::from(&bytes[..])).unwrap();
                    },
                )
            })
        });
        let mut counter = 0i64;
        hot(c, "set", shape, |b| {
            b.iter(|| {
                clock.advance(Duration::from_millis(1));
                counter += 1;
                let mut s = engine.session(&keys[next()]);
                s.insert("counter", counter).unwrap();
                s.save().unwrap();
            })
        });
        floor(c, "sled overwrite", shape, |b| {
            b.iter_custom(|iters| {
                timed_with_inputs(
                    iters,
                    || (next(), rewrite()),
                    |(j, bytes)| {
                        trees.insert(&raw_keys[j], IVec::from(&bytes[..])).unwrap();
                    },
                )
            })
        });
        // Touch as a request does it: the session was read for the
        // request; the save only extends its deadline.
        hot(c, "touch", shape, |b| {
            b.iter_custom(|iters| touches(engine, keys, clock, iters, &mut next))
        });
        // New records land at random places in the tree, as sessions do;
        // index entries are ordered by time, so they go to the end.
        floor(c, "sled insert", shape, |b| {
            b.iter(|| {
                trees
                    .insert(SessionKey::generate().as_bytes(), IVec::from(&template[..]))
                    .unwrap()
            })
        });
        let mut fresh = 0u64;
        floor(c, "sled insert index entry", shape, |b| {
            b.iter(|| {
                fresh += 1;
                let key = format!("{fresh:032}");
                trees
                    .index_insert(&index_entry(filed_at + 1, key.as_bytes()))
                    .unwrap()
            })
        });
        hot(c, "create", shape, |b| {
            b.iter(|| {
                let mut s = engine.new_session();
                s.insert("_auth_user_id", 1).unwrap();
                s.save().unwrap();
            })
        });
        floor(c, "sled remove", shape, |b| {
            b.iter_custom(|iters| {
                let batch: Vec<SessionKey> = (0..iters).map(|_| SessionKey::generate()).collect();
                for k in &batch {
                    trees.insert(k.as_bytes(), template.clone()).unwrap();
                }
                let start = Instant::now();
                for k in &batch {
                    trees.remove(k.as_bytes()).unwrap();
                }
                start.elapsed()
            })
        });
        hot(c, "expire", shape, |b| {
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
                hot(c, &format!("{op} x{threads} threads"), shape, |b| {
                    b.iter_custom(|iters| threaded(engine, keys, op, threads, iters))
                });
            }
        }
    }
    // `cargo test` runs benches once each; the paired pass is for `cargo
    // bench`, after the databases above are closed.
    if std::env::args().any(|a| a == "--bench") {
        let paired_lines: Vec<String> = shapes()
            .into_iter()
            .flat_map(|(n, big)| paired_pass(n, big))
            .collect();
        // benches/ratios.py reads these beside criterion's figures.
        let file = format!("{}/target/criterion/paired.txt", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(&file, paired_lines.join("\n") + "\n").expect("write paired ratios");
    }
}

/// The paired pass for one shape, on a database of its own (filled the
/// same way; the criterion benches before it grow theirs with every
/// create): the same ratios again, each from rounds in which the floor and
/// the engine run within milliseconds of each other (criterion times them
/// seconds apart, and on a shared machine the load moves in between).
/// Each side draws its own keys. Returns one line per ratio: shape,
/// operation, median, first and third quartile.
fn paired_pass(n: usize, big: bool) -> Vec<String> {
    let f = fixture(n, big);
    let (engine, trees, keys, raw_keys) = (&f.engine, f.store.trees(), &f.keys, &f.raw_keys);
    let (clock, template, shape, filed_at) = (&f.clock, &f.template, &f.shape, f.filed_at);
    // As in the criterion benches: writes change the stored bytes.
    clock.advance(Duration::from_secs(86_400));
    let mut later = 0i64;
    let mut rewrite = || {
        later += 1;
        rewritten(template, later)
    };
    let mut counter = 0i64;
    let mut fresh = 0u64;
    let mut lines = Vec::new();
    let mut fk = stride(n, 1);
    let mut ek = stride(n, n / 2);
    let mut pairs = Vec::new();
    let engine_get = |j: usize| {
        let mut s = engine.session(&keys[j]);
        black_box(s.get::<i64>("_auth_user_id").unwrap());
    };
    let ratios = paired(
        |m| {
            timed_over(m, &mut fk, |j| {
                black_box(trees.get(&raw_keys[j]).unwrap());
            })
        },
        |m| timed_over(m, &mut ek, engine_get),
    );
    pairs.push(("get", ratios));
    let mut rewrites =
        |m: usize| -> Vec<(usize, Vec<u8>)> { (0..m).map(|_| (fk(), rewrite())).collect() };
    let ratios = paired(
        |m| {
            let batch = rewrites(m);
            let start = Instant::now();
            for (j, bytes) in batch {
                black_box(trees.get(&raw_keys[j]).unwrap().unwrap());
                trees.insert(&raw_keys[j], IVec::from(&bytes[..])).unwrap();
            }
            start.elapsed()
        },
        |m| {
            let ks: Vec<usize> = (0..m).map(|_| ek()).collect();
            let start = Instant::now();
            for j in ks {
                clock.advance(Duration::from_millis(1));
                counter += 1;
                let mut s = engine.session(&keys[j]);
                s.insert("counter", counter).unwrap();
                s.save().unwrap();
            }
            start.elapsed()
        },
    );
    pairs.push(("set", ratios));
    let ratios = paired(
        |m| {
            let batch = rewrites(m);
            let start = Instant::now();
            for (j, bytes) in batch {
                trees.insert(&raw_keys[j], IVec::from(&bytes[..])).unwrap();
            }
            start.elapsed()
        },
        |m| touches(engine, keys, clock, m as u64, &mut ek),
    );
    pairs.push(("touch", ratios));
    let ratios = paired(
        |m| {
            let batch: Vec<(SessionKey, String)> = (0..m)
                .map(|_| {
                    fresh += 1;
                    (SessionKey::generate(), format!("{fresh:032}"))
                })
                .collect();
            let start = Instant::now();
            for (k, e) in batch {
                trees
                    .insert(k.as_bytes(), IVec::from(&template[..]))
                    .unwrap();
                trees
                    .index_insert(&index_entry(filed_at + 1, e.as_bytes()))
                    .unwrap();
            }
            start.elapsed()
        },
        |m| {
            let start = Instant::now();
            for _ in 0..m {
                let mut s = engine.new_session();
                s.insert("_auth_user_id", 1).unwrap();
                s.save().unwrap();
            }
            start.elapsed()
        },
    );
    pairs.push(("create", ratios));
    for (op, r) in pairs {
        let line = format!(
            "{shape} {op} {:.3} {:.3} {:.3}",
            quantile(&r, 0.5),
            quantile(&r, 0.25),
            quantile(&r, 0.75)
        );
        println!("paired: {line}");
        lines.push(line);
    }
    lines
}

/// Rounds of the paired pass, and operations per side in each.
const ROUNDS: usize = 21;
const CHUNK: usize = 1000;

/// `ROUNDS` rounds; each times `CHUNK` floor operations and `CHUNK` engine
/// operations back to back (which goes first alternates). Returns each
/// round's engine time over floor time, sorted.
fn paired(
    mut floor: impl FnMut(usize) -> Duration,
    mut engine: impl FnMut(usize) -> Duration,
) -> Vec<f64> {
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|r| {
            let (f, e) = if r % 2 == 0 {
                let f = floor(CHUNK);
                (f, engine(CHUNK))
            } else {
                let e = engine(CHUNK);
                (floor(CHUNK), e)
            };
            e.as_secs_f64() / f.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// `m` touches as a request makes them, a millisecond apart: the session
/// is read for the request, then saved, which only extends its deadline.
/// Only the saves are timed.
fn touches(
    engine: &Engine,
    keys: &[String],
    clock: &ManualClock,
    m: u64,
    draw: &mut impl FnMut() -> usize,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..m {
        clock.advance(Duration::from_millis(1));
        let mut s = engine.session(&keys[draw()]);
        s.get::<i64>("_auth_user_id").unwrap();
        let start = Instant::now();
        s.save().unwrap();
        total += start.elapsed();
    }
    total
}

/// The time `op` takes on `m` key indexes drawn from `draw` before the
/// timing.
fn timed_over(m: usize, draw: &mut impl FnMut() -> usize, mut op: impl FnMut(usize)) -> Duration {
    let ks: Vec<usize> = (0..m).map(|_| draw()).collect();
    let start = Instant::now();
    for j in ks {
        op(j);
    }
    start.elapsed()
}

/// Indexes into `n` keys with a stride, from `start`.
fn stride(n: usize, start: usize) -> impl FnMut() -> usize {
    let mut i = start % n;
    move || {
        i = (i + 7919) % n;
        i
    }
}

/// One engine figure (criterion group `hot_path`).
fn hot(c: &mut Criterion, name: &str, shape: &str, f: impl FnMut(&mut Bencher<'_>)) {
    c.benchmark_group("hot_path")
        .bench_function(BenchmarkId::new(name, shape), f);
}

/// One floor figure (criterion group `floor`): raw operations on the
/// engine's own sled trees, through the [`Trees`] layer the engine uses.
fn floor(c: &mut Criterion, name: &str, shape: &str, f: impl FnMut(&mut Bencher<'_>)) {
    c.benchmark_group("floor")
        .bench_function(BenchmarkId::new(name, shape), f);
}

/// The time `op` takes on `iters` inputs that `make` prepares outside the
/// timing (in chunks, so the inputs stay few).
fn timed_with_inputs<T>(
    iters: u64,
    mut make: impl FnMut() -> T,
    mut op: impl FnMut(T),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(1024);
        let inputs: Vec<T> = (0..chunk).map(|_| make()).collect();
        let start = Instant::now();
        for input in inputs {
            op(input);
        }
        total += start.elapsed();
        left -= chunk;
    }
    total
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
                // A new value each time, so each save writes (no clock
                // ticks here: the threads would contend on it).
                let mut counter = (t as i64) << 40;
                ready.wait();
                for _ in 0..per {
                    counter += 1;
                    j = (j + 7919) % keys.len();
                    let mut s = engine.session(&keys[j]);
                    if op == "get" {
                        black_box(s.get::<i64>("_auth_user_id").unwrap());
                    } else {
                        s.insert("counter", counter).unwrap();
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

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = bench_engine
}
criterion_main!(benches);
