//! One state behind two protocols: what is written over gRPC is read over
//! REST and the other way round; CORS, trailing slashes, snapshots and
//! the metrics of both ports.

use qdrant_client::Qdrant;
use qdrant_client::qdrant::{
    CreateCollectionBuilder, Distance, GetPointsBuilder, PointStruct, QueryPointsBuilder,
    UpsertPointsBuilder, VectorParamsBuilder,
};
use vicinity_server::testing::TestServer;

use crate::http::{get, json, send};

fn grpc(s: &TestServer) -> Qdrant {
    Qdrant::from_url(&s.grpc_url())
        .skip_compatibility_check()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn written_over_one_protocol_read_over_the_other() {
    let s = TestServer::start().await.unwrap();
    let addr = s.http_addr();
    let g = grpc(&s);
    // a collection made over gRPC, points written over both
    g.create_collection(
        CreateCollectionBuilder::new("x")
            .vectors_config(VectorParamsBuilder::new(2, Distance::Dot)),
    )
    .await
    .unwrap();
    g.upsert_points(
        UpsertPointsBuilder::new(
            "x",
            vec![PointStruct::new(
                1,
                vec![1.0, 0.0],
                [("via", "grpc".into())],
            )],
        )
        .wait(true),
    )
    .await
    .unwrap();
    let r = json(
        addr,
        "PUT",
        "/collections/x/points?wait=true",
        r#"{"points": [{"id": 2, "vector": [0.0, 1.0], "payload": {"via": "rest"}}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["status"], "completed");

    // REST reads the gRPC point
    let r = get(addr, "/collections/x/points/1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["payload"]["via"], "grpc");
    assert_eq!(r.json()["result"]["vector"], serde_json::json!([1.0, 0.0]));
    let r = json(
        addr,
        "POST",
        "/collections/x/points/query",
        r#"{"query": [1.0, 0.5], "with_payload": true}"#,
    )
    .await;
    let hits = &r.json()["result"]["points"];
    assert_eq!(hits[0]["id"], 1);
    assert_eq!(hits[1]["payload"]["via"], "rest");
    assert!((hits[1]["score"].as_f64().unwrap() - 0.5).abs() < 1e-6);
    // gRPC reads the REST point
    let got = g
        .get_points(GetPointsBuilder::new("x", vec![2.into()]).with_payload(true))
        .await
        .unwrap();
    assert_eq!(
        got.result[0].payload["via"].as_str().map(String::as_str),
        Some("rest")
    );
    let hits = g
        .query(QueryPointsBuilder::new("x").query(vec![0.0, 1.0]))
        .await
        .unwrap();
    assert_eq!(hits.result.len(), 2);

    // both report the same collection
    let info = get(addr, "/collections/x").await.json();
    assert_eq!(info["result"]["points_count"], 2);
    assert_eq!(
        info["result"]["config"]["params"]["vectors"]["distance"],
        "Dot"
    );
    assert_eq!(
        g.collection_info("x")
            .await
            .unwrap()
            .result
            .unwrap()
            .points_count,
        Some(2)
    );

    // a missing point over REST is a 404
    let r = get(addr, "/collections/x/points/77").await;
    assert_eq!(r.status, 404);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_trailing_slashes_and_the_envelope() {
    let s = TestServer::start().await.unwrap();
    let addr = s.http_addr();
    // a browser's preflight
    let r = send(
        addr,
        "OPTIONS",
        "/collections",
        None,
        &[
            ("origin", "http://app.example"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type,api-key"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("PUT"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,api-key")
    );
    // and the request itself
    let r = send(
        addr,
        "GET",
        "/collections",
        None,
        &[("origin", "http://app.example")],
        b"",
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    // a trailing slash is the same endpoint
    let r = get(addr, "/collections/").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert!(v["time"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["result"]["collections"], serde_json::json!([]));
    // the service endpoints
    let root = get(addr, "/").await.json();
    assert_eq!(root["title"], "qdrant - vector search engine");
    assert_eq!(get(addr, "/healthz").await.body, "healthz check passed");
    assert_eq!(get(addr, "/livez").await.body, "livez check passed");
    let t = get(addr, "/telemetry").await.json();
    assert_eq!(t["result"]["app"]["version"], root["version"]);
    assert_eq!(
        get(addr, "/cluster").await.json()["result"]["status"],
        "disabled"
    );
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_both_protocols() {
    let s = TestServer::start().await.unwrap();
    let addr = s.http_addr();
    let g = grpc(&s);
    g.create_collection(
        CreateCollectionBuilder::new("m")
            .vectors_config(VectorParamsBuilder::new(2, Distance::Cosine)),
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let r = json(
            addr,
            "POST",
            "/collections/m/points/query",
            r#"{"query": [1.0, 0.0]}"#,
        )
        .await;
        assert_eq!(r.status, 200);
    }
    json(
        addr,
        "POST",
        "/collections/m/points/query",
        r#"{"query": [1.0]}"#,
    )
    .await;
    g.query(QueryPointsBuilder::new("m").query(vec![1.0, 0.0]))
        .await
        .unwrap();
    let text = get(addr, "/metrics").await.body;
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(line("collections_total "), "1");
    assert_eq!(
        line(
            r#"rest_responses_total{method="POST",endpoint="/collections/{name}/points/query",status="200"}"#
        ),
        "3"
    );
    assert_eq!(
        line(
            r#"rest_responses_total{method="POST",endpoint="/collections/{name}/points/query",status="400"}"#
        ),
        "1"
    );
    assert_eq!(
        line(r#"grpc_responses_total{endpoint="/qdrant.Points/Query"}"#),
        "1"
    );
    assert!(text.contains("rest_responses_duration_seconds_bucket"));
    assert!(text.contains("grpc_responses_duration_seconds_bucket"));
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_over_rest() {
    let dir = tempfile::tempdir().unwrap();
    let state =
        vicinity_server::State::with_database(vicinity::Database::open(dir.path()).unwrap());
    let s = TestServer::start_on(state).await.unwrap();
    let addr = s.http_addr();
    json(
        addr,
        "PUT",
        "/collections/s",
        r#"{"vectors": {"size": 2, "distance": "Dot"}}"#,
    )
    .await;
    json(
        addr,
        "PUT",
        "/collections/s/points?wait=true",
        r#"{"points": [{"id": 1, "vector": [1, 2], "payload": {"k": "v"}}]}"#,
    )
    .await;
    let r = json(addr, "POST", "/collections/s/snapshots?wait=true", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let name = r.json()["result"]["name"].as_str().unwrap().to_string();
    let listed = get(addr, "/collections/s/snapshots").await.json();
    assert_eq!(listed["result"][0]["name"], name.as_str());
    // download it
    let file = send(
        addr,
        "GET",
        &format!("/collections/s/snapshots/{name}"),
        None,
        &[],
        b"",
    )
    .await;
    assert_eq!(file.status, 200);
    let path = dir.path().join("snapshots").join("s").join(&name);
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(
        listed["result"][0]["size"].as_u64(),
        Some(on_disk.len() as u64)
    );
    assert_eq!(file.body, String::from_utf8_lossy(&on_disk));
    // change the data, then recover from the file on disk
    json(
        addr,
        "POST",
        "/collections/s/points/delete?wait=true",
        r#"{"points": [1]}"#,
    )
    .await;
    let body = serde_json::json!({ "location": format!("file://{}", path.display()) }).to_string();
    let r = json(addr, "PUT", "/collections/s/snapshots/recover", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(addr, "/collections/s/points/1").await.json()["result"]["payload"]["k"],
        "v"
    );
    // upload it as a multipart form into another collection
    let bytes = std::fs::read(&path).unwrap();
    let mut form = Vec::new();
    form.extend_from_slice(b"--XyZ\r\ncontent-disposition: form-data; name=\"snapshot\"; filename=\"s.snapshot\"\r\ncontent-type: application/octet-stream\r\n\r\n");
    form.extend_from_slice(&bytes);
    form.extend_from_slice(b"\r\n--XyZ--\r\n");
    let r = send(
        addr,
        "POST",
        "/collections/t/snapshots/upload",
        Some("multipart/form-data; boundary=XyZ"),
        &[],
        &form,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(addr, "/collections/t/points/1").await.json()["result"]["payload"]["k"],
        "v"
    );
    // recover from a URL: this server's own download link, as one node
    // recovers from another's
    let url = format!("http://{addr}/collections/s/snapshots/{name}");
    let body = serde_json::json!({ "location": url }).to_string();
    let r = json(addr, "PUT", "/collections/w/snapshots/recover", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(addr, "/collections/w/points/1").await.json()["result"]["payload"]["k"],
        "v"
    );
    // a URL that is not there: the download's error, and no collection
    let url = format!("http://{addr}/collections/s/snapshots/missing.snapshot");
    let body = serde_json::json!({ "location": url }).to_string();
    let r = json(addr, "PUT", "/collections/x/snapshots/recover", &body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let msg = r.json()["status"]["error"].as_str().unwrap().to_string();
    assert!(
        msg.contains("Failed to download snapshot") && msg.contains("404"),
        "{msg}"
    );
    assert_eq!(
        get(addr, "/collections/x/exists").await.json()["result"]["exists"],
        false
    );
    // a checksum that does not match is refused
    let body =
        serde_json::json!({ "location": path.display().to_string(), "checksum": "00" }).to_string();
    let r = json(addr, "PUT", "/collections/u/snapshots/recover", &body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // delete it
    let r = send(
        addr,
        "DELETE",
        &format!("/collections/s/snapshots/{name}"),
        None,
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        get(addr, "/collections/s/snapshots").await.json()["result"],
        serde_json::json!([])
    );
    // full-storage snapshots: create, list, download, delete
    let r = json(
        addr,
        "POST",
        "/collections/aliases",
        r#"{"actions": [{"create_alias": {"collection_name": "t", "alias_name": "live"}}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = json(addr, "POST", "/snapshots?wait=true", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let full = r.json()["result"]["name"].as_str().unwrap().to_string();
    assert!(full.starts_with("full-snapshot-"), "{full}");
    let listed = get(addr, "/snapshots").await.json();
    assert_eq!(listed["result"][0]["name"], full.as_str());
    let file = send(addr, "GET", &format!("/snapshots/{full}"), None, &[], b"").await;
    assert_eq!(file.status, 200);
    assert_eq!(
        listed["result"][0]["size"].as_u64(),
        Some(file.raw.len() as u64)
    );
    // what it holds: recovered into a fresh database
    let copy = dir.path().join("full-copy.snapshot");
    std::fs::write(&copy, &file.raw).unwrap();
    let fresh = vicinity::Database::new();
    fresh.restore_full_snapshot(&copy, false).unwrap();
    assert_eq!(fresh.list_collections(), vec!["s", "t", "w"]);
    assert_eq!(fresh.collection("live").unwrap().name(), "t");
    let r = send(
        addr,
        "DELETE",
        &format!("/snapshots/{full}?wait=true"),
        None,
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(addr, "/snapshots").await.json()["result"],
        serde_json::json!([])
    );
    let r = send(
        addr,
        "DELETE",
        &format!("/snapshots/{full}"),
        None,
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(get(addr, &format!("/snapshots/{full}")).await.status, 404);
    s.stop().await.unwrap();
}
