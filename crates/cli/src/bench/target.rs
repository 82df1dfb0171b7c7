//! What `bench run` measures: the embedded engine in this process, or a
//! server speaking Qdrant's gRPC protocol (ours, Qdrant, Qdrant Cloud).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::Serialize;
use vicinity::{
    Collection, CollectionConfig, Database, FieldIndexParams, Filter, HnswConfig, PointId,
    PointStruct, SearchParams, SearchRequest,
};

use super::dataset::Dataset;
use super::measure;

/// One index configuration of the sweep.
#[derive(Clone, Debug, Serialize)]
pub struct BuildConfig {
    /// A short name for tables and plots: `m16 efc100`.
    pub label: String,
    /// HNSW `m` (links per node above level 0).
    pub m: usize,
    /// HNSW `ef_construct` (candidate list width while building).
    pub ef_construct: usize,
    /// Threads for the build (embedded).
    pub threads: usize,
    /// Below this many KiB of vectors (among a filter's candidates), a
    /// search scores exactly instead of walking the graph (Qdrant's
    /// `full_scan_threshold`).
    pub full_scan_threshold: usize,
    /// Whether the dataset's payload schema is indexed before the upload.
    pub payload_index: bool,
}

/// What a build reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BuildReport {
    /// Seconds from the first point sent to an index ready for queries.
    pub seconds: f64,
    /// Seconds to write a checkpoint after the build (embedded).
    pub checkpoint_seconds: Option<f64>,
    /// Bytes of the collection's folder after the checkpoint (embedded).
    pub index_bytes_on_disk: Option<u64>,
    /// Bytes of vectors and graph in memory, as the engine counts them.
    pub index_bytes_in_memory: Option<u64>,
    /// Resident memory of this process before the build.
    pub rss_before_bytes: Option<u64>,
    /// Resident memory of this process after the build.
    pub rss_after_bytes: Option<u64>,
    /// What is and is not counted.
    pub note: String,
}

/// An engine under measurement. Filters are handed in once
/// ([`Target::set_filters`]) and named by position in searches.
pub trait Target {
    /// `embedded` or the server's URL.
    fn describe(&self) -> String;
    /// Builds (or uploads) the dataset with this configuration, replacing
    /// what an earlier build made.
    fn build(
        &mut self,
        ds: &Dataset,
        cfg: &BuildConfig,
        progress: &ProgressBar,
    ) -> Result<BuildReport>;
    /// Prepares filters (Qdrant's REST JSON) for later searches.
    fn set_filters(&mut self, filters: &[serde_json::Value]) -> Result<()>;
    /// One search: the ids of the top `k`, best first. `ef = None` with
    /// `exact` scores every point.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<usize>,
        exact: bool,
    ) -> Result<Vec<u32>>;
    /// Runs every query once with `threads` in flight; returns the wall
    /// seconds.
    fn search_all(
        &self,
        ds: &Dataset,
        k: usize,
        ef: usize,
        filter: Option<usize>,
        threads: usize,
        progress: &ProgressBar,
    ) -> Result<f64>;
}

/// The engine in this process, built into a temporary folder with the
/// durable `Database::open`.
pub struct Embedded {
    workdir: Option<PathBuf>,
    current: Option<(tempfile::TempDir, Database, Arc<Collection>)>,
    filters: Vec<Filter>,
}

impl Embedded {
    /// Builds under `workdir` (the system's temporary folder if `None`).
    pub fn new(workdir: Option<PathBuf>) -> Self {
        Embedded {
            workdir,
            current: None,
            filters: Vec::new(),
        }
    }

    fn collection(&self) -> Result<&Arc<Collection>> {
        self.current
            .as_ref()
            .map(|c| &c.2)
            .context("search before build")
    }

    fn request(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<usize>,
        exact: bool,
    ) -> SearchRequest {
        let mut req = SearchRequest::new(query.to_vec(), k);
        req.params = SearchParams {
            hnsw_ef: Some(ef),
            exact,
            ..SearchParams::default()
        };
        req.filter = filter.map(|i| self.filters[i].clone());
        req
    }
}

fn row_id(id: &PointId) -> u32 {
    match id {
        PointId::Num(n) => u32::try_from(*n).unwrap_or(u32::MAX),
        PointId::Uuid(_) => u32::MAX,
    }
}

impl Target for Embedded {
    fn describe(&self) -> String {
        "embedded".into()
    }

    fn build(
        &mut self,
        ds: &Dataset,
        cfg: &BuildConfig,
        progress: &ProgressBar,
    ) -> Result<BuildReport> {
        // Drop the previous index first: its memory should not count.
        self.current = None;
        let dir = match &self.workdir {
            Some(w) => {
                std::fs::create_dir_all(w)?;
                tempfile::tempdir_in(w)?
            }
            None => tempfile::tempdir()?,
        };
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(cfg.threads.max(1))
                .build()?,
        );
        let hnsw = HnswConfig {
            m: cfg.m,
            ef_construct: cfg.ef_construct,
            full_scan_threshold: cfg.full_scan_threshold,
            ..HnswConfig::default()
        };
        // Built in memory with no log (a bulk load), then written as one
        // checkpoint: what `Database::add_collection` is for.
        let c = Collection::new(
            "bench",
            CollectionConfig::single(ds.dim, ds.distance).with_hnsw(hnsw),
            Some(Arc::clone(&pool)),
        )?;
        let rss_before = measure::rss_bytes();
        progress.set_length(ds.n_base() as u64);
        let start = Instant::now();
        if cfg.payload_index && ds.payloads.is_some() {
            // As Qdrant users do: indexes first, so points are indexed on insert.
            for (key, t) in &ds.payload_schema {
                c.create_field_index(&key.parse()?, FieldIndexParams::new(*t))?;
            }
        }
        const BATCH: usize = 10_000;
        for first in (0..ds.n_base()).step_by(BATCH) {
            let last = (first + BATCH).min(ds.n_base());
            let points = (first..last)
                .map(|i| {
                    let payload = ds
                        .payloads
                        .as_ref()
                        .map(|p| p[i].clone())
                        .unwrap_or_default();
                    PointStruct::new(i as u64, ds.base_row(i).to_vec(), payload)
                })
                .collect();
            c.upsert(points)?;
            progress.inc((last - first) as u64);
        }
        // writes return before the graph has their rows: the build is done
        // when the indexer is
        progress.set_message("graph");
        c.finish_indexing();
        // rows renumbered so that graph neighbours sit together in memory
        progress.set_message("optimize");
        c.optimize()?;
        let seconds = start.elapsed().as_secs_f64();
        let rss_after = measure::rss_bytes();
        progress.set_message("checkpoint");
        let t = Instant::now();
        let db = Database::open_with(dir.path(), Arc::new(vicinity_storage::StdIo), Some(pool))?;
        let c = db.add_collection(c)?;
        let checkpoint_seconds = t.elapsed().as_secs_f64();
        let on_disk = measure::dir_bytes(dir.path())?;
        let info = c.info();
        self.current = Some((dir, db, c));
        Ok(BuildReport {
            seconds,
            checkpoint_seconds: Some(checkpoint_seconds),
            index_bytes_on_disk: Some(on_disk),
            index_bytes_in_memory: Some(info.memory_bytes as u64),
            rss_before_bytes: rss_before,
            rss_after_bytes: rss_after,
            note: "on disk: the database folder after a checkpoint (vectors, HNSW graph, \
                   payloads); payload indexes are rebuilt from the payloads on open"
                .into(),
        })
    }

    fn set_filters(&mut self, filters: &[serde_json::Value]) -> Result<()> {
        self.filters = filters
            .iter()
            .map(|f| Filter::from_json(f.clone()).with_context(|| format!("filter {f}")))
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<usize>,
        exact: bool,
    ) -> Result<Vec<u32>> {
        let req = self.request(query, k, ef, filter, exact);
        Ok(self
            .collection()?
            .search(&req)?
            .iter()
            .map(|h| row_id(&h.id))
            .collect())
    }

    fn search_all(
        &self,
        ds: &Dataset,
        k: usize,
        ef: usize,
        filter: Option<usize>,
        threads: usize,
        progress: &ProgressBar,
    ) -> Result<f64> {
        let c = self.collection()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()?;
        let requests: Vec<SearchRequest> = (0..ds.n_query())
            .map(|i| self.request(ds.query(i), k, ef, filter, false))
            .collect();
        let start = Instant::now();
        pool.install(|| {
            requests.par_iter().try_for_each(|r| {
                std::hint::black_box(c.search(r)?);
                progress.inc(1);
                anyhow::Ok(())
            })
        })?;
        Ok(start.elapsed().as_secs_f64())
    }
}
