//! Memory-mapped columns: the only `unsafe` code in Vicinity.
//!
//! # Safety
//!
//! The invariants every `unsafe` block below relies on:
//!
//! 1. A chunk's mapping is created once, owned by its `Chunk` and never
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
//! 5. A column may start from a frozen base: a [`MappedFile`] of rows
//!    written by an earlier checkpoint. The base is mapped read-only at a
//!    page-aligned file offset (or copied into an anonymous mapping), owned
//!    by the column and never unmapped while it lives; its length is
//!    checked to be a whole number of rows before any row is read, and no
//!    row of it is ever written. Vicinity never rewrites the mapped bytes
//!    of a file (checkpoints append after them or write new files; the
//!    folder lock keeps other Vicinity processes out); a file changed under
//!    a live mapping by another program is outside this contract, as for
//!    every memory-mapped store.

use std::fs::File;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytemuck::Pod;
use memmap2::{Advice, Mmap, MmapMut, MmapOptions};
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
        let mut map = anonymous(bytes)?;
        huge_pages(&map);
        let base = NonNull::new(map.as_mut_ptr()).expect("a mapping is never at address zero");
        Ok(Chunk { _map: map, base })
    }
}

/// A zeroed, writable anonymous mapping of `len` bytes.
fn anonymous(len: usize) -> Result<MmapMut, StorageError> {
    MmapOptions::new()
        .len(len)
        .map_anon()
        .map_err(|source| StorageError::Io {
            path: PathBuf::from("<anonymous>"),
            source,
        })
}

/// Asks the kernel to back `map` with transparent huge pages (2 MiB on
/// x86_64) where it has them, before its pages are first touched.
///
/// Graph walks read rows scattered over the whole store: with 4 KiB pages
/// nearly every row costs a TLB miss and a page walk on top of the cache
/// misses. Measured on 100,000 x 384 f32 (2-core Xeon VM, THP `madvise`):
/// single-thread search 10-15% faster with the rows on huge pages. Small
/// mappings are left alone (a huge page would be mostly empty). A hint
/// only: where THP is off, or the call fails, nothing changes.
fn huge_pages(map: &MmapMut) {
    const HUGE: usize = 2 << 20;
    if map.len() >= HUGE {
        let _ = map.advise(Advice::HugePage);
    }
}

/// Fills `buf` from `file` at `offset`.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// Asks the CPU to start loading the cache lines of `value` (a hint for
/// data about to be read; a no-op on other architectures). Safe for any
/// reference: a prefetch never faults and changes nothing the program can
/// observe.
#[inline]
pub fn prefetch<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        let at = (value as *const T).cast::<u8>();
        for line in (0..std::mem::size_of_val(value)).step_by(64) {
            // SAFETY: a prefetch is a hint that never faults and reads
            // nothing into the program; `at + line` lies inside `value`,
            // a live reference, and SSE, which the instruction needs, is
            // part of the x86_64 baseline.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    at.wrapping_add(line).cast(),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// A fixed-length array of `T`, all zeros at first, in an anonymous
/// mapping of its own (on huge pages from 2 MiB, see `huge_pages`): for
/// the large arrays of atomics a graph fills in place (its level-0
/// links), which a walk reads at scattered places as it does the rows.
pub struct ZeroedArray<T> {
    _map: Option<MmapMut>,
    /// The first item: the mapping's start, or dangling when empty.
    base: NonNull<T>,
    len: usize,
}

// SAFETY: `base` points into `_map`, which the array owns and never moves;
// the array hands out only `&[T]`, so sending or sharing it is sending or
// sharing `T`s, as for a `Box<[T]>`.
unsafe impl<T: Send> Send for ZeroedArray<T> {}
// SAFETY: as for `Send`: shared access is `&T`, which `T: Sync` allows.
unsafe impl<T: Sync> Sync for ZeroedArray<T> {}

impl<T> std::fmt::Debug for ZeroedArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZeroedArray")
            .field("len", &self.len)
            .finish()
    }
}

impl<T: bytemuck::Zeroable> ZeroedArray<T> {
    /// `len` zero values.
    pub fn new(len: usize) -> Result<Self, StorageError> {
        assert!(
            std::mem::align_of::<T>() <= 4096,
            "a mapping is only page-aligned"
        );
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or(StorageError::Full { max: len as u64 })?;
        if bytes == 0 {
            return Ok(ZeroedArray {
                _map: None,
                base: NonNull::dangling(),
                len,
            });
        }
        let mut map = anonymous(bytes)?;
        huge_pages(&map);
        let base =
            NonNull::new(map.as_mut_ptr().cast::<T>()).expect("a mapping is never at address zero");
        Ok(ZeroedArray {
            _map: Some(map),
            base,
            len,
        })
    }
}

impl<T> std::ops::Deref for ZeroedArray<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: `base` is the start of a mapping of `len * size_of::<T>()`
        // bytes (or dangling with no bytes, which a slice allows: a
        // zero-sized `T` or `len == 0`), zeroed by the kernel and
        // page-aligned, so aligned for `T` (checked in `new`); an all-zero
        // `T` is valid (`T: Zeroable`, required to build one). The mapping
        // is owned by `self` and unmapped only when `self` drops, and no
        // `&mut` to its bytes is formed after `new`, so `&[T]` for `self`'s
        // lifetime is sound; writes go only through `T`'s own interior
        // mutability (atomics, locks), which the writable mapping allows.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }
}

/// The `bfloat16` values whose bits are `bits`, as simsimd's kernels take
/// them (the index crate keeps a `bfloat16` copy of rows for graph
/// construction in an [`AppendRows<u16>`]).
#[inline]
pub fn as_bf16(bits: &[u16]) -> &[simsimd::bf16] {
    // SAFETY: `simsimd::bf16` is `#[repr(transparent)]` over `u16`, so it
    // has the size, alignment and layout of `u16` and every bit pattern is
    // a valid value; the new slice covers exactly the memory of `bits`,
    // borrowed for the same lifetime and only read through.
    unsafe { std::slice::from_raw_parts(bits.as_ptr().cast::<simsimd::bf16>(), bits.len()) }
}

/// The IEEE `binary16` values whose bits are `bits`, as simsimd's kernels
/// take them (rows of a `float16` vector store).
#[inline]
pub fn as_f16(bits: &[u16]) -> &[simsimd::f16] {
    // SAFETY: `simsimd::f16` is `#[repr(transparent)]` over `u16`, so it
    // has the size, alignment and layout of `u16` and every bit pattern is
    // a valid value; the new slice covers exactly the memory of `bits`,
    // borrowed for the same lifetime and only read through.
    unsafe { std::slice::from_raw_parts(bits.as_ptr().cast::<simsimd::f16>(), bits.len()) }
}

/// Read-only bytes of a file, memory-mapped (or, for a simulated disk,
/// copied into an anonymous mapping), page-aligned.
pub struct MappedFile {
    map: MappedKind,
}

enum MappedKind {
    File(Mmap),
    Anon(MmapMut),
    Empty,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("len", &self.len())
            .field("file_backed", &matches!(self.map, MappedKind::File(_)))
            .finish()
    }
}

impl MappedFile {
    /// The `len` bytes of `file` from `offset` (a multiple of the page
    /// size), read-only. The caller has checked that the file holds them.
    /// `populate` (memory-resident data) reads them now into anonymous
    /// memory on huge pages; without it the file is mapped, its pages are
    /// read on first touch and the kernel is told to expect random access
    /// (data left on disk).
    pub fn map(
        file: &File,
        path: &Path,
        offset: u64,
        len: usize,
        populate: bool,
    ) -> Result<Self, StorageError> {
        let io_err = |source| StorageError::Io {
            path: path.to_path_buf(),
            source,
        };
        if len == 0 {
            return Ok(MappedFile {
                map: MappedKind::Empty,
            });
        }
        let have = file.metadata().map_err(io_err)?.len();
        if offset.checked_add(len as u64).is_none_or(|end| end > have) {
            return Err(StorageError::Corrupted {
                path: path.to_path_buf(),
                offset: have,
                reason: format!("the file ends before byte {}", offset + len as u64),
            });
        }
        if populate {
            // Resident rows are read into anonymous memory backed by huge
            // pages where the kernel has them (see `huge_pages`).
            let mut map = anonymous(len)?;
            huge_pages(&map);
            read_exact_at(file, &mut map, offset).map_err(io_err)?;
            return Ok(MappedFile {
                map: MappedKind::Anon(map),
            });
        }
        let mut options = MmapOptions::new();
        options.offset(offset).len(len);
        // SAFETY: the range was just checked to lie inside the file, so no
        // page of the mapping is past its end (no SIGBUS); the bytes are
        // never written by Vicinity while mapped (invariant 5); the mapping
        // is read-only, so no `&mut` to it exists.
        let map = unsafe { options.map(file) }.map_err(io_err)?;
        // a hint only: a failure changes nothing but read-ahead
        let _ = map.advise(Advice::Random);
        Ok(MappedFile {
            map: MappedKind::File(map),
        })
    }

    /// A page-aligned copy of `bytes` (for files of a simulated disk).
    pub fn copy_of(bytes: &[u8]) -> Result<Self, StorageError> {
        if bytes.is_empty() {
            return Ok(MappedFile {
                map: MappedKind::Empty,
            });
        }
        let mut map = anonymous(bytes.len())?;
        huge_pages(&map);
        map.copy_from_slice(bytes);
        Ok(MappedFile {
            map: MappedKind::Anon(map),
        })
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.map {
            MappedKind::File(m) => m,
            MappedKind::Anon(m) => m,
            MappedKind::Empty => &[],
        }
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes come from a file mapping (paged by the OS) rather
    /// than anonymous memory.
    pub fn is_file_backed(&self) -> bool {
        matches!(self.map, MappedKind::File(_))
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
    /// Rows `< base_rows` live in this read-only mapping (invariant 5).
    base: Option<MappedFile>,
    base_rows: usize,
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
            base: None,
            base_rows: 0,
            chunks: std::array::from_fn(|_| OnceLock::new()),
            len: AtomicUsize::new(0),
            writer: Mutex::new(()),
            _marker: PhantomData,
        })
    }

    /// A column whose first rows are the bytes of `base` (rows stored by
    /// an earlier checkpoint, read in place with no copy); new rows are
    /// appended after them. `base` must hold a whole number of rows and be
    /// aligned for `T`.
    pub fn with_base(width: usize, base: MappedFile) -> Result<Self, StorageError> {
        let mut col = Self::new(width)?;
        let row_bytes = width * std::mem::size_of::<T>();
        let bytes = base.as_bytes();
        if bytes.is_empty() {
            // an empty file (a checkpoint of an empty collection): no rows,
            // and an empty slice's dangling pointer need not be aligned
            return Ok(col);
        }
        if !bytes.len().is_multiple_of(row_bytes) {
            return Err(StorageError::RowWidth {
                expected: row_bytes,
                got: bytes.len() % row_bytes,
            });
        }
        // bytemuck checks the alignment (a page-aligned mapping always is)
        bytemuck::try_cast_slice::<u8, T>(bytes).map_err(|e| StorageError::Io {
            path: PathBuf::from("<mapping>"),
            source: std::io::Error::other(format!("misaligned base: {e}")),
        })?;
        let rows = bytes.len() / row_bytes;
        if rows > MAX_ROWS {
            return Err(StorageError::Full {
                max: MAX_ROWS as u64,
            });
        }
        col.base_rows = rows;
        col.base = Some(base);
        col.len.store(rows, Ordering::Release);
        Ok(col)
    }

    /// Rows read from the frozen base.
    pub fn base_rows(&self) -> usize {
        self.base_rows
    }

    /// Bytes of the frozen base, and whether it is a file mapping.
    pub fn base_bytes(&self) -> (usize, bool) {
        self.base
            .as_ref()
            .map_or((0, false), |b| (b.len(), b.is_file_backed()))
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

    /// Bytes of anonymous address space reserved by the chunks allocated so
    /// far (the frozen base is not counted: see [`base_bytes`](Self::base_bytes)).
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
        if i < self.base_rows {
            let base = self.base.as_ref()?.as_bytes();
            let row_bytes = self.width * std::mem::size_of::<T>();
            return Some(bytemuck::cast_slice(
                &base[i * row_bytes..(i + 1) * row_bytes],
            ));
        }
        let (k, r) = locate(i - self.base_rows);
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

    /// Asks the CPU to start loading the whole of row `offset`, every cache
    /// line of it, so that scoring it next waits for memory once rather
    /// than line after line (a no-op for rows not published).
    #[inline]
    pub fn prefetch_row(&self, offset: PointOffset) {
        if let Some(row) = self.get(offset) {
            prefetch(row);
        }
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
        let (first, _) = locate(len - self.base_rows);
        let (last, _) = locate(end - 1 - self.base_rows);
        for k in first..=last {
            self.chunk(k)?;
        }
        Ok(())
    }

    /// Faults in, ahead of the writes, share `part` of `parts` of the pages
    /// that the next `additional` rows will fill (chunks already mapped by
    /// [`reserve`](Self::reserve)), so that several threads can share the
    /// cost of the kernel zeroing fresh pages: on a virtual machine that
    /// is most of the cost of copying rows into new memory. A hint: rows,
    /// readers and writers see no change, and a failure is ignored.
    pub fn populate(&self, additional: usize, parts: usize, part: usize) {
        let row_bytes = self.width * std::mem::size_of::<T>();
        let len = self.len.load(Ordering::Acquire);
        let (start, end) = (len - self.base_rows, len - self.base_rows + additional);
        let share = (end - start).div_ceil(parts.max(1));
        let (from, to) = (
            (start + part * share).min(end),
            (start + (part + 1) * share).min(end),
        );
        let mut i = from;
        while i < to {
            let (k, r) = locate(i);
            let in_chunk = ((BASE_ROWS << k) - r).min(to - i);
            #[cfg(target_os = "linux")]
            if let Some(chunk) = self.chunks[k].get() {
                let _ = chunk._map.advise_range(
                    Advice::PopulateWrite,
                    r * row_bytes,
                    in_chunk * row_bytes,
                );
            }
            #[cfg(not(target_os = "linux"))]
            let _ = (r, row_bytes);
            i += in_chunk;
        }
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
        let (k, r) = locate(i - self.base_rows);
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

/// log2 of the elements in the first chunk of an [`AppendRuns`].
const RUN_BASE_SHIFT: u32 = 14;
/// Chunks of an [`AppendRuns`]: chunk `k` holds `1 << (RUN_BASE_SHIFT +
/// k)` elements, so the last alone holds more than 2^50.
const RUN_CHUNKS: usize = 37;
/// The position bit of a run stored in the frozen base.
const IN_BASE: u64 = 1 << 63;

/// A column of variable-length runs of `T` (one multivector per row), one
/// writer at a time, any number of lock-free readers: the [`AppendRows`]
/// contract for rows whose length varies.
///
/// Each run is contiguous: it is written into the current chunk, or, when
/// the rest of that chunk is too short, at the start of the next chunk
/// large enough (chunks double, so what is skipped is small beside what is
/// stored). A run's position and length are a row of an index column, and
/// pushing that row is what publishes the run. No allocation per run.
pub struct AppendRuns<T: Pod> {
    /// Runs stored by an earlier checkpoint, read in place (invariant 5).
    base: Option<MappedFile>,
    chunks: [OnceLock<Chunk>; RUN_CHUNKS],
    /// Per run: its position (`IN_BASE | element` in the base, or `chunk
    /// << 56 | element` in a chunk) and its length.
    index: AppendRows<u64>,
    /// Runs in the base: the first ones.
    base_runs: usize,
    /// The writer's cursor: the chunk being filled and its elements used.
    cursor: Mutex<(usize, usize)>,
    _marker: PhantomData<T>,
}

impl<T: Pod> std::fmt::Debug for AppendRuns<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendRuns")
            .field("len", &self.len())
            .finish()
    }
}

impl<T: Pod> AppendRuns<T> {
    /// An empty column.
    pub fn new() -> Result<Self, StorageError> {
        if std::mem::size_of::<T>() == 0 {
            return Err(StorageError::ZeroWidth);
        }
        Ok(AppendRuns {
            base: None,
            chunks: std::array::from_fn(|_| OnceLock::new()),
            index: AppendRows::new(2)?,
            base_runs: 0,
            cursor: Mutex::new((0, 0)),
            _marker: PhantomData,
        })
    }

    /// A column whose first runs are read in place from `base`, one run
    /// per length in `lengths`, back to back from the start of the base;
    /// new runs are appended after them. The lengths must cover the base
    /// exactly, and the base be aligned for `T`.
    pub fn with_base(base: MappedFile, lengths: &[u64]) -> Result<Self, StorageError> {
        let mut col = Self::new()?;
        let size = std::mem::size_of::<T>() as u64;
        let bytes = base.as_bytes();
        let total = lengths
            .iter()
            .try_fold(0u64, |sum, &len| sum.checked_add(len))
            .and_then(|n| n.checked_mul(size));
        if total != Some(bytes.len() as u64) {
            return Err(StorageError::RowWidth {
                expected: total.unwrap_or(u64::MAX) as usize,
                got: bytes.len(),
            });
        }
        if !bytes.is_empty() {
            bytemuck::try_cast_slice::<u8, T>(bytes).map_err(|e| StorageError::Io {
                path: PathBuf::from("<mapping>"),
                source: std::io::Error::other(format!("misaligned base: {e}")),
            })?;
        }
        let mut at = 0u64;
        for &len in lengths {
            col.index.push(&[IN_BASE | at, len])?;
            at += len;
        }
        col.base = Some(base);
        col.base_runs = lengths.len();
        Ok(col)
    }

    /// Runs published so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no run has been published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the frozen base, and whether it is a file mapping.
    pub fn base_bytes(&self) -> (usize, bool) {
        self.base
            .as_ref()
            .map_or((0, false), |b| (b.len(), b.is_file_backed()))
    }

    /// Runs read in place from the frozen base.
    pub fn base_runs(&self) -> usize {
        self.base_runs
    }

    /// Bytes of anonymous address space reserved: the chunks allocated so
    /// far and the index.
    pub fn reserved_bytes(&self) -> usize {
        let size = std::mem::size_of::<T>();
        (0..RUN_CHUNKS)
            .filter(|&k| self.chunks[k].get().is_some())
            .map(|k| (1usize << (RUN_BASE_SHIFT as usize + k)) * size)
            .sum::<usize>()
            + self.index.reserved_bytes()
    }

    /// Run `offset`, or `None` if it has not been published.
    #[inline]
    pub fn get(&self, offset: PointOffset) -> Option<&[T]> {
        let entry = self.index.get(offset)?;
        let (pos, len) = (entry[0], entry[1] as usize);
        if pos & IN_BASE != 0 {
            let bytes = self.base.as_ref()?.as_bytes();
            let size = std::mem::size_of::<T>();
            let start = (pos & !IN_BASE) as usize * size;
            return Some(bytemuck::cast_slice(bytes.get(start..start + len * size)?));
        }
        if len == 0 {
            return Some(&[]);
        }
        let (k, at) = ((pos >> 56) as usize, (pos & ((1 << 56) - 1)) as usize);
        let chunk = self.chunks.get(k)?.get()?;
        // SAFETY: the index row was published (Acquire in `index.get`) after
        // the run's elements were written, and they are never written again
        // (invariant 2: `push` writes only past every published run); `at +
        // len` lies inside chunk `k`'s live mapping (checked by `push` before
        // publishing; invariant 1); the pointer is aligned for `T` (element
        // offsets of a page-aligned mapping) and any bytes are a valid `T`
        // (invariant 4); the slice covers exactly this run, which no other
        // run overlaps (invariant 3).
        let run = unsafe {
            let start = chunk
                .base
                .as_ptr()
                .add(at * std::mem::size_of::<T>())
                .cast::<T>();
            std::slice::from_raw_parts(start, len)
        };
        Some(run)
    }

    /// Asks the CPU to start loading run `offset` (a no-op for runs not
    /// published).
    #[inline]
    pub fn prefetch_row(&self, offset: PointOffset) {
        if let Some(run) = self.get(offset) {
            prefetch(run);
        }
    }

    /// Appends a run and returns its offset. The run is visible to readers
    /// when this returns.
    pub fn push(&self, run: &[T]) -> Result<PointOffset, StorageError> {
        let mut cursor = self.cursor.lock();
        let len = run.len();
        if len == 0 {
            let (k, used) = *cursor;
            return self.index.push(&[(k as u64) << 56 | used as u64, 0]);
        }
        let (mut k, mut used) = *cursor;
        while k < RUN_CHUNKS && used + len > 1usize << (RUN_BASE_SHIFT as usize + k) {
            k += 1;
            used = 0;
        }
        if k >= RUN_CHUNKS {
            return Err(StorageError::Full { max: len as u64 });
        }
        let chunk = match self.chunks[k].get() {
            Some(c) => c,
            None => {
                let bytes = (1usize << (RUN_BASE_SHIFT as usize + k)) * std::mem::size_of::<T>();
                let chunk = Chunk::new(bytes)?;
                self.chunks[k].get_or_init(|| chunk)
            }
        };
        {
            // SAFETY: we hold the cursor mutex, so no other write happens;
            // elements from `used` on belong to no published run (runs are
            // published in cursor order, each below the cursor), so no reader
            // holds a reference to them (invariant 2); `used + len` fits in
            // chunk `k` (the loop above), the destination is aligned for `T`
            // and does not overlap `run`, borrowed from elsewhere (invariants
            // 1, 3, 4).
            unsafe {
                let dst = chunk
                    .base
                    .as_ptr()
                    .add(used * std::mem::size_of::<T>())
                    .cast::<T>();
                std::ptr::copy_nonoverlapping(run.as_ptr(), dst, len);
            }
        }
        let offset = self
            .index
            .push(&[(k as u64) << 56 | used as u64, len as u64])?;
        *cursor = (k, used + len);
        Ok(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn runs_keep_their_elements_across_chunks() {
        let runs = AppendRuns::<u32>::new().unwrap();
        let mut expected = Vec::new();
        // lengths up to beyond the first chunks, so runs skip to later ones
        for i in 0..200u32 {
            let len = ((i * 7919) % 5000) as usize + usize::from(i % 50 == 0) * 40_000;
            let run: Vec<u32> = (0..len as u32).map(|x| x ^ i).collect();
            assert_eq!(runs.push(&run).unwrap(), PointOffset(i));
            expected.push(run);
        }
        assert_eq!(runs.push(&[]).unwrap(), PointOffset(200));
        expected.push(Vec::new());
        assert_eq!(runs.len(), expected.len());
        for (i, run) in expected.iter().enumerate() {
            assert_eq!(runs.get(PointOffset(i as u32)).unwrap(), run.as_slice());
        }
        assert!(runs.get(PointOffset(expected.len() as u32)).is_none());
    }

    #[test]
    fn runs_read_in_place_from_a_base_then_append() {
        let elems: Vec<u32> = (0..10).collect();
        let base = MappedFile::copy_of(bytemuck::cast_slice(&elems)).unwrap();
        let runs = AppendRuns::<u32>::with_base(base, &[3, 0, 7]).unwrap();
        assert_eq!(runs.get(PointOffset(0)).unwrap(), &[0, 1, 2]);
        assert_eq!(runs.get(PointOffset(1)).unwrap(), &[] as &[u32]);
        assert_eq!(runs.get(PointOffset(2)).unwrap(), &[3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(runs.push(&[42, 43]).unwrap(), PointOffset(3));
        assert_eq!(runs.get(PointOffset(3)).unwrap(), &[42, 43]);
        // lengths that do not cover the base are refused
        let base = MappedFile::copy_of(bytemuck::cast_slice(&elems)).unwrap();
        assert!(AppendRuns::<u32>::with_base(base, &[3, 6]).is_err());
    }

    #[test]
    fn runs_are_read_while_written() {
        let runs = Arc::new(AppendRuns::<u64>::new().unwrap());
        let writer = {
            let runs = Arc::clone(&runs);
            std::thread::spawn(move || {
                for i in 0..3_000u64 {
                    let run = vec![i; (i % 97) as usize + 1];
                    runs.push(&run).unwrap();
                }
            })
        };
        let mut seen = 0;
        while seen < 3_000 {
            let n = runs.len();
            for i in seen..n {
                let run = runs.get(PointOffset(i as u32)).unwrap();
                assert_eq!(run.len(), i % 97 + 1);
                assert!(run.iter().all(|&x| x == i as u64));
            }
            seen = n;
        }
        writer.join().unwrap();
    }

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
    fn zeroed_arrays_start_at_zero_and_take_atomic_writes() {
        use std::sync::atomic::{AtomicU32, AtomicU64};
        let empty = ZeroedArray::<AtomicU32>::new(0).unwrap();
        assert!(empty.is_empty());
        // past 2 MiB: the huge-page path
        let big = ZeroedArray::<AtomicU64>::new(600_000).unwrap();
        assert_eq!(big.len(), 600_000);
        assert!(big.iter().all(|a| a.load(Ordering::Relaxed) == 0));
        std::thread::scope(|s| {
            for t in 0..2u64 {
                let big = &big;
                s.spawn(move || {
                    for i in (t as usize..600_000).step_by(2) {
                        big[i].store(i as u64 + 1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert!(
            big.iter()
                .enumerate()
                .all(|(i, a)| a.load(Ordering::Relaxed) == i as u64 + 1)
        );
    }

    #[test]
    fn prefetch_hints_touch_nothing() {
        let col = AppendRows::<f32>::new(100).unwrap();
        col.push(&[1.0; 100]).unwrap();
        // every line of the last row, rows not yet published, and any
        // reference at all: hints, never reads, so never a fault
        col.prefetch_row(PointOffset(0));
        col.prefetch_row(PointOffset(1));
        col.prefetch_row(PointOffset(u32::MAX));
        prefetch(&[0u8; 0][..]);
        prefetch(col.get(PointOffset(0)).unwrap());
        assert_eq!(col.get(PointOffset(0)).unwrap(), &[1.0; 100][..]);
    }

    #[test]
    fn populating_reserved_rows_commits_their_pages_and_changes_nothing_else() {
        fn rss_bytes() -> usize {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
                .map_or(0, |kb| kb * 1024)
        }
        let col = AppendRows::<f32>::new(256).unwrap();
        col.push(&[7.0; 256]).unwrap();
        let n = 64 * BASE_ROWS; // 64 MiB of rows
        col.reserve(n).unwrap();
        let before = rss_bytes();
        for part in 0..3 {
            col.populate(n, 3, part);
        }
        // more rows than were reserved: the unmapped rest is skipped
        col.populate(4 * n, 1, 0);
        if cfg!(target_os = "linux") && before > 0 {
            let grown = rss_bytes().saturating_sub(before);
            assert!(grown >= n * 256 * 4 / 2, "{grown} bytes committed");
        }
        assert_eq!(col.len(), 1);
        assert_eq!(col.get(PointOffset(0)).unwrap(), &[7.0; 256][..]);
        assert!(col.get(PointOffset(1)).is_none());
        for i in 1..n {
            col.push(&[i as f32; 256]).unwrap();
        }
        assert_eq!(
            col.get(PointOffset(n as u32 - 1)).unwrap()[255],
            (n - 1) as f32
        );
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
    fn a_frozen_base_is_read_in_place_and_appended_after() {
        let rows: Vec<f32> = (0..3 * 4).map(|x| x as f32).collect();
        let base = MappedFile::copy_of(bytemuck::cast_slice(&rows)).unwrap();
        let col = AppendRows::<f32>::with_base(4, base).unwrap();
        assert_eq!((col.len(), col.base_rows()), (3, 3));
        assert_eq!(col.get(PointOffset(2)), Some(&[8.0, 9.0, 10.0, 11.0][..]));
        for i in 3..(BASE_ROWS + 10) {
            let row = [i as f32; 4];
            assert_eq!(col.push(&row).unwrap(), PointOffset(i as u32));
        }
        assert_eq!(col.get(PointOffset(0)), Some(&[0.0, 1.0, 2.0, 3.0][..]));
        assert_eq!(col.get(PointOffset(3)), Some(&[3.0; 4][..]));
        let last = BASE_ROWS + 9;
        assert_eq!(
            col.get(PointOffset(last as u32)),
            Some(&[last as f32; 4][..])
        );
        assert_eq!(col.iter().count(), BASE_ROWS + 10);
        // a base that is not a whole number of rows is refused
        let odd = MappedFile::copy_of(&[0u8; 20]).unwrap();
        assert!(AppendRows::<f32>::with_base(4, odd).is_err());
    }

    #[test]
    fn a_file_maps_read_only_and_short_files_are_refused() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows");
        let mut f = File::create(&path).unwrap();
        f.write_all(&[7u8; 4096]).unwrap();
        let rows: Vec<f32> = (0..8).map(|x| x as f32).collect();
        f.write_all(bytemuck::cast_slice(&rows)).unwrap();
        drop(f);
        let f = File::open(&path).unwrap();
        for populate in [false, true] {
            let map = MappedFile::map(&f, &path, 4096, 32, populate).unwrap();
            assert_eq!(map.is_file_backed(), !populate);
            let col = AppendRows::<f32>::with_base(2, map).unwrap();
            assert_eq!(col.get(PointOffset(3)), Some(&[6.0, 7.0][..]));
        }
        let err = MappedFile::map(&f, &path, 4096, 36, false).unwrap_err();
        assert!(matches!(err, StorageError::Corrupted { .. }), "{err}");
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
    fn an_empty_base_is_an_empty_column() {
        let col = AppendRows::<f32>::with_base(4, MappedFile::copy_of(&[]).unwrap()).unwrap();
        assert_eq!((col.len(), col.base_rows()), (0, 0));
        col.push(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(col.len(), 1);
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
