//! Sparse vectors: their rows and an inverted index over them.
//!
//! A sparse vector is a few `(index, weight)` pairs out of up to 2³²
//! dimensions (BM25 or SPLADE term weights). [`SparseIndex`] keeps every
//! row's pairs (sorted by index) and, per dimension, a posting list of the
//! rows holding it with their weights, in row order: rows are appended in
//! increasing order, so appending keeps every list sorted. Rows are
//! write-once; a retired row stays in its posting lists (searches skip it
//! through their filter) until the segment is rebuilt without it, but
//! leaves the document frequencies at once, so IDF counts live rows only.
//!
//! The score is the dot product over the indices a row shares with the
//! query; a row sharing none is never a result (Qdrant's rule).
//! [`SparseIndex::search`] uses MaxScore pruning (Turtle and Flood, 1995):
//! lists are ordered by their largest possible contribution, and once the
//! best `k` are known the lists whose contributions together cannot lift a
//! row above the `k`-th best ("non-essential") only score rows that the
//! others bring up, by a skip (a galloping search), instead of being
//! walked. The essential lists are summed a window of rows at a time into
//! a dense accumulator (one add per posting, as Qdrant's batched search
//! does), and the rows they touched are finished in row order. A BM25 query
//! over a large corpus then walks its rare terms' lists, not the common
//! ones'. (Scoring a rare term's rows whole first, to start with a high
//! `k`-th score, was tried and measured slower: random reads of rows.)

use roaring::RoaringBitmap;
use std::collections::HashMap;

use vicinity_storage::PointOffset;

use crate::filter::PointFilter;
use crate::topk::{ScoredOffset, TopK};

/// The dot product of two sparse vectors (indices ascending) over the
/// indices both hold; `None` when they share none.
pub fn dot(ai: &[u32], av: &[f32], bi: &[u32], bv: &[f32]) -> Option<f32> {
    let (mut i, mut j) = (0, 0);
    let mut sum = 0.0f32;
    let mut shared = false;
    while i < ai.len() && j < bi.len() {
        match ai[i].cmp(&bi[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += av[i] * bv[j];
                shared = true;
                i += 1;
                j += 1;
            }
        }
    }
    shared.then_some(sum)
}

/// Sorts `(index, weight)` pairs by index into `indices` and `values`.
pub fn sort_pairs(indices: &[u32], values: &[f32]) -> (Vec<u32>, Vec<f32>) {
    if indices.windows(2).all(|w| w[0] < w[1]) {
        return (indices.to_vec(), values.to_vec());
    }
    let mut pairs: Vec<(u32, f32)> = indices
        .iter()
        .copied()
        .zip(values.iter().copied())
        .collect();
    pairs.sort_unstable_by_key(|p| p.0);
    pairs.into_iter().unzip()
}

/// BM25's inverse document frequency, as Qdrant computes it:
/// `ln((n - df + 0.5) / (df + 0.5) + 1)`.
pub fn idf(df: u32, n: u64) -> f32 {
    let (df, n) = (df as f32, n as f32);
    ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
}

/// Rows summed at a time by [`SparseIndex::search`]'s accumulator.
const WINDOW: u32 = 4_096;

/// The rows of one dimension, ascending, with their weights.
#[derive(Debug, Default)]
struct Posting {
    rows: Vec<u32>,
    weights: Vec<f32>,
    /// The largest and smallest weight in the list.
    max: f32,
    min: f32,
    /// Live rows holding the dimension (the document frequency).
    live: u32,
}

/// The sparse vectors of one vector name and their inverted index.
#[derive(Debug, Default)]
pub struct SparseIndex {
    /// Row `r` holds `indices[offsets[r]..offsets[r + 1]]` (and the values
    /// alongside); an absent row holds nothing.
    offsets: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
    /// Whether row `r` counts in the statistics (has a vector, not retired).
    counted: Vec<bool>,
    postings: HashMap<u32, Posting>,
    /// Live rows with a vector: IDF's `n`.
    live: u64,
}

/// One query term's walk over its posting list.
struct Cursor<'a> {
    rows: &'a [u32],
    weights: &'a [f32],
    at: usize,
    weight: f32,
    /// The most this list adds to any row's score (never negative).
    bound: f32,
}

impl Cursor<'_> {
    fn current(&self) -> Option<u32> {
        self.rows.get(self.at).copied()
    }

    /// Moves to the first row `>= row` (galloping, then binary search).
    fn skip_to(&mut self, row: u32) {
        let rest = &self.rows[self.at..];
        if rest.first().is_none_or(|&r| r >= row) {
            return;
        }
        let mut step = 1;
        while step < rest.len() && rest[step] < row {
            step *= 2;
        }
        let lo = step / 2;
        let hi = step.min(rest.len());
        self.at += lo + rest[lo..hi].partition_point(|&r| r < row);
    }
}

impl SparseIndex {
    /// An empty index.
    pub fn new() -> Self {
        SparseIndex {
            offsets: vec![0],
            ..Default::default()
        }
    }

    /// Rows appended so far.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether no row was appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a row holding a vector (any order of indices; each once).
    pub fn push(&mut self, indices: &[u32], values: &[f32]) -> PointOffset {
        let row = self.len() as u32;
        let (indices, values) = sort_pairs(indices, values);
        for (&i, &w) in indices.iter().zip(&values) {
            let p = self.postings.entry(i).or_insert_with(|| Posting {
                max: w,
                min: w,
                ..Default::default()
            });
            p.rows.push(row);
            p.weights.push(w);
            p.max = p.max.max(w);
            p.min = p.min.min(w);
            p.live += 1;
        }
        self.indices.extend_from_slice(&indices);
        self.values.extend_from_slice(&values);
        self.offsets.push(self.indices.len());
        self.counted.push(true);
        self.live += 1;
        PointOffset(row)
    }

    /// Appends a row without a vector.
    pub fn push_absent(&mut self) -> PointOffset {
        let row = self.len() as u32;
        self.offsets.push(self.indices.len());
        self.counted.push(false);
        PointOffset(row)
    }

    /// Takes a row out of the statistics (its point was replaced or
    /// deleted, or its vector removed); the caller hides it from searches.
    pub fn retire(&mut self, row: PointOffset) {
        let r = row.index();
        if !self.counted.get(r).copied().unwrap_or(false) {
            return;
        }
        self.counted[r] = false;
        self.live -= 1;
        for i in &self.indices[self.offsets[r]..self.offsets[r + 1]] {
            if let Some(p) = self.postings.get_mut(i) {
                p.live -= 1;
            }
        }
    }

    /// A row's vector (indices ascending); `None` past the end. An absent
    /// row reads as empty.
    pub fn get(&self, row: PointOffset) -> Option<(&[u32], &[f32])> {
        let r = row.index();
        if r >= self.len() {
            return None;
        }
        let span = self.offsets[r]..self.offsets[r + 1];
        Some((&self.indices[span.clone()], &self.values[span]))
    }

    /// Live rows with a vector.
    pub fn live(&self) -> u64 {
        self.live
    }

    /// Live rows holding dimension `index`.
    pub fn document_frequency(&self, index: u32) -> u32 {
        self.postings.get(&index).map_or(0, |p| p.live)
    }

    /// Query weights times each index's IDF over the live rows.
    pub fn idf_weighted(&self, indices: &[u32], values: &[f32]) -> Vec<f32> {
        indices
            .iter()
            .zip(values)
            .map(|(&i, &v)| v * idf(self.document_frequency(i), self.live))
            .collect()
    }

    /// Query weights times each index's IDF over the live rows with a
    /// vector that `within` passes (a corpus filter): each row is asked
    /// once, then the query's posting lists are counted against that set.
    pub fn idf_weighted_within(
        &self,
        indices: &[u32],
        values: &[f32],
        within: impl Fn(PointOffset) -> bool,
    ) -> Vec<f32> {
        let corpus: RoaringBitmap = (0..self.len() as u32)
            .filter(|&r| self.counted[r as usize] && within(PointOffset(r)))
            .collect();
        indices
            .iter()
            .zip(values)
            .map(|(&i, &v)| {
                let df = self.postings.get(&i).map_or(0, |p| {
                    p.rows.iter().filter(|&&r| corpus.contains(r)).count()
                });
                v * idf(df as u32, corpus.len())
            })
            .collect()
    }

    /// Bytes held (rows, posting lists).
    pub fn memory_bytes(&self) -> usize {
        let postings: usize = self
            .postings
            .values()
            .map(|p| p.rows.capacity() * 4 + p.weights.capacity() * 4 + 32)
            .sum();
        self.offsets.capacity() * 8
            + self.indices.capacity() * 4
            + self.values.capacity() * 4
            + self.counted.capacity()
            + postings
    }

    /// The best `k` rows that `filter` passes, by the dot product with the
    /// query (indices ascending, each once), through the posting lists.
    /// Rows sharing no index, or scoring exactly 0, are left out (Qdrant's
    /// indexed search publishes non-zero scores only).
    pub fn search(
        &self,
        indices: &[u32],
        values: &[f32],
        k: usize,
        filter: &impl PointFilter,
    ) -> Vec<ScoredOffset> {
        let mut cursors: Vec<Cursor<'_>> = indices
            .iter()
            .zip(values)
            .filter_map(|(i, &weight)| {
                let p = self.postings.get(i)?;
                let bound = (weight * p.max).max(weight * p.min).max(0.0);
                Some(Cursor {
                    rows: &p.rows,
                    weights: &p.weights,
                    at: 0,
                    weight,
                    bound,
                })
            })
            .collect();
        // ascending by bound: a prefix of them is the non-essential lists
        cursors.sort_by(|a, b| a.bound.total_cmp(&b.bound));
        // prefix[i]: the bounds of cursors[..i] summed
        let mut prefix = vec![0.0f32; cursors.len() + 1];
        for (i, c) in cursors.iter().enumerate() {
            prefix[i + 1] = prefix[i] + c.bound;
        }
        let mut top = TopK::new(k);
        // cursors[..essential] cannot lift a row into the top k on their own
        let mut essential = 0;
        let lists = cursors.len();
        let raise = |top: &TopK, essential: &mut usize| {
            if let Some(t) = top.threshold() {
                while *essential < lists && prefix[*essential + 1] < t {
                    *essential += 1;
                }
            }
        };
        // The essential lists are summed a window of rows at a time into a
        // dense accumulator (one add per posting, no merge), then each row
        // they touched gets the rest of its score from the skipped lists
        let mut acc = vec![0.0f32; WINDOW as usize];
        // the rows of the window that a list touched, one bit each, read
        // in row order (so the skipped lists' cursors only move forward)
        let mut touched = [0u64; WINDOW as usize / 64];
        while let Some(lo) = cursors[essential..]
            .iter()
            .filter_map(Cursor::current)
            .min()
        {
            let hi = lo.saturating_add(WINDOW);
            for c in &mut cursors[essential..] {
                while let Some(&row) = c.rows.get(c.at)
                    && row < hi
                {
                    let i = (row - lo) as usize;
                    touched[i / 64] |= 1 << (i % 64);
                    acc[i] += c.weight * c.weights[c.at];
                    c.at += 1;
                }
            }
            for (w, word) in touched.iter_mut().enumerate() {
                let mut bits = std::mem::take(word);
                while bits != 0 {
                    let i = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let row = lo + i as u32;
                    let score = std::mem::take(&mut acc[i]);
                    self.finish_row(
                        row,
                        score,
                        &mut top,
                        &mut cursors,
                        essential,
                        &prefix,
                        filter,
                    );
                    raise(&top, &mut essential);
                }
            }
        }
        top.into_sorted_vec()
    }

    /// The rest of a walked row's score, from the skipped lists (`cursors[..essential]`),
    /// while they could still lift it to the `k`-th best, then the row into
    /// `top` if it gets there.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn finish_row(
        &self,
        row: u32,
        mut score: f32,
        top: &mut TopK,
        cursors: &mut [Cursor<'_>],
        essential: usize,
        prefix: &[f32],
        filter: &impl PointFilter,
    ) {
        let threshold = top.threshold();
        if threshold.is_some_and(|t| score + prefix[essential] < t) {
            return;
        }
        let offset = PointOffset(row);
        if !filter.check(offset) {
            return;
        }
        for j in (0..essential).rev() {
            if threshold.is_some_and(|t| score + prefix[j + 1] < t) {
                return;
            }
            let c = &mut cursors[j];
            c.skip_to(row);
            if c.current() == Some(row) {
                score += c.weight * c.weights[c.at];
                c.at += 1;
            }
        }
        if score == 0.0 || threshold.is_some_and(|t| score < t) {
            return;
        }
        top.push(ScoredOffset {
            offset,
            similarity: score,
        });
    }

    /// The best `k` of `rows` that `filter` passes, each scored directly
    /// (Qdrant's plain search, for small candidate sets): rows sharing an
    /// index with the query are kept even when they score 0.
    pub fn score_rows(
        &self,
        indices: &[u32],
        values: &[f32],
        rows: impl IntoIterator<Item = PointOffset>,
        k: usize,
        filter: &impl PointFilter,
    ) -> Vec<ScoredOffset> {
        let mut top = TopK::new(k);
        for row in rows {
            if !filter.check(row) {
                continue;
            }
            let Some((ri, rv)) = self.get(row) else {
                continue;
            };
            if let Some(score) = dot(indices, values, ri, rv) {
                top.push(ScoredOffset {
                    offset: row,
                    similarity: score,
                });
            }
        }
        top.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::AllowAll;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Zipf-like rows: small indices are common, large ones rare.
    fn random_rows(n: usize, seed: u64, signed: bool) -> Vec<(Vec<u32>, Vec<f32>)> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|_| {
                let len = 1 + rng.next() % 12;
                let mut idx: Vec<u32> = (0..len)
                    .map(|_| {
                        let u = (rng.next() % 10_000) as f64 / 10_000.0;
                        (u * u * u * 2_000.0) as u32
                    })
                    .collect();
                idx.sort_unstable();
                idx.dedup();
                let vals = idx
                    .iter()
                    .map(|_| {
                        let w = (rng.next() % 1000) as f32 / 250.0 + 0.01;
                        if signed && rng.next().is_multiple_of(4) {
                            -w
                        } else {
                            w
                        }
                    })
                    .collect();
                (idx, vals)
            })
            .collect()
    }

    fn brute(
        rows: &[(Vec<u32>, Vec<f32>)],
        qi: &[u32],
        qv: &[f32],
        k: usize,
        keep: impl Fn(u32) -> bool,
    ) -> Vec<ScoredOffset> {
        let mut top = TopK::new(k);
        for (r, (i, v)) in rows.iter().enumerate() {
            if !keep(r as u32) {
                continue;
            }
            if let Some(s) = dot(qi, qv, i, v).filter(|&s| s != 0.0) {
                top.push(ScoredOffset {
                    offset: PointOffset(r as u32),
                    similarity: s,
                });
            }
        }
        top.into_sorted_vec()
    }

    fn assert_same(got: &[ScoredOffset], want: &[ScoredOffset]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.similarity - w.similarity).abs() <= 1e-4 * w.similarity.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn pruned_search_equals_brute_force() {
        for signed in [false, true] {
            let rows = random_rows(3_000, 7 + signed as u64, signed);
            let mut index = SparseIndex::new();
            for (i, v) in &rows {
                index.push(i, v);
            }
            let queries = random_rows(60, 99, signed);
            for k in [1, 10, 100] {
                for (qi, qv) in &queries {
                    let got = index.search(qi, qv, k, &AllowAll);
                    assert_same(&got, &brute(&rows, qi, qv, k, |_| true));
                }
            }
        }
    }

    struct Odd;
    impl PointFilter for Odd {
        fn check(&self, o: PointOffset) -> bool {
            o.0 % 2 == 1
        }
    }

    #[test]
    fn filters_and_plain_scoring_agree_with_brute_force() {
        let rows = random_rows(2_000, 3, false);
        let mut index = SparseIndex::new();
        for (i, v) in &rows {
            index.push(i, v);
        }
        for (qi, qv) in &random_rows(30, 5, false) {
            let want = brute(&rows, qi, qv, 10, |r| r % 2 == 1);
            assert_same(&index.search(qi, qv, 10, &Odd), &want);
            let all = (0..rows.len() as u32).map(PointOffset);
            assert_same(&index.score_rows(qi, qv, all, 10, &Odd), &want);
        }
    }

    #[test]
    fn statistics_count_live_rows_and_rows_come_back_sorted() {
        let mut index = SparseIndex::new();
        index.push(&[5, 1], &[0.5, 1.0]);
        index.push_absent();
        let r = index.push(&[1], &[2.0]);
        assert_eq!(
            index.get(PointOffset(0)),
            Some((&[1, 5][..], &[1.0, 0.5][..]))
        );
        assert_eq!(index.get(PointOffset(1)), Some((&[][..], &[][..])));
        assert_eq!((index.live(), index.document_frequency(1)), (2, 2));
        index.retire(r);
        index.retire(r);
        index.retire(PointOffset(1));
        assert_eq!((index.live(), index.document_frequency(1)), (1, 1));
        assert_eq!(index.document_frequency(5), 1);
        let w = index.idf_weighted(&[1, 9], &[1.0, 1.0]);
        assert!((w[0] - idf(1, 1)).abs() < 1e-7 && (w[1] - (1.5f32 / 0.5 + 1.0).ln()).abs() < 1e-6);
    }

    #[test]
    fn rows_sharing_no_index_or_scoring_zero_are_not_results() {
        let mut index = SparseIndex::new();
        index.push(&[1], &[1.0]);
        index.push(&[2], &[0.0]);
        index.push(&[3], &[1.0]);
        let got = index.search(&[1, 2], &[1.0, 1.0], 10, &AllowAll);
        assert_eq!(got.len(), 1);
        // the plain path keeps a shared index that scores 0
        let all = (0..3).map(PointOffset);
        assert_eq!(
            index
                .score_rows(&[1, 2], &[1.0, 1.0], all, 10, &AllowAll)
                .len(),
            2
        );
    }
}
