//! [`ActixStore`]: a store for actix-session, actix-web's session
//! middleware.
//!
//! actix-session leaves the session key to the store, so a new session gets
//! a key from sessile's own generator ([`SessionKey::generate`]), as a
//! session saved through the engine does. The state actix-session keeps is
//! a map of JSON texts; each is stored parsed, as one MessagePack entry of
//! the record (so `sessile get` shows `"user": "alice"`, not a string of
//! JSON), and turned back into JSON text on load. The TTL actix-session
//! passes is [`Expiry::Seconds`]: counted again from every save, as
//! actix-session means it.

use std::collections::HashMap;

use actix_session::storage::{
    LoadError, SaveError, SessionKey as ActixKey, SessionStore, UpdateError,
};
use actix_web::web;
use anyhow::anyhow;
use time::Duration;

use crate::engine::Engine;
use crate::expiry::Expiry;
use crate::json;
use crate::key::SessionKey;
use crate::record::Data;

/// An actix-session [`SessionStore`] over an [`Engine`]; cloning shares
/// the engine.
///
/// ```no_run
/// # fn app() -> sessile::Result<()> {
/// use actix_session::SessionMiddleware;
/// use actix_web::cookie::Key;
/// use sessile::{ActixStore, Config, Engine};
///
/// let engine = Engine::open(Config::new("sessions.db"))?;
/// let middleware = SessionMiddleware::new(ActixStore::new(engine), Key::generate());
/// # let _ = middleware;
/// # Ok(())
/// # }
/// ```
///
/// The engine's background reaper sweeps expired sessions (every 60 s by
/// default; [`Engine::clear_expired`] sweeps on demand). Loading never
/// returns an expired session, swept or not. Updates replace the whole
/// session and never recreate one deleted meanwhile (see the adapters'
/// notes in the crate's README).
#[derive(Debug, Clone)]
pub struct ActixStore {
    engine: Engine,
}

impl ActixStore {
    /// A store keeping actix-session's sessions in `engine`.
    pub fn new(engine: Engine) -> ActixStore {
        ActixStore { engine }
    }

    /// The engine the sessions live in.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs `f` on actix-web's pool for blocking work: sled may block on
    /// I/O.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let engine = self.engine.clone();
        web::block(move || f(&engine))
            .await
            .map_err(|e| anyhow!("sessile: blocking task failed: {e}"))?
    }
}

/// actix-session's TTL as an expiry policy (whole seconds).
fn expiry(ttl: &Duration) -> Expiry {
    Expiry::Seconds(ttl.whole_seconds())
}

/// Parses each JSON text of an actix-session state into a MessagePack
/// value ([`json::from_json`]).
fn to_data(state: HashMap<String, String>) -> anyhow::Result<Data> {
    state
        .into_iter()
        .map(|(k, text)| {
            let j: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| anyhow!("sessile: value of {k:?} is not JSON text: {e}"))?;
            Ok((k, json::from_json(&j)))
        })
        .collect()
}

/// Writes each stored value back as JSON text ([`json::to_json`]); a value
/// another binding stored that JSON cannot hold (binary, a NaN, ...) fails
/// the load.
fn from_data(data: Data) -> anyhow::Result<HashMap<String, String>> {
    data.into_iter()
        .map(|(k, v)| {
            let j = json::to_json(&v)
                .map_err(|e| anyhow!("sessile: value of {k:?} is not JSON: {e}"))?;
            Ok((k, j.to_string()))
        })
        .collect()
}

/// The sessile key inside actix-session's key; `None` when it is not one
/// (a cookie this store never issued).
fn parse(key: &ActixKey) -> Option<SessionKey> {
    SessionKey::parse(key.as_ref()).ok()
}

impl SessionStore for ActixStore {
    /// The live session's state; `None` when the key is unknown, malformed,
    /// expired by the engine's clock, or damaged.
    async fn load(
        &self,
        session_key: &ActixKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let Some(key) = parse(session_key) else {
            return Ok(None);
        };
        let found = self
            .blocking(move |engine| Ok(super::load(engine, &key)?))
            .await
            .map_err(LoadError::Other)?;
        match found {
            None => Ok(None),
            Some((data, _)) => from_data(data)
                .map(Some)
                .map_err(LoadError::Deserialization),
        }
    }

    /// Stores a new session under a fresh key from sessile's generator.
    async fn save(
        &self,
        session_state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<ActixKey, SaveError> {
        let data = to_data(session_state).map_err(SaveError::Serialization)?;
        let expiry = expiry(ttl);
        let key = self
            .blocking(move |engine| {
                Ok(super::create(engine, &data, expiry, |_| {
                    SessionKey::generate()
                })?)
            })
            .await
            .map_err(SaveError::Other)?;
        ActixKey::try_from(key.as_str().to_owned()).map_err(|e| SaveError::Other(e.into()))
    }

    /// Replaces the state of the live session and counts its TTL again from
    /// now. A session deleted or expired since it was loaded is not
    /// recreated (actix-session's Redis store would save the state under a
    /// new key): this fails.
    async fn update(
        &self,
        session_key: ActixKey,
        session_state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<ActixKey, UpdateError> {
        let key = parse(&session_key)
            .ok_or_else(|| UpdateError::Other(anyhow!("sessile: not a sessile session key")))?;
        let data = to_data(session_state).map_err(UpdateError::Serialization)?;
        let expiry = expiry(ttl);
        self.blocking(move |engine| Ok(super::replace(engine, &key, Some(data), expiry)?))
            .await
            .map_err(UpdateError::Other)?;
        Ok(session_key)
    }

    /// Counts the live session's TTL again from now; its state is
    /// untouched. Fails when the session is gone.
    async fn update_ttl(&self, session_key: &ActixKey, ttl: &Duration) -> anyhow::Result<()> {
        let key =
            parse(session_key).ok_or_else(|| anyhow!("sessile: not a sessile session key"))?;
        let expiry = expiry(ttl);
        self.blocking(move |engine| Ok(super::replace(engine, &key, None, expiry)?))
            .await
    }

    async fn delete(&self, session_key: &ActixKey) -> anyhow::Result<()> {
        let Some(key) = parse(session_key) else {
            return Ok(());
        };
        self.blocking(move |engine| Ok(engine.store().delete(&key).map(|_| ())?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_texts_round_trip_through_messagepack() {
        let state: HashMap<String, String> = [
            ("user", r#""alice""#),
            ("counter", "3"),
            ("ratio", "0.5"),
            ("big", "18446744073709551615"),
            ("neg", "-9223372036854775808"),
            ("list", r#"[1,"two",null,true,{"a":[]}]"#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let data = to_data(state.clone()).unwrap();
        assert_eq!(data["user"], rmpv::Value::from("alice"));
        assert_eq!(data["counter"], rmpv::Value::from(3));
        assert_eq!(from_data(data).unwrap(), state);
    }

    #[test]
    fn non_json_state_is_refused_and_binary_values_do_not_load() {
        let state = HashMap::from([("k".to_owned(), "not json".to_owned())]);
        assert!(to_data(state).is_err());
        let data = Data::from([("k".to_owned(), rmpv::Value::Binary(vec![1, 2]))]);
        assert!(from_data(data).is_err());
    }
}
