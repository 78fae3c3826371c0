//! Round trips to Redis per session operation, counted by a proxy between
//! the store and a redis-server: what one request costs in network waits
//! (the `GET`, `EVALSHA`, … a request makes one after the other; a
//! pipeline is one). Guards the compare-and-set script's saving
//! (src/store/redis/script.rs): creating a session is one round trip,
//! reading one is one, saving a change to one read is one more (`EVALSHA`
//! on the bytes read; it was three with `WATCH`, `GET`, `MULTI SET EXEC`),
//! or two when another process saved meanwhile,
//! sweeping a dead record is one per record after the listing (it was
//! three). With the owner index on (`Config::owner_key`), all of these
//! cost the same as long as the owner does not change; a login costs one
//! more (the key filed in its owner's hash before the record), a logout one
//! more (removed from it after), and listing an owner's sessions two. The
//! figures are printed.
#![cfg(feature = "redis")]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

use common::redis::RedisServer;
use common::T0;
use sessile::{Config, Engine, ManualClock};

/// A TCP proxy in front of a redis-server that counts round trips: a
/// client's bytes that follow a reply (or open the connection) start one.
/// The flag is set before a reply is passed on, so the client cannot send
/// its next request before the proxy knows the reply went through.
struct CountingProxy {
    port: u16,
    trips: Arc<AtomicU64>,
}

impl CountingProxy {
    fn start(upstream: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let trips = Arc::new(AtomicU64::new(0));
        let counter = trips.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                let replied = Arc::new(AtomicBool::new(true));
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (counter, r) = (counter.clone(), replied.clone());
                std::thread::spawn(move || {
                    pump(client, server, |_| {
                        if r.swap(false, SeqCst) {
                            counter.fetch_add(1, SeqCst);
                        }
                    })
                });
                std::thread::spawn(move || pump(s2, c2, |_| replied.store(true, SeqCst)));
            }
        });
        CountingProxy { port, trips }
    }

    /// The round trips counted since the last call.
    fn take(&self) -> u64 {
        self.trips.swap(0, SeqCst)
    }
}

/// Copies `from` to `to`, calling `seen` before passing each chunk on.
fn pump(mut from: TcpStream, mut to: TcpStream, mut seen: impl FnMut(usize)) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                seen(n);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

#[test]
fn each_session_operation_costs_the_round_trips_it_should() {
    let server = RedisServer::start();
    let proxy = CountingProxy::start(server.port());
    let clock = ManualClock::new(T0);
    let engine = Engine::open_url(
        &format!("redis://127.0.0.1:{}/0?pool_size=1", proxy.port),
        Config::new("")
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None)
            .owner_key("uid"),
    )
    .unwrap();
    // Warm up: the pooled connection is open and the server has the
    // scripts cached (a server without one costs one more round trip, once).
    let warm = common::saved_session(&engine, &[("a", 1), ("uid", 1)]);
    let mut s = engine.session(&warm);
    s.insert("b", 2).unwrap();
    s.save().unwrap();
    proxy.take();

    let mut s = engine.new_session();
    s.insert("user", 42).unwrap();
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();
    let create = proxy.take();

    // A request that only reads is not saved (the framework adapters save
    // a session only when it was modified).
    let mut s = engine.session(&key);
    assert_eq!(s.get::<i64>("user").unwrap(), Some(42));
    let read_only = proxy.take();

    let mut s = engine.session(&key);
    let visits = s.get::<i64>("visits").unwrap().unwrap_or(0);
    s.insert("visits", visits + 1).unwrap();
    s.save().unwrap();
    let read_and_change = proxy.take();

    let mut s = engine.session(&key);
    s.insert("blind", 1).unwrap();
    s.save().unwrap();
    let change_unread = proxy.take();

    // Another process saved the session after this request read it: the
    // compare-and-set on what was read fails and hands back the winner,
    // and the change is written onto that.
    let mut s = engine.session(&key);
    assert_eq!(s.get::<i64>("blind").unwrap(), Some(1));
    let mut other = engine.session(&key);
    other.insert("other", 1).unwrap();
    other.save().unwrap();
    proxy.take();
    s.insert("late", 1).unwrap();
    s.save().unwrap();
    let change_raced = proxy.take();
    let mut s = engine.session(&key);
    assert_eq!(s.get::<i64>("other").unwrap(), Some(1));
    assert_eq!(s.get::<i64>("late").unwrap(), Some(1));
    proxy.take();

    engine.session(&key).delete().unwrap();
    let delete = proxy.take();

    // Three dead records: one listing (SCAN), one read of them (MGET), then
    // one compare-and-delete each.
    for _ in 0..3 {
        let mut s = engine.new_session();
        s.insert("x", 1).unwrap();
        s.set_expiry(sessile::Expiry::seconds(60)).unwrap();
        s.save().unwrap();
    }
    clock.advance_secs(120);
    proxy.take();
    engine.clear_expired().unwrap();
    let sweep3 = proxy.take();

    // The owner index: a session logs in (its user id written), is used,
    // its user's sessions are listed, and it logs out.
    let key = common::saved_session(&engine, &[("a", 1)]);
    proxy.take();
    let mut s = engine.session(&key);
    assert_eq!(s.get::<i64>("uid").unwrap(), None);
    s.insert("uid", 42).unwrap();
    s.save().unwrap();
    let log_in = proxy.take();

    let mut s = engine.session(&key);
    let visits = s.get::<i64>("visits").unwrap().unwrap_or(0);
    s.insert("visits", visits + 1).unwrap();
    s.save().unwrap();
    let logged_in_change = proxy.take();

    let mut s = engine.new_session();
    s.insert("uid", 42).unwrap();
    s.save().unwrap();
    let create_logged_in = proxy.take();

    assert_eq!(engine.sessions_of("42").unwrap().len(), 2);
    let sessions_of = proxy.take();

    engine.session(&key).delete().unwrap();
    let log_out = proxy.take();

    println!("round trips to Redis per operation (steady state, one connection):");
    println!("  create a session (new_session, insert, save): {create}");
    println!("  read a session, no change (get):              {read_only}");
    println!("  read and change (get, insert, save):          {read_and_change}");
    println!("  change without reading (insert, save):        {change_unread}");
    println!("  save after another process saved (the save):  {change_raced}");
    println!("  delete:                                       {delete}");
    println!("  clear_expired with 3 dead sessions:           {sweep3}");
    println!("with the owner index (Config::owner_key):");
    println!("  log in (get, insert the user id, save):       {log_in}");
    println!("  read and change a logged-in session:          {logged_in_change}");
    println!("  create a logged-in session:                   {create_logged_in}");
    println!("  sessions_of a user with 2 sessions:           {sessions_of}");
    println!("  log out (delete a logged-in session):         {log_out}");
    assert_eq!(create, 1, "create");
    assert_eq!(read_only, 1, "read only");
    assert_eq!(
        read_and_change, 2,
        "read and change: GET, EVALSHA on what was read"
    );
    assert_eq!(
        change_unread, 2,
        "change unread: GET (save loads), EVALSHA on what was read"
    );
    assert_eq!(
        change_raced, 2,
        "raced save: EVALSHA hands back the winner, EVALSHA onto it"
    );
    assert_eq!(delete, 1, "delete");
    assert_eq!(sweep3, 2 + 3, "sweep: SCAN, MGET, one EVALSHA per record");
    assert_eq!(
        log_in, 3,
        "log in: GET, EVALSHA filing the key in the set, EVALSHA writing the record"
    );
    assert_eq!(
        logged_in_change, 2,
        "a save that keeps the owner: GET, EVALSHA, as without an index"
    );
    assert_eq!(
        create_logged_in, 2,
        "create with an owner: the filing, then the record"
    );
    assert_eq!(sessions_of, 2, "sessions_of: HKEYS, MGET");
    assert_eq!(log_out, 2, "log out: GETDEL, then HDEL");
}
