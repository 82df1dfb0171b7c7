//! Durability figures: reopen time and peak memory of a large collection,
//! in memory and `on_disk`, and acknowledged upsert throughput.
//!
//! ```text
//! cargo run --release -p vicinity --example durability_figures -- [POINTS] [DIM] [DIR]
//! ```
//!
//! Defaults: 100,000 points of 384 dimensions (cosine), in a temporary
//! folder (or `DIR`, which should be on the disk you care about). Each
//! reopen runs in a fresh child process, so its peak memory (`VmHWM`) is
//! its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vicinity::{
    CollectionConfig, Database, Distance, Payload, PointStruct, SearchRequest, UpdateOperation,
    VectorParams,
};

/// A deterministic stream of pseudo-random numbers (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.unit()).collect()
    }
}

fn status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn point(id: u64, rng: &mut Rng, dim: usize) -> PointStruct {
    let payload = Payload::try_from(serde_json::json!({
        "brand": format!("b{}", id % 50),
        "price": (id % 1000) as f64 / 10.0,
    }))
    .expect("an object");
    PointStruct::new(id, rng.vector(dim), payload)
}

fn build(dir: &Path, n: usize, dim: usize, on_disk: bool) -> anyhow::Result<()> {
    let db = Database::open(dir)?;
    let params = VectorParams::new(dim, Distance::Cosine).with_on_disk(on_disk);
    let c = db.create_collection("items", CollectionConfig::named([("", params)]))?;
    let mut rng = Rng(7);
    let start = Instant::now();
    for chunk in (0..n as u64).collect::<Vec<_>>().chunks(10_000) {
        let points = chunk.iter().map(|&i| point(i, &mut rng, dim)).collect();
        c.update(UpdateOperation::Upsert(points), false)?;
    }
    c.flush()?;
    c.finish_indexing();
    let built = start.elapsed();
    let start = Instant::now();
    c.checkpoint()?;
    println!(
        "  built {n} x {dim} in {:.1} s, checkpoint {:.2} s",
        built.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// In a child process: open, search, report.
fn reopen(dir: &Path, dim: usize) -> anyhow::Result<()> {
    let before = status("VmRSS:");
    let start = Instant::now();
    let db = Database::open(dir)?;
    let c = db.collection("items")?;
    let opened = start.elapsed();
    let after_open = status("VmRSS:");
    let mut rng = Rng(99);
    let start = Instant::now();
    let queries = 1000;
    for _ in 0..queries {
        let hits = c.search(&SearchRequest::new(rng.vector(dim), 10))?;
        assert_eq!(hits.len(), 10);
    }
    let searched = start.elapsed();
    let m = c.info().memory;
    println!(
        "  reopen {:.3} s ({} points); RSS after open {:.0} MiB (+{:.0}), peak after {queries} searches {:.0} MiB; {:.0} q/s; report: vectors in memory {:.0} MiB, on disk {:.0} MiB, graph {:.0} MiB",
        opened.as_secs_f64(),
        c.count(),
        mib(after_open),
        mib(after_open.saturating_sub(before)),
        mib(status("VmHWM:")),
        queries as f64 / searched.as_secs_f64(),
        m.vectors_in_memory as f64 / 1048576.0,
        m.vectors_on_disk as f64 / 1048576.0,
        m.graphs as f64 / 1048576.0,
    );
    Ok(())
}

fn throughput(dir: &Path, dim: usize) -> anyhow::Result<()> {
    let db = Database::open(dir)?;
    let c = db.create_collection("writes", CollectionConfig::single(dim, Distance::Cosine))?;
    let mut rng = Rng(3);
    let mut next = 0u64;
    for (batch, total) in [(1usize, 2_000usize), (64, 32_000), (1024, 64_000)] {
        let start = Instant::now();
        let mut done = 0;
        while done < total {
            let points = (0..batch)
                .map(|_| {
                    next += 1;
                    point(next, &mut rng, dim)
                })
                .collect();
            c.update(UpdateOperation::Upsert(points), true)?;
            done += batch;
        }
        let secs = start.elapsed().as_secs_f64();
        c.finish_indexing();
        let indexed = start.elapsed().as_secs_f64();
        println!(
            "  batch {batch:>5}, wait=true, one writer: {:>9.0} points/s acknowledged ({total} points in {secs:.2} s), {:>7.0} points/s indexed ({indexed:.2} s)",
            total as f64 / secs,
            total as f64 / indexed
        );
    }
    // many writers of one point each: the group commit at work
    let threads = 8;
    let each = 500;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let c = &c;
            s.spawn(move || {
                let mut rng = Rng(1000 + t);
                for i in 0..each {
                    let p = point(10_000_000 + t * 100_000 + i, &mut rng, dim);
                    c.update(UpdateOperation::Upsert(vec![p]), true)
                        .expect("a write");
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  batch     1, wait=true, {threads} writers: {:>9.0} points/s acknowledged ({} points in {secs:.2} s)",
        (threads * each) as f64 / secs,
        threads * each
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--reopen") {
        return reopen(Path::new(&args[2]), args[3].parse()?);
    }
    let n: usize = args.get(1).map_or(Ok(100_000), |s| s.parse())?;
    let dim: usize = args.get(2).map_or(Ok(384), |s| s.parse())?;
    let tmp = tempfile::tempdir()?;
    let root: PathBuf = args.get(3).map_or(tmp.path().to_path_buf(), PathBuf::from);
    let exe = std::env::current_exe()?;
    for on_disk in [false, true] {
        let dir = root.join(if on_disk { "on_disk" } else { "in_memory" });
        let _ = std::fs::remove_dir_all(&dir);
        println!("{} vectors:", if on_disk { "on_disk" } else { "in-memory" });
        build(&dir, n, dim, on_disk)?;
        for _ in 0..2 {
            let status = Command::new(&exe)
                .arg("--reopen")
                .arg(&dir)
                .arg(dim.to_string())
                .status()?;
            anyhow::ensure!(status.success(), "the reopen child failed");
        }
    }
    println!("acknowledged upserts ({dim} dimensions):");
    let dir = root.join("throughput");
    let _ = std::fs::remove_dir_all(&dir);
    throughput(&dir, dim)?;
    Ok(())
}
