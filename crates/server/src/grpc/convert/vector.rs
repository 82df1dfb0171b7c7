//! Vectors: the legacy flat `data` field and the newer oneof in, the oneof
//! out. Dense `f32` vectors only, for now.

use std::collections::{BTreeMap, HashMap};

use tonic::Status;
use vicinity::Vectors;

use crate::pb::{self, vector::Vector as V, vectors::VectorsOptions};
use crate::status::{invalid, unsupported};

/// One wire vector as a dense vector.
pub fn dense_from_proto(v: pb::Vector) -> Result<Vec<f32>, Status> {
    match v.vector {
        Some(V::Dense(d)) => Ok(d.data),
        Some(V::Sparse(_)) => Err(unsupported("sparse vectors")),
        Some(V::MultiDense(_)) => Err(unsupported("multi-vectors")),
        Some(V::Document(_) | V::Image(_) | V::Object(_)) => {
            Err(unsupported("inference (documents, images, objects)"))
        }
        None => {
            if v.indices.is_some() {
                return Err(unsupported("sparse vectors"));
            }
            if v.vectors_count.is_some_and(|n| n > 1) {
                return Err(unsupported("multi-vectors"));
            }
            Ok(v.data)
        }
    }
}

/// A point's wire vectors. Missing vectors are refused, as Qdrant does.
pub fn vectors_from_proto(v: Option<pb::Vectors>) -> Result<Vectors, Status> {
    match v.and_then(|v| v.vectors_options) {
        Some(VectorsOptions::Vector(v)) => Ok(Vectors::Single(dense_from_proto(v)?)),
        Some(VectorsOptions::Vectors(named)) => Ok(Vectors::Named(
            named
                .vectors
                .into_iter()
                .map(|(k, v)| Ok((k, dense_from_proto(v)?)))
                .collect::<Result<BTreeMap<_, _>, Status>>()?,
        )),
        None => Err(invalid("point has no vectors")),
    }
}

fn dense_out(data: Vec<f32>) -> pb::VectorOutput {
    pb::VectorOutput {
        vector: Some(pb::vector_output::Vector::Dense(pb::DenseVector { data })),
        ..Default::default()
    }
}

/// Engine vectors on the wire, in the oneof form. The unnamed default
/// vector is sent as a single vector; named vectors as a map.
pub fn vectors_to_proto(v: Vectors) -> pb::VectorsOutput {
    use pb::vectors_output::VectorsOptions as O;
    let options = match v {
        Vectors::Single(v) => O::Vector(dense_out(v)),
        Vectors::Named(m) => {
            if m.len() == 1 && m.contains_key(vicinity::DEFAULT_VECTOR) {
                let v = m.into_values().next().unwrap_or_default();
                O::Vector(dense_out(v))
            } else {
                O::Vectors(pb::NamedVectorsOutput {
                    vectors: m
                        .into_iter()
                        .map(|(k, v)| (k, dense_out(v)))
                        .collect::<HashMap<_, _>>(),
                })
            }
        }
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
    fn sparse_and_multi_are_unimplemented() {
        let sparse = pb::Vector {
            data: vec![1.0],
            indices: Some(pb::SparseIndices { data: vec![3] }),
            ..Default::default()
        };
        assert_eq!(
            dense_from_proto(sparse).unwrap_err().code(),
            tonic::Code::Unimplemented
        );
        let multi = pb::Vector {
            data: vec![1.0, 2.0],
            vectors_count: Some(2),
            ..Default::default()
        };
        assert_eq!(
            dense_from_proto(multi).unwrap_err().code(),
            tonic::Code::Unimplemented
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
