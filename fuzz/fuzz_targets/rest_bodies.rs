//! Arbitrary bytes as the JSON body of each REST endpoint that takes one,
//! sent through the whole REST application in-process (routing, body
//! decoding, conversion into the shared request layer, the engine, the
//! JSON answer) against a small collection. Nothing may panic and no
//! answer may be a 500: bad input is a 4xx with a message (or a 501 for
//! what is recognised but not served), never a crash.
//!
//! The first byte picks the endpoint (`ENDPOINTS`, modulo its length);
//! the rest is the body. `f` is a collection of four points with
//! payloads, a 3-d Cosine unnamed vector and a 3-d Dot multivector `mv`; `g` (2-d, Dot) is there for `lookup_from` and
//! `with_lookup` to find.

#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use vicinity::{CollectionConfig, Database, Distance, HnswConfig, PointStruct, VectorParams};
use vicinity_server::rest::{RestConfig, router};
use vicinity_server::state::State;
use vicinity_server::ApiKeys;

/// Every endpoint with a JSON body (snapshot uploads are multipart and
/// have their own decoder).
const ENDPOINTS: &[(Method, &str)] = &[
    (Method::PUT, "/collections/n"),
    (Method::PATCH, "/collections/f"),
    (Method::POST, "/collections/aliases"),
    (Method::PUT, "/collections/f/index?wait=true"),
    (Method::PUT, "/collections/f/points?wait=true"),
    (Method::POST, "/collections/f/points"),
    (Method::POST, "/collections/f/points/delete?wait=true"),
    (Method::PUT, "/collections/f/points/vectors?wait=true"),
    (Method::POST, "/collections/f/points/vectors/delete?wait=true"),
    (Method::POST, "/collections/f/points/payload?wait=true"),
    (Method::PUT, "/collections/f/points/payload?wait=true"),
    (Method::POST, "/collections/f/points/payload/delete?wait=true"),
    (Method::POST, "/collections/f/points/payload/clear?wait=true"),
    (Method::POST, "/collections/f/points/batch?wait=true"),
    (Method::POST, "/collections/f/points/scroll"),
    (Method::POST, "/collections/f/points/count"),
    (Method::POST, "/collections/f/facet"),
    (Method::POST, "/collections/f/points/query"),
    (Method::POST, "/collections/f/points/query/batch"),
    (Method::POST, "/collections/f/points/query/groups"),
    (Method::POST, "/collections/f/points/search"),
    (Method::POST, "/collections/f/points/search/batch"),
    (Method::POST, "/collections/f/points/search/groups"),
    (Method::POST, "/collections/f/points/recommend"),
    (Method::POST, "/collections/f/points/recommend/batch"),
    (Method::POST, "/collections/f/points/recommend/groups"),
    (Method::POST, "/collections/f/points/discover"),
    (Method::POST, "/collections/f/points/discover/batch"),
    (Method::POST, "/collections/f/points/search/matrix/pairs"),
    (Method::POST, "/collections/f/points/search/matrix/offsets"),
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn database() -> Database {
    let db = Database::new();
    let hnsw = HnswConfig { m: 4, ef_construct: 8, full_scan_threshold: 0, ..HnswConfig::default() };
    // the unnamed vector, and a multivector "mv"
    let config = CollectionConfig::named([
        ("", VectorParams::new(3, Distance::Cosine)),
        ("mv", VectorParams::new(3, Distance::Dot).with_multivector()),
    ]);
    let f = db.create_collection("f", config.with_hnsw(hnsw)).unwrap();
    let _ = f.upsert(
        (1..=4u64)
            .map(|i| {
                let payload = serde_json::json!({"n": i, "brand": format!("b{}", i % 2)});
                PointStruct::new(i, vec![i as f32, 1.0, 0.0], payload.try_into().unwrap())
            })
            .collect(),
    );
    let g = db.create_collection("g", CollectionConfig::single(2, Distance::Dot)).unwrap();
    let _ = g.upsert(
        (1..=3u64)
            .map(|i| PointStruct::new(i, vec![i as f32, -1.0], Default::default()))
            .collect(),
    );
    db
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let (method, path) = &ENDPOINTS[kind as usize % ENDPOINTS.len()];
    let state = State::with_database(database());
    let app = router(Arc::new(ApiKeys::default()), state, &RestConfig::default());
    let req = Request::builder()
        .method(method.clone())
        .uri(*path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let resp = runtime().block_on(app.oneshot(req)).unwrap();
    let status = resp.status();
    let bytes = runtime()
        .block_on(axum::body::to_bytes(resp.into_body(), usize::MAX))
        .unwrap();
    let answer: serde_json::Value =
        serde_json::from_slice(&bytes).expect("every answer is JSON");
    assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "{method} {path}: {status} {answer}"
    );
    // an error carries its message where the clients read it
    if !status.is_success() {
        assert!(answer["status"]["error"].is_string(), "{answer}");
    }
});
