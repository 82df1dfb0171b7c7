//! What `bench run` computes from raw results: exact ground truth, recall,
//! latency percentiles, peak memory and bytes on disk.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::path::Path;

use indicatif::ProgressBar;
use rayon::prelude::*;
use vicinity::Distance;

/// A candidate in the exact top-k, ordered better-is-greater (higher
/// similarity, then the smaller id).
#[derive(Clone, Copy, PartialEq)]
struct Kept {
    similarity: f32,
    id: u32,
}

impl Eq for Kept {}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        // "Greater" = better: higher similarity, then smaller id.
        self.similarity
            .total_cmp(&other.similarity)
            .then(other.id.cmp(&self.id))
    }
}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The exact `k` nearest base rows of each query, best first, ties broken
/// by the smaller id (as `shared/bench` does): a brute-force scan with the
/// engine's kernels, parallel over queries on the current rayon pool.
/// Vectors are preprocessed (cosine normalisation) as the engine does.
pub fn ground_truth(
    distance: Distance,
    dim: usize,
    base: &[f32],
    queries: &[f32],
    k: usize,
    progress: &ProgressBar,
) -> Vec<Vec<u32>> {
    let base = preprocessed(distance, base, dim);
    let queries = preprocessed(distance, queries, dim);
    queries
        .par_chunks_exact(dim)
        .map(|q| {
            // The heap holds the best k; its top is the worst of them.
            let mut heap: BinaryHeap<std::cmp::Reverse<Kept>> = BinaryHeap::with_capacity(k + 1);
            for (id, v) in base.chunks_exact(dim).enumerate() {
                let cand = Kept {
                    similarity: distance.similarity(q, v),
                    id: id as u32,
                };
                if heap.len() < k {
                    heap.push(std::cmp::Reverse(cand));
                } else if let Some(worst) = heap.peek()
                    && cand > worst.0
                {
                    heap.pop();
                    heap.push(std::cmp::Reverse(cand));
                }
            }
            progress.inc(1);
            let mut kept: Vec<Kept> = heap.into_iter().map(|r| r.0).collect();
            kept.sort_by(|a, b| b.cmp(a));
            kept.into_iter().map(|c| c.id).collect()
        })
        .collect()
}

fn preprocessed(distance: Distance, rows: &[f32], dim: usize) -> std::borrow::Cow<'_, [f32]> {
    if distance != Distance::Cosine {
        return std::borrow::Cow::Borrowed(rows);
    }
    let mut owned = rows.to_vec();
    owned
        .par_chunks_exact_mut(dim)
        .for_each(|r| distance.preprocess(r));
    std::borrow::Cow::Owned(owned)
}

/// Recall@k of one query: the share of the first `k` true neighbours
/// found among the first `k` results. A query whose ground truth has fewer
/// than `k` ids (a filter passing few points) is measured against those;
/// one with none is `None` (nothing to find).
pub fn recall_at(found: &[u32], truth: &[u32], k: usize) -> Option<f64> {
    let truth = &truth[..truth.len().min(k)];
    if truth.is_empty() {
        return None;
    }
    let found = &found[..found.len().min(k)];
    let hits = truth.iter().filter(|t| found.contains(t)).count();
    Some(hits as f64 / truth.len() as f64)
}

/// Mean recall@k over queries that have ground truth (0 if none have).
pub fn mean_recall(found: &[Vec<u32>], truth: &[Vec<u32>], k: usize) -> f64 {
    let per: Vec<f64> = found
        .iter()
        .zip(truth)
        .filter_map(|(f, t)| recall_at(f, t, k))
        .collect();
    if per.is_empty() {
        0.0
    } else {
        per.iter().sum::<f64>() / per.len() as f64
    }
}

/// The `p`-th percentile (0..=100) of `values` by the nearest-rank method:
/// the smallest value with at least `p`% of the values at or below it.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// This process's peak resident set (`VmHWM` of `/proc/self/status`), in
/// bytes; `None` where there is no such file.
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// This process's current resident set (`VmRSS`), in bytes.
pub fn rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// Process `pid`'s current resident set (`VmRSS`), in bytes.
pub fn rss_bytes_of(pid: u32) -> Option<u64> {
    proc_status_kib(&format!("/proc/{pid}/status"), "VmRSS:").map(|k| k * 1024)
}

fn status_kib(field: &str) -> Option<u64> {
    proc_status_kib("/proc/self/status", field)
}

fn proc_status_kib(file: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(file).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The bytes of every file under `dir`, recursively.
pub fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generator with a fixed seed (printed on failure by the callers'
    /// assertions through the data they compare).
    fn lcg(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// The naive oracle: score everything, sort, truncate.
    fn naive(distance: Distance, dim: usize, base: &[f32], q: &[f32], k: usize) -> Vec<u32> {
        let prep = |v: &[f32]| {
            let mut v = v.to_vec();
            distance.preprocess(&mut v);
            v
        };
        let q = prep(q);
        let mut all: Vec<(f32, u32)> = base
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| (distance.similarity(&q, &prep(v)), i as u32))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|(_, i)| i).collect()
    }

    #[test]
    fn ground_truth_matches_sort_and_truncate() {
        let dim = 7;
        let base = lcg(1, 300 * dim);
        let queries = lcg(2, 12 * dim);
        for distance in Distance::ALL {
            for k in [1, 10, 300, 400] {
                let got = ground_truth(distance, dim, &base, &queries, k, &ProgressBar::hidden());
                for (i, q) in queries.chunks_exact(dim).enumerate() {
                    assert_eq!(
                        got[i],
                        naive(distance, dim, &base, q, k),
                        "{distance:?} k={k} query {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn ground_truth_breaks_ties_by_smaller_id() {
        // Four identical rows: every one ties; the smaller ids win.
        let base = vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let got = ground_truth(
            Distance::Dot,
            2,
            &base,
            &[1.0, 0.0],
            2,
            &ProgressBar::hidden(),
        );
        assert_eq!(got, vec![vec![0, 1]]);
    }

    #[test]
    fn recall_counts_true_neighbours_in_the_first_k() {
        assert_eq!(recall_at(&[1, 2, 3], &[3, 2, 1], 3), Some(1.0));
        assert_eq!(recall_at(&[1, 9, 8], &[1, 2, 3], 3), Some(1.0 / 3.0));
        // Only the first k of each side count.
        assert_eq!(recall_at(&[9, 1], &[1, 2], 1), Some(0.0));
        // Fewer true neighbours than k: measured against those.
        assert_eq!(recall_at(&[5, 6, 7], &[6], 3), Some(1.0));
        assert_eq!(recall_at(&[5], &[], 3), None);
        let m = mean_recall(
            &[vec![1, 2], vec![3, 4], vec![]],
            &[vec![1, 2], vec![3, 9], vec![]],
            2,
        );
        assert!((m - 0.75).abs() < 1e-12, "{m}");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn memory_and_disk_are_read() {
        if cfg!(target_os = "linux") {
            // RSS first: other tests' threads may allocate in between, and
            // the high-water mark is never below an RSS read before it
            let now = rss_bytes().expect("VmRSS on Linux");
            let peak = peak_rss_bytes().expect("VmHWM on Linux");
            assert!(peak >= now && now > 0, "peak {peak}, now {now}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 10]).unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/b"), [0u8; 5]).unwrap();
        assert_eq!(dir_bytes(dir.path()).unwrap(), 15);
    }
}
