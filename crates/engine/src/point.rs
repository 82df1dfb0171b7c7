//! Points as users write and read them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vicinity_payload::{Payload, PayloadSelector};

use crate::{DEFAULT_VECTOR, PointId};

/// A point's vectors: one unnamed vector, or vectors by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Vectors {
    /// The unnamed default vector.
    Single(Vec<f32>),
    /// Named vectors; a point may have any subset of the collection's names.
    Named(BTreeMap<String, Vec<f32>>),
}

impl Vectors {
    /// The vectors by name (the default vector under `""`).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&str, &[f32])> + '_> {
        match self {
            Vectors::Single(v) => Box::new(std::iter::once((DEFAULT_VECTOR, v.as_slice()))),
            Vectors::Named(m) => Box::new(m.iter().map(|(k, v)| (k.as_str(), v.as_slice()))),
        }
    }

    /// The vector of one name.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl From<Vec<f32>> for Vectors {
    fn from(v: Vec<f32>) -> Self {
        Vectors::Single(v)
    }
}

impl<S: Into<String>> FromIterator<(S, Vec<f32>)> for Vectors {
    fn from_iter<I: IntoIterator<Item = (S, Vec<f32>)>>(iter: I) -> Self {
        Vectors::Named(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
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
