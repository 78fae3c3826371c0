//! Parallel requests on one session lose nothing: saves carry only the keys
//! each request changed, applied by compare-and-swap, so two requests that
//! write different keys both land (Django, express-session and Flask lose
//! one of them). Same key: the last writer wins. A session deleted meanwhile
//! is not brought back.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::{memory_with, saved_session, sled, Fixture};
use sessile::Error;

fn parallel_saves_keep_both_keys(f: Fixture) {
    for round in 0..100 {
        let key = saved_session(&f.engine, &[("base", round)]);
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = ["left", "right"]
            .into_iter()
            .map(|name| {
                let engine = f.engine.clone();
                let key = key.clone();
                let barrier = barrier.clone();
                thread::spawn(move || {
                    let mut s = engine.session(&key);
                    // Both requests load before either saves.
                    assert_eq!(s.get::<i64>("base").unwrap(), Some(round));
                    barrier.wait();
                    s.insert(name, round).unwrap();
                    s.save().unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let mut s = f.engine.session(&key);
        assert_eq!(s.get::<i64>("left").unwrap(), Some(round), "round {round}");
        assert_eq!(s.get::<i64>("right").unwrap(), Some(round), "round {round}");
        assert_eq!(s.get::<i64>("base").unwrap(), Some(round));
    }
}

#[test]
fn parallel_saves_keep_both_keys_on_sled() {
    parallel_saves_keep_both_keys(sled());
}

#[test]
fn parallel_saves_keep_both_keys_in_memory() {
    parallel_saves_keep_both_keys(memory_with(|c| c));
}

#[test]
fn many_threads_incrementing_their_own_counters_all_land() {
    let f = sled();
    let key = saved_session(&f.engine, &[]);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let engine = f.engine.clone();
            let key = key.clone();
            thread::spawn(move || {
                let name = format!("counter-{t}");
                for _ in 0..50 {
                    let mut s = engine.session(&key);
                    let n = s.get::<i64>(&name).unwrap().unwrap_or(0);
                    s.insert(&name, n + 1).unwrap();
                    s.save().unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut s = f.engine.session(&key);
    for t in 0..8 {
        assert_eq!(s.get::<i64>(&format!("counter-{t}")).unwrap(), Some(50));
    }
}

#[test]
fn same_key_last_writer_wins() {
    let f = sled();
    let key = saved_session(&f.engine, &[("theme", 0)]);
    let mut a = f.engine.session(&key);
    let mut b = f.engine.session(&key);
    a.get::<i64>("theme").unwrap();
    b.get::<i64>("theme").unwrap();
    a.insert("theme", 1).unwrap();
    b.insert("theme", 2).unwrap();
    a.save().unwrap();
    b.save().unwrap();
    assert_eq!(f.engine.session(&key).get::<i64>("theme").unwrap(), Some(2));
}

#[test]
fn a_removal_in_one_request_and_a_write_in_another_both_land() {
    let f = sled();
    let key = saved_session(&f.engine, &[("otp", 1234), ("cart", 1)]);
    let mut a = f.engine.session(&key);
    let mut b = f.engine.session(&key);
    a.get::<i64>("otp").unwrap();
    b.get::<i64>("cart").unwrap();
    a.remove("otp").unwrap();
    b.insert("cart", 2).unwrap();
    a.save().unwrap();
    b.save().unwrap();
    let mut s = f.engine.session(&key);
    assert_eq!(s.get::<i64>("otp").unwrap(), None);
    assert_eq!(s.get::<i64>("cart").unwrap(), Some(2));
}

#[test]
fn logout_in_another_tab_is_not_undone_by_a_late_save() {
    let f = sled();
    for _ in 0..20 {
        let key = saved_session(&f.engine, &[("user", 1)]);
        let mut late = f.engine.session(&key);
        late.get::<i64>("user").unwrap();
        let engine = f.engine.clone();
        let k2 = key.clone();
        thread::spawn(move || engine.session(&k2).flush().unwrap())
            .join()
            .unwrap();
        late.insert("page", 2).unwrap();
        assert!(matches!(late.save(), Err(Error::SessionDeleted)));
        assert!(!f.engine.exists(&key).unwrap());
    }
    assert_eq!(f.engine.store().len().unwrap(), 0);
}
