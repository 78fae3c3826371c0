//! `Session`: Django's `request.session` — lazy loading, the `accessed` and
//! `modified` flags, typed values, expiry, key cycling, and saves that send
//! only what changed.

use std::time::{Duration, SystemTime};

use rmpv::Value;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::engine::Delta;
use crate::engine::Engine;
use crate::error::{Error, Limit, Result};
use crate::expiry::{from_ms, Expiry, ExpiryError, MAX_AGE_S};
use crate::key::SessionKey;
use crate::record::{
    declared_len, decode_data, encode_data, encoded_len, lookup_data, Data, Record,
};

/// Django's `TEST_COOKIE_NAME`.
pub const TEST_COOKIE_NAME: &str = "testcookie";
/// Django's `TEST_COOKIE_VALUE`.
pub const TEST_COOKIE_VALUE: &str = "worked";

/// The delta of a session that has not changed.
static NO_CHANGE: Delta = Delta::none();

/// One visitor's session, as Django's `SessionBase`.
///
/// Nothing is read from the store until the data is first used; then
/// [`Session::accessed`] becomes true. Changing anything sets
/// [`Session::modified`]. [`Session::save`] writes only the keys changed
/// since the load, so parallel requests that change different keys both
/// keep their changes.
#[derive(Debug)]
pub struct Session {
    engine: Engine,
    key: Option<SessionKey>,
    had_cookie: bool,
    loaded: bool,
    /// Whether `data` holds the whole session. Reading single keys does not
    /// need it: they are looked up in the stored bytes of `seen`.
    decoded: bool,
    seen: Option<Record>,
    data: Data,
    expiry: Expiry,
    /// What changed since the load; `None` until something does. (Most
    /// requests only read, and dropping an empty `Delta`'s maps cost about
    /// a sixth of what a get adds to sled's read.) Read it through
    /// [`Session::delta`], change it through [`Session::delta_mut`].
    delta: Option<Delta>,
    accessed: bool,
    modified: bool,
}

impl Session {
    pub(crate) fn new(engine: Engine, key: Option<SessionKey>, had_cookie: bool) -> Session {
        let loaded = key.is_none();
        Session {
            engine,
            key,
            had_cookie,
            loaded,
            decoded: true,
            seen: None,
            data: Data::new(),
            expiry: Expiry::Default,
            delta: None,
            accessed: false,
            modified: false,
        }
    }

    /// The session key: the one from the cookie until the session is
    /// loaded, then the key of the stored session, or `None` for a session
    /// that has not been saved (Django's `session_key`). Never loads.
    pub fn session_key(&self) -> Option<&str> {
        self.key.as_ref().map(SessionKey::as_str)
    }

    /// Whether the session data was read or written in this request.
    pub fn accessed(&self) -> bool {
        self.accessed
    }

    /// Whether the session was changed in this request.
    pub fn modified(&self) -> bool {
        self.modified
    }

    /// Whether the request that made this session carried the cookie.
    pub fn request_had_cookie(&self) -> bool {
        self.had_cookie
    }

    /// Marks the session modified, e.g. after changing a value in place
    /// through [`Session::get_value`] ... [`Session::insert_value`] is the
    /// usual way. Django: `request.session.modified = True`.
    pub fn set_modified(&mut self, modified: bool) {
        self.modified = modified;
    }

    /// What changed since the load.
    fn delta(&self) -> &Delta {
        self.delta.as_ref().unwrap_or(&NO_CHANGE)
    }

    /// What changed since the load, to add a change to.
    fn delta_mut(&mut self) -> &mut Delta {
        self.delta.get_or_insert_with(Delta::default)
    }

    /// Reads the stored record on first use (Django's `_get_session`); the
    /// data itself is decoded only when needed.
    fn fetch(&mut self) -> Result<()> {
        self.accessed = true;
        if !self.loaded {
            if let Some(key) = &self.key {
                let now = self.engine.now_ms();
                match self.engine.store().load(key, now) {
                    Ok(Some(rec)) => {
                        self.expiry = rec.header().expiry;
                        self.seen = Some(rec);
                        self.decoded = false;
                    }
                    // Unknown, expired or damaged: a new, empty session.
                    Ok(None) | Err(Error::Corrupt(_)) => self.key = None,
                    Err(e) => return Err(e),
                }
            }
            self.loaded = true;
        }
        Ok(())
    }

    /// A record whose data part does not decode is a new, empty session,
    /// as an unknown key is.
    fn forget_damaged(&mut self) {
        self.engine.store().count_damaged();
        self.key = None;
        self.seen = None;
        self.data.clear();
        self.decoded = true;
        self.expiry = Expiry::Default;
    }

    /// The whole data, decoding it on first use.
    fn data(&mut self) -> Result<&mut Data> {
        self.fetch()?;
        if !self.decoded {
            match self.seen.as_ref().map(|rec| decode_data(rec.data())) {
                Some(Ok(mut data)) => {
                    // Changes made before decoding live only in the delta.
                    self.delta().apply_to(&mut data);
                    self.data = data;
                    self.decoded = true;
                }
                _ => self.forget_damaged(),
            }
        }
        Ok(&mut self.data)
    }

    /// One value, without decoding the others when nothing was decoded yet.
    fn lookup(&mut self, key: &str) -> Result<Option<Value>> {
        self.fetch()?;
        if self.decoded {
            return Ok(self.data.get(key).cloned());
        }
        // Not decoded: the delta (never a clear here; `clear` decodes) has
        // the changes, the stored bytes the rest.
        if let Some(v) = self.delta().set.get(key) {
            return Ok(Some(v.clone()));
        }
        if self.delta().remove.contains(key) {
            return Ok(None);
        }
        match self.seen.as_ref().map(|rec| lookup_data(rec.data(), key)) {
            Some(Ok(v)) => Ok(v),
            _ => {
                self.forget_damaged();
                Ok(None)
            }
        }
    }

    fn check_data_key(&self, key: &str) -> Result<()> {
        let limit = self.engine.config().max_data_key_len;
        if key.len() > limit {
            return Err(Error::TooLarge {
                what: Limit::DataKey,
                limit,
                actual: key.len(),
            });
        }
        Ok(())
    }

    /// The value of `key` decoded as `T`; `None` when absent. A stored value
    /// of another type is [`Error::WrongType`].
    pub fn get<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>> {
        match self.lookup(key)? {
            None => Ok(None),
            Some(v) => rmpv::ext::from_value(v)
                .map(Some)
                .map_err(|source| Error::WrongType {
                    key: key.to_owned(),
                    source,
                }),
        }
    }

    /// The raw MessagePack value of `key`.
    pub fn get_value(&mut self, key: &str) -> Result<Option<Value>> {
        self.lookup(key)
    }

    /// Sets `key` to `value` (Django's `session[key] = value`).
    pub fn insert<T: Serialize>(&mut self, key: &str, value: T) -> Result<()> {
        let value = rmpv::ext::to_value(value)?;
        self.insert_value(key, value)
    }

    /// Sets `key` to a raw MessagePack value.
    pub fn insert_value(&mut self, key: &str, value: Value) -> Result<()> {
        self.check_data_key(key)?;
        let cfg = self.engine.config();
        let (max_value, max_keys) = (cfg.max_value_size, cfg.max_keys);
        crate::engine::check_nesting(key, &value)?;
        let size = encoded_len(&value);
        if size > max_value {
            return Err(Error::TooLarge {
                what: Limit::Value,
                limit: max_value,
                actual: size,
            });
        }
        let count = self.key_count_with(key)?;
        if count > max_keys {
            return Err(Error::TooLarge {
                what: Limit::Keys,
                limit: max_keys,
                actual: count,
            });
        }
        if self.decoded {
            self.data.insert(key.to_owned(), value.clone());
        }
        let delta = self.delta_mut();
        delta.remove.remove(key);
        delta.set.insert(key.to_owned(), value);
        self.modified = true;
        Ok(())
    }

    /// Removes `key`; returns whether it was there (Django's `del`, which
    /// raises `KeyError` when it was not). Marks the session modified only
    /// when something was removed.
    pub fn remove(&mut self, key: &str) -> Result<bool> {
        Ok(self.pop_value(key)?.is_some())
    }

    /// Removes `key` and returns its value decoded as `T` (Django's `pop`).
    pub fn pop<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>> {
        match self.pop_value(key)? {
            None => Ok(None),
            Some(v) => rmpv::ext::from_value(v)
                .map(Some)
                .map_err(|source| Error::WrongType {
                    key: key.to_owned(),
                    source,
                }),
        }
    }

    /// How many keys the session would hold with `key` set. Counted
    /// exactly (which needs the stored keys) only when near the limit.
    fn key_count_with(&mut self, key: &str) -> Result<usize> {
        self.fetch()?;
        if self.decoded {
            return Ok(self.data.len() + usize::from(!self.data.contains_key(key)));
        }
        let stored = match self.seen.as_ref().map(|rec| declared_len(rec.data())) {
            Some(Ok(n)) => n,
            _ => return Ok(self.data()?.len() + 1),
        };
        let pending = self.delta().set.len();
        if stored + pending < self.engine.config().max_keys {
            return Ok(stored + pending + 1);
        }
        let data = self.data()?;
        Ok(data.len() + usize::from(!data.contains_key(key)))
    }

    /// Removes `key` and returns its raw value.
    pub fn pop_value(&mut self, key: &str) -> Result<Option<Value>> {
        let old = self.lookup(key)?;
        if self.decoded {
            self.data.remove(key);
        }
        if old.is_some() {
            let delta = self.delta_mut();
            delta.set.remove(key);
            delta.remove.insert(key.to_owned());
            self.modified = true;
        }
        Ok(old)
    }

    /// Whether `key` is set (Django's `key in session`).
    pub fn contains_key(&mut self, key: &str) -> Result<bool> {
        Ok(self.lookup(key)?.is_some())
    }

    /// Returns the value of `key`, first setting it to `default` when absent
    /// (Django's `setdefault`).
    pub fn setdefault<T: Serialize + DeserializeOwned>(
        &mut self,
        key: &str,
        default: T,
    ) -> Result<T> {
        if self.contains_key(key)? {
            return self.get(key).map(|v| v.unwrap_or(default));
        }
        let value = rmpv::ext::to_value(&default)?;
        self.insert_value(key, value)?;
        Ok(default)
    }

    /// Sets every pair (Django's `update`).
    pub fn update<K: AsRef<str>, T: Serialize>(
        &mut self,
        pairs: impl IntoIterator<Item = (K, T)>,
    ) -> Result<()> {
        for (k, v) in pairs {
            self.insert(k.as_ref(), v)?;
        }
        Ok(())
    }

    /// The keys, in sorted order.
    pub fn keys(&mut self) -> Result<Vec<String>> {
        Ok(self.data()?.keys().cloned().collect())
    }

    /// The values, in key order.
    pub fn values(&mut self) -> Result<Vec<Value>> {
        Ok(self.data()?.values().cloned().collect())
    }

    /// The pairs, in key order.
    pub fn items(&mut self) -> Result<Vec<(String, Value)>> {
        Ok(self
            .data()?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// The number of keys.
    pub fn len(&mut self) -> Result<usize> {
        Ok(self.data()?.len())
    }

    /// Removes every key, and the expiry set with `set_expiry` (Django keeps
    /// the expiry inside the data, so `clear` resets it too). The stored
    /// session is emptied on the next save.
    pub fn clear(&mut self) {
        self.data.clear();
        self.loaded = true;
        self.decoded = true;
        self.accessed = true;
        self.modified = true;
        // Always reset the stored policy: this session may not have been
        // read, so `self.expiry` may not show what is stored. (Found by
        // fuzz/engine_ops; see tests/expiry.rs.)
        self.delta = Some(Delta {
            clear: true,
            expiry: Some(Expiry::Default),
            ..Delta::default()
        });
        self.expiry = Expiry::Default;
    }

    /// Django's `is_empty`: true when there is no session key and no data.
    /// Never loads: a session from a cookie that has not been used yet is
    /// not empty.
    pub fn is_empty(&self) -> bool {
        self.key.is_none() && (!self.loaded || self.data.is_empty())
    }

    /// Empties the session, deletes it from the store and drops its key
    /// (Django's `flush`: what logout does).
    pub fn flush(&mut self) -> Result<()> {
        self.clear();
        self.delete()?;
        self.key = None;
        self.seen = None;
        self.delta = None;
        Ok(())
    }

    /// Moves the data to a new key and deletes the old session (Django's
    /// `cycle_key`, called on login against session fixation). Saves
    /// immediately.
    ///
    /// A stored session that was deleted (or expired) after this request
    /// loaded it, say by a logout in another tab, is not carried to a new
    /// key: [`Error::SessionDeleted`], as [`Session::save`] gives, and the
    /// session keeps its old key, so a later save fails the same way.
    /// Changes another request saved meanwhile are kept, as a save keeps
    /// them: the new key gets the stored data with this request's changes.
    pub fn cycle_key(&mut self) -> Result<()> {
        self.fetch()?;
        let Some(old) = &self.key else {
            return self.create();
        };
        let (new, rec) = self.engine.cycle_key_checked(old, self.delta())?;
        self.key = Some(new);
        self.expiry = rec.header().expiry;
        self.seen = Some(rec);
        // The data is now the stored record's: read it from there.
        self.data.clear();
        self.decoded = false;
        self.delta = None;
        self.modified = true;
        Ok(())
    }

    /// Stores the whole session under a fresh key (Django's `create`).
    fn create(&mut self) -> Result<()> {
        let bytes = match &self.seen {
            // Not decoded: the stored bytes plus the delta are the data.
            Some(rec) if !self.decoded => self.delta().apply_to_encoded(rec.data())?,
            _ => encode_data(&self.data),
        };
        let (key, rec) = self.engine.create_fresh(&bytes, self.expiry)?;
        self.key = Some(key);
        self.seen = Some(rec);
        self.delta = None;
        self.modified = true;
        Ok(())
    }

    /// Saves the session: a new one gets a key; an existing one gets the
    /// changes made since it was loaded, and its deadline is counted again
    /// from now. A session deleted meanwhile is not recreated:
    /// [`Error::SessionDeleted`].
    pub fn save(&mut self) -> Result<()> {
        self.fetch()?;
        let Some(key) = self.key.clone() else {
            return self.create();
        };
        if let Some(seen) = self
            .seen
            .as_ref()
            .filter(|_| !self.delta().is_data_unchanged())
        {
            // Our data is what we loaded plus the delta: let the store write
            // it as is when nothing changed in between.
            let full = if self.decoded {
                encode_data(&self.data)
            } else {
                self.delta().apply_to_encoded(seen.data())?
            };
            self.delta_mut().full = Some(full);
        }
        let rec = self
            .engine
            .save_seen(&key, self.delta(), self.seen.as_ref(), false)?;
        self.seen = Some(rec);
        self.delta = None;
        Ok(())
    }

    /// [`Session::save`], then flush the database so the save survives a
    /// crash of the process or the machine.
    pub fn save_durable(&mut self) -> Result<()> {
        self.save()?;
        self.engine.flush()
    }

    /// Deletes the stored session (Django's `delete()`); the data in hand
    /// and the key are kept.
    pub fn delete(&mut self) -> Result<()> {
        if let Some(key) = &self.key {
            self.engine.delete(key)?;
        }
        Ok(())
    }

    /// Sets the expiry policy (Django's `set_expiry`). See [`Expiry`]:
    /// `Seconds` must be 1 to 400 days and `At` after now and at most 400
    /// days ahead, or this fails with [`Error::InvalidExpiry`] and changes
    /// nothing (Django accepts any value; see [`Expiry`], "Range").
    pub fn set_expiry(&mut self, expiry: Expiry) -> Result<()> {
        let expiry = expiry.check(self.engine.now_ms())?;
        self.fetch()?;
        if expiry == Expiry::Default && self.expiry == Expiry::Default {
            // Django's set_expiry(None) with nothing set changes nothing.
            return Ok(());
        }
        self.expiry = expiry;
        self.delta_mut().expiry = Some(expiry);
        self.modified = true;
        Ok(())
    }

    /// Django's `set_expiry(timedelta)`: expires `after` from now (an
    /// absolute time from then on). `after` must be more than zero and at
    /// most 400 days, as for [`Session::set_expiry`].
    pub fn set_expiry_in(&mut self, after: Duration) -> Result<()> {
        let ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
        if !(1..=MAX_AGE_S * 1000).contains(&ms) {
            return Err(ExpiryError::DurationOutOfRange(ms).into());
        }
        self.set_expiry(Expiry::At(self.engine.now_ms().saturating_add(ms)))
    }

    /// The current expiry policy.
    pub fn expiry(&mut self) -> Result<Expiry> {
        self.fetch()?;
        Ok(self.expiry)
    }

    /// Django's `get_expiry_age()`: seconds until the session expires,
    /// counted from now (for relative policies, from the next save).
    pub fn get_expiry_age(&mut self) -> Result<i64> {
        let e = self.expiry()?;
        Ok(e.age_secs(self.engine.now_ms(), self.engine.config().cookie.age_s))
    }

    /// Django's `get_expiry_date()`.
    pub fn get_expiry_date(&mut self) -> Result<SystemTime> {
        let e = self.expiry()?;
        Ok(from_ms(e.deadline_ms(
            self.engine.now_ms(),
            self.engine.config().cookie.age_s,
        )))
    }

    /// Django's `get_expire_at_browser_close()`.
    pub fn get_expire_at_browser_close(&mut self) -> Result<bool> {
        let e = self.expiry()?;
        Ok(e.at_browser_close(self.engine.config().expire_at_browser_close))
    }

    /// Django's `get_session_cookie_age()`: the configured cookie age.
    pub fn get_session_cookie_age(&self) -> i64 {
        self.engine.config().cookie.age_s
    }

    /// Django's `set_test_cookie()`.
    pub fn set_test_cookie(&mut self) -> Result<()> {
        self.insert(TEST_COOKIE_NAME, TEST_COOKIE_VALUE)
    }

    /// Django's `test_cookie_worked()`.
    pub fn test_cookie_worked(&mut self) -> Result<bool> {
        Ok(self
            .get_value(TEST_COOKIE_NAME)?
            .as_ref()
            .and_then(Value::as_str)
            == Some(TEST_COOKIE_VALUE))
    }

    /// Django's `delete_test_cookie()`.
    pub fn delete_test_cookie(&mut self) -> Result<()> {
        self.remove(TEST_COOKIE_NAME).map(|_| ())
    }

    /// Django's `clear_expired()`: sweeps the whole store.
    pub fn clear_expired(&self) -> Result<usize> {
        self.engine.clear_expired()
    }

    /// The engine this session belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
