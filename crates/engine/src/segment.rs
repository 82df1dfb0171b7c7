//! A segment: the rows of a collection, their vectors by name with one HNSW
//! graph each, and the table that maps point ids to rows.
//!
//! Rows are write-once: an upsert, even of an existing id, appends a new
//! row and retires the old one; so readers search vectors and graphs with no
//! lock while one writer appends. The point table (ids, payloads,
//! versions) sits behind a `RwLock` that searches take only to turn their
//! best rows into points.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::HashSet;
use vicinity_index::{
    AtomicBitSet, Bf16Rows, BinaryRows, HnswGraph, I8Rows, PointFilter, PqRows, ProductQuantizer,
    ScalarQuantizer, SparseIndex, VectorStore,
};

use roaring::RoaringBitmap;
use vicinity_payload::filter::text::TokenizerOptions;
use vicinity_payload::filter::{Candidates, FieldCondition, IndexSource};
use vicinity_payload::{FieldIndex, FieldType, Filter, JsonPath, Payload, PointView};
use vicinity_storage::PointOffset;

use crate::{
    CollectionConfig, Error, PointId, QuantizationConfig, Result, SparseVector, SparseVectorParams,
    Vector, Vectors,
};

/// One named sparse vector space of a segment: its rows and inverted
/// index behind one lock (taken after the table's, never before), and the
/// rows without a live vector.
pub(crate) struct SparseColumn {
    pub(crate) name: String,
    pub(crate) params: SparseVectorParams,
    pub(crate) index: RwLock<SparseIndex>,
    pub(crate) absent: AtomicBitSet,
}

impl SparseColumn {
    pub(crate) fn new(name: String, params: SparseVectorParams) -> Self {
        SparseColumn {
            name,
            params,
            index: RwLock::new(SparseIndex::new()),
            absent: AtomicBitSet::new(),
        }
    }

    /// A live row's vector.
    pub(crate) fn get(&self, row: PointOffset) -> Option<SparseVector> {
        if self.absent.contains(row) {
            return None;
        }
        let index = self.index.read();
        let (indices, values) = index.get(row)?;
        Some(SparseVector::new(indices.to_vec(), values.to_vec()))
    }
}

/// A sparse vector as a row borrows it: indices and values.
pub(crate) type SparseRef<'a> = (&'a [u32], &'a [f32]);

/// One named vector space of a segment.
pub(crate) struct VectorColumn {
    pub(crate) name: String,
    pub(crate) store: VectorStore,
    pub(crate) graph: HnswGraph,
    /// Rows with no live vector of this name: retired rows, deleted points
    /// and points without this vector.
    pub(crate) absent: AtomicBitSet,
    /// While a large backlog is indexed, a `bfloat16` copy of the rows
    /// that the graph is built over (half the bytes per distance); dropped
    /// once the indexer catches up. Only the indexer touches it, under
    /// the segment's index lock.
    pub(crate) build_copy: Mutex<Option<Bf16Rows>>,
    /// The vector's quantization, if configured (changed in place by
    /// [`Collection::update_quantization`](crate::Collection::update_quantization)).
    pub(crate) quantization: RwLock<Option<QuantizationConfig>>,
    /// Its codes: made (the map trained on the rows there) when the first
    /// rows are indexed, then extended as rows are, so that every row in
    /// the graph has its codes; made again, trained on more rows, each
    /// time the rows double while the first training saw fewer than its
    /// sample, and when the quantization changes. Searches hold the codes
    /// they started with; rebuilt from the vectors when a segment is
    /// copied or opened.
    pub(crate) codes: RwLock<Option<Arc<Codes>>>,
}

/// A vector's quantized codes, with what made them.
pub(crate) struct Codes {
    /// The quantization they were made for.
    pub(crate) config: QuantizationConfig,
    /// Rows their map was trained on.
    trained_on: usize,
    /// The code rows.
    pub(crate) rows: CodeKind,
}

/// Code rows of each kind of quantization.
pub(crate) enum CodeKind {
    /// Scalar `int8` codes.
    Scalar(I8Rows),
    /// One, two or one and a half bits per value.
    Binary(BinaryRows),
    /// A byte per chunk of values.
    Product(PqRows),
}

/// Rows a map is trained on at most (the quantizers' sample); codes trained
/// on fewer are made again as the rows double.
const TRAIN_ROWS: usize = vicinity_index::codes::SAMPLE_ROWS;

impl Codes {
    /// Rows encoded.
    pub(crate) fn len(&self) -> usize {
        match &self.rows {
            CodeKind::Scalar(c) => c.len(),
            CodeKind::Binary(c) => c.len(),
            CodeKind::Product(c) => c.len(),
        }
    }

    fn extend_to(
        &self,
        store: &VectorStore,
        to: usize,
    ) -> std::result::Result<(), vicinity_index::IndexError> {
        match &self.rows {
            CodeKind::Scalar(c) => c.extend_to(store, to),
            CodeKind::Binary(c) => c.extend_to(store, to),
            CodeKind::Product(c) => c.extend_to(store, to),
        }
    }

    /// Bytes of memory the codes hold.
    pub(crate) fn reserved_bytes(&self) -> usize {
        match &self.rows {
            CodeKind::Scalar(c) => c.reserved_bytes(),
            CodeKind::Binary(c) => c.reserved_bytes(),
            CodeKind::Product(c) => c.reserved_bytes(),
        }
    }
}

/// Whether a quantization's codes depend on the rows they were trained on
/// (one-bit binary codes do not).
fn trains(config: &QuantizationConfig) -> bool {
    !matches!(
        config,
        QuantizationConfig::Binary(crate::config::BinaryQuantization {
            encoding: None | Some(crate::config::BinaryEncoding::OneBit),
            ..
        })
    )
}

/// The smallest backlog of rows to index that starts a construction copy
/// ([`Bf16Rows`]): below it, copying the rows costs more than it saves.
/// The copy also waits for a backlog of an eighth of the rows, so that
/// copying every row once is paid for by inserting that many.
const BUILD_COPY_MIN: usize = 8_192;

impl VectorColumn {
    /// A column of stored vectors, their graph and absent rows.
    pub(crate) fn new(
        name: String,
        store: VectorStore,
        graph: HnswGraph,
        absent: AtomicBitSet,
        quantization: Option<QuantizationConfig>,
    ) -> Self {
        VectorColumn {
            name,
            store,
            graph,
            absent,
            build_copy: Mutex::new(None),
            quantization: RwLock::new(quantization),
            codes: RwLock::new(None),
        }
    }

    /// Encodes rows up to `to` if the vector is quantized: with the codes
    /// there, or with new ones trained on the rows stored so far when there
    /// are none yet, the quantization changed, or the rows have doubled
    /// since a training that saw fewer than its sample. New codes are
    /// encoded up to `to` before searches see them. Without quantization,
    /// drops the codes.
    pub(crate) fn encode_to(&self, to: usize) -> Result<()> {
        let Some(config) = self.quantization.read().clone() else {
            *self.codes.write() = None;
            return Ok(());
        };
        let err = |e| Error::for_vector(&self.name, e);
        let current = self.codes.read().clone();
        let rows = self.store.len();
        let fresh = match &current {
            Some(c) => {
                c.config != config
                    || (c.trained_on < TRAIN_ROWS
                        && rows >= 2 * c.trained_on.max(1)
                        && trains(&config))
            }
            None => true,
        };
        if !fresh {
            let codes = current.expect("codes are there unless fresh ones are due");
            return codes.extend_to(&self.store, to).map_err(err);
        }
        let kind = match &config {
            QuantizationConfig::Scalar(scalar) => {
                let quantizer =
                    ScalarQuantizer::train(&self.store, scalar.quantile).map_err(err)?;
                CodeKind::Scalar(I8Rows::new(quantizer).map_err(err)?)
            }
            QuantizationConfig::Binary(binary) => {
                use crate::config::{BinaryEncoding as E, BinaryQueryEncoding as Q};
                use vicinity_index::{BinaryBits, BinaryEncoder, QueryBits};
                let bits = match binary.encoding {
                    None | Some(E::OneBit) => BinaryBits::One,
                    Some(E::TwoBits) => BinaryBits::Two,
                    Some(E::OneAndHalfBits) => BinaryBits::OneAndHalf,
                };
                let query = match binary.query_encoding {
                    None | Some(Q::Default | Q::Binary) => QueryBits::Storage,
                    Some(Q::Scalar4bits) => QueryBits::Scalar4,
                    Some(Q::Scalar8bits) => QueryBits::Scalar8,
                };
                let encoder = BinaryEncoder::train(&self.store, bits, query).map_err(err)?;
                CodeKind::Binary(BinaryRows::new(encoder).map_err(err)?)
            }
            QuantizationConfig::Product(product) => {
                let quantizer = ProductQuantizer::train(&self.store, product.compression.bucket())
                    .map_err(err)?;
                CodeKind::Product(PqRows::new(quantizer).map_err(err)?)
            }
        };
        let codes = Codes {
            config,
            trained_on: rows,
            rows: kind,
        };
        // old codes may cover more rows than `to`: the new ones do too
        let to = to.max(current.as_ref().map_or(0, |c| c.len()));
        codes.extend_to(&self.store, to).map_err(err)?;
        *self.codes.write() = Some(Arc::new(codes));
        Ok(())
    }

    /// The vector stored in a row, as users see it (a multivector as its
    /// matrix).
    pub(crate) fn vector(&self, row: PointOffset) -> Option<Vector> {
        let stored = self.store.decode(self.store.get(row)?);
        Some(if self.store.is_multi() {
            Vector::Multi(
                vicinity_index::multi::vectors(&stored)
                    .map(<[f32]>::to_vec)
                    .collect(),
            )
        } else {
            Vector::Dense(stored.into_owned())
        })
    }

    /// A vector given for this column (validated), as it is stored:
    /// preprocessed, a multivector encoded (a dense vector for a
    /// multivector column is a matrix of one, as in Qdrant).
    pub(crate) fn encode(&self, v: crate::VectorRef<'_>) -> Result<Vec<f32>> {
        let err = |e| Error::for_vector(&self.name, e);
        match v {
            crate::VectorRef::Multi(m) => self
                .store
                .prepare_multi_query(m.iter().map(Vec::as_slice))
                .map_err(err),
            crate::VectorRef::Dense(d) => self.store.prepare_query(d).map_err(err),
            crate::VectorRef::Sparse(_) => Err(crate::collection::wrong_sparse()),
        }
    }

    /// The codes, if they cover the first `rows` rows.
    pub(crate) fn codes_for(&self, rows: usize) -> Option<Arc<Codes>> {
        self.codes.read().clone().filter(|c| c.len() >= rows)
    }

    /// Inserts `nodes` (rows below `to`) into the graph, over the
    /// construction copy when the backlog of `backlog` rows warrants one
    /// (started, or kept up to `to`, here); `done` drops the copy.
    fn index(
        &self,
        nodes: &[PointOffset],
        to: usize,
        backlog: usize,
        done: bool,
        pool: Option<&rayon::ThreadPool>,
    ) -> Result<()> {
        let mut copy = self.build_copy.lock();
        if copy.is_none()
            && Bf16Rows::suits(self.store.distance())
            && Bf16Rows::suits_datatype(self.store.datatype())
            && !self.store.is_multi()
            && backlog >= BUILD_COPY_MIN.max(self.store.len() / 8)
        {
            *copy = Some(Bf16Rows::new(&self.store).map_err(|e| Error::for_vector(&self.name, e))?);
        }
        let insert = || match copy.as_ref() {
            Some(rows) => {
                rows.extend_to(&self.store, to)
                    .map_err(|e| Error::for_vector(&self.name, e))?;
                self.graph.insert_many(rows, nodes);
                Ok(())
            }
            None => {
                self.graph.insert_many(&self.store, nodes);
                Ok(())
            }
        };
        let out = match pool {
            Some(p) => p.install(insert),
            None => insert(),
        };
        if done {
            *copy = None;
        }
        out
    }
}

/// Per-row metadata.
#[derive(Clone)]
pub(crate) struct RowMeta {
    pub(crate) id: PointId,
    pub(crate) version: u64,
    pub(crate) payload: Payload,
}

/// The id map and per-row metadata, guarded together.
#[derive(Default)]
pub(crate) struct PointTable {
    /// Live ids and their current row, in scroll order.
    pub(crate) ids: BTreeMap<PointId, PointOffset>,
    /// Payload indexes by key, over live rows.
    pub(crate) indexes: BTreeMap<String, FieldIndex>,
    /// Metadata of every published row, live or retired.
    pub(crate) rows: Vec<RowMeta>,
    /// Per row, whether it is the live row of its id.
    pub(crate) is_live: Vec<bool>,
}

/// A live row as a filter sees it.
pub(crate) struct RowView<'a> {
    pub(crate) segment: &'a Segment,
    pub(crate) table: &'a PointTable,
    pub(crate) row: PointOffset,
    pub(crate) meta: &'a RowMeta,
    /// The filter's field conditions that an index can answer, with it.
    pub(crate) indexed: &'a [(&'a FieldCondition, &'a FieldIndex)],
}

impl IndexSource for PointTable {
    fn index(&self, key: &JsonPath) -> Option<&FieldIndex> {
        self.indexes.get(&key.to_string())
    }

    fn rows_of(&self, ids: &HashSet<PointId>) -> RoaringBitmap {
        ids.iter()
            .filter_map(|id| self.ids.get(id))
            .map(|r| r.0)
            .collect()
    }
}

impl PointView for RowView<'_> {
    fn tokenizer(&self, key: &JsonPath) -> TokenizerOptions {
        match self.table.index(key) {
            Some(i) if i.params().field_type == FieldType::Text => i.params().tokenizer.clone(),
            _ => TokenizerOptions::word(),
        }
    }

    fn payload(&self) -> &Map<String, Value> {
        self.meta.payload.as_map()
    }
    fn indexed(&self, c: &FieldCondition) -> Option<bool> {
        let (_, index) = self.indexed.iter().find(|(f, _)| std::ptr::eq(*f, c))?;
        index.check(self.row.0, c)
    }
    fn id(&self) -> Option<PointId> {
        Some(self.meta.id)
    }
    fn has_vector(&self, name: &str) -> bool {
        match self.segment.columns.iter().position(|c| c.name == name) {
            Some(c) => self.segment.has_vector(c, self.row),
            None => self
                .segment
                .sparse_column(name)
                .is_some_and(|c| !c.absent.contains(self.row)),
        }
    }
}

impl PointTable {
    /// Adds a row's payload to (or removes it from) every field index.
    pub(crate) fn index_row(&mut self, row: PointOffset, payload: &Payload, add: bool) {
        for index in self.indexes.values_mut() {
            if add {
                index.add(row.0, payload.as_map());
            } else {
                index.remove(row.0, payload.as_map());
            }
        }
    }

    /// Whether the live point in `row` passes `filter` (`false` for rows
    /// that are not live).
    /// `indexed`: the filter's field conditions that indexes answer (see
    /// [`plan`](Self::plan)).
    fn passes_with(
        &self,
        segment: &Segment,
        row: PointOffset,
        filter: &Filter,
        indexed: &[(&FieldCondition, &FieldIndex)],
    ) -> bool {
        self.live(row).is_some_and(|meta| {
            filter.check(&RowView {
                segment,
                table: self,
                row,
                meta,
                indexed,
            })
        })
    }

    /// The live rows passing `filter`, via its index candidates: a check
    /// per live row (`false` for others) and, when indexes narrow the
    /// filter, the candidate rows.
    pub(crate) fn plan<'t>(&'t self, segment: &'t Segment, filter: &'t Filter) -> FilterPlan<'t> {
        let indexed = filter
            .field_conditions()
            .into_iter()
            .filter_map(|c| Some((c, self.index(&c.key)?)))
            .collect();
        FilterPlan {
            table: self,
            segment,
            filter,
            candidates: filter.candidates(self),
            indexed,
        }
    }

    /// The live points passing `filter` (all live points for `None`), in
    /// id order.
    pub(crate) fn matching<'t>(
        &'t self,
        segment: &'t Segment,
        filter: Option<&'t Filter>,
    ) -> Box<dyn Iterator<Item = (PointId, PointOffset)> + 't> {
        let Some(filter) = filter else {
            return Box::new(self.ids.iter().map(|(&id, &row)| (id, row)));
        };
        let plan = self.plan(segment, filter);
        match &plan.candidates.rows {
            // Few candidates: check those and sort them by id.
            Some(rows) if (rows.len() as usize) < self.ids.len() / 4 => {
                let mut hits: Vec<(PointId, PointOffset)> = rows
                    .iter()
                    .map(PointOffset)
                    .filter(|&r| plan.check(r))
                    .map(|r| (self.rows[r.index()].id, r))
                    .collect();
                hits.sort_unstable();
                Box::new(hits.into_iter())
            }
            _ => Box::new(
                self.ids
                    .iter()
                    .filter(move |&(_, &row)| plan.check(row))
                    .map(|(&id, &row)| (id, row)),
            ),
        }
    }

    /// The live rows as a bitmap.
    pub(crate) fn live_rows(&self) -> RoaringBitmap {
        self.ids.values().map(|r| r.0).collect()
    }

    /// The live row's metadata, if `offset` is live.
    #[inline]
    pub(crate) fn live(&self, offset: PointOffset) -> Option<&RowMeta> {
        if *self.is_live.get(offset.index())? {
            Some(&self.rows[offset.index()])
        } else {
            None
        }
    }
}

/// A filter with what the indexes say about it.
pub(crate) struct FilterPlan<'t> {
    table: &'t PointTable,
    segment: &'t Segment,
    filter: &'t Filter,
    pub(crate) candidates: Candidates,
    /// Field conditions on indexed keys, with their index: checked from
    /// the index where it can answer, rather than from the payload.
    indexed: Vec<(&'t FieldCondition, &'t FieldIndex)>,
}

impl FilterPlan<'_> {
    /// Whether the live point in `row` passes (`false` for rows that are
    /// not live).
    pub(crate) fn check(&self, row: PointOffset) -> bool {
        let c = &self.candidates;
        match (&c.rows, c.exact) {
            (Some(rows), true) => rows.contains(row.0) && self.table.live(row).is_some(),
            (Some(rows), false) => rows.contains(row.0) && self.passes(row),
            (None, true) => self.table.live(row).is_some(),
            (None, false) => self.passes(row),
        }
    }

    fn passes(&self, row: PointOffset) -> bool {
        self.table
            .passes_with(self.segment, row, self.filter, &self.indexed)
    }

    /// How many rows may pass, when the indexes bound it.
    pub(crate) fn bound(&self) -> Option<usize> {
        self.candidates.rows.as_ref().map(|r| r.len() as usize)
    }
}

/// A row to append: the vectors by column index and the metadata.
pub(crate) struct NewRow<'a> {
    pub(crate) vectors: Vec<Option<&'a [f32]>>,
    /// The sparse vectors, by sparse column index.
    pub(crate) sparse: Vec<Option<SparseRef<'a>>>,
    /// Whether the vectors are copies of stored (already preprocessed)
    /// rows, to be stored bit for bit.
    pub(crate) preprocessed: bool,
    pub(crate) meta: RowMeta,
}

/// A row's vectors, owned: dense ones by column, sparse ones by sparse
/// column.
#[derive(Default)]
pub(crate) struct StoredVectors {
    pub(crate) dense: Vec<Option<Vec<f32>>>,
    pub(crate) sparse: Vec<Option<SparseVector>>,
}

impl<'a> NewRow<'a> {
    /// A row of vectors already stored (preprocessed) elsewhere, copied bit
    /// for bit, with its metadata.
    pub(crate) fn stored(meta: &RowMeta, vectors: &'a StoredVectors) -> Self {
        NewRow {
            vectors: vectors.dense.iter().map(|v| v.as_deref()).collect(),
            sparse: vectors
                .sparse
                .iter()
                .map(|v| v.as_ref().map(|v| (&v.indices[..], &v.values[..])))
                .collect(),
            preprocessed: true,
            meta: meta.clone(),
        }
    }
}

/// The rows of a collection.
pub(crate) struct Segment {
    pub(crate) columns: Vec<VectorColumn>,
    pub(crate) sparse: Vec<SparseColumn>,
    pub(crate) table: RwLock<PointTable>,
    /// Rows `< published` are in the table; searches ignore later rows,
    /// which are still being written.
    published: AtomicUsize,
    /// Rows `< indexed` are in every graph they belong in; searches score
    /// later rows exactly. The indexer moves it up in the background.
    indexed: AtomicUsize,
    /// Held while rows go into the graphs, and by a checkpoint reading
    /// them, so that it sees whole insertions only.
    pub(crate) index_lock: Mutex<()>,
    /// Rows in locality order: the row count when [`reordered`](Self::reordered)
    /// made this segment, 0 for any other.
    ordered_rows: AtomicUsize,
}

/// Rows a search of one column may return: published and holding a live
/// vector. One check per visited node.
pub(crate) struct Searchable<'a> {
    absent: &'a AtomicBitSet,
    pub(crate) published: u32,
}

impl PointFilter for Searchable<'_> {
    #[inline]
    fn check(&self, offset: PointOffset) -> bool {
        offset.0 < self.published && !self.absent.contains(offset)
    }
}

impl Segment {
    pub(crate) fn new(config: &CollectionConfig) -> Result<Self> {
        let columns = config
            .vectors
            .iter()
            .map(|(name, params)| {
                let store = VectorStore::create(
                    params.size,
                    params.distance,
                    params.datatype(),
                    params.is_multi(),
                )?;
                Ok(VectorColumn::new(
                    name.clone(),
                    store,
                    HnswGraph::new(config.hnsw_for(name))?,
                    AtomicBitSet::new(),
                    config.quantization_for(name).cloned(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let sparse = config
            .sparse_vectors
            .iter()
            .map(|(name, params)| SparseColumn::new(name.clone(), params.clone()))
            .collect();
        Ok(Segment {
            columns,
            sparse,
            table: RwLock::new(PointTable::default()),
            published: AtomicUsize::new(0),
            indexed: AtomicUsize::new(0),
            index_lock: Mutex::new(()),
            ordered_rows: AtomicUsize::new(0),
        })
    }

    /// A segment of columns and a table read from a checkpoint, with
    /// `rows` rows published, of which the first `indexed` are in the
    /// graphs.
    pub(crate) fn from_parts(
        columns: Vec<VectorColumn>,
        sparse: Vec<SparseColumn>,
        table: PointTable,
        rows: usize,
        indexed: usize,
    ) -> Self {
        Segment {
            columns,
            sparse,
            table: RwLock::new(table),
            published: AtomicUsize::new(rows),
            indexed: AtomicUsize::new(indexed.min(rows)),
            index_lock: Mutex::new(()),
            ordered_rows: AtomicUsize::new(0),
        }
    }

    /// Encodes the rows in the graphs, for quantized vectors (a segment
    /// made with its graphs, not by indexing: opened, or renumbered).
    pub(crate) fn encode_indexed(&self) -> Result<()> {
        let indexed = self.indexed();
        self.columns.iter().try_for_each(|c| c.encode_to(indexed))
    }

    /// Rows `< indexed()` are in the graphs; later ones are scored exactly.
    pub(crate) fn indexed(&self) -> usize {
        self.indexed.load(Ordering::Acquire)
    }

    /// Inserts every row not in the graphs yet, in the indexer's chunks
    /// (see [`Collection::finish_indexing`](crate::Collection::finish_indexing)).
    pub(crate) fn index_all(&self, pool: Option<&rayon::ThreadPool>) {
        while self.index_some(crate::indexer::CHUNK, pool) > 0 {}
    }

    /// Inserts up to `max` rows that are not in the graphs yet (those with
    /// a vector; in parallel on `pool`, or rayon's global pool) and returns
    /// how many rows it covered: 0 when none was waiting.
    ///
    /// The index lock is taken on the calling thread, before any work goes
    /// to the pool: a pool thread blocked on it could hold a task stolen
    /// from the lock's holder, which would then wait for it forever. So
    /// this must not be called from inside the pool's own jobs.
    pub(crate) fn index_some(&self, max: usize, pool: Option<&rayon::ThreadPool>) -> usize {
        let _g = self.index_lock.lock();
        let from = self.indexed.load(Ordering::Acquire);
        let to = self.row_count().min(from.saturating_add(max));
        if from >= to {
            return 0;
        }
        let rows = self.row_count();
        for column in &self.columns {
            // no memory for codes: the walks read the vectors instead
            let _ = column.encode_to(to);
            let nodes: Vec<PointOffset> = (from as u32..to as u32)
                .map(PointOffset)
                .filter(|&r| !column.absent.contains(r))
                .collect();
            if column
                .index(&nodes, to, rows - from, to >= rows, pool)
                .is_err()
            {
                // no memory for the copy: build over the vectors
                *column.build_copy.lock() = None;
                match pool {
                    Some(p) => p.install(|| column.graph.insert_many(&column.store, &nodes)),
                    None => column.graph.insert_many(&column.store, &nodes),
                }
            }
        }
        self.indexed.store(to, Ordering::Release);
        to - from
    }

    /// The column of a vector name.
    /// The dense column of a vector name: a sparse name is refused with
    /// Qdrant's conversion error, any other unknown name as unknown.
    pub(crate) fn column(&self, name: &str) -> Result<(usize, &VectorColumn)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
            .ok_or_else(|| {
                if self.sparse_column(name).is_some() {
                    crate::collection::wrong_sparse()
                } else {
                    Error::UnknownVector {
                        name: name.to_string(),
                    }
                }
            })
    }

    /// The sparse column of a vector name, if it is one.
    pub(crate) fn sparse_column(&self, name: &str) -> Option<&SparseColumn> {
        self.sparse.iter().find(|c| c.name == name)
    }

    /// The filter of rows a search of `column` may return.
    pub(crate) fn searchable<'a>(&self, column: &'a VectorColumn) -> Searchable<'a> {
        self.searchable_rows(&column.absent)
    }

    /// The filter of published rows not in `absent`.
    pub(crate) fn searchable_rows<'a>(&self, absent: &'a AtomicBitSet) -> Searchable<'a> {
        Searchable {
            absent,
            published: self.published.load(Ordering::Acquire) as u32,
        }
    }

    /// Rows appended so far (live and retired).
    pub(crate) fn row_count(&self) -> usize {
        self.published.load(Ordering::Acquire)
    }

    /// Appends rows and makes them live, retiring the rows their ids had.
    /// Vectors must already be validated. The caller is the collection's
    /// one writer. The rows are searchable at once, by exact scoring, and
    /// enter the graphs when the indexer gets to them.
    pub(crate) fn append(&self, rows: Vec<NewRow<'_>>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // 1. Vectors, in lockstep so that every column shares the offsets.
        //    Capacity is reserved first, so no push fails half-way.
        for column in &self.columns {
            column
                .store
                .reserve(rows.len())
                .map_err(|e| Error::for_vector(&column.name, e))?;
        }
        let first = self.published.load(Ordering::Acquire);
        for (i, row) in rows.iter().enumerate() {
            let offset = PointOffset((first + i) as u32);
            for (c, column) in self.columns.iter().enumerate() {
                let got = match row.vectors[c] {
                    Some(v) => {
                        // multivector rows come encoded (`VectorColumn::encode`)
                        if row.preprocessed || column.store.is_multi() {
                            column.store.push_preprocessed(v)
                        } else {
                            column.store.push(v)
                        }
                    }
                    None => {
                        column.absent.insert(offset);
                        column.store.push_absent()
                    }
                }
                .map_err(|e| Error::for_vector(&column.name, e))?;
                assert_eq!(got, offset, "vector columns out of step");
            }
        }
        for (s, column) in self.sparse.iter().enumerate() {
            let mut index = column.index.write();
            for (i, row) in rows.iter().enumerate() {
                let offset = PointOffset((first + i) as u32);
                let got = match row.sparse[s] {
                    Some((indices, values)) => index.push(indices, values),
                    None => {
                        column.absent.insert(offset);
                        index.push_absent()
                    }
                };
                assert_eq!(got, offset, "sparse columns out of step");
            }
        }
        // 2. The table: new rows live, old rows retired, then published.
        //    The graphs get the rows later (`index_some`); until then
        //    searches score them exactly.
        let mut table = self.table.write();
        for (i, row) in rows.into_iter().enumerate() {
            let offset = PointOffset((first + i) as u32);
            if let Some(old) = table.ids.insert(row.meta.id, offset) {
                self.retire(&mut table, old);
            }
            table.index_row(offset, &row.meta.payload, true);
            table.rows.push(row.meta);
            table.is_live.push(true);
        }
        self.published.store(table.rows.len(), Ordering::Release);
        Ok(())
    }

    /// Whether every row is live and in the graphs: nothing for a
    /// compaction to drop or for the indexer to add.
    pub(crate) fn is_compact(&self) -> bool {
        let _g = self.index_lock.lock();
        let table = self.table.read();
        let rows = self.row_count();
        table.ids.len() == rows && self.indexed() >= rows
    }

    /// Whether every row is in locality order and nothing has come since
    /// (see [`reordered`](Self::reordered)).
    pub(crate) fn is_ordered(&self) -> bool {
        let rows = self.row_count();
        rows > 0 && self.ordered_rows.load(Ordering::Acquire) == rows && self.is_compact()
    }

    /// The row count when this segment was put in locality order (0: never).
    pub(crate) fn ordered_rows(&self) -> usize {
        self.ordered_rows.load(Ordering::Acquire)
    }

    /// A new segment holding copies of `rows` (live rows of this one), in
    /// that order, with empty payload indexes of the same kinds filled as
    /// they go in; nothing is in its graphs yet.
    pub(crate) fn copy_rows(
        &self,
        config: &CollectionConfig,
        rows: &[PointOffset],
    ) -> Result<Self> {
        let fresh = Segment::new(config)?;
        // the quantization in force now (changed in place since `config`
        // may have been read)
        for (new, old) in fresh.columns.iter().zip(&self.columns) {
            *new.quantization.write() = old.quantization.read().clone();
        }
        let table = self.table.read();
        fresh.table.write().indexes = table
            .indexes
            .iter()
            .map(|(k, i)| {
                (
                    k.clone(),
                    FieldIndex::new(i.key().clone(), i.params().clone()),
                )
            })
            .collect();
        // payload clones are most of the work: spread over the pool
        let sparse: Vec<_> = self.sparse.iter().map(|c| c.index.read()).collect();
        let new_rows = rows
            .par_iter()
            .map(|&row| NewRow {
                sparse: self
                    .sparse
                    .iter()
                    .zip(&sparse)
                    .map(|(col, index)| {
                        if col.absent.contains(row) {
                            None
                        } else {
                            index.get(row)
                        }
                    })
                    .collect(),
                vectors: self
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(c, col)| {
                        if self.has_vector(c, row) {
                            col.store.get(row)
                        } else {
                            None
                        }
                    })
                    .collect(),
                preprocessed: true,
                meta: table.rows[row.index()].clone(),
            })
            .collect();
        fresh.append(new_rows)?;
        Ok(fresh)
    }

    /// A copy of this segment, which must be compact
    /// ([`is_compact`](Self::is_compact)), with its rows renumbered in the
    /// locality order of its largest graph and every graph relabeled to
    /// match, not rebuilt.
    pub(crate) fn reordered(&self, config: &CollectionConfig) -> Result<Self> {
        let _g = self.index_lock.lock();
        let rows = self.row_count();
        let order = match self.columns.iter().max_by_key(|c| c.graph.len()) {
            Some(c) => c.graph.locality_order(rows),
            None => (0..rows as u32).collect(),
        };
        let mut new_of_old = vec![0u32; rows];
        for (new, &old) in order.iter().enumerate() {
            new_of_old[old as usize] = new as u32;
        }
        let order: Vec<PointOffset> = order.into_iter().map(PointOffset).collect();
        let mut fresh = self.copy_rows(config, &order)?;
        for (to, from) in fresh.columns.iter_mut().zip(&self.columns) {
            to.graph = from
                .graph
                .relabeled(&new_of_old)
                .map_err(|e| Error::for_vector(&from.name, e))?;
        }
        fresh.indexed.store(rows, Ordering::Release);
        fresh.ordered_rows.store(rows, Ordering::Release);
        fresh.encode_indexed()?;
        Ok(fresh)
    }

    /// Hides a row from every search and drops it from the field indexes.
    fn retire(&self, table: &mut PointTable, offset: PointOffset) {
        for column in &self.columns {
            column.absent.insert(offset);
        }
        for column in &self.sparse {
            column.absent.insert(offset);
            column.index.write().retire(offset);
        }
        let payload = std::mem::take(&mut table.rows[offset.index()].payload);
        table.index_row(offset, &payload, false);
        table.is_live[offset.index()] = false;
    }

    /// Deletes points; returns how many existed.
    pub(crate) fn delete(&self, ids: &[PointId]) -> usize {
        let mut table = self.table.write();
        let mut n = 0;
        for id in ids {
            if let Some(old) = table.ids.remove(id) {
                self.retire(&mut table, old);
                n += 1;
            }
        }
        n
    }

    /// The vectors stored in a row, by name, as a [`Vectors`] value shaped
    /// like the collection (a single unnamed vector, or named ones).
    pub(crate) fn vectors_of(&self, offset: PointOffset, select: impl Fn(&str) -> bool) -> Vectors {
        let single =
            self.columns.len() == 1 && self.columns[0].name.is_empty() && self.sparse.is_empty();
        if single && !self.columns[0].store.is_multi() {
            let c = &self.columns[0];
            let v = if select(&c.name) && !c.absent.contains(offset) {
                c.store.get(offset).map(<[f32]>::to_vec).unwrap_or_default()
            } else {
                Vec::new()
            };
            return Vectors::Single(v);
        }
        let dense = self
            .columns
            .iter()
            .filter(|c| select(&c.name) && !c.absent.contains(offset))
            .filter_map(|c| Some((c.name.clone(), c.vector(offset)?)));
        let sparse = self
            .sparse
            .iter()
            .filter(|c| select(&c.name))
            .filter_map(|c| Some((c.name.clone(), Vector::Sparse(c.get(offset)?))));
        Vectors::Named(dense.chain(sparse).collect())
    }

    /// A live row's vectors, owned, by column.
    pub(crate) fn stored_vectors(&self, row: PointOffset) -> StoredVectors {
        StoredVectors {
            dense: self
                .columns
                .iter()
                .map(|c| {
                    if c.absent.contains(row) {
                        None
                    } else {
                        c.store.get(row).map(<[f32]>::to_vec)
                    }
                })
                .collect(),
            sparse: self.sparse.iter().map(|c| c.get(row)).collect(),
        }
    }

    /// Whether a row has a live vector in column `c`.
    pub(crate) fn has_vector(&self, c: usize, offset: PointOffset) -> bool {
        !self.columns[c].absent.contains(offset)
    }

    /// Where the bytes of vectors and graphs are.
    pub(crate) fn memory_report(&self, config: &CollectionConfig) -> crate::MemoryReport {
        let mut r = crate::MemoryReport::default();
        for c in &self.columns {
            let (base, _) = c.store.base_bytes();
            let on_disk = config
                .vectors
                .get(&c.name)
                .and_then(|p| p.on_disk)
                .unwrap_or(false);
            if on_disk {
                r.vectors_on_disk += base;
            } else {
                r.vectors_in_memory += base;
            }
            r.vectors_in_memory += c.store.reserved_bytes();
            // a construction copy, while a backlog is indexed
            r.vectors_in_memory += c
                .build_copy
                .lock()
                .as_ref()
                .map_or(0, |b| b.reserved_bytes());
            r.graphs += c.graph.memory_bytes();
            r.bitmaps += c.absent.allocated_bytes();
            r.codes += c
                .codes
                .read()
                .as_ref()
                .map_or(0, |codes| codes.reserved_bytes());
        }
        for c in &self.sparse {
            r.vectors_in_memory += c.index.read().memory_bytes();
            r.bitmaps += c.absent.allocated_bytes();
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Distance;

    fn rows(n: usize, dim: usize) -> Vec<Vec<f32>> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|_| {
                (0..dim)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                    })
                    .collect()
            })
            .collect()
    }

    fn segment_with(distance: Distance, data: &[Vec<f32>]) -> Segment {
        let segment = Segment::new(&CollectionConfig::single(data[0].len(), distance)).unwrap();
        let metas: Vec<RowMeta> = (0..data.len())
            .map(|i| RowMeta {
                id: PointId::Num(i as u64),
                version: 1,
                payload: Payload::new(),
            })
            .collect();
        segment
            .append(
                data.iter()
                    .zip(&metas)
                    .map(|(v, meta)| NewRow {
                        vectors: vec![Some(&v[..])],
                        sparse: Vec::new(),
                        preprocessed: false,
                        meta: meta.clone(),
                    })
                    .collect(),
            )
            .unwrap();
        segment
    }

    #[test]
    fn a_large_backlog_is_built_over_a_bf16_copy_dropped_when_done() {
        let data = rows(BUILD_COPY_MIN + 500, 8);
        let segment = segment_with(Distance::Cosine, &data);
        let column = &segment.columns[0];
        assert!(segment.index_some(1024, None) > 0);
        let copied = column.build_copy.lock().as_ref().map(|c| c.len());
        assert_eq!(copied, Some(1024), "the copy holds the rows indexed so far");
        let with_copy = segment.memory_report(&CollectionConfig::single(8, Distance::Cosine));
        while segment.index_some(1024, None) > 0 {}
        assert!(column.build_copy.lock().is_none(), "dropped once caught up");
        let without = segment.memory_report(&CollectionConfig::single(8, Distance::Cosine));
        assert!(with_copy.vectors_in_memory > without.vectors_in_memory);
        assert_eq!(column.graph.len(), data.len());
        // a small backlog after that is built over the f32 rows
        let more = segment_with(Distance::Cosine, &data[..100]);
        more.index_some(1024, None);
        assert!(more.columns[0].build_copy.lock().is_none());
        // Euclid's copy carries the rows' norms; Manhattan has none
        let l2 = segment_with(Distance::Euclid, &data);
        l2.index_some(1024, None);
        assert!(l2.columns[0].build_copy.lock().is_some());
        while l2.index_some(1024, None) > 0 {}
        assert_eq!(l2.columns[0].graph.len(), data.len());
        let l1 = segment_with(Distance::Manhattan, &data);
        l1.index_some(1024, None);
        assert!(l1.columns[0].build_copy.lock().is_none());
    }
}
