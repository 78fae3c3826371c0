//! The storage algorithm of DESIGN.md §3, written once over any pair of
//! ordered trees (sled on disk, a `BTreeSet` in memory).
//!
//! Invariants, kept without multi-tree transactions:
//! 1. every record has an index entry at its `index_at_ms`, and
//!    `index_at_ms <= expires_at_ms` (an entry may fire early, never late);
//! 2. an index entry is written *before* the record that needs it and
//!    removed *after* the record it served, so a crash between the two
//!    writes leaves at worst an entry without a record, which the sweeper
//!    discards;
//! 3. a record changes only under its key's write lock, read-modify-write,
//!    so concurrent saves merge their deltas instead of overwriting.
//!
//! Why locks and not sled's compare-and-swap: a database directory belongs
//! to one process (it is file-locked), so every writer is in this process
//! and an in-process lock gives the same atomicity. Measured here, sled's
//! get + compare_and_swap costs about 3-4x a get + insert (see
//! `benches/hot_path.rs`, `floor/sled get+cas`), and saves are the hot path.
//!
//! Outside the crate only [`TreeStore`] (as `SledStore` and `MemoryStore`)
//! and its `Store` operations are public: the trees, the index entries and
//! the raw accessors below bypass these invariants. `TreeStore::check`
//! (check.rs) verifies and repairs them. The `pub` items here that are not
//! re-exported (`Trees`, `Entry`, `entry`, …) are reachable from outside
//! only with the feature `internals`, for tests and benches (internals.rs).

use std::fmt::Debug;
use std::sync::atomic::{
    AtomicU64,
    Ordering::{Relaxed, SeqCst},
};

use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard, RwLock};
use sled::IVec;

use super::{Change, ReadToken, Store, StoreStats, Sweep};
use crate::error::{Error, Result};
use crate::key::{SessionKey, KEY_LEN};
use crate::owner::{entry_session, owner_entry, owner_prefix, OwnerKey};
use crate::record::{Header, Record, RecordError};

/// Length of one index entry: 8 bytes of time, then the session key.
pub const ENTRY_LEN: usize = 8 + KEY_LEN;

/// One index entry: `fire_at_ms` (order-preserving big-endian) ++ key.
pub type Entry = [u8; ENTRY_LEN];

/// Per-key write locks: a fixed table of mutexes picked by a hash of the
/// key. Two keys may share a stripe (harmless: it only serialises them).
///
/// Each stripe also counts the writes made under it: the [`ReadToken`]s
/// this store issues (see there for the invariant).
#[derive(Debug)]
pub struct KeyLocks {
    id: u64,
    stripes: Box<[Stripe]>,
}

#[derive(Debug, Default)]
struct Stripe {
    lock: Mutex<()>,
    writes: AtomicU64,
}

/// Held while writing a key; counts the write when dropped.
#[derive(Debug)]
pub struct KeyGuard<'a> {
    stripe: &'a Stripe,
    id: u64,
    _lock: MutexGuard<'a, ()>,
}

impl KeyGuard<'_> {
    /// The token of the record this guard's write leaves.
    fn after_write(&self) -> ReadToken {
        ReadToken::new(self.id, self.stripe.writes.load(SeqCst) + 1)
    }

    /// The token of a record read now, under the lock.
    fn now(&self) -> ReadToken {
        ReadToken::new(self.id, self.stripe.writes.load(SeqCst))
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        // Runs before `_lock` is released.
        self.stripe.writes.fetch_add(1, SeqCst);
    }
}

const STRIPES: usize = 1024;
static NEXT_LOCKS_ID: AtomicU64 = AtomicU64::new(1);

impl KeyLocks {
    /// A table of 1024 stripes.
    pub fn new() -> KeyLocks {
        KeyLocks {
            id: NEXT_LOCKS_ID.fetch_add(1, SeqCst),
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
        }
    }

    fn stripe(&self, key: &[u8]) -> &Stripe {
        // Keys are random already (a key someone picks only shares a
        // stripe, never a lock's meaning), so mixing 8 bytes at a time is
        // enough: a byte-at-a-time hash (FNV-1a) was a visible share of
        // every load in `benches/hot_path.rs` (get). Whole words are read
        // in place and only a short tail is copied, for the same reason.
        let mix = |h: u64, w: u64| (h.rotate_left(23) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut h: u64 = key.len() as u64;
        let (words, tail) = key.as_chunks::<8>();
        for w in words {
            h = mix(h, u64::from_le_bytes(*w));
        }
        if !tail.is_empty() {
            let mut w = [0u8; 8];
            w[..tail.len()].copy_from_slice(tail);
            h = mix(h, u64::from_le_bytes(w));
        }
        &self.stripes[(h >> 54) as usize % STRIPES]
    }

    /// Locks every stripe (in order, so two callers cannot deadlock),
    /// waiting for every write under way to finish. Each stripe counts a
    /// write when its guard drops, so records read before are read again by
    /// the next save.
    pub fn lock_every_stripe(&self) -> Vec<KeyGuard<'_>> {
        self.stripes
            .iter()
            .map(|stripe| KeyGuard {
                _lock: stripe.lock.lock(),
                stripe,
                id: self.id,
            })
            .collect()
    }

    /// Locks `key`'s stripe until the guard is dropped.
    pub fn lock(&self, key: &[u8]) -> KeyGuard<'_> {
        let stripe = self.stripe(key);
        KeyGuard {
            _lock: stripe.lock.lock(),
            stripe,
            id: self.id,
        }
    }

    /// The token of a record of `key` about to be read.
    fn observe(&self, key: &[u8]) -> ReadToken {
        ReadToken::new(self.id, self.stripe(key).writes.load(SeqCst))
    }
}

impl Default for KeyLocks {
    fn default() -> Self {
        KeyLocks::new()
    }
}

/// Two ordered trees a [`TreeStore`] runs on: `sessions` (key → record)
/// and `expiry` (index entry → nothing).
pub trait Trees: Send + Sync + Debug {
    /// Reads a record.
    fn get(&self, key: &[u8]) -> Result<Option<IVec>>;
    /// Writes a record (insert or overwrite). Takes the bytes as an
    /// [`IVec`] so the caller can keep a handle on them without a copy.
    fn insert(&self, key: &[u8], value: IVec) -> Result<()>;
    /// Removes a record, returning it.
    fn remove(&self, key: &[u8]) -> Result<Option<IVec>>;
    /// The per-key write locks, shared by every store over these trees.
    fn locks(&self) -> &KeyLocks;
    /// Files an index entry.
    fn index_insert(&self, entry: &Entry) -> Result<()>;
    /// Removes an index entry (given as bytes: the sweeper also removes
    /// malformed ones).
    fn index_remove(&self, entry: &[u8]) -> Result<()>;
    /// Up to `limit` index entries that fire at or before `upto_ms`, oldest
    /// first, as stored (a damaged entry may have the wrong length).
    fn index_due(&self, upto_ms: i64, limit: usize) -> Result<Vec<IVec>>;
    /// Up to `limit` records with keys after `after` (from the start when
    /// `None`), in key order, as stored.
    fn scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(IVec, IVec)>>;
    /// Up to `limit` index entries after `after`, in order.
    fn index_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>>;
    /// Files an owner index entry (`owner.rs`).
    fn owner_insert(&self, entry: &[u8]) -> Result<()>;
    /// Removes an owner index entry.
    fn owner_remove(&self, entry: &[u8]) -> Result<()>;
    /// Every owner index entry that starts with `prefix`, in order.
    fn owner_entries(&self, prefix: &[u8]) -> Result<Vec<IVec>>;
    /// Up to `limit` owner index entries after `after` (from the start
    /// when `None`), in order, as stored.
    fn owner_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>>;
    /// Whether the owner index holds `entry`.
    fn owner_contains(&self, entry: &[u8]) -> Result<bool>;
    /// Number of owner index entries.
    fn owner_count(&self) -> Result<usize>;
    /// The owner key the owner index is kept by (`None`: no index), shared
    /// by every store over these trees.
    fn owner_key(&self) -> &RwLock<Option<Arc<OwnerKey>>>;
    /// Empties the owner index and forgets the owner key it was kept by,
    /// where the trees keep settings.
    fn clear_owner_index(&self) -> Result<()>;
    /// Records `key` as the owner key the index is kept by, where the
    /// trees keep settings (once every record is filed under it).
    fn remember_owner_key(&self, key: &OwnerKey) -> Result<()>;
    /// Makes acknowledged writes durable.
    fn flush(&self) -> Result<()>;
    /// Number of records.
    fn record_count(&self) -> Result<usize>;
    /// Number of index entries.
    fn index_count(&self) -> Result<usize>;
    /// Whether the storage itself detects damaged bytes on every read, so
    /// that loads need not verify each record's checksum again (sled: every
    /// message in its log carries a CRC-32, checked whenever sled reads it
    /// from disk; a damaged one never reaches a reader). `false`: loads
    /// verify the record checksum.
    fn checks_reads(&self) -> bool {
        false
    }
    /// Called at the start of every store operation, while no key lock is
    /// held: trees whose storage stopped working may replace it here
    /// (sled's, after a full disk). Must be cheap when nothing is wrong.
    fn recover(&self) {}
    /// How often the storage stopped accepting writes, and recovered.
    fn failures(&self) -> StorageFailures {
        StorageFailures::default()
    }
}

/// Counts of storage failures: how often the storage stopped accepting
/// writes, and recovered (see [`StoreStats`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct StorageFailures {
    /// Times the storage stopped accepting writes (once each time, not per
    /// failing call).
    pub failures: u64,
    /// Of those, the times writes acknowledged since the last flush were
    /// not yet known to be on disk (a recovery loses them).
    pub losing: u64,
    /// Times the storage was recovered in place.
    pub recoveries: u64,
}

/// A [`Store`] over a pair of ordered trees: records, and an expiry index
/// of time-ordered entries (DESIGN.md §3). See [`super::SledStore`] and
/// [`super::MemoryStore`]; [`TreeStore::check`] verifies the two trees
/// against each other.
#[derive(Debug)]
pub struct TreeStore<T> {
    pub(crate) trees: T,
    record_writes: AtomicU64,
    index_writes: AtomicU64,
    owner_writes: AtomicU64,
    corrupt: AtomicU64,
}

/// How much of a record a load brings into the CPU cache ahead of the
/// lookup: the header and the first few entries, where the keys that every
/// request reads usually are (a typical record is ~200 bytes; a 2 KB one is
/// mostly values nobody reads on every request).
const TOUCHED_BYTES: usize = 256;

/// Reads one byte of every 64-byte cache line of `b` after the first.
fn touch_lines(b: &[u8]) {
    for i in (64..b.len()).step_by(64) {
        std::hint::black_box(b[i]);
    }
}

/// Encodes an index entry.
pub fn entry(fire_at_ms: i64, key: &[u8]) -> Entry {
    let mut e = [0u8; ENTRY_LEN];
    // Flipping the sign bit makes big-endian byte order match i64 order.
    e[..8].copy_from_slice(&((fire_at_ms as u64) ^ (1 << 63)).to_be_bytes());
    let n = key.len().min(KEY_LEN);
    e[8..8 + n].copy_from_slice(&key[..n]);
    e
}

/// The time part of an index entry (or of a time bound).
pub fn time_prefix(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

/// Decodes an index entry; `None` if it has the wrong length.
pub fn parse_entry(e: &[u8]) -> Option<(i64, &[u8])> {
    if e.len() != ENTRY_LEN {
        return None;
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&e[..8]);
    Some(((u64::from_be_bytes(t) ^ (1 << 63)) as i64, &e[8..]))
}

impl<T: Trees> TreeStore<T> {
    pub(super) fn with_trees(trees: T) -> Self {
        TreeStore {
            trees,
            record_writes: AtomicU64::new(0),
            index_writes: AtomicU64::new(0),
            owner_writes: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
        }
    }

    // Raw access for `check` (check.rs). These bypass invariants 1-3: take
    // the key's lock around any write, and leave the invariants true.

    /// The record stored under `key` exactly as stored: expired, damaged or
    /// under a key that is not a valid session key.
    pub(crate) fn get_raw(&self, key: &[u8]) -> Result<Option<IVec>> {
        self.trees.get(key)
    }

    /// Removes the record stored under `key`, leaving the index alone.
    /// Returns the bytes removed.
    pub(crate) fn remove_raw(&self, key: &[u8]) -> Result<Option<IVec>> {
        self.remove_record(key)
    }

    /// Up to `limit` index entries after `after` (from the start when
    /// `None`), oldest first, as stored (a damaged entry may have the wrong
    /// length; [`parse_entry`] tells).
    pub(crate) fn index_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>> {
        self.trees.index_scan(after, limit)
    }

    /// Whether the index holds the entry for `key` at `fire_at_ms`.
    pub(crate) fn index_contains(&self, fire_at_ms: i64, key: &[u8]) -> Result<bool> {
        // `Trees` has no point lookup on the index, and `index_scan` starts
        // strictly after a bound. Start after the entry less its last byte:
        // only entries sharing that prefix (the same millisecond and the
        // same first 31 bytes of key) sort between it and the one sought,
        // so the first entry read is almost always the answer. Reading one
        // entry at a time keeps the usual case to one read (pages of 64
        // made `sessile check` about five times slower).
        let want = entry(fire_at_ms, key);
        let mut after = want[..ENTRY_LEN - 1].to_vec();
        loop {
            let Some(e) = self.trees.index_scan(Some(&after), 1)?.pop() else {
                return Ok(false);
            };
            match e[..].cmp(&want[..]) {
                std::cmp::Ordering::Less => after = e.to_vec(),
                std::cmp::Ordering::Equal => return Ok(true),
                std::cmp::Ordering::Greater => return Ok(false),
            }
        }
    }

    /// Files the index entry for `key` at `fire_at_ms`.
    pub(crate) fn index_insert(&self, fire_at_ms: i64, key: &[u8]) -> Result<()> {
        self.file(fire_at_ms, key)
    }

    /// Removes one index entry, given as stored (malformed ones too).
    pub(crate) fn index_remove(&self, entry: &[u8]) -> Result<()> {
        self.index_writes.fetch_add(1, Relaxed);
        self.trees.index_remove(entry)
    }

    /// Whether the owner index holds the entry of session `key` owned by
    /// `owner`.
    pub(crate) fn owner_contains(&self, owner: &[u8], key: &[u8]) -> Result<bool> {
        self.trees.owner_contains(&owner_entry(owner, key))
    }

    /// Files the owner index entry of session `key` owned by `owner`.
    pub(crate) fn owner_insert(&self, owner: &[u8], key: &[u8]) -> Result<()> {
        self.file_owner(Some(owner), key)
    }

    /// Removes one owner index entry, given as stored (malformed ones too).
    pub(crate) fn owner_remove(&self, entry: &[u8]) -> Result<()> {
        self.owner_writes.fetch_add(1, Relaxed);
        self.trees.owner_remove(entry)
    }

    /// Up to `limit` owner index entries after `after` (from the start when
    /// `None`), in order, as stored.
    pub(crate) fn owner_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>> {
        self.trees.owner_scan(after, limit)
    }

    fn decode(&self, raw: IVec) -> Result<Record> {
        self.parse(raw).map_err(|e| {
            self.corrupt.fetch_add(1, Relaxed);
            Error::Corrupt(e)
        })
    }

    /// Decodes a record read from the trees: its header, and its checksum
    /// unless the trees check their own reads ([`Trees::checks_reads`]).
    fn parse(&self, raw: IVec) -> std::result::Result<Record, RecordError> {
        if self.trees.checks_reads() {
            Record::decode_header(raw)
        } else {
            Record::decode_stored(raw)
        }
    }

    fn file(&self, at: i64, key: &[u8]) -> Result<()> {
        self.index_writes.fetch_add(1, Relaxed);
        self.trees.index_insert(&entry(at, key))
    }

    fn unfile(&self, e: &Entry) -> Result<()> {
        self.index_writes.fetch_add(1, Relaxed);
        self.trees.index_remove(e)
    }

    /// The owner key the owner index is kept by, if any (read once per
    /// write: a rebuild under way waits for the writes that read it).
    pub(crate) fn owner_key(&self) -> Option<Arc<OwnerKey>> {
        self.trees.owner_key().read().clone()
    }

    fn file_owner(&self, owner: Option<&[u8]>, key: &[u8]) -> Result<()> {
        match owner {
            Some(o) => {
                self.owner_writes.fetch_add(1, Relaxed);
                self.trees.owner_insert(&owner_entry(o, key))
            }
            None => Ok(()),
        }
    }

    fn unfile_owner(&self, owner: Option<&[u8]>, key: &[u8]) -> Result<()> {
        match owner {
            Some(o) => {
                self.owner_writes.fetch_add(1, Relaxed);
                self.trees.owner_remove(&owner_entry(o, key))
            }
            None => Ok(()),
        }
    }

    /// Handles one due index entry; returns whether it deleted a session.
    fn sweep_entry(&self, raw_entry: &[u8], now_ms: i64) -> Result<bool> {
        let Some((fire_at, key)) = parse_entry(raw_entry) else {
            // Not an entry this code wrote (damaged index): drop it.
            self.index_writes.fetch_add(1, Relaxed);
            self.trees.index_remove(raw_entry)?;
            return Ok(false);
        };
        let this = entry(fire_at, key);
        let _guard = self.trees.locks().lock(key);
        let Some(raw) = self.trees.get(key)? else {
            // The record is gone (deleted, or a crash before it was
            // written): the entry serves nothing.
            self.unfile(&this)?;
            return Ok(false);
        };
        let Ok(rec) = self.parse(raw) else {
            // Unreadable, so it can never be served: remove it rather than
            // keep it forever.
            self.corrupt.fetch_add(1, Relaxed);
            self.remove_record(key)?;
            self.unfile(&this)?;
            return Ok(true);
        };
        let h = *rec.header();
        if h.index_at_ms != fire_at {
            // The record was re-filed under another entry.
            self.unfile(&this)?;
            return Ok(false);
        }
        if rec.is_expired(now_ms) {
            self.remove_record(key)?;
            self.unfile(&this)?;
            let owners = self.owner_key();
            let owner = owners.as_ref().and_then(|o| o.owner_of(rec.data()));
            self.unfile_owner(owner.as_deref(), key)?;
            return Ok(true);
        }
        // Lazy index: the deadline moved later since this entry was filed.
        // File the real one first, then point the record at it, then drop
        // this one.
        self.file(h.expires_at_ms, key)?;
        let header = Header {
            index_at_ms: h.expires_at_ms,
            ..h
        };
        self.write_record(key, IVec::from(Record::encode(&header, rec.data())))?;
        self.unfile(&this)?;
        Ok(false)
    }

    fn write_record(&self, key: &[u8], bytes: IVec) -> Result<()> {
        self.record_writes.fetch_add(1, Relaxed);
        self.trees.insert(key, bytes)
    }

    fn remove_record(&self, key: &[u8]) -> Result<Option<IVec>> {
        self.record_writes.fetch_add(1, Relaxed);
        self.trees.remove(key)
    }
}

impl<T: Trees> Store for TreeStore<T> {
    fn load(&self, key: &SessionKey, now_ms: i64) -> Result<Option<Record>> {
        self.trees.recover();
        let token = self.trees.locks().observe(key.as_bytes());
        let Some(raw) = self.trees.get(key.as_bytes())? else {
            return Ok(None);
        };
        // What usually follows a load is a lookup that walks the map entry
        // by entry. Each step's address comes from the lengths read in the
        // step before, so the CPU would fetch the record's cache lines one
        // after another; reading a byte of each line now lets those fetches
        // overlap (benches/hot_path.rs, get).
        touch_lines(&raw[..raw.len().min(TOUCHED_BYTES)]);
        let mut rec = self.decode(raw)?;
        rec.token = Some(token);
        Ok((!rec.is_expired(now_ms)).then_some(rec))
    }

    fn create(&self, key: &SessionKey, mut rec: Record, now_ms: i64) -> Result<Option<Record>> {
        self.trees.recover();
        let k = key.as_bytes();
        let guard = self.trees.locks().lock(k);
        let owners = self.owner_key();
        let mut dead = None;
        if let Some(found) = self.trees.get(k)? {
            // A live session owns this key: a collision. A dead one (expired
            // or unreadable) may be replaced; its old entries go stale.
            match self.parse(found) {
                Ok(old) if !old.is_expired(now_ms) => return Ok(None),
                Ok(old) => dead = Some(old),
                Err(_) => {}
            }
        }
        let owner = owners.as_ref().and_then(|o| o.owner_of(rec.data()));
        let dead_owner = owners
            .as_ref()
            .zip(dead.as_ref())
            .and_then(|(o, d)| o.owner_of(d.data()))
            .filter(|d| Some(d) != owner.as_ref());
        self.file_owner(owner.as_deref(), k)?;
        self.file(rec.header().index_at_ms, k)?;
        self.write_record(k, rec.stored().clone())?;
        self.unfile_owner(dead_owner.as_deref(), k)?;
        drop(owner);
        rec.token = Some(guard.after_write());
        Ok(Some(rec))
    }

    fn update(
        &self,
        key: &SessionKey,
        seen: Option<&Record>,
        now_ms: i64,
        change: &mut Change<'_>,
    ) -> Result<Record> {
        self.trees.recover();
        let k = key.as_bytes();
        let guard = self.trees.locks().lock(k);
        // No write under this key's stripe since `seen` was read: it is
        // still what is stored, and reading it again can be skipped.
        let (current, unchanged_since_seen) = match seen {
            // Checked when it was loaded: no need to decode it again.
            Some(s) if s.token == Some(guard.now()) => (s.clone(), true),
            _ => {
                // Another key of the stripe may have been the one written.
                let Some(raw) = self.trees.get(k)? else {
                    return Err(Error::SessionDeleted);
                };
                let same = seen.is_some_and(|s| raw == *s.stored());
                (self.decode(raw)?, same)
            }
        };
        if current.is_expired(now_ms) {
            return Err(Error::SessionDeleted);
        }
        let mut rec = change(&current, unchanged_since_seen)?;
        let (old_at, new_at) = (current.header().index_at_ms, rec.header().index_at_ms);
        debug_assert!(new_at <= old_at, "an update moved the index time later");
        // The owner index changes only when the owner does (a login, a
        // logout): every other save writes the record alone.
        let owners = self.owner_key();
        let (old_owner, new_owner) = match &owners {
            Some(o) => (o.owner_of(current.data()), o.owner_of(rec.data())),
            None => (None, None),
        };
        let owner_moved = old_owner != new_owner;
        if owner_moved {
            self.file_owner(new_owner.as_deref(), k)?;
        }
        drop(new_owner);
        if new_at < old_at {
            // The deadline moved earlier than the filed entry: file a new
            // entry first. The old one will fire later and be dropped as
            // stale.
            self.file(new_at, k)?;
        }
        self.write_record(k, rec.stored().clone())?;
        if owner_moved {
            self.unfile_owner(old_owner.as_deref(), k)?;
        }
        rec.token = Some(guard.after_write());
        Ok(rec)
    }

    fn delete(&self, key: &SessionKey) -> Result<bool> {
        self.trees.recover();
        let k = key.as_bytes();
        let _guard = self.trees.locks().lock(k);
        let Some(raw) = self.remove_record(k)? else {
            return Ok(false);
        };
        // Entries after record (invariant 2). A damaged record's entries
        // are left for the sweeper and the owner listing, which drop entries
        // whose record is gone.
        if let Ok(rec) = self.parse(raw) {
            self.unfile(&entry(rec.header().index_at_ms, k))?;
            let owners = self.owner_key();
            let owner = owners.as_ref().and_then(|o| o.owner_of(rec.data()));
            self.unfile_owner(owner.as_deref(), k)?;
        }
        Ok(true)
    }

    fn sweep(&self, now_ms: i64, budget: usize) -> Result<Sweep> {
        self.trees.recover();
        let due = self.trees.index_due(now_ms, budget.saturating_add(1))?;
        let mut sweep = Sweep {
            more: due.len() > budget,
            ..Sweep::default()
        };
        for e in due.iter().take(budget) {
            sweep.examined += 1;
            if self.sweep_entry(e, now_ms)? {
                sweep.removed += 1;
            }
        }
        Ok(sweep)
    }

    fn scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.trees.recover();
        let page = self.trees.scan(after, limit)?;
        Ok(page
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect())
    }

    fn flush(&self) -> Result<()> {
        self.trees.recover();
        self.trees.flush()
    }

    fn owner_key(&self) -> Option<OwnerKey> {
        self.owner_key().as_deref().cloned()
    }

    fn index_owners(&self, key: &OwnerKey) -> Result<bool> {
        self.trees.recover();
        if self.owner_key().as_deref() == Some(key) {
            return Ok(true);
        }
        {
            // Every write under way finishes first, and every write after
            // reads the new key: none files an entry under the old one
            // once the index is emptied.
            let _stripes = self.trees.locks().lock_every_stripe();
            self.trees.clear_owner_index()?;
            *self.trees.owner_key().write() = Some(Arc::new(key.clone()));
        }
        // Then every record stored before is filed (one written meanwhile
        // has filed itself; filing it again changes nothing). The database
        // remembers the key only once all are: a crash in between leaves it
        // remembering none, so the next open with the key rebuilds again
        // rather than trust a half-built index.
        let mut after: Option<IVec> = None;
        loop {
            let page = self.trees.scan(after.as_deref(), 256)?;
            let last = page.len() < 256;
            for (k, _) in &page {
                let _guard = self.trees.locks().lock(k);
                if let Some(Ok(rec)) = self.trees.get(k)?.map(|raw| self.parse(raw)) {
                    self.file_owner(key.owner_of(rec.data()).as_deref(), k)?;
                }
            }
            if last {
                self.trees.remember_owner_key(key)?;
                return Ok(true);
            }
            after = page.last().map(|(k, _)| k.clone());
        }
    }

    fn owned_by(&self, owner: &[u8], now_ms: i64) -> Result<Option<Vec<(SessionKey, Record)>>> {
        self.trees.recover();
        let Some(owners) = self.owner_key() else {
            return Ok(None);
        };
        let prefix = owner_prefix(owner);
        let mut live = Vec::new();
        for e in self.trees.owner_entries(&prefix)? {
            // An entry is checked against its record under the record's
            // lock; one that no longer matches (the record is gone, or names
            // another owner now) is dropped.
            let key = entry_session(&prefix, &e).and_then(|k| SessionKey::from_bytes(k).ok());
            let Some(key) = key else {
                self.trees.owner_remove(&e)?;
                continue;
            };
            let _guard = self.trees.locks().lock(key.as_bytes());
            let Some(raw) = self.trees.get(key.as_bytes())? else {
                self.unfile_owner(Some(owner), key.as_bytes())?;
                continue;
            };
            // A damaged record is never served; the sweeper removes it.
            let Ok(rec) = self.parse(raw) else { continue };
            if owners.owner_of(rec.data()).as_deref() != Some(owner) {
                self.unfile_owner(Some(owner), key.as_bytes())?;
                continue;
            }
            if !rec.is_expired(now_ms) {
                live.push((key, rec));
            }
        }
        Ok(Some(live))
    }

    fn len(&self) -> Result<usize> {
        self.trees.record_count()
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            record_writes: self.record_writes.load(Relaxed),
            index_writes: self.index_writes.load(Relaxed),
            owner_writes: self.owner_writes.load(Relaxed),
            corrupt_records: self.corrupt.load(Relaxed),
            storage_failures: self.trees.failures().failures,
            storage_failures_losing_saves: self.trees.failures().losing,
            storage_recoveries: self.trees.failures().recoveries,
        }
    }

    fn count_damaged(&self) {
        self.corrupt.fetch_add(1, Relaxed);
    }
}

/// Makes `$name`, a store of its own type over a [`TreeStore`] of
/// `$trees` (`SledStore`, `MemoryStore`): its own type, not an alias, so
/// that its documentation shows its methods. The [`Store`] contract, the
/// check and the counts are the tree store's, forwarded.
macro_rules! tree_store {
    ($(#[$doc:meta])* $name:ident, $trees:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub(crate) $crate::store::trees::TreeStore<$trees>);

        impl $crate::store::Store for $name {
            fn load(
                &self,
                key: &$crate::SessionKey,
                now_ms: i64,
            ) -> $crate::Result<Option<$crate::Record>> {
                self.0.load(key, now_ms)
            }

            fn create(
                &self,
                key: &$crate::SessionKey,
                record: $crate::Record,
                now_ms: i64,
            ) -> $crate::Result<Option<$crate::Record>> {
                self.0.create(key, record, now_ms)
            }

            fn update(
                &self,
                key: &$crate::SessionKey,
                seen: Option<&$crate::Record>,
                now_ms: i64,
                change: &mut $crate::store::Change<'_>,
            ) -> $crate::Result<$crate::Record> {
                self.0.update(key, seen, now_ms, change)
            }

            fn delete(&self, key: &$crate::SessionKey) -> $crate::Result<bool> {
                self.0.delete(key)
            }

            fn sweep(&self, now_ms: i64, budget: usize) -> $crate::Result<$crate::Sweep> {
                self.0.sweep(now_ms, budget)
            }

            fn scan(
                &self,
                after: Option<&[u8]>,
                limit: usize,
            ) -> $crate::Result<Vec<(Vec<u8>, Vec<u8>)>> {
                self.0.scan(after, limit)
            }

            fn flush(&self) -> $crate::Result<()> {
                self.0.flush()
            }

            fn owner_key(&self) -> Option<$crate::OwnerKey> {
                $crate::store::Store::owner_key(&self.0)
            }

            fn index_owners(&self, key: &$crate::OwnerKey) -> $crate::Result<bool> {
                self.0.index_owners(key)
            }

            fn owned_by(
                &self,
                owner: &[u8],
                now_ms: i64,
            ) -> $crate::Result<Option<Vec<($crate::SessionKey, $crate::Record)>>> {
                self.0.owned_by(owner, now_ms)
            }

            fn len(&self) -> $crate::Result<usize> {
                self.0.len()
            }

            fn stats(&self) -> $crate::StoreStats {
                self.0.stats()
            }

            fn count_damaged(&self) {
                self.0.count_damaged()
            }
        }

        impl $name {
            /// Walks the records, then the expiry index, then the owner index,
            /// against the store's invariants, and with `repair` restores them:
            /// removes damaged records, files the missing index and owner entries,
            /// and removes malformed entries, entries without a record and stale
            /// owner entries, then flushes. See [`CheckReport`]($crate::CheckReport) for what
            /// is found, and `sessile check` (docs/CLI.md) for the same as a
            /// command.
            ///
            /// Without `repair` nothing is written. Either way the store may be in
            /// use meanwhile: each finding is confirmed, and repaired, under its
            /// key's write lock. The check reads every record and every entry of
            /// both indexes, one page at a time, and looks each record's entries
            /// up: it takes time proportional to the store (on sled, release
            /// build, 2 cores: 11 s for a million sessions of 200 B, 16 s when
            /// each names an owner; docs/CLI.md, `check`).
            ///
            /// An error stops the walk; what was repaired until then stays
            /// repaired (each repair keeps the invariants), and running the check
            /// again finishes the job.
            ///
            /// ```
            /// use sessile::MemoryStore;
            ///
            /// let store = MemoryStore::new();
            /// let report = store.check(false)?;
            /// assert_eq!((report.records, report.faults()), (0, 0));
            /// # Ok::<(), sessile::Error>(())
            /// ```
            pub fn check(&self, repair: bool) -> $crate::Result<$crate::CheckReport> {
                self.0.check(repair)
            }

            /// The number of entries in the expiry index (live, filed early
            /// by the lazy index, or stale): for `sessile stats`. Reads the
            /// whole index.
            pub fn index_len(&self) -> $crate::Result<usize> {
                self.0.trees.index_count()
            }

            /// The number of entries in the owner index (live or stale):
            /// for `sessile stats`.
            pub fn owner_index_len(&self) -> $crate::Result<usize> {
                self.0.trees.owner_count()
            }

            /// The trees under this store (feature `internals`): to plant
            /// damage in a test, or to measure the storage floor in a bench.
            #[cfg(feature = "internals")]
            #[doc(hidden)]
            pub fn trees(&self) -> &$trees {
                &self.0.trees
            }
        }
    };
}
pub(crate) use tree_store;
