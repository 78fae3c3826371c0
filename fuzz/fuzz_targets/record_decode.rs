//! Arbitrary bytes on disk: decoding is an error, never a panic, a record
//! that decodes re-encodes to the same bytes, and measuring a map's entries
//! in place accepts exactly the maps that decode.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sessile::{decode_data, encode_data, Delta, IVec, Record};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(rec) = Record::decode(IVec::from(bytes)) {
        assert_eq!(&Record::encode(rec.header(), rec.data())[..], bytes);
        let _ = decode_data(rec.data());
    }
    // Measuring in place is what a diff does (empty input means the empty
    // map there, and is no map to decode).
    if !bytes.is_empty() {
        assert_eq!(Delta::diff(bytes, bytes).is_ok(), decode_data(bytes).is_ok());
    }
    if let Ok(data) = decode_data(bytes) {
        // What decodes re-decodes identically after encoding.
        assert_eq!(decode_data(&encode_data(&data)).unwrap(), data);
    }
});
