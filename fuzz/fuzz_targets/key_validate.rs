//! Arbitrary bytes as a session key: validation accepts exactly 32 bytes
//! of [a-z0-9] and never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sessile::SessionKey;

fuzz_target!(|bytes: &[u8]| {
    let expected = bytes.len() == 32
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    match SessionKey::from_bytes(bytes) {
        Ok(k) => {
            assert!(expected);
            assert_eq!(k.as_bytes(), bytes);
        }
        Err(_) => assert!(!expected),
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        assert_eq!(SessionKey::parse(s).is_ok(), expected);
    }
});
