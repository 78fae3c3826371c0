//! The in-process store: not durable, nothing shared between processes.
//! Django's locmem cache engine, with the same semantics as the sled store
//! (it runs the same algorithm), and handy in tests.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use sled::IVec;

use super::trees::{time_prefix, tree_store, Entry, KeyLocks, TreeStore, Trees};
use crate::error::Result;
use crate::owner::OwnerKey;

tree_store!(
    /// The in-memory store: the sled store's algorithm over a map and an
    /// ordered set. Nothing survives the process; for tests and for
    /// programs that keep sessions only while they run.
    MemoryStore,
    MemoryTrees
);

/// A hash map of records and an ordered set of index entries.
#[derive(Debug, Default)]
pub struct MemoryTrees {
    sessions: RwLock<HashMap<Vec<u8>, IVec>>,
    expiry: Mutex<BTreeSet<Vec<u8>>>,
    owners: Mutex<BTreeSet<Vec<u8>>>,
    owner_key: RwLock<Option<Arc<OwnerKey>>>,
    locks: KeyLocks,
}

impl MemoryStore {
    /// An empty in-memory store.
    pub fn new() -> MemoryStore {
        MemoryStore(TreeStore::with_trees(MemoryTrees::default()))
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl Trees for MemoryTrees {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>> {
        Ok(self.sessions.read().get(key).cloned())
    }

    fn insert(&self, key: &[u8], value: IVec) -> Result<()> {
        self.sessions.write().insert(key.to_vec(), value);
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<Option<IVec>> {
        Ok(self.sessions.write().remove(key))
    }

    fn locks(&self) -> &KeyLocks {
        &self.locks
    }

    fn index_insert(&self, entry: &Entry) -> Result<()> {
        self.expiry.lock().insert(entry.to_vec());
        Ok(())
    }

    fn index_remove(&self, entry: &[u8]) -> Result<()> {
        self.expiry.lock().remove(entry);
        Ok(())
    }

    fn index_due(&self, upto_ms: i64, limit: usize) -> Result<Vec<IVec>> {
        let end = time_prefix(upto_ms.saturating_add(1)).to_vec();
        Ok(self
            .expiry
            .lock()
            .range(..end)
            .take(limit)
            .map(|e| IVec::from(&e[..]))
            .collect())
    }

    fn scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<(IVec, IVec)>> {
        // The hash map has no order: sort its keys (a memory store is small).
        let map = self.sessions.read();
        let mut keys: Vec<&Vec<u8>> = map
            .keys()
            .filter(|k| after.is_none_or(|a| k.as_slice() > a))
            .collect();
        keys.sort();
        Ok(keys
            .into_iter()
            .take(limit)
            .map(|k| (IVec::from(&k[..]), map[k].clone()))
            .collect())
    }

    fn index_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>> {
        let set = self.expiry.lock();
        let iter: Box<dyn Iterator<Item = &Vec<u8>>> = match after {
            Some(a) => Box::new(set.range::<[u8], _>((Bound::Excluded(a), Bound::Unbounded))),
            None => Box::new(set.iter()),
        };
        Ok(iter.take(limit).map(|e| IVec::from(&e[..])).collect())
    }

    fn owner_insert(&self, entry: &[u8]) -> Result<()> {
        self.owners.lock().insert(entry.to_vec());
        Ok(())
    }

    fn owner_remove(&self, entry: &[u8]) -> Result<()> {
        self.owners.lock().remove(entry);
        Ok(())
    }

    fn owner_entries(&self, prefix: &[u8]) -> Result<Vec<IVec>> {
        let set = self.owners.lock();
        Ok(set
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|e| e.starts_with(prefix))
            .map(|e| IVec::from(&e[..]))
            .collect())
    }

    fn owner_scan(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<IVec>> {
        let set = self.owners.lock();
        let iter: Box<dyn Iterator<Item = &Vec<u8>>> = match after {
            Some(a) => Box::new(set.range::<[u8], _>((Bound::Excluded(a), Bound::Unbounded))),
            None => Box::new(set.iter()),
        };
        Ok(iter.take(limit).map(|e| IVec::from(&e[..])).collect())
    }

    fn owner_contains(&self, entry: &[u8]) -> Result<bool> {
        Ok(self.owners.lock().contains(entry))
    }

    fn owner_count(&self) -> Result<usize> {
        Ok(self.owners.lock().len())
    }

    fn owner_key(&self) -> &RwLock<Option<Arc<OwnerKey>>> {
        &self.owner_key
    }

    fn clear_owner_index(&self) -> Result<()> {
        self.owners.lock().clear();
        Ok(())
    }

    fn remember_owner_key(&self, _key: &OwnerKey) -> Result<()> {
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn record_count(&self) -> Result<usize> {
        Ok(self.sessions.read().len())
    }

    fn index_count(&self) -> Result<usize> {
        Ok(self.expiry.lock().len())
    }
}
