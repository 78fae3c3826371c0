//! The owner index's scenarios (tests/owners.rs on sled and memory,
//! tests/redis_owners.rs on Redis), over whole requests of an engine whose
//! owner key is [`OWNER`], as a user would see them.

use sessile::{Engine, Error, ManualClock, Session, SessionKey};

/// The owner key the scenarios log users in by (Django's).
pub const OWNER: &str = "_auth_user_id";

/// A request from a device holding `cookie` (or none); returns the session
/// for the caller to use before `finish`.
pub fn request(engine: &Engine, cookie: Option<&str>) -> Session {
    engine.begin_request(cookie.map(|c| format!("sessionid={c}")).as_deref())
}

/// Ends a request; returns the cookie's value the device keeps.
pub fn finish(engine: &Engine, s: &mut Session) -> sessile::Result<Option<String>> {
    engine.end_request(s, 200)?;
    Ok(s.session_key().map(str::to_owned))
}

/// A device logs in as `user` (Django's login: cycle the key, then write
/// the user id); returns its cookie.
pub fn log_in(engine: &Engine, user: &str) -> String {
    let mut s = request(engine, None);
    s.insert("cart", vec![1, 2]).unwrap();
    finish(engine, &mut s).unwrap();
    let mut s = request(engine, s.session_key());
    s.cycle_key().unwrap();
    s.insert(OWNER, user).unwrap();
    finish(engine, &mut s).unwrap().unwrap()
}

pub fn user_of(engine: &Engine, cookie: &str) -> Option<String> {
    let mut s = request(engine, Some(cookie));
    s.get::<String>(OWNER).unwrap()
}

pub fn keys_of(engine: &Engine, user: &str) -> Vec<String> {
    let mut keys: Vec<String> = engine
        .sessions_of(user)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.as_str().to_owned())
        .collect();
    keys.sort();
    keys
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Three devices log in as one user; the third signs the other two out:
/// they come back anonymous, the third and another user stay logged in;
/// then a password reset ends them all.
pub fn sign_out_other_devices(e: &Engine) {
    let phone = log_in(e, "42");
    let laptop = log_in(e, "42");
    let tablet = log_in(e, "42");
    let other_user = log_in(e, "7");
    assert_eq!(
        keys_of(e, "42"),
        sorted(vec![phone.clone(), laptop.clone(), tablet.clone()])
    );

    // The tablet signs out its other devices.
    let this = SessionKey::parse(&tablet).unwrap();
    assert_eq!(e.end_sessions_of("42", Some(&this)).unwrap(), 2);
    assert_eq!(keys_of(e, "42"), vec![tablet.clone()]);

    // The two come back anonymous, with a fresh session on their next
    // write; the tablet and the other user stay logged in.
    for gone in [&phone, &laptop] {
        assert_eq!(user_of(e, gone), None);
        let mut s = request(e, Some(gone));
        s.insert("visited", true).unwrap();
        let fresh = finish(e, &mut s).unwrap().unwrap();
        assert_ne!(&fresh, gone);
        assert_eq!(user_of(e, &fresh), None);
    }
    assert_eq!(user_of(e, &tablet).as_deref(), Some("42"));
    assert_eq!(user_of(e, &other_user).as_deref(), Some("7"));

    // A password reset ends them all.
    assert_eq!(e.end_sessions_of("42", None).unwrap(), 1);
    assert_eq!(user_of(e, &tablet), None);
    assert!(e.sessions_of("42").unwrap().is_empty());
    assert_eq!(keys_of(e, "7"), vec![other_user]);
}

/// A request that read the session before its owner's sessions were ended
/// cannot save it back.
pub fn a_request_in_flight_cannot_save_an_ended_session_back(e: &Engine) {
    let phone = log_in(e, "42");
    let mut in_flight = request(e, Some(&phone));
    assert_eq!(
        in_flight.get::<String>(OWNER).unwrap().as_deref(),
        Some("42")
    );
    assert_eq!(e.end_sessions_of("42", None).unwrap(), 1);
    in_flight.insert("cart", vec![3]).unwrap();
    assert!(matches!(
        e.end_request(&mut in_flight, 200),
        Err(Error::SessionDeleted)
    ));
    assert!(e.sessions_of("42").unwrap().is_empty());
    assert!(e.store().is_empty().unwrap());
}

/// Saves that keep the owner write nothing to the index; a login, a change
/// of user and a logout write one entry each way.
pub fn only_a_change_of_owner_writes_the_owner_index(e: &Engine, clock: &ManualClock) {
    let writes = || e.stats().owner_writes;

    // A new anonymous session, saves of other keys: nothing.
    let mut s = request(e, None);
    s.insert("a", 1).unwrap();
    let key = finish(e, &mut s).unwrap().unwrap();
    let mut s = request(e, Some(&key));
    s.insert("b", 2).unwrap();
    finish(e, &mut s).unwrap();
    assert_eq!(writes(), 0);

    // The login files one entry; saves that keep the owner file none.
    let mut s = request(e, Some(&key));
    s.insert(OWNER, "42").unwrap();
    finish(e, &mut s).unwrap();
    assert_eq!(writes(), 1);
    for i in 0..5 {
        clock.advance_secs(10);
        let mut s = request(e, Some(&key));
        s.insert("n", i).unwrap();
        s.insert(OWNER, "42").unwrap();
        finish(e, &mut s).unwrap();
    }
    assert_eq!(writes(), 1);

    // Another user on the same session: one entry filed, one removed. (Ten
    // minutes after the login: the Redis store keeps a younger filing, which
    // a login racing this change may have made.)
    clock.advance_secs(601);
    let mut s = request(e, Some(&key));
    s.insert(OWNER, "43").unwrap();
    finish(e, &mut s).unwrap();
    assert_eq!(writes(), 3);
    assert!(e.sessions_of("42").unwrap().is_empty());
    assert_eq!(keys_of(e, "43"), vec![key.clone()]);

    // A logout (flush) removes the session and its entry.
    let mut s = request(e, Some(&key));
    s.flush().unwrap();
    finish(e, &mut s).unwrap();
    assert_eq!(writes(), 4);
    assert_eq!(e.store().len().unwrap(), 0);
}

/// `cycle_key` (a login) moves the entry to the new key.
pub fn cycle_key_carries_the_owner_to_the_new_key(e: &Engine) {
    let key = log_in(e, "42");
    let mut s = request(e, Some(&key));
    s.cycle_key().unwrap();
    let new = s.session_key().unwrap().to_owned();
    finish(e, &mut s).unwrap();
    assert_ne!(new, key);
    assert_eq!(keys_of(e, "42"), vec![new]);
}

/// With a cookie age of 60 s: an expired session is not listed, and the
/// sweep drops its entry with it.
pub fn expired_sessions_are_not_listed_and_the_sweep_drops_their_entries(
    e: &Engine,
    clock: &ManualClock,
) {
    let old = log_in(e, "42");
    clock.advance_secs(50);
    let new = log_in(e, "42");
    clock.advance_secs(20);
    assert_eq!(keys_of(e, "42"), vec![new.clone()]);
    let before = e.stats().owner_writes;
    assert_eq!(e.clear_expired().unwrap(), 1);
    assert_eq!(
        e.stats().owner_writes,
        before + 1,
        "the sweep drops the entry"
    );
    assert_eq!(user_of(e, &old), None);
    assert_eq!(keys_of(e, "42"), vec![new]);
}

/// With the owner key `passport.user`: an integer in a nested map names
/// its decimal digits; the empty owner and one too long own nothing.
pub fn integers_and_nested_paths_name_owners(e: &Engine) {
    let mut s = request(e, None);
    let passport: std::collections::BTreeMap<String, i64> = [("user".to_owned(), 42)].into();
    s.insert("passport", passport).unwrap();
    let key = finish(e, &mut s).unwrap().unwrap();
    assert_eq!(keys_of(e, "42"), vec![key]);
    assert!(e.sessions_of("").unwrap().is_empty());
    assert!(e.sessions_of(&"4".repeat(5000)).unwrap().is_empty());
}

/// Two sessions of user "42" written by an engine with no owner key, which
/// cannot look owners up: one under `_auth_user_id` (a login), one under
/// `uid`. Returns their keys.
pub fn sessions_before_any_owner_key(e: &Engine) -> (String, String) {
    let a = log_in(e, "42");
    let mut s = request(e, None);
    s.insert("uid", "42").unwrap();
    let b = finish(e, &mut s).unwrap().unwrap();
    assert!(matches!(e.sessions_of("42"), Err(Error::InvalidConfig(_))));
    (a, b)
}

/// Logins and logouts of the same sessions racing each other and
/// listings, as an app's parallel requests make them: afterwards every
/// session whose record names the user is in the user's listing.
pub fn racing_logins_logouts_and_listings_lose_no_entry(e: &Engine) {
    let keys: Vec<String> = (0..6)
        .map(|i| super::saved_session(e, &[("i", i)]))
        .collect();
    std::thread::scope(|scope| {
        for t in 0..4usize {
            let keys = &keys;
            scope.spawn(move || {
                for round in 0..150usize {
                    let key = &keys[(t + round) % keys.len()];
                    let mut s = request(e, Some(key));
                    if (t + round / 3) % 2 == 0 {
                        s.insert(OWNER, "42").unwrap();
                    } else {
                        s.remove(OWNER).unwrap();
                    }
                    finish(e, &mut s).unwrap();
                }
            });
        }
        scope.spawn(|| {
            for _ in 0..300 {
                e.sessions_of("42").unwrap();
            }
        });
    });
    let owned: Vec<String> = keys
        .iter()
        .filter(|k| user_of(e, k).as_deref() == Some("42"))
        .cloned()
        .collect();
    assert_eq!(keys_of(e, "42"), sorted(owned));
}
