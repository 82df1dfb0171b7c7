//! A growable set of row offsets that threads read and update without a
//! lock.

use std::sync::atomic::{AtomicU64, Ordering};

use vicinity_storage::PointOffset;

use crate::slots::SlotArray;

/// A bitset over [`PointOffset`]s; bits not yet allocated read as unset.
pub struct AtomicBitSet {
    words: SlotArray<AtomicU64>,
}

impl Default for AtomicBitSet {
    fn default() -> Self {
        AtomicBitSet {
            words: SlotArray::new(1),
        }
    }
}

impl std::fmt::Debug for AtomicBitSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicBitSet").finish_non_exhaustive()
    }
}

impl AtomicBitSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `offset` is in the set.
    #[inline]
    pub fn contains(&self, offset: PointOffset) -> bool {
        let i = offset.index();
        match self.words.get(i / 64) {
            Some(w) => w[0].load(Ordering::Acquire) & (1 << (i % 64)) != 0,
            None => false,
        }
    }

    /// Adds `offset`; returns whether it was absent before.
    pub fn insert(&self, offset: PointOffset) -> bool {
        let i = offset.index();
        let bit = 1u64 << (i % 64);
        self.words.get_or_alloc(i / 64)[0].fetch_or(bit, Ordering::AcqRel) & bit == 0
    }

    /// Removes `offset`; returns whether it was present before.
    pub fn remove(&self, offset: PointOffset) -> bool {
        let i = offset.index();
        let bit = 1u64 << (i % 64);
        match self.words.get(i / 64) {
            Some(w) => w[0].fetch_and(!bit, Ordering::AcqRel) & bit != 0,
            None => false,
        }
    }

    /// Bytes held.
    pub fn allocated_bytes(&self) -> usize {
        self.words.allocated_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_remove() {
        let s = AtomicBitSet::new();
        assert!(!s.contains(PointOffset(70_000)));
        assert!(s.insert(PointOffset(70_000)));
        assert!(!s.insert(PointOffset(70_000)));
        assert!(s.contains(PointOffset(70_000)));
        assert!(!s.contains(PointOffset(70_001)));
        assert!(s.remove(PointOffset(70_000)));
        assert!(!s.remove(PointOffset(70_000)));
        assert!(!s.contains(PointOffset(70_000)));
    }
}
