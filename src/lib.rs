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
// The C ABI: the one module allowed `unsafe` (see src/ffi/mod.rs).
#[allow(unsafe_code)]
mod ffi;
mod key;
mod record;
mod session;
mod store;

#[cfg(feature = "actix-session")]
pub use crate::adapters::actix::ActixStore;
#[cfg(feature = "tower-sessions")]
pub use crate::adapters::tower::TowerStore;
pub use crate::config::Config;
pub use crate::cookie::{find_cookie, CookieConfig, ResponseCookie, SameSite};
pub use crate::engine::Engine;
pub use crate::error::{Error, Limit, NotADatabase, Result};
pub use crate::expiry::{
    from_ms, to_ms, Clock, Expiry, ExpiryError, ManualClock, SystemClock, MAX_AGE_S,
};
pub use crate::key::{InvalidKey, SessionKey, KEY_LEN};
pub use crate::record::{
    decode_data, encode_data, Data, Header, Record, RecordError, FORMAT_VERSION, HEADER_LEN,
    MAX_NESTING,
};
pub use crate::session::{Session, TEST_COOKIE_NAME, TEST_COOKIE_VALUE};
/// Storage internals for tests, fuzz targets and benches (feature
/// `internals`): not a stable API.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub use crate::store::internals;
pub use crate::store::{
    CheckFinding, CheckReport, Delta, KeyLocks, MemoryStore, RecordDamage, SledOptions, SledStore,
    StorageFailures, Store, StoreStats, Sweep, TreeStore, WriteCtx,
};
#[cfg(feature = "redis")]
pub use crate::store::{RedisOptions, RedisStore};
pub use rmpv::Value;
pub use sled::IVec;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
