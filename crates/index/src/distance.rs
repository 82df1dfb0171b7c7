//! Qdrant's four distances and their score conventions.
//!
//! Below the public API there is one convention: the *similarity*, higher is
//! closer. [`Distance::score`] turns a similarity into the number users see
//! (Qdrant's convention) in one place:
//!
//! | distance  | stored vector   | similarity      | user score            |
//! |-----------|-----------------|-----------------|-----------------------|
//! | Cosine    | unit-normalised | `a · b`         | `a · b` (higher better) |
//! | Dot       | as given        | `a · b`         | `a · b` (higher better) |
//! | Euclid    | as given        | `-|a - b|²`     | `|a - b|` (lower better) |
//! | Manhattan | as given        | `-Σ|a_i - b_i|` | `Σ|a_i - b_i|` (lower better) |

use serde::{Deserialize, Serialize};

use crate::kernels;

/// How two vectors are compared, with Qdrant's names and semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Distance {
    /// Cosine similarity: vectors are normalised to unit length when stored,
    /// so the score is their dot product. Higher is closer.
    Cosine,
    /// The dot product of the vectors as given. Higher is closer.
    Dot,
    /// The Euclidean (L2) distance, not squared. Lower is closer.
    Euclid,
    /// The Manhattan (L1) distance. Lower is closer.
    Manhattan,
}

impl Distance {
    /// Every distance, in Qdrant's order.
    pub const ALL: [Distance; 4] = [
        Distance::Cosine,
        Distance::Dot,
        Distance::Euclid,
        Distance::Manhattan,
    ];

    /// Prepares a vector for storage and for querying: Cosine normalises it
    /// to unit length (a zero vector stays zero, as in Qdrant); the others
    /// leave it as it is.
    pub fn preprocess(self, vector: &mut [f32]) {
        if self == Distance::Cosine {
            let norm = kernels::norm(vector);
            if norm > f32::EPSILON {
                let inv = 1.0 / norm;
                vector.iter_mut().for_each(|x| *x *= inv);
            }
        }
    }

    /// The similarity of two preprocessed vectors: higher is closer, for
    /// every distance.
    #[inline]
    pub fn similarity(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Distance::Cosine | Distance::Dot => DotMetric::similarity(a, b),
            Distance::Euclid => L2Metric::similarity(a, b),
            Distance::Manhattan => L1Metric::similarity(a, b),
        }
    }

    /// The user-facing score of a similarity (Qdrant's convention).
    #[inline]
    pub fn score(self, similarity: f32) -> f32 {
        match self {
            Distance::Cosine | Distance::Dot => similarity,
            Distance::Euclid => similarity.abs().sqrt(),
            Distance::Manhattan => similarity.abs(),
        }
    }

    /// Whether a higher user-facing score means closer (Cosine, Dot) or a
    /// lower one does (Euclid, Manhattan).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Distance::Cosine | Distance::Dot)
    }

    /// Whether `score` passes a `score_threshold`, strictly, as Qdrant
    /// applies it: `score > threshold` for Cosine and Dot, `score <
    /// threshold` for Euclid and Manhattan.
    pub fn passes_threshold(self, score: f32, threshold: f32) -> bool {
        if self.higher_is_better() {
            score > threshold
        } else {
            score < threshold
        }
    }

    /// Whether user score `a` ranks strictly before user score `b`.
    pub fn is_better(self, a: f32, b: f32) -> bool {
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }
}

/// A similarity function fixed at compile time, so that hot loops (graph
/// search, exact scan) are specialised per metric with no branch per pair.
pub trait Metric: Copy + Send + Sync + 'static {
    /// The similarity of two preprocessed vectors; higher is closer.
    fn similarity(a: &[f32], b: &[f32]) -> f32;

    /// The same similarity of two rows of `bfloat16` bits (a construction
    /// copy, see [`Bf16Rows`](crate::Bf16Rows)).
    fn similarity_bf16(a: &[u16], b: &[u16]) -> f32;

    /// The similarity of two rows of scalar-quantized codes, each followed
    /// by its [`quantized::TAIL`](crate::quantized::TAIL) bytes, in code
    /// units: a positive multiple of the similarity of the vectors the
    /// codes stand for, plus a constant (see
    /// [`ScalarQuantizer`](crate::ScalarQuantizer)), so it ranks as they do.
    fn similarity_i8(a: &[i8], b: &[i8]) -> f32;
}

/// What a row holds, element by element: `f32` (the stored vectors), or
/// [`Bf16`] (the construction copy). Scorers and graph walks are generic
/// over it, so each compiles to its own loop.
pub trait Element: Copy + Send + Sync + 'static {
    /// The similarity of two rows under metric `M`; higher is closer.
    fn similarity<M: Metric>(a: &[Self], b: &[Self]) -> f32;
}

impl Element for f32 {
    #[inline]
    fn similarity<M: Metric>(a: &[f32], b: &[f32]) -> f32 {
        M::similarity(a, b)
    }
}

/// A `bfloat16` value, as its bits (the upper half of an `f32`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct Bf16(pub u16);

impl Element for Bf16 {
    #[inline]
    fn similarity<M: Metric>(a: &[Bf16], b: &[Bf16]) -> f32 {
        M::similarity_bf16(bytemuck::cast_slice(a), bytemuck::cast_slice(b))
    }
}

/// A scalar-quantized value: a signed 8-bit code, within ±127 (see
/// [`ScalarQuantizer`](crate::ScalarQuantizer)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct I8(pub i8);

impl Element for I8 {
    #[inline]
    fn similarity<M: Metric>(a: &[I8], b: &[I8]) -> f32 {
        M::similarity_i8(bytemuck::cast_slice(a), bytemuck::cast_slice(b))
    }
}

/// Dot product similarity (Cosine on normalised vectors, and Dot).
#[derive(Clone, Copy, Debug)]
pub struct DotMetric;
/// Negated squared Euclidean distance.
#[derive(Clone, Copy, Debug)]
pub struct L2Metric;
/// Negated Manhattan distance.
#[derive(Clone, Copy, Debug)]
pub struct L1Metric;

impl Metric for DotMetric {
    #[inline]
    fn similarity(a: &[f32], b: &[f32]) -> f32 {
        kernels::dot(a, b)
    }

    #[inline]
    fn similarity_bf16(a: &[u16], b: &[u16]) -> f32 {
        kernels::dot_bf16(a, b)
    }

    /// The codes' dot product plus both rows' corrections (their tails).
    #[inline]
    fn similarity_i8(a: &[i8], b: &[i8]) -> f32 {
        let (ca, ta) = crate::quantized::split(a);
        let (cb, tb) = crate::quantized::split(b);
        kernels::dot_i8(ca, cb) + ta + tb
    }
}

impl Metric for L2Metric {
    #[inline]
    fn similarity(a: &[f32], b: &[f32]) -> f32 {
        -kernels::l2sq(a, b)
    }

    /// The rows carry their squared norms (see
    /// [`Bf16Rows`](crate::Bf16Rows)).
    #[inline]
    fn similarity_bf16(a: &[u16], b: &[u16]) -> f32 {
        -kernels::l2sq_bf16_normed(a, b)
    }

    #[inline]
    fn similarity_i8(a: &[i8], b: &[i8]) -> f32 {
        let (ca, _) = crate::quantized::split(a);
        let (cb, _) = crate::quantized::split(b);
        -kernels::l2sq_i8(ca, cb)
    }
}

impl Metric for L1Metric {
    #[inline]
    fn similarity(a: &[f32], b: &[f32]) -> f32 {
        -kernels::l1(a, b)
    }

    #[inline]
    fn similarity_bf16(a: &[u16], b: &[u16]) -> f32 {
        -kernels::l1_bf16(a, b)
    }

    #[inline]
    fn similarity_i8(a: &[i8], b: &[i8]) -> f32 {
        let (ca, _) = crate::quantized::split(a);
        let (cb, _) = crate::quantized::split(b);
        -kernels::l1_i8(ca, cb)
    }
}

/// Calls `$body` with `$m` bound to the [`Metric`] type of `$distance`, so
/// that one generic function is monomorphised per metric.
#[macro_export]
#[doc(hidden)]
macro_rules! with_metric {
    ($distance:expr, $m:ident => $body:expr) => {
        match $distance {
            $crate::Distance::Cosine | $crate::Distance::Dot => {
                type $m = $crate::distance::DotMetric;
                $body
            }
            $crate::Distance::Euclid => {
                type $m = $crate::distance::L2Metric;
                $body
            }
            $crate::Distance::Manhattan => {
                type $m = $crate::distance::L1Metric;
                $body
            }
        }
    };
}

/// Calls `$body` with `$m` bound to the [`Metric`] of the rows `$store`
/// holds (any [`Rows`](crate::Rows)): the distance's over the rows'
/// [`Datatype`](crate::Datatype), or [`MaxSim`](crate::MaxSim) over that
/// for multivector rows.
#[macro_export]
#[doc(hidden)]
macro_rules! with_store_metric {
    ($store:expr, $m:ident => $body:expr) => {
        if $crate::Rows::is_multi($store) {
            $crate::with_typed_metric!(
                $crate::Rows::datatype($store),
                $crate::Rows::distance($store),
                PairMetric => {
                    type $m = $crate::MaxSim<PairMetric>;
                    $body
                }
            )
        } else {
            $crate::with_typed_metric!(
                $crate::Rows::datatype($store),
                $crate::Rows::distance($store),
                $m => $body
            )
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_normalises_and_scores_dot() {
        let mut a = vec![3.0, 4.0];
        Distance::Cosine.preprocess(&mut a);
        assert!((a[0] - 0.6).abs() < 1e-6 && (a[1] - 0.8).abs() < 1e-6);
        let mut zero = vec![0.0, 0.0];
        Distance::Cosine.preprocess(&mut zero);
        assert_eq!(zero, vec![0.0, 0.0]);
        let mut b = vec![4.0, 3.0];
        Distance::Cosine.preprocess(&mut b);
        let s = Distance::Cosine.similarity(&a, &b);
        assert!((Distance::Cosine.score(s) - 0.96).abs() < 1e-6);
    }

    #[test]
    fn euclid_and_manhattan_score_distances() {
        let a = [0.0, 0.0];
        let b = [3.0, 4.0];
        let s = Distance::Euclid.similarity(&a, &b);
        assert_eq!(s, -25.0);
        assert_eq!(Distance::Euclid.score(s), 5.0);
        let s = Distance::Manhattan.similarity(&a, &b);
        assert_eq!(Distance::Manhattan.score(s), 7.0);
        let mut c = vec![3.0, 4.0];
        Distance::Euclid.preprocess(&mut c);
        assert_eq!(c, vec![3.0, 4.0]);
    }

    #[test]
    fn thresholds_are_strict_in_the_users_direction() {
        assert!(Distance::Cosine.passes_threshold(0.5, 0.4));
        assert!(!Distance::Cosine.passes_threshold(0.4, 0.4));
        assert!(Distance::Euclid.passes_threshold(0.3, 0.4));
        assert!(!Distance::Euclid.passes_threshold(0.4, 0.4));
        assert!(Distance::Manhattan.is_better(1.0, 2.0));
        assert!(Distance::Dot.is_better(2.0, 1.0));
    }

    #[test]
    fn names_are_qdrants() {
        let d: Distance = serde_json::from_str("\"Euclid\"").unwrap();
        assert_eq!(d, Distance::Euclid);
        assert_eq!(
            serde_json::to_string(&Distance::Manhattan).unwrap(),
            "\"Manhattan\""
        );
    }
}
