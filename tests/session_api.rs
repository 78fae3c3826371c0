//! The `Session` object behaves like Django's `SessionBase`: every method,
//! the `accessed` / `modified` flags, typed values, `flush`, `cycle_key`,
//! the test-cookie helpers and the limits. These are the behaviours a
//! Django developer relies on without thinking about them.

mod common;

use common::{saved_session, sled, sled_with};
use serde::{Deserialize, Serialize};
use sessile::{Error, Limit, Value};

#[test]
fn new_session_has_no_key_and_is_empty() {
    let f = sled();
    let s = f.engine.new_session();
    assert_eq!(s.session_key(), None);
    assert!(s.is_empty());
    assert!(!s.accessed());
    assert!(!s.modified());
}

#[test]
fn reading_marks_accessed_but_not_modified() {
    let f = sled();
    let mut s = f.engine.new_session();
    assert_eq!(s.get::<String>("missing").unwrap(), None);
    assert!(s.accessed());
    assert!(!s.modified());
}

#[test]
fn writing_marks_modified_and_values_round_trip() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.insert("n", 7).unwrap();
    s.insert("name", "Aman").unwrap();
    assert!(s.modified() && s.accessed());
    assert_eq!(s.get::<i64>("n").unwrap(), Some(7));
    assert_eq!(s.get::<String>("name").unwrap().as_deref(), Some("Aman"));
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Clone)]
struct Cart {
    items: Vec<String>,
    total_cents: u64,
    coupon: Option<String>,
}

#[test]
fn typed_values_survive_save_and_reload() {
    let f = sled();
    let cart = Cart {
        items: vec!["tea".into(), "cake".into()],
        total_cents: 1250,
        coupon: None,
    };
    let mut s = f.engine.new_session();
    s.insert("cart", &cart).unwrap();
    s.insert("ratio", 0.5f64).unwrap();
    s.insert("flags", vec![true, false]).unwrap();
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();

    let mut again = f.engine.session(&key);
    assert_eq!(again.get::<Cart>("cart").unwrap(), Some(cart));
    assert_eq!(again.get::<f64>("ratio").unwrap(), Some(0.5));
    assert_eq!(
        again.get::<Vec<bool>>("flags").unwrap(),
        Some(vec![true, false])
    );
}

#[test]
fn asking_for_the_wrong_type_is_a_clear_error() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.insert("n", "not a number").unwrap();
    match s.get::<i64>("n") {
        Err(Error::WrongType { key, .. }) => assert_eq!(key, "n"),
        other => panic!("expected WrongType, got {other:?}"),
    }
}

#[test]
fn contains_keys_values_items_and_len() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.update([("b", 2), ("a", 1)]).unwrap();
    assert!(s.contains_key("a").unwrap());
    assert!(!s.contains_key("z").unwrap());
    assert_eq!(s.keys().unwrap(), vec!["a", "b"]);
    assert_eq!(s.values().unwrap(), vec![Value::from(1), Value::from(2)]);
    assert_eq!(
        s.items().unwrap(),
        vec![
            ("a".to_owned(), Value::from(1)),
            ("b".to_owned(), Value::from(2))
        ]
    );
    assert_eq!(s.len().unwrap(), 2);
}

#[test]
fn remove_and_pop_mark_modified_only_when_something_was_there() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1), ("b", 2)]);
    let mut s = f.engine.session(&key);
    assert!(!s.remove("missing").unwrap());
    assert_eq!(s.pop::<i64>("missing").unwrap(), None);
    assert!(!s.modified());
    assert!(s.remove("a").unwrap());
    assert!(s.modified());
    assert_eq!(s.pop::<i64>("b").unwrap(), Some(2));
    s.save().unwrap();
    let mut again = f.engine.session(&key);
    assert!(again.keys().unwrap().is_empty());
}

#[test]
fn setdefault_sets_only_when_absent() {
    let f = sled();
    let key = saved_session(&f.engine, &[("age", 31)]);
    let mut s = f.engine.session(&key);
    assert_eq!(s.setdefault("age", 99).unwrap(), 31);
    assert!(!s.modified());
    assert_eq!(s.setdefault("visits", 1).unwrap(), 1);
    assert!(s.modified());
    assert_eq!(s.get::<i64>("visits").unwrap(), Some(1));
}

#[test]
fn clear_empties_and_marks_both_flags() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let mut s = f.engine.session(&key);
    s.clear();
    assert!(s.accessed() && s.modified());
    assert!(s.keys().unwrap().is_empty());
    s.save().unwrap();
    assert_eq!(s.session_key(), Some(key.as_str()), "clear keeps the key");
    assert!(f.engine.session(&key).keys().unwrap().is_empty());
}

#[test]
fn is_empty_follows_django() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    // A key from a cookie, not yet loaded: not empty (Django never loads here).
    assert!(!f.engine.session(&key).is_empty());
    // An unknown key, once loaded, is dropped: empty.
    let mut unknown = f.engine.session("abcdefghijklmnopqrstuvwxyz012345");
    assert!(!unknown.is_empty());
    unknown.get::<i64>("a").unwrap();
    assert!(unknown.is_empty());
    // A new session with data but no key yet: not empty.
    let mut s = f.engine.new_session();
    s.insert("x", 1).unwrap();
    assert!(!s.is_empty());
}

#[test]
fn save_issues_a_key_only_when_saving() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.insert("a", 1).unwrap();
    assert_eq!(s.session_key(), None);
    assert_eq!(f.engine.store().len().unwrap(), 0);
    s.save().unwrap();
    let key = s.session_key().unwrap();
    assert_eq!(key.len(), 32);
    assert!(key
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    assert!(f.engine.exists(key).unwrap());
}

#[test]
fn flush_empties_deletes_and_drops_the_key() {
    let f = sled();
    let key = saved_session(&f.engine, &[("is_login", 1)]);
    let mut s = f.engine.session(&key);
    s.flush().unwrap();
    assert_eq!(s.session_key(), None);
    assert!(s.is_empty());
    assert!(
        !f.engine.exists(&key).unwrap(),
        "the stored session is gone"
    );
    // The next save starts a new session under a new key.
    s.insert("fresh", 1).unwrap();
    s.save().unwrap();
    assert_ne!(s.session_key(), Some(key.as_str()));
}

#[test]
fn cycle_key_keeps_data_and_the_old_key_stops_working() {
    let f = sled();
    let old = saved_session(&f.engine, &[("cart", 3)]);
    let mut s = f.engine.session(&old);
    s.insert("user_id", 42).unwrap();
    s.cycle_key().unwrap();
    let new = s.session_key().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(s.modified());
    assert!(!f.engine.exists(&old).unwrap());
    let mut fresh = f.engine.session(&old);
    assert_eq!(fresh.get::<i64>("cart").unwrap(), None);
    assert_eq!(fresh.session_key(), None);
    let mut moved = f.engine.session(&new);
    assert_eq!(moved.get::<i64>("cart").unwrap(), Some(3));
    assert_eq!(moved.get::<i64>("user_id").unwrap(), Some(42));
}

#[test]
fn cycle_key_on_a_new_session_just_saves_it() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.insert("a", 1).unwrap();
    s.cycle_key().unwrap();
    let key = s.session_key().unwrap().to_owned();
    assert_eq!(f.engine.session(&key).get::<i64>("a").unwrap(), Some(1));
}

#[test]
fn delete_removes_the_stored_session() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let mut s = f.engine.session(&key);
    s.delete().unwrap();
    assert!(!f.engine.exists(&key).unwrap());
}

#[test]
fn test_cookie_helpers() {
    let f = sled();
    let mut s = f.engine.new_session();
    assert!(!s.test_cookie_worked().unwrap());
    s.set_test_cookie().unwrap();
    assert!(s.test_cookie_worked().unwrap());
    assert_eq!(
        s.get::<String>(sessile::TEST_COOKIE_NAME)
            .unwrap()
            .as_deref(),
        Some(sessile::TEST_COOKIE_VALUE)
    );
    s.delete_test_cookie().unwrap();
    assert!(!s.test_cookie_worked().unwrap());
}

#[test]
fn save_after_delete_fails_and_does_not_recreate() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let mut tab1 = f.engine.session(&key);
    tab1.get::<i64>("a").unwrap();
    // Logout in another tab.
    f.engine.session(&key).flush().unwrap();
    tab1.insert("b", 2).unwrap();
    assert!(matches!(tab1.save(), Err(Error::SessionDeleted)));
    assert!(!f.engine.exists(&key).unwrap());
    assert_eq!(f.engine.store().len().unwrap(), 0);
}

#[test]
fn oversized_values_keys_and_sessions_are_refused_with_the_limit() {
    let f = sled_with(|c| {
        c.max_value_size(100)
            .max_data_key_len(8)
            .max_keys(3)
            .max_record_size(300)
    });
    let mut s = f.engine.new_session();
    match s.insert("big", "x".repeat(200)) {
        Err(Error::TooLarge {
            what: Limit::Value,
            limit: 100,
            actual,
        }) => assert!(actual > 200),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.insert("a-very-long-key", 1),
        Err(Error::TooLarge {
            what: Limit::DataKey,
            limit: 8,
            actual: 15
        })
    ));
    s.update([("a", 1), ("b", 2), ("c", 3)]).unwrap();
    assert!(matches!(
        s.insert("d", 4),
        Err(Error::TooLarge {
            what: Limit::Keys,
            limit: 3,
            ..
        })
    ));
    // Replacing an existing key is fine at the key limit.
    s.insert("c", 30).unwrap();
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();
    // Values under the per-value limit that add up past the record limit.
    let mut s = f.engine.session(&key);
    s.insert("a", "y".repeat(90)).unwrap();
    s.insert("b", "y".repeat(90)).unwrap();
    s.insert("c", "y".repeat(90)).unwrap();
    assert!(matches!(
        s.save(),
        Err(Error::TooLarge {
            what: Limit::Record,
            limit: 300,
            ..
        })
    ));
    // Nothing already stored was lost.
    assert_eq!(f.engine.session(&key).get::<i64>("c").unwrap(), Some(30));
}

#[test]
fn raw_values_and_set_modified() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.insert_value("v", Value::Binary(vec![0, 255])).unwrap();
    assert_eq!(s.get_value("v").unwrap(), Some(Value::Binary(vec![0, 255])));
    s.set_modified(false);
    assert!(!s.modified());
}

#[test]
fn values_nested_too_deeply_are_refused_and_nesting_up_to_the_limit_round_trips() {
    let f = sled();
    let nest = |levels: usize| {
        let mut v = Value::from(1);
        for _ in 0..levels {
            v = Value::Array(vec![v]);
        }
        v
    };
    let mut s = f.engine.new_session();
    let ok = nest(sessile::MAX_NESTING - 1);
    s.insert_value("ok", ok.clone()).unwrap();
    assert!(matches!(
        s.insert_value("deep", nest(sessile::MAX_NESTING)),
        Err(Error::InvalidData(_))
    ));
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();
    assert_eq!(f.engine.session(&key).get_value("ok").unwrap(), Some(ok));
}

#[test]
fn changes_before_and_after_the_first_full_read_agree() {
    // Single-key reads and writes work on the stored bytes plus the pending
    // changes; `keys()` decodes everything. Both views must agree, and the
    // save must carry every change.
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1), ("b", 2), ("c", 3)]);
    let mut s = f.engine.session(&key);
    s.insert("d", 4).unwrap();
    assert!(s.remove("b").unwrap());
    assert_eq!(s.pop::<i64>("c").unwrap(), Some(3));
    s.insert("c", 30).unwrap();
    assert_eq!(s.get::<i64>("b").unwrap(), None);
    assert_eq!(s.get::<i64>("c").unwrap(), Some(30));
    assert!(s.contains_key("d").unwrap());
    assert_eq!(s.keys().unwrap(), vec!["a", "c", "d"]);
    s.insert("e", 5).unwrap();
    assert!(s.remove("a").unwrap());
    s.save().unwrap();
    let mut again = f.engine.session(&key);
    assert_eq!(again.keys().unwrap(), vec!["c", "d", "e"]);
    assert_eq!(again.get::<i64>("c").unwrap(), Some(30));
    // cycle_key carries pending, undecoded changes too.
    let mut s = f.engine.session(&key);
    s.insert("f", 6).unwrap();
    s.cycle_key().unwrap();
    let new = s.session_key().unwrap().to_owned();
    let mut moved = f.engine.session(&new);
    assert_eq!(moved.keys().unwrap(), vec!["c", "d", "e", "f"]);
}

#[test]
fn saving_many_changes_at_once_without_reading_everything_keeps_the_rest() {
    // A save compares stored keys with the changed ones as bytes when there
    // are a few changes and through the delta's maps when there are many:
    // both must keep exactly the keys that did not change.
    let f = sled();
    for changes in [1usize, 8, 9, 20] {
        let pairs: Vec<(String, i64)> = (0..30).map(|i| (format!("k{i}"), i as i64)).collect();
        let refs: Vec<(&str, i64)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let key = saved_session(&f.engine, &refs);
        let mut s = f.engine.session(&key);
        // Even keys below 2 * changes are set, odd ones removed.
        for i in 0..changes {
            if i % 2 == 0 {
                s.insert(&format!("k{i}"), 1000 + i as i64).unwrap();
            } else {
                s.remove(&format!("k{i}")).unwrap();
            }
        }
        s.save().unwrap();

        let mut s = f.engine.session(&key);
        for i in 0..30usize {
            let want = match i {
                i if i < changes && i % 2 == 0 => Some(1000 + i as i64),
                i if i < changes => None,
                i => Some(i as i64),
            };
            assert_eq!(
                s.get::<i64>(&format!("k{i}")).unwrap(),
                want,
                "k{i}, {changes} changes"
            );
        }
    }
}

#[test]
fn saving_changes_without_reading_everything_keeps_every_other_key() {
    // Saves of a session that was never read whole apply the changes to the
    // stored bytes: small maps (one-byte header) and maps of 16 keys or
    // more (longer header) must both come back whole.
    let f = sled();
    for size in [3usize, 15, 16, 40] {
        let pairs: Vec<(String, i64)> = (0..size).map(|i| (format!("k{i}"), i as i64)).collect();
        let refs: Vec<(&str, i64)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let key = saved_session(&f.engine, &refs);
        let mut s = f.engine.session(&key);
        s.insert("k0", 100).unwrap();
        s.remove("k1").unwrap();
        s.insert("new", 7).unwrap();
        s.save().unwrap();

        let mut s = f.engine.session(&key);
        let mut keys = s.keys().unwrap();
        keys.sort();
        let mut want: Vec<String> = (2..size).map(|i| format!("k{i}")).collect();
        want.extend(["k0".to_owned(), "new".to_owned()]);
        want.sort();
        assert_eq!(keys, want, "{size} keys");
        assert_eq!(s.get::<i64>("k0").unwrap(), Some(100));
        assert_eq!(s.get::<i64>("new").unwrap(), Some(7));
        assert_eq!(
            s.get::<i64>(&format!("k{}", size - 1)).unwrap(),
            Some(size as i64 - 1)
        );
    }
}
