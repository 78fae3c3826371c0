//! Engine configuration: a builder whose every setter states its default.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cookie::{CookieConfig, SameSite};
use crate::expiry::{Clock, SystemClock};
use crate::owner::OwnerKey;
use crate::store::SledOptions;

/// The default sled cache (see [`Config::cache_capacity`]).
pub(crate) const DEFAULT_CACHE: u64 = 256 * 1024 * 1024;

/// How an [`crate::Engine`] is set up. Start from [`Config::new`] and chain
/// setters; each documents its default, which is Django's where Django has
/// the setting.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) path: PathBuf,
    pub(crate) cookie: CookieConfig,
    pub(crate) save_every_request: bool,
    pub(crate) expire_at_browser_close: bool,
    pub(crate) sled: SledOptions,
    pub(crate) max_data_key_len: usize,
    pub(crate) max_value_size: usize,
    pub(crate) max_record_size: usize,
    pub(crate) max_keys: usize,
    pub(crate) reaper_interval: Option<Duration>,
    pub(crate) reaper_budget: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) owner_key: Option<String>,
}

impl Config {
    /// Refuses data that arrives whole when [`Session::insert_value`]
    /// would refuse one of its entries: more than `max_keys` entries, a
    /// key over `max_data_key_len`, a value over `max_value_size`.
    /// `entries` are (data key, encoded value size).
    ///
    /// [`Session::insert_value`]: crate::Session::insert_value
    pub(crate) fn check_entries<'a>(
        &self,
        entries: impl ExactSizeIterator<Item = (&'a str, usize)>,
    ) -> crate::Result<()> {
        let too_large = |what, limit, actual| crate::Error::TooLarge {
            what,
            limit,
            actual,
        };
        if entries.len() > self.max_keys {
            return Err(too_large(crate::Limit::Keys, self.max_keys, entries.len()));
        }
        for (k, size) in entries {
            if k.len() > self.max_data_key_len {
                return Err(too_large(
                    crate::Limit::DataKey,
                    self.max_data_key_len,
                    k.len(),
                ));
            }
            if size > self.max_value_size {
                return Err(too_large(crate::Limit::Value, self.max_value_size, size));
            }
        }
        Ok(())
    }

    /// A configuration for the database directory `path` (created if
    /// missing), with every other setting at its default.
    pub fn new(path: impl AsRef<Path>) -> Config {
        Config {
            path: path.as_ref().to_path_buf(),
            cookie: CookieConfig::default(),
            save_every_request: false,
            expire_at_browser_close: false,
            sled: SledOptions::default(),
            max_data_key_len: 256,
            max_value_size: 64 * 1024,
            max_record_size: 1024 * 1024,
            max_keys: 10_000,
            reaper_interval: Some(Duration::from_secs(60)),
            reaper_budget: 1000,
            clock: Arc::new(SystemClock),
            owner_key: None,
        }
    }

    /// Checks the settings that could otherwise break a response header.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        self.cookie.validate()?;
        self.parsed_owner_key().map(|_| ())
    }

    /// The owner key, parsed ([`Config::owner_key`]).
    pub(crate) fn parsed_owner_key(&self) -> Result<Option<OwnerKey>, crate::ConfigError> {
        self.owner_key.as_deref().map(OwnerKey::parse).transpose()
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cookie settings.
    pub fn cookie(&self) -> &CookieConfig {
        &self.cookie
    }

    /// `SESSION_COOKIE_NAME`. Default `sessionid`.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie.name = name.into();
        self
    }

    /// `SESSION_COOKIE_AGE`, in seconds: the lifetime of a session under the
    /// default expiry policy. Default 1209600 (two weeks).
    pub fn cookie_age(mut self, secs: i64) -> Self {
        self.cookie.age_s = secs;
        self
    }

    /// `SESSION_COOKIE_DOMAIN`. Default none (a host-only cookie).
    pub fn cookie_domain(mut self, domain: Option<String>) -> Self {
        self.cookie.domain = domain;
        self
    }

    /// `SESSION_COOKIE_PATH`. Default `/`.
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie.path = path.into();
        self
    }

    /// `SESSION_COOKIE_SECURE`. Default false.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie.secure = secure;
        self
    }

    /// `SESSION_COOKIE_HTTPONLY`. Default true.
    pub fn cookie_httponly(mut self, httponly: bool) -> Self {
        self.cookie.httponly = httponly;
        self
    }

    /// `SESSION_COOKIE_SAMESITE`; `None` omits the attribute. Default `Lax`.
    pub fn cookie_samesite(mut self, samesite: Option<SameSite>) -> Self {
        self.cookie.samesite = samesite;
        self
    }

    /// `SESSION_SAVE_EVERY_REQUEST`: save (and so extend) the session on
    /// every request, not only when it changed. Default false.
    pub fn save_every_request(mut self, yes: bool) -> Self {
        self.save_every_request = yes;
        self
    }

    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`: under the default expiry policy,
    /// send a browser-session cookie (no `Max-Age`). Default false.
    pub fn expire_at_browser_close(mut self, yes: bool) -> Self {
        self.expire_at_browser_close = yes;
        self
    }

    /// sled's page cache, in bytes: an upper bound, filled only as sessions
    /// are read and written. Default 256 MiB. sled counts a page's chain of
    /// updates against it, so it needs several times the live session
    /// bytes: 10 000 sessions of 2 KB (20 MB) thrash a 64 MiB cache (gets
    /// and saves 3× slower, reading pages back from the log) and fit from
    /// 96 MiB (`benches/hot_path.rs`, `benches/scale.rs --cache-mb`).
    pub fn cache_capacity(mut self, bytes: u64) -> Self {
        self.sled.cache_capacity = bytes;
        self
    }

    /// How often sled writes to disk in the background, in ms; `None` only
    /// on [`crate::Engine::flush`] and durable saves. Default `Some(500)`:
    /// a kill -9 loses at most the last ~500 ms of non-durable saves.
    pub fn flush_every_ms(mut self, ms: Option<u64>) -> Self {
        self.sled.flush_every_ms = ms;
        self
    }

    /// The sled settings [`crate::Engine::open`] opens the database with
    /// (for opening a [`crate::SledStore`] by hand, to pass to
    /// [`crate::Engine::with_store`]).
    pub fn sled_options(&self) -> SledOptions {
        self.sled
    }

    /// Whether sled compresses the database (zstd), decided when the
    /// database is created. Unset (the default), a new database is not
    /// compressed and an existing one keeps what it was created with; set,
    /// opening an existing database created otherwise fails with
    /// [`crate::Error::InvalidConfig`]. At a million sessions of 213 B,
    /// compression takes disk from 3.6× to 2.3× the session bytes; saves get
    /// slower (p50 13.8 µs instead of 3.5 µs at 10 000 sessions, 19.6
    /// instead of 12.9 at a million: sled's own overwrites slow as much),
    /// gets do not (`cargo bench --bench scale -- --compression`, run of
    /// 2026-11-22; docs/BENCHMARKS.md has the latest run).
    pub fn compression(mut self, yes: bool) -> Self {
        self.sled.compression = Some(yes);
        self
    }

    /// The longest session data key, in bytes. Default 256.
    pub fn max_data_key_len(mut self, bytes: usize) -> Self {
        self.max_data_key_len = bytes;
        self
    }

    /// The largest single value, MessagePack-encoded, in bytes.
    /// Default 64 KiB.
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// The largest whole record (header and data), in bytes. Default 1 MiB.
    pub fn max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes;
        self
    }

    /// The most keys one session may hold. Default 10000.
    pub fn max_keys(mut self, n: usize) -> Self {
        self.max_keys = n;
        self
    }

    /// How often the background reaper sweeps expired sessions; `None`
    /// runs no reaper (call [`crate::Engine::clear_expired`] yourself, as
    /// `manage.py clearsessions` does). Default `Some(60 s)`.
    pub fn reaper_interval(mut self, every: Option<Duration>) -> Self {
        self.reaper_interval = every;
        self
    }

    /// The most index entries one reaper pass examines, so a pass never
    /// holds up the process for long; a pass that runs out of budget is
    /// followed at once by another. Default 1000.
    pub fn reaper_budget(mut self, entries: usize) -> Self {
        self.reaper_budget = entries.max(1);
        self
    }

    /// The data key that names a session's owner (`"user_id"`; a dotted
    /// path such as `"passport.user"` reaches into nested maps): the store
    /// then keeps an index of sessions by owner, so that
    /// [`crate::Engine::sessions_of`] and [`crate::Engine::end_sessions_of`]
    /// ("log out everywhere") read only that owner's sessions. The value
    /// there names the owner when it is a non-empty string or an integer
    /// (`42` and `"42"` are one owner; see [`crate::OwnerKey`]). Default
    /// none: no index, unless the database already keeps one.
    ///
    /// The database remembers the key it indexes by (sled, Redis): opened
    /// without this setting, it goes on keeping that index; opened with
    /// another key, it rebuilds the index from every stored session first
    /// (reading the whole store once). An empty key, or one with an empty
    /// segment, is [`crate::Error::InvalidConfig`].
    pub fn owner_key(mut self, key: impl Into<String>) -> Self {
        self.owner_key = Some(key.into());
        self
    }

    /// Where the engine reads the time. Default the system clock; tests pass
    /// a [`crate::ManualClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}
