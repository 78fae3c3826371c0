//! Arbitrary bytes as a session's data map: looking a key up in place
//! (`lookup_data`, what every `get` does) agrees with decoding the map
//! (`decode_data`) for each key it holds and for keys it does not. On any
//! bytes, decodable or not, the lookup agrees with a plain rmpv reading of
//! the map entry by entry: it stops at the first entry with the key and
//! returns its value; an entry before it that is damaged (not a string key,
//! a value that does not decode, holds the marker 0xc1 or nests deeper
//! than `MAX_NESTING` allows) is an error; a key that is absent is `None`
//! only if every entry and the end of the map (no trailing bytes) are
//! sound. A lookup never panics.
//! (What a lookup does not check, by design: keys after the one it finds,
//! a non-UTF-8 key it walks past, a key given twice; decoding refuses
//! those.)
#![no_main]
use libfuzzer_sys::fuzz_target;
use rmpv::Value;
use sessile::internals::{decode_data, lookup_data, MAX_NESTING};

/// The map as rmpv reads it, entry by entry: each key's bytes with its
/// value, then whether the map ended soundly (`false`: an entry could not
/// be read, or bytes trail the map).
fn reference(mut bytes: &[u8]) -> (Vec<(Vec<u8>, Value)>, bool) {
    let depth = 2 * MAX_NESTING + 8;
    let mut entries = Vec::new();
    let Ok(n) = rmp::decode::read_map_len(&mut bytes) else {
        return (entries, false);
    };
    for _ in 0..n {
        let Ok(Value::String(key)) = rmpv::decode::read_value_with_max_depth(&mut bytes, depth)
        else {
            return (entries, false);
        };
        let start = bytes;
        let Ok(value) = rmpv::decode::read_value_with_max_depth(&mut bytes, depth) else {
            return (entries, false);
        };
        let mut read = &start[..start.len() - bytes.len()];
        // The data map is the first level.
        if nesting(&value) >= MAX_NESTING || reserved(&mut read) {
            return (entries, false);
        }
        entries.push((key.into_bytes(), value));
    }
    (entries, bytes.is_empty())
}

/// How deeply arrays and maps nest in `v` (a scalar is 0).
fn nesting(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Map(pairs) => {
            1 + pairs
                .iter()
                .map(|(k, v)| nesting(k).max(nesting(v)))
                .max()
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// Whether the value at the start of `b`, one that rmpv read, holds the
/// marker 0xc1 (MessagePack never uses it; rmpv reads it as nil); moves
/// `b` past what it walked.
fn reserved(b: &mut &[u8]) -> bool {
    use rmp::Marker as M;
    fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, tail) = b.split_at(n);
        *b = tail;
        head
    }
    fn len(b: &mut &[u8], n: usize) -> usize {
        take(b, n).iter().fold(0, |acc, &x| acc << 8 | x as usize)
    }
    // (payload bytes to skip, values that follow)
    let (skip, items) = match M::from_u8(take(b, 1)[0]) {
        M::Reserved => return true,
        M::U8 | M::I8 => (1, 0),
        M::U16 | M::I16 => (2, 0),
        M::U32 | M::I32 | M::F32 => (4, 0),
        M::U64 | M::I64 | M::F64 => (8, 0),
        M::FixStr(n) => (n as usize, 0),
        M::Str8 | M::Bin8 => (len(b, 1), 0),
        M::Str16 | M::Bin16 => (len(b, 2), 0),
        M::Str32 | M::Bin32 => (len(b, 4), 0),
        // An extension's type byte, then its data.
        M::FixExt1 => (2, 0),
        M::FixExt2 => (3, 0),
        M::FixExt4 => (5, 0),
        M::FixExt8 => (9, 0),
        M::FixExt16 => (17, 0),
        M::Ext8 => (1 + len(b, 1), 0),
        M::Ext16 => (1 + len(b, 2), 0),
        M::Ext32 => (1 + len(b, 4), 0),
        M::FixArray(n) => (0, n as usize),
        M::Array16 => (0, len(b, 2)),
        M::Array32 => (0, len(b, 4)),
        M::FixMap(n) => (0, 2 * n as usize),
        M::Map16 => (0, 2 * len(b, 2)),
        M::Map32 => (0, 2 * len(b, 4)),
        M::FixPos(_) | M::FixNeg(_) | M::Null | M::True | M::False => (0, 0),
    };
    take(b, skip);
    (0..items).any(|_| reserved(b))
}

/// Values compared by their encoding: a NaN is not equal to itself.
fn same(a: &Value, b: &Value) -> bool {
    let enc = |v: &Value| {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, v).unwrap();
        out
    };
    enc(a) == enc(b)
}

fuzz_target!(|bytes: &[u8]| {
    let (entries, sound) = reference(bytes);
    let decoded = decode_data(bytes);
    if decoded.is_ok() {
        assert!(sound, "decoded a map rmpv cannot read");
    }
    // Keys to look up: each key read (the first entry's value wins), and
    // some that are absent unless the map holds them.
    let mut probes: Vec<String> = entries
        .iter()
        .filter_map(|(k, _)| std::str::from_utf8(k).ok())
        .flat_map(|k| {
            let mut near = vec![k.to_owned(), format!("{k}\0")];
            if let Some((i, _)) = k.char_indices().last() {
                near.push(k[..i].to_owned());
            }
            near
        })
        .collect();
    probes.extend(["", "_auth_user_id", "\u{0}absent\u{ff}"].map(String::from));
    probes.push("k".repeat(40));
    for key in &probes {
        let got = lookup_data(bytes, key);
        let want = match entries.iter().find(|(k, _)| k == key.as_bytes()) {
            Some((_, v)) => Some(v),
            None if sound => None,
            // Damaged before the key (or the end of the map) is reached.
            None => {
                assert!(got.is_err(), "{key:?}: {got:?} from a damaged map");
                continue;
            }
        };
        match (&got, want) {
            (Ok(Some(g)), Some(w)) => assert!(same(g, w), "{key:?}: {g:?} != {w:?}"),
            (Ok(None), None) => {}
            _ => panic!("{key:?}: lookup gave {got:?}, rmpv reads {want:?}"),
        }
        // On a map that decodes, the lookup is the decoded value.
        if let Ok(data) = &decoded {
            let (got, want) = (got.unwrap(), data.get(key));
            assert_eq!(got.is_some(), want.is_some(), "{key:?}");
            if let (Some(g), Some(w)) = (&got, want) {
                assert!(same(g, w), "{key:?}: {g:?} != {w:?} decoded");
            }
        }
    }
});
