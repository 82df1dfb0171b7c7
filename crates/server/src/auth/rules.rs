//! What each request needs, for both protocols: one table per wire
//! (gRPC method paths, REST routes) mapping to [`Need`], and the other
//! collections a read may touch (`lookup_from`, `with_lookup`), which a
//! token limited to some collections must also hold. The rules and the
//! refusals are Qdrant's (its `rbac` checks): creating, changing and
//! deleting collections and aliases, full snapshots and recovery need
//! global manage access; payload indexes and snapshots of a collection
//! need write access to it and its "extras"; points reads and writes need
//! read or write access to the collection.

use http::Method;
use prost::Message;
use serde_json::Value;

use crate::pb;

/// What one request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: health checks and the root.
    Open,
    /// Global access; `manage` for changes.
    Global {
        /// Manage (write) access.
        manage: bool,
    },
    /// A listing (collections, aliases): a token limited to some
    /// collections sees only those.
    List,
    /// Access to the request's collection.
    Collection {
        /// Write access.
        write: bool,
        /// Access to snapshots, payload indexes, cluster info (not given
        /// by points-only `prw` access).
        extras: bool,
    },
}

const READ: Need = Need::Collection {
    write: false,
    extras: false,
};
const WRITE: Need = Need::Collection {
    write: true,
    extras: false,
};
const EXTRAS: Need = Need::Collection {
    write: false,
    extras: true,
};
const WRITE_EXTRAS: Need = Need::Collection {
    write: true,
    extras: true,
};
const MANAGE: Need = Need::Global { manage: true };
const GLOBAL_READ: Need = Need::Global { manage: false };

/// The need of a gRPC method (`/qdrant.Points/Upsert`). A method this
/// table does not know needs global manage access.
pub fn grpc_need(path: &str) -> Need {
    let Some((service, method)) = path.trim_start_matches('/').split_once('/') else {
        return MANAGE;
    };
    match (service, method) {
        ("qdrant.Qdrant", "HealthCheck") | ("grpc.health.v1.Health", _) => Need::Open,
        ("qdrant.Collections", "List" | "ListAliases") => Need::List,
        ("qdrant.Collections", "Get" | "CollectionExists" | "ListCollectionAliases") => READ,
        ("qdrant.Collections", "ListShardKeys") => READ,
        ("qdrant.Collections", "CollectionClusterInfo") => EXTRAS,
        ("qdrant.Collections", _) => MANAGE,
        (
            "qdrant.Points",
            "Upsert" | "Delete" | "UpdateVectors" | "DeleteVectors" | "SetPayload"
            | "OverwritePayload" | "DeletePayload" | "ClearPayload" | "UpdateBatch",
        ) => WRITE,
        ("qdrant.Points", "CreateFieldIndex" | "DeleteFieldIndex") => WRITE_EXTRAS,
        ("qdrant.Points", _) => READ,
        ("qdrant.Snapshots", "Create" | "Delete") => WRITE_EXTRAS,
        ("qdrant.Snapshots", "List") => EXTRAS,
        ("qdrant.Snapshots", "ListFull") => GLOBAL_READ,
        _ => MANAGE,
    }
}

/// The need of a REST request, and the collection its path names.
pub fn rest_need(method: &Method, path: &str) -> (Need, Option<String>) {
    let path = path.trim_end_matches('/');
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let need = match segments.as_slice() {
        [""] | ["healthz"] | ["livez"] | ["readyz"] => Need::Open,
        ["collections"] | ["aliases"] if get => Need::List,
        ["collections", "aliases"] if !get => MANAGE,
        ["snapshots", ..] if get => GLOBAL_READ,
        ["metrics"] | ["telemetry"] | ["cluster"] | ["locks"] | ["issues"] if get => GLOBAL_READ,
        ["collections", name, rest @ ..] => {
            let name = percent_decode(name);
            let need = match rest {
                [] | ["exists"] | ["aliases"] if get => READ,
                [] => MANAGE,
                ["index", ..] => WRITE_EXTRAS,
                ["snapshots", "upload" | "recover"] => MANAGE,
                ["snapshots", ..] if get => EXTRAS,
                ["snapshots", ..] => WRITE_EXTRAS,
                ["cluster"] | ["optimizations"] if get => EXTRAS,
                ["shards", ..] if get => READ,
                ["points", ..] | ["facet"] if get || (post && is_read_post(rest)) => READ,
                ["points", ..] => WRITE,
                _ => MANAGE,
            };
            return (need, Some(name));
        }
        _ => MANAGE,
    };
    (need, None)
}

/// A POST under `/collections/{name}/` that reads (search, count,
/// retrieve), as a read-only key may send.
fn is_read_post(rest: &[&str]) -> bool {
    matches!(
        rest,
        ["points"]
            | [
                "points",
                "scroll" | "count" | "search" | "recommend" | "discover" | "query"
            ]
            | [
                "points",
                "search" | "recommend" | "discover" | "query",
                "batch" | "groups"
            ]
            | ["points", "search", "matrix", "pairs" | "offsets"]
            | ["facet"]
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The collections a REST body looks points up in (`lookup_from`,
/// `with_lookup`, at any depth: prefetches, batches).
pub fn rest_lookups(body: &Value, out: &mut Vec<String>) {
    match body {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("lookup_from", Value::Object(l)) => {
                        if let Some(c) = l.get("collection").and_then(Value::as_str) {
                            out.push(c.to_string());
                        }
                    }
                    ("with_lookup", Value::String(c)) => out.push(c.clone()),
                    ("with_lookup", Value::Object(l)) => {
                        if let Some(c) = l.get("collection").and_then(Value::as_str) {
                            out.push(c.to_string());
                        }
                    }
                    _ => rest_lookups(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| rest_lookups(v, out)),
        _ => {}
    }
}

fn prefetch_lookups(p: &[pb::PrefetchQuery], out: &mut Vec<String>) {
    for q in p {
        if let Some(l) = &q.lookup_from {
            out.push(l.collection_name.clone());
        }
        prefetch_lookups(&q.prefetch, out);
    }
}

fn query_lookups(q: &pb::QueryPoints, out: &mut Vec<String>) {
    if let Some(l) = &q.lookup_from {
        out.push(l.collection_name.clone());
    }
    prefetch_lookups(&q.prefetch, out);
}

/// The collection (field 1, `collection_name` in every request Qdrant's
/// protocol scopes to a collection) and the lookup collections of a gRPC
/// request message. `None` if the message does not decode.
pub fn grpc_scope(path: &str, message: &[u8]) -> Option<(String, Vec<String>)> {
    let mut lookups = Vec::new();
    let from = |l: &Option<pb::LookupLocation>, out: &mut Vec<String>| {
        if let Some(l) = l {
            out.push(l.collection_name.clone());
        }
    };
    let with = |l: &Option<pb::WithLookup>, out: &mut Vec<String>| {
        if let Some(l) = l {
            out.push(l.collection.clone());
        }
    };
    let method = path.rsplit('/').next().unwrap_or_default();
    let name = match method {
        "Query" => {
            let r = pb::QueryPoints::decode(message).ok()?;
            query_lookups(&r, &mut lookups);
            r.collection_name
        }
        "QueryBatch" => {
            let r = pb::QueryBatchPoints::decode(message).ok()?;
            r.query_points
                .iter()
                .for_each(|q| query_lookups(q, &mut lookups));
            r.collection_name
        }
        "QueryGroups" => {
            let r = pb::QueryPointGroups::decode(message).ok()?;
            from(&r.lookup_from, &mut lookups);
            prefetch_lookups(&r.prefetch, &mut lookups);
            with(&r.with_lookup, &mut lookups);
            r.collection_name
        }
        "Recommend" => {
            let r = pb::RecommendPoints::decode(message).ok()?;
            from(&r.lookup_from, &mut lookups);
            r.collection_name
        }
        "RecommendBatch" => {
            let r = pb::RecommendBatchPoints::decode(message).ok()?;
            r.recommend_points
                .iter()
                .for_each(|q| from(&q.lookup_from, &mut lookups));
            r.collection_name
        }
        "RecommendGroups" => {
            let r = pb::RecommendPointGroups::decode(message).ok()?;
            from(&r.lookup_from, &mut lookups);
            with(&r.with_lookup, &mut lookups);
            r.collection_name
        }
        "Discover" => {
            let r = pb::DiscoverPoints::decode(message).ok()?;
            from(&r.lookup_from, &mut lookups);
            r.collection_name
        }
        "DiscoverBatch" => {
            let r = pb::DiscoverBatchPoints::decode(message).ok()?;
            r.discover_points
                .iter()
                .for_each(|q| from(&q.lookup_from, &mut lookups));
            r.collection_name
        }
        "SearchGroups" => {
            let r = pb::SearchPointGroups::decode(message).ok()?;
            with(&r.with_lookup, &mut lookups);
            r.collection_name
        }
        _ => CollectionName::decode(message).ok()?.collection_name,
    };
    Some((name, lookups))
}

/// Field 1 of any request, read as `collection_name` (the other fields
/// are skipped by the decoder).
#[derive(Clone, PartialEq, prost::Message)]
struct CollectionName {
    #[prost(string, tag = "1")]
    collection_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rest_routes() {
        let n = |m: Method, p: &str| rest_need(&m, p);
        assert_eq!(n(Method::GET, "/"), (Need::Open, None));
        assert_eq!(n(Method::GET, "/collections"), (Need::List, None));
        assert_eq!(n(Method::POST, "/collections/aliases"), (MANAGE, None));
        assert_eq!(n(Method::GET, "/collections/a"), (READ, Some("a".into())));
        assert_eq!(n(Method::PUT, "/collections/a"), (MANAGE, Some("a".into())));
        assert_eq!(
            n(Method::GET, "/collections/aliases"),
            (READ, Some("aliases".into()))
        );
        assert_eq!(
            n(
                Method::PUT,
                "/collections/a/points?wait=true".split('?').next().unwrap()
            )
            .0,
            WRITE
        );
        assert_eq!(n(Method::POST, "/collections/a/points/query").0, READ);
        assert_eq!(
            n(Method::POST, "/collections/a/points/query/groups").0,
            READ
        );
        assert_eq!(n(Method::POST, "/collections/a/points/delete").0, WRITE);
        assert_eq!(n(Method::PUT, "/collections/a/index").0, WRITE_EXTRAS);
        assert_eq!(n(Method::POST, "/collections/a/snapshots").0, WRITE_EXTRAS);
        assert_eq!(n(Method::GET, "/collections/a/snapshots").0, EXTRAS);
        assert_eq!(n(Method::PUT, "/collections/a/snapshots/recover").0, MANAGE);
        assert_eq!(n(Method::POST, "/snapshots").0, MANAGE);
        assert_eq!(n(Method::GET, "/snapshots").0, GLOBAL_READ);
        assert_eq!(n(Method::GET, "/collections/my%20c").1, Some("my c".into()));
    }

    #[test]
    fn grpc_methods_and_scopes() {
        assert_eq!(grpc_need("/qdrant.Points/Upsert"), WRITE);
        assert_eq!(grpc_need("/qdrant.Points/Query"), READ);
        assert_eq!(grpc_need("/qdrant.Collections/Create"), MANAGE);
        assert_eq!(grpc_need("/qdrant.Collections/List"), Need::List);
        assert_eq!(grpc_need("/qdrant.Qdrant/HealthCheck"), Need::Open);
        assert_eq!(grpc_need("/qdrant.Nope/X"), MANAGE);
        let q = pb::QueryPoints {
            collection_name: "a".into(),
            lookup_from: Some(pb::LookupLocation {
                collection_name: "b".into(),
                ..Default::default()
            }),
            prefetch: vec![pb::PrefetchQuery {
                lookup_from: Some(pb::LookupLocation {
                    collection_name: "c".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            grpc_scope("/qdrant.Points/Query", &q.encode_to_vec()),
            Some(("a".into(), vec!["b".into(), "c".into()]))
        );
        let up = pb::UpsertPoints {
            collection_name: "z".into(),
            wait: Some(true),
            ..Default::default()
        };
        assert_eq!(
            grpc_scope("/qdrant.Points/Upsert", &up.encode_to_vec()),
            Some(("z".into(), vec![]))
        );
    }

    #[test]
    fn rest_bodies_lookups() {
        let mut out = Vec::new();
        rest_lookups(
            &json!({"prefetch": [{"lookup_from": {"collection": "b"}}],
                    "lookup_from": {"collection": "c"}, "with_lookup": "d",
                    "searches": [{"with_lookup": {"collection": "e"}}]}),
            &mut out,
        );
        out.sort();
        assert_eq!(out, vec!["b", "c", "d", "e"]);
    }
}
