//! The engine: one open session database, its configuration, and the
//! background reaper that sweeps expired sessions (this file); the
//! store-level operations every layer calls (`ops.rs`); the change a
//! request makes and how it merges onto what is stored (`delta.rs`).

mod delta;
mod ops;

pub use self::delta::Delta;
pub(crate) use self::ops::check_nesting;
pub use self::ops::SaveOptions;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use crate::config::Config;
use crate::cookie::{find_cookie, ResponseCookie};
use crate::error::{ConfigError, Error, OpenError, Result};
use crate::expiry::from_ms;
use crate::key::SessionKey;
use crate::session::Session;
use crate::store::{MemoryStore, SledStore, Store, StoreStats};
#[cfg(feature = "redis")]
use crate::store::{RedisOptions, RedisStore};

/// An open session database. Cheap to clone (clones share everything) and
/// safe to use from many threads. The database closes when the last clone
/// and the last [`Session`] made from it are dropped.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    store: Arc<dyn Store>,
    reaper: Mutex<Option<Reaper>>,
    /// The fork generation the engine was made in (see `ffi/fork.rs`).
    generation: u64,
    /// The store's count of storage failures when a flush last returned
    /// (see [`Engine::flush`]).
    failures_flushed: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(r) = self.reaper.get_mut().take() {
            if self.generation == crate::sys::fork::generation() {
                r.stop();
            } else {
                // A forked child has no reaper thread to join.
                std::mem::forget(r);
            }
        }
    }
}

impl Engine {
    /// Opens (creating if needed) the sled database at `config`'s path.
    /// Opening a path this process already has open shares one database.
    /// Another process holding it gives [`OpenError::Locked`]; a path
    /// that holds something else, [`OpenError::NotADatabase`].
    pub fn open(config: Config) -> std::result::Result<Engine, OpenError> {
        config.validate()?;
        let store = SledStore::open(&config.path, &config.sled)?;
        index_owners(&config, &store).map_err(|e| open_error(&config, e))?;
        Ok(Engine::start(config, Arc::new(store)))
    }

    /// Opens the store that `url` names, with `config`'s other settings
    /// (the URL replaces its path). One string moves an application from
    /// the embedded store to a shared one:
    ///
    /// - a plain path, or `sled://` followed by one (`sled:///var/lib/app`
    ///   is absolute, `sled://sessions` relative): the embedded sled
    ///   database, as [`Engine::open`];
    /// - `redis://[user:password@]host[:port][/db]` (also
    ///   `redis+unix:///path/to/socket`, and `rediss://` with TLS): a Redis
    ///   server that several processes and hosts share (cargo feature
    ///   `redis`, on by default);
    /// - `redis+sentinel://[user:password@]host1[:port],host2[:port]/master[/db]`
    ///   (`rediss+sentinel://` with TLS): the master that these sentinels
    ///   (port 26379 by default) know by that name, followed to its
    ///   successor after a failover;
    /// - `redis+cluster://[user:password@]host1[:port],host2[:port]/`
    ///   (`rediss+cluster://` with TLS): a Redis Cluster, learnt from any
    ///   of its nodes.
    ///
    ///   Query parameters `prefix` (default `sessile:`),
    ///   `connect_timeout_ms` (1000), `timeout_ms` (2000), `pool_size`
    ///   (16), `tls_ca`, `tls_cert`, `tls_key` (PEM files) and `wait`
    ///   (replicas each write waits for, 0) tune any of the Redis forms,
    ///   e.g. `redis://127.0.0.1:6379/0?prefix=app:` (docs/OPERATIONS.md).
    ///   Redis expires sessions itself, so no reaper runs whatever
    ///   `config.reaper_interval` says; [`Engine::clear_expired`] still
    ///   sweeps (reading every key, on every master of a cluster). An
    ///   unreachable server is [`Error::Unavailable`] within the timeouts;
    ///   a TLS certificate that is not trusted, [`Error::InvalidConfig`];
    /// - `memory:`: an in-memory store, as [`Engine::memory`].
    ///
    /// Any other `scheme://` is [`Error::InvalidConfig`].
    pub fn open_url(url: &str, mut config: Config) -> Result<Engine> {
        config.validate()?;
        match url_scheme(url) {
            Some("memory") if url == "memory:" => Engine::memory(config),
            None => {
                if url.is_empty() {
                    return Err(ConfigError::EmptyUrl.into());
                }
                config.path = url.into();
                Ok(Engine::open(config)?)
            }
            Some("sled") => {
                let path = &url["sled://".len()..];
                if path.is_empty() {
                    return Err(ConfigError::NoDirectory(url.into()).into());
                }
                config.path = path.into();
                Ok(Engine::open(config)?)
            }
            #[cfg(feature = "redis")]
            Some(
                "redis" | "rediss" | "redis+unix" | "unix" | "redis+sentinel" | "rediss+sentinel"
                | "redis+cluster" | "rediss+cluster",
            ) => {
                let store = RedisStore::open(url, &RedisOptions::from_url(url)?)?;
                config.path = store.url().into();
                config.reaper_interval = None;
                Engine::with_store(config, Arc::new(store))
            }
            #[cfg(not(feature = "redis"))]
            Some(
                "redis" | "rediss" | "redis+unix" | "unix" | "redis+sentinel" | "rediss+sentinel"
                | "redis+cluster" | "rediss+cluster",
            ) => Err(ConfigError::NoRedisSupport(url.into()).into()),
            Some(other) => Err(ConfigError::UnknownScheme(other.into()).into()),
        }
    }

    /// An engine over an in-memory store (nothing survives the process;
    /// `config`'s path is ignored).
    pub fn memory(config: Config) -> Result<Engine> {
        Engine::with_store(config, Arc::new(MemoryStore::new()))
    }

    /// An engine over any store. Fails with [`Error::InvalidConfig`] when
    /// the cookie settings could not produce a valid header.
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> Result<Engine> {
        config.validate()?;
        index_owners(&config, &*store)?;
        Ok(Engine::start(config, store))
    }

    /// An engine over `store` under the valid `config`, its reaper started.
    fn start(config: Config, store: Arc<dyn Store>) -> Engine {
        let reaper = config
            .reaper_interval
            .map(|every| Reaper::start(store.clone(), &config, every));
        let failures = store_failures(&store);
        Engine {
            inner: Arc::new(Inner {
                config,
                store,
                reaper: Mutex::new(reaper),
                generation: crate::sys::fork::generation(),
                failures_flushed: AtomicU64::new(failures),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store, for framework adapters that work at the store level.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The store's counters (writes per tree, damaged records seen).
    pub fn stats(&self) -> StoreStats {
        self.inner.store.stats()
    }

    /// The current time by the engine's clock, ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.inner.config.clock.now_ms()
    }

    /// A new, empty session with no key (one is issued on save).
    pub fn new_session(&self) -> Session {
        Session::new(self.clone(), None, false)
    }

    /// The session for a key taken from a cookie. Nothing is read until the
    /// session is first used. A malformed key is dropped here, before any
    /// storage access; an unknown or expired one loads as an empty session
    /// with no key. Loading never writes.
    pub fn session(&self, key: &str) -> Session {
        Session::new(self.clone(), SessionKey::parse(key).ok(), true)
    }

    /// Begins a request: finds the session cookie in a `Cookie:` header
    /// value (or `None` when the request has none).
    pub fn begin_request(&self, cookie_header: Option<&str>) -> Session {
        match cookie_header.and_then(|h| find_cookie(h, &self.inner.config.cookie.name)) {
            Some(value) => Session::new(self.clone(), SessionKey::parse(value).ok(), true),
            None => Session::new(self.clone(), None, false),
        }
    }

    /// Ends a request with Django's `SessionMiddleware` rules: when the
    /// request carried the cookie and the session is now empty, delete the
    /// cookie; otherwise, when the session was modified (or
    /// `save_every_request` is set) and is not empty, save it, unless the
    /// response status is 500 or above, and set the cookie (`Max-Age` and
    /// `expires` from the expiry age, or a browser-session cookie). `Vary:
    /// Cookie` whenever the session was accessed. A save of a session
    /// deleted meanwhile fails with [`Error::SessionDeleted`] (Django's
    /// `SessionInterrupted`).
    pub fn end_request(&self, session: &mut Session, status: u16) -> Result<ResponseCookie> {
        let cfg = &self.inner.config;
        let empty = session.is_empty();
        let mut out = ResponseCookie::default();
        if session.request_had_cookie() && empty {
            out.set_cookie = Some(cfg.cookie.delete_cookie());
            out.vary_cookie = true;
            return Ok(out);
        }
        out.vary_cookie = session.accessed();
        if (session.modified() || cfg.save_every_request) && !empty {
            let max_age = if session.get_expire_at_browser_close()? {
                None
            } else {
                Some(session.get_expiry_age()?)
            };
            if status < 500 {
                session.save()?;
                out.saved = true;
                if let Some(key) = session.session_key() {
                    out.set_cookie =
                        Some(cfg.cookie.set_cookie(key, max_age, from_ms(self.now_ms())));
                }
            }
        }
        Ok(out)
    }

    /// Whether a live session exists under `key` (false for malformed keys).
    pub fn exists(&self, key: &str) -> Result<bool> {
        match SessionKey::parse(key) {
            Ok(k) => self.is_live(&k),
            Err(_) => Ok(false),
        }
    }

    /// Deletes every session expired by now; returns how many. Django's
    /// `clear_expired` / `manage.py clearsessions`.
    pub fn clear_expired(&self) -> Result<usize> {
        let now = self.now_ms();
        let mut removed = 0;
        loop {
            let sweep = self
                .inner
                .store
                .sweep(now, self.inner.config.reaper_budget)?;
            removed += sweep.removed;
            if !sweep.more {
                return Ok(removed);
            }
        }
    }

    /// Asks the background reaper for one pass now and waits for it;
    /// returns how many sessions it removed. [`Error::Closed`] when the
    /// engine runs no reaper. Lets tests drive the reaper with a manual
    /// clock instead of waiting for its interval.
    pub fn run_reaper_pass(&self) -> Result<usize> {
        if self.inner.generation != crate::sys::fork::generation() {
            return Err(Error::Forked {
                path: self.inner.config.path.clone(),
            });
        }
        let (tx, rx) = mpsc::channel();
        {
            let guard = self.inner.reaper.lock();
            let reaper = guard.as_ref().ok_or(Error::Closed)?;
            reaper.tx.send(Msg::Pass(tx)).map_err(|_| Error::Closed)?;
        }
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// Writes every acknowledged save to disk now.
    ///
    /// When the storage failed since a flush last returned (a full disk)
    /// while saves acknowledged since the last flush were not yet known to
    /// be on disk ([`StoreStats::storage_failures_losing_saves`]), those
    /// saves are lost, even though the store has recovered since. So the
    /// first flush after such a failure returns [`Error::Io`] saying so,
    /// even if it wrote everything it was given; flushes after it succeed
    /// again. A failure met when every acknowledged save had been flushed
    /// (durable saves only) lost nothing, and no flush reports it.
    pub fn flush(&self) -> Result<()> {
        let flushed = self.inner.store.flush();
        let failures = store_failures(&self.inner.store);
        let reported = self.inner.failures_flushed.swap(failures, SeqCst);
        flushed?;
        if failures > reported {
            return Err(Error::Io {
                path: self.inner.config.path.clone(),
                source: std::io::Error::other(
                    "the database failed to write since the last flush, and was reopened \
                     once there was room: saves acknowledged before the failure that had \
                     not reached the disk are lost",
                ),
            });
        }
        Ok(())
    }

    /// Stops the reaper, flushes, and drops this handle. The database itself
    /// closes when no other clone or session holds it.
    pub fn close(self) -> Result<()> {
        if self.inner.generation != crate::sys::fork::generation() {
            return Err(Error::Forked {
                path: self.inner.config.path.clone(),
            });
        }
        if let Some(r) = self.inner.reaper.lock().take() {
            r.stop();
        }
        self.flush()
    }
}

/// Has `store` keep its owner index by the configured owner key, if one is
/// set (rebuilding it when the store kept another).
fn index_owners(config: &Config, store: &dyn Store) -> Result<()> {
    if let Some(key) = config.parsed_owner_key()? {
        store.index_owners(&key)?;
    }
    Ok(())
}

/// An error met while opening, as [`Engine::open`] returns it.
fn open_error(config: &Config, e: Error) -> OpenError {
    match e {
        Error::InvalidConfig(e) => OpenError::InvalidConfig(e),
        Error::Storage(e) => OpenError::Storage(e),
        Error::Io { path, source } => OpenError::Io { path, source },
        other => OpenError::Io {
            path: config.path.clone(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

fn store_failures(store: &Arc<dyn Store>) -> u64 {
    store.stats().storage_failures_losing_saves
}

/// The scheme of a store URL (`redis` in `redis://…`), or `None` for a
/// plain path. `memory:` counts as a URL too.
pub(crate) fn url_scheme(url: &str) -> Option<&str> {
    if url == "memory:" {
        return Some("memory");
    }
    url.split_once("://").map(|(s, _)| s).filter(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

enum Msg {
    Pass(Sender<Result<usize>>),
    Stop,
}

#[derive(Debug)]
struct Reaper {
    tx: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Pass(_) => "Pass",
            Msg::Stop => "Stop",
        })
    }
}

impl Reaper {
    fn start(store: Arc<dyn Store>, config: &Config, every: Duration) -> Reaper {
        let (tx, rx) = mpsc::channel::<Msg>();
        let clock = config.clock.clone();
        let budget = config.reaper_budget;
        let thread = std::thread::Builder::new()
            .name("sessile-reaper".into())
            .spawn(move || {
                let pass = || -> Result<(usize, bool)> {
                    let s = store.sweep(clock.now_ms(), budget)?;
                    Ok((s.removed, s.more))
                };
                let mut wait = every;
                loop {
                    match rx.recv_timeout(wait) {
                        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                        Ok(Msg::Pass(reply)) => {
                            let r = pass().map(|(n, _)| n);
                            let _ = reply.send(r);
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            // A pass that ran out of budget is followed by
                            // another at once; errors wait for the next tick.
                            wait = match pass() {
                                Ok((_, true)) => Duration::ZERO,
                                _ => every,
                            };
                        }
                    }
                }
            })
            .ok();
        Reaper { tx, thread }
    }

    fn stop(mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
