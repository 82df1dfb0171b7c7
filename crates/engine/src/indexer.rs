//! The background worker of a collection:
//!
//! - it puts appended rows into the HNSW graphs after the write that
//!   appended them has returned, so that no acknowledged write waits for
//!   graph construction (until a row is indexed, searches score it
//!   exactly: it is searchable at once);
//! - it fsyncs the log within about a second of a `wait = false` write,
//!   as the durability contract asks, in the library as in the server;
//! - once it has caught up on a segment of at least [`AUTO_ORDER_MIN`]
//!   rows that has doubled since it was last renumbered, holding only
//!   live rows, it renumbers the rows for locality as
//!   [`Collection::optimize`](crate::Collection::optimize) does (Qdrant's
//!   optimizers likewise rework segments behind the writes). It works on
//!   a snapshot without holding the writer lock, so writes never wait for
//!   it; if any write came in meanwhile the work is dropped and tried
//!   again when the segment has grown by a quarter. Meanwhile the vectors
//!   are in memory twice; collections with `on_disk` vectors are left to
//!   an explicit `optimize`.
//!
//! One thread per collection, started by the first write that needs it and
//! stopped when the collection is dropped. It indexes in chunks of
//! [`CHUNK`] rows on the collection's pool, holding the segment's index
//! lock for one chunk at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};
use rayon::ThreadPool;

use crate::config::CollectionConfig;
use crate::segment::Segment;

/// Rows indexed per step.
pub(crate) const CHUNK: usize = 1024;

/// The current segment, shared with the indexer thread.
pub(crate) type SegmentSlot = Arc<RwLock<Arc<Segment>>>;

/// The collection's writer state (log included), shared with the thread.
pub(crate) type WriterSlot = Arc<Mutex<crate::collection::Writer>>;

/// Rows a segment needs before the indexer renumbers it on its own:
/// smaller ones sit in the processor's caches whatever their order.
pub(crate) const AUTO_ORDER_MIN: usize = 20_000;

/// How long a `wait = false` write may stay unsynced.
const SYNC_EVERY: Duration = Duration::from_secs(1);

struct Shared {
    pending: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
    /// Set while the thread works through a large backlog
    /// ([`large_backlog`]) or renumbers rows: what makes a collection
    /// report `Yellow`, as Qdrant's does while its optimizers run.
    busy: AtomicBool,
}

/// A collection's indexer thread.
pub(crate) struct Indexer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Indexer {
    /// Starts the thread.
    pub(crate) fn spawn(
        slot: SegmentSlot,
        writer: WriterSlot,
        mut order: AutoOrder,
        mut vacuum: crate::vacuum::AutoVacuum,
        pool: Option<Arc<ThreadPool>>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(true),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            busy: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vicinity-indexer".into())
            .spawn(move || run(&s, &slot, &writer, &mut order, &mut vacuum, pool.as_deref()))?;
        Ok(Indexer {
            shared,
            thread: Some(thread),
        })
    }

    /// Whether the thread is on a large job (see [`Shared::busy`]).
    pub(crate) fn busy(&self) -> bool {
        self.shared.busy.load(Ordering::Acquire)
    }

    /// Tells the thread that rows wait.
    pub(crate) fn notify(&self) {
        *self.shared.pending.lock() = true;
        self.shared.wake.notify_one();
    }
}

fn run(
    shared: &Shared,
    slot: &SegmentSlot,
    writer: &WriterSlot,
    order: &mut AutoOrder,
    vacuum: &mut crate::vacuum::AutoVacuum,
    pool: Option<&ThreadPool>,
) {
    loop {
        {
            let mut pending = shared.pending.lock();
            if !*pending && !shared.stop.load(Ordering::Acquire) {
                shared.wake.wait_for(&mut pending, SYNC_EVERY);
            }
            *pending = false;
        }
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        {
            // what `wait = false` writes left unsynced; an error shows
            // again at the next sync a caller waits for
            let mut w = writer.lock();
            if let Some(wal) = w.wal.as_mut()
                && wal.is_dirty()
            {
                let _ = wal.sync();
            }
        }
        loop {
            if shared.stop.load(Ordering::Acquire) {
                shared.busy.store(false, Ordering::Release);
                return;
            }
            let segment = slot.read().clone();
            // busy from the first chunk of a large job until the
            // renumbering that may follow is over, so that the collection
            // does not look settled in between
            if large_backlog(&segment, &order.config) || order.due(&segment) || vacuum.due(&segment)
            {
                shared.busy.store(true, Ordering::Release);
            }
            // a segment due for a vacuum is rebuilt from its live rows:
            // indexing retired ones first would be work thrown away
            if vacuum.due(&segment) {
                break;
            }
            let done = segment.index_some(CHUNK, pool);
            if done == 0 {
                break;
            }
        }
        if vacuum.run_if_due(slot, writer, pool) {
            // the copy's catch-up appended rows to index
            *shared.pending.lock() = true;
            continue;
        }
        order.run_if_due(slot, writer, pool);
        shared.busy.store(false, Ordering::Release);
    }
}

/// Whether the rows waiting for the graphs hold more vector bytes than a
/// vector's `full_scan_threshold` (KiB, Qdrant's default 10,000, the same
/// as its `indexing_threshold`): below that, Qdrant would not index them
/// yet either, and searches score them exactly at no great cost.
pub(crate) fn large_backlog(segment: &Segment, config: &CollectionConfig) -> bool {
    let waiting = segment.row_count().saturating_sub(segment.indexed());
    waiting > 0
        && config.vectors.iter().any(|(name, v)| {
            let threshold = config.hnsw_for(name).full_scan_threshold;
            waiting.saturating_mul(v.size * std::mem::size_of::<f32>()) > threshold * 1024
        })
}

/// The indexer's automatic renumbering (see the module docs).
pub(crate) struct AutoOrder {
    config: CollectionConfig,
    /// The collection's renumbering lock, shared with `optimize`.
    lock: Arc<Mutex<()>>,
    /// Whether every vector lives in memory (no `on_disk`).
    in_memory: bool,
    /// No attempt below this many rows: raised when writes spoiled one.
    retry_at: usize,
}

impl AutoOrder {
    /// `settled` rows were indexed before the indexer started (a reopened
    /// collection's, in the order they were saved in): no renumbering
    /// before there are twice as many.
    pub(crate) fn new(config: &CollectionConfig, lock: Arc<Mutex<()>>, settled: usize) -> Self {
        AutoOrder {
            in_memory: config.vectors.values().all(|v| v.on_disk != Some(true)),
            config: config.clone(),
            lock,
            retry_at: 2 * settled,
        }
    }

    fn due(&self, segment: &Segment) -> bool {
        let rows = segment.row_count();
        self.in_memory
            && rows >= AUTO_ORDER_MIN.max(self.retry_at)
            && rows >= 2 * segment.ordered_rows()
            && segment.is_compact()
    }

    /// Renumbers the current segment if it is due, unless a write comes in
    /// meanwhile.
    fn run_if_due(&mut self, slot: &SegmentSlot, writer: &WriterSlot, pool: Option<&ThreadPool>) {
        if !self.due(&slot.read()) {
            return;
        }
        let lock = Arc::clone(&self.lock);
        let _one = lock.lock();
        // `optimize` may have run while we waited for the lock
        if let Some(job) = self.prepare(slot, writer, pool) {
            self.install(job, slot, writer);
        }
    }

    /// A renumbered copy of the current segment, if it is due.
    fn prepare(
        &mut self,
        slot: &SegmentSlot,
        writer: &WriterSlot,
        pool: Option<&ThreadPool>,
    ) -> Option<Renumbered> {
        let from = slot.read().clone();
        if !self.due(&from) {
            return None;
        }
        let seq = writer.lock().next_seq;
        let made = crate::update::in_pool(pool, || from.reordered(&self.config));
        match made {
            Ok(ordered) => Some(Renumbered { from, seq, ordered }),
            Err(_) => {
                // no memory for the copy: not before the segment doubles
                self.retry_at = 2 * from.row_count();
                None
            }
        }
    }

    /// Puts the copy in place of the segment it was made from, unless a
    /// write came in since (then it is dropped, and the next attempt waits
    /// for a quarter more rows). Whether it did.
    fn install(&mut self, job: Renumbered, slot: &SegmentSlot, writer: &WriterSlot) -> bool {
        let w = writer.lock();
        let mut current = slot.write();
        if w.next_seq == job.seq && Arc::ptr_eq(&current, &job.from) {
            *current = Arc::new(job.ordered);
            true
        } else {
            let rows = job.from.row_count();
            self.retry_at = rows + rows / 4;
            false
        }
    }
}

/// A segment renumbered for locality, with the segment and the sequence
/// number it was made from.
struct Renumbered {
    from: Arc<Segment>,
    seq: u64,
    ordered: Segment,
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.notify();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Instant;

    use serde_json::json;
    use vicinity_index::HnswConfig;
    use vicinity_payload::Payload;

    use super::*;
    use crate::{
        Collection, Distance, PayloadSelector, PointId, PointStruct, SearchRequest, VectorSelector,
        WithSelectors,
    };

    const DIM: usize = 8;

    fn vector(i: u64) -> Vec<f32> {
        let x = i as f32;
        (0..DIM)
            .map(|j| (x * 0.731 + j as f32 * 1.3).sin())
            .collect()
    }

    fn points(ids: std::ops::Range<u64>) -> Vec<PointStruct> {
        ids.map(|i| {
            let payload = Payload::try_from(json!({"i": i, "tag": "new"})).unwrap();
            PointStruct::new(i, vector(i), payload)
        })
        .collect()
    }

    fn collection() -> Collection {
        let hnsw = HnswConfig {
            m: 8,
            ef_construct: 32,
            full_scan_threshold: 0,
            ..HnswConfig::default()
        };
        let config = CollectionConfig::single(DIM, Distance::Euclid).with_hnsw(hnsw);
        Collection::new("c", config, None).unwrap()
    }

    /// Waits (at most a minute) until `done` holds for the current segment.
    fn wait_for(c: &Collection, done: impl Fn(&Segment) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if done(&c.segment()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn payloads(c: &Collection, ids: &[PointId]) -> Vec<Option<Payload>> {
        let with = WithSelectors {
            payload: PayloadSelector::All,
            vectors: VectorSelector::None,
        };
        let got = c.get(ids, &with).unwrap();
        let by_id: HashMap<PointId, Option<Payload>> =
            got.into_iter().map(|r| (r.id, r.payload)).collect();
        ids.iter()
            .map(|id| by_id.get(id).cloned().flatten())
            .collect()
    }

    #[test]
    fn a_bulk_load_is_renumbered_for_locality_by_the_indexer_alone() {
        let c = collection();
        let n = AUTO_ORDER_MIN as u64 + 1_000;
        for first in (0..n).step_by(3_000) {
            c.upsert(points(first..(first + 3_000).min(n))).unwrap();
        }
        assert!(
            wait_for(&c, |s| s.is_ordered() && s.ordered_rows() == n as usize),
            "the indexer renumbered the rows"
        );
        // same points, same payloads, found by the walk as by a scan
        assert_eq!(c.count(), n as usize);
        let ids: Vec<PointId> = (0..n).step_by(97).map(PointId::Num).collect();
        for (id, p) in ids.iter().zip(payloads(&c, &ids)) {
            let PointId::Num(i) = id else { unreachable!() };
            assert_eq!(p.unwrap().as_map()["i"], *i);
        }
        let mut hits = 0;
        for q in (0..20).map(|k| vector(n + k)) {
            let walk = c.search(&SearchRequest::new(q.clone(), 10)).unwrap();
            let mut exact = SearchRequest::new(q, 10);
            exact.params.exact = true;
            let exact = c.search(&exact).unwrap();
            hits += walk
                .iter()
                .filter(|w| exact.iter().any(|e| e.id == w.id))
                .count();
        }
        assert!(hits >= 180, "recall@10 {} of 200", hits);
        // a few more rows do not warrant another renumbering; optimize()
        // on an ordered segment keeps it
        c.upsert(points(n..n + 10)).unwrap();
        c.finish_indexing();
        let before = c.segment();
        assert_eq!(before.ordered_rows(), n as usize);
        assert!(!before.is_ordered());
        c.optimize().unwrap();
        let after = c.segment();
        assert!(after.is_ordered());
        c.optimize().unwrap();
        assert!(Arc::ptr_eq(&after, &c.segment()), "nothing left to do");
    }

    #[test]
    fn the_status_is_yellow_until_rows_are_indexed_and_renumbered() {
        use crate::CollectionStatus::{Green, Yellow};
        let c = collection();
        assert_eq!(c.info().status, Green);
        {
            // what optimize() and the indexer's renumbering hold
            let _busy = c.reorder.lock();
            assert_eq!(c.info().status, Yellow);
        }
        let n = AUTO_ORDER_MIN + 1_000;
        for first in (0..n as u64).step_by(3_000) {
            c.upsert(points(first..(first + 3_000).min(n as u64)))
                .unwrap();
        }
        let start = Instant::now();
        loop {
            // the status first: green then means the renumbering was over
            let info = c.info();
            let segment = c.segment();
            if info.status == Green {
                assert!(segment.is_ordered() && segment.ordered_rows() == n);
                assert_eq!(info.indexed_vectors_count, n);
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "never green");
            std::thread::sleep(Duration::from_millis(5));
        }
        // a few rows under Qdrant's default threshold are no backlog: green
        // at once, as in Qdrant, which would not index them yet either
        let small =
            Collection::new("s", CollectionConfig::single(DIM, Distance::Dot), None).unwrap();
        small.upsert(points(0..100)).unwrap();
        assert_eq!(small.info().status, Green);
    }

    #[test]
    fn writes_racing_the_automatic_renumbering_are_all_kept() {
        let c = collection();
        let n = AUTO_ORDER_MIN as u64 + 6_000;
        let mut tags: HashMap<u64, String> = HashMap::new();
        for (round, first) in (0..n).step_by(1_000).enumerate() {
            c.upsert(points(first..(first + 1_000).min(n))).unwrap();
            for i in first..(first + 1_000).min(n) {
                tags.insert(i, "new".into());
            }
            // payload changes to rows written earlier, while the indexer
            // may be renumbering them
            let touched: Vec<PointId> = (0..first)
                .step_by(41)
                .take(50)
                .map(|i| PointId::Num(i + round as u64 % 41))
                .filter(|id| matches!(id, PointId::Num(i) if *i < first))
                .collect();
            let tag = format!("round {round}");
            let payload = Payload::try_from(json!({"tag": tag})).unwrap();
            if !touched.is_empty() {
                c.set_payload(&touched, &payload, None).unwrap();
            }
            for id in &touched {
                let PointId::Num(i) = id else { unreachable!() };
                tags.insert(*i, tag.clone());
            }
        }
        c.finish_indexing();
        // let the indexer finish whatever it started
        let _idle = c.reorder.lock();
        assert_eq!(c.count(), n as usize);
        let ids: Vec<PointId> = (0..n).map(PointId::Num).collect();
        for (id, p) in ids.iter().zip(payloads(&c, &ids)) {
            let PointId::Num(i) = id else { unreachable!() };
            let p = p.unwrap_or_else(|| panic!("point {i} is missing"));
            assert_eq!(p.as_map()["i"], *i);
            assert_eq!(p.as_map()["tag"], tags[i].as_str(), "point {i}");
        }
    }

    #[test]
    fn on_disk_vectors_and_small_segments_are_left_alone() {
        let mut config = CollectionConfig::single(DIM, Distance::Euclid);
        let order = AutoOrder::new(&config, Arc::new(Mutex::new(())), 0);
        assert!(order.in_memory);
        let segment = Segment::new(&config).unwrap();
        assert!(!order.due(&segment), "an empty segment");
        for v in config.vectors.values_mut() {
            v.on_disk = Some(true);
        }
        assert!(!AutoOrder::new(&config, Arc::new(Mutex::new(())), 0).in_memory);
    }

    #[test]
    fn a_reopened_collection_is_not_renumbered_before_it_doubles() {
        let dir = tempfile::tempdir().unwrap();
        let n = AUTO_ORDER_MIN as u64 + 500;
        {
            let db = crate::Database::open(dir.path()).unwrap();
            let c = db
                .create_collection("c", (*collection().config()).clone())
                .unwrap();
            c.upsert(points(0..n)).unwrap();
            c.finish_indexing();
            db.checkpoint_all().unwrap();
        }
        let db = crate::Database::open(dir.path()).unwrap();
        let c = db.collection("c").unwrap();
        let loaded = c.segment();
        let order = AutoOrder::new(&c.config(), Arc::new(Mutex::new(())), loaded.indexed());
        assert!(!order.due(&loaded));
        // the indexer (started by the open or by a write) leaves the order
        // be, before a write and after a few rows more
        let unchanged = || {
            for _ in 0..25 {
                std::thread::sleep(Duration::from_millis(20));
                drop(c.reorder.lock());
                assert!(Arc::ptr_eq(&loaded, &c.segment()));
            }
        };
        unchanged();
        c.upsert(points(n..n + 100)).unwrap();
        c.finish_indexing();
        unchanged();
        // where optimize() still renumbers what was saved unordered
        c.optimize().unwrap();
        assert!(c.segment().is_ordered());
    }

    #[test]
    fn a_renumbering_that_a_write_overtakes_is_dropped_and_tried_later() {
        let c = collection();
        // keep the collection's own indexer from renumbering
        let _theirs = c.reorder.lock();
        let n = AUTO_ORDER_MIN as u64 + 500;
        c.upsert(points(0..n)).unwrap();
        c.finish_indexing();
        let mut order = AutoOrder::new(&c.config(), Arc::new(Mutex::new(())), 0);
        let before = c.segment();
        let job = order.prepare(&c.segment, &c.writer, None).unwrap();
        let payload = Payload::try_from(json!({"tag": "late"})).unwrap();
        c.set_payload(&[PointId::Num(7)], &payload, None).unwrap();
        assert!(
            !order.install(job, &c.segment, &c.writer),
            "a write came in"
        );
        assert!(Arc::ptr_eq(&before, &c.segment()));
        assert!(
            order.prepare(&c.segment, &c.writer, None).is_none(),
            "not due yet"
        );
        c.upsert(points(n..n + n / 4)).unwrap();
        c.finish_indexing();
        let job = order.prepare(&c.segment, &c.writer, None).unwrap();
        assert!(order.install(job, &c.segment, &c.writer));
        let after = c.segment();
        assert!(after.is_ordered());
        assert_eq!(after.ordered_rows(), (n + n / 4) as usize);
        assert_eq!(c.count(), (n + n / 4) as usize);
        let got = payloads(&c, &[PointId::Num(7), PointId::Num(n + 3)]);
        assert_eq!(got[0].as_ref().unwrap().as_map()["tag"], "late");
        assert_eq!(got[1].as_ref().unwrap().as_map()["i"], n + 3);
    }
}
