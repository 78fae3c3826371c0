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

use crate::engine::{Delta, Engine, SaveOptions};
use crate::error::{Error, Result};
use crate::expiry::Expiry;
use crate::key::SessionKey;
use crate::record::{decode_data, Data};

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
    let change = Delta::replace(data.clone()).with_expiry(expiry);
    let (key, _) = engine.create_with_keys(&change, SaveOptions::default(), next_key)?;
    Ok(key)
}

/// Replaces the data of the live session `key` with `data` (`None`: keeps
/// it) and counts its deadline again from now under `expiry`. A session
/// that is gone is not recreated: [`Error::SessionDeleted`].
fn replace(engine: &Engine, key: &SessionKey, data: Option<Data>, expiry: Expiry) -> Result<()> {
    let change = match data {
        // `replace` drops what is stored without decoding it.
        Some(data) => Delta::replace(data),
        None => Delta::new(),
    };
    engine
        .save(key, &change.with_expiry(expiry), SaveOptions::default())
        .map(|_| ())
}

/// The data of the live session `key` and its deadline (ms since the
/// epoch). `None` when it is absent or expired, and, as for a
/// [`Session`](crate::Session), when its record is damaged.
fn load(engine: &Engine, key: &SessionKey) -> Result<Option<(Data, i64)>> {
    match engine.load(key) {
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
