//! The shared store: sessions in Redis, for servers that run several
//! processes (gunicorn workers, Node cluster) or several hosts. One
//! server, a master that Redis Sentinel fails over, or a Redis Cluster
//! (`topology.rs`); plain TCP or TLS; all named by one URL (`url.rs`).
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
//! - **Atomicity is optimistic, and server-side.** Every conditional
//!   write is one compare-and-set script on the session's one key
//!   (`script.rs`): write only if the key still holds the bytes the new
//!   record was made from. An update makes its change in Rust (the same
//!   merge as for every store) from the record the request read, and
//!   sends it: one round trip. When another process wrote the key in
//!   between, the script answers with what is stored now, and the change
//!   is made again from that, so parallel saves of different keys all
//!   land. A session that is gone is never recreated
//!   (`Error::SessionDeleted`). Creation is the same script with "if
//!   absent"; a dead record (expired by the engine's clock, or unreadable)
//!   under the key is replaced by a compare-and-set on its bytes, and a
//!   sweep deletes only the bytes it judged dead the same way. A script
//!   names its key, so in a cluster it runs on the key's master.
//! - **Connections.** A small list of idle connections, each used by one
//!   call at a time. Connecting and every reply have timeouts, so an
//!   unreachable server is an [`Error::Unavailable`] within about a
//!   second, never a hang. A connection that failed is dropped, never
//!   reused: after a timeout its late reply would answer the next command.
//!   A pooled connection found stale (the server restarted; with Sentinel
//!   or Cluster, a failover moved the master) empties the pool, and the
//!   call is retried once on a new connection; every operation here may be
//!   repeated safely (a delta applied twice gives the same record).
//! - **Fork.** A forked child must not talk on its parent's sockets (the
//!   two would read each other's replies), and the connection list's lock
//!   may have been held by a parent thread at the fork. As with the sled
//!   store, the child gets [`Error::Forked`] and opens its own engine.
//! - **Listing is O(n).** `scan`, `len`, `walk` and `sweep` walk every key
//!   under the prefix with `SCAN`, on every master of a cluster; they are
//!   for tools and tests, not for the request path.
//! - **Durability** is the server's persistence configuration (RDB, AOF),
//!   and across a failover its replication, which is asynchronous: `wait=`
//!   makes each write wait for replicas (docs/OPERATIONS.md). `flush` has
//!   nothing to add.
//! - **The owner index** (`Config::owner_key`, owner.rs) is a Redis hash
//!   per owner, `prefix ++ "owner:" ++ owner`, from each of its session
//!   keys to the time the key was filed, and the owner key it is kept by
//!   is the string `prefix ++ "owner-key"`, read at open. Neither is ever
//!   a session key (those are 32 characters of `[a-z0-9]`), so no
//!   listing, count or sweep sees them. A hash lives in its own slot, not
//!   its sessions', so its writes are commands of their own, by the tree
//!   store's rule: the session key is filed in the new owner's hash
//!   before the record that names it is written, and leaves the old
//!   owner's after, the owners read from the bytes the compare-and-set is
//!   made from (the winner's, when it lost a race). A save that keeps the
//!   owner sends nothing more, with one exception: a hash is kept (its
//!   TTL) at least until an hour past its longest-lived member's deadline
//!   (`owner_deadline`), and a save whose deadline enters another hour
//!   extends it (and files the key again), so a session kept alive by use
//!   outlives no hash it is in. Redis expires records by itself and says
//!   nothing, so a hash keeps members whose session is gone:
//!   [`Store::owned_by`] reads each member's record and removes the
//!   members whose record is gone or names another owner.
//!
//!   Without the tree store's key locks, a removal decided on a record
//!   read a round trip before could take out a filing made meanwhile by a
//!   writer whose record lands just after (a login racing a logout of the
//!   same session, or a listing). So a removal that follows a judgement
//!   (a change of owner, a listing) removes only filings made at least
//!   [`OWNER_GRACE_MS`] before, by the engine's clock: a writer files and
//!   writes its record within a round trip or two, so only a writer
//!   stalled that long between the two can lose its entry. A member kept
//!   that way names a record of another owner, or none, and is skipped
//!   by every listing until one removes it. A delete and a sweep remove
//!   the member at once: the record they removed never comes back (keys
//!   are random, and a deleted session cannot be saved back).

mod script;
mod topology;
mod url;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use ::redis::{ConnectionLike, ErrorKind, RedisError, ServerErrorKind};
use parking_lot::{Mutex, RwLock};
use sled::IVec;

use self::script::{compare_and_set, Cas, Lua, Write};
use self::topology::{Conn, Topology};
use self::url::display_url;
pub use self::url::RedisOptions;
use super::{Change, Store, StoreStats, Sweep};
use crate::error::{ConfigError, Error, Result};
use crate::key::SessionKey;
use crate::owner::OwnerKey;
use crate::record::Record;

/// How many times a save or create starts over because another writer
/// changed the key between its read and its compare-and-set. Each lost
/// race means some other write landed, so running out takes sustained
/// contention on one session.
const MAX_ATTEMPTS: usize = 100;

/// Keys asked for per `SCAN` step and values per `MGET`.
const SCAN_COUNT: usize = 1000;

/// After the prefix, what an owner's hash is named by: this, then the
/// owner.
const OWNER_HASHES: &[u8] = b"owner:";

/// How old a filing in an owner's hash must be before a change of owner
/// or a listing may remove it (the module documentation): far longer than
/// a writer takes from its filing to its compare-and-set, even through a
/// reconnection and a retry.
const OWNER_GRACE_MS: i64 = 600_000;

/// After the prefix, the name of the string holding the owner key.
const OWNER_KEY: &[u8] = b"owner-key";

/// The step by which an owner hash's deadline moves (`owner_deadline`).
const OWNER_STEP_MS: i64 = 3_600_000;

/// Sessions in Redis: one server, a Sentinel-managed master, or a Redis
/// Cluster. See the module documentation for how it keeps the [`Store`]
/// contract.
pub struct RedisStore {
    topology: Topology,
    /// The URL without password, for messages.
    url: String,
    prefix: Vec<u8>,
    opts: RedisOptions,
    /// The compare-and-set and the owner index's scripts (`script.rs`).
    cas: Lua,
    file: Lua,
    unfile: Lua,
    /// The owner key the owner hashes are kept by (`None`: none are), as the
    /// server remembered it at open, or as `index_owners` set it since.
    owner_key: RwLock<Option<Arc<OwnerKey>>>,
    /// Idle connections, most recently used last.
    idle: Mutex<Vec<Conn>>,
    /// The fork generation this store was opened in (see `ffi/fork.rs`).
    generation: u64,
    record_writes: AtomicU64,
    owner_writes: AtomicU64,
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
            ) | ErrorKind::ClusterConnectionNotFound
        )
}

/// What a failed TLS handshake tells the user to fix, if `e` is one: the
/// server's certificate was not trusted, or the server refused the client
/// (no client certificate, or one it does not trust). Retrying cannot help,
/// so these are configuration errors, not [`Error::Unavailable`].
fn tls_refusal(e: &RedisError) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(mut c) = cause {
        // The redis client keeps an I/O error behind an `Arc`, which is
        // the error its `source` hands out.
        if let Some(inner) = c.downcast_ref::<std::sync::Arc<dyn std::error::Error + Send + Sync>>()
        {
            c = &**inner;
        }
        let tls = c.downcast_ref::<rustls::Error>().or_else(|| {
            c.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(t) = tls {
            return Some(match t {
                rustls::Error::InvalidCertificate(why) => format!(
                    "the server's TLS certificate is not trusted ({why:?}): tls_ca= must name the \
                     CA file that signed it, and the URL's host must be a name or address the \
                     certificate lists"
                ),
                rustls::Error::AlertReceived(alert) => format!(
                    "the server refused the TLS handshake ({alert:?}): it may require a client \
                     certificate that it trusts (tls_cert= and tls_key=)"
                ),
                other => format!(
                    "TLS handshake failed ({other}): does the server speak TLS on this port?"
                ),
            });
        }
        cause = c.source();
    }
    None
}

fn ttl_ms(deadline_ms: i64, now_ms: i64) -> i64 {
    // Redis refuses a TTL of 0; an already expired record gets the shortest.
    deadline_ms.saturating_sub(now_ms).max(1)
}

/// How long an owner hash is kept for a member whose record expires at
/// `deadline_ms`: until the end of the hour after the one the deadline
/// falls in. Every deadline within one hour gives the same, so a save that
/// slides its record's deadline need extend the hash (one more command)
/// only when the deadline enters another hour, and a hash outlives its last
/// member by one to two hours. The TTL is set, like a record's, as the
/// time left by the engine's clock, so the two count from the same moment.
fn owner_deadline(deadline_ms: i64) -> i64 {
    deadline_ms
        .div_euclid(OWNER_STEP_MS)
        .saturating_add(2)
        .saturating_mul(OWNER_STEP_MS)
}

/// The owner that the record bytes `raw` name by `owners`, when readable.
fn owner_in(owners: &OwnerKey, raw: &[u8]) -> Option<Vec<u8>> {
    let rec = Record::decode(raw).ok()?;
    owners.owner_of(rec.data()).map(|o| o.into_owned())
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

/// Whether `raw` is a live record at `now_ms` (readable and not expired).
fn is_live(raw: &[u8], now_ms: i64) -> bool {
    matches!(Record::decode(raw), Ok(r) if !r.is_expired(now_ms))
}

impl RedisStore {
    /// Connects to the Redis servers `url` names: one server
    /// (`redis://[user:password@]host[:port][/db]`, `rediss://…` with
    /// TLS, `redis+unix:///path/to/socket`), the master that sentinels
    /// name (`redis+sentinel://host1:26379,host2:26379/mymaster[/db]`), or
    /// a cluster (`redis+cluster://host1:7000,host2:7001/`); see
    /// docs/OPERATIONS.md. The servers must answer now: otherwise
    /// [`Error::Unavailable`] within the timeouts of `opts`. A URL, option
    /// or TLS file the client cannot use, or a server certificate it does
    /// not trust, is [`Error::InvalidConfig`].
    ///
    /// The owner key the server remembers (`Store::index_owners` keeps it
    /// under the prefix) is read now: this store keeps that owner index
    /// up to date whether or not its engine is configured with the key.
    pub fn open(url: &str, opts: &RedisOptions) -> Result<RedisStore> {
        let store = RedisStore {
            topology: Topology::new(url, opts)?,
            url: display_url(url),
            prefix: opts.prefix.as_bytes().to_vec(),
            opts: opts.clone(),
            cas: Lua::cas(),
            file: Lua::file(),
            unfile: Lua::unfile(),
            owner_key: RwLock::new(None),
            idle: Mutex::new(Vec::new()),
            generation: crate::sys::fork::generation(),
            record_writes: AtomicU64::new(0),
            owner_writes: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
        };
        let mut con = store.connect().map_err(|e| store.error(e))?;
        // Also the check that the server answers (it was a PING).
        let remembered: Option<Vec<u8>> = ::redis::cmd("GET")
            .arg(store.owner_key_name())
            .query(&mut con)
            .map_err(|e| store.error(e))?;
        // Not text a key could be made of: not written by this store.
        *store.owner_key.write() = remembered
            .and_then(|k| String::from_utf8(k).ok())
            .and_then(|k| OwnerKey::parse(&k).ok())
            .map(Arc::new);
        store.idle.lock().push(con);
        Ok(store)
    }

    /// The store's URL, without password or query.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &RedisOptions {
        &self.opts
    }

    fn connect(&self) -> Result<Conn, RedisError> {
        self.topology.connect(&self.opts)
    }

    /// Whether `e` says the connection's server went away or stopped being
    /// the master since the connection was last used: the other pooled
    /// connections are as stale.
    fn stale(&self, e: &RedisError) -> bool {
        (e.is_connection_dropped() && !e.is_timeout())
            || (self.topology.follows_failover()
                && e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly))
    }

    fn error(&self, e: RedisError) -> Error {
        let store = self.url.clone();
        if let Some(why) = tls_refusal(&e) {
            Error::InvalidConfig(ConfigError::RedisClient {
                url: store,
                source: why.into(),
            })
        } else if is_unavailable(&e)
            || (self.topology.follows_failover()
                && e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly))
        {
            Error::Unavailable {
                store,
                source: Box::new(e),
            }
        } else if matches!(
            e.kind(),
            ErrorKind::InvalidClientConfig | ErrorKind::MasterNameNotFoundBySentinel
        ) {
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
    /// `op` may run twice: when a pooled connection turns out stale, the
    /// pool is emptied and `op` starts over once on a new connection
    /// (every operation here may be repeated: a delta applied twice gives
    /// the same record).
    fn with_conn<T>(&self, mut op: impl FnMut(&mut Conn) -> Result<T, Fail>) -> Result<T> {
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
            if reused && self.stale(e) {
                // The server restarted, or (Sentinel, Cluster) a failover
                // moved the master: a new connection finds where it is now.
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
                self.put_back(con);
                Err(e)
            }
            // The connection may be in any state (a late reply on its
            // way): drop it. Where the master can move, the pooled ones may
            // all point at a dead or demoted one: drop them too.
            Err(Fail::Redis(e)) => {
                if self.topology.follows_failover() && self.stale_or_down(&e) {
                    drop(std::mem::take(&mut *self.idle.lock()));
                }
                Err(self.error(e))
            }
        }
    }

    fn stale_or_down(&self, e: &RedisError) -> bool {
        self.stale(e) || is_unavailable(e)
    }

    fn put_back(&self, con: Conn) {
        let mut idle = self.idle.lock();
        if con.is_open() && idle.len() < self.opts.max_idle {
            idle.push(con);
        }
    }

    /// The compare-and-set of `key` (`script.rs`), followed, when it wrote,
    /// by [`RedisStore::replicated`].
    fn cas(
        &self,
        con: &mut Conn,
        key: &[u8],
        expected: Option<&[u8]>,
        write: Write<'_>,
    ) -> Result<Cas, Fail> {
        let done = compare_and_set(con, &self.cas, key, expected, write)?;
        if matches!(done, Cas::Written) {
            self.replicated(con, key)?;
        }
        Ok(done)
    }

    /// When the store was opened with `wait=N`: `WAIT N` for the write
    /// just made to `key` on `con`. Fewer replicas than asked within half
    /// the reply timeout is an `Unavailable` error that says so (the master
    /// has the write; repeating it is harmless).
    fn replicated(&self, con: &mut Conn, key: &[u8]) -> Result<(), Fail> {
        let want = self.opts.wait_replicas;
        if want == 0 {
            return Ok(());
        }
        // Half the reply timeout, so that WAIT's own reply is in time.
        let timeout = u64::try_from(self.opts.io_timeout.as_millis() / 2)
            .unwrap_or(u64::MAX)
            .max(1);
        let got = con.wait(key, want, timeout)?;
        if got < want {
            return Err(Fail::Refused(Error::Unavailable {
                store: self.url.clone(),
                source: format!(
                    "written on the master, but {got} of the {want} replicas asked for \
                     (wait={want}) acknowledged it within {timeout} ms: a failover now could \
                     lose it"
                )
                .into(),
            }));
        }
        Ok(())
    }

    fn kept_changing(&self) -> Fail {
        Fail::Refused(Error::Backend {
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

    /// The Redis key of `owner`'s hash of session keys.
    fn owner_hash(&self, owner: &[u8]) -> Vec<u8> {
        let mut k = self.redis_key(OWNER_HASHES);
        k.extend_from_slice(owner);
        k
    }

    /// The Redis key of the string holding the owner key.
    fn owner_key_name(&self) -> Vec<u8> {
        self.redis_key(OWNER_KEY)
    }

    /// The owner key the owner hashes are kept by, if any (read once per
    /// write).
    fn owners(&self) -> Option<Arc<OwnerKey>> {
        self.owner_key.read().clone()
    }

    /// Files session `key`, whose record expires at `deadline_ms`, in
    /// `owner`'s hash at `now_ms`, and keeps the hash until
    /// [`owner_deadline`] at least. With `wait=`, waits for the replicas as
    /// a record write does: the record written next must not survive a
    /// failover without it.
    fn file_owner(
        &self,
        con: &mut Conn,
        owner: &[u8],
        key: &[u8],
        deadline_ms: i64,
        now_ms: i64,
    ) -> Result<(), Fail> {
        let hash = self.owner_hash(owner);
        let ttl = ttl_ms(owner_deadline(deadline_ms), now_ms);
        script::file(con, &self.file, &hash, ttl, now_ms, &[key])?;
        self.owner_writes.fetch_add(1, Relaxed);
        self.replicated(con, &hash)
    }

    /// Removes session `key` from `owner`'s hash (an empty hash is gone)
    /// after a change of owner judged on a record read at `now_ms`: only a
    /// filing older than [`OWNER_GRACE_MS`] then.
    fn unfile_owner(
        &self,
        con: &mut Conn,
        owner: &[u8],
        key: &[u8],
        now_ms: i64,
    ) -> Result<(), Fail> {
        let cutoff = now_ms.saturating_sub(OWNER_GRACE_MS);
        let removed = script::unfile(con, &self.unfile, &self.owner_hash(owner), cutoff, &[key])?;
        self.owner_writes.fetch_add(removed, Relaxed);
        Ok(())
    }

    /// Removes session `key` from `owner`'s hash whenever it was filed:
    /// for a record deleted, which never comes back.
    fn forget_owner(&self, con: &mut Conn, owner: &[u8], key: &[u8]) -> Result<(), Fail> {
        let removed: u64 = ::redis::cmd("HDEL")
            .arg(self.owner_hash(owner))
            .arg(key)
            .query(con)?;
        self.owner_writes.fetch_add(removed, Relaxed);
        Ok(())
    }

    fn decode(&self, raw: Vec<u8>) -> Result<Record> {
        Record::decode_stored(IVec::from(raw)).map_err(|e| {
            self.corrupt.fetch_add(1, Relaxed);
            Error::Corrupt(e)
        })
    }

    /// Every session's Redis key: the keys under the prefix followed by a
    /// valid session key, on every master (`topology.rs`), sorted (`SCAN`
    /// may repeat keys and gives no order). Anything else under the prefix
    /// (the owner hashes and the owner key; with an empty prefix, the rest of
    /// the database) is never listed, counted or swept.
    fn all_keys(&self) -> Result<Vec<Vec<u8>>> {
        let pattern = glob_escape(&self.prefix);
        let p = self.prefix.len();
        let mut keys = self.with_conn(|con| Ok(con.scan_all(&pattern, None, SCAN_COUNT)?))?;
        keys.retain(|k| k.starts_with(&self.prefix) && SessionKey::from_bytes(&k[p..]).is_ok());
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// The values of `keys` (Redis keys), `None` where one has gone.
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(SCAN_COUNT) {
            out.extend(self.with_conn(|con| Ok(con.get_many(chunk)?))?);
        }
        Ok(out)
    }
}

/// What an update's next attempt builds on.
enum Base<'a> {
    /// The record the caller read, not read again.
    Seen(&'a Record),
    /// Bytes the compare-and-set handed back: the record that won.
    Stored(Vec<u8>),
    /// Nothing yet: read the key.
    Read,
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

    /// One compare-and-set "if absent"; when a record is there, it is a
    /// collision if live, else (expired by the engine's clock, or
    /// unreadable) it is replaced by a compare-and-set on its bytes. A
    /// record with an owner is filed in its owner's hash first; a dead
    /// record replaced leaves its own owner's hash after.
    fn create(&self, key: &SessionKey, rec: Record, now_ms: i64) -> Result<Option<Record>> {
        let bytes = rec.raw();
        let deadline = rec.header().expires_at_ms;
        let ttl = ttl_ms(deadline, now_ms);
        let k = self.redis_key(key.as_bytes());
        let owners = self.owners();
        let owner = owners.as_ref().and_then(|o| o.owner_of(rec.data()));
        let created = self.with_conn(|con| {
            if let Some(owner) = &owner {
                self.file_owner(con, owner, key.as_bytes(), deadline, now_ms)?;
            }
            let mut expected: Option<Vec<u8>> = None;
            for _ in 0..MAX_ATTEMPTS {
                match self.cas(con, &k, expected.as_deref(), Write::Set(bytes, ttl))? {
                    Cas::Written => {}
                    // Our own write, whose reply was lost before a retry.
                    Cas::Found(Some(found)) if found == bytes => {}
                    // A collision: the entry just filed names a record
                    // that is not this one, and `owned_by` drops it.
                    Cas::Found(Some(found)) if is_live(&found, now_ms) => return Ok(false),
                    Cas::Found(found) => {
                        expected = found;
                        continue;
                    }
                }
                let dead_owner = owners
                    .as_deref()
                    .zip(expected.as_deref())
                    .and_then(|(o, dead)| owner_in(o, dead))
                    .filter(|d| Some(&d[..]) != owner.as_deref());
                if let Some(dead_owner) = dead_owner {
                    self.unfile_owner(con, &dead_owner, key.as_bytes(), now_ms)?;
                }
                return Ok(true);
            }
            Err(self.kept_changing())
        })?;
        drop(owner);
        if !created {
            return Ok(None);
        }
        self.record_writes.fetch_add(1, Relaxed);
        Ok(Some(rec))
    }

    /// The change made from the record the caller read (`seen`), then a
    /// compare-and-set of the new record against its bytes: one round
    /// trip. Without `seen` (or when the change fails on it), a `GET`
    /// first. When another process wrote the key in between, the script
    /// answers with the bytes stored now and the change is made again from
    /// them, until it lands. The owner hashes are written around the
    /// compare-and-set only when the owner changes, or the deadline enters
    /// another hour (`owner_deadline`).
    fn update(
        &self,
        key: &SessionKey,
        seen: Option<&Record>,
        now_ms: i64,
        change: &mut Change<'_>,
    ) -> Result<Record> {
        let k = self.redis_key(key.as_bytes());
        let owners = self.owners();
        let rec = self.with_conn(|con| {
            // What the next attempt builds on. The record the caller read is
            // most often still the stored one (nobody saved the session
            // since this request loaded it), so the first attempt builds on
            // it without reading it again: the compare-and-set writes only
            // if the stored bytes are still those, and hands back the
            // winner otherwise. That saves a request's save a round trip.
            // A change that fails on `seen` is judged again on the record
            // read from the server.
            let mut base = match seen {
                Some(seen) if !seen.is_expired(now_ms) => Base::Seen(seen),
                _ => Base::Read,
            };
            // The owner whose hash this update has filed the key in, so that
            // another attempt does not file it again.
            let mut filed: Option<Vec<u8>> = None;
            for _ in 0..MAX_ATTEMPTS {
                let stored;
                let (current, unchanged) = match base {
                    Base::Seen(seen) => (seen, true),
                    Base::Stored(_) | Base::Read => {
                        let raw = match std::mem::replace(&mut base, Base::Read) {
                            Base::Stored(raw) => raw,
                            _ => ::redis::cmd("GET")
                                .arg(&k)
                                .query::<Option<Vec<u8>>>(con)?
                                .ok_or(Error::SessionDeleted)?,
                        };
                        // Redis issues no read tokens: equal bytes are the
                        // same record.
                        let unchanged = seen.is_some_and(|s| s.raw() == &raw[..]);
                        stored = self.decode(raw)?;
                        if stored.is_expired(now_ms) {
                            return Err(Error::SessionDeleted.into());
                        }
                        (&stored, unchanged)
                    }
                };
                let rec = match change(current, unchanged) {
                    Ok(rec) => rec,
                    Err(_) if matches!(base, Base::Seen(_)) => {
                        base = Base::Read;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let (old_at, new_at) = (current.header().expires_at_ms, rec.header().expires_at_ms);
                let ttl = ttl_ms(new_at, now_ms);
                // Owners read from the record this change was made from:
                // if it lost a race, the next attempt reads the winner's.
                let (old_owner, new_owner) = match &owners {
                    Some(o) => (o.owner_of(current.data()), o.owner_of(rec.data())),
                    None => (None, None),
                };
                let moved = old_owner != new_owner;
                if let Some(new) = &new_owner {
                    let due = moved || owner_deadline(new_at) > owner_deadline(old_at);
                    if due && filed.as_deref() != Some(&new[..]) {
                        self.file_owner(con, new, key.as_bytes(), new_at, now_ms)?;
                        filed = Some(new.to_vec());
                    }
                }
                drop(new_owner);
                match self.cas(con, &k, Some(current.raw()), Write::Set(rec.raw(), ttl))? {
                    Cas::Written => {}
                    Cas::Found(None) => return Err(Error::SessionDeleted.into()),
                    // Our own write, whose reply was lost before a retry.
                    Cas::Found(Some(found)) if found == rec.raw() => {}
                    Cas::Found(Some(found)) => {
                        base = Base::Stored(found);
                        continue;
                    }
                }
                if let Some(old) = old_owner.filter(|_| moved) {
                    self.unfile_owner(con, &old, key.as_bytes(), now_ms)?;
                }
                return Ok(rec);
            }
            Err(self.kept_changing())
        })?;
        self.record_writes.fetch_add(1, Relaxed);
        Ok(rec)
    }

    /// `DEL`; where owner hashes are kept, `GETDEL` (Redis 6.2), and then
    /// the key leaves the hash of the owner the deleted record named.
    fn delete(&self, key: &SessionKey) -> Result<bool> {
        let k = self.redis_key(key.as_bytes());
        let owners = self.owners();
        let existed = self.with_conn(|con| {
            let Some(owners) = &owners else {
                let n: u64 = ::redis::cmd("DEL").arg(&k).query(con)?;
                // A logout that a failover loses brings the session back.
                self.replicated(con, &k)?;
                return Ok(n > 0);
            };
            let old: Option<Vec<u8>> = ::redis::cmd("GETDEL").arg(&k).query(con)?;
            self.replicated(con, &k)?;
            // A damaged record's entry is left for `owned_by` to drop.
            if let Some(owner) = old.as_deref().and_then(|raw| owner_in(owners, raw)) {
                self.forget_owner(con, &owner, key.as_bytes())?;
            }
            Ok(old.is_some())
        })?;
        self.record_writes.fetch_add(1, Relaxed);
        Ok(existed)
    }

    /// Redis drops expired sessions by itself; this is the explicit sweep
    /// of `Engine::clear_expired` (`manage.py clearsessions`), by the
    /// engine's clock: it reads every record under the prefix on every
    /// master (O(n)) and deletes those expired at `now_ms`, or unreadable,
    /// that nobody rewrote meanwhile (a compare-and-delete of the bytes
    /// judged dead). `examined` counts the due records looked at.
    fn sweep(&self, now_ms: i64, budget: usize) -> Result<Sweep> {
        let keys = self.all_keys()?;
        let mut due = Vec::new();
        for chunk in keys.chunks(SCAN_COUNT) {
            for (k, v) in chunk.iter().zip(self.get_many(chunk)?) {
                let Some(v) = v else { continue };
                if !is_live(&v, now_ms) {
                    due.push((k.clone(), v));
                }
            }
        }
        let mut sweep = Sweep {
            more: due.len() > budget,
            ..Sweep::default()
        };
        let owners = self.owners();
        let p = self.prefix.len();
        for (k, seen) in due.iter().take(budget) {
            sweep.examined += 1;
            // A record rewritten since (a key reused by a create) stays.
            let removed = self.with_conn(|con| {
                if !matches!(self.cas(con, k, Some(seen), Write::Delete)?, Cas::Written) {
                    return Ok(false);
                }
                if let Some(owner) = owners.as_deref().and_then(|o| owner_in(o, seen)) {
                    self.forget_owner(con, &owner, &k[p..])?;
                }
                Ok(true)
            })?;
            if removed {
                self.record_writes.fetch_add(1, Relaxed);
                sweep.removed += 1;
            }
        }
        Ok(sweep)
    }

    /// O(n) in the number of keys under the prefix: every key is listed
    /// (on every master) and sorted, then the page's records are read.
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

    /// Lists the keys under the prefix once (`SCAN` on every master), then
    /// reads their records a chunk at a time: O(n) for the whole walk,
    /// where paging through [`Store::scan`] would list every key for each
    /// page. Memory holds the keys, and one chunk of records. A record
    /// deleted since the listing is skipped.
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
    /// by its persistence settings (`appendonly`, `save`), and what
    /// survives a failover by replication (`wait=`, docs/OPERATIONS.md).
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// O(n): counts the keys under the prefix with `SCAN` on every master.
    fn len(&self) -> Result<usize> {
        Ok(self.all_keys()?.len())
    }

    fn owner_key(&self) -> Option<OwnerKey> {
        self.owners().as_deref().cloned()
    }

    /// When the server keeps the hashes by another key, or none (asked
    /// again now: another process may have switched to `key` since this
    /// store was opened): deletes every owner hash under the prefix (`SCAN
    /// … TYPE hash` on every master), stores `key` for the processes that
    /// open the store later, then reads every record (O(n), as `walk`) and
    /// files each that names an owner, a thousand records per pipeline. A
    /// hash is kept as long as its members' records have left (`PTTL`), and
    /// past that as a save would keep it. Meant for the engine's opening:
    /// a process that opened the store before goes on filing by the key it
    /// read then (`owned_by` drops what it files that names another owner
    /// by this key), and a session written while the records are listed
    /// may be missed if it was filed before the hashes were deleted. The
    /// rebuild files at time 0, which never hides a writer's filing.
    fn index_owners(&self, key: &OwnerKey) -> Result<bool> {
        if self.owners().as_deref() == Some(key) {
            return Ok(true);
        }
        let remembered: Option<Vec<u8>> =
            self.with_conn(|con| Ok(::redis::cmd("GET").arg(self.owner_key_name()).query(con)?))?;
        if remembered.as_deref() == Some(key.as_str().as_bytes()) {
            *self.owner_key.write() = Some(Arc::new(key.clone()));
            return Ok(true);
        }
        // The key is forgotten first and remembered once every record is
        // filed: a process that dies in between leaves none remembered, so
        // the next open with the key rebuilds again rather than trust a
        // half-built index.
        self.with_conn(|con| Ok(::redis::cmd("DEL").arg(self.owner_key_name()).exec(con)?))?;
        let hashes = self.owner_hash(b"");
        let pattern = glob_escape(&hashes);
        let mut old =
            self.with_conn(|con| Ok(con.scan_all(&pattern, Some("hash"), SCAN_COUNT)?))?;
        old.retain(|k| k.starts_with(&hashes));
        old.sort_unstable();
        old.dedup();
        for chunk in old.chunks(SCAN_COUNT) {
            let dels = chunk.iter().map(|k| ::redis::cmd("DEL").arg(k).clone());
            self.with_conn(|con| Ok(con.pipeline::<()>(dels.clone().collect())?))?;
        }
        *self.owner_key.write() = Some(Arc::new(key.clone()));

        let p = self.prefix.len();
        for chunk in self.all_keys()?.chunks(SCAN_COUNT) {
            let values = self.get_many(chunk)?;
            let pttls: Vec<i64> = self.with_conn(|con| {
                let cmds = chunk.iter().map(|k| ::redis::cmd("PTTL").arg(k).clone());
                Ok(con.pipeline(cmds.collect())?)
            })?;
            // Each owner's members in this chunk, and the longest TTL
            // among their records.
            let mut owners: BTreeMap<Vec<u8>, (Vec<&[u8]>, i64)> = BTreeMap::new();
            for ((k, raw), pttl) in chunk.iter().zip(values).zip(pttls) {
                // Gone since the listing (-2), or unreadable: nothing to file.
                let Some(owner) = raw.filter(|_| pttl != -2).and_then(|r| owner_in(key, &r)) else {
                    continue;
                };
                let (members, ttl) = owners.entry(owner).or_default();
                members.push(&k[p..]);
                *ttl = (*ttl).max(pttl);
            }
            if owners.is_empty() {
                continue;
            }
            let filed: usize = owners.values().map(|(m, _)| m.len()).sum();
            // A TTL past the record's by at least what `owner_deadline`
            // adds (a record without one was not written here: its hash
            // gets the margin alone).
            let files = owners.iter().map(|(owner, (members, ttl))| {
                let ttl = (*ttl).max(0).saturating_add(2 * OWNER_STEP_MS);
                script::file_cmd(&self.file, &self.owner_hash(owner), ttl, 0, members)
            });
            self.with_conn(|con| Ok(con.pipeline::<()>(files.clone().collect())?))?;
            self.owner_writes.fetch_add(filed as u64, Relaxed);
        }
        self.with_conn(|con| {
            Ok(::redis::cmd("SET")
                .arg(self.owner_key_name())
                .arg(key.as_str())
                .exec(con)?)
        })?;
        Ok(true)
    }

    /// `HKEYS` of the owner's hash, then its members' records (one
    /// `MGET`, or a pipeline per node). A member whose record is gone
    /// (deleted, or expired by Redis) or names another owner now is
    /// removed if it was filed ten minutes ago or more (`OWNER_GRACE_MS`;
    /// one script for them all), and skipped either way; one whose record
    /// is damaged is kept and not served, as by `load`.
    fn owned_by(&self, owner: &[u8], now_ms: i64) -> Result<Option<Vec<(SessionKey, Record)>>> {
        let Some(owners) = self.owners() else {
            return Ok(None);
        };
        let hash = self.owner_hash(owner);
        let members: Vec<Vec<u8>> =
            self.with_conn(|con| Ok(::redis::cmd("HKEYS").arg(&hash).query(con)?))?;
        let mut stale = Vec::new();
        let mut keys = Vec::with_capacity(members.len());
        for m in members {
            match SessionKey::from_bytes(&m) {
                Ok(k) => keys.push(k),
                Err(_) => stale.push(m),
            }
        }
        let mut live = Vec::new();
        if !keys.is_empty() {
            let redis_keys: Vec<Vec<u8>> =
                keys.iter().map(|k| self.redis_key(k.as_bytes())).collect();
            for (key, raw) in keys.into_iter().zip(self.get_many(&redis_keys)?) {
                let Some(raw) = raw else {
                    stale.push(key.as_bytes().to_vec());
                    continue;
                };
                let Ok(rec) = Record::decode_stored(IVec::from(raw)) else {
                    continue;
                };
                if owners.owner_of(rec.data()).as_deref() != Some(owner) {
                    stale.push(key.as_bytes().to_vec());
                } else if !rec.is_expired(now_ms) {
                    live.push((key, rec));
                }
            }
        }
        if !stale.is_empty() {
            // Only filings older than the grace: one made since this
            // listing read its record may be a writer's whose record lands
            // next.
            let cutoff = now_ms.saturating_sub(OWNER_GRACE_MS);
            let removed = self
                .with_conn(|con| Ok(script::unfile(con, &self.unfile, &hash, cutoff, &stale)?))?;
            self.owner_writes.fetch_add(removed, Relaxed);
        }
        Ok(Some(live))
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            record_writes: self.record_writes.load(Relaxed),
            index_writes: 0,
            owner_writes: self.owner_writes.load(Relaxed),
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
    fn glob_characters_in_the_prefix_are_escaped() {
        assert_eq!(glob_escape(b"a*b["), b"a\\*b\\[*".to_vec());
    }
}
