//! HNSW search at fixed ef and HNSW build, against exact search, on seeded
//! clustered data.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vicinity_index::{
    AllowAll, Datatype, Distance, HnswConfig, HnswGraph, PointOffset, VectorStore, exact_search,
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

/// The same data stored as `float32`, `float16` and `uint8` (values scaled
/// to 128 ± 40 first, for all three, so that bytes keep their spread;
/// Euclid, which the offset does not change):
/// search time at ef 64, and, printed once, recall@10 against the exact
/// `float32` answer (what the type loses) and against the type's own exact
/// answer (what the graph loses).
fn bench_datatypes(c: &mut Criterion) {
    let scale = |v: &Vec<f32>| v.iter().map(|x| 128.0 + 40.0 * x).collect::<Vec<f32>>();
    let data: Vec<Vec<f32>> = clustered(N, DIM, 50, 1, 2).iter().map(scale).collect();
    let queries: Vec<Vec<f32>> = clustered(100, DIM, 50, 1, 3).iter().map(scale).collect();
    let exact_f32 = {
        let s = VectorStore::new(DIM, Distance::Euclid).unwrap();
        for v in &data {
            s.push(v).unwrap();
        }
        queries
            .iter()
            .map(|q| exact_search(&s, &s.prepare_query(q).unwrap(), 10, &AllowAll))
            .collect::<Vec<_>>()
    };
    let mut g = c.benchmark_group("datatype");
    for t in [Datatype::Float32, Datatype::Float16, Datatype::Uint8] {
        let s = VectorStore::create(DIM, Distance::Euclid, t, false).unwrap();
        let rows: Vec<PointOffset> = data.iter().map(|v| s.push(v).unwrap()).collect();
        let graph = HnswGraph::new(HnswConfig::default()).unwrap();
        graph.insert_many(&s, &rows);
        let prepared: Vec<Vec<f32>> = queries
            .iter()
            .map(|q| s.prepare_query(q).unwrap())
            .collect();
        let (mut vs_f32, mut vs_own) = (0, 0);
        for (q, truth) in prepared.iter().zip(&exact_f32) {
            let got = graph.search(&s, q, 10, 64, &AllowAll);
            let own = exact_search(&s, q, 10, &AllowAll);
            vs_f32 += got
                .iter()
                .filter(|h| truth.iter().any(|t| t.offset == h.offset))
                .count();
            vs_own += got
                .iter()
                .filter(|h| own.iter().any(|t| t.offset == h.offset))
                .count();
        }
        let n = (prepared.len() * 10) as f64;
        eprintln!(
            "{t:?}: recall@10 at ef 64 {:.3} against float32's exact answer, {:.3} against its own; {} bytes of vectors",
            vs_f32 as f64 / n,
            vs_own as f64 / n,
            s.reserved_bytes()
        );
        g.bench_with_input(
            BenchmarkId::new("hnsw_ef64", format!("{t:?}")),
            &t,
            |b, _| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % prepared.len();
                    black_box(graph.search(&s, &prepared[i], 10, 64, &AllowAll))
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_hnsw, bench_datatypes);
criterion_main!(benches);
