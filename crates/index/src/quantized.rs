//! Scalar quantization: each `f32` of a row as a signed 8-bit code, a
//! quarter of the bytes, scored with integer kernels (simsimd's `int8`
//! dot and L2, VNNI where the processor has it).
//!
//! One affine map for every dimension of a vector space, as Qdrant's
//! scalar `int8` quantization has: `x ≈ alpha · q + mid`, with `q` in
//! ±127, `mid` the middle and `alpha` 1/254 of the range `[lo, hi]` that
//! holds the values between the `(1 - quantile) / 2` and `(1 + quantile) /
//! 2` quantiles of a sample of the rows (the whole range without a
//! quantile); values outside are clamped.
//!
//! Under that map the similarities come from the codes:
//!
//! - dot: `x · y ≈ alpha² (qx · qy) + alpha · mid (Σqx + Σqy) + dim · mid²`.
//!   Each row carries `(mid / alpha) Σq` as the `f32` in its [`TAIL`], so
//!   that `qx · qy + tail(x) + tail(y)`, times `alpha²`, plus `dim · mid²`,
//!   is the dot product;
//! - squared L2: `|x - y|² ≈ alpha² |qx - qy|²` (`mid` cancels);
//! - L1: `Σ|x - y| ≈ alpha Σ|qx - qy|`.
//!
//! A query is encoded the same way ([`ScalarQuantizer::encode`]) and
//! scored with [`QuantizedNearest`], which turns code units back into the
//! metric's own (so an approximate score is on the user's scale). Ranking
//! by codes is approximate: callers rescore the best candidates with the
//! `f32` rows when they need exact scores.

use crate::IndexError;
use crate::codes::{CodeRows, Encoder, SAMPLE_ROWS, for_each_sampled_row};
use crate::distance::{Distance, I8, Metric};
use crate::scorer::Scorer;
use crate::vectors::VectorStore;

/// Bytes after a row's codes: the `f32` (little-endian) of its correction.
pub const TAIL: usize = 4;

/// A row's codes and the correction in its tail.
#[inline]
pub(crate) fn split(row: &[i8]) -> (&[i8], f32) {
    let n = row.len() - TAIL;
    let t = &row[n..];
    let bits = [t[0] as u8, t[1] as u8, t[2] as u8, t[3] as u8];
    (&row[..n], f32::from_le_bytes(bits))
}

/// The affine map between a vector space's values and their codes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalarQuantizer {
    dim: usize,
    distance: Distance,
    lo: f32,
    hi: f32,
    alpha: f32,
    mid: f32,
}

impl ScalarQuantizer {
    /// The map for values in `[lo, hi]` (finite, `lo <= hi`).
    pub fn from_range(dim: usize, distance: Distance, lo: f32, hi: f32) -> Self {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        // a range of one value still needs a step: every code is then 0
        let alpha = ((hi - lo) / 254.0).max(f32::MIN_POSITIVE);
        ScalarQuantizer {
            dim,
            distance,
            lo,
            hi,
            alpha,
            mid: (lo + hi) / 2.0,
        }
    }

    /// The map for the rows of `store` so far (preprocessed as stored):
    /// the range between the `(1 - quantile) / 2` and `(1 + quantile) / 2`
    /// quantiles of the values of up to 10,000 rows spread evenly over the
    /// store, or their whole range when `quantile` is `None`. Qdrant takes
    /// quantiles from 0.5 to 1.
    pub fn train(store: &VectorStore, quantile: Option<f32>) -> Result<Self, IndexError> {
        if store.is_multi() {
            return Err(IndexError::NotForMultivectors("quantization"));
        }
        if let Some(q) = quantile
            && !(0.5..=1.0).contains(&q)
        {
            return Err(IndexError::Quantization(format!(
                "quantile must be between 0.5 and 1, got {q}"
            )));
        }
        let rows = store.len();
        let mut values: Vec<f32> = Vec::with_capacity(rows.min(SAMPLE_ROWS) * store.dim());
        for_each_sampled_row(store, false, |v| values.extend_from_slice(v));
        if values.is_empty() {
            return Ok(Self::from_range(store.dim(), store.distance(), 0.0, 0.0));
        }
        let q = quantile.unwrap_or(1.0);
        let n = values.len();
        let at = |p: f32| ((p * (n - 1) as f32).round() as usize).min(n - 1);
        let (lo_i, hi_i) = (at((1.0 - q) / 2.0), at((1.0 + q) / 2.0));
        let lo = *values.select_nth_unstable_by(lo_i, f32::total_cmp).1;
        let hi = *values.select_nth_unstable_by(hi_i, f32::total_cmp).1;
        Ok(Self::from_range(store.dim(), store.distance(), lo, hi))
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The distance the codes are scored with.
    pub fn distance(&self) -> Distance {
        self.distance
    }

    /// The range `[lo, hi]` the codes cover (to persist the map).
    pub fn range(&self) -> (f32, f32) {
        (self.lo, self.hi)
    }

    /// Appends to `out` the codes of `v` (preprocessed, `dim` values)
    /// followed by its tail.
    pub fn encode(&self, v: &[f32], out: &mut Vec<I8>) {
        debug_assert_eq!(v.len(), self.dim);
        let mut sum = 0i64;
        for &x in v {
            let q = ((x - self.mid) / self.alpha).round().clamp(-127.0, 127.0) as i8;
            sum += i64::from(q);
            out.push(I8(q));
        }
        let correction = if self.is_dot() {
            (self.mid / self.alpha) * sum as f32
        } else {
            0.0
        };
        out.extend(correction.to_le_bytes().map(|b| I8(b as i8)));
    }

    fn is_dot(&self) -> bool {
        matches!(self.distance, Distance::Cosine | Distance::Dot)
    }

    /// What turns a similarity in code units into the metric's own:
    /// `scale · s + offset`.
    fn scale_offset(&self) -> (f32, f32) {
        match self.distance {
            Distance::Cosine | Distance::Dot => (
                self.alpha * self.alpha,
                self.dim as f32 * self.mid * self.mid,
            ),
            Distance::Euclid => (self.alpha * self.alpha, 0.0),
            Distance::Manhattan => (self.alpha, 0.0),
        }
    }
}

/// The codes of a store's first rows (see the module docs), for graph walks
/// that read a quarter of the bytes.
pub type I8Rows = CodeRows<ScalarQuantizer>;

impl Encoder for ScalarQuantizer {
    type E = I8;

    fn width(&self) -> usize {
        self.dim + TAIL
    }

    fn distance(&self) -> Distance {
        self.distance
    }

    fn encode(&self, v: &[f32], out: &mut Vec<I8>) {
        ScalarQuantizer::encode(self, v, out)
    }
}

/// The similarity of code rows to one encoded query, in the metric's own
/// units (approximate: the codes' error).
#[derive(Clone, Debug)]
pub struct QuantizedNearest<M> {
    query: Vec<I8>,
    scale: f32,
    offset: f32,
    _metric: std::marker::PhantomData<M>,
}

impl<M: Metric> QuantizedNearest<M> {
    /// Scores by similarity to `query` (preprocessed as stored), encoded
    /// with `quantizer`.
    pub fn new(quantizer: &ScalarQuantizer, query: &[f32]) -> Self {
        let mut codes = Vec::with_capacity(quantizer.dim + TAIL);
        quantizer.encode(query, &mut codes);
        let (scale, offset) = quantizer.scale_offset();
        QuantizedNearest {
            query: codes,
            scale,
            offset,
            _metric: std::marker::PhantomData,
        }
    }
}

impl<M: Metric> Scorer<I8> for QuantizedNearest<M> {
    #[inline]
    fn score(&self, v: &[I8]) -> f32 {
        self.scale * M::similarity_i8(bytemuck::cast_slice(&self.query), bytemuck::cast_slice(v))
            + self.offset
    }
}

/// The `i8` kernels' own check: code similarities against exact `f32`
/// ones, on rows inside the quantizer's range.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::{DotMetric, L1Metric, L2Metric};
    use crate::hnsw::{HnswConfig, HnswGraph};
    use crate::{AllowAll, Rows, exact_search, with_metric};
    use vicinity_storage::PointOffset;

    /// Clustered rows: 16 centres, each value within 0.3 of its centre's.
    fn store(n: usize, dim: usize, distance: Distance, seed: u64) -> VectorStore {
        crate::vectors::clustered_store(n, dim, distance, seed, 16, 0.3)
    }

    #[test]
    fn code_scores_approximate_the_vectors_scores() {
        for distance in [
            Distance::Cosine,
            Distance::Dot,
            Distance::Euclid,
            Distance::Manhattan,
        ] {
            let s = store(500, 64, distance, 7);
            let quantizer = ScalarQuantizer::train(&s, None).unwrap();
            let codes = I8Rows::new(quantizer).unwrap();
            codes.extend_to(&s, usize::MAX).unwrap();
            assert_eq!(codes.len(), 500);
            let q = s.get(PointOffset(3)).unwrap().to_vec();
            with_metric!(distance, M => {
                let scorer = QuantizedNearest::<M>::new(&quantizer, &q);
                let (lo, hi) = quantizer.range();
                let step = (hi - lo) / 254.0;
                for r in 0..500u32 {
                    let v = s.get(PointOffset(r)).unwrap();
                    let exact = M::similarity(&q, v);
                    let approx = scorer.score(codes.row(PointOffset(r)).unwrap());
                    // each value is off by at most half a step
                    let bound = match distance {
                        Distance::Manhattan => 64.0 * step,
                        _ => 64.0 * step * (2.0 * hi.abs().max(lo.abs()) + step),
                    };
                    assert!(
                        (exact - approx).abs() <= bound,
                        "{distance:?} row {r}: exact {exact}, codes {approx}, bound {bound}"
                    );
                }
            });
        }
    }

    #[test]
    fn a_walk_over_the_codes_finds_the_nearest_rows() {
        let _ = (DotMetric, L1Metric, L2Metric);
        for distance in [Distance::Cosine, Distance::Euclid] {
            let s = store(3_000, 48, distance, 11);
            let graph = HnswGraph::new(HnswConfig::default()).unwrap();
            let rows: Vec<PointOffset> = (0..3_000).map(PointOffset).collect();
            graph.insert_many(&s, &rows);
            let quantizer = ScalarQuantizer::train(&s, Some(0.99)).unwrap();
            let codes = I8Rows::new(quantizer).unwrap();
            codes.extend_to(&s, usize::MAX).unwrap();
            let mut found = 0;
            let mut found_f32 = 0;
            for i in 0..50u32 {
                let q = s.prepare_query(s.get(PointOffset(i * 7)).unwrap()).unwrap();
                let exact = exact_search(&s, &q, 10, &AllowAll);
                let walk = with_metric!(distance, M => {
                    graph.search_scored(&codes, &QuantizedNearest::<M>::new(&quantizer, &q), 30, 64, &AllowAll)
                });
                // rescoring the 30 code candidates with the vectors
                let mut rescored: Vec<_> = walk
                    .iter()
                    .map(|h| (distance.similarity(&q, s.get(h.offset).unwrap()), h.offset))
                    .collect();
                rescored.sort_by(|a, b| b.0.total_cmp(&a.0));
                found += exact
                    .iter()
                    .filter(|e| rescored[..10].iter().any(|r| r.1 == e.offset))
                    .count();
                let plain = graph.search(&s, &q, 10, 64, &AllowAll);
                found_f32 += exact.iter().filter(|e| plain.contains(e)).count();
            }
            // recall@10 with 3x candidates rescored: about the walk's over
            // the vectors themselves
            assert!(
                found >= 475 && found + 10 >= found_f32,
                "{distance:?}: recall@10 {found} of 500 over codes, {found_f32} over vectors"
            );
        }
    }

    #[test]
    fn quantiles_outside_qdrants_range_are_refused() {
        let s = store(10, 4, Distance::Dot, 1);
        assert!(ScalarQuantizer::train(&s, Some(0.4)).is_err());
        assert!(ScalarQuantizer::train(&s, Some(1.5)).is_err());
        let full = ScalarQuantizer::train(&s, None).unwrap();
        let q99 = ScalarQuantizer::train(&s, Some(0.99)).unwrap();
        assert!(q99.range().0 >= full.range().0 && q99.range().1 <= full.range().1);
    }
}
