//! The owner index on the Redis store (a hash per owner from its session
//! keys to their filing times, src/store/redis/mod.rs), on redis-servers
//! the tests start
//! (tests/common/redis.rs). Guards that
//! - the scenarios of tests/owners.rs (tests/common/owners.rs) hold on one
//!   server: three devices log in and the third signs the other two out,
//!   a request in flight cannot save an ended session back, only a change
//!   of owner writes to the index, `cycle_key` moves the entry, a sweep
//!   drops it with the session;
//! - sign-out, a request in flight and the rebuild hold on a cluster of
//!   three masters, where an owner's hash and its sessions live on
//!   different masters;
//! - the owner hashes and the owner key are never listed, counted, swept
//!   or exported as sessions, and deleting every session leaves no hash;
//! - a session kept alive by use keeps its owner's hash, and its entry in
//!   it, alive;
//! - a member whose record Redis expired (or anyone deleted), or that
//!   names another owner now, is dropped by the next listing once it was
//!   filed ten minutes before; a filing younger than that (a writer whose
//!   record has not landed yet) is skipped and kept, so the record that
//!   lands next is listed;
//! - a logout keeps a filing younger than ten minutes (a login racing it
//!   may have made it), and no listing shows it; racing logins, logouts and
//!   listings lose no entry;
//! - a save that lost a race files by the owner of the record that won;
//! - the server remembers its owner key for a process opened without it,
//!   another key rebuilds the sets from the stored sessions, and a process
//!   that finds another one switched to its key since it opened follows
//!   without rebuilding again.
#![cfg(feature = "redis")]

mod common;

use std::sync::Arc;

use common::owners::*;
use common::redis::cluster::Cluster;
use common::redis::RedisServer;
use common::T0;
use sessile::{
    Config, Engine, Error, ManualClock, OwnerKey, RedisOptions, RedisStore, SessionKey, Store,
};

/// An engine on `url` with a manual clock, no reaper, and what `f` sets.
fn engine_on(url: &str, f: impl FnOnce(Config) -> Config) -> (Engine, ManualClock) {
    let clock = ManualClock::new(T0);
    let config = f(Config::new("")
        .clock(Arc::new(clock.clone()))
        .reaper_interval(None));
    (Engine::open_url(url, config).expect("open"), clock)
}

/// An engine keeping the owner index by [`OWNER`] on a server of its own.
fn indexed(f: impl FnOnce(Config) -> Config) -> (Engine, ManualClock, RedisServer) {
    let server = RedisServer::start();
    let (engine, clock) = engine_on(&server.url(), |c| f(c.owner_key(OWNER)));
    (engine, clock, server)
}

/// A plain Redis connection, to look at what the store wrote.
fn raw(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn query<T: redis::FromRedisValue>(con: &mut redis::Connection, cmd: &mut redis::Cmd) -> T {
    cmd.query(con).unwrap()
}

/// How long a filing is kept against a judgement made after it
/// (`OWNER_GRACE_MS` in src/store/redis/mod.rs), and a second more.
const PAST_GRACE_S: i64 = 601;

/// The members of `owner`'s hash, sorted.
fn members(con: &mut redis::Connection, owner: &str) -> Vec<String> {
    let mut m: Vec<String> = query(
        con,
        redis::cmd("HKEYS").arg(format!("sessile:owner:{owner}")),
    );
    m.sort();
    m
}

#[test]
fn sign_out_other_devices_on_redis() {
    sign_out_other_devices(&indexed(|c| c).0);
}

#[test]
fn a_request_in_flight_cannot_save_an_ended_session_back_on_redis() {
    a_request_in_flight_cannot_save_an_ended_session_back(&indexed(|c| c).0);
}

#[test]
fn only_a_change_of_owner_writes_the_owner_index_on_redis() {
    let (e, clock, _server) = indexed(|c| c);
    only_a_change_of_owner_writes_the_owner_index(&e, &clock);
}

#[test]
fn cycle_key_carries_the_owner_to_the_new_key_on_redis() {
    let (e, _, server) = indexed(|c| c);
    cycle_key_carries_the_owner_to_the_new_key(&e);
    // And the old key left the set (not only the listing).
    let listed = keys_of(&e, "42");
    assert_eq!(members(&mut raw(&server), "42"), listed);
}

#[test]
fn expired_sessions_are_not_listed_and_the_sweep_drops_their_entries_on_redis() {
    let (e, clock, _server) = indexed(|c| c.cookie_age(60));
    expired_sessions_are_not_listed_and_the_sweep_drops_their_entries(&e, &clock);
}

#[test]
fn integers_and_nested_paths_name_owners_on_redis() {
    let server = RedisServer::start();
    let (e, _) = engine_on(&server.url(), |c| c.owner_key("passport.user"));
    integers_and_nested_paths_name_owners(&e);
}

#[test]
fn owner_sets_are_never_listed_counted_swept_or_exported() {
    let (e, clock, server) = indexed(|c| c);
    let mut con = raw(&server);
    for user in ["42", "42", "7"] {
        log_in(&e, user);
    }
    let anonymous = common::saved_session(&e, &[("a", 1)]);
    let kind: String = query(&mut con, redis::cmd("TYPE").arg("sessile:owner:42"));
    assert_eq!(kind, "hash");
    let key: String = query(&mut con, redis::cmd("GET").arg("sessile:owner-key"));
    assert_eq!(key, OWNER);

    let store = e.store();
    assert_eq!(store.len().unwrap(), 4);
    assert_eq!(store.scan(None, 100).unwrap().len(), 4);
    let mut walked = Vec::new();
    store
        .walk(None, &mut |k, _| {
            walked.push(String::from_utf8(k).unwrap());
            Ok(true)
        })
        .unwrap();
    assert_eq!(walked.len(), 4);
    assert!(walked.iter().all(|k| SessionKey::parse(k).is_ok()));
    assert!(walked.contains(&anonymous));
    let mut listed = 0;
    e.for_each_session::<Error>(None, |_, _| {
        listed += 1;
        Ok(true)
    })
    .unwrap();
    assert_eq!(listed, 4);
    clock.advance_secs(3600);
    assert_eq!(e.clear_expired().unwrap(), 0);
    assert_eq!(members(&mut con, "42").len(), 2);

    #[cfg(feature = "cli")]
    {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sessile"))
            .args(["export", "--db", &server.url(), "-"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    }

    // Every session deleted: the hashes went with their last members; the
    // owner key stays, for the processes that open the store later.
    assert_eq!(e.delete_all().unwrap(), 4);
    let left: Vec<String> = query(&mut con, redis::cmd("KEYS").arg("sessile:*"));
    assert_eq!(left, vec!["sessile:owner-key".to_owned()]);
}

#[test]
fn a_session_kept_alive_by_use_keeps_its_owner_hash_and_entry() {
    let (e, clock, server) = indexed(|c| c);
    let mut con = raw(&server);
    let key = log_in(&e, "42");
    let set = "sessile:owner:42";
    let pttl =
        |con: &mut redis::Connection, k: &str| -> i64 { query(con, redis::cmd("PTTL").arg(k)) };
    // Kept an hour past the record at least.
    let record = format!("sessile:{key}");
    assert!(pttl(&mut con, set) > pttl(&mut con, &record) + 3_500_000);

    // Saves whose deadline stays within the hour write only the record.
    let writes = e.stats().owner_writes;
    clock.advance_secs(600);
    common::visit(&e, &key).unwrap();
    assert_eq!(e.stats().owner_writes, writes);

    // Time passes on the server (the manual clock does not move its
    // TTLs): the hash is about to expire, and its entry was lost. A save
    // whose deadline enters another hour extends the hash past the record
    // again, and files the key again.
    let _: () = query(&mut con, redis::cmd("HSET").arg(set).arg("x").arg(0));
    let _: () = query(&mut con, redis::cmd("HDEL").arg(set).arg(&key));
    let _: () = query(&mut con, redis::cmd("PEXPIRE").arg(set).arg(60_000));
    clock.advance_secs(3600);
    common::visit(&e, &key).unwrap();
    assert_eq!(e.stats().owner_writes, writes + 1);
    assert!(pttl(&mut con, set) > pttl(&mut con, &record) + 3_500_000);
    assert_eq!(keys_of(&e, "42"), vec![key]);
}

#[test]
fn the_listing_drops_members_whose_record_is_gone_or_names_another_owner() {
    let (e, clock, server) = indexed(|c| c);
    let mut con = raw(&server);
    let kept = log_in(&e, "42");
    let expired = log_in(&e, "42");
    let other = log_in(&e, "7");
    // As Redis does when a record's TTL runs out: the set is not told.
    let _: () = query(
        &mut con,
        redis::cmd("DEL").arg(format!("sessile:{expired}")),
    );
    // Members no write of this store makes: another owner's session, and
    // something that is not a session key.
    let _: () = query(
        &mut con,
        redis::cmd("HSET")
            .arg("sessile:owner:42")
            .arg(&other)
            .arg(T0)
            .arg("not a key")
            .arg(T0),
    );
    assert_eq!(members(&mut con, "42").len(), 4);
    // Filed just now: skipped, and kept.
    assert_eq!(keys_of(&e, "42"), vec![kept.clone()]);
    assert_eq!(members(&mut con, "42").len(), 4);
    // Ten minutes on: removed.
    clock.advance_secs(PAST_GRACE_S);
    let writes = e.stats().owner_writes;
    assert_eq!(keys_of(&e, "42"), vec![kept.clone()]);
    assert_eq!(e.stats().owner_writes, writes + 3);
    assert_eq!(members(&mut con, "42"), vec![kept]);
    assert_eq!(keys_of(&e, "7"), vec![other]);
}

/// The race the grace is for: a writer has filed a session in its new
/// owner's hash and not yet written the record that names that owner when
/// a listing reads the record. Played with raw commands at the two
/// writer's steps, the listing between them.
#[test]
fn a_listing_between_a_writer_s_filing_and_its_record_keeps_the_filing() {
    let (e, clock, server) = indexed(|c| c);
    let mut con = raw(&server);
    let a = log_in(&e, "42");
    let b = common::saved_session(&e, &[("a", 1)]);
    // The writer's filing, by the engine's clock...
    let _: () = query(
        &mut con,
        redis::cmd("HSET").arg("sessile:owner:42").arg(&b).arg(T0),
    );
    // ...a listing, which finds b's record naming nobody...
    assert_eq!(keys_of(&e, "42"), vec![a.clone()]);
    // ...then the writer's record (a's bytes: a record holds no key).
    let bytes: Vec<u8> = query(&mut con, redis::cmd("GET").arg(format!("sessile:{a}")));
    let _: () = query(
        &mut con,
        redis::cmd("SET").arg(format!("sessile:{b}")).arg(bytes),
    );
    assert_eq!(keys_of(&e, "42"), sorted(vec![a.clone(), b.clone()]));
    // A password change now finds and ends both.
    clock.advance_secs(PAST_GRACE_S);
    assert_eq!(e.end_sessions_of("42", None).unwrap(), 2);
    assert!(members(&mut con, "42").is_empty());
}

/// With removals taken at once (no grace), this lost entries within a few
/// hundred rounds: a logout's removal landed after a racing login's filing.
#[test]
fn racing_logins_logouts_and_listings_lose_no_entry_on_redis() {
    racing_logins_logouts_and_listings_lose_no_entry(&indexed(|c| c).0);
}

#[test]
fn a_logout_keeps_a_fresh_filing_that_no_listing_shows() {
    let (e, clock, server) = indexed(|c| c);
    let mut con = raw(&server);
    let key = log_in(&e, "42");
    // Logged out in place within ten minutes of the login: the filing may
    // be a racing login's, so it stays; no listing shows the session.
    clock.advance_secs(60);
    let mut logout = request(&e, Some(&key));
    logout.remove(OWNER).unwrap();
    finish(&e, &mut logout).unwrap();
    assert_eq!(members(&mut con, "42"), vec![key.clone()]);
    assert!(keys_of(&e, "42").is_empty());
    assert_eq!(e.end_sessions_of("42", None).unwrap(), 0);
    assert!(e
        .store()
        .load(&SessionKey::parse(&key).unwrap(), T0 + 60_000)
        .unwrap()
        .is_some());
    // Logged in and out again later: the old filing goes.
    let mut login = request(&e, Some(&key));
    login.insert(OWNER, "42").unwrap();
    finish(&e, &mut login).unwrap();
    clock.advance_secs(PAST_GRACE_S);
    let mut logout = request(&e, Some(&key));
    logout.remove(OWNER).unwrap();
    finish(&e, &mut logout).unwrap();
    assert!(members(&mut con, "42").is_empty());
}

#[test]
fn a_save_that_lost_a_race_files_by_the_winner_s_owner() {
    let (e, clock, server) = indexed(|c| c);
    let mut con = raw(&server);
    let key = common::saved_session(&e, &[("a", 1)]);

    // Read anonymous; meanwhile another request logs the session in.
    let mut late = request(&e, Some(&key));
    assert_eq!(late.get::<i64>("a").unwrap(), Some(1));
    let mut login = request(&e, Some(&key));
    login.insert(OWNER, "42").unwrap();
    finish(&e, &mut login).unwrap();
    late.insert("x", 1).unwrap();
    finish(&e, &mut late).unwrap();
    assert_eq!(user_of(&e, &key).as_deref(), Some("42"));
    assert_eq!(members(&mut con, "42"), vec![key.clone()]);

    // Ten minutes on (a logout keeps a younger filing), read logged in;
    // meanwhile another request logs it out (removes the user id).
    clock.advance_secs(PAST_GRACE_S);
    let mut late = request(&e, Some(&key));
    assert_eq!(late.get::<String>(OWNER).unwrap().as_deref(), Some("42"));
    let mut logout = request(&e, Some(&key));
    logout.remove(OWNER).unwrap();
    finish(&e, &mut logout).unwrap();
    late.insert("y", 1).unwrap();
    finish(&e, &mut late).unwrap();
    assert_eq!(user_of(&e, &key), None);
    assert!(members(&mut con, "42").is_empty());
    assert!(e.sessions_of("42").unwrap().is_empty());
    // The login and the logout: the late saves wrote nothing to the index.
    assert_eq!(e.stats().owner_writes, 2);
}

#[test]
fn the_server_remembers_its_owner_key_and_rebuilds_for_another() {
    let server = RedisServer::start();
    let url = server.url();
    let mut con = raw(&server);
    let (plain, clock) = engine_on(&url, |c| c);
    assert_eq!(plain.owner_key(), None);
    let (a, b) = sessions_before_any_owner_key(&plain);
    drop(plain);
    let open = |owner: Option<&str>| {
        let config = Config::new("")
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None);
        let config = match owner {
            Some(o) => config.owner_key(o),
            None => config,
        };
        Engine::open_url(&url, config).unwrap()
    };

    let e = open(Some(OWNER));
    assert_eq!(
        keys_of(&e, "42"),
        vec![a.clone()],
        "built from the stored sessions"
    );
    // Kept past the record it was built from.
    let set_ttl: i64 = query(&mut con, redis::cmd("PTTL").arg("sessile:owner:42"));
    let rec_ttl: i64 = query(&mut con, redis::cmd("PTTL").arg(format!("sessile:{a}")));
    assert!(set_ttl > rec_ttl + 3_500_000, "{set_ttl} {rec_ttl}");
    drop(e);

    // Opened without the setting, the store keeps the index by its key.
    let e = open(None);
    assert_eq!(e.owner_key().unwrap().as_str(), OWNER);
    let c = log_in(&e, "42");
    assert_eq!(keys_of(&e, "42"), sorted(vec![a.clone(), c.clone()]));
    drop(e);

    // Another key: the old sets are deleted and the new ones built.
    let e = open(Some("uid"));
    assert_eq!(keys_of(&e, "42"), vec![b.clone()]);
    assert_eq!(members(&mut con, "42"), vec![b]);
    let key: String = query(&mut con, redis::cmd("GET").arg("sessile:owner-key"));
    assert_eq!(key, "uid");
}

#[test]
fn a_store_opened_before_another_process_switched_keys_follows_without_a_rebuild() {
    let server = RedisServer::start();
    let (plain, _) = engine_on(&server.url(), |c| c);
    let a = log_in(&plain, "42");
    let opts = RedisOptions::default();
    let early = RedisStore::open(&server.url(), &opts).unwrap();
    let first = RedisStore::open(&server.url(), &opts).unwrap();
    let key = OwnerKey::parse(OWNER).unwrap();
    assert!(first.index_owners(&key).unwrap());
    assert_eq!(first.stats().owner_writes, 1, "rebuilt: one session filed");
    assert_eq!(early.owner_key(), None, "read at open");
    assert!(early.index_owners(&key).unwrap());
    assert_eq!(early.stats().owner_writes, 0, "not rebuilt again");
    assert_eq!(early.owner_key(), Some(key));
    let found = early.owned_by(b"42", T0).unwrap().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0.as_str(), a);
}

/// An engine keeping the owner index by [`OWNER`] on the shared cluster,
/// under a prefix of its own.
fn on_cluster(f: impl FnOnce(Config) -> Config) -> (Engine, ManualClock, Arc<Cluster>, String) {
    let (cluster, prefix) = Cluster::shared();
    let url = cluster.url_with(&format!("?prefix={prefix}"));
    let (engine, clock) = engine_on(&url, f);
    (engine, clock, cluster, url)
}

#[test]
fn sign_out_other_devices_on_a_cluster() {
    let (e, _, _cluster, _) = on_cluster(|c| c.owner_key(OWNER));
    sign_out_other_devices(&e);
}

#[test]
fn a_request_in_flight_cannot_save_an_ended_session_back_on_a_cluster() {
    let (e, _, _cluster, _) = on_cluster(|c| c.owner_key(OWNER));
    a_request_in_flight_cannot_save_an_ended_session_back(&e);
}

#[test]
fn racing_logins_logouts_and_listings_lose_no_entry_on_a_cluster() {
    let (e, _, _cluster, _) = on_cluster(|c| c.owner_key(OWNER));
    racing_logins_logouts_and_listings_lose_no_entry(&e);
}

#[test]
fn the_rebuild_reads_and_clears_every_master_of_a_cluster() {
    let (plain, clock, cluster, url) = on_cluster(|c| c);
    // Enough users that their sessions and sets spread over the masters.
    let users: Vec<String> = (0..30).map(|u| u.to_string()).collect();
    let keys: Vec<String> = users.iter().map(|u| log_in(&plain, u)).collect();
    drop(plain);
    let open = |owner: &str| {
        let config = Config::new("")
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None)
            .owner_key(owner);
        Engine::open_url(&url, config).unwrap()
    };
    let e = open(OWNER);
    for (user, key) in users.iter().zip(&keys) {
        assert_eq!(&keys_of(&e, user), &vec![key.clone()]);
    }
    let (_, prefix) = url.split_once("prefix=").unwrap();
    let sets_on = |pattern: &str| -> usize {
        cluster
            .masters()
            .iter()
            .map(|&m| {
                let keys: Vec<String> = cluster
                    .query(m, redis::cmd("KEYS").arg(format!("{prefix}{pattern}")))
                    .unwrap();
                keys.len()
            })
            .sum()
    };
    assert_eq!(sets_on("owner:*"), users.len());
    assert_eq!(e.store().len().unwrap(), users.len());
    drop(e);

    // Another key that no session has: every set goes, on every master.
    let e = open("uid");
    assert_eq!(sets_on("owner:*"), 0);
    assert!(e.sessions_of("0").unwrap().is_empty());
    assert_eq!(e.store().len().unwrap(), users.len());
}
