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
