//! Product quantization, as Qdrant's `product` quantization: a row is cut
//! into chunks of `bucket` values (1, 2, 4, 8 or 16: the `x4` to `x64`
//! compressions of an `f32` row), and each chunk is replaced by the number
//! of the nearest of 256 centroids that k-means found for that chunk
//! (Euclidean, whatever the distance). A row is `dim / bucket` bytes.
//!
//! A query is scored through a table per chunk: the similarity of the
//! query's chunk to each of the chunk's 256 centroids (dot product, minus
//! the squared Euclidean or the Manhattan distance), so a row's score is
//! the sum of one lookup per byte ([`TableNearest`]), on the metric's own
//! scale: the similarity of the query to the row the centroids rebuild.
//! Scores are approximate; Qdrant does not rescore product codes unless
//! asked (`rescore: true`).
//!
//! The centroids of a chunk are held transposed (value `j` of every
//! centroid together), so that measuring a chunk against all 256 of them
//! runs over 256 contiguous lanes.

use std::ops::Range;

use rayon::prelude::*;

use crate::IndexError;
use crate::codes::{CodeRows, Encoder, P8, SAMPLE_ROWS, TableNearest, for_each_sampled_row};
use crate::distance::Distance;
use crate::vectors::VectorStore;

/// Centroids per chunk (a code is one byte).
pub const CENTROIDS: usize = 256;

/// Rounds of k-means at most; it stops sooner once no sampled chunk
/// changes its centroid.
const MAX_ROUNDS: usize = 32;

/// Values per chunk: Qdrant's `compression` ratios over 4-byte values.
pub fn bucket_for_compression(ratio: usize) -> Option<usize> {
    match ratio {
        4 => Some(1),
        8 => Some(2),
        16 => Some(4),
        32 => Some(8),
        64 => Some(16),
        _ => None,
    }
}

/// The centroids of every chunk of a vector space (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct ProductQuantizer {
    dim: usize,
    distance: Distance,
    bucket: usize,
    /// Chunk by chunk, its centroids transposed: for the chunk of values
    /// `a..b`, `256 · (b - a)` numbers from `256 · a`, value `j` of
    /// centroid `k` at `256 · (a + j) + k`.
    book: Vec<f32>,
}

impl ProductQuantizer {
    /// Learns the centroids from up to 10,000 rows of `store` so far,
    /// spread evenly over it (preprocessed as stored, decoded to `f32`),
    /// for chunks of `bucket` values. With 256 rows or fewer, the rows are
    /// the centroids.
    pub fn train(store: &VectorStore, bucket: usize) -> Result<Self, IndexError> {
        if store.is_multi() {
            return Err(IndexError::NotForMultivectors("quantization"));
        }
        if bucket == 0 {
            return Err(IndexError::Quantization(
                "product quantization needs at least one value per chunk".into(),
            ));
        }
        let dim = store.dim();
        let rows = store.len();
        let mut sample: Vec<f32> = Vec::with_capacity(rows.min(SAMPLE_ROWS) * dim);
        for_each_sampled_row(store, false, |v| sample.extend_from_slice(v));
        let chunks: Vec<Range<usize>> = (0..dim)
            .step_by(bucket)
            .map(|a| a..(a + bucket).min(dim))
            .collect();
        let books: Vec<Vec<f32>> = chunks
            .par_iter()
            .map(|r| kmeans(&sample, dim, r.clone()))
            .collect();
        Ok(ProductQuantizer {
            dim,
            distance: store.distance(),
            bucket,
            book: books.concat(),
        })
    }

    /// Values per chunk.
    pub fn bucket(&self) -> usize {
        self.bucket
    }

    /// The chunks: ranges of values, in order.
    fn chunks(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        (0..self.dim)
            .step_by(self.bucket)
            .map(|a| a..(a + self.bucket).min(self.dim))
    }

    /// The transposed centroids of the chunk of values `r`.
    fn centroids(&self, r: &Range<usize>) -> &[f32] {
        &self.book[CENTROIDS * r.start..CENTROIDS * r.end]
    }

    /// The value the centroids give a row's value `i` (its rebuilt form):
    /// for tests and for measuring the codes' error.
    pub fn decode(&self, codes: &[P8]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.dim);
        for (r, &P8(k)) in self.chunks().zip(codes) {
            let book = self.centroids(&r);
            out.extend((0..r.len()).map(|j| book[j * CENTROIDS + k as usize]));
        }
        out
    }

    /// A scorer of these codes against `query` (preprocessed as stored,
    /// decoded to `f32`): one table per chunk of the query's similarity to
    /// each centroid, in the metric's units.
    pub fn nearest(&self, query: &[f32]) -> TableNearest {
        debug_assert_eq!(query.len(), self.dim);
        let tables = self
            .chunks()
            .map(|r| {
                let book = self.centroids(&r);
                let mut table = [0f32; CENTROIDS];
                for (j, &q) in query[r.clone()].iter().enumerate() {
                    let lane = &book[j * CENTROIDS..(j + 1) * CENTROIDS];
                    match self.distance {
                        Distance::Cosine | Distance::Dot => {
                            table.iter_mut().zip(lane).for_each(|(t, c)| *t += q * c)
                        }
                        Distance::Euclid => table
                            .iter_mut()
                            .zip(lane)
                            .for_each(|(t, c)| *t -= (q - c) * (q - c)),
                        Distance::Manhattan => table
                            .iter_mut()
                            .zip(lane)
                            .for_each(|(t, c)| *t -= (q - c).abs()),
                    }
                }
                table
            })
            .collect();
        TableNearest::new(tables, 1.0, 0.0)
    }
}

impl Encoder for ProductQuantizer {
    type E = P8;

    fn width(&self) -> usize {
        self.dim.div_ceil(self.bucket)
    }

    fn distance(&self) -> Distance {
        self.distance
    }

    fn encode(&self, v: &[f32], out: &mut Vec<P8>) {
        debug_assert_eq!(v.len(), self.dim);
        let mut d = [0f32; CENTROIDS];
        for r in self.chunks() {
            out.push(P8(nearest_centroid(
                &v[r.clone()],
                self.centroids(&r),
                &mut d,
            )));
        }
    }
}

/// The product codes of a store's first rows, for graph walks that read a
/// fourth to a sixty-fourth of the bytes.
pub type PqRows = CodeRows<ProductQuantizer>;

/// The centroid (of 256, transposed in `book`) nearest to `x` by squared
/// Euclidean distance; `d` is scratch space.
#[inline]
fn nearest_centroid(x: &[f32], book: &[f32], d: &mut [f32; CENTROIDS]) -> u8 {
    d.fill(0.0);
    for (j, &v) in x.iter().enumerate() {
        let lane = &book[j * CENTROIDS..(j + 1) * CENTROIDS];
        d.iter_mut()
            .zip(lane)
            .for_each(|(d, c)| *d += (v - c) * (v - c));
    }
    let mut best = 0;
    for k in 1..CENTROIDS {
        if d[k] < d[best] {
            best = k;
        }
    }
    best as u8
}

/// k-means (Lloyd's rounds) over the values `r` of the sampled rows (each
/// `dim` long in `sample`): the 256 centroids, transposed. Starts from
/// rows spread evenly over the sample; a centroid left with no chunk keeps
/// its place.
fn kmeans(sample: &[f32], dim: usize, r: Range<usize>) -> Vec<f32> {
    let len = r.len();
    let n = sample.len().checked_div(dim).unwrap_or(0);
    let chunk = |i: usize| &sample[i * dim + r.start..i * dim + r.end];
    let mut book = vec![0f32; CENTROIDS * len];
    if n == 0 {
        return book;
    }
    let set = |book: &mut [f32], k: usize, values: &[f32]| {
        for (j, &v) in values.iter().enumerate() {
            book[j * CENTROIDS + k] = v;
        }
    };
    for k in 0..CENTROIDS {
        // evenly spread starting points (with few rows, each row in turn)
        let i = if n > CENTROIDS {
            k * n / CENTROIDS
        } else {
            k % n
        };
        set(&mut book, k, chunk(i));
    }
    if n <= CENTROIDS {
        return book;
    }
    let mut assigned = vec![u8::MAX; n];
    let mut d = [0f32; CENTROIDS];
    let mut sums = vec![0f64; CENTROIDS * len];
    let mut counts = [0usize; CENTROIDS];
    for round in 0..MAX_ROUNDS {
        let mut changed = 0;
        for (i, a) in assigned.iter_mut().enumerate() {
            let k = nearest_centroid(chunk(i), &book, &mut d);
            if *a != k || round == 0 {
                changed += 1;
                *a = k;
            }
        }
        if changed == 0 {
            break;
        }
        sums.fill(0.0);
        counts.fill(0);
        for (i, &k) in assigned.iter().enumerate() {
            counts[k as usize] += 1;
            for (j, &v) in chunk(i).iter().enumerate() {
                sums[j * CENTROIDS + k as usize] += f64::from(v);
            }
        }
        for k in 0..CENTROIDS {
            if counts[k] > 0 {
                for j in 0..len {
                    book[j * CENTROIDS + k] = (sums[j * CENTROIDS + k] / counts[k] as f64) as f32;
                }
            }
        }
    }
    book
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorer::Scorer;
    use crate::vectors::Rows;
    use vicinity_storage::PointOffset;

    fn store(n: usize, dim: usize, distance: Distance, seed: u64) -> VectorStore {
        crate::vectors::clustered_store(n, dim, distance, seed, 24, 0.2)
    }

    /// With as many centroids as rows, every row is its own centroid: the
    /// codes rebuild the rows exactly, and scores are the exact ones.
    #[test]
    fn few_rows_are_their_own_centroids() {
        for distance in Distance::ALL {
            let s = store(200, 10, distance, 3);
            let pq = ProductQuantizer::train(&s, 4).unwrap();
            assert_eq!(pq.width(), 3); // chunks of 4, 4 and 2
            let codes = PqRows::new(pq.clone()).unwrap();
            codes.extend_to(&s, usize::MAX).unwrap();
            let q = s.get(PointOffset(7)).unwrap().to_vec();
            let scorer = pq.nearest(&q);
            for r in 0..200u32 {
                let row = codes.row(PointOffset(r)).unwrap();
                let v = s.get(PointOffset(r)).unwrap();
                assert_eq!(pq.decode(row), v);
                let exact = distance.similarity(&q, v);
                let got = scorer.score(row);
                assert!(
                    (got - exact).abs() <= 1e-4 * exact.abs().max(1.0),
                    "{distance:?}: {got} against {exact}"
                );
            }
        }
    }

    /// On more rows than centroids, the table score is the similarity to
    /// the rebuilt row, and k-means keeps the rebuilt rows close: the
    /// error is well under the spread of the data.
    #[test]
    fn codes_rebuild_rows_closely_and_tables_score_the_rebuilt_rows() {
        let dim = 32;
        for distance in Distance::ALL {
            let s = store(3_000, dim, distance, 11);
            let pq = ProductQuantizer::train(&s, 2).unwrap();
            let codes = PqRows::new(pq.clone()).unwrap();
            codes.extend_to(&s, usize::MAX).unwrap();
            assert_eq!(codes.len(), 3_000);
            assert_eq!(codes.reserved_bytes() / 3_000, 16);
            let q = s.get(PointOffset(5)).unwrap().to_vec();
            let scorer = pq.nearest(&q);
            let (mut err, mut spread) = (0f64, 0f64);
            for r in 0..3_000u32 {
                let row = codes.row(PointOffset(r)).unwrap();
                let rebuilt = pq.decode(row);
                let v = s.get(PointOffset(r)).unwrap();
                let want = distance.similarity(&q, &rebuilt);
                let got = scorer.score(row);
                assert!(
                    (got - want).abs() <= 1e-3 * want.abs().max(1.0),
                    "{distance:?}: {got} against {want}"
                );
                err += rebuilt
                    .iter()
                    .zip(v)
                    .map(|(a, b)| f64::from((a - b) * (a - b)))
                    .sum::<f64>();
                spread += v
                    .iter()
                    .zip(&q)
                    .map(|(a, b)| f64::from((a - b) * (a - b)))
                    .sum::<f64>();
            }
            assert!(
                err < spread / 20.0,
                "{distance:?}: squared error {err} against spread {spread}"
            );
        }
    }

    #[test]
    fn compression_ratios_are_qdrants() {
        assert_eq!(
            [4, 8, 16, 32, 64].map(bucket_for_compression),
            [Some(1), Some(2), Some(4), Some(8), Some(16)]
        );
        assert_eq!(bucket_for_compression(12), None);
    }
}
