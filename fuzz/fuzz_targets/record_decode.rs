//! Arbitrary bytes on disk: decoding a record or a data map is an error,
//! never a panic; a record that decodes re-encodes to the same bytes; and
//! measuring a map's entries in place (what saves, diffs and the C ABI's
//! checks do) accepts exactly the maps that decode, once a key given twice
//! is refused as writers refuse it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sessile::internals::{
    check_unique_keys, decode_data, decode_record, delta_diff, encode_data, encoded_entries,
    for_each_raw_entry, Record,
};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(rec) = decode_record(bytes) {
        assert_eq!(Record::encode(rec.header(), rec.data()), bytes);
        let _ = decode_data(rec.data());
    }
    let decoded = decode_data(bytes);
    let entries = encoded_entries(bytes);
    // Decoding refuses a key given twice; measuring leaves that to
    // `check_unique_keys`, which writers call.
    let unique = entries.as_ref().is_ok_and(|e| check_unique_keys(e).is_ok());
    assert_eq!(unique, decoded.is_ok());
    // The raw walk (keys compared as bytes) accepts the same maps, and the
    // entries it hands over as stored are the whole map after its header.
    let mut body = Vec::new();
    let raw = for_each_raw_entry(bytes, |_, entry| body.extend_from_slice(entry));
    assert_eq!(raw.is_ok(), entries.is_ok());
    if raw.is_ok() {
        assert!(bytes.ends_with(&body));
        // fixmap, map16 or map32
        assert!(matches!(bytes.len() - body.len(), 1 | 3 | 5));
    }
    // A diff measures in place too (empty input is the empty map there).
    if !bytes.is_empty() {
        assert_eq!(delta_diff(bytes, bytes).is_ok(), entries.is_ok());
    }
    if let Ok(data) = decoded {
        assert_eq!(entries.unwrap().len(), data.len());
        // What decodes re-decodes identically after encoding (compared as
        // bytes: a NaN is not equal to itself).
        let encoded = encode_data(&data);
        assert_eq!(encode_data(&decode_data(&encoded).unwrap()), encoded);
    }
});
