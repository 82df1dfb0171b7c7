//! The universal query (`Query`, `QueryBatch`, `QueryGroups`) and the
//! older recommend, discover and group RPCs, all as engine `QueryRequest`s.

use tonic::Status;
use vicinity::{
    ContextPair, Expression, FeedbackItem, Formula, Fusion, GroupId, LookupFrom, Mmr,
    NaiveFeedback, PointGroup, Prefetch, Query, QueryGroupsRequest, QueryRequest,
    RecommendStrategy, SearchMatrixRequest, SearchParams, VectorInput, WithLookup, WithSelectors,
};

use crate::grpc::convert::filter::{condition, filter_from_proto, finite, geo_point};
use crate::grpc::convert::id::{id_from_proto, id_to_proto};
use crate::grpc::convert::points::{order_by_from_proto, record_to_proto, scored_to_proto};
use crate::grpc::convert::selector::{path, payload_selector, vector_selector};
use crate::grpc::convert::value::json_from_proto;
use crate::grpc::convert::vector::dense_from_proto;
use crate::pb;
use crate::status::{invalid, unsupported, validation};

/// Qdrant's default `limit` of a query and of a prefetch.
const DEFAULT_LIMIT: u64 = 10;
/// Qdrant's default RRF constant.
const DEFAULT_RRF_K: usize = 2;

fn to_usize(v: u64, what: &str) -> Result<usize, Status> {
    usize::try_from(v).map_err(|_| validation(what, format!("value {v} is too large")))
}

/// `SearchParams` on the wire as the engine's.
pub fn params_from_proto(p: Option<pb::SearchParams>) -> Result<SearchParams, Status> {
    let mut out = SearchParams::default();
    if let Some(p) = p {
        out.hnsw_ef = p
            .hnsw_ef
            .map(|ef| usize::try_from(ef).map_err(|_| invalid("hnsw_ef is too large")))
            .transpose()?;
        out.exact = p.exact.unwrap_or(false);
        out.quantization = p.quantization.map(|q| vicinity::QuantizationSearchParams {
            ignore: q.ignore.unwrap_or(false),
            rescore: q.rescore,
            oversampling: q.oversampling,
        });
        // no corpus: the whole collection
        out.idf_corpus = p
            .idf
            .and_then(|i| i.corpus)
            .map(filter_from_proto)
            .transpose()?;
    }
    Ok(out)
}

/// A query's vector input: a dense or sparse vector, or a point id.
pub fn input_from_proto(v: pb::VectorInput) -> Result<VectorInput, Status> {
    use pb::vector_input::Variant as I;
    match v.variant {
        Some(I::Dense(d)) => Ok(VectorInput::Vector(d.data)),
        Some(I::Id(id)) => Ok(VectorInput::Id(id_from_proto(id)?)),
        Some(I::Sparse(s)) => Ok(VectorInput::Sparse(super::vector::sparse(
            s.indices, s.values,
        )?)),
        Some(I::MultiDense(m)) => Ok(VectorInput::Multi(
            m.vectors.into_iter().map(|v| v.data).collect(),
        )),
        Some(I::Document(_) | I::Image(_) | I::Object(_)) => {
            Err(unsupported("inference (documents, images, objects)"))
        }
        None => Err(invalid("vector input is empty")),
    }
}

fn required_input(v: Option<pb::VectorInput>, what: &str) -> Result<VectorInput, Status> {
    input_from_proto(v.ok_or_else(|| invalid(format!("{what} is missing")))?)
}

fn inputs(v: Vec<pb::VectorInput>) -> Result<Vec<VectorInput>, Status> {
    v.into_iter().map(input_from_proto).collect()
}

/// An example of the older RPCs: a point id or a vector.
fn example_from_proto(e: Option<pb::VectorExample>, what: &str) -> Result<VectorInput, Status> {
    use pb::vector_example::Example as E;
    match e.and_then(|e| e.example) {
        Some(E::Id(id)) => Ok(VectorInput::Id(id_from_proto(id)?)),
        Some(E::Vector(v)) => Ok(VectorInput::Vector(dense_from_proto(v)?)),
        None => Err(invalid(format!("{what} is missing"))),
    }
}

/// The wire `RecommendStrategy` (AverageVector = 0, BestScore = 1,
/// SumScores = 2); unset means AverageVector.
pub fn strategy_from_proto(s: Option<i32>) -> Result<RecommendStrategy, Status> {
    match s.map(pb::RecommendStrategy::try_from) {
        None | Some(Ok(pb::RecommendStrategy::AverageVector)) => {
            Ok(RecommendStrategy::AverageVector)
        }
        Some(Ok(pb::RecommendStrategy::BestScore)) => Ok(RecommendStrategy::BestScore),
        Some(Ok(pb::RecommendStrategy::SumScores)) => Ok(RecommendStrategy::SumScores),
        Some(Err(_)) => Err(invalid("unknown recommend strategy")),
    }
}

fn pairs(c: Option<pb::ContextInput>) -> Result<Vec<ContextPair>, Status> {
    c.map(|c| c.pairs)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            Ok(ContextPair {
                positive: required_input(p.positive, "context positive")?,
                negative: required_input(p.negative, "context negative")?,
            })
        })
        .collect()
}

/// A wire formula expression in REST's JSON shape, which the engine parses.
fn expression_json(e: pb::Expression, depth: usize) -> Result<serde_json::Value, Status> {
    use pb::expression::Variant as E;
    use serde_json::json;
    if depth > 64 {
        return Err(invalid("formula nests deeper than 64 levels"));
    }
    let sub = |e: Option<Box<pb::Expression>>, what: &str| match e {
        Some(e) => expression_json(*e, depth + 1),
        None => Err(invalid(format!("{what} is missing"))),
    };
    let all = |es: Vec<pb::Expression>| {
        es.into_iter()
            .map(|e| expression_json(e, depth + 1))
            .collect::<Result<Vec<_>, Status>>()
    };
    let decay = |d: pb::DecayParamsExpression| -> Result<serde_json::Value, Status> {
        let mut o = serde_json::Map::new();
        o.insert("x".into(), sub(d.x, "decay x")?);
        if let Some(t) = d.target {
            o.insert("target".into(), expression_json(*t, depth + 1)?);
        }
        if let Some(s) = d.scale {
            o.insert("scale".into(), finite(f64::from(s), "decay scale")?);
        }
        if let Some(m) = d.midpoint {
            o.insert("midpoint".into(), finite(f64::from(m), "decay midpoint")?);
        }
        Ok(serde_json::Value::Object(o))
    };
    Ok(match e.variant {
        None => return Err(invalid("formula expression is empty")),
        Some(E::Constant(c)) => finite(f64::from(c), "constant")?,
        Some(E::Variable(v)) => json!(v),
        Some(E::Condition(c)) => condition(c)?,
        Some(E::GeoDistance(g)) => {
            json!({"geo_distance": {"origin": geo_point(g.origin, "origin")?, "to": g.to}})
        }
        Some(E::Datetime(d)) => json!({ "datetime": d }),
        Some(E::DatetimeKey(k)) => json!({ "datetime_key": k }),
        Some(E::Mult(m)) => json!({ "mult": all(m.mult)? }),
        Some(E::Sum(m)) => json!({ "sum": all(m.sum)? }),
        Some(E::Max(m)) => json!({ "max": all(m.max)? }),
        Some(E::Min(m)) => json!({ "min": all(m.min)? }),
        Some(E::Div(d)) => {
            let mut o = serde_json::Map::new();
            o.insert("left".into(), sub(d.left, "div left")?);
            o.insert("right".into(), sub(d.right, "div right")?);
            if let Some(z) = d.by_zero_default {
                o.insert(
                    "by_zero_default".into(),
                    finite(f64::from(z), "by_zero_default")?,
                );
            }
            json!({ "div": o })
        }
        Some(E::Neg(x)) => json!({ "neg": expression_json(*x, depth + 1)? }),
        Some(E::Abs(x)) => json!({ "abs": expression_json(*x, depth + 1)? }),
        Some(E::Sqrt(x)) => json!({ "sqrt": expression_json(*x, depth + 1)? }),
        Some(E::Exp(x)) => json!({ "exp": expression_json(*x, depth + 1)? }),
        Some(E::Log10(x)) => json!({ "log10": expression_json(*x, depth + 1)? }),
        Some(E::Ln(x)) => json!({ "ln": expression_json(*x, depth + 1)? }),
        Some(E::Acosh(x)) => json!({ "acosh": expression_json(*x, depth + 1)? }),
        Some(E::Pow(p)) => json!({"pow": {
            "base": sub(p.base, "pow base")?,
            "exponent": sub(p.exponent, "pow exponent")?,
        }}),
        Some(E::LinDecay(d)) => json!({ "lin_decay": decay(*d)? }),
        Some(E::ExpDecay(d)) => json!({ "exp_decay": decay(*d)? }),
        Some(E::GaussDecay(d)) => json!({ "gauss_decay": decay(*d)? }),
    })
}

/// A wire `Query` as the engine's.
pub fn query_from_proto(q: pb::Query) -> Result<Query, Status> {
    use pb::query::Variant as Q;
    match q.variant {
        Some(Q::Nearest(v)) => Ok(Query::Nearest(input_from_proto(v)?)),
        Some(Q::Recommend(r)) => Ok(Query::Recommend {
            positive: inputs(r.positive)?,
            negative: inputs(r.negative)?,
            strategy: strategy_from_proto(r.strategy)?,
        }),
        Some(Q::Discover(d)) => Ok(Query::Discover {
            target: required_input(d.target, "discover target")?,
            context: pairs(d.context)?,
        }),
        Some(Q::Context(c)) => Ok(Query::Context(pairs(Some(c))?)),
        Some(Q::OrderBy(o)) => Ok(Query::OrderBy(order_by_from_proto(o)?)),
        Some(Q::Fusion(f)) => match pb::Fusion::try_from(f) {
            Ok(pb::Fusion::Rrf) => Ok(Query::Fusion(Fusion::Rrf {
                k: DEFAULT_RRF_K,
                weights: None,
            })),
            Ok(pb::Fusion::Dbsf) => Ok(Query::Fusion(Fusion::Dbsf)),
            Err(_) => Err(invalid("unknown fusion")),
        },
        Some(Q::Rrf(r)) => {
            let k = match r.k {
                None => DEFAULT_RRF_K,
                Some(0) => return Err(validation("rrf.k", "value 0 invalid, must be 1 or more")),
                Some(k) => to_usize(u64::from(k), "rrf.k")?,
            };
            let weights = (!r.weights.is_empty()).then_some(r.weights);
            Ok(Query::Fusion(Fusion::Rrf { k, weights }))
        }
        Some(Q::Sample(s)) => match pb::Sample::try_from(s) {
            Ok(pb::Sample::Random) => Ok(Query::Sample),
            Err(_) => Err(invalid("unknown sample")),
        },
        Some(Q::Formula(f)) => {
            let expression = f
                .expression
                .ok_or_else(|| invalid("formula expression is missing"))?;
            let expression = Expression::from_json(expression_json(expression, 0)?)
                .map_err(|e| invalid(format!("formula: {e}")))?;
            let defaults = f
                .defaults
                .into_iter()
                .map(|(k, v)| Ok((k, json_from_proto(v)?)))
                .collect::<Result<_, Status>>()?;
            Ok(Query::Formula(Formula {
                expression,
                defaults,
            }))
        }
        Some(Q::NearestWithMmr(q)) => {
            let nearest = q
                .nearest
                .ok_or_else(|| invalid("nearest vector is missing"))?;
            let mmr = q.mmr.ok_or_else(|| invalid("mmr is missing"))?;
            let mmr = Mmr {
                diversity: mmr.diversity,
                candidates_limit: mmr
                    .candidates_limit
                    .map(|c| to_usize(u64::from(c), "mmr.candidates_limit"))
                    .transpose()?,
            };
            mmr.validate().map_err(|(field, msg)| {
                validation(&format!("nearest_with_mmr.mmr.{field}"), msg)
            })?;
            Ok(Query::NearestMmr {
                nearest: input_from_proto(nearest)?,
                mmr,
            })
        }
        Some(Q::RelevanceFeedback(r)) => {
            let target = r.target.ok_or_else(|| invalid("target is missing"))?;
            let feedback = r
                .feedback
                .into_iter()
                .map(|f| {
                    let example = f
                        .example
                        .ok_or_else(|| invalid("feedback example is missing"))?;
                    Ok(FeedbackItem {
                        example: input_from_proto(example)?,
                        score: f.score,
                    })
                })
                .collect::<Result<Vec<_>, Status>>()?;
            let strategy = r.strategy.ok_or_else(|| invalid("strategy is missing"))?;
            let strategy = match strategy.variant {
                Some(pb::feedback_strategy::Variant::Naive(n)) => NaiveFeedback {
                    a: n.a,
                    b: n.b,
                    c: n.c,
                },
                None => return Err(invalid("strategy is empty")),
            };
            strategy.validate().map_err(|(field, msg)| {
                validation(&format!("relevance_feedback.strategy.naive.{field}"), msg)
            })?;
            Ok(Query::RelevanceFeedback {
                target: input_from_proto(target)?,
                feedback,
                strategy,
            })
        }
        Some(Q::Text(t)) => {
            let bm25 = match t.scoring {
                Some(pb::text_query::Scoring::Bm25(p)) => {
                    vicinity::Bm25::with(p.k.map(f64::from), p.b.map(f64::from))
                }
                None => vicinity::Bm25::default(),
            };
            Ok(Query::Text {
                query: t.query,
                bm25,
            })
        }
        None => Err(invalid("query is empty")),
    }
}

/// `lookup_from`: where example ids are looked up.
pub fn lookup_from_proto(l: Option<pb::LookupLocation>) -> Option<LookupFrom> {
    l.map(|l| LookupFrom {
        collection: l.collection_name,
        vector: l.vector_name,
    })
}

/// `with_lookup`: the payload unless the request says otherwise, no
/// vectors, as Qdrant's gRPC defaults.
pub fn with_lookup_from_proto(l: Option<pb::WithLookup>) -> Result<Option<WithLookup>, Status> {
    let Some(l) = l else { return Ok(None) };
    Ok(Some(WithLookup {
        collection: l.collection,
        with: WithSelectors {
            payload: payload_selector(l.with_payload, true)?,
            vectors: vector_selector(l.with_vectors),
        },
    }))
}

/// A wire prefetch as the engine's (its limit defaults to 10).
pub fn prefetch_from_proto(p: pb::PrefetchQuery) -> Result<Prefetch, Status> {
    Ok(Prefetch {
        prefetch: p
            .prefetch
            .into_iter()
            .map(prefetch_from_proto)
            .collect::<Result<_, _>>()?,
        query: p.query.map(query_from_proto).transpose()?,
        using: p
            .using
            .unwrap_or_else(|| vicinity::DEFAULT_VECTOR.to_string()),
        filter: p.filter.map(filter_from_proto).transpose()?,
        params: params_from_proto(p.params)?,
        score_threshold: p.score_threshold,
        limit: to_usize(p.limit.unwrap_or(DEFAULT_LIMIT), "prefetch.limit")?,
        lookup_from: lookup_from_proto(p.lookup_from),
    })
}

/// The fields every query-like request shares.
struct Common {
    prefetch: Vec<pb::PrefetchQuery>,
    query: Option<Query>,
    using: Option<String>,
    filter: Option<pb::Filter>,
    params: Option<pb::SearchParams>,
    score_threshold: Option<f32>,
    limit: u64,
    offset: u64,
    with_payload: Option<pb::WithPayloadSelector>,
    with_vectors: Option<pb::WithVectorsSelector>,
    lookup_from: Option<pb::LookupLocation>,
}

impl Common {
    fn into_request(self) -> Result<QueryRequest, Status> {
        Ok(QueryRequest {
            prefetch: self
                .prefetch
                .into_iter()
                .map(prefetch_from_proto)
                .collect::<Result<_, _>>()?,
            query: self.query,
            using: self
                .using
                .unwrap_or_else(|| vicinity::DEFAULT_VECTOR.to_string()),
            filter: self.filter.map(filter_from_proto).transpose()?,
            params: params_from_proto(self.params)?,
            score_threshold: self.score_threshold,
            limit: to_usize(self.limit, "limit")?,
            offset: to_usize(self.offset, "offset")?,
            with: WithSelectors {
                payload: payload_selector(self.with_payload, false)?,
                vectors: vector_selector(self.with_vectors),
            },
            lookup_from: lookup_from_proto(self.lookup_from),
        })
    }
}

/// `Query`: the whole universal query.
pub fn query(r: pb::QueryPoints) -> Result<QueryRequest, Status> {
    Common {
        prefetch: r.prefetch,
        query: r.query.map(query_from_proto).transpose()?,
        using: r.using,
        filter: r.filter,
        params: r.params,
        score_threshold: r.score_threshold,
        limit: r.limit.unwrap_or(DEFAULT_LIMIT),
        offset: r.offset.unwrap_or(0),
        with_payload: r.with_payload,
        with_vectors: r.with_vectors,
        lookup_from: r.lookup_from,
    }
    .into_request()
}

fn groups(
    query: QueryRequest,
    group_by: &str,
    limit: u64,
    group_size: u64,
    with_lookup: Option<pb::WithLookup>,
) -> Result<QueryGroupsRequest, Status> {
    if group_by.is_empty() {
        return Err(validation("group_by", "must not be empty"));
    }
    Ok(QueryGroupsRequest {
        query,
        group_by: path(group_by)?,
        limit: to_usize(limit, "limit")?,
        group_size: to_usize(group_size, "group_size")?,
        with_lookup: with_lookup_from_proto(with_lookup)?,
    })
}

/// `QueryGroups` (3 groups of 10 unless the request says otherwise).
pub fn query_groups(r: pb::QueryPointGroups) -> Result<QueryGroupsRequest, Status> {
    let q = Common {
        prefetch: r.prefetch,
        query: r.query.map(query_from_proto).transpose()?,
        using: r.using,
        filter: r.filter,
        params: r.params,
        score_threshold: r.score_threshold,
        limit: DEFAULT_LIMIT,
        offset: 0,
        with_payload: r.with_payload,
        with_vectors: r.with_vectors,
        lookup_from: r.lookup_from,
    }
    .into_request()?;
    groups(
        q,
        &r.group_by,
        r.limit.unwrap_or(3),
        r.group_size.unwrap_or(10),
        r.with_lookup,
    )
}

/// `SearchGroups`.
pub fn search_groups(r: pb::SearchPointGroups) -> Result<QueryGroupsRequest, Status> {
    if r.sparse_indices.is_some() {
        return Err(unsupported(
            "sparse vectors in the older Search and SearchGroups calls (Query serves them)",
        ));
    }
    let q = Common {
        prefetch: Vec::new(),
        query: Some(Query::Nearest(VectorInput::Vector(r.vector))),
        using: r.vector_name,
        filter: r.filter,
        params: r.params,
        score_threshold: r.score_threshold,
        limit: DEFAULT_LIMIT,
        offset: 0,
        with_payload: r.with_payload,
        with_vectors: r.with_vectors,
        lookup_from: None,
    }
    .into_request()?;
    groups(
        q,
        &r.group_by,
        u64::from(r.limit),
        u64::from(r.group_size),
        r.with_lookup,
    )
}

fn recommend_query(
    positive: Vec<pb::PointId>,
    negative: Vec<pb::PointId>,
    positive_vectors: Vec<pb::Vector>,
    negative_vectors: Vec<pb::Vector>,
    strategy: Option<i32>,
) -> Result<Query, Status> {
    let examples = |ids: Vec<pb::PointId>, vectors: Vec<pb::Vector>| {
        ids.into_iter()
            .map(|id| Ok(VectorInput::Id(id_from_proto(id)?)))
            .chain(
                vectors
                    .into_iter()
                    .map(|v| Ok(VectorInput::Vector(dense_from_proto(v)?))),
            )
            .collect::<Result<Vec<_>, Status>>()
    };
    Ok(Query::Recommend {
        positive: examples(positive, positive_vectors)?,
        negative: examples(negative, negative_vectors)?,
        strategy: strategy_from_proto(strategy)?,
    })
}

/// `RecommendGroups`.
pub fn recommend_groups(r: pb::RecommendPointGroups) -> Result<QueryGroupsRequest, Status> {
    let q = Common {
        prefetch: Vec::new(),
        query: Some(recommend_query(
            r.positive,
            r.negative,
            r.positive_vectors,
            r.negative_vectors,
            r.strategy,
        )?),
        using: r.using,
        filter: r.filter,
        params: r.params,
        score_threshold: r.score_threshold,
        limit: DEFAULT_LIMIT,
        offset: 0,
        with_payload: r.with_payload,
        with_vectors: r.with_vectors,
        lookup_from: r.lookup_from,
    }
    .into_request()?;
    groups(
        q,
        &r.group_by,
        u64::from(r.limit),
        u64::from(r.group_size),
        r.with_lookup,
    )
}

/// `Recommend`: ids, then vectors, as examples.
pub fn recommend(r: pb::RecommendPoints) -> Result<QueryRequest, Status> {
    Common {
        prefetch: Vec::new(),
        query: Some(recommend_query(
            r.positive,
            r.negative,
            r.positive_vectors,
            r.negative_vectors,
            r.strategy,
        )?),
        using: r.using,
        filter: r.filter,
        params: r.params,
        score_threshold: r.score_threshold,
        limit: r.limit,
        offset: r.offset.unwrap_or(0),
        with_payload: r.with_payload,
        with_vectors: r.with_vectors,
        lookup_from: r.lookup_from,
    }
    .into_request()
}

/// `Discover`: a target and context pairs, or (no target) only the
/// context.
pub fn discover(r: pb::DiscoverPoints) -> Result<QueryRequest, Status> {
    use pb::target_vector::Target;
    let context = r
        .context
        .into_iter()
        .map(|p| {
            Ok(ContextPair {
                positive: example_from_proto(p.positive, "context positive")?,
                negative: example_from_proto(p.negative, "context negative")?,
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    let query = match r.target.and_then(|t| t.target) {
        Some(Target::Single(e)) => Query::Discover {
            target: example_from_proto(Some(e), "target")?,
            context,
        },
        None => Query::Context(context),
    };
    Common {
        prefetch: Vec::new(),
        query: Some(query),
        using: r.using,
        filter: r.filter,
        params: r.params,
        score_threshold: None,
        limit: r.limit,
        offset: r.offset.unwrap_or(0),
        with_payload: r.with_payload,
        with_vectors: r.with_vectors,
        lookup_from: r.lookup_from,
    }
    .into_request()
}

/// `SearchMatrixPairs` / `SearchMatrixOffsets`: 10 samples of 3
/// neighbours unless the request says otherwise; Qdrant's validation
/// (sample at least 2, limit at least 1).
pub fn search_matrix(r: pb::SearchMatrixPoints) -> Result<SearchMatrixRequest, Status> {
    let mut req = SearchMatrixRequest::default();
    if let Some(sample) = r.sample {
        if sample < 2 {
            return Err(validation(
                "sample",
                format!("value {sample} invalid, must be 2 or more"),
            ));
        }
        req.sample = to_usize(sample, "sample")?;
    }
    if let Some(limit) = r.limit {
        if limit < 1 {
            return Err(validation(
                "limit",
                format!("value {limit} invalid, must be 1 or more"),
            ));
        }
        req.limit = to_usize(limit, "limit")?;
    }
    if let Some(using) = r.using {
        req.using = using;
    }
    req.filter = r.filter.map(filter_from_proto).transpose()?;
    Ok(req)
}

/// A sampled matrix as pairs.
pub fn matrix_pairs_to_proto(m: &vicinity::SearchMatrix) -> pb::SearchMatrixPairs {
    pb::SearchMatrixPairs {
        pairs: m
            .pairs()
            .into_iter()
            .map(|p| pb::SearchMatrixPair {
                a: Some(id_to_proto(p.a)),
                b: Some(id_to_proto(p.b)),
                score: p.score,
            })
            .collect(),
    }
}

/// A sampled matrix in coordinate form.
pub fn matrix_offsets_to_proto(m: &vicinity::SearchMatrix) -> pb::SearchMatrixOffsets {
    let o = m.offsets();
    pb::SearchMatrixOffsets {
        offsets_row: o.offsets_row,
        offsets_col: o.offsets_col,
        scores: o.scores,
        ids: o.ids.into_iter().map(id_to_proto).collect(),
    }
}

/// A group id on the wire: non-negative integers as `unsigned_value`,
/// negative ones as `integer_value`, strings as `string_value`, as Qdrant
/// sends them.
pub fn group_id_to_proto(id: GroupId) -> pb::GroupId {
    use pb::group_id::Kind;
    pb::GroupId {
        kind: Some(match id {
            GroupId::Keyword(s) => Kind::StringValue(s),
            GroupId::Integer(i) => match u64::try_from(i) {
                Ok(u) => Kind::UnsignedValue(u),
                Err(_) => Kind::IntegerValue(i),
            },
        }),
    }
}

/// Groups on the wire.
pub fn groups_to_proto(groups: Vec<PointGroup>) -> pb::GroupsResult {
    pb::GroupsResult {
        groups: groups
            .into_iter()
            .map(|g| pb::PointGroup {
                id: Some(group_id_to_proto(g.id)),
                hits: g.hits.into_iter().map(scored_to_proto).collect(),
                lookup: g.lookup.map(record_to_proto),
            })
            .collect(),
    }
}
