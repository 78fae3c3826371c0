//! Where sessions are kept. [`Store`] is the storage primitive the engine
//! runs on (load, create-if-absent, update with a closure, delete, sweep,
//! scan, stats); [`SledStore`] (durable, the default) and [`MemoryStore`]
//! (in-process) implement it with one algorithm over two ordered trees
//! (`trees.rs`); `RedisStore` (feature `redis`, `redis.rs`) keeps the same
//! records in a Redis server shared by several processes.

mod check;
#[cfg(feature = "internals")]
pub mod internals;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod sled;
pub(crate) mod trees;

use std::fmt::Debug;

pub use self::check::{CheckFinding, CheckReport, RecordDamage};
pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};
pub use self::sled::{SledOptions, SledStore};
// The raw trees (`Trees`, `SledTrees`, `MemoryTrees`) and index entries
// stay inside the crate: outside, only `internals` (feature `internals`)
// reaches them.

use crate::error::Result;
use crate::key::SessionKey;
use crate::owner::OwnerKey;
use crate::record::Record;

/// Records read per [`Store::scan`] call by the provided [`Store::walk`].
const WALK_PAGE: usize = 256;

/// The outcome of one sweep over expired sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sweep {
    /// Expired sessions deleted.
    pub removed: usize,
    /// Index entries examined.
    pub examined: usize,
    /// The budget ran out before every due entry was examined.
    pub more: bool,
}

/// Counters a store keeps about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Writes (insert, overwrite, remove) to the sessions tree.
    pub record_writes: u64,
    /// Writes to the expiry index.
    pub index_writes: u64,
    /// Writes to the owner index (only when a session's owner changes,
    /// or it is created with one or removed).
    pub owner_writes: u64,
    /// Records found damaged (each time one was read).
    pub corrupt_records: u64,
    /// Times the storage stopped accepting writes after an I/O error (a
    /// full disk): counted once each time it happens, however many calls
    /// fail while it lasts.
    pub storage_failures: u64,
    /// Of those failures, the ones that came while saves acknowledged
    /// since the last flush were not yet known to be on disk: a recovery
    /// loses them, as a crash would ([`crate::Engine::flush`] says so once).
    pub storage_failures_losing_saves: u64,
    /// Times the store reopened its storage in place after such a failure,
    /// once there was room again.
    pub storage_recoveries: u64,
}

/// Proof that a record is still the one a caller read: taken when the
/// record is read or written, and checked by the next update of its key.
///
/// The invariant, stated once: the tree store (sled, memory) keeps a table
/// of key-lock stripes, each counting the writes made under its lock (the
/// count is bumped after a write, while the lock is still held). A token is (the
/// table's identity, the stripe's count when the record was read, or the
/// count its own write will leave). An update that holds the stripe's lock
/// and finds the count equal to the token's knows that no key of that
/// stripe was written since, so the record in hand is the stored one and
/// need not be read again. A token from another table never matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadToken {
    table: u64,
    writes: u64,
}

impl ReadToken {
    pub(crate) const fn new(table: u64, writes: u64) -> ReadToken {
        ReadToken { table, writes }
    }
}

/// The change an update makes: given the live record as stored now and
/// whether it is still the record the caller read (so a change computed
/// from that one applies as it is), returns the record to write. The
/// engine writes every change through one of these ([`Store::update`]).
pub type Change<'a> = dyn FnMut(&Record, bool) -> Result<Record> + 'a;

/// Where sessions are kept: the storage primitive the [`Engine`] runs on.
/// A store knows nothing of deltas, limits or expiry policies: the engine
/// works out every record it writes and hands it over whole.
///
/// Every implementation passes the same conformance suite
/// (`tests/store_conformance.rs`, run through an engine). The rules:
/// - `load` never returns an expired record and never writes;
/// - `create` is insert-if-absent: it writes only when no live record has
///   the key;
/// - `update` is a read-modify-write of one live record, atomic with
///   respect to every other write of that key, and fails with
///   [`crate::Error::SessionDeleted`] when the key has no live record
///   instead of recreating it;
/// - `sweep` deletes only records expired at the time it looks.
///
/// [`Engine`]: crate::Engine
pub trait Store: Send + Sync + Debug {
    /// Loads a live session. `Ok(None)` when absent or expired; a record
    /// whose header is damaged, or whose checksum does not match where the
    /// store verifies it, is an `Err(Error::Corrupt)`. The data is checked
    /// as it is read: a reader that finds it damaged calls
    /// [`Store::count_damaged`]. The record carries a [`ReadToken`] where
    /// the store issues them.
    fn load(&self, key: &SessionKey, now_ms: i64) -> Result<Option<Record>>;

    /// Stores `record` under `key` if no live session has that key (a dead
    /// one, expired at `now_ms` or unreadable, is replaced). Returns the
    /// record written, or `None` on a key collision.
    fn create(&self, key: &SessionKey, record: Record, now_ms: i64) -> Result<Option<Record>>;

    /// Replaces the live session `key` with what `change` makes of it,
    /// atomically with respect to other writes of the key (a store that
    /// detects a race instead of locking calls `change` again on the record
    /// that won). `seen` is the record this caller read, if any: when the
    /// store can tell that it is still the stored one (its [`ReadToken`],
    /// or equal bytes), it passes `true` to `change` and may skip reading
    /// it again. The record `change` returns has a header made by the
    /// engine, whose `index_at_ms` is never later than the stored one's.
    /// Returns the record written.
    fn update(
        &self,
        key: &SessionKey,
        seen: Option<&Record>,
        now_ms: i64,
        change: &mut Change<'_>,
    ) -> Result<Record>;

    /// Deletes a session. Returns whether a record was there.
    fn delete(&self, key: &SessionKey) -> Result<bool>;

    /// Deletes sessions expired at `now_ms`, examining at most `budget`
    /// index entries.
    fn sweep(&self, now_ms: i64, budget: usize) -> Result<Sweep>;

    /// Up to `limit` stored records with keys after `after` (from the start
    /// when `None`), in key order, as raw `(key, record bytes)` pairs:
    /// expired and damaged records included. For listing and export;
    /// decode with [`Record::decode`].
    fn scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;

    /// Calls `visit` with every stored record after `after` (from the start
    /// when `None`), in key order, as [`Store::scan`] pages them, until
    /// `visit` returns `false`; returns whether the walk reached the end.
    /// `visit` may delete the record it is given. Memory stays within a
    /// page of records. The provided walk pages through [`Store::scan`]; a
    /// store whose `scan` costs a listing of every key per call (Redis)
    /// lists them once instead.
    fn walk(
        &self,
        after: Option<&[u8]>,
        visit: &mut dyn FnMut(Vec<u8>, Vec<u8>) -> Result<bool>,
    ) -> Result<bool> {
        let mut cursor = after.map(<[u8]>::to_vec);
        loop {
            let page = self.scan(cursor.as_deref(), WALK_PAGE)?;
            let last = page.len() < WALK_PAGE;
            for (key, raw) in page {
                cursor = Some(key.clone());
                if !visit(key, raw)? {
                    return Ok(false);
                }
            }
            if last {
                return Ok(true);
            }
        }
    }

    /// Makes every acknowledged write durable.
    fn flush(&self) -> Result<()>;

    /// The owner key this store's owner index is kept by, when it keeps
    /// one (the database remembers it). The provided method keeps none.
    fn owner_key(&self) -> Option<OwnerKey> {
        None
    }

    /// Keeps an owner index by `key` from now on: each session whose data
    /// names an owner under `key` is found by [`Store::owned_by`]. When the
    /// store kept none, or kept one by another key, the index is rebuilt
    /// from every stored record first. Returns `false` when the store
    /// keeps no owner index (the provided method): the engine then finds
    /// owners by reading every session.
    fn index_owners(&self, key: &OwnerKey) -> Result<bool> {
        let _ = key;
        Ok(false)
    }

    /// The live sessions whose owner is `owner`, in no set order, read
    /// through the owner index; `None` when the store keeps none. Entries
    /// that no longer match their record are dropped on the way.
    fn owned_by(&self, owner: &[u8], now_ms: i64) -> Result<Option<Vec<(SessionKey, Record)>>> {
        let _ = (owner, now_ms);
        Ok(None)
    }

    /// The number of records stored, expired or not.
    fn len(&self) -> Result<usize>;

    /// Whether no record is stored.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The store's counters.
    fn stats(&self) -> StoreStats;

    /// Counts a damaged record found after `load` returned it: its data,
    /// checked as it is read, is not a MessagePack map with string keys
    /// ([`StoreStats::corrupt_records`]).
    fn count_damaged(&self) {}
}
