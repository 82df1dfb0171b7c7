//! A full disk under a running server: writes fail with an error, reads
//! go on, nothing acknowledged is lost, and writes work again once there
//! is space.

use std::sync::Arc;

use vicinity_server::State;
use vicinity_server::testing::TestServer;
use vicinity_storage::SimIo;

use crate::http::{get, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_serves_reads_and_recovers() {
    let io = SimIo::new();
    let db = vicinity::Database::open_with("/db", Arc::new(io.clone()), None).unwrap();
    let s = TestServer::start_on(State::with_database(db))
        .await
        .unwrap();
    let addr = s.http_addr();
    let r = json(
        addr,
        "PUT",
        "/collections/d",
        r#"{"vectors": {"size": 2, "distance": "Dot"}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let put = |id: u64| {
        let body = format!(r#"{{"points": [{{"id": {id}, "vector": [1, {id}]}}]}}"#);
        async move { json(addr, "PUT", "/collections/d/points?wait=true", &body).await }
    };
    assert_eq!(put(1).await.status, 200);

    io.fail_after(0);
    let r = put(2).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(
        r.error().contains("no space left on device"),
        "{}",
        r.error()
    );
    // reads go on
    let r = get(addr, "/collections/d/points/1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = json(
        addr,
        "POST",
        "/collections/d/points/query",
        r#"{"query": [1, 0]}"#,
    )
    .await;
    assert_eq!(r.json()["result"]["points"].as_array().unwrap().len(), 1);
    assert_eq!(get(addr, "/collections/d/points/2").await.status, 404);

    io.heal();
    assert_eq!(put(3).await.status, 200);
    s.stop().await.unwrap();

    // everything acknowledged is there after a reopen, the refused write is not
    let db = vicinity::Database::open_with("/db", Arc::new(io), None).unwrap();
    let c = db.collection("d").unwrap();
    let ids: Vec<_> = c
        .scroll(&Default::default())
        .unwrap()
        .points
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [vicinity::PointId::Num(1), vicinity::PointId::Num(3)]);
}

/// Writes beyond `max_concurrent_writes` wait for their turn, up to their
/// timeout, then get Qdrant's timeout error; reads are not held up; the
/// next write gets in once the gate frees.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_beyond_the_gate_wait_then_time_out() {
    let io = SimIo::new();
    let db = vicinity::Database::open_with("/db", Arc::new(io.clone()), None).unwrap();
    let config = vicinity_server::ServerConfig {
        grpc_port: 0,
        http_port: 0,
        max_concurrent_writes: 1,
        ..Default::default()
    };
    let s = TestServer::start_with_state(config, State::with_database(db))
        .await
        .unwrap();
    let addr = s.http_addr();
    let r = json(
        addr,
        "PUT",
        "/collections/g",
        r#"{"vectors": {"size": 2, "distance": "Dot"}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // a slow disk: a waiting write holds the gate for 2.5 s
    io.set_sync_delay(std::time::Duration::from_millis(2500));
    let slow = tokio::spawn(async move {
        json(
            addr,
            "PUT",
            "/collections/g/points?wait=true",
            r#"{"points": [{"id": 1, "vector": [1, 0]}]}"#,
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let t = std::time::Instant::now();
    let r = json(
        addr,
        "PUT",
        "/collections/g/points?timeout=1",
        r#"{"points": [{"id": 2, "vector": [0, 1]}]}"#,
    )
    .await;
    assert_eq!(r.status, 408, "{}", r.body);
    assert_eq!(r.error(), "Timeout: Operation 'update' timed out after 1s");
    assert!(t.elapsed() >= std::time::Duration::from_millis(900));
    // reads pass the gate
    let r = get(addr, "/collections/g").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(slow.await.unwrap().status, 200);
    io.set_sync_delay(std::time::Duration::ZERO);
    let r = json(
        addr,
        "PUT",
        "/collections/g/points?timeout=1",
        r#"{"points": [{"id": 2, "vector": [0, 1]}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A gRPC message over the limit is refused from its length prefix; the
/// server answers the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_grpc_message_is_refused() {
    use qdrant_client::qdrant::{
        CreateCollectionBuilder, Distance, PointStruct, UpsertPointsBuilder, VectorParamsBuilder,
    };
    let config = vicinity_server::ServerConfig {
        max_grpc_message_bytes: 1 << 20,
        ..Default::default()
    };
    let s = TestServer::start_with(config).await.unwrap();
    let g = qdrant_client::Qdrant::from_url(&s.grpc_url())
        .skip_compatibility_check()
        .build()
        .unwrap();
    g.create_collection(
        CreateCollectionBuilder::new("big")
            .vectors_config(VectorParamsBuilder::new(256, Distance::Dot)),
    )
    .await
    .unwrap();
    // 2,000 x 256 floats: about 2 MiB
    let points: Vec<PointStruct> = (0..2000u64)
        .map(|i| PointStruct::new(i, vec![0.5f32; 256], [("n", (i as i64).into())]))
        .collect();
    let e = g
        .upsert_points(UpsertPointsBuilder::new("big", points))
        .await
        .unwrap_err();
    let qdrant_client::QdrantError::ResponseError { status } = e else {
        panic!("{e}")
    };
    assert!(
        matches!(
            status.code(),
            tonic::Code::OutOfRange | tonic::Code::ResourceExhausted
        ),
        "{status:?}"
    );
    let small: Vec<PointStruct> = (0..10u64)
        .map(|i| PointStruct::new(i, vec![0.5f32; 256], [("n", (i as i64).into())]))
        .collect();
    g.upsert_points(UpsertPointsBuilder::new("big", small).wait(true))
        .await
        .unwrap();
}
