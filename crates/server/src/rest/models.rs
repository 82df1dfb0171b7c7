//! The JSON bodies of Qdrant's REST API, as serde types, and their
//! conversion into the engine's request types.
//!
//! Field names and shapes follow Qdrant 1.20's OpenAPI models (what
//! `qdrant_client.http.models` sends). Polymorphic fields are untagged
//! enums, as in Qdrant's own server, so a body that matches none of a
//! field's shapes is refused with serde's message, as Qdrant refuses it.
//! Shapes Vicinity does not serve yet (sparse vectors, multivectors,
//! inference objects, formula queries, MMR) are recognised and refused
//! with 501 rather than misread.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{Map, Value};
use vicinity::{
    ContextPair, Direction, Expression, FeedbackItem, FieldIndexParams, FieldType, Filter, Formula,
    Fusion, JsonPath, LookupFrom, Mmr, NaiveFeedback, OrderBy, Payload, PayloadSelector, PointId,
    PointStruct, PointsSelector, Prefetch, Query, QueryRequest, RecommendStrategy, SearchParams,
    UpdateMode, Vector, VectorInput, VectorSelector, Vectors, WithLookup, WithSelectors,
};

use crate::ops::WriteOp;
use crate::rest::RestError;

/// Qdrant's default `limit` of a query, a prefetch, a scroll and a facet.
pub const DEFAULT_LIMIT: usize = 10;
/// Qdrant's default RRF constant.
const DEFAULT_RRF_K: usize = 2;

type Result<T> = std::result::Result<T, RestError>;

/// A payload key path (`a.b`, `a[].b`).
fn path(key: &str) -> Result<JsonPath> {
    key.parse::<JsonPath>().map_err(RestError::wrong)
}

/// The shard key a request names: one-node Vicinity has no custom shards.
fn no_shard_key(k: &Option<Value>) -> Result<()> {
    match k {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(RestError::unsupported("shard keys (custom sharding)")),
    }
}

// ---------------------------------------------------------------------------
// vectors
// ---------------------------------------------------------------------------

/// A sparse vector on the wire: `{"indices": [...], "values": [...]}`.
pub use vicinity::SparseVector;

/// Qdrant's validation of a sparse vector (422, its messages).
fn checked_sparse(v: SparseVector) -> Result<SparseVector> {
    v.validate().map_err(|e| {
        RestError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            format!("Validation error in JSON body: [{e}]"),
        )
    })?;
    Ok(v)
}

/// An inference request in place of a vector (a document, an image or
/// an object for a model): recognised, not served yet. `model` is
/// required, as in Qdrant, which also keeps a map of named vectors whose
/// names are `image` or `text` from reading as one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum InferenceJson {
    /// `{"text": ..., "model": ...}`.
    Document {
        /// The text.
        text: String,
        /// The model that would embed it.
        model: String,
    },
    /// `{"image": ..., "model": ...}`.
    Image {
        /// The image.
        image: Value,
        /// The model that would embed it.
        model: String,
    },
    /// `{"object": ..., "model": ...}`.
    Object {
        /// The object.
        object: Value,
        /// The model that would embed it.
        model: String,
    },
}

fn inference_refused() -> RestError {
    RestError::unsupported("inference (documents, images, objects)")
}

/// One vector of a point.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum VectorValue {
    /// A dense vector.
    Dense(Vec<f32>),
    /// A multivector (a matrix).
    Multi(Vec<Vec<f32>>),
    /// A sparse vector.
    Sparse(SparseVector),
    /// An inference object.
    Inference(InferenceJson),
}

impl VectorValue {
    fn vector(self) -> Result<Vector> {
        match self {
            VectorValue::Dense(v) => Ok(Vector::Dense(v)),
            VectorValue::Sparse(v) => Ok(Vector::Sparse(checked_sparse(v)?)),
            VectorValue::Multi(m) => Ok(Vector::Multi(m)),
            VectorValue::Inference(_) => Err(inference_refused()),
        }
    }
}

/// A point's vectors: one unnamed vector, or vectors by name.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum VectorStruct {
    /// The unnamed vector.
    Single(VectorValue),
    /// Named vectors.
    Named(BTreeMap<String, VectorValue>),
}

impl VectorStruct {
    /// The engine's vectors.
    pub fn into_vectors(self) -> Result<Vectors> {
        match self {
            VectorStruct::Single(v) => Ok(single(v.vector()?)),
            VectorStruct::Named(m) => Ok(Vectors::Named(
                m.into_iter()
                    .map(|(k, v)| Ok((k, v.vector()?)))
                    .collect::<Result<_>>()?,
            )),
        }
    }
}

/// An unnamed vector: dense, or a sparse or multivector for the name `""`.
fn single(v: Vector) -> Vectors {
    match v {
        Vector::Dense(d) => Vectors::Single(d),
        sparse => Vectors::Named([(vicinity::DEFAULT_VECTOR.to_string(), sparse)].into()),
    }
}

/// A point to upsert.
#[derive(Debug, Deserialize)]
pub struct PointJson {
    /// Its id.
    pub id: PointId,
    /// Its vectors.
    pub vector: VectorStruct,
    /// Its payload.
    #[serde(default)]
    pub payload: Option<Payload>,
}

impl PointJson {
    fn into_point(self) -> Result<PointStruct> {
        Ok(PointStruct {
            id: self.id,
            vectors: self.vector.into_vectors()?,
            payload: Some(self.payload.unwrap_or_default()),
        })
    }
}

/// The columns of a batch: per point one vector, or per name a column.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum BatchVectors {
    /// The unnamed vector of each point.
    Single(Vec<VectorValue>),
    /// A column of vectors per name.
    Named(BTreeMap<String, Vec<VectorValue>>),
}

/// The columnar form of an upsert.
#[derive(Debug, Deserialize)]
pub struct Batch {
    /// The ids.
    pub ids: Vec<PointId>,
    /// The vectors, one per id.
    pub vectors: BatchVectors,
    /// The payloads, one per id, if any.
    #[serde(default)]
    pub payloads: Option<Vec<Option<Payload>>>,
}

impl Batch {
    fn into_points(self) -> Result<Vec<PointStruct>> {
        let n = self.ids.len();
        let payloads = match self.payloads {
            Some(p) if p.len() != n => {
                return Err(RestError::wrong(format!(
                    "the batch has {n} ids and {} payloads",
                    p.len()
                )));
            }
            Some(p) => p,
            None => vec![None; n],
        };
        let vectors: Vec<Vectors> = match self.vectors {
            BatchVectors::Single(col) => {
                if col.len() != n {
                    return Err(RestError::wrong(format!(
                        "the batch has {n} ids and {} vectors",
                        col.len()
                    )));
                }
                col.into_iter()
                    .map(|v| Ok(single(v.vector()?)))
                    .collect::<Result<_>>()?
            }
            BatchVectors::Named(cols) => {
                let mut rows = vec![BTreeMap::new(); n];
                for (name, col) in cols {
                    if col.len() != n {
                        return Err(RestError::wrong(format!(
                            "the batch has {n} ids and {} vectors named {name:?}",
                            col.len()
                        )));
                    }
                    for (row, v) in rows.iter_mut().zip(col) {
                        row.insert(name.clone(), v.vector()?);
                    }
                }
                rows.into_iter().map(Vectors::Named).collect()
            }
        };
        Ok(self
            .ids
            .into_iter()
            .zip(vectors)
            .zip(payloads)
            .map(|((id, vectors), payload)| PointStruct {
                id,
                vectors,
                payload: Some(payload.unwrap_or_default()),
            })
            .collect())
    }
}

/// `PUT /collections/{name}/points`: a list of points or a batch.
#[derive(Debug, Deserialize)]
pub struct UpsertBody {
    /// Points, one by one.
    #[serde(default)]
    pub points: Option<Vec<PointJson>>,
    /// Points, in columns.
    #[serde(default)]
    pub batch: Option<Batch>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
    /// Existing points are replaced only if they pass it.
    #[serde(default)]
    pub update_filter: Option<Filter>,
    /// `upsert`, `insert_only` or `update_only`.
    #[serde(default)]
    pub update_mode: Option<String>,
}

impl UpsertBody {
    /// The write: the points, under the body's condition if any.
    pub fn into_write(self) -> Result<WriteOp> {
        no_shard_key(&self.shard_key)?;
        let mode = match self.update_mode.as_deref() {
            None | Some("upsert") => UpdateMode::Upsert,
            Some("insert_only") => UpdateMode::InsertOnly,
            Some("update_only") => UpdateMode::UpdateOnly,
            Some(m) => {
                return Err(RestError::format(format!(
                    "unknown variant `{m}`, expected one of `upsert`, `insert_only`, `update_only`"
                )));
            }
        };
        let points = match (self.points, self.batch) {
            (Some(points), None) => points.into_iter().map(PointJson::into_point).collect(),
            (None, Some(batch)) => batch.into_points(),
            _ => Err(RestError::format(
                "data did not match any variant of untagged enum PointInsertOperations",
            )),
        }?;
        Ok(WriteOp::Upsert(points, self.update_filter, mode))
    }
}

/// A point's new vectors (`update_vectors`).
#[derive(Debug, Deserialize)]
pub struct PointVectorsJson {
    /// The point.
    pub id: PointId,
    /// Its vectors to replace.
    pub vector: VectorStruct,
}

/// `PUT /collections/{name}/points/vectors`.
#[derive(Debug, Deserialize)]
pub struct UpdateVectorsBody {
    /// The points and their vectors.
    pub points: Vec<PointVectorsJson>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
    /// Points that exist and fail it are left as they are.
    #[serde(default)]
    pub update_filter: Option<Filter>,
}

impl UpdateVectorsBody {
    /// The write: the points' new vectors, under the body's condition.
    pub fn into_write(self) -> Result<WriteOp> {
        no_shard_key(&self.shard_key)?;
        let points = self
            .points
            .into_iter()
            .map(|p| Ok((p.id, p.vector.into_vectors()?)))
            .collect::<Result<_>>()?;
        Ok(WriteOp::UpdateVectors(points, self.update_filter))
    }
}

// ---------------------------------------------------------------------------
// selectors
// ---------------------------------------------------------------------------

/// Which points a write touches: `{"points": [...]}` or `{"filter": ...}`.
#[derive(Debug, Default, Deserialize)]
pub struct SelectorJson {
    /// By id.
    #[serde(default)]
    pub points: Option<Vec<PointId>>,
    /// By filter.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

impl SelectorJson {
    /// The engine's selector.
    pub fn into_selector(self) -> Result<PointsSelector> {
        no_shard_key(&self.shard_key)?;
        match (self.points, self.filter) {
            (Some(ids), None) => Ok(PointsSelector::Ids(ids)),
            (None, Some(f)) => Ok(PointsSelector::Filter(f)),
            (Some(_), Some(_)) => Err(RestError::format(
                "data did not match any variant of untagged enum PointsSelector",
            )),
            (None, None) => Err(RestError::format(
                "data did not match any variant of untagged enum PointsSelector",
            )),
        }
    }
}

/// `with_payload`: a bool, a list of keys, or `{include}` / `{exclude}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum WithPayload {
    /// All or nothing.
    Bool(bool),
    /// Only these keys.
    Keys(Vec<String>),
    /// Include or exclude keys.
    Selector(PayloadKeys),
}

/// `{"include": [...]}` or `{"exclude": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadKeys {
    /// Keys to keep.
    #[serde(default)]
    pub include: Option<Vec<String>>,
    /// Keys to drop.
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
}

fn keys(k: &[String]) -> Result<Vec<JsonPath>> {
    k.iter().map(|k| path(k)).collect()
}

/// `with_payload` with the endpoint's default.
pub fn payload_selector(w: Option<WithPayload>, default: bool) -> Result<PayloadSelector> {
    Ok(match w {
        None => default.into(),
        Some(WithPayload::Bool(b)) => b.into(),
        Some(WithPayload::Keys(k)) => PayloadSelector::Include(keys(&k)?),
        Some(WithPayload::Selector(PayloadKeys {
            include: Some(k),
            exclude: None,
        })) => PayloadSelector::Include(keys(&k)?),
        Some(WithPayload::Selector(PayloadKeys {
            include: None,
            exclude: Some(k),
        })) => PayloadSelector::Exclude(keys(&k)?),
        Some(WithPayload::Selector(_)) => {
            return Err(RestError::format(
                "data did not match any variant of untagged enum PayloadSelector",
            ));
        }
    })
}

/// `with_vector`: a bool or a list of names.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum WithVector {
    /// All or none.
    Bool(bool),
    /// These names.
    Names(Vec<String>),
}

/// `with_vector`; none when left out.
pub fn vector_selector(w: Option<WithVector>) -> VectorSelector {
    match w {
        None => VectorSelector::None,
        Some(WithVector::Bool(b)) => b.into(),
        Some(WithVector::Names(n)) => VectorSelector::Names(n),
    }
}

// ---------------------------------------------------------------------------
// point writes
// ---------------------------------------------------------------------------

/// `POST /collections/{name}/points/payload` (and `PUT` to overwrite).
#[derive(Debug, Deserialize)]
pub struct SetPayloadBody {
    /// The keys to set.
    pub payload: Payload,
    /// By id.
    #[serde(default)]
    pub points: Option<Vec<PointId>>,
    /// By filter.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Where in the payload to merge.
    #[serde(default)]
    pub key: Option<String>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

impl SetPayloadBody {
    /// The selector, payload and key.
    pub fn parts(self) -> Result<(PointsSelector, Payload, Option<JsonPath>)> {
        let key = self.key.as_deref().map(path).transpose()?;
        let s = SelectorJson {
            points: self.points,
            filter: self.filter,
            shard_key: self.shard_key,
        }
        .into_selector()?;
        Ok((s, self.payload, key))
    }
}

/// `POST /collections/{name}/points/payload/delete`.
#[derive(Debug, Deserialize)]
pub struct DeletePayloadBody {
    /// The keys to remove.
    pub keys: Vec<String>,
    /// By id.
    #[serde(default)]
    pub points: Option<Vec<PointId>>,
    /// By filter.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

impl DeletePayloadBody {
    /// The selector and key paths.
    pub fn parts(self) -> Result<(PointsSelector, Vec<JsonPath>)> {
        let k = keys(&self.keys)?;
        let s = SelectorJson {
            points: self.points,
            filter: self.filter,
            shard_key: self.shard_key,
        }
        .into_selector()?;
        Ok((s, k))
    }
}

/// `POST /collections/{name}/points/vectors/delete`.
#[derive(Debug, Deserialize)]
pub struct DeleteVectorsBody {
    /// By id.
    #[serde(default)]
    pub points: Option<Vec<PointId>>,
    /// By filter.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// The names of the vectors to remove.
    pub vector: Vec<String>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

impl DeleteVectorsBody {
    /// The selector and names.
    pub fn parts(self) -> Result<(PointsSelector, Vec<String>)> {
        if self.vector.is_empty() {
            return Err(RestError::validation(
                "vector",
                "must name at least one vector",
            ));
        }
        let s = SelectorJson {
            points: self.points,
            filter: self.filter,
            shard_key: self.shard_key,
        }
        .into_selector()?;
        Ok((s, self.vector))
    }
}

/// One operation of `POST /collections/{name}/points/batch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchOperation {
    /// Insert or replace points.
    Upsert(UpsertBody),
    /// Delete points.
    Delete(SelectorJson),
    /// Merge payload keys.
    SetPayload(SetPayloadBody),
    /// Replace payloads.
    OverwritePayload(SetPayloadBody),
    /// Remove payload keys.
    DeletePayload(DeletePayloadBody),
    /// Empty payloads.
    ClearPayload(SelectorJson),
    /// Replace vectors.
    UpdateVectors(UpdateVectorsBody),
    /// Remove vectors.
    DeleteVectors(DeleteVectorsBody),
}

/// `POST /collections/{name}/points/batch`.
#[derive(Debug, Deserialize)]
pub struct BatchBody {
    /// The operations, applied in order.
    pub operations: Vec<BatchOperation>,
}

// ---------------------------------------------------------------------------
// reads
// ---------------------------------------------------------------------------

/// `POST /collections/{name}/points`: retrieve by ids.
#[derive(Debug, Deserialize)]
pub struct RetrieveBody {
    /// The ids.
    pub ids: Vec<PointId>,
    /// Payload selection (all by default).
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    /// Vector selection (none by default).
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

/// Where `order_by` starts: a number or a datetime.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StartFrom {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// An RFC 3339 datetime.
    Datetime(String),
}

/// `asc` or `desc`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectionJson {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// `order_by`: a key, or the key with direction and start.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OrderByJson {
    /// Only the key (ascending).
    Key(String),
    /// The whole form.
    Full {
        /// The payload key (a range index is required).
        key: String,
        /// The direction.
        #[serde(default)]
        direction: Option<DirectionJson>,
        /// Where to start.
        #[serde(default)]
        start_from: Option<StartFrom>,
    },
}

impl OrderByJson {
    fn into_order_by(self) -> Result<OrderBy> {
        let (key, direction, start_from) = match self {
            OrderByJson::Key(k) => (k, None, None),
            OrderByJson::Full {
                key,
                direction,
                start_from,
            } => (key, direction, start_from),
        };
        let start_from = match start_from {
            None => None,
            Some(StartFrom::Int(i)) => Some(i as f64),
            Some(StartFrom::Float(x)) => Some(x),
            Some(StartFrom::Datetime(s)) => {
                Some(vicinity::datetime::parse_datetime(&s).ok_or_else(|| {
                    RestError::wrong(format!("start_from {s:?} is not a datetime"))
                })? as f64)
            }
        };
        Ok(OrderBy {
            key: path(&key)?,
            direction: match direction {
                None | Some(DirectionJson::Asc) => Direction::Asc,
                Some(DirectionJson::Desc) => Direction::Desc,
            },
            start_from,
        })
    }
}

/// `POST /collections/{name}/points/scroll`.
#[derive(Debug, Default, Deserialize)]
pub struct ScrollBody {
    /// Where the page starts.
    #[serde(default)]
    pub offset: Option<PointId>,
    /// Page size (10).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Which points.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Payload selection (all by default).
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    /// Vector selection (none by default).
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    /// Order by a payload key instead of by id.
    #[serde(default)]
    pub order_by: Option<OrderByJson>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

impl ScrollBody {
    /// The engine's request.
    pub fn into_request(self) -> Result<vicinity::ScrollRequest> {
        no_shard_key(&self.shard_key)?;
        if self.limit == Some(0) {
            return Err(RestError::validation(
                "limit",
                "value 0 invalid, must be 1 or more",
            ));
        }
        Ok(vicinity::ScrollRequest {
            offset: self.offset,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
            with: WithSelectors {
                payload: payload_selector(self.with_payload, true)?,
                vectors: vector_selector(self.with_vector),
            },
            filter: self.filter,
            order_by: self.order_by.map(OrderByJson::into_order_by).transpose()?,
        })
    }
}

/// `POST /collections/{name}/points/count`.
#[derive(Debug, Default, Deserialize)]
pub struct CountBody {
    /// Which points.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Exact counting (always exact here).
    #[serde(default)]
    pub exact: Option<bool>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

/// `POST /collections/{name}/facet`.
#[derive(Debug, Deserialize)]
pub struct FacetBody {
    /// The payload key.
    pub key: String,
    /// How many values (10).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Which points.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Exact counting (always exact here).
    #[serde(default)]
    pub exact: Option<bool>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

impl FacetBody {
    /// The engine's request.
    pub fn into_request(self) -> Result<vicinity::FacetRequest> {
        no_shard_key(&self.shard_key)?;
        let mut req = vicinity::FacetRequest::new(path(&self.key)?);
        req.filter = self.filter;
        if let Some(l) = self.limit {
            req.limit = l;
        }
        Ok(req)
    }
}

// ---------------------------------------------------------------------------
// queries
// ---------------------------------------------------------------------------

/// A vector a query starts from: a vector or the id of a stored point.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum VectorInputJson {
    /// A dense vector.
    Dense(Vec<f32>),
    /// A stored point's vector.
    Id(PointId),
    /// A multivector.
    Multi(Vec<Vec<f32>>),
    /// A sparse vector.
    Sparse(SparseVector),
    /// An inference object.
    Inference(InferenceJson),
}

impl VectorInputJson {
    fn into_input(self) -> Result<VectorInput> {
        match self {
            VectorInputJson::Dense(v) => Ok(VectorInput::Vector(v)),
            VectorInputJson::Id(id) => Ok(VectorInput::Id(id)),
            VectorInputJson::Multi(m) => Ok(VectorInput::Multi(m)),
            VectorInputJson::Sparse(v) => Ok(VectorInput::Sparse(checked_sparse(v)?)),
            VectorInputJson::Inference(_) => Err(inference_refused()),
        }
    }
}

fn inputs(v: Option<Vec<VectorInputJson>>) -> Result<Vec<VectorInput>> {
    v.unwrap_or_default()
        .into_iter()
        .map(VectorInputJson::into_input)
        .collect()
}

/// `average_vector`, `best_score` or `sum_scores`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyJson {
    /// Average the examples into one query.
    AverageVector,
    /// Score by the best positive and negative.
    BestScore,
    /// Sum positive scores, subtract negative ones.
    SumScores,
}

fn strategy(s: Option<StrategyJson>) -> RecommendStrategy {
    match s {
        None | Some(StrategyJson::AverageVector) => RecommendStrategy::AverageVector,
        Some(StrategyJson::BestScore) => RecommendStrategy::BestScore,
        Some(StrategyJson::SumScores) => RecommendStrategy::SumScores,
    }
}

/// `{"recommend": {...}}`.
#[derive(Debug, Deserialize)]
pub struct RecommendInput {
    /// Look like these.
    #[serde(default)]
    pub positive: Option<Vec<VectorInputJson>>,
    /// Not like these.
    #[serde(default)]
    pub negative: Option<Vec<VectorInputJson>>,
    /// How examples are combined.
    #[serde(default)]
    pub strategy: Option<StrategyJson>,
}

/// A positive/negative pair of a context.
#[derive(Debug, Deserialize)]
pub struct ContextPairJson {
    /// Closer to this.
    pub positive: VectorInputJson,
    /// Than to this.
    pub negative: VectorInputJson,
}

impl ContextPairJson {
    fn into_pair(self) -> Result<ContextPair> {
        Ok(ContextPair {
            positive: self.positive.into_input()?,
            negative: self.negative.into_input()?,
        })
    }
}

/// A context: one pair or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ContextJson {
    /// Pairs (first: serde would also read a two-element list as one
    /// pair's fields).
    Many(Vec<ContextPairJson>),
    /// One pair.
    One(ContextPairJson),
}

impl ContextJson {
    fn into_pairs(self) -> Result<Vec<ContextPair>> {
        match self {
            ContextJson::One(p) => Ok(vec![p.into_pair()?]),
            ContextJson::Many(v) => v.into_iter().map(ContextPairJson::into_pair).collect(),
        }
    }
}

/// `{"discover": {"target": ..., "context": ...}}`.
#[derive(Debug, Deserialize)]
pub struct DiscoverInput {
    /// What to look for.
    pub target: VectorInputJson,
    /// Where to look.
    #[serde(default)]
    pub context: Option<ContextJson>,
}

/// `rrf` or `dbsf`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FusionJson {
    /// Reciprocal rank fusion.
    Rrf,
    /// Distribution-based score fusion.
    Dbsf,
}

/// `{"rrf": {"k": ..., "weights": ...}}`.
#[derive(Debug, Deserialize)]
pub struct RrfJson {
    /// The rank constant (2).
    #[serde(default)]
    pub k: Option<usize>,
    /// A weight per prefetch.
    #[serde(default)]
    pub weights: Option<Vec<f32>>,
}

/// `relevance_feedback`: a target and judged examples.
#[derive(Debug, Deserialize)]
pub struct RelevanceFeedbackJson {
    /// What was searched for.
    pub target: VectorInputJson,
    /// The judged examples.
    pub feedback: Vec<FeedbackItemJson>,
    /// How to combine them.
    pub strategy: FeedbackStrategyJson,
}

/// One judged example.
#[derive(Debug, Deserialize)]
pub struct FeedbackItemJson {
    /// A vector or point id.
    pub example: VectorInputJson,
    /// Its judged relevance.
    pub score: f32,
}

/// `{"naive": {"a", "b", "c"}}`, the only strategy.
#[derive(Debug, Deserialize)]
pub struct FeedbackStrategyJson {
    /// The naive formula's coefficients.
    pub naive: NaiveFeedbackJson,
}

/// The naive formula's coefficients.
#[derive(Debug, Deserialize)]
pub struct NaiveFeedbackJson {
    /// Target weight.
    pub a: f32,
    /// Exponent of the score difference.
    pub b: f32,
    /// Pair weight.
    pub c: f32,
}

/// `mmr`: maximal marginal relevance.
#[derive(Debug, Deserialize)]
pub struct MmrJson {
    /// 0: relevance only, 1: diversity only (default 0.5).
    #[serde(default)]
    pub diversity: Option<f32>,
    /// Nearest points to pick from (default: the limit).
    #[serde(default)]
    pub candidates_limit: Option<usize>,
}

/// `random`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleJson {
    /// Random points.
    Random,
}

/// The `query` of a universal query, in each of its shapes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum QueryJson {
    /// `{"nearest": ..., "mmr": ...}`.
    Nearest {
        /// The vector.
        nearest: VectorInputJson,
        /// Maximal marginal relevance: diversify the nearest points.
        #[serde(default)]
        mmr: Option<MmrJson>,
    },
    /// `{"recommend": ...}`.
    Recommend {
        /// The examples.
        recommend: RecommendInput,
    },
    /// `{"discover": ...}`.
    Discover {
        /// Target and context.
        discover: DiscoverInput,
    },
    /// `{"context": ...}`.
    Context {
        /// The pairs.
        context: ContextJson,
    },
    /// `{"order_by": ...}`.
    OrderBy {
        /// The key.
        order_by: OrderByJson,
    },
    /// `{"fusion": "rrf"}`.
    Fusion {
        /// Which fusion.
        fusion: FusionJson,
    },
    /// `{"rrf": {...}}`.
    Rrf {
        /// Its parameters.
        rrf: RrfJson,
    },
    /// `{"sample": "random"}`.
    Sample {
        /// Which sample.
        sample: SampleJson,
    },
    /// `{"formula": ..., "defaults": ...}`.
    Formula {
        /// The expression.
        formula: Value,
        /// Values for variables a point lacks.
        #[serde(default)]
        defaults: Option<HashMap<String, Value>>,
    },
    /// `{"relevance_feedback": ...}`.
    RelevanceFeedback {
        /// Target, judged examples and strategy.
        relevance_feedback: RelevanceFeedbackJson,
    },
    /// `{"text": ...}`: BM25 over the text index `using` names.
    Text {
        /// The query text, or the text with BM25 parameters.
        text: TextJson,
    },
    /// A bare vector or point id: nearest to it.
    Input(VectorInputJson),
}

/// A text query's text: bare, or with its scorer's parameters.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum TextJson {
    /// Just the text.
    Plain(String),
    /// The text and BM25's `k` and `b`.
    WithScoring {
        /// The text.
        query: String,
        /// `{"bm25": {"k", "b"}}`.
        #[serde(default)]
        scoring: Option<TextScoringJson>,
    },
}

/// A text query's scorer parameters.
#[derive(Debug, Deserialize)]
pub struct TextScoringJson {
    /// BM25's.
    pub bm25: Bm25Json,
}

/// BM25's parameters (defaults 1.2 and 0.75).
#[derive(Debug, Deserialize)]
pub struct Bm25Json {
    /// Term-frequency saturation.
    #[serde(default)]
    pub k: Option<f64>,
    /// Length normalisation.
    #[serde(default)]
    pub b: Option<f64>,
}

impl TextJson {
    /// The engine's text query.
    fn into_query(self) -> Query {
        let (query, params) = match self {
            TextJson::Plain(q) => (q, None),
            TextJson::WithScoring { query, scoring } => (query, scoring.map(|s| s.bm25)),
        };
        Query::Text {
            query,
            bm25: vicinity::Bm25::with(
                params.as_ref().and_then(|p| p.k),
                params.as_ref().and_then(|p| p.b),
            ),
        }
    }
}

impl QueryJson {
    /// The engine's query.
    pub fn into_query(self) -> Result<Query> {
        Ok(match self {
            QueryJson::Input(v) => Query::Nearest(v.into_input()?),
            QueryJson::Text { text } => text.into_query(),
            QueryJson::Nearest { nearest, mmr: None } => Query::Nearest(nearest.into_input()?),
            QueryJson::Nearest {
                nearest,
                mmr: Some(m),
            } => {
                let mmr = Mmr {
                    diversity: m.diversity,
                    candidates_limit: m.candidates_limit,
                };
                mmr.validate().map_err(|(field, msg)| {
                    RestError::validation(&format!("query.mmr.{field}"), msg)
                })?;
                Query::NearestMmr {
                    nearest: nearest.into_input()?,
                    mmr,
                }
            }
            QueryJson::Recommend { recommend: r } => Query::Recommend {
                positive: inputs(r.positive)?,
                negative: inputs(r.negative)?,
                strategy: strategy(r.strategy),
            },
            QueryJson::Discover { discover: d } => Query::Discover {
                target: d.target.into_input()?,
                context: match d.context {
                    Some(c) => c.into_pairs()?,
                    None => Vec::new(),
                },
            },
            QueryJson::Context { context } => Query::Context(context.into_pairs()?),
            QueryJson::OrderBy { order_by } => Query::OrderBy(order_by.into_order_by()?),
            QueryJson::Fusion { fusion } => Query::Fusion(match fusion {
                FusionJson::Rrf => Fusion::Rrf {
                    k: DEFAULT_RRF_K,
                    weights: None,
                },
                FusionJson::Dbsf => Fusion::Dbsf,
            }),
            QueryJson::Rrf { rrf } => {
                let k = match rrf.k {
                    None => DEFAULT_RRF_K,
                    Some(0) => {
                        return Err(RestError::validation(
                            "query.rrf.k",
                            "value 0 invalid, must be 1 or more",
                        ));
                    }
                    Some(k) => k,
                };
                Query::Fusion(Fusion::Rrf {
                    k,
                    weights: rrf.weights.filter(|w| !w.is_empty()),
                })
            }
            QueryJson::Sample {
                sample: SampleJson::Random,
            } => Query::Sample,
            QueryJson::Formula { formula, defaults } => Query::Formula(Formula {
                expression: Expression::from_json(formula).map_err(RestError::format)?,
                defaults: defaults.unwrap_or_default(),
            }),
            QueryJson::RelevanceFeedback {
                relevance_feedback: r,
            } => {
                let strategy = NaiveFeedback {
                    a: r.strategy.naive.a,
                    b: r.strategy.naive.b,
                    c: r.strategy.naive.c,
                };
                strategy.validate().map_err(|(field, msg)| {
                    RestError::validation(
                        &format!("query.relevance_feedback.strategy.naive.{field}"),
                        msg,
                    )
                })?;
                Query::RelevanceFeedback {
                    target: r.target.into_input()?,
                    feedback: r
                        .feedback
                        .into_iter()
                        .map(|f| {
                            Ok(FeedbackItem {
                                example: f.example.into_input()?,
                                score: f.score,
                            })
                        })
                        .collect::<Result<_>>()?,
                    strategy,
                }
            }
        })
    }
}

/// `params`: HNSW `ef` and exact search (quantization settings are
/// accepted and have nothing to act on).
#[derive(Debug, Default, Deserialize)]
pub struct SearchParamsJson {
    /// The beam width.
    #[serde(default)]
    pub hnsw_ef: Option<usize>,
    /// Scan instead of the graph.
    #[serde(default)]
    pub exact: Option<bool>,
    /// Quantization search settings.
    #[serde(default)]
    pub quantization: Option<QuantizationSearchJson>,
    /// Search only indexed segments.
    #[serde(default)]
    pub indexed_only: Option<bool>,
    /// ACORN filtered search settings.
    #[serde(default)]
    pub acorn: Option<Value>,
    /// IDF scope: `"global"` (the default) or `{"corpus": filter}`.
    #[serde(default)]
    pub idf: Option<Value>,
}

/// `params.quantization`.
#[derive(Debug, Default, Deserialize)]
pub struct QuantizationSearchJson {
    /// Search the original vectors only.
    #[serde(default)]
    pub ignore: Option<bool>,
    /// Rescore with the original vectors.
    #[serde(default)]
    pub rescore: Option<bool>,
    /// Candidates per result before rescoring.
    #[serde(default)]
    pub oversampling: Option<f64>,
}

fn params(p: Option<SearchParamsJson>) -> Result<SearchParams> {
    let p = p.unwrap_or_default();
    let idf_corpus = match p.idf {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "global" => None,
        Some(Value::Object(mut o)) if o.len() == 1 && o.contains_key("corpus") => {
            let f = o.remove("corpus").unwrap_or_default();
            Some(Filter::from_json(f).map_err(RestError::format)?)
        }
        Some(other) => {
            return Err(RestError::format(format!(
                "params.idf: expected \"global\" or {{\"corpus\": filter}}, got {other}"
            )));
        }
    };
    Ok(SearchParams {
        hnsw_ef: p.hnsw_ef,
        exact: p.exact.unwrap_or(false),
        quantization: p.quantization.map(|q| vicinity::QuantizationSearchParams {
            ignore: q.ignore.unwrap_or(false),
            rescore: q.rescore,
            oversampling: q.oversampling,
        }),
        idf_corpus,
    })
}

/// `lookup_from`: another collection (and vector) to read example ids in.
#[derive(Debug, Deserialize)]
pub struct LookupFromJson {
    /// The collection.
    pub collection: String,
    /// The vector name there.
    #[serde(default)]
    pub vector: Option<String>,
}

fn lookup_from(l: Option<LookupFromJson>) -> Option<LookupFrom> {
    l.map(|l| LookupFrom {
        collection: l.collection,
        vector: l.vector,
    })
}

/// Prefetches: one or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Prefetches {
    /// Several (first: serde would also read a list as one struct's
    /// fields in order).
    Many(Vec<PrefetchJson>),
    /// One.
    One(Box<PrefetchJson>),
}

fn prefetches(p: Option<Prefetches>) -> Result<Vec<Prefetch>> {
    match p {
        None => Ok(Vec::new()),
        Some(Prefetches::One(p)) => Ok(vec![p.into_prefetch()?]),
        Some(Prefetches::Many(v)) => v.into_iter().map(PrefetchJson::into_prefetch).collect(),
    }
}

/// One prefetch of a universal query.
#[derive(Debug, Deserialize)]
pub struct PrefetchJson {
    /// Nested prefetches.
    #[serde(default)]
    pub prefetch: Option<Prefetches>,
    /// Its query.
    #[serde(default)]
    pub query: Option<QueryJson>,
    /// The vector name.
    #[serde(default)]
    pub using: Option<String>,
    /// Which points.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Search parameters.
    #[serde(default)]
    pub params: Option<SearchParamsJson>,
    /// Minimal score.
    #[serde(default)]
    pub score_threshold: Option<f32>,
    /// How many candidates (10).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Where example ids are read.
    #[serde(default)]
    pub lookup_from: Option<LookupFromJson>,
}

impl PrefetchJson {
    fn into_prefetch(self) -> Result<Prefetch> {
        Ok(Prefetch {
            prefetch: prefetches(self.prefetch)?,
            query: self.query.map(QueryJson::into_query).transpose()?,
            using: self
                .using
                .unwrap_or_else(|| vicinity::DEFAULT_VECTOR.to_string()),
            filter: self.filter,
            params: params(self.params)?,
            score_threshold: self.score_threshold,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
            lookup_from: lookup_from(self.lookup_from),
        })
    }
}

/// `POST /collections/{name}/points/query` (and each search of a batch).
#[derive(Debug, Deserialize)]
pub struct QueryBody {
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
    /// Candidates to rescore or fuse.
    #[serde(default)]
    pub prefetch: Option<Prefetches>,
    /// The query.
    #[serde(default)]
    pub query: Option<QueryJson>,
    /// The vector name.
    #[serde(default)]
    pub using: Option<String>,
    /// Which points.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Search parameters.
    #[serde(default)]
    pub params: Option<SearchParamsJson>,
    /// Minimal score.
    #[serde(default)]
    pub score_threshold: Option<f32>,
    /// How many results (10).
    #[serde(default)]
    pub limit: Option<usize>,
    /// How many to skip.
    #[serde(default)]
    pub offset: Option<usize>,
    /// Vector selection.
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    /// Payload selection (none by default).
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    /// Where example ids are read.
    #[serde(default)]
    pub lookup_from: Option<LookupFromJson>,
}

fn positive_limit(limit: Option<usize>, what: &str) -> Result<usize> {
    match limit {
        Some(0) => Err(RestError::validation(
            what,
            "value 0 invalid, must be 1 or more",
        )),
        Some(l) => Ok(l),
        None => Ok(DEFAULT_LIMIT),
    }
}

impl QueryBody {
    /// The engine's request.
    pub fn into_request(self) -> Result<QueryRequest> {
        no_shard_key(&self.shard_key)?;
        Ok(QueryRequest {
            prefetch: prefetches(self.prefetch)?,
            query: self.query.map(QueryJson::into_query).transpose()?,
            using: self
                .using
                .unwrap_or_else(|| vicinity::DEFAULT_VECTOR.to_string()),
            filter: self.filter,
            params: params(self.params)?,
            score_threshold: self.score_threshold,
            limit: positive_limit(self.limit, "limit")?,
            offset: self.offset.unwrap_or(0),
            with: WithSelectors {
                payload: payload_selector(self.with_payload, false)?,
                vectors: vector_selector(self.with_vector),
            },
            lookup_from: lookup_from(self.lookup_from),
        })
    }
}

/// `POST /collections/{name}/points/query/batch`.
#[derive(Debug, Deserialize)]
pub struct QueryBatchBody {
    /// The queries.
    pub searches: Vec<QueryBody>,
}

/// `with_lookup`: a collection name, or the name with selectors.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum WithLookupJson {
    /// The collection; its payload, no vectors.
    Name(String),
    /// The whole form.
    Full {
        /// The collection.
        collection: String,
        /// Payload selection (all by default).
        #[serde(default)]
        with_payload: Option<WithPayload>,
        /// Vector selection (none by default).
        #[serde(default, alias = "with_vector")]
        with_vectors: Option<WithVector>,
    },
}

fn with_lookup(l: Option<WithLookupJson>) -> Result<Option<WithLookup>> {
    Ok(match l {
        None => None,
        Some(WithLookupJson::Name(collection)) => Some(WithLookup {
            collection,
            with: WithSelectors {
                payload: PayloadSelector::All,
                vectors: VectorSelector::None,
            },
        }),
        Some(WithLookupJson::Full {
            collection,
            with_payload,
            with_vectors,
        }) => Some(WithLookup {
            collection,
            with: WithSelectors {
                payload: payload_selector(with_payload, true)?,
                vectors: vector_selector(with_vectors),
            },
        }),
    })
}

/// The grouping fields of the `*/groups` endpoints.
#[derive(Debug, Deserialize)]
pub struct GroupsJson {
    /// The payload key to group by.
    pub group_by: String,
    /// Hits per group.
    #[serde(default)]
    pub group_size: Option<usize>,
    /// Where to look each group's id up.
    #[serde(default)]
    pub with_lookup: Option<WithLookupJson>,
}

impl GroupsJson {
    /// A groups request around a query, with the endpoint's defaults.
    /// `limit` (how many groups) sits in the body beside the query's
    /// fields, so the caller takes it from the flattened query part.
    pub fn wrap(
        self,
        query: QueryRequest,
        limit: Option<usize>,
        default_limit: usize,
        default_size: usize,
    ) -> Result<vicinity::QueryGroupsRequest> {
        if self.group_by.is_empty() {
            return Err(RestError::validation("group_by", "must not be empty"));
        }
        let size = self.group_size.unwrap_or(default_size);
        if size == 0 {
            return Err(RestError::validation(
                "group_size",
                "value 0 invalid, must be 1 or more",
            ));
        }
        let limit = limit.unwrap_or(default_limit);
        if limit == 0 {
            return Err(RestError::validation(
                "limit",
                "value 0 invalid, must be 1 or more",
            ));
        }
        Ok(vicinity::QueryGroupsRequest {
            query,
            group_by: path(&self.group_by)?,
            limit,
            group_size: size,
            with_lookup: with_lookup(self.with_lookup)?,
        })
    }
}

/// `POST /collections/{name}/points/query/groups`.
#[derive(Debug, Deserialize)]
pub struct QueryGroupsBody {
    /// The query.
    #[serde(flatten)]
    pub query: QueryBody,
    /// The grouping.
    #[serde(flatten)]
    pub groups: GroupsJson,
}

/// A named vector in the older search: a bare vector or `{name, vector}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NamedVectorJson {
    /// The unnamed vector.
    Default(Vec<f32>),
    /// A named dense vector.
    Named {
        /// The name.
        name: String,
        /// The vector.
        vector: VectorValue,
    },
}

/// The body of the older `points/search`.
#[derive(Debug, Deserialize)]
pub struct SearchBody {
    /// The query vector.
    pub vector: NamedVectorJson,
    /// Which points.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Search parameters.
    #[serde(default)]
    pub params: Option<SearchParamsJson>,
    /// How many results (required in the older API, except for groups).
    #[serde(default)]
    pub limit: Option<usize>,
    /// How many to skip.
    #[serde(default)]
    pub offset: Option<usize>,
    /// Payload selection (none by default).
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    /// Vector selection.
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    /// Minimal score.
    #[serde(default)]
    pub score_threshold: Option<f32>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

fn required_limit(limit: Option<usize>) -> Result<usize> {
    match limit {
        None => Err(RestError::format("missing field `limit`")),
        l => positive_limit(l, "limit"),
    }
}

impl SearchBody {
    /// The engine's request: nearest to the vector.
    pub fn into_request(self, grouped: bool) -> Result<QueryRequest> {
        no_shard_key(&self.shard_key)?;
        let (using, vector) = match self.vector {
            NamedVectorJson::Default(v) => {
                (vicinity::DEFAULT_VECTOR.to_string(), VectorInput::Vector(v))
            }
            NamedVectorJson::Named { name, vector } => match vector.vector()? {
                Vector::Dense(v) => (name, VectorInput::Vector(v)),
                Vector::Sparse(v) => (name, VectorInput::Sparse(v)),
                Vector::Multi(m) => (name, VectorInput::Multi(m)),
            },
        };
        Ok(QueryRequest {
            prefetch: Vec::new(),
            query: Some(Query::Nearest(vector)),
            using,
            filter: self.filter,
            params: params(self.params)?,
            score_threshold: self.score_threshold,
            limit: if grouped {
                DEFAULT_LIMIT
            } else {
                required_limit(self.limit)?
            },
            offset: self.offset.unwrap_or(0),
            with: WithSelectors {
                payload: payload_selector(self.with_payload, false)?,
                vectors: vector_selector(self.with_vector),
            },
            lookup_from: None,
        })
    }
}

/// `POST /collections/{name}/points/search/batch`.
#[derive(Debug, Deserialize)]
pub struct SearchBatchBody {
    /// The searches.
    pub searches: Vec<SearchBody>,
}

/// `POST /collections/{name}/points/search/groups`.
#[derive(Debug, Deserialize)]
pub struct SearchGroupsBody {
    /// The search.
    #[serde(flatten)]
    pub search: SearchBody,
    /// The grouping.
    #[serde(flatten)]
    pub groups: GroupsJson,
}

/// An example of the older recommend and discover: an id or a vector.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ExampleJson {
    /// A stored point.
    Id(PointId),
    /// A dense vector.
    Dense(Vec<f32>),
    /// A multivector.
    Multi(Vec<Vec<f32>>),
    /// A sparse vector.
    Sparse(SparseVector),
}

impl ExampleJson {
    fn into_input(self) -> Result<VectorInput> {
        match self {
            ExampleJson::Id(id) => Ok(VectorInput::Id(id)),
            ExampleJson::Dense(v) => Ok(VectorInput::Vector(v)),
            ExampleJson::Multi(m) => Ok(VectorInput::Multi(m)),
            ExampleJson::Sparse(v) => Ok(VectorInput::Sparse(checked_sparse(v)?)),
        }
    }
}

fn examples(v: Option<Vec<ExampleJson>>) -> Result<Vec<VectorInput>> {
    v.unwrap_or_default()
        .into_iter()
        .map(ExampleJson::into_input)
        .collect()
}

/// The body of the older `points/recommend`.
#[derive(Debug, Deserialize)]
pub struct RecommendBody {
    /// Look like these.
    #[serde(default)]
    pub positive: Option<Vec<ExampleJson>>,
    /// Not like these.
    #[serde(default)]
    pub negative: Option<Vec<ExampleJson>>,
    /// How examples are combined.
    #[serde(default)]
    pub strategy: Option<StrategyJson>,
    /// Which points.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Search parameters.
    #[serde(default)]
    pub params: Option<SearchParamsJson>,
    /// How many results.
    #[serde(default)]
    pub limit: Option<usize>,
    /// How many to skip.
    #[serde(default)]
    pub offset: Option<usize>,
    /// Payload selection (none by default).
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    /// Vector selection.
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    /// Minimal score.
    #[serde(default)]
    pub score_threshold: Option<f32>,
    /// The vector name.
    #[serde(default)]
    pub using: Option<String>,
    /// Where example ids are read.
    #[serde(default)]
    pub lookup_from: Option<LookupFromJson>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

impl RecommendBody {
    /// The engine's request: a recommend query.
    pub fn into_request(self, grouped: bool) -> Result<QueryRequest> {
        no_shard_key(&self.shard_key)?;
        Ok(QueryRequest {
            prefetch: Vec::new(),
            query: Some(Query::Recommend {
                positive: examples(self.positive)?,
                negative: examples(self.negative)?,
                strategy: strategy(self.strategy),
            }),
            using: self
                .using
                .unwrap_or_else(|| vicinity::DEFAULT_VECTOR.to_string()),
            filter: self.filter,
            params: params(self.params)?,
            score_threshold: self.score_threshold,
            limit: if grouped {
                DEFAULT_LIMIT
            } else {
                required_limit(self.limit)?
            },
            offset: self.offset.unwrap_or(0),
            with: WithSelectors {
                payload: payload_selector(self.with_payload, false)?,
                vectors: vector_selector(self.with_vector),
            },
            lookup_from: lookup_from(self.lookup_from),
        })
    }
}

/// `POST /collections/{name}/points/recommend/batch`.
#[derive(Debug, Deserialize)]
pub struct RecommendBatchBody {
    /// The requests.
    pub searches: Vec<RecommendBody>,
}

/// `POST /collections/{name}/points/recommend/groups`.
#[derive(Debug, Deserialize)]
pub struct RecommendGroupsBody {
    /// The recommendation.
    #[serde(flatten)]
    pub recommend: RecommendBody,
    /// The grouping.
    #[serde(flatten)]
    pub groups: GroupsJson,
}

/// A context pair of the older discover.
#[derive(Debug, Deserialize)]
pub struct ExamplePairJson {
    /// Closer to this.
    pub positive: ExampleJson,
    /// Than to this.
    pub negative: ExampleJson,
}

/// The body of the older `points/discover`.
#[derive(Debug, Deserialize)]
pub struct DiscoverBody {
    /// What to look for (none: context only).
    #[serde(default)]
    pub target: Option<ExampleJson>,
    /// Where to look.
    #[serde(default)]
    pub context: Option<Vec<ExamplePairJson>>,
    /// Which points.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Search parameters.
    #[serde(default)]
    pub params: Option<SearchParamsJson>,
    /// How many results.
    #[serde(default)]
    pub limit: Option<usize>,
    /// How many to skip.
    #[serde(default)]
    pub offset: Option<usize>,
    /// Payload selection (none by default).
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    /// Vector selection.
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    /// The vector name.
    #[serde(default)]
    pub using: Option<String>,
    /// Where example ids are read.
    #[serde(default)]
    pub lookup_from: Option<LookupFromJson>,
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
}

impl DiscoverBody {
    /// The engine's request: discover with a target, or context only.
    pub fn into_request(self) -> Result<QueryRequest> {
        no_shard_key(&self.shard_key)?;
        let context = self
            .context
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                Ok(ContextPair {
                    positive: p.positive.into_input()?,
                    negative: p.negative.into_input()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let query = match self.target {
            Some(t) => Query::Discover {
                target: t.into_input()?,
                context,
            },
            None => Query::Context(context),
        };
        Ok(QueryRequest {
            prefetch: Vec::new(),
            query: Some(query),
            using: self
                .using
                .unwrap_or_else(|| vicinity::DEFAULT_VECTOR.to_string()),
            filter: self.filter,
            params: params(self.params)?,
            score_threshold: None,
            limit: required_limit(self.limit)?,
            offset: self.offset.unwrap_or(0),
            with: WithSelectors {
                payload: payload_selector(self.with_payload, false)?,
                vectors: vector_selector(self.with_vector),
            },
            lookup_from: lookup_from(self.lookup_from),
        })
    }
}

/// `POST /collections/{name}/points/discover/batch`.
#[derive(Debug, Deserialize)]
pub struct DiscoverBatchBody {
    /// The requests.
    pub searches: Vec<DiscoverBody>,
}

/// `POST .../points/search/matrix/{pairs,offsets}`.
#[derive(Debug, Default, Deserialize)]
pub struct MatrixBody {
    /// Custom sharding (refused).
    #[serde(default)]
    pub shard_key: Option<Value>,
    /// Which points are sampled.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// How many points (10, at least 2).
    #[serde(default)]
    pub sample: Option<usize>,
    /// Neighbours per point (3, at least 1).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The vector name.
    #[serde(default)]
    pub using: Option<String>,
}

impl MatrixBody {
    /// The engine's request, with Qdrant's validation.
    pub fn into_request(self) -> Result<vicinity::SearchMatrixRequest> {
        no_shard_key(&self.shard_key)?;
        let mut req = vicinity::SearchMatrixRequest::default();
        if let Some(s) = self.sample {
            if s < 2 {
                return Err(RestError::validation(
                    "sample",
                    format!("value {s} invalid, must be 2 or more"),
                ));
            }
            req.sample = s;
        }
        if let Some(l) = self.limit {
            if l < 1 {
                return Err(RestError::validation(
                    "limit",
                    format!("value {l} invalid, must be 1 or more"),
                ));
            }
            req.limit = l;
        }
        if let Some(u) = self.using {
            req.using = u;
        }
        req.filter = self.filter;
        Ok(req)
    }
}

// ---------------------------------------------------------------------------
// collections
// ---------------------------------------------------------------------------

/// A distance, with Qdrant's names.
#[derive(Debug, Clone, Copy, Deserialize)]
pub enum DistanceJson {
    /// Cosine similarity.
    Cosine,
    /// Euclidean distance.
    Euclid,
    /// Dot product.
    Dot,
    /// Manhattan distance.
    Manhattan,
}

impl From<DistanceJson> for vicinity::Distance {
    fn from(d: DistanceJson) -> Self {
        match d {
            DistanceJson::Cosine => vicinity::Distance::Cosine,
            DistanceJson::Euclid => vicinity::Distance::Euclid,
            DistanceJson::Dot => vicinity::Distance::Dot,
            DistanceJson::Manhattan => vicinity::Distance::Manhattan,
        }
    }
}

/// HNSW settings to change.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HnswDiff {
    /// Links per node.
    #[serde(default)]
    pub m: Option<usize>,
    /// Beam width while building.
    #[serde(default)]
    pub ef_construct: Option<usize>,
    /// Below this many points (in KB of vectors in Qdrant) a scan is used.
    #[serde(default)]
    pub full_scan_threshold: Option<usize>,
    /// Build threads (0: automatic).
    #[serde(default)]
    pub max_indexing_threads: Option<u64>,
    /// Graph on disk.
    #[serde(default)]
    pub on_disk: Option<bool>,
    /// Links per node in payload-specific graphs.
    #[serde(default)]
    pub payload_m: Option<u64>,
    /// Vectors stored inline in the graph.
    #[serde(default)]
    pub inline_storage: Option<bool>,
}

impl HnswDiff {
    /// Applies the diff to the engine's settings.
    pub fn apply(&self, base: vicinity::HnswConfig) -> vicinity::HnswConfig {
        let mut h = base;
        if let Some(m) = self.m {
            h.m = m;
        }
        if let Some(ef) = self.ef_construct {
            h.ef_construct = ef;
        }
        if let Some(t) = self.full_scan_threshold {
            h.full_scan_threshold = t;
        }
        h
    }
}

/// One vector's parameters.
#[derive(Debug, Deserialize)]
pub struct VectorParamsJson {
    /// The dimension.
    pub size: usize,
    /// The distance.
    pub distance: DistanceJson,
    /// HNSW settings for this vector.
    #[serde(default)]
    pub hnsw_config: Option<HnswDiff>,
    /// Quantization for this vector (scalar `int8` served).
    #[serde(default)]
    pub quantization_config: Option<Value>,
    /// Vectors on disk.
    #[serde(default)]
    pub on_disk: Option<bool>,
    /// `float32`, `float16` or `uint8` (the `turbo` types are refused as
    /// not served yet).
    #[serde(default)]
    pub datatype: Option<String>,
    /// Multivectors: `{"comparator": "max_sim"}`.
    #[serde(default)]
    pub multivector_config: Option<vicinity::MultiVectorConfig>,
}

fn set(v: &Option<Value>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_null())
}

/// A `quantization_config` as the engine's: `{"scalar": {...}}`,
/// `{"binary": {...}}` (every encoding and query encoding) and
/// `{"product": {...}}` are served; `turbo` is refused as not served yet.
pub fn quantization_from_json(v: Option<Value>) -> Result<Option<vicinity::QuantizationConfig>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if v.get("turbo").is_some() {
        return Err(RestError::unsupported("turbo quantization"));
    }
    serde_json::from_value(v)
        .map(Some)
        .map_err(|e| RestError::format(e.to_string()))
}

/// A quantization change: `"Disabled"` is `None`, the others as
/// [`quantization_from_json`] reads them.
pub fn quantization_diff_from_json(v: Value) -> Result<Option<vicinity::QuantizationConfig>> {
    if v.as_str() == Some("Disabled") {
        return Ok(None);
    }
    quantization_from_json(Some(v))
}

impl VectorParamsJson {
    fn into_params(self) -> Result<vicinity::VectorParams> {
        let datatype = match self.datatype.as_deref() {
            None => None,
            Some("float32") => Some(vicinity::Datatype::Float32),
            Some("float16") => Some(vicinity::Datatype::Float16),
            Some("uint8") => Some(vicinity::Datatype::Uint8),
            Some(d @ ("turbo4" | "turbo8" | "turbo16")) => {
                return Err(RestError::unsupported(format!("vector datatype {d}")));
            }
            Some(d) => {
                return Err(RestError::format(format!(
                    "unknown variant `{d}`, expected one of `float32`, `uint8`, `float16`, `turbo4`, `turbo8`, `turbo16`"
                )));
            }
        };
        let quantization = quantization_from_json(self.quantization_config)?;
        if self.size == 0 {
            return Err(RestError::validation(
                "vectors.size",
                "value 0 invalid, must be 1 or more",
            ));
        }
        let mut v = vicinity::VectorParams::new(self.size, self.distance.into());
        v.quantization_config = quantization;
        v.hnsw_config = self
            .hnsw_config
            .map(|h| h.apply(vicinity::HnswConfig::default()));
        v.on_disk = self.on_disk;
        v.multivector_config = self.multivector_config;
        v.datatype = datatype;
        Ok(v)
    }
}

/// `vectors`: one unnamed vector's parameters, or parameters by name.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum VectorsConfigJson {
    /// The unnamed vector.
    Single(VectorParamsJson),
    /// Named vectors.
    Named(BTreeMap<String, VectorParamsJson>),
}

/// Optimizer settings (echoed back, Qdrant's defaults otherwise).
#[derive(Debug, Default, Deserialize)]
pub struct OptimizersDiff {
    /// Share of deleted points that triggers a vacuum.
    #[serde(default)]
    pub deleted_threshold: Option<f64>,
    /// Minimal vectors in a segment for a vacuum.
    #[serde(default)]
    pub vacuum_min_vector_number: Option<u64>,
    /// Target number of segments.
    #[serde(default)]
    pub default_segment_number: Option<u64>,
    /// Largest segment, in KB.
    #[serde(default)]
    pub max_segment_size: Option<u64>,
    /// Deprecated: when segments move to disk.
    #[serde(default)]
    pub memmap_threshold: Option<u64>,
    /// Points before a segment is indexed.
    #[serde(default)]
    pub indexing_threshold: Option<u64>,
    /// Seconds between flushes.
    #[serde(default)]
    pub flush_interval_sec: Option<u64>,
    /// Optimization threads.
    #[serde(default)]
    pub max_optimization_threads: Option<u64>,
    /// Hold back writes until indexed.
    #[serde(default)]
    pub prevent_unoptimized: Option<bool>,
}

impl OptimizersDiff {
    /// In the form the shared state keeps.
    pub fn into_proto(self) -> crate::pb::OptimizersConfigDiff {
        crate::pb::OptimizersConfigDiff {
            deleted_threshold: self.deleted_threshold,
            vacuum_min_vector_number: self.vacuum_min_vector_number,
            default_segment_number: self.default_segment_number,
            max_segment_size: self.max_segment_size,
            memmap_threshold: self.memmap_threshold,
            indexing_threshold: self.indexing_threshold,
            flush_interval_sec: self.flush_interval_sec,
            deprecated_max_optimization_threads: None,
            max_optimization_threads: self.max_optimization_threads.map(|n| {
                crate::pb::MaxOptimizationThreads {
                    variant: Some(crate::pb::max_optimization_threads::Variant::Value(n)),
                }
            }),
            prevent_unoptimized: self.prevent_unoptimized,
        }
    }
}

/// WAL settings (echoed back).
#[derive(Debug, Default, Deserialize)]
pub struct WalDiff {
    /// Segment size in MB.
    #[serde(default)]
    pub wal_capacity_mb: Option<u64>,
    /// Segments made ahead.
    #[serde(default)]
    pub wal_segments_ahead: Option<u64>,
    /// Closed segments kept.
    #[serde(default)]
    pub wal_retain_closed: Option<u64>,
}

/// `PUT /collections/{name}`.
#[derive(Debug, Default, Deserialize)]
pub struct CreateCollectionBody {
    /// The dense vectors.
    #[serde(default)]
    pub vectors: Option<VectorsConfigJson>,
    /// Shards asked for (one is used).
    #[serde(default)]
    pub shard_number: Option<u32>,
    /// `auto` or `custom`.
    #[serde(default)]
    pub sharding_method: Option<String>,
    /// Replicas (one node: 1).
    #[serde(default)]
    pub replication_factor: Option<u32>,
    /// Write consistency (one node: 1).
    #[serde(default)]
    pub write_consistency_factor: Option<u32>,
    /// Payloads on disk.
    #[serde(default)]
    pub on_disk_payload: Option<bool>,
    /// HNSW settings.
    #[serde(default)]
    pub hnsw_config: Option<HnswDiff>,
    /// WAL settings.
    #[serde(default)]
    pub wal_config: Option<WalDiff>,
    /// Optimizer settings.
    #[serde(default)]
    pub optimizers_config: Option<OptimizersDiff>,
    /// Deprecated: copy from another collection.
    #[serde(default)]
    pub init_from: Option<Value>,
    /// Quantization for every vector (scalar `int8` served).
    #[serde(default)]
    pub quantization_config: Option<Value>,
    /// Sparse vectors by name.
    #[serde(default)]
    pub sparse_vectors: Option<Map<String, Value>>,
    /// Strict mode.
    #[serde(default)]
    pub strict_mode_config: Option<crate::strict::StrictModeConfig>,
    /// The user's metadata.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// `sparse_vectors` of a create body: Qdrant's `SparseVectorParams` per
/// name (the `turbo` weight types are refused as not served).
pub fn sparse_from_json(
    m: Option<Map<String, Value>>,
) -> Result<std::collections::BTreeMap<String, vicinity::SparseVectorParams>> {
    m.unwrap_or_default()
        .into_iter()
        .map(|(name, v)| {
            if let Some(t) = v
                .pointer("/index/datatype")
                .and_then(Value::as_str)
                .filter(|t| t.starts_with("turbo"))
            {
                return Err(RestError::unsupported(format!(
                    "the {t} datatype of sparse vectors"
                )));
            }
            let params = serde_json::from_value(v).map_err(RestError::format)?;
            Ok((name, params))
        })
        .collect()
}

/// The user's metadata in the form the shared state keeps.
pub fn metadata_to_proto(
    m: Map<String, Value>,
) -> std::collections::HashMap<String, crate::pb::Value> {
    m.into_iter()
        .map(|(k, v)| (k, crate::grpc::convert::value::json_to_proto(v)))
        .collect()
}

impl CreateCollectionBody {
    /// The engine's configuration and the echoed settings.
    pub fn into_config(self) -> Result<(vicinity::CollectionConfig, crate::state::CollectionMeta)> {
        let quantization = quantization_from_json(self.quantization_config)?;
        let sparse = sparse_from_json(self.sparse_vectors)?;
        if self.sharding_method.as_deref() == Some("custom") {
            return Err(RestError::unsupported("custom sharding"));
        }
        if set(&self.init_from) {
            return Err(RestError::unsupported("init_from"));
        }
        let vectors = match self.vectors {
            Some(VectorsConfigJson::Single(p)) => {
                vec![(vicinity::DEFAULT_VECTOR.to_string(), p.into_params()?)]
            }
            Some(VectorsConfigJson::Named(m)) => m
                .into_iter()
                .map(|(k, p)| Ok((k, p.into_params()?)))
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let hnsw = self
            .hnsw_config
            .as_ref()
            .map(|h| h.apply(vicinity::HnswConfig::default()))
            .unwrap_or_default();
        let mut config = vicinity::CollectionConfig::named(vectors).with_hnsw(hnsw);
        config.quantization_config = quantization;
        config.sparse_vectors = sparse;
        let mut meta = crate::state::CollectionMeta::new();
        if let Some(h) = self.hnsw_config {
            meta.hnsw_extra = crate::pb::HnswConfigDiff {
                max_indexing_threads: h.max_indexing_threads,
                on_disk: h.on_disk,
                payload_m: h.payload_m,
                ..Default::default()
            };
        }
        if let Some(o) = self.optimizers_config {
            crate::grpc::convert::collection::merge_optimizers(
                &mut meta.optimizers,
                o.into_proto(),
            );
        }
        if let Some(w) = self.wal_config {
            crate::grpc::convert::collection::merge_wal(
                &mut meta.wal,
                crate::pb::WalConfigDiff {
                    wal_capacity_mb: w.wal_capacity_mb,
                    wal_segments_ahead: w.wal_segments_ahead,
                    wal_retain_closed: w.wal_retain_closed,
                },
            );
        }
        if let Some(b) = self.on_disk_payload {
            meta.on_disk_payload = b;
        }
        if let Some(n) = self.shard_number {
            meta.shard_number = n.max(1);
        }
        if let Some(m) = self.metadata {
            meta.metadata = metadata_to_proto(m);
        }
        if let Some(diff) = &self.strict_mode_config {
            meta.strict_mode = meta.strict_mode.merged(diff);
        }
        Ok((config, meta))
    }
}

/// `params` of `PATCH /collections/{name}`.
#[derive(Debug, Default, Deserialize)]
pub struct CollectionParamsDiff {
    /// Replicas.
    #[serde(default)]
    pub replication_factor: Option<u32>,
    /// Write consistency.
    #[serde(default)]
    pub write_consistency_factor: Option<u32>,
    /// Read fan-out.
    #[serde(default)]
    pub read_fan_out_factor: Option<u32>,
    /// Payloads on disk.
    #[serde(default)]
    pub on_disk_payload: Option<bool>,
}

/// `PATCH /collections/{name}`.
#[derive(Debug, Default, Deserialize)]
pub struct UpdateCollectionBody {
    /// Per-vector changes (their quantization is served).
    #[serde(default)]
    pub vectors: Option<Map<String, Value>>,
    /// Optimizer settings.
    #[serde(default)]
    pub optimizers_config: Option<OptimizersDiff>,
    /// Collection parameters.
    #[serde(default)]
    pub params: Option<CollectionParamsDiff>,
    /// HNSW changes (not served yet).
    #[serde(default)]
    pub hnsw_config: Option<Value>,
    /// Quantization: a config, or `"Disabled"`.
    #[serde(default)]
    pub quantization_config: Option<Value>,
    /// Sparse vector changes (not served yet).
    #[serde(default)]
    pub sparse_vectors: Option<Map<String, Value>>,
    /// Strict mode.
    #[serde(default)]
    pub strict_mode_config: Option<crate::strict::StrictModeConfig>,
    /// Metadata keys to set.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// `field_schema`: a type name, or the type with its parameters.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FieldSchemaJson {
    /// `keyword`, `integer`, ...
    Type(FieldTypeJson),
    /// `{"type": "text", "lowercase": ..., ...}`.
    Params(FieldParamsJson),
}

/// A payload index type, with Qdrant's names.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldTypeJson {
    /// Exact strings.
    Keyword,
    /// Integers.
    Integer,
    /// Floats.
    Float,
    /// Geo points.
    Geo,
    /// Full text.
    Text,
    /// Booleans.
    Bool,
    /// Datetimes.
    Datetime,
    /// UUIDs.
    Uuid,
}

impl From<FieldTypeJson> for FieldType {
    fn from(t: FieldTypeJson) -> Self {
        match t {
            FieldTypeJson::Keyword => FieldType::Keyword,
            FieldTypeJson::Integer => FieldType::Integer,
            FieldTypeJson::Float => FieldType::Float,
            FieldTypeJson::Geo => FieldType::Geo,
            FieldTypeJson::Text => FieldType::Text,
            FieldTypeJson::Bool => FieldType::Bool,
            FieldTypeJson::Datetime => FieldType::Datetime,
            FieldTypeJson::Uuid => FieldType::Uuid,
        }
    }
}

/// Stopwords: a language name, or `{languages, custom}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StopwordsJson {
    /// A language (Vicinity has no built-in lists: refused).
    Language(String),
    /// Languages and custom words.
    Set {
        /// Languages (refused when not empty).
        #[serde(default)]
        languages: Option<Vec<String>>,
        /// Custom words.
        #[serde(default)]
        custom: Option<Vec<String>>,
    },
}

/// A payload index type with its parameters.
#[derive(Debug, Deserialize)]
pub struct FieldParamsJson {
    /// The type.
    #[serde(rename = "type")]
    pub field_type: FieldTypeJson,
    /// Text: the tokenizer (`word` is served).
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// Text: lower-case tokens.
    #[serde(default)]
    pub lowercase: Option<bool>,
    /// Text: shortest token.
    #[serde(default)]
    pub min_token_len: Option<usize>,
    /// Text: longest token.
    #[serde(default)]
    pub max_token_len: Option<usize>,
    /// Text: stopwords.
    #[serde(default)]
    pub stopwords: Option<StopwordsJson>,
    /// Text: rank by BM25 (`true`, or `{"type": "bm25"}`).
    #[serde(default)]
    pub scoring: Option<Value>,
}

/// `PUT /collections/{name}/index`.
#[derive(Debug, Deserialize)]
pub struct CreateIndexBody {
    /// The payload key.
    pub field_name: String,
    /// The type (and parameters).
    #[serde(default)]
    pub field_schema: Option<FieldSchemaJson>,
}

impl CreateIndexBody {
    /// The key and the engine's index parameters.
    pub fn into_parts(self) -> Result<(JsonPath, FieldIndexParams)> {
        let key = path(&self.field_name)?;
        let params = match self.field_schema {
            None => {
                return Err(RestError::wrong(
                    "field_schema is required: the type of the payload index",
                ));
            }
            Some(FieldSchemaJson::Type(t)) => FieldIndexParams::new(t.into()),
            Some(FieldSchemaJson::Params(p)) => {
                let mut params = FieldIndexParams::new(p.field_type.into());
                if let Some(t) = p.tokenizer.as_deref()
                    && t != "word"
                {
                    return Err(RestError::unsupported(format!("the {t} tokenizer")));
                }
                if let Some(l) = p.lowercase {
                    params.tokenizer.lowercase = l;
                }
                params.tokenizer.min_token_len = p.min_token_len;
                params.tokenizer.max_token_len = p.max_token_len;
                params.scoring = match p.scoring {
                    None | Some(Value::Null) | Some(Value::Bool(false)) => false,
                    Some(Value::Bool(true)) => true,
                    Some(Value::Object(o)) if o.get("type") == Some(&Value::from("bm25")) => true,
                    Some(other) => {
                        return Err(RestError::format(format!(
                            "scoring: expected true, false or {{\"type\": \"bm25\"}}, got {other}"
                        )));
                    }
                };
                match p.stopwords {
                    None => {}
                    Some(StopwordsJson::Language(l)) => {
                        return Err(RestError::unsupported(format!("{l} stopword lists")));
                    }
                    Some(StopwordsJson::Set { languages, custom }) => {
                        if languages.is_some_and(|l| !l.is_empty()) {
                            return Err(RestError::unsupported("language stopword lists"));
                        }
                        params.tokenizer.stopwords = custom.unwrap_or_default();
                    }
                }
                params
            }
        };
        Ok((key, params))
    }
}

/// One action of `POST /collections/aliases`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AliasActionJson {
    /// Add an alias.
    CreateAlias {
        /// The collection.
        collection_name: String,
        /// The alias.
        alias_name: String,
    },
    /// Remove an alias.
    DeleteAlias {
        /// The alias.
        alias_name: String,
    },
    /// Rename an alias.
    RenameAlias {
        /// The alias now.
        old_alias_name: String,
        /// Its new name.
        new_alias_name: String,
    },
}

impl From<AliasActionJson> for crate::ops::AliasAction {
    fn from(a: AliasActionJson) -> Self {
        use crate::ops::AliasAction as A;
        match a {
            AliasActionJson::CreateAlias {
                collection_name,
                alias_name,
            } => A::Create {
                collection: collection_name,
                alias: alias_name,
            },
            AliasActionJson::DeleteAlias { alias_name } => A::Delete { alias: alias_name },
            AliasActionJson::RenameAlias {
                old_alias_name,
                new_alias_name,
            } => A::Rename {
                old: old_alias_name,
                new: new_alias_name,
            },
        }
    }
}

/// `POST /collections/aliases`.
#[derive(Debug, Deserialize)]
pub struct AliasesBody {
    /// The actions, applied in order, all or none.
    pub actions: Vec<AliasActionJson>,
}

/// `PUT /collections/{name}/snapshots/recover`.
#[derive(Debug, Deserialize)]
pub struct RecoverBody {
    /// An `http(s)://` URL, `file:///path` or a path on this machine.
    pub location: String,
    /// Which data wins (one node: the snapshot's).
    #[serde(default)]
    pub priority: Option<String>,
    /// The expected SHA-256 of the file.
    #[serde(default)]
    pub checksum: Option<String>,
    /// The `api-key` header to send to an `http(s)://` location.
    #[serde(default)]
    pub api_key: Option<String>,
}

// ---------------------------------------------------------------------------
// query parameters
// ---------------------------------------------------------------------------

/// The query parameters of a write.
#[derive(Debug, Default, Deserialize)]
pub struct WriteParams {
    /// Answer once the write is durable.
    #[serde(default)]
    pub wait: Option<bool>,
    /// `weak`, `medium` or `strong` (one node: all the same).
    #[serde(default)]
    pub ordering: Option<String>,
    /// Seconds to wait.
    #[serde(default)]
    pub timeout: Option<u64>,
}

impl WriteParams {
    /// Whether the client waits; an unknown ordering is refused.
    pub fn wait(&self) -> Result<bool> {
        match self.ordering.as_deref() {
            None | Some("weak" | "medium" | "strong") => Ok(self.wait.unwrap_or(false)),
            Some(o) => Err(RestError::new(
                axum::http::StatusCode::BAD_REQUEST,
                format!(
                    "Query deserialize error: unknown variant `{o}`, expected one of `weak`, `medium`, `strong`"
                ),
            )),
        }
    }
}

/// The query parameters of a read.
#[derive(Debug, Default, Deserialize)]
pub struct ReadParams {
    /// A number or `majority`, `quorum`, `all` (one node: all the same).
    #[serde(default)]
    pub consistency: Option<String>,
    /// Seconds to wait.
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// The query parameters of `GET /collections/{name}/exists` and the like,
/// and of collection writes (`timeout` only).
#[derive(Debug, Default, Deserialize)]
pub struct TimeoutParams {
    /// Seconds to wait.
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// The query parameters of a snapshot upload or creation.
#[derive(Debug, Default, Deserialize)]
pub struct SnapshotParams {
    /// Answer when done.
    #[serde(default)]
    pub wait: Option<bool>,
    /// Which data wins.
    #[serde(default)]
    pub priority: Option<String>,
    /// The expected SHA-256.
    #[serde(default)]
    pub checksum: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn upsert_list_and_batch_agree() {
        let list: UpsertBody = parse(json!({"points": [
            {"id": 1, "vector": [1.0, 2.0], "payload": {"a": 1}},
            {"id": 2, "vector": [3.0, 4.0]}
        ]}));
        let batch: UpsertBody = parse(json!({"batch": {
            "ids": [1, 2], "vectors": [[1.0, 2.0], [3.0, 4.0]], "payloads": [{"a": 1}, null]
        }}));
        let points = |b: UpsertBody| match b.into_write().unwrap() {
            WriteOp::Upsert(points, None, UpdateMode::Upsert) => points,
            other => panic!("{other:?}"),
        };
        assert_eq!(points(list), points(batch));
    }

    #[test]
    fn named_vectors_and_refusals() {
        let p: PointJson = parse(json!({"id": 1, "vector": {"image": [1.0], "text": [2.0, 3.0]}}));
        match p.vector.into_vectors().unwrap() {
            Vectors::Named(m) => assert_eq!(m["text"], vec![2.0, 3.0].into()),
            other => panic!("{other:?}"),
        }
        let sparse: PointJson =
            parse(json!({"id": 1, "vector": {"s": {"indices": [9, 1], "values": [0.5, 1.0]}}}));
        assert_eq!(
            sparse.vector.into_vectors().unwrap().sparse("s"),
            Some(&vicinity::SparseVector::new(vec![9, 1], vec![0.5, 1.0]))
        );
        let bad: PointJson =
            parse(json!({"id": 1, "vector": {"s": {"indices": [1, 1], "values": [0.5]}}}));
        let e = bad.vector.into_vectors().unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            e.message
                .contains("values: must be the same length as indices")
                && e.message.contains("indices: must be unique"),
            "{e:?}"
        );
        let doc: PointJson = parse(json!({"id": 1, "vector": {"text": "hi", "model": "m"}}));
        let e = doc.vector.into_vectors().unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::NOT_IMPLEMENTED);
    }

    #[test]
    fn query_shapes() {
        let q: QueryJson = parse(json!([0.5, 0.5]));
        assert!(matches!(
            q.into_query().unwrap(),
            Query::Nearest(VectorInput::Vector(_))
        ));
        let q: QueryJson = parse(json!(7));
        assert!(matches!(
            q.into_query().unwrap(),
            Query::Nearest(VectorInput::Id(_))
        ));
        let q: QueryJson = parse(json!({"recommend": {"positive": [1], "strategy": "best_score"}}));
        assert!(matches!(
            q.into_query().unwrap(),
            Query::Recommend {
                strategy: RecommendStrategy::BestScore,
                ..
            }
        ));
        let q: QueryJson = parse(json!({"fusion": "rrf"}));
        assert!(matches!(
            q.into_query().unwrap(),
            Query::Fusion(Fusion::Rrf { k: 2, .. })
        ));
        let q: QueryJson = parse(json!({"order_by": {"key": "price", "direction": "desc"}}));
        assert!(matches!(q.into_query().unwrap(), Query::OrderBy(_)));
        let q: QueryJson = parse(json!({"nearest": [1.0], "mmr": {"diversity": 0.25}}));
        assert_eq!(
            q.into_query().unwrap(),
            Query::NearestMmr {
                nearest: VectorInput::Vector(vec![1.0]),
                mmr: Mmr {
                    diversity: Some(0.25),
                    candidates_limit: None
                }
            }
        );
        let q: QueryJson = parse(json!({"nearest": [1.0], "mmr": {"diversity": 1.5}}));
        let e = q.into_query().unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            e.message
                .contains("query.mmr.diversity: value 1.5 invalid, must be from 0.0 to 1.0"),
            "{e:?}"
        );
        let q: QueryJson = parse(json!({"nearest": [1.0], "mmr": {"candidates_limit": 20000}}));
        let e = q.into_query().unwrap_err();
        assert!(
            e.message
                .contains("value 20000 invalid, must be 16384 or smaller"),
            "{e:?}"
        );
        let q: QueryJson =
            parse(json!({"formula": {"sum": ["$score", 1]}, "defaults": {"$score": 0}}));
        assert!(matches!(q.into_query().unwrap(), Query::Formula(_)));
        let q: QueryJson = parse(json!({"formula": {"div": {"left": 1}}}));
        let e = q.into_query().unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(e.message.contains("`div` needs `right`"), "{e:?}");
    }

    #[test]
    fn query_groups_flatten() {
        let mut b: QueryGroupsBody =
            parse(json!({"query": [1.0], "group_by": "brand", "limit": 2, "group_size": 1}));
        let limit = b.query.limit.take();
        let q = b.query.into_request().unwrap();
        let g = b.groups.wrap(q, limit, 10, 3).unwrap();
        assert_eq!((g.limit, g.group_size), (2, 1));
    }

    #[test]
    fn collection_config() {
        let b: CreateCollectionBody = parse(json!({
            "vectors": {"size": 4, "distance": "Dot"},
            "hnsw_config": {"m": 8, "on_disk": true},
            "optimizers_config": {"indexing_threshold": 5}
        }));
        let (config, meta) = b.into_config().unwrap();
        assert_eq!(config.vectors[""].size, 4);
        assert_eq!(config.hnsw_config.m, 8);
        assert_eq!(meta.optimizers.indexing_threshold, Some(5));
        assert_eq!(meta.hnsw_extra.on_disk, Some(true));
        let b: CreateCollectionBody = parse(
            json!({"vectors": {"a": {"size": 2, "distance": "Cosine", "datatype": "uint8"}}}),
        );
        let (config, _) = b.into_config().unwrap();
        assert_eq!(
            config.vectors["a"].datatype,
            Some(vicinity::Datatype::Uint8)
        );
        let b: CreateCollectionBody = parse(
            json!({"vectors": {"a": {"size": 2, "distance": "Cosine", "datatype": "turbo8"}}}),
        );
        assert_eq!(
            b.into_config().unwrap_err().status,
            axum::http::StatusCode::NOT_IMPLEMENTED
        );
    }
}
