//! Multivectors: a matrix of vectors per point (ColBERT's or ColPali's
//! token embeddings), compared by MaxSim.
//!
//! A stored multivector is one row of `f32`s: a header element holding the
//! number of vectors `n` (its bits, not its value), then the `n` vectors of
//! the store's dimension back to back, each preprocessed for the distance
//! (Cosine normalises every vector). A query matrix is encoded the same
//! way, so a multivector query is a `&[f32]` like any other and every
//! scorer, graph walk and scan works on it unchanged: the metric
//! [`MaxSim`] reads the header and does the rest.
//!
//! MaxSim is Qdrant's: for each query vector, the best similarity over the
//! point's vectors, summed over the query's vectors (so it is asymmetric).
//! The similarities are the internal ones (Euclid `-|q - d|²`, Manhattan
//! `-|q - d|₁`), and the user's score is [`Distance::score`] of the sum:
//! for Euclid `sqrt(Σ_q min_d |q - d|²)`, not a sum of distances.

use std::marker::PhantomData;

use crate::{Datatype, Distance, IndexError, Metric};

/// Qdrant's limit on a multivector's total number of elements (all its
/// vectors together), in release builds: at most `MAX_FLATTENED - 1`.
pub const MAX_FLATTENED: usize = 1024 * 1024;

/// The header element of a row of `n` vectors.
#[inline]
fn header(n: usize) -> f32 {
    f32::from_bits(n as u32)
}

/// The number of vectors in a stored (or encoded query) row.
#[inline]
pub fn count(row: &[f32]) -> usize {
    row.first().map_or(0, |h| h.to_bits() as usize)
}

/// The vectors of a stored row, each of the store's dimension.
pub fn vectors(row: &[f32]) -> impl ExactSizeIterator<Item = &[f32]> + Clone {
    let n = count(row);
    let body = row.get(1..).unwrap_or_default();
    let dim = body.len().checked_div(n).unwrap_or(1);
    body.chunks_exact(dim.max(1)).take(n)
}

/// Checks a matrix as Qdrant does: not empty, no empty vector, one
/// dimension throughout, fewer than [`MAX_FLATTENED`] elements in all,
/// finite values, the store's dimension.
pub fn validate<'a>(
    matrix: impl ExactSizeIterator<Item = &'a [f32]> + Clone,
    dim: usize,
) -> Result<(), IndexError> {
    let n = matrix.len();
    if n == 0 {
        return Err(IndexError::Multivector(
            "multi vector must not be empty".into(),
        ));
    }
    if matrix.clone().any(<[f32]>::is_empty) {
        return Err(IndexError::Multivector(
            "all vectors must be non-empty".into(),
        ));
    }
    let total: usize = matrix.clone().map(<[f32]>::len).sum();
    if total >= MAX_FLATTENED {
        return Err(IndexError::Multivector(format!(
            "Total size of all vectors ({total}) must be less than {MAX_FLATTENED}"
        )));
    }
    let first = matrix.clone().next().map_or(0, <[f32]>::len);
    if let Some(bad) = matrix.clone().map(<[f32]>::len).find(|&l| l != first) {
        return Err(IndexError::Multivector(format!(
            "all vectors must have the same dimension, found vector with dimension {bad}"
        )));
    }
    matrix
        .into_iter()
        .try_for_each(|v| crate::validate_vector(v, dim))
}

/// A matrix [`validate`]d and encoded as a row, each vector prepared for
/// `distance` and encoded as `datatype` (see
/// [`Datatype::prepare`](crate::Datatype::prepare)).
pub fn encode<'a>(
    matrix: impl ExactSizeIterator<Item = &'a [f32]> + Clone,
    dim: usize,
    distance: Distance,
    datatype: Datatype,
) -> Result<Vec<f32>, IndexError> {
    validate(matrix.clone(), dim)?;
    let mut row = Vec::with_capacity(1 + matrix.len() * datatype.words(dim));
    row.push(header(matrix.len()));
    for v in matrix {
        datatype.prepare(distance, v, &mut row);
    }
    Ok(row)
}

/// A row as it is stored, checked for shape only (a copy of a stored
/// row): a header, and `n` vectors of `dim` words.
pub fn check_row(row: &[f32], dim: usize) -> Result<(), IndexError> {
    let n = count(row);
    if n == 0 || row.len() != 1 + n * dim {
        return Err(IndexError::Multivector(format!(
            "a stored multivector of {n} vectors has {} values, not {}",
            row.len().saturating_sub(1),
            n * dim
        )));
    }
    Ok(())
}

/// A stored row from its vector count and values (as a checkpoint keeps
/// them).
pub fn with_header(n: usize, values: &[f32]) -> Vec<f32> {
    let mut row = Vec::with_capacity(1 + values.len());
    row.push(header(n));
    row.extend_from_slice(values);
    row
}

/// The row of a point with no multivector of a name: no vectors.
pub fn absent() -> [f32; 1] {
    [header(0)]
}

/// MaxSim over the rows of a multivector store, with the per-pair metric
/// `M`: `Σ_{q ∈ a} max_{d ∈ b} M(q, d)`. A row without vectors scores
/// minus infinity (it has nothing to match; such rows are absent points,
/// never searched).
///
/// Only `f32` rows are multivector rows: construction copies and
/// quantized codes are refused for multivector stores
/// ([`Bf16Rows::new`](crate::Bf16Rows::new),
/// [`ScalarQuantizer::train`](crate::ScalarQuantizer::train)), so the two
/// other element kinds never reach this metric; they rank last if they
/// ever did.
#[derive(Clone, Copy, Debug)]
pub struct MaxSim<M>(PhantomData<M>);

impl<M: Metric> Metric for MaxSim<M> {
    #[inline]
    fn similarity(a: &[f32], b: &[f32]) -> f32 {
        let (na, nb) = (count(a), count(b));
        if na == 0 || nb == 0 {
            return f32::NEG_INFINITY;
        }
        let (qa, db) = (&a[1..], &b[1..]);
        let dim = qa.len() / na;
        if dim == 0 || db.len() != nb * dim {
            return f32::NEG_INFINITY;
        }
        qa.chunks_exact(dim)
            .map(|q| {
                db.chunks_exact(dim)
                    .map(|d| M::similarity(q, d))
                    .fold(f32::NEG_INFINITY, f32::max)
            })
            .sum()
    }

    fn similarity_bf16(_: &[u16], _: &[u16]) -> f32 {
        debug_assert!(false, "no bfloat16 copy is made of multivectors");
        f32::NEG_INFINITY
    }

    fn similarity_i8(_: &[i8], _: &[i8]) -> f32 {
        debug_assert!(false, "multivectors are not quantized");
        f32::NEG_INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::{DotMetric, L1Metric, L2Metric};

    fn rows(m: &[&[f32]], distance: Distance) -> Vec<f32> {
        encode(m.iter().copied(), m[0].len(), distance, Datatype::Float32).unwrap()
    }

    #[test]
    fn maxsim_sums_the_best_match_of_each_query_vector() {
        let q = rows(&[&[1.0, 0.0], &[0.0, 2.0]], Distance::Dot);
        let d = rows(&[&[3.0, 1.0], &[0.5, 4.0], &[-1.0, -1.0]], Distance::Dot);
        // q1: max(3, 0.5, -1) = 3; q2: max(2, 8, -2) = 8
        assert_eq!(MaxSim::<DotMetric>::similarity(&q, &d), 11.0);
        // asymmetric: d's three vectors each take their best over q
        // (3 + 8 + -1) = 10
        assert_eq!(MaxSim::<DotMetric>::similarity(&d, &q), 10.0);
        // Euclid: -Σ min squared distances; the score is its square root
        let q = rows(&[&[0.0, 0.0], &[3.0, 4.0]], Distance::Euclid);
        let d = rows(&[&[1.0, 0.0], &[3.0, 5.0]], Distance::Euclid);
        let sim = MaxSim::<L2Metric>::similarity(&q, &d);
        assert_eq!(sim, -2.0);
        assert_eq!(Distance::Euclid.score(sim), 2f32.sqrt());
        assert_eq!(MaxSim::<L1Metric>::similarity(&q, &d), -2.0);
    }

    #[test]
    fn encoding_checks_the_matrix_as_qdrant_does() {
        let err = |m: &[&[f32]]| {
            encode(m.iter().copied(), 2, Distance::Dot, Datatype::Float32)
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[]).contains("multi vector must not be empty"));
        assert!(err(&[&[1.0, 2.0], &[]]).contains("all vectors must be non-empty"));
        assert!(err(&[&[1.0, 2.0], &[1.0]]).contains("found vector with dimension 1"));
        assert!(err(&[&[1.0, 2.0, 3.0]]).contains("expected dim: 2, got 3"));
        assert!(err(&[&[1.0, f32::NAN]]).contains("finite"));
        // cosine normalises each vector, not the matrix
        let row = rows(&[&[3.0, 4.0], &[0.0, 2.0]], Distance::Cosine);
        assert_eq!(count(&row), 2);
        let vs: Vec<&[f32]> = vectors(&row).collect();
        assert_eq!(vs, [&[0.6, 0.8][..], &[0.0, 1.0][..]]);
        assert!(check_row(&row, 2).is_ok());
        assert!(check_row(&row, 3).is_err());
        assert_eq!(
            MaxSim::<DotMetric>::similarity(&absent(), &row),
            f32::NEG_INFINITY
        );
    }
}
