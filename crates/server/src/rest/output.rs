//! Engine results in the JSON shapes of Qdrant's REST API.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use vicinity::{
    CollectionInfo, Distance, FacetHit, FacetValue, GroupId, OrderValue, Payload, PointGroup,
    PointId, Record, ScoredPoint, UpdateResult, Vector, VectorParams, Vectors,
};

use crate::pb;
use crate::state::CollectionMeta;

/// A point's vectors: the unnamed vector as a list, named ones as a map.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum VectorsOut {
    /// The unnamed vector.
    Single(Vec<f32>),
    /// The unnamed multivector.
    Multi(Vec<Vec<f32>>),
    /// Named vectors, dense or sparse.
    Named(BTreeMap<String, Vector>),
}

impl From<Vectors> for VectorsOut {
    fn from(v: Vectors) -> Self {
        match v {
            Vectors::Single(v) => VectorsOut::Single(v),
            Vectors::Named(mut m) => match m.remove(vicinity::DEFAULT_VECTOR) {
                Some(Vector::Dense(v)) if m.is_empty() => VectorsOut::Single(v),
                Some(Vector::Multi(v)) if m.is_empty() => VectorsOut::Multi(v),
                Some(other) => {
                    m.insert(vicinity::DEFAULT_VECTOR.to_string(), other);
                    VectorsOut::Named(m)
                }
                None => VectorsOut::Named(m),
            },
        }
    }
}

/// An order value: an integer or a float.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OrderValueOut {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

fn order_value(v: OrderValue) -> OrderValueOut {
    match v {
        OrderValue::Int(i) => OrderValueOut::Int(i),
        OrderValue::Float(f) => OrderValueOut::Float(f),
    }
}

/// A hit.
#[derive(Debug, Serialize)]
pub struct ScoredOut {
    /// The point.
    pub id: PointId,
    /// Its version.
    pub version: u64,
    /// Its score.
    pub score: f32,
    /// Its payload, if asked for.
    pub payload: Option<Payload>,
    /// Its vectors, if asked for.
    pub vector: Option<VectorsOut>,
    /// No shard keys on one node.
    pub shard_key: Option<Value>,
    /// Set by order_by queries.
    pub order_value: Option<OrderValueOut>,
}

impl From<ScoredPoint> for ScoredOut {
    fn from(p: ScoredPoint) -> Self {
        ScoredOut {
            id: p.id,
            version: p.version,
            score: p.score,
            payload: p.payload,
            vector: p.vectors.map(VectorsOut::from),
            shard_key: None,
            order_value: None,
        }
    }
}

/// Hits as REST sends them.
pub fn hits(points: Vec<ScoredPoint>) -> Vec<ScoredOut> {
    points.into_iter().map(ScoredOut::from).collect()
}

/// A stored point.
#[derive(Debug, Serialize)]
pub struct RecordOut {
    /// The point.
    pub id: PointId,
    /// Its payload, if asked for.
    pub payload: Option<Payload>,
    /// Its vectors, if asked for.
    pub vector: Option<VectorsOut>,
    /// No shard keys on one node.
    pub shard_key: Option<Value>,
    /// Set when scrolled by order_by.
    pub order_value: Option<OrderValueOut>,
}

impl From<Record> for RecordOut {
    fn from(r: Record) -> Self {
        RecordOut {
            id: r.id,
            payload: r.payload,
            vector: r.vectors.map(VectorsOut::from),
            shard_key: None,
            order_value: r.order_value.map(order_value),
        }
    }
}

/// Records as REST sends them.
pub fn records(records: Vec<Record>) -> Vec<RecordOut> {
    records.into_iter().map(RecordOut::from).collect()
}

/// A write's result: `completed` when the client waited.
#[derive(Debug, Serialize)]
pub struct UpdateOut {
    /// The write's sequence number.
    pub operation_id: u64,
    /// `acknowledged` or `completed`.
    pub status: &'static str,
}

/// A write's result as REST sends it.
pub fn update(r: UpdateResult, wait: bool) -> UpdateOut {
    UpdateOut {
        operation_id: r.operation_id,
        status: if wait { "completed" } else { "acknowledged" },
    }
}

/// A group id: a string or an integer.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum GroupIdOut {
    /// A keyword.
    Keyword(String),
    /// An integer.
    Integer(i64),
}

/// A group of hits.
#[derive(Debug, Serialize)]
pub struct GroupOut {
    /// The group's value.
    pub id: GroupIdOut,
    /// Its hits.
    pub hits: Vec<ScoredOut>,
    /// The looked-up point, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup: Option<RecordOut>,
}

/// Groups as REST sends them.
pub fn groups(groups: Vec<PointGroup>) -> Value {
    let groups: Vec<GroupOut> = groups
        .into_iter()
        .map(|g| GroupOut {
            id: match g.id {
                GroupId::Keyword(s) => GroupIdOut::Keyword(s),
                GroupId::Integer(i) => GroupIdOut::Integer(i),
            },
            hits: hits(g.hits),
            lookup: g.lookup.map(RecordOut::from),
        })
        .collect();
    json!({ "groups": groups })
}

/// A facet count.
#[derive(Debug, Serialize)]
pub struct FacetOut {
    /// The value.
    pub value: Value,
    /// How many points have it.
    pub count: usize,
}

/// Facet hits as REST sends them.
pub fn facet(hits: Vec<FacetHit>) -> Value {
    let hits: Vec<FacetOut> = hits
        .into_iter()
        .map(|h| FacetOut {
            value: match h.value {
                FacetValue::Keyword(s) => Value::from(s),
                FacetValue::Int(i) => Value::from(i),
                FacetValue::Bool(b) => Value::from(b),
            },
            count: h.count,
        })
        .collect();
    json!({ "hits": hits })
}

/// A snapshot as REST describes it.
pub fn snapshot(d: vicinity::SnapshotDescription) -> Value {
    // the name carries the creation time in milliseconds: <name>-<seq>-<ms>.snapshot
    let millis: i64 = d
        .name
        .trim_end_matches(".snapshot")
        .rsplit('-')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let t = crate::state::rfc3339(millis.div_euclid(1000), millis.rem_euclid(1000) as u32);
    json!({
        "name": d.name,
        // Qdrant sends a naive datetime here
        "creation_time": t.trim_end_matches('Z'),
        "size": d.size,
        "checksum": null,
    })
}

fn distance(d: Distance) -> &'static str {
    match d {
        Distance::Cosine => "Cosine",
        Distance::Euclid => "Euclid",
        Distance::Dot => "Dot",
        Distance::Manhattan => "Manhattan",
    }
}

fn hnsw(h: &vicinity::HnswConfig, extra: &pb::HnswConfigDiff) -> Value {
    let mut v = json!({
        "m": h.m,
        "ef_construct": h.ef_construct,
        "full_scan_threshold": h.full_scan_threshold,
        "max_indexing_threads": extra.max_indexing_threads.unwrap_or(0),
        "on_disk": extra.on_disk.unwrap_or(false),
    });
    if let Some(p) = extra.payload_m {
        v["payload_m"] = p.into();
    }
    v
}

fn vector_params(p: &VectorParams) -> Value {
    let mut v = json!({
        "size": p.size,
        "distance": distance(p.distance),
        "on_disk": p.on_disk.unwrap_or(false),
    });
    if let Some(h) = &p.hnsw_config {
        // a per-vector override: only the engine's fields
        v["hnsw_config"] = json!({
            "m": h.m,
            "ef_construct": h.ef_construct,
            "full_scan_threshold": h.full_scan_threshold,
        });
    }
    if let Some(q) = &p.quantization_config {
        v["quantization_config"] = json!(q);
    }
    if let Some(m) = &p.multivector_config {
        v["multivector_config"] = json!(m);
    }
    if let Some(d) = p.datatype {
        v["datatype"] = json!(d);
    }
    v
}

fn optimizers(o: &pb::OptimizersConfigDiff) -> Value {
    let threads = o
        .max_optimization_threads
        .as_ref()
        .and_then(|t| match t.variant {
            Some(pb::max_optimization_threads::Variant::Value(n)) => Some(n),
            _ => None,
        });
    json!({
        "deleted_threshold": o.deleted_threshold.unwrap_or(0.2),
        "vacuum_min_vector_number": o.vacuum_min_vector_number.unwrap_or(1000),
        "default_segment_number": o.default_segment_number.unwrap_or(0),
        "max_segment_size": o.max_segment_size,
        "memmap_threshold": o.memmap_threshold,
        "indexing_threshold": o.indexing_threshold.unwrap_or(10_000),
        "flush_interval_sec": o.flush_interval_sec.unwrap_or(5),
        "max_optimization_threads": threads,
    })
}

/// The `CollectionInfo` that the client models validate.
pub fn collection_info(info: &CollectionInfo, meta: &CollectionMeta) -> Value {
    let vectors = &info.config.vectors;
    let vectors_config = if vectors.len() == 1 && vectors.contains_key(vicinity::DEFAULT_VECTOR) {
        vector_params(&vectors[vicinity::DEFAULT_VECTOR])
    } else {
        Value::Object(
            vectors
                .iter()
                .map(|(k, p)| (k.clone(), vector_params(p)))
                .collect(),
        )
    };
    let payload_schema: serde_json::Map<String, Value> = info
        .payload_schema
        .iter()
        .map(|(key, index)| {
            use vicinity::FieldType as T;
            let data_type = match index.params.field_type {
                T::Keyword => "keyword",
                T::Integer => "integer",
                T::Float => "float",
                T::Geo => "geo",
                T::Text => "text",
                T::Bool => "bool",
                T::Datetime => "datetime",
                T::Uuid => "uuid",
            };
            (
                key.clone(),
                json!({"data_type": data_type, "points": index.points}),
            )
        })
        .collect();
    let metadata: serde_json::Map<String, Value> = meta
        .metadata
        .iter()
        .filter_map(|(k, v)| {
            crate::grpc::convert::value::json_from_proto(v.clone())
                .ok()
                .map(|v| (k.clone(), v))
        })
        .collect();
    let created = meta.created_at;
    let mut params = json!({
        "vectors": vectors_config,
        "shard_number": meta.shard_number,
        "replication_factor": 1,
        "write_consistency_factor": 1,
        "on_disk_payload": meta.on_disk_payload,
    });
    if !info.config.sparse_vectors.is_empty() {
        params["sparse_vectors"] = json!(info.config.sparse_vectors);
    }
    json!({
        "status": match info.status {
            vicinity::CollectionStatus::Green => "green",
            vicinity::CollectionStatus::Yellow => "yellow",
        },
        "optimizer_status": "ok",
        "warnings": [],
        "indexed_vectors_count": info.indexed_vectors_count,
        "points_count": info.points_count,
        "segments_count": info.segments_count,
        "config": {
            "params": params,
            "hnsw_config": hnsw(&info.config.hnsw_config, &meta.hnsw_extra),
            "optimizer_config": optimizers(&meta.optimizers),
            "wal_config": {
                "wal_capacity_mb": meta.wal.wal_capacity_mb.unwrap_or(32),
                "wal_segments_ahead": meta.wal.wal_segments_ahead.unwrap_or(0),
                "wal_retain_closed": meta.wal.wal_retain_closed.unwrap_or(1),
            },
            "quantization_config": info.config.quantization_config,
            "strict_mode_config": meta.strict_mode,
            "metadata": metadata,
        },
        "payload_schema": payload_schema,
        "update_queue": {"length": 0},
        "created_at": crate::state::rfc3339(created.seconds, (created.nanos / 1_000_000) as u32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_vector_is_a_list_named_ones_a_map() {
        let single = serde_json::to_value(VectorsOut::from(Vectors::Named(
            [(String::new(), vec![1.0].into())].into_iter().collect(),
        )))
        .unwrap();
        assert_eq!(single, json!([1.0]));
        let named = serde_json::to_value(VectorsOut::from(Vectors::Named(
            [("a".to_string(), vec![1.0].into())].into_iter().collect(),
        )))
        .unwrap();
        assert_eq!(named, json!({"a": [1.0]}));
    }

    #[test]
    fn info_echoes_config() {
        let c = vicinity::Collection::new(
            "c",
            vicinity::CollectionConfig::single(3, Distance::Dot),
            None,
        )
        .unwrap();
        let v = collection_info(&c.info(), &CollectionMeta::new());
        assert_eq!(v["config"]["params"]["vectors"]["distance"], "Dot");
        assert_eq!(v["config"]["params"]["vectors"]["size"], 3);
        assert_eq!(v["status"], "green");
        assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
    }
}
