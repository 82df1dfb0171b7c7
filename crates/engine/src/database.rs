//! Named collections.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use rayon::ThreadPool;

use crate::{Collection, CollectionConfig, Error, Result};

/// A set of named collections: in memory for now (durable storage in a
/// folder comes with the storage layer).
#[derive(Default)]
pub struct Database {
    collections: RwLock<BTreeMap<String, Arc<Collection>>>,
    pool: Option<Arc<ThreadPool>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("collections", &self.list_collections())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// An empty in-memory database; parallel work runs on rayon's global
    /// pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty in-memory database whose collections run parallel work
    /// (graph building) on the embedder's own pool.
    pub fn with_thread_pool(pool: Arc<ThreadPool>) -> Self {
        Database {
            collections: RwLock::default(),
            pool: Some(pool),
        }
    }

    /// Creates a collection; fails if the name is taken.
    pub fn create_collection(
        &self,
        name: &str,
        config: CollectionConfig,
    ) -> Result<Arc<Collection>> {
        let mut map = self.collections.write();
        if map.contains_key(name) {
            return Err(Error::CollectionExists {
                name: name.to_string(),
            });
        }
        let c = Arc::new(Collection::new(name, config, self.pool.clone())?);
        map.insert(name.to_string(), Arc::clone(&c));
        Ok(c)
    }

    /// The collection of that name.
    pub fn collection(&self, name: &str) -> Result<Arc<Collection>> {
        self.collections
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::CollectionNotFound {
                name: name.to_string(),
            })
    }

    /// Whether a collection of that name exists.
    pub fn collection_exists(&self, name: &str) -> bool {
        self.collections.read().contains_key(name)
    }

    /// Collection names, sorted.
    pub fn list_collections(&self) -> Vec<String> {
        self.collections.read().keys().cloned().collect()
    }

    /// Deletes a collection; returns whether it existed. Handles held
    /// elsewhere keep working on the detached collection until dropped.
    pub fn delete_collection(&self, name: &str) -> bool {
        self.collections.write().remove(name).is_some()
    }
}
