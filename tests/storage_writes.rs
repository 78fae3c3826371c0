//! The storage model's cost promises, counted rather than timed: a save
//! that only extends the expiry performs exactly one sled write (the lazy
//! index), a new session writes one index entry then one record, and a
//! shortened expiry files one new entry.

mod common;

use common::{saved_session, sled};
use sessile::{Expiry, StoreStats};

fn diff(before: StoreStats, after: StoreStats) -> (u64, u64) {
    (
        after.record_writes - before.record_writes,
        after.index_writes - before.index_writes,
    )
}

#[test]
fn a_save_that_only_extends_the_expiry_is_one_write() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    f.clock.advance_secs(60);
    let before = f.engine.stats();
    let mut s = f.engine.session(&key);
    s.save().unwrap();
    assert_eq!(diff(before, f.engine.stats()), (1, 0));
}

#[test]
fn a_save_that_changes_data_and_extends_is_one_write() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    f.clock.advance_secs(60);
    let before = f.engine.stats();
    let mut s = f.engine.session(&key);
    s.insert("b", 2).unwrap();
    s.save().unwrap();
    assert_eq!(diff(before, f.engine.stats()), (1, 0));
}

#[test]
fn a_new_session_is_one_index_entry_and_one_record() {
    let f = sled();
    let before = f.engine.stats();
    saved_session(&f.engine, &[("a", 1)]);
    assert_eq!(diff(before, f.engine.stats()), (1, 1));
}

#[test]
fn shortening_the_expiry_files_one_new_entry() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let before = f.engine.stats();
    let mut s = f.engine.session(&key);
    s.set_expiry(Expiry::seconds(30)).unwrap();
    s.save().unwrap();
    assert_eq!(diff(before, f.engine.stats()), (1, 1));
}

#[test]
fn reading_writes_nothing() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let before = f.engine.stats();
    for _ in 0..10 {
        let mut s = f.engine.session(&key);
        s.get::<i64>("a").unwrap();
        f.engine.end_request(&mut s, 200).unwrap();
    }
    assert_eq!(diff(before, f.engine.stats()), (0, 0));
}
