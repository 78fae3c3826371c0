//! The data part of a record as a value: [`Data`], the map of string keys
//! to MessagePack values a session holds, encoded and decoded whole, and
//! the nesting limit that decoding and `Session::insert_value` share. The
//! walker beside it (`walk.rs`) reads the same bytes without decoding them.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use rmpv::Value;

use super::RecordError;

/// The deepest nesting of arrays and maps accepted inside session data
/// (the data map itself is level 1). Deeper values are refused when set and
/// when decoded, so a hostile record cannot exhaust the stack.
pub const MAX_NESTING: usize = 64;

/// Session data: string keys to MessagePack values.
pub type Data = BTreeMap<String, Value>;

/// Encodes session data as a MessagePack map.
pub fn encode_data(data: &Data) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + data.len() * 16);
    // Writing into a Vec cannot fail.
    let _ = rmp::encode::write_map_len(&mut out, data.len() as u32);
    for (k, v) in data {
        let _ = rmp::encode::write_str(&mut out, k);
        let _ = rmpv::encode::write_value(&mut out, v);
    }
    out
}

/// Decodes a MessagePack map with string keys. Trailing bytes, non-string
/// keys, a key that appears twice and anything that is not a map are
/// errors.
pub fn decode_data(mut bytes: &[u8]) -> Result<Data, RecordError> {
    // rmpv reads the marker 0xc1, which MessagePack never uses, as nil; the
    // walk in place (`walk.rs`) refuses it, and so does decoding. Where the
    // byte appears at all, the walk tells whether it is a marker.
    if bytes.contains(&0xc1) {
        super::walk::for_each_raw_entry(bytes, |_, _| {})?;
    }
    // rmpv spends two units of depth per array/map level and up to three on
    // a leaf: this bounds the recursion; the exact rule (what
    // `Session::insert_value` and `value_len` accept) is checked below.
    let value = rmpv::decode::read_value_with_max_depth(&mut bytes, 2 * MAX_NESTING + 8)
        .map_err(RecordError::msgpack)?;
    if !bytes.is_empty() {
        return Err(RecordError::TrailingBytes(bytes.len()));
    }
    let Value::Map(entries) = value else {
        return Err(RecordError::NotAMap);
    };
    let mut data = Data::new();
    for (k, v) in entries {
        match k {
            Value::String(s) => match s.into_str() {
                Some(s) => {
                    check_nesting(&v)?;
                    match data.entry(s) {
                        Entry::Vacant(slot) => {
                            slot.insert(v);
                        }
                        Entry::Occupied(slot) => {
                            return Err(RecordError::DuplicateKey(slot.key().clone()))
                        }
                    }
                }
                None => return Err(RecordError::NonUtf8Key),
            },
            _ => return Err(RecordError::NonStringKey),
        }
    }
    Ok(data)
}

/// A value of the data map may nest arrays and maps `MAX_NESTING - 1`
/// deep (the map itself is the first level).
fn check_nesting(v: &Value) -> Result<(), RecordError> {
    if nesting(v) >= MAX_NESTING {
        return Err(RecordError::TooDeep);
    }
    Ok(())
}

/// How deeply arrays and maps nest in `v` (a scalar is 0). Stops counting
/// past `MAX_NESTING + 1`.
pub fn nesting(v: &Value) -> usize {
    fn go(v: &Value, depth: usize) -> usize {
        if depth > MAX_NESTING {
            return depth;
        }
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| go(i, depth + 1))
                .max()
                .unwrap_or(depth + 1),
            Value::Map(pairs) => pairs
                .iter()
                .map(|(k, v)| go(k, depth + 1).max(go(v, depth + 1)))
                .max()
                .unwrap_or(depth + 1),
            _ => depth,
        }
    }
    go(v, 0)
}

/// The encoded size of one value.
pub fn encoded_len(v: &Value) -> usize {
    let mut counter = Counter(0);
    let _ = rmpv::encode::write_value(&mut counter, v);
    counter.0
}

struct Counter(usize);
impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
