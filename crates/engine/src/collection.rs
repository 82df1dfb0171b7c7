//! A collection: points with vectors and payloads, searched in-process.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rayon::ThreadPool;
use std::collections::BTreeMap;
use vicinity_index::{
    HnswConfig, Nearest, PointFilter, ScoredOffset, Scorer, exact_search_scored, validate_vector,
    with_metric, with_store_metric,
};

use vicinity_payload::{FieldIndexParams, Filter};
use vicinity_storage::PointOffset;

use crate::segment::{PointTable, RowMeta, Segment};
use crate::{
    CollectionConfig, Direction, Error, FacetHit, FacetRequest, OrderBy, PointId,
    QuantizationConfig, Record, Result, ScoredPoint, ScrollRequest, ScrollResult, SearchParams,
    SearchRequest, SparseVector, UpdateResult, UpdateStatus, VectorRef, VectorSelector, Vectors,
    WithSelectors,
};

/// Qdrant's refusal of a dense vector where a sparse one belongs, or the
/// other way round.
pub(crate) fn wrong_sparse() -> Error {
    Error::BadRequest("Conversion between sparse and regular vectors failed".into())
}

/// Qdrant's refusal of a multivector where a single vector belongs.
pub(crate) fn wrong_multi() -> Error {
    Error::BadRequest("Wrong usage of multi vectors".into())
}

/// Qdrant's checks of a sparse vector (see [`SparseVector::validate`]).
pub(crate) fn validate_sparse(name: &str, v: &SparseVector) -> Result<()> {
    v.validate()
        .map_err(|e| Error::BadRequest(format!("Validation error in sparse vector {name:?}: {e}")))
}

/// The one writer's state.
pub(crate) struct Writer {
    /// The next operation's sequence number.
    pub(crate) next_seq: u64,
    /// The write-ahead log of a durable collection.
    pub(crate) wal: Option<vicinity_storage::Wal>,
    /// Bytes logged since the last checkpoint.
    pub(crate) logged_bytes: u64,
    /// While a vacuum builds its copy: every operation applied since the
    /// copy, with its sequence number, to apply to the copy before it
    /// takes the segment's place (see the `vacuum` module).
    pub(crate) catch_up: Option<Vec<(crate::UpdateOperation, u64)>>,
}

/// A `wait = true` write waiting for the group commit that carries it.
pub(crate) struct Pending {
    pub(crate) op: crate::UpdateOperation,
    pub(crate) done: Arc<Mutex<Option<Result<UpdateResult>>>>,
}

/// A payload index as the collection reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct PayloadIndexInfo {
    /// Its type and options.
    pub params: FieldIndexParams,
    /// Points it indexes (those with at least one value of its type).
    pub points: u64,
}

/// Where a collection's vectors and graphs are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryReport {
    /// Vector bytes in process memory: rows appended since opening
    /// (counted by the chunks reserved for them) and checkpointed rows
    /// read in, for vectors without `on_disk`.
    pub vectors_in_memory: usize,
    /// Vector bytes of `on_disk` vectors left in their files: the OS pages
    /// them in as searches touch them and may drop them again.
    pub vectors_on_disk: usize,
    /// Bytes of the HNSW graphs' links and levels.
    pub graphs: usize,
    /// Bytes of the per-vector "no vector in this row" bitmaps.
    pub bitmaps: usize,
    /// Bytes of quantized codes (always in memory).
    pub codes: usize,
}

/// Figures about a collection.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionInfo {
    /// `Yellow` while the background indexer works through a backlog
    /// larger than `full_scan_threshold` or renumbers rows (or `optimize`
    /// runs), as Qdrant reports its optimizers; `Green` otherwise (a few
    /// rows waiting, which Qdrant would not index yet either, do not count).
    /// Searches score rows not indexed yet exactly, so the answers are
    /// right either way; a benchmark waits for `Green`.
    pub status: CollectionStatus,
    /// Live points.
    pub points_count: usize,
    /// Live vectors in the HNSW graphs, all names together.
    pub indexed_vectors_count: usize,
    /// Rows stored, live and retired: what [`Collection::optimize`] compacts.
    pub rows_count: usize,
    /// Segments (one, until durable storage adds sealed ones).
    pub segments_count: usize,
    /// Bytes of process memory held by vectors and graphs
    /// (`memory.vectors_in_memory + memory.graphs + memory.bitmaps`).
    pub memory_bytes: usize,
    /// Where the bytes are, in detail.
    pub memory: MemoryReport,
    /// The configuration.
    pub config: CollectionConfig,
    /// The payload indexes by key.
    pub payload_schema: BTreeMap<String, PayloadIndexInfo>,
}

/// Whether a collection's background work is done (Qdrant's collection
/// status, without `Red`: a failure is an error, not a state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionStatus {
    /// Every row is indexed, nothing is being reworked.
    Green,
    /// A large backlog waits for the indexer, or rows are being renumbered
    /// or compacted.
    Yellow,
}

/// A named set of points, each with vectors and a JSON payload, with
/// Qdrant's semantics.
///
/// All methods take `&self`: reads run in parallel with each other and with
/// the one writer that writes run through, and a search holds no lock while
/// it walks the graph. Every write is visible to every read that starts
/// after it returns.
pub struct Collection {
    name: String,
    /// The configuration; replaced whole when the quantization changes.
    config: RwLock<Arc<CollectionConfig>>,
    pub(crate) segment: crate::indexer::SegmentSlot,
    /// The background indexer, started by the first write that needs it.
    indexer: Mutex<Option<crate::indexer::Indexer>>,
    pub(crate) writer: crate::indexer::WriterSlot,
    /// `wait = true` writes queued for the next group commit.
    pub(crate) commits: Mutex<Vec<Pending>>,
    /// The folder of a durable collection.
    pub(crate) storage: Mutex<Option<crate::persist::Storage>>,
    /// The files the last checkpoint wrote, which the next one extends.
    pub(crate) persisted: Mutex<Option<crate::checkpoint::Persisted>>,
    /// Held while rows are renumbered for locality, by
    /// [`optimize`](Collection::optimize) or by the indexer, or vacuumed,
    /// so that one rebuild runs at a time. Taken before the writer lock.
    pub(crate) reorder: Arc<Mutex<()>>,
    /// What the indexer's vacuums did.
    pub(crate) vacuums: Arc<crate::vacuum::VacuumStats>,
    /// Settings the layers above keep with the collection (the server's
    /// strict mode and metadata): stored in `config.json` and in
    /// snapshots, never read by the engine.
    pub(crate) settings: RwLock<serde_json::Map<String, serde_json::Value>>,
    /// Where parallel work runs (rayon's global pool if `None`).
    pub(crate) pool: Option<Arc<ThreadPool>>,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("name", &self.name)
            .field("points", &self.count())
            .finish_non_exhaustive()
    }
}

pub(crate) fn bad_limit(what: &str) -> Error {
    Error::BadRequest(format!(
        "Validation error in JSON body: [{what}: value 0 invalid, must be 1 or larger]"
    ))
}

impl Collection {
    /// An empty in-memory collection. Parallel work (graph building) runs on
    /// `pool` if given, else on rayon's global pool.
    pub fn new(
        name: impl Into<String>,
        config: CollectionConfig,
        pool: Option<Arc<ThreadPool>>,
    ) -> Result<Self> {
        let name = name.into();
        crate::config::validate_collection_name(&name)?;
        config.validate()?;
        let segment = Segment::new(&config)?;
        Ok(Collection {
            name,
            config: RwLock::new(Arc::new(config)),
            segment: Arc::new(RwLock::new(Arc::new(segment))),
            indexer: Mutex::new(None),
            writer: Arc::new(Mutex::new(Writer {
                next_seq: 0,
                wal: None,
                logged_bytes: 0,
                catch_up: None,
            })),
            commits: Mutex::new(Vec::new()),
            storage: Mutex::new(None),
            persisted: Mutex::new(None),
            reorder: Arc::new(Mutex::new(())),
            vacuums: Arc::default(),
            settings: RwLock::new(serde_json::Map::new()),
            pool,
        })
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The collection's configuration (as it is now: the quantization can
    /// change, see [`update_quantization`](Collection::update_quantization)).
    pub fn config(&self) -> Arc<CollectionConfig> {
        self.config.read().clone()
    }

    /// The settings kept with the collection for the layers above it (see
    /// [`set_settings`](Collection::set_settings)).
    pub fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        self.settings.read().clone()
    }

    /// Replaces the settings kept with the collection: JSON the engine
    /// stores beside its configuration (durably, before returning, in a
    /// durable collection) and carries in snapshots, but never reads. The
    /// server keeps a collection's strict mode and metadata here.
    pub fn set_settings(&self, settings: serde_json::Map<String, serde_json::Value>) -> Result<()> {
        let mut current = self.settings.write();
        if let Some(storage) = self.storage.lock().as_ref() {
            let doc = crate::persist::config_document(&self.config(), &settings)?;
            let path = storage.dir.join("config.json");
            storage
                .io
                .write_atomic(&path, &doc)
                .map_err(|e| crate::persist::io_err(&path, e))?;
        }
        *current = settings;
        Ok(())
    }

    /// Changes the quantization, as Qdrant's update_collection does:
    /// `collection` replaces the collection's (`Some(None)` turns it off),
    /// and each entry of `vectors` replaces that vector's own (`None`: it
    /// follows the collection's again). Stored in `config.json` before this
    /// returns; the codes are made again in the background (trained on the
    /// rows there), while searches go on over the codes they had, which
    /// are still codes of the same vectors. [`finish_indexing`] waits for
    /// them.
    ///
    /// [`finish_indexing`]: Collection::finish_indexing
    pub fn update_quantization(
        &self,
        collection: Option<Option<QuantizationConfig>>,
        vectors: &BTreeMap<String, Option<QuantizationConfig>>,
    ) -> Result<()> {
        // one rebuild at a time: a vacuum or a renumbering copies the
        // columns' quantization, so it does not run meanwhile
        let _rebuild = self.reorder.lock();
        let mut config = (*self.config()).clone();
        if let Some(q) = collection {
            config.quantization_config = q;
        }
        for (name, q) in vectors {
            let Some(params) = config.vectors.get_mut(name) else {
                return Err(Error::UnknownVector { name: name.clone() });
            };
            params.quantization_config = q.clone();
        }
        config.validate()?;
        if let Some(storage) = self.storage.lock().as_ref() {
            let doc = crate::persist::config_document(&config, &self.settings.read())?;
            let path = storage.dir.join("config.json");
            storage
                .io
                .write_atomic(&path, &doc)
                .map_err(|e| crate::persist::io_err(&path, e))?;
        }
        let segment = self.segment();
        for column in &segment.columns {
            *column.quantization.write() = config.quantization_for(&column.name).cloned();
        }
        *self.config.write() = Arc::new(config);
        let encode = |segment: Arc<Segment>| {
            let _g = segment.index_lock.lock();
            // no memory for codes: the walks read the vectors instead
            let _ = segment.encode_indexed();
        };
        let background = Arc::clone(&segment);
        if std::thread::Builder::new()
            .name("vicinity-encode".into())
            .spawn(move || encode(background))
            .is_err()
        {
            // no thread to spare: encode here
            encode(segment);
        }
        Ok(())
    }

    /// Wakes the background worker (starting it if needed) when rows wait
    /// for the graphs or, in a durable collection, the log may wait for
    /// an fsync.
    pub(crate) fn index_in_background(&self) {
        let segment = self.segment();
        if segment.indexed() >= segment.row_count()
            && !self.is_durable()
            && !crate::vacuum::vacuum_due(&segment)
        {
            return;
        }
        let mut indexer = self.indexer.lock();
        if indexer.is_none() {
            match crate::indexer::Indexer::spawn(
                Arc::clone(&self.segment),
                Arc::clone(&self.writer),
                crate::indexer::AutoOrder::new(
                    &self.config(),
                    Arc::clone(&self.reorder),
                    segment.indexed(),
                ),
                crate::vacuum::AutoVacuum::new(
                    &self.config(),
                    Arc::clone(&self.reorder),
                    Arc::clone(&self.vacuums),
                ),
                self.pool.clone(),
            ) {
                Ok(i) => *indexer = Some(i),
                // no thread to be had: index here instead, slower but sound
                Err(_) => {
                    drop(indexer);
                    self.finish_indexing();
                    return;
                }
            }
        }
        if let Some(i) = indexer.as_ref() {
            i.notify();
        }
    }

    /// Puts every row written so far into the HNSW graphs, on this thread
    /// and the collection's pool, and returns when that is done. Writes
    /// return before their rows are indexed (searches score those rows
    /// exactly meanwhile); call this before measuring the graph, as a
    /// benchmark does after a bulk load. It inserts in the indexer's
    /// chunks: one parallel batch of everything was measured 9% faster to
    /// build but gave a worse graph (recall@10 at ef 64 0.956 against
    /// 0.970 on clustered-384-cos), as rayon splits a batch into halves
    /// inserted far from row order. Not to be called from inside a job of
    /// the collection's own rayon pool.
    pub fn finish_indexing(&self) {
        let segment = self.segment();
        segment.index_all(self.pool.as_deref());
        // codes made again after a change of quantization
        let _g = segment.index_lock.lock();
        let _ = segment.encode_indexed();
    }

    /// Rows written but not yet in the HNSW graphs.
    pub fn pending_indexing(&self) -> usize {
        let segment = self.segment();
        segment.row_count().saturating_sub(segment.indexed())
    }

    /// The current segment; the lock is held only to clone the `Arc`.
    pub(crate) fn segment(&self) -> Arc<Segment> {
        self.segment.read().clone()
    }

    pub(crate) fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        crate::update::in_pool(self.pool.as_deref(), f)
    }

    pub(crate) fn done(seq: u64) -> UpdateResult {
        UpdateResult {
            operation_id: seq,
            status: UpdateStatus::Completed,
        }
    }

    /// Checks a point's vectors against the configuration.
    pub(crate) fn validate_vectors(&self, vectors: &Vectors) -> Result<()> {
        for (name, v) in vectors.iter() {
            match (self.config().vectors.get(name), v) {
                (Some(params), VectorRef::Dense(v)) => {
                    validate_vector(v, params.size).map_err(|e| Error::for_vector(name, e))?
                }
                (Some(params), VectorRef::Multi(m)) if params.is_multi() => {
                    vicinity_index::multi::validate(m.iter().map(Vec::as_slice), params.size)
                        .map_err(|e| Error::for_vector(name, e))?;
                }
                (Some(_), VectorRef::Multi(_)) => return Err(wrong_multi()),
                (None, VectorRef::Sparse(v)) if self.config().sparse_vectors.contains_key(name) => {
                    validate_sparse(name, v)?
                }
                (Some(_), VectorRef::Sparse(_)) => return Err(wrong_sparse()),
                (None, VectorRef::Dense(_) | VectorRef::Multi(_))
                    if self.config().sparse_vectors.contains_key(name) =>
                {
                    return Err(wrong_sparse());
                }
                (None, _) => {
                    return Err(Error::UnknownVector {
                        name: name.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether `name` is one of the collection's vector names.
    pub(crate) fn has_vector_name(&self, name: &str) -> bool {
        self.config().vectors.contains_key(name) || self.config().sparse_vectors.contains_key(name)
    }

    pub(crate) fn validate_selectors(&self, with: &WithSelectors) -> Result<()> {
        if let VectorSelector::Names(names) = &with.vectors {
            for name in names {
                if !self.has_vector_name(name) {
                    return Err(Error::UnknownVector { name: name.clone() });
                }
            }
        }
        Ok(())
    }

    /// The points with these ids, in the order asked; ids that do not exist
    /// are left out.
    pub fn get(&self, ids: &[PointId], with: &WithSelectors) -> Result<Vec<Record>> {
        self.validate_selectors(with)?;
        let segment = self.segment();
        let table = segment.table.read();
        Ok(ids
            .iter()
            .filter_map(|id| {
                let row = *table.ids.get(id)?;
                Some(self.record(&segment, row, &table.rows[row.index()], with))
            })
            .collect())
    }

    pub(crate) fn record(
        &self,
        segment: &Segment,
        row: PointOffset,
        meta: &RowMeta,
        with: &WithSelectors,
    ) -> Record {
        Record {
            id: meta.id,
            payload: with.payload.apply(&meta.payload),
            vectors: (with.vectors != VectorSelector::None)
                .then(|| segment.vectors_of(row, |n| with.vectors.selects(n))),
            order_value: None,
        }
    }

    /// Points in id order (numbers ascending, then UUIDs), a page at a time,
    /// optionally only those passing a filter.
    pub fn scroll(&self, req: &ScrollRequest) -> Result<ScrollResult> {
        if req.limit == 0 {
            return Err(bad_limit("limit"));
        }
        self.validate_selectors(&req.with)?;
        let segment = self.segment();
        let table = segment.table.read();
        if let Some(order) = &req.order_by {
            return self.scroll_ordered(&segment, &table, req, order);
        }
        let mut points = Vec::with_capacity(req.limit.min(1024));
        let mut next_page_offset = None;
        for (id, row) in table.matching(&segment, req.filter.as_ref()) {
            if req.offset.is_some_and(|start| id < start) {
                continue;
            }
            if points.len() == req.limit {
                next_page_offset = Some(id);
                break;
            }
            points.push(self.record(&segment, row, &table.rows[row.index()], &req.with));
        }
        Ok(ScrollResult {
            points,
            next_page_offset,
        })
    }

    /// An ordered scroll: points by the values at a key, from its range
    /// index.
    fn scroll_ordered(
        &self,
        segment: &Segment,
        table: &PointTable,
        req: &ScrollRequest,
        order: &OrderBy,
    ) -> Result<ScrollResult> {
        if req.offset.is_some() {
            return Err(Error::BadRequest(
                "Cannot use an `offset` when using `order_by`".into(),
            ));
        }
        let key = order.key.to_string();
        let index = table
            .indexes
            .get(&key)
            .filter(|i| i.params().field_type.supports_order_by())
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "No range index for `order_by` key: `{key}`. Please create one to use `order_by`. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Range conditions"
                ))
            })?;
        let desc = order.direction == Direction::Desc;
        let plan = req.filter.as_ref().map(|f| table.plan(segment, f));
        let mut points = Vec::with_capacity(req.limit.min(1024));
        for (value, row) in index.ordered(desc).unwrap_or_default() {
            if points.len() == req.limit {
                break;
            }
            if let Some(start) = order.start_from {
                let v = value.as_f64();
                if (desc && v > start) || (!desc && v < start) {
                    continue;
                }
            }
            let row = PointOffset(row);
            let Some(meta) = table.live(row) else {
                continue;
            };
            if plan.as_ref().is_some_and(|p| !p.check(row)) {
                continue;
            }
            let mut record = self.record(segment, row, meta, &req.with);
            record.order_value = Some(value);
            points.push(record);
        }
        Ok(ScrollResult {
            points,
            next_page_offset: None,
        })
    }

    /// The distinct values at a key with the number of points holding each
    /// (optionally among points passing a filter): count descending, then
    /// value ascending. Needs a keyword, integer, bool or uuid index.
    pub fn facet(&self, req: &FacetRequest) -> Result<Vec<FacetHit>> {
        if req.limit == 0 {
            return Err(bad_limit("limit"));
        }
        let segment = self.segment();
        let table = segment.table.read();
        let key = req.key.to_string();
        let postings = table
            .indexes
            .get(&key)
            .and_then(|i| i.facet_postings())
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "Index required but not found for \"{key}\" of one of the following types: [keyword, integer, bool, uuid]. Help: Create an index for this key or use a different filter."
                ))
            })?;
        let allowed: roaring::RoaringBitmap = match &req.filter {
            None => table.live_rows(),
            Some(f) => {
                let plan = table.plan(&segment, f);
                match &plan.candidates.rows {
                    Some(rows) => rows
                        .iter()
                        .filter(|&r| plan.check(PointOffset(r)))
                        .collect(),
                    None => table
                        .ids
                        .values()
                        .filter(|&&r| plan.check(r))
                        .map(|r| r.0)
                        .collect(),
                }
            }
        };
        let mut hits: Vec<FacetHit> = postings
            .into_iter()
            .map(|(value, rows)| FacetHit {
                value,
                count: rows.intersection_len(&allowed) as usize,
            })
            .filter(|h| h.count > 0)
            .collect();
        hits.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        hits.truncate(req.limit);
        Ok(hits)
    }

    /// The payload indexes: key, type and options, and how many points each
    /// indexes.
    pub fn payload_schema(&self) -> BTreeMap<String, PayloadIndexInfo> {
        let segment = self.segment();
        let table = segment.table.read();
        table
            .indexes
            .iter()
            .map(|(k, i)| {
                (
                    k.clone(),
                    PayloadIndexInfo {
                        params: i.params().clone(),
                        points: i.points_count(),
                    },
                )
            })
            .collect()
    }

    /// The number of points.
    pub fn count(&self) -> usize {
        self.segment().table.read().ids.len()
    }

    /// The size of the live points' payloads as compact JSON, in bytes
    /// (counted, not allocated; it reads every payload, so callers cache
    /// it).
    pub fn payload_bytes(&self) -> usize {
        struct Counter(usize);
        impl std::io::Write for Counter {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let segment = self.segment();
        let table = segment.table.read();
        let mut counter = Counter(0);
        for &row in table.ids.values() {
            if let Some(meta) = table.live(row)
                && !meta.payload.as_map().is_empty()
            {
                // writing to a counter cannot fail
                let _ = serde_json::to_writer(&mut counter, meta.payload.as_map());
            }
        }
        counter.0
    }

    /// The number of points passing `filter`, exactly.
    pub fn count_where(&self, filter: &Filter) -> usize {
        let segment = self.segment();
        let table = segment.table.read();
        let plan = table.plan(&segment, filter);
        match &plan.candidates.rows {
            Some(rows) => rows.iter().filter(|&r| plan.check(PointOffset(r))).count(),
            None => table.ids.values().filter(|&&r| plan.check(r)).count(),
        }
    }

    /// The `limit` best points for a query vector, after skipping `offset`,
    /// with Qdrant's scores and strict `score_threshold`.
    pub fn search(&self, req: &SearchRequest) -> Result<Vec<ScoredPoint>> {
        if req.limit == 0 {
            return Err(bad_limit("limit"));
        }
        self.validate_selectors(&req.with)?;
        let segment = self.segment();
        let (_, column) = segment.column(&req.using)?;
        let query = column
            .store
            .prepare_query(&req.vector)
            .map_err(|e| Error::for_vector(&req.using, e))?;
        let k = req
            .limit
            .checked_add(req.offset)
            .ok_or_else(|| Error::BadRequest("limit + offset is too large".into()))?;
        let hits = with_store_metric!(&column.store, M => self.rank(
            &segment,
            &req.using,
            &Nearest::<M>::new(&query),
            k,
            &req.params,
            req.filter.as_ref(),
            &[],
        ))?;
        let distance = column.store.distance();
        Ok(self.finish(
            &segment,
            hits,
            |s| distance.score(s),
            |score| {
                req.score_threshold
                    .is_none_or(|t| distance.passes_threshold(score, t))
            },
            req.offset,
            req.limit,
            &req.with,
        ))
    }

    /// The `k` rows of vector `using` that `scorer` ranks best, among live
    /// rows with that vector that pass `filter` and are not in `exclude`:
    /// the planner. Unfiltered: exact below `full_scan_threshold`, else the
    /// graph. Filtered (under the table's read lock, as payloads are read):
    /// the filter's cardinality from its index candidates (or a sample)
    /// picks an exact scan of the candidates, a two-hop walk for selective
    /// filters, or the plain filtered walk.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rank<S: Scorer>(
        &self,
        segment: &Segment,
        using: &str,
        scorer: &S,
        k: usize,
        params: &SearchParams,
        filter: Option<&Filter>,
        exclude: &[PointOffset],
    ) -> Result<Vec<ScoredOffset>> {
        let (_, column) = segment.column(using)?;
        let hnsw = self.config().hnsw_for(using);
        // Rows below `indexed` are all in the graph; the rows after it (up
        // to those published) are scored exactly and merged in. Read in
        // this order, so that no row falls between the two.
        let indexed = segment.indexed();
        let searchable = segment.searchable(column);
        let allowed = |row: PointOffset| searchable.check(row) && !exclude.contains(&row);
        let ef = params.hnsw_ef.unwrap_or(hnsw.ef_construct);
        // the walk over quantized codes, when the vector has them for
        // every row in the graph and the search does not ignore them
        let quant = params.quantization.as_ref();
        let codes = column
            .codes_for(indexed)
            .filter(|_| !quant.is_some_and(|q| q.ignore))
            .zip(scorer.query_row());
        // Qdrant's default follows the kind of codes walked
        let rescore = quant.and_then(|q| q.rescore).unwrap_or_else(|| {
            codes
                .as_ref()
                .is_some_and(|(c, _)| c.config.rescores_by_default())
        });
        let walker = Walker {
            column,
            codes,
            oversampling: quant.and_then(|q| q.oversampling).unwrap_or(1.0),
            rescore,
        };
        // bytes of a stored vector, in 32-bit words
        let words = column.store.words();
        let store = &column.store;
        let published = searchable.published as usize;
        let tail = indexed..published.max(indexed);
        let hits = match filter {
            None => {
                if params.exact
                    || !hnsw.builds_graph()
                    || self.below_full_scan(&hnsw, column.graph.len(), words)
                {
                    let rows = (0..segment.row_count() as u32).map(PointOffset);
                    exact_search_scored(store, scorer, k, &allowed, rows)
                } else {
                    let graph = walker.walk(scorer, k, ef, &allowed, None);
                    with_tail(graph, store, scorer, k, &allowed, tail)
                }
            }
            Some(filter) => {
                let table = segment.table.read();
                let plan = table.plan(segment, filter);
                let check = |row: PointOffset| allowed(row) && plan.check(row);
                let bound = plan.bound();
                let cardinality = bound.unwrap_or_else(|| {
                    estimate_matches(column.graph.len(), check, segment.row_count())
                });
                // No more candidates than the walk's width: the walk would
                // score them all anyway (and may miss some it cannot
                // reach), so scoring them directly is cheaper and exact.
                let few = bound.is_some_and(|b| b <= ef.max(k));
                let exact = params.exact
                    || few
                    || !hnsw.builds_graph()
                    || self.below_full_scan(&hnsw, cardinality, words);
                match (&plan.candidates.rows, exact) {
                    (Some(rows), true) => {
                        exact_search_scored(store, scorer, k, &check, rows.iter().map(PointOffset))
                    }
                    (None, true) => {
                        let rows = (0..segment.row_count() as u32).map(PointOffset);
                        exact_search_scored(store, scorer, k, &check, rows)
                    }
                    // Under a third of the points pass: score only those,
                    // stepping over the others (ACORN-1); else the plain
                    // filtered walk, which scores what it visits.
                    (rows, false) if cardinality * 3 < column.graph.len() => {
                        let seeds = seeds(rows.as_ref(), indexed, check);
                        let graph = walker.walk(scorer, k, ef, &check, Some(&seeds));
                        with_tail(graph, store, scorer, k, &check, tail)
                    }
                    (_, false) => {
                        let graph = walker.walk(scorer, k, ef, &check, None);
                        with_tail(graph, store, scorer, k, &check, tail)
                    }
                }
            }
        };
        Ok(hits)
    }

    /// Turns ranked rows into points: live ones only (rows retired since
    /// the walk are dropped), scores to the user's scale with `score`, the
    /// `keep` threshold, `offset` and `limit`, then payload and vectors for
    /// the final hits.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn finish(
        &self,
        segment: &Segment,
        hits: Vec<ScoredOffset>,
        score: impl Fn(f32) -> f32,
        keep: impl Fn(f32) -> bool,
        offset: usize,
        limit: usize,
        with: &WithSelectors,
    ) -> Vec<ScoredPoint> {
        let table = segment.table.read();
        hits.into_iter()
            .filter_map(|h| {
                let meta = table.live(h.offset)?;
                let s = score(h.similarity);
                keep(s).then_some((h.offset, meta, s))
            })
            .skip(offset)
            .take(limit)
            .map(|(row, meta, s)| {
                let mut p = ScoredPoint {
                    id: meta.id,
                    version: meta.version,
                    score: s,
                    payload: None,
                    vectors: None,
                };
                if *with != WithSelectors::default() {
                    let r = self.record(segment, row, meta, with);
                    p.payload = r.payload;
                    p.vectors = r.vectors;
                }
                p
            })
            .collect()
    }

    /// Whether the vectors of `n` points are few enough (below
    /// `full_scan_threshold` KiB) that scoring them all beats the graph.
    fn below_full_scan(&self, hnsw: &HnswConfig, n: usize, words: usize) -> bool {
        (n * words * std::mem::size_of::<f32>()) / 1024 < hnsw.full_scan_threshold
    }

    /// Rebuilds the collection's rows for speed: drops retired rows (the
    /// space of replaced and deleted points) and rebuilds each HNSW graph
    /// from the live vectors (in parallel), then renumbers the rows so that
    /// graph neighbours sit together in memory
    /// ([`HnswGraph::locality_order`](vicinity_index::HnswGraph::locality_order)),
    /// which makes searches wait less on memory. Rows waiting for the
    /// indexer are indexed first; a collection with nothing retired then
    /// keeps its graphs and is only renumbered, and one already in that
    /// order (the indexer renumbers a large segment on its own once it has
    /// indexed it, see the crate's `indexer` module) is left as it is.
    /// Results do not change; reads go on meanwhile; writes wait.
    pub fn optimize(&self) -> Result<()> {
        let _one = self.reorder.lock();
        let w = self.writer.lock();
        let old = self.segment();
        // rows only waiting for the indexer need no rebuild: index them
        old.index_all(self.pool.as_deref());
        if old.is_ordered() {
            return Ok(());
        }
        let compacted = if old.is_compact() {
            None
        } else {
            let fresh = {
                let table = old.table.read();
                let rows: Vec<PointOffset> = table.ids.values().copied().collect();
                drop(table);
                self.run(|| old.copy_rows(&self.config(), &rows))?
            };
            fresh.index_all(self.pool.as_deref());
            Some(fresh)
        };
        let base = compacted.as_ref().unwrap_or(&old);
        let ordered = self.run(|| base.reordered(&self.config()))?;
        *self.segment.write() = Arc::new(ordered);
        drop(w);
        Ok(())
    }

    /// Figures about the collection.
    pub fn info(&self) -> CollectionInfo {
        let segment = self.segment();
        let points_count = segment.table.read().ids.len();
        let rows_count = segment.row_count();
        let indexed_vectors_count = segment
            .columns
            .iter()
            .map(|c| {
                (0..rows_count as u32)
                    .filter(|&r| {
                        c.graph.contains(PointOffset(r)) && !c.absent.contains(PointOffset(r))
                    })
                    .count()
            })
            .sum();
        let memory = segment.memory_report(&self.config());
        let indexer_busy = self.indexer.lock().as_ref().is_some_and(|i| i.busy());
        let status = if indexer_busy
            || self.reorder.is_locked()
            || crate::indexer::large_backlog(&segment, &self.config())
        {
            CollectionStatus::Yellow
        } else {
            CollectionStatus::Green
        };
        CollectionInfo {
            status,
            points_count,
            indexed_vectors_count,
            rows_count,
            segments_count: 1,
            memory_bytes: memory.vectors_in_memory + memory.graphs + memory.bitmaps + memory.codes,
            memory,
            config: (*self.config()).clone(),
            payload_schema: self.payload_schema(),
        }
    }
}

/// A graph walk over one vector column: over its quantized codes when
/// `codes` holds them and the query row, else over the vectors.
struct Walker<'a> {
    column: &'a crate::segment::VectorColumn,
    codes: Option<(Arc<crate::segment::Codes>, &'a [f32])>,
    /// Candidates per result the codes' walk returns (at least 1).
    oversampling: f64,
    /// Whether the candidates are rescored with the vectors.
    rescore: bool,
}

impl Walker<'_> {
    /// The `k` best rows passing `filter`; with `seeds`, the selective
    /// (two-hop) walk. Over codes: the `oversampling * k` best by the
    /// codes (the walk at least that wide), then, with `rescore`, the `k`
    /// best of those by the vectors (exact scores), as Qdrant does.
    fn walk<S: Scorer, F: vicinity_index::PointFilter>(
        &self,
        scorer: &S,
        k: usize,
        ef: usize,
        filter: &F,
        seeds: Option<&[PointOffset]>,
    ) -> Vec<ScoredOffset> {
        let (graph, store) = (&self.column.graph, &self.column.store);
        let Some((codes, query)) = &self.codes else {
            return walk_rows(graph, store, scorer, k, ef, filter, seeds);
        };
        let n = ((k as f64) * self.oversampling.max(1.0)).ceil() as usize;
        let ef = ef.max(n);
        let query: &[f32] = query;
        let mut found = walk_codes(graph, store, codes, query, n, ef, filter, seeds);
        if self.rescore {
            for hit in &mut found {
                if let Some(v) = store.get(hit.offset) {
                    hit.similarity = scorer.score(v);
                }
            }
            found.sort_unstable_by(|a, b| b.cmp(a));
        }
        found.truncate(k);
        found
    }
}

/// The `n` best rows by a walk over `codes` toward `query` (the query row
/// as stored): generic over the filter only, not over the caller's scorer,
/// so each kind of codes compiles once per filter.
#[allow(clippy::too_many_arguments)]
fn walk_codes<F: vicinity_index::PointFilter>(
    graph: &vicinity_index::HnswGraph,
    store: &vicinity_index::VectorStore,
    codes: &crate::segment::Codes,
    query: &[f32],
    n: usize,
    ef: usize,
    filter: &F,
    seeds: Option<&[PointOffset]>,
) -> Vec<ScoredOffset> {
    match &codes.rows {
        // codes are made from the values (decoded from the store's
        // type), and so is the query's
        crate::segment::CodeKind::Scalar(codes) => with_metric!(store.distance(), M => {
            let values = store.code_values(query, false);
            let q = vicinity_index::QuantizedNearest::<M>::new(codes.encoder(), &values);
            walk_rows(graph, codes, &q, n, ef, filter, seeds)
        }),
        crate::segment::CodeKind::Binary(codes) => {
            match codes.encoder().nearest(&store.code_values(query, true)) {
                vicinity_index::BinaryQuery::Bits(q) => {
                    walk_rows(graph, codes, &q, n, ef, filter, seeds)
                }
                vicinity_index::BinaryQuery::Levels(q) => {
                    walk_rows(graph, codes, &q, n, ef, filter, seeds)
                }
            }
        }
        crate::segment::CodeKind::Product(codes) => {
            let q = codes.encoder().nearest(&store.code_values(query, false));
            walk_rows(graph, codes, &q, n, ef, filter, seeds)
        }
    }
}

/// The `k` best of `rows` by `scorer` through the graph: the selective
/// (two-hop) walk from `seeds` when given, else the plain one.
fn walk_rows<R: vicinity_index::Rows, S: Scorer<R::E>, F: vicinity_index::PointFilter>(
    graph: &vicinity_index::HnswGraph,
    rows: &R,
    scorer: &S,
    k: usize,
    ef: usize,
    filter: &F,
    seeds: Option<&[PointOffset]>,
) -> Vec<ScoredOffset> {
    match seeds {
        Some(seeds) => graph.search_selective_scored(rows, scorer, k, ef, filter, seeds),
        None => graph.search_scored(rows, scorer, k, ef, filter),
    }
}

/// Estimates how many of `live` points pass `check` from an evenly spread
/// sample of the `rows` rows (at most 1,000 checked), rounding up so that a
/// filter that passes anything in the sample is never estimated at zero.
fn estimate_matches(live: usize, check: impl Fn(PointOffset) -> bool, rows: usize) -> usize {
    const SAMPLE: usize = 1_000;
    if rows <= SAMPLE {
        return (0..rows as u32).filter(|&r| check(PointOffset(r))).count();
    }
    let step = rows / SAMPLE;
    let sampled = (0..SAMPLE).map(|i| PointOffset((i * step) as u32));
    let hits = sampled.filter(|&r| check(r)).count();
    (hits * rows).div_ceil(SAMPLE).min(live)
}

/// Graph hits merged with the exact best of the rows the graph does not
/// hold yet (`tail`): best first, each row once, at most `k`.
fn with_tail<S: Scorer, F: vicinity_index::PointFilter>(
    mut hits: Vec<ScoredOffset>,
    store: &vicinity_index::VectorStore,
    scorer: &S,
    k: usize,
    allowed: &F,
    tail: std::ops::Range<usize>,
) -> Vec<ScoredOffset> {
    if tail.is_empty() {
        return hits;
    }
    let rows = (tail.start as u32..tail.end as u32).map(PointOffset);
    let extra = exact_search_scored(store, scorer, k, allowed, rows);
    // a row being inserted may be in both
    hits.extend(
        extra
            .into_iter()
            .filter(|e| !hits.iter().any(|h| h.offset == e.offset))
            .collect::<Vec<_>>(),
    );
    hits.sort_unstable_by(|a, b| b.cmp(a));
    hits.truncate(k);
    hits
}

/// Up to 16 rows below `rows` (those in the graph) that pass `check`,
/// spread over the candidates (or over all rows): extra starting points for
/// a selective graph walk.
fn seeds(
    candidates: Option<&roaring::RoaringBitmap>,
    rows: usize,
    check: impl Fn(PointOffset) -> bool,
) -> Vec<PointOffset> {
    const SEEDS: usize = 16;
    let mut out = Vec::with_capacity(SEEDS);
    match candidates {
        Some(c) => {
            let step = (c.len() as usize / SEEDS).max(1);
            for r in c.iter().step_by(step).map(PointOffset) {
                if r.index() < rows && check(r) {
                    out.push(r);
                }
                if out.len() == SEEDS {
                    break;
                }
            }
        }
        None => {
            let step = (rows / 1024).max(1);
            for r in (0..rows as u32).step_by(step).map(PointOffset) {
                if check(r) {
                    out.push(r);
                    if out.len() == SEEDS {
                        break;
                    }
                }
            }
        }
    }
    out
}
