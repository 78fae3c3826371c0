//! `redis+sentinel://`: the Redis store on a master that sentinels watch
//! (a master, a replica and three sentinels started by the test,
//! tests/common/redis_sentinel.rs; the conformance suite runs on the same
//! set in tests/store_conformance.rs). Guards that the store follows a
//! failover by itself:
//! - the master killed: calls fail with `Unavailable`, each within the
//!   timeouts, while the sentinels agree and promote the replica; then they
//!   succeed on the new master, and no session acknowledged before the
//!   kill is lost and no logout undone (every write waited for the
//!   replica: `wait=1`);
//! - a planned switchover (`SENTINEL FAILOVER`): the old master stays up as
//!   a replica, and the pooled connections to it are dropped, not written
//!   through (`READONLY`);
//! - the URL's mistakes (no master name, a name no sentinel knows) are
//!   `InvalidConfig`, unreachable sentinels `Unavailable`.
//!
//! Failover tests are bounded (a deadline, never a hang) and print what
//! they measured: the time until calls succeeded again and the calls that
//! failed meanwhile.
#![cfg(feature = "redis")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::redis::sentinel::{query, SentinelSet, MASTER};
use common::{saved_session, visit, T0};
use sessile::{Config, Engine, Error, ManualClock};

/// How long the sentinels may take to be ready, and then to fail over.
const READY_WITHIN: Duration = Duration::from_secs(30);
const FAILOVER_WITHIN: Duration = Duration::from_secs(60);

/// The longest one call may take while the master is gone: asking each of
/// three sentinels, then the master, each bounded by the connect timeout
/// (300 ms) and the reply timeout (500 ms), twice (the retry on a fresh
/// connection), with room for a loaded machine. Only a hang exceeds it.
const CALL_BOUND: Duration = Duration::from_secs(15);

fn engine(url: &str) -> Engine {
    let clock = ManualClock::new(T0);
    let config = Config::new("").clock(Arc::new(clock)).reaper_interval(None);
    Engine::open_url(url, config).expect("open")
}

/// Repeats `visit` until it succeeds (at most `FAILOVER_WITHIN`): every
/// failure must be `Unavailable` and end within `CALL_BOUND`. Returns the
/// time until success, the failed calls and the longest failed call.
fn until_served(engine: &Engine, key: &str) -> (Duration, usize, Duration) {
    let start = Instant::now();
    let mut failed = 0;
    let mut longest = Duration::ZERO;
    loop {
        let t = Instant::now();
        match visit(engine, key) {
            Ok(_) => return (start.elapsed(), failed, longest),
            Err(Error::Unavailable { .. }) => {
                failed += 1;
                longest = longest.max(t.elapsed());
                assert!(
                    t.elapsed() < CALL_BOUND,
                    "a call took {:?} to fail",
                    t.elapsed()
                );
            }
            Err(e) => panic!("during the failover, expected Unavailable, got {e:?}"),
        }
        assert!(
            start.elapsed() < FAILOVER_WITHIN,
            "the store did not follow the failover within {FAILOVER_WITHIN:?} \
             ({failed} calls failed)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_master_is_replaced_and_no_acknowledged_session_is_lost() {
    let mut set = SentinelSet::start();
    set.wait_until_failover_ready(READY_WITHIN);
    let url = set.url_with("?connect_timeout_ms=300&timeout_ms=500");
    // These writes wait for the replica (`wait=1`): acknowledged means
    // replicated. (After the failover the new master has no replica left,
    // so the engine that runs through it does not wait.)
    let acked = engine(&format!("{url}&wait=1&timeout_ms=2000"));
    let keys: Vec<String> = (0..50)
        .map(|i| saved_session(&acked, &[("n", i)]))
        .collect();
    // A logout, acknowledged once replicated too.
    let logged_out = saved_session(&acked, &[("user", 7)]);
    acked.session(&logged_out).delete().unwrap();
    let engine = engine(&url);
    let busy = keys[0].clone();
    assert_eq!(visit(&engine, &busy).unwrap(), 1);
    let old = set.master.port();

    set.master.stop();
    let (took, failed, longest) = until_served(&engine, &busy);
    let named = set.masters_named();
    println!(
        "sentinel failover after killing the master: calls served again after {took:?}; \
         {failed} calls failed meanwhile, all Unavailable, the longest in {longest:?}; \
         master {old} -> {}, as the sentinels name it then: {named:?}",
        set.replica.port()
    );
    // The replica is the master; a sentinel that has not heard yet still
    // names the dead one, and the store asked the next.
    assert!(named.contains(&Some(set.replica.port())), "{named:?}");
    set.wait_until_all_name(set.replica.port(), READY_WITHIN);
    // Every write waited for the replica: none was lost.
    for (i, key) in keys.iter().enumerate() {
        let n = engine.session(key).get::<i64>("n").unwrap();
        assert_eq!(n, Some(i as i64), "session {i} was lost in the failover");
    }
    assert!(!engine.exists(&logged_out).unwrap(), "a logout was undone");
    assert_eq!(visit(&engine, &busy).unwrap(), 3);
    let fresh = saved_session(&engine, &[("after", 1)]);
    assert_eq!(engine.session(&fresh).get::<i64>("after").unwrap(), Some(1));
}

#[test]
fn a_planned_switchover_is_followed() {
    let set = SentinelSet::start();
    set.wait_until_failover_ready(READY_WITHIN);
    let engine = engine(&set.url_with("?connect_timeout_ms=300&timeout_ms=500"));
    let key = saved_session(&engine, &[("a", 1)]);
    for _ in 0..4 {
        visit(&engine, &key).unwrap();
    }
    // Several pooled connections to the master that is about to be demoted.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| engine.session(&key).get::<i64>("visits").unwrap());
        }
    });
    let old = set.master.port();
    let _: () = query(
        set.sentinels[0].port(),
        redis::cmd("SENTINEL").arg("FAILOVER").arg(MASTER),
    )
    .unwrap();
    // The sentinels promote the replica, then make the old master its
    // replica. (A write that reaches the old master in between is lost
    // when it resyncs: docs/OPERATIONS.md; `wait=1` turns that into an
    // error.)
    let started = Instant::now();
    let deadline = started + FAILOVER_WITHIN;
    loop {
        let demoted = query::<String>(old, redis::cmd("INFO").arg("replication"))
            .is_ok_and(|i| i.contains("role:slave") && i.contains("master_link_status:up"));
        if demoted && set.masters_named().contains(&Some(set.replica.port())) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SENTINEL FAILOVER did not happen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "SENTINEL FAILOVER: new master named and the old one resynced as its replica \
         after {:?}",
        started.elapsed()
    );
    // The pooled connections go to the old master, now a replica: the
    // first write through one is refused (READONLY) or finds it closed,
    // the pool is emptied, and every call from then on goes to the new
    // master.
    let before = engine.session(&key).get::<i64>("visits").unwrap();
    assert_eq!(before, Some(4));
    for _ in 0..8 {
        visit(&engine, &key).unwrap();
    }
    assert_eq!(
        engine.session(&key).get::<i64>("visits").unwrap(),
        Some(4 + 8)
    );
}

#[test]
fn sentinel_url_mistakes_are_clear_errors() {
    let set = SentinelSet::start();
    let wrong_name = set.url_with("").replace(MASTER, "nosuchmaster");
    match Engine::open_url(&wrong_name, Config::new("")) {
        Err(e @ Error::InvalidConfig(_)) => {
            assert!(e.to_string().contains("nosuchmaster"), "{e}")
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let no_name = format!("redis+sentinel://127.0.0.1:{}", set.sentinels[0].port());
    assert!(matches!(
        Engine::open_url(&no_name, Config::new("")),
        Err(Error::InvalidConfig(_))
    ));
    drop(set);
    assert!(matches!(
        Engine::open_url(&wrong_name, Config::new("")),
        Err(Error::Unavailable { .. })
    ));
}
