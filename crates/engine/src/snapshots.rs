//! Snapshots: of one collection (a file holding its configuration and
//! every point as of one moment) and of the whole database ("full":
//! a tar archive of every collection's snapshot and the aliases).
//!
//! ```text
//! <db>/snapshots/<collection>/<collection>-<seq>-<ms>.snapshot
//! <db>/snapshots/full-snapshot-<ms>.snapshot   (tar)
//!     config.json          {"format": .., "collections": {name: file}, "aliases": {alias: name}}
//!     <collection>.snapshot
//! ```
//!
//! A full snapshot is restored as Qdrant restores one, at start-up
//! (`vicinity serve --storage-snapshot FILE`): every collection in it is
//! recovered and its aliases added; a collection that exists already is
//! refused unless forced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vicinity_storage::Io;

use crate::persist::{SnapshotDescription, Storage, corrupt, io_err};
use crate::{Collection, Error, Result};

/// The prefix of a full snapshot's file name.
const FULL_PREFIX: &str = "full-snapshot-";
/// The `format` field of a full snapshot's `config.json`.
const FULL_FORMAT: &str = "vicinity-full-snapshot";
/// The full-snapshot layout version this build writes and reads.
pub const FULL_SNAPSHOT_VERSION: u32 = 1;

/// `config.json` inside a full snapshot.
#[derive(Debug, Serialize, Deserialize)]
struct FullManifest {
    format: String,
    version: u32,
    /// Collection name -> its entry in the archive.
    collections: BTreeMap<String, String>,
    /// Alias -> collection name.
    aliases: BTreeMap<String, String>,
}

fn millis_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

impl crate::Database {
    /// The I/O layer and folder that hold snapshots: `<db>/snapshots`, or
    /// for an in-memory database a temporary folder of its own (so that
    /// snapshots work there as in Qdrant, for as long as it lives).
    pub(crate) fn snapshots_root(&self) -> (Arc<dyn Io>, PathBuf) {
        match &self.root {
            Some(root) => (Arc::clone(&root.io), root.dir.join("snapshots")),
            None => {
                let dir = self.scratch.get_or_init(|| {
                    std::env::temp_dir()
                        .join(format!("vicinity-snapshots-{}", uuid::Uuid::new_v4()))
                });
                (Arc::new(vicinity_storage::StdIo), dir.clone())
            }
        }
    }

    fn snapshot_dir(&self, collection: &str) -> Result<(Arc<dyn Io>, PathBuf)> {
        let (io, dir) = self.snapshots_root();
        Ok((io, dir.join(collection)))
    }

    /// Takes a snapshot of a collection into `<db>/snapshots/<collection>/`.
    pub fn create_snapshot(&self, collection: &str) -> Result<SnapshotDescription> {
        let c = self.collection(collection)?;
        let (io, dir) = self.snapshot_dir(c.name())?;
        let (bytes, seq) = c.snapshot_bytes()?;
        io.create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let name = format!("{}-{seq}-{stamp}.snapshot", c.name());
        let path = dir.join(&name);
        io.write_atomic(&path, &bytes)
            .map_err(|e| io_err(&path, e))?;
        Ok(SnapshotDescription {
            name,
            size: bytes.len() as u64,
            seq,
        })
    }

    /// The snapshots of a collection, oldest first.
    pub fn list_snapshots(&self, collection: &str) -> Result<Vec<SnapshotDescription>> {
        let c = self.collection(collection)?;
        let (io, dir) = self.snapshot_dir(c.name())?;
        if !io.exists(&dir) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for p in io.list(&dir).map_err(|e| io_err(&dir, e))? {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".snapshot") {
                continue;
            }
            let seq = name
                .trim_end_matches(".snapshot")
                .rsplit('-')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let size = io
                .read(&p)
                .map(|b| b.len() as u64)
                .map_err(|e| io_err(&p, e))?;
            out.push(SnapshotDescription {
                name: name.to_string(),
                size,
                seq,
            });
        }
        out.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.name.cmp(&b.name)));
        Ok(out)
    }

    /// The bytes of a snapshot (to download it); an unknown one is
    /// `NotFound`.
    pub fn read_snapshot(&self, collection: &str, name: &str) -> Result<Vec<u8>> {
        let (io, path) = self.existing_snapshot(collection, name)?;
        io.read(&path).map_err(|e| io_err(&path, e))
    }

    /// The path of snapshot `name` of `collection`, if it is a plain file
    /// name that exists; else `NotFound`.
    fn existing_snapshot(&self, collection: &str, name: &str) -> Result<(Arc<dyn Io>, PathBuf)> {
        let c = self.collection(collection)?;
        let (io, dir) = self.snapshot_dir(c.name())?;
        let path = dir.join(name);
        if name.contains('/') || name.contains("..") || !io.exists(&path) {
            return Err(Error::SnapshotNotFound {
                name: name.to_string(),
            });
        }
        Ok((io, path))
    }

    /// Deletes a snapshot; an unknown one is `NotFound`.
    pub fn delete_snapshot(&self, collection: &str, name: &str) -> Result<()> {
        let (io, path) = self.existing_snapshot(collection, name)?;
        io.remove(&path).map_err(|e| io_err(&path, e))
    }

    /// Restores collection `name` from a snapshot file (replacing a
    /// collection of that name): its configuration and points as of the
    /// moment the snapshot was taken. The file is checked whole first.
    pub fn restore_snapshot(&self, name: &str, snapshot: &Path) -> Result<Arc<Collection>> {
        crate::config::validate_collection_name(name)?;
        let data = self.read_outside(snapshot)?;
        let (restored, _) = Collection::from_snapshot(name, snapshot, &data, self.pool.clone())?;
        self.install(name, restored)
    }

    /// Reads a file given by the user (through the database's I/O layer
    /// when it has one, so that simulated disks see it too).
    fn read_outside(&self, path: &Path) -> Result<Vec<u8>> {
        match &self.root {
            Some(root) => root.io.read(path),
            None => std::fs::read(path),
        }
        .map_err(|e| io_err(path, e))
    }

    /// Puts a collection rebuilt from a snapshot under `name`, replacing
    /// one of that name; a durable database writes it as the collection
    /// folder's checkpoint.
    fn install(&self, name: &str, restored: Collection) -> Result<Arc<Collection>> {
        let c = match &self.root {
            None => restored,
            Some(root) => {
                // a durable copy: the restored state becomes the new
                // collection folder's checkpoint
                let dir = root.collection_dir(name);
                root.io.remove_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
                let storage = Storage {
                    io: Arc::clone(&root.io),
                    dir,
                };
                restored.attach_storage(storage)?;
                restored
            }
        };
        let c = Arc::new(c);
        self.collections
            .write()
            .insert(name.to_string(), Arc::clone(&c));
        Ok(c)
    }
}

impl crate::Database {
    fn root_dir(&self) -> Result<(Arc<dyn Io>, PathBuf)> {
        Ok(self.snapshots_root())
    }

    /// The path of full snapshot `name`, if it is one of ours and exists.
    fn full_path(&self, name: &str) -> Result<(Arc<dyn Io>, PathBuf)> {
        let (io, dir) = self.root_dir()?;
        let path = dir.join(name);
        let ours = name.starts_with(FULL_PREFIX)
            && name.ends_with(".snapshot")
            && !name.contains('/')
            && !name.contains("..");
        if !ours
            || !io.exists(&path)
            || io
                .list_dirs(&dir)
                .is_ok_and(|d| d.iter().any(|d| d == name))
        {
            return Err(Error::SnapshotNotFound {
                name: name.to_string(),
            });
        }
        Ok((io, path))
    }

    /// Takes a snapshot of every collection and the aliases into one file,
    /// `<db>/snapshots/full-snapshot-<ms>.snapshot` (a tar archive). Each
    /// collection is consistent in itself (as of its own moment, as in
    /// Qdrant); writes to a collection wait only while its own snapshot is
    /// taken.
    pub fn create_full_snapshot(&self) -> Result<SnapshotDescription> {
        let (io, dir) = self.root_dir()?;
        let collections: Vec<Arc<Collection>> = self.collections.read().values().cloned().collect();
        let mut manifest = FullManifest {
            format: FULL_FORMAT.into(),
            version: FULL_SNAPSHOT_VERSION,
            collections: BTreeMap::new(),
            aliases: self.list_aliases().into_iter().collect(),
        };
        let mut archive = tar::Builder::new(Vec::new());
        let mut add = |entry: &str, bytes: &[u8]| -> Result<()> {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime((millis_now() / 1000) as u64);
            header.set_entry_type(tar::EntryType::Regular);
            archive
                .append_data(&mut header, entry, bytes)
                .map_err(|e| io_err(Path::new(entry), e))
        };
        for (i, c) in collections.iter().enumerate() {
            let (bytes, _) = c.snapshot_bytes()?;
            // entry names by position: a collection name may hold characters
            // that a tar path should not
            let entry = format!("collections/{i}.snapshot");
            add(&entry, &bytes)?;
            manifest.collections.insert(c.name().to_string(), entry);
        }
        // aliases of collections deleted meanwhile are not kept
        manifest
            .aliases
            .retain(|_, c| manifest.collections.contains_key(c));
        let config =
            serde_json::to_vec_pretty(&manifest).map_err(|e| Error::BadRequest(e.to_string()))?;
        add("config.json", &config)?;
        let bytes = archive
            .into_inner()
            .map_err(|e| io_err(Path::new("full snapshot"), e))?;
        io.create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let mut stamp = millis_now();
        let (name, path) = loop {
            let name = format!("{FULL_PREFIX}{stamp}.snapshot");
            let path = dir.join(&name);
            if !io.exists(&path) {
                break (name, path);
            }
            stamp += 1;
        };
        io.write_atomic(&path, &bytes)
            .map_err(|e| io_err(&path, e))?;
        Ok(SnapshotDescription {
            name,
            size: bytes.len() as u64,
            seq: 0,
        })
    }

    /// The full snapshots, oldest first.
    pub fn list_full_snapshots(&self) -> Result<Vec<SnapshotDescription>> {
        let (io, dir) = self.root_dir()?;
        if !io.exists(&dir) {
            return Ok(Vec::new());
        }
        let subdirs = io.list_dirs(&dir).map_err(|e| io_err(&dir, e))?;
        let mut out = Vec::new();
        for p in io.list(&dir).map_err(|e| io_err(&dir, e))? {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.starts_with(FULL_PREFIX)
                || !name.ends_with(".snapshot")
                || subdirs.iter().any(|d| d == name)
            {
                continue;
            }
            let size = std::fs::metadata(&p)
                .map(|m| m.len())
                .or_else(|_| io.read(&p).map(|b| b.len() as u64))
                .map_err(|e| io_err(&p, e))?;
            out.push(SnapshotDescription {
                name: name.to_string(),
                size,
                seq: 0,
            });
        }
        // same-length millisecond stamps sort by time
        out.sort_by(|a, b| (a.name.len(), &a.name).cmp(&(b.name.len(), &b.name)));
        Ok(out)
    }

    /// The bytes of a full snapshot (to download it); an unknown one is
    /// `NotFound`.
    pub fn read_full_snapshot(&self, name: &str) -> Result<Vec<u8>> {
        let (io, path) = self.full_path(name)?;
        io.read(&path).map_err(|e| io_err(&path, e))
    }

    /// Deletes a full snapshot; an unknown one is `NotFound`.
    pub fn delete_full_snapshot(&self, name: &str) -> Result<()> {
        let (io, path) = self.full_path(name)?;
        io.remove(&path).map_err(|e| io_err(&path, e))
    }

    /// Restores every collection and alias in a full snapshot file. A
    /// collection of a name that exists here already is refused unless
    /// `force`, in which case it is replaced; collections that are not in
    /// the snapshot stay as they are. The whole file is read and every
    /// collection in it decoded and checked before anything here changes.
    /// Returns the names of the restored collections.
    pub fn restore_full_snapshot(&self, snapshot: &Path, force: bool) -> Result<Vec<String>> {
        let data = self.read_outside(snapshot)?;
        let bad = |reason: String| corrupt(snapshot, 0, reason);
        let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut archive = tar::Archive::new(data.as_slice());
        let iter = archive
            .entries()
            .map_err(|e| bad(format!("not a full snapshot (tar): {e}")))?;
        for entry in iter {
            let mut entry = entry.map_err(|e| bad(format!("not a full snapshot (tar): {e}")))?;
            let name = entry
                .path()
                .map_err(|e| bad(format!("an entry name: {e}")))?
                .to_string_lossy()
                .into_owned();
            let mut bytes = Vec::with_capacity(entry.size().min(data.len() as u64) as usize);
            std::io::Read::read_to_end(&mut entry, &mut bytes)
                .map_err(|e| bad(format!("entry {name}: {e}")))?;
            entries.insert(name, bytes);
        }
        let config = entries
            .get("config.json")
            .ok_or_else(|| bad("not a full snapshot: it has no config.json".into()))?;
        let manifest: FullManifest =
            serde_json::from_slice(config).map_err(|e| bad(format!("config.json: {e}")))?;
        if manifest.format != FULL_FORMAT {
            return Err(bad(format!(
                "config.json: format {:?}, expected {FULL_FORMAT:?}",
                manifest.format
            )));
        }
        if manifest.version != FULL_SNAPSHOT_VERSION {
            return Err(bad(format!(
                "full snapshot version {} (this build reads {FULL_SNAPSHOT_VERSION})",
                manifest.version
            )));
        }
        for (alias, target) in &manifest.aliases {
            if !manifest.collections.contains_key(target) {
                return Err(bad(format!(
                    "alias {alias} names {target}, which is not in the snapshot"
                )));
            }
            crate::config::validate_collection_name(alias)?;
            // an alias may not take a collection's name, here or there
            if manifest.collections.contains_key(alias)
                || self.collections.read().contains_key(alias)
            {
                return Err(Error::CollectionExists {
                    name: alias.to_string(),
                });
            }
        }
        if !force {
            for name in manifest.collections.keys() {
                if self.collection_exists(name) {
                    return Err(Error::BadRequest(format!(
                        "Collection {name} already exists. Use --force-snapshot to overwrite it."
                    )));
                }
            }
        }
        // decode everything first: a damaged entry changes nothing here
        let mut restored = Vec::new();
        for (name, entry) in &manifest.collections {
            crate::config::validate_collection_name(name)?;
            let bytes = entries
                .get(entry)
                .ok_or_else(|| bad(format!("entry {entry} (collection {name}) is missing")))?;
            let (c, _) = Collection::from_snapshot(name, snapshot, bytes, self.pool.clone())?;
            restored.push((name.clone(), c));
        }
        let names: Vec<String> = restored.iter().map(|(n, _)| n.clone()).collect();
        for (name, c) in restored {
            if force {
                // an alias of that name gives way to the collection
                self.delete_alias(&name)?;
            }
            self.install(&name, c)?;
        }
        for (alias, target) in &manifest.aliases {
            self.create_alias(target, alias)?;
        }
        Ok(names)
    }
}
