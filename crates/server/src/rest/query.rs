//! The universal query and the older search, recommend and discover
//! endpoints (each a universal query in the engine), groups and the
//! distance matrix.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State as Shared};
use serde_json::json;
use vicinity::{QueryGroupsRequest, QueryRequest};

use crate::ops::QueryPlan;
use crate::rest::models::{
    DiscoverBatchBody, DiscoverBody, MatrixBody, QueryBatchBody, QueryBody, QueryGroupsBody,
    ReadParams, RecommendBatchBody, RecommendBody, RecommendGroupsBody, SearchBatchBody,
    SearchBody, SearchGroupsBody,
};
use crate::rest::output;
use crate::rest::{Body, Params, RestError, RestResult, blocking, ok};
use crate::state::State;
use crate::strict::{self, Read};

type S = Shared<Arc<State>>;

/// Qdrant's defaults for `query/groups`: 10 groups of 3.
const GROUPS_LIMIT: usize = 10;
const GROUP_SIZE: usize = 3;

async fn run_batch(
    state: Arc<State>,
    name: String,
    requests: Vec<QueryRequest>,
    batch: bool,
    timeout: Option<u64>,
) -> Result<Vec<Vec<output::ScoredOut>>, RestError> {
    blocking(move || {
        let c = state.collection(&name)?;
        let reads: Vec<Read<'_>> = requests.iter().map(Read::Query).collect();
        strict::check_reads(&state.strict, &c, &reads, batch, timeout)?;
        requests
            .into_iter()
            .map(|r| Ok(output::hits(QueryPlan::Query(r).run(&state.db, &c)?)))
            .collect()
    })
    .await
}

async fn run_one(
    state: Arc<State>,
    name: String,
    request: QueryRequest,
    timeout: Option<u64>,
) -> RestResult {
    let t = Instant::now();
    let mut out = run_batch(state, name, vec![request], false, timeout).await?;
    ok(t, out.pop().unwrap_or_default())
}

async fn run_groups(
    state: Arc<State>,
    name: String,
    request: QueryGroupsRequest,
    timeout: Option<u64>,
) -> RestResult {
    let t = Instant::now();
    let groups = blocking(move || {
        let c = state.collection(&name)?;
        strict::check_reads(&state.strict, &c, &[Read::Groups(&request)], false, timeout)?;
        Ok(state.db.query_groups(&name, &request)?)
    })
    .await?;
    ok(t, output::groups(groups))
}

/// `POST /collections/{name}/points/query`: `{"points": [...]}`.
pub(super) async fn query(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<QueryBody>,
) -> RestResult {
    let t = Instant::now();
    let req = body.into_request()?;
    let mut out = run_batch(state, name, vec![req], false, p.timeout).await?;
    ok(t, json!({ "points": out.pop().unwrap_or_default() }))
}

/// `POST /collections/{name}/points/query/batch`.
pub(super) async fn query_batch(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<QueryBatchBody>,
) -> RestResult {
    let t = Instant::now();
    let reqs = body
        .searches
        .into_iter()
        .map(QueryBody::into_request)
        .collect::<Result<Vec<_>, _>>()?;
    let out = run_batch(state, name, reqs, true, p.timeout).await?;
    let out: Vec<_> = out.into_iter().map(|p| json!({ "points": p })).collect();
    ok(t, out)
}

/// `POST /collections/{name}/points/query/groups`.
pub(super) async fn query_groups(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(mut body): Body<QueryGroupsBody>,
) -> RestResult {
    let limit = body.query.limit.take();
    let q = body.query.into_request()?;
    let req = body.groups.wrap(q, limit, GROUPS_LIMIT, GROUP_SIZE)?;
    run_groups(state, name, req, p.timeout).await
}

/// `POST /collections/{name}/points/search`.
pub(super) async fn search(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<SearchBody>,
) -> RestResult {
    run_one(state, name, body.into_request(false)?, p.timeout).await
}

/// `POST /collections/{name}/points/search/batch`.
pub(super) async fn search_batch(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<SearchBatchBody>,
) -> RestResult {
    let t = Instant::now();
    let reqs = body
        .searches
        .into_iter()
        .map(|s| s.into_request(false))
        .collect::<Result<Vec<_>, _>>()?;
    ok(t, run_batch(state, name, reqs, true, p.timeout).await?)
}

/// `POST /collections/{name}/points/search/groups`.
pub(super) async fn search_groups(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<SearchGroupsBody>,
) -> RestResult {
    let limit = body.search.limit;
    let q = body.search.into_request(true)?;
    let req = body.groups.wrap(q, limit, GROUPS_LIMIT, GROUP_SIZE)?;
    run_groups(state, name, req, p.timeout).await
}

/// `POST /collections/{name}/points/recommend`.
pub(super) async fn recommend(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<RecommendBody>,
) -> RestResult {
    run_one(state, name, body.into_request(false)?, p.timeout).await
}

/// `POST /collections/{name}/points/recommend/batch`.
pub(super) async fn recommend_batch(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<RecommendBatchBody>,
) -> RestResult {
    let t = Instant::now();
    let reqs = body
        .searches
        .into_iter()
        .map(|s| s.into_request(false))
        .collect::<Result<Vec<_>, _>>()?;
    ok(t, run_batch(state, name, reqs, true, p.timeout).await?)
}

/// `POST /collections/{name}/points/recommend/groups`.
pub(super) async fn recommend_groups(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<RecommendGroupsBody>,
) -> RestResult {
    let limit = body.recommend.limit;
    let q = body.recommend.into_request(true)?;
    let req = body.groups.wrap(q, limit, GROUPS_LIMIT, GROUP_SIZE)?;
    run_groups(state, name, req, p.timeout).await
}

/// `POST /collections/{name}/points/discover`.
pub(super) async fn discover(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<DiscoverBody>,
) -> RestResult {
    run_one(state, name, body.into_request()?, p.timeout).await
}

/// `POST /collections/{name}/points/discover/batch`.
pub(super) async fn discover_batch(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<DiscoverBatchBody>,
) -> RestResult {
    let t = Instant::now();
    let reqs = body
        .searches
        .into_iter()
        .map(DiscoverBody::into_request)
        .collect::<Result<Vec<_>, _>>()?;
    ok(t, run_batch(state, name, reqs, true, p.timeout).await?)
}

async fn matrix(
    state: Arc<State>,
    name: String,
    body: MatrixBody,
    timeout: Option<u64>,
) -> Result<vicinity::SearchMatrix, RestError> {
    let req = body.into_request()?;
    blocking(move || {
        let c = state.collection(&name)?;
        strict::check_reads(&state.strict, &c, &[Read::Matrix(&req)], false, timeout)?;
        Ok(c.search_matrix(&req)?)
    })
    .await
}

/// `POST /collections/{name}/points/search/matrix/pairs`.
pub(super) async fn matrix_pairs(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    body: Option<Body<MatrixBody>>,
) -> RestResult {
    let t = Instant::now();
    let m = matrix(
        state,
        name,
        body.map(|b| b.0).unwrap_or_default(),
        p.timeout,
    )
    .await?;
    let pairs: Vec<_> = m
        .pairs()
        .into_iter()
        .map(|p| json!({"a": p.a, "b": p.b, "score": p.score}))
        .collect();
    ok(t, json!({ "pairs": pairs }))
}

/// `POST /collections/{name}/points/search/matrix/offsets`.
pub(super) async fn matrix_offsets(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    body: Option<Body<MatrixBody>>,
) -> RestResult {
    let t = Instant::now();
    let m = matrix(
        state,
        name,
        body.map(|b| b.0).unwrap_or_default(),
        p.timeout,
    )
    .await?;
    let o = m.offsets();
    ok(
        t,
        json!({
            "offsets_row": o.offsets_row,
            "offsets_col": o.offsets_col,
            "scores": o.scores,
            "ids": o.ids,
        }),
    )
}
