//! A million sessions, embedded against Redis: the same sessions (the
//! benches' typical logged-in session, ~215 B as a record) kept by sessile
//! on sled and by a local redis-server, compared where a user feels them:
//! the memory the process holds (sessile: the RSS of a fresh process that
//! opened the database and served a warm-up of random gets, for each sled
//! cache size; Redis: `used_memory_rss`), disk, p50/p99 of a random get
//! and of a save, and the time to serve again after a restart (sled's
//! reopen, which replays its log, against Redis loading its RDB file and
//! its AOF).
//!
//! Every sessile figure comes from a child process of its own (this binary
//! run again with `--child`), so that one cache size's pages and the
//! allocator's leftovers never count against the next one. Redis is asked
//! over loopback on one connection, as a web worker would; sessile is
//! called in process, which is the point of an embedded store.
//!
//! `cargo bench --features internals,redis --bench versus_redis` (part of
//! `make bench`, which installs redis-server; about 4 minutes at a
//! million); `-- --sessions N`, `-- --cache-mb 32,64,256`. Under `cargo
//! bench` the table goes to `benches/results/versus_redis.txt`; under
//! `cargo test --all-targets` a smoke run at 5 000 sessions.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sessile::{Config, Engine, ManualClock, SessionKey};

mod common;

use common::{arg, dir_bytes, status_kib, T0};

const SAMPLES: usize = 20_000;

/// p50 and p99 in µs of `SAMPLES` calls of `op(i, j)`, `j` spread over `n`.
fn latencies(n: usize, seed: usize, op: impl FnMut(usize, usize)) -> (f64, f64) {
    common::latencies(SAMPLES, n, seed, op)
}

fn config(path: &Path, cache_mb: u64) -> Config {
    Config::new(path)
        .clock(Arc::new(ManualClock::new(T0)))
        .cache_capacity(cache_mb * 1024 * 1024)
        .reaper_interval(None)
}

fn read_keys(file: &Path) -> Vec<SessionKey> {
    BufReader::new(std::fs::File::open(file).expect("keys"))
        .lines()
        .map(|l| SessionKey::parse(&l.expect("line")).expect("key"))
        .collect()
}

/// The child: opens the database with `cache_mb`, reads every session once
/// in a random order (so that the cache fills to whatever bounds it, and the
/// memory figure is that of a process that has served every visitor), then
/// measures, and prints one line of figures.
fn child(args: &[String]) {
    let path = PathBuf::from(arg::<String>(args, "--db").expect("--db"));
    let cache_mb: u64 = arg(args, "--child").expect("--child");
    let keys = read_keys(&path.with_extension("keys"));
    let n = keys.len();
    let rss_before = status_kib("VmRSS:");
    let start = Instant::now();
    let engine = Engine::open(config(&path, cache_mb)).expect("open");
    let first = engine.load(&keys[n / 2]).expect("load");
    assert!(first.is_some(), "the first session is there after a reopen");
    let reopen = start.elapsed();
    // 7 919 is prime and does not divide n: every index once.
    let mut j = 7usize;
    for _ in 0..n {
        j = (j + 7_919) % n;
        std::hint::black_box(engine.load(&keys[j]).unwrap());
    }
    let get = latencies(n, n / 3, |_, j| {
        std::hint::black_box(engine.load(&keys[j]).unwrap());
    });
    let set = latencies(n, 2 * n / 3, |i, j| {
        let mut s = engine.session(keys[j].as_str());
        s.insert("counter", i as i64).unwrap();
        s.save().unwrap();
    });
    engine.flush().unwrap();
    println!(
        "{} {} {} {} {} {} {}",
        reopen.as_secs_f64(),
        get.0,
        get.1,
        set.0,
        set.1,
        status_kib("VmRSS:").saturating_sub(rss_before),
        dir_bytes(&path),
    );
}

/// A redis-server in `dir` on a free port, started with `extra` settings;
/// killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(dir: &Path, extra: &[&str]) -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", dir.to_str().expect("utf-8 dir")])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (make bench installs it)");
        Redis { child, port }
    }

    /// A connection once the server answers, and how long that took: a
    /// server loading its data answers `LOADING` until it is done.
    fn ready(&self) -> (redis::Connection, Duration) {
        let start = Instant::now();
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap();
        loop {
            if let Ok(mut c) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return (c, start.elapsed());
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "redis-server never answered"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits for a background save or AOF rewrite to finish.
fn wait_persisted(c: &mut redis::Connection) {
    loop {
        let busy = info_field(c, "persistence", "rdb_bgsave_in_progress")
            + info_field(c, "persistence", "aof_rewrite_in_progress");
        if busy == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct RedisFigures {
    get: (f64, f64),
    set: (f64, f64),
    rss: u64,
    rdb_bytes: u64,
    rdb_load: Duration,
    aof_bytes: u64,
    aof_load: Duration,
}

/// The same records in a redis-server (as sessile's Redis store keeps
/// them: the record bytes under `sessile:<key>`, with the deadline as PX).
fn redis_figures(records: &[(String, Vec<u8>)], dir: &Path) -> RedisFigures {
    let n = records.len();
    let ttl_ms: u64 = 14 * 24 * 3600 * 1000;
    let server = Redis::start(dir, &["--save", "", "--appendonly", "no"]);
    let (mut c, _) = server.ready();
    for chunk in records.chunks(1000) {
        let mut pipe = redis::pipe();
        for (k, v) in chunk {
            pipe.cmd("SET")
                .arg(format!("sessile:{k}"))
                .arg(&v[..])
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
        }
        pipe.query::<()>(&mut c).unwrap();
    }
    let mut j = 7usize;
    for _ in 0..n / 10 {
        j = (j + 7_919) % n;
        let _: Option<Vec<u8>> = redis::cmd("GET")
            .arg(format!("sessile:{}", records[j].0))
            .query(&mut c)
            .unwrap();
    }
    let get = latencies(n, n / 3, |_, j| {
        let v: Option<Vec<u8>> = redis::cmd("GET")
            .arg(format!("sessile:{}", records[j].0))
            .query(&mut c)
            .unwrap();
        std::hint::black_box(v);
    });
    let set = latencies(n, 2 * n / 3, |_, j| {
        let (k, v) = &records[j];
        redis::cmd("SET")
            .arg(format!("sessile:{k}"))
            .arg(&v[..])
            .arg("PX")
            .arg(ttl_ms)
            .query::<()>(&mut c)
            .unwrap();
    });
    let rss = info_field(&mut c, "memory", "used_memory_rss");
    // RDB: save, restart on the file, time until it serves.
    redis::cmd("SAVE").query::<()>(&mut c).unwrap();
    let rdb_bytes = std::fs::metadata(dir.join("dump.rdb")).map_or(0, |m| m.len());
    // AOF without the RDB preamble: the log of commands Redis replays.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("aof-use-rdb-preamble")
        .arg("no")
        .query::<()>(&mut c)
        .unwrap();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendonly")
        .arg("yes")
        .query::<()>(&mut c)
        .unwrap();
    wait_persisted(&mut c);
    std::thread::sleep(Duration::from_millis(200));
    wait_persisted(&mut c);
    let aof_bytes = dir_bytes(&dir.join("appendonlydir"));
    drop(c);
    drop(server);
    let server = Redis::start(dir, &["--appendonly", "no", "--save", ""]);
    let (mut c, rdb_load) = server.ready();
    assert_eq!(redis::cmd("DBSIZE").query::<usize>(&mut c).unwrap(), n);
    drop(c);
    drop(server);
    std::fs::remove_file(dir.join("dump.rdb")).unwrap();
    let server = Redis::start(
        dir,
        &[
            "--appendonly",
            "yes",
            "--aof-use-rdb-preamble",
            "no",
            "--save",
            "",
        ],
    );
    let (mut c, aof_load) = server.ready();
    assert_eq!(redis::cmd("DBSIZE").query::<usize>(&mut c).unwrap(), n);
    RedisFigures {
        get,
        set,
        rss,
        rdb_bytes,
        rdb_load,
        aof_bytes,
        aof_load,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--child") {
        return child(&args);
    }
    let bench = args.iter().any(|a| a == "--bench");
    let n: usize = arg(&args, "--sessions").unwrap_or(if bench { 1_000_000 } else { 5_000 });
    let caches: Vec<u64> = arg::<String>(&args, "--cache-mb")
        .unwrap_or_else(|| "32,64,128,256".into())
        .split(',')
        .map(|c| c.parse().expect("--cache-mb 32,64,…"))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");

    // Fill once, then keep the keys for the children and the records for
    // Redis.
    let start = Instant::now();
    let engine = Engine::open(config(&path, 256)).expect("open");
    let keys = common::fill(&engine, n, None, || {});
    engine.flush().unwrap();
    let fill = start.elapsed();
    let mut records = Vec::with_capacity(n);
    engine
        .store()
        .walk(None, &mut |k, v| {
            records.push((String::from_utf8(k).unwrap(), v));
            Ok(true)
        })
        .unwrap();
    drop(engine);
    let record_len = records[0].1.len();
    let mut file = std::fs::File::create(path.with_extension("keys")).unwrap();
    for k in &keys {
        writeln!(file, "{k}").unwrap();
    }
    drop(file);

    let mut out = Vec::new();
    let mut line = |l: String| {
        println!("{l}");
        out.push(l);
    };
    line(format!(
        "{n} sessions of {record_len} B (record: header + data); sessile filled in {:.1} s",
        fill.as_secs_f64()
    ));
    line(format!(
        "{:<22} {:>16} {:>16} {:>10} {:>10} {:>10}",
        "store", "get p50/p99", "save p50/p99", "memory", "disk", "restart"
    ));
    let pair = |(a, b): (f64, f64)| format!("{a:>6.1}/{b:>6.1}µs");
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0));
    let mut sessile_rows = Vec::new();
    // The same figures for benches/versus_redis_chart.py.
    let mut rows = Vec::new();
    for &cache in &caches {
        let exe = std::env::current_exe().unwrap();
        let output = Command::new(exe)
            .args([
                "--child",
                &cache.to_string(),
                "--db",
                path.to_str().unwrap(),
            ])
            .output()
            .expect("child");
        assert!(
            output.status.success(),
            "child: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let f: Vec<f64> = text
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        let (reopen, get, set, rss, disk) = (
            f[0],
            (f[1], f[2]),
            (f[3], f[4]),
            f[5] as u64 * 1024,
            f[6] as u64,
        );
        line(format!(
            "{:<22} {:>16} {:>16} {:>10} {:>10} {:>8.2} s",
            format!("sessile, cache {cache} MiB"),
            pair(get),
            pair(set),
            mib(rss),
            mib(disk),
            reopen
        ));
        sessile_rows.push((cache, get, rss));
        rows.push(serde_json::json!({
            "store": format!("sessile, cache {cache} MiB"),
            "get_p50_us": get.0, "get_p99_us": get.1,
            "save_p50_us": set.0, "save_p99_us": set.1,
            "memory_bytes": rss, "disk_bytes": disk, "restart_s": reopen,
        }));
    }
    let redis_dir = dir.path().join("redis");
    std::fs::create_dir_all(&redis_dir).unwrap();
    let r = redis_figures(&records, &redis_dir);
    line(format!(
        "{:<22} {:>16} {:>16} {:>10} {:>10} {:>8.2} s",
        "redis-server, RDB",
        pair(r.get),
        pair(r.set),
        mib(r.rss),
        mib(r.rdb_bytes),
        r.rdb_load.as_secs_f64()
    ));
    line(format!(
        "{:<22} {:>16} {:>16} {:>10} {:>10} {:>8.2} s",
        "redis-server, AOF",
        "",
        "",
        "",
        mib(r.aof_bytes),
        r.aof_load.as_secs_f64()
    ));
    rows.push(serde_json::json!({
        "store": "redis-server",
        "get_p50_us": r.get.0, "get_p99_us": r.get.1,
        "save_p50_us": r.set.0, "save_p99_us": r.set.1,
        "memory_bytes": r.rss, "disk_bytes": r.rdb_bytes, "restart_s": r.rdb_load.as_secs_f64(),
        "aof_bytes": r.aof_bytes, "aof_restart_s": r.aof_load.as_secs_f64(),
    }));
    line(
        "memory: sessile, the RSS that opening the database and reading every session added to \
         a fresh process; redis-server, used_memory_rss. restart: until the first get is served"
            .into(),
    );
    for (cache, get, rss) in &sessile_rows {
        line(format!(
            "goals at cache {cache} MiB: p99 get {:.1} vs redis {:.1} µs ({}); memory {} vs redis {} ({})",
            get.1,
            r.get.1,
            if get.1 <= r.get.1 { "met" } else { "not met" },
            mib(*rss),
            mib(r.rss),
            if *rss <= r.rss { "met" } else { "not met" },
        ));
    }
    if bench {
        let file = format!(
            "{}/benches/results/versus_redis.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::write(&file, out.join("\n") + "\n").expect("write results");
        println!("wrote {file}");
        let doc = serde_json::json!({
            "benchmark": "versus_redis",
            "sessions": n,
            "record_bytes": record_len,
            "rows": rows,
        });
        let file = file.replace(".txt", ".json");
        let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
        std::fs::write(&file, text).expect("write results");
        println!("wrote {file}");
    }
}
