//! `vicinity bench sparse`: sparse (BM25 / SPLADE) search on a CSR dataset
//! (`benches/profiles/pypi_bm25.py` writes one): upsert time, single-thread
//! QPS and latency through the posting lists and through the exact
//! row-by-row scan, recall@k against the dataset's exact top-k (a hit
//! tied with the k-th true score counts), memory. `benches/sparse_peers.py`
//! runs it beside `pyseismic-lsr` and Qdrant Edge on the same files.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use vicinity::{
    CollectionConfig, Database, Payload, PointId, PointStruct, Query, QueryRequest, SearchParams,
    SparseVector, SparseVectorParams, VectorInput, Vectors,
};

use super::measure::{peak_rss_bytes, percentile};

#[derive(Args)]
pub struct SparseArgs {
    /// The dataset folder (`docs.csr`, `queries.csr`, `gt.ibin`,
    /// `gt_scores.fbin`).
    #[arg(long)]
    data: PathBuf,
    /// Results per query.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Passes over the queries (the best QPS is kept).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Where to write the results as JSON (also printed).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Leave out the exact row-by-row scan (the slow baseline).
    #[arg(long)]
    no_exact_scan: bool,
}

/// Sparse rows: offsets, indices, values.
struct Csr {
    offsets: Vec<u64>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Csr {
    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn row(&self, r: usize) -> SparseVector {
        let span = self.offsets[r] as usize..self.offsets[r + 1] as usize;
        SparseVector::new(
            self.indices[span.clone()].to_vec(),
            self.values[span].to_vec(),
        )
    }
}

fn read_words<T: bytemuck::Pod>(r: &mut impl Read, n: usize) -> Result<Vec<T>> {
    let mut out = vec![T::zeroed(); n];
    r.read_exact(bytemuck::cast_slice_mut(&mut out))?;
    Ok(out)
}

fn read_csr(path: &Path) -> Result<Csr> {
    let mut f = BufReader::new(File::open(path).with_context(|| path.display().to_string())?);
    let head: Vec<u64> = read_words(&mut f, 2)?;
    let (rows, nnz) = (head[0] as usize, head[1] as usize);
    let offsets: Vec<u64> = read_words(&mut f, rows + 1)?;
    if offsets.last() != Some(&(nnz as u64)) || offsets.windows(2).any(|w| w[0] > w[1]) {
        bail!("{}: bad offsets", path.display());
    }
    Ok(Csr {
        offsets,
        indices: read_words(&mut f, nnz)?,
        values: read_words(&mut f, nnz)?,
    })
}

fn read_matrix<T: bytemuck::Pod>(path: &Path) -> Result<(usize, usize, Vec<T>)> {
    let mut f = BufReader::new(File::open(path).with_context(|| path.display().to_string())?);
    let head: Vec<u32> = read_words(&mut f, 2)?;
    let (rows, cols) = (head[0] as usize, head[1] as usize);
    Ok((rows, cols, read_words(&mut f, rows * cols)?))
}

/// Runs the benchmark.
pub fn run(a: SparseArgs) -> Result<()> {
    let docs = read_csr(&a.data.join("docs.csr"))?;
    let queries = read_csr(&a.data.join("queries.csr"))?;
    let (nq, gk, gt) = read_matrix::<i32>(&a.data.join("gt.ibin"))?;
    let (_, _, gt_scores) = read_matrix::<f32>(&a.data.join("gt_scores.fbin"))?;
    if nq != queries.len() || gk < a.k {
        bail!(
            "the ground truth has {nq} x {gk}, the queries {} x {}",
            queries.len(),
            a.k
        );
    }
    let rss_before = super::measure::rss_bytes().unwrap_or(0);
    let db = Database::new();
    let config =
        CollectionConfig::named::<String>([]).with_sparse("text", SparseVectorParams::default());
    let c = db.create_collection("sparse", config)?;
    let t = Instant::now();
    for start in (0..docs.len()).step_by(10_000) {
        let batch: Vec<PointStruct> = (start..(start + 10_000).min(docs.len()))
            .map(|r| PointStruct {
                id: PointId::Num(r as u64),
                vectors: [("text", docs.row(r))].into_iter().collect::<Vectors>(),
                payload: Some(Payload::new()),
            })
            .collect();
        c.upsert(batch)?;
    }
    c.finish_indexing();
    let build_s = t.elapsed().as_secs_f64();
    let memory = c.info().memory.vectors_in_memory;
    let run_queries = |exact: bool| -> Result<(f64, Vec<f64>, f64)> {
        let mut best_qps = 0.0f64;
        let mut lat = Vec::new();
        let (mut hits_ok, mut wanted) = (0usize, 0usize);
        for _ in 0..a.repeats.max(1) {
            lat.clear();
            (hits_ok, wanted) = (0, 0);
            let t = Instant::now();
            for q in 0..queries.len() {
                let mut req =
                    QueryRequest::new(Query::Nearest(VectorInput::Sparse(queries.row(q))), a.k);
                req.using = "text".into();
                req.params = SearchParams {
                    exact,
                    ..SearchParams::default()
                };
                let s = Instant::now();
                let hits = c.query(&req)?;
                lat.push(s.elapsed().as_secs_f64() * 1e6);
                // a query sharing a term with fewer than k documents has
                // fewer true answers (ids -1 after them)
                let truth = &gt[q * gk..q * gk + a.k];
                let n = truth.iter().filter(|&&id| id >= 0).count();
                wanted += n;
                let kth = if n == 0 {
                    f32::INFINITY
                } else {
                    gt_scores[q * gk + n - 1]
                };
                hits_ok += hits
                    .iter()
                    .filter(|h| {
                        matches!(h.id, PointId::Num(n) if truth.contains(&(n as i32)))
                            || h.score >= kth - 1e-4 * kth.abs().max(1.0)
                    })
                    .count()
                    .min(n);
            }
            best_qps = best_qps.max(queries.len() as f64 / t.elapsed().as_secs_f64());
        }
        let recall = hits_ok as f64 / wanted.max(1) as f64;
        Ok((best_qps, lat.clone(), recall))
    };
    let (qps, lat, recall) = run_queries(false)?;
    let (exact_qps, exact_recall) = if a.no_exact_scan {
        (None, None)
    } else {
        let (qps, _, recall) = run_queries(true)?;
        (Some(qps), Some(recall))
    };
    let out = json!({
        "engine": "vicinity",
        "version": env!("CARGO_PKG_VERSION"),
        "docs": docs.len(),
        "queries": queries.len(),
        "k": a.k,
        "build_s": build_s,
        "upsert_points_per_s": docs.len() as f64 / build_s,
        "qps": qps,
        "p50_us": percentile(&lat, 50.0),
        "p99_us": percentile(&lat, 99.0),
        "recall": recall,
        "exact_scan_qps": exact_qps,
        "exact_scan_recall": exact_recall,
        "index_bytes": memory,
        "rss_growth_bytes": super::measure::rss_bytes().unwrap_or(0).saturating_sub(rss_before),
        "peak_rss_bytes": peak_rss_bytes(),
    });
    let text = serde_json::to_string_pretty(&out)?;
    println!("{text}");
    if let Some(path) = a.out {
        std::fs::write(&path, text).with_context(|| path.display().to_string())?;
    }
    Ok(())
}
