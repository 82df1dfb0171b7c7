//! The dataset layouts `bench run` reads, detected from the path:
//!
//! - a folder with `meta.json`: the `vbench-1` layout of `shared/bench`
//!   (base, queries, top-100 ground truth, payloads, named filters);
//! - `.hdf5` / `.h5`: ann-benchmarks (`train`, `test`, `neighbors`,
//!   `distances`, root attribute `distance`);
//! - `.fvecs` / `.bvecs`: the texmex layout (each row `i32 dim`, then `dim`
//!   values), with queries from `--queries` and ground truth from
//!   `--ground-truth` (`.ivecs`);
//! - `.npy`: a 2-D numpy array (`<f4`, `<f8`, `|u1`), queries from
//!   `--queries` (`.npy`), ground truth from `--ground-truth` (`.npy` of
//!   integers or `.ivecs`).
//!
//! Everything is read into memory as row-major `f32`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use vicinity::{Distance, FieldType, Payload};

/// Where a dataset comes from, and what the command line adds to it.
#[derive(Clone, Debug, Default)]
pub struct DatasetSource {
    /// The dataset: a vbench-1 folder or a base-vector file.
    pub path: PathBuf,
    /// Query vectors, for layouts that keep them apart (`.fvecs`, `.npy`).
    pub queries: Option<PathBuf>,
    /// Ground-truth neighbour ids (`.ivecs` or integer `.npy`).
    pub ground_truth: Option<PathBuf>,
    /// Overrides the distance the dataset declares.
    pub distance: Option<Distance>,
    /// Reads only the first N base vectors (texmex files and HDF5 read no
    /// further than that; the others are cut after reading).
    pub max_base: Option<usize>,
}

/// A filter the dataset names (vbench-1 `meta.json`).
#[derive(Clone, Debug)]
pub struct NamedFilter {
    /// Its name (`sel10`, ...).
    pub name: String,
    /// Qdrant's REST JSON form.
    pub filter: serde_json::Value,
    /// The share of points passing, if the dataset says.
    pub selectivity: Option<f64>,
    /// Exact neighbour ids among passing points, best first, if given.
    pub ground_truth: Option<Vec<Vec<u32>>>,
}

/// A dataset in memory.
#[derive(Debug)]
pub struct Dataset {
    /// A short name (folder or file stem).
    pub name: String,
    /// The layout it was read from: `vbench-1`, `ann-benchmarks-hdf5`,
    /// `fvecs`, `bvecs` or `npy`.
    pub format: &'static str,
    /// How vectors compare.
    pub distance: Distance,
    /// Dimensions.
    pub dim: usize,
    /// Base vectors, row-major, `n_base * dim`.
    pub base: Vec<f32>,
    /// Query vectors, row-major, `n_query * dim`.
    pub queries: Vec<f32>,
    /// Exact neighbour ids per query, best first, when the dataset has them.
    pub ground_truth: Option<Vec<Vec<u32>>>,
    /// One payload per base vector, when the dataset has them.
    pub payloads: Option<Vec<Payload>>,
    /// Keys to index and their types (vbench-1 `payload_schema`).
    pub payload_schema: Vec<(String, FieldType)>,
    /// Filters the dataset names.
    pub filters: Vec<NamedFilter>,
}

impl Dataset {
    /// Base vectors.
    pub fn n_base(&self) -> usize {
        self.base.len() / self.dim
    }

    /// Query vectors.
    pub fn n_query(&self) -> usize {
        self.queries.len() / self.dim
    }

    /// Base vector `i`.
    pub fn base_row(&self, i: usize) -> &[f32] {
        &self.base[i * self.dim..(i + 1) * self.dim]
    }

    /// Query `i`.
    pub fn query(&self, i: usize) -> &[f32] {
        &self.queries[i * self.dim..(i + 1) * self.dim]
    }

    /// Keeps only the first `n` base vectors (and their payloads).
    fn truncate_base(&mut self, n: usize) {
        if n < self.n_base() {
            self.base.truncate(n * self.dim);
            if let Some(p) = self.payloads.as_mut() {
                p.truncate(n);
            }
        }
    }

    /// Keeps only the first `n` queries (and their ground truth).
    pub fn truncate_queries(&mut self, n: usize) {
        if n < self.n_query() {
            self.queries.truncate(n * self.dim);
            if let Some(gt) = self.ground_truth.as_mut() {
                gt.truncate(n);
            }
            for f in &mut self.filters {
                if let Some(gt) = f.ground_truth.as_mut() {
                    gt.truncate(n);
                }
            }
        }
    }

    /// Reads the dataset `src` points at, detecting its layout.
    pub fn load(src: &DatasetSource) -> Result<Dataset> {
        let path = &src.path;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let mut ds = if path.is_dir() {
            ensure!(
                path.join("meta.json").exists(),
                "{}: a folder without meta.json is no vbench-1 dataset",
                path.display()
            );
            read_vbench(path, src.distance)?
        } else {
            match ext.as_str() {
                "hdf5" | "h5" => read_hdf5(path, src.distance, src.max_base)?,
                "fvecs" | "bvecs" | "npy" => read_separate(src, &ext)?,
                _ => bail!(
                    "{}: unknown dataset layout (a vbench-1 folder, .hdf5, .fvecs, .bvecs or .npy)",
                    path.display()
                ),
            }
        };
        if let Some(gt) = &src.ground_truth {
            ensure!(
                !path.is_dir() && !matches!(ext.as_str(), "hdf5" | "h5"),
                "--ground-truth is for .fvecs/.bvecs/.npy datasets; this one carries its own"
            );
            ds.ground_truth = Some(read_ids(gt)?);
        }
        if let Some(n) = src.max_base {
            ensure!(n > 0, "--max-base must be positive");
            ds.truncate_base(n);
            // Stored neighbours refer to all the base vectors.
            ds.ground_truth = None;
            for f in &mut ds.filters {
                f.ground_truth = None;
                f.selectivity = None;
            }
        }
        ds.check()?;
        Ok(ds)
    }

    fn check(&self) -> Result<()> {
        ensure!(self.dim > 0, "{}: zero dimensions", self.name);
        ensure!(
            self.base.len().is_multiple_of(self.dim) && self.queries.len().is_multiple_of(self.dim),
            "{}: vectors are not whole rows of {} dimensions",
            self.name,
            self.dim
        );
        ensure!(self.n_base() > 0, "{}: no base vectors", self.name);
        ensure!(self.n_query() > 0, "{}: no queries", self.name);
        if let Some(gt) = &self.ground_truth {
            ensure!(
                gt.len() == self.n_query(),
                "{}: ground truth for {} queries, {} queries",
                self.name,
                gt.len(),
                self.n_query()
            );
            let n = self.n_base() as u32;
            ensure!(
                gt.iter().flatten().all(|&id| id < n),
                "{}: a ground-truth id is not a base row",
                self.name
            );
        }
        if let Some(p) = &self.payloads {
            ensure!(
                p.len() == self.n_base(),
                "{}: {} payloads for {} vectors",
                self.name,
                p.len(),
                self.n_base()
            );
        }
        Ok(())
    }
}

/// A distance by any of the names datasets use: `cos`, `cosine`,
/// `angular`; `l2`, `euclid`, `euclidean`; `ip`, `dot`; `l1`, `manhattan`.
pub fn parse_distance(name: &str) -> Result<Distance> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "cos" | "cosine" | "angular" => Distance::Cosine,
        "l2" | "euclid" | "euclidean" => Distance::Euclid,
        "ip" | "dot" | "inner_product" | "inner-product" => Distance::Dot,
        "l1" | "manhattan" => Distance::Manhattan,
        other => bail!("unknown distance {other:?} (cosine, euclid, dot, manhattan)"),
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .or_else(|| path.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A vbench-1 matrix: `u32 rows, u32 cols`, then row-major 4-byte values.
/// Returns the whole file; the values start at byte 8.
fn read_bin(path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let bytes = read(path)?;
    ensure!(
        bytes.len() >= 8,
        "{}: shorter than its 8-byte header",
        path.display()
    );
    let rows = le_u32(&bytes, 0) as usize;
    let cols = le_u32(&bytes, 4) as usize;
    let want = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(4))
        .and_then(|n| n.checked_add(8));
    ensure!(
        want == Some(bytes.len()),
        "{}: {} bytes, the header says {rows} x {cols} x 4 + 8",
        path.display(),
        bytes.len()
    );
    Ok((rows, cols, bytes))
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Rows of ids, dropping negative pads (`-1`).
fn id_rows(ids: &[i32], cols: usize) -> Vec<Vec<u32>> {
    if cols == 0 {
        return Vec::new();
    }
    ids.chunks_exact(cols)
        .map(|r| r.iter().filter(|&&x| x >= 0).map(|&x| x as u32).collect())
        .collect()
}

fn read_vbench(dir: &Path, distance: Option<Distance>) -> Result<Dataset> {
    let meta: serde_json::Value = serde_json::from_slice(&read(&dir.join("meta.json"))?)
        .with_context(|| format!("parsing {}", dir.join("meta.json").display()))?;
    let distance = match distance {
        Some(d) => d,
        None => parse_distance(meta["metric"].as_str().unwrap_or_default())
            .context("meta.json: metric")?,
    };
    let (n, dim, base) = read_bin(&dir.join("base.fbin"))?;
    let (nq, qdim, queries) = read_bin(&dir.join("query.fbin"))?;
    ensure!(
        dim == qdim,
        "{}: base has {dim} dimensions, queries {qdim}",
        dir.display()
    );
    let ground_truth = if dir.join("gt.ibin").exists() {
        let (gq, gk, ids) = read_bin(&dir.join("gt.ibin"))?;
        ensure!(gq == nq, "gt.ibin: {gq} rows for {nq} queries");
        Some(id_rows(&i32s(&ids[8..]), gk))
    } else {
        None
    };
    let payloads = read_payloads(&dir.join("payload.jsonl"), n)?;
    let mut payload_schema = Vec::new();
    for (key, t) in meta["payload_schema"].as_object().into_iter().flatten() {
        let t: FieldType = serde_json::from_value(t.clone())
            .with_context(|| format!("meta.json: payload_schema type of {key:?}"))?;
        payload_schema.push((key.clone(), t));
    }
    let mut filters = Vec::new();
    for f in meta["filters"].as_array().into_iter().flatten() {
        let name = f["name"]
            .as_str()
            .context("meta.json: a filter without a name")?
            .to_string();
        let gt_path = dir.join(format!("filter_{name}.gt.ibin"));
        let ground_truth = if gt_path.exists() {
            let (gq, gk, ids) = read_bin(&gt_path)?;
            ensure!(
                gq == nq,
                "{}: {gq} rows for {nq} queries",
                gt_path.display()
            );
            Some(id_rows(&i32s(&ids[8..]), gk))
        } else {
            None
        };
        filters.push(NamedFilter {
            name,
            filter: f["filter"].clone(),
            selectivity: f["selectivity"].as_f64(),
            ground_truth,
        });
    }
    Ok(Dataset {
        name: meta["name"]
            .as_str()
            .map_or_else(|| stem(dir), str::to_string),
        format: "vbench-1",
        distance,
        dim,
        base: f32s(&base[8..]),
        queries: f32s(&queries[8..]),
        ground_truth,
        payloads,
        payload_schema,
        filters,
    })
}

fn read_payloads(path: &Path, n: usize) -> Result<Option<Vec<Payload>>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let payloads: Vec<Payload> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", path.display()))?;
    ensure!(
        payloads.len() == n,
        "{}: {} payloads for {n} vectors",
        path.display(),
        payloads.len()
    );
    Ok(Some(payloads))
}

fn hdf5_err(path: &Path) -> impl Fn(hdf5_pure::Error) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{}: {e}", path.display())
}

/// A 2-D HDF5 dataset's `(rows, cols)`.
fn hdf5_shape(path: &Path, d: &hdf5_pure::Dataset, name: &str) -> Result<(usize, usize)> {
    let shape = d.shape().map_err(hdf5_err(path))?;
    match shape[..] {
        [rows, cols] => Ok((rows as usize, cols as usize)),
        _ => bail!(
            "{}: `{name}` has shape {shape:?}, not [rows, dim]",
            path.display()
        ),
    }
}

fn read_hdf5(path: &Path, distance: Option<Distance>, max_base: Option<usize>) -> Result<Dataset> {
    let file = hdf5_pure::File::open(path).map_err(hdf5_err(path))?;
    let name = stem(path);
    let distance = match distance {
        Some(d) => d,
        None => {
            let attrs = file.root().attrs().map_err(hdf5_err(path))?;
            let declared = match attrs.get("distance") {
                Some(hdf5_pure::AttrValue::String(s)) => Some(s.clone()),
                Some(hdf5_pure::AttrValue::StringSized { value, .. }) => Some(value.clone()),
                _ => None,
            };
            // ann-benchmarks names end in the metric: glove-100-angular.
            let from_name = name.rsplit('-').next().map(str::to_string);
            let spelled = declared
                .or(from_name)
                .context("no `distance` attribute: pass --distance")?;
            parse_distance(&spelled)
                .with_context(|| format!("{}: pass --distance", path.display()))?
        }
    };
    let f32_matrix = |key: &str, max_rows: Option<usize>| -> Result<(usize, usize, Vec<f32>)> {
        let d = file
            .dataset(key)
            .map_err(|e| anyhow::anyhow!("{}: no `{key}` dataset: {e}", path.display()))?;
        let (rows, cols) = hdf5_shape(path, &d, key)?;
        let data = match max_rows {
            Some(n) if n < rows => {
                let data = d.read_f32_rows(0, n as u64).map_err(hdf5_err(path))?;
                ensure!(
                    data.len() == n * cols,
                    "{}: the first {n} rows of `{key}` hold {} values",
                    path.display(),
                    data.len()
                );
                return Ok((n, cols, data));
            }
            _ => d.read_f32().map_err(hdf5_err(path))?,
        };
        ensure!(
            data.len() == rows * cols,
            "{}: `{key}` holds {} values, its shape says {rows} x {cols}",
            path.display(),
            data.len()
        );
        Ok((rows, cols, data))
    };
    let (_, dim, base) = f32_matrix("train", max_base)?;
    let (nq, qdim, queries) = f32_matrix("test", None)?;
    ensure!(
        dim == qdim,
        "{}: train has {dim} dimensions, test {qdim}",
        path.display()
    );
    let ground_truth = match file.dataset("neighbors") {
        Ok(d) => {
            let (rows, cols) = hdf5_shape(path, &d, "neighbors")?;
            ensure!(
                rows == nq,
                "{}: neighbors for {rows} queries, {nq} queries",
                path.display()
            );
            let ids: Vec<i32> = d
                .read_i64()
                .map_err(hdf5_err(path))?
                .into_iter()
                .map(|x| i32::try_from(x).unwrap_or(-1))
                .collect();
            Some(id_rows(&ids, cols))
        }
        Err(_) => None,
    };
    Ok(Dataset {
        name,
        format: "ann-benchmarks-hdf5",
        distance,
        dim,
        base,
        queries,
        ground_truth,
        payloads: None,
        payload_schema: Vec::new(),
        filters: Vec::new(),
    })
}

/// Base vectors in one file, queries in another (`.fvecs`/`.bvecs`/`.npy`).
fn read_separate(src: &DatasetSource, ext: &str) -> Result<Dataset> {
    let distance = src.distance.with_context(|| {
        format!(
            "{}: .{ext} files do not say how vectors compare: pass --distance",
            src.path.display()
        )
    })?;
    let queries = src.queries.as_ref().with_context(|| {
        format!(
            "{}: .{ext} datasets need --queries FILE",
            src.path.display()
        )
    })?;
    let (dim, base) = read_vectors(&src.path, src.max_base)?;
    let (qdim, queries) = read_vectors(queries, None)?;
    ensure!(
        dim == qdim,
        "base vectors have {dim} dimensions, queries {qdim}"
    );
    Ok(Dataset {
        name: stem(&src.path),
        format: match ext {
            "fvecs" => "fvecs",
            "bvecs" => "bvecs",
            _ => "npy",
        },
        distance,
        dim,
        base,
        queries,
        ground_truth: None,
        payloads: None,
        payload_schema: Vec::new(),
        filters: Vec::new(),
    })
}

/// Vectors from `.fvecs`, `.bvecs` or `.npy`, as `(dim, row-major f32)`.
pub fn read_vectors(path: &Path, max_rows: Option<usize>) -> Result<(usize, Vec<f32>)> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let bytes = match (ext.as_str(), max_rows) {
        ("fvecs", Some(n)) => read_rows(path, 4, n)?,
        ("bvecs", Some(n)) => read_rows(path, 1, n)?,
        _ => read(path)?,
    };
    match ext.as_str() {
        "fvecs" => parse_vecs(&bytes, 4, |c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .with_context(|| path.display().to_string()),
        "bvecs" => {
            parse_vecs(&bytes, 1, |c| f32::from(c[0])).with_context(|| path.display().to_string())
        }
        "npy" => {
            let a = parse_npy(&bytes).with_context(|| path.display().to_string())?;
            let values = match a.values {
                NpyValues::Float(v) => v,
                NpyValues::Int(v) => v.into_iter().map(|x| x as f32).collect(),
            };
            Ok((a.cols, values))
        }
        _ => bail!(
            "{}: vectors are read from .fvecs, .bvecs or .npy",
            path.display()
        ),
    }
}

/// The first `n` rows of a texmex file whose values are `width` bytes:
/// a billion-row `.bvecs` need not be read whole.
fn read_rows(path: &Path, width: usize, n: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut f = fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut head = [0u8; 4];
    f.read_exact(&mut head)
        .with_context(|| format!("{}: no first row", path.display()))?;
    let row = 4 + u32::from_le_bytes(head) as usize * width;
    let want = row.saturating_mul(n);
    let mut bytes = head.to_vec();
    f.take(want.saturating_sub(4) as u64)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

/// Neighbour ids from `.ivecs` or an integer `.npy` (negative pads dropped).
pub fn read_ids(path: &Path) -> Result<Vec<Vec<u32>>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let bytes = read(path)?;
    let (cols, ids): (usize, Vec<i32>) = match ext.as_str() {
        "ivecs" => parse_vecs(&bytes, 4, |c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .with_context(|| path.display().to_string())?,
        "npy" => {
            let a = parse_npy(&bytes).with_context(|| path.display().to_string())?;
            let NpyValues::Int(v) = a.values else {
                bail!("{}: ids must be integers", path.display());
            };
            let ids = v
                .into_iter()
                .map(|x| i32::try_from(x).unwrap_or(-1))
                .collect();
            (a.cols, ids)
        }
        _ => bail!("{}: ids are read from .ivecs or .npy", path.display()),
    };
    Ok(id_rows(&ids, cols))
}

/// The texmex layout: each row is `i32 dim` then `dim` values of `width`
/// bytes. Every row must have the same `dim`.
fn parse_vecs<T>(
    bytes: &[u8],
    width: usize,
    value: impl Fn(&[u8]) -> T,
) -> Result<(usize, Vec<T>)> {
    ensure!(bytes.len() >= 4, "empty vector file");
    let dim = le_u32(bytes, 0) as usize;
    ensure!(dim > 0, "a row of zero dimensions");
    let row = 4 + dim * width;
    ensure!(
        bytes.len().is_multiple_of(row),
        "{} bytes is not whole rows of {dim} dimensions",
        bytes.len()
    );
    let mut out = Vec::with_capacity(bytes.len() / row * dim);
    for (i, r) in bytes.chunks_exact(row).enumerate() {
        let d = le_u32(r, 0) as usize;
        ensure!(d == dim, "row {i} has {d} dimensions, row 0 has {dim}");
        out.extend(r[4..].chunks_exact(width).map(&value));
    }
    Ok((dim, out))
}

/// A 2-D numpy array.
#[derive(Debug)]
pub struct NpyArray {
    /// Columns.
    pub cols: usize,
    /// Row-major values.
    pub values: NpyValues,
}

/// The values of a [`NpyArray`]: floats as `f32`, integers as `i64`.
#[derive(Debug)]
pub enum NpyValues {
    /// From `f4` or `f8`.
    Float(Vec<f32>),
    /// From `i1`, `u1`, `i4` or `i8`.
    Int(Vec<i64>),
}

/// Parses a `.npy` file (format versions 1-3): a C-ordered 2-D array of
/// `f4`, `f8`, `i4`, `i8`, `u1` or `i1`, little-endian.
pub fn parse_npy(bytes: &[u8]) -> Result<NpyArray> {
    ensure!(
        bytes.len() >= 10 && &bytes[..6] == b"\x93NUMPY",
        "not a .npy file"
    );
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, "truncated .npy header");
            (le_u32(bytes, 8) as usize, 12)
        }
        v => bail!(".npy format version {v} is not supported"),
    };
    let end = start + header_len;
    ensure!(bytes.len() >= end, "truncated .npy header");
    let header = std::str::from_utf8(&bytes[start..end]).context(".npy header is not text")?;
    let field = |key: &str| -> Result<&str> {
        let at = header
            .find(&format!("'{key}'"))
            .with_context(|| format!(".npy header has no {key:?}"))?;
        let rest = header[at + key.len() + 2..].trim_start();
        Ok(rest.strip_prefix(':').unwrap_or(rest).trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .context(".npy descr is not a string")?;
    ensure!(
        field("fortran_order")?.starts_with("False"),
        ".npy arrays in Fortran order are not supported"
    );
    let shape = field("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .context(".npy shape is not a tuple")?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context(".npy shape is not integers")?;
    let (rows, cols) = match dims[..] {
        [r, c] => (r, c),
        _ => bail!(".npy array has shape {dims:?}, not [rows, dim]"),
    };
    let data = &bytes[end..];
    let width = match descr {
        "<f4" | "<i4" => 4,
        "<f8" | "<i8" => 8,
        "|u1" | "<u1" | "|i1" | "<i1" => 1,
        other => bail!(".npy dtype {other:?} is not supported (f4, f8, i4, i8, u1, i1)"),
    };
    let n = rows.checked_mul(cols).context(".npy shape overflows")?;
    ensure!(
        data.len() == n * width,
        ".npy data holds {} bytes, the shape says {}",
        data.len(),
        n * width
    );
    let eight = |c: &[u8]| -> [u8; 8] { c.try_into().expect("chunks of 8") };
    let values = match descr {
        "<f4" => NpyValues::Float(f32s(data)),
        "<f8" => NpyValues::Float(
            data.chunks_exact(8)
                .map(|c| f64::from_le_bytes(eight(c)) as f32)
                .collect(),
        ),
        "<i4" => NpyValues::Int(i32s(data).into_iter().map(i64::from).collect()),
        "<i8" => NpyValues::Int(
            data.chunks_exact(8)
                .map(|c| i64::from_le_bytes(eight(c)))
                .collect(),
        ),
        "|u1" | "<u1" => NpyValues::Int(data.iter().map(|&b| i64::from(b)).collect()),
        _ => NpyValues::Int(data.iter().map(|&b| i64::from(b as i8)).collect()),
    };
    Ok(NpyArray { cols, values })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::measure::ground_truth;
    use indicatif::ProgressBar;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name)
    }

    fn load(path: &str, extra: impl FnOnce(&mut DatasetSource)) -> Result<Dataset> {
        let mut src = DatasetSource {
            path: fixture(path),
            ..DatasetSource::default()
        };
        extra(&mut src);
        Dataset::load(&src)
    }

    /// The fixtures' ground truth (numpy's argsort) agrees with ours on all
    /// ten neighbours of every query.
    fn assert_truth_is_exact(ds: &Dataset) {
        let given = ds
            .ground_truth
            .as_ref()
            .expect("the fixture has ground truth");
        let k = given[0].len();
        let ours = ground_truth(
            ds.distance,
            ds.dim,
            &ds.base,
            &ds.queries,
            k,
            &ProgressBar::hidden(),
        );
        assert_eq!(&ours, given, "{}", ds.name);
    }

    #[test]
    fn reads_ann_benchmarks_hdf5_contiguous_and_chunked() {
        let e = load("tiny-euclidean.hdf5", |_| ()).unwrap();
        assert_eq!(
            (e.format, e.distance, e.dim),
            ("ann-benchmarks-hdf5", Distance::Euclid, 8)
        );
        assert_eq!((e.n_base(), e.n_query()), (60, 5));
        assert_truth_is_exact(&e);
        // Chunked + gzip + shuffle, angular = cosine.
        let a = load("tiny-angular.hdf5", |_| ()).unwrap();
        assert_eq!(
            (a.distance, a.n_base(), a.n_query()),
            (Distance::Cosine, 60, 5)
        );
        assert_truth_is_exact(&a);
        // --distance overrides the attribute.
        let d = load("tiny-angular.hdf5", |s| s.distance = Some(Distance::Dot)).unwrap();
        assert_eq!(d.distance, Distance::Dot);
    }

    #[test]
    fn reads_npy_and_texmex_files_alike() {
        let hdf5 = load("tiny-euclidean.hdf5", |_| ()).unwrap();
        let npy = load("tiny-base.npy", |s| {
            s.queries = Some(fixture("tiny-queries.npy"));
            s.ground_truth = Some(fixture("tiny-gt.npy"));
            s.distance = Some(Distance::Euclid);
        })
        .unwrap();
        let fvecs = load("tiny-base.fvecs", |s| {
            s.queries = Some(fixture("tiny-queries.fvecs"));
            s.ground_truth = Some(fixture("tiny-gt.ivecs"));
            s.distance = Some(Distance::Euclid);
        })
        .unwrap();
        for ds in [&npy, &fvecs] {
            assert_eq!(ds.dim, hdf5.dim, "{}", ds.format);
            assert_eq!(ds.base, hdf5.base, "{}", ds.format);
            assert_eq!(ds.queries, hdf5.queries, "{}", ds.format);
            assert_eq!(ds.ground_truth, hdf5.ground_truth, "{}", ds.format);
        }
        assert_eq!((npy.format, fvecs.format), ("npy", "fvecs"));
        // Without a distance or queries, the error says what to pass.
        let e = load("tiny-base.fvecs", |s| {
            s.queries = Some(fixture("tiny-queries.fvecs"))
        });
        assert!(format!("{:#}", e.unwrap_err()).contains("--distance"));
        let e = load("tiny-base.npy", |s| s.distance = Some(Distance::Dot));
        assert!(format!("{:#}", e.unwrap_err()).contains("--queries"));
    }

    #[test]
    fn max_base_reads_a_prefix_and_drops_stored_neighbours() {
        let full = load("tiny-euclidean.hdf5", |_| ()).unwrap();
        let cut = |path: &str| {
            load(path, |s| {
                s.max_base = Some(7);
                if !path.ends_with("hdf5") {
                    s.queries = Some(fixture(&path.replace("base", "queries")));
                    s.ground_truth = Some(fixture("tiny-gt.ivecs"));
                    s.distance = Some(Distance::Euclid);
                }
            })
            .unwrap()
        };
        for path in ["tiny-euclidean.hdf5", "tiny-base.fvecs", "tiny-base.npy"] {
            let ds = cut(path);
            assert_eq!(ds.base, full.base[..7 * full.dim], "{path}");
            assert_eq!(ds.queries, full.queries, "{path}");
            assert!(ds.ground_truth.is_none(), "{path}");
        }
        let (dim, v) = read_vectors(&fixture("tiny-base.bvecs"), Some(2)).unwrap();
        assert_eq!((dim, v.len()), (3, 6));
    }

    #[test]
    fn reads_bvecs_bytes_as_floats() {
        let (dim, v) = read_vectors(&fixture("tiny-base.bvecs"), None).unwrap();
        assert_eq!(dim, 3);
        let want: Vec<f32> = (0..12).map(|i| (i * 20) as f32).collect();
        assert_eq!(v, want);
    }

    #[test]
    fn refuses_malformed_vector_files() {
        // A row whose dimension differs from the first.
        let mut b = Vec::new();
        for d in [2u32, 3] {
            b.extend_from_slice(&d.to_le_bytes());
            b.extend(std::iter::repeat_n(0u8, d as usize * 4));
        }
        assert!(parse_vecs(&b, 4, |_| 0f32).is_err());
        assert!(parse_vecs(&b[..7], 4, |_| 0f32).is_err());
        assert!(parse_npy(b"\x93NUMPY\x01\x00\x05\x00{'de").is_err());
        assert!(parse_npy(b"not numpy at all").is_err());
    }

    /// A tiny vbench-1 folder written the way `shared/bench/dsio.py` does.
    pub fn write_vbench(dir: &Path, n: usize, nq: usize, dim: usize) {
        let mat = |rows: usize, cols: usize, data: Vec<[u8; 4]>| {
            let mut out = Vec::new();
            out.extend_from_slice(&(rows as u32).to_le_bytes());
            out.extend_from_slice(&(cols as u32).to_le_bytes());
            data.iter().for_each(|x| out.extend_from_slice(x));
            out
        };
        let val = |i: usize| ((i * 7919 % 1000) as f32 / 500.0) - 1.0;
        let base: Vec<f32> = (0..n * dim).map(val).collect();
        let queries: Vec<f32> = (0..nq * dim).map(|i| val(i * 31 + 5)).collect();
        fs::write(
            dir.join("base.fbin"),
            mat(n, dim, base.iter().map(|x| x.to_le_bytes()).collect()),
        )
        .unwrap();
        fs::write(
            dir.join("query.fbin"),
            mat(nq, dim, queries.iter().map(|x| x.to_le_bytes()).collect()),
        )
        .unwrap();
        let gt = ground_truth(
            Distance::Cosine,
            dim,
            &base,
            &queries,
            20,
            &ProgressBar::hidden(),
        );
        let flat: Vec<[u8; 4]> = gt
            .iter()
            .flatten()
            .map(|&i| (i as i32).to_le_bytes())
            .collect();
        fs::write(dir.join("gt.ibin"), mat(nq, 20, flat)).unwrap();
        let payloads: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"category": "cat-{}", "price": {}.5}}"#, i % 4, i % 10))
            .collect();
        fs::write(dir.join("payload.jsonl"), payloads.join("\n") + "\n").unwrap();
        // A filter's ground truth padded with -1 (one query finds nothing).
        let mut fgt: Vec<[u8; 4]> = Vec::new();
        for q in 0..nq {
            for j in 0..10 {
                let id: i32 = if q == 0 || j >= 3 { -1 } else { j * 4 };
                fgt.push(id.to_le_bytes());
            }
        }
        fs::write(dir.join("filter_cat0.gt.ibin"), mat(nq, 10, fgt)).unwrap();
        let meta = serde_json::json!({
            "name": "tiny", "metric": "cos", "dim": dim, "n_base": n, "n_query": nq,
            "payload_schema": {"category": "keyword", "price": "float"},
            "filters": [
                {"name": "cat0", "selectivity": 0.25,
                 "filter": {"must": [{"key": "category", "match": {"value": "cat-0"}}]}},
                {"name": "cheap", "selectivity": 0.2,
                 "filter": {"must": [{"key": "price", "range": {"lt": 2.0}}]}}
            ]
        });
        fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    }

    #[test]
    fn reads_vbench_1() {
        let dir = tempfile::tempdir().unwrap();
        write_vbench(dir.path(), 50, 4, 6);
        let ds = load(dir.path().to_str().unwrap(), |_| ()).unwrap();
        assert_eq!(
            (ds.name.as_str(), ds.format, ds.distance),
            ("tiny", "vbench-1", Distance::Cosine)
        );
        assert_eq!((ds.n_base(), ds.n_query(), ds.dim), (50, 4, 6));
        assert_eq!(ds.payloads.as_ref().unwrap().len(), 50);
        assert_eq!(
            ds.payload_schema,
            vec![
                ("category".to_string(), FieldType::Keyword),
                ("price".to_string(), FieldType::Float)
            ]
        );
        assert_eq!(ds.filters.len(), 2);
        let cat0 = ds.filters[0].ground_truth.as_ref().unwrap();
        assert_eq!(cat0[0], Vec::<u32>::new(), "-1 pads are dropped");
        assert_eq!(cat0[1], vec![0, 4, 8]);
        assert!(ds.filters[1].ground_truth.is_none());
        assert_truth_is_exact(&ds);
        // A truncated base file is refused with its name.
        let b = fs::read(dir.path().join("base.fbin")).unwrap();
        fs::write(dir.path().join("base.fbin"), &b[..b.len() - 4]).unwrap();
        let e = load(dir.path().to_str().unwrap(), |_| ()).unwrap_err();
        assert!(format!("{e:#}").contains("base.fbin"), "{e:#}");
    }

    #[test]
    fn distance_names() {
        for (name, d) in [
            ("angular", Distance::Cosine),
            ("cos", Distance::Cosine),
            ("euclidean", Distance::Euclid),
            ("L2", Distance::Euclid),
            ("ip", Distance::Dot),
            ("manhattan", Distance::Manhattan),
        ] {
            assert_eq!(parse_distance(name).unwrap(), d, "{name}");
        }
        assert!(parse_distance("jaccard").is_err());
    }
}
