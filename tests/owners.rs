//! "Log out everywhere": the owner index (`Config::owner_key`) finds every
//! session of one user and ends them, as a user would see it over whole
//! requests: three devices log in, the third signs the other two out, they
//! come back anonymous and the third stays logged in. Also guards the
//! index's rules: a save that keeps the owner writes nothing to it, a
//! `cycle_key` carries the owner to the new key, a request in flight
//! cannot save an ended session back, a logout or an expiry drops the
//! entry, racing logins, logouts and listings lose no entry, the database
//! remembers its owner key and rebuilds the index when it changes, and the
//! fallback (a store that keeps no index) finds the
//! same sessions by reading every one. On sled and memory here; the same
//! scenarios (tests/common/owners.rs) run on Redis in tests/redis_owners.rs.

mod common;

use std::sync::Arc;

use common::owners::*;
use common::{config, memory_with, sled_with, CountingStore, Fixture};
use sessile::{Engine, Error, Store};

#[test]
fn sign_out_other_devices_on_sled() {
    sign_out_other_devices(&sled_with(|c| c.owner_key(OWNER)).engine);
}

#[test]
fn sign_out_other_devices_in_memory() {
    sign_out_other_devices(&memory_with(|c| c.owner_key(OWNER)).engine);
}

#[test]
fn sign_out_other_devices_without_an_index_reads_every_session() {
    // A store of its own (CountingStore forwards the Store methods but
    // keeps no owner index): the engine falls back to reading every
    // session, with the same result.
    let f = memory_with(|c| c);
    let counting = Arc::new(CountingStore::default());
    let engine =
        Engine::with_store(config(&f.dir, &f.clock).owner_key(OWNER), counting.clone()).unwrap();
    assert_eq!(counting.owner_key(), None);
    sign_out_other_devices(&engine);
}

#[test]
fn a_request_in_flight_cannot_save_an_ended_session_back_on_sled() {
    a_request_in_flight_cannot_save_an_ended_session_back(
        &sled_with(|c| c.owner_key(OWNER)).engine,
    );
}

#[test]
fn only_a_change_of_owner_writes_the_owner_index_on_sled() {
    let f = sled_with(|c| c.owner_key(OWNER));
    only_a_change_of_owner_writes_the_owner_index(&f.engine, &f.clock);
}

#[test]
fn racing_logins_logouts_and_listings_lose_no_entry_on_sled() {
    racing_logins_logouts_and_listings_lose_no_entry(&sled_with(|c| c.owner_key(OWNER)).engine);
}

#[test]
fn racing_logins_logouts_and_listings_lose_no_entry_in_memory() {
    racing_logins_logouts_and_listings_lose_no_entry(&memory_with(|c| c.owner_key(OWNER)).engine);
}

#[test]
fn cycle_key_carries_the_owner_to_the_new_key_in_memory() {
    cycle_key_carries_the_owner_to_the_new_key(&memory_with(|c| c.owner_key(OWNER)).engine);
}

#[test]
fn expired_sessions_are_not_listed_and_the_sweep_drops_their_entries_on_sled() {
    let f = sled_with(|c| c.owner_key(OWNER).cookie_age(60));
    expired_sessions_are_not_listed_and_the_sweep_drops_their_entries(&f.engine, &f.clock);
}

#[test]
fn integers_and_nested_paths_name_owners_in_memory() {
    integers_and_nested_paths_name_owners(&memory_with(|c| c.owner_key("passport.user")).engine);
}

#[test]
fn the_database_remembers_its_owner_key_and_rebuilds_for_another() {
    let f = sled_with(|c| c.reaper_interval(None));
    let dir = f.dir.path().join("db");
    let plain = f.engine.clone();
    let cfg = |c: sessile::Config| c.reaper_interval(None);
    let (a, b) = sessions_before_any_owner_key(&plain);
    drop(plain);
    let Fixture {
        clock, dir: tmp, ..
    } = f;
    let _ = dir;
    let reopen = |owner: Option<&str>| {
        let mut c = cfg(config(&tmp, &clock));
        if let Some(o) = owner {
            c = c.owner_key(o);
        }
        Engine::open(c).unwrap()
    };
    let e = reopen(Some(OWNER));
    assert_eq!(
        keys_of(&e, "42"),
        vec![a.clone()],
        "built from the stored sessions"
    );
    drop(e);
    // Opened without the setting, the database keeps its index by its key.
    let e = reopen(None);
    assert_eq!(e.owner_key().unwrap().as_str(), OWNER);
    let c = log_in(&e, "42");
    assert_eq!(keys_of(&e, "42"), sorted(vec![a.clone(), c.clone()]));
    drop(e);
    // Another key: rebuilt.
    let e = reopen(Some("uid"));
    assert_eq!(keys_of(&e, "42"), vec![b]);
    assert!(matches!(
        Engine::open(cfg(config(&tmp, &clock)).owner_key("a..b")),
        Err(sessile::OpenError::InvalidConfig(_))
    ));
}

/// A rebuild that stops half way (the process dies while filing every
/// session under a new key) leaves the database remembering no owner key:
/// opened again without the setting it keeps no index rather than a
/// half-built one, and opened with it, it builds the index again.
#[cfg(feature = "internals")]
#[test]
fn a_rebuild_cut_short_is_never_trusted() {
    use sessile::internals::Trees;
    let f = sled_with(|c| c.owner_key(OWNER));
    let e = &f.engine;
    let key = log_in(e, "42");
    // What a rebuild does before it files anything, then the process ends.
    let store = sessile::SledStore::open(
        f.dir.path().join("db"),
        &config(&f.dir, &f.clock).sled_options(),
    )
    .unwrap();
    store.trees().clear_owner_index().unwrap();
    drop(store);
    let Fixture { engine, clock, dir } = f;
    drop(engine);
    let plain = Engine::open(config(&dir, &clock)).unwrap();
    assert_eq!(plain.owner_key(), None);
    assert!(matches!(
        plain.sessions_of("42"),
        Err(Error::InvalidConfig(_))
    ));
    drop(plain);
    let again = Engine::open(config(&dir, &clock).owner_key(OWNER)).unwrap();
    assert_eq!(keys_of(&again, "42"), vec![key]);
}
