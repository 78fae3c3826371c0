//! The shared store: sessions in Redis, for servers that run several
//! processes (gunicorn workers, Node cluster) or several hosts.
//!
//! Each session is one Redis string, `prefix ++ session key`, holding the
//! very record bytes the sled store writes (`record.rs`: header, CRC,
//! MessagePack map), so `Record::decode`, the CLI and every binding read
//! both stores alike. What differs from the tree store:
//!
//! - **Expiry is Redis's own.** Every write sets a TTL (`PX`) of the time
//!   left until the record's deadline, counted on the engine's clock. A
//!   relative TTL keeps working when the application hosts' clocks and the
//!   Redis host's disagree, and under a test's manual clock. The header
//!   still holds the absolute deadline and every read checks it, so an
//!   expired session is never returned even before Redis drops it. No
//!   reaper is needed; `sweep` is an explicit full sweep (below).
//! - **Atomicity is optimistic.** An update is `WATCH key`, `GET`, the
//!   engine's change applied in Rust (the same merge as for every store),
//!   then `MULTI; SET key record PX ttl; EXEC`. When another process wrote
//!   the key in between, `EXEC` aborts and the save starts over on what is
//!   stored now, so parallel saves of different keys all land. A session
//!   that is gone is never recreated (`Error::SessionDeleted`). Creation is
//!   `SET NX`; a dead record (expired by the engine's clock, or unreadable)
//!   under the key is replaced the same watched way.
//! - **Connections.** A small list of idle connections, each used by one
//!   call at a time (a save holds its connection from `WATCH` to `EXEC`).
//!   Connecting and every reply have timeouts, so an unreachable server is
//!   an [`Error::Unavailable`] within about a second, never a hang. A
//!   connection that failed is dropped, never reused: after a timeout its
//!   late reply would answer the next command. A pooled connection found
//!   dead (the server restarted) is replaced and the call retried once;
//!   every operation here may be repeated safely (a delta applied twice
//!   gives the same record).
//! - **Fork.** A forked child must not talk on its parent's sockets (the
//!   two would read each other's replies), and the connection list's lock
//!   may have been held by a parent thread at the fork. As with the sled
//!   store, the child gets [`Error::Forked`] and opens its own engine.
//! - **Listing is O(n).** `scan`, `len` and `sweep` walk every key
//!   under the prefix with `SCAN`; they are for tools and tests, not for
//!   the request path.
//! - **Durability** is the server's persistence configuration (RDB, AOF);
//!   `flush` has nothing to add.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use ::redis::{Client, Connection, ConnectionLike, ErrorKind, RedisError, ServerErrorKind};
use parking_lot::Mutex;
use sled::IVec;

use super::{Change, Store, StoreStats, Sweep};
use crate::error::{ConfigError, Error, Result};
use crate::key::SessionKey;
use crate::record::{Header, Record};

/// How a [`RedisStore`] connects. Every field can also be given in the
/// URL's query (see [`RedisOptions::from_url`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Prepended to every session key, so several applications can share
    /// one Redis database. URL: `prefix=`. Default `sessile:`.
    pub prefix: String,
    /// The longest wait for a new connection (TCP connect and handshake).
    /// URL: `connect_timeout_ms=`. Default 1 s.
    pub connect_timeout: Duration,
    /// The longest wait for one reply (or to send one command).
    /// URL: `timeout_ms=`. Default 2 s.
    pub io_timeout: Duration,
    /// The most idle connections kept open for reuse; a burst beyond it
    /// opens more and closes them afterwards. URL: `pool_size=`. Default 16.
    pub max_idle: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "sessile:".to_owned(),
            connect_timeout: Duration::from_secs(1),
            io_timeout: Duration::from_secs(2),
            max_idle: 16,
        }
    }
}

impl RedisOptions {
    /// The options a `redis://host:port/db?prefix=app:&timeout_ms=500` URL
    /// asks for: `prefix`, `connect_timeout_ms`, `timeout_ms` and
    /// `pool_size` from its query (percent-decoded), the defaults for the
    /// rest. Other query parameters are left to the Redis client (e.g.
    /// `protocol=resp3`). A malformed value is [`Error::InvalidConfig`].
    pub fn from_url(url: &str) -> Result<RedisOptions> {
        let mut opts = RedisOptions::default();
        let Some((_, query)) = url.split_once('?') else {
            return Ok(opts);
        };
        let query = query.split('#').next().unwrap_or("");
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            let ms = || -> Result<Duration> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .map(Duration::from_millis)
                    .ok_or_else(|| url_option(name, &value, "milliseconds > 0"))
            };
            match name {
                "prefix" => opts.prefix = value.clone(),
                "connect_timeout_ms" => opts.connect_timeout = ms()?,
                "timeout_ms" => opts.io_timeout = ms()?,
                "pool_size" => {
                    opts.max_idle = value
                        .parse()
                        .map_err(|_| url_option(name, &value, "a count"))?
                }
                _ => {}
            }
        }
        Ok(opts)
    }
}

fn url_option(name: &str, value: &str, expected: &'static str) -> Error {
    ConfigError::UrlOption {
        name: name.into(),
        value: value.into(),
        expected,
    }
    .into()
}

fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ConfigError::PercentEscape(s.into()))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ConfigError::QueryNotUtf8(s.into()).into())
}

/// The URL as shown in messages: no password, no query.
fn display_url(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or(url);
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => base.to_owned(),
    }
}

/// How many times a save or create starts over because another writer
/// changed the key between `WATCH` and `EXEC`. Each lost race means some
/// other write landed, so running out takes sustained contention on one
/// session.
const MAX_ATTEMPTS: usize = 100;

/// Keys asked for per `SCAN` step and values per `MGET`.
const SCAN_COUNT: usize = 1000;

/// Sessions in a Redis server. See the module documentation for how it
/// keeps the [`Store`] contract.
pub struct RedisStore {
    client: Client,
    /// The URL without password, for messages.
    url: String,
    prefix: Vec<u8>,
    opts: RedisOptions,
    /// Idle connections, most recently used last.
    idle: Mutex<Vec<Connection>>,
    /// The fork generation this store was opened in (see `ffi/fork.rs`).
    generation: u64,
    record_writes: AtomicU64,
    corrupt: AtomicU64,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.url)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// Why one attempt at an operation stopped.
enum Fail {
    /// Redis (or the connection to it) failed.
    Redis(RedisError),
    /// The operation itself refused (deleted session, damaged record, ...).
    Refused(Error),
}

impl From<RedisError> for Fail {
    fn from(e: RedisError) -> Fail {
        Fail::Redis(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Refused(e)
    }
}

/// The outcome of one watched attempt: done, or another writer got in
/// between `WATCH` and `EXEC` and the attempt must start over.
enum Attempt<T> {
    Done(T),
    Raced,
}

/// Whether an error means the server could not be reached or did not
/// answer (worth retrying later), rather than that it refused the command.
fn is_unavailable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
            )
        )
}

fn ttl_ms(deadline_ms: i64, now_ms: i64) -> i64 {
    // Redis refuses a TTL of 0; an already expired record gets the shortest.
    deadline_ms.saturating_sub(now_ms).max(1)
}

/// Writes the record `bytes` under the watched key `k` with its TTL in one
/// `MULTI SET PX EXEC`: `Done` when it ran, `Raced` when a write to the key
/// since `WATCH` aborted it.
fn set_watched(
    con: &mut Connection,
    k: &[u8],
    bytes: &[u8],
    header: &Header,
    now_ms: i64,
) -> Result<Attempt<()>, ::redis::RedisError> {
    let done: Option<(::redis::Value,)> = ::redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(k)
        .arg(bytes)
        .arg("PX")
        .arg(ttl_ms(header.expires_at_ms, now_ms))
        .query(con)?;
    Ok(match done {
        Some(_) => Attempt::Done(()),
        None => Attempt::Raced,
    })
}

/// `*`, `?`, `[`, `]` and `\` escaped, for a `SCAN MATCH` pattern.
fn glob_escape(prefix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 1);
    for &b in prefix {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'*');
    out
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://[user:password@]
    /// host[:port][/db]`, or `redis+unix:///path/to/socket`). The server
    /// must answer now: otherwise [`Error::Unavailable`] after at most
    /// `opts.connect_timeout`. A URL the client cannot use is
    /// [`Error::InvalidConfig`].
    pub fn open(url: &str, opts: &RedisOptions) -> Result<RedisStore> {
        let shown = display_url(url);
        let client = Client::open(url).map_err(|e| ConfigError::RedisUrl {
            url: shown.clone(),
            source: Box::new(e),
        })?;
        let store = RedisStore {
            client,
            url: shown,
            prefix: opts.prefix.as_bytes().to_vec(),
            opts: opts.clone(),
            idle: Mutex::new(Vec::new()),
            generation: crate::sys::fork::generation(),
            record_writes: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
        };
        let mut con = store.connect().map_err(|e| store.error(e))?;
        ::redis::cmd("PING")
            .exec(&mut con)
            .map_err(|e| store.error(e))?;
        store.idle.lock().push(con);
        Ok(store)
    }

    /// The server's URL, without password or query.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &RedisOptions {
        &self.opts
    }

    fn connect(&self) -> Result<Connection, RedisError> {
        let con = self
            .client
            .get_connection_with_timeout(self.opts.connect_timeout)?;
        con.set_read_timeout(Some(self.opts.io_timeout))?;
        con.set_write_timeout(Some(self.opts.io_timeout))?;
        Ok(con)
    }

    fn error(&self, e: RedisError) -> Error {
        let store = self.url.clone();
        if is_unavailable(&e) {
            Error::Unavailable {
                store,
                source: Box::new(e),
            }
        } else if e.kind() == ErrorKind::InvalidClientConfig {
            Error::InvalidConfig(ConfigError::RedisClient {
                url: store,
                source: Box::new(e),
            })
        } else {
            Error::Backend {
                store,
                source: Box::new(e),
            }
        }
    }

    /// Runs `op` on a connection: a pooled one if any, else a new one.
    /// `op` must leave the connection as it found it (no `WATCH` pending)
    /// when it returns `Ok`; after a refusal the watch is cleared here.
    fn with_conn<T>(&self, mut op: impl FnMut(&mut Connection) -> Result<T, Fail>) -> Result<T> {
        if self.generation != crate::sys::fork::generation() {
            return Err(Error::Forked {
                path: self.url.clone().into(),
            });
        }
        let pooled = self.idle.lock().pop();
        let reused = pooled.is_some();
        let mut con = match pooled {
            Some(c) => c,
            None => self.connect().map_err(|e| self.error(e))?,
        };
        let mut result = op(&mut con);
        if let Err(Fail::Redis(e)) = &result {
            if reused && e.is_connection_dropped() && !e.is_timeout() {
                // The server went away since this connection was last used
                // (a restart): the other idle ones are as dead. Start over
                // once on a new connection.
                drop(std::mem::take(&mut *self.idle.lock()));
                con = self.connect().map_err(|e| self.error(e))?;
                result = op(&mut con);
            }
        }
        match result {
            Ok(v) => {
                self.put_back(con);
                Ok(v)
            }
            Err(Fail::Refused(e)) => {
                if ::redis::cmd("UNWATCH").exec(&mut con).is_ok() {
                    self.put_back(con);
                }
                Err(e)
            }
            // The connection may be in any state (a late reply on its
            // way): drop it.
            Err(Fail::Redis(e)) => Err(self.error(e)),
        }
    }

    fn put_back(&self, con: Connection) {
        let mut idle = self.idle.lock();
        if con.is_open() && idle.len() < self.opts.max_idle {
            idle.push(con);
        }
    }

    /// Repeats a watched attempt until it is not raced.
    fn watched<T>(
        &self,
        mut op: impl FnMut(&mut Connection) -> Result<Attempt<T>, Fail>,
    ) -> Result<T> {
        for _ in 0..MAX_ATTEMPTS {
            if let Attempt::Done(v) = self.with_conn(&mut op)? {
                return Ok(v);
            }
        }
        Err(Error::Backend {
            store: self.url.clone(),
            source: format!("a session kept changing under {MAX_ATTEMPTS} attempts to write it")
                .into(),
        })
    }

    fn redis_key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + key.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(key);
        k
    }

    fn decode(&self, raw: Vec<u8>) -> Result<Record> {
        Record::decode_stored(IVec::from(raw)).map_err(|e| {
            self.corrupt.fetch_add(1, Relaxed);
            Error::Corrupt(e)
        })
    }

    /// Every session's Redis key: the keys under the prefix followed by a
    /// valid session key, sorted (`SCAN` may repeat keys and gives no
    /// order). Anything else under the prefix (with an empty prefix, the
    /// rest of the database) is never listed, counted or swept.
    fn all_keys(&self) -> Result<Vec<Vec<u8>>> {
        let pattern = glob_escape(&self.prefix);
        let p = self.prefix.len();
        self.with_conn(|con| {
            let mut keys = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, page): (u64, Vec<Vec<u8>>) = ::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query(con)?;
                keys.extend(
                    page.into_iter()
                        .filter(|k| k.starts_with(&self.prefix))
                        .filter(|k| SessionKey::from_bytes(&k[p..]).is_ok()),
                );
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            keys.sort_unstable();
            keys.dedup();
            Ok(keys)
        })
    }

    /// The values of `keys` (Redis keys), `None` where one has gone.
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(SCAN_COUNT) {
            let values: Vec<Option<Vec<u8>>> =
                self.with_conn(|con| Ok(::redis::cmd("MGET").arg(chunk).query(con)?))?;
            out.extend(values);
        }
        Ok(out)
    }
}

impl Store for RedisStore {
    fn load(&self, key: &SessionKey, now_ms: i64) -> Result<Option<Record>> {
        let k = self.redis_key(key.as_bytes());
        let raw: Option<Vec<u8>> =
            self.with_conn(|con| Ok(::redis::cmd("GET").arg(&k).query(con)?))?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let rec = self.decode(raw)?;
        Ok((!rec.is_expired(now_ms)).then_some(rec))
    }

    fn create(&self, key: &SessionKey, rec: Record, now_ms: i64) -> Result<Option<Record>> {
        let header = *rec.header();
        let bytes = rec.raw();
        let ttl = ttl_ms(header.expires_at_ms, now_ms);
        let k = self.redis_key(key.as_bytes());
        let created = self.watched(|con| {
            let set: Option<String> = ::redis::cmd("SET")
                .arg(&k)
                .arg(bytes)
                .arg("NX")
                .arg("PX")
                .arg(ttl)
                .query(con)?;
            if set.is_some() {
                return Ok(Attempt::Done(true));
            }
            // Something is stored under the key. A live session is a
            // collision; a dead one (expired by the engine's clock, or
            // unreadable) may be replaced, if nobody writes it meanwhile.
            ::redis::cmd("WATCH").arg(&k).exec(con)?;
            let found: Option<Vec<u8>> = ::redis::cmd("GET").arg(&k).query(con)?;
            if let Some(found) = found {
                if matches!(Record::decode(&found), Ok(r) if !r.is_expired(now_ms)) {
                    ::redis::cmd("UNWATCH").exec(con)?;
                    return Ok(Attempt::Done(false));
                }
            }
            Ok(match set_watched(con, &k, bytes, &header, now_ms)? {
                Attempt::Done(()) => Attempt::Done(true),
                Attempt::Raced => Attempt::Raced,
            })
        })?;
        if !created {
            return Ok(None);
        }
        self.record_writes.fetch_add(1, Relaxed);
        Ok(Some(rec))
    }

    fn update(
        &self,
        key: &SessionKey,
        seen: Option<&Record>,
        now_ms: i64,
        change: &mut Change<'_>,
    ) -> Result<Record> {
        let k = self.redis_key(key.as_bytes());
        let rec = self.watched(|con| {
            ::redis::cmd("WATCH").arg(&k).exec(con)?;
            let raw: Option<Vec<u8>> = ::redis::cmd("GET").arg(&k).query(con)?;
            let Some(raw) = raw else {
                return Err(Error::SessionDeleted.into());
            };
            // Redis issues no read tokens: equal bytes are the same record.
            let unchanged_since_seen = seen.is_some_and(|s| s.raw() == &raw[..]);
            let current = self.decode(raw)?;
            if current.is_expired(now_ms) {
                return Err(Error::SessionDeleted.into());
            }
            let rec = change(&current, unchanged_since_seen)?;
            Ok(
                match set_watched(con, &k, rec.raw(), rec.header(), now_ms)? {
                    Attempt::Done(()) => Attempt::Done(rec),
                    Attempt::Raced => Attempt::Raced,
                },
            )
        })?;
        self.record_writes.fetch_add(1, Relaxed);
        Ok(rec)
    }

    fn delete(&self, key: &SessionKey) -> Result<bool> {
        let k = self.redis_key(key.as_bytes());
        let n: u64 = self.with_conn(|con| Ok(::redis::cmd("DEL").arg(&k).query(con)?))?;
        self.record_writes.fetch_add(1, Relaxed);
        Ok(n > 0)
    }

    /// Redis drops expired sessions by itself; this is the explicit sweep
    /// of `Engine::clear_expired` (`manage.py clearsessions`), by the
    /// engine's clock: it reads every record under the prefix (O(n)) and
    /// deletes those expired at `now_ms`, or unreadable, that nobody
    /// rewrote meanwhile. `examined` counts the due records looked at.
    fn sweep(&self, now_ms: i64, budget: usize) -> Result<Sweep> {
        let keys = self.all_keys()?;
        let mut due = Vec::new();
        for chunk in keys.chunks(SCAN_COUNT) {
            for (k, v) in chunk.iter().zip(self.get_many(chunk)?) {
                let Some(v) = v else { continue };
                match Record::decode(&v) {
                    Ok(rec) if !rec.is_expired(now_ms) => {}
                    _ => due.push((k.clone(), v)),
                }
            }
        }
        let mut sweep = Sweep {
            more: due.len() > budget,
            ..Sweep::default()
        };
        for (k, seen) in due.iter().take(budget) {
            sweep.examined += 1;
            // Delete only the bytes judged dead: a record rewritten since
            // (a key reused by a create) stays.
            let removed = self.watched(|con| {
                ::redis::cmd("WATCH").arg(k).exec(con)?;
                let now: Option<Vec<u8>> = ::redis::cmd("GET").arg(k).query(con)?;
                if now.as_ref() != Some(seen) {
                    ::redis::cmd("UNWATCH").exec(con)?;
                    return Ok(Attempt::Done(false));
                }
                let done: Option<(u64,)> = ::redis::pipe().atomic().cmd("DEL").arg(k).query(con)?;
                Ok(match done {
                    Some((n,)) => Attempt::Done(n > 0),
                    None => Attempt::Done(false),
                })
            })?;
            if removed {
                self.record_writes.fetch_add(1, Relaxed);
                sweep.removed += 1;
            }
        }
        Ok(sweep)
    }

    /// O(n) in the number of keys under the prefix: every key is listed
    /// and sorted, then the page's records are read with `MGET`.
    fn scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let p = self.prefix.len();
        let page: Vec<Vec<u8>> = self
            .all_keys()?
            .into_iter()
            .filter(|k| after.is_none_or(|a| &k[p..] > a))
            .take(limit)
            .collect();
        let values = self.get_many(&page)?;
        Ok(page
            .iter()
            .zip(values)
            .filter_map(|(k, v)| v.map(|v| (k[p..].to_vec(), v)))
            .collect())
    }

    /// Lists the keys under the prefix once (`SCAN`), then reads their
    /// records a chunk at a time (`MGET`): O(n) for the whole walk, where
    /// paging through [`Store::scan`] would list every key for each page.
    /// Memory holds the keys, and one chunk of records. A record deleted
    /// since the listing is skipped.
    fn walk(
        &self,
        after: Option<&[u8]>,
        visit: &mut dyn FnMut(Vec<u8>, Vec<u8>) -> Result<bool>,
    ) -> Result<bool> {
        let p = self.prefix.len();
        let keys: Vec<Vec<u8>> = self
            .all_keys()?
            .into_iter()
            .filter(|k| after.is_none_or(|a| &k[p..] > a))
            .collect();
        for chunk in keys.chunks(SCAN_COUNT) {
            for (k, v) in chunk.iter().zip(self.get_many(chunk)?) {
                let Some(v) = v else { continue };
                if !visit(k[p..].to_vec(), v)? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Nothing to do: what survives a crash of the Redis server is decided
    /// by its persistence settings (`appendonly`, `save`).
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// O(n): counts the keys under the prefix with `SCAN`.
    fn len(&self) -> Result<usize> {
        Ok(self.all_keys()?.len())
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            record_writes: self.record_writes.load(Relaxed),
            index_writes: 0,
            corrupt_records: self.corrupt.load(Relaxed),
            ..StoreStats::default()
        }
    }

    fn count_damaged(&self) {
        self.corrupt.fetch_add(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_options_are_read_from_the_query() {
        let o = RedisOptions::from_url(
            "redis://127.0.0.1:6379/2?prefix=app%3As%3A&timeout_ms=500&pool_size=4&protocol=resp2",
        )
        .unwrap();
        assert_eq!(o.prefix, "app:s:");
        assert_eq!(o.io_timeout, Duration::from_millis(500));
        assert_eq!(o.connect_timeout, Duration::from_secs(1));
        assert_eq!(o.max_idle, 4);
        assert_eq!(
            RedisOptions::from_url("redis://h/0").unwrap(),
            RedisOptions::default()
        );
        assert!(RedisOptions::from_url("redis://h/0?timeout_ms=0").is_err());
        assert!(RedisOptions::from_url("redis://h/0?prefix=%zz").is_err());
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            display_url("redis://user:secret@h:1/0?prefix=a"),
            "redis://user:***@h:1/0"
        );
        assert_eq!(display_url("redis://h:1/0"), "redis://h:1/0");
    }

    #[test]
    fn glob_characters_in_the_prefix_are_escaped() {
        assert_eq!(glob_escape(b"a*b["), b"a\\*b\\[*".to_vec());
    }
}
