//! Errors. One umbrella [`Error`]; causes stay typed.

use std::path::PathBuf;

/// Everything that can go wrong in sessile.
///
/// The enum is `#[non_exhaustive]`: new variants may be added in minor
/// releases. Match the ones you handle and keep a fallback arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A session key that is not 32 characters of `[a-z0-9]`. Raised only by
    /// calls that require a valid key; an incoming cookie with a malformed key
    /// simply loads as an empty session.
    #[error("invalid session key: {0}")]
    InvalidKey(#[from] crate::key::InvalidKey),

    /// The database directory is held by another process (sled allows one
    /// process per directory). Use a shared store (Redis) for several
    /// processes. The message says so, and names the holder's pid when its
    /// lock file tells it.
    #[error("{}", locked(path, *holder))]
    #[non_exhaustive]
    Locked {
        /// The directory that could not be opened.
        path: PathBuf,
        /// The pid of the process holding it, as written in its
        /// `sessile.lock` (`None`: not recorded there).
        holder: Option<u32>,
    },

    /// The path is not a sessile database and sessile will not make one
    /// there: a regular file, or a directory that holds other files (a
    /// project folder given by mistake). [`crate::Engine::open`] creates a
    /// database only in a missing or empty directory; the CLI's reading
    /// commands also refuse a missing or empty one.
    #[error("{path:?} is not a sessile database: {found}")]
    NotADatabase {
        /// The path given.
        path: PathBuf,
        /// What is there instead.
        found: NotADatabase,
    },

    /// An expiry outside the accepted range (see [`crate::Expiry`], "Range").
    #[error("{0}")]
    InvalidExpiry(#[from] crate::expiry::ExpiryError),

    /// The session was deleted (or expired) after it was loaded, for example
    /// by a logout in another tab. It is not recreated. Django raises
    /// `UpdateError` / `SessionInterrupted` in this case.
    #[error("the session was deleted while this request was using it")]
    SessionDeleted,

    /// A value, key or whole record is larger than the configured limit.
    #[error("{what} is {actual}, over the limit of {limit}")]
    TooLarge {
        /// Which limit was exceeded.
        what: Limit,
        /// The configured limit.
        limit: usize,
        /// The size that was refused.
        actual: usize,
    },

    /// A record on disk could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(#[from] crate::record::RecordError),

    /// A value could not be encoded as MessagePack.
    #[error("value could not be encoded: {0}")]
    Encode(#[from] rmpv::ext::Error),

    /// A stored value does not have the type that was asked for.
    #[error("value of {key:?} does not have the requested type: {source}")]
    WrongType {
        /// The session data key.
        key: String,
        /// Why decoding failed.
        source: rmpv::ext::Error,
    },

    /// Session data that a session cannot hold (see [`DataError`]).
    #[error("invalid data: {0}")]
    InvalidData(#[from] DataError),

    /// A configuration value that cannot work (see [`ConfigError`]; e.g. a
    /// cookie name that is not a token, which would corrupt the
    /// `Set-Cookie` header).
    #[error("invalid configuration: {0}")]
    InvalidConfig(#[from] ConfigError),

    /// Every freshly generated key collided with an existing session.
    /// With 165-bit keys this means the random generator is broken.
    #[error("could not find a free session key after {0} attempts")]
    KeyCollision(u32),

    /// A create-only save ([`crate::SaveOptions::create_only`]) found a
    /// live session under the key it was given: nothing was written
    /// (Django's `CreateError`).
    #[error("a live session already has this key")]
    SessionExists,

    /// This process is a fork of the one that opened the database. A sled
    /// database cannot be shared across a fork, nor can a Redis store's
    /// connections (parent and child would read each other's replies); the
    /// child must open its own engine (workers should open engines after
    /// forking, not before).
    #[error("database {path:?} was opened by the parent process before a fork; open it in the child instead")]
    Forked {
        /// The database directory.
        path: PathBuf,
    },

    /// The engine was closed.
    #[error("the engine is closed")]
    Closed,

    /// The storage layer (sled) failed.
    #[error("storage error: {0}")]
    Storage(StorageError),

    /// An I/O error outside the storage layer (opening the directory).
    #[error("I/O error on {path:?}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },

    /// The shared store (Redis) could not be reached or did not answer in
    /// time: refused, timed out, dropped the connection, or still loading
    /// its data. Usually transient; the same call may succeed once the
    /// server is back (the store reconnects by itself). A write that timed
    /// out may or may not have been applied.
    #[error("session store {store} is unavailable: {source}")]
    Unavailable {
        /// The store's URL, without password.
        store: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The shared store (Redis) refused a command: a wrong password, a
    /// read-only replica, no memory left, something that is not a session
    /// record under the key prefix, or a session that kept changing under
    /// every attempt to save it.
    #[error("session store {store} failed: {source}")]
    Backend {
        /// The store's URL, without password.
        store: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Why session data was refused ([`Error::InvalidData`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A value nests arrays and maps deeper than a record may hold
    /// ([`crate::MAX_NESTING`]` - 1` levels below the data map).
    #[error(
        "value of {key:?} nests arrays/maps deeper than {}",
        crate::record::MAX_NESTING - 1
    )]
    TooDeep {
        /// The session data key whose value was refused.
        key: String,
    },
    /// Data given as encoded maps (a change given as the map loaded and the
    /// map held now) that is not a well-formed map with string keys, each
    /// once.
    #[error(transparent)]
    Map(crate::record::RecordError),
}

/// What is wrong with a configuration ([`Error::InvalidConfig`]): the
/// cookie settings, a store URL, or a setting the database was created
/// without.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The cookie name is not an RFC 6265 token.
    #[error("cookie name {0:?} is not an RFC 6265 token")]
    CookieName(String),
    /// The cookie domain is empty, or holds a `;` or a control character.
    #[error("cookie domain {0:?} is not a valid attribute value")]
    CookieDomain(String),
    /// The cookie path holds a `;` or a control character.
    #[error("cookie path {0:?} is not a valid attribute value")]
    CookiePath(String),
    /// An empty string where a store URL was expected.
    #[error("the store URL is empty")]
    EmptyUrl,
    /// A `sled://` URL with no directory after the scheme.
    #[error("{0:?} names no directory (sled:///absolute/path or sled://relative/path)")]
    NoDirectory(String),
    /// A store URL whose scheme is none that sessile knows.
    #[error("unknown store URL scheme {0:?}: use a path, sled://, redis:// or memory:")]
    UnknownScheme(String),
    /// A `redis://` URL given to a build without the `redis` feature.
    #[error("{0:?}: this build of sessile has no Redis support (cargo feature `redis`)")]
    NoRedisSupport(String),
    /// A query option of a store URL whose value cannot be used, such as
    /// `timeout_ms=0`.
    #[error("{name}={value:?} in the store URL: expected {expected}")]
    UrlOption {
        /// The option (`connect_timeout_ms`, `timeout_ms`, `pool_size`).
        name: String,
        /// Its value, percent-decoded.
        value: String,
        /// What the option takes (`milliseconds > 0`, `a count`).
        expected: &'static str,
    },
    /// A `%` in a store URL's query not followed by two hex digits (the
    /// value as written).
    #[error("bad percent-escape in the store URL: {0:?}")]
    PercentEscape(String),
    /// A value in a store URL's query that is not UTF-8 once
    /// percent-decoded (the value as written).
    #[error("the store URL's query is not UTF-8: {0:?}")]
    QueryNotUtf8(String),
    /// The Redis client refused the URL (shown without its password).
    #[error("cannot use the Redis URL {url:?}: {source}")]
    RedisUrl {
        /// The URL, without password or query.
        url: String,
        /// The client's reason.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The Redis client found its settings unusable once connecting.
    #[error("Redis URL {url:?}: {source}")]
    RedisClient {
        /// The URL, without password or query.
        url: String,
        /// The client's reason.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An owner key ([`crate::Config::owner_key`]) that is empty or has an
    /// empty segment (`a..b`).
    #[error(
        "owner key {0:?} is not a data key or a dotted path of them (such as \"user_id\" or \"passport.user\")"
    )]
    OwnerKey(String),
    /// Sessions were looked up by owner on an engine that names none: no
    /// [`crate::Config::owner_key`] is set, and the store keeps no owner
    /// index from an earlier one.
    #[error(
        "no owner key is configured, and the database keeps no owner index, so sessions have no \
         owner to look up: set one (Rust Config::owner_key, C sessile_options_set_owner_key, \
         Python owner_key=, Django SESSILE_OWNER_KEY, Node ownerKey)"
    )]
    NoOwnerKey,
    /// The database was created with the other compression setting, which
    /// cannot change once a database exists.
    #[error(
        "the database at {} was created {} compression, and compression cannot change once a \
         database exists (leave the option unset to follow the database, or move the \
         sessions with `sessile export` and `sessile import`)",
        path.display(),
        if *created_with { "with" } else { "without" }
    )]
    Compression {
        /// The database directory.
        path: PathBuf,
        /// Whether the database was created with compression.
        created_with: bool,
    },
}

/// Why a database could not be opened ([`crate::Engine::open`],
/// `SledStore::open`, `SledStore::open_existing`): the
/// cases opening meets, as a type of its own. Each converts into the
/// [`Error`] variant of the same name, with the same message (`?` in a
/// function returning [`Result`] converts it), so the C result codes stay
/// those of [`Error`]; [`crate::Engine::open_url`], which opens any store,
/// returns [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// A setting that cannot work, such as the cookie name, or a
    /// compression setting other than the one the database was created
    /// with ([`Error::InvalidConfig`]).
    #[error("invalid configuration: {0}")]
    InvalidConfig(#[from] ConfigError),

    /// The path is not a sessile database, and none is created there
    /// ([`Error::NotADatabase`]).
    #[error("{path:?} is not a sessile database: {found}")]
    NotADatabase {
        /// The path given.
        path: PathBuf,
        /// What is there instead.
        found: NotADatabase,
    },

    /// Another process holds the database ([`Error::Locked`]).
    #[error("{}", locked(path, *holder))]
    #[non_exhaustive]
    Locked {
        /// The directory that could not be opened.
        path: PathBuf,
        /// The pid of the process holding it, as written in its
        /// `sessile.lock` (`None`: not recorded there).
        holder: Option<u32>,
    },

    /// The directory or its lock file could not be read, made or locked
    /// ([`Error::Io`]).
    #[error("I/O error on {path:?}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },

    /// sled could not open its database ([`Error::Storage`]).
    #[error("storage error: {0}")]
    Storage(StorageError),
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Error {
        match e {
            OpenError::InvalidConfig(e) => Error::InvalidConfig(e),
            OpenError::NotADatabase { path, found } => Error::NotADatabase { path, found },
            OpenError::Locked { path, holder } => Error::Locked { path, holder },
            OpenError::Io { path, source } => Error::Io { path, source },
            OpenError::Storage(e) => Error::Storage(e),
        }
    }
}

/// The message of [`Error::Locked`] and [`OpenError::Locked`]: what to do
/// instead, since several processes cannot share a directory.
fn locked(path: &std::path::Path, holder: Option<u32>) -> String {
    format!(
        "database {path:?} is locked by another process{}: a sled database is open in one \
         process at a time. With several worker processes (gunicorn -w N, a Node cluster), \
         use a shared store (a redis:// URL, e.g. SESSILE_URL=redis://...) or run one worker \
         with threads",
        holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )
}

/// A failure of the storage layer (sled), as it reported it. Its own type
/// so that no sled type is part of sessile's API.
#[derive(Debug)]
pub struct StorageError(sled::Error);

impl StorageError {
    pub(crate) fn new(e: sled::Error) -> StorageError {
        StorageError(e)
    }

    /// Whether the storage found its files damaged (sled's checksums did
    /// not match), rather than failing to read or write them.
    pub fn is_corruption(&self) -> bool {
        matches!(self.0, sled::Error::Corruption { .. })
    }
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Error {
    /// A failure of sled's.
    pub(crate) fn storage(e: sled::Error) -> Error {
        Error::Storage(StorageError(e))
    }
}

/// Which configured limit a [`Error::TooLarge`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// `Config::max_data_key_len`: the length of one session data key.
    DataKey,
    /// `Config::max_value_size`: one encoded value.
    Value,
    /// `Config::max_record_size`: the whole encoded session.
    Record,
    /// `Config::max_keys`: the number of keys in one session.
    Keys,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::DataKey => "session data key",
            Limit::Value => "value",
            Limit::Record => "session record",
            Limit::Keys => "number of keys",
        })
    }
}

/// What [`Error::NotADatabase`] found at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotADatabase {
    /// A file that is not a directory.
    File,
    /// A directory with other files in it and no sled database.
    OtherFiles,
    /// Nothing, or an empty directory (only where a database must exist
    /// already, as for the CLI's reading commands).
    Nothing,
}

impl std::fmt::Display for NotADatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotADatabase::File => "it is a file, and a database is a directory",
            NotADatabase::OtherFiles => {
                "the directory holds other files and no database (a new database is \
                 created only in a missing or empty directory)"
            }
            NotADatabase::Nothing => "there is no database there",
        })
    }
}

/// `Result` with sessile's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The C ABI and the bindings pass these messages on, and their tests
    /// compare them: each case reads as the text it replaced (the expected
    /// strings are the `format!` calls that made them).
    #[test]
    fn messages_are_unchanged() {
        let deep = crate::record::MAX_NESTING - 1;
        let (key, url, s) = ("k\"", "sled://", "a%zz");
        let cases: Vec<(Error, String)> = vec![
            (
                DataError::TooDeep { key: key.into() }.into(),
                format!("value of {key:?} nests arrays/maps deeper than {deep}"),
            ),
            (
                ConfigError::CookieName("a;b".into()).into(),
                format!("cookie name {:?} is not an RFC 6265 token", "a;b"),
            ),
            (
                ConfigError::CookieDomain("x;".into()).into(),
                format!("cookie domain {:?} is not a valid attribute value", "x;"),
            ),
            (
                ConfigError::CookiePath("/\n".into()).into(),
                format!("cookie path {:?} is not a valid attribute value", "/\n"),
            ),
            (
                ConfigError::EmptyUrl.into(),
                "the store URL is empty".into(),
            ),
            (
                ConfigError::NoDirectory(url.into()).into(),
                format!(
                    "{url:?} names no directory (sled:///absolute/path or sled://relative/path)"
                ),
            ),
            (
                ConfigError::UnknownScheme("ftp".into()).into(),
                format!(
                    "unknown store URL scheme {:?}: use a path, sled://, redis:// or memory:",
                    "ftp"
                ),
            ),
            (
                ConfigError::NoRedisSupport(url.into()).into(),
                format!(
                    "{url:?}: this build of sessile has no Redis support (cargo feature `redis`)"
                ),
            ),
            (
                ConfigError::UrlOption {
                    name: "timeout_ms".into(),
                    value: "0".into(),
                    expected: "milliseconds > 0",
                }
                .into(),
                format!(
                    "{}={:?} in the store URL: expected milliseconds > 0",
                    "timeout_ms", "0"
                ),
            ),
            (
                ConfigError::UrlOption {
                    name: "pool_size".into(),
                    value: "x".into(),
                    expected: "a count",
                }
                .into(),
                format!("pool_size={:?} in the store URL: expected a count", "x"),
            ),
            (
                ConfigError::PercentEscape(s.into()).into(),
                format!("bad percent-escape in the store URL: {s:?}"),
            ),
            (
                ConfigError::QueryNotUtf8(s.into()).into(),
                format!("the store URL's query is not UTF-8: {s:?}"),
            ),
            (
                ConfigError::RedisUrl {
                    url: url.into(),
                    source: "why".into(),
                }
                .into(),
                format!("cannot use the Redis URL {url:?}: why"),
            ),
            (
                ConfigError::RedisClient {
                    url: url.into(),
                    source: "why".into(),
                }
                .into(),
                format!("Redis URL {url:?}: why"),
            ),
        ];
        for had in [true, false] {
            let path = PathBuf::from("/db");
            let expected = format!(
                "the database at {} was created {} compression, and compression cannot \
                 change once a database exists (leave the option unset to follow the \
                 database, or move the sessions with `sessile export` and `sessile import`)",
                path.display(),
                if had { "with" } else { "without" }
            );
            let e = ConfigError::Compression {
                path,
                created_with: had,
            };
            assert_eq!(e.to_string(), expected);
        }
        // An open error reads as the error it becomes.
        let path = PathBuf::from("/db");
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        for e in [
            OpenError::InvalidConfig(ConfigError::EmptyUrl),
            OpenError::NotADatabase {
                path: path.clone(),
                found: NotADatabase::OtherFiles,
            },
            OpenError::Locked {
                path: path.clone(),
                holder: Some(7),
            },
            OpenError::Locked {
                path: path.clone(),
                holder: None,
            },
            OpenError::Io {
                path: path.clone(),
                source: io(),
            },
            OpenError::Storage(StorageError(sled::Error::Io(io()))),
        ] {
            let text = e.to_string();
            assert_eq!(Error::from(e).to_string(), text);
        }
        for (e, text) in cases {
            let prefix = match e {
                Error::InvalidData(_) => "invalid data: ",
                _ => "invalid configuration: ",
            };
            assert_eq!(e.to_string(), format!("{prefix}{text}"));
        }
    }
}
