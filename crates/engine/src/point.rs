//! Points as users write and read them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vicinity_payload::{Payload, PayloadSelector};

use crate::{DEFAULT_VECTOR, PointId};

/// A sparse vector: weights at a few of a huge number of dimensions
/// (BM25 or SPLADE term weights). Indices need not be sorted; they are
/// stored sorted, as Qdrant stores them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVector {
    /// The dimensions with a weight, each once.
    pub indices: Vec<u32>,
    /// The weight of each index.
    pub values: Vec<f32>,
}

impl SparseVector {
    /// A sparse vector of `(index, weight)` pairs.
    pub fn new(indices: Vec<u32>, values: Vec<f32>) -> Self {
        SparseVector { indices, values }
    }

    /// Qdrant's checks, with its messages: as many values as indices, no
    /// index twice; and finite weights.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let mut errors = Vec::new();
        if self.indices.len() != self.values.len() {
            errors.push("values: must be the same length as indices".to_string());
        }
        let mut seen = self.indices.clone();
        seen.sort_unstable();
        if seen.windows(2).any(|w| w[0] == w[1]) {
            errors.push("indices: must be unique".to_string());
        }
        if self.values.iter().any(|v| !v.is_finite()) {
            errors.push("values: must be finite numbers".to_string());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join(", "))
        }
    }

    /// The same vector with its indices ascending.
    pub fn sorted(&self) -> SparseVector {
        let (indices, values) = vicinity_index::sparse::sort_pairs(&self.indices, &self.values);
        SparseVector { indices, values }
    }

    /// The dot product over the indices both hold (both sorted); `None`
    /// when they share none.
    pub fn dot(&self, other: &SparseVector) -> Option<f32> {
        vicinity_index::sparse::dot(&self.indices, &self.values, &other.indices, &other.values)
    }
}

/// One vector of a point: dense, or sparse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Vector {
    /// A dense vector of the space's dimension.
    Dense(Vec<f32>),
    /// A sparse vector.
    Sparse(SparseVector),
    /// A multivector: a matrix of vectors of the space's dimension (for a
    /// vector name with `multivector_config`).
    Multi(Vec<Vec<f32>>),
}

impl Vector {
    /// The dense vector, if this is one.
    pub fn as_dense(&self) -> Option<&[f32]> {
        match self {
            Vector::Dense(v) => Some(v),
            _ => None,
        }
    }

    /// The sparse vector, if this is one.
    pub fn as_sparse(&self) -> Option<&SparseVector> {
        match self {
            Vector::Sparse(v) => Some(v),
            _ => None,
        }
    }

    /// The multivector, if this is one.
    pub fn as_multi(&self) -> Option<&[Vec<f32>]> {
        match self {
            Vector::Multi(v) => Some(v),
            _ => None,
        }
    }
}

impl From<Vec<Vec<f32>>> for Vector {
    fn from(v: Vec<Vec<f32>>) -> Self {
        Vector::Multi(v)
    }
}

impl From<Vec<f32>> for Vector {
    fn from(v: Vec<f32>) -> Self {
        Vector::Dense(v)
    }
}

impl From<SparseVector> for Vector {
    fn from(v: SparseVector) -> Self {
        Vector::Sparse(v)
    }
}

/// A borrowed [`Vector`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VectorRef<'a> {
    /// A dense vector.
    Dense(&'a [f32]),
    /// A sparse vector.
    Sparse(&'a SparseVector),
    /// A multivector.
    Multi(&'a [Vec<f32>]),
}

impl<'a> VectorRef<'a> {
    /// The dense vector, if this is one.
    pub fn as_dense(self) -> Option<&'a [f32]> {
        match self {
            VectorRef::Dense(v) => Some(v),
            _ => None,
        }
    }

    /// The sparse vector, if this is one.
    pub fn as_sparse(self) -> Option<&'a SparseVector> {
        match self {
            VectorRef::Sparse(v) => Some(v),
            _ => None,
        }
    }

    /// The multivector, if this is one.
    pub fn as_multi(self) -> Option<&'a [Vec<f32>]> {
        match self {
            VectorRef::Multi(v) => Some(v),
            _ => None,
        }
    }
}

impl<'a> From<&'a Vector> for VectorRef<'a> {
    fn from(v: &'a Vector) -> Self {
        match v {
            Vector::Dense(d) => VectorRef::Dense(d),
            Vector::Sparse(s) => VectorRef::Sparse(s),
            Vector::Multi(m) => VectorRef::Multi(m),
        }
    }
}

/// A point's vectors: one unnamed vector, or vectors by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Vectors {
    /// The unnamed default vector.
    Single(Vec<f32>),
    /// Named vectors, dense or sparse; a point may have any subset of the
    /// collection's names.
    Named(BTreeMap<String, Vector>),
}

impl Vectors {
    /// The vectors by name (the default vector under `""`).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&str, VectorRef<'_>)> + '_> {
        match self {
            Vectors::Single(v) => Box::new(std::iter::once((DEFAULT_VECTOR, VectorRef::Dense(v)))),
            Vectors::Named(m) => Box::new(m.iter().map(|(k, v)| (k.as_str(), v.into()))),
        }
    }

    /// The vector of one name.
    pub fn get(&self, name: &str) -> Option<VectorRef<'_>> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The dense vector of one name.
    pub fn dense(&self, name: &str) -> Option<&[f32]> {
        self.get(name).and_then(VectorRef::as_dense)
    }

    /// The sparse vector of one name.
    pub fn sparse(&self, name: &str) -> Option<&SparseVector> {
        self.get(name).and_then(VectorRef::as_sparse)
    }
}

impl From<Vec<f32>> for Vectors {
    fn from(v: Vec<f32>) -> Self {
        Vectors::Single(v)
    }
}

impl<S: Into<String>, V: Into<Vector>> FromIterator<(S, V)> for Vectors {
    fn from_iter<I: IntoIterator<Item = (S, V)>>(iter: I) -> Self {
        Vectors::Named(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// A point to upsert: id, vectors and payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointStruct {
    /// The point's id.
    pub id: PointId,
    /// Its vectors.
    #[serde(alias = "vector")]
    pub vectors: Vectors,
    /// Its payload (empty when `None`).
    #[serde(default)]
    pub payload: Option<Payload>,
}

impl PointStruct {
    /// A point with an id, vectors and a payload.
    pub fn new(id: impl Into<PointId>, vectors: impl Into<Vectors>, payload: Payload) -> Self {
        PointStruct {
            id: id.into(),
            vectors: vectors.into(),
            payload: Some(payload),
        }
    }
}

/// Which vectors a result carries (`with_vectors`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum VectorSelector {
    /// All of the point's vectors.
    All,
    /// None.
    #[default]
    None,
    /// Only these names.
    Names(Vec<String>),
}

impl From<bool> for VectorSelector {
    fn from(all: bool) -> Self {
        if all {
            VectorSelector::All
        } else {
            VectorSelector::None
        }
    }
}

impl VectorSelector {
    /// Whether vector `name` is selected.
    pub fn selects(&self, name: &str) -> bool {
        match self {
            VectorSelector::All => true,
            VectorSelector::None => false,
            VectorSelector::Names(names) => names.iter().any(|n| n == name),
        }
    }
}

/// A stored point as read back (get, scroll).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Record {
    /// The id.
    pub id: PointId,
    /// The payload, if selected.
    pub payload: Option<Payload>,
    /// The vectors, if selected: as stored, so Cosine vectors come back
    /// normalised, as in Qdrant.
    pub vectors: Option<Vectors>,
    /// The value the point was ordered by, in an ordered scroll.
    #[serde(skip)]
    pub order_value: Option<vicinity_payload::OrderValue>,
}

/// A search hit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScoredPoint {
    /// The id.
    pub id: PointId,
    /// The number of the last operation that wrote the point.
    pub version: u64,
    /// The score, in the distance's convention (see [`vicinity_index::Distance`]).
    pub score: f32,
    /// The payload, if selected.
    pub payload: Option<Payload>,
    /// The vectors, if selected.
    pub vectors: Option<Vectors>,
}

/// How a write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UpdateStatus {
    /// Applied, and visible to every read that starts after the call returned.
    Completed,
}

/// The result of a write: its operation number and status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct UpdateResult {
    /// The operation's sequence number in the collection.
    pub operation_id: u64,
    /// Its status.
    pub status: UpdateStatus,
}

/// What to return along with points: `with_payload` and `with_vectors`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WithSelectors {
    /// Which payload keys.
    pub payload: PayloadSelector,
    /// Which vectors.
    pub vectors: VectorSelector,
}
