//! The per-search scratch space: a visited set cleared in O(1) by a
//! generation counter, and the two heaps of the graph walk. Each thread
//! keeps one, reused across searches, so a search allocates nothing once
//! the scratch has grown to the graph's size.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::ScoredOffset;

/// Marks which rows a search has visited, and which it found failing its
/// filter without visiting them (the two-hop walk), one byte per row: a
/// small array stays in cache, and one load answers both questions.
#[derive(Debug, Default)]
pub(crate) struct VisitedSet {
    /// `generation`: visited; `generation + 1`: failed, not visited;
    /// anything else: unseen in this walk.
    marks: Vec<u8>,
    /// Even, at least 2 once reset.
    generation: u8,
}

impl VisitedSet {
    /// Forgets every mark and makes room for rows `0..capacity`.
    pub(crate) fn reset(&mut self, capacity: usize) {
        if self.marks.len() < capacity {
            self.marks.resize(capacity, 0);
        }
        self.generation = self.generation.wrapping_add(2);
        if self.generation < 2 {
            self.marks.fill(0);
            self.generation = 2;
        }
    }

    /// Whether `i` is visited.
    #[cfg(test)]
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.marks.get(i).is_some_and(|&m| m == self.generation)
    }

    /// Whether `i` is visited or known to fail.
    #[inline]
    pub(crate) fn seen(&self, i: usize) -> bool {
        self.marks
            .get(i)
            .is_some_and(|&m| m.wrapping_sub(self.generation) < 2)
    }

    /// Whether `i` is known to fail and not visited.
    #[inline]
    pub(crate) fn failed(&self, i: usize) -> bool {
        self.marks.get(i).is_some_and(|&m| m == self.generation + 1)
    }

    #[inline]
    fn mark(&mut self, i: usize) -> &mut u8 {
        if i >= self.marks.len() {
            self.marks.resize(i + 1, 0);
        }
        &mut self.marks[i]
    }

    /// Marks `i` visited; returns whether it was not. Rows beyond the
    /// capacity given to `reset` grow the set.
    #[inline]
    pub(crate) fn insert(&mut self, i: usize) -> bool {
        let generation = self.generation;
        let m = self.mark(i);
        if *m == generation {
            false
        } else {
            *m = generation;
            true
        }
    }

    /// Marks `i` as failing the filter, unless it is visited.
    #[inline]
    pub(crate) fn insert_failed(&mut self, i: usize) {
        let generation = self.generation;
        let m = self.mark(i);
        if *m != generation {
            *m = generation + 1;
        }
    }
}

/// Everything one graph walk needs.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) visited: VisitedSet,
    /// Rows to expand, best first.
    pub(crate) candidates: BinaryHeap<ScoredOffset>,
    /// The best rows found, worst on top.
    pub(crate) results: BinaryHeap<Reverse<ScoredOffset>>,
    /// Rows the walk keeps loading ahead of the one it scores.
    pub(crate) depth: usize,
    /// The unvisited neighbours of the row being expanded.
    pub(crate) batch: Vec<u32>,
    /// Neighbours failing the filter, whose own neighbours the two-hop
    /// walk tries.
    pub(crate) hop: Vec<u32>,
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
        v.insert_failed(4);
        assert!(v.failed(4) && v.seen(4) && !v.contains(4));
        v.insert_failed(3);
        assert!(!v.failed(3), "a visited row stays visited");
        for _ in 0..1_000 {
            v.reset(10);
            assert!(!v.seen(3) && !v.seen(4) && !v.seen(20));
        }
        assert!(v.insert(3));
        assert!(!v.insert(3));
        assert!(v.insert(20));
        v.insert_failed(5);
        assert!(v.failed(5));
        assert!(v.insert(5), "a failed row can still be visited");
        assert!(v.contains(5) && !v.failed(5));
    }
}
