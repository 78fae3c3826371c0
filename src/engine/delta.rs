//! [`Delta`]: the change one request makes to a session, and how it merges
//! onto whatever is stored when it is saved (written once, here: every
//! store hands the engine the stored record and writes what comes back).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use rmpv::Value;

use crate::expiry::Expiry;
use crate::record::{
    encode_data, encoded_entries, encoded_len, for_each_raw_entry, Data, RecordError,
};

/// The changes one request made to a session since it loaded it, saved
/// with [`Engine::save`](crate::Engine::save). Saving a delta instead of
/// the whole session keeps parallel requests that change different keys
/// from losing each other's changes.
///
/// ```
/// use sessile::{Delta, Expiry};
/// let change = Delta::new().set("cart", 3.into()).remove("coupon");
/// let replace = Delta::replace([("user".to_owned(), 42.into())].into());
/// let touch = Delta::new().with_expiry(Expiry::Seconds(3600));
/// # let _ = (change, replace, touch);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// The session was cleared first (everything stored is dropped).
    pub(crate) clear: bool,
    /// Keys removed (applied after `clear`).
    pub(crate) remove: BTreeSet<String>,
    /// Keys set to new values (applied last).
    pub(crate) set: BTreeMap<String, Value>,
    /// A new expiry policy, if it changed.
    pub(crate) expiry: Option<Expiry>,
    /// Optionally, the whole encoded data that results from applying this
    /// delta to the data of the record passed as `seen` to
    /// [`Store::save`] (or to `base`, when given). When the stored data is
    /// still that, the store writes this instead of decoding and
    /// re-applying; otherwise it is ignored.
    pub(crate) full: Option<Vec<u8>>,
    /// The encoded data `full` was made from, when the caller holds it as
    /// bytes rather than as a loaded [`Record`] (a binding that sent back
    /// what it loaded; see [`Delta::diff`]). With both `base` and `full`
    /// and no `clear`, `remove` or `set`, the change is what differs between
    /// them, worked out only if the stored data is no longer `base`
    /// ([`Delta::between`]).
    pub(crate) base: Option<Vec<u8>>,
}

impl Delta {
    /// No change (yet).
    pub fn new() -> Delta {
        Delta::none()
    }

    /// Sets `key` to `value` (after any removal or clear).
    pub fn set(mut self, key: impl Into<String>, value: Value) -> Delta {
        let key = key.into();
        self.remove.remove(&key);
        self.set.insert(key, value);
        self
    }

    /// Removes `key`.
    pub fn remove(mut self, key: impl Into<String>) -> Delta {
        let key = key.into();
        self.set.remove(&key);
        self.remove.insert(key);
        self
    }

    /// Drops every stored key first (the values set here are kept).
    pub fn clear(mut self) -> Delta {
        self.clear = true;
        self.remove.clear();
        self
    }

    /// Replaces the whole data with `data`: what a framework that hands
    /// its store the whole session saves.
    pub fn replace(data: Data) -> Delta {
        Delta {
            clear: true,
            set: data,
            ..Delta::none()
        }
    }

    /// Sets the expiry policy (the deadline is counted again from the save
    /// in any case; without this the stored policy stays).
    pub fn with_expiry(mut self, expiry: Expiry) -> Delta {
        self.expiry = Some(expiry);
        self
    }

    /// The expiry policy this change sets, if any.
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    /// Whether the delta changes nothing but (perhaps) the expiry.
    pub(crate) fn is_data_unchanged(&self) -> bool {
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
    pub(crate) fn diff(seen: &[u8], now: &[u8]) -> Result<Delta, RecordError> {
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
                .map_err(RecordError::msgpack)
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

    /// The change from the encoded map `seen` (what the caller loaded) to
    /// the encoded map `now` (what it holds now); empty input is the empty
    /// map. A binding that holds its session as a plain dictionary saves
    /// this without tracking each change. The keys that changed are worked
    /// out only if the stored data is no longer `seen` (another request
    /// saved meanwhile); otherwise `now` is written as it is. Both maps are
    /// checked when the delta is saved.
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
    pub(crate) fn merged_into<'a>(
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
    pub(crate) fn apply_to_encoded(&self, encoded: &[u8]) -> Result<Vec<u8>, RecordError> {
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

    /// The encoded data this change gives applied to an empty session
    /// (what an upsert or a create stores).
    pub(crate) fn created(&self) -> Cow<'_, [u8]> {
        match (&self.base, &self.full) {
            (Some(_), Some(full)) if self.is_data_unchanged() => Cow::Borrowed(full),
            _ => {
                let mut data = Data::new();
                self.apply_to(&mut data);
                Cow::Owned(encode_data(&data))
            }
        }
    }

    /// Applies the data changes to `data`.
    pub(crate) fn apply_to(&self, data: &mut Data) {
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
