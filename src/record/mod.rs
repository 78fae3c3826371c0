//! The on-disk record: a fixed header followed by the session data as one
//! MessagePack map. docs/FORMAT.md specifies the bytes.
//!
//! ```text
//! offset size field
//!      0    1 format version (1)
//!      1    1 expiry policy kind: 0 default, 1 browser close, 2 seconds, 3 at
//!      2    8 policy argument, i64 big-endian (seconds, or ms for `at`; else 0)
//!     10    8 expires_at_ms, i64 big-endian: the absolute deadline
//!     18    8 index_at_ms, i64 big-endian: when this record's index entry fires
//!     26    4 CRC-32 (IEEE) of bytes 0..26 followed by the data, big-endian
//!     30    … data: a MessagePack map with string keys
//! ```
//!
//! The module's parts:
//!
//! - this file: the record as a whole, [`Record`] and its [`Header`]: the
//!   header's bytes, the checksum, and [`RecordError`], why bytes are not a
//!   record;
//! - `data.rs`: the data part as a value, [`Data`]: encoding and decoding
//!   the whole map, and the nesting limit both enforce;
//! - `walk.rs`: the data part as bytes: a MessagePack walker that finds,
//!   measures and checks entries in place without decoding them (the hot
//!   path of every load and save), with tests that hold it to what
//!   decoding admits.

mod data;
mod walk;

use sled::IVec;

use crate::expiry::Expiry;

pub use data::{decode_data, encode_data, encoded_len, nesting, Data, MAX_NESTING};
pub use walk::{
    check_unique_keys, declared_len, encoded_entries, find_raw, for_each_raw_entry, lookup_data,
};

/// The current record format version.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 30;

/// Why a record's bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Shorter than the fixed header.
    #[error("record is {0} bytes, shorter than the {HEADER_LEN}-byte header")]
    Truncated(usize),
    /// Written by a format version this build does not know.
    #[error("unknown record format version {0}")]
    UnknownVersion(u8),
    /// An expiry policy kind outside 0..=3.
    #[error("unknown expiry policy kind {0}")]
    UnknownPolicy(u8),
    /// The checksum does not match: the bytes were damaged.
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the bytes as read.
        computed: u32,
    },
    // The data part's errors: each message begins "session data is not a
    // MessagePack map with string keys: ", as callers of the C ABI and the
    // bindings have always read it.
    /// The data part is a MessagePack value other than a map (as
    /// [`decode_data`] finds it: the walker, which reads only the marker,
    /// reports the same bytes as [`RecordError::MessagePack`]).
    #[error("session data is not a MessagePack map with string keys: not a map")]
    NotAMap,
    /// A key of the data map is not a string (as [`decode_data`] finds it;
    /// the walker reports [`RecordError::MessagePack`]).
    #[error("session data is not a MessagePack map with string keys: a key is not a string")]
    NonStringKey,
    /// A key of the data map is a string that is not valid UTF-8.
    #[error("session data is not a MessagePack map with string keys: a key is not valid UTF-8")]
    NonUtf8Key,
    /// A key appears twice in the data map (writers refuse such a map, so
    /// that a key's value is the same whichever way the map is read).
    #[error(
        "session data is not a MessagePack map with string keys: the key {0:?} appears twice \
         in the map"
    )]
    DuplicateKey(String),
    /// The data ends inside a key.
    #[error("session data is not a MessagePack map with string keys: truncated key")]
    TruncatedKey,
    /// The data ends inside a value.
    #[error("session data is not a MessagePack map with string keys: truncated value")]
    TruncatedValue,
    /// A value starts with the reserved MessagePack marker `0xc1`.
    #[error("session data is not a MessagePack map with string keys: reserved marker 0xc1")]
    ReservedMarker,
    /// A value nests arrays and maps deeper than [`MAX_NESTING`] levels
    /// (counting the data map as the first).
    #[error(
        "session data is not a MessagePack map with string keys: arrays and maps nested \
         deeper than {MAX_NESTING} levels"
    )]
    TooDeep,
    /// Bytes follow the data map.
    #[error("session data is not a MessagePack map with string keys: {0} trailing bytes")]
    TrailingBytes(usize),
    /// The MessagePack decoder refused the bytes: they end early, hold
    /// something else where the walker expects a map or a string key, or
    /// nest deeper than the decoder's own limit. The message is the
    /// decoder's.
    #[error("session data is not a MessagePack map with string keys: {0}")]
    MessagePack(#[source] MessagePackError),
}

impl RecordError {
    /// The decoder's error `e` as [`RecordError::MessagePack`].
    pub(crate) fn msgpack(e: impl std::fmt::Display) -> RecordError {
        RecordError::MessagePack(MessagePackError {
            message: e.to_string(),
        })
    }
}

/// Why the MessagePack decoder (rmp, rmpv) refused the data part of a
/// record: its description, which is the whole of what it says (the
/// decoder's own error types hold an `std::io::Error` and could not be
/// compared or cloned, as a [`RecordError`] can).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MessagePackError {
    message: String,
}

/// The fixed header of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The session's expiry policy.
    pub expiry: Expiry,
    /// Absolute deadline, ms since the Unix epoch.
    pub expires_at_ms: i64,
    /// When the index entry filed for this record fires (≤ `expires_at_ms`).
    pub index_at_ms: i64,
}

impl Header {
    /// The header of a new record under `expiry`, written at `now_ms`, with
    /// `default_age_s` the age under [`Expiry::Default`] and
    /// [`Expiry::BrowserClose`]: its entry is filed at its deadline.
    pub fn new(expiry: Expiry, now_ms: i64, default_age_s: i64) -> Header {
        let deadline = expiry.deadline_ms(now_ms, default_age_s);
        Header {
            expiry,
            expires_at_ms: deadline,
            index_at_ms: deadline,
        }
    }
}

/// A decoded record: its header, and its raw bytes (the data part is decoded
/// only on demand).
#[derive(Debug, Clone)]
pub struct Record {
    header: Header,
    raw: IVec,
    /// Which write of its key this record was read after, when a store
    /// knows (lets a later save skip re-reading an unchanged record).
    pub(crate) token: Option<crate::store::ReadToken>,
}

impl Record {
    /// Checks and decodes the header of `raw`, and verifies the checksum
    /// over the header and the data. The data is not parsed.
    pub fn decode(raw: &[u8]) -> Result<Record, RecordError> {
        Record::parse(IVec::from(raw), true)
    }

    /// [`Record::decode`] of bytes a store holds, without copying them.
    pub(crate) fn decode_stored(raw: IVec) -> Result<Record, RecordError> {
        Record::parse(raw, true)
    }

    /// A record with `header` and the encoded data map `data`.
    pub fn new(header: Header, data: &[u8]) -> Record {
        Record::from_parts(header, IVec::from(Record::encode(&header, data)))
    }

    /// Checks and decodes the header of `raw` without verifying the
    /// checksum: for bytes from storage that checks its own reads (sled
    /// verifies a CRC-32 of every message it reads from its log, and a
    /// damaged one never reaches a reader). The data is not parsed; it is
    /// checked as it is read (`lookup_data`, `decode_data`).
    pub(crate) fn decode_header(raw: IVec) -> Result<Record, RecordError> {
        Record::parse(raw, false)
    }

    fn parse(raw: IVec, verify: bool) -> Result<Record, RecordError> {
        let b: &[u8] = &raw;
        if b.len() < HEADER_LEN {
            return Err(RecordError::Truncated(b.len()));
        }
        if b[0] != FORMAT_VERSION {
            return Err(RecordError::UnknownVersion(b[0]));
        }
        if verify {
            let stored = u32::from_be_bytes(arr(&b[26..30]));
            let computed = checksum(&b[..26], &b[HEADER_LEN..]);
            if stored != computed {
                return Err(RecordError::Checksum { stored, computed });
            }
        }
        let arg = i64::from_be_bytes(arr(&b[2..10]));
        let expiry = match b[1] {
            0 => Expiry::Default,
            1 => Expiry::BrowserClose,
            2 => Expiry::Seconds(arg),
            3 => Expiry::At(arg),
            k => return Err(RecordError::UnknownPolicy(k)),
        };
        let header = Header {
            expiry,
            expires_at_ms: i64::from_be_bytes(arr(&b[10..18])),
            index_at_ms: i64::from_be_bytes(arr(&b[18..26])),
        };
        Ok(Record {
            header,
            raw,
            token: None,
        })
    }

    /// A record from a header and the bytes `encode` made of it (no
    /// checks: for the writer that just encoded them).
    pub(crate) fn from_parts(header: Header, raw: IVec) -> Record {
        Record {
            header,
            raw,
            token: None,
        }
    }

    /// Encodes a header and already-encoded data into record bytes.
    pub fn encode(header: &Header, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + data.len());
        let (kind, arg) = match header.expiry {
            Expiry::Default => (0u8, 0i64),
            Expiry::BrowserClose => (1, 0),
            Expiry::Seconds(s) => (2, s),
            Expiry::At(at) => (3, at),
        };
        out.push(FORMAT_VERSION);
        out.push(kind);
        out.extend_from_slice(&arg.to_be_bytes());
        out.extend_from_slice(&header.expires_at_ms.to_be_bytes());
        out.extend_from_slice(&header.index_at_ms.to_be_bytes());
        let crc = checksum(&out[..26], data);
        out.extend_from_slice(&crc.to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The data part: one MessagePack map.
    pub fn data(&self) -> &[u8] {
        &self.raw[HEADER_LEN..]
    }

    /// The whole record as stored.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The whole record as stored, shared (no copy).
    pub(crate) fn stored(&self) -> &IVec {
        &self.raw
    }

    /// Whether the record is expired at `now_ms` (a deadline equal to now
    /// counts as expired).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.header.expires_at_ms <= now_ms
    }
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    a
}

fn checksum(header: &[u8], data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(header);
    h.update(data);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value;

    #[test]
    fn round_trip() {
        let mut d = Data::new();
        d.insert("a".into(), Value::from(1));
        let h = Header {
            expiry: Expiry::Seconds(5),
            expires_at_ms: 10,
            index_at_ms: 9,
        };
        let raw = Record::encode(&h, &encode_data(&d));
        let r = Record::decode(&raw).unwrap();
        assert_eq!(*r.header(), h);
        assert_eq!(decode_data(r.data()).unwrap(), d);
    }

    /// The C ABI and the bindings pass these messages on, and their tests
    /// compare them: each data error reads as it did when they were all one
    /// variant holding its text.
    #[test]
    fn data_error_messages_are_unchanged() {
        let map = "session data is not a MessagePack map with string keys: ";
        let cases = [
            (RecordError::NotAMap, "not a map".to_owned()),
            (RecordError::NonStringKey, "a key is not a string".into()),
            (RecordError::NonUtf8Key, "a key is not valid UTF-8".into()),
            (
                RecordError::DuplicateKey("k\"".into()),
                "the key \"k\\\"\" appears twice in the map".into(),
            ),
            (RecordError::TruncatedKey, "truncated key".into()),
            (RecordError::TruncatedValue, "truncated value".into()),
            (RecordError::ReservedMarker, "reserved marker 0xc1".into()),
            (
                RecordError::TooDeep,
                format!("arrays and maps nested deeper than {MAX_NESTING} levels"),
            ),
            (RecordError::TrailingBytes(2), "2 trailing bytes".into()),
        ];
        for (e, detail) in cases {
            assert_eq!(e.to_string(), format!("{map}{detail}"));
        }
        // The decoder's errors keep the decoder's words.
        let short = [0x92, 0x01];
        let rmpv_says = rmpv::decode::read_value(&mut &short[..]).unwrap_err();
        assert_eq!(
            decode_data(&short).unwrap_err().to_string(),
            format!("{map}{rmpv_says}")
        );
        let rmp_says = rmp::decode::read_map_len(&mut &short[..]).unwrap_err();
        assert_eq!(
            encoded_entries(&short).unwrap_err().to_string(),
            format!("{map}{rmp_says}")
        );
    }
}
