//! Durable collections: a folder per collection with its configuration, a
//! write-ahead log and a checkpoint of its state.
//!
//! ```text
//! <db>/.lock                         held while the database is open
//! <db>/aliases.json                  alias -> collection
//! <db>/collections/<name>/config.json
//! <db>/collections/<name>/MANIFEST   {"format": 1, "state": "state-<seq>.vcn"}
//! <db>/collections/<name>/state-<seq>.vcn   every operation before <seq>
//! <db>/collections/<name>/wal/       operations from <seq> on
//! ```
//!
//! Opening loads the checkpoint named by the manifest, then replays the log
//! records at or after its sequence number; replay runs the same code as
//! the original writes. `docs/format.md` draws the bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use vicinity_index::multi;

use serde::{Deserialize, Serialize};
use vicinity_payload::{FieldIndex, FieldIndexParams, JsonPath, Payload, PointId};
use vicinity_storage::{Io, StorageError, Wal};

use crate::segment::{NewRow, RowMeta, StoredVectors};
use crate::update::UpdateOperation;
use crate::{Collection, CollectionConfig, Error, Result, SparseVector};

/// The magic of both state formats.
pub(crate) const STATE_MAGIC: &[u8; 8] = b"VCN-STAT";
/// The checkpoint format version this build writes and reads.
pub const STATE_VERSION: u32 = 1;
/// The manifest format this build writes: 2 names vector, graph and state
/// files (`checkpoint.rs`); 1, still read, named one self-contained state.
const MANIFEST_VERSION: u32 = 2;

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Storage(StorageError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> Error {
    Error::Storage(StorageError::Corrupted {
        path: path.to_path_buf(),
        offset,
        reason: reason.into(),
    })
}

/// Where a durable collection keeps its files.
/// `config.json` (and a snapshot's configuration): the configuration's
/// fields, plus `settings` when there are any.
pub(crate) fn config_document(
    config: &CollectionConfig,
    settings: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<u8>> {
    let mut doc = serde_json::to_value(config).map_err(|e| Error::BadRequest(e.to_string()))?;
    if let (Some(fields), false) = (doc.as_object_mut(), settings.is_empty()) {
        fields.insert(
            "settings".into(),
            serde_json::Value::Object(settings.clone()),
        );
    }
    serde_json::to_vec_pretty(&doc).map_err(|e| Error::BadRequest(e.to_string()))
}

/// Reads what [`config_document`] wrote (files without `settings` too).
fn parse_config_document(
    data: &[u8],
) -> std::result::Result<(CollectionConfig, serde_json::Map<String, serde_json::Value>), String> {
    let mut doc: serde_json::Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    let settings = match doc.as_object_mut().and_then(|o| o.remove("settings")) {
        None => serde_json::Map::new(),
        Some(serde_json::Value::Object(m)) => m,
        Some(_) => return Err("settings is not an object".into()),
    };
    let config = serde_json::from_value(doc).map_err(|e| e.to_string())?;
    Ok((config, settings))
}

#[derive(Clone, Debug)]
pub(crate) struct Storage {
    pub(crate) io: Arc<dyn Io>,
    pub(crate) dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    state: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    columns: Vec<crate::checkpoint::ColumnFiles>,
    /// CRC-32C of the manifest's JSON written without this field (format 2
    /// on; format 1 had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crc32c: Option<u32>,
}

impl Manifest {
    fn new(state: Option<String>, columns: Vec<crate::checkpoint::ColumnFiles>) -> Self {
        Manifest {
            format: MANIFEST_VERSION,
            state,
            columns,
            crc32c: None,
        }
    }

    fn unsealed_crc(&self) -> u32 {
        let bare = Manifest {
            format: self.format,
            state: self.state.clone(),
            columns: self.columns.clone(),
            crc32c: None,
        };
        crc32c::crc32c(&serde_json::to_vec(&bare).expect("plain JSON"))
    }

    /// The manifest as bytes, with its checksum.
    fn to_bytes(&self) -> Vec<u8> {
        let sealed = Manifest {
            format: self.format,
            state: self.state.clone(),
            columns: self.columns.clone(),
            crc32c: Some(self.unsealed_crc()),
        };
        serde_json::to_vec(&sealed).expect("plain JSON")
    }

    /// Parses and checks a manifest.
    fn parse(path: &Path, data: &[u8]) -> Result<Self> {
        let m: Manifest = serde_json::from_slice(data)
            .map_err(|e| corrupt(path, 0, format!("bad manifest: {e}")))?;
        if !(1..=MANIFEST_VERSION).contains(&m.format) {
            return Err(Error::Storage(StorageError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: m.format,
                supported: MANIFEST_VERSION,
            }));
        }
        if m.format >= 2 && m.crc32c != Some(m.unsealed_crc()) {
            return Err(corrupt(path, 0, "manifest checksum mismatch"));
        }
        Ok(m)
    }
}

#[derive(Serialize, Deserialize)]
struct StateMeta {
    columns: Vec<String>,
    indexes: Vec<(JsonPath, FieldIndexParams)>,
    /// The sparse vector names (absent from files written before them).
    #[serde(default)]
    sparse: Vec<String>,
}

/// Bounds-checked reading of a checkpoint.
pub(crate) struct Reader<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) at: usize,
    pub(crate) path: &'a Path,
}

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.data.len() - self.at < n {
            return Err(corrupt(
                self.path,
                self.at as u64,
                format!("truncated {what}"),
            ));
        }
        let s = &self.data[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    pub(crate) fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
    /// A sparse vector written by [`put_sparse`]: `None` for "no vector".
    pub(crate) fn sparse(&mut self) -> Result<Option<SparseVector>> {
        match self.u8("sparse vector flag")? {
            0 => Ok(None),
            1 => {
                let n = self.u32("sparse vector length")? as usize;
                let bytes = self.take(n.saturating_mul(8), "sparse vector")?;
                let (i, v) = bytes.split_at(n * 4);
                let indices: Vec<u32> = i
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect();
                let values: Vec<f32> = v
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect();
                if indices.windows(2).any(|w| w[0] >= w[1]) || values.iter().any(|x| !x.is_finite())
                {
                    return Err(corrupt(
                        self.path,
                        self.at as u64,
                        "a stored sparse vector is not sorted or not finite",
                    ));
                }
                Ok(Some(SparseVector::new(indices, values)))
            }
            f => Err(corrupt(
                self.path,
                self.at as u64,
                format!("bad sparse vector flag {f}"),
            )),
        }
    }

    /// A point id written by [`put_id`].
    pub(crate) fn id(&mut self) -> Result<PointId> {
        Ok(match self.u8("id tag")? {
            0 => PointId::Num(self.u64("id")?),
            1 => PointId::Uuid(uuid::Uuid::from_bytes(
                self.take(16, "uuid")?.try_into().expect("16 bytes"),
            )),
            t => {
                return Err(corrupt(
                    self.path,
                    self.at as u64,
                    format!("bad id tag {t}"),
                ));
            }
        })
    }

    /// Checks a state file's trailing CRC-32C (over everything before it),
    /// magic and format `version`, and returns a reader over the body
    /// (without the CRC), placed past the version. `min` is the shortest
    /// valid file.
    pub(crate) fn state(
        path: &'a Path,
        data: &'a [u8],
        min: usize,
        version: u32,
    ) -> Result<Reader<'a>> {
        Self::framed(path, data, min, STATE_MAGIC, version, "checkpoint")
    }

    /// [`state`](Self::state) for any file framed the same way: `magic`,
    /// a u32 `version`, the body, a CRC-32C; `kind` names the file in
    /// errors.
    fn framed(
        path: &'a Path,
        data: &'a [u8],
        min: usize,
        magic: &[u8; 8],
        version: u32,
        kind: &str,
    ) -> Result<Reader<'a>> {
        if data.len() < min {
            return Err(corrupt(path, 0, format!("too short for a {kind}")));
        }
        let (body, tail) = data.split_at(data.len() - 4);
        if crc32c::crc32c(body) != u32::from_le_bytes(tail.try_into().expect("4 bytes")) {
            return Err(corrupt(
                path,
                body.len() as u64,
                format!("{kind} checksum mismatch"),
            ));
        }
        let mut r = Reader {
            data: body,
            at: 0,
            path,
        };
        if r.take(8, "magic")? != magic {
            return Err(corrupt(
                path,
                0,
                format!("not a Vicinity {kind} (bad magic)"),
            ));
        }
        let found = r.u32("version")?;
        if found != version {
            return Err(Error::Storage(StorageError::UnsupportedVersion {
                path: path.to_path_buf(),
                found,
                supported: version,
            }));
        }
        Ok(r)
    }
}

/// A sparse vector as a flag byte (0: none), its length, its indices and
/// its values.
pub(crate) fn put_sparse(out: &mut Vec<u8>, v: Option<(&[u32], &[f32])>) {
    match v {
        None => out.push(0),
        Some((indices, values)) => {
            out.push(1);
            out.extend_from_slice(&(indices.len() as u32).to_le_bytes());
            out.extend_from_slice(bytemuck::cast_slice(indices));
            out.extend_from_slice(bytemuck::cast_slice(values));
        }
    }
}

/// A point id as a tag byte (0: u64, 1: UUID) and its bytes.
pub(crate) fn put_id(out: &mut Vec<u8>, id: PointId) {
    match id {
        PointId::Num(n) => {
            out.push(0);
            out.extend_from_slice(&n.to_le_bytes());
        }
        PointId::Uuid(u) => {
            out.push(1);
            out.extend_from_slice(u.as_bytes());
        }
    }
}

impl Collection {
    /// The checkpoint of everything before `next_seq`, as bytes.
    fn encode_state(&self, next_seq: u64) -> Result<Vec<u8>> {
        let segment = self.segment();
        let table = segment.table.read();
        let meta = StateMeta {
            columns: segment.columns.iter().map(|c| c.name.clone()).collect(),
            indexes: table
                .indexes
                .values()
                .map(|i| (i.key().clone(), i.params().clone()))
                .collect(),
            sparse: segment.sparse.iter().map(|c| c.name.clone()).collect(),
        };
        let sparse: Vec<_> = segment.sparse.iter().map(|c| c.index.read()).collect();
        let meta = serde_json::to_vec(&meta).map_err(|e| Error::BadRequest(e.to_string()))?;
        let mut out = Vec::new();
        out.extend_from_slice(STATE_MAGIC);
        out.extend_from_slice(&STATE_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&next_seq.to_le_bytes());
        out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&meta);
        out.extend_from_slice(&(table.ids.len() as u64).to_le_bytes());
        for (&id, &row) in &table.ids {
            put_id(&mut out, id);
            let meta = &table.rows[row.index()];
            out.extend_from_slice(&meta.version.to_le_bytes());
            let payload =
                serde_json::to_vec(&meta.payload).map_err(|e| Error::BadRequest(e.to_string()))?;
            out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            out.extend_from_slice(&payload);
            for (c, column) in segment.columns.iter().enumerate() {
                match column.store.get(row).filter(|_| segment.has_vector(c, row)) {
                    // a multivector: its vector count, then its vectors
                    Some(v) if column.store.is_multi() => {
                        out.push(2);
                        out.extend_from_slice(&(multi::count(v) as u32).to_le_bytes());
                        for x in &v[1..] {
                            out.extend_from_slice(&x.to_le_bytes());
                        }
                    }
                    Some(v) => {
                        out.push(1);
                        for x in v {
                            out.extend_from_slice(&x.to_le_bytes());
                        }
                    }
                    None => out.push(0),
                }
            }
            for (column, index) in segment.sparse.iter().zip(&sparse) {
                put_sparse(
                    &mut out,
                    index.get(row).filter(|_| !column.absent.contains(row)),
                );
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok(out)
    }

    /// Loads a checkpoint into this (empty) collection; returns the
    /// sequence number the log continues from.
    fn load_state(&self, path: &Path, data: &[u8]) -> Result<u64> {
        let mut r = Reader::state(path, data, 36, STATE_VERSION)?;
        let body = r.data;
        r.u32("reserved")?;
        let next_seq = r.u64("sequence number")?;
        let meta_len = r.u32("meta length")? as usize;
        let meta: StateMeta = serde_json::from_slice(r.take(meta_len, "meta")?)
            .map_err(|e| corrupt(path, r.at as u64, format!("bad meta: {e}")))?;
        let segment = self.segment();
        let names: Vec<&str> = segment.columns.iter().map(|c| c.name.as_str()).collect();
        let sparse_names: Vec<&str> = segment.sparse.iter().map(|c| c.name.as_str()).collect();
        if meta.columns != names || meta.sparse != sparse_names {
            return Err(corrupt(
                path,
                24,
                "the checkpoint's vector names differ from config.json",
            ));
        }
        // a stored vector's 32-bit words (its dimension for float32)
        let widths: Vec<usize> = segment.columns.iter().map(|c| c.store.words()).collect();
        let n = r.u64("point count")?;
        let mut points: Vec<(RowMeta, StoredVectors)> = Vec::with_capacity(n.min(1 << 20) as usize);
        for _ in 0..n {
            let id = r.id()?;
            let version = r.u64("version")?;
            let plen = r.u32("payload length")? as usize;
            let payload: Payload = serde_json::from_slice(r.take(plen, "payload")?)
                .map_err(|e| corrupt(path, r.at as u64, format!("bad payload: {e}")))?;
            let mut vectors = Vec::with_capacity(widths.len());
            for (c, &words) in widths.iter().enumerate() {
                match r.u8("vector flag")? {
                    0 => vectors.push(None),
                    f @ (1 | 2) => {
                        let n = if f == 2 {
                            r.u32("multivector count")? as usize
                        } else {
                            1
                        };
                        let len = n
                            .checked_mul(words * 4)
                            .ok_or_else(|| corrupt(path, r.at as u64, "a multivector too large"))?;
                        let bytes = r.take(len, "vector")?;
                        let v: Vec<f32> = bytes
                            .chunks_exact(4)
                            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                            .collect();
                        let v = if f == 2 { multi::with_header(n, &v) } else { v };
                        if let Err(e) = segment.columns[c].store.check_row(&v) {
                            return Err(corrupt(
                                path,
                                r.at as u64,
                                format!("a stored vector is damaged: {e}"),
                            ));
                        }
                        vectors.push(Some(v));
                    }
                    f => return Err(corrupt(path, r.at as u64, format!("bad vector flag {f}"))),
                }
            }
            let sparse = sparse_names
                .iter()
                .map(|_| r.sparse())
                .collect::<Result<Vec<_>>>()?;
            let vectors = StoredVectors {
                dense: vectors,
                sparse,
            };
            points.push((
                RowMeta {
                    id,
                    version,
                    payload,
                },
                vectors,
            ));
        }
        if r.at != body.len() {
            return Err(corrupt(
                path,
                r.at as u64,
                "trailing bytes after the points",
            ));
        }
        {
            let mut table = segment.table.write();
            for (key, params) in meta.indexes {
                table
                    .indexes
                    .insert(key.to_string(), FieldIndex::new(key, params));
            }
        }
        for chunk in points.chunks(10_000) {
            let rows = chunk
                .iter()
                .map(|(meta, vectors)| NewRow::stored(meta, vectors))
                .collect();
            self.run(|| segment.append(rows))?;
        }
        Ok(next_seq)
    }

    /// Creates a durable collection in `dir` (which must not exist yet).
    pub(crate) fn create_in(
        name: &str,
        config: CollectionConfig,
        pool: Option<Arc<rayon::ThreadPool>>,
        storage: Storage,
    ) -> Result<Collection> {
        let c = Collection::new(name, config, pool)?;
        let io = &storage.io;
        io.create_dir_all(&storage.dir)
            .map_err(|e| io_err(&storage.dir, e))?;
        let config_json = config_document(&c.config(), &c.settings.read())?;
        let path = storage.dir.join("config.json");
        io.write_atomic(&path, &config_json)
            .map_err(|e| io_err(&path, e))?;
        let manifest = Manifest::new(None, Vec::new()).to_bytes();
        let path = storage.dir.join("MANIFEST");
        io.write_atomic(&path, &manifest)
            .map_err(|e| io_err(&path, e))?;
        let (wal, _) = Wal::open(Arc::clone(io), &storage.dir.join("wal"))?;
        c.writer.lock().wal = Some(wal);
        *c.storage.lock() = Some(storage);
        Ok(c)
    }

    /// Gives an in-memory collection a folder (`dir`, which must not exist
    /// yet): its configuration, an empty log, and a checkpoint of what it
    /// holds now. Writes from then on are logged.
    pub(crate) fn attach_storage(&self, storage: Storage) -> Result<()> {
        let fresh =
            Collection::create_in(self.name(), (*self.config()).clone(), None, storage.clone())?;
        drop(fresh);
        let (wal, _) = Wal::open(Arc::clone(&storage.io), &storage.dir.join("wal"))?;
        self.writer.lock().wal = Some(wal);
        *self.storage.lock() = Some(storage);
        self.set_settings(self.settings())?;
        self.checkpoint()
    }

    /// Opens a durable collection from `dir`: checkpoint, then log replay.
    pub(crate) fn open_in(
        name: &str,
        pool: Option<Arc<rayon::ThreadPool>>,
        storage: Storage,
    ) -> Result<Collection> {
        let io = &storage.io;
        let path = storage.dir.join("config.json");
        let data = io.read(&path).map_err(|e| io_err(&path, e))?;
        let (config, settings) = parse_config_document(&data)
            .map_err(|e| corrupt(&path, 0, format!("bad config: {e}")))?;
        let c = Collection::new(name, config, pool)?;
        *c.settings.write() = settings;
        let path = storage.dir.join("MANIFEST");
        let data = io.read(&path).map_err(|e| io_err(&path, e))?;
        let manifest = Manifest::parse(&path, &data)?;
        let mut next_seq = 0;
        match (&manifest.state, manifest.format) {
            (None, _) => {}
            (Some(state), 1) => {
                let path = storage.dir.join(state);
                let data = io.read(&path).map_err(|e| io_err(&path, e))?;
                next_seq = c.load_state(&path, &data)?;
            }
            (Some(state), _) => {
                next_seq = c.read_checkpoint(&storage, state, &manifest.columns)?;
            }
        }
        let wal_dir = storage.dir.join("wal");
        let (wal, records) = Wal::open(Arc::clone(io), &wal_dir)?;
        // what this open replayed counts toward the next checkpoint: else a
        // process that never lives long enough to log a checkpoint's worth
        // itself (a crash loop, short-lived runs) grows the log forever, and
        // every open replays more
        let mut replayed = 0u64;
        for rec in records {
            if rec.seq < next_seq {
                continue;
            }
            replayed += rec.body.len() as u64;
            let op: UpdateOperation = serde_json::from_slice(&rec.body).map_err(|e| {
                corrupt(
                    &wal_dir,
                    rec.seq,
                    format!("undecodable operation {}: {e}", rec.seq),
                )
            })?;
            // Logged operations were validated before they were logged: one
            // that fails now is a damaged log, not a request to refuse.
            c.validate_op(&op).map_err(|e| {
                corrupt(
                    &wal_dir,
                    rec.seq,
                    format!("invalid operation {}: {e}", rec.seq),
                )
            })?;
            // An operation that failed when it ran (a missing id, say) fails
            // the same way now, with the same partial effect.
            let _ = c.apply(&op, rec.seq);
            next_seq = rec.seq + 1;
        }
        {
            let mut w = c.writer.lock();
            w.next_seq = next_seq;
            w.logged_bytes = replayed;
            w.wal = Some(wal);
        }
        *c.storage.lock() = Some(storage);
        c.index_in_background();
        Ok(c)
    }

    /// Writes a checkpoint of the whole collection and drops the log before
    /// it, so that the next open replays little. Writes wait meanwhile;
    /// reads go on. A no-op for in-memory collections.
    pub fn checkpoint(&self) -> Result<()> {
        let mut w = self.writer.lock();
        let Some(storage) = self.storage.lock().clone() else {
            return Ok(());
        };
        let next_seq = w.next_seq;
        let (state, columns, persisted) = self.write_checkpoint(&storage, next_seq)?;
        let io = &storage.io;
        let manifest = Manifest::new(Some(state.clone()), columns).to_bytes();
        let mpath = storage.dir.join("MANIFEST");
        io.write_atomic(&mpath, &manifest)
            .map_err(|e| io_err(&mpath, e))?;
        // From here on the next checkpoint extends these files.
        *self.persisted.lock() = Some(persisted.clone());
        // The switch is durable: files it no longer names, and the log
        // before it, can go.
        let keep: Vec<&str> = std::iter::once(state.as_str())
            .chain(
                persisted
                    .columns
                    .iter()
                    .flat_map(|f| [f.vectors.as_str(), f.graph.as_str()]),
            )
            .collect();
        for p in io.list(&storage.dir).map_err(|e| io_err(&storage.dir, e))? {
            let f = p.file_name().and_then(|f| f.to_str()).unwrap_or_default();
            let ours = ["state-", "graph-", "vectors-"]
                .iter()
                .any(|k| f.starts_with(k));
            if ours && !keep.contains(&f) {
                io.remove(&p).map_err(|e| io_err(&p, e))?;
            }
        }
        w.logged_bytes = 0;
        if let Some(wal) = w.wal.as_mut() {
            wal.truncate_before(next_seq)?;
        }
        Ok(())
    }

    /// Whether the segment is not the one the last checkpoint wrote (a
    /// vacuum or a renumbering replaced it): the next checkpoint writes
    /// new files, and until then an open reads the old ones, retired rows
    /// and all, and replays the log over them. False before the first
    /// checkpoint: the log holds everything then.
    pub(crate) fn segment_replaced(&self) -> bool {
        let segment = self.segment();
        self.persisted
            .lock()
            .as_ref()
            .is_some_and(|p| !std::sync::Weak::ptr_eq(&p.segment, &Arc::downgrade(&segment)))
    }

    /// About how many bytes an open reads from the last checkpoint (0
    /// before the first).
    pub(crate) fn checkpoint_bytes(&self) -> u64 {
        self.persisted.lock().as_ref().map_or(0, |p| p.bytes)
    }

    /// Whether a maintenance pass should checkpoint: the log since the
    /// last checkpoint passed `log_bytes`, or passed [`SMALL_LOG`] and is
    /// more than half what an open reads from the checkpoint (so the next
    /// open's replay costs at most about half its load, whatever the
    /// collection's size: a small collection in a crash loop used to
    /// replay up to `log_bytes`, 64 MiB in the server, at every start),
    /// or the segment was replaced since.
    pub(crate) fn checkpoint_due(&self, log_bytes: u64) -> bool {
        let logged = self.log_bytes_since_checkpoint();
        self.is_durable()
            && (logged > log_bytes
                || (logged > SMALL_LOG && logged > self.checkpoint_bytes() / 2)
                || self.segment_replaced())
    }

    /// Bytes of operations logged since the last checkpoint: what the
    /// next open would replay.
    pub fn log_bytes_since_checkpoint(&self) -> u64 {
        self.writer.lock().logged_bytes
    }

    /// Makes every acknowledged write durable (fsyncs the log): what a
    /// `wait = false` write needs for a power loss.
    pub fn flush(&self) -> Result<()> {
        if let Some(wal) = self.writer.lock().wal.as_mut() {
            wal.sync()?;
        }
        Ok(())
    }

    /// Whether the collection lives in a folder.
    pub fn is_durable(&self) -> bool {
        self.storage.lock().is_some()
    }
}

/// Log bytes below which a maintenance pass never checkpoints unless asked
/// to (see [`Collection::checkpoint_due`]).
pub(crate) const SMALL_LOG: u64 = 1 << 20;

const SNAPSHOT_MAGIC: &[u8; 8] = b"VCN-SNAP";
/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// A snapshot file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotDescription {
    /// The file name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The sequence number it was taken at: it holds every operation
    /// before this one and none after.
    pub seq: u64,
}

impl Collection {
    /// A consistent snapshot of the collection as one file: configuration
    /// and every point as of one point in the log (writes wait while it is
    /// taken; reads go on). Returns its bytes and the sequence number.
    pub fn snapshot_bytes(&self) -> Result<(Vec<u8>, u64)> {
        let w = self.writer.lock();
        let seq = w.next_seq;
        let state = self.encode_state(seq)?;
        drop(w);
        let config = config_document(&self.config(), &self.settings.read())?;
        let mut out = Vec::with_capacity(state.len() + config.len() + 32);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.extend_from_slice(&(config.len() as u32).to_le_bytes());
        out.extend_from_slice(&config);
        out.extend_from_slice(&state);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok((out, seq))
    }

    /// Rebuilds a collection named `name` from snapshot bytes (checked
    /// whole before use); `path` names the file in errors.
    pub(crate) fn from_snapshot(
        name: &str,
        path: &Path,
        data: &[u8],
        pool: Option<Arc<rayon::ThreadPool>>,
    ) -> Result<(Collection, u64)> {
        let mut r = Reader::framed(path, data, 20, SNAPSHOT_MAGIC, SNAPSHOT_VERSION, "snapshot")?;
        let body = r.data;
        let clen = r.u32("config length")? as usize;
        let (config, settings) = parse_config_document(r.take(clen, "config")?)
            .map_err(|e| corrupt(path, 16, format!("bad config: {e}")))?;
        let c = Collection::new(name, config, pool)?;
        *c.settings.write() = settings;
        let seq = c.load_state(path, &body[r.at..])?;
        c.writer.lock().next_seq = seq;
        c.index_in_background();
        Ok((c, seq))
    }
}
