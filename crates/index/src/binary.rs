//! Binary quantization, as Qdrant's `binary` quantization: each value of
//! a row as one, two or one and a half bits, compared by the number of
//! bits that differ (XOR and popcount, simsimd's kernel). A 768-d row is
//! 96 bytes at one bit instead of 3,072.
//!
//! The encodings (Qdrant's `encoding`):
//!
//! - `one_bit`: the sign, set for `v > 0`;
//! - `two_bits`: where the value sits against its dimension's spread (the
//!   mean and standard deviation of that dimension over the rows the
//!   encoder was trained on): below `mean - 2/3 sd` is `00`, within `±2/3
//!   sd` of the mean `10`, above `11`. The first bits of all values come
//!   first, then the second bits, so a row is `2 · dim` bits;
//! - `one_and_half_bits`: the same first bits, and one second bit for each
//!   pair of values, the OR of their two (`1.5 · dim` bits).
//!
//! The score of a row against a query is Qdrant's: `dim - 2 · x`, where `x`
//! is the number of differing bits (equal bits minus differing ones, at one
//! bit), an ordering proxy, not a calibrated similarity; higher is closer
//! for every distance. A query is encoded as the rows are (`query_encoding`
//! `default` or `binary`), or kept at 8 or 4 bits per value
//! (`scalar8bits`, `scalar4bits`): each value `q` as a level between 0 and
//! `L = 2^b - 1` over the query's range `±max|q|`, and a row's bit counts
//! `L - q` when set and `q` when clear, `x` being the sum over `L`. That
//! asymmetric score ranks better than bits against bits; it is scored
//! through a table per code byte ([`TableNearest`]). One difference from
//! Qdrant: against two bits and one and a half, whose levels sit around
//! each dimension's mean, the query's values are taken around the same
//! means (Qdrant takes them as given, which ranks nothing once the data
//! sits away from zero); scores without rescoring differ from Qdrant's
//! there, rescored ones do not.
//!
//! Signs carry angles between vectors whose components are centred on
//! zero (sentence and image embeddings); `two_bits` and
//! `one_and_half_bits` centre each dimension on its mean, so they also
//! suit data whose values sit away from zero. Searches over binary codes
//! rescore the best candidates with the vectors unless told not to
//! (Qdrant's default for binary).

use crate::codes::{CodeRows, Encoder, TableNearest, for_each_sampled_row};
use crate::distance::{Distance, Element, Metric};
use crate::scorer::Scorer;
use crate::vectors::VectorStore;
use crate::{IndexError, kernels};

/// Eight bits of a binary code row (bit `i % 8` of byte `i / 8` is bit `i`
/// of the row).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct B8(pub u8);

impl Element for B8 {
    /// Minus the Hamming distance, for every metric: fewer differing bits
    /// is closer. (Code rows only meet queries through [`BinaryNearest`] or
    /// [`TableNearest`], which score them as Qdrant does; this is the
    /// pairwise form.)
    #[inline]
    fn similarity<M: Metric>(a: &[B8], b: &[B8]) -> f32 {
        -(kernels::hamming(bytemuck::cast_slice(a), bytemuck::cast_slice(b)) as f32)
    }
}

/// Bits per value of binary codes (Qdrant's `encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BinaryBits {
    /// One bit: the sign.
    #[default]
    One,
    /// Two bits: below, within or above `±2/3` standard deviations of the
    /// dimension's mean.
    Two,
    /// One bit per value and one per pair of values.
    OneAndHalf,
}

/// How queries meet binary codes (Qdrant's `query_encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueryBits {
    /// Encoded as the rows are.
    #[default]
    Storage,
    /// Each value at 4 bits.
    Scalar4,
    /// Each value at 8 bits.
    Scalar8,
}

/// Half the width, in standard deviations, of the middle level of the
/// two-bit encoding (Qdrant's).
const SIGMAS: f32 = 2.0 / 3.0;

/// Turns vectors into binary code rows (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryEncoder {
    dim: usize,
    distance: Distance,
    bits: BinaryBits,
    query: QueryBits,
    /// Per dimension, its mean and standard deviation (for two bits and
    /// one and a half; empty for one bit).
    stats: Vec<(f32, f32)>,
}

impl BinaryEncoder {
    /// The encoder for rows of `store`: `bits` per value, queries as
    /// `query` says; two bits and one and a half take the mean and spread
    /// of each dimension from up to 10,000 rows of the store so far,
    /// spread evenly over it.
    pub fn train(
        store: &VectorStore,
        bits: BinaryBits,
        query: QueryBits,
    ) -> Result<Self, IndexError> {
        if store.is_multi() {
            return Err(IndexError::NotForMultivectors("quantization"));
        }
        let dim = store.dim();
        let mut stats = Vec::new();
        if bits != BinaryBits::One {
            // Welford's running mean and sum of squared deviations, in f64
            let (mut mean, mut m2, mut count) = (vec![0f64; dim], vec![0f64; dim], 0u64);
            for_each_sampled_row(store, true, |v| {
                count += 1;
                for (i, &x) in v.iter().enumerate() {
                    let x = f64::from(x);
                    let delta = x - mean[i];
                    mean[i] += delta / count as f64;
                    m2[i] += delta * (x - mean[i]);
                }
            });
            stats = mean
                .iter()
                .zip(&m2)
                .map(|(&m, &s)| {
                    let sd = if count > 1 {
                        (s / (count - 1) as f64).sqrt()
                    } else {
                        0.0
                    };
                    (m as f32, sd as f32)
                })
                .collect();
        }
        Ok(BinaryEncoder {
            dim,
            distance: store.distance(),
            bits,
            query,
            stats,
        })
    }

    /// The encoding's bits per value.
    pub fn bits(&self) -> BinaryBits {
        self.bits
    }

    /// How queries are encoded.
    pub fn query_bits(&self) -> QueryBits {
        self.query
    }

    /// Bits in a code row.
    fn row_bits(&self) -> usize {
        match self.bits {
            BinaryBits::One => self.dim,
            BinaryBits::Two => 2 * self.dim,
            BinaryBits::OneAndHalf => self.dim + self.dim.div_ceil(2),
        }
    }

    /// The two bits of value `x` of dimension `i` (Qdrant's two-bit
    /// levels; the sign twice without a spread to measure against).
    fn levels(&self, i: usize, x: f32) -> (bool, bool) {
        let Some(&(mean, sd)) = self.stats.get(i) else {
            return (x > 0.0, x > 0.0);
        };
        if sd < f32::EPSILON {
            return (x > 0.0, false);
        }
        let z = (x - mean) / sd;
        (z > -SIGMAS, z >= SIGMAS)
    }

    /// A scorer of these codes against `query` (preprocessed as stored,
    /// as [`VectorStore::code_values`] gives it for binary codes).
    pub fn nearest(&self, query: &[f32]) -> BinaryQuery {
        let levels = match self.query {
            QueryBits::Storage => {
                let mut codes = Vec::with_capacity(self.width());
                self.encode(query, &mut codes);
                return BinaryQuery::Bits(BinaryNearest {
                    query: codes,
                    dim: self.dim as f32,
                });
            }
            QueryBits::Scalar4 => 15u32,
            QueryBits::Scalar8 => 255u32,
        };
        // two bits and one and a half level each value around its
        // dimension's mean: the query is taken around the same means
        // (Qdrant takes it as given, which suits data centred on zero and
        // ranks nothing on data away from it)
        let centred: Vec<f32> = if self.stats.is_empty() {
            query.to_vec()
        } else {
            query
                .iter()
                .zip(&self.stats)
                .map(|(q, (mean, _))| q - mean)
                .collect()
        };
        let query = &centred[..];
        // the query laid out as the row's bits are: each value under its
        // first bit; under the second bits the value again (two bits) or
        // the larger of each pair (one and a half)
        let mut wide: Vec<f32> = Vec::with_capacity(self.row_bits());
        wide.extend_from_slice(query);
        match self.bits {
            BinaryBits::One => {}
            BinaryBits::Two => wide.extend_from_slice(query),
            BinaryBits::OneAndHalf => wide.extend(query.chunks(2).map(|p| match p {
                [a, b] => a.max(*b),
                _ => p[0],
            })),
        }
        let max = wide.iter().fold(0f32, |m, x| m.max(x.abs()));
        let step = 2.0 * max / levels as f32;
        let level = |x: f32| -> u32 {
            if step > f32::EPSILON {
                (((x + max) / step).round() as u32) % (levels + 1)
            } else {
                0
            }
        };
        // a table per code byte: for each of its 256 values, the sum over
        // its 8 bits of `L - q` (bit set) or `q` (clear)
        let tables = wide
            .chunks(8)
            .map(|eight| {
                let q: Vec<u32> = eight.iter().map(|&x| level(x)).collect();
                std::array::from_fn(|byte| {
                    q.iter()
                        .enumerate()
                        .map(|(bit, &q)| if byte >> bit & 1 == 1 { levels - q } else { q })
                        .sum::<u32>() as f32
                })
            })
            .collect();
        // dim - 2 · (Σ / L)
        BinaryQuery::Levels(TableNearest::new(
            tables,
            -2.0 / levels as f32,
            self.dim as f32,
        ))
    }
}

impl Encoder for BinaryEncoder {
    type E = B8;

    fn width(&self) -> usize {
        self.row_bits().div_ceil(8)
    }

    fn distance(&self) -> Distance {
        self.distance
    }

    fn binary(&self) -> bool {
        true
    }

    fn encode(&self, v: &[f32], out: &mut Vec<B8>) {
        debug_assert_eq!(v.len(), self.dim);
        let start = out.len();
        out.resize(start + self.width(), B8(0));
        let row = &mut out[start..];
        let mut set = |bit: usize| row[bit / 8].0 |= 1 << (bit % 8);
        match self.bits {
            BinaryBits::One => {
                for (i, _) in v.iter().enumerate().filter(|(_, x)| **x > 0.0) {
                    set(i);
                }
            }
            BinaryBits::Two | BinaryBits::OneAndHalf => {
                let second = |i: usize| match self.bits {
                    BinaryBits::Two => self.dim + i,
                    _ => self.dim + i / 2,
                };
                for (i, &x) in v.iter().enumerate() {
                    let (first, upper) = self.levels(i, x);
                    if first {
                        set(i);
                    }
                    if upper {
                        set(second(i));
                    }
                }
            }
        }
    }
}

/// The binary codes of a store's first rows, for graph walks that read a
/// sixteenth to a thirty-second of the bytes.
pub type BinaryRows = CodeRows<BinaryEncoder>;

/// A query against binary codes, as the encoder's `query_encoding` says.
#[derive(Clone, Debug)]
pub enum BinaryQuery {
    /// Encoded as the rows: scored by XOR and popcount.
    Bits(BinaryNearest),
    /// At 4 or 8 bits per value: scored by table lookup.
    Levels(TableNearest),
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
    use vicinity_storage::PointOffset;

    fn encoder(dim: usize, bits: BinaryBits, query: QueryBits, rows: &[Vec<f32>]) -> BinaryEncoder {
        let store = VectorStore::new(dim, Distance::Dot).unwrap();
        for r in rows {
            store.push(r).unwrap();
        }
        BinaryEncoder::train(&store, bits, query).unwrap()
    }

    fn scored<S: Scorer<B8>>(s: &S, codes: &[B8]) -> f32 {
        s.score(codes)
    }

    #[test]
    fn bits_are_signs_and_scores_count_agreement() {
        let e = encoder(10, BinaryBits::One, QueryBits::Storage, &[]);
        let mut codes = Vec::new();
        e.encode(
            &[1.0, -2.0, 0.0, 3.0, 0.5, -0.1, 2.0, 1.0, -7.0, 4.0],
            &mut codes,
        );
        assert_eq!(codes, vec![B8(0b1101_1001), B8(0b10)]);
        let BinaryQuery::Bits(q) = e.nearest(&[1.0; 10]) else {
            panic!("a query encoded as the rows")
        };
        // ten values: 6 positive in the first, agreement 6 - 4 = 2
        assert_eq!(q.score(&codes), 2.0);
        assert_eq!(q.score(&[B8(0xff), B8(0b11)]), 10.0);
    }

    /// Two bits: levels against each dimension's mean and sample standard
    /// deviation, first bits then second bits; one and a half: the second
    /// bits of each pair ORed.
    #[test]
    fn two_bit_levels_follow_each_dimensions_spread() {
        // dimension 0: mean 10, sd 1; dimension 1: mean -5, sd 2;
        // dimension 2: constant 3 (no spread: the sign, no second bit)
        let rows = vec![vec![9.0, -7.0, 3.0], vec![11.0, -3.0, 3.0]];
        let two = encoder(3, BinaryBits::Two, QueryBits::Storage, &rows);
        let sd0 = std::f32::consts::SQRT_2; // (1² + 1²) / (2 - 1), rooted
        let mut codes = Vec::new();
        // z: (10.5 - 10) / sd0 = 0.35 (middle: 10); (-8 + 5) / 2.83 =
        // -1.06 (low: 00); 3 > 0 with no spread: 1, no second bit
        two.encode(&[10.5, -8.0, 3.0], &mut codes);
        assert_eq!(codes, vec![B8(0b00_0101)]);
        // z: 1.06 (high: 11); 0 (middle: 10); -1 (sign 0)
        codes.clear();
        two.encode(&[10.0 + 1.5 * sd0, -5.0, -1.0], &mut codes);
        assert_eq!(codes, vec![B8(0b00_1011)]);
        let half = encoder(3, BinaryBits::OneAndHalf, QueryBits::Storage, &rows);
        codes.clear();
        // high, middle, sign: first bits 111 (dimension 2's sign is +),
        // the pair (0, 1) ORs 1 | 0, dimension 2 alone has no second bit
        half.encode(&[10.0 + 1.5 * sd0, -5.0, 3.0], &mut codes);
        assert_eq!(codes, vec![B8(0b0_1111)]);
        assert_eq!(half.width(), 1);
        assert_eq!(
            encoder(100, BinaryBits::OneAndHalf, QueryBits::Storage, &[]).width(),
            19 // 150 bits
        );
        assert_eq!(
            encoder(100, BinaryBits::Two, QueryBits::Storage, &[]).width(),
            25
        );
    }

    /// A query at 8 or 4 bits: each value a level over `±max|q|`; a row's
    /// set bit counts `L - level`, a clear one `level`; the score is `dim -
    /// 2 · Σ / L`, computed here value by value.
    #[test]
    fn scalar_queries_score_levels_against_bits() {
        let dim = 13;
        let query: Vec<f32> = (0..dim).map(|i| (i as f32 - 6.0) / 3.0).collect();
        let row: Vec<f32> = (0..dim)
            .map(|i| if i % 3 == 0 { 1.0 } else { -1.0 })
            .collect();
        for (bits, levels) in [(QueryBits::Scalar8, 255.0f32), (QueryBits::Scalar4, 15.0)] {
            let e = encoder(dim, BinaryBits::One, bits, &[]);
            let mut codes = Vec::new();
            e.encode(&row, &mut codes);
            let max = 2.0f32;
            let mut sum = 0.0;
            for (q, r) in query.iter().zip(&row) {
                let level = ((q + max) / (2.0 * max / levels)).round();
                sum += if *r > 0.0 { levels - level } else { level };
            }
            let BinaryQuery::Levels(scorer) = e.nearest(&query) else {
                panic!("a query kept at levels")
            };
            let got = scored(&scorer, &codes);
            let want = dim as f32 - 2.0 * sum / levels;
            assert!((got - want).abs() < 1e-4, "{bits:?}: {got} against {want}");
        }
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
        let codes = BinaryRows::new(
            BinaryEncoder::train(&store, BinaryBits::One, QueryBits::Storage).unwrap(),
        )
        .unwrap();
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
            let BinaryQuery::Bits(scorer) = codes.encoder().nearest(&q) else {
                panic!("one bit against one bit")
            };
            let mut candidates = graph.search_scored(&codes, &scorer, 40, 64, &AllowAll);
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
