//! The store-level operations: what a framework adapter (a Django
//! `SessionBase`, an express-session `Store`, tower-sessions, actix-session)
//! does with sessions by key. Written once, here: [`Session`], the Rust
//! adapters and the C ABI all call these, and the stores below only load,
//! create-if-absent and update-with-a-closure. (The `sessile` CLI works on
//! a closed database's `SledStore` itself.)
//!
//! [`Session`]: crate::Session

use std::borrow::Cow;
use std::cell::RefCell;

use super::delta::map_entries;
use super::Engine;
use crate::error::{ConfigError, DataError, Error, Result};
use crate::expiry::Expiry;
use crate::key::SessionKey;
use crate::owner::{checked_owner, OwnerKey};
use crate::record::{
    check_unique_keys, decode_data, encoded_len, for_each_raw_entry, nesting, Header, Record,
    RecordError, HEADER_LEN, MAX_NESTING,
};
use crate::Delta;

/// How many fresh keys a create tries before giving up.
const CREATE_ATTEMPTS: u32 = 10;

/// A walk over the store (`for_each_session`) reads the clock again after
/// this many records.
const CLOCK_EVERY: usize = 256;

/// How many times an upsert retries when another writer creates or deletes
/// the same session between its steps.
const UPSERT_ATTEMPTS: u32 = 8;

/// How [`Engine::save`] and [`Engine::create`] write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaveOptions {
    /// When no live session has the key, create it under that key with the
    /// data the change gives on its own (express-session's `set`). Without
    /// it a save of a missing or expired session fails with
    /// [`Error::SessionDeleted`] and writes nothing: the default never
    /// brings back a session that a logout deleted.
    pub upsert: bool,
    /// Write the database to disk before returning, so the save survives a
    /// crash of the process or the machine.
    pub durable: bool,
    /// Create the session under the key given, atomically, only if no live
    /// session has it; otherwise [`Error::SessionExists`] and nothing is
    /// written (Django's `save(must_create=True)`). It overrides `upsert`.
    pub create_only: bool,
}

impl SaveOptions {
    /// With [`SaveOptions::upsert`].
    pub fn upsert(mut self) -> SaveOptions {
        self.upsert = true;
        self
    }

    /// With [`SaveOptions::durable`].
    pub fn durable(mut self) -> SaveOptions {
        self.durable = true;
        self
    }

    /// With [`SaveOptions::create_only`].
    pub fn create_only(mut self) -> SaveOptions {
        self.create_only = true;
        self
    }
}

/// What a write needs to know besides its arguments: the time, and the
/// settings that turn a policy into a deadline and bound a record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteCtx {
    /// The current time, ms since the Unix epoch.
    pub(crate) now_ms: i64,
    /// The age of a session under [`Expiry::Default`] and
    /// [`Expiry::BrowserClose`] (`SESSION_COOKIE_AGE`), in seconds.
    pub(crate) default_age_s: i64,
    /// The largest encoded record accepted, in bytes.
    pub(crate) max_record_size: usize,
}

impl WriteCtx {
    /// The header of a new record under `expiry`, written now.
    pub(crate) fn new_header(&self, expiry: Expiry) -> Header {
        Header::new(expiry, self.now_ms, self.default_age_s)
    }

    /// The new record that `change` makes on its own (applied to an empty
    /// session), under its policy or the default: what a create-only save
    /// and an upsert of a missing session write.
    fn created(&self, change: &Delta) -> Result<Record> {
        let expiry = change.expiry.unwrap_or_default();
        self.record(self.new_header(expiry), &change.created())
    }

    /// The header that a save written now gives a record whose header was
    /// `old`: the policy becomes `expiry` (or stays, for `None`), the
    /// deadline is counted again from now, and the index time only ever
    /// moves earlier (the lazy index: a later deadline keeps the entry
    /// already filed; see `store/trees.rs`). Every store writes the headers
    /// made here, so a record means the same in each.
    pub(crate) fn saved_header(&self, old: &Header, expiry: Option<Expiry>) -> Header {
        let expiry = expiry.unwrap_or(old.expiry);
        let deadline = expiry.deadline_ms(self.now_ms, self.default_age_s);
        Header {
            expiry,
            expires_at_ms: deadline,
            index_at_ms: old.index_at_ms.min(deadline),
        }
    }

    /// The record with `header` and the encoded map `data`, or
    /// [`Error::TooLarge`] over `max_record_size` (checked before encoding).
    pub(crate) fn record(&self, header: Header, data: &[u8]) -> Result<Record> {
        let len = HEADER_LEN + data.len();
        if len > self.max_record_size {
            return Err(Error::TooLarge {
                what: crate::Limit::Record,
                limit: self.max_record_size,
                actual: len,
            });
        }
        Ok(Record::new(header, data))
    }
}

thread_local! {
    /// The record this thread last loaded or saved through these
    /// operations, and its key. An adapter loads a session and saves it on
    /// the same thread, each through its own call (a C, Python or Node
    /// binding holds no record between them): the save hands this record
    /// to the store as the one it read, and the store skips reading it
    /// again when it can tell that it is still the stored one (its
    /// `ReadToken`); otherwise, or for another key, it reads the record as
    /// always. (`benches/hot_path.rs`, the binding-shaped load+save.)
    static LAST_RECORD: RefCell<Option<(SessionKey, Record)>> = const { RefCell::new(None) };
}

fn remember(key: &SessionKey, rec: &Record) {
    LAST_RECORD.with(|last| *last.borrow_mut() = Some((key.clone(), rec.clone())));
}

/// The record [`remember`]ed for `key` on this thread, if any (taken).
fn recall(key: &SessionKey) -> Option<Record> {
    LAST_RECORD.with(|last| {
        last.borrow_mut()
            .take_if(|(k, _)| k == key)
            .map(|(_, rec)| rec)
    })
}

fn invalid(e: RecordError) -> Error {
    Error::InvalidData(DataError::Map(e))
}

/// [`DataError::TooDeep`] when `value` nests arrays and maps deeper than a
/// record may hold (a session's insert and a store-level save both refuse
/// it).
pub(crate) fn check_nesting(key: &str, value: &rmpv::Value) -> Result<()> {
    if nesting(value) >= MAX_NESTING {
        return Err(Error::InvalidData(DataError::TooDeep { key: key.into() }));
    }
    Ok(())
}

impl Engine {
    /// What the store needs for a write made now.
    pub(crate) fn write_ctx(&self) -> WriteCtx {
        WriteCtx {
            now_ms: self.now_ms(),
            default_age_s: self.config().cookie.age_s,
            max_record_size: self.config().max_record_size,
        }
    }

    /// Checks a change that arrives from outside (an adapter, the C ABI)
    /// against what [`Session::insert_value`](crate::Session::insert_value)
    /// refuses, once for every caller: the expiry in the range a store-level
    /// save accepts; the keys and values set within the configured limits
    /// and nesting; for a change given as two maps ([`Delta::between`]),
    /// both maps well formed, the new one without a key twice (it may be
    /// stored as it is) and within the limits. The key-count limit applies
    /// to the entries given, not to the session they merge into.
    pub(crate) fn check_change(&self, delta: &Delta) -> Result<()> {
        if let Some(e) = delta.expiry {
            e.check_stored(self.now_ms())?;
        }
        let config = self.config();
        if let (Some(seen), Some(now)) = (&delta.base, &delta.full) {
            if delta.is_data_unchanged() {
                let after = map_entries(now).map_err(invalid)?;
                check_unique_keys(&after).map_err(invalid)?;
                // An encoded value's size is the length of its bytes.
                config.check_entries(after.iter().map(|(k, v)| (*k, v.len())))?;
                if !seen.is_empty() {
                    for_each_raw_entry(seen, |_, _| {}).map_err(invalid)?;
                }
                return Ok(());
            }
        }
        config.check_entries(delta.set.iter().map(|(k, v)| (k.as_str(), encoded_len(v))))?;
        delta.set.iter().try_for_each(|(k, v)| check_nesting(k, v))
    }

    /// Loads the live session `key`, its data checked to be a map with
    /// string keys. `Ok(None)` when there is none or it has expired;
    /// [`Error::Corrupt`] when its record is damaged. Never writes.
    pub fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
        let Some(rec) = self.store().load(key, self.now_ms())? else {
            return Ok(None);
        };
        for_each_raw_entry(rec.data(), |_, _| {}).map_err(|e| {
            self.store().count_damaged();
            Error::Corrupt(e)
        })?;
        remember(key, &rec);
        Ok(Some(rec))
    }

    /// Whether a live session has the key `key`. Never writes.
    pub(crate) fn is_live(&self, key: &SessionKey) -> Result<bool> {
        Ok(self.store().load(key, self.now_ms())?.is_some())
    }

    /// Stores the data `change` gives on its own (applied to an empty
    /// session) as a new session under a fresh random key, under its
    /// expiry policy ([`Expiry::Default`] when it sets none). Returns the
    /// key and the record written. Django's `create()`.
    pub fn create(&self, change: &Delta, options: SaveOptions) -> Result<(SessionKey, Record)> {
        self.create_with_keys(change, options, |_| SessionKey::generate())
    }

    /// [`Engine::create`] with keys from `next_key` (called with the
    /// attempt number): the C ABI's test hooks fix keys, and tower-sessions
    /// derives a key from its own id.
    pub(crate) fn create_with_keys(
        &self,
        change: &Delta,
        options: SaveOptions,
        next_key: impl FnMut(u32) -> SessionKey,
    ) -> Result<(SessionKey, Record)> {
        self.check_change(change)?;
        let expiry = change.expiry.unwrap_or_default();
        let created = self.create_under(&change.created(), expiry, next_key)?;
        remember(&created.0, &created.1);
        self.flush_if(options)?;
        Ok(created)
    }

    /// Stores `data` (an encoded map, already checked) as a new session
    /// under a fresh random key; returns the key and the record written.
    pub(crate) fn create_fresh(&self, data: &[u8], expiry: Expiry) -> Result<(SessionKey, Record)> {
        self.create_under(data, expiry, |_| SessionKey::generate())
    }

    /// Stores `data` as a new session under the first key from `next_key`
    /// that no live session holds. The store's create is insert-if-absent,
    /// so a collision never overwrites another visitor's session; after
    /// [`CREATE_ATTEMPTS`] collisions in a row the key source is broken:
    /// [`Error::KeyCollision`].
    fn create_under(
        &self,
        data: &[u8],
        expiry: Expiry,
        mut next_key: impl FnMut(u32) -> SessionKey,
    ) -> Result<(SessionKey, Record)> {
        let ctx = self.write_ctx();
        let rec = ctx.record(ctx.new_header(expiry), data)?;
        for attempt in 0..CREATE_ATTEMPTS {
            let key = next_key(attempt);
            if let Some(rec) = self.store().create(&key, rec.clone(), ctx.now_ms)? {
                return Ok((key, rec));
            }
        }
        Err(Error::KeyCollision(CREATE_ATTEMPTS))
    }

    /// Applies `change` to the live session `key` and counts its deadline
    /// again from now (under the change's policy, or the stored one).
    /// Another request's save in between is kept: the change merges onto
    /// what is stored. A session that was deleted (a logout elsewhere) or
    /// expired is not brought back: [`Error::SessionDeleted`], and nothing
    /// is written; with [`SaveOptions::upsert`] it is created under `key`
    /// instead; with [`SaveOptions::create_only`] only a session that is
    /// not there is written, under `key`, from the change alone. Returns
    /// the record written.
    pub fn save(&self, key: &SessionKey, change: &Delta, options: SaveOptions) -> Result<Record> {
        self.check_change(change)?;
        let rec = if options.create_only {
            let ctx = self.write_ctx();
            self.store()
                .create(key, ctx.created(change)?, ctx.now_ms)?
                .ok_or(Error::SessionExists)?
        } else {
            self.save_seen(key, change, recall(key).as_ref(), options.upsert)?
        };
        remember(key, &rec);
        self.flush_if(options)?;
        Ok(rec)
    }

    /// Counts the deadline of the live session `key` again from now, under
    /// `expiry` (or the stored policy); the data is untouched
    /// (express-session's `touch`). [`Error::SessionDeleted`] when there is
    /// no live session: nothing is created.
    pub fn touch(&self, key: &SessionKey, expiry: Option<Expiry>) -> Result<Record> {
        let change = Delta {
            expiry,
            ..Delta::none()
        };
        self.save(key, &change, SaveOptions::default())
    }

    /// Deletes the session `key` (logout; Django's `delete(key)`,
    /// express-session's `destroy`). Returns whether one was stored. A
    /// request still holding the session cannot save it back
    /// ([`Error::SessionDeleted`]).
    pub fn delete(&self, key: &SessionKey) -> Result<bool> {
        self.store().delete(key)
    }

    /// The save under every other: `change` (already checked) onto the live
    /// session `key`, with `seen` the record the caller read, if any.
    pub(crate) fn save_seen(
        &self,
        key: &SessionKey,
        change: &Delta,
        mut seen: Option<&Record>,
        upsert: bool,
    ) -> Result<Record> {
        let store = self.store();
        // An upsert of nothing read is most often a session the framework
        // has just made (express-session's `set` of a new session): the
        // create goes first, one write where the update would first find
        // nothing (on Redis, a round trip saved). A session stored under
        // the key makes it write nothing, and the update below goes on.
        if upsert && seen.is_none() {
            let ctx = self.write_ctx();
            if let Ok(rec) = ctx.created(change) {
                if let Some(rec) = store.create(key, rec, ctx.now_ms)? {
                    return Ok(rec);
                }
            }
        }
        let mut attempts = 0;
        loop {
            let ctx = self.write_ctx();
            let merge = &mut |current: &Record, unchanged: bool| {
                let header = ctx.saved_header(current.header(), change.expiry);
                let data = change.merged_into(current.data(), unchanged).map_err(|e| {
                    store.count_damaged();
                    Error::Corrupt(e)
                })?;
                ctx.record(header, &data)
            };
            match store.update(key, seen.take(), ctx.now_ms, merge) {
                Err(Error::SessionDeleted) if upsert && attempts < UPSERT_ATTEMPTS => {
                    attempts += 1;
                    if let Some(rec) = store.create(key, ctx.created(change)?, ctx.now_ms)? {
                        return Ok(rec);
                    }
                    // A live session appeared under the key meanwhile: the
                    // next round saves onto it.
                }
                done => return done,
            }
        }
    }

    /// Moves the live session `old` to a fresh key, against session
    /// fixation (Django's `cycle_key`, on login): the new session holds the
    /// data stored now with `change` applied (so what another request saved
    /// meanwhile is kept, as by a save), under `change`'s expiry policy or
    /// else the stored one, and `old` is deleted. Returns the new key and
    /// its record.
    ///
    /// A session that was deleted (a logout in another tab) or expired is
    /// not carried to a new key: [`Error::SessionDeleted`], and nothing is
    /// written. Nor is one deleted while it is being copied: the copy is
    /// removed again, with the same error. The copy is written before the
    /// old key is deleted, so a failure in between (a full disk) leaves the
    /// old session as it was rather than none.
    pub fn cycle_key(&self, old: &SessionKey, change: &Delta) -> Result<(SessionKey, Record)> {
        self.check_change(change)?;
        let moved = self.cycle_key_checked(old, change)?;
        remember(&moved.0, &moved.1);
        Ok(moved)
    }

    /// [`Engine::cycle_key`] for a change already checked.
    pub(crate) fn cycle_key_checked(
        &self,
        old: &SessionKey,
        change: &Delta,
    ) -> Result<(SessionKey, Record)> {
        let store = self.store();
        let current = store
            .load(old, self.now_ms())?
            .ok_or(Error::SessionDeleted)?;
        let data: Cow<'_, [u8]> = change.merged_into(current.data(), false)?;
        let expiry = change.expiry.unwrap_or(current.header().expiry);
        let (new, rec) = self.create_fresh(&data, expiry)?;
        if !store.delete(old)? {
            store.delete(&new)?;
            return Err(Error::SessionDeleted);
        }
        Ok((new, rec))
    }

    /// Calls `visit` with each live session (its key and record) stored
    /// under a key after `after` (from the first when `None`), in key
    /// order, until `visit` returns `false`. Returns whether the walk
    /// reached the end of the store. Records that expired, are damaged, or
    /// sit under a key that is not a session key are skipped: a listing
    /// shows what a load would return.
    ///
    /// This reads the whole store, page by page (memory stays constant):
    /// it is for listings and maintenance (express-session's `all`,
    /// `length`; an admin page), not for the request path.
    pub fn for_each_session<E: From<Error>>(
        &self,
        after: Option<&SessionKey>,
        mut visit: impl FnMut(&SessionKey, &Record) -> std::result::Result<bool, E>,
    ) -> std::result::Result<bool, E> {
        // `Store::walk` speaks the engine's error; the visitor's own error
        // waits here while the walk stops.
        let mut failed: Option<E> = None;
        let mut now = self.now_ms();
        let mut seen = 0usize;
        let done = self
            .store()
            .walk(after.map(|k| k.as_bytes()), &mut |raw_key, raw| {
                // One clock reading per CLOCK_EVERY records: a session that
                // expires meanwhile is listed as it was when they began.
                seen += 1;
                if seen.is_multiple_of(CLOCK_EVERY) {
                    now = self.now_ms();
                }
                let Ok(key) = SessionKey::from_bytes(&raw_key) else {
                    return Ok(true);
                };
                let Ok(record) = Record::decode(&raw) else {
                    return Ok(true);
                };
                if record.is_expired(now) || decode_data(record.data()).is_err() {
                    return Ok(true);
                }
                match visit(&key, &record) {
                    Ok(go_on) => Ok(go_on),
                    Err(e) => {
                        failed = Some(e);
                        Ok(false)
                    }
                }
            })?;
        match failed {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    /// Deletes every stored session (express-session's `clear`); returns
    /// how many there were. Records under keys that are not session keys
    /// were not written by sessile and are left alone. Reads the whole
    /// store, as [`Engine::for_each_session`].
    pub fn delete_all(&self) -> Result<u64> {
        let store = self.store();
        let mut removed: u64 = 0;
        store.walk(None, &mut |raw_key, _| {
            if let Ok(key) = SessionKey::from_bytes(&raw_key) {
                if store.delete(&key)? {
                    removed += 1;
                }
            }
            Ok(true)
        })?;
        Ok(removed)
    }

    /// The owner key sessions are found by ([`Config::owner_key`], or the
    /// one the store's owner index is kept by when none is configured).
    ///
    /// [`Config::owner_key`]: crate::Config::owner_key
    pub fn owner_key(&self) -> Option<OwnerKey> {
        self.store()
            .owner_key()
            .or_else(|| self.config().parsed_owner_key().ok().flatten())
    }

    /// The live sessions of `owner` (the value of the owner key in their
    /// data: a user id), each with its key and record (its
    /// `header().expires_at_ms` is when it ends unless used again), the one
    /// that expires last first: "where you are signed in". Read through
    /// the store's owner index, which costs a lookup per session of that
    /// owner; a store that keeps none is read whole.
    /// [`Error::InvalidConfig`] when no owner key is configured or kept.
    pub fn sessions_of(&self, owner: &str) -> Result<Vec<(SessionKey, Record)>> {
        let key = self
            .owner_key()
            .ok_or(Error::InvalidConfig(ConfigError::NoOwnerKey))?;
        let Some(owner) = checked_owner(owner) else {
            return Ok(Vec::new());
        };
        let mut found = match self.store().owned_by(owner, self.now_ms())? {
            Some(found) => found,
            None => {
                let mut found = Vec::new();
                self.for_each_session::<Error>(None, |k, rec| {
                    if key.owner_of(rec.data()).as_deref() == Some(owner) {
                        found.push((k.clone(), rec.clone()));
                    }
                    Ok(true)
                })?;
                found
            }
        };
        found.sort_by_key(|(k, rec)| (std::cmp::Reverse(rec.header().expires_at_ms), k.clone()));
        Ok(found)
    }

    /// Ends every live session of `owner` but `except` (the session of the
    /// request that asks, for "sign out my other devices"; `None` ends them
    /// all: a password reset, a locked account). Returns how many ended.
    /// A request still holding one of them cannot save it back
    /// ([`Error::SessionDeleted`]), as after [`Engine::delete`].
    pub fn end_sessions_of(&self, owner: &str, except: Option<&SessionKey>) -> Result<usize> {
        let mut ended = 0;
        for (key, _) in self.sessions_of(owner)? {
            if Some(&key) != except && self.delete(&key)? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    fn flush_if(&self, options: SaveOptions) -> Result<()> {
        if options.durable {
            self.flush()?;
        }
        Ok(())
    }
}
