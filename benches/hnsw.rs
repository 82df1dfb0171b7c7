//! HNSW search at fixed ef and HNSW build, against exact search, on seeded
//! clustered data.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vicinity_index::{
    AllowAll, Distance, HnswConfig, HnswGraph, PointOffset, VectorStore, exact_search,
};
use vicinity_tests::clustered;

const N: usize = 20_000;
const DIM: usize = 128;

fn store(data: &[Vec<f32>]) -> (VectorStore, Vec<PointOffset>) {
    let s = VectorStore::new(DIM, Distance::Cosine).unwrap();
    let rows = data.iter().map(|v| s.push(v).unwrap()).collect();
    (s, rows)
}

fn bench_hnsw(c: &mut Criterion) {
    let data = clustered(N, DIM, 50, 1, 2);
    let queries = clustered(100, DIM, 50, 1, 3);
    let (s, rows) = store(&data);
    let graph = HnswGraph::new(HnswConfig::default()).unwrap();
    graph.insert_many(&s, &rows);
    let queries: Vec<Vec<f32>> = queries
        .iter()
        .map(|q| s.prepare_query(q).unwrap())
        .collect();

    let mut g = c.benchmark_group("search");
    for ef in [16usize, 64, 256] {
        g.bench_with_input(BenchmarkId::new("hnsw", ef), &ef, |b, &ef| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % queries.len();
                black_box(graph.search(&s, &queries[i], 10, ef, &AllowAll))
            })
        });
    }
    g.bench_function("exact", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(exact_search(&s, &queries[i], 10, &AllowAll))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    let small = &data[..5_000];
    g.bench_function("insert_5000", |b| {
        b.iter(|| {
            let (s, rows) = store(small);
            let graph = HnswGraph::new(HnswConfig::default()).unwrap();
            graph.insert_many(&s, &rows);
            black_box(graph.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_hnsw);
criterion_main!(benches);
