//! Point writes and plain reads: upsert, retrieve, delete, vectors,
//! payloads, batches, scroll, count and facet.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State as Shared};
use serde_json::json;
use vicinity::{PointId, WithSelectors};

use crate::ops::WriteOp;
use crate::rest::models::{
    BatchBody, BatchOperation, CountBody, DeletePayloadBody, DeleteVectorsBody, FacetBody,
    ReadParams, RetrieveBody, ScrollBody, SelectorJson, SetPayloadBody, UpdateVectorsBody,
    UpsertBody, WriteParams, payload_selector, vector_selector,
};
use crate::rest::output;
use crate::rest::{Body, Params, RestError, RestResult, blocking, ok};
use crate::state::State;
use crate::strict::{self, Read};

type S = Shared<Arc<State>>;

/// Runs one write; the conversion (a large upsert is a lot of copying)
/// and the engine call both run on the blocking pool.
async fn write<B: Send + 'static>(
    state: Arc<State>,
    name: String,
    params: WriteParams,
    body: B,
    convert: fn(B) -> Result<WriteOp, RestError>,
) -> RestResult {
    let t = Instant::now();
    let wait = params.wait()?;
    let r = blocking(move || {
        let op = convert(body)?;
        let c = state.collection(&name)?;
        strict::check_write(&state.strict, &c, &op, params.timeout)?;
        Ok(op.apply(&c, wait)?)
    })
    .await?;
    ok(t, output::update(r, wait))
}

/// `PUT /collections/{name}/points`.
pub(super) async fn upsert(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<UpsertBody>,
) -> RestResult {
    write(state, name, p, body, |b| b.into_write()).await
}

/// `POST /collections/{name}/points/delete`.
pub(super) async fn delete(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<SelectorJson>,
) -> RestResult {
    write(state, name, p, body, |b| {
        Ok(WriteOp::Delete(b.into_selector()?))
    })
    .await
}

/// `PUT /collections/{name}/points/vectors`.
pub(super) async fn update_vectors(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<UpdateVectorsBody>,
) -> RestResult {
    write(state, name, p, body, |b| b.into_write()).await
}

/// `POST /collections/{name}/points/vectors/delete`.
pub(super) async fn delete_vectors(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<DeleteVectorsBody>,
) -> RestResult {
    write(state, name, p, body, |b| {
        let (s, names) = b.parts()?;
        Ok(WriteOp::DeleteVectors(s, names))
    })
    .await
}

fn set_op(b: SetPayloadBody) -> Result<WriteOp, RestError> {
    let (s, payload, key) = b.parts()?;
    Ok(WriteOp::SetPayload(s, payload, key))
}

/// Overwrite: the whole payload is replaced. A `key` is accepted and
/// ignored, as Qdrant's update path ignores it.
fn overwrite_op(b: SetPayloadBody) -> Result<WriteOp, RestError> {
    let (s, payload, _key) = b.parts()?;
    Ok(WriteOp::OverwritePayload(s, payload))
}

/// `POST /collections/{name}/points/payload`.
pub(super) async fn set_payload(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<SetPayloadBody>,
) -> RestResult {
    write(state, name, p, body, set_op).await
}

/// `PUT /collections/{name}/points/payload`.
pub(super) async fn overwrite_payload(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<SetPayloadBody>,
) -> RestResult {
    write(state, name, p, body, overwrite_op).await
}

/// `POST /collections/{name}/points/payload/delete`.
pub(super) async fn delete_payload(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<DeletePayloadBody>,
) -> RestResult {
    write(state, name, p, body, |b| {
        let (s, keys) = b.parts()?;
        Ok(WriteOp::DeletePayload(s, keys))
    })
    .await
}

/// `POST /collections/{name}/points/payload/clear`.
pub(super) async fn clear_payload(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<SelectorJson>,
) -> RestResult {
    write(state, name, p, body, |b| {
        Ok(WriteOp::ClearPayload(b.into_selector()?))
    })
    .await
}

fn batch_op(o: BatchOperation) -> Result<WriteOp, RestError> {
    Ok(match o {
        BatchOperation::Upsert(b) => b.into_write()?,
        BatchOperation::Delete(s) => WriteOp::Delete(s.into_selector()?),
        BatchOperation::SetPayload(b) => set_op(b)?,
        BatchOperation::OverwritePayload(b) => overwrite_op(b)?,
        BatchOperation::DeletePayload(b) => {
            let (s, keys) = b.parts()?;
            WriteOp::DeletePayload(s, keys)
        }
        BatchOperation::ClearPayload(s) => WriteOp::ClearPayload(s.into_selector()?),
        BatchOperation::UpdateVectors(b) => b.into_write()?,
        BatchOperation::DeleteVectors(b) => {
            let (s, names) = b.parts()?;
            WriteOp::DeleteVectors(s, names)
        }
    })
}

/// `POST /collections/{name}/points/batch`: the operations in order, a
/// result for each.
pub(super) async fn batch(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<BatchBody>,
) -> RestResult {
    let t = Instant::now();
    let wait = p.wait()?;
    let results = blocking(move || {
        let ops = body
            .operations
            .into_iter()
            .map(batch_op)
            .collect::<Result<Vec<_>, _>>()?;
        let c = state.collection(&name)?;
        for op in &ops {
            strict::check_write(&state.strict, &c, op, p.timeout)?;
        }
        ops.into_iter()
            .map(|op| Ok(output::update(op.apply(&c, wait)?, wait)))
            .collect::<Result<Vec<_>, RestError>>()
    })
    .await?;
    ok(t, results)
}

/// `POST /collections/{name}/points`: the payload is returned unless the
/// request says otherwise.
pub(super) async fn retrieve(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<RetrieveBody>,
) -> RestResult {
    let t = Instant::now();
    if body.shard_key.as_ref().is_some_and(|k| !k.is_null()) {
        return Err(RestError::unsupported("shard keys (custom sharding)"));
    }
    let with = WithSelectors {
        payload: payload_selector(body.with_payload, true)?,
        vectors: vector_selector(body.with_vector),
    };
    let ids = body.ids;
    let records = blocking(move || {
        let c = state.collection(&name)?;
        strict::check_reads(
            &state.strict,
            &c,
            &[Read::Retrieve(ids.len())],
            false,
            p.timeout,
        )?;
        Ok(c.get(&ids, &with)?)
    })
    .await?;
    ok(t, output::records(records))
}

/// `GET /collections/{name}/points/{id}`: the point with its payload and
/// vectors, or 404.
pub(super) async fn get_one(
    Shared(state): S,
    Path((name, id)): Path<(String, String)>,
    Params(_): Params<ReadParams>,
) -> RestResult {
    let t = Instant::now();
    let point_id: PointId = match id.parse::<u64>() {
        Ok(n) => PointId::from(n),
        Err(_) => serde_json::from_value(serde_json::Value::String(id.clone())).map_err(|e| {
            RestError::new(
                axum::http::StatusCode::NOT_FOUND,
                format!("Not found: can not parse point id {id:?}: {e}"),
            )
        })?,
    };
    let with = WithSelectors {
        payload: true.into(),
        vectors: true.into(),
    };
    let mut records = blocking(move || {
        Ok(state
            .collection(&name)?
            .get(std::slice::from_ref(&point_id), &with)?)
    })
    .await?;
    match records.pop() {
        Some(r) => ok(t, output::RecordOut::from(r)),
        None => Err(RestError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("Not found: Point with id {id} does not exists!"),
        )),
    }
}

/// `POST /collections/{name}/points/scroll`.
pub(super) async fn scroll(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    body: Option<Body<ScrollBody>>,
) -> RestResult {
    let t = Instant::now();
    let req = body.map(|b| b.0).unwrap_or_default().into_request()?;
    let page = blocking(move || {
        let c = state.collection(&name)?;
        strict::check_reads(&state.strict, &c, &[Read::Scroll(&req)], false, p.timeout)?;
        Ok(c.scroll(&req)?)
    })
    .await?;
    ok(
        t,
        json!({
            "points": output::records(page.points),
            "next_page_offset": page.next_page_offset,
        }),
    )
}

/// `POST /collections/{name}/points/count`: exact counts.
pub(super) async fn count(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    body: Option<Body<CountBody>>,
) -> RestResult {
    let t = Instant::now();
    let body = body.map(|b| b.0).unwrap_or_default();
    if body.shard_key.as_ref().is_some_and(|k| !k.is_null()) {
        return Err(RestError::unsupported("shard keys (custom sharding)"));
    }
    let n = blocking(move || {
        let c = state.collection(&name)?;
        let read = Read::Count {
            filter: body.filter.as_ref(),
            exact: body.exact.unwrap_or(true),
        };
        strict::check_reads(&state.strict, &c, &[read], false, p.timeout)?;
        Ok(match &body.filter {
            Some(f) => c.count_where(f),
            None => c.count(),
        })
    })
    .await?;
    ok(t, json!({ "count": n }))
}

/// `POST /collections/{name}/facet`.
pub(super) async fn facet(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<ReadParams>,
    Body(body): Body<FacetBody>,
) -> RestResult {
    let t = Instant::now();
    let exact = body.exact.unwrap_or(false);
    let req = body.into_request()?;
    let hits = blocking(move || {
        let c = state.collection(&name)?;
        let read = Read::Facet {
            request: &req,
            exact,
        };
        strict::check_reads(&state.strict, &c, &[read], false, p.timeout)?;
        Ok(c.facet(&req)?)
    })
    .await?;
    ok(t, output::facet(hits))
}
