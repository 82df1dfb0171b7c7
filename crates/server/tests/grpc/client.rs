//! The collection and point life cycle through the official Rust client
//! (qdrant-client 1.20.0): every RPC the server serves, called at least
//! once.

use std::time::Instant;

use ::qdrant_client::Payload;
use ::qdrant_client::qdrant::{
    ClearPayloadPointsBuilder, CountPointsBuilder, CreateAliasBuilder, CreateCollectionBuilder,
    DeletePayloadPointsBuilder, DeletePointVectorsBuilder, DeletePointsBuilder, Distance,
    GetPointsBuilder, NamedVectors, OptimizersConfigDiffBuilder, PointId, PointStruct,
    PointVectors, PointsIdsList, PointsUpdateOperation, QueryBatchPointsBuilder,
    QueryPointsBuilder, RenameAliasBuilder, ScrollPointsBuilder, SearchBatchPointsBuilder,
    SearchPointsBuilder, SetPayloadPointsBuilder, UpdateBatchPointsBuilder,
    UpdateCollectionBuilder, UpdatePointVectorsBuilder, UpsertPointsBuilder, VectorParamsBuilder,
    VectorParamsMap, VectorsConfig, VectorsSelector, point_id::PointIdOptions,
    points_update_operation, vectors_config,
};
use serde_json::json;
use tonic::Code;

use crate::support::{client, code, server, status};

/// JSON as a client value (the client's serde feature is off).
pub fn value(v: serde_json::Value) -> ::qdrant_client::qdrant::Value {
    use ::qdrant_client::qdrant::{ListValue, Struct, Value, value::Kind};
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Kind::IntegerValue(i),
            None => Kind::DoubleValue(n.as_f64().unwrap()),
        },
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(a) => Kind::ListValue(ListValue {
            values: a.into_iter().map(value).collect(),
        }),
        serde_json::Value::Object(m) => Kind::StructValue(Struct {
            fields: m.into_iter().map(|(k, v)| (k, value(v))).collect(),
        }),
    };
    Value { kind: Some(kind) }
}

/// A JSON object as a client payload.
pub fn payload(v: serde_json::Value) -> Payload {
    match v {
        serde_json::Value::Object(m) => Payload::from(
            m.into_iter()
                .map(|(k, v)| (k, value(v)))
                .collect::<std::collections::HashMap<String, _>>(),
        ),
        other => panic!("not an object: {other}"),
    }
}

fn ids(ids: &[u64]) -> PointsIdsList {
    PointsIdsList {
        ids: ids.iter().map(|&i| i.into()).collect(),
    }
}

fn num(id: &Option<PointId>) -> u64 {
    match id.as_ref().and_then(|p| p.point_id_options.clone()) {
        Some(PointIdOptions::Num(n)) => n,
        other => panic!("not a numeric id: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_until_first_health_check() {
    let t = Instant::now();
    let s = server().await;
    let mut c = vicinity_server::pb::qdrant_client::QdrantClient::connect(s.grpc_url())
        .await
        .unwrap();
    let reply = c
        .health_check(vicinity_server::pb::HealthCheckRequest {})
        .await
        .unwrap()
        .into_inner();
    let elapsed = t.elapsed();
    eprintln!("cold start (in-process, until the first HealthCheck answered): {elapsed:?}");
    assert_eq!(reply.version, "1.20.0");
    assert_eq!(reply.title, "qdrant - vector search engine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_version() {
    let s = server().await;
    // the compatibility check runs HealthCheck on build
    let c = ::qdrant_client::Qdrant::from_url(&s.grpc_url())
        .build()
        .unwrap();
    let h = c.health_check().await.unwrap();
    assert_eq!(h.version, "1.20.0");
    assert_eq!(h.commit, None);
    // grpc.health.v1
    let channel = tonic::transport::Channel::from_shared(s.grpc_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = vicinity_server::health_pb::health_client::HealthClient::new(channel);
    let r = health
        .check(vicinity_server::health_pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status, 1);
    let e = health
        .check(vicinity_server::health_pb::HealthCheckRequest {
            service: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_life_cycle() {
    let s = server().await;
    let c = client(&s);
    c.create_collection(
        CreateCollectionBuilder::new("products")
            .vectors_config(VectorParamsBuilder::new(3, Distance::Cosine)),
    )
    .await
    .unwrap();
    let again = status(
        c.create_collection(
            CreateCollectionBuilder::new("products")
                .vectors_config(VectorParamsBuilder::new(3, Distance::Cosine)),
        )
        .await,
    );
    assert_eq!(again.code(), Code::AlreadyExists);
    assert_eq!(
        again.message(),
        "Wrong input: Collection `products` already exists!"
    );
    assert!(c.collection_exists("products").await.unwrap());
    assert!(!c.collection_exists("nope").await.unwrap());
    let names: Vec<_> = c
        .list_collections()
        .await
        .unwrap()
        .collections
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, vec!["products"]);

    let info = c.collection_info("products").await.unwrap().result.unwrap();
    assert_eq!(info.status, 1, "Green");
    assert!(info.optimizer_status.unwrap().ok);
    assert_eq!(info.points_count, Some(0));
    let config = info.config.unwrap();
    assert_eq!(config.hnsw_config.unwrap().m, Some(16));
    assert!(config.wal_config.unwrap().wal_capacity_mb.is_some());

    c.update_collection(
        UpdateCollectionBuilder::new("products")
            .optimizers_config(OptimizersConfigDiffBuilder::default().indexing_threshold(123)),
    )
    .await
    .unwrap();
    let info = c.collection_info("products").await.unwrap().result.unwrap();
    assert_eq!(
        info.config
            .unwrap()
            .optimizer_config
            .unwrap()
            .indexing_threshold,
        Some(123)
    );

    let cluster = c.collection_cluster_info("products").await.unwrap();
    assert_eq!(cluster.shard_count, 1);
    assert_eq!(cluster.local_shards[0].points_count, 0);

    // aliases
    c.create_alias(CreateAliasBuilder::new("products", "live"))
        .await
        .unwrap();
    assert!(c.collection_info("live").await.is_ok());
    c.rename_alias(RenameAliasBuilder::new("live", "current"))
        .await
        .unwrap();
    let all = c.list_aliases().await.unwrap().aliases;
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].alias_name.as_str(), all[0].collection_name.as_str()),
        ("current", "products")
    );
    let mine = c.list_collection_aliases("products").await.unwrap().aliases;
    assert_eq!(mine.len(), 1);
    c.delete_alias("current").await.unwrap();
    assert!(c.list_aliases().await.unwrap().aliases.is_empty());
    c.create_alias(CreateAliasBuilder::new("products", "gone-with-it"))
        .await
        .unwrap();

    assert!(c.delete_collection("products").await.unwrap().result);
    assert!(!c.collection_exists("products").await.unwrap());
    assert!(!c.collection_exists("gone-with-it").await.unwrap());
    let missing = status(c.collection_info("products").await);
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        missing.message(),
        "Not found: Collection `products` doesn't exist!"
    );
    // no snapshot of a collection that is gone
    let snap = status(c.create_snapshot("products").await);
    assert_eq!(snap.code(), Code::NotFound, "{}", snap.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_on_a_durable_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = vicinity::Database::open(dir.path()).unwrap();
    let server =
        vicinity_server::testing::TestServer::start_on(vicinity_server::State::with_database(db))
            .await
            .unwrap();
    let c = ::qdrant_client::Qdrant::from_url(&server.grpc_url())
        .build()
        .unwrap();
    c.create_collection(
        CreateCollectionBuilder::new("s")
            .vectors_config(VectorParamsBuilder::new(2, Distance::Dot)),
    )
    .await
    .unwrap();
    c.upsert_points(
        UpsertPointsBuilder::new(
            "s",
            vec![PointStruct::new(1, vec![1.0, 0.0], Payload::new())],
        )
        .wait(true),
    )
    .await
    .unwrap();
    let made = c
        .create_snapshot("s")
        .await
        .unwrap()
        .snapshot_description
        .unwrap();
    assert!(made.size > 0 && made.creation_time.is_some());
    let listed = c.list_snapshots("s").await.unwrap().snapshot_descriptions;
    assert_eq!(
        listed.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
        vec![made.name.clone()]
    );
    c.delete_snapshot(::qdrant_client::qdrant::DeleteSnapshotRequestBuilder::new(
        "s",
        made.name.clone(),
    ))
    .await
    .unwrap();
    assert!(
        c.list_snapshots("s")
            .await
            .unwrap()
            .snapshot_descriptions
            .is_empty()
    );
    let gone = status(
        c.delete_snapshot(::qdrant_client::qdrant::DeleteSnapshotRequestBuilder::new(
            "s", made.name,
        ))
        .await,
    );
    assert_eq!(gone.code(), Code::NotFound);

    // full-storage snapshots
    let full = c
        .create_full_snapshot()
        .await
        .unwrap()
        .snapshot_description
        .unwrap();
    assert!(full.name.starts_with("full-snapshot-") && full.size > 0);
    let listed = c.list_full_snapshots().await.unwrap().snapshot_descriptions;
    assert_eq!(listed, vec![full.clone()]);
    let file = dir.path().join("snapshots").join(&full.name);
    let fresh = vicinity::Database::new();
    assert_eq!(
        fresh.restore_full_snapshot(&file, false).unwrap(),
        vec!["s"]
    );
    assert_eq!(fresh.collection("s").unwrap().count(), 1);
    c.delete_full_snapshot(full.name.clone()).await.unwrap();
    assert!(
        c.list_full_snapshots()
            .await
            .unwrap()
            .snapshot_descriptions
            .is_empty()
    );
    let gone = status(c.delete_full_snapshot(full.name).await);
    assert_eq!(gone.code(), Code::NotFound);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_life_cycle() {
    let s = server().await;
    let c = client(&s);
    c.create_collection(
        CreateCollectionBuilder::new("p")
            .vectors_config(VectorParamsBuilder::new(2, Distance::Dot)),
    )
    .await
    .unwrap();
    let uuid_in = "5C56C79369F34FBF87E6C4BF54C28C26";
    let points = vec![
        PointStruct::new(
            1,
            vec![1.0, 0.0],
            payload(json!({"n": 1, "f": 1.0, "s": "a"})),
        ),
        PointStruct::new(2, vec![0.0, 1.0], payload(json!({"n": 2}))),
        PointStruct::new(
            3,
            vec![0.7, 0.7],
            payload(json!({"n": 3, "nested": {"k": [1, 2]}})),
        ),
        PointStruct::new(uuid_in.to_string(), vec![0.5, 0.1], Payload::new()),
    ];
    let r = c
        .upsert_points(UpsertPointsBuilder::new("p", points).wait(true))
        .await
        .unwrap();
    assert_eq!(r.result.unwrap().status, 2, "Completed");

    // get: integers and doubles apart, canonical UUID
    let got = c
        .get_points(
            GetPointsBuilder::new("p", vec![1.into(), uuid_in.to_string().into()])
                .with_vectors(true)
                .with_payload(true),
        )
        .await
        .unwrap()
        .result;
    assert_eq!(got.len(), 2);
    use ::qdrant_client::qdrant::value::Kind;
    assert_eq!(got[0].payload["n"].kind, Some(Kind::IntegerValue(1)));
    assert_eq!(got[0].payload["f"].kind, Some(Kind::DoubleValue(1.0)));
    assert_eq!(
        got[1].id.as_ref().unwrap().point_id_options,
        Some(PointIdOptions::Uuid(
            "5c56c793-69f3-4fbf-87e6-c4bf54c28c26".into()
        ))
    );
    assert!(got[0].vectors.is_some());

    // get without with_payload: no payload, as Qdrant
    let bare = c
        .get_points(GetPointsBuilder::new("p", vec![1.into()]))
        .await
        .unwrap()
        .result;
    assert!(bare[0].payload.is_empty());

    // scroll in pages (payload by default, as Qdrant)
    let page = c
        .scroll(ScrollPointsBuilder::new("p").limit(2))
        .await
        .unwrap();
    assert_eq!(
        page.result.iter().map(|p| num(&p.id)).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(num(&page.next_page_offset), 3);
    let page2 = c
        .scroll(ScrollPointsBuilder::new("p").limit(2).offset(3))
        .await
        .unwrap();
    assert_eq!(page2.result.len(), 2);
    assert_eq!(page2.next_page_offset, None);

    assert_eq!(
        c.count(CountPointsBuilder::new("p").exact(true))
            .await
            .unwrap()
            .result
            .unwrap()
            .count,
        4
    );

    // search, search batch, query, query batch
    let hits = c
        .search_points(SearchPointsBuilder::new("p", vec![1.0, 0.0], 2).with_payload(true))
        .await
        .unwrap()
        .result;
    assert_eq!(num(&hits[0].id), 1);
    assert_eq!(hits[0].score, 1.0);
    assert!(hits[0].payload.contains_key("s"));
    let batch = c
        .search_batch_points(SearchBatchPointsBuilder::new(
            "p",
            vec![
                SearchPointsBuilder::new("p", vec![1.0, 0.0], 1).build(),
                SearchPointsBuilder::new("p", vec![0.0, 1.0], 1).build(),
            ],
        ))
        .await
        .unwrap()
        .result;
    assert_eq!(num(&batch[1].result[0].id), 2);
    let q = c
        .query(QueryPointsBuilder::new("p").query(vec![0.0, 1.0]).limit(1))
        .await
        .unwrap()
        .result;
    assert_eq!(num(&q[0].id), 2);
    // by id: the point itself is left out
    let by_id = c
        .query(
            QueryPointsBuilder::new("p")
                .query(PointId::from(1))
                .limit(2),
        )
        .await
        .unwrap()
        .result;
    assert!(by_id.iter().all(|h| h.id != Some(PointId::from(1))));
    assert_eq!(by_id.len(), 2);
    let qb = c
        .query_batch(QueryBatchPointsBuilder::new(
            "p",
            vec![
                QueryPointsBuilder::new("p")
                    .query(vec![1.0, 0.0])
                    .limit(1)
                    .build(),
            ],
        ))
        .await
        .unwrap()
        .result;
    assert_eq!(num(&qb[0].result[0].id), 1);

    // payload writes
    c.set_payload(
        SetPayloadPointsBuilder::new("p", payload(json!({"color": "red"})))
            .points_selector(ids(&[1, 2]))
            .wait(true),
    )
    .await
    .unwrap();
    c.overwrite_payload(
        SetPayloadPointsBuilder::new("p", payload(json!({"only": true})))
            .points_selector(ids(&[2]))
            .wait(true),
    )
    .await
    .unwrap();
    c.delete_payload(
        DeletePayloadPointsBuilder::new("p", vec!["s".into()])
            .points_selector(ids(&[1]))
            .wait(true),
    )
    .await
    .unwrap();
    c.clear_payload(
        ClearPayloadPointsBuilder::new("p")
            .points(ids(&[3]))
            .wait(true),
    )
    .await
    .unwrap();
    let got = c
        .get_points(
            GetPointsBuilder::new("p", vec![1.into(), 2.into(), 3.into()]).with_payload(true),
        )
        .await
        .unwrap()
        .result;
    assert_eq!(
        got[0]
            .payload
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        ["color", "f", "n"].iter().map(|s| s.to_string()).collect()
    );
    assert_eq!(got[1].payload.keys().collect::<Vec<_>>(), vec!["only"]);
    assert!(got[2].payload.is_empty());

    // vectors
    c.update_vectors(
        UpdatePointVectorsBuilder::new(
            "p",
            vec![PointVectors {
                id: Some(2.into()),
                vectors: Some(vec![0.9, 0.0].into()),
            }],
        )
        .wait(true),
    )
    .await
    .unwrap();
    let hits = c
        .search_points(SearchPointsBuilder::new("p", vec![1.0, 0.0], 1))
        .await
        .unwrap()
        .result;
    assert_eq!(num(&hits[0].id), 1);
    c.delete_vectors(
        DeletePointVectorsBuilder::new("p")
            .points_selector(ids(&[3]))
            .vectors(VectorsSelector {
                names: vec!["".into()],
            })
            .wait(true),
    )
    .await
    .unwrap();

    // a batch of updates
    let batch = c
        .update_points_batch(
            UpdateBatchPointsBuilder::new(
                "p",
                vec![
                    PointsUpdateOperation {
                        operation: Some(points_update_operation::Operation::Upsert(
                            points_update_operation::PointStructList {
                                points: vec![PointStruct::new(9, vec![0.2, 0.2], Payload::new())],
                                ..Default::default()
                            },
                        )),
                    },
                    PointsUpdateOperation {
                        operation: Some(points_update_operation::Operation::DeletePoints(
                            points_update_operation::DeletePoints {
                                points: Some(vec![PointId::from(2)].into()),
                                ..Default::default()
                            },
                        )),
                    },
                ],
            )
            .wait(true),
        )
        .await
        .unwrap();
    assert_eq!(batch.result.len(), 2);

    c.delete_points(DeletePointsBuilder::new("p").points(ids(&[1])).wait(true))
        .await
        .unwrap();
    let left: Vec<_> = c
        .scroll(ScrollPointsBuilder::new("p").limit(10))
        .await
        .unwrap()
        .result
        .iter()
        .filter_map(|p| match &p.id.as_ref()?.point_id_options {
            Some(PointIdOptions::Num(n)) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(left, vec![3, 9]);

    // filters, payload indexes, ordered scroll and facets through the official client
    let filter = || {
        ::qdrant_client::qdrant::Filter::must([::qdrant_client::qdrant::Condition::matches("n", 3)])
    };
    let with_n: Vec<PointStruct> = (100..110u64)
        .map(|i| {
            let mut p = Payload::new();
            p.insert("n", (i % 4) as i64);
            PointStruct::new(i, vec![1.0, i as f32], p)
        })
        .collect();
    c.upsert_points(UpsertPointsBuilder::new("p", with_n).wait(true))
        .await
        .unwrap();
    let counted = c
        .count(CountPointsBuilder::new("p").filter(filter()).exact(true))
        .await
        .unwrap()
        .result
        .unwrap()
        .count;
    let scrolled = c
        .scroll(
            ::qdrant_client::qdrant::ScrollPointsBuilder::new("p")
                .filter(filter())
                .limit(100),
        )
        .await
        .unwrap()
        .result
        .len() as u64;
    assert_eq!(counted, scrolled, "count and scroll agree on a filter");
    assert_eq!(counted, 2, "ids 103 and 107 have n = 3");
    c.create_field_index(
        ::qdrant_client::qdrant::CreateFieldIndexCollectionBuilder::new(
            "p",
            "n",
            ::qdrant_client::qdrant::FieldType::Integer,
        ),
    )
    .await
    .unwrap();
    let facet = c
        .facet(::qdrant_client::qdrant::FacetCountsBuilder::new("p", "n").limit(10))
        .await
        .unwrap();
    let total: u64 = facet.hits.iter().map(|h| h.count).sum();
    assert!(total > 0, "facet over an integer index counts points");
    let ordered = c
        .scroll(
            ::qdrant_client::qdrant::ScrollPointsBuilder::new("p")
                .order_by(
                    ::qdrant_client::qdrant::OrderByBuilder::new("n")
                        .direction(::qdrant_client::qdrant::Direction::Desc as i32),
                )
                .limit(100),
        )
        .await
        .unwrap();
    let values: Vec<i64> = ordered
        .result
        .iter()
        .filter_map(|p| match p.order_value.as_ref()?.variant {
            Some(::qdrant_client::qdrant::order_value::Variant::Int(i)) => Some(i),
            _ => None,
        })
        .collect();
    assert!(
        !values.is_empty() && values.windows(2).all(|w| w[0] >= w[1]),
        "{values:?}"
    );
    c.delete_field_index(::qdrant_client::qdrant::DeleteFieldIndexCollectionBuilder::new("p", "n"))
        .await
        .unwrap();
    // writes to a missing collection
    assert_eq!(
        code(
            c.upsert_points(UpsertPointsBuilder::new(
                "nope",
                vec![PointStruct::new(1, vec![1.0, 0.0], Payload::new())]
            ))
            .await
        ),
        Code::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_vectors_large_messages_and_gzip() {
    let s = server().await;
    // gzip on requests and replies
    let c = ::qdrant_client::Qdrant::from_url(&s.grpc_url())
        .skip_compatibility_check()
        .compression(Some(::qdrant_client::config::CompressionEncoding::Gzip))
        .build()
        .unwrap();
    let map = VectorParamsMap {
        map: [
            (
                "image".to_string(),
                VectorParamsBuilder::new(4, Distance::Euclid).build(),
            ),
            (
                "text".to_string(),
                VectorParamsBuilder::new(2048, Distance::Cosine).build(),
            ),
        ]
        .into_iter()
        .collect(),
    };
    c.create_collection(
        CreateCollectionBuilder::new("n").vectors_config(VectorsConfig {
            config: Some(vectors_config::Config::ParamsMap(map)),
        }),
    )
    .await
    .unwrap();
    // 1,000 points of 2,048 floats: about 8 MiB, over tonic's default 4 MiB cap
    let points: Vec<_> = (0..1000u64)
        .map(|i| {
            let v: NamedVectors = NamedVectors::default()
                .add_vector("image", vec![i as f32, 0.0, 0.0, 0.0])
                .add_vector("text", vec![(i % 7) as f32 + 1.0; 2048]);
            PointStruct::new(i, v, Payload::new())
        })
        .collect();
    c.upsert_points(UpsertPointsBuilder::new("n", points).wait(true))
        .await
        .unwrap();
    let hits = c
        .search_points(
            SearchPointsBuilder::new("n", vec![10.2, 0.0, 0.0, 0.0], 1).vector_name("image"),
        )
        .await
        .unwrap()
        .result;
    assert_eq!(num(&hits[0].id), 10);
    let all = c
        .scroll(ScrollPointsBuilder::new("n").limit(1000).with_vectors(true))
        .await
        .unwrap();
    assert_eq!(all.result.len(), 1000);
}
