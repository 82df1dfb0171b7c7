//! `qdrant.Points`.

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::grpc::convert::points::{self as conv, record_to_proto, scored_to_proto};
use crate::grpc::convert::query as qconv;
use crate::grpc::service::{blocking, secs};
use crate::ops::{QueryPlan, WriteOp};
use crate::pb;
use crate::state::State;
use crate::status::from_engine;
use crate::strict::{self, Read};

/// `qdrant.Points`: writes, reads, search and query.
#[derive(Clone)]
pub struct PointsService {
    state: Arc<State>,
}

impl PointsService {
    /// The service over shared state.
    pub fn new(state: Arc<State>) -> Self {
        PointsService { state }
    }

    /// One write: the conversion (a large upsert is a lot of copying) and
    /// the engine call both run on the blocking pool.
    async fn write<R: Send + 'static>(
        &self,
        name: String,
        wait: Option<bool>,
        timeout: Option<u64>,
        request: R,
        convert: fn(R) -> Result<WriteOp, Status>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let t = Instant::now();
        let state = self.state.clone();
        let w = wait.unwrap_or(false);
        let r = blocking(move || {
            let op = convert(request)?;
            let c = state.collection(&name)?;
            strict::check_write(&state.strict, &c, &op, timeout)?;
            op.apply(&c, w).map_err(from_engine)
        })
        .await?;
        Ok(Response::new(pb::PointsOperationResponse {
            result: Some(conv::update_result_to_proto(r, wait.unwrap_or(false))),
            time: secs(t),
            usage: None,
        }))
    }

    async fn search_batch_of(
        &self,
        name: String,
        plans: Vec<QueryPlan>,
        batch: bool,
        timeout: Option<u64>,
    ) -> Result<Vec<pb::BatchResult>, Status> {
        let state = self.state.clone();
        blocking(move || {
            let c = state.collection(&name)?;
            let reads: Vec<Read<'_>> = plans.iter().map(QueryPlan::as_read).collect();
            strict::check_reads(&state.strict, &c, &reads, batch, timeout)?;
            plans
                .into_iter()
                .map(|p| {
                    Ok(pb::BatchResult {
                        result: p
                            .run(&state.db, &c)
                            .map_err(from_engine)?
                            .into_iter()
                            .map(scored_to_proto)
                            .collect(),
                    })
                })
                .collect()
        })
        .await
    }

    async fn matrix_of(
        &self,
        name: String,
        r: pb::SearchMatrixPoints,
    ) -> Result<vicinity::SearchMatrix, Status> {
        let timeout = r.timeout;
        let req = qconv::search_matrix(r)?;
        let state = self.state.clone();
        blocking(move || {
            let c = state.collection(&name)?;
            strict::check_reads(&state.strict, &c, &[Read::Matrix(&req)], false, timeout)?;
            c.search_matrix(&req).map_err(from_engine)
        })
        .await
    }

    async fn groups_of(
        &self,
        name: String,
        req: vicinity::QueryGroupsRequest,
        timeout: Option<u64>,
    ) -> Result<pb::GroupsResult, Status> {
        let state = self.state.clone();
        let groups = blocking(move || {
            let c = state.collection(&name)?;
            strict::check_reads(&state.strict, &c, &[Read::Groups(&req)], false, timeout)?;
            state.db.query_groups(&name, &req).map_err(from_engine)
        })
        .await?;
        Ok(qconv::groups_to_proto(groups))
    }
}

#[tonic::async_trait]
impl pb::points_server::Points for PointsService {
    async fn upsert(
        &self,
        request: Request<pb::UpsertPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::upsert).await
    }

    async fn delete(
        &self,
        request: Request<pb::DeletePoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::delete).await
    }

    async fn update_vectors(
        &self,
        request: Request<pb::UpdatePointVectors>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::update_vectors)
            .await
    }

    async fn delete_vectors(
        &self,
        request: Request<pb::DeletePointVectors>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::delete_vectors)
            .await
    }

    async fn set_payload(
        &self,
        request: Request<pb::SetPayloadPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::set).await
    }

    async fn overwrite_payload(
        &self,
        request: Request<pb::SetPayloadPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::overwrite).await
    }

    async fn delete_payload(
        &self,
        request: Request<pb::DeletePayloadPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::delete_payload)
            .await
    }

    async fn clear_payload(
        &self,
        request: Request<pb::ClearPayloadPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::clear_payload)
            .await
    }

    async fn create_field_index(
        &self,
        request: Request<pb::CreateFieldIndexCollection>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::create_field_index)
            .await
    }

    async fn delete_field_index(
        &self,
        request: Request<pb::DeleteFieldIndexCollection>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let mut r = request.into_inner();
        let (name, wait, timeout) = (std::mem::take(&mut r.collection_name), r.wait, r.timeout);
        self.write(name, wait, timeout, r, conv::delete_field_index)
            .await
    }

    async fn update_batch(
        &self,
        request: Request<pb::UpdateBatchPoints>,
    ) -> Result<Response<pb::UpdateBatchResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let wait = r.wait.unwrap_or(false);
        let ops = r
            .operations
            .into_iter()
            .map(conv::batch_op)
            .collect::<Result<Vec<_>, _>>()?;
        let (name, timeout) = (r.collection_name, r.timeout);
        let state = self.state.clone();
        let results = blocking(move || {
            let c = state.collection(&name)?;
            for op in &ops {
                strict::check_write(&state.strict, &c, op, timeout)?;
            }
            ops.into_iter()
                .map(|op| {
                    op.apply(&c, wait)
                        .map(|r| conv::update_result_to_proto(r, wait))
                        .map_err(from_engine)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
        Ok(Response::new(pb::UpdateBatchResponse {
            result: results,
            time: secs(t),
            usage: None,
        }))
    }

    async fn get(
        &self,
        request: Request<pb::GetPoints>,
    ) -> Result<Response<pb::GetResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let name = std::mem::take(&mut r.collection_name);
        let timeout = r.timeout;
        let (ids, with) = conv::get(r)?;
        let state = self.state.clone();
        let records = blocking(move || {
            let c = state.collection(&name)?;
            strict::check_reads(
                &state.strict,
                &c,
                &[Read::Retrieve(ids.len())],
                false,
                timeout,
            )?;
            c.get(&ids, &with).map_err(from_engine)
        })
        .await?;
        Ok(Response::new(pb::GetResponse {
            result: records.into_iter().map(record_to_proto).collect(),
            time: secs(t),
            usage: None,
        }))
    }

    async fn scroll(
        &self,
        request: Request<pb::ScrollPoints>,
    ) -> Result<Response<pb::ScrollResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let name = std::mem::take(&mut r.collection_name);
        let timeout = r.timeout;
        let req = conv::scroll(r)?;
        let state = self.state.clone();
        let page = blocking(move || {
            let c = state.collection(&name)?;
            strict::check_reads(&state.strict, &c, &[Read::Scroll(&req)], false, timeout)?;
            c.scroll(&req).map_err(from_engine)
        })
        .await?;
        Ok(Response::new(pb::ScrollResponse {
            next_page_offset: page
                .next_page_offset
                .map(crate::grpc::convert::id::id_to_proto),
            result: page.points.into_iter().map(record_to_proto).collect(),
            time: secs(t),
            usage: None,
        }))
    }

    async fn count(
        &self,
        request: Request<pb::CountPoints>,
    ) -> Result<Response<pb::CountResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let filter = conv::count(&r)?;
        let state = self.state.clone();
        let (name, exact, timeout) = (r.collection_name, r.exact.unwrap_or(true), r.timeout);
        let count = blocking(move || {
            let c = state.collection(&name)?;
            let read = Read::Count {
                filter: filter.as_ref(),
                exact,
            };
            strict::check_reads(&state.strict, &c, &[read], false, timeout)?;
            Ok(match &filter {
                Some(f) => c.count_where(f),
                None => c.count(),
            })
        })
        .await?;
        Ok(Response::new(pb::CountResponse {
            result: Some(pb::CountResult {
                count: count as u64,
            }),
            time: secs(t),
            usage: None,
        }))
    }

    async fn search(
        &self,
        request: Request<pb::SearchPoints>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let (name, timeout) = (std::mem::take(&mut r.collection_name), r.timeout);
        let plan = QueryPlan::Vector(conv::search(r)?);
        let mut batch = self
            .search_batch_of(name, vec![plan], false, timeout)
            .await?;
        Ok(Response::new(pb::SearchResponse {
            result: batch.pop().map(|b| b.result).unwrap_or_default(),
            time: secs(t),
            usage: None,
        }))
    }

    async fn search_batch(
        &self,
        request: Request<pb::SearchBatchPoints>,
    ) -> Result<Response<pb::SearchBatchResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let plans = r
            .search_points
            .into_iter()
            .map(|s| conv::search(s).map(QueryPlan::Vector))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .search_batch_of(r.collection_name, plans, true, r.timeout)
            .await?;
        Ok(Response::new(pb::SearchBatchResponse {
            result,
            time: secs(t),
            usage: None,
        }))
    }

    async fn query(
        &self,
        request: Request<pb::QueryPoints>,
    ) -> Result<Response<pb::QueryResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let (name, timeout) = (std::mem::take(&mut r.collection_name), r.timeout);
        let plan = conv::query(r)?;
        let mut batch = self
            .search_batch_of(name, vec![plan], false, timeout)
            .await?;
        Ok(Response::new(pb::QueryResponse {
            result: batch.pop().map(|b| b.result).unwrap_or_default(),
            time: secs(t),
            usage: None,
        }))
    }

    async fn query_batch(
        &self,
        request: Request<pb::QueryBatchPoints>,
    ) -> Result<Response<pb::QueryBatchResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let plans = r
            .query_points
            .into_iter()
            .map(conv::query)
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .search_batch_of(r.collection_name, plans, true, r.timeout)
            .await?;
        Ok(Response::new(pb::QueryBatchResponse {
            result,
            time: secs(t),
            usage: None,
        }))
    }

    async fn query_groups(
        &self,
        request: Request<pb::QueryPointGroups>,
    ) -> Result<Response<pb::QueryGroupsResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let (name, timeout) = (std::mem::take(&mut r.collection_name), r.timeout);
        let req = qconv::query_groups(r)?;
        let result = self.groups_of(name, req, timeout).await?;
        Ok(Response::new(pb::QueryGroupsResponse {
            result: Some(result),
            time: secs(t),
            usage: None,
        }))
    }

    async fn search_groups(
        &self,
        request: Request<pb::SearchPointGroups>,
    ) -> Result<Response<pb::SearchGroupsResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let (name, timeout) = (std::mem::take(&mut r.collection_name), r.timeout);
        let req = qconv::search_groups(r)?;
        let result = self.groups_of(name, req, timeout).await?;
        Ok(Response::new(pb::SearchGroupsResponse {
            result: Some(result),
            time: secs(t),
            usage: None,
        }))
    }

    async fn recommend_groups(
        &self,
        request: Request<pb::RecommendPointGroups>,
    ) -> Result<Response<pb::RecommendGroupsResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let (name, timeout) = (std::mem::take(&mut r.collection_name), r.timeout);
        let req = qconv::recommend_groups(r)?;
        let result = self.groups_of(name, req, timeout).await?;
        Ok(Response::new(pb::RecommendGroupsResponse {
            result: Some(result),
            time: secs(t),
            usage: None,
        }))
    }

    async fn recommend(
        &self,
        request: Request<pb::RecommendPoints>,
    ) -> Result<Response<pb::RecommendResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let (name, timeout) = (std::mem::take(&mut r.collection_name), r.timeout);
        let plan = QueryPlan::Query(qconv::recommend(r)?);
        let mut batch = self
            .search_batch_of(name, vec![plan], false, timeout)
            .await?;
        Ok(Response::new(pb::RecommendResponse {
            result: batch.pop().map(|b| b.result).unwrap_or_default(),
            time: secs(t),
            usage: None,
        }))
    }

    async fn recommend_batch(
        &self,
        request: Request<pb::RecommendBatchPoints>,
    ) -> Result<Response<pb::RecommendBatchResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let plans = r
            .recommend_points
            .into_iter()
            .map(|q| qconv::recommend(q).map(QueryPlan::Query))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .search_batch_of(r.collection_name, plans, true, r.timeout)
            .await?;
        Ok(Response::new(pb::RecommendBatchResponse {
            result,
            time: secs(t),
            usage: None,
        }))
    }

    async fn discover(
        &self,
        request: Request<pb::DiscoverPoints>,
    ) -> Result<Response<pb::DiscoverResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let (name, timeout) = (std::mem::take(&mut r.collection_name), r.timeout);
        let plan = QueryPlan::Query(qconv::discover(r)?);
        let mut batch = self
            .search_batch_of(name, vec![plan], false, timeout)
            .await?;
        Ok(Response::new(pb::DiscoverResponse {
            result: batch.pop().map(|b| b.result).unwrap_or_default(),
            time: secs(t),
            usage: None,
        }))
    }

    async fn discover_batch(
        &self,
        request: Request<pb::DiscoverBatchPoints>,
    ) -> Result<Response<pb::DiscoverBatchResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let plans = r
            .discover_points
            .into_iter()
            .map(|q| qconv::discover(q).map(QueryPlan::Query))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .search_batch_of(r.collection_name, plans, true, r.timeout)
            .await?;
        Ok(Response::new(pb::DiscoverBatchResponse {
            result,
            time: secs(t),
            usage: None,
        }))
    }

    async fn search_matrix_pairs(
        &self,
        request: Request<pb::SearchMatrixPoints>,
    ) -> Result<Response<pb::SearchMatrixPairsResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let name = std::mem::take(&mut r.collection_name);
        let matrix = self.matrix_of(name, r).await?;
        Ok(Response::new(pb::SearchMatrixPairsResponse {
            result: Some(qconv::matrix_pairs_to_proto(&matrix)),
            time: secs(t),
            usage: None,
        }))
    }

    async fn search_matrix_offsets(
        &self,
        request: Request<pb::SearchMatrixPoints>,
    ) -> Result<Response<pb::SearchMatrixOffsetsResponse>, Status> {
        let t = Instant::now();
        let mut r = request.into_inner();
        let name = std::mem::take(&mut r.collection_name);
        let matrix = self.matrix_of(name, r).await?;
        Ok(Response::new(pb::SearchMatrixOffsetsResponse {
            result: Some(qconv::matrix_offsets_to_proto(&matrix)),
            time: secs(t),
            usage: None,
        }))
    }

    async fn facet(
        &self,
        request: Request<pb::FacetCounts>,
    ) -> Result<Response<pb::FacetResponse>, Status> {
        let t = Instant::now();
        let r = request.into_inner();
        let mut req = vicinity::FacetRequest::new(crate::grpc::convert::selector::path(&r.key)?);
        req.filter = r
            .filter
            .map(crate::grpc::convert::filter::filter_from_proto)
            .transpose()?;
        if let Some(limit) = r.limit {
            req.limit =
                usize::try_from(limit).map_err(|_| crate::status::invalid("limit is too large"))?;
        }
        let state = self.state.clone();
        let (name, exact, timeout) = (r.collection_name, r.exact.unwrap_or(false), r.timeout);
        let hits = blocking(move || {
            let c = state.collection(&name)?;
            let read = Read::Facet {
                request: &req,
                exact,
            };
            strict::check_reads(&state.strict, &c, &[read], false, timeout)?;
            c.facet(&req).map_err(from_engine)
        })
        .await?;
        Ok(Response::new(pb::FacetResponse {
            hits: hits.into_iter().map(conv::facet_hit_to_proto).collect(),
            time: secs(t),
            usage: None,
        }))
    }
}
