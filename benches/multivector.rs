//! Multivectors (ColBERT-style late interaction): MaxSim over matrices of
//! token vectors. A seeded profile of 4,000 documents of 8 to 32 token
//! vectors (64-d, Cosine; each document's tokens near one of 40 topic
//! centres), queries of 16 tokens. Measured: one MaxSim (a 16-token query
//! against a 32-token document), a search through the HNSW graph built
//! over MaxSim (one node per document), the exact scan of every document,
//! and the rerank of 100 prefetched candidates (the ColBERT recipe with
//! `m = 0`). The graph's recall@10 against the exact scan is printed once.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vicinity_index::{
    AllowAll, Distance, HnswConfig, HnswGraph, MaxSim, Metric, PointOffset, VectorStore,
    distance::DotMetric, exact_search, exact_search_among,
};
use vicinity_tests::Rng;

const DOCS: usize = 4_000;
const DIM: usize = 64;
const TOPICS: usize = 40;

/// `n` token vectors around one of the topic centres.
fn tokens(rng: &mut Rng, centres: &[Vec<f32>], n: usize) -> Vec<Vec<f32>> {
    let centre = &centres[rng.below(centres.len())];
    (0..n)
        .map(|_| centre.iter().map(|c| c + rng.normal() * 0.8).collect())
        .collect()
}

fn profile() -> (VectorStore, Vec<PointOffset>, Vec<Vec<f32>>) {
    let mut rng = Rng::new(23);
    let centres: Vec<Vec<f32>> = (0..TOPICS)
        .map(|_| (0..DIM).map(|_| rng.normal()).collect())
        .collect();
    let store = VectorStore::new_multi(DIM, Distance::Cosine).unwrap();
    let rows = (0..DOCS)
        .map(|_| {
            let n = 8 + rng.below(25);
            let m = tokens(&mut rng, &centres, n);
            store.push_multi(m.iter().map(Vec::as_slice)).unwrap()
        })
        .collect();
    let queries = (0..64)
        .map(|_| {
            let m = tokens(&mut rng, &centres, 16);
            store
                .prepare_multi_query(m.iter().map(Vec::as_slice))
                .unwrap()
        })
        .collect();
    (store, rows, queries)
}

fn bench(c: &mut Criterion) {
    let (store, rows, queries) = profile();
    let graph = HnswGraph::new(HnswConfig::default()).unwrap();
    graph.insert_many(&store, &rows);
    // recall@10 of the graph walk at ef 64 against the exact scan
    let (mut found, mut wanted) = (0usize, 0usize);
    for q in &queries {
        let exact: Vec<PointOffset> = exact_search(&store, q, 10, &AllowAll)
            .iter()
            .map(|h| h.offset)
            .collect();
        let walked = graph.search(&store, q, 10, 64, &AllowAll);
        found += walked.iter().filter(|h| exact.contains(&h.offset)).count();
        wanted += exact.len();
    }
    eprintln!(
        "multivector graph recall@10 at ef 64: {:.3}",
        found as f64 / wanted as f64
    );

    let mut g = c.benchmark_group("multivector_4k");
    let longest = rows
        .iter()
        .map(|&r| store.get(r).unwrap())
        .max_by_key(|r| r.len())
        .unwrap();
    g.bench_function("maxsim_16x32", |b| {
        b.iter(|| black_box(MaxSim::<DotMetric>::similarity(&queries[0], longest)))
    });
    for ef in [16usize, 64] {
        g.bench_with_input(BenchmarkId::new("hnsw", ef), &ef, |b, &ef| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % queries.len();
                black_box(graph.search(&store, &queries[i], 10, ef, &AllowAll))
            })
        });
    }
    g.bench_function("exact_scan", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(exact_search(&store, &queries[i], 10, &AllowAll))
        })
    });
    // the ColBERT recipe's second stage: 100 candidates from a prefetch
    let candidates: Vec<PointOffset> = rows.iter().step_by(DOCS / 100).copied().collect();
    g.bench_function("rerank_100", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % queries.len();
            let among = candidates.iter().copied();
            black_box(exact_search_among(
                &store,
                &queries[i],
                10,
                &AllowAll,
                among,
            ))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
