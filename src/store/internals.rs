//! Storage internals for tests, fuzz targets and benches (feature
//! `internals`, re-exported as `sessile::internals`): the raw trees under a
//! store (`SledStore::trees`, `MemoryStore::trees`), which bypass the
//! store's invariants (trees.rs). Not a stable API, and not for production
//! code: check and repair a store with `SledStore::check`.

pub use super::memory::MemoryTrees;
pub use super::sled::SledTrees;
pub use super::trees::{
    entry as index_entry, parse_entry as parse_index_entry, Entry, Trees, ENTRY_LEN,
};
