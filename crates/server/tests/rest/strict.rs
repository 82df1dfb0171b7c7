//! Strict mode over both protocols: the limits Qdrant enforces, refused
//! with its words; changed with update; kept across a restart.

use qdrant_client::Qdrant;
use qdrant_client::qdrant::{QueryPointsBuilder, SearchPointsBuilder};
use serde_json::json;
use vicinity_server::State;
use vicinity_server::testing::TestServer;

use crate::http::{get, json};

fn grpc(s: &TestServer) -> Qdrant {
    Qdrant::from_url(&s.grpc_url())
        .skip_compatibility_check()
        .build()
        .unwrap()
}

const PREFIX: &str = "Bad request: ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_refuses_what_qdrant_refuses() {
    let s = TestServer::start().await.unwrap();
    let addr = s.http_addr();
    let r = json(
        addr,
        "PUT",
        "/collections/s",
        r#"{"vectors": {"size": 2, "distance": "Dot"},
            "strict_mode_config": {"enabled": true, "max_query_limit": 10,
              "unindexed_filtering_retrieve": false, "unindexed_filtering_update": false,
              "search_allow_exact": false, "upsert_max_batchsize": 3,
              "filter_max_conditions": 2, "condition_max_size": 3,
              "max_points_count": 4, "search_max_hnsw_ef": 50,
              "search_max_batchsize": 2, "search_max_oversampling": 2.0,
              "max_timeout": 10, "max_payload_index_count": 1}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let info = get(addr, "/collections/s").await.json();
    let echoed = &info["result"]["config"]["strict_mode_config"];
    assert_eq!(echoed["enabled"], true);
    assert_eq!(echoed["max_query_limit"], 10);
    assert_eq!(echoed["search_max_oversampling"], 2.0);
    assert!(echoed.get("read_rate_limit").is_none(), "{echoed}");

    let refused = |r: crate::http::Reply, what: &str| {
        assert_eq!(r.status, 400, "{}", r.body);
        let e = r.error();
        assert!(e.starts_with(PREFIX), "{e}");
        assert!(e.contains(what), "{e} lacks {what}");
    };
    // batch size, then the points count (reached, not exceeded)
    let upsert = |ids: std::ops::Range<u64>| {
        let points: Vec<_> = ids
            .map(|i| json!({"id": i, "vector": [1.0, i as f32], "payload": {"brand": "b", "n": i}}))
            .collect();
        json!({ "points": points }).to_string()
    };
    let r = json(
        addr,
        "PUT",
        "/collections/s/points?wait=true",
        &upsert(0..4),
    )
    .await;
    refused(r, "Limit exceeded 4 > 3 for \"upsert limit\"");
    for chunk in [0..3, 3..4] {
        let r = json(
            addr,
            "PUT",
            "/collections/s/points?wait=true",
            &upsert(chunk),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = json(
        addr,
        "PUT",
        "/collections/s/points?wait=true",
        &upsert(4..5),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.error(),
        "Bad request: Max points count limit of 4 reached!"
    );

    let q = |body: &str| {
        let body = body.to_string();
        async move { json(addr, "POST", "/collections/s/points/query", &body).await }
    };
    refused(
        q(r#"{"query": [1, 0], "limit": 11}"#).await,
        "Limit exceeded 11 > 10 for \"limit\". Help: Reduce the \"limit\" parameter to or below 10.",
    );
    assert_eq!(q(r#"{"query": [1, 0], "limit": 10}"#).await.status, 200);
    refused(
        q(r#"{"query": [1, 0], "params": {"exact": true}}"#).await,
        "Exact search disabled!. Help: Set exact=false.",
    );
    refused(
        q(r#"{"query": [1, 0], "params": {"hnsw_ef": 51}}"#).await,
        "for \"hnsw_ef\"",
    );
    refused(
        q(r#"{"query": [1, 0], "params": {"quantization": {"oversampling": 3.0}}}"#).await,
        "for \"oversampling\"",
    );
    // a prefetch's limit is checked too
    refused(
        q(r#"{"prefetch": {"query": [1, 0], "limit": 50}, "query": {"fusion": "rrf"}}"#).await,
        "Limit exceeded 50 > 10",
    );
    // filters: indexed keys only, counted and sized
    let brand = r#"{"must": [{"key": "brand", "match": {"value": "b"}}]}"#;
    refused(
        q(&format!(r#"{{"query": [1, 0], "filter": {brand}}}"#)).await,
        "Index required but not found for \"brand\" of one of the following types: [keyword]. Help: Create an index for this key or use a different filter.",
    );
    let r = json(
        addr,
        "POST",
        "/collections/s/points/delete?wait=true",
        &format!(r#"{{"filter": {brand}}}"#),
    )
    .await;
    refused(r, "Index required but not found for \"brand\"");
    let r = json(
        addr,
        "PUT",
        "/collections/s/index?wait=true",
        r#"{"field_name": "brand", "field_schema": "keyword"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = json(
        addr,
        "PUT",
        "/collections/s/index?wait=true",
        r#"{"field_name": "n", "field_schema": "integer"}"#,
    )
    .await;
    refused(
        r,
        "Collection already has the maximum number of payload indices (1)",
    );
    assert_eq!(
        q(&format!(r#"{{"query": [1, 0], "filter": {brand}}}"#))
            .await
            .status,
        200
    );
    refused(
        q(r#"{"query": [1, 0], "filter": {"must": [
            {"key": "brand", "match": {"value": "b"}},
            {"key": "brand", "match": {"value": "c"}},
            {"key": "brand", "match": {"value": "d"}}]}}"#)
        .await,
        "Filter condition limit reached (3 > 2)",
    );
    refused(
        q(r#"{"query": [1, 0], "filter": {"must": [
            {"key": "brand", "match": {"any": ["a", "b", "c", "d"]}}]}}"#)
        .await,
        "Condition size limit reached (4 > 3)",
    );
    // a count is exact unless told otherwise: refused while exact search is
    let r = json(addr, "POST", "/collections/s/points/count", "{}").await;
    refused(r, "Exact search disabled!");
    let r = json(
        addr,
        "POST",
        "/collections/s/points/count",
        r#"{"exact": false}"#,
    )
    .await;
    assert_eq!(r.json()["result"]["count"], 4);
    // timeout and batch size
    refused(
        json(
            addr,
            "POST",
            "/collections/s/points/query?timeout=60",
            r#"{"query": [1, 0]}"#,
        )
        .await,
        "for \"timeout\"",
    );
    let r = json(
        addr,
        "POST",
        "/collections/s/points/search/batch",
        r#"{"searches": [{"vector": [1, 0], "limit": 1}, {"vector": [1, 0], "limit": 1},
                         {"vector": [1, 0], "limit": 1}]}"#,
    )
    .await;
    refused(r, "Limit exceeded 3 > 2 for \"search batch size\"");

    // gRPC refuses the same, with the same words
    let g = grpc(&s);
    let e = g
        .query(QueryPointsBuilder::new("s").query(vec![1.0, 0.0]).limit(11))
        .await
        .unwrap_err();
    let status = match e {
        qdrant_client::QdrantError::ResponseError { status } => status,
        other => panic!("{other}"),
    };
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "Bad request: Limit exceeded 11 > 10 for \"limit\". Help: Reduce the \"limit\" parameter to or below 10."
    );
    let ok = g
        .search_points(SearchPointsBuilder::new("s", vec![1.0, 0.0], 5))
        .await
        .unwrap();
    assert_eq!(ok.result.len(), 4);

    // update raises a limit; disabling lifts them all
    let r = json(
        addr,
        "PATCH",
        "/collections/s",
        r#"{"strict_mode_config": {"max_query_limit": 50}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(q(r#"{"query": [1, 0], "limit": 11}"#).await.status, 200);
    refused(
        q(r#"{"query": [1, 0], "params": {"exact": true}}"#).await,
        "Exact search disabled!",
    );
    let info = get(addr, "/collections/s").await.json();
    assert_eq!(
        info["result"]["config"]["strict_mode_config"]["search_allow_exact"],
        false
    );
    let r = json(
        addr,
        "PATCH",
        "/collections/s",
        r#"{"strict_mode_config": {"enabled": false}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = q(r#"{"query": [1, 0], "limit": 100, "params": {"exact": true}}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // a bad limit is a validation error
    let r = json(
        addr,
        "PATCH",
        "/collections/s",
        r#"{"strict_mode_config": {"max_query_limit": 0}}"#,
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_on_rest_and_resource_exhausted_on_grpc() {
    let s = TestServer::start().await.unwrap();
    let addr = s.http_addr();
    let r = json(
        addr,
        "PUT",
        "/collections/r",
        r#"{"vectors": {"size": 2, "distance": "Dot"},
            "strict_mode_config": {"enabled": true, "read_rate_limit": 3, "write_rate_limit": 2}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = json(
        addr,
        "PUT",
        "/collections/r/points?wait=true",
        r#"{"points": [{"id": 1, "vector": [1, 0]}, {"id": 2, "vector": [0, 1]}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = json(
        addr,
        "PUT",
        "/collections/r/points?wait=true",
        r#"{"points": [{"id": 3, "vector": [1, 0]}]}"#,
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(
        r.error().starts_with(
            "Rate limiting exceeded: Write rate limit exceeded: Operation requires 1 tokens"
        ),
        "{}",
        r.error()
    );
    for _ in 0..3 {
        let r = json(
            addr,
            "POST",
            "/collections/r/points/query",
            r#"{"query": [1, 0]}"#,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = json(
        addr,
        "POST",
        "/collections/r/points/query",
        r#"{"query": [1, 0]}"#,
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let e = grpc(&s)
        .search_points(SearchPointsBuilder::new("r", vec![1.0, 0.0], 1))
        .await
        .unwrap_err();
    match e {
        qdrant_client::QdrantError::ResponseError { status } => {
            assert_eq!(status.code(), tonic::Code::ResourceExhausted);
            assert!(status.message().contains("Read rate limit exceeded"));
        }
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_and_metadata_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = vicinity::Database::open(dir.path()).unwrap();
        let s = TestServer::start_on(State::with_database(db))
            .await
            .unwrap();
        let r = json(
            s.http_addr(),
            "PUT",
            "/collections/p",
            r#"{"vectors": {"size": 2, "distance": "Dot"}, "metadata": {"team": "ads"},
                "strict_mode_config": {"enabled": true, "max_query_limit": 2}}"#,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        s.stop().await.unwrap();
    }
    let db = vicinity::Database::open(dir.path()).unwrap();
    let s = TestServer::start_on(State::with_database(db))
        .await
        .unwrap();
    let info = get(s.http_addr(), "/collections/p").await.json();
    assert_eq!(info["result"]["config"]["metadata"]["team"], "ads");
    assert_eq!(
        info["result"]["config"]["strict_mode_config"]["max_query_limit"],
        2
    );
    let r = json(
        s.http_addr(),
        "POST",
        "/collections/p/points/query",
        r#"{"query": [1, 0], "limit": 3}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collection_count_and_deep_filters_are_bounded() {
    let state = State::new();
    state.set_max_collections(Some(2));
    let s = TestServer::start_on(state).await.unwrap();
    let addr = s.http_addr();
    let body = r#"{"vectors": {"size": 2, "distance": "Dot"}}"#;
    for name in ["a", "b"] {
        let r = json(addr, "PUT", &format!("/collections/{name}"), body).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = json(addr, "PUT", "/collections/c", body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.error(),
        "Bad request: Can't create collection with name c. Max collections limit reached: 2"
    );
    // an existing name is still "already exists", not the limit
    let r = json(addr, "PUT", "/collections/a", body).await;
    assert_eq!(r.status, 409, "{}", r.body);
    // a filter nested far deeper than any real one is refused, not a crash
    let depth = 100_000;
    let deep = format!(
        r#"{{"query": [1, 0], "filter": {}{}}}"#,
        r#"{"must": [{"#.repeat(depth),
        "}]}".repeat(depth)
    );
    let r = json(addr, "POST", "/collections/a/points/query", &deep).await;
    assert_eq!(r.status, 400, "{}", &r.body[..r.body.len().min(300)]);
    // and the server still answers
    assert_eq!(get(addr, "/collections/a").await.status, 200);
}
