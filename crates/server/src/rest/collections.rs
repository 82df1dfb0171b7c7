//! Collections, aliases, payload indexes and the cluster view of a
//! collection.

use std::sync::Arc;
use std::time::Instant;

use crate::auth::Access;
use axum::Extension;
use axum::extract::{Path, State as Shared};
use serde_json::json;
use vicinity::UpdateOperation;

use crate::ops::{AliasAction, WriteOp, change_aliases};
use crate::rest::models::{
    AliasesBody, CreateCollectionBody, CreateIndexBody, TimeoutParams, UpdateCollectionBody,
    WriteParams, quantization_diff_from_json,
};
use crate::rest::output;
use crate::rest::{Body, Params, RestError, RestResult, blocking, ok};
use crate::state::State;
use crate::strict::StrictModeConfig;

type S = Shared<Arc<State>>;

/// `GET /collections`.
pub(super) async fn list(Shared(state): S, access: Option<Extension<Access>>) -> RestResult {
    let t = Instant::now();
    let access = access.as_ref().map(|a| &a.0);
    let names: Vec<_> = state
        .db
        .list_collections()
        .into_iter()
        .filter(|name| crate::auth::visible(access, name))
        .map(|name| json!({ "name": name }))
        .collect();
    ok(t, json!({ "collections": names }))
}

fn aliases_out(aliases: Vec<(String, String)>) -> serde_json::Value {
    let list: Vec<_> = aliases
        .into_iter()
        .map(|(alias_name, collection_name)| {
            json!({"alias_name": alias_name, "collection_name": collection_name})
        })
        .collect();
    json!({ "aliases": list })
}

/// `GET /aliases`.
pub(super) async fn all_aliases(Shared(state): S, access: Option<Extension<Access>>) -> RestResult {
    let access = access.as_ref().map(|a| &a.0);
    let mut aliases = state.db.list_aliases();
    aliases.retain(|(_, collection)| crate::auth::visible(access, collection));
    ok(Instant::now(), aliases_out(aliases))
}

/// `GET /collections/{name}/aliases`.
pub(super) async fn aliases(Shared(state): S, Path(name): Path<String>) -> RestResult {
    let t = Instant::now();
    let aliases = state
        .db
        .collection_aliases(&name)?
        .into_iter()
        .map(|a| (a, name.clone()))
        .collect();
    ok(t, aliases_out(aliases))
}

/// `POST /collections/aliases`.
pub(super) async fn update_aliases(
    Shared(state): S,
    Params(_): Params<TimeoutParams>,
    Body(body): Body<AliasesBody>,
) -> RestResult {
    let t = Instant::now();
    let actions: Vec<AliasAction> = body.actions.into_iter().map(Into::into).collect();
    blocking(move || change_aliases(&state.db, actions).map_err(RestError::from)).await?;
    ok(t, true)
}

/// `GET /collections/{name}`.
pub(super) async fn get_info(Shared(state): S, Path(name): Path<String>) -> RestResult {
    let t = Instant::now();
    let info = blocking(move || {
        let c = state.collection(&name)?;
        Ok(output::collection_info(&c.info(), &state.meta_of(&c)))
    })
    .await?;
    ok(t, info)
}

/// `PUT /collections/{name}`.
pub(super) async fn create(
    Shared(state): S,
    Path(name): Path<String>,
    Params(_): Params<TimeoutParams>,
    Body(body): Body<CreateCollectionBody>,
) -> RestResult {
    let t = Instant::now();
    let (config, meta) = body.into_config()?;
    blocking(move || Ok(state.create_collection(&name, config, meta)?)).await?;
    ok(t, true)
}

/// `PATCH /collections/{name}`: quantization changes (the collection's and
/// each vector's), and the settings that are only echoed; HNSW and other
/// vector changes are refused as over gRPC.
pub(super) async fn update(
    Shared(state): S,
    Path(name): Path<String>,
    Params(_): Params<TimeoutParams>,
    Body(body): Body<UpdateCollectionBody>,
) -> RestResult {
    let t = Instant::now();
    let c = state.collection(&name)?;
    let given = |v: &Option<serde_json::Value>| v.as_ref().is_some_and(|v| !v.is_null());
    if given(&body.hnsw_config) {
        return Err(RestError::unsupported(
            "changing the HNSW parameters of an existing collection",
        ));
    }
    // per vector, only the quantization can change
    let mut vectors = std::collections::BTreeMap::new();
    for (name, diff) in body.vectors.clone().unwrap_or_default() {
        let field = |k: &str| diff.get(k).filter(|v| !v.is_null()).cloned();
        if field("hnsw_config").is_some() || field("on_disk").is_some() {
            return Err(RestError::unsupported(
                "changing the HNSW or on_disk parameters of an existing vector",
            ));
        }
        if let Some(q) = field("quantization_config") {
            vectors.insert(name, quantization_diff_from_json(q)?);
        }
    }
    let collection = body
        .quantization_config
        .clone()
        .filter(|v| !v.is_null())
        .map(quantization_diff_from_json)
        .transpose()?;
    if collection.is_some() || !vectors.is_empty() {
        let c = Arc::clone(&c);
        blocking(move || Ok(c.update_quantization(collection, &vectors)?)).await?;
    }
    if body.sparse_vectors.as_ref().is_some_and(|s| !s.is_empty()) {
        return Err(RestError::unsupported(
            "changing the sparse vector parameters of an existing collection",
        ));
    }
    if let Some(diff) = &body.strict_mode_config {
        let merged = StrictModeConfig::of(&c).merged(diff);
        state.strict.set(&c, merged)?;
    }
    if let Some(m) = body.metadata {
        state.add_metadata(&c, crate::rest::models::metadata_to_proto(m))?;
    }
    let mut metas = state.meta.write();
    let meta = metas.entry(c.name().to_string()).or_default();
    if let Some(o) = body.optimizers_config {
        crate::grpc::convert::collection::merge_optimizers(&mut meta.optimizers, o.into_proto());
    }
    if let Some(b) = body.params.and_then(|p| p.on_disk_payload) {
        meta.on_disk_payload = b;
    }
    drop(metas);
    ok(t, true)
}

/// `DELETE /collections/{name}`: `false` if there was none, as Qdrant.
pub(super) async fn remove(
    Shared(state): S,
    Path(name): Path<String>,
    Params(_): Params<TimeoutParams>,
) -> RestResult {
    let t = Instant::now();
    let existed = blocking(move || {
        let existed = state.db.delete_collection(&name);
        state.meta.write().remove(&name);
        Ok(existed)
    })
    .await?;
    ok(t, existed)
}

/// `GET /collections/{name}/exists`.
pub(super) async fn exists(Shared(state): S, Path(name): Path<String>) -> RestResult {
    ok(
        Instant::now(),
        json!({ "exists": state.db.collection_exists(&name) }),
    )
}

/// `GET /collections/{name}/cluster`: one node, one local shard.
pub(super) async fn cluster(Shared(state): S, Path(name): Path<String>) -> RestResult {
    let t = Instant::now();
    let c = state.collection(&name)?;
    ok(
        t,
        json!({
            "peer_id": 0,
            "shard_count": 1,
            "local_shards": [{"shard_id": 0, "points_count": c.count(), "state": "Active"}],
            "remote_shards": [],
            "shard_transfers": [],
        }),
    )
}

async fn index_write(state: Arc<State>, name: String, p: WriteParams, op: WriteOp) -> RestResult {
    let t = Instant::now();
    let wait = p.wait()?;
    let r = blocking(move || {
        let c = state.collection(&name)?;
        crate::strict::check_write(&state.strict, &c, &op, p.timeout)?;
        Ok(op.apply(&c, wait)?)
    })
    .await?;
    ok(t, output::update(r, wait))
}

/// `PUT /collections/{name}/index`.
pub(super) async fn create_index(
    Shared(state): S,
    Path(name): Path<String>,
    Params(p): Params<WriteParams>,
    Body(body): Body<CreateIndexBody>,
) -> RestResult {
    let (key, params) = body.into_parts()?;
    let op = WriteOp::Engine(UpdateOperation::CreateFieldIndex { key, params });
    index_write(state, name, p, op).await
}

/// `DELETE /collections/{name}/index/{field}`.
pub(super) async fn delete_index(
    Shared(state): S,
    Path((name, field)): Path<(String, String)>,
    Params(p): Params<WriteParams>,
) -> RestResult {
    let key = field.parse().map_err(RestError::wrong)?;
    index_write(
        state,
        name,
        p,
        WriteOp::Engine(UpdateOperation::DeleteFieldIndex(key)),
    )
    .await
}

/// `GET /collections/{name}/shards`: no custom shard keys on one node.
pub(super) async fn shard_keys(Shared(state): S, Path(name): Path<String>) -> RestResult {
    let t = Instant::now();
    state.collection(&name)?;
    ok(t, json!({ "shard_keys": null }))
}

/// Shard key creation and deletion: custom sharding is not served.
pub(super) async fn shards_refused() -> RestError {
    RestError::unsupported("custom sharding")
}

/// Adding or removing a named vector of an existing collection.
pub(super) async fn vector_name_refused() -> RestError {
    RestError::unsupported("adding or removing vectors of an existing collection")
}

/// `GET /collections/{name}/optimizations`: nothing is pending (indexing
/// runs in the background and is reported in `indexed_vectors_count`).
pub(super) async fn optimizations(Shared(state): S, Path(name): Path<String>) -> RestResult {
    let t = Instant::now();
    state.collection(&name)?;
    ok(t, json!({ "running": [], "queued": [], "completed": [] }))
}
