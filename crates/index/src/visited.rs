//! The per-search scratch space: a visited set cleared in O(1) by a
//! generation counter, and the two heaps of the graph walk. Each thread
//! keeps one, reused across searches, so a search allocates nothing once
//! the scratch has grown to the graph's size.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::ScoredOffset;

/// Marks which rows a search has already seen.
#[derive(Debug, Default)]
pub(crate) struct VisitedSet {
    marks: Vec<u16>,
    generation: u16,
}

impl VisitedSet {
    /// Forgets every mark and makes room for rows `0..capacity`.
    pub(crate) fn reset(&mut self, capacity: usize) {
        if self.marks.len() < capacity {
            self.marks.resize(capacity, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Whether `i` is marked.
    #[inline]
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.marks.get(i).is_some_and(|&m| m == self.generation)
    }

    /// Marks `i`; returns whether it was unmarked. Rows beyond the capacity
    /// given to `reset` grow the set.
    #[inline]
    pub(crate) fn insert(&mut self, i: usize) -> bool {
        if i >= self.marks.len() {
            self.marks.resize(i + 1, 0);
        }
        let m = &mut self.marks[i];
        if *m == self.generation {
            false
        } else {
            *m = self.generation;
            true
        }
    }
}

/// Everything one graph walk needs.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) visited: VisitedSet,
    /// Rows known to fail the filter (two-hop walk), so each is checked once.
    pub(crate) failed: VisitedSet,
    /// Rows to expand, best first.
    pub(crate) candidates: BinaryHeap<ScoredOffset>,
    /// The best rows found, worst on top.
    pub(crate) results: BinaryHeap<Reverse<ScoredOffset>>,
    /// The unvisited neighbours of the row being expanded.
    pub(crate) batch: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Option<Box<Scratch>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's scratch (a fresh one if it is in use by an
/// enclosing call).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut scratch = SCRATCH.with(|s| s.borrow_mut().take()).unwrap_or_default();
    let out = f(&mut scratch);
    SCRATCH.with(|s| *s.borrow_mut() = Some(scratch));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_forget_marks() {
        let mut v = VisitedSet::default();
        v.reset(10);
        assert!(v.insert(3));
        assert!(!v.insert(3));
        assert!(v.insert(20));
        for _ in 0..70_000 {
            v.reset(10);
        }
        assert!(v.insert(3));
        assert!(!v.insert(3));
        assert!(v.insert(20));
    }
}
