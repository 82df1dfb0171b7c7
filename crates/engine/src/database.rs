//! Named collections.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use rayon::ThreadPool;

use crate::{Collection, CollectionConfig, Error, Result};

/// A set of named collections and their aliases: in memory for now (durable
/// storage in a folder comes with the storage layer).
///
/// An alias is a second name for a collection: [`Database::collection`]
/// and [`Database::collection_exists`] resolve it. Alias names and
/// collection names share one namespace, and deleting a collection deletes
/// its aliases.
#[derive(Default)]
pub struct Database {
    /// Lock order: `collections` before `aliases`.
    collections: RwLock<BTreeMap<String, Arc<Collection>>>,
    /// Alias name -> collection name.
    aliases: RwLock<BTreeMap<String, String>>,
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
            aliases: RwLock::default(),
            pool: Some(pool),
        }
    }

    /// Creates a collection; fails if the name is taken by a collection or
    /// an alias.
    pub fn create_collection(
        &self,
        name: &str,
        config: CollectionConfig,
    ) -> Result<Arc<Collection>> {
        let mut map = self.collections.write();
        if map.contains_key(name) || self.aliases.read().contains_key(name) {
            return Err(Error::CollectionExists {
                name: name.to_string(),
            });
        }
        let c = Arc::new(Collection::new(name, config, self.pool.clone())?);
        map.insert(name.to_string(), Arc::clone(&c));
        Ok(c)
    }

    /// The collection of that name, or of the collection that alias names.
    pub fn collection(&self, name: &str) -> Result<Arc<Collection>> {
        let map = self.collections.read();
        let found = match map.get(name) {
            Some(c) => Some(c),
            None => self.aliases.read().get(name).and_then(|real| map.get(real)),
        };
        found.cloned().ok_or_else(|| Error::CollectionNotFound {
            name: name.to_string(),
        })
    }

    /// Whether a collection of that name, or an alias of that name, exists.
    pub fn collection_exists(&self, name: &str) -> bool {
        self.collections.read().contains_key(name) || self.aliases.read().contains_key(name)
    }

    /// Collection names, sorted.
    pub fn list_collections(&self) -> Vec<String> {
        self.collections.read().keys().cloned().collect()
    }

    /// Deletes a collection; returns whether it existed. Handles held
    /// elsewhere keep working on the detached collection until dropped.
    pub fn delete_collection(&self, name: &str) -> bool {
        let mut map = self.collections.write();
        let existed = map.remove(name).is_some();
        if existed {
            self.aliases.write().retain(|_, real| real != name);
        }
        existed
    }

    /// Makes `alias` a second name of `collection` (which must be a
    /// collection's own name, not an alias). An alias of that name that
    /// exists already is moved to `collection`; a collection of that name
    /// is an error.
    pub fn create_alias(&self, collection: &str, alias: &str) -> Result<()> {
        crate::config::validate_collection_name(alias)?;
        let map = self.collections.read();
        if !map.contains_key(collection) {
            return Err(Error::CollectionNotFound {
                name: collection.to_string(),
            });
        }
        if map.contains_key(alias) {
            return Err(Error::CollectionExists {
                name: alias.to_string(),
            });
        }
        self.aliases
            .write()
            .insert(alias.to_string(), collection.to_string());
        Ok(())
    }

    /// Renames an alias; an alias named `new` that exists already is
    /// replaced, a collection named `new` is an error.
    pub fn rename_alias(&self, old: &str, new: &str) -> Result<()> {
        crate::config::validate_collection_name(new)?;
        let map = self.collections.read();
        if map.contains_key(new) {
            return Err(Error::CollectionExists {
                name: new.to_string(),
            });
        }
        let mut aliases = self.aliases.write();
        let real = aliases
            .remove(old)
            .ok_or_else(|| Error::CollectionNotFound {
                name: old.to_string(),
            })?;
        aliases.insert(new.to_string(), real);
        Ok(())
    }

    /// Deletes an alias; the collection stays. Returns whether the alias
    /// existed (deleting an unknown alias is not an error, as in Qdrant).
    pub fn delete_alias(&self, alias: &str) -> bool {
        self.aliases.write().remove(alias).is_some()
    }

    /// Every alias with the collection it names, sorted by alias.
    pub fn list_aliases(&self) -> Vec<(String, String)> {
        self.aliases
            .read()
            .iter()
            .map(|(a, c)| (a.clone(), c.clone()))
            .collect()
    }

    /// The aliases of one collection, sorted; an unknown collection is an
    /// error.
    pub fn collection_aliases(&self, collection: &str) -> Result<Vec<String>> {
        let map = self.collections.read();
        if !map.contains_key(collection) {
            return Err(Error::CollectionNotFound {
                name: collection.to_string(),
            });
        }
        Ok(self
            .aliases
            .read()
            .iter()
            .filter(|(_, c)| c.as_str() == collection)
            .map(|(a, _)| a.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Distance, ErrorKind};

    fn db_with(names: &[&str]) -> Database {
        let db = Database::new();
        for n in names {
            db.create_collection(n, CollectionConfig::single(2, Distance::Dot))
                .unwrap();
        }
        db
    }

    #[test]
    fn alias_resolves_to_its_collection() {
        let db = db_with(&["a", "b"]);
        db.create_alias("a", "current").unwrap();
        assert_eq!(db.collection("current").unwrap().name(), "a");
        assert!(db.collection_exists("current"));
        // creating it again moves it
        db.create_alias("b", "current").unwrap();
        assert_eq!(db.collection("current").unwrap().name(), "b");
        assert_eq!(db.list_aliases(), vec![("current".into(), "b".into())]);
        assert_eq!(db.collection_aliases("b").unwrap(), vec!["current"]);
        assert!(db.collection_aliases("a").unwrap().is_empty());
        // collections are listed without aliases
        assert_eq!(db.list_collections(), vec!["a", "b"]);
    }

    #[test]
    fn alias_names_and_collection_names_do_not_collide() {
        let db = db_with(&["a", "b"]);
        assert_eq!(
            db.create_alias("a", "b").unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        db.create_alias("a", "x").unwrap();
        let e = db
            .create_collection("x", CollectionConfig::single(2, Distance::Dot))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            db.rename_alias("x", "b").unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            db.create_alias("nope", "y").unwrap_err().kind(),
            ErrorKind::NotFound
        );
        // an alias of an alias is refused: aliases name collections
        assert_eq!(
            db.create_alias("x", "y").unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            db.create_alias("a", "bad/name").unwrap_err().kind(),
            ErrorKind::BadInput
        );
    }

    #[test]
    fn rename_and_delete_alias() {
        let db = db_with(&["a"]);
        db.create_alias("a", "x").unwrap();
        db.rename_alias("x", "y").unwrap();
        assert!(db.collection("x").is_err());
        assert_eq!(db.collection("y").unwrap().name(), "a");
        assert_eq!(
            db.rename_alias("x", "z").unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert!(db.delete_alias("y"));
        assert!(!db.delete_alias("y"));
        assert!(db.collection("a").is_ok());
    }

    #[test]
    fn deleting_a_collection_deletes_its_aliases() {
        let db = db_with(&["a", "b"]);
        db.create_alias("a", "x").unwrap();
        db.create_alias("b", "y").unwrap();
        assert!(db.delete_collection("a"));
        assert!(!db.collection_exists("x"));
        assert_eq!(db.list_aliases(), vec![("y".into(), "b".into())]);
        // a collection may then take the freed name
        db.create_collection("x", CollectionConfig::single(2, Distance::Dot))
            .unwrap();
        // deleting by an alias name does not delete the collection
        assert!(!db.delete_collection("y"));
        assert!(db.collection_exists("b"));
    }
}
