//! Distance kernels over `f32` slices: simsimd's SIMD kernels (AVX2,
//! AVX-512 or NEON, chosen at run time) and the plain scalar loops they are
//! tested against.
//!
//! This is the only module that calls simsimd. Every kernel takes two slices
//! of equal length; the callers (vector stores) guarantee it, and a length
//! mismatch is an internal bug, caught by a debug assertion.

use simsimd::SpatialSimilarity;

/// The dot product `a · b`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    match <f32 as SpatialSimilarity>::dot(a, b) {
        Some(v) => v as f32,
        None => scalar::dot(a, b),
    }
}

/// The squared Euclidean distance `|a - b|²`.
#[inline]
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    match <f32 as SpatialSimilarity>::l2sq(a, b) {
        Some(v) => v as f32,
        None => scalar::l2sq(a, b),
    }
}

/// The Manhattan (L1) distance `Σ |a_i - b_i|`.
///
/// simsimd 6 has no L1 kernel; this loop keeps eight independent
/// accumulators so that the compiler vectorises it.
#[inline]
pub fn l1(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..8 {
            acc[i] += (x[i] - y[i]).abs();
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for (x, y) in ra.iter().zip(rb) {
        sum += (x - y).abs();
    }
    sum
}

/// `x` rounded to the nearest `bfloat16` (ties to even), as its bits:
/// the upper half of the `f32`, with 8 bits of mantissa. Finite values
/// only (stored vectors are checked finite).
#[inline]
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    let round = 0x7FFF + ((bits >> 16) & 1);
    (bits.wrapping_add(round) >> 16) as u16
}

/// The `f32` of `bfloat16` bits.
#[inline]
pub fn from_bf16(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// The dot product of two `bfloat16` rows (bits), accumulated in `f32`.
#[inline]
pub fn dot_bf16(a: &[u16], b: &[u16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (x, y) = (vicinity_storage::as_bf16(a), vicinity_storage::as_bf16(b));
    match <simsimd::bf16 as SpatialSimilarity>::dot(x, y) {
        Some(v) => v as f32,
        None => a
            .iter()
            .zip(b)
            .map(|(&p, &q)| from_bf16(p) * from_bf16(q))
            .sum(),
    }
}

/// The squared Euclidean distance of two rows laid out as
/// [`push_norm_tail`] leaves them (`bfloat16` bits, then the `f32` bits of
/// the row's squared norm in two halves): `|a|² + |b|² - 2 a·b`, with the
/// dot product from simsimd's `bfloat16` kernel (products summed in
/// `f32`), so exact on the rounded values up to `f32` rounding of the sum,
/// at the speed of a dot product. (simsimd's own `bfloat16` L2 kernel
/// rounds each difference to `bfloat16` again before squaring, 0.3% off
/// on 689-d rows, too coarse to rank near neighbours.)
#[inline]
pub fn l2sq_bf16_normed(a: &[u16], b: &[u16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len() - 2;
    let norm = |r: &[u16]| f32::from_bits(u32::from(r[n]) | (u32::from(r[n + 1]) << 16));
    (norm(a) + norm(b) - 2.0 * dot_bf16(&a[..n], &b[..n])).max(0.0)
}

/// Appends to a `bfloat16` row (bits) the `f32` bits of its squared norm
/// (low half, then high half), as [`l2sq_bf16_normed`] reads it.
pub fn push_norm_tail(row: &mut Vec<u16>) {
    let norm: f64 = row.iter().map(|&x| f64::from(from_bf16(x)).powi(2)).sum();
    let bits = (norm as f32).to_bits();
    row.push(bits as u16);
    row.push((bits >> 16) as u16);
}

/// The Manhattan distance of two `bfloat16` rows (bits) (a plain loop:
/// simsimd has no L1 kernel).
#[inline]
pub fn l1_bf16(a: &[u16], b: &[u16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&p, &q)| (from_bf16(p) - from_bf16(q)).abs())
        .sum()
}

/// The dot product of two `int8` rows, exact (an integer sum; simsimd's
/// kernel, VNNI where the processor has it). Codes stay within ±127.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    match <i8 as SpatialSimilarity>::dot(a, b) {
        Some(v) => v as f32,
        None => scalar::dot_i8(a, b),
    }
}

/// The squared Euclidean distance of two `int8` rows, exact.
#[inline]
pub fn l2sq_i8(a: &[i8], b: &[i8]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    match <i8 as SpatialSimilarity>::l2sq(a, b) {
        Some(v) => v as f32,
        None => scalar::l2sq_i8(a, b),
    }
}

/// The Manhattan distance of two `int8` rows (a loop in 16-bit lanes the
/// compiler vectorises: simsimd has no L1 kernel).
#[inline]
pub fn l1_i8(a: &[i8], b: &[i8]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0u32; 16];
    let (ca, ra) = a.as_chunks::<16>();
    let (cb, rb) = b.as_chunks::<16>();
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..16 {
            acc[i] += u32::from((i16::from(x[i]) - i16::from(y[i])).unsigned_abs());
        }
    }
    let mut sum: u32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += u32::from((i16::from(*x) - i16::from(*y)).unsigned_abs());
    }
    sum as f32
}

/// The `f32` of IEEE `binary16` bits.
#[inline]
pub fn from_f16(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// The dot product of two `float16` rows (bits), accumulated in `f32`
/// (simsimd's kernel: F16C conversion and FMA on AVX2 machines).
#[inline]
pub fn dot_f16(a: &[u16], b: &[u16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (x, y) = (vicinity_storage::as_f16(a), vicinity_storage::as_f16(b));
    match <simsimd::f16 as SpatialSimilarity>::dot(x, y) {
        Some(v) => v as f32,
        None => scalar::dot_f16(a, b),
    }
}

/// The squared Euclidean distance of two `float16` rows (bits).
#[inline]
pub fn l2sq_f16(a: &[u16], b: &[u16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (x, y) = (vicinity_storage::as_f16(a), vicinity_storage::as_f16(b));
    match <simsimd::f16 as SpatialSimilarity>::l2sq(x, y) {
        Some(v) => v as f32,
        None => scalar::l2sq_f16(a, b),
    }
}

/// The Manhattan distance of two `float16` rows (bits) (a plain loop:
/// simsimd has no L1 kernel).
#[inline]
pub fn l1_f16(a: &[u16], b: &[u16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&p, &q)| (from_f16(p) - from_f16(q)).abs())
        .sum()
}

/// Values per block of the `uint8` kernels: the largest block whose
/// products (at most 255², summed) fit a `u32` lane.
const U8_BLOCK: usize = 1 << 15;

/// Sums `f(x, y)` over pairs of bytes in `u32` lanes the compiler
/// vectorises, block by block into a `u64`: exact for any dimension.
#[inline]
fn sum_u8(a: &[u8], b: &[u8], f: impl Fn(u8, u8) -> u32 + Copy) -> u64 {
    debug_assert_eq!(a.len(), b.len());
    a.chunks(U8_BLOCK)
        .zip(b.chunks(U8_BLOCK))
        .map(|(x, y)| {
            let mut acc = [0u32; 16];
            let (cx, rx) = x.as_chunks::<16>();
            let (cy, ry) = y.as_chunks::<16>();
            for (p, q) in cx.iter().zip(cy) {
                for i in 0..16 {
                    acc[i] += f(p[i], q[i]);
                }
            }
            let rest: u64 = rx.iter().zip(ry).map(|(&p, &q)| u64::from(f(p, q))).sum();
            acc.iter().map(|&v| u64::from(v)).sum::<u64>() + rest
        })
        .sum()
}

/// The dot product of two `uint8` rows, exact (an integer sum).
#[inline]
pub fn dot_u8(a: &[u8], b: &[u8]) -> u64 {
    sum_u8(a, b, |x, y| u32::from(x) * u32::from(y))
}

/// The squared Euclidean distance of two `uint8` rows, exact.
#[inline]
pub fn l2sq_u8(a: &[u8], b: &[u8]) -> u64 {
    sum_u8(a, b, |x, y| u32::from(x.abs_diff(y)).pow(2))
}

/// The Manhattan distance of two `uint8` rows, exact.
#[inline]
pub fn l1_u8(a: &[u8], b: &[u8]) -> u64 {
    sum_u8(a, b, |x, y| u32::from(x.abs_diff(y)))
}

/// The cosine similarity of two `uint8` rows, as Qdrant computes it:
/// `a · b / sqrt(|a|² |b|²)`, in integers then `f32`; 0 when either row
/// is zero.
#[inline]
pub fn cosine_u8(a: &[u8], b: &[u8]) -> f32 {
    let (dot, na, nb) = (dot_u8(a, b), dot_u8(a, a), dot_u8(b, b));
    if na == 0 || nb == 0 {
        return 0.0;
    }
    dot as f32 / (na as f32 * nb as f32).sqrt()
}

/// The Euclidean norm `|a|`.
#[inline]
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// The SIMD capability simsimd dispatches to on this machine, by name.
pub fn simd_capability() -> &'static str {
    use simsimd::capabilities as c;
    if c::uses_sapphire() {
        "sapphire (AVX-512 FP16)"
    } else if c::uses_turin() {
        "turin (AVX-512 VP2INTERSECT)"
    } else if c::uses_genoa() {
        "genoa (AVX-512 BF16)"
    } else if c::uses_ice() {
        "ice (AVX-512 VNNI)"
    } else if c::uses_skylake() {
        "skylake (AVX-512)"
    } else if c::uses_haswell() {
        "haswell (AVX2)"
    } else if c::uses_sve() {
        "sve"
    } else if c::uses_neon() {
        "neon"
    } else {
        "serial"
    }
}

/// The Hamming distance of two bit rows (bytes of packed bits): the
/// number of bits that differ (simsimd's kernel, the processor's popcount
/// where it has one).
#[inline]
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    debug_assert_eq!(a.len(), b.len());
    match <u8 as simsimd::BinarySimilarity>::hamming(a, b) {
        Some(v) => v as u32,
        None => scalar::hamming(a, b),
    }
}

/// Plain scalar loops: the reference the SIMD kernels are tested against,
/// accumulating in `f64` so that they are the more exact of the two.
pub mod scalar {
    use super::from_f16;

    /// The dot product of two `float16` rows (bits).
    pub fn dot_f16(a: &[u16], b: &[u16]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(from_f16(x)) * f64::from(from_f16(y)))
            .sum::<f64>() as f32
    }

    /// The squared Euclidean distance of two `float16` rows (bits).
    pub fn l2sq_f16(a: &[u16], b: &[u16]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(from_f16(x)) - f64::from(from_f16(y))).powi(2))
            .sum::<f64>() as f32
    }

    /// The dot product.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum::<f64>() as f32
    }

    /// The squared Euclidean distance.
    pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| {
                let d = f64::from(x) - f64::from(y);
                d * d
            })
            .sum::<f64>() as f32
    }

    /// The Hamming distance of bit rows.
    pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
    }

    /// The dot product of `int8` rows.
    pub fn dot_i8(a: &[i8], b: &[i8]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| i64::from(x) * i64::from(y))
            .sum::<i64>() as f32
    }

    /// The squared Euclidean distance of `int8` rows.
    pub fn l2sq_i8(a: &[i8], b: &[i8]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (i64::from(x) - i64::from(y)).pow(2))
            .sum::<i64>() as f32
    }

    /// The Manhattan distance of `int8` rows.
    pub fn l1_i8(a: &[i8], b: &[i8]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (i64::from(x) - i64::from(y)).abs())
            .sum::<i64>() as f32
    }

    /// The Manhattan distance.
    pub fn l1(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
            .sum::<f64>() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Relative tolerance of an `f32` kernel against the `f64` reference:
    /// the error of a sum of `n` rounded products grows like `sqrt(n)·ε`
    /// in practice; `1e-4` relative to the sum of magnitudes holds with
    /// a wide margin up to n = 2,050.
    fn assert_close(got: f32, want: f32, magnitude: f64, what: &str, dim: usize) {
        let tol = 1e-4 * magnitude.max(1e-6);
        assert!(
            (f64::from(got) - f64::from(want)).abs() <= tol,
            "{what} at dim {dim}: simd {got}, scalar {want}, tolerance {tol}"
        );
    }

    fn vectors() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
        (1usize..=2050).prop_flat_map(|dim| {
            (
                prop::collection::vec(-10.0f32..10.0, dim),
                prop::collection::vec(-10.0f32..10.0, dim),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn hamming_matches_scalar(bytes in (1usize..=300).prop_flat_map(|n| (
            prop::collection::vec(any::<u8>(), n),
            prop::collection::vec(any::<u8>(), n),
        ))) {
            let (a, b) = bytes;
            prop_assert_eq!(hamming(&a, &b), scalar::hamming(&a, &b));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn simd_kernels_match_scalar((a, b) in vectors()) {
            let dim = a.len();
            let abs_dot: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y).abs()).sum();
            assert_close(dot(&a, &b), scalar::dot(&a, &b), abs_dot, "dot", dim);
            let l2 = f64::from(scalar::l2sq(&a, &b));
            assert_close(l2sq(&a, &b), scalar::l2sq(&a, &b), l2, "l2sq", dim);
            let l1v = f64::from(scalar::l1(&a, &b));
            assert_close(l1(&a, &b), scalar::l1(&a, &b), l1v, "l1", dim);
        }
    }

    #[test]
    fn every_dimension_from_1_to_2050() {
        // Deterministic coverage of every tail length, on top of the random cases.
        for dim in 1..=2050usize {
            let a: Vec<f32> = (0..dim)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.37)
                .collect();
            let b: Vec<f32> = (0..dim)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.41)
                .collect();
            let abs_dot: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y).abs()).sum();
            assert_close(dot(&a, &b), scalar::dot(&a, &b), abs_dot, "dot", dim);
            let l2 = f64::from(scalar::l2sq(&a, &b));
            assert_close(l2sq(&a, &b), scalar::l2sq(&a, &b), l2, "l2sq", dim);
            let l1v = f64::from(scalar::l1(&a, &b));
            assert_close(l1(&a, &b), scalar::l1(&a, &b), l1v, "l1", dim);
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
        assert_eq!(l2sq(&[1.0, 2.0], &[4.0, 6.0]), 25.0);
        assert_eq!(l1(&[1.0, 2.0], &[4.0, 6.0]), 7.0);
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
    }

    #[test]
    fn bf16_rounds_to_nearest_even_and_back() {
        assert_eq!(from_bf16(to_bf16(1.0)), 1.0);
        assert_eq!(from_bf16(to_bf16(-3.5)), -3.5);
        assert_eq!(to_bf16(0.0), 0);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to even (1)
        assert_eq!(from_bf16(to_bf16(1.0 + 1.0 / 256.0)), 1.0);
        // just above halfway rounds up
        assert_eq!(
            from_bf16(to_bf16(1.0 + 1.0 / 256.0 + 1e-6)),
            1.0 + 1.0 / 128.0
        );
        // f32's range is kept: no overflow where f16 would have one
        assert!((from_bf16(to_bf16(1e30)) / 1e30 - 1.0).abs() < 1.0 / 128.0);
        assert!((from_bf16(to_bf16(3e-30)) / 3e-30 - 1.0).abs() < 1.0 / 128.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn bf16_kernels_match_the_rounded_values((a, b) in vectors()) {
            let dim = a.len();
            let (ha, hb): (Vec<u16>, Vec<u16>) =
                (a.iter().map(|&x| to_bf16(x)).collect(), b.iter().map(|&x| to_bf16(x)).collect());
            let (ra, rb): (Vec<f32>, Vec<f32>) =
                (ha.iter().map(|&x| from_bf16(x)).collect(), hb.iter().map(|&x| from_bf16(x)).collect());
            // against the f32 kernels on the rounded values
            let abs_dot: f64 = ra.iter().zip(&rb).map(|(x, y)| f64::from(x * y).abs()).sum();
            assert_close(dot_bf16(&ha, &hb), scalar::dot(&ra, &rb), abs_dot, "dot_bf16", dim);
            // the norm form loses to cancellation what the norms outweigh
            // the distance by: within f32 rounding of |a|² + |b|²
            let (mut ta, mut tb) = (ha.clone(), hb.clone());
            push_norm_tail(&mut ta);
            push_norm_tail(&mut tb);
            let norms: f64 = ra.iter().chain(&rb).map(|&x| f64::from(x).powi(2)).sum();
            assert_close(l2sq_bf16_normed(&ta, &tb), scalar::l2sq(&ra, &rb), norms, "l2sq_bf16_normed", dim);
            let self_norms = 2.0 * ra.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>();
            assert_close(l2sq_bf16_normed(&ta, &ta), 0.0, self_norms, "l2sq_bf16_normed(a, a)", dim);
            let l1v = f64::from(scalar::l1(&ra, &rb));
            assert_close(l1_bf16(&ha, &hb), scalar::l1(&ra, &rb), l1v, "l1_bf16", dim);
            // and the rounding moves a dot product by well under 1% of its
            // magnitude (8 bits of mantissa per element)
            let exact = scalar::dot(&a, &b);
            prop_assert!((f64::from(dot_bf16(&ha, &hb)) - f64::from(exact)).abs() <= 0.01 * abs_dot);
        }
    }

    /// The `int8` kernels are exact: equal to the integer sums, for every
    /// length from 1 to 1,030 and codes over the whole ±127 range.
    #[test]
    fn i8_kernels_are_exact() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state % 255) as i16 - 127) as i8
        };
        for dim in 1..=1030 {
            let a: Vec<i8> = (0..dim).map(|_| next()).collect();
            let b: Vec<i8> = (0..dim).map(|_| next()).collect();
            assert_eq!(dot_i8(&a, &b), scalar::dot_i8(&a, &b), "dot at {dim}");
            assert_eq!(l2sq_i8(&a, &b), scalar::l2sq_i8(&a, &b), "l2sq at {dim}");
            assert_eq!(l1_i8(&a, &b), scalar::l1_i8(&a, &b), "l1 at {dim}");
        }
        let max = vec![127i8; 1030];
        let min = vec![-127i8; 1030];
        assert_eq!(dot_i8(&max, &min), -127.0 * 127.0 * 1030.0);
        assert_eq!(l1_i8(&max, &min), 254.0 * 1030.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn f16_kernels_match_the_rounded_values((a, b) in vectors()) {
            let dim = a.len();
            let bits = |v: &[f32]| -> Vec<u16> { v.iter().map(|&x| half::f16::from_f32(x).to_bits()).collect() };
            let (ha, hb) = (bits(&a), bits(&b));
            let (ra, rb): (Vec<f32>, Vec<f32>) =
                (ha.iter().map(|&x| from_f16(x)).collect(), hb.iter().map(|&x| from_f16(x)).collect());
            let abs_dot: f64 = ra.iter().zip(&rb).map(|(x, y)| f64::from(x * y).abs()).sum();
            assert_close(dot_f16(&ha, &hb), scalar::dot(&ra, &rb), abs_dot, "dot_f16", dim);
            let l2 = f64::from(scalar::l2sq(&ra, &rb));
            assert_close(l2sq_f16(&ha, &hb), scalar::l2sq(&ra, &rb), l2, "l2sq_f16", dim);
            let l1v = f64::from(scalar::l1(&ra, &rb));
            assert_close(l1_f16(&ha, &hb), scalar::l1(&ra, &rb), l1v, "l1_f16", dim);
            assert_close(scalar::dot_f16(&ha, &hb), scalar::dot(&ra, &rb), abs_dot, "scalar dot_f16", dim);
            assert_close(scalar::l2sq_f16(&ha, &hb), scalar::l2sq(&ra, &rb), l2, "scalar l2sq_f16", dim);
        }
    }

    /// The `uint8` kernels are exact: equal to sums in `u64`, for every
    /// length from 1 to 1,030, and past the block size with every value at
    /// 255 (where `u32` lanes without blocks would overflow).
    #[test]
    fn u8_kernels_are_exact() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        };
        let reference = |a: &[u8], b: &[u8], f: fn(u64, u64) -> u64| -> u64 {
            a.iter()
                .zip(b)
                .map(|(&x, &y)| f(u64::from(x), u64::from(y)))
                .sum()
        };
        for dim in (1..=1030).chain([65_536]) {
            let a: Vec<u8> = (0..dim).map(|_| next()).collect();
            let b: Vec<u8> = (0..dim).map(|_| next()).collect();
            assert_eq!(
                dot_u8(&a, &b),
                reference(&a, &b, |x, y| x * y),
                "dot at {dim}"
            );
            assert_eq!(
                l2sq_u8(&a, &b),
                reference(&a, &b, |x, y| x.abs_diff(y).pow(2)),
                "l2sq at {dim}"
            );
            assert_eq!(
                l1_u8(&a, &b),
                reference(&a, &b, |x, y| x.abs_diff(y)),
                "l1 at {dim}"
            );
        }
        let (max, min) = (vec![255u8; 65_536], vec![0u8; 65_536]);
        assert_eq!(dot_u8(&max, &max), 255 * 255 * 65_536);
        assert_eq!(l2sq_u8(&max, &min), 255 * 255 * 65_536);
        assert_eq!(cosine_u8(&max, &max), 1.0);
        assert_eq!(cosine_u8(&max, &min), 0.0);
        assert!((cosine_u8(&[3, 4], &[4, 3]) - 24.0 / 25.0).abs() < 1e-7);
    }
}
