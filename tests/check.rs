//! `SledStore::check` (src/store/check.rs), the integrity check that
//! `sessile check` prints. It guards, for each way a database can be
//! damaged behind the store's back (a damaged record, data that is not a
//! map, a key that is not a session key, a record without its index entry,
//! a malformed index entry, an index entry without its record) and for the
//! stale entries normal use leaves:
//! - `check(false)` reports exactly that finding, counted as a fault or not
//!   as docs/CLI.md says, and writes nothing (a second check sees the same);
//! - `check(true)` fixes it durably (a check after reopening finds
//!   nothing), every healthy session still loads with its data, and the
//!   index serves the sweeper again: once every deadline has passed,
//!   `clear_expired` leaves neither records nor entries.
//!
//! The owner index too ("log out everywhere" reads it): a session missing
//! from it is a fault that repair files, so its owner's listing finds it
//! again; entries whose record is gone or names another owner are reported
//! as stale and removed by repair; a malformed one is a fault.
//!
//! Also: a check running beside writers on the same store (which change
//! owners as they go) reports no fault that is not there, and its repairs
//! leave the store sound.
//!
//! The damage is planted with sled itself, on the closed database: nothing
//! outside the library reaches the store's raw trees. (The memory store's
//! check has a unit test in src/store/check.rs.)

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod common;

use common::{open, released, with_store};
use sessile::{
    decode_data, encode_data, CheckFinding, CheckReport, Data, Expiry, Header, OwnerKey, Record,
    RecordDamage, RecordError, SessionKey, SledStore, Store, Value,
};
use sled::IVec;

/// 2026-01-01T00:00:00Z: the stores here have no clock; every write and
/// load says what time it is.
const T0: i64 = 1_767_225_600_000;
/// The writes each writer makes beside the checks.
const WRITES: u64 = 4000;
/// The healthy sessions each test starts with.
const SESSIONS: u64 = 4;
/// A key that is not a session key (32 bytes, but upper case).
const BAD_KEY: &[u8] = b"NOT-A-SESSION-KEY-32-BYTES-LONG!";

fn key(n: u64) -> SessionKey {
    SessionKey::parse(&format!("{n:032}")).unwrap()
}

/// A record of `data` under `expiry`, written at `now_ms` (a default age
/// of an hour).
fn record(data: &[u8], expiry: Expiry, now_ms: i64) -> Record {
    Record::new(Header::new(expiry, now_ms, 3600), data)
}

/// Moves the deadline of the live session `k` to `expiry` counted from
/// `now_ms`, as a save does (the index time only ever moves earlier).
fn set_expiry(
    store: &SledStore,
    k: &SessionKey,
    expiry: Expiry,
    now_ms: i64,
) -> sessile::Result<Record> {
    store.update(k, None, now_ms, &mut |current: &Record, _| {
        let mut rec = record(current.data(), expiry, now_ms);
        let at = rec.header().index_at_ms.min(current.header().index_at_ms);
        let header = Header {
            index_at_ms: at,
            ..*rec.header()
        };
        rec = Record::new(header, current.data());
        Ok(rec)
    })
}

fn data(n: u64) -> Vec<u8> {
    let mut d = Data::new();
    d.insert("n".into(), Value::from(n));
    encode_data(&d)
}

/// Damages the closed database with sled itself: `f` gets the trees
/// `sessions` and `expiry` (docs/FORMAT.md).
fn with_sled(db: &Path, f: impl FnOnce(&sled::Tree, &sled::Tree)) {
    let sled = sled::Config::new().path(db).open().unwrap();
    let sessions = sled.open_tree("sessions").unwrap();
    let expiry = sled.open_tree("expiry").unwrap();
    f(&sessions, &expiry);
    sled.flush().unwrap();
    drop((sessions, expiry, sled));
    released(db);
}

/// The index entry of session `n` (an entry ends with its key).
fn entry_of(expiry: &sled::Tree, n: u64) -> IVec {
    expiry
        .iter()
        .keys()
        .map(Result::unwrap)
        .find(|e| e.ends_with(key(n).as_bytes()))
        .unwrap()
}

/// Sessions 1..=SESSIONS, each holding its number, expiring an hour after
/// T0.
fn fill(db: &Path) {
    with_store(db, |store| {
        for n in 1..=SESSIONS {
            store
                .create(&key(n), record(&data(n), Expiry::Seconds(3600), T0), T0)
                .unwrap()
                .unwrap();
        }
    });
}

/// The session stored under `n`, loaded at T0, holds `n`.
fn loads(store: &SledStore, n: u64) -> bool {
    match store.load(&key(n), T0).unwrap() {
        Some(rec) => {
            assert_eq!(decode_data(rec.data()).unwrap()["n"], Value::from(n));
            true
        }
        None => false,
    }
}

/// One way of damaging a database.
struct Damage {
    what: &'static str,
    plant: fn(&Path),
    /// What `check(false)` must find.
    finds: fn(&CheckFinding) -> bool,
    fault: bool,
    /// The healthy sessions that stay after the repair.
    kept: &'static [u64],
}

const DAMAGES: &[Damage] = &[
    Damage {
        what: "a flipped byte (checksum mismatch)",
        plant: |db| {
            with_sled(db, |sessions, _| {
                let mut raw = sessions.get(key(2).as_bytes()).unwrap().unwrap().to_vec();
                *raw.last_mut().unwrap() ^= 0x01;
                sessions.insert(key(2).as_bytes(), raw).unwrap();
            })
        },
        finds: |f| {
            matches!(f, CheckFinding::DamagedRecord {
                key: k,
                damage: RecordDamage::Record(RecordError::Checksum { .. }),
            } if k == key(2).as_bytes())
        },
        fault: true,
        kept: &[1, 3, 4],
    },
    Damage {
        what: "data that is not a map (under a good checksum)",
        plant: |db| {
            with_sled(db, |sessions, _| {
                let raw = sessions.get(key(2).as_bytes()).unwrap().unwrap();
                let rec = Record::decode(&raw).unwrap();
                let bad = Record::encode(rec.header(), &[0x01]);
                sessions.insert(key(2).as_bytes(), bad).unwrap();
            })
        },
        finds: |f| {
            matches!(f, CheckFinding::DamagedRecord {
                key: k,
                damage: RecordDamage::Record(_),
            } if k == key(2).as_bytes())
        },
        fault: true,
        kept: &[1, 3, 4],
    },
    Damage {
        what: "a record under a key that is not a session key",
        plant: |db| {
            with_sled(db, |sessions, _| {
                let good = sessions.get(key(1).as_bytes()).unwrap().unwrap();
                sessions.insert(BAD_KEY, good).unwrap();
            })
        },
        finds: |f| {
            matches!(f, CheckFinding::DamagedRecord {
                key: k,
                damage: RecordDamage::InvalidKey(_),
            } if k == BAD_KEY)
        },
        fault: true,
        kept: &[1, 2, 3, 4],
    },
    Damage {
        what: "a record without its index entry",
        plant: |db| {
            with_sled(db, |_, expiry| {
                expiry.remove(entry_of(expiry, 2)).unwrap();
            })
        },
        finds: |f| {
            matches!(f, CheckFinding::RecordWithoutEntry { key: k, index_at_ms }
                if *k == key(2) && *index_at_ms == T0 + 3_600_000)
        },
        fault: true,
        kept: &[1, 2, 3, 4],
    },
    Damage {
        what: "a malformed index entry",
        plant: |db| {
            with_sled(db, |_, expiry| {
                expiry.insert(b"short", &[]).unwrap();
            })
        },
        finds: |f| matches!(f, CheckFinding::MalformedEntry { entry } if entry == b"short"),
        fault: true,
        kept: &[1, 2, 3, 4],
    },
    Damage {
        what: "an index entry without its record",
        plant: |db| {
            with_sled(db, |sessions, _| {
                sessions.remove(key(2).as_bytes()).unwrap();
            })
        },
        finds: |f| {
            matches!(f, CheckFinding::EntryWithoutRecord { key: k, at_ms }
                if k == key(2).as_bytes() && *at_ms == T0 + 3_600_000)
        },
        fault: false,
        kept: &[1, 3, 4],
    },
];

#[test]
fn each_kind_of_damage_is_reported_then_repaired() {
    for d in DAMAGES {
        let what = d.what;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        fill(&db);
        (d.plant)(&db);

        with_store(&db, |store| {
            let found = store.check(false).unwrap();
            assert_eq!(found.findings.len(), 1, "{what}: {found:?}");
            assert!((d.finds)(&found.findings[0]), "{what}: {found:?}");
            assert_eq!(found.findings[0].is_fault(), d.fault, "{what}");
            assert_eq!(found.faults(), u64::from(d.fault), "{what}: {found:?}");
            assert!(!found.repaired);
            assert_eq!(found, store.check(false).unwrap(), "{what}: check wrote");

            let fixed = store.check(true).unwrap();
            assert!(fixed.repaired, "{what}");
            assert!((d.finds)(&fixed.findings[0]), "{what}: {fixed:?}");
            assert_eq!(fixed.faults(), found.faults(), "{what}: {fixed:?}");
            for n in 1..=SESSIONS {
                assert_eq!(loads(store, n), d.kept.contains(&n), "{what}: session {n}");
            }
        });

        // Durable, and sound: nothing more to find after a reopen, and
        // every session left is reachable by the sweeper.
        with_store(&db, |store| {
            let after = store.check(false).unwrap();
            assert!(after.findings.is_empty(), "{what}: {after:?}");
            assert_eq!(after.records, d.kept.len() as u64, "{what}");
            assert_eq!(after.index_entries, d.kept.len() as u64, "{what}");
            let later = T0 + 3_600_000;
            let sweep = store.sweep(later, 1000).unwrap();
            assert_eq!(sweep.removed, d.kept.len(), "{what}");
            assert_eq!(store.len().unwrap(), 0, "{what}");
            assert_eq!(store.check(false).unwrap().index_entries, 0, "{what}");
        });
    }
}

#[test]
fn every_damage_at_once_is_reported_in_order_and_repaired_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    fill(&db);
    for d in DAMAGES {
        if d.kept.contains(&2) {
            (d.plant)(&db);
        }
    }
    // And 3 damaged (2 is taken by the record without its entry).
    with_sled(&db, |sessions, _| {
        let mut raw = sessions.get(key(3).as_bytes()).unwrap().unwrap().to_vec();
        *raw.last_mut().unwrap() ^= 0x01;
        sessions.insert(key(3).as_bytes(), raw).unwrap();
    });

    with_store(&db, |store| {
        let found = store.check(false).unwrap();
        let counts = |r: &CheckReport| {
            (
                r.records,
                r.index_entries,
                r.damaged_records,
                r.records_without_entry,
                r.malformed_entries,
                r.entries_without_record,
                r.faults(),
            )
        };
        // Records: 1..=4 and BAD_KEY; entries: 1, 3, 4 and "short".
        assert_eq!(counts(&found), (5, 4, 2, 1, 1, 0, 4), "{found:?}");
        // Records in key order, then index entries.
        let kinds: Vec<&str> = found
            .findings
            .iter()
            .map(|f| match f {
                CheckFinding::DamagedRecord { .. } => "damaged",
                CheckFinding::RecordWithoutEntry { .. } => "unindexed",
                CheckFinding::MalformedEntry { .. } => "malformed",
                CheckFinding::EntryWithoutRecord { .. } => "orphan",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["unindexed", "damaged", "damaged", "malformed"],
            "{found:?}"
        );

        let fixed = store.check(true).unwrap();
        // The index pass comes after the records pass: it sees the entry
        // filed for 2, and the entry of the damaged record removed, 3's,
        // which it removes as an entry without record.
        assert_eq!(counts(&fixed), (5, 5, 2, 1, 1, 1, 4), "{fixed:?}");
        let after = store.check(false).unwrap();
        assert_eq!(counts(&after), (3, 3, 0, 0, 0, 0, 0), "{after:?}");
        assert!(after.findings.is_empty());
        for n in [1, 2, 4] {
            assert!(loads(store, n), "session {n}");
        }
        assert!(!loads(store, 3));
    });
}

#[test]
fn stale_entries_are_counted_not_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    fill(&db);
    with_store(&db, |store| {
        // A deadline moved earlier files a new entry and leaves the old
        // one, which now points at nothing the record names.
        set_expiry(store, &key(1), Expiry::Seconds(60), T0).unwrap();
        for repair in [false, true] {
            let r = store.check(repair).unwrap();
            assert_eq!(
                (r.index_entries, r.stale_entries, r.faults()),
                (SESSIONS + 1, 1, 0),
                "{r:?}"
            );
            assert!(r.findings.is_empty(), "{r:?}");
        }
        assert!(loads(store, 1));
    });
}

/// The data key that names a session's owner in the owner tests.
const OWNER: &str = "uid";

/// An owner index entry as the store files it (src/owner.rs): the
/// owner's length (two bytes, big-endian), the owner, the session key.
fn owner_entry(owner: &[u8], k: &SessionKey) -> Vec<u8> {
    let mut e = (owner.len() as u16).to_be_bytes().to_vec();
    e.extend_from_slice(owner);
    e.extend_from_slice(k.as_bytes());
    e
}

/// Damages the closed database's owner index with sled itself.
fn with_owners(db: &Path, f: impl FnOnce(&sled::Tree)) {
    let sled = sled::Config::new().path(db).open().unwrap();
    let owners = sled.open_tree("owners").unwrap();
    f(&owners);
    sled.flush().unwrap();
    drop((owners, sled));
    released(db);
}

/// The keys of the live sessions the store's owner index lists for `owner`.
fn owned_by(store: &SledStore, owner: &str) -> Vec<SessionKey> {
    let mut keys: Vec<SessionKey> = store
        .owned_by(owner.as_bytes(), T0)
        .unwrap()
        .expect("an owner index")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    keys
}

#[test]
fn owner_index_damage_is_reported_then_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // 1 and 3 are ann's, 2 is user 7's (an integer), 4 has no owner.
    with_store(&db, |store| {
        assert!(store
            .index_owners(&OwnerKey::parse(OWNER).unwrap())
            .unwrap());
        let owners = [
            Some(Value::from("ann")),
            Some(Value::from(7)),
            Some(Value::from("ann")),
            None,
        ];
        for (n, owner) in (1..=SESSIONS).zip(owners) {
            let mut d = Data::new();
            d.insert("n".into(), Value::from(n));
            if let Some(o) = owner {
                d.insert(OWNER.into(), o);
            }
            let rec = record(&encode_data(&d), Expiry::Seconds(3600), T0);
            store.create(&key(n), rec, T0).unwrap().unwrap();
        }
    });
    with_owners(&db, |owners| {
        // 2 drops out of its owner's listing.
        owners.remove(owner_entry(b"7", &key(2))).unwrap();
        // Entries no record justifies: 1 filed under another owner, 4
        // (no owner) under ann, and a session that is gone.
        for (owner, n) in [(&b"bob"[..], 1), (b"ann", 4), (b"ann", 9)] {
            owners.insert(owner_entry(owner, &key(n)), &[]).unwrap();
        }
        // A length that does not add up.
        owners.insert(b"\x00\x09ann", &[]).unwrap();
    });

    with_store(&db, |store| {
        assert!(owned_by(store, "7").is_empty());
        let found = store.check(false).unwrap();
        let counts = |r: &CheckReport| {
            (
                r.owner_entries,
                r.records_without_owner_entry,
                r.stale_owner_entries,
                r.malformed_owner_entries,
                r.faults(),
            )
        };
        // Entries: ann's 1, 3, 4, 9, bob's 1 and the malformed one.
        assert_eq!(counts(&found), (6, 1, 3, 1, 2), "{found:?}");
        assert_eq!(found, store.check(false).unwrap(), "a check writes nothing");
        // Records first, then the owner index in its order (by owner's
        // length, then owner, then key).
        let stale = |owner: &[u8], n: u64| CheckFinding::StaleOwnerEntry {
            owner: owner.to_vec(),
            key: key(n).as_bytes().to_vec(),
        };
        assert_eq!(
            found.findings,
            [
                CheckFinding::RecordWithoutOwnerEntry {
                    key: key(2),
                    owner: b"7".to_vec()
                },
                stale(b"ann", 4),
                stale(b"ann", 9),
                stale(b"bob", 1),
                CheckFinding::MalformedOwnerEntry {
                    entry: b"\x00\x09ann".to_vec()
                },
            ]
        );
        let faults: Vec<bool> = found.findings.iter().map(CheckFinding::is_fault).collect();
        assert_eq!(faults, [true, false, false, false, true]);

        let fixed = store.check(true).unwrap();
        assert!(fixed.repaired);
        assert_eq!(fixed.findings, found.findings);
        // Each owner's listing is whole again.
        assert_eq!(owned_by(store, "7"), [key(2)]);
        assert_eq!(owned_by(store, "ann"), [key(1), key(3)]);
        assert!(owned_by(store, "bob").is_empty());
    });

    // Durably: nothing more to find after a reopen.
    with_store(&db, |store| {
        let after = store.check(false).unwrap();
        assert!(after.findings.is_empty(), "{after:?}");
        assert_eq!(after.owner_entries, 3, "{after:?}");
        for n in 1..=SESSIONS {
            assert!(loads(store, n), "session {n}");
        }
    });
}

#[test]
fn a_check_beside_writers_finds_no_fault_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("db")));
    // Every session's number names its owner: a create over a dead record
    // and the data rewrites below change it.
    assert!(store.index_owners(&OwnerKey::parse("n").unwrap()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    // Each writer owns its keys: creates, moves deadlines both ways (stale
    // entries) and rewrites data (another owner), deletes (entries outlive
    // records), sweeps.
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) && i < WRITES {
                    let k = key(w * 1_000_000 + i % 50);
                    let now = T0 + i as i64 * 1000;
                    match i % 4 {
                        0 => {
                            let _ = store
                                .create(&k, record(&data(i), Expiry::Seconds(3600), now), now)
                                .unwrap();
                        }
                        1 | 2 => {
                            let secs = if i % 4 == 1 { 60 } else { 7200 };
                            match set_expiry(&store, &k, Expiry::Seconds(secs), now) {
                                Ok(_) | Err(sessile::Error::SessionDeleted) => {}
                                Err(e) => panic!("{e}"),
                            }
                            let owner = store.update(&k, None, now, &mut |current: &Record, _| {
                                Ok(Record::new(*current.header(), &data(i)))
                            });
                            match owner {
                                Ok(_) | Err(sessile::Error::SessionDeleted) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                        _ => {
                            store.delete(&k).unwrap();
                            store.sweep(now, 10).unwrap();
                        }
                    }
                    i += 1;
                }
                i
            })
        })
        .collect();
    // Checks (every other one repairing) for as long as the writers have
    // work: a fixed amount of it, not a time.
    let mut checks = 0;
    loop {
        let r = store.check(checks % 2 == 1).unwrap();
        assert_eq!(r.faults(), 0, "{r:?}");
        checks += 1;
        if checks >= 2 && writers.iter().all(|w| w.is_finished()) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let ops: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(ops, 2 * WRITES, "{ops} writes beside {checks} checks");
    let r = store.check(false).unwrap();
    assert_eq!(r.faults(), 0, "{r:?}");
}
