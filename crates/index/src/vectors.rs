//! Dense vectors of one dimension, stored flat and contiguous.

use std::borrow::Cow;

use rayon::prelude::*;
use vicinity_storage::{AppendRows, AppendRuns, PointOffset};

use crate::distance::{Bf16, Element};
use crate::{Datatype, Distance, IndexError, kernels};

/// Checks a vector against a dimension and for finite components.
pub fn validate_vector(vector: &[f32], dim: usize) -> Result<(), IndexError> {
    if vector.len() != dim {
        return Err(IndexError::Dimension {
            expected: dim,
            got: vector.len(),
        });
    }
    if let Some((position, &value)) = vector.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(IndexError::NotFinite { position, value });
    }
    Ok(())
}

/// Vectors of one dimension and distance, one write-once row per
/// [`PointOffset`], preprocessed for their distance when stored.
///
/// A store holds one vector per row, or, for a multivector space, a matrix
/// per row (see [`multi`](crate::multi): a header and the vectors, in one
/// contiguous run; compared by [`MaxSim`](crate::MaxSim)).
///
/// Values are held as the store's [`Datatype`]: a row is a run of 32-bit
/// words (see [`datatype`](crate::datatype)), which only the store's
/// metric reads as values; [`decode`](Self::decode) gives them back as
/// `f32`s.
///
/// Readers get `&[f32]` rows straight from the column, with no lock and no
/// copy, while a writer appends.
#[derive(Debug)]
pub struct VectorStore {
    dim: usize,
    distance: Distance,
    datatype: Datatype,
    rows: Column,
}

/// Where a store's rows are: fixed-width rows, or variable-length runs.
// One per store, so its size does not matter; boxing a variant would put a
// pointer chase on every row read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Column {
    Fixed(AppendRows<f32>),
    Runs(AppendRuns<f32>),
}

impl VectorStore {
    /// An empty store of `float32` vectors.
    pub fn new(dim: usize, distance: Distance) -> Result<Self, IndexError> {
        Self::create(dim, distance, Datatype::Float32, false)
    }

    /// An empty multivector store of `float32` vectors: each row a matrix
    /// of vectors of `dim`.
    pub fn new_multi(dim: usize, distance: Distance) -> Result<Self, IndexError> {
        Self::create(dim, distance, Datatype::Float32, true)
    }

    /// An empty store of `datatype` values; with `multi`, each row a
    /// matrix of vectors of `dim`.
    pub fn create(
        dim: usize,
        distance: Distance,
        datatype: Datatype,
        multi: bool,
    ) -> Result<Self, IndexError> {
        check_dim(dim)?;
        let rows = if multi {
            Column::Runs(AppendRuns::new()?)
        } else {
            Column::Fixed(AppendRows::new(datatype.words(dim))?)
        };
        Ok(VectorStore {
            dim,
            distance,
            datatype,
            rows,
        })
    }

    /// The dimension (of each vector of a multivector).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The distance vectors are compared with.
    pub fn distance(&self) -> Distance {
        self.distance
    }

    /// How each value is held.
    #[inline]
    pub fn datatype(&self) -> Datatype {
        self.datatype
    }

    /// The 32-bit words one vector takes (its dimension for `float32`).
    #[inline]
    pub fn words(&self) -> usize {
        self.datatype.words(self.dim)
    }

    /// Whether each row is a multivector, compared by MaxSim.
    #[inline]
    pub fn is_multi(&self) -> bool {
        matches!(self.rows, Column::Runs(_))
    }

    /// Rows stored.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.rows {
            Column::Fixed(r) => r.len(),
            Column::Runs(r) => r.len(),
        }
    }

    /// Whether no row is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A `float32` store whose first rows are read in place from `base`
    /// (see [`open`](Self::open)).
    pub fn with_base(
        dim: usize,
        distance: Distance,
        base: vicinity_storage::MappedFile,
    ) -> Result<Self, IndexError> {
        Self::open(dim, distance, Datatype::Float32, false, base)
    }

    /// A `float32` multivector store whose first rows are read in place
    /// from `base` (see [`open`](Self::open)).
    pub fn with_multi_base(
        dim: usize,
        distance: Distance,
        base: vicinity_storage::MappedFile,
    ) -> Result<Self, IndexError> {
        Self::open(dim, distance, Datatype::Float32, true, base)
    }

    /// A store whose first rows are read in place from `base`: stored rows
    /// back to back, as a checkpoint wrote them (already encoded); new
    /// rows go after them. Multivector rows (each a header and its
    /// vectors) are found by their headers, and each is checked to fit the
    /// dimension.
    pub fn open(
        dim: usize,
        distance: Distance,
        datatype: Datatype,
        multi: bool,
        base: vicinity_storage::MappedFile,
    ) -> Result<Self, IndexError> {
        check_dim(dim)?;
        let words = datatype.words(dim);
        if !multi {
            return Ok(VectorStore {
                dim,
                distance,
                datatype,
                rows: Column::Fixed(AppendRows::with_base(words, base)?),
            });
        }
        let values: &[f32] = bytemuck::try_cast_slice(base.as_bytes())
            .map_err(|e| IndexError::Corrupted(format!("multivector rows: {e}")))?;
        let mut lengths = Vec::new();
        let mut at = 0usize;
        while at < values.len() {
            let n = crate::multi::count(&values[at..]);
            let len = n
                .checked_mul(words)
                .and_then(|x| x.checked_add(1))
                .filter(|&len| len <= values.len() - at)
                .ok_or_else(|| {
                    IndexError::Corrupted(format!(
                        "a multivector row of {n} vectors runs past the end of its file"
                    ))
                })?;
            lengths.push(len as u64);
            at += len;
        }
        Ok(VectorStore {
            dim,
            distance,
            datatype,
            rows: Column::Runs(AppendRuns::with_base(base, &lengths)?),
        })
    }

    /// Rows read in place from the base the store was opened with.
    pub fn base_rows(&self) -> usize {
        match &self.rows {
            Column::Fixed(r) => r.base_rows(),
            Column::Runs(r) => r.base_runs(),
        }
    }

    /// Bytes of the base mapping, and whether the OS pages them from a
    /// file (`on_disk`) rather than holding them in memory.
    pub fn base_bytes(&self) -> (usize, bool) {
        match &self.rows {
            Column::Fixed(r) => r.base_bytes(),
            Column::Runs(r) => r.base_bytes(),
        }
    }

    fn append(&self, row: &[f32]) -> Result<PointOffset, IndexError> {
        Ok(match &self.rows {
            Column::Fixed(r) => r.push(row)?,
            Column::Runs(r) => r.push(row)?,
        })
    }

    /// Validates, preprocesses and appends a vector (of a single-vector
    /// store; see [`push_multi`](Self::push_multi)).
    pub fn push(&self, vector: &[f32]) -> Result<PointOffset, IndexError> {
        self.append(&self.prepare_query(vector)?)
    }

    /// Validates, preprocesses and appends a matrix (of a multivector
    /// store; a single-vector store takes a matrix of one vector).
    pub fn push_multi<'a>(
        &self,
        matrix: impl ExactSizeIterator<Item = &'a [f32]> + Clone,
    ) -> Result<PointOffset, IndexError> {
        self.append(&self.prepare_multi_query(matrix)?)
    }

    /// Appends a row that is already prepared for this store (a copy of a
    /// stored row), unchanged, after [`check_row`](Self::check_row). Preprocessing is not idempotent
    /// in `f32` (normalising a unit vector again can move its last bits),
    /// so copies must not go through [`push`](Self::push).
    pub fn push_preprocessed(&self, vector: &[f32]) -> Result<PointOffset, IndexError> {
        self.check_row(vector)?;
        self.append(vector)
    }

    /// Checks a row as it is stored (a copy of a stored row, or one read
    /// back from a file): its shape, and finite values.
    pub fn check_row(&self, row: &[f32]) -> Result<(), IndexError> {
        if !self.is_multi() {
            return self.datatype.check(row, self.dim);
        }
        crate::multi::check_row(row, self.words())?;
        crate::multi::vectors(row).try_for_each(|v| self.datatype.check(v, self.dim))
    }

    /// Appends a row of zeros (a multivector of no vectors): the
    /// placeholder of a point that has no vector of this name, so that
    /// every store of a segment shares its offsets.
    pub fn push_absent(&self) -> Result<PointOffset, IndexError> {
        match &self.rows {
            Column::Fixed(r) => Ok(r.push(&vec![0.0; self.words()])?),
            Column::Runs(r) => Ok(r.push(&crate::multi::absent())?),
        }
    }

    /// Makes room for `additional` more rows, so that the next pushes of
    /// valid vectors cannot fail (multivector stores grow as rows come).
    ///
    /// The pages of a large reservation are faulted in on every thread of
    /// the current rayon pool: zeroing fresh memory was a tenth of a
    /// 100k x 384 build (the renumbering copy) on one thread of two.
    pub fn reserve(&self, additional: usize) -> Result<(), IndexError> {
        let Column::Fixed(rows) = &self.rows else {
            return Ok(());
        };
        rows.reserve(additional)?;
        const SPREAD_FROM: usize = 8 << 20;
        let parts = rayon::current_num_threads();
        if parts > 1 && additional * self.words() * 4 >= SPREAD_FROM {
            (0..parts)
                .into_par_iter()
                .for_each(|p| rows.populate(additional, parts, p));
        }
        Ok(())
    }

    /// The stored row at `offset`: the preprocessed vector of a `float32`
    /// store, the words that encode it for the other datatypes (its values
    /// are [`decode`](Self::decode)d from them); for a multivector store,
    /// a header and the vectors (see [`multi`](crate::multi)).
    #[inline]
    pub fn get(&self, offset: PointOffset) -> Option<&[f32]> {
        match &self.rows {
            Column::Fixed(r) => r.get(offset),
            Column::Runs(r) => r.get(offset),
        }
    }

    /// Hints the CPU to load every cache line of the row at `offset`.
    #[inline]
    pub fn prefetch_row(&self, offset: PointOffset) {
        match &self.rows {
            Column::Fixed(r) => r.prefetch_row(offset),
            Column::Runs(r) => r.prefetch_row(offset),
        }
    }

    /// How many rows ahead a scan over scattered rows should prefetch
    /// whole, when `sharers` threads scan at once: about 96 cache lines in
    /// flight in all, 2 to 16 rows per thread (multivector rows count as
    /// eight vectors).
    #[inline]
    pub fn prefetch_depth(&self, sharers: usize) -> usize {
        let per_row = if self.is_multi() { 8 } else { 1 };
        rows_ahead(self.words() * 4 * per_row, sharers)
    }

    /// Calls `f` with each of the rows `id(0), ..., id(n - 1)` the store
    /// has, in order, keeping the next `depth` rows loading (see
    /// [`prefetch_depth`](Self::prefetch_depth)) while `f` scores one: rows
    /// scattered over memory are then waited for together rather than one
    /// after another.
    #[inline]
    pub fn for_each_row(
        &self,
        depth: usize,
        n: usize,
        id: impl Fn(usize) -> u32,
        f: impl FnMut(PointOffset, &[f32]),
    ) {
        visit_prefetched(depth, n, id, |o| self.prefetch_row(o), |o| self.get(o), f)
    }

    /// Validates and prepares a vector (a query, or a row to store) for
    /// this store: preprocessed for the distance and encoded as the
    /// store's [`Datatype`]. For a multivector store, a single vector is a
    /// matrix of one (as Qdrant reads a dense vector on a multivector).
    pub fn prepare_query(&self, query: &[f32]) -> Result<Vec<f32>, IndexError> {
        if self.is_multi() {
            return self.prepare_multi_query(std::iter::once(query));
        }
        validate_vector(query, self.dim)?;
        let mut q = Vec::with_capacity(self.words());
        self.datatype.prepare(self.distance, query, &mut q);
        Ok(q)
    }

    /// Validates and encodes a matrix (a query, or a row to store) for this
    /// store (see [`multi::encode`](crate::multi::encode)); a single-vector
    /// store takes a matrix of one vector.
    pub fn prepare_multi_query<'a>(
        &self,
        matrix: impl ExactSizeIterator<Item = &'a [f32]> + Clone,
    ) -> Result<Vec<f32>, IndexError> {
        if self.is_multi() {
            return crate::multi::encode(matrix, self.dim, self.distance, self.datatype);
        }
        let mut matrix = matrix;
        match (matrix.len(), matrix.next()) {
            (1, Some(v)) => self.prepare_query(v),
            _ => Err(IndexError::Multivector(
                "a multivector needs a vector name configured with multivector_config".into(),
            )),
        }
    }

    /// The values a stored or prepared row holds, as `f32`s (borrowed for
    /// a `float32` store): the vector as a client reads it back, or, for a
    /// multivector store, a row of the same layout (header and vectors)
    /// in `f32`s.
    pub fn decode<'r>(&self, row: &'r [f32]) -> Cow<'r, [f32]> {
        if self.datatype == Datatype::Float32 {
            return Cow::Borrowed(row);
        }
        if !self.is_multi() {
            let mut out = Vec::with_capacity(self.dim);
            self.datatype.decode(row, self.dim, &mut out);
            return Cow::Owned(out);
        }
        let n = crate::multi::count(row);
        let mut out = crate::multi::with_header(n, &[]);
        out.reserve(n * self.dim);
        for v in crate::multi::vectors(row) {
            self.datatype.decode(v, self.dim, &mut out);
        }
        Cow::Owned(out)
    }

    /// The values quantization codes are made from for a stored or
    /// prepared (single-vector) row, as Qdrant takes them: the decoded
    /// values; for `uint8`, preprocessed for the distance (Cosine
    /// normalised) for scalar codes, and centred on 127 (`x - 127`) for
    /// `binary` ones, whose bits are signs.
    pub fn code_values<'r>(&self, row: &'r [f32], binary: bool) -> Cow<'r, [f32]> {
        let mut values = self.decode(row);
        if self.datatype == Datatype::Uint8 {
            let v = values.to_mut();
            if binary {
                v.iter_mut().for_each(|x| *x -= 127.0);
            } else {
                self.distance.preprocess(v);
            }
        }
        values
    }

    /// The similarity of two stored or prepared rows: the distance's, or
    /// MaxSim for a multivector store.
    #[inline]
    pub fn similarity(&self, a: &[f32], b: &[f32]) -> f32 {
        crate::with_store_metric!(self, M => <M as crate::Metric>::similarity(a, b))
    }

    /// Bytes of anonymous memory reserved for the vectors appended since
    /// the store was opened (the base is counted by
    /// [`base_bytes`](Self::base_bytes)).
    pub fn reserved_bytes(&self) -> usize {
        match &self.rows {
            Column::Fixed(r) => r.reserved_bytes(),
            Column::Runs(r) => r.reserved_bytes(),
        }
    }
}

fn check_dim(dim: usize) -> Result<(), IndexError> {
    if dim == 0 {
        return Err(IndexError::Dimension {
            expected: 1,
            got: 0,
        });
    }
    Ok(())
}

/// How many rows of `row_bytes` each a scan over scattered rows should
/// keep loading ahead of the one it scores, when `sharers` threads scan
/// at once: about 96 cache lines in flight in all (to the nearest row),
/// at least 2 rows and at most 16 per thread. Far more than the core's
/// line-fill buffers, so that the next rows are on their way while the
/// walk decides; too many and the prefetches themselves stall. Measured
/// on this project's 2-core Intel VM (m 16, four interleaved rounds each):
/// against 128 lines, one search thread on 128-d rows (12 ahead instead of
/// 16) ran 2.8% faster, 24 ahead lost 5%, 8 ahead gained 1.7% more on
/// 128-d but lost about as much on 384-d rows (3 ahead against 4); the
/// 2-thread build of gauss-128-l2 over its bfloat16 copy ran 2.6% faster
/// (10 rows ahead against 13), and 384-d searches (4 ahead against 5) and
/// builds (4 against 5) held. The earlier machine, an AMD EPYC, ran best
/// at 3-5 ahead on 384-d and 16-24 on 128-d.
/// Calls `f` with rows `id(0), ..., id(n - 1)` that `get` holds, in
/// order, asking `prefetch` for each row `depth` places ahead: the loop of
/// every [`Rows::for_each_row`].
#[inline]
pub(crate) fn visit_prefetched<'a, T: 'a>(
    depth: usize,
    n: usize,
    id: impl Fn(usize) -> u32,
    prefetch: impl Fn(PointOffset),
    get: impl Fn(PointOffset) -> Option<&'a [T]>,
    mut f: impl FnMut(PointOffset, &[T]),
) {
    for j in 0..n.min(depth) {
        prefetch(PointOffset(id(j)));
    }
    for j in 0..n {
        if j + depth < n {
            prefetch(PointOffset(id(j + depth)));
        }
        let offset = PointOffset(id(j));
        if let Some(v) = get(offset) {
            f(offset, v);
        }
    }
}

/// Test rows: `n` rows of `dim` values near `centres` random centres
/// (values in ±1, each row within `spread` of its centre per value).
#[cfg(test)]
pub(crate) fn clustered_store(
    n: usize,
    dim: usize,
    distance: Distance,
    seed: u64,
    centres: usize,
    spread: f32,
) -> VectorStore {
    let s = VectorStore::new(dim, distance).unwrap();
    let mut state = seed;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 20_001) as f32 / 10_000.0 - 1.0
    };
    let centres: Vec<Vec<f32>> = (0..centres)
        .map(|_| (0..dim).map(|_| next()).collect())
        .collect();
    for i in 0..n {
        let c = &centres[i % centres.len()];
        let v: Vec<f32> = c.iter().map(|x| x + spread * next()).collect();
        s.push(&v).unwrap();
    }
    s
}

/// Appends to `rows` rows `rows.len()..to` of `store` (all of them if `to`
/// is past its end), each made by `encode` from the stored vector's
/// [`code_values`](VectorStore::code_values) (for `binary` codes or not)
/// into a buffer of `width` elements: the loop of [`Bf16Rows`],
/// [`I8Rows`](crate::I8Rows) and [`BinaryRows`](crate::BinaryRows).
pub(crate) fn encode_rows<T: bytemuck::Pod>(
    rows: &AppendRows<T>,
    store: &VectorStore,
    to: usize,
    width: usize,
    binary: bool,
    mut encode: impl FnMut(&[f32], &mut Vec<T>),
) -> Result<(), IndexError> {
    let to = to.min(store.len());
    let from = rows.len();
    if to <= from {
        return Ok(());
    }
    rows.reserve(to - from)?;
    let mut row: Vec<T> = Vec::with_capacity(width);
    for r in from..to {
        let v = store
            .get(PointOffset(r as u32))
            .expect("rows below the store's length are there");
        row.clear();
        encode(&store.code_values(v, binary), &mut row);
        rows.push(&row)?;
    }
    Ok(())
}

pub(crate) fn rows_ahead(row_bytes: usize, sharers: usize) -> usize {
    let lines = row_bytes.div_ceil(64) * sharers.max(1);
    ((96 + lines / 2) / lines).clamp(2, 16)
}

/// Rows a graph is built or walked over: the stored `f32` vectors, or a
/// `bfloat16` copy of them ([`Bf16Rows`]) that halves the bytes each
/// distance computation reads.
pub trait Rows: Sync {
    /// The element type of a row.
    type E: Element;

    /// The distance rows are compared with.
    fn distance(&self) -> Distance;

    /// Whether rows are multivectors, compared by [`MaxSim`](crate::MaxSim)
    /// over the distance.
    fn is_multi(&self) -> bool {
        false
    }

    /// How the rows hold their values (see [`datatype`](crate::datatype));
    /// copies and codes are made from `float32` values.
    fn datatype(&self) -> Datatype {
        Datatype::Float32
    }

    /// Row `offset`, if it is there.
    fn row(&self, offset: PointOffset) -> Option<&[Self::E]>;

    /// How many rows ahead a scan over scattered rows should keep loading
    /// when `sharers` threads scan at once (see
    /// [`VectorStore::prefetch_depth`]).
    fn prefetch_depth(&self, sharers: usize) -> usize;

    /// Calls `f` with rows `id(0), ..., id(n - 1)` in order, keeping the
    /// next `depth` loading (see [`VectorStore::for_each_row`]).
    fn for_each_row(
        &self,
        depth: usize,
        n: usize,
        id: impl Fn(usize) -> u32,
        f: impl FnMut(PointOffset, &[Self::E]),
    );
}

impl Rows for VectorStore {
    type E = f32;

    #[inline]
    fn distance(&self) -> Distance {
        self.distance
    }

    #[inline]
    fn is_multi(&self) -> bool {
        VectorStore::is_multi(self)
    }

    #[inline]
    fn datatype(&self) -> Datatype {
        self.datatype
    }

    #[inline]
    fn row(&self, offset: PointOffset) -> Option<&[f32]> {
        self.get(offset)
    }

    #[inline]
    fn prefetch_depth(&self, sharers: usize) -> usize {
        VectorStore::prefetch_depth(self, sharers)
    }

    #[inline]
    fn for_each_row(
        &self,
        depth: usize,
        n: usize,
        id: impl Fn(usize) -> u32,
        f: impl FnMut(PointOffset, &[f32]),
    ) {
        VectorStore::for_each_row(self, depth, n, id, f)
    }
}

/// A `bfloat16` copy of a store's first rows, for building its graph.
///
/// Building a graph is a walk per inserted row, and a walk waits on memory
/// for every row it scores (about 650 rows per insert at `ef_construct`
/// 100): half the bytes per row is close to half the wait. `bfloat16`
/// keeps `f32`'s range (no scale to choose, no overflow) and 8 bits of
/// mantissa; summed over a row in `f32`, the similarity moves by about
/// `2^-9 / sqrt(dim)` of the vectors' norms, far below the gaps that
/// decide which neighbours a node keeps. Searches never read it: they
/// score the `f32` rows. Euclid rows carry two more elements, the `f32`
/// bits of the row's squared norm, so that a distance is one `bfloat16`
/// dot product (`|a|² + |b|² - 2 a·b`, see
/// [`kernels::l2sq_bf16_normed`]).
#[derive(Debug)]
pub struct Bf16Rows {
    dim: usize,
    distance: Distance,
    rows: AppendRows<Bf16>,
}

impl Bf16Rows {
    /// An empty copy for rows of `store`.
    pub fn new(store: &VectorStore) -> Result<Self, IndexError> {
        if store.is_multi() {
            return Err(IndexError::NotForMultivectors(
                "a bfloat16 construction copy",
            ));
        }
        if !Self::suits_datatype(store.datatype()) {
            return Err(IndexError::Quantization(format!(
                "a bfloat16 construction copy is made of float32 rows, not {:?}",
                store.datatype()
            )));
        }
        let width = store.dim() + Self::tail(store.distance());
        Ok(Bf16Rows {
            dim: store.dim(),
            distance: store.distance(),
            rows: AppendRows::new(width)?,
        })
    }

    /// Elements after a row's own: its squared norm, for Euclid.
    fn tail(distance: Distance) -> usize {
        if distance == Distance::Euclid { 2 } else { 0 }
    }

    /// Whether a copy stands in for `distance`'s `f32` rows while a graph
    /// is built: Cosine, Dot and Euclid, whose similarities come from a
    /// `bfloat16` dot product (simsimd, products summed in `f32`), exact on
    /// the rounded values. Manhattan has no kernel that fast and builds
    /// over the `f32` rows.
    pub fn suits(distance: Distance) -> bool {
        matches!(
            distance,
            Distance::Cosine | Distance::Dot | Distance::Euclid
        )
    }

    /// Whether a copy stands in for rows of `datatype`: `float32` only
    /// (`float16` and `uint8` rows are as small or smaller already).
    pub fn suits_datatype(datatype: Datatype) -> bool {
        datatype == Datatype::Float32
    }

    /// Rows copied.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is copied.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Copies rows `len()..to` of `store` (all of them if `to` is past its
    /// end).
    pub fn extend_to(&self, store: &VectorStore, to: usize) -> Result<(), IndexError> {
        let tail = Self::tail(self.distance);
        let mut bits: Vec<u16> = Vec::with_capacity(self.dim + tail);
        encode_rows(&self.rows, store, to, self.dim + tail, false, |v, row| {
            bits.clear();
            bits.extend(v.iter().map(|&x| kernels::to_bf16(x)));
            if tail > 0 {
                kernels::push_norm_tail(&mut bits);
            }
            row.extend_from_slice(bytemuck::cast_slice(&bits));
        })
    }

    /// Bytes of memory the copy holds.
    pub fn reserved_bytes(&self) -> usize {
        self.rows.reserved_bytes()
    }
}

impl Rows for Bf16Rows {
    type E = Bf16;

    #[inline]
    fn distance(&self) -> Distance {
        self.distance
    }

    #[inline]
    fn row(&self, offset: PointOffset) -> Option<&[Bf16]> {
        self.rows.get(offset)
    }

    #[inline]
    fn prefetch_depth(&self, sharers: usize) -> usize {
        rows_ahead((self.dim + Self::tail(self.distance)) * 2, sharers)
    }

    #[inline]
    fn for_each_row(
        &self,
        depth: usize,
        n: usize,
        id: impl Fn(usize) -> u32,
        f: impl FnMut(PointOffset, &[Bf16]),
    ) {
        let rows = &self.rows;
        visit_prefetched(depth, n, id, |o| rows.prefetch_row(o), |o| rows.get(o), f)
    }
}
