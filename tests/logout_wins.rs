//! A logout in another tab ends the session for good, also when the tab
//! still holding it cycles its key (a login, against session fixation):
//! `cycle_key` of a session deleted after it was loaded fails with
//! `SessionDeleted`, as a save does, and the data never reaches a new key.
//! Before the fix the copy under the new key brought a logged-out user
//! back. Run on the sled, memory and Redis stores; a store wrapper puts the
//! logout between the copy and the end of the old key, the narrowest gap.
//! And a key cycle keeps what another request saved meanwhile, as a save
//! does.

mod common;

use std::sync::Arc;

use common::{config, memory_with, saved_session, sled, CountingStore, T0};
use sessile::{Engine, Error, ManualClock, SessionKey, Store};

/// The steps: log in; tab A begins a request and reads; tab B logs
/// out; tab A cycles the key. Nothing may come back.
fn logout_in_another_tab_is_not_undone_by_cycle_key(engine: &Engine) {
    let mut login = engine.begin_request(None);
    login.insert("user_id", 42).unwrap();
    let cookie = engine
        .end_request(&mut login, 200)
        .unwrap()
        .set_cookie
        .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let key = login.session_key().unwrap().to_owned();

    let mut tab_a = engine.begin_request(Some(&cookie));
    assert_eq!(tab_a.get::<i64>("user_id").unwrap(), Some(42));

    let mut tab_b = engine.begin_request(Some(&cookie));
    tab_b.flush().unwrap();
    let out = engine.end_request(&mut tab_b, 200).unwrap();
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    assert!(engine.store().is_empty().unwrap());

    assert!(matches!(tab_a.cycle_key(), Err(Error::SessionDeleted)));
    assert_eq!(tab_a.session_key(), Some(key.as_str()));
    // The view goes on (a login writes the user); ending the request does
    // not bring the session back either.
    tab_a.insert("user_id", 42).unwrap();
    assert!(matches!(
        engine.end_request(&mut tab_a, 200),
        Err(Error::SessionDeleted)
    ));
    assert!(engine.store().is_empty().unwrap(), "a session came back");
    let mut later = engine.begin_request(Some(&cookie));
    assert_eq!(later.get::<i64>("user_id").unwrap(), None);
}

#[test]
fn logout_wins_over_cycle_key_on_sled() {
    logout_in_another_tab_is_not_undone_by_cycle_key(&sled().engine);
}

#[test]
fn logout_wins_over_cycle_key_in_memory() {
    logout_in_another_tab_is_not_undone_by_cycle_key(&memory_with(|c| c).engine);
}

#[cfg(feature = "redis")]
#[test]
fn logout_wins_over_cycle_key_on_redis() {
    let server = common::redis::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let engine = Engine::open_url(&server.url(), config(&dir, &clock)).unwrap();
    logout_in_another_tab_is_not_undone_by_cycle_key(&engine);
}

#[test]
fn a_logout_between_the_copy_and_the_end_of_the_old_key_wins() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let store = Arc::new(CountingStore::default());
    let engine = Engine::with_store(config(&dir, &clock), store.clone()).unwrap();
    let key = saved_session(&engine, &[("user_id", 42)]);

    let mut tab_a = engine.session(&key);
    assert_eq!(tab_a.get::<i64>("user_id").unwrap(), Some(42));
    *store.delete_before_next_create.lock().unwrap() = Some(SessionKey::parse(&key).unwrap());
    assert!(matches!(tab_a.cycle_key(), Err(Error::SessionDeleted)));
    assert!(store.delete_before_next_create.lock().unwrap().is_none());
    assert_eq!(tab_a.session_key(), Some(key.as_str()));
    assert!(
        store.is_empty().unwrap(),
        "the copy under the new key stayed"
    );
}

#[test]
fn cycle_key_keeps_what_another_request_saved_meanwhile() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let mut tab_a = f.engine.session(&key);
    assert_eq!(tab_a.get::<i64>("a").unwrap(), Some(1));
    let mut tab_b = f.engine.session(&key);
    tab_b.insert("b", 2).unwrap();
    tab_b.save().unwrap();

    tab_a.insert("c", 3).unwrap();
    tab_a.cycle_key().unwrap();
    let new = tab_a.session_key().unwrap().to_owned();
    assert_ne!(new, key);
    assert!(!f.engine.exists(&key).unwrap(), "the old key still works");
    let mut items = tab_a.items().unwrap();
    items.sort_by(|x, y| x.0.cmp(&y.0));
    let names: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let mut fresh = f.engine.session(&new);
    assert_eq!(fresh.get::<i64>("b").unwrap(), Some(2));
    assert_eq!(fresh.get::<i64>("c").unwrap(), Some(3));
}
