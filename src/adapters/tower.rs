//! [`TowerStore`]: a store for tower-sessions, axum's session middleware.
//!
//! tower-sessions names a session by a random 128-bit [`Id`] (base64 in
//! the cookie). The record of session `id` is kept under that number
//! written in base 36 and zero-padded to a sessile key
//! ([`TowerStore::session_key`]): one key per id and one id per key, so
//! there is no lookup table to keep in step, and `sessile get` finds a
//! tower session from its cookie. Each value of the session's data (a
//! `serde_json::Value`) is one MessagePack entry of the record; its
//! `expiry_date` is an absolute deadline ([`Expiry::At`]) in the engine's
//! TTL index, to the millisecond.
//!
//! tower-sessions dates expiry to the nanosecond, and a store must load
//! back the date it was handed (its own tests save twice within a
//! millisecond and compare the two dates). When a date falls between two
//! milliseconds, the record also keeps the whole date in one more data
//! entry, [`TowerStore::EXPIRY_DATE_KEY`], which this store removes from
//! the data it loads. It holds only while the deadline is the one it was
//! saved with: when another binding or the CLI moves the deadline, the
//! deadline wins. The engine's index, the cookie and every expiry
//! decision stay in ms.

use std::collections::HashMap;

use async_trait::async_trait;
use rmpv::Value;
use time::{Date, OffsetDateTime};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, Error, ExpiredDeletion, SessionStore};

use crate::engine::Engine;
use crate::expiry::Expiry;
use crate::json;
use crate::key::SessionKey;
use crate::record::Data;

/// A tower-sessions [`SessionStore`] and [`ExpiredDeletion`] over an
/// [`Engine`]; cloning shares the engine.
///
/// ```no_run
/// # async fn app() -> sessile::Result<()> {
/// use sessile::{Config, Engine, TowerStore};
/// use tower_sessions::SessionManagerLayer;
///
/// let engine = Engine::open(Config::new("sessions.db"))?;
/// let layer = SessionManagerLayer::new(TowerStore::new(engine));
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
///
/// The engine's background reaper sweeps expired sessions (every 60 s by
/// default); [`ExpiredDeletion::delete_expired`] sweeps on demand. Loading
/// never returns an expired session, swept or not. Saves replace the whole
/// session and never recreate one deleted meanwhile (see the adapters'
/// notes in the crate's README).
#[derive(Debug, Clone)]
pub struct TowerStore {
    engine: Engine,
}

impl TowerStore {
    /// A store keeping tower-sessions' sessions in `engine`.
    pub fn new(engine: Engine) -> TowerStore {
        TowerStore { engine }
    }

    /// The engine the sessions live in.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The data entry that keeps an expiry date finer than the engine's
    /// millisecond deadline: `[unix seconds, nanoseconds]`, written only
    /// when the date falls between two milliseconds. Loads remove it from
    /// the session's data; a session whose data has this key cannot be
    /// saved (an encode error). Other bindings and the CLI show it as an
    /// ordinary entry.
    pub const EXPIRY_DATE_KEY: &'static str = "__tower_sessions.expiry_date";

    /// The sessile key under which the session `id` is stored: the id's
    /// 128 bits in base 36, zero-padded to 32 characters.
    pub fn session_key(id: &Id) -> SessionKey {
        // Reinterpret the bits: every i128 is a distinct u128.
        SessionKey::from_u128(u128::from_le_bytes(id.0.to_le_bytes()))
    }

    /// Runs `f` on tokio's pool for blocking work: sled may block on I/O.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> session_store::Result<T> + Send + 'static,
    ) -> session_store::Result<T> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(|e| Error::Backend(format!("sessile: blocking task failed: {e}")))?
    }
}

/// tower-sessions' errors carry text only.
fn store_error(e: crate::Error) -> Error {
    match e {
        crate::Error::Encode(_) | crate::Error::TooLarge { .. } | crate::Error::InvalidData(_) => {
            Error::Encode(format!("sessile: {e}"))
        }
        e => Error::Backend(format!("sessile: {e}")),
    }
}

/// A record's data, each JSON value as a MessagePack value
/// ([`json::from_json`]), and its expiry date when the engine's deadline
/// cannot hold it ([`TowerStore::EXPIRY_DATE_KEY`]).
fn to_data(record: &Record) -> session_store::Result<Data> {
    let key = TowerStore::EXPIRY_DATE_KEY;
    if record.data.contains_key(key) {
        return Err(Error::Encode(format!(
            "sessile: the session key {key:?} is reserved by TowerStore"
        )));
    }
    let mut data: Data = record
        .data
        .iter()
        .map(|(k, v)| (k.clone(), json::from_json(v)))
        .collect();
    let t = record.expiry_date;
    if t.unix_timestamp_nanos().rem_euclid(1_000_000) != 0 {
        let exact = vec![Value::from(t.unix_timestamp()), Value::from(t.nanosecond())];
        data.insert(key.to_owned(), Value::Array(exact));
    }
    Ok(data)
}

/// The expiry date of a record whose deadline is `expires_at_ms`: the one
/// its [`TowerStore::EXPIRY_DATE_KEY`] entry keeps when it is still that
/// deadline (nobody moved it since), else the deadline itself. Removes the
/// entry from `data`.
fn expiry_date(data: &mut Data, expires_at_ms: i64) -> OffsetDateTime {
    let exact = match data.remove(TowerStore::EXPIRY_DATE_KEY) {
        Some(Value::Array(parts)) => match parts.as_slice() {
            [secs, nanos] => secs.as_i64().zip(nanos.as_u64()).and_then(|(s, n)| {
                let n = i128::from(u32::try_from(n).ok().filter(|&n| n < 1_000_000_000)?);
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(s) * 1_000_000_000 + n).ok()
            }),
            _ => None,
        },
        _ => None,
    };
    exact
        .filter(|&t| to_ms(t) == expires_at_ms)
        .unwrap_or_else(|| from_ms(expires_at_ms))
}

/// Each stored value as JSON ([`json::to_json`]); a value another binding
/// stored that JSON cannot hold (binary, a NaN, ...) fails the load.
fn from_data(data: Data) -> session_store::Result<HashMap<String, serde_json::Value>> {
    data.into_iter()
        .map(|(k, v)| match json::to_json(&v) {
            Ok(v) => Ok((k, v)),
            Err(e) => Err(Error::Decode(format!(
                "sessile: value of {k:?} is not JSON: {e}"
            ))),
        })
        .collect()
}

/// An expiry date as ms since the Unix epoch (rounded down, saturating).
fn to_ms(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// Ms since the Unix epoch as an expiry date, clamped to the dates `time`
/// can hold (a record written by another binding may lie beyond them).
fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or_else(|_| {
        let edge = if ms < 0 { Date::MIN } else { Date::MAX };
        edge.midnight().assume_utc()
    })
}

#[async_trait]
impl SessionStore for TowerStore {
    /// Stores a new session. When a live session already has the record's
    /// id, the record gets a new random id (tower-sessions leaves collisions
    /// to the store); the store's insert-if-absent never overwrites.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = to_data(record)?;
        let expiry = Expiry::At(to_ms(record.expiry_date));
        let first = record.id;
        let id = self
            .blocking(move |engine| {
                let mut id = first;
                super::create(engine, &data, expiry, |attempt| {
                    if attempt > 0 {
                        id = Id::default();
                    }
                    TowerStore::session_key(&id)
                })
                .map_err(store_error)?;
                Ok(id)
            })
            .await?;
        record.id = id;
        Ok(())
    }

    /// Replaces the data of an existing session and moves its deadline to
    /// the record's expiry date. A session deleted or expired since it was
    /// loaded is not recreated: this fails with a backend error.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = to_data(record)?;
        let expiry = Expiry::At(to_ms(record.expiry_date));
        let key = TowerStore::session_key(&record.id);
        self.blocking(move |engine| {
            super::replace(engine, &key, Some(data), expiry).map_err(store_error)
        })
        .await
    }

    /// The live session `id`; `None` when it is unknown, expired by the
    /// engine's clock, or damaged.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let id = *id;
        self.blocking(move |engine| {
            let key = TowerStore::session_key(&id);
            match super::load(engine, &key).map_err(store_error)? {
                None => Ok(None),
                Some((mut data, expires_at_ms)) => {
                    let expiry_date = expiry_date(&mut data, expires_at_ms);
                    Ok(Some(Record {
                        id,
                        data: from_data(data)?,
                        expiry_date,
                    }))
                }
            }
        })
        .await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let key = TowerStore::session_key(id);
        self.blocking(move |engine| engine.store().delete(&key).map(|_| ()).map_err(store_error))
            .await
    }
}

#[async_trait]
impl ExpiredDeletion for TowerStore {
    /// Deletes every session expired by the engine's clock, in passes of
    /// the configured reaper budget until none is left.
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.blocking(|engine| engine.clear_expired().map(|_| ()).map_err(store_error))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_are_distinct_per_id_and_valid() {
        let ids = [0i128, 1, -1, i128::MIN, i128::MAX, 36, 1 << 100];
        let keys: Vec<SessionKey> = ids
            .iter()
            .map(|&n| TowerStore::session_key(&Id(n)))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(SessionKey::parse(k.as_str()).as_ref(), Ok(k));
            assert!(k.as_str().starts_with("0000000"), "{k}");
            for other in &keys[i + 1..] {
                assert_ne!(k, other);
            }
        }
        assert_eq!(
            TowerStore::session_key(&Id(0)).as_str(),
            "00000000000000000000000000000000"
        );
        assert_eq!(
            TowerStore::session_key(&Id(36)).as_str(),
            "00000000000000000000000000000010"
        );
        // -1 is u128::MAX, the largest number: "f5lxx1zz5pnorynqglhzmsp33".
        assert_eq!(
            TowerStore::session_key(&Id(-1)).as_str(),
            "0000000f5lxx1zz5pnorynqglhzmsp33"
        );
    }

    #[test]
    fn expiry_dates_round_trip_to_the_millisecond() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_767_225_600_123_456_789).unwrap();
        assert_eq!(to_ms(t), 1_767_225_600_123);
        assert_eq!(
            from_ms(to_ms(t)).unix_timestamp_nanos(),
            1_767_225_600_123_000_000
        );
        assert_eq!(from_ms(i64::MAX).date(), Date::MAX);
        assert_eq!(from_ms(i64::MIN).date(), Date::MIN);
    }

    fn record_expiring(t: OffsetDateTime) -> Record {
        Record {
            id: Id(1),
            data: HashMap::from([("k".to_owned(), serde_json::Value::from(1))]),
            expiry_date: t,
        }
    }

    #[test]
    fn expiry_dates_between_milliseconds_round_trip_exactly() {
        let dates = [
            1_767_225_600_123_456_789,
            1_767_225_600_123_000_001,
            -1, // before the epoch: the remainder counts up from the floor
            -1_767_225_600_999_999_999,
        ];
        for nanos in dates {
            let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap();
            let mut data = to_data(&record_expiring(t)).unwrap();
            assert!(data.contains_key(TowerStore::EXPIRY_DATE_KEY), "{t}");
            assert_eq!(expiry_date(&mut data, to_ms(t)), t);
            assert_eq!(data.keys().collect::<Vec<_>>(), ["k"]);
        }
        // A whole millisecond needs no entry.
        let t = from_ms(1_767_225_600_123);
        let mut data = to_data(&record_expiring(t)).unwrap();
        assert_eq!(data.len(), 1);
        assert_eq!(expiry_date(&mut data, to_ms(t)), t);
    }

    #[test]
    fn a_moved_deadline_or_a_damaged_entry_gives_the_deadline() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_767_225_600_123_456_789).unwrap();
        let mut data = to_data(&record_expiring(t)).unwrap();
        let moved = to_ms(t) + 1;
        assert_eq!(expiry_date(&mut data, moved), from_ms(moved));
        assert!(!data.contains_key(TowerStore::EXPIRY_DATE_KEY));
        for bad in [
            Value::from("x"),
            Value::Array(vec![Value::from(1)]),
            Value::Array(vec![Value::from(1), Value::from(1_000_000_000u64)]),
            Value::Array(vec![Value::from(i64::MAX), Value::from(0)]),
        ] {
            let mut data = Data::from([(TowerStore::EXPIRY_DATE_KEY.to_owned(), bad)]);
            assert_eq!(expiry_date(&mut data, 5), from_ms(5));
            assert!(data.is_empty());
        }
    }

    #[test]
    fn the_reserved_key_is_refused_in_a_sessions_data() {
        let mut rec = record_expiring(OffsetDateTime::UNIX_EPOCH);
        rec.data.insert(
            TowerStore::EXPIRY_DATE_KEY.to_owned(),
            serde_json::Value::Null,
        );
        assert!(matches!(to_data(&rec), Err(Error::Encode(_))));
    }
}
