//! Session keys: 32 characters of [a-z0-9] from ChaCha20, never repeated;
//! an incoming key is validated before any storage access, so malformed
//! cookies (empty, short, long, wrong charset, non-UTF-8) never reach the
//! store, and loading an unknown key creates nothing (Django's
//! CVE-2015-5143 was a create-on-load).

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{config, CountingStore, T0};
use sessile::{Engine, InvalidKey, ManualClock, SessionKey, Store};

#[test]
fn generated_keys_are_32_lowercase_alphanumerics_and_unique() {
    let mut seen = HashSet::new();
    let mut chars = HashSet::new();
    for _ in 0..20_000 {
        let k = SessionKey::generate();
        let s = k.as_str().to_owned();
        assert_eq!(s.len(), 32);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        chars.extend(s.bytes());
        assert!(seen.insert(s), "a key repeated");
    }
    assert_eq!(chars.len(), 36, "every character of the alphabet appears");
}

#[test]
fn validation_names_what_is_wrong() {
    assert_eq!(SessionKey::parse(""), Err(InvalidKey::Length(0)));
    assert_eq!(SessionKey::parse("abc"), Err(InvalidKey::Length(3)));
    assert_eq!(
        SessionKey::parse(&"a".repeat(33)),
        Err(InvalidKey::Length(33))
    );
    assert_eq!(
        SessionKey::parse("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"),
        Err(InvalidKey::Charset(0))
    );
    assert_eq!(
        SessionKey::parse("abcdefghijklmnopqrstuvwxyz01234-"),
        Err(InvalidKey::Charset(31))
    );
    assert_eq!(
        SessionKey::from_bytes(&[0xff; 32]),
        Err(InvalidKey::Charset(0))
    );
    assert!(SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").is_ok());
}

#[test]
fn debug_output_does_not_leak_the_key() {
    let k = SessionKey::generate();
    assert!(!format!("{k:?}").contains(k.as_str()));
}

fn counting_engine() -> (Engine, Arc<CountingStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CountingStore::default());
    let engine = Engine::with_store(config(&dir, &ManualClock::new(T0)), store.clone()).unwrap();
    (engine, store, dir)
}

#[test]
fn malformed_keys_never_touch_storage() {
    let (engine, store, _dir) = counting_engine();
    let long = "a".repeat(4096);
    let malformed: Vec<&str> = vec![
        "",
        "short",
        &long,
        "abcdefghijklmnopqrstuvwxyz01234",   // 31
        "abcdefghijklmnopqrstuvwxyz0123456", // 33
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
        "abcdefghijklmnop/../../etc/passwd",
        "abcdefghijklmnopqrstuvwxyz01234\0",
        "ééééééééééééééé\u{1}", // 31 bytes of UTF-8
        "' OR 1=1 --aaaaaaaaaaaaaaaaaaaaa",
    ];
    for key in malformed {
        let mut s = engine.session(key);
        assert_eq!(s.session_key(), None, "{key:?} must be dropped");
        assert_eq!(s.get::<i64>("x").unwrap(), None);
        assert!(!engine.exists(key).unwrap());
        let mut r = engine.begin_request(Some(&format!("sessionid={key}")));
        assert_eq!(r.get::<i64>("x").unwrap(), None);
    }
    // Non-UTF-8 bytes are refused by the byte-level validator.
    assert!(SessionKey::from_bytes(b"\xff\xfeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").is_err());
    assert_eq!(store.calls(), 0, "no malformed key reached the store");
}

#[test]
fn loading_unknown_keys_creates_nothing() {
    let (engine, store, _dir) = counting_engine();
    for _ in 0..1000 {
        let key = SessionKey::generate();
        let mut s = engine.begin_request(Some(&format!("sessionid={key}")));
        assert_eq!(s.get::<String>("user").unwrap(), None);
        assert_eq!(s.session_key(), None);
        // The middleware: nothing modified, so nothing saved; the stale
        // cookie is deleted.
        let out = engine.end_request(&mut s, 200).unwrap();
        assert!(!out.saved);
        assert!(out.set_cookie.unwrap().starts_with("sessionid=\"\""));
    }
    assert_eq!(store.inner.stats().record_writes, 0);
    assert_eq!(store.inner.stats().index_writes, 0);
    assert_eq!(store.inner.len().unwrap(), 0);
}
