//! Read requests.

use vicinity_payload::{FacetValue, Filter, JsonPath};

use crate::{DEFAULT_VECTOR, PointId, WithSelectors};

/// Search-time parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchParams {
    /// The width of the graph walk (`ef`); `None` uses the vector's
    /// `ef_construct`, as Qdrant does. Larger: better recall, slower.
    pub hnsw_ef: Option<usize>,
    /// Score every point exactly instead of walking the graph.
    pub exact: bool,
    /// How to use quantized vectors. A collection without quantization
    /// searches its original vectors and ignores this, as Qdrant does.
    pub quantization: Option<QuantizationSearchParams>,
    /// IDF statistics over the points passing this filter only (Qdrant's
    /// `idf: {corpus}`) instead of the whole collection; sparse vectors
    /// with `modifier: idf`.
    pub idf_corpus: Option<Filter>,
}

/// Search-time quantization settings (Qdrant's `params.quantization`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuantizationSearchParams {
    /// Search the original vectors only.
    pub ignore: bool,
    /// Rescore the candidates with the original vectors; `None`: the
    /// quantization's default (Qdrant's: no for scalar codes).
    pub rescore: Option<bool>,
    /// Candidates fetched per result before rescoring (at least 1).
    pub oversampling: Option<f64>,
}

/// A nearest-neighbour search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRequest {
    /// The query vector.
    pub vector: Vec<f32>,
    /// The vector name to search (`""`: the default vector).
    pub using: String,
    /// How many hits to return, at least 1.
    pub limit: usize,
    /// How many of the best hits to skip first.
    pub offset: usize,
    /// Only hits strictly better than this score (`>` for Cosine and Dot,
    /// `<` for Euclid and Manhattan).
    pub score_threshold: Option<f32>,
    /// What each hit carries.
    pub with: WithSelectors,
    /// Search-time parameters.
    pub params: SearchParams,
    /// Only points passing this filter.
    pub filter: Option<Filter>,
}

impl SearchRequest {
    /// The `limit` nearest points to `vector` by the default vector.
    pub fn new(vector: Vec<f32>, limit: usize) -> Self {
        SearchRequest {
            vector,
            using: DEFAULT_VECTOR.to_string(),
            limit,
            offset: 0,
            score_threshold: None,
            with: WithSelectors::default(),
            params: SearchParams::default(),
            filter: None,
        }
    }
}

/// A page of points in id order.
#[derive(Clone, Debug, PartialEq)]
pub struct ScrollRequest {
    /// Start from this id (inclusive); `None`: from the smallest.
    pub offset: Option<PointId>,
    /// Page size, at least 1. Qdrant's default is 10.
    pub limit: usize,
    /// What each point carries.
    pub with: WithSelectors,
    /// Only points passing this filter.
    pub filter: Option<Filter>,
    /// Order by a payload value instead of by id (needs an integer, float
    /// or datetime index on the key; `offset` must then be `None`).
    pub order_by: Option<OrderBy>,
}

impl Default for ScrollRequest {
    fn default() -> Self {
        ScrollRequest {
            offset: None,
            limit: 10,
            with: WithSelectors::default(),
            filter: None,
            order_by: None,
        }
    }
}

/// Which way an ordered scroll goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// `order_by`: scroll points by the values at a payload key. A point with
/// several values appears once per value.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderBy {
    /// The key.
    pub key: JsonPath,
    /// The direction.
    pub direction: Direction,
    /// Start from this value (inclusive): a number, or datetime
    /// microseconds for a datetime index.
    pub start_from: Option<f64>,
}

/// Counts of the distinct values at a key.
#[derive(Clone, Debug, PartialEq)]
pub struct FacetRequest {
    /// The key (needs a keyword, integer, bool or uuid index).
    pub key: JsonPath,
    /// Only points passing this filter.
    pub filter: Option<Filter>,
    /// At most this many values (Qdrant's default is 10).
    pub limit: usize,
}

impl FacetRequest {
    /// Counts for `key`, ten values at most.
    pub fn new(key: JsonPath) -> Self {
        FacetRequest {
            key,
            filter: None,
            limit: 10,
        }
    }
}

/// One value and the number of points that hold it.
#[derive(Clone, Debug, PartialEq)]
pub struct FacetHit {
    /// The value.
    pub value: FacetValue,
    /// Points holding it (once per point, however often it holds it).
    pub count: usize,
}

/// Which points a write applies to.
#[derive(Clone, Copy, Debug)]
pub enum PointSelector<'a> {
    /// These ids; payload and vector writes fail with `NotFound` for ids that
    /// do not exist (after applying to those that do), as in Qdrant.
    Ids(&'a [PointId]),
    /// Every point passing the filter at the moment of the write.
    Filter(&'a Filter),
}

impl<'a> From<&'a [PointId]> for PointSelector<'a> {
    fn from(ids: &'a [PointId]) -> Self {
        PointSelector::Ids(ids)
    }
}

impl<'a, const N: usize> From<&'a [PointId; N]> for PointSelector<'a> {
    fn from(ids: &'a [PointId; N]) -> Self {
        PointSelector::Ids(ids)
    }
}

impl<'a> From<&'a Vec<PointId>> for PointSelector<'a> {
    fn from(ids: &'a Vec<PointId>) -> Self {
        PointSelector::Ids(ids)
    }
}

impl<'a> From<&'a Filter> for PointSelector<'a> {
    fn from(f: &'a Filter) -> Self {
        PointSelector::Filter(f)
    }
}

/// A page of points, and where the next page starts.
#[derive(Clone, Debug, PartialEq)]
pub struct ScrollResult {
    /// The points, by id ascending.
    pub points: Vec<crate::Record>,
    /// The first id of the next page, or `None` after the last page.
    pub next_page_offset: Option<PointId>,
}
