//! The stores the frameworks' own test suites run on in the upstream
//! harness (tests/upstream/run.sh copies this file to the harness's
//! `src/lib.rs`): each call opens a fresh sled engine in a directory of
//! its own, as an application would, with the engine's defaults (the
//! system clock, the background reaper). The directories live under
//! `$SESSILE_UPSTREAM_TMP`, which run.sh creates and removes.

use std::path::PathBuf;

use sessile::{ActixStore, Config, Engine, TowerStore};

/// A `TowerStore` on a fresh engine: what tower-sessions' tests build
/// with `MemoryStore::default()`.
pub fn tower_store() -> TowerStore {
    TowerStore::new(fresh_engine())
}

/// An `ActixStore` on a fresh engine. actix-session's suite calls its
/// store builder once per app and server worker, so the builder hands out
/// clones of one store (one engine), as its Redis stores share one server.
pub fn actix_store() -> ActixStore {
    ActixStore::new(fresh_engine())
}

fn fresh_engine() -> Engine {
    let base = std::env::var_os("SESSILE_UPSTREAM_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("engine-")
        .tempdir_in(base)
        .expect("a directory for the engine")
        // Kept: the engine outlives this call; run.sh removes them all.
        .keep();
    Engine::open(Config::new(dir.join("db"))).expect("a fresh engine")
}
