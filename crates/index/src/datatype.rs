//! Element types of stored vectors (Qdrant's `datatype`): `float32`,
//! `float16` and `uint8`.
//!
//! A stored row is a run of 32-bit words whatever the type: `float32`
//! values one to a word, `float16` values two to a word and `uint8` values
//! four to a word, in memory order, the last word padded with zeros. Zero
//! padding adds nothing to a dot product, a distance or a norm, so the
//! kernels read whole words. A row is then a `&[f32]` like any other (as a
//! multivector row is, see [`multi`](crate::multi)): columns, files,
//! snapshots, graphs and scans move it without knowing its type, and the
//! store's metric ([`with_store_metric`](crate::with_store_metric)) reads
//! the words as the type they hold. A query is encoded to the store's type
//! as well, as Qdrant converts it, so both sides of a comparison match.
//!
//! Conversions are Qdrant's: `float16` rounds to the nearest value (values
//! beyond ±65,504 are held at that bound, where Qdrant would store an
//! infinity); `uint8` keeps the integer part, saturated to 0..=255 (Rust's
//! `as u8`, Qdrant's conversion). Cosine normalises a vector before it is
//! rounded to `float16`, and leaves a `uint8` vector as it is: its cosine
//! is computed in full, `a · b / (|a| |b|)`, over the integers.

use serde::{Deserialize, Serialize};

use crate::distance::{DotMetric, L1Metric, L2Metric};
use crate::{Distance, IndexError, Metric, kernels};

/// How a vector store holds each value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Datatype {
    /// 32-bit floats, as given.
    #[default]
    Float32,
    /// IEEE half precision: 2 bytes per value, about 3 significant digits.
    Float16,
    /// Unsigned bytes: 1 byte per value, the integer part of each value
    /// saturated to 0..=255.
    Uint8,
}

/// The largest finite `float16` value.
const F16_MAX: f32 = 65_504.0;

impl Datatype {
    /// The 32-bit words a vector of `dim` values takes.
    #[inline]
    pub fn words(self, dim: usize) -> usize {
        match self {
            Datatype::Float32 => dim,
            Datatype::Float16 => dim.div_ceil(2),
            Datatype::Uint8 => dim.div_ceil(4),
        }
    }

    /// Bytes per value.
    pub fn value_bytes(self) -> usize {
        match self {
            Datatype::Float32 => 4,
            Datatype::Float16 => 2,
            Datatype::Uint8 => 1,
        }
    }

    /// Whether vectors of this type are preprocessed for their distance
    /// before they are encoded (Cosine normalises `float32` and `float16`
    /// vectors, not `uint8` ones).
    #[inline]
    pub fn preprocessed(self) -> bool {
        self != Datatype::Uint8
    }

    /// Appends to `out` the words of `values` (already preprocessed).
    pub fn encode(self, values: &[f32], out: &mut Vec<f32>) {
        if self == Datatype::Float32 {
            out.extend_from_slice(values);
            return;
        }
        let at = out.len();
        out.resize(at + self.words(values.len()), 0.0);
        let words = &mut out[at..];
        match self {
            Datatype::Float32 => unreachable!("copied above"),
            Datatype::Float16 => {
                let bits: &mut [u16] = bytemuck::cast_slice_mut(words);
                for (b, &x) in bits.iter_mut().zip(values) {
                    *b = half::f16::from_f32(x.clamp(-F16_MAX, F16_MAX)).to_bits();
                }
            }
            Datatype::Uint8 => {
                let bytes: &mut [u8] = bytemuck::cast_slice_mut(words);
                for (b, &x) in bytes.iter_mut().zip(values) {
                    *b = x as u8;
                }
            }
        }
    }

    /// Appends to `out` the words of `values` prepared for `distance`:
    /// preprocessed ([`preprocessed`](Self::preprocessed) types), then
    /// encoded.
    pub fn prepare(self, distance: Distance, values: &[f32], out: &mut Vec<f32>) {
        if self == Datatype::Float32 {
            let at = out.len();
            out.extend_from_slice(values);
            distance.preprocess(&mut out[at..]);
        } else if self.preprocessed() && distance == Distance::Cosine {
            let mut v = values.to_vec();
            distance.preprocess(&mut v);
            self.encode(&v, out);
        } else {
            self.encode(values, out);
        }
    }

    /// Appends to `out` the `dim` values that `words` (one encoded vector)
    /// hold.
    pub fn decode(self, words: &[f32], dim: usize, out: &mut Vec<f32>) {
        match self {
            Datatype::Float32 => out.extend_from_slice(&words[..dim.min(words.len())]),
            Datatype::Float16 => {
                let bits: &[u16] = bytemuck::cast_slice(words);
                out.extend(bits.iter().take(dim).map(|&b| kernels::from_f16(b)));
            }
            Datatype::Uint8 => {
                let bytes: &[u8] = bytemuck::cast_slice(words);
                out.extend(bytes.iter().take(dim).map(|&b| f32::from(b)));
            }
        }
    }

    /// Checks the words of one stored vector of `dim` values (a copy of a
    /// stored row, or one read back from a file): the right number of
    /// words, finite values (every byte is a valid `uint8`).
    pub fn check(self, words: &[f32], dim: usize) -> Result<(), IndexError> {
        if words.len() != self.words(dim) {
            return Err(IndexError::Dimension {
                expected: self.words(dim),
                got: words.len(),
            });
        }
        let bad = match self {
            Datatype::Float32 => words
                .iter()
                .enumerate()
                .find(|(_, x)| !x.is_finite())
                .map(|(i, &x)| (i, x)),
            Datatype::Float16 => bytemuck::cast_slice::<f32, u16>(words)
                .iter()
                .map(|&b| kernels::from_f16(b))
                .enumerate()
                .find(|(_, x)| !x.is_finite()),
            Datatype::Uint8 => None,
        };
        match bad {
            Some((position, value)) => Err(IndexError::NotFinite { position, value }),
            None => Ok(()),
        }
    }
}

/// Declares a metric over encoded rows: `$kernel` scores the rows' words
/// read as `$elem`; scalar codes (made from the decoded values) are scored
/// by `$codes`, the `f32` metric of the distance.
macro_rules! typed_metric {
    ($(#[$doc:meta])* $name:ident, $elem:ty, $codes:ty, |$a:ident, $b:ident| $kernel:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;

        impl Metric for $name {
            #[inline]
            fn similarity(a: &[f32], b: &[f32]) -> f32 {
                let ($a, $b): (&[$elem], &[$elem]) =
                    (bytemuck::cast_slice(a), bytemuck::cast_slice(b));
                $kernel
            }

            fn similarity_bf16(_: &[u16], _: &[u16]) -> f32 {
                debug_assert!(false, "no bfloat16 copy is made of a {} store", stringify!($elem));
                f32::NEG_INFINITY
            }

            #[inline]
            fn similarity_i8(a: &[i8], b: &[i8]) -> f32 {
                <$codes as Metric>::similarity_i8(a, b)
            }
        }
    };
}

typed_metric!(
    /// The dot product of `float16` rows (Cosine on normalised vectors,
    /// and Dot).
    HalfDot, u16, DotMetric, |a, b| kernels::dot_f16(a, b)
);
typed_metric!(
    /// The negated squared Euclidean distance of `float16` rows.
    HalfL2, u16, L2Metric, |a, b| -kernels::l2sq_f16(a, b)
);
typed_metric!(
    /// The negated Manhattan distance of `float16` rows.
    HalfL1, u16, L1Metric, |a, b| -kernels::l1_f16(a, b)
);
typed_metric!(
    /// The dot product of `uint8` rows.
    ByteDot, u8, DotMetric, |a, b| kernels::dot_u8(a, b) as f32
);
typed_metric!(
    /// The cosine of `uint8` rows (computed in full: they are not
    /// normalised).
    ByteCosine, u8, DotMetric, |a, b| kernels::cosine_u8(a, b)
);
typed_metric!(
    /// The negated squared Euclidean distance of `uint8` rows.
    ByteL2, u8, L2Metric, |a, b| -(kernels::l2sq_u8(a, b) as f32)
);
typed_metric!(
    /// The negated Manhattan distance of `uint8` rows.
    ByteL1, u8, L1Metric, |a, b| -(kernels::l1_u8(a, b) as f32)
);

/// Calls `$body` with `$m` bound to the [`Metric`] of single-vector rows
/// of `$datatype` compared by `$distance`.
#[macro_export]
#[doc(hidden)]
macro_rules! with_typed_metric {
    ($datatype:expr, $distance:expr, $m:ident => $body:expr) => {
        match $datatype {
            $crate::Datatype::Float32 => $crate::with_metric!($distance, $m => $body),
            $crate::Datatype::Float16 => match $distance {
                $crate::Distance::Cosine | $crate::Distance::Dot => {
                    type $m = $crate::datatype::HalfDot;
                    $body
                }
                $crate::Distance::Euclid => {
                    type $m = $crate::datatype::HalfL2;
                    $body
                }
                $crate::Distance::Manhattan => {
                    type $m = $crate::datatype::HalfL1;
                    $body
                }
            },
            $crate::Datatype::Uint8 => match $distance {
                $crate::Distance::Cosine => {
                    type $m = $crate::datatype::ByteCosine;
                    $body
                }
                $crate::Distance::Dot => {
                    type $m = $crate::datatype::ByteDot;
                    $body
                }
                $crate::Distance::Euclid => {
                    type $m = $crate::datatype::ByteL2;
                    $body
                }
                $crate::Distance::Manhattan => {
                    type $m = $crate::datatype::ByteL1;
                    $body
                }
            },
        }
    };
}

/// The similarity of two encoded vectors of `datatype` under `distance`
/// (see [`Distance::similarity`] for `float32`).
pub fn similarity(datatype: Datatype, distance: Distance, a: &[f32], b: &[f32]) -> f32 {
    crate::with_typed_metric!(datatype, distance, M => M::similarity(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(datatype: Datatype, v: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        datatype.encode(v, &mut out);
        out
    }

    #[test]
    fn words_pack_two_halves_or_four_bytes() {
        assert_eq!(Datatype::Float32.words(5), 5);
        assert_eq!(Datatype::Float16.words(5), 3);
        assert_eq!(Datatype::Uint8.words(5), 2);
        assert_eq!(encoded(Datatype::Float16, &[1.0; 5]).len(), 3);
        assert_eq!(encoded(Datatype::Uint8, &[1.0; 5]).len(), 2);
    }

    #[test]
    fn conversions_are_qdrants() {
        // uint8: integer part, saturated
        let v = [0.0, 1.7, 254.9, 300.0, -5.0, 3.0];
        let mut back = Vec::new();
        Datatype::Uint8.decode(&encoded(Datatype::Uint8, &v), v.len(), &mut back);
        assert_eq!(back, vec![0.0, 1.0, 254.0, 255.0, 0.0, 3.0]);
        // float16: nearest, about 3 digits; the bound held
        let v = [0.1, -2.5, 1e5, 3.0];
        back.clear();
        Datatype::Float16.decode(&encoded(Datatype::Float16, &v), v.len(), &mut back);
        assert_eq!(back[1], -2.5);
        assert_eq!(back[2], F16_MAX);
        assert_eq!(back[3], 3.0);
        assert!((back[0] - 0.1).abs() < 1e-4 && back[0] != 0.1);
        // float32: as given
        back.clear();
        Datatype::Float32.decode(&encoded(Datatype::Float32, &v), v.len(), &mut back);
        assert_eq!(back, v);
    }

    #[test]
    fn similarities_are_those_of_the_decoded_values() {
        let (a, b) = ([1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 0.0, 2.0, 7.0, 1.0]);
        for datatype in [Datatype::Float32, Datatype::Float16, Datatype::Uint8] {
            let (ea, eb) = (encoded(datatype, &a), encoded(datatype, &b));
            let sim = |d| similarity(datatype, d, &ea, &eb);
            assert_eq!(sim(Distance::Dot), 44.0, "{datatype:?}");
            assert_eq!(sim(Distance::Euclid), -(16.0 + 4.0 + 1.0 + 9.0 + 16.0));
            assert_eq!(sim(Distance::Manhattan), -(4.0 + 2.0 + 1.0 + 3.0 + 4.0));
        }
        // uint8 cosine in full: these rows are not normalised
        let (ea, eb) = (encoded(Datatype::Uint8, &a), encoded(Datatype::Uint8, &b));
        let want = 44.0 / (55.0f32 * 79.0).sqrt();
        assert!((similarity(Datatype::Uint8, Distance::Cosine, &ea, &eb) - want).abs() < 1e-6);
    }

    #[test]
    fn check_refuses_wrong_lengths_and_non_finite_halves() {
        assert!(
            Datatype::Float16
                .check(&encoded(Datatype::Float16, &[1.0; 3]), 3)
                .is_ok()
        );
        assert!(
            Datatype::Float16
                .check(&encoded(Datatype::Float16, &[1.0; 3]), 5)
                .is_err()
        );
        let inf = [f32::from_bits(u32::from(half::f16::INFINITY.to_bits()))];
        assert!(matches!(
            Datatype::Float16.check(&inf, 2),
            Err(IndexError::NotFinite { position: 0, .. })
        ));
        assert!(
            Datatype::Uint8
                .check(&[f32::from_bits(u32::MAX)], 4)
                .is_ok()
        );
        assert!(Datatype::Float32.check(&[f32::NAN], 1).is_err());
    }
}
