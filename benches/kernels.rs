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

/// A kernel over two rows of `T`.
type Kernel<T> = fn(&[T], &[T]) -> f32;

/// Each kernel against its scalar loop, at the dimensions embeddings come
/// in, on two rows `make` draws for a dimension.
fn bench_pairs<T>(
    c: &mut Criterion,
    pairs: &[(&str, Kernel<T>, Kernel<T>)],
    make: impl Fn(usize) -> (Vec<T>, Vec<T>),
) {
    for &(name, simd, plain) in pairs {
        let mut g = c.benchmark_group(name);
        for dim in [128usize, 384, 768, 1536] {
            let (a, b) = make(dim);
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

fn bench_kernels(c: &mut Criterion) {
    eprintln!("simsimd dispatches to {}", kernels::simd_capability());
    let pairs: [(&str, Kernel<f32>, Kernel<f32>); 3] = [
        ("dot", kernels::dot, scalar::dot),
        ("l2sq", kernels::l2sq, scalar::l2sq),
        ("l1", kernels::l1, scalar::l1),
    ];
    bench_pairs(c, &pairs, |dim| vectors(dim, dim as u64));
}

/// The `int8` kernels scalar quantization scores with, against the `f32`
/// ones at the same dimension (a quarter of the bytes per row).
fn bench_i8_kernels(c: &mut Criterion) {
    let pairs: [(&str, Kernel<i8>, Kernel<i8>); 3] = [
        ("dot_i8", kernels::dot_i8, scalar::dot_i8),
        ("l2sq_i8", kernels::l2sq_i8, scalar::l2sq_i8),
        ("l1_i8", kernels::l1_i8, scalar::l1_i8),
    ];
    bench_pairs(c, &pairs, |dim| {
        let mut r = Rng::new(dim as u64);
        let mut code = || ((r.next_u64() % 255) as i16 - 127) as i8;
        let a: Vec<i8> = (0..dim).map(|_| code()).collect();
        let b: Vec<i8> = (0..dim).map(|_| code()).collect();
        (a, b)
    });
}

/// The Hamming kernel binary quantization scores with, on the codes of a
/// `dim`-value row (`dim / 8` bytes).
fn bench_hamming(c: &mut Criterion) {
    fn simd(a: &[u8], b: &[u8]) -> f32 {
        kernels::hamming(a, b) as f32
    }
    fn plain(a: &[u8], b: &[u8]) -> f32 {
        scalar::hamming(a, b) as f32
    }
    let pairs: [(&str, Kernel<u8>, Kernel<u8>); 1] = [("hamming", simd, plain)];
    bench_pairs(c, &pairs, |dim| {
        let mut r = Rng::new(dim as u64);
        let mut byte = || r.next_u64() as u8;
        let a: Vec<u8> = (0..dim / 8).map(|_| byte()).collect();
        let b: Vec<u8> = (0..dim / 8).map(|_| byte()).collect();
        (a, b)
    });
}

/// The kernels of the `float16` and `uint8` datatypes (rows of 2 and 1
/// bytes per value), against plain loops.
fn bench_typed_kernels(c: &mut Criterion) {
    let pairs: [(&str, Kernel<u16>, Kernel<u16>); 2] = [
        ("dot_f16", kernels::dot_f16, scalar::dot_f16),
        ("l2sq_f16", kernels::l2sq_f16, scalar::l2sq_f16),
    ];
    bench_pairs(c, &pairs, |dim| {
        let (a, b) = vectors(dim, dim as u64);
        let bits = |v: Vec<f32>| -> Vec<u16> {
            v.iter()
                .map(|&x| half::f16::from_f32(x).to_bits())
                .collect()
        };
        (bits(a), bits(b))
    });
    fn dot(a: &[u8], b: &[u8]) -> f32 {
        kernels::dot_u8(a, b) as f32
    }
    fn dot_plain(a: &[u8], b: &[u8]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| u64::from(x) * u64::from(y))
            .sum::<u64>() as f32
    }
    fn cosine_plain(a: &[u8], b: &[u8]) -> f32 {
        let (d, na, nb) = (dot_plain(a, b), dot_plain(a, a), dot_plain(b, b));
        d / (na * nb).sqrt()
    }
    let pairs: [(&str, Kernel<u8>, Kernel<u8>); 2] = [
        ("dot_u8", dot, dot_plain),
        ("cosine_u8", kernels::cosine_u8, cosine_plain),
    ];
    bench_pairs(c, &pairs, |dim| {
        let mut r = Rng::new(dim as u64);
        let mut byte = || r.next_u64() as u8;
        let a: Vec<u8> = (0..dim).map(|_| byte()).collect();
        let b: Vec<u8> = (0..dim).map(|_| byte()).collect();
        (a, b)
    });
}

/// Scoring by table lookup against encoding-free kernels: product codes at
/// `x16` (a byte per 4 values, one lookup per byte) and one-bit binary
/// codes against an 8-bit query (one lookup per 8 values), beside the
/// Hamming distance of the same one-bit rows.
fn bench_code_tables(c: &mut Criterion) {
    use vicinity_index::{
        BinaryBits, BinaryEncoder, BinaryQuery, Distance, Encoder, ProductQuantizer, QueryBits,
        Scorer, VectorStore,
    };
    let mut g = c.benchmark_group("code_tables");
    for dim in [384usize, 768, 1536] {
        let store = VectorStore::new(dim, Distance::Dot).unwrap();
        let mut r = Rng::new(dim as u64);
        for _ in 0..300 {
            let v: Vec<f32> = (0..dim).map(|_| r.normal()).collect();
            store.push(&v).unwrap();
        }
        let (q, row) = vectors(dim, 7);
        g.throughput(Throughput::Elements(dim as u64));
        let pq = ProductQuantizer::train(&store, 4).unwrap();
        let mut codes = Vec::new();
        pq.encode(&row, &mut codes);
        let scorer = pq.nearest(&q);
        g.bench_with_input(BenchmarkId::new("pq_x16", dim), &dim, |bn, _| {
            bn.iter(|| scorer.score(black_box(&codes)))
        });
        let binary = BinaryEncoder::train(&store, BinaryBits::One, QueryBits::Scalar8).unwrap();
        let mut bits = Vec::new();
        binary.encode(&row, &mut bits);
        let BinaryQuery::Levels(levels) = binary.nearest(&q) else {
            unreachable!("an 8-bit query")
        };
        g.bench_with_input(BenchmarkId::new("binary_scalar8", dim), &dim, |bn, _| {
            bn.iter(|| levels.score(black_box(&bits)))
        });
        let one = BinaryEncoder::train(&store, BinaryBits::One, QueryBits::Storage).unwrap();
        let BinaryQuery::Bits(hamming) = one.nearest(&q) else {
            unreachable!("a one-bit query")
        };
        g.bench_with_input(BenchmarkId::new("binary_hamming", dim), &dim, |bn, _| {
            bn.iter(|| hamming.score(black_box(&bits)))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_kernels,
    bench_i8_kernels,
    bench_hamming,
    bench_typed_kernels,
    bench_code_tables
);
criterion_main!(benches);
