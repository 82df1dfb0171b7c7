//! What a search ranks by: a score per stored vector, higher is better.
//!
//! Nearest-neighbour search scores by the similarity to one query vector;
//! recommendation and discovery score by several example vectors at once.
//! Graph walks and exact scans are generic over the scorer, so each kind of
//! query compiles to its own loop.

use std::marker::PhantomData;

use crate::Metric;

/// Scores a stored (preprocessed) vector; higher is better.
pub trait Scorer: Sync {
    /// The score of `v`.
    fn score(&self, v: &[f32]) -> f32;
}

/// The similarity to one query vector under metric `M`.
#[derive(Clone, Copy, Debug)]
pub struct Nearest<'q, M> {
    query: &'q [f32],
    _metric: PhantomData<M>,
}

impl<'q, M: Metric> Nearest<'q, M> {
    /// Scores by similarity to `query` (preprocessed).
    pub fn new(query: &'q [f32]) -> Self {
        Nearest {
            query,
            _metric: PhantomData,
        }
    }
}

impl<M: Metric> Scorer for Nearest<'_, M> {
    #[inline]
    fn score(&self, v: &[f32]) -> f32 {
        M::similarity(self.query, v)
    }
}

impl<F: Fn(&[f32]) -> f32 + Sync> Scorer for F {
    #[inline]
    fn score(&self, v: &[f32]) -> f32 {
        self(v)
    }
}
