//! Shared test fixtures: engines on a temporary directory or in memory,
//! driven by a manual clock, with no background reaper unless asked.
#![allow(dead_code)]

pub mod owners;
#[cfg(feature = "redis")]
pub mod redis;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use std::fs::TryLockError;
use std::path::Path;
use std::time::{Duration, Instant};

use sessile::{
    Change, Config, Engine, ManualClock, MemoryStore, Record, SessionKey, SledOptions, SledStore,
    Store, StoreStats, Sweep,
};

/// One request's work: read the session, count a visit, save.
pub fn visit(engine: &Engine, key: &str) -> sessile::Result<i64> {
    let mut s = engine.session(key);
    let n = s.get::<i64>("visits")?.unwrap_or(0) + 1;
    s.insert("visits", n)?;
    s.save()?;
    Ok(n)
}

/// 2026-01-01T00:00:00Z, where every manual clock starts.
pub const T0: i64 = 1_767_225_600_000;

pub struct Fixture {
    pub engine: Engine,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
}

pub fn config(dir: &tempfile::TempDir, clock: &ManualClock) -> Config {
    Config::new(dir.path().join("db"))
        .clock(Arc::new(clock.clone()))
        .reaper_interval(None)
}

/// A sled-backed engine in a fresh temporary directory.
pub fn sled() -> Fixture {
    sled_with(|c| c)
}

pub fn sled_with(f: impl FnOnce(Config) -> Config) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let engine = Engine::open(f(config(&dir, &clock))).expect("open");
    Fixture { engine, clock, dir }
}

/// A memory-backed engine.
pub fn memory_with(f: impl FnOnce(Config) -> Config) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(T0);
    let engine = Engine::memory(f(config(&dir, &clock))).expect("config");
    Fixture { engine, clock, dir }
}

/// Saves a new session holding `pairs` and returns its key.
pub fn saved_session(engine: &Engine, pairs: &[(&str, i64)]) -> String {
    let mut s = engine.new_session();
    for (k, v) in pairs {
        s.insert(k, *v).expect("insert");
    }
    s.save().expect("save");
    s.session_key().expect("key after save").to_owned()
}

/// A store that counts every call and forwards to a memory store: proves
/// what does (and does not) reach storage. It can also delete a session
/// just before the next create: a logout in another tab landing inside a
/// key cycle.
#[derive(Debug, Default)]
pub struct CountingStore {
    pub inner: MemoryStore,
    pub calls: AtomicUsize,
    pub delete_before_next_create: std::sync::Mutex<Option<SessionKey>>,
}

impl CountingStore {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn hit(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl Store for CountingStore {
    fn load(&self, key: &SessionKey, now_ms: i64) -> sessile::Result<Option<Record>> {
        self.hit();
        self.inner.load(key, now_ms)
    }
    fn create(
        &self,
        key: &SessionKey,
        rec: Record,
        now_ms: i64,
    ) -> sessile::Result<Option<Record>> {
        self.hit();
        let victim = self.delete_before_next_create.lock().unwrap().take();
        if let Some(victim) = victim {
            self.inner.delete(&victim)?;
        }
        self.inner.create(key, rec, now_ms)
    }
    fn update(
        &self,
        key: &SessionKey,
        seen: Option<&Record>,
        now_ms: i64,
        change: &mut Change<'_>,
    ) -> sessile::Result<Record> {
        self.hit();
        self.inner.update(key, seen, now_ms, change)
    }
    fn delete(&self, key: &SessionKey) -> sessile::Result<bool> {
        self.hit();
        self.inner.delete(key)
    }
    fn sweep(&self, now_ms: i64, budget: usize) -> sessile::Result<Sweep> {
        self.hit();
        self.inner.sweep(now_ms, budget)
    }
    fn scan(&self, after: Option<&[u8]>, limit: usize) -> sessile::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.hit();
        self.inner.scan(after, limit)
    }
    fn flush(&self) -> sessile::Result<()> {
        self.hit();
        self.inner.flush()
    }
    fn len(&self) -> sessile::Result<usize> {
        self.hit();
        self.inner.len()
    }
    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }
    fn count_damaged(&self) {
        self.inner.count_damaged()
    }
}

/// The sled store on `db` (an 8 MiB cache, no background flush), for tests
/// that close the database and open it again, or hand it to the CLI.
pub fn open(db: &Path) -> SledStore {
    let opts = SledOptions::default()
        .cache_capacity(8 * 1024 * 1024)
        .flush_every_ms(None)
        .compression(None);
    SledStore::open(db, &opts).unwrap()
}

/// Runs `f` on the store opened in this process, then closes it, so that
/// another opener (the CLI, sled itself) can have the database.
pub fn with_store<R>(db: &Path, f: impl FnOnce(&SledStore) -> R) -> R {
    let store = open(db);
    let out = f(&store);
    store.flush().unwrap();
    drop(store);
    released(db);
    out
}

/// Waits until this process no longer holds the database. sled closes its
/// file (and so drops its lock) when its last background write finishes,
/// which may be a moment after the handle is dropped; an opener started
/// sooner would find the database held.
pub fn released(db: &Path) {
    let file = std::fs::File::open(db.join("db")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match file.try_lock() {
            // Unlocked again when `file` closes.
            Ok(()) => return,
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("{} is still held: {e}", db.display()),
        }
    }
}
