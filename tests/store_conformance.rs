//! Every store honours the same contract (tests/conformance): load never
//! returns expired records, create is insert-if-absent, saves merge deltas
//! and never resurrect, sweeping removes exactly the expired. Instantiated
//! here for the sled store and the memory store.

#[macro_use]
mod conformance;

use sessile::{MemoryStore, SledOptions, SledStore};

fn sled_options() -> SledOptions {
    SledOptions {
        cache_capacity: 8 * 1024 * 1024,
        flush_every_ms: Some(500),
    }
}

store_conformance!(sled, {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("db"), &sled_options()).unwrap();
    (Arc::new(store), Box::new(dir))
});

store_conformance!(memory, (Arc::new(MemoryStore::new()), Box::new(())));
