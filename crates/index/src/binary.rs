//! Binary quantization: each value of a row as one bit, its sign (`v >
//! 0`), as Qdrant's `binary` quantization with the `one_bit` encoding. A
//! 768-d row is 96 bytes instead of 3,072; two rows are compared by the
//! number of bits that differ (XOR and popcount, simsimd's kernel).
//!
//! The score of a row against an encoded query is Qdrant's: `dim - 2 ·
//! hamming` (equal bits minus differing ones), an ordering proxy, not a
//! calibrated similarity. It ranks by agreement of signs, which tracks the
//! angle between vectors whose components are centred on zero (sentence
//! and image embeddings): good enough to walk the graph and pick the
//! candidates that the `f32` vectors then rescore, which searches over
//! binary codes do unless told not to (Qdrant's default for binary).

use vicinity_storage::{AppendRows, PointOffset};

use crate::distance::{Distance, Element, Metric};
use crate::scorer::Scorer;
use crate::vectors::{Rows, VectorStore, encode_rows, rows_ahead, visit_prefetched};
use crate::{IndexError, kernels};

/// Eight bits of a binary code row (bit `i % 8` of byte `i / 8` is value
/// `i`'s sign).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct B8(pub u8);

impl Element for B8 {
    /// Minus the Hamming distance, for every metric: fewer differing bits
    /// is closer. (Code rows only meet queries through [`BinaryNearest`],
    /// which scores them as Qdrant does; this is the pairwise form.)
    #[inline]
    fn similarity<M: Metric>(a: &[B8], b: &[B8]) -> f32 {
        -(kernels::hamming(bytemuck::cast_slice(a), bytemuck::cast_slice(b)) as f32)
    }
}

/// Encodes a (preprocessed) vector: one bit per value, set for `v > 0`.
pub fn encode(v: &[f32], out: &mut Vec<B8>) {
    out.clear();
    out.extend(v.chunks(8).map(|chunk| {
        B8(chunk
            .iter()
            .enumerate()
            .fold(0u8, |byte, (i, &x)| byte | (u8::from(x > 0.0) << i)))
    }));
}

/// The binary codes of a store's first rows, for graph walks that read a
/// thirty-second of the bytes.
#[derive(Debug)]
pub struct BinaryRows {
    dim: usize,
    distance: Distance,
    rows: AppendRows<B8>,
}

impl BinaryRows {
    /// An empty set of codes for rows of `store`.
    pub fn new(store: &VectorStore) -> Result<Self, IndexError> {
        if store.is_multi() {
            return Err(IndexError::NotForMultivectors("quantization"));
        }
        Ok(BinaryRows {
            dim: store.dim(),
            distance: store.distance(),
            rows: AppendRows::new(store.dim().div_ceil(8))?,
        })
    }

    /// Rows encoded.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is encoded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Encodes rows `len()..to` of `store` (all of them if `to` is past its
    /// end).
    pub fn extend_to(&self, store: &VectorStore, to: usize) -> Result<(), IndexError> {
        let width = self.dim.div_ceil(8);
        let mut codes = Vec::with_capacity(width);
        encode_rows(&self.rows, store, to, width, true, |v, row| {
            encode(v, &mut codes);
            row.extend_from_slice(&codes);
        })
    }

    /// Bytes of memory the codes hold.
    pub fn reserved_bytes(&self) -> usize {
        self.rows.reserved_bytes()
    }

    /// A scorer of these codes against `query` (preprocessed as stored).
    pub fn nearest(&self, query: &[f32]) -> BinaryNearest {
        let mut codes = Vec::with_capacity(self.dim.div_ceil(8));
        encode(query, &mut codes);
        BinaryNearest {
            query: codes,
            dim: self.dim as f32,
        }
    }
}

impl Rows for BinaryRows {
    type E = B8;

    #[inline]
    fn distance(&self) -> Distance {
        self.distance
    }

    #[inline]
    fn row(&self, offset: PointOffset) -> Option<&[B8]> {
        self.rows.get(offset)
    }

    #[inline]
    fn prefetch_depth(&self, sharers: usize) -> usize {
        rows_ahead(self.dim.div_ceil(8), sharers)
    }

    #[inline]
    fn for_each_row(
        &self,
        depth: usize,
        n: usize,
        id: impl Fn(usize) -> u32,
        f: impl FnMut(PointOffset, &[B8]),
    ) {
        let rows = &self.rows;
        visit_prefetched(depth, n, id, |o| rows.prefetch_row(o), |o| rows.get(o), f)
    }
}

/// Qdrant's score of binary code rows against one encoded query: `dim - 2
/// · hamming` (higher is closer, for every distance).
#[derive(Clone, Debug)]
pub struct BinaryNearest {
    query: Vec<B8>,
    dim: f32,
}

impl Scorer<B8> for BinaryNearest {
    #[inline]
    fn score(&self, v: &[B8]) -> f32 {
        let h = kernels::hamming(bytemuck::cast_slice(&self.query), bytemuck::cast_slice(v));
        self.dim - 2.0 * h as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::{HnswConfig, HnswGraph};
    use crate::{AllowAll, exact_search};

    #[test]
    fn bits_are_signs_and_scores_count_agreement() {
        let mut codes = Vec::new();
        encode(
            &[1.0, -2.0, 0.0, 3.0, 0.5, -0.1, 2.0, 1.0, -7.0, 4.0],
            &mut codes,
        );
        assert_eq!(codes, vec![B8(0b1101_1001), B8(0b10)]);
        let store = VectorStore::new(10, Distance::Dot).unwrap();
        let rows = BinaryRows::new(&store).unwrap();
        let q = rows.nearest(&[1.0; 10]);
        // ten values: 6 positive in the first, agreement 6 - 4 = 2
        assert_eq!(q.score(&codes), 2.0);
        assert_eq!(q.score(&[B8(0xff), B8(0b11)]), 10.0);
    }

    /// The graph walk over binary codes, then the `f32` rescore of 4x the
    /// limit, finds most of the exact top 10 on 768-d vectors with the
    /// structure of embeddings (a 32-d latent space projected up, plus
    /// noise; components centred on zero).
    #[test]
    fn rescored_binary_walks_reach_the_exact_neighbours() {
        let dim = 768;
        let latent = 32;
        let store = VectorStore::new(dim, Distance::Cosine).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut normal = || {
            // a sum of uniforms: near-Gaussian, centred on zero
            (0..4)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 20_001) as f32 / 10_000.0 - 1.0
                })
                .sum::<f32>()
        };
        let projection: Vec<Vec<f32>> = (0..dim)
            .map(|_| (0..latent).map(|_| normal()).collect())
            .collect();
        let embed = |normal: &mut dyn FnMut() -> f32| -> Vec<f32> {
            let z: Vec<f32> = (0..latent).map(|_| normal()).collect();
            projection
                .iter()
                .map(|row| row.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>() + normal())
                .collect()
        };
        let mut rows = Vec::new();
        for _ in 0..4_000 {
            let v = embed(&mut normal);
            rows.push(store.push(&v).unwrap());
        }
        let graph = HnswGraph::new(HnswConfig::default()).unwrap();
        graph.insert_many(&store, &rows);
        let codes = BinaryRows::new(&store).unwrap();
        codes.extend_to(&store, store.len()).unwrap();
        assert_eq!(codes.len(), store.len());
        assert!(codes.reserved_bytes() < store.reserved_bytes() / 16);
        let (mut found, mut wanted) = (0, 0);
        for _ in 0..50 {
            let raw = embed(&mut normal);
            let q = store.prepare_query(&raw).unwrap();
            let exact: Vec<PointOffset> = exact_search(&store, &q, 10, &AllowAll)
                .iter()
                .map(|h| h.offset)
                .collect();
            let mut candidates = graph.search_scored(&codes, &codes.nearest(&q), 40, 64, &AllowAll);
            for c in &mut candidates {
                c.similarity = Distance::Cosine.similarity(&q, store.get(c.offset).unwrap());
            }
            candidates.sort_unstable_by(|a, b| b.cmp(a));
            found += candidates[..10]
                .iter()
                .filter(|c| exact.contains(&c.offset))
                .count();
            wanted += 10;
        }
        let recall = found as f64 / wanted as f64;
        eprintln!("binary walk + rescore (x4) recall@10: {recall}");
        assert!(recall >= 0.9, "binary walk + rescore recall@10 {recall}");
    }
}
