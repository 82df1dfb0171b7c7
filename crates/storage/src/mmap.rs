//! Memory-mapped columns: the only `unsafe` code in Vicinity.
//!
//! # Safety
//!
//! The invariants every `unsafe` block below relies on:
//!
//! 1. A chunk's mapping is created once, owned by its [`Chunk`] and never
//!    remapped, resized or unmapped while the column lives, so a pointer
//!    into it stays valid for the column's lifetime and rows never move.
//! 2. Rows are written once. The single writer (serialised by the column's
//!    writer mutex) writes row `n` only while `n >= len`, then publishes it
//!    with a `Release` store of `len = n + 1`. Readers only form references
//!    to rows `< len` loaded with `Acquire`. So no row is ever read and
//!    written at the same time, and a reader sees a row's final bytes.
//! 3. Every reference handed out is derived from the chunk's base pointer
//!    (never through a `&mut` to the whole mapping), covers exactly one row,
//!    and rows do not overlap, so the writer's raw-pointer writes never alias
//!    a live shared reference.
//! 4. Anonymous mappings are page-aligned and zero-initialised; rows are
//!    `width * size_of::<T>()` bytes, so every row starts at a multiple of
//!    `align_of::<T>()`, and any bit pattern is a valid `T` (`T: Pod`).

use std::marker::PhantomData;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytemuck::Pod;
use memmap2::{MmapMut, MmapOptions};
use parking_lot::Mutex;

use crate::{PointOffset, StorageError};

/// log2 of the number of rows in the first chunk.
const BASE_SHIFT: u32 = 10;
/// Rows in the first chunk; chunk `k` holds `BASE_ROWS << k` rows.
const BASE_ROWS: usize = 1 << BASE_SHIFT;
/// Enough chunks for `u32::MAX` rows.
const MAX_CHUNKS: usize = 23;
/// The largest number of rows a column holds: offsets are `u32`, and
/// `u32::MAX` stays free as a sentinel for "no row".
pub const MAX_ROWS: usize = u32::MAX as usize;

/// Which chunk row `i` lives in, and its index inside that chunk.
#[inline]
fn locate(i: usize) -> (usize, usize) {
    let j = i + BASE_ROWS;
    let k = (usize::BITS - 1 - j.leading_zeros()) as usize - BASE_SHIFT as usize;
    (k, j - (BASE_ROWS << k))
}

/// One anonymous mapping holding `BASE_ROWS << k` rows.
struct Chunk {
    /// Owns the mapping that `base` points into (invariant 1).
    _map: MmapMut,
    base: NonNull<u8>,
}

// SAFETY: `base` points into `_map`, which the chunk owns and never moves;
// all access through it follows invariants 2 and 3, which rule out data races.
unsafe impl Send for Chunk {}
// SAFETY: as for `Send`: shared access only reads published rows, and the
// one writer is serialised by the column's mutex.
unsafe impl Sync for Chunk {}

impl Chunk {
    fn new(bytes: usize) -> Result<Self, StorageError> {
        let mut map =
            MmapOptions::new()
                .len(bytes)
                .map_anon()
                .map_err(|source| StorageError::Io {
                    path: PathBuf::from("<anonymous>"),
                    source,
                })?;
        let base = NonNull::new(map.as_mut_ptr()).expect("a mapping is never at address zero");
        Ok(Chunk { _map: map, base })
    }
}

/// A column of fixed-width rows of `T`, appended by one writer at a time and
/// read by any number of threads without a lock.
///
/// Rows are write-once: a row never changes after [`push`](Self::push)
/// returns, which is what lets readers hold `&[T]` into it while the column
/// grows. Storage grows by chunks of doubling size, each its own mapping,
/// so existing rows never move. Pages are committed by the OS on first
/// write, so capacity that is not used costs address space only.
pub struct AppendRows<T: Pod> {
    width: usize,
    chunks: [OnceLock<Chunk>; MAX_CHUNKS],
    len: AtomicUsize,
    writer: Mutex<()>,
    _marker: PhantomData<T>,
}

impl<T: Pod> std::fmt::Debug for AppendRows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendRows")
            .field("width", &self.width)
            .field("len", &self.len())
            .finish()
    }
}

impl<T: Pod> AppendRows<T> {
    /// An empty column whose rows hold `width` elements each.
    pub fn new(width: usize) -> Result<Self, StorageError> {
        if width == 0 || std::mem::size_of::<T>() == 0 {
            return Err(StorageError::ZeroWidth);
        }
        Ok(AppendRows {
            width,
            chunks: std::array::from_fn(|_| OnceLock::new()),
            len: AtomicUsize::new(0),
            writer: Mutex::new(()),
            _marker: PhantomData,
        })
    }

    /// Elements per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Rows published so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether no row has been published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of address space reserved by the chunks allocated so far.
    pub fn reserved_bytes(&self) -> usize {
        let row_bytes = self.width * std::mem::size_of::<T>();
        (0..MAX_CHUNKS)
            .filter(|&k| self.chunks[k].get().is_some())
            .map(|k| (BASE_ROWS << k) * row_bytes)
            .sum()
    }

    /// The row at `offset`, or `None` if it has not been published.
    #[inline]
    pub fn get(&self, offset: PointOffset) -> Option<&[T]> {
        let i = offset.index();
        if i >= self.len() {
            return None;
        }
        let (k, r) = locate(i);
        let chunk = self.chunks[k].get()?;
        // SAFETY: row `i < len` is published and never written again
        // (invariant 2); it lies inside chunk `k`'s live mapping (invariant
        // 1: `r < BASE_ROWS << k` by construction of `locate`); the pointer
        // is aligned for `T` and any bytes are a valid `T` (invariant 4); the
        // slice covers exactly this row (invariant 3).
        let row = unsafe {
            let start = chunk
                .base
                .as_ptr()
                .add(r * self.width * std::mem::size_of::<T>())
                .cast::<T>();
            std::slice::from_raw_parts(start, self.width)
        };
        Some(row)
    }

    /// Asks the CPU to start loading the first cache line of row `offset`
    /// (a hint for a walk that will score the row next; a no-op for rows
    /// not published and on other architectures).
    #[inline]
    pub fn prefetch(&self, offset: PointOffset) {
        #[cfg(target_arch = "x86_64")]
        {
            let i = offset.index();
            if i >= self.len() {
                return;
            }
            let (k, r) = locate(i);
            let Some(chunk) = self.chunks[k].get() else {
                return;
            };
            let at = chunk
                .base
                .as_ptr()
                .wrapping_add(r * self.width * std::mem::size_of::<T>());
            // SAFETY: a prefetch is a hint that never faults and reads
            // nothing into the program; `at` points inside chunk `k`'s live
            // mapping (row `i < len`, invariants 1 and 2), and SSE, which the
            // instruction needs, is part of the x86_64 baseline.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = offset;
    }

    /// Allocates the chunks that the next `additional` rows need, so that
    /// pushing them cannot fail for want of memory.
    pub fn reserve(&self, additional: usize) -> Result<(), StorageError> {
        let _guard = self.writer.lock();
        let len = self.len.load(Ordering::Relaxed);
        let end = len.saturating_add(additional);
        if end > MAX_ROWS {
            return Err(StorageError::Full {
                max: MAX_ROWS as u64,
            });
        }
        if additional == 0 {
            return Ok(());
        }
        let (first, _) = locate(len);
        let (last, _) = locate(end - 1);
        for k in first..=last {
            self.chunk(k)?;
        }
        Ok(())
    }

    /// Chunk `k`, mapped on first use; called with the writer mutex held.
    fn chunk(&self, k: usize) -> Result<&Chunk, StorageError> {
        if let Some(chunk) = self.chunks[k].get() {
            return Ok(chunk);
        }
        let bytes = (BASE_ROWS << k) * self.width * std::mem::size_of::<T>();
        let chunk = Chunk::new(bytes)?;
        Ok(self.chunks[k].get_or_init(|| chunk))
    }

    /// Appends a row and returns its offset. The row is visible to readers
    /// when this returns.
    pub fn push(&self, row: &[T]) -> Result<PointOffset, StorageError> {
        if row.len() != self.width {
            return Err(StorageError::RowWidth {
                expected: self.width,
                got: row.len(),
            });
        }
        let _guard = self.writer.lock();
        let i = self.len.load(Ordering::Relaxed);
        if i >= MAX_ROWS {
            return Err(StorageError::Full {
                max: MAX_ROWS as u64,
            });
        }
        let (k, r) = locate(i);
        let chunk = self.chunk(k)?;
        // SAFETY: we hold the writer mutex, so no other write happens; row
        // `i >= len` has not been published, so no reader has a reference to
        // it (invariant 2); the destination is inside chunk `k`'s mapping,
        // aligned for `T`, and does not overlap `row`, which is borrowed
        // from elsewhere (invariants 1, 3, 4).
        unsafe {
            let dst = chunk
                .base
                .as_ptr()
                .add(r * self.width * std::mem::size_of::<T>())
                .cast::<T>();
            std::ptr::copy_nonoverlapping(row.as_ptr(), dst, self.width);
        }
        self.len.store(i + 1, Ordering::Release);
        Ok(PointOffset(i as u32))
    }

    /// Iterates over the published rows in order.
    pub fn iter(&self) -> impl Iterator<Item = &[T]> + '_ {
        let len = self.len();
        (0..len).filter_map(move |i| self.get(PointOffset(i as u32)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn locate_covers_rows_contiguously() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(BASE_ROWS - 1), (0, BASE_ROWS - 1));
        assert_eq!(locate(BASE_ROWS), (1, 0));
        assert_eq!(locate(3 * BASE_ROWS - 1), (1, 2 * BASE_ROWS - 1));
        assert_eq!(locate(3 * BASE_ROWS), (2, 0));
        let (k, r) = locate(MAX_ROWS - 1);
        assert!(k < MAX_CHUNKS && r < BASE_ROWS << k);
    }

    #[test]
    fn rows_round_trip_across_chunks() {
        let col = AppendRows::<f32>::new(5).unwrap();
        let n = 3 * BASE_ROWS + 17;
        for i in 0..n {
            let row: Vec<f32> = (0..5).map(|j| (i * 5 + j) as f32).collect();
            assert_eq!(col.push(&row).unwrap(), PointOffset(i as u32));
        }
        assert_eq!(col.len(), n);
        for i in 0..n {
            let row = col.get(PointOffset(i as u32)).unwrap();
            assert_eq!(row[0], (i * 5) as f32);
            assert_eq!(row[4], (i * 5 + 4) as f32);
        }
        assert!(col.get(PointOffset(n as u32)).is_none());
        assert_eq!(col.iter().count(), n);
        assert!(col.reserved_bytes() >= n * 5 * 4);
    }

    #[test]
    fn reserve_maps_the_chunks_ahead() {
        let col = AppendRows::<u8>::new(1).unwrap();
        assert_eq!(col.reserved_bytes(), 0);
        col.reserve(BASE_ROWS + 1).unwrap();
        assert_eq!(col.reserved_bytes(), 3 * BASE_ROWS);
        assert!(matches!(
            col.reserve(MAX_ROWS + 1),
            Err(StorageError::Full { .. })
        ));
        assert!(col.is_empty());
    }

    #[test]
    fn wrong_width_and_zero_width_are_errors() {
        let col = AppendRows::<u32>::new(2).unwrap();
        assert!(matches!(
            col.push(&[1, 2, 3]),
            Err(StorageError::RowWidth {
                expected: 2,
                got: 3
            })
        ));
        assert!(col.is_empty());
        assert!(matches!(
            AppendRows::<u32>::new(0),
            Err(StorageError::ZeroWidth)
        ));
    }

    #[test]
    fn readers_see_complete_rows_while_a_writer_appends() {
        let col = Arc::new(AppendRows::<u64>::new(8).unwrap());
        let total = 20_000usize;
        let writer = {
            let col = Arc::clone(&col);
            std::thread::spawn(move || {
                for i in 0..total {
                    col.push(&[i as u64; 8]).unwrap();
                }
            })
        };
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let col = Arc::clone(&col);
                std::thread::spawn(move || {
                    let mut seen = 0;
                    while seen < total {
                        let len = col.len();
                        for i in seen..len {
                            let row = col.get(PointOffset(i as u32)).unwrap();
                            assert!(row.iter().all(|&v| v == i as u64), "torn row {i}");
                        }
                        seen = len;
                    }
                })
            })
            .collect();
        writer.join().unwrap();
        for r in readers {
            r.join().unwrap();
        }
    }
}
