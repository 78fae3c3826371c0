//! Arbitrary Cookie headers: parsing never panics, a found session key is
//! always a valid one, and nothing reaches the store for a key that is not.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sessile::{find_cookie, Config, Engine};
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::memory(Config::new("unused").reaper_interval(None)).unwrap())
}

fuzz_target!(|header: &str| {
    let _ = find_cookie(header, "sessionid");
    let mut s = engine().begin_request(Some(header));
    if let Some(k) = s.session_key() {
        assert_eq!(k.len(), 32);
        assert!(k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }
    assert_eq!(s.get::<i64>("x").unwrap(), None);
    let out = engine().end_request(&mut s, 200).unwrap();
    assert!(!out.saved);
});
