//! The durable store: two sled trees in one database directory.
//!
//! sled allows one open handle per directory, even within one process, and
//! one process per directory. So every `SledStore` for a path shares one
//! [`sled::Db`], found through a process-wide registry keyed by the
//! canonical path; another process holding the directory is reported as
//! [`OpenError::Locked`] before sled is asked.
//!
//! After a write to its log fails (a full disk), sled writes nothing more
//! until its handle is dropped. So the shared database owns sled's handle
//! and trees in one place, and replaces them with a freshly opened handle
//! once there is room again (`SharedDb::recover`): every store and session
//! on the path goes on working without a restart.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use sled::IVec;

use super::trees::{time_prefix, tree_store, Entry, KeyLocks, StorageFailures, TreeStore, Trees};
use crate::error::{ConfigError, Error, OpenError, Result, StorageError};
use crate::owner::OwnerKey;

type OpenResult<T> = std::result::Result<T, OpenError>;
use crate::sys::fork::ForkLocal;

tree_store!(
    /// The durable store (the default): sled trees `sessions` and `expiry`.
    SledStore,
    SledTrees
);

/// Settings for opening a sled database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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

impl Default for SledOptions {
    /// The engine's defaults: a 256 MiB cache, a background flush every
    /// 500 ms, compression as the database was created.
    fn default() -> SledOptions {
        SledOptions {
            cache_capacity: crate::config::DEFAULT_CACHE,
            flush_every_ms: Some(500),
            compression: None,
        }
    }
}

impl SledOptions {
    /// With [`SledOptions::cache_capacity`] set to `bytes`.
    pub fn cache_capacity(mut self, bytes: u64) -> SledOptions {
        self.cache_capacity = bytes;
        self
    }

    /// With [`SledOptions::flush_every_ms`] set to `every_ms`.
    pub fn flush_every_ms(mut self, every_ms: Option<u64>) -> SledOptions {
        self.flush_every_ms = every_ms;
        self
    }

    /// With [`SledOptions::compression`] set to `compression`.
    pub fn compression(mut self, compression: Option<bool>) -> SledOptions {
        self.compression = compression;
        self
    }
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
    /// sled's handle and trees. `None` only after a failed reopen (see
    /// [`SharedDb::recover`]); every call then fails until one succeeds.
    handle: RwLock<Option<Handle>>,
    path: PathBuf,
    opts: SledOptions,
    /// Whether the database was created with compression (fixed at open).
    compression: bool,
    locks: KeyLocks,
    /// The owner key the owner index is kept by, as `meta` has it.
    owner_key: RwLock<Option<Arc<OwnerKey>>>,
    /// The fork generation this process had when it opened the database.
    generation: u64,
    /// sled reported an I/O error: after one, sled writes nothing more
    /// (its sticky "global error") until the handle is reopened.
    broken: AtomicBool,
    /// When a reopen was last tried; held while one is under way.
    last_reopen: Mutex<Option<Instant>>,
    failures: AtomicU64,
    /// Of those failures, the ones that came while saves acknowledged
    /// since the last flush were not known to be on disk (they are lost
    /// when the handle is reopened).
    losing_failures: AtomicU64,
    /// A record was written (a save or delete acknowledged) since the last
    /// flush that returned.
    unflushed: AtomicBool,
    recoveries: AtomicU64,
    /// `sessile.lock` in the directory, held (and so locked) for as long as
    /// the database is open. Its link count tells whether the directory
    /// was deleted under us.
    lock_file: File,
}

/// A sled database and its two trees. Everything that reaches sled goes
/// through one of these, so that dropping it closes the database.
#[derive(Debug)]
struct Handle {
    db: sled::Db,
    sessions: sled::Tree,
    expiry: sled::Tree,
    /// The owner index: (owner, session key) entries (`owner.rs`).
    owners: sled::Tree,
    /// Settings the database keeps about itself: the owner key it indexes
    /// by, under `owner_key`.
    meta: sled::Tree,
}

/// The `meta` entry naming the owner key the owner index is kept by.
const META_OWNER_KEY: &[u8] = b"owner_key";

/// How long `open` waits for this process's previous handle on a path to be
/// released (by sled's background threads, or by a child forked meanwhile
/// that has not exec'd yet), and how often it looks.
const RELEASE_WAIT: Duration = Duration::from_secs(5);
const RELEASE_POLL: Duration = Duration::from_millis(2);

/// After a storage failure, the least free space in the file system before
/// the database is reopened (two of sled's 512 KiB log segments), and the
/// least time between two reopens (a reopen reads the whole log).
const REOPEN_MIN_FREE: u64 = 1 << 20;
const REOPEN_BACKOFF: Duration = Duration::from_secs(1);

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
    open_io_err(path, source).into()
}

fn open_io_err(path: &Path, source: std::io::Error) -> OpenError {
    OpenError::Io {
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
fn check_is_database(path: &Path, create: bool) -> OpenResult<()> {
    let not = |found| OpenError::NotADatabase {
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
        Err(e) => return Err(open_io_err(path, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        names.push(entry.map_err(|e| open_io_err(path, e))?.file_name());
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

fn open_shared(path: &Path, opts: &SledOptions, create: bool) -> OpenResult<Arc<SharedDb>> {
    check_is_database(path, create)?;
    std::fs::create_dir_all(path).map_err(|e| open_io_err(path, e))?;
    let canonical = path.canonicalize().map_err(|e| open_io_err(path, e))?;
    // Declared before the registry's guard, so dropped after it: dropping
    // the last handle of a database takes the registry's lock itself.
    let _stale: Option<Arc<SharedDb>>;
    let mut map = OPEN.get().lock();
    if let Some(shared) = map.get(&canonical).and_then(Weak::upgrade) {
        // Not one whose directory was deleted (and perhaps made again, by
        // `create_dir_all` above): its data is gone from the path. (A forked
        // child starts with an empty registry: `OPEN` is a `ForkLocal`.)
        if shared.check_linked().is_ok() {
            return Ok(shared);
        }
        _stale = Some(shared);
    }
    let lock_path = canonical.join("sessile.lock");
    let mut lock_file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| open_io_err(&lock_path, e))?;
    // The lock is on the open file, and a child this process forks shares
    // its files until it execs (or exits): a `Command` spawned by any
    // thread can hold a lock this process just let go of, for a moment. So
    // when the holder named in the file is this very process, which has no
    // live handle on the path (the registry above would have it), wait for
    // that, within the same bound as for sled's own lock below.
    let mut waited = Duration::ZERO;
    loop {
        match lock_file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let holder = lock_holder(&lock_path);
                if holder != Some(std::process::id()) || waited >= RELEASE_WAIT {
                    return Err(OpenError::Locked {
                        holder,
                        path: canonical,
                    });
                }
                std::thread::sleep(RELEASE_POLL);
                waited += RELEASE_POLL;
            }
            Err(TryLockError::Error(e)) => return Err(open_io_err(&lock_path, e)),
        }
    }
    // The holder's pid, so that the next process refused can name it. The
    // lock is advisory on the open file, not on its contents.
    lock_file
        .set_len(0)
        .and_then(|()| writeln!(lock_file, "{}", std::process::id()))
        .map_err(|e| open_io_err(&lock_path, e))?;
    let compression = match (opts.compression, created_with_compression(&canonical)) {
        (Some(wanted), Some(had)) if wanted != had => {
            return Err(OpenError::InvalidConfig(ConfigError::Compression {
                path: canonical,
                created_with: had,
            }))
        }
        (Some(wanted), _) => wanted,
        (None, had) => had.unwrap_or(false),
    };
    let handle = open_handle(&canonical, opts, compression)?;
    let owner_key = stored_owner_key(&handle)?;
    let shared = Arc::new(SharedDb {
        owner_key: RwLock::new(owner_key),
        handle: RwLock::new(Some(handle)),
        path: canonical.clone(),
        opts: *opts,
        compression,
        locks: KeyLocks::new(),
        generation: crate::sys::fork::generation(),
        broken: AtomicBool::new(false),
        last_reopen: Mutex::new(None),
        failures: AtomicU64::new(0),
        losing_failures: AtomicU64::new(0),
        unflushed: AtomicBool::new(false),
        recoveries: AtomicU64::new(0),
        lock_file,
    });
    map.retain(|_, w| w.strong_count() > 0);
    map.insert(canonical, Arc::downgrade(&shared));
    Ok(shared)
}

/// Opens sled on `path` (whose `sessile.lock` the caller holds) and its two
/// trees.
fn open_handle(path: &Path, opts: &SledOptions, compression: bool) -> OpenResult<Handle> {
    let config = sled::Config::new()
        .path(path)
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
                    return Err(OpenError::Locked {
                        holder: Some(std::process::id()),
                        path: path.to_path_buf(),
                    });
                }
                std::thread::sleep(RELEASE_POLL);
                waited += RELEASE_POLL;
            }
            Err(e) => return Err(OpenError::Storage(StorageError::new(e))),
        }
    };
    let sessions = db
        .open_tree("sessions")
        .map_err(|e| OpenError::Storage(StorageError::new(e)))?;
    let expiry = db
        .open_tree("expiry")
        .map_err(|e| OpenError::Storage(StorageError::new(e)))?;
    let owners = db
        .open_tree("owners")
        .map_err(|e| OpenError::Storage(StorageError::new(e)))?;
    let meta = db
        .open_tree("meta")
        .map_err(|e| OpenError::Storage(StorageError::new(e)))?;
    Ok(Handle {
        db,
        sessions,
        expiry,
        owners,
        meta,
    })
}

/// The owner key the database's owner index is kept by. One that no
/// longer parses (written by a later version) is a storage error.
fn stored_owner_key(handle: &Handle) -> OpenResult<Option<Arc<OwnerKey>>> {
    let storage = |e| OpenError::Storage(StorageError::new(e));
    let Some(raw) = handle.meta.get(META_OWNER_KEY).map_err(storage)? else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&raw).map_err(|_| ConfigError::OwnerKey(format!("{raw:?}")))?;
    Ok(Some(Arc::new(OwnerKey::parse(text)?)))
}

/// Whether the file system holding `path` has at least `bytes` free for
/// an unprivileged writer (`true` where it cannot be told).
fn has_free(path: &Path, bytes: u64) -> bool {
    crate::sys::disk::free_bytes(path).is_none_or(|free| free >= bytes)
}

impl SharedDb {
    /// Runs the read `f` on sled's handle.
    fn with<T>(&self, f: impl FnOnce(&Handle) -> sled::Result<T>) -> Result<T> {
        let guard = self.handle.read();
        let Some(handle) = guard.as_ref() else {
            return Err(self.unavailable());
        };
        f(handle).map_err(Error::storage)
    }

    /// Runs the write (or flush) `f` on sled's handle, noting an I/O error
    /// as the failure it is: once a write to its log fails, sled writes
    /// nothing more. (Reads are not noted: a read's I/O error leaves sled
    /// able to write, and reopening would cost a recovery for nothing.)
    fn write<T>(&self, f: impl FnOnce(&Handle) -> sled::Result<T>) -> Result<T> {
        let guard = self.handle.read();
        let Some(handle) = guard.as_ref() else {
            return Err(self.unavailable());
        };
        f(handle).map_err(|e| {
            if let sled::Error::Io(ref io) = e {
                self.note_failure(io);
            }
            Error::storage(e)
        })
    }

    /// Notes a write of the sessions tree: the one that acknowledges a
    /// save or a delete (index entries are written before and removed after
    /// it, and lose nothing a caller was told of).
    fn note_record_written(&self) {
        if !self.unflushed.load(Relaxed) {
            self.unflushed.store(true, SeqCst);
        }
    }

    /// Flushes sled's handle. A failure here is the caller's to report;
    /// what this flush was to write stays counted as unflushed.
    fn flush(&self) -> Result<()> {
        let had = self.unflushed.swap(false, SeqCst);
        let guard = self.handle.read();
        let Some(handle) = guard.as_ref() else {
            self.unflushed.fetch_or(had, SeqCst);
            return Err(self.unavailable());
        };
        handle.db.flush().map(|_| ()).map_err(|e| {
            if let sled::Error::Io(ref io) = e {
                self.note_failure(io);
            }
            self.unflushed.fetch_or(had, SeqCst);
            Error::storage(e)
        })
    }

    fn unavailable(&self) -> Error {
        io_err(
            &self.path,
            std::io::Error::other(
                "the database could not be reopened after a storage failure; \
                 the next call tries again",
            ),
        )
    }

    /// Counts and logs a storage failure once, not once per failing call.
    #[cold]
    fn note_failure(&self, io: &std::io::Error) {
        if !self.broken.swap(true, SeqCst) {
            self.failures.fetch_add(1, Relaxed);
            if self.unflushed.load(SeqCst) {
                self.losing_failures.fetch_add(1, Relaxed);
            }
            log::error!(
                "sessile: the database {} stopped accepting writes: {io}; \
                 every write fails until there is room again, then it is reopened \
                 (saves not yet flushed when it failed are lost, as in a crash)",
                self.path.display()
            );
        }
    }

    /// An I/O error naming the path when the database directory was
    /// deleted while open (its lock file has no links left): sled would go
    /// on writing into files nothing can open again.
    fn check_linked(&self) -> Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = self
                .lock_file
                .metadata()
                .map_err(|e| io_err(&self.path, e))?;
            if meta.nlink() == 0 {
                return Err(io_err(
                    &self.path,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the database directory was deleted while open; \
                         nothing written to it can be read again",
                    ),
                ));
            }
        }
        Ok(())
    }

    /// After a storage failure, reopens sled on the same directory once
    /// the file system has room again. In place: stores and sessions keep
    /// their `Arc<SharedDb>`. Safe with respect to work in flight: every
    /// key stripe is held (no save is half done: an index entry written by
    /// the old handle and its record by the new one would break the
    /// invariants of trees.rs), and the handle's write lock (no reader is
    /// inside sled). The new handle recovers what sled had made durable,
    /// as after a crash: every flush acknowledged before the failure, and
    /// a prefix of the rest (sled's log ends at the write that failed).
    fn recover(&self) {
        if !self.broken.load(Relaxed) {
            return;
        }
        self.recover_slow();
    }

    #[cold]
    fn recover_slow(&self) {
        if self.generation != crate::sys::fork::generation() {
            // A forked child must not drop the parent's sled handle (see
            // `SledTrees::drop`); its calls fail with `Error::Forked`.
            return;
        }
        // Another thread is at it: this call waits for it on the locks.
        let Some(mut last) = self.last_reopen.try_lock() else {
            return;
        };
        if !self.broken.load(SeqCst)
            || last.is_some_and(|t| t.elapsed() < REOPEN_BACKOFF)
            || !has_free(&self.path, REOPEN_MIN_FREE)
            || self.check_linked().is_err()
        {
            return;
        }
        let started = Instant::now();
        *last = Some(started);
        let stripes = self.locks.lock_every_stripe();
        let mut handle = self.handle.write();
        // sled allows one handle per directory: the old one goes first.
        // After a failed log write it can write nothing more; after a
        // failure that left sled able to write (a blob file that could not
        // be written), its Drop flushes what it holds, as a close does.
        *handle = None;
        match open_handle(&self.path, &self.opts, self.compression) {
            Ok(h) => {
                *handle = Some(h);
                self.broken.store(false, SeqCst);
                self.recoveries.fetch_add(1, Relaxed);
                log::warn!(
                    "sessile: the database {} was reopened after a storage failure \
                     ({} ms, writes held meanwhile)",
                    self.path.display(),
                    started.elapsed().as_millis()
                );
            }
            Err(e) => log::error!(
                "sessile: reopening the database {} after a storage failure failed: {e}",
                self.path.display()
            ),
        }
        drop(handle);
        drop(stripes);
    }
}

/// The sled trees of one database.
#[derive(Debug)]
pub struct SledTrees {
    shared: Arc<SharedDb>,
}

impl SledStore {
    /// Opens (creating if needed) the database directory `path`. Opening a
    /// path this process already has open shares the same database (and its
    /// first options), unless that directory was deleted meanwhile: then
    /// a new database is made there. Fails with [`OpenError::Locked`] when
    /// another process holds it.
    ///
    /// A missing or empty directory becomes a new database; a file, or a
    /// directory with other things in it and no database, is
    /// [`OpenError::NotADatabase`].
    pub fn open(path: impl AsRef<Path>, opts: &SledOptions) -> OpenResult<SledStore> {
        Self::open_with(path.as_ref(), opts, true)
    }

    /// Opens the existing database directory `path`, as [`SledStore::open`]
    /// does, but creates nothing: anything that is not a database already
    /// (missing, empty, a file, another directory) is
    /// [`OpenError::NotADatabase`]. For tools that only read or clean.
    pub fn open_existing(path: impl AsRef<Path>, opts: &SledOptions) -> OpenResult<SledStore> {
        Self::open_with(path.as_ref(), opts, false)
    }

    fn open_with(path: &Path, opts: &SledOptions, create: bool) -> OpenResult<SledStore> {
        let shared = open_shared(path, opts, create)?;
        Ok(SledStore(TreeStore::with_trees(SledTrees { shared })))
    }

    /// The canonical path of the database directory.
    pub fn path(&self) -> &Path {
        &self.0.trees.shared.path
    }

    /// Whether two stores share one underlying sled database.
    pub fn shares_db_with(&self, other: &SledStore) -> bool {
        Arc::ptr_eq(&self.0.trees.shared, &other.0.trees.shared)
    }

    /// Bytes on disk used by the database.
    pub fn size_on_disk(&self) -> Result<u64> {
        self.0.trees.shared.with(|h| h.db.size_on_disk())
    }
}

impl Drop for SledTrees {
    fn drop(&mut self) {
        if self.shared.generation != crate::sys::fork::generation() {
            // In a forked child, dropping the last handle would make sled
            // flush the parent's half-inherited log into the parent's files.
            // Leak one reference instead, so nothing is ever dropped.
            std::mem::forget(self.shared.clone());
        }
    }
}

impl SledTrees {
    /// Refuses work in a forked child (see `ffi/fork.rs`).
    fn check(&self) -> Result<()> {
        if self.shared.generation != crate::sys::fork::generation() {
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
        self.shared.with(|h| h.sessions.get(key))
    }

    fn insert(&self, key: &[u8], value: IVec) -> Result<()> {
        self.check()?;
        self.shared.write(|h| h.sessions.insert(key, value))?;
        self.shared.note_record_written();
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<Option<IVec>> {
        self.check()?;
        let removed = self.shared.write(|h| h.sessions.remove(key))?;
        self.shared.note_record_written();
        Ok(removed)
    }

    fn locks(&self) -> &KeyLocks {
        &self.shared.locks
    }

    fn index_insert(&self, entry: &Entry) -> Result<()> {
        self.check()?;
        self.shared.write(|h| h.expiry.insert(entry, &[]))?;
        Ok(())
    }

    fn index_remove(&self, entry: &[u8]) -> Result<()> {
        self.check()?;
        self.shared.write(|h| h.expiry.remove(entry))?;
        Ok(())
    }

    fn index_due(&self, upto_ms: i64, limit: usize) -> Result<Vec<IVec>> {
        self.check()?;
        let end = time_prefix(upto_ms.saturating_add(1));
        self.shared
            .with(|h| h.expiry.range(..&end[..]).keys().take(limit).collect())
    }

    fn scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(IVec, IVec)>> {
        self.check()?;
        self.shared.with(|h| {
            let iter = match after {
                Some(a) => h
                    .sessions
                    .range::<&[u8], _>((Bound::Excluded(a), Bound::Unbounded)),
                None => h.sessions.iter(),
            };
            iter.take(limit).collect()
        })
    }

    fn index_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>> {
        self.check()?;
        self.shared.with(|h| {
            let iter = match after {
                Some(a) => h
                    .expiry
                    .range::<&[u8], _>((Bound::Excluded(a), Bound::Unbounded)),
                None => h.expiry.iter(),
            };
            iter.keys().take(limit).collect()
        })
    }

    fn owner_insert(&self, entry: &[u8]) -> Result<()> {
        self.check()?;
        self.shared.write(|h| h.owners.insert(entry, &[]))?;
        Ok(())
    }

    fn owner_remove(&self, entry: &[u8]) -> Result<()> {
        self.check()?;
        self.shared.write(|h| h.owners.remove(entry))?;
        Ok(())
    }

    fn owner_entries(&self, prefix: &[u8]) -> Result<Vec<IVec>> {
        self.check()?;
        self.shared
            .with(|h| h.owners.scan_prefix(prefix).keys().collect())
    }

    fn owner_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>> {
        self.check()?;
        self.shared.with(|h| {
            let iter = match after {
                Some(a) => h
                    .owners
                    .range::<&[u8], _>((Bound::Excluded(a), Bound::Unbounded)),
                None => h.owners.iter(),
            };
            iter.keys().take(limit).collect()
        })
    }

    fn owner_contains(&self, entry: &[u8]) -> Result<bool> {
        self.check()?;
        self.shared.with(|h| h.owners.contains_key(entry))
    }

    fn owner_count(&self) -> Result<usize> {
        self.check()?;
        self.shared.with(|h| Ok(h.owners.len()))
    }

    fn owner_key(&self) -> &RwLock<Option<Arc<OwnerKey>>> {
        &self.shared.owner_key
    }

    fn clear_owner_index(&self) -> Result<()> {
        self.check()?;
        self.shared.write(|h| {
            h.meta.remove(META_OWNER_KEY)?;
            h.owners.clear()
        })
    }

    fn remember_owner_key(&self, key: &OwnerKey) -> Result<()> {
        self.check()?;
        self.shared
            .write(|h| h.meta.insert(META_OWNER_KEY, key.as_str().as_bytes()))?;
        Ok(())
    }

    /// Also refuses a database whose directory was deleted: a flush there
    /// would report success for writes no one can read again. (One fstat,
    /// against the fsync a flush costs; saves that do not flush skip it.)
    fn flush(&self) -> Result<()> {
        self.check()?;
        self.shared.check_linked()?;
        self.shared.flush()
    }

    fn record_count(&self) -> Result<usize> {
        self.check()?;
        self.shared.with(|h| Ok(h.sessions.len()))
    }

    fn index_count(&self) -> Result<usize> {
        self.check()?;
        self.shared.with(|h| Ok(h.expiry.len()))
    }

    fn recover(&self) {
        self.shared.recover();
    }

    fn failures(&self) -> StorageFailures {
        StorageFailures {
            failures: self.shared.failures.load(Relaxed),
            losing: self.shared.losing_failures.load(Relaxed),
            recoveries: self.shared.recoveries.load(Relaxed),
        }
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
