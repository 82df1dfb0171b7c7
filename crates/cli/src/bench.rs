//! `vicinity bench build` and `vicinity bench search`: the `vbench-cli-1`
//! protocol of `shared/bench/engines/command_engine.py`, so that the peer
//! runner measures this engine in the same run as hnswlib, FAISS, USearch
//! and Qdrant Edge.
//!
//! `build` builds the collection in memory (`build_seconds` is the build
//! proper, graph included), then writes it into a durable database in the
//! index folder as one checkpoint; `search` opens that database (vectors
//! mapped, graph read, no rebuild) and reports how long the open took.
//! `build` loads `payload.jsonl`; with `"payload_index": true` in
//! `--params` it also indexes the fields of `meta.json`'s `payload_schema`,
//! and `search --filter NAME` runs that filter through the planner.
//!
//! `vicinity bench run` (in [`run`](mod@run)) is the standalone benchmark: any common
//! dataset layout, ground truth, ef sweeps, table / JSON / SVG.

mod dataset;
mod load;
mod measure;
mod plot;
pub(crate) mod remote;
mod rest;
mod run;
mod sparse;
mod target;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use vicinity::{
    Collection, CollectionConfig, Database, Distance, FieldIndexParams, FieldType, Filter,
    HnswConfig, Payload, PointStruct, SearchParams, SearchRequest, VectorParams,
};

/// `vicinity bench ...`
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Measures recall@k, QPS (one thread and all), latency percentiles,
    /// build time, bytes on disk and peak memory over an ef sweep, on any
    /// common dataset layout, embedded or against a server.
    Run(Box<run::RunArgs>),
    /// Builds an index over a vbench-1 dataset (protocol vbench-cli-1).
    Build(BuildArgs),
    /// Runs the dataset's queries one at a time on one thread, for each ef.
    Search(SearchArgs),
    /// Many clients at once against a server (gRPC or REST): a mix of
    /// searches, filtered searches, upserts, payload updates, deletes and
    /// scrolls for a given time; throughput, latency percentiles, errors,
    /// the server's memory, and a check that every acknowledged write is
    /// there and every acknowledged delete is gone.
    Load(Box<load::LoadArgs>),
    /// Sparse (BM25 / SPLADE) search on a CSR dataset: upsert time, QPS,
    /// latency and recall through the posting lists and the exact scan.
    Sparse(sparse::SparseArgs),
}

/// Arguments of `bench build`.
#[derive(Args)]
pub struct BuildArgs {
    /// The dataset folder (vbench-1 layout).
    #[arg(long)]
    dataset: PathBuf,
    /// Where the index goes.
    #[arg(long)]
    index: PathBuf,
    /// Threads for the build.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Engine parameters as JSON: `m`, `ef_construct`, `payload_index`,
    /// `datatype` (`float32`, `float16`, `uint8`), `quantization` (Qdrant's
    /// `quantization_config`) and `search_params` (Qdrant's search
    /// `params`: its `quantization`, for `search`).
    #[arg(long, default_value = "{}")]
    params: String,
}

/// Arguments of `bench search`.
#[derive(Args)]
pub struct SearchArgs {
    /// The dataset folder (vbench-1 layout).
    #[arg(long)]
    dataset: PathBuf,
    /// The index folder written by `build`.
    #[arg(long)]
    index: PathBuf,
    /// Neighbours per query.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Comma-separated `ef` values.
    #[arg(long, value_delimiter = ',')]
    ef: Vec<usize>,
    /// Timed passes over the queries per ef.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Output prefix: writes `PREFIX.ef<EF>.ids.ibin` and `.lat.fbin`.
    #[arg(long)]
    out: PathBuf,
    /// A filter of the dataset's meta.json, by name.
    #[arg(long)]
    filter: Option<String>,
}

/// What `build` records for `search`.
#[derive(Serialize, Deserialize)]
struct IndexRecord {
    m: usize,
    ef_construct: usize,
    threads: usize,
    #[serde(default)]
    payload_index: bool,
    #[serde(default)]
    quantization: Option<vicinity::QuantizationConfig>,
    #[serde(default)]
    search_params: BenchSearchParams,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    datatype: Option<vicinity::Datatype>,
}

#[derive(Deserialize, Default)]
struct EngineParams {
    m: Option<usize>,
    ef_construct: Option<usize>,
    #[serde(default)]
    payload_index: bool,
    /// Qdrant's `quantization_config` (`{"scalar": {"type": "int8"}}`).
    #[serde(default)]
    quantization: Option<vicinity::QuantizationConfig>,
    /// Qdrant's search `params` that `search` uses (its `quantization`).
    #[serde(default)]
    search_params: BenchSearchParams,
    /// How the vectors are stored (Qdrant's `datatype`).
    #[serde(default)]
    datatype: Option<vicinity::Datatype>,
}

/// The search parameters `build --params` records for `search`.
#[derive(Serialize, Deserialize, Default, Clone, Copy)]
struct BenchSearchParams {
    #[serde(default)]
    quantization: Option<BenchQuantizationParams>,
}

/// Qdrant's `quantization` search parameters.
#[derive(Serialize, Deserialize, Default, Clone, Copy)]
struct BenchQuantizationParams {
    #[serde(default)]
    ignore: bool,
    #[serde(default)]
    rescore: Option<bool>,
    #[serde(default)]
    oversampling: Option<f64>,
}

/// Runs a bench sub-command.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Run(a) => run::run(*a),
        BenchCommand::Build(a) => build(a),
        BenchCommand::Search(a) => search(a),
        BenchCommand::Load(a) => load::run(*a),
        BenchCommand::Sparse(a) => sparse::run(a),
    }
}

/// A matrix file: `u32 rows, u32 cols`, then row-major little-endian data.
fn read_f32_matrix(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() < 8 {
        bail!("{}: shorter than its 8-byte header", path.display());
    }
    let rows = u32::from_le_bytes(bytes[0..4].try_into()?) as usize;
    let cols = u32::from_le_bytes(bytes[4..8].try_into()?) as usize;
    let want = 8 + rows * cols * 4;
    if bytes.len() != want {
        bail!(
            "{}: {} bytes, the header says {want}",
            path.display(),
            bytes.len()
        );
    }
    let data = bytes[8..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((rows, cols, data))
}

fn write_matrix<T: Copy>(
    path: &Path,
    rows: usize,
    cols: usize,
    data: &[T],
    to_le: impl Fn(T) -> [u8; 4],
) -> Result<()> {
    let mut out = Vec::with_capacity(8 + data.len() * 4);
    out.extend_from_slice(&(rows as u32).to_le_bytes());
    out.extend_from_slice(&(cols as u32).to_le_bytes());
    for &x in data {
        out.extend_from_slice(&to_le(x));
    }
    fs::File::create(path)
        .and_then(|mut f| f.write_all(&out))
        .with_context(|| format!("writing {}", path.display()))
}

fn meta(dataset: &Path) -> Result<serde_json::Value> {
    Ok(serde_json::from_str(
        &fs::read_to_string(dataset.join("meta.json")).context("reading meta.json")?,
    )?)
}

fn distance_of(dataset: &Path) -> Result<Distance> {
    let meta = meta(dataset)?;
    Ok(match meta["metric"].as_str() {
        Some("cos") | Some("angular") => Distance::Cosine,
        Some("l2") | Some("euclidean") => Distance::Euclid,
        Some("ip") | Some("dot") => Distance::Dot,
        other => bail!("unknown metric {other:?} in meta.json"),
    })
}

/// Builds the collection over the base vectors on `threads` threads, in
/// memory; returns it and the seconds the build took.
fn build_collection(dataset: &Path, record: &IndexRecord) -> Result<(Collection, f64)> {
    let distance = distance_of(dataset)?;
    let (n, dim, base) = read_f32_matrix(&dataset.join("base.fbin"))?;
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(record.threads.max(1))
            .build()?,
    );
    let hnsw = HnswConfig {
        m: record.m,
        ef_construct: record.ef_construct,
        ..HnswConfig::default()
    };
    let mut params = VectorParams::new(dim, distance);
    params.datatype = record.datatype;
    let mut config = CollectionConfig::named([(vicinity::DEFAULT_VECTOR, params)]).with_hnsw(hnsw);
    config.quantization_config = record.quantization.clone();
    let c = Collection::new("bench", config, Some(pool))?;
    let payloads = read_payloads(dataset, n)?;
    let mut points: Vec<PointStruct> = base
        .chunks_exact(dim)
        .zip(payloads)
        .enumerate()
        .map(|(i, (v, p))| PointStruct::new(i as u64, v.to_vec(), p))
        .collect();
    let start = Instant::now();
    if record.payload_index {
        // As Qdrant users do: indexes first, so points are indexed on insert.
        let schema = meta(dataset)?["payload_schema"].clone();
        for (key, t) in schema.as_object().into_iter().flatten() {
            let t = vicinity_payload_type(t.as_str().unwrap_or_default())?;
            c.create_field_index(&key.parse()?, FieldIndexParams::new(t))?;
        }
    }
    // batches handed over, as an application would (no copy in the timing)
    while !points.is_empty() {
        let rest = points.split_off(points.len().min(10_000));
        c.upsert(std::mem::replace(&mut points, rest))?;
    }
    // writes return before their rows are in the graph: the build is done
    // when the indexer is
    c.finish_indexing();
    // and the rows renumbered for locality, as a user's optimize() does
    c.optimize()?;

    Ok((c, start.elapsed().as_secs_f64()))
}

/// The payloads of `payload.jsonl` (empty ones if the file is missing).
fn read_payloads(dataset: &Path, n: usize) -> Result<Vec<Payload>> {
    let path = dataset.join("payload.jsonl");
    if !path.exists() {
        return Ok(vec![Payload::new(); n]);
    }
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let payloads: Vec<Payload> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", path.display()))?;
    if payloads.len() != n {
        bail!(
            "{}: {} payloads for {n} vectors",
            path.display(),
            payloads.len()
        );
    }
    Ok(payloads)
}

fn vicinity_payload_type(name: &str) -> Result<FieldType> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .with_context(|| format!("unknown payload schema type {name:?}"))
}

fn filter_named(dataset: &Path, name: &str) -> Result<Filter> {
    let meta = meta(dataset)?;
    let f = meta["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == name)
        .with_context(|| format!("no filter {name:?} in meta.json"))?;
    Ok(Filter::from_json(f["filter"].clone())?)
}

fn build(a: BuildArgs) -> Result<()> {
    let p: EngineParams = serde_json::from_str(&a.params).context("--params is not JSON")?;
    let defaults = HnswConfig::default();
    let record = IndexRecord {
        m: p.m.unwrap_or(defaults.m),
        ef_construct: p.ef_construct.unwrap_or(defaults.ef_construct),
        threads: a.threads,
        payload_index: p.payload_index,
        quantization: p.quantization,
        search_params: p.search_params,
        datatype: p.datatype,
    };
    let (c, seconds) = build_collection(&a.dataset, &record)?;
    fs::create_dir_all(&a.index)?;
    fs::write(
        a.index.join("vicinity-bench.json"),
        serde_json::to_string(&record)?,
    )?;
    let points = c.info().points_count;
    // write it as a durable collection: vectors, graph and payloads
    let start = Instant::now();
    let db = Database::open(a.index.join("db"))?;
    db.delete_collection("bench");
    db.add_collection(c)?;
    let save_seconds = start.elapsed().as_secs_f64();
    drop(db);
    // the index's memory as `search` will hold it: reopened, exactly sized
    // (the in-memory build reserves room to grow)
    let db = Database::open(a.index.join("db"))?;
    let memory = db.collection("bench")?.info().memory;
    drop(db);
    println!(
        "{}",
        serde_json::json!({
            "build_seconds": seconds,
            "save_seconds": save_seconds,
            "index_bytes": memory.vectors_in_memory + memory.graphs + memory.codes,
            "points": points,
            "simd": vicinity_index::kernels::simd_capability(),
        })
    );
    Ok(())
}

fn search(a: SearchArgs) -> Result<()> {
    let filter = a
        .filter
        .as_deref()
        .map(|f| filter_named(&a.dataset, f))
        .transpose()?;
    if a.ef.is_empty() || a.k == 0 || a.repeats == 0 {
        bail!("--ef, --k and --repeats must be given and positive");
    }
    let start = Instant::now();
    let db = Database::open(a.index.join("db")).context("opening the index built by `build`")?;
    let c = db.collection("bench")?;
    let open_seconds = start.elapsed().as_secs_f64();
    let record: IndexRecord =
        serde_json::from_slice(&fs::read(a.index.join("vicinity-bench.json"))?)?;
    let quantization =
        record
            .search_params
            .quantization
            .map(|q| vicinity::QuantizationSearchParams {
                ignore: q.ignore,
                rescore: q.rescore,
                oversampling: q.oversampling,
            });
    let (nq, _, queries) = read_f32_matrix(&a.dataset.join("query.fbin"))?;
    let dim = queries.len() / nq.max(1);
    let queries: Vec<Vec<f32>> = queries.chunks_exact(dim).map(<[f32]>::to_vec).collect();
    for &ef in &a.ef {
        let run_one = |q: &Vec<f32>| -> Result<Vec<i32>> {
            let mut req = SearchRequest::new(q.clone(), a.k);
            req.params = SearchParams {
                hnsw_ef: Some(ef),
                quantization,
                ..SearchParams::default()
            };
            req.filter = filter.clone();
            Ok(c.search(&req)?
                .iter()
                .map(|h| match h.id {
                    vicinity::PointId::Num(n) => n as i32,
                    vicinity::PointId::Uuid(_) => -1,
                })
                .collect())
        };
        let mut ids = vec![-1i32; nq * a.k];
        for (i, q) in queries.iter().enumerate() {
            let got = run_one(q)?;
            ids[i * a.k..i * a.k + got.len()].copy_from_slice(&got);
        }
        let mut lat = Vec::with_capacity(a.repeats * nq);
        for _ in 0..a.repeats {
            for q in &queries {
                let t = Instant::now();
                let got = run_one(q)?;
                lat.push(t.elapsed().as_secs_f32());
                std::hint::black_box(got);
            }
        }
        let prefix = a.out.display();
        write_matrix(
            Path::new(&format!("{prefix}.ef{ef}.ids.ibin")),
            nq,
            a.k,
            &ids,
            i32::to_le_bytes,
        )?;
        write_matrix(
            Path::new(&format!("{prefix}.ef{ef}.lat.fbin")),
            a.repeats,
            nq,
            &lat,
            f32::to_le_bytes,
        )?;
    }
    println!("{}", serde_json::json!({ "open_seconds": open_seconds }));
    Ok(())
}
