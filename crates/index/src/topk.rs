//! Scored rows and a bounded best-k collector.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use vicinity_storage::PointOffset;

/// A row and its similarity (higher is closer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoredOffset {
    /// The row.
    pub offset: PointOffset,
    /// Its similarity to the query; higher is closer.
    pub similarity: f32,
}

impl Eq for ScoredOffset {}

impl Ord for ScoredOffset {
    /// Greater means better: higher similarity, then the smaller offset, so
    /// that ties resolve the same way on every run.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.similarity
            .total_cmp(&other.similarity)
            .then_with(|| other.offset.cmp(&self.offset))
    }
}

impl PartialOrd for ScoredOffset {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the `k` best [`ScoredOffset`]s pushed into it.
#[derive(Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Reverse<ScoredOffset>>,
}

impl TopK {
    /// A collector for the best `k`.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    /// The worst similarity that still gets in, once the collector is full.
    #[inline]
    pub fn threshold(&self) -> Option<f32> {
        if self.heap.len() >= self.k {
            self.heap.peek().map(|r| r.0.similarity)
        } else {
            None
        }
    }

    /// Offers a candidate.
    #[inline]
    pub fn push(&mut self, item: ScoredOffset) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Reverse(item));
        } else if let Some(mut worst) = self.heap.peek_mut()
            && item > worst.0
        {
            *worst = Reverse(item);
        }
    }

    /// The kept items, best first.
    pub fn into_sorted_vec(self) -> Vec<ScoredOffset> {
        // `Reverse` sorts ascending by `Reverse`, i.e. best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn top_k_equals_sort_and_truncate(sims in prop::collection::vec(-100i32..100, 0..200), k in 0usize..30) {
            let items: Vec<ScoredOffset> = sims
                .iter()
                .enumerate()
                .map(|(i, &s)| ScoredOffset { offset: PointOffset(i as u32), similarity: s as f32 })
                .collect();
            let mut top = TopK::new(k);
            for &it in &items {
                top.push(it);
            }
            let mut want = items.clone();
            want.sort_by(|a, b| b.cmp(a));
            want.truncate(k);
            prop_assert_eq!(top.into_sorted_vec(), want);
        }
    }
}
