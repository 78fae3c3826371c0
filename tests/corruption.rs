//! A damaged record (flipped bits, truncation, an unknown format version,
//! garbage) loads as an empty session, is counted in the store's stats,
//! never panics, and does not stop the sweeper or harm other sessions. A
//! byte damaged in sled's file on disk is never served. Also: the record
//! decoder rejects arbitrary bytes cleanly.
//!
//! Records are damaged in place under a running engine through the raw
//! trees, so this test needs the feature `internals` (`make test` turns
//! it on).

mod common;

use std::sync::Arc;

use common::{saved_session, sled, Fixture};
use sessile::internals::{decode_header, Trees};
use sessile::{
    decode_data, Engine, Error, ManualClock, MemoryStore, Record, RecordError, SessionKey,
    SledOptions, SledStore,
};

/// Damages the record of `key` in place, through the sled trees under the
/// engine (a bug or a foreign writer; bytes damaged on disk never get this
/// far: see `a_byte_damaged_in_the_sled_file_is_never_served`).
fn damage(f: &Fixture, key: &str, with: impl FnOnce(&mut Vec<u8>)) {
    // Opening the same path again in this process shares the engine's db.
    let store = SledStore::open(
        f.dir.path().join("db"),
        &SledOptions::default()
            .cache_capacity(1 << 20)
            .flush_every_ms(None)
            .compression(None),
    )
    .unwrap();
    rewrite(store.trees(), key, with);
}

fn rewrite(trees: &impl Trees, key: &str, with: impl FnOnce(&mut Vec<u8>)) {
    let old = trees.get(key.as_bytes()).unwrap().unwrap();
    let mut bytes = old.to_vec();
    with(&mut bytes);
    trees.insert(key.as_bytes(), bytes.into()).unwrap();
}

/// Where a damage is found: in the header (the load refuses the record),
/// as the data is read, or only by the record checksum (a map that still
/// decodes, with other contents).
#[derive(Clone, Copy, PartialEq)]
enum Found {
    Header,
    Reading,
    Checksum,
}

/// What a damage is called, where it is found, and what it does.
type Damage = (&'static str, Found, fn(&mut Vec<u8>));

/// The records damaged below hold `{"pad": 1234567, "victim": i}`: bytes
/// 30.. are the map, 40 the header of the key "victim".
const DAMAGES: &[Damage] = &[
    ("a flipped bit in a key's header", Found::Reading, |b| {
        b[40] ^= 0x10
    }),
    ("torn write", Found::Header, |b| b.truncate(12)),
    ("unknown format version", Found::Header, |b| b[0] = 99),
    ("not a record at all", Found::Header, |b| {
        *b = b"garbage".to_vec()
    }),
    ("short data", Found::Reading, |b| b.truncate(b.len() - 1)),
    ("a changed digit of a value", Found::Checksum, |b| {
        b[39] ^= 0x01
    }),
];

/// Damages a fresh session in each way of `DAMAGES` (through `damage`)
/// and checks what the engine makes of it. `verifies` says whether the
/// store verifies record checksums on load.
fn damaged_sessions_are_empty(
    f: &Fixture,
    verifies: bool,
    damage: impl Fn(&str, fn(&mut Vec<u8>)),
) {
    let good = saved_session(&f.engine, &[("keep", 1)]);
    for (i, &(what, found, d)) in DAMAGES.iter().enumerate() {
        if found == Found::Checksum && !verifies {
            // Only the checksum shows this one, and this store's storage
            // checks its own reads instead.
            continue;
        }
        let key = saved_session(&f.engine, &[("victim", i as i64), ("pad", 1234567)]);
        damage(&key, d);
        let before = f.engine.stats().corrupt_records;
        let mut s = f.engine.session(&key);
        assert_eq!(s.get::<i64>("victim").unwrap(), None, "{what}");
        assert_eq!(s.session_key(), None, "{what}");
        assert!(f.engine.stats().corrupt_records > before, "{what} counted");
        let load = f
            .engine
            .store()
            .load(&SessionKey::parse(&key).unwrap(), f.engine.now_ms());
        if found == Found::Header || verifies {
            assert!(matches!(load, Err(Error::Corrupt(_))), "{what}: {load:?}");
        } else {
            // The header is sound: the data is checked as it is read.
            assert!(load.unwrap().is_some(), "{what}");
        }
        // Saving the fresh session issues a new key; the damaged one is left.
        s.insert("again", 1).unwrap();
        s.save().unwrap();
        assert_ne!(s.session_key(), Some(key.as_str()), "{what}");
    }
    assert_eq!(f.engine.session(&good).get::<i64>("keep").unwrap(), Some(1));
}

#[test]
fn damaged_records_load_as_empty_sessions_and_are_counted() {
    let f = sled();
    damaged_sessions_are_empty(&f, false, |key, d| damage(&f, key, d));
}

#[test]
fn the_memory_store_verifies_the_checksum_of_every_load() {
    let store = Arc::new(MemoryStore::new());
    let (dir, clock) = (tempfile::tempdir().unwrap(), ManualClock::new(common::T0));
    let engine = Engine::with_store(common::config(&dir, &clock), store.clone()).unwrap();
    let f = Fixture { engine, clock, dir };
    damaged_sessions_are_empty(&f, true, |key, d| rewrite(store.trees(), key, d));
}

/// sled checks a CRC-32 of every message in its log when it reads one,
/// so a byte damaged in its file is found there, before any load: the
/// engine never serves it. (sled's recovery also takes the damaged message
/// for the end of the log, so what was written after it is gone:
/// docs/OPERATIONS.md, "Durability".)
#[test]
fn a_byte_damaged_in_the_sled_file_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(common::T0);
    let open = || Engine::open(common::config(&dir, &clock)).unwrap();
    let keys: Vec<String> = {
        let engine = open();
        let keys = (0..50)
            .map(|i| {
                let mut s = engine.new_session();
                s.insert("marker", format!("marker-{i:03}")).unwrap();
                s.save().unwrap();
                s.session_key().unwrap().to_owned()
            })
            .collect();
        engine.flush().unwrap();
        keys
        // The engine is dropped here: the database is closed.
    };
    let victim = 20;
    let file = dir.path().join("db").join("db");
    let mut bytes = std::fs::read(&file).unwrap();
    let needle = format!("marker-{victim:03}");
    let mut copies = 0;
    for at in 0..bytes.len() - needle.len() {
        if bytes[at..].starts_with(needle.as_bytes()) {
            // "marker-020" becomes "marker-021": still a valid map.
            bytes[at + needle.len() - 1] ^= 0x01;
            copies += 1;
        }
    }
    assert!(
        copies > 0,
        "the database is not compressed: the value is in the file"
    );
    std::fs::write(&file, bytes).unwrap();

    let engine = open();
    for (i, key) in keys.iter().enumerate() {
        match engine.session(key).get::<String>("marker").unwrap() {
            Some(v) => assert_eq!(v, format!("marker-{i:03}"), "never other data"),
            None => assert!(i >= victim, "session {i}, saved before the damage, is kept"),
        }
    }
    assert_eq!(
        engine
            .session(&keys[victim])
            .get::<String>("marker")
            .unwrap(),
        None
    );
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
        assert!(Record::decode(&raw[..n]).is_err());
    }
    for i in 0..raw.len() {
        for bit in 0..8 {
            let mut b = raw.clone();
            b[i] ^= 1 << bit;
            assert!(Record::decode(&b).is_err(), "byte {i} bit {bit}");
            // Without the checksum, the data is checked as it is read.
            if let Ok(rec) = decode_header(&b) {
                let _ = decode_data(rec.data());
            }
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
        let _ = Record::decode(&blob);
        let _ = decode_header(&blob);
        let _ = decode_data(&blob);
    }
}

#[test]
fn session_data_must_be_a_map_with_string_keys() {
    assert_eq!(decode_data(&[0x90]), Err(RecordError::NotAMap)); // []
    assert_eq!(
        decode_data(&[0x81, 0x01, 0x02]),
        Err(RecordError::NonStringKey)
    ); // {1: 2}
    assert_eq!(
        decode_data(&[0x80, 0x00]),
        Err(RecordError::TrailingBytes(1))
    ); // trailing
    assert!(decode_data(&[0x80]).unwrap().is_empty());
    // Deeply nested arrays are refused, not a stack overflow.
    let mut deep = vec![0x81, 0xa1, b'a'];
    deep.extend(std::iter::repeat_n(0x91, 100_000));
    deep.push(0xc0);
    assert!(decode_data(&deep).is_err());
}
