//! Point requests as engine operations, and engine results as replies.

use tonic::Status;
use vicinity::{
    PointId, PointStruct, PointsSelector, Record, ScoredPoint, ScrollRequest, SearchRequest,
    UpdateOperation, UpdateResult, WithSelectors,
};

use crate::grpc::convert::filter::filter_from_proto;
use crate::grpc::convert::id::{id_to_proto, ids_from_proto, required_id};
use crate::grpc::convert::selector::{path, paths, payload_selector, vector_selector};
use crate::grpc::convert::value::{payload_from_proto, payload_to_proto};
use crate::grpc::convert::vector::{vectors_from_proto, vectors_to_proto};
use crate::ops::{QueryPlan, WriteOp};
use crate::pb::{self, points_selector::PointsSelectorOneOf, points_update_operation as op};
use crate::status::{invalid, unsupported, validation};

/// A points selector: ids, or a filter.
pub fn selected_ids(s: Option<pb::PointsSelector>) -> Result<PointsSelector, Status> {
    match s.and_then(|s| s.points_selector_one_of) {
        Some(PointsSelectorOneOf::Points(list)) => {
            Ok(PointsSelector::Ids(ids_from_proto(list.ids)?))
        }
        Some(PointsSelectorOneOf::Filter(f)) => Ok(PointsSelector::Filter(filter_from_proto(f)?)),
        None => Err(invalid("points selector is missing")),
    }
}

/// A wire point as an engine point.
pub fn point_from_proto(p: pb::PointStruct) -> Result<PointStruct, Status> {
    Ok(PointStruct {
        id: required_id(p.id)?,
        vectors: vectors_from_proto(p.vectors)?,
        payload: Some(payload_from_proto(p.payload)?),
    })
}

fn points_from_proto(
    points: Vec<pb::PointStruct>,
    update_filter: Option<pb::Filter>,
    update_mode: Option<i32>,
) -> Result<WriteOp, Status> {
    let filter = update_filter.map(filter_from_proto).transpose()?;
    // Qdrant reads a mode it does not know as a plain upsert
    let mode = match update_mode.map(pb::UpdateMode::try_from) {
        Some(Ok(pb::UpdateMode::InsertOnly)) => vicinity::UpdateMode::InsertOnly,
        Some(Ok(pb::UpdateMode::UpdateOnly)) => vicinity::UpdateMode::UpdateOnly,
        _ => vicinity::UpdateMode::Upsert,
    };
    Ok(WriteOp::Upsert(
        points
            .into_iter()
            .map(point_from_proto)
            .collect::<Result<_, _>>()?,
        filter,
        mode,
    ))
}

fn point_vectors(
    points: Vec<pb::PointVectors>,
    update_filter: Option<pb::Filter>,
) -> Result<WriteOp, Status> {
    let filter = update_filter.map(filter_from_proto).transpose()?;
    Ok(WriteOp::UpdateVectors(
        points
            .into_iter()
            .map(|p| Ok((required_id(p.id)?, vectors_from_proto(p.vectors)?)))
            .collect::<Result<_, Status>>()?,
        filter,
    ))
}

fn set_payload(
    payload: std::collections::HashMap<String, pb::Value>,
    selector: Option<pb::PointsSelector>,
    key: Option<String>,
) -> Result<WriteOp, Status> {
    let key = key.map(|k| path(&k)).transpose()?;
    Ok(WriteOp::SetPayload(
        selected_ids(selector)?,
        payload_from_proto(payload)?,
        key,
    ))
}

/// Overwrite: the whole payload is replaced; a `key` is ignored, as
/// Qdrant's update path ignores it.
fn overwrite_payload(
    payload: std::collections::HashMap<String, pb::Value>,
    selector: Option<pb::PointsSelector>,
    _key: Option<String>,
) -> Result<WriteOp, Status> {
    Ok(WriteOp::OverwritePayload(
        selected_ids(selector)?,
        payload_from_proto(payload)?,
    ))
}

fn vector_names(v: Option<pb::VectorsSelector>) -> Result<Vec<String>, Status> {
    let names = v.map(|v| v.names).unwrap_or_default();
    if names.is_empty() {
        return Err(validation("vectors", "must name at least one vector"));
    }
    Ok(names)
}

/// `Upsert`.
pub fn upsert(r: pb::UpsertPoints) -> Result<WriteOp, Status> {
    points_from_proto(r.points, r.update_filter, r.update_mode)
}

/// `Delete`.
pub fn delete(r: pb::DeletePoints) -> Result<WriteOp, Status> {
    Ok(WriteOp::Delete(selected_ids(r.points)?))
}

/// `UpdateVectors`.
pub fn update_vectors(r: pb::UpdatePointVectors) -> Result<WriteOp, Status> {
    point_vectors(r.points, r.update_filter)
}

/// `DeleteVectors`.
pub fn delete_vectors(r: pb::DeletePointVectors) -> Result<WriteOp, Status> {
    Ok(WriteOp::DeleteVectors(
        selected_ids(r.points_selector)?,
        vector_names(r.vectors)?,
    ))
}

/// `SetPayload`.
pub fn set(r: pb::SetPayloadPoints) -> Result<WriteOp, Status> {
    set_payload(r.payload, r.points_selector, r.key)
}

/// `OverwritePayload`.
pub fn overwrite(r: pb::SetPayloadPoints) -> Result<WriteOp, Status> {
    overwrite_payload(r.payload, r.points_selector, r.key)
}

/// `DeletePayload`.
pub fn delete_payload(r: pb::DeletePayloadPoints) -> Result<WriteOp, Status> {
    Ok(WriteOp::DeletePayload(
        selected_ids(r.points_selector)?,
        paths(&r.keys)?,
    ))
}

/// `ClearPayload`.
pub fn clear_payload(r: pb::ClearPayloadPoints) -> Result<WriteOp, Status> {
    Ok(WriteOp::ClearPayload(selected_ids(r.points)?))
}

/// One operation of `UpdateBatch`.
pub fn batch_op(o: pb::PointsUpdateOperation) -> Result<WriteOp, Status> {
    use op::Operation as O;
    match o.operation {
        None => Err(invalid("update operation is empty")),
        Some(O::Upsert(u)) => points_from_proto(u.points, u.update_filter, u.update_mode),
        Some(O::DeleteDeprecated(s)) => Ok(WriteOp::Delete(selected_ids(Some(s))?)),
        Some(O::SetPayload(s)) => set_payload(s.payload, s.points_selector, s.key),
        Some(O::OverwritePayload(s)) => overwrite_payload(s.payload, s.points_selector, s.key),
        Some(O::DeletePayload(d)) => Ok(WriteOp::DeletePayload(
            selected_ids(d.points_selector)?,
            paths(&d.keys)?,
        )),
        Some(O::ClearPayloadDeprecated(s)) => Ok(WriteOp::ClearPayload(selected_ids(Some(s))?)),
        Some(O::UpdateVectors(u)) => point_vectors(u.points, u.update_filter),
        Some(O::DeleteVectors(d)) => Ok(WriteOp::DeleteVectors(
            selected_ids(d.points_selector)?,
            vector_names(d.vectors)?,
        )),
        Some(O::DeletePoints(d)) => Ok(WriteOp::Delete(selected_ids(d.points)?)),
        Some(O::ClearPayload(c)) => Ok(WriteOp::ClearPayload(selected_ids(c.points)?)),
    }
}

/// A write's result on the wire: `Completed` when the client waited,
/// `Acknowledged` otherwise, as Qdrant answers (the write is applied
/// before the reply either way).
pub fn update_result_to_proto(r: UpdateResult, wait: bool) -> pb::UpdateResult {
    pb::UpdateResult {
        operation_id: Some(r.operation_id),
        status: if wait {
            pb::UpdateStatus::Completed
        } else {
            pb::UpdateStatus::Acknowledged
        } as i32,
    }
}

/// `Get`: ids and selectors. Without `with_payload` no payload is
/// returned, as Qdrant's `retrieve` does (scroll's default is the opposite).
pub fn get(r: pb::GetPoints) -> Result<(Vec<PointId>, WithSelectors), Status> {
    let with = WithSelectors {
        payload: payload_selector(r.with_payload, false)?,
        vectors: vector_selector(r.with_vectors),
    };
    Ok((ids_from_proto(r.ids)?, with))
}

/// `order_by` on the wire as the engine's.
pub fn order_by_from_proto(o: pb::OrderBy) -> Result<vicinity::OrderBy, Status> {
    use pb::start_from::Value as S;
    let direction = match o.direction.map(pb::Direction::try_from) {
        None | Some(Ok(pb::Direction::Asc)) => vicinity::Direction::Asc,
        Some(Ok(pb::Direction::Desc)) => vicinity::Direction::Desc,
        Some(Err(_)) => return Err(invalid("unknown order_by direction")),
    };
    let start_from = match o.start_from.and_then(|s| s.value) {
        None => None,
        Some(S::Float(x)) => Some(x),
        Some(S::Integer(i)) => Some(i as f64),
        Some(S::Timestamp(t)) => Some(t.seconds as f64 * 1e6 + f64::from(t.nanos / 1000)),
        Some(S::Datetime(d)) => Some(
            vicinity_payload_datetime(&d)
                .ok_or_else(|| invalid(format!("start_from {d:?} is not a datetime")))?
                as f64,
        ),
    };
    Ok(vicinity::OrderBy {
        key: path(&o.key)?,
        direction,
        start_from,
    })
}

fn vicinity_payload_datetime(s: &str) -> Option<i64> {
    vicinity::datetime::parse_datetime(s)
}

/// `Scroll`. The payload is returned unless the request says otherwise, as
/// Qdrant does.
pub fn scroll(r: pb::ScrollPoints) -> Result<ScrollRequest, Status> {
    let mut req = ScrollRequest {
        filter: r.filter.map(filter_from_proto).transpose()?,
        order_by: r.order_by.map(order_by_from_proto).transpose()?,
        ..ScrollRequest::default()
    };
    if let Some(limit) = r.limit {
        req.limit = limit as usize;
    }
    req.offset = r.offset.map(|id| required_id(Some(id))).transpose()?;
    req.with.payload = payload_selector(r.with_payload, true)?;
    req.with.vectors = vector_selector(r.with_vectors);
    Ok(req)
}

/// `Count`: the filter, if any.
pub fn count(r: &pb::CountPoints) -> Result<Option<vicinity::Filter>, Status> {
    r.filter.clone().map(filter_from_proto).transpose()
}

fn apply_params(req: &mut SearchRequest, p: Option<pb::SearchParams>) -> Result<(), Status> {
    if let Some(p) = p {
        req.params.hnsw_ef = p
            .hnsw_ef
            .map(|ef| usize::try_from(ef).map_err(|_| invalid("hnsw_ef is too large")))
            .transpose()?;
        req.params.exact = p.exact.unwrap_or(false);
    }
    Ok(())
}

fn to_usize(v: u64, what: &str) -> Result<usize, Status> {
    usize::try_from(v).map_err(|_| validation(what, format!("value {v} is too large")))
}

/// `Search`.
pub fn search(r: pb::SearchPoints) -> Result<SearchRequest, Status> {
    let filter = r.filter.map(filter_from_proto).transpose()?;
    if r.sparse_indices.is_some() {
        return Err(unsupported(
            "sparse vectors in the older Search and SearchGroups calls (Query serves them)",
        ));
    }
    let mut req = SearchRequest::new(r.vector, to_usize(r.limit, "limit")?);
    req.filter = filter;
    if let Some(name) = r.vector_name {
        req.using = name;
    }
    req.offset = to_usize(r.offset.unwrap_or(0), "offset")?;
    req.score_threshold = r.score_threshold;
    req.with.payload = payload_selector(r.with_payload, false)?;
    req.with.vectors = vector_selector(r.with_vectors);
    apply_params(&mut req, r.params)?;
    Ok(req)
}

/// `Query`: the universal query.
pub fn query(r: pb::QueryPoints) -> Result<QueryPlan, Status> {
    crate::grpc::convert::query::query(r).map(QueryPlan::Query)
}

/// A stored point on the wire.
pub fn record_to_proto(r: Record) -> pb::RetrievedPoint {
    pb::RetrievedPoint {
        id: Some(id_to_proto(r.id)),
        payload: payload_to_proto(r.payload),
        vectors: r.vectors.map(vectors_to_proto),
        shard_key: None,
        order_value: r.order_value.map(|v| pb::OrderValue {
            variant: Some(match v {
                vicinity::OrderValue::Int(i) => pb::order_value::Variant::Int(i),
                vicinity::OrderValue::Float(f) => pb::order_value::Variant::Float(f),
            }),
        }),
    }
}

/// `DeleteFieldIndex` as a write.
pub fn delete_field_index(r: pb::DeleteFieldIndexCollection) -> Result<WriteOp, Status> {
    Ok(WriteOp::Engine(UpdateOperation::DeleteFieldIndex(path(
        &r.field_name,
    )?)))
}

/// `CreateFieldIndex` as a write.
pub fn create_field_index(r: pb::CreateFieldIndexCollection) -> Result<WriteOp, Status> {
    use vicinity::FieldType as T;
    let field_type = match r.field_type.map(pb::FieldType::try_from) {
        Some(Ok(pb::FieldType::Keyword)) => T::Keyword,
        Some(Ok(pb::FieldType::Integer)) => T::Integer,
        Some(Ok(pb::FieldType::Float)) => T::Float,
        Some(Ok(pb::FieldType::Geo)) => T::Geo,
        Some(Ok(pb::FieldType::Text)) => T::Text,
        Some(Ok(pb::FieldType::Bool)) => T::Bool,
        Some(Ok(pb::FieldType::Datetime)) => T::Datetime,
        Some(Ok(pb::FieldType::Uuid)) => T::Uuid,
        Some(Err(_)) => return Err(invalid("unknown payload index type")),
        None => return Err(invalid("field_type is required")),
    };
    let mut params = vicinity::FieldIndexParams::new(field_type);
    if let Some(pb::payload_index_params::IndexParams::TextIndexParams(t)) =
        r.field_index_params.and_then(|p| p.index_params)
    {
        if field_type != T::Text {
            return Err(invalid("text index parameters on a non-text index"));
        }
        params.tokenizer.lowercase = t.lowercase.unwrap_or(true);
        params.tokenizer.min_token_len = t.min_token_len.map(|n| n as usize);
        params.tokenizer.max_token_len = t.max_token_len.map(|n| n as usize);
        if let Some(sw) = t.stopwords {
            params.tokenizer.stopwords = sw.custom;
        }
        // BM25 is the only scoring type
        params.scoring = t.scoring.is_some();
    }
    Ok(WriteOp::Engine(UpdateOperation::CreateFieldIndex {
        key: path(&r.field_name)?,
        params,
    }))
}

/// A facet count on the wire.
pub fn facet_hit_to_proto(h: vicinity::FacetHit) -> pb::FacetHit {
    use pb::facet_value::Variant as V;
    pb::FacetHit {
        value: Some(pb::FacetValue {
            variant: Some(match h.value {
                vicinity::FacetValue::Keyword(s) => V::StringValue(s),
                vicinity::FacetValue::Int(i) => V::IntegerValue(i),
                vicinity::FacetValue::Bool(b) => V::BoolValue(b),
            }),
        }),
        count: h.count as u64,
    }
}

/// A hit on the wire.
pub fn scored_to_proto(p: ScoredPoint) -> pb::ScoredPoint {
    pb::ScoredPoint {
        id: Some(id_to_proto(p.id)),
        payload: payload_to_proto(p.payload),
        score: p.score,
        version: p.version,
        vectors: p.vectors.map(vectors_to_proto),
        shard_key: None,
        order_value: None,
    }
}
