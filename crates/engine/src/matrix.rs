//! The sampled distance matrix (Qdrant's `search/matrix`): a random sample
//! of the points passing a filter, and for each sampled point its nearest
//! neighbours among the other sampled points.

use vicinity_payload::{Filter, PointId};
use vicinity_storage::PointOffset;

use crate::collection::bad_limit;
use crate::{Collection, DEFAULT_VECTOR, Error, Result};

/// A distance-matrix request: Qdrant's `SearchMatrixRequest`.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchMatrixRequest {
    /// Only points passing this filter (and holding the `using` vector)
    /// are sampled.
    pub filter: Option<Filter>,
    /// How many points to sample, at least 2 (Qdrant's default: 10). The
    /// work is `sample²` distance computations.
    pub sample: usize,
    /// Neighbours per sampled point, at least 1 (Qdrant's default: 3).
    pub limit: usize,
    /// The vector name.
    pub using: String,
}

impl Default for SearchMatrixRequest {
    /// Qdrant's defaults: 10 samples, 3 neighbours each, the default
    /// vector, no filter.
    fn default() -> Self {
        SearchMatrixRequest {
            filter: None,
            sample: 10,
            limit: 3,
            using: DEFAULT_VECTOR.to_string(),
        }
    }
}

/// A sampled distance matrix: the sampled ids in id order, and for each a
/// row of its nearest neighbours (best first, itself excluded) as indexes
/// into `ids` with the user-facing score.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchMatrix {
    /// The sampled points, in id order (numbers ascending, then UUIDs).
    pub ids: Vec<PointId>,
    /// `neighbours[i]`: the nearest sampled points to `ids[i]`, best first,
    /// as `(index into ids, score)`.
    pub neighbours: Vec<Vec<(usize, f32)>>,
}

/// One entry of the matrix in pair form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatrixPair {
    /// The sampled point.
    pub a: PointId,
    /// One of its nearest neighbours.
    pub b: PointId,
    /// Their score, on the user's scale of the collection's distance.
    pub score: f32,
}

/// The matrix in coordinate (sparse) form: entry `k` is
/// `(offsets_row[k], offsets_col[k]) = scores[k]`, both indexing `ids`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MatrixOffsets {
    /// Row of each entry (the sampled point).
    pub offsets_row: Vec<u64>,
    /// Column of each entry (its neighbour).
    pub offsets_col: Vec<u64>,
    /// Score of each entry.
    pub scores: Vec<f32>,
    /// The sampled ids, in id order.
    pub ids: Vec<PointId>,
}

impl SearchMatrix {
    /// The matrix as `(a, b, score)` pairs, row by row.
    pub fn pairs(&self) -> Vec<MatrixPair> {
        self.ids
            .iter()
            .zip(&self.neighbours)
            .flat_map(|(a, row)| {
                row.iter().map(move |&(j, score)| MatrixPair {
                    a: *a,
                    b: self.ids[j],
                    score,
                })
            })
            .collect()
    }

    /// The matrix in coordinate form.
    pub fn offsets(&self) -> MatrixOffsets {
        let mut out = MatrixOffsets {
            ids: self.ids.clone(),
            ..MatrixOffsets::default()
        };
        for (i, row) in self.neighbours.iter().enumerate() {
            for &(j, score) in row {
                out.offsets_row.push(i as u64);
                out.offsets_col.push(j as u64);
                out.scores.push(score);
            }
        }
        out
    }
}

/// A key that shuffles rows by a per-call seed (splitmix64's finaliser).
pub(crate) fn shuffle_key(seed: u64, row: PointOffset) -> u64 {
    let mut x = seed ^ u64::from(row.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// A fresh seed per call, so that each sample differs, as Qdrant's.
pub(crate) fn fresh_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl Collection {
    /// The sampled distance matrix: `sample` random points among those
    /// passing the filter and holding the `using` vector, sorted by id, and
    /// for each its `limit` nearest among the other sampled points, scored
    /// exactly with the vector's distance (Qdrant's scale: Euclid and
    /// Manhattan are distances, lower first). Fewer than two such points
    /// give an empty matrix, as in Qdrant.
    pub fn search_matrix(&self, req: &SearchMatrixRequest) -> Result<SearchMatrix> {
        if req.sample < 2 {
            return Err(Error::BadRequest(format!(
                "sample: value {} invalid, must be 2 or more",
                req.sample
            )));
        }
        if req.limit == 0 {
            return Err(bad_limit("limit"));
        }
        let segment = self.segment();
        let (col_idx, column) = segment.column(&req.using)?;
        let distance = column.store.distance();
        let mut sampled: Vec<(PointId, PointOffset)> = {
            let table = segment.table.read();
            let mut rows: Vec<(PointId, PointOffset)> = table
                .matching(&segment, req.filter.as_ref())
                .filter(|&(_, row)| segment.has_vector(col_idx, row))
                .collect();
            let seed = fresh_seed();
            rows.sort_by_key(|&(_, row)| shuffle_key(seed, row));
            rows.truncate(req.sample);
            rows
        };
        if sampled.len() < 2 {
            return Ok(SearchMatrix::default());
        }
        sampled.sort_unstable();
        let vectors: Vec<&[f32]> = sampled
            .iter()
            .map(|&(_, row)| column.store.get(row).unwrap_or_default())
            .collect();
        let neighbours = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut row: Vec<(usize, f32)> = vectors
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(j, w)| (j, column.store.similarity(v, w)))
                    .collect();
                // best first; ties by id, so the answer is reproducible
                row.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                row.truncate(req.limit);
                row.into_iter()
                    .map(|(j, s)| (j, distance.score(s)))
                    .collect()
            })
            .collect();
        Ok(SearchMatrix {
            ids: sampled.into_iter().map(|(id, _)| id).collect(),
            neighbours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CollectionConfig, Database, Distance, PointStruct};

    #[test]
    fn pairs_and_offsets_agree() {
        let m = SearchMatrix {
            ids: vec![PointId::Num(1), PointId::Num(2), PointId::Num(3)],
            neighbours: vec![vec![(1, 0.5), (2, 0.1)], vec![(0, 0.5)], vec![]],
        };
        let pairs = m.pairs();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[2].a, PointId::Num(2));
        assert_eq!(pairs[2].b, PointId::Num(1));
        let o = m.offsets();
        assert_eq!(o.offsets_row, vec![0, 0, 1]);
        assert_eq!(o.offsets_col, vec![1, 2, 0]);
        assert_eq!(o.scores, vec![0.5, 0.1, 0.5]);
        assert_eq!(o.ids, m.ids);
    }

    #[test]
    fn bad_sizes_are_refused_and_tiny_collections_give_nothing() {
        let db = Database::new();
        let c = db
            .create_collection("m", CollectionConfig::single(2, Distance::Euclid))
            .unwrap();
        let req = |sample, limit| SearchMatrixRequest {
            sample,
            limit,
            ..SearchMatrixRequest::default()
        };
        assert!(c.search_matrix(&req(1, 3)).is_err());
        assert!(c.search_matrix(&req(10, 0)).is_err());
        c.upsert(vec![PointStruct::new(
            1,
            vec![0.0, 0.0],
            crate::Payload::default(),
        )])
        .unwrap();
        assert_eq!(
            c.search_matrix(&req(10, 3)).unwrap(),
            SearchMatrix::default()
        );
        c.upsert(vec![PointStruct::new(
            2,
            vec![3.0, 4.0],
            crate::Payload::default(),
        )])
        .unwrap();
        let m = c.search_matrix(&req(10, 3)).unwrap();
        assert_eq!(m.ids, vec![PointId::Num(1), PointId::Num(2)]);
        assert_eq!(m.neighbours, vec![vec![(1, 5.0)], vec![(0, 5.0)]]);
    }
}
