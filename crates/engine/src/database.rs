//! Named collections.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use rayon::ThreadPool;

use std::path::{Path, PathBuf};

use vicinity_storage::{FolderLock, Io, StdIo};

use crate::persist::Storage;
use crate::{Collection, CollectionConfig, Error, Result};

/// The sub-folders of `dir` that hold a collection (a `config.json`).
fn list_dirs(io: &dyn Io, dir: &Path) -> Result<Vec<String>> {
    let names = io.list_dirs(dir).map_err(|source| {
        Error::Storage(vicinity_storage::StorageError::Io {
            path: dir.to_path_buf(),
            source,
        })
    })?;
    Ok(names
        .into_iter()
        .filter(|n| io.exists(&dir.join(n).join("config.json")))
        .collect())
}

/// A set of named collections and their aliases, in memory
/// ([`Database::new`]) or in a folder ([`Database::open`]), where every
/// acknowledged write survives a crash.
///
/// An alias is a second name for a collection: [`Database::collection`]
/// and [`Database::collection_exists`] resolve it. Alias names and
/// collection names share one namespace, and deleting a collection deletes
/// its aliases.
#[derive(Default)]
pub struct Database {
    /// Lock order: `collections` before `aliases`.
    pub(crate) collections: RwLock<BTreeMap<String, Arc<Collection>>>,
    /// Alias name -> collection name.
    aliases: RwLock<BTreeMap<String, String>>,
    pub(crate) pool: Option<Arc<ThreadPool>>,
    /// The folder of a durable database.
    pub(crate) root: Option<Root>,
    /// Where an in-memory database keeps its snapshots: a folder under
    /// the system's temporary directory, made at the first snapshot and
    /// removed with the database.
    pub(crate) scratch: std::sync::OnceLock<PathBuf>,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(dir) = self.scratch.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A durable database's folder.
pub(crate) struct Root {
    pub(crate) io: Arc<dyn Io>,
    pub(crate) dir: PathBuf,
    _lock: Option<FolderLock>,
}

impl Root {
    pub(crate) fn collection_dir(&self, name: &str) -> PathBuf {
        self.dir.join("collections").join(name)
    }

    fn save_aliases(&self, aliases: &BTreeMap<String, String>) -> Result<()> {
        let path = self.dir.join("aliases.json");
        let bytes =
            serde_json::to_vec_pretty(aliases).map_err(|e| Error::BadRequest(e.to_string()))?;
        self.io
            .write_atomic(&path, &bytes)
            .map_err(|source| Error::Storage(vicinity_storage::StorageError::Io { path, source }))
    }
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
            root: None,
            scratch: std::sync::OnceLock::new(),
        }
    }

    /// Opens (creating it if needed) the database in folder `dir`: every
    /// collection in it is loaded (checkpoint, then log replay). A second
    /// process opening the same folder gets [`vicinity_storage::StorageError::Locked`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir, Arc::new(StdIo), None)
    }

    /// [`open`](Self::open) with the embedder's thread pool and a file-I/O
    /// layer of its choice (tests pass a simulated disk; the folder lock is
    /// taken only on the real file system).
    pub fn open_with(
        dir: impl AsRef<Path>,
        io: Arc<dyn Io>,
        pool: Option<Arc<ThreadPool>>,
    ) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let io_err = |path: &Path, source| {
            Error::Storage(vicinity_storage::StorageError::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        io.create_dir_all(&dir.join("collections"))
            .map_err(|e| io_err(&dir, e))?;
        let lock = io.lock_folder(&dir)?;
        let root = Root {
            io: Arc::clone(&io),
            dir: dir.clone(),
            _lock: lock,
        };
        let mut collections = BTreeMap::new();
        let names = list_dirs(io.as_ref(), &dir.join("collections"))?;
        for name in names {
            let storage = Storage {
                io: Arc::clone(&io),
                dir: root.collection_dir(&name),
            };
            let c = Collection::open_in(&name, pool.clone(), storage)?;
            collections.insert(name, Arc::new(c));
        }
        let apath = dir.join("aliases.json");
        let aliases: BTreeMap<String, String> = if io.exists(&apath) {
            let data = io.read(&apath).map_err(|e| io_err(&apath, e))?;
            serde_json::from_slice(&data).map_err(|e| {
                Error::Storage(vicinity_storage::StorageError::Corrupted {
                    path: apath.clone(),
                    offset: 0,
                    reason: e.to_string(),
                })
            })?
        } else {
            BTreeMap::new()
        };
        Ok(Database {
            collections: RwLock::new(collections),
            aliases: RwLock::new(aliases),
            pool,
            root: Some(root),
            scratch: std::sync::OnceLock::new(),
        })
    }

    /// Whether the database lives in a folder.
    pub fn is_durable(&self) -> bool {
        self.root.is_some()
    }

    /// Fsyncs every collection's log (what `wait = false` writes need to
    /// survive a power loss).
    pub fn flush(&self) -> Result<()> {
        for c in self.collections.read().values() {
            c.flush()?;
        }
        Ok(())
    }

    /// Housekeeping for a long-running process (the server calls it every
    /// second): fsyncs every collection's log, and checkpoints each durable
    /// collection that logged more than `log_bytes` since its last
    /// checkpoint (or more than 1 MiB and half the checkpoint's size), so
    /// that reopening replays little, or whose segment was replaced since
    /// (vacuumed or renumbered), so that reopening reads only live rows.
    pub fn maintain(&self, log_bytes: u64) -> Result<()> {
        let collections: Vec<Arc<Collection>> = self.collections.read().values().cloned().collect();
        for c in collections {
            c.flush()?;
            if c.checkpoint_due(log_bytes) {
                c.checkpoint()?;
            }
        }
        Ok(())
    }

    /// Checkpoints every durable collection that logged anything since its
    /// last checkpoint (at shutdown, so that the next start opens at once).
    pub fn checkpoint_all(&self) -> Result<()> {
        self.maintain(0)
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
        let c = match &self.root {
            None => Collection::new(name, config, self.pool.clone())?,
            Some(root) => {
                crate::config::validate_collection_name(name)?;
                let dir = root.collection_dir(name);
                // a folder left by an interrupted create or delete
                root.io.remove_dir_all(&dir).map_err(|source| {
                    Error::Storage(vicinity_storage::StorageError::Io {
                        path: dir.clone(),
                        source,
                    })
                })?;
                let storage = Storage {
                    io: Arc::clone(&root.io),
                    dir,
                };
                Collection::create_in(name, config, self.pool.clone(), storage)?
            }
        };
        let c = Arc::new(c);
        map.insert(name.to_string(), Arc::clone(&c));
        Ok(c)
    }

    /// Adds a collection built on its own with [`Collection::new`] (in
    /// memory, with no log: a bulk load, say) under its name. A durable
    /// database writes it as the new collection folder's first checkpoint,
    /// graphs included, so that opening it later reads it back as it is.
    /// A name taken by a collection or an alias is refused.
    pub fn add_collection(&self, c: Collection) -> Result<Arc<Collection>> {
        let name = c.name().to_string();
        let mut map = self.collections.write();
        if map.contains_key(&name) || self.aliases.read().contains_key(&name) {
            return Err(Error::CollectionExists { name });
        }
        if let Some(root) = &self.root {
            let dir = root.collection_dir(&name);
            root.io.remove_dir_all(&dir).map_err(|source| {
                Error::Storage(vicinity_storage::StorageError::Io {
                    path: dir.clone(),
                    source,
                })
            })?;
            let storage = Storage {
                io: Arc::clone(&root.io),
                dir,
            };
            c.attach_storage(storage)?;
        }
        let c = Arc::new(c);
        map.insert(name, Arc::clone(&c));
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
            let mut aliases = self.aliases.write();
            aliases.retain(|_, real| real != name);
            if let Some(root) = &self.root {
                // Best effort: a folder left behind is removed by the next
                // create of that name, and is not loaded without a config.
                let _ = root.io.remove_dir_all(&root.collection_dir(name));
                let _ = root.save_aliases(&aliases);
            }
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
        let mut aliases = self.aliases.write();
        aliases.insert(alias.to_string(), collection.to_string());
        self.persist_aliases(&aliases)
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
        self.persist_aliases(&aliases)
    }

    /// Deletes an alias; the collection stays. Returns whether the alias
    /// existed (deleting an unknown alias is not an error, as in Qdrant).
    pub fn delete_alias(&self, alias: &str) -> Result<bool> {
        let mut aliases = self.aliases.write();
        let existed = aliases.remove(alias).is_some();
        if existed {
            self.persist_aliases(&aliases)?;
        }
        Ok(existed)
    }

    fn persist_aliases(&self, aliases: &BTreeMap<String, String>) -> Result<()> {
        match &self.root {
            Some(root) => root.save_aliases(aliases),
            None => Ok(()),
        }
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
    use crate::persist::SMALL_LOG;
    use crate::{Distance, ErrorKind};

    fn db_with(names: &[&str]) -> Database {
        let db = Database::new();
        for n in names {
            db.create_collection(n, CollectionConfig::single(2, Distance::Dot))
                .unwrap();
        }
        db
    }

    /// The log a maintenance pass lets grow is bounded by the checkpoint's
    /// size as well as by `log_bytes`: a small collection is checkpointed
    /// after about a MiB of log, a large one only at the cap.
    #[test]
    fn maintenance_checkpoints_when_the_log_outgrows_half_the_checkpoint() {
        use crate::{Payload, PointStruct};
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let dim = 64;
        let points = |ids: std::ops::Range<u64>| -> Vec<PointStruct> {
            ids.map(|i| PointStruct::new(i, vec![i as f32; dim], Payload::new()))
                .collect()
        };
        let small = db
            .create_collection("small", CollectionConfig::single(dim, Distance::Dot))
            .unwrap();
        let large = db
            .create_collection("large", CollectionConfig::single(dim, Distance::Dot))
            .unwrap();
        small.upsert(points(0..10)).unwrap();
        large.upsert(points(0..40_000)).unwrap();
        db.checkpoint_all().unwrap();
        assert!(large.checkpoint_bytes() > 8 * SMALL_LOG);
        // the same 2 MiB or so of log on both
        for round in 0..8 {
            let ids = round * 1_000..(round + 1) * 1_000;
            small.upsert(points(ids.clone())).unwrap();
            large.upsert(points(ids)).unwrap();
        }
        let logged = small.log_bytes_since_checkpoint();
        assert!(logged > 2 * SMALL_LOG && large.log_bytes_since_checkpoint() == logged);
        db.maintain(u64::MAX).unwrap();
        assert_eq!(small.log_bytes_since_checkpoint(), 0, "small: checkpointed");
        assert_eq!(large.log_bytes_since_checkpoint(), logged, "large: not yet");
        db.maintain(logged - 1).unwrap();
        assert_eq!(large.log_bytes_since_checkpoint(), 0, "large: at the cap");
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
        assert!(db.delete_alias("y").unwrap());
        assert!(!db.delete_alias("y").unwrap());
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
