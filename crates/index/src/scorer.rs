//! What a search ranks by: a score per stored vector, higher is better.
//!
//! Nearest-neighbour search scores by the similarity to one query vector;
//! recommendation and discovery score by several example vectors at once.
//! Graph walks and exact scans are generic over the scorer, so each kind of
//! query compiles to its own loop.

use std::marker::PhantomData;

use crate::Metric;
use crate::distance::Element;

/// Scores a stored (preprocessed) row of `E`s; higher is better.
pub trait Scorer<E = f32>: Sync {
    /// The score of `v`.
    fn score(&self, v: &[E]) -> f32;

    /// The one query row this scorer ranks by similarity to, if that is
    /// all it does: such a search may walk quantized codes instead of the
    /// rows (see [`QuantizedNearest`](crate::QuantizedNearest)).
    fn query_row(&self) -> Option<&[E]> {
        None
    }
}

/// The similarity to one query row under metric `M`.
#[derive(Clone, Copy, Debug)]
pub struct Nearest<'q, M, E = f32> {
    query: &'q [E],
    _metric: PhantomData<M>,
}

impl<'q, M: Metric, E: Element> Nearest<'q, M, E> {
    /// Scores by similarity to `query` (preprocessed).
    pub fn new(query: &'q [E]) -> Self {
        Nearest {
            query,
            _metric: PhantomData,
        }
    }
}

impl<M: Metric, E: Element> Scorer<E> for Nearest<'_, M, E> {
    #[inline]
    fn score(&self, v: &[E]) -> f32 {
        E::similarity::<M>(self.query, v)
    }

    fn query_row(&self) -> Option<&[E]> {
        Some(self.query)
    }
}

impl<F: Fn(&[f32]) -> f32 + Sync> Scorer for F {
    #[inline]
    fn score(&self, v: &[f32]) -> f32 {
        self(v)
    }
}
