//! `vicinity bench run`: read a dataset in any common layout, compute the
//! exact ground truth if it has none, build each configuration, sweep
//! `ef` (optionally under payload filters) and report recall@k, QPS on one
//! thread and on all threads, latency percentiles, build time, bytes on
//! disk and peak memory: as a table, as JSON (`--json`) and as an SVG plot
//! (`--plot`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::dataset::{Dataset, DatasetSource, parse_distance};
use super::measure;
use super::plot;
use super::remote::{Remote, TlsOptions};
use super::rest::RestRemote;
use super::target::{BuildConfig, BuildReport, Embedded, Target};

/// Arguments of `bench run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The dataset: a vbench-1 folder, an ann-benchmarks `.hdf5`, or base
    /// vectors in `.fvecs` / `.bvecs` / `.npy`.
    #[arg(long)]
    pub dataset: PathBuf,
    /// Query vectors for `.fvecs` / `.bvecs` / `.npy` datasets.
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Ground-truth ids (`.ivecs` or integer `.npy`) for `.fvecs` /
    /// `.bvecs` / `.npy` datasets; computed exactly when absent.
    #[arg(long)]
    pub ground_truth: Option<PathBuf>,
    /// Overrides the dataset's distance: cosine, euclid, dot, manhattan.
    #[arg(long)]
    pub distance: Option<String>,
    /// Computes the exact ground truth even when the dataset has one, uses
    /// it, and reports how far the dataset's agrees (recall@k of the
    /// dataset's against ours; ties can differ).
    #[arg(long)]
    pub compute_ground_truth: bool,
    /// Uses only the first N queries.
    #[arg(long)]
    pub max_queries: Option<usize>,
    /// Uses only the first N base vectors (the ground truth is then
    /// computed, since the dataset's refers to all of them).
    #[arg(long)]
    pub max_base: Option<usize>,
    /// Neighbours per query (recall@k).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// HNSW `m` values (comma-separated: one configuration each).
    #[arg(long, value_delimiter = ',', default_value = "16")]
    pub m: Vec<usize>,
    /// HNSW `ef_construct` values (comma-separated: one configuration each).
    #[arg(long, value_delimiter = ',', default_value = "100")]
    pub ef_construct: Vec<usize>,
    /// Qdrant's `full_scan_threshold` in KiB: below this many KiB of
    /// vectors a search scores every point exactly and never walks the
    /// graph. Default: the engine's (Qdrant's) 10,000; pass 0 to measure
    /// the graph on a small dataset.
    #[arg(long)]
    pub full_scan_threshold: Option<usize>,
    /// Threads for the build (embedded); 0 = all cores.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Threads (embedded) or requests in flight (server) for the
    /// all-threads QPS; 0 = all cores.
    #[arg(long, default_value_t = 0)]
    pub search_threads: usize,
    /// The `ef` values to sweep.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256,512")]
    pub ef: Vec<usize>,
    /// Timed passes over the queries per ef, one query at a time.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// A payload filter: a name from the dataset's meta.json (vbench-1) or
    /// Qdrant's REST JSON. Repeatable; each adds a series beside the
    /// unfiltered one.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Index the dataset's payload schema before the upload.
    #[arg(long)]
    pub payload_index: bool,
    /// Measure a server instead of the embedded engine: over gRPC with
    /// `grpc://HOST:PORT` (`grpcs://` for TLS), over REST with
    /// `http://HOST:PORT` (`https://` for TLS).
    #[arg(long)]
    pub target: Option<String>,
    /// The collection a server run creates (and deletes first if present).
    #[arg(long, default_value = "vicinity-bench")]
    pub collection: String,
    /// A PEM certificate to trust for a `grpcs://` or `https://` target (a
    /// private CA or a self-signed server), besides the system's roots.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// The name a `grpcs://` or `https://` target's certificate is checked
    /// against, when it is not the URL's host.
    #[arg(long)]
    pub tls_domain: Option<String>,
    /// An API key for the server.
    #[arg(long, env = "VICINITY_BENCH_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Points per upsert request to a server.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Upsert requests in flight at once during a server upload.
    #[arg(long, default_value_t = 2)]
    pub upload_parallel: usize,
    /// Where the embedded engine builds its index (a temporary folder
    /// inside it, removed afterwards).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Prints JSON on stdout instead of the table; with a file name, writes
    /// it there and still prints the table.
    #[arg(long, num_args = 0..=1, default_missing_value = "-", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Writes recall against QPS (log scale) as an SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// A peer runner's results JSON (`shared/bench/results/*.json`) whose
    /// points are drawn beside ours.
    #[arg(long)]
    pub peers: Vec<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// The JSON report (`"format": "vicinity-bench-run-1"`).
#[derive(Serialize, Debug)]
pub struct Report {
    /// Always `vicinity-bench-run-1`.
    pub format: &'static str,
    /// What was measured: `embedded` or the server URL.
    pub target: String,
    /// The dataset.
    pub dataset: DatasetReport,
    /// The machine.
    pub machine: MachineReport,
    /// Neighbours per query.
    pub k: usize,
    /// Timed passes per ef (single-thread).
    pub repeats: usize,
    /// One entry per build configuration.
    pub configs: Vec<ConfigReport>,
    /// Peak resident memory of this process over the whole run (VmHWM).
    pub peak_rss_bytes: Option<u64>,
}

/// The dataset part of the report.
#[derive(Serialize, Debug)]
pub struct DatasetReport {
    /// Path as given.
    pub path: String,
    /// Name.
    pub name: String,
    /// Layout read.
    pub format: String,
    /// Distance (Qdrant's name).
    pub distance: String,
    /// Dimensions.
    pub dim: usize,
    /// Base vectors.
    pub n_base: usize,
    /// Queries.
    pub n_query: usize,
    /// `dataset` (read from it) or `computed` (exact brute force here).
    pub ground_truth: &'static str,
    /// Seconds the exact ground truth took, when computed.
    pub ground_truth_seconds: Option<f64>,
    /// With `--compute-ground-truth` on a dataset that has one: recall@k
    /// of the dataset's ground truth against the computed one.
    pub ground_truth_agreement: Option<f64>,
}

/// The machine part of the report.
#[derive(Serialize, Debug)]
pub struct MachineReport {
    /// Logical cores available to this process.
    pub cpus: usize,
    /// The SIMD kernels the engine chose.
    pub simd: String,
    /// Threads used for the all-threads QPS.
    pub search_threads: usize,
}

/// One build configuration and its sweeps.
#[derive(Serialize, Debug)]
pub struct ConfigReport {
    /// The configuration.
    #[serde(flatten)]
    pub config: BuildConfig,
    /// The build.
    pub build: BuildReport,
    /// One series per filter (the first unfiltered).
    pub series: Vec<Series>,
}

/// An ef sweep under one filter.
#[derive(Serialize, Debug, Clone)]
pub struct Series {
    /// The filter's name, `null` for none.
    pub filter: Option<String>,
    /// The filter (Qdrant's REST JSON).
    pub filter_json: Option<serde_json::Value>,
    /// The share of points passing, when the dataset says.
    pub selectivity: Option<f64>,
    /// Where the ground truth came from: `dataset`, `computed` (brute
    /// force here) or `exact search` (the target's exact scan, for filters).
    pub ground_truth: String,
    /// One point per ef.
    pub sweep: Vec<SweepPoint>,
}

/// One ef of a sweep.
#[derive(Serialize, Debug, Clone)]
pub struct SweepPoint {
    /// The search width.
    pub ef: usize,
    /// Mean recall@k over the queries.
    pub recall: f64,
    /// Queries per second, one at a time on one thread (1 / mean latency).
    pub qps_single: f64,
    /// Queries per second with `search_threads` in flight.
    pub qps_all: f64,
    /// Median single-thread latency, microseconds.
    pub p50_us: f64,
    /// 95th percentile, microseconds.
    pub p95_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// Queries measured.
    pub n_queries: usize,
}

/// A progress bar on stderr that shows only on a terminal (and not with
/// `--quiet`).
pub fn bar(quiet: bool, len: u64, message: impl Into<String>) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{msg:30} [{bar:30}] {pos}/{len} {elapsed}/{eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    pb.set_message(message.into());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// A spinner on stderr for a step of unknown length (same rules as [`bar`]).
pub fn spinner(quiet: bool, message: impl Into<String>) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(message.into());
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `bench run`.
pub fn run(a: RunArgs) -> Result<()> {
    let report = measure_all(&a)?;
    let json = serde_json::to_string_pretty(&report)?;
    match a.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => println!("{json}"),
        Some(p) => {
            std::fs::write(p, &json).with_context(|| format!("writing {}", p.display()))?;
            print!("{}", table(&report));
        }
        None => print!("{}", table(&report)),
    }
    if let Some(path) = &a.plot {
        let peers = a
            .peers
            .iter()
            .map(|p| plot::read_peers(p))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        let svg = plot::svg(&report, &peers);
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Reads, builds and measures everything `a` asks for.
pub fn measure_all(a: &RunArgs) -> Result<Report> {
    ensure!(a.k > 0, "--k must be positive");
    ensure!(!a.ef.is_empty(), "--ef needs at least one value");
    ensure!(a.repeats > 0, "--repeats must be positive");
    ensure!(
        !a.m.is_empty() && !a.ef_construct.is_empty(),
        "--m and --ef-construct need values"
    );
    if let Some(p) = &a.plot {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default();
        ensure!(
            ext.eq_ignore_ascii_case("svg"),
            "--plot writes SVG: name the file FILE.svg"
        );
    }
    let src = DatasetSource {
        path: a.dataset.clone(),
        queries: a.queries.clone(),
        ground_truth: a.ground_truth.clone(),
        distance: a.distance.as_deref().map(parse_distance).transpose()?,
        max_base: a.max_base,
    };
    let reading = spinner(a.quiet, format!("reading {}", a.dataset.display()));
    let mut ds = Dataset::load(&src)?;
    reading.finish_and_clear();
    if let Some(n) = a.max_queries {
        ds.truncate_queries(n);
    }

    // Ground truth: the dataset's if it covers k, else exact brute force.
    let covers_k = ds
        .ground_truth
        .as_ref()
        .is_some_and(|gt| gt.iter().all(|r| r.len() >= a.k.min(ds.n_base())));
    let given = covers_k && !a.compute_ground_truth;
    let mut gt_seconds = None;
    let mut gt_agreement = None;
    let truth = if given {
        ds.ground_truth.clone().expect("checked")
    } else {
        let pb = bar(a.quiet, ds.n_query() as u64, "exact ground truth");
        let t = Instant::now();
        let gt = measure::ground_truth(ds.distance, ds.dim, &ds.base, &ds.queries, a.k, &pb);
        gt_seconds = Some(t.elapsed().as_secs_f64());
        pb.finish_and_clear();
        if covers_k && let Some(theirs) = &ds.ground_truth {
            gt_agreement = Some(measure::mean_recall(theirs, &gt, a.k));
        }
        gt
    };

    // Filters: names from the dataset, or JSON.
    let mut filters = Vec::new();
    for (i, f) in a.filter.iter().enumerate() {
        if f.trim_start().starts_with('{') {
            let json: serde_json::Value =
                serde_json::from_str(f).with_context(|| format!("--filter {f}"))?;
            filters.push(FilterRun {
                name: format!("filter{}", i + 1),
                json,
                truth: None,
                selectivity: None,
            });
        } else {
            let named = ds.filters.iter().find(|n| n.name == *f).with_context(|| {
                let names: Vec<&str> = ds.filters.iter().map(|n| n.name.as_str()).collect();
                format!("no filter {f:?} in the dataset (it has {names:?})")
            })?;
            // Rows shorter than the stored width are filters passing few points.
            let truth = named.ground_truth.clone().filter(|gt| gt_width(gt) >= a.k);
            filters.push(FilterRun {
                name: named.name.clone(),
                json: named.filter.clone(),
                truth: truth.map(|t| (t, "dataset")),
                selectivity: named.selectivity,
            });
        }
    }
    if !filters.is_empty() && ds.payloads.is_none() {
        bail!("--filter needs payloads, and this dataset has none");
    }

    let search_threads = if a.search_threads == 0 {
        cores()
    } else {
        a.search_threads
    };
    let build_threads = if a.threads == 0 { cores() } else { a.threads };
    let mut target: Box<dyn Target> = match &a.target {
        None => Box::new(Embedded::new(a.workdir.clone())),
        Some(url) => {
            let tls = TlsOptions {
                ca: a.tls_ca.clone(),
                domain: a.tls_domain.clone(),
            };
            let upload = (a.batch_size, a.upload_parallel);
            let key = a.api_key.clone();
            if url.starts_with("http://") || url.starts_with("https://") {
                Box::new(RestRemote::connect(url, &a.collection, key, upload, &tls)?)
            } else {
                Box::new(Remote::connect(url, &a.collection, key, upload, &tls)?)
            }
        }
    };
    target.set_filters(&filters.iter().map(|f| f.json.clone()).collect::<Vec<_>>())?;

    let full_scan_threshold = a
        .full_scan_threshold
        .unwrap_or(vicinity::HnswConfig::default().full_scan_threshold);
    let vector_kib = ds.base.len() * 4 / 1024;
    if vector_kib < full_scan_threshold {
        eprintln!(
            "note: the vectors take {vector_kib} KiB, below full_scan_threshold = \
             {full_scan_threshold} KiB: every search scores all points exactly and ef \
             changes nothing; pass --full-scan-threshold 0 to measure the graph"
        );
    }
    let mut configs = Vec::new();
    for &m in &a.m {
        for &ef_construct in &a.ef_construct {
            configs.push(BuildConfig {
                label: format!("m{m} efc{ef_construct}"),
                m,
                ef_construct,
                threads: build_threads,
                full_scan_threshold,
                payload_index: a.payload_index,
            });
        }
    }

    let mut out = Vec::new();
    for cfg in configs {
        let pb = bar(a.quiet, ds.n_base() as u64, format!("build {}", cfg.label));
        let build = target.build(&ds, &cfg, &pb)?;
        pb.finish_and_clear();
        let sweeper = Sweeper {
            a,
            ds: &ds,
            target: target.as_ref(),
            search_threads,
        };
        let source = if given { "dataset" } else { "computed" };
        let mut series = vec![sweeper.series(&cfg.label, None, &truth, source)?];
        for (i, f) in filters.iter_mut().enumerate() {
            if f.truth.is_none() {
                // The exact scan under the filter does not depend on the
                // graph: computed once, on the first configuration.
                let pb = bar(a.quiet, ds.n_query() as u64, format!("exact {}", f.name));
                let gt = (0..ds.n_query())
                    .map(|q| {
                        pb.inc(1);
                        target.search(ds.query(q), a.k, a.k, Some(i), true)
                    })
                    .collect::<Result<Vec<_>>>()?;
                pb.finish_and_clear();
                f.truth = Some((gt, "exact search"));
            }
            let (truth, source) = f.truth.as_ref().expect("set above");
            let mut s =
                sweeper.series(&format!("{} {}", cfg.label, f.name), Some(i), truth, source)?;
            s.filter = Some(f.name.clone());
            s.filter_json = Some(f.json.clone());
            s.selectivity = f.selectivity;
            series.push(s);
        }
        out.push(ConfigReport {
            config: cfg,
            build,
            series,
        });
    }

    Ok(Report {
        format: "vicinity-bench-run-1",
        target: target.describe(),
        dataset: DatasetReport {
            path: a.dataset.display().to_string(),
            name: ds.name.clone(),
            format: ds.format.into(),
            distance: format!("{:?}", ds.distance),
            dim: ds.dim,
            n_base: ds.n_base(),
            n_query: ds.n_query(),
            ground_truth: if given { "dataset" } else { "computed" },
            ground_truth_seconds: gt_seconds,
            ground_truth_agreement: gt_agreement,
        },
        machine: MachineReport {
            cpus: cores(),
            simd: vicinity_index::kernels::simd_capability().to_string(),
            search_threads,
        },
        k: a.k,
        repeats: a.repeats,
        configs: out,
        peak_rss_bytes: measure::peak_rss_bytes(),
    })
}

/// The widest row of a ground truth (its stored k).
fn gt_width(gt: &[Vec<u32>]) -> usize {
    gt.iter().map(Vec::len).max().unwrap_or(0)
}

/// A filter to sweep under.
struct FilterRun {
    name: String,
    json: serde_json::Value,
    /// Its exact neighbours and where they came from, once known.
    truth: Option<(Vec<Vec<u32>>, &'static str)>,
    selectivity: Option<f64>,
}

/// What every sweep of a run shares.
struct Sweeper<'a> {
    a: &'a RunArgs,
    ds: &'a Dataset,
    target: &'a dyn Target,
    search_threads: usize,
}

impl Sweeper<'_> {
    /// Sweeps every ef under filter number `filter` (or none) and measures
    /// against `truth`.
    fn series(
        &self,
        label: &str,
        filter: Option<usize>,
        truth: &[Vec<u32>],
        source: &str,
    ) -> Result<Series> {
        let Sweeper {
            a,
            ds,
            target,
            search_threads,
        } = *self;
        let nq = ds.n_query();
        let mut points = Vec::new();
        for &ef in &a.ef {
            let pb = bar(
                a.quiet,
                (nq * (a.repeats + 1)) as u64,
                format!("{label} ef {ef}"),
            );
            let mut found = Vec::with_capacity(nq);
            let mut latencies = Vec::with_capacity(nq * a.repeats);
            for pass in 0..a.repeats {
                for q in 0..nq {
                    let t = Instant::now();
                    let ids = target.search(ds.query(q), a.k, ef, filter, false)?;
                    latencies.push(t.elapsed().as_secs_f64());
                    if pass == 0 {
                        found.push(ids);
                    }
                    pb.inc(1);
                }
            }
            let wall = target.search_all(ds, a.k, ef, filter, search_threads, &pb)?;
            pb.finish_and_clear();
            let total: f64 = latencies.iter().sum();
            let us: Vec<f64> = latencies.iter().map(|s| s * 1e6).collect();
            points.push(SweepPoint {
                ef,
                recall: measure::mean_recall(&found, truth, a.k),
                qps_single: latencies.len() as f64 / total.max(f64::MIN_POSITIVE),
                qps_all: nq as f64 / wall.max(f64::MIN_POSITIVE),
                p50_us: measure::percentile(&us, 50.0),
                p95_us: measure::percentile(&us, 95.0),
                p99_us: measure::percentile(&us, 99.0),
                n_queries: nq,
            });
        }
        Ok(Series {
            filter: None,
            filter_json: None,
            selectivity: None,
            ground_truth: source.into(),
            sweep: points,
        })
    }
}

fn mib(b: Option<u64>) -> String {
    b.map_or_else(
        || "-".into(),
        |b| format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
    )
}

/// The report as a terminal table.
pub fn table(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let d = &r.dataset;
    let _ = writeln!(
        s,
        "{} ({}, {}, {} x {}, {} queries, ground truth {}), target {}, k = {}, {} cores ({}), {} search threads",
        d.name,
        d.format,
        d.distance,
        d.n_base,
        d.dim,
        d.n_query,
        d.ground_truth,
        r.target,
        r.k,
        r.machine.cpus,
        r.machine.simd,
        r.machine.search_threads
    );
    if let Some(agree) = d.ground_truth_agreement {
        let _ = writeln!(
            s,
            "the dataset's ground truth agrees with the computed one: recall@{} {agree:.4}",
            r.k
        );
    }
    for c in &r.configs {
        let b = &c.build;
        let how = if r.target == "embedded" {
            format!("on {} threads", c.config.threads)
        } else {
            "(upload until green)".to_string()
        };
        let _ = writeln!(
            s,
            "\n{}: build {:.2} s {how}, on disk {}, in memory {}",
            c.config.label,
            b.seconds,
            mib(b.index_bytes_on_disk),
            mib(b.index_bytes_in_memory)
        );
        let _ = writeln!(
            s,
            "{:<12} {:>5} {:>8} {:>12} {:>12} {:>9} {:>9} {:>9}",
            "filter", "ef", "recall", "QPS 1 thr", "QPS all", "p50 us", "p95 us", "p99 us"
        );
        for series in &c.series {
            for p in &series.sweep {
                let _ = writeln!(
                    s,
                    "{:<12} {:>5} {:>8.4} {:>12.0} {:>12.0} {:>9.1} {:>9.1} {:>9.1}",
                    series.filter.as_deref().unwrap_or("-"),
                    p.ef,
                    p.recall,
                    p.qps_single,
                    p.qps_all,
                    p.p50_us,
                    p.p95_us,
                    p.p99_us
                );
            }
        }
    }
    let _ = writeln!(s, "\npeak memory {}", mib(r.peak_rss_bytes));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::dataset::tests::write_vbench;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["run", "--quiet"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).expect("valid arguments").run
    }

    /// Checks that hold whatever the machine's speed: shapes, ranges,
    /// percentile order, and, unfiltered, that a wide search finds at least
    /// what a narrow one does: with ef >= n_base the walk keeps every point
    /// it reaches, so it is near exact. Filtered walks make no such promise
    /// (a filtered walk can miss passing points the graph does not connect
    /// to; 0.89 at ef 200 was seen on 150 points), so they get the range
    /// checks only.
    fn check_sane(r: &Value, efs: &[u64], n_base: u64) {
        assert_eq!(r["format"], "vicinity-bench-run-1");
        assert_eq!(r["dataset"]["n_base"], n_base);
        for c in r["configs"].as_array().unwrap() {
            assert!(c["build"]["seconds"].as_f64().unwrap() > 0.0);
            for s in c["series"].as_array().unwrap() {
                let sweep = s["sweep"].as_array().unwrap();
                let got: Vec<u64> = sweep.iter().map(|p| p["ef"].as_u64().unwrap()).collect();
                assert_eq!(got, efs);
                for p in sweep {
                    let recall = p["recall"].as_f64().unwrap();
                    assert!((0.0..=1.0).contains(&recall), "{p}");
                    assert!(p["qps_single"].as_f64().unwrap() > 0.0, "{p}");
                    assert!(p["qps_all"].as_f64().unwrap() > 0.0, "{p}");
                    let (p50, p95, p99) = (
                        p["p50_us"].as_f64().unwrap(),
                        p["p95_us"].as_f64().unwrap(),
                        p["p99_us"].as_f64().unwrap(),
                    );
                    assert!(0.0 < p50 && p50 <= p95 && p95 <= p99, "{p}");
                }
                if s["filter"].is_null() {
                    let first = sweep[0]["recall"].as_f64().unwrap();
                    let last = sweep.last().unwrap()["recall"].as_f64().unwrap();
                    assert!(last >= first && last > 0.9, "{s}");
                }
            }
        }
    }

    use serde_json::Value;

    #[test]
    fn bench_run_writes_json_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("tiny");
        fs_create(&data);
        write_vbench(&data, 150, 8, 6);
        let peers = dir.path().join("peers.json");
        std::fs::write(
            &peers,
            r#"{"runs": [{"label": "hnswlib M16", "threads": 2,
                 "sweep": [{"ef": 16, "recall10": 0.9, "qps": 9000.0}, {"ef": 64, "recall10": 0.99, "qps": 4000.0}],
                 "filtered": [{"ef": 64, "recall10": 0.97, "qps": 3000.0, "filter": "cheap"},
                              {"ef": 64, "recall10": 0.97, "qps": 3000.0, "filter": "sel1"}]}]}"#,
        )
        .unwrap();
        let json = dir.path().join("out.json");
        let svg = dir.path().join("out.svg");
        let a = args(&[
            "--dataset",
            data.to_str().unwrap(),
            "--m",
            "8,16",
            "--ef-construct",
            "32",
            "--full-scan-threshold",
            "0",
            "--ef",
            "4,200",
            "--repeats",
            "2",
            "--threads",
            "2",
            "--search-threads",
            "2",
            "--filter",
            "cheap",
            "--filter",
            r#"{"must": [{"key": "category", "match": {"any": ["cat-1", "cat-2"]}}]}"#,
            "--payload-index",
            "--json",
            json.to_str().unwrap(),
            "--plot",
            svg.to_str().unwrap(),
            "--peers",
            peers.to_str().unwrap(),
            "--workdir",
            dir.path().join("work").to_str().unwrap(),
        ]);
        run(a).unwrap();
        let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        check_sane(&r, &[4, 200], 150);
        assert_eq!(r["target"], "embedded");
        assert_eq!(r["dataset"]["ground_truth"], "dataset");
        let configs = r["configs"].as_array().unwrap();
        assert_eq!(configs.len(), 2);
        assert_eq!(configs[1]["label"], "m16 efc32");
        let series = configs[0]["series"].as_array().unwrap();
        let filters: Vec<&Value> = series.iter().map(|s| &s["filter"]).collect();
        assert_eq!(
            filters,
            [&Value::Null, &Value::from("cheap"), &Value::from("filter2")]
        );
        assert_eq!(series[1]["ground_truth"], "exact search");
        assert!(configs[0]["build"]["index_bytes_on_disk"].as_u64().unwrap() > 0);
        assert!(r["peak_rss_bytes"].as_u64().is_some_and(|b| b > 0) || !cfg!(target_os = "linux"));

        let svg = std::fs::read_to_string(&svg).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        // Ours: 2 configs x 3 series; peers: the unfiltered sweep and the
        // `cheap` filter (not sel1, which we did not run).
        assert_eq!(svg.matches(r#"class="ours""#).count(), 6);
        assert_eq!(svg.matches(r#"class="peer""#).count(), 2);
    }

    #[test]
    fn bench_run_on_hdf5_checks_the_stored_ground_truth() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/tiny-angular.hdf5");
        let a = args(&[
            "--dataset",
            path.to_str().unwrap(),
            "--compute-ground-truth",
            "--full-scan-threshold",
            "0",
            "--ef",
            "2,64",
            "--repeats",
            "1",
        ]);
        let r = serde_json::to_value(measure_all(&a).unwrap()).unwrap();
        check_sane(&r, &[2, 64], 60);
        assert_eq!(r["dataset"]["format"], "ann-benchmarks-hdf5");
        assert_eq!(r["dataset"]["distance"], "Cosine");
        assert_eq!(r["dataset"]["ground_truth"], "computed");
        // numpy's neighbours (make_fixtures.py) are ours exactly.
        assert_eq!(r["dataset"]["ground_truth_agreement"], 1.0);
        // Fewer base vectors: the stored neighbours no longer hold.
        let mut fewer = a.clone();
        fewer.max_base = Some(30);
        fewer.compute_ground_truth = false;
        let r = serde_json::to_value(measure_all(&fewer).unwrap()).unwrap();
        check_sane(&r, &[2, 64], 30);
        assert_eq!(r["dataset"]["ground_truth"], "computed");
        assert!(r["dataset"]["ground_truth_agreement"].is_null());
        // A plot needs an .svg name.
        let bad = args(&["--dataset", path.to_str().unwrap(), "--plot", "x.png"]);
        assert!(measure_all(&bad).is_err());
    }

    fn fs_create(p: &std::path::Path) {
        std::fs::create_dir_all(p).unwrap();
    }

    #[test]
    fn bench_run_measures_a_server_over_grpc() {
        measures_a_server(|s| format!("grpc://{}", s.grpc_addr()));
    }

    #[test]
    fn bench_run_measures_a_server_over_rest() {
        measures_a_server(|s| format!("http://{}", s.http_addr()));
    }

    fn measures_a_server(url: impl Fn(&vicinity_server::testing::TestServer) -> String) {
        let dir = tempfile::tempdir().unwrap();
        write_vbench(dir.path(), 120, 6, 6);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt
            .block_on(vicinity_server::testing::TestServer::start())
            .unwrap();
        let url = url(&server);
        let a = args(&[
            "--dataset",
            dir.path().to_str().unwrap(),
            "--target",
            &url,
            "--full-scan-threshold",
            "0",
            "--ef",
            "4,200",
            "--repeats",
            "1",
            "--search-threads",
            "3",
            "--batch-size",
            "50",
            "--upload-parallel",
            "3",
            "--filter",
            "cheap",
            "--payload-index",
        ]);
        let report = measure_all(&a).unwrap();
        let r = serde_json::to_value(&report).unwrap();
        check_sane(&r, &[4, 200], 120);
        assert_eq!(r["target"], url);
        // Everything went through the wire into the server's database.
        let c = server.state.db.collection("vicinity-bench").unwrap();
        assert_eq!(c.count(), 120);
        assert_eq!(c.info().payload_schema.len(), 2);
        assert!(table(&report).contains("cheap"));
    }

    #[test]
    fn bench_run_speaks_tls_with_an_api_key() {
        speaks_tls_with_an_api_key(|s| format!("grpcs://{}", s.grpc_addr()));
    }

    #[test]
    fn bench_run_speaks_https_with_an_api_key() {
        speaks_tls_with_an_api_key(|s| format!("https://{}", s.http_addr()));
    }

    fn speaks_tls_with_an_api_key(url: impl Fn(&vicinity_server::testing::TestServer) -> String) {
        let dir = tempfile::tempdir().unwrap();
        write_vbench(dir.path(), 40, 3, 6);
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ck.cert.pem()).unwrap();
        let config = vicinity_server::ServerConfig {
            tls: Some(vicinity_server::TlsFiles {
                cert_pem: ck.cert.pem().into_bytes(),
                key_pem: ck.signing_key.serialize_pem().into_bytes(),
            }),
            keys: vicinity_server::ApiKeys {
                api_key: Some("s3cret".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt
            .block_on(vicinity_server::testing::TestServer::start_with(config))
            .unwrap();
        let url = url(&server);
        let base = [
            "--dataset",
            dir.path().to_str().unwrap(),
            "--target",
            &url,
            "--ef",
            "8",
            "--repeats",
            "1",
            "--tls-ca",
            ca.to_str().unwrap(),
            "--tls-domain",
            "localhost",
        ];
        let mut with_key = base.to_vec();
        with_key.extend(["--api-key", "s3cret"]);
        let r = measure_all(&args(&with_key)).unwrap();
        assert_eq!(r.configs[0].series[0].sweep.len(), 1);
        assert_eq!(
            server
                .state
                .db
                .collection("vicinity-bench")
                .unwrap()
                .count(),
            40
        );
        // Without the key the server refuses, and the error says where.
        let e = measure_all(&args(&base)).unwrap_err();
        assert!(format!("{e:#}").contains("collection"), "{e:#}");
    }
}
