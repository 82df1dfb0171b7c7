//! The indexer's automatic vacuum: a segment keeps the rows of replaced
//! and deleted points (retired rows, hidden from every search) until a
//! compaction drops them. Without one, a collection under updates and
//! deletes grows without bound in memory, on disk and in the time an open
//! takes, whatever its live size: a server restarted every second under
//! writes reached 600,000 rows for 3,000 points, and its restarts slowed
//! from 1.2 s to 7.8 s.
//!
//! Qdrant's vacuum optimizer rebuilds a segment once more than
//! [`DELETED_THRESHOLD`] of its points are deleted and it holds at least
//! [`VACUUM_MIN_VECTORS`] (its `optimizers_config` defaults). This one does
//! the same, in three steps, so that writes wait only for copies, never
//! for graph construction:
//!
//! 1. under the writer lock, copy the live rows (in their order) into a
//!    new segment and start keeping every operation applied from then on
//!    (the writer's catch-up list);
//! 2. without it, build the new segment's graphs (writes and reads go on
//!    against the old segment meanwhile);
//! 3. under the writer lock again, apply the kept operations to the new
//!    segment, with their sequence numbers, through the code a write and a
//!    log replay use ([`apply_to`]), so it reaches exactly the state of
//!    the old one; then put it in its place.
//!
//! If the segment was replaced meanwhile (a snapshot recovered, say), the
//! copy is dropped. A copy that finds no memory is not tried again before
//! the segment has grown by half. The next checkpoint writes the new
//! segment to new files (see `Database::maintain`), so the next open reads
//! only live rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rayon::ThreadPool;

use crate::config::CollectionConfig;
use crate::indexer::{SegmentSlot, WriterSlot};
use crate::segment::Segment;
use crate::update::{apply_to, in_pool};
use vicinity_index::PointOffset;

/// Qdrant's `optimizers_config.deleted_threshold` default: the fraction of
/// a segment's rows that must be retired before it is vacuumed.
pub(crate) const DELETED_THRESHOLD: f64 = 0.2;

/// Qdrant's `optimizers_config.vacuum_min_vector_number` default: smaller
/// segments are left as they are.
pub(crate) const VACUUM_MIN_VECTORS: usize = 1000;

/// Whether enough of `segment`'s rows are retired for a vacuum.
pub(crate) fn vacuum_due(segment: &Segment) -> bool {
    let rows = segment.row_count();
    let live = segment.table.read().ids.len();
    rows >= VACUUM_MIN_VECTORS && (rows - live.min(rows)) as f64 > DELETED_THRESHOLD * rows as f64
}

/// What the vacuums of a collection did, for tests and figures.
#[derive(Debug, Default)]
pub(crate) struct VacuumStats {
    /// Vacuums that replaced the segment.
    pub(crate) done: AtomicU64,
    /// Operations applied to copies to catch up with writes.
    pub(crate) caught_up: AtomicU64,
}

/// The indexer's vacuum (see the module docs).
pub(crate) struct AutoVacuum {
    config: CollectionConfig,
    /// The collection's renumbering lock, shared with `optimize`: one
    /// rebuild of the segment at a time.
    lock: Arc<Mutex<()>>,
    /// No attempt below this many rows: raised when a copy found no memory.
    retry_at: usize,
    stats: Arc<VacuumStats>,
}

impl AutoVacuum {
    pub(crate) fn new(
        config: &CollectionConfig,
        lock: Arc<Mutex<()>>,
        stats: Arc<VacuumStats>,
    ) -> Self {
        AutoVacuum {
            config: config.clone(),
            lock,
            retry_at: 0,
            stats,
        }
    }

    /// Whether the current segment is due.
    pub(crate) fn due(&self, segment: &Segment) -> bool {
        segment.row_count() >= self.retry_at && vacuum_due(segment)
    }

    /// Vacuums the current segment if it is due; whether it did.
    pub(crate) fn run_if_due(
        &mut self,
        slot: &SegmentSlot,
        writer: &WriterSlot,
        pool: Option<&ThreadPool>,
    ) -> bool {
        if !self.due(&slot.read()) {
            return false;
        }
        let lock = Arc::clone(&self.lock);
        let _one = lock.lock();
        // 1. the copy, and the catch-up list from the same moment
        let (from, fresh) = {
            let mut w = writer.lock();
            let from = slot.read().clone();
            if !self.due(&from) {
                return false;
            }
            let mut live: Vec<PointOffset> = from.table.read().ids.values().copied().collect();
            live.sort_unstable();
            match in_pool(pool, || from.copy_rows(&self.config, &live)) {
                Ok(fresh) => {
                    w.catch_up = Some(Vec::new());
                    (from, fresh)
                }
                Err(_) => {
                    let rows = from.row_count();
                    self.retry_at = rows + rows / 2;
                    return false;
                }
            }
        };
        // 2. the graphs, while writes go to `from`
        fresh.index_all(pool);
        // 3. catch up and swap
        let mut w = writer.lock();
        let ops = w.catch_up.take().unwrap_or_default();
        if !Arc::ptr_eq(&slot.read(), &from) {
            return false;
        }
        for (op, seq) in &ops {
            // each failed or succeeded when it ran; it does the same here
            let _ = apply_to(&fresh, pool, op, *seq);
        }
        *slot.write() = Arc::new(fresh);
        drop(w);
        self.stats.done.fetch_add(1, Ordering::Relaxed);
        self.stats
            .caught_up
            .fetch_add(ops.len() as u64, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use serde_json::json;
    use vicinity_index::HnswConfig;
    use vicinity_payload::{FieldIndexParams, FieldType, Filter, JsonPath, Payload, PointId};

    use super::*;
    use crate::{
        Collection, Database, Distance, PayloadSelector, PointStruct, SearchRequest,
        VectorSelector, WithSelectors,
    };

    const DIM: usize = 8;

    fn vector(i: u64, k: u64) -> Vec<f32> {
        (0..DIM)
            .map(|j| ((i * 31 + k * 7) as f32 * 0.37 + j as f32 * 1.1).sin())
            .collect()
    }

    fn config() -> CollectionConfig {
        let hnsw = HnswConfig {
            m: 8,
            ef_construct: 32,
            full_scan_threshold: 0,
            ..HnswConfig::default()
        };
        CollectionConfig::single(DIM, Distance::Euclid).with_hnsw(hnsw)
    }

    fn point(i: u64, k: u64) -> PointStruct {
        let payload = Payload::try_from(json!({"i": i, "k": k, "odd": i % 2 == 1})).unwrap();
        PointStruct::new(i, vector(i, k), payload)
    }

    fn wait_for(what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited for {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every id's payload and vector, as the collection returns them.
    fn state(c: &Collection, ids: u64) -> HashMap<u64, (Payload, Vec<f32>)> {
        let ids: Vec<PointId> = (0..ids).map(PointId::Num).collect();
        let with = WithSelectors {
            payload: PayloadSelector::All,
            vectors: VectorSelector::All,
        };
        c.get(&ids, &with)
            .unwrap()
            .into_iter()
            .map(|r| {
                let PointId::Num(i) = r.id else {
                    unreachable!()
                };
                let v = r
                    .vectors
                    .unwrap()
                    .iter()
                    .next()
                    .unwrap()
                    .1
                    .as_dense()
                    .unwrap()
                    .to_vec();
                (i, (r.payload.unwrap(), v))
            })
            .collect()
    }

    #[test]
    fn deleted_rows_are_dropped_in_the_background() {
        let c = Collection::new("c", config(), None).unwrap();
        let odd: JsonPath = "odd".parse().unwrap();
        c.create_field_index(&odd, FieldIndexParams::new(FieldType::Bool))
            .unwrap();
        c.upsert((0..3000).map(|i| point(i, 0)).collect()).unwrap();
        // 999 of 3000 rows retired: above Qdrant's 20%
        let gone: Vec<PointId> = (0..999).map(PointId::Num).collect();
        c.delete(&gone[..]).unwrap();
        wait_for("the vacuum", || c.segment().row_count() == 2001);
        assert_eq!(c.vacuums.done.load(Ordering::Relaxed), 1);
        let before = state(&c, 3000);
        assert_eq!(before.len(), 2001);
        for (i, (payload, v)) in &before {
            assert!(*i >= 999);
            assert_eq!(payload.as_map()["i"], *i);
            assert_eq!(*v, vector(*i, 0));
        }
        // the payload index was rebuilt over the copy
        let filter: Filter = serde_json::from_value(json!({
            "must": [{"key": "odd", "match": {"value": true}}]
        }))
        .unwrap();
        assert_eq!(c.count_where(&filter), 1001);
        // the graphs hold the live rows: the walk finds what a scan finds
        c.finish_indexing();
        let mut hits = 0;
        for k in 0..20 {
            let mut req = SearchRequest::new(vector(5000 + k, 1), 10);
            req.filter = Some(filter.clone());
            let walk = c.search(&req).unwrap();
            req.params.exact = true;
            let exact = c.search(&req).unwrap();
            assert!(walk.iter().all(|p| {
                let PointId::Num(i) = p.id else { return false };
                i >= 999 && i % 2 == 1
            }));
            hits += walk
                .iter()
                .filter(|w| exact.iter().any(|e| e.id == w.id))
                .count();
        }
        assert!(hits >= 180, "recall@10 {hits} of 200");
        // under the threshold: nothing to do
        c.delete(&[PointId::Num(1000)][..]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(c.vacuums.done.load(Ordering::Relaxed), 1);
    }

    /// Writes that land while a vacuum builds its copy reach the copy:
    /// the collection ends where a model of every write says, whichever
    /// writes came between a copy and its swap.
    #[test]
    fn writes_during_a_vacuum_reach_the_copy() {
        const IDS: u64 = 2000;
        let c = Collection::new("c", config(), None).unwrap();
        let mut model: HashMap<u64, (Payload, Vec<f32>)> = HashMap::new();
        let put = |c: &Collection, model: &mut HashMap<_, _>, i: u64, k: u64| {
            let p = point(i, k);
            c.upsert(vec![p.clone()]).unwrap();
            model.insert(i, (p.payload.unwrap(), vector(i, k)));
        };
        for i in 0..IDS {
            put(&c, &mut model, i, 0);
        }
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let start = Instant::now();
        let mut k = 1;
        // until vacuums have caught up with writes, several times
        while c.vacuums.done.load(Ordering::Relaxed) < 3
            || c.vacuums.caught_up.load(Ordering::Relaxed) < 100
        {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{:?} after {k} writes, {} rows",
                c.vacuums,
                c.segment().row_count()
            );
            let i = next() % IDS;
            match next() % 4 {
                0 | 1 => put(&c, &mut model, i, k),
                2 => {
                    c.delete(&[PointId::Num(i)][..]).unwrap();
                    model.remove(&i);
                }
                _ => {
                    let extra = Payload::try_from(json!({"set": k})).unwrap();
                    let r = c.set_payload(&[PointId::Num(i)][..], &extra, None);
                    if let Some((p, _)) = model.get_mut(&i) {
                        r.unwrap();
                        p.merge(&extra);
                    }
                }
            }
            k += 1;
            if k % 50 == 0 {
                // a writer as fast as a client, not a tight loop
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        wait_for("the indexer", || {
            c.pending_indexing() == 0 && !c.reorder.is_locked()
        });
        assert_eq!(state(&c, IDS), model);
        assert_eq!(c.count(), model.len());
    }

    #[test]
    fn a_vacuumed_collection_reopens_from_its_live_rows() {
        let dir = tempfile::tempdir().unwrap();
        let expected = {
            let db = Database::open(dir.path()).unwrap();
            let c = db.create_collection("c", config()).unwrap();
            c.upsert((0..3000).map(|i| point(i, 0)).collect()).unwrap();
            c.checkpoint().unwrap();
            assert!(!c.segment_replaced());
            let gone: Vec<PointId> = (0..1500).map(PointId::Num).collect();
            c.delete(&gone[..]).unwrap();
            wait_for("the vacuum", || c.segment().row_count() == 1500);
            assert!(c.segment_replaced());
            // a checkpoint for the new segment, though the log is short
            db.maintain(u64::MAX).unwrap();
            assert!(!c.segment_replaced());
            state(&c, 3000)
        };
        let db = Database::open(dir.path()).unwrap();
        let c = db.collection("c").unwrap();
        assert_eq!(c.segment().row_count(), 1500);
        assert_eq!(state(&c, 3000), expected);
    }
}
