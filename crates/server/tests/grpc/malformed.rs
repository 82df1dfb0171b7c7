//! A catalogue of malformed requests: each gets the right status code,
//! the server keeps serving, and the data is unchanged.

use std::collections::HashMap;

use tonic::Code;
use vicinity_server::pb::{
    self, condition::ConditionOneOf, point_id::PointIdOptions,
    points_selector::PointsSelectorOneOf, value::Kind, vector::Vector as V,
    vectors::VectorsOptions,
};

use crate::support::{raw, server};

const C: &str = "c";

fn id(n: u64) -> pb::PointId {
    pb::PointId {
        point_id_options: Some(PointIdOptions::Num(n)),
    }
}

fn dense(data: Vec<f32>) -> Option<pb::Vectors> {
    Some(pb::Vectors {
        vectors_options: Some(VectorsOptions::Vector(pb::Vector {
            vector: Some(V::Dense(pb::DenseVector { data })),
            ..Default::default()
        })),
    })
}

fn point(n: u64, v: Vec<f32>) -> pb::PointStruct {
    pb::PointStruct {
        id: Some(id(n)),
        vectors: dense(v),
        payload: HashMap::from([(
            "n".to_string(),
            pb::Value {
                kind: Some(Kind::IntegerValue(n as i64)),
            },
        )]),
    }
}

fn upsert(points: Vec<pb::PointStruct>) -> pb::UpsertPoints {
    pb::UpsertPoints {
        collection_name: C.into(),
        wait: Some(true),
        points,
        ..Default::default()
    }
}

fn ids(list: &[u64]) -> Option<pb::PointsSelector> {
    Some(pb::PointsSelector {
        points_selector_one_of: Some(PointsSelectorOneOf::Points(pb::PointsIdsList {
            ids: list.iter().map(|&n| id(n)).collect(),
        })),
    })
}

fn create(name: &str, size: u64, distance: pb::Distance) -> pb::CreateCollection {
    pb::CreateCollection {
        collection_name: name.into(),
        vectors_config: Some(pb::VectorsConfig {
            config: Some(pb::vectors_config::Config::Params(pb::VectorParams {
                size,
                distance: distance as i32,
                ..Default::default()
            })),
        }),
        ..Default::default()
    }
}

fn search(vector: Vec<f32>, limit: u64) -> pb::SearchPoints {
    pb::SearchPoints {
        collection_name: C.into(),
        vector,
        limit,
        ..Default::default()
    }
}

/// A filter that cannot be evaluated: a field condition with a key and
/// nothing to check (Qdrant: "at least one field condition").
fn bad_filter() -> pb::Filter {
    pb::Filter {
        must: vec![pb::Condition {
            condition_one_of: Some(ConditionOneOf::Field(pb::FieldCondition {
                key: "n".into(),
                ..Default::default()
            })),
        }],
        ..Default::default()
    }
}

fn query(q: Option<pb::query::Variant>) -> pb::QueryPoints {
    pb::QueryPoints {
        collection_name: C.into(),
        query: q.map(|variant| pb::Query {
            variant: Some(variant),
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_and_change_nothing() {
    let s = server().await;
    let (mut cl, mut pt) = raw(&s).await;
    cl.create(create(C, 3, pb::Distance::Cosine)).await.unwrap();
    pt.upsert(upsert(
        (1..=5)
            .map(|i| point(i, vec![i as f32, 1.0, 0.5]))
            .collect(),
    ))
    .await
    .unwrap();
    let snapshot = |pt: &mut pb::points_client::PointsClient<tonic::transport::Channel>| {
        let mut pt = pt.clone();
        async move {
            pt.scroll(pb::ScrollPoints {
                collection_name: C.into(),
                limit: Some(100),
                with_payload: Some(pb::WithPayloadSelector {
                    selector_options: Some(pb::with_payload_selector::SelectorOptions::Enable(
                        true,
                    )),
                }),
                with_vectors: Some(pb::WithVectorsSelector {
                    selector_options: Some(pb::with_vectors_selector::SelectorOptions::Enable(
                        true,
                    )),
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .result
        }
    };
    let before = snapshot(&mut pt).await;
    assert_eq!(before.len(), 5);

    let mut n = 0;
    let mut failures = Vec::new();
    macro_rules! expect {
        ($want:expr, $call:expr) => {{
            n += 1;
            let r = $call.await;
            let got = r.as_ref().err().map(|s| s.code());
            if got != Some($want) {
                failures.push(format!(
                    "{}: want {:?}, got {:?}",
                    stringify!($call),
                    $want,
                    r.map(|_| ())
                ));
            }
        }};
    }
    use Code::{AlreadyExists, InvalidArgument, NotFound, Unimplemented};

    // collections
    expect!(InvalidArgument, cl.create(create("", 3, pb::Distance::Dot)));
    expect!(
        InvalidArgument,
        cl.create(create("a/b", 3, pb::Distance::Dot))
    );
    expect!(
        InvalidArgument,
        cl.create(create("d", 3, pb::Distance::UnknownDistance))
    );
    expect!(
        InvalidArgument,
        cl.create(create("d", 0, pb::Distance::Dot))
    );
    expect!(
        InvalidArgument,
        cl.create(create("d", 70_000, pb::Distance::Dot))
    );
    expect!(
        InvalidArgument,
        cl.create(pb::CreateCollection {
            collection_name: "d".into(),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        cl.create(pb::CreateCollection {
            hnsw_config: Some(pb::HnswConfigDiff {
                m: Some(1),
                ..Default::default()
            }),
            ..create("d", 3, pb::Distance::Dot)
        })
    );
    // a quantization config with no kind, or an unknown scalar type, as
    // Qdrant refuses them; two-bit binary codes are not served yet
    expect!(
        InvalidArgument,
        cl.create(pb::CreateCollection {
            quantization_config: Some(pb::QuantizationConfig::default()),
            ..create("d", 3, pb::Distance::Dot)
        })
    );
    expect!(
        InvalidArgument,
        cl.create(pb::CreateCollection {
            quantization_config: Some(pb::QuantizationConfig {
                quantization: Some(pb::quantization_config::Quantization::Scalar(
                    pb::ScalarQuantization::default()
                )),
            }),
            ..create("d", 3, pb::Distance::Dot)
        })
    );
    expect!(
        Unimplemented,
        cl.create(pb::CreateCollection {
            quantization_config: Some(pb::QuantizationConfig {
                quantization: Some(pb::quantization_config::Quantization::Turboquant(
                    pb::TurboQuantization::default()
                )),
            }),
            ..create("d", 3, pb::Distance::Dot)
        })
    );
    expect!(
        InvalidArgument,
        cl.create(pb::CreateCollection {
            quantization_config: Some(pb::QuantizationConfig {
                quantization: Some(pb::quantization_config::Quantization::Product(
                    pb::ProductQuantization {
                        compression: 99,
                        ..Default::default()
                    }
                )),
            }),
            ..create("d", 3, pb::Distance::Dot)
        })
    );
    expect!(
        InvalidArgument,
        cl.create(pb::CreateCollection {
            quantization_config: Some(pb::QuantizationConfig {
                quantization: Some(pb::quantization_config::Quantization::Binary(
                    pb::BinaryQuantization {
                        encoding: Some(9),
                        ..Default::default()
                    }
                )),
            }),
            ..create("d", 3, pb::Distance::Dot)
        })
    );
    expect!(AlreadyExists, cl.create(create(C, 3, pb::Distance::Dot)));
    expect!(
        NotFound,
        cl.get(pb::GetCollectionInfoRequest {
            collection_name: "nope".into()
        })
    );
    expect!(
        NotFound,
        cl.update(pb::UpdateCollection {
            collection_name: "nope".into(),
            ..Default::default()
        })
    );
    let alias = |action| pb::ChangeAliases {
        actions: vec![pb::AliasOperations { action }],
        timeout: None,
    };
    use pb::alias_operations::Action;
    expect!(
        NotFound,
        cl.update_aliases(alias(Some(Action::RenameAlias(pb::RenameAlias {
            old_alias_name: "nope".into(),
            new_alias_name: "x".into()
        }))))
    );
    expect!(
        NotFound,
        cl.update_aliases(alias(Some(Action::CreateAlias(pb::CreateAlias {
            collection_name: "nope".into(),
            alias_name: "x".into()
        }))))
    );
    expect!(
        AlreadyExists,
        cl.update_aliases(alias(Some(Action::CreateAlias(pb::CreateAlias {
            collection_name: C.into(),
            alias_name: C.into()
        }))))
    );
    expect!(InvalidArgument, cl.update_aliases(alias(None)));
    // a batch with one bad action changes nothing
    expect!(
        NotFound,
        cl.update_aliases(pb::ChangeAliases {
            actions: vec![
                pb::AliasOperations {
                    action: Some(Action::CreateAlias(pb::CreateAlias {
                        collection_name: C.into(),
                        alias_name: "first".into()
                    }))
                },
                pb::AliasOperations {
                    action: Some(Action::RenameAlias(pb::RenameAlias {
                        old_alias_name: "nope".into(),
                        new_alias_name: "y".into()
                    }))
                },
            ],
            timeout: None,
        })
    );
    expect!(
        NotFound,
        cl.list_collection_aliases(pb::ListCollectionAliasesRequest {
            collection_name: "nope".into()
        })
    );

    // writes
    expect!(
        NotFound,
        pt.upsert(pb::UpsertPoints {
            collection_name: "nope".into(),
            ..upsert(vec![point(9, vec![1.0, 2.0, 3.0])])
        })
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![point(9, vec![1.0, 2.0])]))
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![point(9, vec![f32::NAN, 2.0, 3.0])]))
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![
            point(9, vec![1.0, 2.0, 3.0]),
            point(10, vec![1.0])
        ]))
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![pb::PointStruct {
            id: None,
            ..point(9, vec![1.0, 2.0, 3.0])
        }]))
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![pb::PointStruct {
            id: Some(pb::PointId::default()),
            ..point(9, vec![1.0, 2.0, 3.0])
        }]))
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![pb::PointStruct {
            id: Some(pb::PointId {
                point_id_options: Some(PointIdOptions::Uuid("not-a-uuid".into()))
            }),
            ..point(9, vec![1.0, 2.0, 3.0])
        }]))
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![pb::PointStruct {
            vectors: None,
            ..point(9, vec![])
        }]))
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![pb::PointStruct {
            vectors: Some(pb::Vectors {
                vectors_options: Some(VectorsOptions::Vectors(pb::NamedVectors {
                    vectors: HashMap::from([(
                        "nope".to_string(),
                        pb::Vector {
                            data: vec![1.0, 2.0, 3.0],
                            ..Default::default()
                        }
                    )])
                }))
            }),
            ..point(9, vec![])
        }]))
    );
    // a sparse vector where the collection has a dense one
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![pb::PointStruct {
            vectors: Some(pb::Vectors {
                vectors_options: Some(VectorsOptions::Vector(pb::Vector {
                    vector: Some(V::Sparse(pb::SparseVector {
                        values: vec![1.0],
                        indices: vec![0]
                    })),
                    ..Default::default()
                }))
            }),
            ..point(9, vec![])
        }]))
    );
    expect!(
        InvalidArgument,
        pt.upsert(upsert(vec![pb::PointStruct {
            payload: HashMap::from([(
                "x".to_string(),
                pb::Value {
                    kind: Some(Kind::DoubleValue(f64::INFINITY))
                }
            )]),
            ..point(9, vec![1.0, 2.0, 3.0])
        }]))
    );
    expect!(
        InvalidArgument,
        pt.delete(pb::DeletePoints {
            collection_name: C.into(),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.delete(pb::DeletePoints {
            collection_name: C.into(),
            points: Some(pb::PointsSelector {
                points_selector_one_of: Some(PointsSelectorOneOf::Filter(bad_filter()))
            }),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.delete(pb::DeletePoints {
            collection_name: C.into(),
            points: Some(pb::PointsSelector {
                points_selector_one_of: Some(PointsSelectorOneOf::Filter(pb::Filter {
                    must: vec![pb::Condition::default()],
                    ..Default::default()
                }))
            }),
            ..Default::default()
        })
    );
    expect!(
        NotFound,
        pt.set_payload(pb::SetPayloadPoints {
            collection_name: C.into(),
            points_selector: ids(&[404]),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.delete_payload(pb::DeletePayloadPoints {
            collection_name: C.into(),
            keys: vec!["a[".into()],
            points_selector: ids(&[1]),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.delete_vectors(pb::DeletePointVectors {
            collection_name: C.into(),
            points_selector: ids(&[1]),
            vectors: None,
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.delete_vectors(pb::DeletePointVectors {
            collection_name: C.into(),
            points_selector: ids(&[1]),
            vectors: Some(pb::VectorsSelector {
                names: vec!["nope".into()]
            }),
            ..Default::default()
        })
    );
    expect!(
        NotFound,
        pt.update_vectors(pb::UpdatePointVectors {
            collection_name: C.into(),
            points: vec![pb::PointVectors {
                id: Some(id(404)),
                vectors: dense(vec![1.0, 2.0, 3.0])
            }],
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.update_batch(pb::UpdateBatchPoints {
            collection_name: C.into(),
            operations: vec![
                pb::PointsUpdateOperation {
                    operation: Some(pb::points_update_operation::Operation::ClearPayload(
                        pb::points_update_operation::ClearPayload {
                            points: ids(&[1]),
                            shard_key_selector: None
                        }
                    ))
                },
                pb::PointsUpdateOperation { operation: None },
            ],
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.create_field_index(pb::CreateFieldIndexCollection {
            collection_name: C.into(),
            field_name: "n".into(),
            ..Default::default()
        })
    );

    // reads
    expect!(InvalidArgument, pt.search(search(vec![1.0, 2.0, 3.0], 0)));
    expect!(InvalidArgument, pt.search(search(vec![1.0, 2.0], 3)));
    expect!(
        InvalidArgument,
        pt.search(search(vec![f32::NAN, 2.0, 3.0], 3))
    );
    expect!(
        InvalidArgument,
        pt.search(pb::SearchPoints {
            vector_name: Some("nope".into()),
            ..search(vec![1.0, 2.0, 3.0], 3)
        })
    );
    expect!(
        InvalidArgument,
        pt.search(pb::SearchPoints {
            filter: Some(bad_filter()),
            ..search(vec![1.0, 2.0, 3.0], 3)
        })
    );
    expect!(
        NotFound,
        pt.search(pb::SearchPoints {
            collection_name: "nope".into(),
            ..search(vec![1.0, 2.0, 3.0], 3)
        })
    );
    expect!(
        InvalidArgument,
        pt.scroll(pb::ScrollPoints {
            collection_name: C.into(),
            limit: Some(0),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.scroll(pb::ScrollPoints {
            collection_name: C.into(),
            order_by: Some(pb::OrderBy {
                key: "n".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.get(pb::GetPoints {
            collection_name: C.into(),
            ids: vec![id(1)],
            with_payload: Some(pb::WithPayloadSelector {
                selector_options: Some(pb::with_payload_selector::SelectorOptions::Include(
                    pb::PayloadIncludeSelector {
                        fields: vec!["a[".into()]
                    }
                ))
            }),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.get(pb::GetPoints {
            collection_name: C.into(),
            ids: vec![id(1)],
            with_vectors: Some(pb::WithVectorsSelector {
                selector_options: Some(pb::with_vectors_selector::SelectorOptions::Include(
                    pb::VectorsSelector {
                        names: vec!["nope".into()]
                    }
                ))
            }),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.count(pb::CountPoints {
            collection_name: C.into(),
            filter: Some(bad_filter()),
            ..Default::default()
        })
    );
    use pb::query::Variant as Q;
    use pb::vector_input::Variant as I;
    // lookup_from a collection that does not exist
    expect!(
        NotFound,
        pt.query(pb::QueryPoints {
            lookup_from: Some(pb::LookupLocation {
                collection_name: "other".into(),
                ..Default::default()
            }),
            ..query(Some(Q::Nearest(pb::VectorInput {
                variant: Some(I::Id(id(1)))
            })))
        })
    );
    expect!(
        InvalidArgument,
        pt.query(query(Some(Q::Recommend(pb::RecommendInput::default()))))
    );
    expect!(
        NotFound,
        pt.query(query(Some(Q::Recommend(pb::RecommendInput {
            positive: vec![pb::VectorInput {
                variant: Some(I::Id(id(404)))
            }],
            ..Default::default()
        }))))
    );
    expect!(
        InvalidArgument,
        pt.query(query(Some(Q::Recommend(pb::RecommendInput {
            positive: vec![pb::VectorInput {
                variant: Some(I::Id(id(1)))
            }],
            strategy: Some(7),
            ..Default::default()
        }))))
    );
    expect!(
        InvalidArgument,
        pt.query(pb::QueryPoints {
            limit: Some(0),
            ..query(Some(Q::Nearest(pb::VectorInput {
                variant: Some(I::Id(id(1)))
            })))
        })
    );
    let nearest = |i: u64| pb::PrefetchQuery {
        query: Some(pb::Query {
            variant: Some(Q::Nearest(pb::VectorInput {
                variant: Some(I::Id(id(i))),
            })),
        }),
        ..Default::default()
    };
    expect!(
        InvalidArgument,
        pt.query(pb::QueryPoints {
            prefetch: vec![nearest(1), nearest(2)],
            ..query(None)
        })
    );
    expect!(
        InvalidArgument,
        pt.query(pb::QueryPoints {
            prefetch: vec![nearest(1)],
            ..query(None)
        })
    );
    expect!(
        InvalidArgument,
        pt.query(pb::QueryPoints {
            prefetch: vec![nearest(1), nearest(2)],
            using: Some("image".into()),
            ..query(Some(Q::Fusion(pb::Fusion::Rrf as i32)))
        })
    );
    expect!(
        InvalidArgument,
        pt.query(pb::QueryPoints {
            prefetch: vec![nearest(1), nearest(2)],
            ..query(Some(Q::Rrf(pb::Rrf {
                k: Some(0),
                weights: vec![]
            })))
        })
    );
    expect!(
        NotFound,
        pt.query(query(Some(Q::Discover(pb::DiscoverInput {
            target: Some(pb::VectorInput {
                variant: Some(I::Id(id(404)))
            }),
            context: None,
        }))))
    );
    expect!(
        InvalidArgument,
        pt.query_groups(pb::QueryPointGroups {
            collection_name: C.into(),
            group_by: String::new(),
            ..Default::default()
        })
    );
    // with_lookup in a collection that does not exist
    expect!(
        NotFound,
        pt.query_groups(pb::QueryPointGroups {
            collection_name: C.into(),
            group_by: "g".into(),
            with_lookup: Some(pb::WithLookup {
                collection: "other".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.search_matrix_pairs(pb::SearchMatrixPoints {
            collection_name: C.into(),
            sample: Some(0),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.search_matrix_offsets(pb::SearchMatrixPoints {
            collection_name: C.into(),
            limit: Some(0),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.search_matrix_offsets(pb::SearchMatrixPoints {
            collection_name: C.into(),
            filter: Some(bad_filter()),
            ..Default::default()
        })
    );
    expect!(
        NotFound,
        pt.search_matrix_pairs(pb::SearchMatrixPoints {
            collection_name: "nowhere".into(),
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.search_groups(pb::SearchPointGroups {
            collection_name: C.into(),
            vector: vec![1.0, 0.0, 0.0],
            group_by: "g".into(),
            limit: 0,
            group_size: 1,
            ..Default::default()
        })
    );
    expect!(
        NotFound,
        pt.query(query(Some(Q::Nearest(pb::VectorInput {
            variant: Some(I::Id(id(404)))
        }))))
    );
    expect!(
        InvalidArgument,
        pt.query(query(Some(Q::Nearest(pb::VectorInput { variant: None }))))
    );
    expect!(
        InvalidArgument,
        pt.query(query(Some(Q::Nearest(pb::VectorInput {
            variant: Some(I::Dense(pb::DenseVector { data: vec![1.0] }))
        }))))
    );
    expect!(
        NotFound,
        pt.recommend(pb::RecommendPoints {
            collection_name: C.into(),
            positive: vec![id(404)],
            limit: 1,
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.recommend(pb::RecommendPoints {
            collection_name: C.into(),
            positive: vec![id(1)],
            limit: 0,
            ..Default::default()
        })
    );
    expect!(
        NotFound,
        pt.discover(pb::DiscoverPoints {
            collection_name: C.into(),
            target: Some(pb::TargetVector {
                target: Some(pb::target_vector::Target::Single(pb::VectorExample {
                    example: Some(pb::vector_example::Example::Id(id(404)))
                }))
            }),
            limit: 1,
            ..Default::default()
        })
    );
    expect!(
        InvalidArgument,
        pt.facet(pb::FacetCounts {
            collection_name: C.into(),
            key: "n".into(),
            ..Default::default()
        })
    );

    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(n >= 30, "only {n} cases");

    // still serving, and nothing changed
    let mut q = vicinity_server::pb::qdrant_client::QdrantClient::connect(s.grpc_url())
        .await
        .unwrap();
    assert!(q.health_check(pb::HealthCheckRequest {}).await.is_ok());
    assert_eq!(snapshot(&mut pt).await, before);
    let names: Vec<_> = cl
        .list(pb::ListCollectionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .collections
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, vec![C]);
    assert!(
        cl.list_aliases(pb::ListAliasesRequest {})
            .await
            .unwrap()
            .into_inner()
            .aliases
            .is_empty()
    );
}
