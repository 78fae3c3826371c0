//! A record damaged on disk (flipped bits, truncation, an unknown format
//! version, garbage) loads as an empty session, is counted in the store's
//! stats, never panics, and does not stop the sweeper or harm other
//! sessions. Also: the record decoder rejects arbitrary bytes cleanly.

mod common;

use common::{saved_session, sled};
use sessile::{
    decode_data, Error, IVec, Record, RecordError, SessionKey, SledOptions, SledStore, Trees,
};

fn damage(f: &common::Fixture, key: &str, with: impl FnOnce(&mut Vec<u8>)) {
    // Opening the same path again in this process shares the engine's db.
    let store = SledStore::open(
        f.dir.path().join("db"),
        &SledOptions {
            cache_capacity: 1 << 20,
            flush_every_ms: None,
            compression: None,
        },
    )
    .unwrap();
    let old = store.trees().get(key.as_bytes()).unwrap().unwrap();
    let mut bytes = old.to_vec();
    with(&mut bytes);
    store.trees().insert(key.as_bytes(), bytes.into()).unwrap();
}

#[test]
fn damaged_records_load_as_empty_sessions_and_are_counted() {
    let f = sled();
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let damages: Vec<Damage> = vec![
        Box::new(|b| b[40] ^= 0x10),            // a flipped bit in the data
        Box::new(|b| b.truncate(12)),           // torn write
        Box::new(|b| b[0] = 99),                // unknown format version
        Box::new(|b| *b = b"garbage".to_vec()), // not a record at all
        Box::new(|b| b.truncate(b.len() - 1)),  // short data
    ];
    let good = saved_session(&f.engine, &[("keep", 1)]);
    for (i, d) in damages.iter().enumerate() {
        let key = saved_session(&f.engine, &[("victim", i as i64), ("pad", 1234567)]);
        damage(&f, &key, d);
        let before = f.engine.stats().corrupt_records;
        let mut s = f.engine.session(&key);
        assert_eq!(s.get::<i64>("victim").unwrap(), None, "damage #{i}");
        assert_eq!(s.session_key(), None);
        assert!(
            f.engine.stats().corrupt_records > before,
            "damage #{i} counted"
        );
        assert!(matches!(
            f.engine
                .store()
                .load(&SessionKey::parse(&key).unwrap(), f.engine.now_ms()),
            Err(Error::Corrupt(_))
        ));
        // Saving the fresh session issues a new key; the damaged one is left.
        s.insert("again", 1).unwrap();
        s.save().unwrap();
        assert_ne!(s.session_key(), Some(key.as_str()));
    }
    assert_eq!(f.engine.session(&good).get::<i64>("keep").unwrap(), Some(1));
}

#[test]
fn the_sweeper_gets_past_damaged_records() {
    let f = sled();
    let victim = saved_session(&f.engine, &[("a", 1)]);
    let other = saved_session(&f.engine, &[("b", 2)]);
    damage(&f, &victim, |b| b[31] ^= 0xff);
    f.clock.advance_secs(1_209_601);
    // Both entries are due: the damaged record is dropped, the other swept.
    assert_eq!(f.engine.clear_expired().unwrap(), 2);
    assert_eq!(f.engine.store().len().unwrap(), 0);
    assert!(!f.engine.exists(&other).unwrap());
}

#[test]
fn the_decoder_rejects_arbitrary_bytes_without_panicking() {
    // A cheap deterministic stand-in for the fuzzer: every prefix, every
    // single-byte corruption of a real record, and some pseudo-random blobs.
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1), ("b", 2)]);
    let raw = f
        .engine
        .store()
        .load(&SessionKey::parse(&key).unwrap(), f.engine.now_ms())
        .unwrap()
        .unwrap()
        .raw()
        .to_vec();
    for n in 0..raw.len() {
        assert!(Record::decode(IVec::from(&raw[..n])).is_err());
    }
    for i in 0..raw.len() {
        for bit in 0..8 {
            let mut b = raw.clone();
            b[i] ^= 1 << bit;
            assert!(Record::decode(IVec::from(b)).is_err(), "byte {i} bit {bit}");
        }
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in 0..2000 {
        let blob: Vec<u8> = (0..len % 300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = Record::decode(IVec::from(&blob[..]));
        let _ = decode_data(&blob);
    }
}

#[test]
fn session_data_must_be_a_map_with_string_keys() {
    assert!(matches!(decode_data(&[0x90]), Err(RecordError::Data(_)))); // []
    assert!(matches!(
        decode_data(&[0x81, 0x01, 0x02]),
        Err(RecordError::Data(_))
    )); // {1: 2}
    assert!(matches!(
        decode_data(&[0x80, 0x00]),
        Err(RecordError::Data(_))
    )); // trailing
    assert!(decode_data(&[0x80]).unwrap().is_empty());
    // Deeply nested arrays are refused, not a stack overflow.
    let mut deep = vec![0x81, 0xa1, b'a'];
    deep.extend(std::iter::repeat_n(0x91, 100_000));
    deep.push(0xc0);
    assert!(decode_data(&deep).is_err());
}
