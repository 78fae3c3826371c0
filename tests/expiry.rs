//! Expiry behaves as in Django: every `set_expiry` form gives Django's
//! `get_expiry_age` / `get_expiry_date` / `get_expire_at_browser_close`;
//! an expired session is never served, whether or not it has been swept;
//! `clear_expired` counts what it removed; the background reaper sweeps with
//! a controlled clock. Expiries outside the documented range (1 s to 400
//! days, a date after now and at most 400 days ahead) are refused, so no
//! cookie carries a negative or absurd `Max-Age`, and the manual clock stops
//! at its ends rather than wrapping. No test sleeps: time comes from a
//! `ManualClock`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{saved_session, sled, sled_with, T0};
use sessile::{from_ms, Clock, Config, Engine, Error, Expiry, ManualClock, MAX_AGE_S};

const TWO_WEEKS: i64 = 1_209_600;

#[test]
fn default_expiry_is_the_cookie_age() {
    let f = sled();
    let mut s = f.engine.new_session();
    assert_eq!(s.get_expiry_age().unwrap(), TWO_WEEKS);
    assert_eq!(s.get_session_cookie_age(), TWO_WEEKS);
    assert_eq!(s.get_expiry_date().unwrap(), from_ms(T0 + TWO_WEEKS * 1000));
    assert!(!s.get_expire_at_browser_close().unwrap());
    assert_eq!(s.expiry().unwrap(), Expiry::Default);
}

#[test]
fn set_expiry_seconds_gives_that_age_and_survives_reload() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.set_expiry(Expiry::seconds(300)).unwrap();
    assert!(s.modified());
    assert_eq!(s.get_expiry_age().unwrap(), 300);
    assert_eq!(s.get_expiry_date().unwrap(), from_ms(T0 + 300_000));
    assert!(!s.get_expire_at_browser_close().unwrap());
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();
    f.clock.advance_secs(100);
    let mut again = f.engine.session(&key);
    // Django's integer form: the age stays the number given.
    assert_eq!(again.get_expiry_age().unwrap(), 300);
    assert_eq!(again.expiry().unwrap(), Expiry::Seconds(300));
}

#[test]
fn set_expiry_zero_means_browser_close_with_the_cookie_age() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.set_expiry(Expiry::seconds(0)).unwrap();
    assert_eq!(s.expiry().unwrap(), Expiry::BrowserClose);
    assert!(s.get_expire_at_browser_close().unwrap());
    assert_eq!(s.get_expiry_age().unwrap(), TWO_WEEKS);
    assert_eq!(s.get_expiry_date().unwrap(), from_ms(T0 + TWO_WEEKS * 1000));
}

#[test]
fn set_expiry_none_restores_the_default() {
    let f = sled_with(|c| c.expire_at_browser_close(true));
    let mut s = f.engine.new_session();
    assert!(
        s.get_expire_at_browser_close().unwrap(),
        "setting applies to the default"
    );
    s.set_expiry(Expiry::seconds(60)).unwrap();
    assert!(!s.get_expire_at_browser_close().unwrap());
    s.set_expiry(Expiry::Default).unwrap();
    assert!(s.get_expire_at_browser_close().unwrap());
    assert_eq!(s.get_expiry_age().unwrap(), TWO_WEEKS);
}

#[test]
fn set_expiry_default_on_a_default_session_changes_nothing() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let mut s = f.engine.session(&key);
    s.set_expiry(Expiry::Default).unwrap();
    assert!(!s.modified());
}

#[test]
fn set_expiry_at_a_datetime_counts_down() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.set_expiry(Expiry::at(from_ms(T0 + 3_600_000))).unwrap();
    assert_eq!(s.get_expiry_age().unwrap(), 3600);
    f.clock.advance_secs(600);
    assert_eq!(s.get_expiry_age().unwrap(), 3000);
    assert_eq!(s.get_expiry_date().unwrap(), from_ms(T0 + 3_600_000));
    assert!(!s.get_expire_at_browser_close().unwrap());
    // Django's timedelta arithmetic rounds toward the past.
    f.clock.advance(Duration::from_millis(500));
    assert_eq!(s.get_expiry_age().unwrap(), 2999);
}

#[test]
fn set_expiry_with_a_duration_becomes_an_absolute_time() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.set_expiry_in(Duration::from_secs(600)).unwrap();
    assert_eq!(s.expiry().unwrap(), Expiry::At(T0 + 600_000));
    f.clock.advance_secs(60);
    assert_eq!(s.get_expiry_age().unwrap(), 540);
}

#[test]
fn out_of_range_expiry_is_refused_and_changes_nothing() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.insert("a", 1).unwrap();
    s.set_expiry(Expiry::seconds(300)).unwrap();
    let max_ms = MAX_AGE_S * 1000;
    for bad in [
        Expiry::seconds(-1),
        Expiry::seconds(i64::MIN),
        Expiry::Seconds(0),
        Expiry::seconds(MAX_AGE_S + 1),
        Expiry::seconds(i64::MAX),
        Expiry::At(T0 - 1),
        Expiry::At(T0),
        Expiry::At(T0 + max_ms + 1),
        Expiry::At(i64::MAX),
        Expiry::At(i64::MIN),
    ] {
        let err = s.set_expiry(bad).unwrap_err();
        assert!(matches!(err, Error::InvalidExpiry(_)), "{bad:?}: {err:?}");
        assert!(err.to_string().contains("400 days"), "{err}");
        assert_eq!(s.expiry().unwrap(), Expiry::Seconds(300), "{bad:?}");
    }
    let err = s.set_expiry(Expiry::seconds(-1)).unwrap_err().to_string();
    assert!(
        err.contains("expiry seconds") && err.contains("not -1"),
        "{err}"
    );
    for bad in [
        Duration::ZERO,
        Duration::from_secs(MAX_AGE_S as u64 + 1),
        Duration::MAX,
    ] {
        let err = s.set_expiry_in(bad).unwrap_err();
        assert!(matches!(err, Error::InvalidExpiry(_)), "{bad:?}: {err:?}");
    }
    assert_eq!(s.expiry().unwrap(), Expiry::Seconds(300));

    // The ends of the range are accepted.
    for good in [
        Expiry::seconds(1),
        Expiry::seconds(MAX_AGE_S),
        Expiry::At(T0 + 1),
        Expiry::At(T0 + max_ms),
    ] {
        s.set_expiry(good).unwrap();
        assert_eq!(s.expiry().unwrap(), good);
    }
    s.set_expiry_in(Duration::from_secs(MAX_AGE_S as u64))
        .unwrap();
    assert_eq!(s.expiry().unwrap(), Expiry::At(T0 + max_ms));
}

#[test]
fn the_cookie_never_carries_a_negative_or_huge_max_age() {
    let f = sled();
    let mut s = f.engine.begin_request(None);
    s.insert("a", 1).unwrap();
    assert!(s.set_expiry(Expiry::seconds(-1)).is_err());
    assert!(s.set_expiry(Expiry::seconds(i64::MAX)).is_err());
    s.set_expiry(Expiry::seconds(MAX_AGE_S)).unwrap();
    let cookie = f
        .engine
        .end_request(&mut s, 200)
        .unwrap()
        .set_cookie
        .unwrap();
    assert!(cookie.contains("; Max-Age=34560000"), "{cookie}");
}

#[test]
fn the_manual_clock_stops_at_its_ends_instead_of_wrapping() {
    let (first, last) = (*ManualClock::RANGE_MS.start(), *ManualClock::RANGE_MS.end());
    let clock = ManualClock::new(T0);
    clock.advance_secs(i64::MAX);
    assert_eq!(clock.now_ms(), last);
    clock.advance(Duration::MAX);
    assert_eq!(clock.now_ms(), last);
    clock.advance_ms(i64::MAX);
    assert_eq!(clock.now_ms(), last);
    clock.advance_ms(i64::MIN);
    assert_eq!(clock.now_ms(), first);
    clock.set_ms(i64::MIN);
    assert_eq!(clock.now_ms(), first);
    clock.set_ms(i64::MAX);
    assert_eq!(clock.now_ms(), last);
    assert_eq!(ManualClock::new(-5).now_ms(), first);
    // The end of the range is a date a cookie can state.
    assert_eq!(from_ms(last), from_ms(253_402_300_799_999));
}

#[test]
fn custom_cookie_age_is_the_default_age() {
    let f = sled_with(|c| c.cookie_age(60));
    let mut s = f.engine.new_session();
    assert_eq!(s.get_expiry_age().unwrap(), 60);
    assert_eq!(s.get_session_cookie_age(), 60);
}

#[test]
fn expired_session_is_never_returned_before_or_after_sweeping() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.insert("secret", 1).unwrap();
    s.set_expiry(Expiry::seconds(10)).unwrap();
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();
    f.clock.advance_secs(9);
    assert!(f.engine.exists(&key).unwrap());
    f.clock.advance_secs(1);
    // Due but not swept: the record is still on disk, and still not served.
    assert_eq!(f.engine.store().len().unwrap(), 1);
    assert!(!f.engine.exists(&key).unwrap());
    assert_eq!(f.engine.session(&key).get::<i64>("secret").unwrap(), None);
    assert_eq!(f.engine.clear_expired().unwrap(), 1);
    assert_eq!(f.engine.store().len().unwrap(), 0);
    assert_eq!(f.engine.session(&key).get::<i64>("secret").unwrap(), None);
}

#[test]
fn saving_slides_the_deadline_forward() {
    let f = sled();
    let mut s = f.engine.new_session();
    s.set_expiry(Expiry::seconds(100)).unwrap();
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();
    for _ in 0..5 {
        f.clock.advance_secs(60);
        let mut s = f.engine.session(&key);
        s.insert("seen", true).unwrap();
        s.save().unwrap();
    }
    // 300 s after creation, well past the first deadline: still alive.
    assert!(f.engine.exists(&key).unwrap());
    // The sweeper re-files it rather than deleting it.
    assert_eq!(f.engine.clear_expired().unwrap(), 0);
    assert!(f.engine.exists(&key).unwrap());
    f.clock.advance_secs(100);
    assert_eq!(f.engine.clear_expired().unwrap(), 1);
    assert!(!f.engine.exists(&key).unwrap());
}

#[test]
fn clear_expired_counts_exactly_what_it_removed() {
    let f = sled_with(|c| c.reaper_budget(2));
    let short: Vec<String> = (0..5)
        .map(|_| {
            let mut s = f.engine.new_session();
            s.set_expiry(Expiry::seconds(10)).unwrap();
            s.save().unwrap();
            s.session_key().unwrap().to_owned()
        })
        .collect();
    let long: Vec<String> = (0..3)
        .map(|_| saved_session(&f.engine, &[("x", 1)]))
        .collect();
    assert_eq!(f.engine.clear_expired().unwrap(), 0);
    f.clock.advance_secs(20);
    // Budget 2 per pass: clear_expired keeps going until nothing is due.
    assert_eq!(f.engine.clear_expired().unwrap(), 5);
    assert_eq!(f.engine.clear_expired().unwrap(), 0);
    assert_eq!(f.engine.store().len().unwrap(), 3);
    assert!(short.iter().all(|k| !f.engine.exists(k).unwrap()));
    assert!(long.iter().all(|k| f.engine.exists(k).unwrap()));
    // Session::clear_expired is the same sweep (Django's API puts it there).
    assert_eq!(f.engine.new_session().clear_expired().unwrap(), 0);
}

#[test]
fn shortening_the_expiry_is_swept_at_the_new_time() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let mut s = f.engine.session(&key);
    s.set_expiry(Expiry::seconds(5)).unwrap();
    s.save().unwrap();
    f.clock.advance_secs(6);
    assert_eq!(f.engine.clear_expired().unwrap(), 1);
    assert_eq!(f.engine.store().len().unwrap(), 0);
}

fn reaper_engine(dir: &tempfile::TempDir, clock: &ManualClock) -> Engine {
    // A long interval: the pass is triggered explicitly, never by waiting.
    Engine::open(
        Config::new(dir.path().join("db"))
            .clock(Arc::new(clock.clone()))
            .reaper_interval(Some(Duration::from_secs(3600)))
            .reaper_budget(3),
    )
    .unwrap()
}

#[test]
fn reaper_removes_expired_sessions_with_a_controlled_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let engine = reaper_engine(&dir, &clock);
    for _ in 0..7 {
        let mut s = engine.new_session();
        s.set_expiry(Expiry::seconds(30)).unwrap();
        s.save().unwrap();
    }
    saved_session(&engine, &[("keep", 1)]);
    assert_eq!(engine.run_reaper_pass().unwrap(), 0);
    clock.advance_secs(31);
    // One pass examines at most the budget (3).
    assert_eq!(engine.run_reaper_pass().unwrap(), 3);
    assert_eq!(engine.run_reaper_pass().unwrap(), 3);
    assert_eq!(engine.run_reaper_pass().unwrap(), 1);
    assert_eq!(engine.store().len().unwrap(), 1);
}

#[test]
fn reaper_stops_cleanly_when_the_engine_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let engine = reaper_engine(&dir, &clock);
    let key = saved_session(&engine, &[("a", 1)]);
    drop(engine);
    // The reaper thread held the store; it has let go, so the path reopens.
    let engine = reaper_engine(&dir, &clock);
    assert!(engine.exists(&key).unwrap());
    engine.close().unwrap();
}

#[test]
fn engine_without_a_reaper_says_so() {
    let f = sled();
    assert!(matches!(
        f.engine.run_reaper_pass(),
        Err(sessile::Error::Closed)
    ));
}

#[test]
fn clear_resets_the_stored_expiry_even_when_the_session_was_not_read() {
    // Regression (fuzz/engine_ops): `clear()` on a session that was never
    // read kept the stored `set_expiry(53)`, so it expired 53 s later.
    let f = sled();
    let mut s = f.engine.new_session();
    s.insert("a", 1).unwrap();
    s.set_expiry(Expiry::seconds(53)).unwrap();
    s.save().unwrap();
    let key = s.session_key().unwrap().to_owned();
    let mut s = f.engine.session(&key);
    s.clear();
    s.insert("b", 2).unwrap();
    s.save().unwrap();
    f.clock.advance_secs(60);
    let mut again = f.engine.session(&key);
    assert_eq!(again.get::<i64>("b").unwrap(), Some(2));
    assert_eq!(again.expiry().unwrap(), Expiry::Default);
    assert_eq!(again.get_expiry_age().unwrap(), TWO_WEEKS);
}
