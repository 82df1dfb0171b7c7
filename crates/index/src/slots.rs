//! A growable array of fixed-width rows of thread-safe slots (atomics,
//! locks, once-cells) that never moves what it holds: rows are allocated in
//! chunks of doubling size, so `&T` into a row stays valid while the array
//! grows, and reading needs no lock.

use std::sync::OnceLock;

const BASE_SHIFT: u32 = 10;
const BASE_ROWS: usize = 1 << BASE_SHIFT;
const MAX_CHUNKS: usize = 23;

#[inline]
fn locate(i: usize) -> (usize, usize) {
    let j = i + BASE_ROWS;
    let k = (usize::BITS - 1 - j.leading_zeros()) as usize - BASE_SHIFT as usize;
    (k, j - (BASE_ROWS << k))
}

/// Rows of `width` slots each; a row exists once its chunk is allocated and
/// starts as `T::default()`.
pub(crate) struct SlotArray<T> {
    width: usize,
    chunks: [OnceLock<Box<[T]>>; MAX_CHUNKS],
}

impl<T: Default> SlotArray<T> {
    pub(crate) fn new(width: usize) -> Self {
        assert!(width > 0, "slot rows need a width");
        SlotArray {
            width,
            chunks: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// Row `i` if its chunk is allocated.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&[T]> {
        let (k, r) = locate(i);
        let chunk = self.chunks.get(k)?.get()?;
        Some(&chunk[r * self.width..(r + 1) * self.width])
    }

    /// Row `i`, allocating its chunk first if needed.
    pub(crate) fn get_or_alloc(&self, i: usize) -> &[T] {
        let (k, r) = locate(i);
        let chunk = self.chunks[k].get_or_init(|| {
            (0..(BASE_ROWS << k) * self.width)
                .map(|_| T::default())
                .collect()
        });
        &chunk[r * self.width..(r + 1) * self.width]
    }

    /// Bytes held by the allocated chunks.
    pub(crate) fn allocated_bytes(&self) -> usize {
        (0..MAX_CHUNKS)
            .filter(|&k| self.chunks[k].get().is_some())
            .map(|k| (BASE_ROWS << k) * self.width * std::mem::size_of::<T>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn rows_are_stable_and_default() {
        let a = SlotArray::<AtomicU32>::new(3);
        assert!(a.get(5000).is_none());
        let row = a.get_or_alloc(5000);
        assert_eq!(row.len(), 3);
        row[2].store(7, Ordering::Relaxed);
        a.get_or_alloc(100_000);
        assert_eq!(a.get(5000).unwrap()[2].load(Ordering::Relaxed), 7);
        assert_eq!(a.get(5001).unwrap()[0].load(Ordering::Relaxed), 0);
        assert!(a.allocated_bytes() > 0);
    }
}
