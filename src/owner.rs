//! Who a session belongs to: the owner key (a path into the session data,
//! such as Django's `_auth_user_id` or passport's `passport.user`), the
//! owner it names in a record, and the owner index's entries.
//!
//! A store that keeps an owner index (DESIGN.md §3) files one entry per
//! (owner, session) and keeps it by the expiry index's rules: the entry is
//! written before the record that needs it and removed after the record it
//! served, and entries that no longer match their record are dropped when
//! they are next read. So a crash leaves at worst an entry too many, never
//! a session its owner's listing cannot find. (The Redis store has no key
//! locks to order two writers of one session: it removes an entry after a
//! change of owner or a listing only once it is ten minutes old, so that a
//! login racing the removal keeps its entry: DESIGN.md §6.)

use std::borrow::Cow;
use std::fmt;

use crate::error::ConfigError;
use crate::key::KEY_LEN;

/// The longest owner an index keeps, in bytes. A value longer than this
/// names no owner (a user id is a few bytes; this only bounds what a
/// listing can be asked for).
pub const MAX_OWNER_LEN: usize = 1024;

/// Where the owner of a session is found in its data: a top-level key
/// (`_auth_user_id`), or a path of keys into nested maps written with dots
/// (`passport.user`). The value found there names the owner when it is a
/// string (its UTF-8 bytes) or an integer (its decimal digits, so that `42`
/// and `"42"` are the same owner) of 1 to [`MAX_OWNER_LEN`] bytes;
/// anything else (an empty string too: a signed-out session that kept the
/// key), or nothing there, means the session has no owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerKey {
    text: String,
    path: Vec<String>,
}

impl OwnerKey {
    /// Parses a dotted path. Empty, or with an empty segment (`a..b`,
    /// `.a`), is [`ConfigError::OwnerKey`].
    pub fn parse(text: &str) -> Result<OwnerKey, ConfigError> {
        let path: Vec<String> = text.split('.').map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::OwnerKey(text.into()));
        }
        Ok(OwnerKey {
            text: text.into(),
            path,
        })
    }

    /// The path as written (`passport.user`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The owner that the encoded data map `data` names, if any. Damaged
    /// data names none (it is refused elsewhere).
    pub fn owner_of<'a>(&self, data: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        let mut value = data;
        for segment in &self.path {
            value = crate::record::find_raw(value, segment)?;
        }
        let owner = owner_value(value)?;
        (!owner.is_empty() && owner.len() <= MAX_OWNER_LEN).then_some(owner)
    }
}

impl fmt::Display for OwnerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The owner an encoded value names: a string's bytes, an integer's
/// decimal digits.
fn owner_value(mut b: &[u8]) -> Option<Cow<'_, [u8]>> {
    use rmp::Marker as M;
    let marker = *b.first()?;
    match M::from_u8(marker) {
        M::FixStr(_) | M::Str8 | M::Str16 | M::Str32 => {
            let len = rmp::decode::read_str_len(&mut b).ok()? as usize;
            Some(Cow::Borrowed(b.get(..len)?))
        }
        M::FixPos(_) | M::U8 | M::U16 | M::U32 | M::U64 => {
            let n: u64 = rmp::decode::read_int(&mut b).ok()?;
            Some(Cow::Owned(n.to_string().into_bytes()))
        }
        M::FixNeg(_) | M::I8 | M::I16 | M::I32 | M::I64 => {
            let n: i64 = rmp::decode::read_int(&mut b).ok()?;
            Some(Cow::Owned(n.to_string().into_bytes()))
        }
        _ => None,
    }
}

/// The owner `owner` as a caller names it, checked: [`None`] when it is
/// longer than any owner an index keeps (so it owns nothing).
pub(crate) fn checked_owner(owner: &str) -> Option<&[u8]> {
    (owner.len() <= MAX_OWNER_LEN && !owner.is_empty()).then_some(owner.as_bytes())
}

/// The prefix every index entry of `owner` starts with: its length (two
/// bytes, big-endian), then its bytes, so that no owner's entries sort
/// among another's.
pub(crate) fn owner_prefix(owner: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(2 + owner.len() + KEY_LEN);
    p.extend_from_slice(&(owner.len() as u16).to_be_bytes());
    p.extend_from_slice(owner);
    p
}

/// The owner index entry of session `key` owned by `owner`.
pub(crate) fn owner_entry(owner: &[u8], key: &[u8]) -> Vec<u8> {
    let mut e = owner_prefix(owner);
    e.extend_from_slice(key);
    e
}

/// The session key of an owner index entry found under `prefix`.
pub(crate) fn entry_session<'a>(prefix: &[u8], entry: &'a [u8]) -> Option<&'a [u8]> {
    entry.strip_prefix(prefix).filter(|k| k.len() == KEY_LEN)
}

/// An owner index entry split into its owner and its session key; `None`
/// when its length does not add up (no writer makes one: the index was
/// damaged).
pub(crate) fn parse_owner_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = entry.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    (rest.len() == len + KEY_LEN).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::encode_data;
    use crate::{Data, Value};

    fn data(pairs: &[(&str, Value)]) -> Vec<u8> {
        let mut d = Data::new();
        for (k, v) in pairs {
            d.insert((*k).into(), v.clone());
        }
        encode_data(&d)
    }

    #[test]
    fn strings_and_integers_name_owners_the_same_way() {
        let key = OwnerKey::parse("_auth_user_id").unwrap();
        let s = data(&[("a", 1.into()), ("_auth_user_id", "42".into())]);
        let n = data(&[("_auth_user_id", 42.into())]);
        let neg = data(&[("_auth_user_id", (-7).into())]);
        assert_eq!(key.owner_of(&s).as_deref(), Some(&b"42"[..]));
        assert_eq!(key.owner_of(&n).as_deref(), Some(&b"42"[..]));
        assert_eq!(key.owner_of(&neg).as_deref(), Some(&b"-7"[..]));
    }

    #[test]
    fn other_values_and_missing_keys_name_no_owner() {
        let key = OwnerKey::parse("uid").unwrap();
        for v in [Value::Nil, true.into(), 1.5.into(), Value::Array(vec![])] {
            assert_eq!(key.owner_of(&data(&[("uid", v)])), None);
        }
        assert_eq!(key.owner_of(&data(&[("other", "x".into())])), None);
        assert_eq!(key.owner_of(&data(&[("uid", "".into())])), None);
        let long = "x".repeat(MAX_OWNER_LEN + 1);
        assert_eq!(key.owner_of(&data(&[("uid", long.into())])), None);
        assert_eq!(key.owner_of(b"\xc1"), None);
    }

    #[test]
    fn dotted_paths_reach_into_maps() {
        let key = OwnerKey::parse("passport.user").unwrap();
        let inner = Value::Map(vec![("user".into(), "ann".into())]);
        assert_eq!(
            key.owner_of(&data(&[("passport", inner)])).as_deref(),
            Some(&b"ann"[..])
        );
        assert_eq!(key.owner_of(&data(&[("passport", "ann".into())])), None);
        for bad in ["", ".a", "a.", "a..b"] {
            assert!(OwnerKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn entries_of_one_owner_never_sort_among_another_s() {
        let k = [b'k'; KEY_LEN];
        let e = owner_entry(b"ab", &k);
        assert!(e.starts_with(&owner_prefix(b"ab")));
        assert!(!e.starts_with(&owner_prefix(b"a")));
        assert_eq!(entry_session(&owner_prefix(b"ab"), &e), Some(&k[..]));
        assert_eq!(parse_owner_entry(&e), Some((&b"ab"[..], &k[..])));
        assert_eq!(parse_owner_entry(&e[..e.len() - 1]), None);
        assert_eq!(parse_owner_entry(b"\x00"), None);
    }
}
