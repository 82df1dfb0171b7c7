//! Distance kernels (simsimd) against the plain scalar loops, at the
//! dimensions embeddings come in.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vicinity_index::kernels::{self, scalar};
use vicinity_tests::Rng;

fn vectors(dim: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut r = Rng::new(seed);
    (
        (0..dim).map(|_| r.normal()).collect(),
        (0..dim).map(|_| r.normal()).collect(),
    )
}

fn bench_kernels(c: &mut Criterion) {
    eprintln!("simsimd dispatches to {}", kernels::simd_capability());
    type Kernel = fn(&[f32], &[f32]) -> f32;
    let pairs: [(&str, Kernel, Kernel); 3] = [
        ("dot", kernels::dot, scalar::dot),
        ("l2sq", kernels::l2sq, scalar::l2sq),
        ("l1", kernels::l1, scalar::l1),
    ];
    for (name, simd, plain) in pairs {
        let mut g = c.benchmark_group(name);
        for dim in [128usize, 384, 768, 1536] {
            let (a, b) = vectors(dim, dim as u64);
            g.throughput(Throughput::Elements(dim as u64));
            g.bench_with_input(BenchmarkId::new("simd", dim), &dim, |bn, _| {
                bn.iter(|| simd(black_box(&a), black_box(&b)))
            });
            g.bench_with_input(BenchmarkId::new("plain", dim), &dim, |bn, _| {
                bn.iter(|| plain(black_box(&a), black_box(&b)))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench_kernels);
criterion_main!(benches);
