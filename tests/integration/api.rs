//! The in-process Collection and Database API, with Qdrant's semantics.

use serde_json::json;
use vicinity::{
    CollectionConfig, Database, Distance, Error, ErrorKind, FieldIndexParams, FieldType,
    HnswConfig, JsonPath, Payload, PayloadSelector, PointId, PointStruct, ScrollRequest,
    SearchParams, SearchRequest, VectorParams, VectorSelector, Vectors, WithSelectors,
};

fn payload(v: serde_json::Value) -> Payload {
    Payload::try_from(v).unwrap()
}

fn all() -> WithSelectors {
    WithSelectors {
        payload: PayloadSelector::All,
        vectors: VectorSelector::All,
    }
}

fn db_with(
    name: &str,
    dim: usize,
    distance: Distance,
) -> (Database, std::sync::Arc<vicinity::Collection>) {
    let db = Database::new();
    let c = db
        .create_collection(name, CollectionConfig::single(dim, distance))
        .unwrap();
    (db, c)
}

#[test]
fn database_life_cycle() {
    let db = Database::new();
    assert!(db.list_collections().is_empty());
    db.create_collection("b", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    db.create_collection("a", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    assert_eq!(db.list_collections(), vec!["a", "b"]);
    assert!(db.collection_exists("a"));
    let e = db
        .create_collection("a", CollectionConfig::single(2, Distance::Dot))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(e.to_string(), "Wrong input: Collection `a` already exists!");
    assert!(db.delete_collection("a"));
    assert!(!db.delete_collection("a"));
    let e = db.collection("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), "Not found: Collection `a` doesn't exist!");
    for bad in ["", "a/b", "..", "x*y"] {
        let e = db
            .create_collection(bad, CollectionConfig::single(2, Distance::Dot))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadInput, "{bad:?}");
    }
    let e = db
        .create_collection("z", CollectionConfig::single(0, Distance::Dot))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadInput);
    let with_m = |m| {
        CollectionConfig::single(2, Distance::Dot).with_hnsw(HnswConfig {
            m,
            ..HnswConfig::default()
        })
    };
    assert_eq!(
        db.create_collection("z", with_m(1)).unwrap_err().kind(),
        ErrorKind::BadInput
    );
    // m = 0 is Qdrant's "no graph": accepted, searches scan
    let c = db.create_collection("z", with_m(0)).unwrap();
    c.upsert(vec![PointStruct::new(1, vec![1.0, 0.5], Payload::new())])
        .unwrap();
    c.finish_indexing();
    assert_eq!(c.info().indexed_vectors_count, 0);
    let hits = c.search(&SearchRequest::new(vec![1.0, 0.0], 1)).unwrap();
    assert_eq!(hits[0].id, PointId::Num(1));
}

#[test]
fn upsert_replaces_the_whole_point() {
    let (_db, c) = db_with("p", 2, Distance::Dot);
    c.upsert(vec![PointStruct::new(
        1,
        vec![1.0, 0.0],
        payload(json!({"a": 1, "b": 2})),
    )])
    .unwrap();
    c.upsert(vec![PointStruct::new(
        1,
        vec![0.0, 1.0],
        payload(json!({"c": 3})),
    )])
    .unwrap();
    assert_eq!(c.count(), 1);
    let r = c.get(&[PointId::Num(1)], &all()).unwrap();
    assert_eq!(r[0].payload.clone().unwrap().into_value(), json!({"c": 3}));
    assert_eq!(r[0].vectors, Some(Vectors::Single(vec![0.0, 1.0])));
    let hits = c.search(&SearchRequest::new(vec![0.0, 1.0], 10)).unwrap();
    assert_eq!(hits.len(), 1, "the replaced row must not come back");
    assert_eq!(hits[0].score, 1.0);
    // Same id twice in one batch: the last wins.
    c.upsert(vec![
        PointStruct::new(2, vec![1.0, 1.0], payload(json!({"v": "first"}))),
        PointStruct::new(2, vec![2.0, 2.0], payload(json!({"v": "last"}))),
    ])
    .unwrap();
    let r = c.get(&[PointId::Num(2)], &all()).unwrap();
    assert_eq!(r[0].payload.clone().unwrap().as_map()["v"], "last");
    assert_eq!(c.count(), 2);
}

#[test]
fn bad_input_is_a_typed_error_and_writes_nothing() {
    let (_db, c) = db_with("e", 3, Distance::Cosine);
    c.upsert(vec![PointStruct::new(
        1,
        vec![1.0, 0.0, 0.0],
        Payload::new(),
    )])
    .unwrap();
    let e = c
        .upsert(vec![
            PointStruct::new(2, vec![1.0, 0.0, 0.0], Payload::new()),
            PointStruct::new(3, vec![1.0, 0.0], Payload::new()),
        ])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Dimension {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "Wrong input: Vector dimension error: expected dim: 3, got 2"
    );
    assert_eq!(c.count(), 1, "a rejected batch writes nothing");
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let e = c
            .upsert(vec![PointStruct::new(
                4,
                vec![bad, 0.0, 0.0],
                Payload::new(),
            )])
            .unwrap_err();
        assert!(matches!(e, Error::NotFinite { position: 0, .. }), "{e}");
    }
    let named: Vectors = [("image", vec![1.0, 0.0, 0.0])].into_iter().collect();
    let e = c
        .upsert(vec![PointStruct {
            id: 5.into(),
            vectors: named,
            payload: None,
        }])
        .unwrap_err();
    assert!(
        matches!(e, Error::UnknownVector { ref name } if name == "image"),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::BadInput);
    let e = c
        .search(&SearchRequest::new(vec![1.0, 0.0], 1))
        .unwrap_err();
    assert!(matches!(e, Error::Dimension { .. }));
    let e = c
        .search(&SearchRequest::new(vec![f32::NAN, 0.0, 0.0], 1))
        .unwrap_err();
    assert!(matches!(e, Error::NotFinite { .. }));
    let e = c
        .search(&SearchRequest::new(vec![1.0, 0.0, 0.0], 0))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadInput);
    let mut req = SearchRequest::new(vec![1.0, 0.0, 0.0], 1);
    req.using = "nope".into();
    assert!(matches!(
        c.search(&req).unwrap_err(),
        Error::UnknownVector { .. }
    ));
    req.using = String::new();
    req.offset = usize::MAX;
    assert_eq!(c.search(&req).unwrap_err().kind(), ErrorKind::BadInput);
    let e = c
        .scroll(&ScrollRequest {
            limit: 0,
            ..ScrollRequest::default()
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadInput);
    let e = Error::from("12-34".parse::<PointId>().unwrap_err());
    assert_eq!(e.kind(), ErrorKind::BadInput);
    let e = c
        .update_vectors(&[(PointId::Num(99), Vectors::Single(vec![1.0, 0.0, 0.0]))])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), "Not found: No point with id 99 found");
    let sel = WithSelectors {
        payload: PayloadSelector::None,
        vectors: VectorSelector::Names(vec!["x".into()]),
    };
    assert!(matches!(
        c.get(&[PointId::Num(1)], &sel).unwrap_err(),
        Error::UnknownVector { .. }
    ));
}

#[test]
fn scores_and_thresholds_follow_qdrant() {
    for (distance, q, want) in [
        (
            Distance::Cosine,
            vec![3.0, 4.0],
            vec![(1u64, 1.0f32), (2, 0.6)],
        ),
        (Distance::Dot, vec![3.0, 4.0], vec![(1, 5.0), (2, 3.0)]),
        (
            Distance::Euclid,
            vec![3.0, 4.0],
            vec![(1, 4.0), (2, 4.472136)],
        ),
        (
            Distance::Manhattan,
            vec![3.0, 4.0],
            vec![(1, 5.6), (2, 6.0)],
        ),
    ] {
        let (_db, c) = db_with("s", 2, distance);
        c.upsert(vec![
            PointStruct::new(1, vec![0.6, 0.8], Payload::new()),
            PointStruct::new(2, vec![1.0, 0.0], Payload::new()),
        ])
        .unwrap();
        let hits = c.search(&SearchRequest::new(q.clone(), 10)).unwrap();
        let got: Vec<(u64, f32)> = hits
            .iter()
            .map(|h| match h.id {
                PointId::Num(n) => (n, h.score),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(got.len(), 2);
        for ((gi, gs), (wi, ws)) in got.iter().zip(&want) {
            assert_eq!(gi, wi, "{distance:?}");
            assert!((gs - ws).abs() < 1e-5, "{distance:?}: {gs} vs {ws}");
        }
        // strict threshold at the second score: only the first remains
        let mut req = SearchRequest::new(q.clone(), 10);
        req.score_threshold = Some(want[1].1);
        assert_eq!(c.search(&req).unwrap().len(), 1, "{distance:?}");
        req.score_threshold = Some(want[0].1);
        assert_eq!(
            c.search(&req).unwrap().len(),
            0,
            "{distance:?}: the threshold is strict"
        );
        // offset skips the best
        let mut req = SearchRequest::new(q, 1);
        req.offset = 1;
        assert_eq!(c.search(&req).unwrap()[0].id, PointId::Num(2));
    }
}

#[test]
fn cosine_vectors_come_back_normalised() {
    let (_db, c) = db_with("n", 2, Distance::Cosine);
    c.upsert(vec![PointStruct::new(1, vec![3.0, 4.0], Payload::new())])
        .unwrap();
    let r = c.get(&[PointId::Num(1)], &all()).unwrap();
    assert_eq!(r[0].vectors, Some(Vectors::Single(vec![0.6, 0.8])));
}

#[test]
fn payload_operations() {
    let (_db, c) = db_with("pl", 2, Distance::Dot);
    c.upsert(vec![
        PointStruct::new(1, vec![1.0, 0.0], payload(json!({"a": 1, "n": {"x": 1}}))),
        PointStruct::new(2, vec![0.0, 1.0], payload(json!({"a": 2}))),
    ])
    .unwrap();
    let ids = [PointId::Num(1), PointId::Num(2)];
    c.set_payload(&ids, &payload(json!({"b": true})), None)
        .unwrap();
    c.set_payload(
        &ids[..1],
        &payload(json!({"y": 2})),
        Some(&"n".parse().unwrap()),
    )
    .unwrap();
    let get = |id: u64| {
        c.get(&[PointId::Num(id)], &all()).unwrap()[0]
            .payload
            .clone()
            .unwrap()
            .into_value()
    };
    assert_eq!(get(1), json!({"a": 1, "b": true, "n": {"x": 1, "y": 2}}));
    assert_eq!(get(2), json!({"a": 2, "b": true}));
    c.delete_payload(&ids, &["a".parse().unwrap(), "n.x".parse().unwrap()])
        .unwrap();
    assert_eq!(get(1), json!({"b": true, "n": {"y": 2}}));
    c.overwrite_payload(&ids[1..], &payload(json!({"only": 1.0})))
        .unwrap();
    assert_eq!(get(2), json!({"only": 1.0}));
    assert!(get(2)["only"].is_f64(), "a float stays a float");
    c.clear_payload(&ids[..1]).unwrap();
    assert_eq!(get(1), json!({}));
    // A missing id: the others are still updated, then NotFound, as Qdrant.
    let e = c
        .set_payload(
            &[PointId::Num(2), PointId::Num(77)],
            &payload(json!({"k": 1})),
            None,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(get(2), json!({"only": 1.0, "k": 1}));
    // Payload selectors on reads.
    let only_k = WithSelectors {
        payload: PayloadSelector::Include(vec!["k".parse::<JsonPath>().unwrap()]),
        vectors: VectorSelector::None,
    };
    let r = c.get(&[PointId::Num(2)], &only_k).unwrap();
    assert_eq!(r[0].payload.clone().unwrap().into_value(), json!({"k": 1}));
    assert_eq!(r[0].vectors, None);
    let mut req = SearchRequest::new(vec![0.0, 1.0], 1);
    req.with.payload = PayloadSelector::Exclude(vec!["k".parse().unwrap()]);
    assert_eq!(
        c.search(&req).unwrap()[0]
            .payload
            .clone()
            .unwrap()
            .into_value(),
        json!({"only": 1.0})
    );
    // Versions grow with every write that touches a point.
    let v1 = c.search(&SearchRequest::new(vec![0.0, 1.0], 1)).unwrap()[0].version;
    c.set_payload(&[PointId::Num(2)], &payload(json!({"z": 0})), None)
        .unwrap();
    let v2 = c.search(&SearchRequest::new(vec![0.0, 1.0], 1)).unwrap()[0].version;
    assert!(v2 > v1);
}

#[test]
fn named_vectors_update_and_delete() {
    let db = Database::new();
    let cfg = CollectionConfig::named([
        ("image", VectorParams::new(2, Distance::Dot)),
        ("text", VectorParams::new(3, Distance::Euclid)),
    ]);
    let c = db.create_collection("multi", cfg).unwrap();
    let both: Vectors = [("image", vec![1.0, 0.0]), ("text", vec![0.0, 0.0, 1.0])]
        .into_iter()
        .collect();
    let image_only: Vectors = [("image", vec![0.0, 1.0])].into_iter().collect();
    c.upsert(vec![
        PointStruct {
            id: 1.into(),
            vectors: both,
            payload: Some(payload(json!({"k": "v"}))),
        },
        PointStruct {
            id: 2.into(),
            vectors: image_only,
            payload: None,
        },
    ])
    .unwrap();
    let mut req = SearchRequest::new(vec![0.0, 0.0, 1.0], 10);
    req.using = "text".into();
    let hits = c.search(&req).unwrap();
    assert_eq!(hits.len(), 1, "point 2 has no text vector");
    assert_eq!(hits[0].score, 0.0);
    // update one vector: the other and the payload stay
    c.update_vectors(&[(
        PointId::Num(1),
        [("image", vec![5.0, 5.0])].into_iter().collect(),
    )])
    .unwrap();
    let r = c.get(&[PointId::Num(1)], &all()).unwrap();
    let Some(Vectors::Named(m)) = &r[0].vectors else {
        panic!("named vectors expected")
    };
    assert_eq!(m["image"], vec![5.0, 5.0].into());
    assert_eq!(m["text"], vec![0.0, 0.0, 1.0].into());
    assert_eq!(
        r[0].payload.clone().unwrap().into_value(),
        json!({"k": "v"})
    );
    // delete a vector: the point stays, without it
    c.delete_vectors(&[PointId::Num(1)], &["text".to_string()])
        .unwrap();
    assert!(c.search(&req).unwrap().is_empty());
    let only_image = WithSelectors {
        payload: PayloadSelector::None,
        vectors: VectorSelector::Names(vec!["image".into()]),
    };
    let r = c.get(&[PointId::Num(1)], &only_image).unwrap();
    let Some(Vectors::Named(m)) = &r[0].vectors else {
        panic!("named vectors expected")
    };
    assert_eq!(m.keys().collect::<Vec<_>>(), vec!["image"]);
    assert_eq!(c.count(), 2);
    let e = c
        .delete_vectors(&[PointId::Num(1)], &["nope".to_string()])
        .unwrap_err();
    assert!(matches!(e, Error::UnknownVector { .. }));
}

#[test]
fn scroll_pages_through_ids_in_order() {
    let (_db, c) = db_with("sc", 2, Distance::Dot);
    let uuid: PointId = "6A4A0D10-E817-3EEB-7CE4-C8205024E53F".parse().unwrap();
    let mut points: Vec<PointStruct> = [30u64, 1, 20, 5, 4]
        .iter()
        .map(|&i| PointStruct::new(i, vec![i as f32, 1.0], Payload::new()))
        .collect();
    points.push(PointStruct::new(uuid, vec![0.0, 0.0], Payload::new()));
    c.upsert(points).unwrap();
    c.delete(&[PointId::Num(5)]).unwrap();
    let mut seen = Vec::new();
    let mut offset = None;
    loop {
        let page = c
            .scroll(&ScrollRequest {
                offset,
                limit: 2,
                ..ScrollRequest::default()
            })
            .unwrap();
        assert!(page.points.len() <= 2);
        seen.extend(page.points.iter().map(|r| r.id.to_string()));
        match page.next_page_offset {
            Some(next) => offset = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec!["1", "4", "20", "30", "6a4a0d10-e817-3eeb-7ce4-c8205024e53f"]
    );
    assert_eq!(c.count(), 5);
    // starting from an id that does not exist starts at the next one
    let page = c
        .scroll(&ScrollRequest {
            offset: Some(PointId::Num(6)),
            limit: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.points[0].id, PointId::Num(20));
    assert_eq!(page.next_page_offset, Some(PointId::Num(30)));
}

#[test]
fn get_and_delete_by_ids() {
    let (_db, c) = db_with("g", 2, Distance::Euclid);
    c.upsert(
        (0..10u64)
            .map(|i| PointStruct::new(i, vec![i as f32, 0.0], Payload::new()))
            .collect(),
    )
    .unwrap();
    let r = c
        .get(
            &[PointId::Num(3), PointId::Num(42), PointId::Num(1)],
            &WithSelectors::default(),
        )
        .unwrap();
    assert_eq!(
        r.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![PointId::Num(3), PointId::Num(1)]
    );
    assert_eq!(r[0].payload, None);
    c.delete(&[PointId::Num(3), PointId::Num(4), PointId::Num(100)])
        .unwrap();
    assert_eq!(c.count(), 8);
    let hits = c.search(&SearchRequest::new(vec![3.4, 0.0], 2)).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![PointId::Num(2), PointId::Num(5)]
    );
}

#[test]
fn graph_and_exact_agree_after_updates_and_optimize() {
    let db = Database::new();
    let hnsw = HnswConfig {
        full_scan_threshold: 0,
        ..HnswConfig::default()
    };
    let c = db
        .create_collection(
            "o",
            CollectionConfig::single(8, Distance::Euclid).with_hnsw(hnsw),
        )
        .unwrap();
    let data = vicinity_tests::clustered(3000, 8, 10, 5, 6);
    c.upsert(
        data.iter()
            .enumerate()
            .map(|(i, v)| PointStruct::new(i as u64, v.clone(), Payload::new()))
            .collect(),
    )
    .unwrap();
    // replace a third, delete a third
    c.upsert(
        (0..1000u64)
            .map(|i| PointStruct::new(i, data[(i as usize + 1500) % 3000].clone(), Payload::new()))
            .collect(),
    )
    .unwrap();
    c.delete(&(1000..2000u64).map(PointId::Num).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(c.info().rows_count, 4000);
    let check = |c: &vicinity::Collection| {
        let mut agree = 0;
        for q in data.iter().step_by(97) {
            let mut exact = SearchRequest::new(q.clone(), 10);
            exact.params = SearchParams {
                exact: true,
                hnsw_ef: None,
                ..SearchParams::default()
            };
            let truth: Vec<_> = c.search(&exact).unwrap().iter().map(|h| h.id).collect();
            assert!(
                truth
                    .iter()
                    .all(|id| !matches!(id, PointId::Num(n) if (1000..2000).contains(n)))
            );
            let got = c.search(&SearchRequest::new(q.clone(), 10)).unwrap();
            agree += got.iter().filter(|h| truth.contains(&h.id)).count();
        }
        agree as f64 / (data.iter().step_by(97).count() * 10) as f64
    };
    c.finish_indexing();
    let before = check(&c);
    c.optimize().unwrap();
    let info = c.info();
    assert_eq!(info.rows_count, 2000);
    assert_eq!(info.points_count, 2000);
    assert_eq!(info.indexed_vectors_count, 2000);
    let after = check(&c);
    assert!(
        before >= 0.95 && after >= 0.95,
        "recall before {before}, after {after}"
    );
}

#[test]
fn embedder_thread_pool_is_used() {
    let pool = std::sync::Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap(),
    );
    let db = Database::with_thread_pool(pool);
    let c = db
        .create_collection("pool", CollectionConfig::single(4, Distance::Dot))
        .unwrap();
    let data = vicinity_tests::clustered(500, 4, 4, 1, 2);
    c.upsert(
        data.iter()
            .enumerate()
            .map(|(i, v)| PointStruct::new(i as u64, v.clone(), Payload::new()))
            .collect(),
    )
    .unwrap();
    // the indexer works on the pool in the background; this waits for it
    c.finish_indexing();
    assert_eq!(c.info().indexed_vectors_count, 500);
}

/// The background indexer and a caller of `finish_indexing` share the
/// collection's pool; they must not deadlock (a pool thread blocked on the
/// index lock while holding a task the lock's holder waits for).
#[test]
fn finish_indexing_beside_the_background_indexer_terminates() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pool = std::sync::Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap(),
        );
        let db = Database::with_thread_pool(pool);
        let c = db
            .create_collection("pool", CollectionConfig::single(8, Distance::Euclid))
            .unwrap();
        let data = vicinity_tests::clustered(12_000, 8, 16, 3, 4);
        for (round, chunk) in data.chunks(3_000).enumerate() {
            let points = chunk
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    PointStruct::new((round * 3_000 + i) as u64, v.clone(), Payload::new())
                })
                .collect();
            c.upsert(points).unwrap();
            c.finish_indexing();
        }
        tx.send(c.info().indexed_vectors_count).unwrap();
    });
    let indexed = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("indexing deadlocked");
    assert_eq!(indexed, 12_000);
}

#[test]
fn copied_vectors_stay_bit_identical() {
    // Normalising a unit vector again can move its last bits: rewrites and
    // compaction must copy stored vectors, not preprocess them twice.
    let db = Database::new();
    let cfg = CollectionConfig::named([
        ("a", VectorParams::new(3, Distance::Cosine)),
        ("b", VectorParams::new(3, Distance::Cosine)),
    ]);
    let c = db.create_collection("bits", cfg).unwrap();
    let v: Vectors = [("a", vec![1.0, 1.0, 1.0]), ("b", vec![1.0, 2.0, 3.0])]
        .into_iter()
        .collect();
    c.upsert(vec![PointStruct {
        id: 1.into(),
        vectors: v,
        payload: None,
    }])
    .unwrap();
    let read = |c: &vicinity::Collection| match c
        .get(&[PointId::Num(1)], &all())
        .unwrap()
        .remove(0)
        .vectors
    {
        Some(Vectors::Named(m)) => m,
        other => panic!("{other:?}"),
    };
    let before = read(&c);
    c.update_vectors(&[(
        PointId::Num(1),
        [("b", vec![1.0, 2.0, 3.0])].into_iter().collect(),
    )])
    .unwrap();
    assert_eq!(read(&c), before);
    c.optimize().unwrap();
    assert_eq!(read(&c), before);
}

/// Every answer a collection gives, for comparing it before and after.
fn answers(c: &vicinity::Collection, queries: &[Vec<f32>]) -> Vec<String> {
    let brand =
        vicinity::Filter::from_json(json!({"must": [{"key": "brand", "match": {"value": "b3"}}]}))
            .unwrap();
    let cheap =
        vicinity::Filter::from_json(json!({"must": [{"key": "price", "range": {"lt": 300}}]}))
            .unwrap();
    let mut out = Vec::new();
    for q in queries {
        for (using, dim) in [("a", 8), ("b", 4)] {
            for filter in [None, Some(brand.clone()), Some(cheap.clone())] {
                let mut req = SearchRequest::new(q[..dim].to_vec(), 10);
                req.using = using.into();
                // the walk itself is renumbered with the rows; a filtered
                // search's plan may sample and seed by row, so those are
                // compared exactly
                req.params.hnsw_ef = Some(32);
                req.params.exact = filter.is_some();
                req.filter = filter;
                req.with = all();
                out.push(format!("{:?}", c.search(&req).unwrap()));
            }
        }
    }
    let scroll = ScrollRequest {
        limit: 10_000,
        with: all(),
        ..ScrollRequest::default()
    };
    out.push(format!("{:?}", c.scroll(&scroll).unwrap()));
    out.push(format!(
        "{} {}",
        c.count_where(&brand),
        c.count_where(&cheap)
    ));
    out
}

#[test]
fn optimize_renumbers_rows_for_locality_without_changing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let hnsw = HnswConfig {
        full_scan_threshold: 0,
        m: 8,
        ..HnswConfig::default()
    };
    let cfg = CollectionConfig::named([
        ("a", VectorParams::new(8, Distance::Cosine)),
        ("b", VectorParams::new(4, Distance::Euclid)),
    ])
    .with_hnsw(hnsw);
    let data = vicinity_tests::clustered(1500, 8, 12, 3, 4);
    let queries = vicinity_tests::clustered(20, 8, 12, 3, 99);
    let points: Vec<PointStruct> = data
        .iter()
        .enumerate()
        .map(|(i, v)| {
            // every tenth point has no vector "b"
            let mut vectors = vec![("a", v.clone())];
            if i % 10 != 0 {
                vectors.push(("b", v[4..].to_vec()));
            }
            PointStruct {
                id: (i as u64 * 7 % 1500).into(),
                vectors: vectors.into_iter().collect(),
                payload: Some(payload(json!({"brand": format!("b{}", i % 7), "price": i}))),
            }
        })
        .collect();
    let before = {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("o", cfg.clone()).unwrap();
        c.create_field_index(
            &"brand".parse().unwrap(),
            FieldIndexParams::new(FieldType::Keyword),
        )
        .unwrap();
        c.create_field_index(
            &"price".parse().unwrap(),
            FieldIndexParams::new(FieldType::Float),
        )
        .unwrap();
        c.upsert(points.clone()).unwrap();
        c.finish_indexing();
        let before = answers(&c, &queries);
        // nothing to compact: the graphs are kept and relabeled, so the
        // same walks find the same points with the same scores
        c.optimize().unwrap();
        let after = answers(&c, &queries);
        for (i, (a, b)) in after.iter().zip(&before).enumerate() {
            assert_eq!(a, b, "answer {i}");
        }
        assert_eq!(c.info().indexed_vectors_count, 1500 + 1350);
        db.checkpoint_all().unwrap();
        before
    };
    // the renumbered rows are what the checkpoint holds
    let db = Database::open(dir.path()).unwrap();
    let c = db.collection("o").unwrap();
    assert_eq!(answers(&c, &queries), before);
    // and the collection goes on taking writes: a replaced point, a
    // deleted one, a new one, all seen by the walk after the indexer
    let mut moved = points[5].clone();
    moved.id = 5000.into();
    c.upsert(vec![points[6].clone(), moved]).unwrap();
    c.delete(&[PointId::Num(14)]).unwrap();
    c.finish_indexing();
    c.optimize().unwrap();
    let mut exact = SearchRequest::new(data[5].clone(), 3);
    exact.using = "a".into();
    let hits = c.search(&exact).unwrap();
    assert!(hits.iter().any(|h| h.id == PointId::Num(5000)), "{hits:?}");
    assert_eq!(c.count(), 1500);
}
