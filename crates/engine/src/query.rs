//! The universal query: nearest, recommend, discover, context, order_by,
//! random sample and fusion, over the collection or over the results of
//! nested prefetches; and grouping by a payload key.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::Value;
use vicinity_index::{
    Distance, Metric, Nearest, PointFilter, ScoredOffset, Scorer, VectorStore, with_store_metric,
};
use vicinity_payload::filter::IndexSource;
use vicinity_payload::{Bm25, FieldType, Filter, JsonPath, PointId};
use vicinity_storage::PointOffset;

use crate::collection::bad_limit;
use crate::collection::{validate_sparse, wrong_sparse};
use crate::formula::{Formula, PointContext};
use crate::lookup::{LookupFrom, WithLookup};
use crate::mmr::Mmr;
use crate::segment::{Segment, SparseColumn};
use crate::{
    Collection, DEFAULT_VECTOR, Error, OrderBy, Result, ScoredPoint, ScrollRequest, SearchParams,
    SparseVector, WithSelectors,
};

/// A vector given inline, or the vector of a stored point.
#[derive(Clone, Debug, PartialEq)]
pub enum VectorInput {
    /// A vector.
    Vector(Vec<f32>),
    /// A sparse vector (for a sparse vector name).
    Sparse(SparseVector),
    /// A multivector (for a name with `multivector_config`), scored by
    /// MaxSim.
    Multi(Vec<Vec<f32>>),
    /// The vector (of the query's `using` name) of a stored point; such a
    /// point never comes back as a result.
    Id(PointId),
}

impl From<Vec<f32>> for VectorInput {
    fn from(v: Vec<f32>) -> Self {
        VectorInput::Vector(v)
    }
}

impl From<SparseVector> for VectorInput {
    fn from(v: SparseVector) -> Self {
        VectorInput::Sparse(v)
    }
}

impl From<PointId> for VectorInput {
    fn from(id: PointId) -> Self {
        VectorInput::Id(id)
    }
}

/// How recommend combines its examples, as Qdrant names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecommendStrategy {
    /// Search with `avg(positive) + (avg(positive) - avg(negative))`.
    #[default]
    AverageVector,
    /// Per point: the best positive similarity if it beats the best
    /// negative one, else minus the best negative one, both through
    /// Qdrant's scaled sigmoid.
    BestScore,
    /// Per point: the sum of positive similarities minus the sum of
    /// negative ones.
    SumScores,
}

/// A positive and a negative example (discover and context queries).
#[derive(Clone, Debug, PartialEq)]
pub struct ContextPair {
    /// Towards this.
    pub positive: VectorInput,
    /// Away from this.
    pub negative: VectorInput,
}

/// An example judged for relevance feedback.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackItem {
    /// The example: a vector or a stored point (which then never comes
    /// back as a result).
    pub example: VectorInput,
    /// How relevant a judge (a larger model, a user) found it.
    pub score: f32,
}

/// Qdrant's naive feedback strategy: a point scores
/// `a · sim(target) + Σ (Δscore)^b · c · (sim(better) − sim(worse))` over
/// every ordered pair of examples whose judged scores differ by more than
/// zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NaiveFeedback {
    /// The weight of the target's similarity.
    pub a: f32,
    /// The exponent of a pair's score difference (at least 0).
    pub b: f32,
    /// The weight of the pairs.
    pub c: f32,
}

impl NaiveFeedback {
    /// Qdrant's bound: `b` at least 0. On failure: the field and Qdrant's
    /// message.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        if self.b.is_nan() || self.b < 0.0 {
            return Err((
                "b",
                format!("value {} invalid, must be 0.0 or larger", self.b),
            ));
        }
        Ok(())
    }

    /// The ordered pairs `(better, worse, weight)` of the examples, in
    /// Qdrant's order (every ordered pair, the first index outer).
    fn pairs(&self, scores: &[f32]) -> Vec<(usize, usize, f32)> {
        let mut out = Vec::new();
        for (i, &si) in scores.iter().enumerate() {
            for (j, &sj) in scores.iter().enumerate() {
                let confidence = si - sj;
                if i != j && confidence > 0.0 {
                    out.push((i, j, confidence.powf(self.b) * self.c));
                }
            }
        }
        out
    }
}

/// How prefetch results are fused.
#[derive(Clone, Debug, PartialEq)]
pub enum Fusion {
    /// Reciprocal rank fusion: `Σ 1 / ((rank + 1) / weight + k - 1)`,
    /// ranks from 0 (`1 / (k + rank)` at weight 1), as Qdrant computes it.
    Rrf {
        /// The constant `k` (Qdrant's default: 2).
        k: usize,
        /// A weight per prefetch (default 1 each).
        weights: Option<Vec<f32>>,
    },
    /// Distribution-based score fusion: each list's scores (as users see
    /// them) normalised by mean ± 3 sample standard deviations (not
    /// clamped), then summed.
    Dbsf,
}

/// What a query ranks by.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// The nearest points to a vector or a stored point.
    Nearest(VectorInput),
    /// The nearest `candidates_limit` points, then picked for diversity by
    /// maximal marginal relevance (see [`Mmr`]); they come back in the
    /// order picked, with their nearest-search scores, as in Qdrant.
    NearestMmr {
        /// The query vector or point.
        nearest: VectorInput,
        /// The trade between relevance and diversity.
        mmr: Mmr,
    },
    /// More like the positives, less like the negatives.
    Recommend {
        /// Examples to get closer to.
        positive: Vec<VectorInput>,
        /// Examples to move away from.
        negative: Vec<VectorInput>,
        /// How they combine.
        strategy: RecommendStrategy,
    },
    /// Close to the target, within the space the context pairs allow.
    Discover {
        /// The target.
        target: VectorInput,
        /// The context.
        context: Vec<ContextPair>,
    },
    /// Only the context pairs: points on the positive side of every pair.
    Context(Vec<ContextPair>),
    /// Relevance feedback: the target, corrected by judged examples
    /// (see [`NaiveFeedback`]).
    RelevanceFeedback {
        /// What the user searched for.
        target: VectorInput,
        /// Examples with judged scores.
        feedback: Vec<FeedbackItem>,
        /// The formula's coefficients.
        strategy: NaiveFeedback,
    },
    /// By a payload value (needs a range index).
    OrderBy(OrderBy),
    /// Fuse the prefetches' results.
    Fusion(Fusion),
    /// Rescore the union of the prefetches' results with a formula over
    /// their scores and payloads, best first.
    Formula(Formula),
    /// BM25 over the text index (with `scoring`) of the payload key that
    /// the level's `using` names: points holding any of the query's
    /// tokens, statistics over every point holding a token.
    Text {
        /// The query text, tokenized by the index's tokenizer.
        query: String,
        /// BM25's `k1` and `b`.
        bm25: Bm25,
    },
    /// A random sample of the points.
    Sample,
}

/// A sub-query whose results the parent query ranks or fuses.
#[derive(Clone, Debug, PartialEq)]
pub struct Prefetch {
    /// Nested prefetches.
    pub prefetch: Vec<Prefetch>,
    /// What this level ranks by; needed when this level has prefetches
    /// of its own, as in Qdrant.
    pub query: Option<Query>,
    /// The vector name.
    pub using: String,
    /// Only points passing this filter.
    pub filter: Option<Filter>,
    /// Search parameters.
    pub params: SearchParams,
    /// Only scores strictly better than this.
    pub score_threshold: Option<f32>,
    /// How many results this level passes up.
    pub limit: usize,
    /// Where this level's example ids are looked up (`None`: this
    /// collection and `using`).
    pub lookup_from: Option<LookupFrom>,
}

impl Prefetch {
    /// A prefetch of `limit` results for `query`.
    pub fn new(query: Query, limit: usize) -> Self {
        Prefetch {
            prefetch: Vec::new(),
            query: Some(query),
            using: DEFAULT_VECTOR.to_string(),
            filter: None,
            params: SearchParams::default(),
            score_threshold: None,
            limit,
            lookup_from: None,
        }
    }
}

/// A universal query: Qdrant's `Query` request.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryRequest {
    /// Sub-queries whose results this one ranks or fuses.
    pub prefetch: Vec<Prefetch>,
    /// What to rank by (`None` and no prefetch: points in id order).
    pub query: Option<Query>,
    /// The vector name.
    pub using: String,
    /// Only points passing this filter (also applied to every prefetch).
    pub filter: Option<Filter>,
    /// Search parameters.
    pub params: SearchParams,
    /// Only scores strictly better than this.
    pub score_threshold: Option<f32>,
    /// How many results, at least 1 (Qdrant's default: 10).
    pub limit: usize,
    /// How many of the best to skip first.
    pub offset: usize,
    /// What each hit carries.
    pub with: WithSelectors,
    /// Where the top level's example ids are looked up (`None`: this
    /// collection and `using`). Another collection's ids are resolved by
    /// [`Database::query`](crate::Database::query); they are not excluded
    /// from the results, as in Qdrant.
    pub lookup_from: Option<LookupFrom>,
}

impl QueryRequest {
    /// `limit` results for `query`.
    pub fn new(query: Query, limit: usize) -> Self {
        QueryRequest {
            prefetch: Vec::new(),
            query: Some(query),
            using: DEFAULT_VECTOR.to_string(),
            filter: None,
            params: SearchParams::default(),
            score_threshold: None,
            limit,
            offset: 0,
            with: WithSelectors::default(),
            lookup_from: None,
        }
    }
}

/// The value points are grouped by: a string or an integer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupId {
    /// A string value.
    Keyword(String),
    /// An integer value.
    Integer(i64),
}

/// A group of hits.
#[derive(Clone, Debug, PartialEq)]
pub struct PointGroup {
    /// The value the group shares.
    pub id: GroupId,
    /// Its best hits, best first.
    pub hits: Vec<ScoredPoint>,
    /// The point of `with_lookup` whose id is the group id, if asked for.
    pub lookup: Option<crate::Record>,
}

/// A query grouped by a payload key: the best `group_size` hits of each of
/// the best `limit` groups.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryGroupsRequest {
    /// The query (its `limit` and `offset` are ignored).
    pub query: QueryRequest,
    /// The key; a point with several values joins every group.
    pub group_by: JsonPath,
    /// Groups, at least 1.
    pub limit: usize,
    /// Hits per group, at least 1.
    pub group_size: usize,
    /// Also fetch, per group, the point whose id is the group id from this
    /// (or, through [`Database::query_groups`](crate::Database::query_groups),
    /// another) collection.
    pub with_lookup: Option<WithLookup>,
}

/// Qdrant's sigmoid, scaled to `(0, 1)`: `0.5 · (x / (1 + |x|) + 1)`.
fn scaled_fast_sigmoid(x: f32) -> f32 {
    0.5 * (x / (1.0 + x.abs()) + 1.0)
}

/// Scores for the multi-vector queries; `M` is the metric of the vector
/// space, examples preprocessed. Every similarity takes the example first,
/// the point second: MaxSim over multivectors sums over its first
/// argument's vectors, and Qdrant scores an example as a query.
struct Examples<M> {
    positive: Vec<Vec<f32>>,
    negative: Vec<Vec<f32>>,
    _m: std::marker::PhantomData<M>,
}

struct BestScore<M>(Examples<M>);
struct SumScores<M>(Examples<M>);

impl<M: Metric> Scorer for BestScore<M> {
    fn score(&self, v: &[f32]) -> f32 {
        let best = |xs: &[Vec<f32>]| {
            xs.iter()
                .map(|x| M::similarity(x, v))
                .fold(f32::NEG_INFINITY, f32::max)
        };
        best_score(best(&self.0.positive), best(&self.0.negative))
    }
}

impl<M: Metric> Scorer for SumScores<M> {
    fn score(&self, v: &[f32]) -> f32 {
        let sum = |xs: &[Vec<f32>]| xs.iter().map(|x| M::similarity(x, v)).sum::<f32>();
        sum(&self.0.positive) - sum(&self.0.negative)
    }
}

struct Pairs<M> {
    target: Option<Vec<f32>>,
    pairs: Vec<(Vec<f32>, Vec<f32>)>,
    _m: std::marker::PhantomData<M>,
}

impl<M: Metric> Scorer for Pairs<M> {
    fn score(&self, v: &[f32]) -> f32 {
        let sims = self
            .pairs
            .iter()
            .map(|(p, n)| (M::similarity(p, v), M::similarity(n, v)));
        match &self.target {
            // discover: the number of pairs whose positive side the point is
            // on (minus the others), plus the scaled target similarity
            Some(t) => pair_rank(sims) as f32 + scaled_fast_sigmoid(M::similarity(t, v)),
            // context: a loss, 0 when on the positive side of every pair
            None => context_loss(sims),
        }
    }
}

/// Relevance feedback over dense vectors.
struct Feedback<M>(FeedbackPlan<Vec<f32>>, std::marker::PhantomData<M>);

impl<M: Metric> Scorer for Feedback<M> {
    fn score(&self, v: &[f32]) -> f32 {
        self.0.score(|x| M::similarity(x, v))
    }
}

/// Relevance feedback with its examples once each and the pairs as
/// indices into them: n examples make up to n² pairs, which must not copy
/// the vectors, and each example's similarity is computed once per point.
#[derive(Clone)]
struct FeedbackPlan<T> {
    a: f32,
    target: T,
    examples: Vec<T>,
    /// `(better, worse, weight)`.
    pairs: Vec<(usize, usize, f32)>,
}

impl<T> FeedbackPlan<T> {
    /// The plan of a feedback query, its target and examples turned into
    /// vectors by `resolve` (dense or sparse), after Qdrant's check.
    fn resolve(
        target: &VectorInput,
        feedback: &[FeedbackItem],
        strategy: &NaiveFeedback,
        mut resolve: impl FnMut(&VectorInput) -> Result<T>,
    ) -> Result<Self> {
        validate_feedback(strategy)?;
        let target = resolve(target)?;
        let examples = feedback
            .iter()
            .map(|f| resolve(&f.example))
            .collect::<Result<Vec<_>>>()?;
        let scores: Vec<f32> = feedback.iter().map(|f| f.score).collect();
        Ok(FeedbackPlan {
            a: strategy.a,
            target,
            examples,
            pairs: strategy.pairs(&scores),
        })
    }

    /// `a · sim(target) + Σ weight · (sim(better) − sim(worse))`, summed in
    /// Qdrant's pair order.
    fn score(&self, sim: impl Fn(&T) -> f32) -> f32 {
        const STACK: usize = 16;
        let mut small = [0.0f32; STACK];
        let mut large = Vec::new();
        let sims: &mut [f32] = if self.examples.len() <= STACK {
            &mut small[..self.examples.len()]
        } else {
            large.resize(self.examples.len(), 0.0);
            &mut large
        };
        for (s, x) in sims.iter_mut().zip(&self.examples) {
            *s = sim(x);
        }
        let mut score = self.a * sim(&self.target);
        for &(p, n, w) in &self.pairs {
            score += w * (sims[p] - sims[n]);
        }
        score
    }

    fn map<U>(self, f: impl Fn(T) -> U) -> FeedbackPlan<U> {
        FeedbackPlan {
            a: self.a,
            target: f(self.target),
            examples: self.examples.into_iter().map(f).collect(),
            pairs: self.pairs,
        }
    }
}

/// A query's examples turned into vectors, and the rows to leave out.
struct Resolved<'a> {
    exclude: Vec<PointOffset>,
    /// Where example ids are looked up: this collection, possibly another
    /// vector name.
    lookup: Option<&'a LookupFrom>,
}

impl<'a> Resolved<'a> {
    fn vector(
        &mut self,
        c: &Collection,
        seg: &Segment,
        using: &str,
        input: &VectorInput,
    ) -> Result<Vec<f32>> {
        let (_, column) = seg.column(using)?;
        let prepare = |v: &[f32]| {
            column
                .store
                .prepare_query(v)
                .map_err(|e| Error::for_vector(using, e))
        };
        match input {
            VectorInput::Vector(v) => prepare(v),
            VectorInput::Multi(m) => column
                .store
                .prepare_multi_query(m.iter().map(Vec::as_slice))
                .map_err(|e| Error::for_vector(using, e)),
            VectorInput::Sparse(_) => Err(wrong_sparse()),
            VectorInput::Id(id) => {
                let source = self.source(c, using)?;
                let (src_idx, src_column) = seg.column(source)?;
                let row = self.example_row(seg, id)?;
                if !seg.has_vector(src_idx, row) {
                    return Err(crate::lookup::missing_vector(id, source));
                }
                let stored = src_column.store.get(row).unwrap_or_default();
                if source == using {
                    return Ok(stored.to_vec());
                }
                // another vector space: its values, checked against this
                // one's dimensions and prepared for it
                let values = src_column.store.decode(stored);
                if src_column.store.is_multi() {
                    column
                        .store
                        .prepare_multi_query(vicinity_index::multi::vectors(&values))
                        .map_err(|e| Error::for_vector(using, e))
                } else {
                    prepare(&values)
                }
            }
        }
    }

    /// The vector name example ids are read from (`lookup_from`'s, else
    /// `using`); a `lookup_from` naming another collection is for
    /// `Database::query`.
    fn source<'n>(&self, c: &Collection, using: &'n str) -> Result<&'n str>
    where
        'a: 'n,
    {
        if let Some(l) = self.lookup
            && l.collection != c.name()
        {
            return Err(Error::BadRequest(format!(
                "lookup_from collection `{}` is not this collection: run the query through Database::query",
                l.collection
            )));
        }
        Ok(self
            .lookup
            .and_then(|l| l.vector.as_deref())
            .unwrap_or(using))
    }

    /// The row of an example point, which the results then leave out.
    fn example_row(&mut self, seg: &Segment, id: &PointId) -> Result<PointOffset> {
        let table = seg.table.read();
        let row = *table.ids.get(id).ok_or(Error::PointNotFound { id: *id })?;
        self.exclude.push(row);
        Ok(row)
    }

    /// A sparse query vector, sorted: given, or a stored point's.
    fn sparse(
        &mut self,
        c: &Collection,
        seg: &Segment,
        using: &str,
        input: &VectorInput,
    ) -> Result<SparseVector> {
        match input {
            VectorInput::Sparse(v) => {
                validate_sparse(using, v)?;
                Ok(v.sorted())
            }
            VectorInput::Vector(_) | VectorInput::Multi(_) => Err(wrong_sparse()),
            VectorInput::Id(id) => {
                let source = self.source(c, using)?;
                let column = seg.sparse_column(source).ok_or_else(|| {
                    if c.has_vector_name(source) {
                        wrong_sparse()
                    } else {
                        Error::UnknownVector {
                            name: source.to_string(),
                        }
                    }
                })?;
                let row = self.example_row(seg, id)?;
                column
                    .get(row)
                    .ok_or_else(|| crate::lookup::missing_vector(id, source))
            }
        }
    }

    fn vectors(
        &mut self,
        c: &Collection,
        seg: &Segment,
        using: &str,
        inputs: &[VectorInput],
    ) -> Result<Vec<Vec<f32>>> {
        inputs
            .iter()
            .map(|i| self.vector(c, seg, using, i))
            .collect()
    }
}

/// One ranked level: rows with internal scores, and how to show them.
struct Ranked {
    hits: Vec<ScoredOffset>,
    /// Whether scores are similarities to convert with the distance
    /// (nearest, average vector) or final as they are.
    distance_scale: bool,
    /// How a score threshold cuts scores that are not distances.
    cut: Cut,
}

/// How a `score_threshold` applies to scores that are not distances, as
/// Qdrant applies it at each stage.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// `score > threshold` (the vector queries' own scores).
    Strict,
    /// `score >= threshold` (fusion and formula rescoring).
    Inclusive,
    /// Not applied (a random sample: every score is 0).
    Ignored,
}

impl Ranked {
    /// Drops the hits a `score_threshold` cuts, as Qdrant applies it to
    /// this kind of score (`distance`: the level's, asked only for
    /// distance-scaled scores).
    fn apply_threshold(
        &mut self,
        t: f32,
        distance: impl FnOnce() -> Result<Distance>,
    ) -> Result<()> {
        if self.distance_scale {
            let d = distance()?;
            self.hits
                .retain(|h| d.passes_threshold(d.score(h.similarity), t));
        } else {
            let cut = self.cut;
            self.hits.retain(|h| cut.passes(h.similarity, t));
        }
        Ok(())
    }
}

impl Cut {
    fn passes(self, score: f32, threshold: f32) -> bool {
        match self {
            Cut::Strict => score > threshold,
            Cut::Inclusive => score >= threshold,
            Cut::Ignored => true,
        }
    }
}

fn average(vs: &[Cow<'_, [f32]>]) -> Option<Vec<f32>> {
    let first = vs.first()?;
    let mut out = vec![0.0f32; first.len()];
    for v in vs {
        for (o, x) in out.iter_mut().zip(v.iter()) {
            *o += x;
        }
    }
    let n = vs.len() as f32;
    out.iter_mut().for_each(|o| *o /= n);
    Some(out)
}

/// The query of `average_vector` recommendations, from prepared examples,
/// as Qdrant makes it: over the examples' values (decoded from the
/// store's type), `2 * mean(positive) - mean(negative)` (the positive mean
/// alone without negatives), prepared for the store again. For
/// multivectors, the positives' vectors together with the negatives'
/// negated: MaxSim then rewards what matches a positive and penalises
/// what matches a negative. `None` without positives.
fn average_query(
    store: &VectorStore,
    using: &str,
    pos: &[Vec<f32>],
    neg: &[Vec<f32>],
) -> Result<Option<Vec<f32>>> {
    if pos.is_empty() {
        return Ok(None);
    }
    let pos: Vec<Cow<'_, [f32]>> = pos.iter().map(|v| store.decode(v)).collect();
    let neg: Vec<Cow<'_, [f32]>> = neg.iter().map(|v| store.decode(v)).collect();
    if store.is_multi() {
        use vicinity_index::multi::vectors;
        let negated: Vec<Vec<f32>> = neg
            .iter()
            .flat_map(|m| vectors(m).map(|v| v.iter().map(|x| -x).collect::<Vec<f32>>()))
            .collect();
        let matrix = pos
            .iter()
            .flat_map(|m| vectors(m))
            .chain(negated.iter().map(Vec::as_slice))
            .collect::<Vec<&[f32]>>();
        return store
            .prepare_multi_query(matrix.into_iter())
            .map(Some)
            .map_err(|e| Error::for_vector(using, e));
    }
    let Some(avg_pos) = average(&pos) else {
        return Ok(None);
    };
    let v: Vec<f32> = match average(&neg) {
        Some(avg_neg) => avg_pos
            .iter()
            .zip(&avg_neg)
            .map(|(p, n)| p + p - n)
            .collect(),
        None => avg_pos,
    };
    store
        .prepare_query(&v)
        .map(Some)
        .map_err(|e| Error::for_vector(using, e))
}

impl Collection {
    /// Runs a universal query.
    pub fn query(&self, req: &QueryRequest) -> Result<Vec<ScoredPoint>> {
        if req.limit == 0 {
            return Err(bad_limit("limit"));
        }
        self.validate_selectors(&req.with)?;
        validate_level(
            &req.prefetch,
            req.query.as_ref(),
            &req.using,
            req.score_threshold,
        )?;
        let segment = self.segment();
        let level = Level {
            prefetch: &req.prefetch,
            query: req.query.as_ref(),
            using: &req.using,
            filter: req.filter.as_ref(),
            params: &req.params,
            lookup_from: req.lookup_from.as_ref(),
            limit: req
                .limit
                .checked_add(req.offset)
                .ok_or_else(|| Error::BadRequest("limit + offset is too large".into()))?,
            request_limit: req.limit,
            score_threshold: req.score_threshold,
        };
        if req.query.is_none() && req.prefetch.is_empty() {
            // No query: points in id order, score 0, as Qdrant.
            let mut scroll = ScrollRequest {
                limit: level.limit,
                filter: req.filter.clone(),
                with: req.with.clone(),
                ..ScrollRequest::default()
            };
            scroll.offset = None;
            let page = self.scroll(&scroll)?;
            return Ok(page
                .points
                .into_iter()
                .skip(req.offset)
                .map(|r| ScoredPoint {
                    id: r.id,
                    version: 0,
                    score: 0.0,
                    payload: r.payload,
                    vectors: r.vectors,
                })
                .collect());
        }
        let ranked = self.run_level(&segment, &level, req.filter.as_ref())?;
        let (scale, cut) = (ranked.distance_scale, ranked.cut);
        // a fusion, an order or a sample has no vector name to score by
        let distance = if scale {
            self.distance_of(&req.using)?
        } else {
            Distance::Dot
        };
        let threshold = req.score_threshold;
        Ok(self.finish(
            &segment,
            ranked.hits,
            |s| if scale { distance.score(s) } else { s },
            |score| match threshold {
                None => true,
                Some(t) if scale => distance.passes_threshold(score, t),
                Some(t) => cut.passes(score, t),
            },
            req.offset,
            req.limit,
            &req.with,
        ))
    }

    fn distance_of(&self, using: &str) -> Result<Distance> {
        let config = self.config();
        match config.vectors.get(using) {
            Some(p) => Ok(p.distance),
            // sparse scores are dot products
            None if config.sparse_vectors.contains_key(using) => Ok(Distance::Dot),
            None => Err(Error::UnknownVector {
                name: using.to_string(),
            }),
        }
    }

    /// Ranks one level: its prefetches first, then its query over their
    /// union (or over the collection when there are none).
    fn run_level(
        &self,
        seg: &Segment,
        level: &Level<'_>,
        outer_filter: Option<&Filter>,
    ) -> Result<Ranked> {
        let filter = merge_filters(level.filter, outer_filter);
        let candidates: Option<Vec<Ranked>> = if level.prefetch.is_empty() {
            None
        } else {
            let mut lists = Vec::with_capacity(level.prefetch.len());
            for p in level.prefetch {
                if p.limit == 0 {
                    return Err(bad_limit("prefetch.limit"));
                }
                let sub = Level {
                    prefetch: &p.prefetch,
                    query: p.query.as_ref(),
                    using: &p.using,
                    filter: p.filter.as_ref(),
                    params: &p.params,
                    limit: p.limit,
                    request_limit: p.limit,
                    score_threshold: p.score_threshold,
                    lookup_from: p.lookup_from.as_ref(),
                };
                let mut ranked = self.run_level(seg, &sub, filter.as_ref())?;
                if let Some(t) = p.score_threshold {
                    ranked.apply_threshold(t, || self.distance_of(&p.using))?;
                }
                // fusion reads the scores users see (a Euclid distance as
                // it is, larger taken as better, as Qdrant does)
                if ranked.distance_scale {
                    let distance = self.distance_of(&p.using)?;
                    for h in &mut ranked.hits {
                        h.similarity = distance.score(h.similarity);
                    }
                    ranked.distance_scale = false;
                }
                lists.push(ranked);
            }
            Some(lists)
        };
        let k = level.limit;
        match (level.query, candidates) {
            (None, Some(_)) => Err(prefetch_without_query()),
            (None, None) => Err(Error::BadRequest("a prefetch needs a `query`".into())),
            (Some(Query::Fusion(f)), Some(lists)) => Ok(Ranked {
                hits: fuse(f, &lists, k)?,
                distance_scale: false,
                cut: Cut::Inclusive,
            }),
            (Some(Query::Fusion(_)), None) => Err(Error::BadRequest(
                "Validation failed: cannot apply Fusion without prefetches".into(),
            )),
            (Some(Query::Formula(f)), Some(lists)) => Ok(Ranked {
                hits: self.rank_formula(seg, f, &lists, k)?,
                distance_scale: false,
                cut: Cut::Inclusive,
            }),
            (Some(Query::Formula(_)), None) => Err(Error::BadRequest(
                "Validation failed: cannot apply Formula without prefetches".into(),
            )),
            (Some(q), lists) => {
                let within: Option<Vec<PointOffset>> = lists.map(|ls| {
                    let mut rows: Vec<PointOffset> = ls
                        .iter()
                        .flat_map(|l| l.hits.iter().map(|h| h.offset))
                        .collect();
                    rows.sort_unstable();
                    rows.dedup();
                    rows
                });
                self.rank_query(seg, level, q, filter.as_ref(), within, k)
            }
        }
    }

    /// Ranks by one query over the collection, or only over `within`.
    fn rank_query(
        &self,
        seg: &Segment,
        level: &Level<'_>,
        q: &Query,
        filter: Option<&Filter>,
        within: Option<Vec<PointOffset>>,
        k: usize,
    ) -> Result<Ranked> {
        let using = level.using;
        match q {
            Query::OrderBy(order) => return self.rank_ordered(seg, order, filter, within, k),
            Query::Sample => return Ok(self.rank_sample(seg, filter, within, k)),
            Query::NearestMmr { nearest, mmr } => {
                return self.rank_mmr(seg, level, nearest, mmr, filter, within, k);
            }
            Query::Text { query, bm25 } => {
                let corpus = level.params.idf_corpus.is_some();
                return self.rank_text(seg, using, query, *bm25, corpus, filter, within, k);
            }
            _ => {}
        }
        let mut r = Resolved {
            exclude: Vec::new(),
            lookup: level.lookup_from,
        };
        if let Some(column) = seg.sparse_column(using) {
            return self.rank_sparse(seg, level, column, &mut r, q, filter, within, k);
        }
        let (_, column) = seg.column(using)?;
        // Vectors first: a missing example id is an error before any work.
        enum Plan {
            Nearest(Vec<f32>),
            Best(Vec<Vec<f32>>, Vec<Vec<f32>>),
            Sum(Vec<Vec<f32>>, Vec<Vec<f32>>),
            Pairs(Option<Vec<f32>>, Vec<(Vec<f32>, Vec<f32>)>),
            Feedback(FeedbackPlan<Vec<f32>>),
        }
        let plan = match q {
            Query::Nearest(v) => Plan::Nearest(r.vector(self, seg, using, v)?),
            Query::Recommend {
                positive,
                negative,
                strategy,
            } => {
                let pos = r.vectors(self, seg, using, positive)?;
                let neg = r.vectors(self, seg, using, negative)?;
                match strategy {
                    RecommendStrategy::AverageVector => {
                        let v =
                            average_query(&column.store, using, &pos, &neg)?.ok_or_else(|| {
                                Error::BadRequest(
                                "recommend with average_vector needs at least one positive example"
                                    .into(),
                            )
                            })?;
                        Plan::Nearest(v)
                    }
                    _ if pos.is_empty() && neg.is_empty() => {
                        return Err(Error::BadRequest(
                            "recommend needs at least one example".into(),
                        ));
                    }
                    RecommendStrategy::BestScore => Plan::Best(pos, neg),
                    RecommendStrategy::SumScores => Plan::Sum(pos, neg),
                }
            }
            Query::Discover { target, context } => {
                let t = r.vector(self, seg, using, target)?;
                let pairs = self.pairs(&mut r, seg, using, context)?;
                Plan::Pairs(Some(t), pairs)
            }
            Query::Context(context) => {
                if context.is_empty() {
                    return Err(Error::BadRequest(
                        "a context query needs at least one pair".into(),
                    ));
                }
                Plan::Pairs(None, self.pairs(&mut r, seg, using, context)?)
            }
            Query::RelevanceFeedback {
                target,
                feedback,
                strategy,
            } => Plan::Feedback(FeedbackPlan::resolve(target, feedback, strategy, |v| {
                r.vector(self, seg, using, v)
            })?),
            Query::OrderBy(_) | Query::Sample | Query::NearestMmr { .. } | Query::Text { .. } => {
                unreachable!("ranked above")
            }
            Query::Fusion(_) | Query::Formula(_) => unreachable!("handled by the caller"),
        };
        let exclude = r.exclude;
        let params = level.params;
        let store: &VectorStore = &column.store;
        let go = |scorer: &dyn ScorerDyn| -> Result<Vec<ScoredOffset>> {
            scorer.rank(
                self,
                seg,
                using,
                store,
                k,
                params,
                filter,
                &exclude,
                within.as_deref(),
            )
        };
        let distance_scale = matches!(plan, Plan::Nearest(_));
        let hits = with_store_metric!(store, M => match &plan {
            Plan::Nearest(v) => go(&Nearest::<M>::new(v))?,
            Plan::Best(p, n) => go(&BestScore::<M>(Examples { positive: p.clone(), negative: n.clone(), _m: Default::default() }))?,
            Plan::Sum(p, n) => go(&SumScores::<M>(Examples { positive: p.clone(), negative: n.clone(), _m: Default::default() }))?,
            Plan::Pairs(t, pairs) => go(&Pairs::<M> { target: t.clone(), pairs: pairs.clone(), _m: Default::default() })?,
            Plan::Feedback(f) => go(&Feedback::<M>(f.clone(), Default::default()))?,
        });
        Ok(Ranked {
            hits,
            distance_scale,
            cut: Cut::Strict,
        })
    }

    /// Ranks by a query over a sparse vector: the dot product over shared
    /// indices (query weights times IDF with `modifier: idf`), through the
    /// posting lists, or one row at a time for small candidate sets
    /// (prefetch results, a filter passing fewer rows than the index's
    /// `full_scan_threshold`, `exact`).
    #[allow(clippy::too_many_arguments)]
    fn rank_sparse(
        &self,
        seg: &Segment,
        level: &Level<'_>,
        column: &SparseColumn,
        r: &mut Resolved<'_>,
        q: &Query,
        filter: Option<&Filter>,
        within: Option<Vec<PointOffset>>,
        k: usize,
    ) -> Result<Ranked> {
        let using = level.using;
        let mut resolve = |v: &VectorInput| r.sparse(self, seg, using, v);
        // Examples first (a missing id is an error before any work); an
        // average of examples is a nearest query, the other kinds score
        // every candidate row (Qdrant never takes the index for them)
        let plan = match q {
            Query::Nearest(v) => SparsePlan::Nearest(resolve(v)?),
            Query::Recommend {
                positive,
                negative,
                strategy,
            } => {
                let pos = positive
                    .iter()
                    .map(&mut resolve)
                    .collect::<Result<Vec<_>>>()?;
                let neg = negative
                    .iter()
                    .map(&mut resolve)
                    .collect::<Result<Vec<_>>>()?;
                match strategy {
                    RecommendStrategy::AverageVector => {
                        if pos.is_empty() {
                            return Err(Error::BadRequest(
                                "recommend with average_vector needs at least one positive example"
                                    .into(),
                            ));
                        }
                        let avg_pos = sparse_average(&pos);
                        SparsePlan::Nearest(if neg.is_empty() {
                            avg_pos
                        } else {
                            sparse_combine(&avg_pos, &sparse_average(&neg), |p, n| p + p - n)
                        })
                    }
                    _ if pos.is_empty() && neg.is_empty() => {
                        return Err(Error::BadRequest(
                            "recommend needs at least one example".into(),
                        ));
                    }
                    RecommendStrategy::BestScore => SparsePlan::Best(pos, neg),
                    RecommendStrategy::SumScores => SparsePlan::Sum(pos, neg),
                }
            }
            Query::Discover { target, context } => {
                let t = resolve(target)?;
                let pairs = context
                    .iter()
                    .map(|p| Ok((resolve(&p.positive)?, resolve(&p.negative)?)))
                    .collect::<Result<Vec<_>>>()?;
                SparsePlan::Pairs(Some(t), pairs)
            }
            Query::Context(context) => {
                if context.is_empty() {
                    return Err(Error::BadRequest(
                        "a context query needs at least one pair".into(),
                    ));
                }
                let pairs = context
                    .iter()
                    .map(|p| Ok((resolve(&p.positive)?, resolve(&p.negative)?)))
                    .collect::<Result<Vec<_>>>()?;
                SparsePlan::Pairs(None, pairs)
            }
            Query::RelevanceFeedback {
                target,
                feedback,
                strategy,
            } => SparsePlan::Feedback(FeedbackPlan::resolve(
                target,
                feedback,
                strategy,
                &mut resolve,
            )?),
            Query::OrderBy(_)
            | Query::Sample
            | Query::Fusion(_)
            | Query::Formula(_)
            | Query::Text { .. }
            | Query::NearestMmr { .. } => {
                unreachable!("ranked by the caller")
            }
        };
        let distance_scale = matches!(plan, SparsePlan::Nearest(_));
        if let SparsePlan::Nearest(v) = &plan
            && v.indices.is_empty()
        {
            // an empty query finds nothing
            return Ok(Ranked {
                hits: Vec::new(),
                distance_scale,
                cut: Cut::Strict,
            });
        }
        // the table before the index: the writer takes them in that order
        let corpus = level.params.idf_corpus.as_ref();
        let table = (filter.is_some() || corpus.is_some()).then(|| seg.table.read());
        let plan_rows = filter.zip(table.as_ref()).map(|(f, t)| t.plan(seg, f));
        let corpus_rows = corpus.zip(table.as_ref()).map(|(f, t)| t.plan(seg, f));
        let searchable = seg.searchable_rows(&column.absent);
        let exclude = &r.exclude;
        let check = FnFilter(|row: PointOffset| {
            searchable.check(row)
                && !exclude.contains(&row)
                && plan_rows.as_ref().is_none_or(|p| p.check(row))
        });
        let index = column.index.read();
        // query weights times IDF, with `modifier: idf`: over the live
        // points holding the vector, or only those in the corpus filter
        let weigh = |v: SparseVector| {
            if !column.params.idf() {
                return v;
            }
            let values = match &corpus_rows {
                None => index.idf_weighted(&v.indices, &v.values),
                Some(p) => index.idf_weighted_within(&v.indices, &v.values, |row| p.check(row)),
            };
            SparseVector::new(v.indices, values)
        };
        let small = plan_rows.as_ref().and_then(|p| {
            p.candidates
                .rows
                .as_ref()
                .filter(|rows| (rows.len() as usize) < column.params.full_scan_threshold())
        });
        // the rows to score one by one: the prefetches' results, a small
        // filter's rows, or all
        let candidates = || -> Box<dyn Iterator<Item = PointOffset> + '_> {
            match (&within, small) {
                (Some(rows), _) => Box::new(rows.iter().copied()),
                (None, Some(rows)) => Box::new(rows.iter().map(PointOffset)),
                (None, None) => Box::new((0..seg.row_count() as u32).map(PointOffset)),
            }
        };
        let hits = match plan {
            SparsePlan::Nearest(v) => {
                let v = weigh(v);
                let (qi, qv) = (&v.indices, &v.values);
                if within.is_some() || small.is_some() || level.params.exact {
                    index.score_rows(qi, qv, candidates(), k, &check)
                } else {
                    index.search(qi, qv, k, &check)
                }
            }
            other => {
                let scorer = other.weighed(weigh);
                let mut top = vicinity_index::TopK::new(k);
                for row in candidates() {
                    if !check.check(row) {
                        continue;
                    }
                    if let Some((ri, rv)) = index.get(row) {
                        top.push(ScoredOffset {
                            offset: row,
                            similarity: scorer.score(ri, rv),
                        });
                    }
                }
                top.into_sorted_vec()
            }
        };
        Ok(Ranked {
            hits,
            distance_scale,
            cut: Cut::Strict,
        })
    }

    /// A text query: BM25 over the text index of `field` (it needs
    /// `scoring`), among the rows the filter and `within` let through.
    #[allow(clippy::too_many_arguments)]
    fn rank_text(
        &self,
        seg: &Segment,
        field: &str,
        query: &str,
        bm25: Bm25,
        corpus: bool,
        filter: Option<&Filter>,
        within: Option<Vec<PointOffset>>,
        k: usize,
    ) -> Result<Ranked> {
        if bm25.k1.is_nan() || bm25.k1 < 0.0 {
            return Err(Error::BadRequest(format!(
                "BM25 k value {} is invalid. Must be 0.0 or larger.",
                bm25.k1
            )));
        }
        if !(0.0..=1.0).contains(&bm25.b) {
            return Err(Error::BadRequest(format!(
                "BM25 b value {} is invalid. Must be from 0.0 to 1.0.",
                bm25.b
            )));
        }
        let needs_index = || {
            Error::BadRequest(format!(
                "A text query needs a text index with `scoring` on `{field}`"
            ))
        };
        if corpus {
            return Err(Error::BadRequest(
                "IDF corpus filters are not supported for text queries yet".into(),
            ));
        }
        let key: JsonPath = field.parse().map_err(|_| needs_index())?;
        let table = seg.table.read();
        let index = table
            .index(&key)
            .filter(|i| i.params().field_type == FieldType::Text && i.params().scoring)
            .ok_or_else(needs_index)?;
        let plan = filter.map(|f| table.plan(seg, f));
        let accept = |row: u32| {
            let row = PointOffset(row);
            table.live(row).is_some()
                && within
                    .as_ref()
                    .is_none_or(|w| w.binary_search(&row).is_ok())
                && plan.as_ref().is_none_or(|p| p.check(row))
        };
        let mut top = vicinity_index::TopK::new(k);
        for (row, score) in index.bm25(query, bm25, accept) {
            top.push(ScoredOffset {
                offset: PointOffset(row),
                similarity: score,
            });
        }
        Ok(Ranked {
            hits: top.into_sorted_vec(),
            distance_scale: false,
            cut: Cut::Strict,
        })
    }

    /// Formula rescoring: every row of the prefetches' results (each
    /// once), scored by the formula with its score in each prefetch; the
    /// first error (a missing variable, a non-finite value) fails the
    /// query, as in Qdrant.
    fn rank_formula(
        &self,
        seg: &Segment,
        formula: &Formula,
        lists: &[Ranked],
        k: usize,
    ) -> Result<Vec<ScoredOffset>> {
        let compiled = formula.compile()?;
        let per_list: Vec<HashMap<PointOffset, f32>> = lists
            .iter()
            .map(|l| l.hits.iter().map(|h| (h.offset, h.similarity)).collect())
            .collect();
        let mut rows: Vec<PointOffset> = lists
            .iter()
            .flat_map(|l| l.hits.iter().map(|h| h.offset))
            .collect();
        rows.sort_unstable();
        rows.dedup();
        let table = seg.table.read();
        let plans: Vec<_> = compiled
            .conditions
            .iter()
            .map(|f| table.plan(seg, f))
            .collect();
        let mut top = vicinity_index::TopK::new(k);
        let mut scores = vec![None; per_list.len()];
        for row in rows {
            let Some(meta) = table.live(row) else {
                continue;
            };
            for (s, l) in scores.iter_mut().zip(&per_list) {
                *s = l.get(&row).copied();
            }
            let check = |i: usize| plans[i].check(row);
            let score = compiled.score(&PointContext {
                payload: meta.payload.as_map(),
                scores: &scores,
                condition: &check,
            })?;
            top.push(ScoredOffset {
                offset: row,
                similarity: score,
            });
        }
        Ok(top.into_sorted_vec())
    }

    /// MMR: the nearest `candidates_limit` rows (the level's score
    /// threshold applied), then `k` of them picked by maximal marginal
    /// relevance over the raw similarities of the stored vectors (sparse:
    /// the plain dot product, without IDF, as Qdrant's MMR scores them).
    #[allow(clippy::too_many_arguments)]
    fn rank_mmr(
        &self,
        seg: &Segment,
        level: &Level<'_>,
        nearest: &VectorInput,
        mmr: &Mmr,
        filter: Option<&Filter>,
        within: Option<Vec<PointOffset>>,
        k: usize,
    ) -> Result<Ranked> {
        validate_mmr(mmr)?;
        let using = level.using;
        let candidates_limit = mmr.candidates_limit.unwrap_or(level.request_limit);
        let mut ranked = if candidates_limit == 0 {
            Ranked {
                hits: Vec::new(),
                distance_scale: true,
                cut: Cut::Strict,
            }
        } else {
            let q = Query::Nearest(nearest.clone());
            self.rank_query(seg, level, &q, filter, within, candidates_limit)?
        };
        if let Some(t) = level.score_threshold {
            ranked.apply_threshold(t, || self.distance_of(using))?;
        }
        let hits = std::mem::take(&mut ranked.hits);
        let mut r = Resolved {
            exclude: Vec::new(),
            lookup: level.lookup_from,
        };
        let lambda = mmr.lambda();
        ranked.hits = if let Some(column) = seg.sparse_column(using) {
            let query = r.sparse(self, seg, using, nearest)?;
            let rows: Vec<SparseVector> = hits
                .iter()
                .map(|h| column.get(h.offset).unwrap_or_default())
                .collect();
            // indices ascending on both sides; no shared index counts 0
            let dot = |a: &SparseVector, b: &SparseVector| a.dot(b).unwrap_or(0.0);
            let relevance: Vec<f32> = rows.iter().map(|v| dot(&query, v)).collect();
            crate::mmr::select(hits, &relevance, |i, j| dot(&rows[i], &rows[j]), lambda, k)
        } else {
            let query = r.vector(self, seg, using, nearest)?;
            let (_, column) = seg.column(using)?;
            let store = &column.store;
            let rows: Vec<&[f32]> = hits
                .iter()
                .map(|h| store.get(h.offset).unwrap_or_default())
                .collect();
            let relevance: Vec<f32> = rows.iter().map(|v| store.similarity(&query, v)).collect();
            crate::mmr::select(
                hits,
                &relevance,
                |i, j| store.similarity(rows[i], rows[j]),
                lambda,
                k,
            )
        };
        Ok(ranked)
    }

    fn pairs(
        &self,
        r: &mut Resolved<'_>,
        seg: &Segment,
        using: &str,
        context: &[ContextPair],
    ) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
        context
            .iter()
            .map(|p| {
                Ok((
                    r.vector(self, seg, using, &p.positive)?,
                    r.vector(self, seg, using, &p.negative)?,
                ))
            })
            .collect()
    }

    fn rank_ordered(
        &self,
        seg: &Segment,
        order: &OrderBy,
        filter: Option<&Filter>,
        within: Option<Vec<PointOffset>>,
        k: usize,
    ) -> Result<Ranked> {
        let req = ScrollRequest {
            limit: usize::MAX / 2,
            filter: filter.cloned(),
            order_by: Some(order.clone()),
            ..ScrollRequest::default()
        };
        let page = self.scroll(&req)?;
        let table = seg.table.read();
        let within: Option<HashSet<PointOffset>> = within.map(|w| w.into_iter().collect());
        let hits = page
            .points
            .into_iter()
            .filter_map(|r| {
                let row = *table.ids.get(&r.id)?;
                if within.as_ref().is_some_and(|w| !w.contains(&row)) {
                    return None;
                }
                Some(ScoredOffset {
                    offset: row,
                    similarity: r.order_value.map_or(0.0, |v| v.as_f64() as f32),
                })
            })
            .take(k)
            .collect();
        Ok(Ranked {
            hits,
            distance_scale: false,
            cut: Cut::Strict,
        })
    }

    fn rank_sample(
        &self,
        seg: &Segment,
        filter: Option<&Filter>,
        within: Option<Vec<PointOffset>>,
        k: usize,
    ) -> Ranked {
        let table = seg.table.read();
        let mut rows: Vec<PointOffset> = match within {
            Some(w) => w,
            None => table.matching(seg, filter).map(|(_, r)| r).collect(),
        };
        // A shuffle keyed by a per-call seed: a fresh sample each time.
        let seed = crate::matrix::fresh_seed();
        rows.sort_by_key(|&r| crate::matrix::shuffle_key(seed, r));
        rows.truncate(k);
        Ranked {
            hits: rows
                .into_iter()
                .map(|offset| ScoredOffset {
                    offset,
                    similarity: 0.0,
                })
                .collect(),
            distance_scale: false,
            cut: Cut::Ignored,
        }
    }

    /// A grouped query: the best `group_size` hits of the best `limit`
    /// groups of the key's values (strings and integers; a point with
    /// several values joins each group). A `with_lookup` must name this
    /// collection; [`Database::query_groups`](crate::Database::query_groups)
    /// takes any.
    pub fn query_groups(&self, req: &QueryGroupsRequest) -> Result<Vec<PointGroup>> {
        if req.limit == 0 {
            return Err(bad_limit("limit"));
        }
        if req.group_size == 0 {
            return Err(bad_limit("group_size"));
        }
        let total = self.count().max(1);
        let mut fetch = req
            .limit
            .saturating_mul(req.group_size)
            .saturating_mul(4)
            .max(16);
        loop {
            let mut q = req.query.clone();
            q.limit = fetch.min(total);
            q.offset = 0;
            let hits = self.query(&q)?;
            let segment = self.segment();
            let table = segment.table.read();
            let mut order: Vec<GroupId> = Vec::new();
            let mut groups: HashMap<GroupId, Vec<ScoredPoint>> = HashMap::new();
            for h in &hits {
                let Some(&row) = table.ids.get(&h.id) else {
                    continue;
                };
                let payload = table.rows[row.index()].payload.as_map();
                let mut seen = HashSet::new();
                for v in req.group_by.values(payload) {
                    let id = match v {
                        Value::String(s) => GroupId::Keyword(s.clone()),
                        Value::Number(n) => match n.as_i64() {
                            Some(i) => GroupId::Integer(i),
                            None => continue,
                        },
                        _ => continue,
                    };
                    if !seen.insert(id.clone()) {
                        continue;
                    }
                    let known = groups.contains_key(&id);
                    if !known && order.len() >= req.limit {
                        continue;
                    }
                    let g = groups.entry(id.clone()).or_default();
                    if !known {
                        order.push(id);
                    }
                    if g.len() < req.group_size {
                        g.push(h.clone());
                    }
                }
            }
            let full =
                order.len() >= req.limit && order.iter().all(|g| groups[g].len() >= req.group_size);
            if full || hits.len() < q.limit || q.limit >= total {
                drop(table);
                let mut out: Vec<PointGroup> = order
                    .into_iter()
                    .map(|id| {
                        let hits = groups.remove(&id).unwrap_or_default();
                        PointGroup {
                            id,
                            hits,
                            lookup: None,
                        }
                    })
                    .collect();
                if let Some(l) = &req.with_lookup {
                    if l.collection != self.name() {
                        return Err(Error::BadRequest(format!(
                            "with_lookup collection `{}` is not this collection: run the query through Database::query_groups",
                            l.collection
                        )));
                    }
                    self.fill_lookups(&mut out, &l.with)?;
                }
                return Ok(out);
            }
            fetch = fetch.saturating_mul(4);
        }
    }
}

/// One level of a query tree, borrowed.
struct Level<'a> {
    prefetch: &'a [Prefetch],
    query: Option<&'a Query>,
    using: &'a str,
    filter: Option<&'a Filter>,
    params: &'a SearchParams,
    limit: usize,
    /// The limit the user asked for (without `offset`): MMR's default
    /// candidate count.
    request_limit: usize,
    /// Applied to MMR's candidates before it picks (the caller applies
    /// it to the results of every other kind).
    score_threshold: Option<f32>,
    lookup_from: Option<&'a LookupFrom>,
}

fn prefetch_without_query() -> Error {
    Error::BadRequest(
        "A query is needed to merge the prefetches. Can't have prefetches without defining a query."
            .into(),
    )
}

/// Qdrant's checks of one level of a query tree, then of its prefetches:
/// prefetches need a query to merge them, `score_threshold` needs a query
/// that scores (not order_by), and fusion takes no `using`.
fn validate_level(
    prefetch: &[Prefetch],
    query: Option<&Query>,
    using: &str,
    score_threshold: Option<f32>,
) -> Result<()> {
    if !prefetch.is_empty() && query.is_none() {
        return Err(prefetch_without_query());
    }
    if score_threshold.is_some() {
        match query {
            Some(Query::OrderBy(_)) => {
                return Err(Error::BadRequest(
                    "Can't use score_threshold with an order_by query.".into(),
                ));
            }
            None => {
                return Err(Error::BadRequest(
                    "A query is needed to use the score_threshold. Can't have score_threshold without defining a query.".into(),
                ));
            }
            Some(_) => {}
        }
    }
    if matches!(query, Some(Query::Fusion(_))) && using != DEFAULT_VECTOR {
        return Err(Error::BadRequest(
            "Fusion queries cannot be combined with the 'using' field.".into(),
        ));
    }
    for p in prefetch {
        validate_level(&p.prefetch, p.query.as_ref(), &p.using, p.score_threshold)?;
    }
    Ok(())
}

/// Qdrant's bound on the naive feedback strategy.
fn validate_feedback(f: &NaiveFeedback) -> Result<()> {
    f.validate()
        .map_err(|(field, msg)| Error::BadRequest(format!("strategy.naive.{field}: {msg}")))
}

/// Qdrant's bounds on MMR's parameters.
fn validate_mmr(mmr: &Mmr) -> Result<()> {
    mmr.validate()
        .map_err(|(field, msg)| Error::BadRequest(format!("mmr.{field}: {msg}")))
}

/// `a AND b`.
fn merge_filters(a: Option<&Filter>, b: Option<&Filter>) -> Option<Filter> {
    match (a, b) {
        (None, None) => None,
        (Some(f), None) | (None, Some(f)) => Some(f.clone()),
        (Some(a), Some(b)) => Some(Filter {
            must: vec![
                vicinity_payload::Condition::Filter(Box::new(a.clone())),
                vicinity_payload::Condition::Filter(Box::new(b.clone())),
            ],
            ..Filter::default()
        }),
    }
}

/// Fuses ranked lists into the best `k`.
fn fuse(f: &Fusion, lists: &[Ranked], k: usize) -> Result<Vec<ScoredOffset>> {
    let mut score: HashMap<PointOffset, f32> = HashMap::new();
    match f {
        Fusion::Rrf { k: rrf_k, weights } => {
            if let Some(w) = weights
                && w.len() != lists.len()
            {
                return Err(Error::BadRequest(format!(
                    "Validation failed: Number of weights in RRF should match number of pre-fetches: got {}, expected {}",
                    w.len(),
                    lists.len()
                )));
            }
            for (i, l) in lists.iter().enumerate() {
                let w = weights.as_ref().map_or(1.0, |w| w[i]);
                // Qdrant's `position_score`: a weight stretches the ranks,
                // `1 / ((rank + 1) / w + k - 1)`; a weight of 0 or less
                // adds nothing
                if w <= 0.0 {
                    continue;
                }
                for (rank, h) in l.hits.iter().enumerate() {
                    *score.entry(h.offset).or_default() +=
                        1.0 / ((rank + 1) as f32 / w + *rrf_k as f32 - 1.0);
                }
            }
        }
        Fusion::Dbsf => {
            // Qdrant's `distr_norm`: each list by its mean ± 3 sample
            // standard deviations (Welford's one pass, in f32), not clamped
            // to [0, 1]; one hit scores 0.5
            for l in lists {
                let n = l.hits.len();
                if n == 1 {
                    *score.entry(l.hits[0].offset).or_default() += 0.5;
                    continue;
                }
                let (mut mean, mut aggregate) = (0.0f32, 0.0f32);
                for (h, k) in l.hits.iter().zip(1u32..) {
                    let old_delta = h.similarity - mean;
                    mean += old_delta / k as f32;
                    aggregate += old_delta * (h.similarity - mean);
                }
                let sd = (aggregate / (n as f32 - 1.0)).sqrt();
                let (lo, hi) = (mean - 3.0 * sd, mean + 3.0 * sd);
                for h in &l.hits {
                    let x = if lo == hi {
                        0.5
                    } else {
                        (h.similarity - lo) / (hi - lo)
                    };
                    *score.entry(h.offset).or_default() += x;
                }
            }
        }
    }
    let mut out: Vec<ScoredOffset> = score
        .into_iter()
        .map(|(offset, similarity)| ScoredOffset { offset, similarity })
        .collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.truncate(k);
    Ok(out)
}

/// A scorer behind a trait object with one generic ranking entry, so the
/// query code can pick the scorer at run time and still rank with a
/// monomorphised loop.
trait ScorerDyn {
    #[allow(clippy::too_many_arguments)]
    fn rank(
        &self,
        c: &Collection,
        seg: &Segment,
        using: &str,
        store: &VectorStore,
        k: usize,
        params: &SearchParams,
        filter: Option<&Filter>,
        exclude: &[PointOffset],
        within: Option<&[PointOffset]>,
    ) -> Result<Vec<ScoredOffset>>;
}

impl<S: Scorer> ScorerDyn for S {
    fn rank(
        &self,
        c: &Collection,
        seg: &Segment,
        using: &str,
        store: &VectorStore,
        k: usize,
        params: &SearchParams,
        filter: Option<&Filter>,
        exclude: &[PointOffset],
        within: Option<&[PointOffset]>,
    ) -> Result<Vec<ScoredOffset>> {
        match within {
            None => c.rank(seg, using, self, k, params, filter, exclude),
            Some(rows) => {
                // Rescoring prefetch results: exact over them.
                let (_, column) = seg.column(using)?;
                let searchable = seg.searchable(column);
                let table = seg.table.read();
                let plan = filter.map(|f| table.plan(seg, f));
                let check = |row: PointOffset| {
                    vicinity_index::PointFilter::check(&searchable, row)
                        && !exclude.contains(&row)
                        && plan.as_ref().is_none_or(|p| p.check(row))
                };
                Ok(vicinity_index::exact_search_scored(
                    store,
                    self,
                    k,
                    &check,
                    rows.iter().copied(),
                ))
            }
        }
    }
}

/// A closure as a [`PointFilter`](vicinity_index::PointFilter).
struct FnFilter<F>(F);

impl<F: Fn(PointOffset) -> bool + Sync> PointFilter for FnFilter<F> {
    fn check(&self, row: PointOffset) -> bool {
        (self.0)(row)
    }
}

/// What a query over a sparse vector ranks by (examples sorted).
enum SparsePlan {
    Nearest(SparseVector),
    Best(Vec<SparseVector>, Vec<SparseVector>),
    Sum(Vec<SparseVector>, Vec<SparseVector>),
    Pairs(Option<SparseVector>, Vec<(SparseVector, SparseVector)>),
    Feedback(FeedbackPlan<SparseVector>),
}

impl SparsePlan {
    /// The same plan with every example's weights passed through `f`.
    fn weighed(self, f: impl Fn(SparseVector) -> SparseVector) -> SparsePlan {
        let all = |vs: Vec<SparseVector>| vs.into_iter().map(&f).collect();
        match self {
            SparsePlan::Nearest(v) => SparsePlan::Nearest(f(v)),
            SparsePlan::Best(p, n) => SparsePlan::Best(all(p), all(n)),
            SparsePlan::Sum(p, n) => SparsePlan::Sum(all(p), all(n)),
            SparsePlan::Pairs(t, pairs) => SparsePlan::Pairs(
                t.map(&f),
                pairs.into_iter().map(|(p, n)| (f(p), f(n))).collect(),
            ),
            SparsePlan::Feedback(plan) => SparsePlan::Feedback(plan.map(&f)),
        }
    }

    /// The score of a row's vector, as Qdrant scores the example queries:
    /// an example that shares no index with the row counts as 0.
    fn score(&self, ri: &[u32], rv: &[f32]) -> f32 {
        let sim = |x: &SparseVector| {
            vicinity_index::sparse::dot(&x.indices, &x.values, ri, rv).unwrap_or(0.0)
        };
        match self {
            SparsePlan::Nearest(v) => sim(v),
            SparsePlan::Best(pos, neg) => {
                let best =
                    |xs: &[SparseVector]| xs.iter().map(sim).fold(f32::NEG_INFINITY, f32::max);
                best_score(best(pos), best(neg))
            }
            SparsePlan::Sum(pos, neg) => {
                pos.iter().map(sim).sum::<f32>() - neg.iter().map(sim).sum::<f32>()
            }
            SparsePlan::Pairs(Some(t), pairs) => {
                pair_rank(pairs.iter().map(|(p, n)| (sim(p), sim(n)))) as f32
                    + scaled_fast_sigmoid(sim(t))
            }
            SparsePlan::Pairs(None, pairs) => {
                context_loss(pairs.iter().map(|(p, n)| (sim(p), sim(n))))
            }
            SparsePlan::Feedback(plan) => plan.score(sim),
        }
    }
}

/// Recommend's best_score: the best positive similarity through the
/// scaled sigmoid if it beats the best negative one, else minus the best
/// negative one's.
fn best_score(p: f32, n: f32) -> f32 {
    if p > n {
        scaled_fast_sigmoid(p)
    } else {
        -scaled_fast_sigmoid(n)
    }
}

/// Discovery's rank: per pair +1 closer to the positive, -1 closer to
/// the negative, 0 when equal (`total_cmp`, as Qdrant).
fn pair_rank(sims: impl Iterator<Item = (f32, f32)>) -> i32 {
    sims.map(|(p, n)| p.total_cmp(&n) as i32).sum()
}

/// The context query's loss: 0 on the positive side of every pair.
fn context_loss(sims: impl Iterator<Item = (f32, f32)>) -> f32 {
    sims.map(|(p, n)| {
        let x = (p - n - f32::EPSILON).min(0.0);
        x / (1.0 + x.abs())
    })
    .sum()
}

/// Two sparse vectors (indices ascending) merged index by index with `op`
/// (an index missing from one side counts 0 there).
fn sparse_combine(
    a: &SparseVector,
    b: &SparseVector,
    op: impl Fn(f32, f32) -> f32,
) -> SparseVector {
    let (mut i, mut j) = (0, 0);
    let mut out = SparseVector::default();
    while i < a.indices.len() || j < b.indices.len() {
        let (index, x, y) = match (a.indices.get(i), b.indices.get(j)) {
            (Some(&ai), Some(&bj)) if ai == bj => {
                i += 1;
                j += 1;
                (ai, a.values[i - 1], b.values[j - 1])
            }
            (Some(&ai), Some(&bj)) if ai < bj => {
                i += 1;
                (ai, a.values[i - 1], 0.0)
            }
            (Some(&ai), None) => {
                i += 1;
                (ai, a.values[i - 1], 0.0)
            }
            (_, Some(&bj)) => {
                j += 1;
                (bj, 0.0, b.values[j - 1])
            }
            (None, None) => unreachable!("the loop stops first"),
        };
        out.indices.push(index);
        out.values.push(op(x, y));
    }
    out
}

/// The mean of sparse vectors, index by index.
fn sparse_average(vs: &[SparseVector]) -> SparseVector {
    let mut sum = vs.iter().fold(SparseVector::default(), |acc, v| {
        sparse_combine(&acc, v, |x, y| x + y)
    });
    let n = vs.len() as f32;
    sum.values.iter_mut().for_each(|x| *x /= n);
    sum
}
