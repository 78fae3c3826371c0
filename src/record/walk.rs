//! The data part of a record as bytes: a hand-written MessagePack walker
//! that finds one key ([`lookup_data`]), lists the entries
//! ([`encoded_entries`]) and measures values ([`value_len`]) in place,
//! without decoding or copying them. Loads and saves go through it on every
//! request, so it skips rmpv's allocating decoder; its checks must admit
//! exactly what [`decode_data`](super::decode_data) admits, which the tests
//! at the end of this file hold it to, value kind by value kind.

use rmpv::Value;

use super::{RecordError, MAX_NESTING};

/// One entry of an encoded map: the key's raw bytes (not yet checked to be
/// UTF-8), its encoded value, and the whole entry as stored.
type RawEntry<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Reads the entry at the start of `bytes` (past the map header) and moves
/// `bytes` past it.
#[inline(always)]
fn next_entry<'a>(bytes: &mut &'a [u8]) -> Result<RawEntry<'a>, RecordError> {
    let entry = *bytes;
    let mut rest = entry;
    let klen = match entry.first() {
        // A fixstr (up to 31 bytes): nearly every key.
        Some(&m) if m & 0xe0 == 0xa0 => {
            rest = &entry[1..];
            (m & 0x1f) as usize
        }
        _ => rmp::decode::read_str_len(&mut rest).map_err(RecordError::msgpack)? as usize,
    };
    let key = rest.get(..klen).ok_or(RecordError::TruncatedKey)?;
    let rest = &rest[klen..];
    let len = match scalar_len(rest) {
        Some(len) => len,
        None => value_len(rest, MAX_NESTING - 1)?,
    };
    *bytes = &rest[len..];
    Ok((key, &rest[..len], &entry[..entry.len() - bytes.len()]))
}

fn utf8_key(key: &[u8]) -> Result<&str, RecordError> {
    std::str::from_utf8(key).map_err(|_| RecordError::NonUtf8Key)
}

/// The walk behind [`for_each_entry`] and [`for_each_raw_entry`]: the map
/// header, each entry (keys not yet checked to be UTF-8), then no trailing
/// bytes.
fn walk_entries<'a>(
    mut bytes: &'a [u8],
    mut f: impl FnMut(RawEntry<'a>) -> Result<(), RecordError>,
) -> Result<(), RecordError> {
    let n = rmp::decode::read_map_len(&mut bytes).map_err(RecordError::msgpack)?;
    for _ in 0..n {
        f(next_entry(&mut bytes)?)?;
    }
    if !bytes.is_empty() {
        return Err(RecordError::TrailingBytes(bytes.len()));
    }
    Ok(())
}

/// Walks the entries of an encoded data map as [`for_each_entry`] does, with
/// the same checks, but hands over each key as bytes (checked to be UTF-8)
/// and the whole entry as stored: for callers that only compare keys.
/// Session keys are ASCII, which is checked a word at a time: saves walk
/// every stored entry, and `str::from_utf8` on each key (what
/// [`for_each_entry`] needs to make a `&str`) showed in
/// `benches/hot_path.rs` (set).
pub fn for_each_raw_entry<'a>(
    bytes: &'a [u8],
    mut f: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<(), RecordError> {
    walk_entries(bytes, |(k, _, entry)| {
        if !k.is_ascii() && std::str::from_utf8(k).is_err() {
            return Err(RecordError::NonUtf8Key);
        }
        f(k, entry);
        Ok(())
    })
}

/// Walks the entries of an encoded data map in stored order, calling `f`
/// with each key, its encoded value, and the whole entry as stored (key and
/// value bytes). Values are measured in place ([`value_len`]), nothing is
/// decoded or copied. Anything that is not a map with string keys, a value
/// nested deeper than [`decode_data`](super::decode_data) admits, and
/// trailing bytes are errors.
pub(crate) fn for_each_entry<'a>(
    bytes: &'a [u8],
    mut f: impl FnMut(&'a str, &'a [u8], &'a [u8]),
) -> Result<(), RecordError> {
    walk_entries(bytes, |(k, value, entry)| {
        f(utf8_key(k)?, value, entry);
        Ok(())
    })
}

/// The encoded value of `key` in the encoded map `bytes`, without decoding
/// it; `None` when `bytes` is not a map, has no such key, or is damaged
/// before the key is found. For the owner index, which reads one value
/// from the records it files (`owner.rs`).
pub fn find_raw<'a>(mut bytes: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let n = rmp::decode::read_map_len(&mut bytes).ok()?;
    for _ in 0..n {
        let (k, value, _) = next_entry(&mut bytes).ok()?;
        if k == key.as_bytes() {
            return Some(value);
        }
    }
    None
}

/// Finds one key in an encoded data map without decoding the rest: the
/// walk stops at the key, and the values before it are skipped in place
/// (strings and binaries are not copied). Keys are unique in stored data
/// (writers refuse a map with a key twice, and
/// [`decode_data`](super::decode_data) refuses to decode one), so the first
/// match is the value. A map that is damaged before the key is an error.
pub fn lookup_data(mut bytes: &[u8], key: &str) -> Result<Option<Value>, RecordError> {
    let n = rmp::decode::read_map_len(&mut bytes).map_err(RecordError::msgpack)?;
    for _ in 0..n {
        let (k, mut value, _) = next_entry(&mut bytes)?;
        if k == key.as_bytes() {
            if let Some(v) = scalar_value(value) {
                return Ok(Some(v));
            }
            // The value's nesting was checked by `next_entry`.
            return rmpv::decode::read_value_with_max_depth(&mut value, 2 * MAX_NESTING + 8)
                .map(Some)
                .map_err(RecordError::msgpack);
        }
        // Keys that do not match are compared as bytes: only a valid key
        // can equal `key`.
    }
    if !bytes.is_empty() {
        return Err(RecordError::TrailingBytes(bytes.len()));
    }
    Ok(None)
}

/// Refuses a map that has some key twice (the entries from
/// [`encoded_entries`]). Writers check this, so that a key's value is the
/// same whichever way the map is read.
pub fn check_unique_keys(entries: &[(&str, &[u8])]) -> Result<(), RecordError> {
    if entries.len() <= 32 {
        // A handful of keys: comparing them pairwise beats hashing.
        for (i, (k, _)) in entries.iter().enumerate() {
            if entries[..i].iter().any(|(seen, _)| seen == k) {
                return Err(RecordError::DuplicateKey((*k).to_owned()));
            }
        }
    } else {
        let mut seen = std::collections::HashSet::with_capacity(entries.len());
        if let Some((k, _)) = entries.iter().find(|(k, _)| !seen.insert(*k)) {
            return Err(RecordError::DuplicateKey((*k).to_owned()));
        }
    }
    Ok(())
}

/// The entries of an encoded data map as `(key, encoded value)` slices, in
/// stored order, without decoding the values ([`for_each_entry`]); nothing
/// is allocated but the list.
pub fn encoded_entries(bytes: &[u8]) -> Result<Vec<(&str, &[u8])>, RecordError> {
    let mut out = Vec::new();
    for_each_entry(bytes, |k, v, _| out.push((k, v)))?;
    Ok(out)
}

/// The length of the value at the start of `b` when it is one of the
/// scalars session data is mostly made of (nil, booleans, integers, floats,
/// strings and binaries up to 255 bytes), measured from its first bytes;
/// `None` for anything else, including a truncated value: [`value_len`]
/// measures those, and says what is wrong. (Lookups walk every entry before
/// the key they want, and the general measure made each step about twice
/// as slow: `benches/hot_path.rs`, get.)
#[inline]
fn scalar_len(b: &[u8]) -> Option<usize> {
    let m = *b.first()?;
    let len = match m {
        // fixint, nil, false, true
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 1,
        // fixstr
        0xa0..=0xbf => 1 + (m & 0x1f) as usize,
        // uint8, int8 / uint16, int16 / float32, uint32, int32 / float64,
        // uint64, int64
        0xcc | 0xd0 => 2,
        0xcd | 0xd1 => 3,
        0xca | 0xce | 0xd2 => 5,
        0xcb | 0xcf | 0xd3 => 9,
        // str8, bin8
        0xd9 | 0xc4 => 2 + *b.get(1)? as usize,
        _ => return None,
    };
    (len <= b.len()).then_some(len)
}

/// The value `b` encodes (exactly, as measured by [`scalar_len`]) when it
/// is nil, a boolean, an integer or a float: decoded here, the same
/// [`Value`] rmpv's reader gives, at a fraction of its cost (a get reads one
/// value per request). `None` for anything else, which rmpv decodes.
fn scalar_value(b: &[u8]) -> Option<Value> {
    let be = |n: usize| -> Option<u64> {
        Some(
            b.get(1..1 + n)?
                .iter()
                .fold(0u64, |acc, &x| (acc << 8) | x as u64),
        )
    };
    Some(match *b.first()? {
        m @ 0x00..=0x7f => Value::from(m),
        m @ 0xe0..=0xff => Value::from(m as i8),
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xcc => Value::from(be(1)?),
        0xcd => Value::from(be(2)?),
        0xce => Value::from(be(4)?),
        0xcf => Value::from(be(8)?),
        0xd0 => Value::from(be(1)? as u8 as i8),
        0xd1 => Value::from(be(2)? as u16 as i16),
        0xd2 => Value::from(be(4)? as u32 as i32),
        0xd3 => Value::from(be(8)? as i64),
        0xca => Value::F32(f32::from_bits(be(4)? as u32)),
        0xcb => Value::F64(f64::from_bits(be(8)?)),
        _ => return None,
    })
}

/// The length in bytes of the one MessagePack value at the start of `b`,
/// found without decoding or copying anything. Its arrays and maps may nest
/// `levels` deep (a scalar is 0 levels), which is what
/// [`decode_data`](super::decode_data) admits for a value of the data map
/// when `levels` is `MAX_NESTING - 1`.
/// A truncated value, the reserved marker `0xc1` and deeper nesting are
/// errors.
pub fn value_len(b: &[u8], levels: usize) -> Result<usize, RecordError> {
    use rmp::Marker as M;
    let truncated = || RecordError::TruncatedValue;
    let be = |at: usize, n: usize| -> Result<usize, RecordError> {
        let bytes = b.get(at..at + n).ok_or_else(truncated)?;
        Ok(bytes.iter().fold(0usize, |acc, &x| (acc << 8) | x as usize))
    };
    let first = *b.first().ok_or_else(truncated)?;
    // (header length, payload bytes, nested values that follow)
    let (head, payload, items) = match M::from_u8(first) {
        M::FixPos(_) | M::FixNeg(_) | M::Null | M::True | M::False => (1, 0, 0),
        M::U8 | M::I8 => (1, 1, 0),
        M::U16 | M::I16 => (1, 2, 0),
        M::U32 | M::I32 | M::F32 => (1, 4, 0),
        M::U64 | M::I64 | M::F64 => (1, 8, 0),
        M::FixStr(n) => (1, n as usize, 0),
        M::Str8 | M::Bin8 => (2, be(1, 1)?, 0),
        M::Str16 | M::Bin16 => (3, be(1, 2)?, 0),
        M::Str32 | M::Bin32 => (5, be(1, 4)?, 0),
        M::FixExt1 => (2, 1, 0),
        M::FixExt2 => (2, 2, 0),
        M::FixExt4 => (2, 4, 0),
        M::FixExt8 => (2, 8, 0),
        M::FixExt16 => (2, 16, 0),
        M::Ext8 => (3, be(1, 1)?, 0),
        M::Ext16 => (4, be(1, 2)?, 0),
        M::Ext32 => (6, be(1, 4)?, 0),
        M::FixArray(n) => (1, 0, n as usize),
        M::Array16 => (3, 0, be(1, 2)?),
        M::Array32 => (5, 0, be(1, 4)?),
        M::FixMap(n) => (1, 0, 2 * n as usize),
        M::Map16 => (3, 0, 2 * be(1, 2)?),
        M::Map32 => (5, 0, 2 * be(1, 4)?),
        M::Reserved => return Err(RecordError::ReservedMarker),
    };
    let is_container = matches!(
        M::from_u8(first),
        M::FixArray(_) | M::Array16 | M::Array32 | M::FixMap(_) | M::Map16 | M::Map32
    );
    if is_container && levels == 0 {
        return Err(RecordError::TooDeep);
    }
    let mut at = head + payload;
    if at > b.len() {
        return Err(truncated());
    }
    for _ in 0..items {
        at += value_len(&b[at..], levels - 1)?;
    }
    Ok(at)
}

/// The number of entries an encoded data map declares (an upper bound on
/// its distinct keys).
pub fn declared_len(mut bytes: &[u8]) -> Result<usize, RecordError> {
    rmp::decode::read_map_len(&mut bytes)
        .map(|n| n as usize)
        .map_err(RecordError::msgpack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{decode_data, encode_data, Data};

    #[test]
    fn lookup_agrees_with_full_decoding() {
        let mut d = Data::new();
        d.insert("a".into(), Value::from(1));
        d.insert(
            "b".into(),
            Value::Array(vec![Value::from("x"), Value::Binary(vec![1, 2])]),
        );
        d.insert("c".into(), Value::from("three"));
        // Keys of 31 bytes and more have a longer header than a fixstr's.
        let (k31, k32, k300) = ("d".repeat(31), "e".repeat(32), "f".repeat(300));
        for k in [&k31, &k32, &k300] {
            d.insert(k.clone(), Value::from(k.len()));
        }
        let bytes = encode_data(&d);
        for k in ["a", "b", "c", "missing", &k31, &k32, &k300] {
            assert_eq!(lookup_data(&bytes, k).unwrap(), d.get(k).cloned());
        }
        // A key twice: decoding the map refuses it, and so do writers.
        let dup = [0x82, 0xa1, b'k', 0x01, 0xa1, b'k', 0x02];
        let twice = RecordError::DuplicateKey("k".into());
        assert_eq!(decode_data(&dup), Err(twice.clone()));
        assert_eq!(
            check_unique_keys(&encoded_entries(&dup).unwrap()),
            Err(twice)
        );
        assert!(check_unique_keys(&encoded_entries(&bytes).unwrap()).is_ok());
        // Past 32 keys the check hashes them.
        let many: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let mut entries: Vec<(&str, &[u8])> =
            many.iter().map(|k| (k.as_str(), &[0u8][..])).collect();
        assert!(check_unique_keys(&entries).is_ok());
        entries.push(("k7", &[1u8][..]));
        assert!(check_unique_keys(&entries).is_err());
        assert!(lookup_data(&[0x90], "k").is_err());
        assert!(lookup_data(&[0x81, 0x01, 0x02], "k").is_err());
        assert_eq!(
            lookup_data(&[0x80, 0x00], "k"),
            Err(RecordError::TrailingBytes(1))
        );
    }

    /// A map `{"k": v}` where `v` is `levels` arrays (or maps) deep.
    fn nested(levels: usize, map: bool) -> Vec<u8> {
        let mut out = vec![0x81, 0xa1, b'k'];
        for _ in 0..levels {
            out.extend_from_slice(if map { &[0x81, 0xa1, b'x'] } else { &[0x91] });
        }
        out.push(0x07);
        out
    }

    #[test]
    fn measuring_values_admits_exactly_what_decoding_admits() {
        for levels in [
            0,
            1,
            2,
            MAX_NESTING - 2,
            MAX_NESTING - 1,
            MAX_NESTING,
            MAX_NESTING + 1,
        ] {
            for map in [false, true] {
                let bytes = nested(levels, map);
                assert_eq!(
                    encoded_entries(&bytes).is_ok(),
                    decode_data(&bytes).is_ok(),
                    "{levels} levels of {}",
                    if map { "maps" } else { "arrays" }
                );
                assert_eq!(encoded_entries(&bytes).is_ok(), levels < MAX_NESTING);
            }
        }
        // Every kind of value measures as long as its encoding.
        let values = [
            Value::Nil,
            Value::from(true),
            Value::from(-1),
            Value::from(200),
            Value::from(-200),
            Value::from(70_000),
            Value::from(-70_000),
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            Value::F32(1.5),
            Value::F64(2.5),
            Value::from(-100),
            Value::from(300),
            Value::from(""),
            Value::from("ab"),
            Value::from("x".repeat(40)),
            Value::from("y".repeat(300)),
            Value::Binary(vec![1; 10]),
            Value::from("z".repeat(70_000)),
            Value::Binary(vec![1; 300]),
            Value::Array(vec![Value::from(1); 20]),
            Value::Map(vec![(Value::from("a"), Value::from(1)); 20]),
            Value::Ext(3, vec![1]),
            Value::Ext(3, vec![1; 16]),
            Value::Ext(3, vec![1; 17]),
            Value::Ext(3, vec![1; 300]),
        ];
        for v in &values {
            let mut bytes = Vec::new();
            rmpv::encode::write_value(&mut bytes, v).unwrap();
            assert_eq!(value_len(&bytes, 4).unwrap(), bytes.len(), "{v:?}");
            assert!(
                value_len(&bytes[..bytes.len() - 1], 4).is_err(),
                "{v:?} truncated"
            );
        }
        assert!(value_len(&[0xc1], 4).is_err());
        // rmpv reads it as nil; decoding refuses it as the walk does.
        assert!(decode_data(&[0x81, 0xa1, b'k', 0x91, 0xc1]).is_err());
        assert!(decode_data(&[0x81, 0xa1, b'k', 0xc4, 0x01, 0xc1]).is_ok());
        // The fast decoder agrees with rmpv's wherever it answers.
        for v in &values {
            let mut bytes = Vec::new();
            rmpv::encode::write_value(&mut bytes, v).unwrap();
            if let Some(fast) = scalar_value(&bytes) {
                let slow = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
                assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{v:?}");
                assert_eq!(fast, slow);
            }
        }
        for b in [
            &[0xd0, 0x05][..],
            &[0xd1, 0xff, 0xfe],
            &[0xcd, 0x00, 0x07],
            &[0xe0],
        ] {
            let slow = rmpv::decode::read_value(&mut &b[..]).unwrap();
            assert_eq!(Some(slow), scalar_value(b), "{b:x?}");
        }
        // The fast measure agrees with the general one wherever it answers,
        // and answers for nothing truncated.
        for first in 0..=255u8 {
            for len in 0..12usize {
                let mut b = vec![first];
                b.extend((0..len).map(|i| i as u8 + 3));
                if let Some(n) = scalar_len(&b) {
                    assert_eq!(value_len(&b, 0).ok(), Some(n), "{b:?}");
                }
            }
        }
        assert!(value_len(&[0xdd, 0xff, 0xff, 0xff, 0xff], 4).is_err());
    }
}
