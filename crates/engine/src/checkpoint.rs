//! Checkpoints in files that reopen without a rebuild (manifest format 2).
//!
//! A checkpoint at sequence number `S` is three kinds of files, all named
//! by the manifest, which switches to them atomically:
//!
//! ```text
//! vectors-<tag>-<c>.vec   per vector column: a 4 KiB header, then the
//!                         column's rows, flat f32, in row order; append-only
//! graph-<tag>-<c>.hnsw    per vector column: its HNSW graph
//! state-<tag>.vcn         the rows' ids, versions and payloads, the payload
//!                         indexes, per column the rows without a vector,
//!                         and every live row's sparse vectors
//! ```
//!
//! Rows are write-once, so a column's vector file is only ever appended to:
//! a checkpoint writes the rows added since the last one after the bytes
//! the manifest already counts (cutting whatever a failed checkpoint left
//! there), syncs, and names the new row count and the running CRC-32C in
//! the new manifest. Opening maps the vector files (read into memory, or
//! left to the OS with `on_disk`), reads the graphs and the state, and
//! then replays the log. A compaction or a restore starts new files.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Weak};

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use vicinity_index::{AtomicBitSet, Datatype, HnswGraph, IndexError, VectorStore};
use vicinity_payload::{FieldIndex, FieldIndexParams, JsonPath, Payload};
use vicinity_storage::{Io, PointOffset, StorageError};

use crate::persist::{Reader, STATE_MAGIC, Storage, corrupt, io_err, put_id, put_sparse};
use crate::segment::{PointTable, RowMeta, Segment, SparseColumn, VectorColumn};
use crate::{Collection, Error, Result, SparseVectorParams};

const VECTORS_MAGIC: &[u8; 8] = b"VCN-VECT";
/// The vector file format version this build writes and reads.
pub const VECTORS_VERSION: u32 = 1;
/// Bytes before the first row of a vector file: one page, so that rows
/// map page-aligned.
pub const VECTORS_HEADER: u64 = 4096;
/// The state format of manifest-2 checkpoints (version 1 is the
/// self-contained form snapshots use).
pub const STATE_VERSION_2: u32 = 2;

/// The files of one vector column, as the manifest names them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ColumnFiles {
    pub(crate) name: String,
    pub(crate) vectors: String,
    /// Rows of the vector file that belong to the checkpoint.
    pub(crate) rows: u64,
    /// CRC-32C of those rows' bytes.
    pub(crate) crc: u32,
    pub(crate) graph: String,
    /// For a multivector column, whose rows vary in length: the `f32`
    /// values of those rows (headers included). `None` for fixed rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) values: Option<u64>,
}

impl ColumnFiles {
    /// The 32-bit words of the checkpoint's rows, at `words` per fixed
    /// row.
    fn values(&self, words: usize) -> u64 {
        self.values.unwrap_or(self.rows * words as u64)
    }
}

/// What the last checkpoint wrote, to append to it next time.
#[derive(Clone, Debug)]
pub(crate) struct Persisted {
    /// The segment the files hold (a compaction makes a new one).
    pub(crate) segment: Weak<Segment>,
    pub(crate) columns: Vec<ColumnFiles>,
    /// About what an open reads of it: the state file and the vectors.
    pub(crate) bytes: u64,
}

/// The bytes of `rows` rows' vectors in `columns`.
fn vector_bytes(columns: &[ColumnFiles], words: impl Iterator<Item = usize>) -> u64 {
    columns
        .iter()
        .zip(words)
        .map(|(f, words)| f.values(words) * 4)
        .sum()
}

#[derive(Serialize, Deserialize)]
struct StateMeta {
    columns: Vec<String>,
    indexes: Vec<(JsonPath, FieldIndexParams)>,
    /// Rows before this are in the saved graphs; later rows are indexed
    /// again after opening.
    #[serde(default)]
    indexed: u64,
    /// The sparse vector names, whose rows follow the bitmaps.
    #[serde(default)]
    sparse: Vec<String>,
}

/// The header page of a vector file: magic, version, the dimension and the
/// bytes per value (4, 2 or 1: the [`Datatype`]; rows are padded to whole
/// 32-bit words, see [`vicinity_index::datatype`]), its checksum.
fn vectors_header(dim: usize, datatype: Datatype) -> Vec<u8> {
    let mut h = Vec::with_capacity(VECTORS_HEADER as usize);
    h.extend_from_slice(VECTORS_MAGIC);
    h.extend_from_slice(&VECTORS_VERSION.to_le_bytes());
    h.extend_from_slice(&(dim as u32).to_le_bytes());
    h.extend_from_slice(&(datatype.value_bytes() as u32).to_le_bytes());
    h.resize(VECTORS_HEADER as usize, 0);
    let crc = header_crc(&h);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The header page's checksum: every byte of it but the checksum's own.
fn header_crc(h: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&h[..20]), &h[24..])
}

fn check_vectors_header(path: &Path, h: &[u8], dim: usize, datatype: Datatype) -> Result<()> {
    if h.len() != VECTORS_HEADER as usize || &h[..8] != VECTORS_MAGIC {
        return Err(corrupt(path, 0, "not a Vicinity vector file (bad magic)"));
    }
    let word = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
    if header_crc(h) != word(20) {
        return Err(corrupt(path, 20, "header checksum mismatch"));
    }
    if word(8) != VECTORS_VERSION {
        return Err(Error::Storage(StorageError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: word(8),
            supported: VECTORS_VERSION,
        }));
    }
    let bytes = datatype.value_bytes();
    if word(12) as usize != dim || word(16) as usize != bytes {
        return Err(corrupt(
            path,
            12,
            format!(
                "rows of {} x {} bytes, the configuration says {dim} x {bytes}",
                word(12),
                word(16)
            ),
        ));
    }
    Ok(())
}

/// A tag no file of the folder uses yet: `<seq>-<k>`.
fn fresh_tag(io: &dyn Io, dir: &Path, seq: u64) -> String {
    (0u32..)
        .map(|k| format!("{seq:020}-{k}"))
        .find(|tag| !io.exists(&dir.join(format!("state-{tag}.vcn"))))
        .expect("some tag is free")
}

impl Collection {
    /// Writes a manifest-2 checkpoint of everything before `next_seq` and
    /// returns the manifest's column list and state file name. The caller
    /// holds the writer lock and switches the manifest.
    pub(crate) fn write_checkpoint(
        &self,
        storage: &Storage,
        next_seq: u64,
    ) -> Result<(String, Vec<ColumnFiles>, Persisted)> {
        let io = &*storage.io;
        let dir = &storage.dir;
        let segment = self.segment();
        // no insertion runs while the graphs are read
        let _indexing = segment.index_lock.lock();
        let rows = segment.row_count();
        let tag = fresh_tag(io, dir, next_seq);
        let previous = self
            .persisted
            .lock()
            .clone()
            .filter(|p| Weak::ptr_eq(&p.segment, &Arc::downgrade(&segment)));
        let mut columns = Vec::with_capacity(segment.columns.len());
        for (c, column) in segment.columns.iter().enumerate() {
            let (dim, datatype) = (column.store.dim(), column.store.datatype());
            let (vectors, from, mut crc, mut values) = match &previous {
                Some(p) => {
                    let f = &p.columns[c];
                    (
                        f.vectors.clone(),
                        f.rows,
                        f.crc,
                        f.values(column.store.words()),
                    )
                }
                None => (format!("vectors-{tag}-{c}.vec"), 0, 0, 0),
            };
            let path = dir.join(&vectors);
            // a new file only when there is none to extend: one the last
            // checkpoint wrote with no rows (an empty segment) is extended
            // like any other, not given a second header
            let mut file = if previous.is_none() {
                // what a checkpoint that failed before its state file may
                // have left under this tag
                if io.exists(&path) {
                    io.remove(&path).map_err(|e| io_err(&path, e))?;
                }
                let mut f = io.open_append(&path).map_err(|e| io_err(&path, e))?;
                f.append(&vectors_header(dim, datatype))
                    .map_err(|e| io_err(&path, e))?;
                f
            } else {
                // cut what a failed checkpoint may have left after the rows
                io.truncate(&path, VECTORS_HEADER + values * 4)
                    .map_err(|e| io_err(&path, e))?;
                io.open_append(&path).map_err(|e| io_err(&path, e))?
            };
            let mut buf = Vec::with_capacity(1 << 20);
            for r in from as usize..rows {
                let v = column.store.get(PointOffset(r as u32)).ok_or_else(|| {
                    Error::BadRequest(format!("row {r} of {} is missing", column.name))
                })?;
                buf.extend_from_slice(bytemuck::cast_slice(v));
                values += v.len() as u64;
                if buf.len() >= 1 << 20 || r + 1 == rows {
                    crc = crc32c::crc32c_append(crc, &buf);
                    file.append(&buf).map_err(|e| io_err(&path, e))?;
                    buf.clear();
                }
            }
            file.sync().map_err(|e| io_err(&path, e))?;
            let graph = format!("graph-{tag}-{c}.hnsw");
            let gpath = dir.join(&graph);
            io.write_atomic(&gpath, &column.graph.to_bytes())
                .map_err(|e| io_err(&gpath, e))?;
            columns.push(ColumnFiles {
                name: column.name.clone(),
                vectors,
                rows: rows as u64,
                crc,
                graph,
                values: column.store.is_multi().then_some(values),
            });
        }
        let state = format!("state-{tag}.vcn");
        let spath = dir.join(&state);
        let bytes = encode_table(&segment, next_seq, rows)?;
        io.write_atomic(&spath, &bytes)
            .map_err(|e| io_err(&spath, e))?;
        let persisted = Persisted {
            segment: Arc::downgrade(&segment),
            bytes: bytes.len() as u64
                + vector_bytes(&columns, segment.columns.iter().map(|c| c.store.words())),
            columns: columns.clone(),
        };
        Ok((state, columns, persisted))
    }

    /// Loads a manifest-2 checkpoint into this (empty) collection and
    /// returns the sequence number the log continues from.
    pub(crate) fn read_checkpoint(
        &self,
        storage: &Storage,
        state: &str,
        files: &[ColumnFiles],
    ) -> Result<u64> {
        let io = &*storage.io;
        let dir = &storage.dir;
        let config = self.config();
        if files.len() != config.vectors.len()
            || files
                .iter()
                .zip(config.vectors.keys())
                .any(|(f, n)| &f.name != n)
        {
            return Err(corrupt(
                &dir.join("MANIFEST"),
                0,
                "the manifest's vector names differ from config.json",
            ));
        }
        let spath = dir.join(state);
        let data = io.read(&spath).map_err(|e| io_err(&spath, e))?;
        let (next_seq, table, absent, mut indexed, sparse) =
            decode_table(&spath, &data, files, &config.sparse_vectors)?;
        let rows = table.rows.len();
        let mut columns = Vec::with_capacity(files.len());
        for ((name, params), (f, absent)) in config.vectors.iter().zip(files.iter().zip(absent)) {
            let path = dir.join(&f.vectors);
            if f.rows as usize != rows {
                return Err(corrupt(
                    &path,
                    0,
                    format!("the manifest counts {} rows, the state {rows}", f.rows),
                ));
            }
            let header = io.map_file(&path, 0, VECTORS_HEADER as usize, false)?;
            check_vectors_header(&path, header.as_bytes(), params.size, params.datatype())?;
            drop(header);
            let words = params.datatype().words(params.size) as u64;
            let len = match (params.is_multi(), f.values) {
                (true, Some(values)) => values * 4,
                (false, None) => f.rows * words * 4,
                _ => {
                    return Err(corrupt(
                        &path,
                        0,
                        "the manifest's rows do not match the vector's multivector_config",
                    ));
                }
            };
            let on_disk = params.on_disk.unwrap_or(false);
            let map = io.map_file(&path, VECTORS_HEADER, len as usize, !on_disk)?;
            let crc = if on_disk {
                // read through the page cache, not this process's memory
                io.checksum(&path, VECTORS_HEADER, len)
                    .map_err(|e| io_err(&path, e))?
            } else {
                crc32c::crc32c(map.as_bytes())
            };
            if crc != f.crc {
                return Err(corrupt(
                    &path,
                    VECTORS_HEADER,
                    "vector data checksum mismatch",
                ));
            }
            let store = VectorStore::open(
                params.size,
                params.distance,
                params.datatype(),
                params.is_multi(),
                map,
            )
            .map_err(|e| match e {
                IndexError::Corrupted(reason) => corrupt(&path, VECTORS_HEADER, reason),
                e => Error::for_vector(name, e),
            })?;
            if store.len() != rows {
                return Err(corrupt(
                    &path,
                    VECTORS_HEADER,
                    format!("{} rows, the state has {rows}", store.len()),
                ));
            }
            let gpath = dir.join(&f.graph);
            let bytes = io.read(&gpath).map_err(|e| io_err(&gpath, e))?;
            let hnsw = config.hnsw_for(name);
            let graph = match HnswGraph::from_bytes(hnsw, &bytes, rows) {
                Ok(g) => g,
                // built with another `m`: the indexer rebuilds it
                Err(IndexError::Config { .. }) => {
                    indexed = 0;
                    HnswGraph::new(hnsw)?
                }
                Err(IndexError::Corrupted(reason)) => return Err(corrupt(&gpath, 0, reason)),
                Err(e) => return Err(Error::for_vector(name, e)),
            };
            let set = AtomicBitSet::new();
            for r in &absent {
                set.insert(PointOffset(r));
            }
            columns.push(VectorColumn::new(
                name.clone(),
                store,
                graph,
                set,
                config.quantization_for(name).cloned(),
            ));
        }
        // With one graph to rebuild, `indexed` is 0 for all: re-inserting
        // rows a graph already holds does nothing.
        let segment = Arc::new(Segment::from_parts(columns, sparse, table, rows, indexed));
        // codes are made from the vectors, not stored
        segment.encode_indexed()?;
        *self.persisted.lock() = Some(Persisted {
            segment: Arc::downgrade(&segment),
            bytes: data.len() as u64
                + vector_bytes(files, segment.columns.iter().map(|c| c.store.words())),
            columns: files.to_vec(),
        });
        *self.segment.write() = segment;
        Ok(next_seq)
    }
}

/// The state file: every row's id, version and (if live) payload, the
/// payload indexes, and per column the rows without a vector.
fn encode_table(segment: &Segment, next_seq: u64, rows: usize) -> Result<Vec<u8>> {
    let table = segment.table.read();
    let meta = StateMeta {
        columns: segment.columns.iter().map(|c| c.name.clone()).collect(),
        indexes: table
            .indexes
            .values()
            .map(|i| (i.key().clone(), i.params().clone()))
            .collect(),
        indexed: segment.indexed().min(rows) as u64,
        sparse: segment.sparse.iter().map(|c| c.name.clone()).collect(),
    };
    let meta = serde_json::to_vec(&meta).map_err(|e| Error::BadRequest(e.to_string()))?;
    let mut out = Vec::new();
    out.extend_from_slice(STATE_MAGIC);
    out.extend_from_slice(&STATE_VERSION_2.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&next_seq.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&(rows as u64).to_le_bytes());
    for r in 0..rows {
        let m = &table.rows[r];
        let live = table.is_live[r];
        out.push(u8::from(live));
        put_id(&mut out, m.id);
        out.extend_from_slice(&m.version.to_le_bytes());
        if live {
            let payload =
                serde_json::to_vec(&m.payload).map_err(|e| Error::BadRequest(e.to_string()))?;
            out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            out.extend_from_slice(&payload);
        }
    }
    for column in &segment.columns {
        let absent: RoaringBitmap = (0..rows as u32)
            .filter(|&r| column.absent.contains(PointOffset(r)))
            .collect();
        let mut bytes = Vec::with_capacity(absent.serialized_size());
        absent
            .serialize_into(&mut bytes)
            .expect("writing to a Vec cannot fail");
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    // sparse vectors: every row's, or none (absent or retired)
    for column in &segment.sparse {
        let index = column.index.read();
        for r in 0..rows as u32 {
            let row = PointOffset(r);
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

type Table = (
    u64,
    PointTable,
    Vec<RoaringBitmap>,
    usize,
    Vec<SparseColumn>,
);

fn decode_table(
    path: &Path,
    data: &[u8],
    files: &[ColumnFiles],
    sparse: &BTreeMap<String, SparseVectorParams>,
) -> Result<Table> {
    let mut r = Reader::state(path, data, 40, STATE_VERSION_2)?;
    let body = r.data;
    r.u32("reserved")?;
    let next_seq = r.u64("sequence number")?;
    let meta_len = r.u32("meta length")? as usize;
    let meta: StateMeta = serde_json::from_slice(r.take(meta_len, "meta")?)
        .map_err(|e| corrupt(path, r.at as u64, format!("bad meta: {e}")))?;
    if meta.columns.len() != files.len()
        || meta.columns.iter().zip(files).any(|(a, f)| *a != f.name)
    {
        return Err(corrupt(
            path,
            24,
            "the state's vector names differ from the manifest's",
        ));
    }
    if !meta.sparse.iter().eq(sparse.keys()) {
        return Err(corrupt(
            path,
            24,
            "the state's sparse vector names differ from config.json",
        ));
    }
    let meta_indexed = meta.indexed;
    let rows = r.u64("row count")?;
    if rows > u64::from(u32::MAX) {
        return Err(corrupt(path, r.at as u64, "more rows than a segment holds"));
    }
    let mut table = PointTable::default();
    for (key, params) in meta.indexes {
        table
            .indexes
            .insert(key.to_string(), FieldIndex::new(key, params));
    }
    table.rows.reserve(rows.min(1 << 24) as usize);
    for row in 0..rows as u32 {
        let live = match r.u8("live flag")? {
            0 => false,
            1 => true,
            f => return Err(corrupt(path, r.at as u64, format!("bad live flag {f}"))),
        };
        let id = r.id()?;
        let version = r.u64("version")?;
        let payload = if live {
            let plen = r.u32("payload length")? as usize;
            let payload: Payload = serde_json::from_slice(r.take(plen, "payload")?)
                .map_err(|e| corrupt(path, r.at as u64, format!("bad payload: {e}")))?;
            if table.ids.insert(id, PointOffset(row)).is_some() {
                return Err(corrupt(
                    path,
                    r.at as u64,
                    format!("point {id} is live twice"),
                ));
            }
            table.index_row(PointOffset(row), &payload, true);
            payload
        } else {
            Payload::default()
        };
        table.rows.push(RowMeta {
            id,
            version,
            payload,
        });
        table.is_live.push(live);
    }
    let mut absent = Vec::with_capacity(files.len());
    for _ in files {
        let len = r.u64("bitmap length")?;
        let bytes = r.take(len.min(body.len() as u64) as usize, "bitmap")?;
        let set = RoaringBitmap::deserialize_from(bytes)
            .map_err(|e| corrupt(path, r.at as u64, format!("bad bitmap: {e}")))?;
        if set.max().is_some_and(|m| u64::from(m) >= rows) {
            return Err(corrupt(
                path,
                r.at as u64,
                "a bitmap names a row past the end",
            ));
        }
        // every retired row is absent from every column
        if (0..rows as u32).any(|row| !table.is_live[row as usize] && !set.contains(row)) {
            return Err(corrupt(path, r.at as u64, "a retired row has a vector"));
        }
        absent.push(set);
    }
    let mut columns = Vec::with_capacity(sparse.len());
    for (name, params) in sparse {
        let column = SparseColumn::new(name.clone(), params.clone());
        {
            let mut index = column.index.write();
            for row in 0..rows as u32 {
                match r.sparse()? {
                    Some(v) if table.is_live[row as usize] => {
                        index.push(&v.indices, &v.values);
                    }
                    Some(_) => {
                        return Err(corrupt(
                            path,
                            r.at as u64,
                            "a retired row has a sparse vector",
                        ));
                    }
                    None => {
                        column.absent.insert(PointOffset(row));
                        index.push_absent();
                    }
                }
            }
        }
        columns.push(column);
    }
    if r.at != body.len() {
        return Err(corrupt(
            path,
            r.at as u64,
            "trailing bytes after the sparse vectors",
        ));
    }
    Ok((
        next_seq,
        table,
        absent,
        meta_indexed.min(rows) as usize,
        columns,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        CollectionConfig, Database, Distance, PointId, PointStruct, SearchRequest, VectorParams,
    };
    use serde_json::json;

    fn points(range: std::ops::Range<u64>) -> Vec<PointStruct> {
        range
            .map(|i| {
                let x = i as f32;
                let v: Vec<f32> = (0..6).map(|j| (x * 0.37 + j as f32).sin()).collect();
                let payload = Payload::try_from(json!({"i": i})).unwrap();
                PointStruct::new(
                    i,
                    [("a", v)].into_iter().collect::<crate::Vectors>(),
                    payload,
                )
            })
            .collect()
    }

    fn query() -> SearchRequest {
        SearchRequest {
            using: "a".into(),
            ..SearchRequest::new(vec![0.5; 6], 10)
        }
    }

    #[allow(dead_code)]
    fn diff(a: &[Vec<u8>], b: &[Vec<u8>]) -> String {
        let (a, b) = (&a[0], &b[0]);
        let at = a.iter().zip(b.iter()).position(|(x, y)| x != y);
        format!(
            "len {} vs {}, first diff at {:?}, header a {:?} b {:?}",
            a.len(),
            b.len(),
            at,
            &a[..36],
            &b[..36]
        )
    }

    fn graphs(db: &Database) -> Vec<Vec<u8>> {
        let c = db.collection("c").unwrap();
        let s = c.segment();
        s.columns.iter().map(|c| c.graph.to_bytes()).collect()
    }

    fn files(dir: &Path, prefix: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("collections/c"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.starts_with(prefix))
            .collect();
        v.sort();
        v
    }

    /// A checkpoint of an empty segment, then one with rows: the second
    /// extends the first's vector file. It used to append a second header
    /// to it (the file was "new" whenever it had no rows), and the reopen
    /// failed its checksum; the server's first maintenance tick on a new
    /// collection takes exactly that first checkpoint.
    #[test]
    fn an_empty_checkpoint_is_extended_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let config = CollectionConfig::named([("a", VectorParams::new(6, Distance::Cosine))]);
        {
            let db = Database::open(dir.path()).unwrap();
            let c = db.create_collection("c", config).unwrap();
            c.checkpoint().unwrap();
            c.upsert(points(0..10)).unwrap();
            c.checkpoint().unwrap();
        }
        let db = Database::open(dir.path()).unwrap();
        let c = db.collection("c").unwrap();
        assert_eq!(c.count(), 10);
        assert_eq!(c.search(&query()).unwrap().len(), 10);
    }

    #[test]
    fn reopening_reads_the_graph_and_appends_to_the_vector_file() {
        let dir = tempfile::tempdir().unwrap();
        for on_disk in [false, true] {
            let _ = std::fs::remove_dir_all(dir.path().join("collections"));
            let config = CollectionConfig::named([(
                "a",
                VectorParams::new(6, Distance::Cosine).with_on_disk(on_disk),
            )]);
            let (before, hits_before) = {
                let db = Database::open(dir.path()).unwrap();
                let c = db.create_collection("c", config).unwrap();
                c.upsert(points(0..1500)).unwrap();
                c.finish_indexing();
                assert_eq!(c.pending_indexing(), 0);
                c.checkpoint().unwrap();
                (graphs(&db), c.search(&query()).unwrap())
            };
            let vec_files = files(dir.path(), "vectors-");
            assert_eq!(vec_files.len(), 1);
            let db = Database::open(dir.path()).unwrap();
            let c = db.collection("c").unwrap();
            // nothing to index, and the very same graph, link for link:
            // read, not rebuilt
            assert_eq!(c.pending_indexing(), 0);
            assert!(graphs(&db) == before, "the graph changed");
            let hits = c.search(&query()).unwrap();
            assert_eq!(hits, hits_before);
            let memory = c.info().memory;
            let data = 1500 * 6 * 4;
            if on_disk {
                assert_eq!(
                    (memory.vectors_on_disk, memory.vectors_in_memory),
                    (data, 0)
                );
            } else {
                assert_eq!(
                    (memory.vectors_on_disk, memory.vectors_in_memory),
                    (0, data)
                );
            }
            // more rows, another checkpoint: the same vector file, longer
            c.upsert(points(1500..2000)).unwrap();
            c.delete(&(0..100).map(PointId::Num).collect::<Vec<_>>())
                .unwrap();
            c.finish_indexing();
            c.checkpoint().unwrap();
            assert_eq!(files(dir.path(), "vectors-"), vec_files);
            let len = std::fs::metadata(dir.path().join("collections/c").join(&vec_files[0]))
                .unwrap()
                .len();
            assert_eq!(len, VECTORS_HEADER + 2000 * 6 * 4);
            assert_eq!(files(dir.path(), "state-").len(), 1);
            assert_eq!(files(dir.path(), "graph-").len(), 1);
            let before = graphs(&db);
            drop(c);
            drop(db);
            let db = Database::open(dir.path()).unwrap();
            let after = graphs(&db);
            assert!(
                after == before,
                "the graph changed: {}",
                diff(&after, &before)
            );
            let c = db.collection("c").unwrap();
            assert_eq!(c.count(), 1900);
            // a compaction starts new files; the next checkpoint drops the old
            c.optimize().unwrap();
            c.checkpoint().unwrap();
            let now = files(dir.path(), "vectors-");
            assert_eq!(now.len(), 1);
            assert_ne!(now, vec_files);
            drop(c);
            drop(db);
            let db = Database::open(dir.path()).unwrap();
            let c = db.collection("c").unwrap();
            assert_eq!((c.count(), c.info().rows_count), (1900, 1900));
            let with = crate::WithSelectors {
                payload: crate::PayloadSelector::All,
                vectors: crate::VectorSelector::None,
            };
            let got = c.get(&[PointId::Num(1999)], &with).unwrap();
            assert_eq!(got[0].payload.as_ref().unwrap().as_map()["i"], 1999);
        }
    }

    #[test]
    fn unindexed_rows_are_searchable_at_once_and_indexed_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config = CollectionConfig::named([("a", VectorParams::new(6, Distance::Euclid))]);
        {
            let db = Database::open(dir.path()).unwrap();
            let c = db.create_collection("c", config).unwrap();
            c.upsert(points(0..4000)).unwrap();
            // every point finds itself first, indexed yet or not
            for id in [0u64, 1999, 3999] {
                let v = points(id..id + 1).remove(0).vectors;
                let req = SearchRequest {
                    using: "a".into(),
                    ..SearchRequest::new(v.dense("a").unwrap().to_vec(), 1)
                };
                assert_eq!(c.search(&req).unwrap()[0].id, PointId::Num(id));
            }
            // a checkpoint may catch the indexer half-way
            c.checkpoint().unwrap();
        }
        let db = Database::open(dir.path()).unwrap();
        let c = db.collection("c").unwrap();
        c.finish_indexing();
        assert_eq!(c.pending_indexing(), 0);
        assert_eq!(c.info().indexed_vectors_count, 4000);
        let exact = SearchRequest {
            params: crate::SearchParams {
                exact: true,
                ..Default::default()
            },
            ..query()
        };
        let graph = c.search(&query()).unwrap();
        let truth = c.search(&exact).unwrap();
        let ids = |h: &[crate::ScoredPoint]| h.iter().map(|p| p.id).collect::<Vec<_>>();
        let overlap = ids(&graph)
            .iter()
            .filter(|i| ids(&truth).contains(i))
            .count();
        assert!(overlap >= 9, "recall@10 {overlap}/10 after reopen");
    }
}
