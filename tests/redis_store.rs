//! The Redis store beyond the conformance suite: what sharing one store
//! between processes must guarantee, and how it behaves when Redis does
//! not.
//! - four processes saving different keys into one session at once lose
//!   none of them (the WATCH/MULTI retry, across processes);
//! - a server that goes away gives a clear `Unavailable` error quickly, not
//!   a hang, and the same engine works again once it is back;
//! - records are the sled store's bytes, carry a Redis TTL of the time left,
//!   and live under the configured prefix only;
//! - `Engine::open_url` picks the store from the URL;
//! - a forked child gets `Forked` instead of talking on its parent's
//!   sockets.
//!
//! Every test starts its own redis-server (tests/common/redis.rs).
#![cfg(feature = "redis")]

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::redis::RedisServer;
use common::{saved_session, T0};
use sessile::{
    decode_data, Config, Engine, Error, ManualClock, Record, RedisOptions, RedisStore, SessionKey,
    Store, Value,
};

/// An engine on `url` with a manual clock and no reaper.
fn engine(url: &str) -> (Engine, ManualClock) {
    let clock = ManualClock::new(T0);
    let config = Config::new("")
        .clock(Arc::new(clock.clone()))
        .reaper_interval(None);
    (Engine::open_url(url, config).expect("open"), clock)
}

/// A plain Redis connection, to look at what the store wrote.
fn raw(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

const CHILD_SAVES: usize = 25;

/// The child of `four_processes_saving_one_session_keep_every_key`: saves
/// `CHILD_SAVES` keys of its own into the shared session, one save each.
#[test]
#[ignore]
fn parallel_saver_child() {
    let Ok(url) = std::env::var("SESSILE_REDIS_CHILD_URL") else {
        return;
    };
    let key = std::env::var("SESSILE_REDIS_CHILD_KEY").unwrap();
    let id = std::env::var("SESSILE_REDIS_CHILD_ID").unwrap();
    let engine = Engine::open_url(&url, Config::new("")).unwrap();
    // Start together, so the saves really overlap.
    let mut go = [0u8; 1];
    std::io::stdin().read_exact(&mut go).unwrap();
    for i in 0..CHILD_SAVES {
        let mut s = engine.session(&key);
        s.insert(&format!("p{id}-{i}"), i as i64).unwrap();
        s.save().unwrap();
    }
}

#[test]
fn four_processes_saving_one_session_keep_every_key() {
    let server = RedisServer::start();
    // The system clock, as in the children.
    let engine = Engine::open_url(&server.url(), Config::new("")).unwrap();
    let key = saved_session(&engine, &[("start", 1)]);
    let mut children: Vec<_> = (0..4)
        .map(|id| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "parallel_saver_child",
                    "--nocapture",
                ])
                .env("SESSILE_REDIS_CHILD_URL", server.url())
                .env("SESSILE_REDIS_CHILD_KEY", &key)
                .env("SESSILE_REDIS_CHILD_ID", id.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in &mut children {
        c.stdin.take().unwrap().write_all(b"g").unwrap();
    }
    for c in &mut children {
        assert!(c.wait().unwrap().success(), "a saver process failed");
    }
    let rec = engine
        .store()
        .load(&SessionKey::parse(&key).unwrap(), engine.now_ms())
        .unwrap()
        .unwrap();
    let data = decode_data(rec.data()).unwrap();
    for id in 0..4 {
        for i in 0..CHILD_SAVES {
            assert_eq!(
                data.get(&format!("p{id}-{i}")),
                Some(&Value::from(i as i64)),
                "process {id}'s save {i} was lost"
            );
        }
    }
    assert_eq!(data.len(), 1 + 4 * CHILD_SAVES);
}

#[test]
fn a_restarted_server_gives_clear_errors_then_recovers() {
    let mut server = RedisServer::start();
    let url = server.url_with("?connect_timeout_ms=300&timeout_ms=500");
    let (engine, _) = engine(&url);
    let key = saved_session(&engine, &[("a", 1)]);

    server.stop();
    let mut s = engine.session(&key);
    match s.get::<i64>("a") {
        Err(Error::Unavailable { store, .. }) => {
            assert_eq!(store, format!("redis://127.0.0.1:{}/0", server.port()))
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let mut s = engine.new_session();
    s.insert("b", 2).unwrap();
    assert!(matches!(s.save(), Err(Error::Unavailable { .. })));
    assert!(matches!(
        engine.exists(&key),
        Err(Error::Unavailable { .. })
    ));

    // Back, empty (persistence is off): the same engine works again, on
    // fresh connections, without being reopened.
    server.restart();
    assert!(!engine.exists(&key).unwrap());
    let again = saved_session(&engine, &[("c", 3)]);
    assert_eq!(engine.session(&again).get::<i64>("c").unwrap(), Some(3));
}

#[test]
fn an_unreachable_server_is_a_clear_error_at_open() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    match Engine::open_url(&url, Config::new("")) {
        Err(e @ Error::Unavailable { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("unavailable") && msg.contains(&url), "{msg}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn records_are_the_sled_format_with_a_ttl_of_the_time_left() {
    let server = RedisServer::start();
    let (engine, clock) = engine(&server.url_with("?prefix=app:"));
    let mut s = engine.new_session();
    s.insert("user", 42).unwrap();
    s.set_expiry(sessile::Expiry::seconds(600)).unwrap();
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();

    let mut con = raw(&server);
    let bytes: Vec<u8> = redis::cmd("GET")
        .arg(format!("app:{key}"))
        .query(&mut con)
        .unwrap();
    let rec = Record::decode(&bytes).unwrap();
    assert_eq!(rec.header().expires_at_ms, T0 + 600_000);
    assert_eq!(decode_data(rec.data()).unwrap()["user"], Value::from(42));
    // The TTL is the time left by the engine's clock (a manual one here,
    // far from the server's): 600 s, less the moments the test took.
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("app:{key}"))
        .query(&mut con)
        .unwrap();
    assert!((590_000..=600_000).contains(&ttl), "PTTL {ttl}");

    // Sliding expiry: a later save moves the TTL with the deadline.
    clock.advance_secs(300);
    let mut s = engine.session(&key);
    s.insert("n", 1).unwrap();
    s.save().unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("app:{key}"))
        .query(&mut con)
        .unwrap();
    assert!(
        (590_000..=600_000).contains(&ttl),
        "PTTL after a save {ttl}"
    );

    // Expired by the engine's clock: never returned, although Redis still
    // holds it.
    clock.advance_secs(600);
    assert!(!engine.exists(&key).unwrap());
    assert_eq!(engine.session(&key).get::<i64>("user").unwrap(), None);
    assert_eq!(engine.clear_expired().unwrap(), 1);
    let left: i64 = redis::cmd("EXISTS")
        .arg(format!("app:{key}"))
        .query(&mut con)
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn prefixes_keep_applications_apart() {
    let server = RedisServer::start();
    let mut opts = RedisOptions::default();
    opts.prefix = "a:".into();
    let a = RedisStore::open(&server.url(), &opts).unwrap();
    let (b, _) = engine(&server.url_with("?prefix=b:"));
    let key = saved_session(&b, &[("x", 1)]);
    let k = SessionKey::parse(&key).unwrap();
    assert!(b.store().load(&k, T0).unwrap().is_some());
    assert!(a.load(&k, T0).unwrap().is_none());
    assert_eq!(a.len().unwrap(), 0);
    assert_eq!(b.store().len().unwrap(), 1);
    assert_eq!(b.store().scan(None, 10).unwrap()[0].0, key.as_bytes());

    // With no prefix at all, the database's other keys are never listed,
    // counted or swept as damaged sessions.
    let mut con = raw(&server);
    let _: () = redis::cmd("SET")
        .arg("someone-elses-key")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let (bare, _) = engine(&server.url_with("?prefix="));
    assert_eq!(bare.store().len().unwrap(), 0);
    assert_eq!(bare.clear_expired().unwrap(), 0);
    let kept: Option<String> = redis::cmd("GET")
        .arg("someone-elses-key")
        .query(&mut con)
        .unwrap();
    assert_eq!(kept.as_deref(), Some("x"));
}

#[test]
fn open_url_picks_the_store_from_the_url() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let abs = dir.path().join("abs");
    let plain = dir.path().join("plain");
    let urls = [
        format!("sled://{}", abs.display()),
        plain.display().to_string(),
        "memory:".to_owned(),
        server.url(),
    ];
    for url in &urls {
        let e = Engine::open_url(url, Config::new("").reaper_interval(None)).unwrap();
        let key = saved_session(&e, &[("a", 1)]);
        assert_eq!(e.session(&key).get::<i64>("a").unwrap(), Some(1), "{url}");
        e.close().unwrap();
    }
    assert!(abs.join("sessile.lock").exists());
    assert!(plain.join("sessile.lock").exists());
    for bad in ["ftp://host/x", "", "sled://"] {
        assert!(
            matches!(
                Engine::open_url(bad, Config::new("")),
                Err(Error::InvalidConfig(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn a_forked_child_cannot_use_the_parents_connections() {
    let server = RedisServer::start();
    let (engine, _) = engine(&server.url());
    let key = saved_session(&engine, &[("a", 1)]);
    let (mut reader, mut writer) = std::io::pipe().unwrap();

    // SAFETY: the child makes one engine call, which fails on its first
    // line (an atomic load) before taking any lock or touching a socket,
    // writes to a pipe, and leaves with `_exit`, running no destructors.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let verdict: &[u8] = match engine.session(&key).get::<i64>("a") {
            Err(Error::Forked { path }) if path.to_string_lossy().starts_with("redis://") => {
                b"forked"
            }
            Err(_) => b"other-error",
            Ok(_) => b"served",
        };
        let _ = writer.write_all(verdict);
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(0) };
    }
    drop(writer);
    let mut verdict = String::new();
    reader.read_to_string(&mut verdict).unwrap();
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(verdict, "forked");
    // The parent's connections were not disturbed.
    assert_eq!(engine.session(&key).get::<i64>("a").unwrap(), Some(1));
}
