use std::cmp::Reverse;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use rayon::prelude::*;
use vicinity_storage::PointOffset;

use super::HnswConfig;
use crate::distance::Element;
use crate::filter::{AllowAll, PointFilter};
use crate::scorer::{Nearest, Scorer};
use crate::slots::SlotArray;
use crate::vectors::Rows;
use crate::visited::{Scratch, with_scratch};
use crate::{IndexError, Metric, ScoredOffset, VectorStore};

/// No entry point yet.
pub(super) const EMPTY: u64 = u64::MAX;
/// Levels above this are not drawn (the chance is `m^-16`).
pub(super) const MAX_LEVEL: usize = 16;
/// Set in a link list's count word when the list is the neighbour-selection
/// heuristic's own output: sorted best first, and no link closer to an
/// earlier link than to the node. Such a list takes a new link by one
/// pass over it ([`HnswGraph::connect`]) instead of re-running the
/// heuristic over every pair. Cleared by a plain append; only inserters
/// read it, under the node's lock.
const SETTLED: u32 = 1 << 31;

/// The number of links a list's count word holds.
#[inline]
fn link_count(word: u32) -> usize {
    (word & !SETTLED) as usize
}

#[inline]
pub(super) fn pack(node: u32, level: usize) -> u64 {
    ((level as u64) << 32) | u64::from(node)
}

#[inline]
pub(super) fn unpack(v: u64) -> (u32, usize) {
    (v as u32, (v >> 32) as usize)
}

/// SplitMix64: a tiny, well-mixed hash used to draw levels from the seed
/// and the node id, so that a node's level does not depend on thread timing.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// An HNSW graph over the rows of one [`VectorStore`].
pub struct HnswGraph {
    pub(super) config: HnswConfig,
    /// The level normalisation factor `m_L = 1 / ln(m)` of the paper.
    ml: f64,
    /// Per node, its top level plus one; 0 means "not in the graph".
    pub(super) levels: SlotArray<AtomicU8>,
    /// Level-0 links per node: `[count, n_1, ..., n_m0]`.
    pub(super) links0: SlotArray<AtomicU32>,
    /// Per node whose top level `L` is at least 1: one plus the first of
    /// its `L` consecutive rows in `upper`; 0 for the others (most nodes).
    pub(super) upper_at: SlotArray<AtomicU32>,
    /// Links of levels `1..=L`, one row `[count, n_1, ..., n_m]` per level,
    /// handed out in blocks by `upper_rows`.
    pub(super) upper: SlotArray<AtomicU32>,
    upper_rows: AtomicUsize,
    /// Taken by inserters to rewrite one node's links; never by searches.
    pub(super) locks: SlotArray<Mutex<()>>,
    /// The entry point and its level, packed; `EMPTY` when the graph is.
    pub(super) entry: AtomicU64,
    entry_lock: Mutex<()>,
    pub(super) nodes: AtomicUsize,
    /// One past the largest node id inserted: the visited set's size.
    pub(super) bound: AtomicUsize,
}

impl std::fmt::Debug for HnswGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswGraph")
            .field("config", &self.config)
            .field("nodes", &self.len())
            .finish_non_exhaustive()
    }
}

impl HnswGraph {
    /// An empty graph.
    pub fn new(config: HnswConfig) -> Result<Self, IndexError> {
        Self::with_capacity(config, 0)
    }

    /// An empty graph with room for nodes `0..rows` allocated up front, in
    /// one piece (no slack for growth): for a graph whose size is known.
    pub fn with_capacity(config: HnswConfig, rows: usize) -> Result<Self, IndexError> {
        Self::sized(config, rows, 0)
    }

    /// An empty graph with room for nodes `0..rows` and `upper_rows`
    /// upper-level link rows allocated up front.
    pub(super) fn sized(
        config: HnswConfig,
        rows: usize,
        upper_rows: usize,
    ) -> Result<Self, IndexError> {
        config.validate()?;
        Ok(HnswGraph {
            // no levels without a graph (`m = 0`)
            ml: if config.builds_graph() {
                1.0 / (config.m as f64).ln()
            } else {
                0.0
            },
            levels: SlotArray::with_capacity(1, rows),
            links0: SlotArray::with_capacity(config.m0() + 1, rows),
            upper_at: SlotArray::with_capacity(1, rows),
            upper: SlotArray::with_capacity(config.m + 1, upper_rows),
            upper_rows: AtomicUsize::new(0),
            locks: SlotArray::with_capacity(1, rows),
            entry: AtomicU64::new(EMPTY),
            entry_lock: Mutex::new(()),
            nodes: AtomicUsize::new(0),
            bound: AtomicUsize::new(0),
            config,
        })
    }

    /// The parameters the graph was built with.
    pub fn config(&self) -> &HnswConfig {
        &self.config
    }

    /// Nodes inserted.
    pub fn len(&self) -> usize {
        self.nodes.load(Ordering::Acquire)
    }

    /// Whether no node has been inserted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether row `node` is in the graph.
    pub fn contains(&self, node: PointOffset) -> bool {
        self.levels
            .get(node.index())
            .is_some_and(|l| l[0].load(Ordering::Acquire) != 0)
    }

    /// Bytes held by the graph's arrays.
    pub fn memory_bytes(&self) -> usize {
        self.levels.allocated_bytes()
            + self.links0.allocated_bytes()
            + self.upper_at.allocated_bytes()
            + self.upper.allocated_bytes()
            + self.locks.allocated_bytes()
    }

    /// Gives `node` rows for its links at levels `1..=level` (once: a
    /// node inserted twice keeps its first block).
    pub(super) fn alloc_upper(&self, node: u32, level: usize) {
        let slot = &self.upper_at.get_or_alloc(node as usize)[0];
        if slot.load(Ordering::Acquire) != 0 {
            return;
        }
        let first = self.upper_rows.fetch_add(level, Ordering::AcqRel);
        for row in first..first + level {
            self.upper.get_or_alloc(row);
        }
        // a racing insert of the same node may have won: its block stays
        let _ = slot.compare_exchange(0, first as u32 + 1, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The level drawn for `node`: `floor(-ln(U) · m_L)` with `U` uniform in
    /// `(0, 1]`, derived from the seed and the node id.
    pub(super) fn random_level(&self, node: u32) -> usize {
        let x = splitmix64(self.config.seed ^ u64::from(node).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let u = ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln() * self.ml) as usize).min(MAX_LEVEL)
    }

    /// The link slots of `node` at `level`: `[count, n_1, ...]`.
    #[inline]
    pub(super) fn link_slots(&self, node: u32, level: usize) -> Option<&[AtomicU32]> {
        if level == 0 {
            self.links0.get(node as usize)
        } else {
            let top = usize::from(self.levels.get(node as usize)?[0].load(Ordering::Acquire));
            let at = self.upper_at.get(node as usize)?[0].load(Ordering::Acquire) as usize;
            if at == 0 || level >= top {
                return None;
            }
            self.upper.get(at - 1 + level - 1)
        }
    }

    /// The current neighbours of `node` at `level`.
    #[inline]
    pub(super) fn neighbors(&self, node: u32, level: usize) -> &[AtomicU32] {
        match self.link_slots(node, level) {
            Some(slots) => {
                let count = link_count(slots[0].load(Ordering::Acquire)).min(slots.len() - 1);
                &slots[1..=count]
            }
            None => &[],
        }
    }

    /// Whether the links of `node` at `level` are the heuristic's output
    /// (see [`SETTLED`]).
    #[cfg(test)]
    pub(super) fn is_settled(&self, node: u32, level: usize) -> bool {
        self.link_slots(node, level)
            .is_some_and(|s| s[0].load(Ordering::Acquire) & SETTLED != 0)
    }

    /// Starts loading the links of `node` at `level`, which a walk is about
    /// to read.
    #[inline]
    fn prefetch_links(&self, node: u32, level: usize) {
        if let Some(slots) = self.link_slots(node, level) {
            vicinity_storage::prefetch(slots);
        }
    }

    /// Replaces the links of `node` at `level`; the caller holds its lock.
    /// `settled`: `ids` are the heuristic's output (see [`SETTLED`]).
    fn write_links(&self, node: u32, level: usize, ids: &[u32], settled: bool) {
        let Some(slots) = self.link_slots(node, level) else {
            return;
        };
        let n = ids.len().min(slots.len() - 1);
        for (slot, &id) in slots[1..=n].iter().zip(ids) {
            slot.store(id, Ordering::Release);
        }
        let flag = if settled { SETTLED } else { 0 };
        slots[0].store(n as u32 | flag, Ordering::Release);
    }

    /// Inserts row `node` of `store` (already stored there) into the graph.
    /// Inserting a node twice, or a row the store does not have, does
    /// nothing. `store` may be the vectors or a copy of them for building
    /// ([`Bf16Rows`](crate::Bf16Rows)): the links are chosen by its
    /// distances.
    pub fn insert<R: Rows>(&self, store: &R, node: PointOffset) {
        if !self.config.builds_graph() {
            return;
        }
        crate::with_store_metric!(store, M => self.insert_with::<M, R>(store, node))
    }

    /// Inserts many rows, in parallel on the current rayon pool (the
    /// caller's `ThreadPool::install` picks the pool and so the threads).
    /// On one thread the rows go in the given order, so the graph is
    /// reproducible.
    pub fn insert_many<R: Rows>(&self, store: &R, nodes: &[PointOffset]) {
        let Some((&first, rest)) = nodes.split_first() else {
            return;
        };
        self.insert(store, first);
        if rayon::current_num_threads() <= 1 || rest.len() < 64 {
            rest.iter().for_each(|&n| self.insert(store, n));
        } else {
            rest.par_iter()
                .with_min_len(16)
                .for_each(|&n| self.insert(store, n));
        }
    }

    fn insert_with<M: Metric, R: Rows>(&self, store: &R, node: PointOffset) {
        let Some(q) = store.row(node) else {
            debug_assert!(false, "row {node} is not in the store");
            return;
        };
        let id = node.0;
        let level = self.random_level(id);
        let m = self.config.m;
        let level_slot = &self.levels.get_or_alloc(id as usize)[0];
        self.links0.get_or_alloc(id as usize);
        let lock = &self.locks.get_or_alloc(id as usize)[0];
        if level > 0 {
            self.alloc_upper(id, level);
        }
        if level_slot
            .compare_exchange(0, level as u8 + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        self.bound.fetch_max(id as usize + 1, Ordering::AcqRel);
        self.nodes.fetch_add(1, Ordering::AcqRel);

        let mut ep = self.entry.load(Ordering::Acquire);
        if ep == EMPTY {
            let _g = self.entry_lock.lock();
            ep = self.entry.load(Ordering::Acquire);
            if ep == EMPTY {
                self.entry.store(pack(id, level), Ordering::Release);
                return;
            }
        }
        let (ep_id, ep_level) = unpack(ep);
        let Some(ep_vec) = store.row(PointOffset(ep_id)) else {
            return;
        };
        let scorer = Nearest::<M, R::E>::new(q);
        let mut cur = ScoredOffset {
            offset: PointOffset(ep_id),
            similarity: scorer.score(ep_vec),
        };
        // Inserts run on every thread of the pool at once, sharing memory.
        let depth = store.prefetch_depth(rayon::current_num_threads());
        for l in (level + 1..=ep_level).rev() {
            cur = self.greedy(store, &scorer, cur, l, depth);
        }
        with_scratch(|s| {
            s.depth = depth;
            let mut entry = vec![cur];
            for l in (0..=level.min(ep_level)).rev() {
                let found = self.search_layer(
                    store,
                    &scorer,
                    &entry,
                    self.config.ef_construct,
                    l,
                    &AllowAll,
                    s,
                    Some(id),
                );
                // m0 links at level 0 and m above, as Qdrant and FAISS
                // (hnswlib takes m at level 0 too, leaving the rest to
                // reverse links): a denser level 0 reaches a given recall at
                // a smaller ef. It became affordable with the one-pass
                // admission of `connect`: before it, each of the m0 reverse
                // links re-pruned a full list pair by pair where the
                // heuristic keeps everything, and 50k random 384-d vectors
                // built in 12.4 s instead of 6.3 s.
                let links = if l == 0 { self.config.m0() } else { m };
                let selected = Self::select_neighbors::<M, R>(store, &found, links);
                {
                    let _g = lock.lock();
                    // the heuristic ran only if there was a choice
                    self.write_links(id, l, &selected, found.len() > links);
                }
                for &nb in &selected {
                    self.connect::<M, R>(store, nb, id, l, depth);
                }
                if !found.is_empty() {
                    entry = found;
                }
            }
        });
        if level > ep_level {
            let _g = self.entry_lock.lock();
            let (_, top) = unpack(self.entry.load(Ordering::Acquire));
            if level > top {
                self.entry.store(pack(id, level), Ordering::Release);
            }
        }
    }

    /// Adds a link `node -> new` at `level`, shrinking `node`'s list with the
    /// heuristic when it is full.
    ///
    /// A full list that is the heuristic's own output ([`SETTLED`]) is not
    /// re-pruned pair by pair: running the heuristic over it plus `new`
    /// keeps every link better than `new` (each already passed the links
    /// before it), keeps `new` only if none of those is closer to it than
    /// the node is, and then drops exactly the later links closer to `new`
    /// than to the node (they passed the rest before), up to the cap. One
    /// pass, about `2·cap` distances instead of `cap²/2`, with the same
    /// result: on data where the heuristic keeps nearly everything (high
    /// intrinsic dimension) every full list took the quadratic path.
    fn connect<M: Metric, R: Rows>(
        &self,
        store: &R,
        node: u32,
        new: u32,
        level: usize,
        depth: usize,
    ) {
        let Some(lock) = self.locks.get(node as usize) else {
            return;
        };
        let _g = lock[0].lock();
        let Some(slots) = self.link_slots(node, level) else {
            return;
        };
        let cap = slots.len() - 1;
        let word = slots[0].load(Ordering::Acquire);
        let count = link_count(word).min(cap);
        if slots[1..=count]
            .iter()
            .any(|s| s.load(Ordering::Relaxed) == new)
        {
            return;
        }
        if count < cap {
            slots[1 + count].store(new, Ordering::Release);
            // appended unchecked, as hnswlib: no longer the heuristic's output
            slots[0].store(count as u32 + 1, Ordering::Release);
            return;
        }
        let Some(base) = store.row(PointOffset(node)) else {
            return;
        };
        let mut candidates = Vec::with_capacity(count + 1);
        store.for_each_row(
            depth,
            count + 1,
            |j| match j {
                j if j < count => slots[1 + j].load(Ordering::Relaxed),
                _ => new,
            },
            |offset, v| {
                candidates.push(ScoredOffset {
                    offset,
                    similarity: R::E::similarity::<M>(base, v),
                })
            },
        );
        // the one pass needs every link scored and the newcomer last: were
        // a row missing from the store, the full heuristic takes over
        if word & SETTLED != 0 && candidates.len() == count + 1 {
            if let Some(ids) = Self::admit::<M, R>(store, &candidates, cap) {
                self.write_links(node, level, &ids, true);
            }
            return;
        }
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        let selected = Self::select_neighbors::<M, R>(store, &candidates, cap);
        self.write_links(node, level, &selected, true);
    }

    /// The heuristic's choice of at most `cap` links from a settled list
    /// plus one newcomer, in one pass (see [`connect`](Self::connect)).
    /// `candidates` are the list's links in order, then the newcomer, each
    /// scored against the node. `None`: the list stays as it is.
    pub(super) fn admit<M: Metric, R: Rows>(
        store: &R,
        candidates: &[ScoredOffset],
        cap: usize,
    ) -> Option<Vec<u32>> {
        let (new, links) = candidates.split_last()?;
        // where `new` goes among the links, best first
        let at = links.iter().position(|c| c < new)?;
        let nv = store.row(new.offset)?;
        let dominated = links[..at].iter().any(|c| {
            store
                .row(c.offset)
                .is_some_and(|cv| R::E::similarity::<M>(nv, cv) > new.similarity)
        });
        if dominated {
            return None;
        }
        let mut ids = Vec::with_capacity(cap);
        ids.extend(links[..at].iter().map(|c| c.offset.0));
        ids.push(new.offset.0);
        for c in &links[at..] {
            if ids.len() >= cap {
                break;
            }
            let keep = store
                .row(c.offset)
                .is_some_and(|cv| R::E::similarity::<M>(cv, nv) <= c.similarity);
            if keep {
                ids.push(c.offset.0);
            }
        }
        Some(ids)
    }

    /// The paper's neighbour-selection heuristic (Algorithm 4, without
    /// extending or keeping pruned candidates, as hnswlib): walk the
    /// candidates best first and keep one only if it is closer to the base
    /// than to every candidate already kept, so that links spread in
    /// different directions. `candidates` are sorted best first.
    pub(super) fn select_neighbors<M: Metric, R: Rows>(
        store: &R,
        candidates: &[ScoredOffset],
        m: usize,
    ) -> Vec<u32> {
        if candidates.len() <= m {
            return candidates.iter().map(|c| c.offset.0).collect();
        }
        let mut kept: Vec<(u32, &[R::E])> = Vec::with_capacity(m);
        for c in candidates {
            if kept.len() >= m {
                break;
            }
            let Some(cv) = store.row(c.offset) else {
                continue;
            };
            if kept
                .iter()
                .all(|&(_, kv)| R::E::similarity::<M>(cv, kv) <= c.similarity)
            {
                kept.push((c.offset.0, cv));
            }
        }
        kept.into_iter().map(|(id, _)| id).collect()
    }

    /// Greedy descent at one upper level: move to the closest neighbour
    /// until none is closer.
    fn greedy<R: Rows, S: Scorer<R::E>>(
        &self,
        store: &R,
        q: &S,
        mut cur: ScoredOffset,
        level: usize,
        depth: usize,
    ) -> ScoredOffset {
        loop {
            let mut moved = false;
            let neighbors = self.neighbors(cur.offset.0, level);
            let mut best = cur;
            store.for_each_row(
                depth,
                neighbors.len(),
                |j| neighbors[j].load(Ordering::Relaxed),
                |offset, v| {
                    let similarity = q.score(v);
                    if similarity > best.similarity {
                        best = ScoredOffset { offset, similarity };
                        moved = true;
                    }
                },
            );
            cur = best;
            if !moved {
                return cur;
            }
            self.prefetch_links(cur.offset.0, level);
        }
    }

    /// The best-first walk of width `ef` at one level (the paper's
    /// SEARCH-LAYER). Rows failing `filter` are walked through but not
    /// returned; `exclude` is never visited. Returns up to `ef` rows, best
    /// first.
    #[allow(clippy::too_many_arguments)]
    fn search_layer<R: Rows, S: Scorer<R::E>, F: PointFilter>(
        &self,
        store: &R,
        q: &S,
        entry: &[ScoredOffset],
        ef: usize,
        level: usize,
        filter: &F,
        s: &mut Scratch,
        exclude: Option<u32>,
    ) -> Vec<ScoredOffset> {
        s.visited.reset(self.bound.load(Ordering::Acquire));
        s.candidates.clear();
        s.results.clear();
        if let Some(x) = exclude {
            s.visited.insert(x as usize);
        }
        for &e in entry {
            if !s.visited.insert(e.offset.index()) {
                continue;
            }
            s.candidates.push(e);
            if filter.check(e.offset) {
                s.results.push(Reverse(e));
                if s.results.len() > ef {
                    s.results.pop();
                }
            }
        }
        while let Some(c) = s.candidates.pop() {
            if s.results.len() >= ef
                && let Some(worst) = s.results.peek()
                && c.similarity < worst.0.similarity
            {
                break;
            }
            // Collect the rows to score, then keep the next few of them
            // loading whole while scoring one: a walk waits on memory, not
            // arithmetic, and many rows in flight hide most of the wait.
            s.batch.clear();
            for slot in self.neighbors(c.offset.0, level) {
                let nb = slot.load(Ordering::Relaxed);
                if s.visited.insert(nb as usize) {
                    s.batch.push(nb);
                }
            }
            self.score_batch(store, q, ef, level, s, |offset| filter.check(offset));
        }
        let mut out: Vec<ScoredOffset> = s.results.drain().map(|r| r.0).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// Scores the rows of `s.batch` (keeping rows loading ahead) and admits
    /// each that beats the worst of a full result list as a candidate,
    /// and as a result if it `passes`.
    fn score_batch<R: Rows, S: Scorer<R::E>>(
        &self,
        store: &R,
        q: &S,
        ef: usize,
        level: usize,
        s: &mut Scratch,
        passes: impl Fn(PointOffset) -> bool,
    ) {
        let Scratch {
            batch,
            candidates,
            results,
            depth,
            ..
        } = s;
        store.for_each_row(
            *depth,
            batch.len(),
            |j| batch[j],
            |offset, v| {
                let similarity = q.score(v);
                if results.len() >= ef
                    && results.peek().is_some_and(|w| similarity <= w.0.similarity)
                {
                    return;
                }
                let item = ScoredOffset { offset, similarity };
                // it may be expanded next: start loading its links
                self.prefetch_links(offset.0, level);
                candidates.push(item);
                if passes(offset) {
                    results.push(Reverse(item));
                    if results.len() > ef {
                        results.pop();
                    }
                }
            },
        );
    }

    /// The level-0 walk for a selective filter (ACORN-1, Patel et al.
    /// 2024): only rows that pass the filter are scored and expanded; a
    /// neighbour that fails is not scored but its own neighbours are tried
    /// (two hops), which keeps the walk connected through the rows the
    /// filter removes and spends no distance computation on them.
    fn search_layer_two_hop<R: Rows, S: Scorer<R::E>, F: PointFilter>(
        &self,
        store: &R,
        q: &S,
        entries: &[ScoredOffset],
        ef: usize,
        filter: &F,
        s: &mut Scratch,
    ) -> Vec<ScoredOffset> {
        let bound = self.bound.load(Ordering::Acquire);
        s.visited.reset(bound);
        s.candidates.clear();
        s.results.clear();
        for &entry in entries {
            if !s.visited.insert(entry.offset.index()) {
                continue;
            }
            // An entry that fails the filter still seeds the walk.
            s.candidates.push(entry);
            if filter.check(entry.offset) {
                s.results.push(Reverse(entry));
                if s.results.len() > ef {
                    s.results.pop();
                }
            }
        }
        while let Some(c) = s.candidates.pop() {
            if s.results.len() >= ef
                && let Some(worst) = s.results.peek()
                && c.similarity < worst.0.similarity
            {
                break;
            }
            // The passing neighbours go to the batch to score; the failing
            // ones' links are loaded, then their passing neighbours join
            // the batch (the second hop); then the batch is scored with
            // its rows loading ahead.
            s.batch.clear();
            s.hop.clear();
            for slot in self.neighbors(c.offset.0, 0) {
                let nb = slot.load(Ordering::Relaxed);
                let failed = s.visited.failed(nb as usize);
                if !s.visited.insert(nb as usize) {
                    continue;
                }
                if !failed && filter.check(PointOffset(nb)) {
                    s.batch.push(nb);
                } else {
                    self.prefetch_links(nb, 0);
                    s.hop.push(nb);
                }
            }
            for &nb in &s.hop {
                for slot in self.neighbors(nb, 0) {
                    let nb2 = slot.load(Ordering::Relaxed);
                    if s.visited.seen(nb2 as usize) {
                        continue;
                    }
                    if filter.check(PointOffset(nb2)) {
                        s.visited.insert(nb2 as usize);
                        s.batch.push(nb2);
                    } else {
                        s.visited.insert_failed(nb2 as usize);
                    }
                }
            }
            // every row of the batch passes the filter
            self.score_batch(store, q, ef, 0, s, |_| true);
        }
        let mut out: Vec<ScoredOffset> = s.results.drain().map(|r| r.0).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// Like [`search`](Self::search), for a filter expected to pass only a
    /// small share of the rows: the walk scores only passing rows and steps
    /// over failing ones by two hops (ACORN-1), instead of scoring every
    /// row it visits. `seeds` (rows that pass, spread over the passing set)
    /// start the walk beside the usual entry point, so that it reaches
    /// passing regions far from the query; when the walk still finds fewer
    /// than `k` rows, the plain filtered walk runs instead.
    pub fn search_selective<F: PointFilter>(
        &self,
        store: &VectorStore,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: &F,
        seeds: &[PointOffset],
    ) -> Vec<ScoredOffset> {
        crate::with_store_metric!(store, M => {
            self.search_selective_scored(store, &Nearest::<M>::new(query), k, ef, filter, seeds)
        })
    }

    /// [`search_selective`](Self::search_selective) ranking by any scorer,
    /// over any rows (see [`search_scored`](Self::search_scored)).
    pub fn search_selective_scored<R: Rows, S: Scorer<R::E>, F: PointFilter>(
        &self,
        store: &R,
        scorer: &S,
        k: usize,
        ef: usize,
        filter: &F,
        seeds: &[PointOffset],
    ) -> Vec<ScoredOffset> {
        if k == 0 {
            return Vec::new();
        }
        let Some(entry) = self.descend(store, scorer) else {
            return Vec::new();
        };
        let mut entries = vec![entry];
        entries.extend(
            seeds
                .iter()
                .filter(|&&o| self.contains(o))
                .filter_map(|&o| {
                    store.row(o).map(|v| ScoredOffset {
                        offset: o,
                        similarity: scorer.score(v),
                    })
                }),
        );
        let mut out = with_scratch(|s| {
            s.depth = store.prefetch_depth(1);
            self.search_layer_two_hop(store, scorer, &entries, ef.max(k), filter, s)
        });
        if out.len() < k {
            out = with_scratch(|s| {
                s.depth = store.prefetch_depth(1);
                self.search_layer(store, scorer, &[entry], ef.max(k), 0, filter, s, None)
            });
        }
        out.truncate(k);
        out
    }

    /// The greedy descent from the entry point to level 1: the level-0
    /// entry for a query.
    fn descend<R: Rows, S: Scorer<R::E>>(&self, store: &R, q: &S) -> Option<ScoredOffset> {
        let ep = self.entry.load(Ordering::Acquire);
        if ep == EMPTY {
            return None;
        }
        let (id, top) = unpack(ep);
        let v = store.row(PointOffset(id))?;
        let mut cur = ScoredOffset {
            offset: PointOffset(id),
            similarity: q.score(v),
        };
        for l in (1..=top).rev() {
            cur = self.greedy(store, q, cur, l, store.prefetch_depth(1));
        }
        Some(cur)
    }

    /// The `k` best rows for `query` (preprocessed for the store's
    /// distance) among those passing `filter`, best first, walking `max(ef,
    /// k)` candidates at level 0.
    pub fn search<F: PointFilter>(
        &self,
        store: &VectorStore,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: &F,
    ) -> Vec<ScoredOffset> {
        crate::with_store_metric!(store, M => self.search_scored(store, &Nearest::<M>::new(query), k, ef, filter))
    }

    /// The `k` rows `scorer` ranks best among those passing `filter`, best
    /// first: the same walk as [`search`](Self::search), for queries that
    /// score by more than one vector (recommend, discover), or over other
    /// rows than the stored vectors (the codes of
    /// [`I8Rows`](crate::I8Rows), scored by
    /// [`QuantizedNearest`](crate::QuantizedNearest)).
    pub fn search_scored<R: Rows, S: Scorer<R::E>, F: PointFilter>(
        &self,
        store: &R,
        scorer: &S,
        k: usize,
        ef: usize,
        filter: &F,
    ) -> Vec<ScoredOffset> {
        if k == 0 {
            return Vec::new();
        }
        let Some(cur) = self.descend(store, scorer) else {
            return Vec::new();
        };
        with_scratch(|s| {
            s.depth = store.prefetch_depth(1);
            let mut out = self.search_layer(store, scorer, &[cur], ef.max(k), 0, filter, s, None);
            out.truncate(k);
            out
        })
    }
}
