//! `redis+cluster://`: the Redis store on a Redis Cluster of three masters
//! and a replica of each, which the tests form and stop
//! (tests/common/redis_cluster.rs; the conformance suite runs on one in
//! tests/store_conformance.rs). Guards that
//! - listing, counting, walking, `clear_expired` and the CLI see the
//!   sessions of every master, not of the node the client happens to ask;
//! - parallel saves of different keys into one session all land (the
//!   compare-and-set script on the session's master);
//! - a master killed in the middle of a load is replaced by its replica:
//!   calls fail with `Unavailable`, each within the timeouts, until the
//!   cluster has promoted it, then succeed, and no session acknowledged
//!   before the kill and replicated (written with `wait=1`) is lost, and
//!   no such logout undone.
//!
//! The failover test is bounded (deadlines, never a hang) and prints what
//! it measured.
#![cfg(feature = "redis")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::redis::cluster::Cluster;
use common::redis::sentinel::query;
use common::{saved_session, visit, T0};
use sessile::{Config, Engine, Error, Expiry, ManualClock};

/// How long the cluster may take to promote the replica and serve again.
const FAILOVER_WITHIN: Duration = Duration::from_secs(60);

/// The longest one call may take while a master is gone: a new cluster
/// connection tries each seed node and each node of the slot map, each
/// bounded by the connect timeout (300 ms), then the command with two
/// retries bounded by the reply timeout (500 ms), twice (the retry on a
/// fresh connection), with room for a loaded machine. Only a hang
/// exceeds it.
const CALL_BOUND: Duration = Duration::from_secs(20);

fn engine(url: &str, clock: &ManualClock) -> Engine {
    let config = Config::new("")
        .clock(Arc::new(clock.clone()))
        .reaper_interval(None);
    Engine::open_url(url, config).expect("open")
}

/// The session keys stored (under `prefix`) on the node at `port`.
fn keys_on(port: u16, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, page): (u64, Vec<String>) = query(
            port,
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000),
        )
        .unwrap();
        keys.extend(page.into_iter().map(|k| k[prefix.len()..].to_owned()));
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

#[test]
fn listing_counting_and_sweeping_cover_every_master() {
    let (cluster, prefix) = Cluster::shared();
    let clock = ManualClock::new(T0);
    let engine = engine(&cluster.url_with(&format!("?prefix={prefix}")), &clock);
    for i in 0..90 {
        let mut s = engine.new_session();
        s.insert("i", i).unwrap();
        s.set_expiry(Expiry::seconds(if i < 60 { 60 } else { 86_400 }))
            .unwrap();
        s.save().unwrap();
    }
    // Spread over the masters (random keys, 16384 slots in three ranges).
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3);
    let per_master: Vec<usize> = masters
        .iter()
        .map(|&m| keys_on(cluster.nodes[m].port(), &prefix).len())
        .collect();
    assert!(per_master.iter().all(|&n| n > 0), "{per_master:?}");
    assert_eq!(per_master.iter().sum::<usize>(), 90);

    assert_eq!(engine.store().len().unwrap(), 90);
    let mut walked = Vec::new();
    engine
        .store()
        .walk(None, &mut |k, _| {
            walked.push(k);
            Ok(true)
        })
        .unwrap();
    assert_eq!(walked.len(), 90);
    assert!(
        walked.windows(2).all(|w| w[0] < w[1]),
        "in key order, once each"
    );
    let page = engine.store().scan(Some(&walked[9]), 10).unwrap();
    assert_eq!(page.len(), 10);
    assert_eq!(page[0].0, walked[10]);

    clock.advance_secs(120);
    assert_eq!(engine.clear_expired().unwrap(), 60);
    assert_eq!(engine.store().len().unwrap(), 30);

    #[cfg(feature = "cli")]
    {
        let url = cluster.url_with(&format!("?prefix={prefix}"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sessile"))
            .args(["stats", "--json", "--db", &url])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("\"sessions\":30"), "{stdout}");
    }
}

#[test]
fn parallel_saves_of_one_session_keep_every_key() {
    let (cluster, prefix) = Cluster::shared();
    let clock = ManualClock::new(T0);
    let url = cluster.url_with(&format!("?prefix={prefix}"));
    let first = engine(&url, &clock);
    let key = saved_session(&first, &[("start", 1)]);
    // Four engines (four pools, as four processes would have), each saving
    // keys of its own into the one session at once: the compare-and-set
    // script, run on the session's master, lets every save land.
    std::thread::scope(|s| {
        for t in 0..4 {
            let (url, key, clock) = (&url, &key, &clock);
            s.spawn(move || {
                let e = engine(url, clock);
                for i in 0..25 {
                    let mut session = e.session(key);
                    session.insert(&format!("t{t}-{i}"), i).unwrap();
                    session.save().unwrap();
                }
            });
        }
    });
    let mut s = first.session(&key);
    assert_eq!(s.len().unwrap(), 1 + 4 * 25, "a save was lost");
}

#[test]
fn a_master_killed_mid_load_fails_over_and_no_replicated_session_is_lost() {
    let mut cluster = Cluster::start();
    let clock = ManualClock::new(T0);
    let url = cluster.url_with("?connect_timeout_ms=300&timeout_ms=500");
    // Acknowledged only once the master's replica has it (`wait=1`).
    let acked = engine(
        &cluster.url_with("?connect_timeout_ms=300&timeout_ms=2000&wait=1"),
        &clock,
    );
    let keys: Vec<String> = (0..150)
        .map(|i| saved_session(&acked, &[("n", i)]))
        .collect();
    // A logout, acknowledged once replicated too.
    let logged_out = saved_session(&acked, &[("user", 7)]);
    acked.session(&logged_out).delete().unwrap();
    let engine = engine(&url, &clock);
    let victim = cluster.masters()[0];
    let heir = cluster.replica_of(victim);
    let on_victim = keys_on(cluster.nodes[victim].port(), "sessile:");
    assert!(!on_victim.is_empty());

    // The load: two threads visiting sessions round and round, recording
    // what each call gave and how long it took, pausing 10 ms after a
    // failure.
    let stop = AtomicBool::new(false);
    let failures = Mutex::new(Vec::<Duration>::new());
    let served = Mutex::new(0usize);
    let killed_at = Mutex::new(None::<Instant>);
    let served_victim_after = Mutex::new(None::<Duration>);
    std::thread::scope(|s| {
        for t in 0..2 {
            let (engine, keys, on_victim) = (&engine, &keys, &on_victim);
            let (stop, failures, served) = (&stop, &failures, &served);
            let (killed_at, served_victim_after) = (&killed_at, &served_victim_after);
            s.spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    // Every other call on the dead master's sessions.
                    let key = if i % 2 == 0 {
                        &on_victim[i / 2 % on_victim.len()]
                    } else {
                        &keys[i % keys.len()]
                    };
                    i += 2;
                    let started = Instant::now();
                    match visit(engine, key) {
                        Ok(_) => {
                            *served.lock().unwrap() += 1;
                            let killed = *killed_at.lock().unwrap();
                            if let Some(k) = killed.filter(|_| on_victim.contains(key)) {
                                served_victim_after
                                    .lock()
                                    .unwrap()
                                    .get_or_insert_with(|| k.elapsed());
                            }
                        }
                        Err(Error::Unavailable { .. }) => {
                            let took = started.elapsed();
                            assert!(took < CALL_BOUND, "a call took {took:?} to fail");
                            failures.lock().unwrap().push(took);
                            // A client's pause before retrying.
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        Err(e) => panic!("during the failover, expected Unavailable, got {e:?}"),
                    }
                }
            });
        }
        // Mid-load: some calls served first.
        let deadline = Instant::now() + FAILOVER_WITHIN;
        while *served.lock().unwrap() < 50 {
            assert!(Instant::now() < deadline, "the load did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        *killed_at.lock().unwrap() = Some(Instant::now());
        cluster.nodes[victim].stop();
        let killed = Instant::now();
        while !cluster.is_master(heir) {
            assert!(
                killed.elapsed() < FAILOVER_WITHIN,
                "the replica was not promoted within {FAILOVER_WITHIN:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let promoted = killed.elapsed();
        while served_victim_after.lock().unwrap().is_none() {
            assert!(
                killed.elapsed() < FAILOVER_WITHIN,
                "the dead master's sessions were not served again within {FAILOVER_WITHIN:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // A while longer on the new master, then stop the load.
        let at = *served.lock().unwrap();
        while *served.lock().unwrap() < at + 50 {
            assert!(killed.elapsed() < FAILOVER_WITHIN, "the load stalled");
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::Relaxed);
        let failures = failures.lock().unwrap();
        println!(
            "cluster failover after killing a master mid-load: replica promoted after \
             {promoted:?}; the dead master's sessions served again after {:?}; {} calls \
             failed meanwhile, all Unavailable, the longest in {:?}; {} calls served in all",
            served_victim_after.lock().unwrap().unwrap(),
            failures.len(),
            failures.iter().max().copied().unwrap_or_default(),
            served.lock().unwrap()
        );
    });

    // Every session written with wait=1 is there, on whichever master.
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            engine.session(key).get::<i64>("n").unwrap(),
            Some(i as i64),
            "session {i} was lost in the failover"
        );
    }
    assert!(!engine.exists(&logged_out).unwrap(), "a logout was undone");
    assert_eq!(engine.store().len().unwrap(), keys.len());
}
