//! The durable store: two sled trees in one database directory.
//!
//! sled allows one open handle per directory, even within one process, and
//! one process per directory. So every `SledStore` for a path shares one
//! [`sled::Db`], found through a process-wide registry keyed by the
//! canonical path; another process holding the directory is reported as
//! [`Error::Locked`] before sled is asked.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use sled::IVec;

use super::trees::{time_prefix, Entry, KeyLocks, TreeStore, Trees};
use crate::error::{Error, Result};
use crate::ffi::fork::ForkLocal;

/// The durable store (the default): sled trees `sessions` and `expiry`.
pub type SledStore = TreeStore<SledTrees>;

/// Settings for opening a sled database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SledOptions {
    /// sled's page cache in bytes.
    pub cache_capacity: u64,
    /// How often sled flushes to disk in the background, in ms (`None`:
    /// never; only explicit flushes).
    pub flush_every_ms: Option<u64>,
    /// Whether sled compresses what it writes (zstd). It is fixed when the
    /// database is created: `None` follows an existing database (a new one
    /// is not compressed); `Some(x)` creates with `x` and, on an existing
    /// database created otherwise, fails with [`Error::InvalidConfig`].
    pub compression: Option<bool>,
}

/// Whether the sled database in `dir` was created with compression
/// (`None`: no database there yet, or its settings file is unreadable).
fn created_with_compression(dir: &Path) -> Option<bool> {
    // sled's `conf`: `name: value` lines, then a checksum.
    let conf = std::fs::read(dir.join("conf")).ok()?;
    String::from_utf8_lossy(&conf)
        .lines()
        .find_map(|l| l.strip_prefix("use_compression:"))
        .and_then(|v| v.trim().parse().ok())
}

/// One open database directory, shared by every store on that path.
#[derive(Debug)]
struct SharedDb {
    db: sled::Db,
    path: PathBuf,
    locks: KeyLocks,
    /// The fork generation this process had when it opened the database.
    generation: u64,
    // Held (and so locked) for as long as the database is open.
    _lock: File,
}

/// How long `open` waits for this process's previous handle on a path to be
/// released by sled's background threads, and how often it looks.
const RELEASE_WAIT: Duration = Duration::from_secs(5);
const RELEASE_POLL: Duration = Duration::from_millis(2);

impl Drop for SharedDb {
    fn drop(&mut self) {
        // Forget closed databases, so the registry does not grow with every
        // path ever opened. (Never dropped while `OPEN` is held: the
        // registry holds only weak references.)
        OPEN.get().lock().retain(|_, w| w.strong_count() > 0);
    }
}

/// The databases this process has open. A forked child starts with none of
/// its parent's (`ForkLocal`): they are not the child's to use, and the
/// registry's lock may have been held by another thread at the fork.
static OPEN: ForkLocal<Mutex<HashMap<PathBuf, Weak<SharedDb>>>> =
    ForkLocal::new(|| Mutex::new(HashMap::new()));

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The files sled (and sessile's lock) put in a database directory. A
/// directory holding only these is a database, or one whose creation was
/// cut short, and may be opened.
fn is_database_file(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    matches!(&*name, "conf" | "db" | "blobs" | "sessile.lock") || name.starts_with("snap.")
}

/// Refuses a path that is not a sessile database and must not become one:
/// a file, or a directory of other things (a project folder given by
/// mistake). With `create`, a missing or empty directory is fine (it
/// becomes a database); without, only an existing database is.
fn check_is_database(path: &Path, create: bool) -> Result<()> {
    let not = |found| Error::NotADatabase {
        path: path.to_path_buf(),
        found,
    };
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not(crate::error::NotADatabase::Nothing))
        }
        Err(_) if path.exists() && !path.is_dir() => {
            return Err(not(crate::error::NotADatabase::File))
        }
        Err(e) => return Err(io_err(path, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        names.push(entry.map_err(|e| io_err(path, e))?.file_name());
    }
    // sled's settings and log: a database, whatever else sits beside them.
    let has_db = path.join("conf").is_file() && path.join("db").is_file();
    if has_db || (create && names.iter().all(|n| is_database_file(n))) {
        return Ok(());
    }
    Err(not(if names.iter().all(|n| is_database_file(n)) {
        crate::error::NotADatabase::Nothing
    } else {
        crate::error::NotADatabase::OtherFiles
    }))
}

/// The pid a lock holder wrote into `sessile.lock`, if any.
fn lock_holder(lock_path: &Path) -> Option<u32> {
    std::fs::read_to_string(lock_path).ok()?.trim().parse().ok()
}

fn open_shared(path: &Path, opts: &SledOptions, create: bool) -> Result<Arc<SharedDb>> {
    check_is_database(path, create)?;
    std::fs::create_dir_all(path).map_err(|e| io_err(path, e))?;
    let canonical = path.canonicalize().map_err(|e| io_err(path, e))?;
    let mut map = OPEN.get().lock();
    if let Some(shared) = map.get(&canonical).and_then(Weak::upgrade) {
        return Ok(shared);
    }
    let lock_path = canonical.join("sessile.lock");
    let mut lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_err(&lock_path, e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(Error::Locked {
                holder: lock_holder(&lock_path),
                path: canonical,
            })
        }
        Err(TryLockError::Error(e)) => return Err(io_err(&lock_path, e)),
    }
    // The holder's pid, so that the next process refused can name it. The
    // lock is advisory on the open file, not on its contents.
    lock.set_len(0)
        .and_then(|()| writeln!(lock, "{}", std::process::id()))
        .map_err(|e| io_err(&lock_path, e))?;
    let compression = match (opts.compression, created_with_compression(&canonical)) {
        (Some(wanted), Some(had)) if wanted != had => {
            return Err(Error::InvalidConfig(format!(
                "the database at {} was created {} compression, and compression cannot \
                 change once a database exists (leave the option unset to follow the \
                 database, or move the sessions with `sessile export` and `sessile import`)",
                canonical.display(),
                if had { "with" } else { "without" }
            )))
        }
        (Some(wanted), _) => wanted,
        (None, had) => had.unwrap_or(false),
    };
    let config = sled::Config::new()
        .path(&canonical)
        .cache_capacity(opts.cache_capacity)
        .flush_every_ms(opts.flush_every_ms)
        .use_compression(compression);
    // We hold `sessile.lock`, so no other process has the directory. If
    // sled still reports its own lock busy, it is this process's previous
    // handle: sled's background threads let go of the file shortly after
    // the last `Db` is dropped. Wait for that, within a bound.
    let mut waited = Duration::ZERO;
    let db = loop {
        match config.open() {
            Ok(db) => break db,
            Err(sled::Error::Io(ref io)) if io.to_string().contains("could not acquire lock") => {
                if waited >= RELEASE_WAIT {
                    return Err(Error::Locked {
                        holder: Some(std::process::id()),
                        path: canonical,
                    });
                }
                std::thread::sleep(RELEASE_POLL);
                waited += RELEASE_POLL;
            }
            Err(e) => return Err(Error::Storage(e)),
        }
    };
    let shared = Arc::new(SharedDb {
        db,
        path: canonical.clone(),
        locks: KeyLocks::new(),
        generation: crate::ffi::fork::generation(),
        _lock: lock,
    });
    map.retain(|_, w| w.strong_count() > 0);
    map.insert(canonical, Arc::downgrade(&shared));
    Ok(shared)
}

/// The sled trees of one database.
#[derive(Debug)]
pub struct SledTrees {
    shared: Arc<SharedDb>,
    sessions: sled::Tree,
    expiry: sled::Tree,
}

impl TreeStore<SledTrees> {
    /// Opens (creating if needed) the database directory `path`. Opening a
    /// path this process already has open shares the same database (and its
    /// first options). Fails with [`Error::Locked`] when another process
    /// holds it.
    ///
    /// A missing or empty directory becomes a new database; a file, or a
    /// directory with other things in it and no database, is
    /// [`Error::NotADatabase`].
    pub fn open(path: impl AsRef<Path>, opts: &SledOptions) -> Result<SledStore> {
        Self::open_with(path.as_ref(), opts, true)
    }

    /// Opens the existing database directory `path`, as [`SledStore::open`]
    /// does, but creates nothing: anything that is not a database already
    /// (missing, empty, a file, another directory) is
    /// [`Error::NotADatabase`]. For tools that only read or clean.
    pub fn open_existing(path: impl AsRef<Path>, opts: &SledOptions) -> Result<SledStore> {
        Self::open_with(path.as_ref(), opts, false)
    }

    fn open_with(path: &Path, opts: &SledOptions, create: bool) -> Result<SledStore> {
        let shared = open_shared(path, opts, create)?;
        let sessions = shared.db.open_tree("sessions")?;
        let expiry = shared.db.open_tree("expiry")?;
        Ok(TreeStore::with_trees(SledTrees {
            shared,
            sessions,
            expiry,
        }))
    }

    /// The canonical path of the database directory.
    pub fn path(&self) -> &Path {
        &self.trees.shared.path
    }

    /// Whether two stores share one underlying sled database.
    pub fn shares_db_with(&self, other: &SledStore) -> bool {
        Arc::ptr_eq(&self.trees.shared, &other.trees.shared)
    }

    /// Bytes on disk used by the database.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.trees.shared.db.size_on_disk()?)
    }
}

impl Drop for SledTrees {
    fn drop(&mut self) {
        if self.shared.generation != crate::ffi::fork::generation() {
            // In a forked child, dropping the last handle would make sled
            // flush the parent's half-inherited log into the parent's files.
            // Leak one reference of each instead, so nothing is ever dropped.
            std::mem::forget(self.shared.clone());
            std::mem::forget(self.sessions.clone());
            std::mem::forget(self.expiry.clone());
        }
    }
}

impl SledTrees {
    /// Refuses work in a forked child (see `ffi/fork.rs`).
    fn check(&self) -> Result<()> {
        if self.shared.generation != crate::ffi::fork::generation() {
            return Err(Error::Forked {
                path: self.shared.path.clone(),
            });
        }
        Ok(())
    }
}

impl Trees for SledTrees {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>> {
        self.check()?;
        Ok(self.sessions.get(key)?)
    }

    fn insert(&self, key: &[u8], value: IVec) -> Result<()> {
        self.check()?;
        self.sessions.insert(key, value)?;
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<Option<IVec>> {
        self.check()?;
        Ok(self.sessions.remove(key)?)
    }

    fn locks(&self) -> &KeyLocks {
        &self.shared.locks
    }

    fn index_insert(&self, entry: &Entry) -> Result<()> {
        self.check()?;
        self.expiry.insert(entry, &[])?;
        Ok(())
    }

    fn index_remove(&self, entry: &[u8]) -> Result<()> {
        self.check()?;
        self.expiry.remove(entry)?;
        Ok(())
    }

    fn index_due(&self, upto_ms: i64, limit: usize) -> Result<Vec<IVec>> {
        self.check()?;
        let end = time_prefix(upto_ms.saturating_add(1));
        let mut out = Vec::new();
        for item in self.expiry.range(..&end[..]).keys().take(limit) {
            out.push(item?);
        }
        Ok(out)
    }

    fn scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(IVec, IVec)>> {
        self.check()?;
        let iter = match after {
            Some(a) => self
                .sessions
                .range::<&[u8], _>((Bound::Excluded(a), Bound::Unbounded)),
            None => self.sessions.iter(),
        };
        iter.take(limit).map(|r| r.map_err(Into::into)).collect()
    }

    fn index_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>> {
        self.check()?;
        let iter = match after {
            Some(a) => self
                .expiry
                .range::<&[u8], _>((Bound::Excluded(a), Bound::Unbounded)),
            None => self.expiry.iter(),
        };
        iter.keys()
            .take(limit)
            .map(|r| r.map_err(Into::into))
            .collect()
    }

    fn flush(&self) -> Result<()> {
        self.check()?;
        self.shared.db.flush()?;
        Ok(())
    }

    fn record_count(&self) -> Result<usize> {
        Ok(self.sessions.len())
    }

    fn index_count(&self) -> Result<usize> {
        Ok(self.expiry.len())
    }

    /// sled checks the CRC-32 of every message it reads from its log, at
    /// recovery and whenever a page comes back from disk: bytes damaged on
    /// disk never reach a load (tests/corruption.rs damages the file and
    /// shows it), so verifying the record checksum again on every load
    /// would only re-read bytes sled has already checked.
    fn checks_reads(&self) -> bool {
        true
    }
}
