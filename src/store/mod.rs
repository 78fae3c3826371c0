//! Where sessions are kept. [`Store`] is the contract; [`SledStore`]
//! (durable, the default) and [`MemoryStore`] (in-process) implement it on
//! top of one shared algorithm over two ordered trees (`trees.rs`);
//! `RedisStore` (feature `redis`, `redis.rs`) keeps the same records in a
//! Redis server shared by several processes.

mod check;
#[cfg(feature = "internals")]
pub mod internals;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod sled;
mod trees;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;

use ::sled::IVec;
use rmpv::Value;

pub use self::check::{CheckFinding, CheckReport, RecordDamage};
pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};
pub use self::sled::{SledOptions, SledStore};
// The raw trees (`Trees`, `SledTrees`, `MemoryTrees`) and index entries
// stay inside the crate: outside, only `internals` (feature `internals`)
// reaches them.
pub use self::trees::{KeyLocks, StorageFailures, TreeStore};

use crate::error::Result;
use crate::expiry::Expiry;
use crate::key::SessionKey;
use crate::record::{
    encoded_entries, encoded_len, for_each_raw_entry, Data, Header, Record, RecordError,
};

/// The changes one request made to a session since it loaded it. Saving a
/// delta instead of the whole session keeps parallel requests that change
/// different keys from losing each other's changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// The session was cleared first (everything stored is dropped).
    pub clear: bool,
    /// Keys removed (applied after `clear`).
    pub remove: BTreeSet<String>,
    /// Keys set to new values (applied last).
    pub set: BTreeMap<String, Value>,
    /// A new expiry policy, if it changed.
    pub expiry: Option<Expiry>,
    /// Optionally, the whole encoded data that results from applying this
    /// delta to the data of the record passed as `seen` to
    /// [`Store::save`] (or to `base`, when given). When the stored data is
    /// still that, the store writes this instead of decoding and
    /// re-applying; otherwise it is ignored.
    pub full: Option<Vec<u8>>,
    /// The encoded data `full` was made from, when the caller holds it as
    /// bytes rather than as a loaded [`Record`] (a binding that sent back
    /// what it loaded; see [`Delta::diff`]). With both `base` and `full`
    /// and no `clear`, `remove` or `set`, the change is what differs between
    /// them, worked out only if the stored data is no longer `base`
    /// ([`Delta::between`]).
    pub base: Option<Vec<u8>>,
}

impl Delta {
    /// Whether the delta changes nothing but (perhaps) the expiry.
    pub fn is_data_unchanged(&self) -> bool {
        !self.clear && self.remove.is_empty() && self.set.is_empty()
    }

    /// The delta that turns the encoded map `seen` (what a caller loaded)
    /// into the encoded map `now` (what it holds now; empty input is the empty
    /// map): the keys whose value
    /// changed are set, the keys that disappeared are removed, the expiry is
    /// kept. A value counts as unchanged when its bytes are equal, or when
    /// both decode to equal values (another encoder may have written the
    /// same value differently). Only the changed values are decoded.
    ///
    /// This is how a binding that holds its session as a plain dictionary
    /// saves a delta without tracking each change: it keeps the bytes it
    /// loaded and sends them back with the whole new map. The delta carries
    /// both (`base` and `full`), so that a store whose data is still `seen`
    /// writes `now` as it is.
    pub fn diff(seen: &[u8], now: &[u8]) -> Result<Delta, RecordError> {
        type Entries<'a> = [(&'a str, &'a [u8])];
        // Sessions hold a handful of keys: a linear search beats hashing
        // them, up to a point.
        fn index<'a>(entries: &Entries<'a>) -> Option<HashMap<&'a str, &'a [u8]>> {
            (entries.len() > 32).then(|| entries.iter().copied().collect())
        }
        fn find<'a>(
            entries: &Entries<'a>,
            index: &Option<HashMap<&'a str, &'a [u8]>>,
            k: &str,
        ) -> Option<&'a [u8]> {
            match index {
                Some(map) => map.get(k).copied(),
                None => entries.iter().find(|(ek, _)| *ek == k).map(|(_, v)| *v),
            }
        }
        let (before, after) = (map_entries(seen)?, map_entries(now)?);
        let (before_index, after_index) = (index(&before), index(&after));
        let decode = |mut bytes: &[u8]| {
            rmpv::decode::read_value_with_max_depth(&mut bytes, 2 * crate::record::MAX_NESTING + 8)
                .map_err(|e| RecordError::Data(e.to_string()))
        };
        let mut delta = Delta::between(seen, now);
        for (k, raw) in &after {
            let old = find(&before, &before_index, k);
            if old == Some(*raw) {
                continue;
            }
            let value = decode(raw)?;
            if let Some(old) = old {
                if decode(old).is_ok_and(|o| o == value) {
                    continue;
                }
            }
            delta.set.insert((*k).to_owned(), value);
        }
        for (k, _) in &before {
            if find(&after, &after_index, k).is_none() {
                delta.remove.insert((*k).to_owned());
            }
        }
        Ok(delta)
    }

    /// The change from the encoded map `seen` to the encoded map `now`
    /// (empty input is the empty map), as [`Delta::diff`] finds it, but
    /// found only when a store needs it: while the stored data is still
    /// `seen`, saving writes `now` as it is and compares nothing. Both maps
    /// must be well formed (the caller checks them).
    pub fn between(seen: &[u8], now: &[u8]) -> Delta {
        Delta {
            base: Some(seen.to_vec()),
            full: Some(if now.is_empty() {
                vec![0x80]
            } else {
                now.to_vec()
            }),
            ..Delta::default()
        }
    }

    /// The encoded data that saving this delta onto the stored data
    /// `stored` gives. `seen_is_stored` says that `stored` is still the
    /// data of the record the caller loaded (so `full`, if any, applies).
    /// Every store's `save` computes the new data with this.
    pub fn merged_into<'a>(
        &'a self,
        stored: &'a [u8],
        seen_is_stored: bool,
    ) -> Result<Cow<'a, [u8]>, RecordError> {
        if self.is_data_unchanged() {
            let (Some(base), Some(full)) = (&self.base, &self.full) else {
                return Ok(Cow::Borrowed(stored));
            };
            // A change given as two maps (`Delta::between`).
            if base[..] == *stored {
                return Ok(Cow::Borrowed(full));
            }
            return Delta::diff(base, full)?
                .apply_to_encoded(stored)
                .map(Cow::Owned);
        }
        if let Some(full) = &self.full {
            let applies = match &self.base {
                Some(base) => base[..] == *stored,
                None => seen_is_stored,
            };
            if applies {
                return Ok(Cow::Borrowed(full));
            }
        }
        self.apply_to_encoded(stored).map(Cow::Owned)
    }

    /// Applies the data changes to an encoded map, copying the values it
    /// keeps as they are (no decoding), and returns the new encoded map.
    pub fn apply_to_encoded(&self, encoded: &[u8]) -> Result<Vec<u8>, RecordError> {
        // One pass: each kept entry is copied as it is stored (key and value
        // bytes together). The map's length is known only at the end, so one
        // byte is kept for it: a map of up to 15 keys (fixmap) fills it in
        // place; a larger one is moved behind a longer header.
        // Room for the new entries too (a key's string header is at most 5
        // bytes), so that writing them never moves what was copied.
        let added: usize = self
            .set
            .iter()
            .map(|(k, v)| 5 + k.len() + encoded_len(v))
            .sum();
        let mut out = Vec::with_capacity(1 + encoded.len() + added);
        out.push(0x80);
        let mut count = self.set.len();
        if !self.clear {
            let changed = ChangedKeys::of(self);
            for_each_raw_entry(encoded, |k, entry| {
                if !changed.contains(k) {
                    out.extend_from_slice(entry);
                    count += 1;
                }
            })?;
        }
        // Writing into a Vec cannot fail.
        for (k, v) in &self.set {
            let _ = rmp::encode::write_str(&mut out, k);
            let _ = rmpv::encode::write_value(&mut out, v);
        }
        if count < 16 {
            out[0] = 0x80 | count as u8;
            return Ok(out);
        }
        let mut long = Vec::with_capacity(out.len() + 4);
        let _ = rmp::encode::write_map_len(&mut long, count as u32);
        long.extend_from_slice(&out[1..]);
        Ok(long)
    }

    /// No change at all (`Delta::default()`, as a constant).
    pub const fn none() -> Delta {
        Delta {
            clear: false,
            remove: BTreeSet::new(),
            set: BTreeMap::new(),
            expiry: None,
            full: None,
            base: None,
        }
    }

    /// Applies the data changes to `data`.
    pub fn apply_to(&self, data: &mut Data) {
        if self.clear {
            data.clear();
        }
        for k in &self.remove {
            data.remove(k);
        }
        for (k, v) in &self.set {
            data.insert(k.clone(), v.clone());
        }
    }
}

impl Default for Delta {
    fn default() -> Self {
        Delta::none()
    }
}

/// The keys a delta sets or removes, to test stored keys against as bytes
/// while a save walks the stored map. A request changes a key or two, and
/// comparing bytes with those beats making a `&str` of every stored key to
/// look it up in the delta's maps (or walking their iterators per entry).
enum ChangedKeys<'a> {
    Few([&'a [u8]; 8], usize),
    Many(&'a Delta),
}

impl<'a> ChangedKeys<'a> {
    fn of(delta: &'a Delta) -> Self {
        let mut few: [&[u8]; 8] = [&[]; 8];
        let keys = delta.set.keys().chain(delta.remove.iter());
        for (i, k) in keys.enumerate() {
            match few.get_mut(i) {
                Some(slot) => *slot = k.as_bytes(),
                None => return ChangedKeys::Many(delta),
            }
        }
        ChangedKeys::Few(few, delta.set.len() + delta.remove.len())
    }

    fn contains(&self, k: &[u8]) -> bool {
        match self {
            ChangedKeys::Few(few, n) => few[..*n].contains(&k),
            ChangedKeys::Many(d) => {
                std::str::from_utf8(k).is_ok_and(|k| d.set.contains_key(k) || d.remove.contains(k))
            }
        }
    }
}

/// The entries of an encoded data map, as [`encoded_entries`], where empty
/// input is the empty map.
pub(crate) fn map_entries(map: &[u8]) -> Result<Vec<(&str, &[u8])>, RecordError> {
    match map {
        [] => Ok(Vec::new()),
        _ => encoded_entries(map),
    }
}

/// What a write needs to know besides its arguments.
#[derive(Debug, Clone, Copy)]
pub struct WriteCtx {
    /// The current time, ms since the Unix epoch.
    pub now_ms: i64,
    /// The age of a session under [`Expiry::Default`] and
    /// [`Expiry::BrowserClose`] (`SESSION_COOKIE_AGE`), in seconds.
    pub default_age_s: i64,
    /// The largest encoded record accepted, in bytes.
    pub max_record_size: usize,
}

impl WriteCtx {
    /// The header of a new record under `expiry`, written now.
    pub fn new_header(&self, expiry: Expiry) -> Header {
        let deadline = expiry.deadline_ms(self.now_ms, self.default_age_s);
        Header {
            expiry,
            expires_at_ms: deadline,
            index_at_ms: deadline,
        }
    }

    /// The header that a save written now gives a record whose header was
    /// `old`: the policy becomes `expiry` (or stays, for `None`), the
    /// deadline is counted again from now, and the index time only ever
    /// moves earlier (the lazy index: a later deadline keeps the entry
    /// already filed). Every store writes the same header, so a record
    /// means the same in each.
    pub fn saved_header(&self, old: &Header, expiry: Option<Expiry>) -> Header {
        let expiry = expiry.unwrap_or(old.expiry);
        let deadline = expiry.deadline_ms(self.now_ms, self.default_age_s);
        Header {
            expiry,
            expires_at_ms: deadline,
            index_at_ms: old.index_at_ms.min(deadline),
        }
    }

    /// The bytes of a record with `header` and the encoded map `data`, or
    /// [`Error::TooLarge`](crate::Error::TooLarge) over `max_record_size`
    /// (checked before encoding). Every store writes its records with this.
    pub fn encode_record(&self, header: &Header, data: &[u8]) -> Result<Vec<u8>> {
        self.check_record_size(crate::record::HEADER_LEN + data.len())?;
        Ok(Record::encode(header, data))
    }

    /// [`Error::TooLarge`](crate::Error::TooLarge) when a record of `len`
    /// bytes is over `max_record_size`.
    pub fn check_record_size(&self, len: usize) -> Result<()> {
        if len > self.max_record_size {
            return Err(crate::Error::TooLarge {
                what: crate::Limit::Record,
                limit: self.max_record_size,
                actual: len,
            });
        }
        Ok(())
    }
}

/// The outcome of one sweep over expired sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
pub struct StoreStats {
    /// Writes (insert, overwrite, remove) to the sessions tree.
    pub record_writes: u64,
    /// Writes to the expiry index.
    pub index_writes: u64,
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

/// A session store: the operations a framework adapter needs.
///
/// Every implementation passes the same conformance suite
/// (`tests/store_conformance.rs`). The rules:
/// - `load` never returns an expired record and never writes;
/// - `create` is insert-if-absent;
/// - `save` applies a [`Delta`] atomically with respect to other saves of
///   the same key, and fails with [`crate::Error::SessionDeleted`] when the
///   session no longer exists (or has expired) instead of recreating it;
/// - `clear_expired` deletes only records expired at the time it looks.
pub trait Store: Send + Sync + Debug {
    /// Loads a live session. `Ok(None)` when absent or expired; a record
    /// whose header is damaged, or whose checksum does not match where the
    /// store verifies it, is an `Err(Error::Corrupt)`. The data is checked
    /// as it is read: a reader that finds it damaged calls
    /// [`Store::count_damaged`].
    fn load(&self, key: &SessionKey, now_ms: i64) -> Result<Option<Record>>;

    /// Stores a new session under `key` if no live session has that key.
    /// `data` is an encoded MessagePack map. Returns the record written, or
    /// `None` on a key collision.
    fn create(
        &self,
        key: &SessionKey,
        data: &[u8],
        expiry: Expiry,
        ctx: &WriteCtx,
    ) -> Result<Option<Record>>;

    /// Applies `delta` to the live session `key` and moves its deadline to
    /// the (possibly new) policy counted from `ctx.now_ms`. `seen` is the
    /// record this caller loaded, if any: when nothing changed since, the
    /// store can skip re-reading it. Returns the record written.
    fn save(
        &self,
        key: &SessionKey,
        delta: &Delta,
        seen: Option<&Record>,
        ctx: &WriteCtx,
    ) -> Result<Record>;

    /// Deletes a session. Returns whether a record was there.
    fn delete(&self, key: &SessionKey) -> Result<bool>;

    /// Whether a live session exists under `key`.
    fn exists(&self, key: &SessionKey, now_ms: i64) -> Result<bool> {
        Ok(self.load(key, now_ms)?.is_some())
    }

    /// Deletes sessions expired at `now_ms`, examining at most `budget`
    /// index entries.
    fn clear_expired(&self, now_ms: i64, budget: usize) -> Result<Sweep>;

    /// Up to `limit` stored records with keys after `after` (from the start
    /// when `None`), in key order, as raw `(key, record bytes)` pairs:
    /// expired and damaged records included. For listing and export;
    /// decode with [`Record::decode`].
    fn scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(IVec, IVec)>>;

    /// Makes every acknowledged write durable.
    fn flush(&self) -> Result<()>;

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
