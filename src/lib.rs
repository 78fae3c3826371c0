//! sessile: an embedded session engine.
//!
//! Django's `request.session` as a library: per-visitor data kept
//! server-side, found by a random key in a cookie, with expiry, key cycling,
//! flush and sweeping of expired sessions. Sessions live in sled trees on
//! local disk with a time-ordered TTL index.
//!
//! ```
//! use sessile::{Config, Engine};
//!
//! # fn main() -> sessile::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! let engine = Engine::open(Config::new(dir.path().join("sessions")))?;
//!
//! // First request: no cookie. Write something; saving issues a key.
//! let mut session = engine.begin_request(None);
//! session.insert("user_id", 42)?;
//! let response = engine.end_request(&mut session, 200)?;
//! let set_cookie = response.set_cookie.unwrap(); // "sessionid=…; expires=…"
//!
//! // Next request: the browser sends the cookie back.
//! let cookie = set_cookie.split(';').next().unwrap();
//! let mut session = engine.begin_request(Some(cookie));
//! assert_eq!(session.get::<i64>("user_id")?, Some(42));
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]
#![deny(missing_docs)]

// Stores for axum's tower-sessions and actix-web's actix-session, each
// behind its cargo feature.
#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
mod adapters;
mod config;
mod cookie;
mod engine;
mod error;
mod expiry;
// The C ABI (src/ffi/mod.rs) and the calls into the operating system
// (src/sys/mod.rs): the two modules allowed `unsafe`.
#[allow(unsafe_code)]
mod ffi;
pub mod json;
mod key;
mod owner;
mod record;
mod session;
mod store;
#[allow(unsafe_code)]
mod sys;

// What applications use: an engine over a store, the request-level
// session, the store-level operations, and their vocabulary.
pub use crate::config::Config;
pub use crate::cookie::{find_cookie, CookieConfig, ResponseCookie, SameSite};
pub use crate::engine::{Delta, Engine, SaveOptions};
pub use crate::error::{
    ConfigError, DataError, Error, Limit, NotADatabase, OpenError, Result, StorageError,
};
pub use crate::expiry::{
    from_ms, to_ms, Clock, Expiry, ExpiryError, ManualClock, SystemClock, MAX_AGE_S,
};
pub use crate::key::{InvalidKey, SessionKey, KEY_LEN};
pub use crate::owner::{OwnerKey, MAX_OWNER_LEN};
pub use crate::record::{decode_data, encode_data, Data};
pub use crate::session::{Session, TEST_COOKIE_NAME, TEST_COOKIE_VALUE};
pub use rmpv::Value;

// The stores, and what a store author implements (`Store`) and handles
// (records and their format).
pub use crate::record::{
    Header, MessagePackError, Record, RecordError, FORMAT_VERSION, HEADER_LEN, MAX_NESTING,
};
pub use crate::store::{
    Change, CheckFinding, CheckReport, MemoryStore, ReadToken, RecordDamage, SledOptions,
    SledStore, Store, StoreStats, Sweep,
};
#[cfg(feature = "redis")]
pub use crate::store::{RedisOptions, RedisStore};

/// Internals for the benches' floors (raw sled operations on the store's
/// own trees), the fuzz targets (`fuzz/`: the record format and its
/// walker) and tests that plant damage: cargo feature `internals`, off by
/// default. Not a stable API.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    pub use crate::engine::Delta;
    pub use crate::record::{
        check_unique_keys, decode_data, encode_data, encoded_entries, for_each_raw_entry,
        lookup_data, Record, RecordError, MAX_NESTING,
    };
    pub use crate::store::internals::*;
    pub use sled::IVec;

    /// The change from the encoded map `seen` to `now`, worked out now
    /// (what a save does when the stored data is no longer `seen`).
    pub fn delta_diff(seen: &[u8], now: &[u8]) -> Result<Delta, RecordError> {
        Delta::diff(seen, now)
    }

    /// [`Record::decode`] (checksum verified).
    pub fn decode_record(raw: &[u8]) -> Result<Record, RecordError> {
        Record::decode(raw)
    }

    /// [`Record::decode`] without the checksum, as loads from sled read
    /// records.
    pub fn decode_header(raw: &[u8]) -> Result<Record, RecordError> {
        Record::decode_header(IVec::from(raw))
    }
}

// The stores for Rust web frameworks' session middleware.
#[cfg(feature = "actix-session")]
pub use crate::adapters::actix::ActixStore;
#[cfg(feature = "tower-sessions")]
pub use crate::adapters::tower::TowerStore;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
