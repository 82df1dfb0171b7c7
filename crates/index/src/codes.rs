//! Rows of quantized codes, one kind of rows per encoding: scalar `int8`
//! ([`ScalarQuantizer`](crate::ScalarQuantizer)), binary
//! ([`BinaryEncoder`](crate::BinaryEncoder)) and product
//! ([`ProductQuantizer`](crate::ProductQuantizer)) codes are all held by
//! [`CodeRows`], which appends the codes of a store's rows as they are
//! indexed and hands them to graph walks as [`Rows`].
//!
//! Also here: [`TableNearest`], the scorer of codes whose every byte looks
//! up a number in a table made for the query (product codes, and binary
//! codes against a query kept at 4 or 8 bits per value).

use vicinity_storage::{AppendRows, PointOffset};

use crate::IndexError;
use crate::binary::B8;
use crate::distance::{Distance, Element};
use crate::scorer::Scorer;
use crate::vectors::{Rows, VectorStore, encode_rows, rows_ahead, visit_prefetched};

/// Rows an encoder learns from at most (Qdrant's sample size): a scalar
/// range, binary levels' means and spreads, product centroids.
pub const SAMPLE_ROWS: usize = 10_000;

/// Calls `f` with the values (decoded, as [`VectorStore::code_values`]
/// gives them for `binary` or other codes) of up to [`SAMPLE_ROWS`] rows of
/// `store` so far, spread evenly over it.
pub(crate) fn for_each_sampled_row(store: &VectorStore, binary: bool, mut f: impl FnMut(&[f32])) {
    let rows = store.len();
    let step = rows.div_ceil(SAMPLE_ROWS).max(1);
    for r in (0..rows).step_by(step) {
        if let Some(v) = store.get(PointOffset(r as u32)) {
            f(&store.code_values(v, binary));
        }
    }
}

/// How one kind of quantization turns a vector into a row of codes.
pub trait Encoder: Send + Sync + std::fmt::Debug {
    /// The element of a code row.
    type E: Element + bytemuck::Pod;

    /// Elements in a code row.
    fn width(&self) -> usize;

    /// The distance the codes stand in for.
    fn distance(&self) -> Distance;

    /// Whether the codes are made from the values as binary quantization
    /// reads them (`uint8` values centred on 127, see
    /// [`VectorStore::code_values`]).
    fn binary(&self) -> bool {
        false
    }

    /// Appends to `out` the code row of `v` (preprocessed as stored,
    /// decoded to `f32`).
    fn encode(&self, v: &[f32], out: &mut Vec<Self::E>);
}

/// The codes of a store's first rows under one encoder.
#[derive(Debug)]
pub struct CodeRows<C: Encoder> {
    encoder: C,
    rows: AppendRows<C::E>,
}

impl<C: Encoder> CodeRows<C> {
    /// An empty set of codes made by `encoder`.
    pub fn new(encoder: C) -> Result<Self, IndexError> {
        Ok(CodeRows {
            rows: AppendRows::new(encoder.width())?,
            encoder,
        })
    }

    /// What the codes were made with.
    pub fn encoder(&self) -> &C {
        &self.encoder
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
        let encoder = &self.encoder;
        encode_rows(
            &self.rows,
            store,
            to,
            encoder.width(),
            encoder.binary(),
            |v, row| encoder.encode(v, row),
        )
    }

    /// Bytes of memory the codes hold.
    pub fn reserved_bytes(&self) -> usize {
        self.rows.reserved_bytes()
    }
}

impl<C: Encoder> Rows for CodeRows<C> {
    type E = C::E;

    #[inline]
    fn distance(&self) -> Distance {
        self.encoder.distance()
    }

    #[inline]
    fn row(&self, offset: PointOffset) -> Option<&[C::E]> {
        self.rows.get(offset)
    }

    #[inline]
    fn prefetch_depth(&self, sharers: usize) -> usize {
        rows_ahead(self.encoder.width() * size_of::<C::E>(), sharers)
    }

    #[inline]
    fn for_each_row(
        &self,
        depth: usize,
        n: usize,
        id: impl Fn(usize) -> u32,
        f: impl FnMut(PointOffset, &[C::E]),
    ) {
        let rows = &self.rows;
        visit_prefetched(depth, n, id, |o| rows.prefetch_row(o), |o| rows.get(o), f)
    }
}

/// A code byte: one of 256 entries of a table (a product code's centroid
/// number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct P8(pub u8);

impl Element for P8 {
    /// Minus the number of positions whose codes differ: a crude proxy for
    /// rows compared without a query. Rows meet queries through
    /// [`TableNearest`], which scores them properly.
    #[inline]
    fn similarity<M: crate::Metric>(a: &[P8], b: &[P8]) -> f32 {
        -(a.iter().zip(b).filter(|(x, y)| x != y).count() as f32)
    }
}

/// Scores a row of code bytes by table lookup: byte `i` of the row picks
/// entry `row[i]` of table `i`; the score is `scale · Σ + offset`. The
/// tables are made for one query (see the encoders' `nearest`).
#[derive(Clone, Debug)]
pub struct TableNearest {
    tables: Vec<[f32; 256]>,
    scale: f32,
    offset: f32,
}

impl TableNearest {
    /// A scorer over `tables` (one per code byte).
    pub(crate) fn new(tables: Vec<[f32; 256]>, scale: f32, offset: f32) -> Self {
        TableNearest {
            tables,
            scale,
            offset,
        }
    }

    #[inline]
    fn sum(&self, bytes: &[u8]) -> f32 {
        // four running sums, so that the lookups do not wait on each other
        let mut acc = [0.0f32; 4];
        let mut tables = self.tables.chunks_exact(4);
        let mut codes = bytes.chunks_exact(4);
        for (t, c) in (&mut tables).zip(&mut codes) {
            for i in 0..4 {
                acc[i] += t[i][c[i] as usize];
            }
        }
        let rest: f32 = tables
            .remainder()
            .iter()
            .zip(codes.remainder())
            .map(|(t, &c)| t[c as usize])
            .sum();
        self.scale * ((acc[0] + acc[1]) + (acc[2] + acc[3]) + rest) + self.offset
    }
}

impl Scorer<P8> for TableNearest {
    #[inline]
    fn score(&self, v: &[P8]) -> f32 {
        self.sum(bytemuck::cast_slice(v))
    }
}

impl Scorer<B8> for TableNearest {
    #[inline]
    fn score(&self, v: &[B8]) -> f32 {
        self.sum(bytemuck::cast_slice(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_scores_sum_the_entries_the_bytes_pick() {
        let tables: Vec<[f32; 256]> = (0..7)
            .map(|t| std::array::from_fn(|i| (t * 1000 + i) as f32))
            .collect();
        let scorer = TableNearest::new(tables, 0.5, 3.0);
        let row = [1u8, 2, 3, 4, 5, 250, 0];
        let expected: f32 = row
            .iter()
            .enumerate()
            .map(|(t, &c)| (t * 1000 + c as usize) as f32)
            .sum();
        let codes: Vec<P8> = row.iter().map(|&c| P8(c)).collect();
        assert_eq!(scorer.score(&codes), 0.5 * expected + 3.0);
        let bits: Vec<B8> = row.iter().map(|&c| B8(c)).collect();
        assert_eq!(scorer.score(&bits), 0.5 * expected + 3.0);
    }
}
