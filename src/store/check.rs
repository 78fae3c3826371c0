//! Integrity checking and repair of a [`TreeStore`] (`SledStore::check`,
//! `MemoryStore::check`; the `sessile check` command prints its report).
//!
//! Three passes, in the store's own order: the records first, then the
//! expiry index, then the owner index (an entry goes after its record),
//! against the invariants of trees.rs and owner.rs:
//! - a *damaged record*: a key that is not a session key, or bytes that do
//!   not decode (checksum, version, policy, data that is not a MessagePack
//!   map with string keys). No engine can serve it: a fault. Repair
//!   removes it; its index entry, if any, is then an entry without a
//!   record, which the index pass finds and removes.
//! - a *record without its index entry* (none at the record's
//!   `index_at_ms`, invariant 1): nothing would ever sweep it. A fault.
//!   Repair files the entry (the record is there already, so the entry
//!   comes after it: it is the missing half, not a replacement).
//! - a *malformed index entry* (wrong length): the engine never writes one.
//!   A fault. Repair removes it.
//! - an *index entry without a record*: what invariant 2 allows (a crash
//!   between two writes, or the lazy index: a deadline moved earlier leaves
//!   the old entry, which outlives its record once the session is deleted).
//!   Not a fault; the sweeper drops it when due. Repair removes it now.
//! - a *stale* entry, whose record points at another entry: the lazy index.
//!   Only counted.
//! - a *record without its owner entry*: a readable record (expired ones
//!   too, until swept) whose data names an owner under the store's owner
//!   key, and no (owner, key) entry in the owner index: its owner's
//!   listing (`Engine::sessions_of`, "log out everywhere") would miss it.
//!   A fault. Repair files the entry.
//! - a *malformed owner entry* (its length does not add up): never
//!   written. A fault. Repair removes it.
//! - a *stale owner entry*, whose record is gone or names another owner
//!   (or none): what the owner index's rules allow (a crash between two
//!   writes, or the delete of a damaged record). Not a fault; a listing
//!   drops it when it meets it. Repair removes it now.
//!
//! The check is safe beside an engine using the same store: each finding
//! is confirmed, and repaired, under its key's write lock (invariant 3), so
//! a save or sweep moving an entry while the check walks past it is not
//! taken for a fault.

use sled::IVec;

use super::trees::{parse_entry, TreeStore, Trees};
use crate::error::Result;
use crate::key::{InvalidKey, SessionKey};
use crate::owner::parse_owner_entry;
use crate::record::{decode_data, Record, RecordError};

/// Records or index entries read per page: one page in memory at a time,
/// whatever the size of the store (the findings aside).
const PAGE: usize = 1000;

/// What [`SledStore::check`](crate::SledStore::check) (or
/// `MemoryStore::check`) found, and with `repair`, fixed.
///
/// The counts cover the whole store; [`CheckReport::findings`] lists each
/// finding but the expiry index's stale entries (which are normal, and may
/// be many; stale owner entries are listed: only a crash or a damaged
/// record leaves one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// Records examined (damaged ones included).
    pub records: u64,
    /// Index entries examined (live, stale, malformed or without a record).
    pub index_entries: u64,
    /// Index entries whose record points at another entry (the lazy index
    /// leaves them; the sweeper drops them when due). Not a fault, not
    /// repaired.
    pub stale_entries: u64,
    /// Records no engine can serve ([`CheckFinding::DamagedRecord`]): a
    /// fault.
    pub damaged_records: u64,
    /// Records without the index entry at their `index_at_ms`
    /// ([`CheckFinding::RecordWithoutEntry`]): a fault.
    pub records_without_entry: u64,
    /// Index entries of the wrong length
    /// ([`CheckFinding::MalformedEntry`]): a fault.
    pub malformed_entries: u64,
    /// Index entries whose record is gone
    /// ([`CheckFinding::EntryWithoutRecord`]): not a fault.
    pub entries_without_record: u64,
    /// Owner index entries examined (0 when the store keeps no owner
    /// index).
    pub owner_entries: u64,
    /// Records whose data names an owner but that have no entry in the
    /// owner index ([`CheckFinding::RecordWithoutOwnerEntry`]): a fault.
    pub records_without_owner_entry: u64,
    /// Owner index entries whose length does not add up
    /// ([`CheckFinding::MalformedOwnerEntry`]): a fault.
    pub malformed_owner_entries: u64,
    /// Owner index entries whose record is gone or names another owner
    /// ([`CheckFinding::StaleOwnerEntry`]): not a fault.
    pub stale_owner_entries: u64,
    /// Every finding, in the order found: records in key order, then index
    /// entries in index order, then owner index entries in owner order.
    pub findings: Vec<CheckFinding>,
    /// The check ran with `repair`: every finding was fixed (and flushed).
    pub repaired: bool,
}

impl CheckReport {
    /// The findings that break the store's invariants: damaged records,
    /// records without their index entry or their owner entry, and
    /// malformed entries in either index. (Entries without a record and
    /// stale entries, of either index, are not faults.)
    pub fn faults(&self) -> u64 {
        self.damaged_records
            + self.records_without_entry
            + self.malformed_entries
            + self.records_without_owner_entry
            + self.malformed_owner_entries
    }
}

/// One thing [`SledStore::check`](crate::SledStore::check) found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckFinding {
    /// A record no engine can serve. A fault; repair removes it.
    DamagedRecord {
        /// The key it is stored under, as stored.
        key: Vec<u8>,
        /// What is wrong with it.
        damage: RecordDamage,
    },
    /// A readable record with no index entry at its `index_at_ms`: nothing
    /// would ever sweep it. A fault; repair files the entry.
    RecordWithoutEntry {
        /// The session's key.
        key: SessionKey,
        /// When the missing entry fires (the record's `index_at_ms`), ms
        /// since the Unix epoch.
        index_at_ms: i64,
    },
    /// An index entry of the wrong length: the engine never writes one. A
    /// fault; repair removes it.
    MalformedEntry {
        /// The entry as stored.
        entry: Vec<u8>,
    },
    /// An index entry whose record is gone. Not a fault (the sweeper drops
    /// it when due); repair removes it.
    EntryWithoutRecord {
        /// The key part of the entry, as stored.
        key: Vec<u8>,
        /// When the entry fires, ms since the Unix epoch.
        at_ms: i64,
    },
    /// A readable record whose data names an owner, with no entry for it
    /// in the owner index: its owner's listing would miss it. A fault;
    /// repair files the entry.
    RecordWithoutOwnerEntry {
        /// The session's key.
        key: SessionKey,
        /// The owner its data names (a string's bytes, an integer's
        /// digits).
        owner: Vec<u8>,
    },
    /// An owner index entry whose length does not add up: the engine never
    /// writes one. A fault; repair removes it.
    MalformedOwnerEntry {
        /// The entry as stored.
        entry: Vec<u8>,
    },
    /// An owner index entry whose record is gone, or names another owner
    /// or none. Not a fault (a listing of that owner drops it); repair
    /// removes it.
    StaleOwnerEntry {
        /// The owner the entry files the session under.
        owner: Vec<u8>,
        /// The key part of the entry, as stored.
        key: Vec<u8>,
    },
}

impl CheckFinding {
    /// Whether this finding breaks the store's invariants (see
    /// [`CheckReport::faults`]).
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            CheckFinding::EntryWithoutRecord { .. } | CheckFinding::StaleOwnerEntry { .. }
        )
    }
}

/// Why a stored record can never be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordDamage {
    /// It is stored under a key that is not a session key.
    #[error("not a valid session key: {0}")]
    InvalidKey(InvalidKey),
    /// Its bytes do not decode: header, checksum, or data that is not a
    /// MessagePack map with string keys.
    #[error("{0}")]
    Record(RecordError),
}

impl<T: Trees> TreeStore<T> {
    /// See the stores' `check` (`tree_store!` in trees.rs).
    pub(crate) fn check(&self, repair: bool) -> Result<CheckReport> {
        self.trees.recover();
        let mut report = CheckReport {
            repaired: repair,
            ..CheckReport::default()
        };
        self.check_records(repair, &mut report)?;
        self.check_index(repair, &mut report)?;
        self.check_owners(repair, &mut report)?;
        if repair {
            self.trees.flush()?;
        }
        Ok(report)
    }

    /// The records pass. A damaged record removed here leaves its entry
    /// behind, for the index pass to find.
    fn check_records(&self, repair: bool, report: &mut CheckReport) -> Result<()> {
        let mut after: Option<IVec> = None;
        loop {
            let page = self.trees.scan(after.as_deref(), PAGE)?;
            let full = page.len() == PAGE;
            for (key, raw) in page {
                report.records += 1;
                if !self.record_findings(&key, raw)?.is_empty() {
                    self.confirm_record(&key, repair, report)?;
                }
                after = Some(key);
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Looks again at the record under `key`, now under its lock, and
    /// reports (and repairs) what is still wrong with it.
    fn confirm_record(&self, key: &[u8], repair: bool, report: &mut CheckReport) -> Result<()> {
        let _guard = self.trees.locks().lock(key);
        let Some(raw) = self.get_raw(key)? else {
            // Deleted meanwhile.
            return Ok(());
        };
        // Empty when rewritten meanwhile (a save moved its entry, or
        // filed its owner).
        for finding in self.record_findings(key, raw)? {
            match &finding {
                CheckFinding::DamagedRecord { .. } => {
                    report.damaged_records += 1;
                    if repair {
                        self.remove_raw(key)?;
                    }
                }
                CheckFinding::RecordWithoutEntry { index_at_ms, .. } => {
                    report.records_without_entry += 1;
                    if repair {
                        self.index_insert(*index_at_ms, key)?;
                    }
                }
                CheckFinding::RecordWithoutOwnerEntry { owner, .. } => {
                    report.records_without_owner_entry += 1;
                    if repair {
                        self.owner_insert(owner, key)?;
                    }
                }
                CheckFinding::MalformedEntry { .. }
                | CheckFinding::EntryWithoutRecord { .. }
                | CheckFinding::MalformedOwnerEntry { .. }
                | CheckFinding::StaleOwnerEntry { .. } => {}
            }
            report.findings.push(finding);
        }
        Ok(())
    }

    /// What is wrong with the record `raw` stored under `key`: nothing, that
    /// it is damaged, or that it lacks its index entry, its owner entry or
    /// both (in that order).
    fn record_findings(&self, key: &[u8], raw: IVec) -> Result<Vec<CheckFinding>> {
        let damaged = |damage| {
            Ok(vec![CheckFinding::DamagedRecord {
                key: key.to_vec(),
                damage,
            }])
        };
        let session_key = match SessionKey::from_bytes(key) {
            Ok(k) => k,
            Err(e) => return damaged(RecordDamage::InvalidKey(e)),
        };
        // The checksum too, whether or not the trees check their reads, and
        // the data: a record that fails either cannot be served.
        let rec = match Record::decode_stored(raw).and_then(|rec| {
            decode_data(rec.data())?;
            Ok(rec)
        }) {
            Ok(rec) => rec,
            Err(e) => return damaged(RecordDamage::Record(e)),
        };
        let mut found = Vec::new();
        let at = rec.header().index_at_ms;
        if !self.index_contains(at, key)? {
            found.push(CheckFinding::RecordWithoutEntry {
                key: session_key.clone(),
                index_at_ms: at,
            });
        }
        // Expired records too: their entries go only after them, when they
        // are swept.
        let owners = self.owner_key();
        if let Some(owner) = owners.as_ref().and_then(|o| o.owner_of(rec.data())) {
            if !self.owner_contains(&owner, key)? {
                found.push(CheckFinding::RecordWithoutOwnerEntry {
                    key: session_key,
                    owner: owner.into_owned(),
                });
            }
        }
        Ok(found)
    }

    /// The index pass.
    fn check_index(&self, repair: bool, report: &mut CheckReport) -> Result<()> {
        let mut after: Option<IVec> = None;
        loop {
            let page = self.index_scan(after.as_deref(), PAGE)?;
            let full = page.len() == PAGE;
            for entry in page {
                report.index_entries += 1;
                self.check_entry(&entry, repair, report)?;
                after = Some(entry);
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn check_entry(&self, entry: &IVec, repair: bool, report: &mut CheckReport) -> Result<()> {
        let Some((at, key)) = parse_entry(entry) else {
            // No writer makes one of these: no lock to take.
            report.malformed_entries += 1;
            if repair {
                self.index_remove(entry)?;
            }
            report.findings.push(CheckFinding::MalformedEntry {
                entry: entry.to_vec(),
            });
            return Ok(());
        };
        if let Some(raw) = self.get_raw(key)? {
            // A damaged record was reported by the records pass.
            if matches!(Record::decode_stored(raw), Ok(rec) if rec.header().index_at_ms != at) {
                report.stale_entries += 1;
            }
            return Ok(());
        }
        // Confirmed under the key's lock: a create files its entry, then
        // writes its record, and a delete removes its record, then its
        // entry, under that lock.
        let _guard = self.trees.locks().lock(key);
        if self.get_raw(key)?.is_some() || !self.index_contains(at, key)? {
            return Ok(());
        }
        report.entries_without_record += 1;
        if repair {
            self.index_remove(entry)?;
        }
        report.findings.push(CheckFinding::EntryWithoutRecord {
            key: key.to_vec(),
            at_ms: at,
        });
        Ok(())
    }

    /// The owner index pass: an entry that no record justifies is stale.
    fn check_owners(&self, repair: bool, report: &mut CheckReport) -> Result<()> {
        let mut after: Option<IVec> = None;
        loop {
            let page = self.owner_scan(after.as_deref(), PAGE)?;
            let full = page.len() == PAGE;
            for entry in page {
                report.owner_entries += 1;
                self.check_owner_entry(&entry, repair, report)?;
                after = Some(entry);
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn check_owner_entry(
        &self,
        entry: &IVec,
        repair: bool,
        report: &mut CheckReport,
    ) -> Result<()> {
        let Some((owner, key)) = parse_owner_entry(entry) else {
            // No writer makes one of these: no lock to take.
            report.malformed_owner_entries += 1;
            if repair {
                self.owner_remove(entry)?;
            }
            report.findings.push(CheckFinding::MalformedOwnerEntry {
                entry: entry.to_vec(),
            });
            return Ok(());
        };
        if !self.owner_entry_is_stale(owner, key)? {
            return Ok(());
        }
        // Confirmed under the key's lock: a write files the new owner's
        // entry, writes the record, then removes the old owner's, under
        // that lock.
        let _guard = self.trees.locks().lock(key);
        if !self.owner_entry_is_stale(owner, key)? || !self.owner_contains(owner, key)? {
            return Ok(());
        }
        report.stale_owner_entries += 1;
        if repair {
            self.owner_remove(entry)?;
        }
        report.findings.push(CheckFinding::StaleOwnerEntry {
            owner: owner.to_vec(),
            key: key.to_vec(),
        });
        Ok(())
    }

    /// Whether no record justifies the owner entry (`owner`, `key`): the
    /// record is gone, or names another owner or none. A damaged record's
    /// entry is left to the records pass, which reports the record.
    fn owner_entry_is_stale(&self, owner: &[u8], key: &[u8]) -> Result<bool> {
        let Some(raw) = self.get_raw(key)? else {
            return Ok(true);
        };
        let Ok(rec) = Record::decode_stored(raw) else {
            return Ok(false);
        };
        let owners = self.owner_key();
        let named = owners.as_ref().and_then(|o| o.owner_of(rec.data()));
        Ok(named.as_deref() != Some(owner))
    }
}

#[cfg(test)]
mod tests {
    //! The memory store's check, with damage planted through its trees
    //! (tests/check.rs plants it in sled's files and checks a `SledStore`).

    use super::*;
    use crate::expiry::Expiry;
    use crate::record::{encode_data, Data, Header};
    use crate::store::trees::entry;
    use crate::store::{MemoryStore, Store};

    const NOW: i64 = 1_767_225_600_000;

    /// A record of `data` under the default policy, written at `NOW`.
    fn record(data: &Data) -> crate::Record {
        let at = NOW + 3_600_000;
        let header = Header {
            expiry: Expiry::Default,
            expires_at_ms: at,
            index_at_ms: at,
        };
        crate::Record::new(header, &encode_data(data))
    }

    fn key(n: u64) -> SessionKey {
        SessionKey::parse(&format!("{n:032}")).unwrap()
    }

    fn store_with(n: u64) -> MemoryStore {
        let store = MemoryStore::new();
        for i in 1..=n {
            let mut data = Data::new();
            data.insert("n".into(), i.into());
            store.create(&key(i), record(&data), NOW).unwrap().unwrap();
        }
        store
    }

    fn header(store: &MemoryStore, k: &SessionKey) -> Header {
        *store.load(k, NOW).unwrap().unwrap().header()
    }

    fn assert_healthy(store: &MemoryStore, keys: &[u64]) {
        let report = store.check(false).unwrap();
        assert_eq!(report.faults(), 0, "{report:?}");
        assert!(report.findings.is_empty(), "{report:?}");
        for &i in keys {
            let rec = store.load(&key(i), NOW).unwrap().unwrap();
            assert_eq!(decode_data(rec.data()).unwrap()["n"], i.into());
        }
    }

    #[test]
    fn every_kind_of_damage_is_found_then_repaired() {
        let store = store_with(6);
        let t = &store.0.trees;
        // 2: its record loses its index entry.
        let h2 = header(&store, &key(2));
        t.index_remove(&entry(h2.index_at_ms, key(2).as_bytes()))
            .unwrap();
        // 3: its record goes, its entry stays.
        let h3 = header(&store, &key(3));
        t.remove(key(3).as_bytes()).unwrap();
        // 4: a flipped byte (the memory store keeps no checksum of its own).
        let mut raw = t.get(key(4).as_bytes()).unwrap().unwrap().to_vec();
        *raw.last_mut().unwrap() ^= 0x01;
        t.insert(key(4).as_bytes(), raw.into()).unwrap();
        // A record under a key that is not a session key. (A malformed
        // entry cannot be planted through `Trees`, which files whole
        // entries: tests/check.rs plants one in sled.)
        let good = t.get(key(1).as_bytes()).unwrap().unwrap();
        t.insert(b"NOT-A-KEY", good).unwrap();

        let found = store.check(false).unwrap();
        assert_eq!(found, store.check(false).unwrap(), "a check writes nothing");
        assert_eq!(
            (
                found.records,
                found.damaged_records,
                found.records_without_entry,
                found.malformed_entries,
                found.entries_without_record,
                found.faults(),
                found.repaired
            ),
            (6, 2, 1, 0, 1, 3, false),
            "{found:?}"
        );
        assert!(found.findings.contains(&CheckFinding::RecordWithoutEntry {
            key: key(2),
            index_at_ms: h2.index_at_ms
        }));
        assert!(found.findings.contains(&CheckFinding::EntryWithoutRecord {
            key: key(3).as_bytes().to_vec(),
            at_ms: h3.index_at_ms
        }));
        assert!(found.findings.iter().any(|f| matches!(
            f,
            CheckFinding::DamagedRecord {
                key: k,
                damage: RecordDamage::Record(RecordError::Checksum { .. })
            } if &k[..] == key(4).as_bytes()
        )));
        assert!(found.findings.contains(&CheckFinding::DamagedRecord {
            key: b"NOT-A-KEY".to_vec(),
            damage: RecordDamage::InvalidKey(InvalidKey::Length(9)),
        }));

        let fixed = store.check(true).unwrap();
        assert!(fixed.repaired);
        // The damaged record's entry is found and removed as well.
        assert_eq!(fixed.entries_without_record, 2, "{fixed:?}");
        assert_healthy(&store, &[1, 2, 5, 6]);
        assert_eq!(store.check(false).unwrap().index_entries, 4);
    }
}
