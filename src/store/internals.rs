//! Storage internals for tests, fuzz targets and benches (feature
//! `internals`, re-exported as `sessile::internals`): the raw trees under a
//! `TreeStore`, which bypass the store's invariants (trees.rs). Not a
//! stable API, and not for production code: check and repair a store with
//! `TreeStore::check`.

pub use super::memory::MemoryTrees;
pub use super::sled::SledTrees;
pub use super::trees::{
    entry as index_entry, parse_entry as parse_index_entry, Entry, Trees, ENTRY_LEN,
};

use super::trees::TreeStore;

impl<T: Trees> TreeStore<T> {
    /// The trees under this store (feature `internals`): to plant damage
    /// in a test, or to measure the storage floor in a bench.
    #[doc(hidden)]
    pub fn trees(&self) -> &T {
        &self.trees
    }
}
