//! Exact search: score every candidate row. It is the oracle the graph is
//! tested against, and the fast path when few rows pass a filter.

use vicinity_storage::PointOffset;

use crate::scorer::{Nearest, Scorer};
use crate::{Metric, PointFilter, ScoredOffset, TopK, VectorStore};

/// The `k` rows closest to `query` (preprocessed) among the rows that pass
/// `filter`, best first.
pub fn exact_search<F: PointFilter>(
    store: &VectorStore,
    query: &[f32],
    k: usize,
    filter: &F,
) -> Vec<ScoredOffset> {
    let n = store.len() as u32;
    exact_search_among(store, query, k, filter, (0..n).map(PointOffset))
}

/// Like [`exact_search`], over the given candidate rows only.
pub fn exact_search_among<F: PointFilter>(
    store: &VectorStore,
    query: &[f32],
    k: usize,
    filter: &F,
    candidates: impl Iterator<Item = PointOffset>,
) -> Vec<ScoredOffset> {
    crate::with_store_metric!(store, M => scan::<M, F>(store, query, k, filter, candidates))
}

fn scan<M: Metric, F: PointFilter>(
    store: &VectorStore,
    query: &[f32],
    k: usize,
    filter: &F,
    candidates: impl Iterator<Item = PointOffset>,
) -> Vec<ScoredOffset> {
    exact_search_scored(store, &Nearest::<M>::new(query), k, filter, candidates)
}

/// The `k` rows `scorer` ranks best among `candidates` that pass `filter`,
/// best first.
pub fn exact_search_scored<S: Scorer, F: PointFilter>(
    store: &VectorStore,
    scorer: &S,
    k: usize,
    filter: &F,
    candidates: impl Iterator<Item = PointOffset>,
) -> Vec<ScoredOffset> {
    let mut top = TopK::new(k);
    for offset in candidates {
        if !filter.check(offset) {
            continue;
        }
        let Some(v) = store.get(offset) else { continue };
        top.push(ScoredOffset {
            offset,
            similarity: scorer.score(v),
        });
    }
    top.into_sorted_vec()
}
