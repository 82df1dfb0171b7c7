//! Vectors: the legacy flat `data` (and `indices`) fields and the newer
//! oneof in, the oneof out. Dense and sparse `f32` vectors.

use std::collections::{BTreeMap, HashMap};

use tonic::Status;
use vicinity::{SparseVector, Vector, Vectors};

use crate::pb::{self, vector::Vector as V, vectors::VectorsOptions};
use crate::status::{invalid, unsupported};

/// One wire vector: dense, or sparse (the oneof, or the legacy `data`
/// with `indices`).
pub fn vector_from_proto(v: pb::Vector) -> Result<Vector, Status> {
    match v.vector {
        Some(V::Dense(d)) => Ok(Vector::Dense(d.data)),
        Some(V::Sparse(s)) => sparse(s.indices, s.values).map(Vector::Sparse),
        Some(V::MultiDense(m)) => Ok(Vector::Multi(
            m.vectors.into_iter().map(|v| v.data).collect(),
        )),
        Some(V::Document(_) | V::Image(_) | V::Object(_)) => {
            Err(unsupported("inference (documents, images, objects)"))
        }
        None => {
            if let Some(indices) = v.indices {
                return sparse(indices.data, v.data).map(Vector::Sparse);
            }
            match v.vectors_count {
                Some(n) => flat_multi(v.data, n as usize).map(Vector::Multi),
                None => Ok(Vector::Dense(v.data)),
            }
        }
    }
}

/// The legacy flat form of a multivector: `n` vectors back to back in
/// `data`, split as Qdrant splits them.
fn flat_multi(data: Vec<f32>, n: usize) -> Result<Vec<Vec<f32>>, Status> {
    let refuse = |reason: String| {
        invalid(format!(
            "Unable to convert to multi-dense vector: Validation error: {reason}"
        ))
    };
    if n == 0 || data.is_empty() {
        return Err(refuse(format!(
            "Empty multi-vector data with vectors count: {n}"
        )));
    }
    let dim = data.len() / n;
    if dim * n != data.len() {
        return Err(refuse(format!(
            "Data length is not divisible by vectors count. Data length: {}, vectors count: {n}",
            data.len()
        )));
    }
    Ok(data.chunks_exact(dim).map(<[f32]>::to_vec).collect())
}

/// A sparse vector checked as Qdrant checks it.
pub fn sparse(indices: Vec<u32>, values: Vec<f32>) -> Result<SparseVector, Status> {
    let v = SparseVector::new(indices, values);
    v.validate()
        .map_err(|e| invalid(format!("Validation error in body: [{e}]")))?;
    Ok(v)
}

/// One wire vector as a dense vector.
pub fn dense_from_proto(v: pb::Vector) -> Result<Vec<f32>, Status> {
    match vector_from_proto(v)? {
        Vector::Dense(d) => Ok(d),
        Vector::Sparse(_) => Err(invalid(
            "Wrong input: Conversion between sparse and regular vectors failed",
        )),
        Vector::Multi(_) => Err(invalid("Wrong input: Wrong usage of multi vectors")),
    }
}

/// A point's wire vectors. Missing vectors are refused, as Qdrant does.
pub fn vectors_from_proto(v: Option<pb::Vectors>) -> Result<Vectors, Status> {
    match v.and_then(|v| v.vectors_options) {
        Some(VectorsOptions::Vector(v)) => Ok(match vector_from_proto(v)? {
            Vector::Dense(d) => Vectors::Single(d),
            sparse => Vectors::Named([(vicinity::DEFAULT_VECTOR.to_string(), sparse)].into()),
        }),
        Some(VectorsOptions::Vectors(named)) => Ok(Vectors::Named(
            named
                .vectors
                .into_iter()
                .map(|(k, v)| Ok((k, vector_from_proto(v)?)))
                .collect::<Result<BTreeMap<_, _>, Status>>()?,
        )),
        None => Err(invalid("point has no vectors")),
    }
}

fn vector_out(v: Vector) -> pb::VectorOutput {
    use pb::vector_output::Vector as O;
    let vector = match v {
        Vector::Dense(data) => O::Dense(pb::DenseVector { data }),
        Vector::Sparse(s) => O::Sparse(pb::SparseVector {
            values: s.values,
            indices: s.indices,
        }),
        Vector::Multi(m) => O::MultiDense(pb::MultiDenseVector {
            vectors: m.into_iter().map(|data| pb::DenseVector { data }).collect(),
        }),
    };
    pb::VectorOutput {
        vector: Some(vector),
        ..Default::default()
    }
}

/// Engine vectors on the wire, in the oneof form. The unnamed default
/// vector is sent as a single vector; named vectors as a map.
pub fn vectors_to_proto(v: Vectors) -> pb::VectorsOutput {
    use pb::vectors_output::VectorsOptions as O;
    let options = match v {
        Vectors::Single(v) => O::Vector(vector_out(Vector::Dense(v))),
        Vectors::Named(mut m) => match m.remove(vicinity::DEFAULT_VECTOR) {
            Some(v @ (Vector::Dense(_) | Vector::Multi(_))) if m.is_empty() => {
                O::Vector(vector_out(v))
            }
            other => {
                if let Some(v) = other {
                    m.insert(vicinity::DEFAULT_VECTOR.to_string(), v);
                }
                O::Vectors(pb::NamedVectorsOutput {
                    vectors: m
                        .into_iter()
                        .map(|(k, v)| (k, vector_out(v)))
                        .collect::<HashMap<_, _>>(),
                })
            }
        },
    };
    pb::VectorsOutput {
        vectors_options: Some(options),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_oneof_forms_are_both_read() {
        let legacy = pb::Vector {
            data: vec![1.0, 2.0],
            ..Default::default()
        };
        let oneof = pb::Vector {
            vector: Some(V::Dense(pb::DenseVector {
                data: vec![1.0, 2.0],
            })),
            ..Default::default()
        };
        assert_eq!(dense_from_proto(legacy).unwrap(), vec![1.0, 2.0]);
        assert_eq!(dense_from_proto(oneof).unwrap(), vec![1.0, 2.0]);
    }

    #[test]
    fn sparse_vectors_are_read_in_both_forms_and_checked() {
        let legacy = pb::Vector {
            data: vec![1.0, 2.0],
            indices: Some(pb::SparseIndices { data: vec![7, 3] }),
            ..Default::default()
        };
        let oneof = pb::Vector {
            vector: Some(V::Sparse(pb::SparseVector {
                values: vec![1.0, 2.0],
                indices: vec![7, 3],
            })),
            ..Default::default()
        };
        let want = Vector::Sparse(SparseVector::new(vec![7, 3], vec![1.0, 2.0]));
        assert_eq!(vector_from_proto(legacy).unwrap(), want);
        assert_eq!(vector_from_proto(oneof).unwrap(), want);
        let duplicate = pb::Vector {
            vector: Some(V::Sparse(pb::SparseVector {
                values: vec![1.0, 2.0],
                indices: vec![3, 3],
            })),
            ..Default::default()
        };
        let e = vector_from_proto(duplicate).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("indices: must be unique"), "{e:?}");
        // the legacy flat multivector: n vectors back to back
        let multi = |data: Vec<f32>, n| pb::Vector {
            data,
            vectors_count: Some(n),
            ..Default::default()
        };
        assert_eq!(
            vector_from_proto(multi(vec![1.0, 2.0, 3.0, 4.0], 2)).unwrap(),
            Vector::Multi(vec![vec![1.0, 2.0], vec![3.0, 4.0]])
        );
        let e = vector_from_proto(multi(vec![1.0, 2.0, 3.0], 2)).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(
            e.message().contains("not divisible by vectors count"),
            "{e:?}"
        );
        let e = dense_from_proto(multi(vec![1.0, 2.0], 2)).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(
            e.message().contains("Wrong usage of multi vectors"),
            "{e:?}"
        );
    }

    #[test]
    fn output_uses_the_oneof() {
        let out = vectors_to_proto(Vectors::Single(vec![0.5]));
        match out.vectors_options {
            Some(pb::vectors_output::VectorsOptions::Vector(v)) => {
                assert!(v.data.is_empty());
                assert!(matches!(
                    v.vector,
                    Some(pb::vector_output::Vector::Dense(_))
                ));
            }
            other => panic!("{other:?}"),
        }
    }
}
