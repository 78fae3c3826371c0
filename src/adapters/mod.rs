//! Stores for the session middleware of Rust web frameworks, over the
//! engine's [`Store`](crate::Store): [`tower::TowerStore`] for
//! tower-sessions (axum) and [`actix::ActixStore`] for actix-session
//! (actix-web), each behind the cargo feature of the same name.
//!
//! What both share:
//! - Each value the framework holds (JSON, in both) becomes one MessagePack
//!   entry of the record's data map, so the `sessile` CLI, a
//!   [`Session`](crate::Session) and the other bindings read what these
//!   stores wrote. JSON numbers beyond 64-bit integers become doubles (as
//!   JSON numbers are in JavaScript).
//! - The framework hands the store the whole session on every save, so a
//!   save here replaces the stored data: two parallel requests that change
//!   different keys keep only the last one's session (sessile's own
//!   [`Session`](crate::Session) saves deltas and keeps both).
//! - A save of a session that was deleted (logout in another tab) or that
//!   expired while the request ran fails instead of bringing the session
//!   back ([`Error::SessionDeleted`]); the middleware answers 500.
//! - Expiry is decided by the engine's clock, and expired sessions are never
//!   returned, whether or not the sweeper has reached them yet.
//! - The engine is synchronous and sled blocks on I/O, so every store call
//!   runs on the framework's pool for blocking work, never on an async
//!   executor thread.

#[cfg(feature = "actix-session")]
pub mod actix;
#[cfg(feature = "tower-sessions")]
pub mod tower;

use crate::engine::Engine;
use crate::error::{DataError, Error, Result};
use crate::expiry::Expiry;
use crate::key::SessionKey;
use crate::record::{decode_data, encode_data, encoded_len, nesting, Data, MAX_NESTING};
use crate::store::Delta;

/// Checks whole session data before it is stored, refusing what
/// [`Session::insert_value`](crate::Session::insert_value) refuses: too
/// many keys, a key or a value over the configured limits, values nested
/// deeper than a record may hold.
fn check_data(engine: &Engine, data: &Data) -> Result<()> {
    engine
        .config()
        .check_entries(data.iter().map(|(k, v)| (k.as_str(), encoded_len(v))))?;
    for (k, v) in data {
        if nesting(v) >= MAX_NESTING {
            return Err(Error::InvalidData(DataError::TooDeep { key: k.clone() }));
        }
    }
    Ok(())
}

/// Stores `data` as a new session under the first key from `next_key` that
/// no live session holds; returns that key. The store's create is
/// insert-if-absent, so a collision never overwrites another visitor's
/// session.
fn create(
    engine: &Engine,
    data: &Data,
    expiry: Expiry,
    next_key: impl FnMut(u32) -> SessionKey,
) -> Result<SessionKey> {
    check_data(engine, data)?;
    let (key, _) = engine.create_under(&encode_data(data), expiry, next_key)?;
    Ok(key)
}

/// Replaces the data of the live session `key` with `data` (`None`: keeps
/// it) and counts its deadline again from now under `expiry`. A session
/// that is gone is not recreated: [`Error::SessionDeleted`].
fn replace(engine: &Engine, key: &SessionKey, data: Option<Data>, expiry: Expiry) -> Result<()> {
    let delta = match data {
        Some(data) => {
            check_data(engine, &data)?;
            // `clear` drops what is stored without decoding it.
            Delta {
                clear: true,
                set: data,
                expiry: Some(expiry),
                ..Delta::default()
            }
        }
        None => Delta {
            expiry: Some(expiry),
            ..Delta::default()
        },
    };
    engine
        .store()
        .save(key, &delta, None, &engine.write_ctx())
        .map(|_| ())
}

/// The data of the live session `key` and its deadline (ms since the
/// epoch). `None` when it is absent or expired, and, as for a
/// [`Session`](crate::Session), when its record is damaged.
fn load(engine: &Engine, key: &SessionKey) -> Result<Option<(Data, i64)>> {
    match engine.store().load(key, engine.now_ms()) {
        Ok(Some(rec)) => match decode_data(rec.data()) {
            Ok(data) => Ok(Some((data, rec.header().expires_at_ms))),
            Err(_) => {
                engine.store().count_damaged();
                Ok(None)
            }
        },
        Ok(None) | Err(Error::Corrupt(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
