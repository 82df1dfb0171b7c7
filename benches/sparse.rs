//! Sparse search: `SparseIndex::search` (MaxScore over the posting lists)
//! against `score_rows` over every row (the exact scan), on seeded BM25-like
//! documents: a Zipf vocabulary (a few terms in a large share of the
//! documents, most in few), 7 terms a document, queries of 2, 4 and 8
//! terms weighted by IDF. The real-text profile (`profiles/pypi_bm25.py`)
//! and the peers (`sparse_peers.py`) are in `vicinity bench sparse`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vicinity_index::{AllowAll, PointOffset, SparseIndex};
use vicinity_tests::Rng;

const DOCS: usize = 200_000;
const VOCABULARY: f64 = 100_000.0;

/// A term id with a Zipf-like distribution (`u^4` over the vocabulary).
fn term(rng: &mut Rng) -> u32 {
    let u = rng.uniform();
    (u * u * u * u * VOCABULARY) as u32
}

fn index() -> SparseIndex {
    let mut rng = Rng::new(17);
    let mut index = SparseIndex::new();
    for _ in 0..DOCS {
        let mut terms: Vec<u32> = (0..7).map(|_| term(&mut rng)).collect();
        terms.sort_unstable();
        terms.dedup();
        let weights: Vec<f32> = terms
            .iter()
            .map(|_| 0.5 + rng.uniform() as f32 * 1.7)
            .collect();
        index.push(&terms, &weights);
    }
    index
}

fn bench(c: &mut Criterion) {
    let index = index();
    let mut rng = Rng::new(99);
    let mut g = c.benchmark_group("sparse_search_200k");
    for n in [2usize, 4, 8] {
        let queries: Vec<(Vec<u32>, Vec<f32>)> = (0..64)
            .map(|_| {
                let mut terms: Vec<u32> = (0..n).map(|_| term(&mut rng)).collect();
                terms.sort_unstable();
                terms.dedup();
                let weights = index.idf_weighted(&terms, &vec![1.0; terms.len()]);
                (terms, weights)
            })
            .collect();
        g.bench_with_input(BenchmarkId::new("maxscore", n), &queries, |b, qs| {
            let mut i = 0;
            b.iter(|| {
                let (t, w) = &qs[i % qs.len()];
                i += 1;
                black_box(index.search(t, w, 10, &AllowAll))
            })
        });
        g.bench_with_input(BenchmarkId::new("exact_scan", n), &queries, |b, qs| {
            let mut i = 0;
            b.iter(|| {
                let (t, w) = &qs[i % qs.len()];
                i += 1;
                let rows = (0..DOCS as u32).map(PointOffset);
                black_box(index.score_rows(t, w, rows, 10, &AllowAll))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
