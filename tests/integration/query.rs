//! The universal query: discover, context, prefetch and fusion, checked
//! against scores computed independently here.

use serde_json::json;
use vicinity::{
    CollectionConfig, ContextPair, Database, Direction, Distance, ErrorKind, FieldIndexParams,
    FieldType, Filter, Fusion, OrderBy, Payload, PointId, PointStruct, Prefetch, Query,
    QueryRequest, RecommendStrategy, SearchParams, VectorInput,
};

/// Points on a circle: id i at angle i·10°, payload {"i": i, "even": i % 2 == 0}.
fn circle() -> (Database, std::sync::Arc<vicinity::Collection>) {
    let db = Database::new();
    let c = db
        .create_collection("circle", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    c.upsert(
        (0..36u64)
            .map(|i| {
                let a = (i as f32 * 10.0).to_radians();
                PointStruct::new(
                    i,
                    vec![a.cos(), a.sin()],
                    Payload::try_from(json!({"i": i, "even": i % 2 == 0})).unwrap(),
                )
            })
            .collect(),
    )
    .unwrap();
    (db, c)
}

fn v(i: u64) -> Vec<f32> {
    let a = (i as f32 * 10.0).to_radians();
    vec![a.cos(), a.sin()]
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sig(x: f32) -> f32 {
    0.5 * (x / (1.0 + x.abs()) + 1.0)
}

fn exact(mut r: QueryRequest) -> QueryRequest {
    r.params = SearchParams {
        exact: true,
        hnsw_ef: None,
        ..SearchParams::default()
    };
    r
}

fn id(n: u64) -> VectorInput {
    VectorInput::Id(PointId::Num(n))
}

#[test]
fn discover_scores_rank_plus_scaled_target() {
    let (_db, c) = circle();
    let q = Query::Discover {
        target: id(0),
        context: vec![ContextPair {
            positive: id(9),
            negative: id(27),
        }],
    };
    let hits = c.query(&exact(QueryRequest::new(q, 36))).unwrap();
    assert!(
        hits.iter().all(|h| h.id != PointId::Num(0)
            && h.id != PointId::Num(9)
            && h.id != PointId::Num(27))
    );
    for h in &hits {
        let PointId::Num(n) = h.id else {
            unreachable!()
        };
        let p = v(n);
        let rank = if dot(&p, &v(9)) > dot(&p, &v(27)) {
            1.0
        } else {
            -1.0
        };
        let want = rank + sig(dot(&p, &v(0)));
        assert!(
            (h.score - want).abs() < 1e-5,
            "point {n}: {} vs {want}",
            h.score
        );
    }
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn context_scores_are_zero_on_the_positive_side() {
    let (_db, c) = circle();
    let q = Query::Context(vec![ContextPair {
        positive: id(9),
        negative: id(27),
    }]);
    let hits = c.query(&exact(QueryRequest::new(q, 36))).unwrap();
    for h in &hits {
        let PointId::Num(n) = h.id else {
            unreachable!()
        };
        let p = v(n);
        let d = (dot(&p, &v(9)) - dot(&p, &v(27)) - f32::EPSILON).min(0.0);
        let want = d / (1.0 + d.abs());
        assert!(
            (h.score - want).abs() < 1e-5,
            "point {n}: {} vs {want}",
            h.score
        );
    }
}

#[test]
fn recommend_best_score_by_vectors() {
    let (_db, c) = circle();
    let q = Query::Recommend {
        positive: vec![VectorInput::Vector(v(3))],
        negative: vec![VectorInput::Vector(v(20))],
        strategy: RecommendStrategy::BestScore,
    };
    let hits = c.query(&exact(QueryRequest::new(q, 5))).unwrap();
    assert_eq!(
        hits[0].id,
        PointId::Num(3),
        "inline vectors exclude nothing"
    );
    for h in &hits {
        let PointId::Num(n) = h.id else {
            unreachable!()
        };
        let (p, ng) = (dot(&v(n), &v(3)), dot(&v(n), &v(20)));
        let want = if p > ng { sig(p) } else { -sig(ng) };
        assert!((h.score - want).abs() < 1e-5);
    }
}

/// RRF (k 2) of the three even points nearest 0° and the three points
/// nearest 40°.
fn rrf_request() -> QueryRequest {
    let evens =
        Filter::from_json(json!({"must": [{"key": "even", "match": {"value": true}}]})).unwrap();
    let mut req = QueryRequest::new(
        Query::Fusion(Fusion::Rrf {
            k: 2,
            weights: None,
        }),
        5,
    );
    let mut near0 = Prefetch::new(Query::Nearest(VectorInput::Vector(v(0))), 3);
    near0.filter = Some(evens);
    let near4 = Prefetch::new(Query::Nearest(VectorInput::Vector(v(4))), 3);
    req.prefetch = vec![near0, near4];
    req
}

#[test]
fn prefetch_rescore_and_fusion() {
    let (_db, c) = circle();
    let evens =
        Filter::from_json(json!({"must": [{"key": "even", "match": {"value": true}}]})).unwrap();
    // rescore: prefetch the 10 nearest to point 0's direction, then rank those by closeness to 5
    let mut req = QueryRequest::new(Query::Nearest(VectorInput::Vector(v(5))), 3);
    req.prefetch = vec![Prefetch::new(Query::Nearest(VectorInput::Vector(v(0))), 10)];
    let hits = c.query(&exact(req)).unwrap();
    // the 10 nearest to 0° are 0, ±10°, ... ±40° and one of ±50°; nearest of those to 50° first
    let got: Vec<PointId> = hits.iter().map(|h| h.id).collect();
    assert_eq!(got[0], PointId::Num(5));
    assert_eq!(got[1], PointId::Num(4));
    assert!((hits[0].score - 1.0).abs() < 1e-5);
    // RRF of two lists: rank r in a list gives 1 / (2 + r)
    let hits = c.query(&exact(rrf_request())).unwrap();
    // list A (evens near 0): 0, then 2 and 34 (tied), list B: 4, then 3 and 5
    let score = |n: u64| {
        hits.iter()
            .find(|h| h.id == PointId::Num(n))
            .map(|h| h.score)
    };
    assert_eq!(score(0), Some(0.5));
    assert_eq!(score(4), Some(0.5));
    assert_eq!(hits.len(), 5);
    // fusion's threshold is inclusive (Qdrant's `>=`): the two 0.5 stay
    let mut at_half = rrf_request();
    at_half.score_threshold = Some(0.5);
    let kept = c.query(&exact(at_half)).unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    // weights scale each list
    let mut req = QueryRequest::new(
        Query::Fusion(Fusion::Rrf {
            k: 2,
            weights: Some(vec![3.0, 1.0]),
        }),
        1,
    );
    req.prefetch = vec![
        Prefetch::new(Query::Nearest(id(0)), 3),
        Prefetch::new(Query::Nearest(id(18)), 3),
    ];
    let top = c.query(&exact(req)).unwrap();
    // Qdrant's weighted rank: 1 / ((rank + 1) / w + k - 1)
    assert!(
        (top[0].score - 1.0 / (1.0 / 3.0 + 1.0)).abs() < 1e-6,
        "weight 3 at rank 0: 1 / (1/3 + 1), got {}",
        top[0].score
    );
    // DBSF: scores in [0, #lists] (6 hits stay within 3 sample deviations)
    let mut req = QueryRequest::new(Query::Fusion(Fusion::Dbsf), 10);
    req.prefetch = vec![
        Prefetch::new(Query::Nearest(id(1)), 6),
        Prefetch::new(Query::Nearest(id(2)), 6),
    ];
    let hits = c.query(&exact(req)).unwrap();
    assert!(hits.iter().all(|h| (0.0..=2.0).contains(&h.score)));
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    // the top-level filter applies inside prefetches too
    let mut req = QueryRequest::new(
        Query::Fusion(Fusion::Rrf {
            k: 2,
            weights: None,
        }),
        10,
    );
    req.prefetch = vec![Prefetch::new(Query::Nearest(VectorInput::Vector(v(1))), 5)];
    req.filter = Some(evens);
    let hits = c.query(&exact(req)).unwrap();
    assert!(
        hits.iter()
            .all(|h| matches!(h.id, PointId::Num(n) if n % 2 == 0))
    );
}

#[test]
fn order_by_sample_and_no_query() {
    let (_db, c) = circle();
    c.create_field_index(
        &"i".parse().unwrap(),
        FieldIndexParams::new(FieldType::Integer),
    )
    .unwrap();
    let q = Query::OrderBy(OrderBy {
        key: "i".parse().unwrap(),
        direction: Direction::Desc,
        start_from: None,
    });
    let hits = c.query(&QueryRequest::new(q, 3)).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.score).collect::<Vec<_>>(),
        vec![35.0, 34.0, 33.0]
    );
    let sample = c.query(&QueryRequest::new(Query::Sample, 7)).unwrap();
    let mut ids: Vec<PointId> = sample.iter().map(|h| h.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 7);
    let mut none = QueryRequest::new(Query::Sample, 4);
    none.query = None;
    let first = c.query(&none).unwrap();
    assert_eq!(
        first.iter().map(|h| h.id).collect::<Vec<_>>(),
        (0..4).map(PointId::Num).collect::<Vec<_>>()
    );
}

#[test]
fn query_validation_as_qdrant() {
    let (_db, c) = circle();
    let e = c
        .query(&QueryRequest::new(Query::Nearest(id(999)), 3))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        c.query(&QueryRequest::new(Query::Nearest(id(1)), 0))
            .unwrap_err()
            .kind(),
        ErrorKind::BadInput
    );
    let e = c
        .query(&QueryRequest::new(Query::Fusion(Fusion::Dbsf), 3))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadInput, "fusion without prefetch");
    let mut two = QueryRequest::new(Query::Sample, 3);
    two.query = None;
    two.prefetch = vec![
        Prefetch::new(Query::Nearest(id(1)), 3),
        Prefetch::new(Query::Nearest(id(2)), 3),
    ];
    assert_eq!(
        c.query(&two).unwrap_err().kind(),
        ErrorKind::BadInput,
        "two prefetches, nothing to merge them"
    );
    two.prefetch.truncate(1);
    assert_eq!(
        c.query(&two).unwrap_err().kind(),
        ErrorKind::BadInput,
        "one prefetch without a query: Qdrant refuses it too"
    );
    // score_threshold needs a scoring query
    let mut t = QueryRequest::new(
        Query::OrderBy(OrderBy {
            key: "i".parse().unwrap(),
            direction: Direction::Asc,
            start_from: None,
        }),
        3,
    );
    t.score_threshold = Some(0.5);
    assert_eq!(c.query(&t).unwrap_err().kind(), ErrorKind::BadInput);
    t.query = None;
    assert_eq!(c.query(&t).unwrap_err().kind(), ErrorKind::BadInput);
    // fusion takes no `using`, at any level
    let mut f = QueryRequest::new(
        Query::Fusion(Fusion::Rrf {
            k: 2,
            weights: None,
        }),
        3,
    );
    f.prefetch = vec![
        Prefetch::new(Query::Nearest(id(1)), 3),
        Prefetch::new(Query::Nearest(id(2)), 3),
    ];
    f.using = "other".into();
    let e = c.query(&f).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadInput);
    assert!(e.to_string().contains("Fusion queries cannot be combined"));
    let mut outer = QueryRequest::new(Query::Nearest(id(3)), 3);
    f.using = vicinity::DEFAULT_VECTOR.into();
    let mut nested = Prefetch::new(f.query.clone().unwrap(), 5);
    nested.prefetch = f.prefetch.clone();
    nested.using = "other".into();
    outer.prefetch = vec![nested];
    assert_eq!(c.query(&outer).unwrap_err().kind(), ErrorKind::BadInput);
    let q = Query::Recommend {
        positive: vec![],
        negative: vec![],
        strategy: RecommendStrategy::AverageVector,
    };
    assert_eq!(
        c.query(&QueryRequest::new(q, 3)).unwrap_err().kind(),
        ErrorKind::BadInput
    );
    let mut wrong = QueryRequest::new(Query::Nearest(VectorInput::Vector(vec![1.0, 0.0, 0.0])), 3);
    assert_eq!(c.query(&wrong).unwrap_err().kind(), ErrorKind::BadInput);
    wrong.query = Some(Query::Nearest(id(1)));
    wrong.using = "other".into();
    assert_eq!(c.query(&wrong).unwrap_err().kind(), ErrorKind::BadInput);
    // example ids never come back, on the graph path too
    let q = Query::Recommend {
        positive: vec![id(1), id(2)],
        negative: vec![],
        strategy: RecommendStrategy::AverageVector,
    };
    let hits = c.query(&QueryRequest::new(q, 36)).unwrap();
    assert!(
        hits.iter()
            .all(|h| h.id != PointId::Num(1) && h.id != PointId::Num(2))
    );
    assert_eq!(hits.len(), 34);
}

/// A second collection for lookups: "taste" vectors of the circle's
/// dimension and "wide" ones of another; points 100 and 101.
fn users(db: &Database) -> std::sync::Arc<vicinity::Collection> {
    use vicinity::{VectorParams, Vectors};
    let u = db
        .create_collection(
            "users",
            CollectionConfig::named([
                ("taste".to_string(), VectorParams::new(2, Distance::Dot)),
                ("wide".to_string(), VectorParams::new(3, Distance::Dot)),
            ]),
        )
        .unwrap();
    let point = |i: u64, t: Vec<f32>| {
        PointStruct::new(
            i,
            [("taste", t), ("wide", vec![1.0; 3])]
                .into_iter()
                .collect::<Vectors>(),
            Payload::try_from(json!({"name": format!("user {i}")})).unwrap(),
        )
    };
    u.upsert(vec![
        point(100, vec![0.6, 0.8]),
        point(101, vec![-1.0, 0.0]),
    ])
    .unwrap();
    u
}

#[test]
fn lookup_from_another_collection_resolves_ids_there() {
    use vicinity::LookupFrom;
    let (db, _c) = circle();
    users(&db);
    let from = |vector: &str| {
        Some(LookupFrom {
            collection: "users".into(),
            vector: Some(vector.into()),
        })
    };
    // nearest to user 100's taste: nothing of the circle is excluded
    let mut req = exact(QueryRequest::new(Query::Nearest(id(100)), 36));
    req.lookup_from = from("taste");
    let hits = db.query("circle", &req).unwrap();
    assert_eq!(hits.len(), 36);
    for h in &hits {
        let PointId::Num(n) = h.id else {
            unreachable!()
        };
        assert!((h.score - dot(&v(n), &[0.6, 0.8])).abs() < 1e-5);
    }
    // a prefetch with its own lookup: sum_scores of user 100 minus user 101
    let mut inner = Prefetch::new(
        Query::Recommend {
            positive: vec![id(100)],
            negative: vec![id(101)],
            strategy: RecommendStrategy::SumScores,
        },
        3,
    );
    inner.lookup_from = from("taste");
    inner.params.exact = true;
    let mut req = exact(QueryRequest::new(
        Query::Nearest(VectorInput::Vector(v(0))),
        3,
    ));
    req.prefetch = vec![inner];
    let hits = db.query("circle", &req).unwrap();
    let mut best: Vec<(u64, f32)> = (0..36u64)
        .map(|n| (n, dot(&v(n), &[0.6, 0.8]) - dot(&v(n), &[-1.0, 0.0])))
        .collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut want: Vec<u64> = best[..3].iter().map(|x| x.0).collect();
    want.sort_by(|a, b| dot(&v(*b), &v(0)).total_cmp(&dot(&v(*a), &v(0))));
    let got: Vec<u64> = hits
        .iter()
        .map(|h| match h.id {
            PointId::Num(n) => n,
            PointId::Uuid(_) => unreachable!(),
        })
        .collect();
    assert_eq!(got, want);
    // errors: a missing collection or id, another dimension, no such vector
    let err = |lookup: Option<LookupFrom>, example: u64| {
        let mut req = QueryRequest::new(Query::Nearest(id(example)), 3);
        req.lookup_from = lookup;
        db.query("circle", &req).unwrap_err().kind()
    };
    assert_eq!(
        err(Some(LookupFrom::new("nowhere")), 100),
        ErrorKind::NotFound
    );
    assert_eq!(err(from("taste"), 7), ErrorKind::NotFound);
    assert_eq!(err(from("wide"), 100), ErrorKind::BadInput);
    assert_eq!(err(from("nope"), 100), ErrorKind::BadInput);
    // the collection alone cannot reach another collection
    let mut req = QueryRequest::new(Query::Nearest(id(100)), 3);
    req.lookup_from = from("taste");
    let c = db.collection("circle").unwrap();
    assert_eq!(c.query(&req).unwrap_err().kind(), ErrorKind::BadInput);
}

#[test]
fn lookup_from_the_same_collection_excludes_the_example() {
    use vicinity::LookupFrom;
    let (db, _c) = circle();
    db.create_alias("circle", "ring").unwrap();
    let mut req = exact(QueryRequest::new(Query::Nearest(id(4)), 3));
    req.lookup_from = Some(LookupFrom::new("ring"));
    let hits = db.query("circle", &req).unwrap();
    let got: Vec<PointId> = hits.iter().map(|h| h.id).collect();
    assert!(!got.contains(&PointId::Num(4)));
    for h in &hits {
        let PointId::Num(n) = h.id else {
            unreachable!()
        };
        assert!((h.score - dot(&v(n), &v(4))).abs() < 1e-5);
        assert!(n == 3 || n == 5 || n == 2 || n == 6);
    }
}

#[test]
fn with_lookup_fetches_the_group_id_point() {
    use vicinity::{GroupId, QueryGroupsRequest, WithLookup};
    let (db, _c) = circle();
    users(&db);
    // group the circle by `i`: groups 100 and 101 do not exist there, so
    // give some points a `user` key
    let c = db.collection("circle").unwrap();
    c.upsert(vec![
        PointStruct::new(
            40,
            vec![1.0, 0.0],
            Payload::try_from(json!({"user": 100})).unwrap(),
        ),
        PointStruct::new(
            41,
            vec![0.9, 0.1],
            Payload::try_from(json!({"user": 101})).unwrap(),
        ),
        PointStruct::new(
            42,
            vec![0.8, 0.2],
            Payload::try_from(json!({"user": 102})).unwrap(),
        ),
    ])
    .unwrap();
    let req = QueryGroupsRequest {
        query: exact(QueryRequest::new(
            Query::Nearest(VectorInput::Vector(vec![1.0, 0.0])),
            10,
        )),
        group_by: "user".parse().unwrap(),
        limit: 5,
        group_size: 1,
        with_lookup: Some(WithLookup::new("users")),
    };
    let groups = db.query_groups("circle", &req).unwrap();
    assert_eq!(groups.len(), 3);
    for g in &groups {
        let GroupId::Integer(u) = g.id else {
            panic!("integer groups: {g:?}")
        };
        match (u, &g.lookup) {
            (100 | 101, Some(r)) => {
                assert_eq!(r.id, PointId::Num(u as u64));
                let name = &r.payload.as_ref().unwrap().as_map()["name"];
                assert_eq!(name, &json!(format!("user {u}")));
                assert!(r.vectors.is_none());
            }
            (102, None) => {}
            other => panic!("unexpected lookup {other:?}"),
        }
    }
    // the collection alone looks up only in itself
    assert_eq!(
        c.query_groups(&req).unwrap_err().kind(),
        ErrorKind::BadInput
    );
    let mut missing = req.clone();
    missing.with_lookup = Some(WithLookup::new("nowhere"));
    assert_eq!(
        db.query_groups("circle", &missing).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn search_matrix_is_exact_among_the_sampled_points() {
    use vicinity::SearchMatrixRequest;
    let (_db, c) = circle();
    let even =
        Filter::from_json(json!({"must": [{"key": "even", "match": {"value": true}}]})).unwrap();
    // 18 even points, all sampled: each one's nearest are its neighbours
    // on the circle, 20° either way (dot = cos 20°), then 40°.
    let m = c
        .search_matrix(&SearchMatrixRequest {
            filter: Some(even),
            sample: 100,
            limit: 3,
            ..SearchMatrixRequest::default()
        })
        .unwrap();
    let want_ids: Vec<PointId> = (0..36u64).step_by(2).map(PointId::Num).collect();
    assert_eq!(m.ids, want_ids);
    for (i, row) in m.neighbours.iter().enumerate() {
        let PointId::Num(a) = m.ids[i] else {
            unreachable!()
        };
        assert_eq!(row.len(), 3);
        for &(j, score) in row {
            let PointId::Num(b) = m.ids[j] else {
                unreachable!()
            };
            assert_ne!(a, b);
            assert!((score - dot(&v(a), &v(b))).abs() < 1e-5);
        }
        let cos = |deg: f32| deg.to_radians().cos();
        assert!((row[0].1 - cos(20.0)).abs() < 1e-5);
        assert!((row[1].1 - cos(20.0)).abs() < 1e-5);
        assert!((row[2].1 - cos(40.0)).abs() < 1e-5);
    }
    let pairs = m.pairs();
    let offsets = m.offsets();
    assert_eq!(pairs.len(), 18 * 3);
    for (k, p) in pairs.iter().enumerate() {
        assert_eq!(p.a, offsets.ids[offsets.offsets_row[k] as usize]);
        assert_eq!(p.b, offsets.ids[offsets.offsets_col[k] as usize]);
        assert_eq!(p.score, offsets.scores[k]);
    }
    // a sample of 5 of 36: sorted ids, neighbours only among them
    let m = c
        .search_matrix(&SearchMatrixRequest {
            sample: 5,
            limit: 10,
            ..SearchMatrixRequest::default()
        })
        .unwrap();
    assert_eq!(m.ids.len(), 5);
    assert!(m.ids.windows(2).all(|w| w[0] < w[1]));
    assert!(m.neighbours.iter().all(|r| r.len() == 4));
}

fn num(id: PointId) -> u64 {
    match id {
        PointId::Num(n) => n,
        other => panic!("not a number: {other:?}"),
    }
}

/// MMR picked by the definition, computed here: the nearest `candidates`
/// points to `q`, then greedily the best `lambda · sim(q, c) − (1 −
/// lambda) · max sim(c, picked)`.
fn mmr_expected(q: &[f32], ids: &[u64], candidates: usize, lambda: f32, k: usize) -> Vec<u64> {
    let mut pool: Vec<u64> = ids.to_vec();
    pool.sort_by(|a, b| dot(q, &v(*b)).total_cmp(&dot(q, &v(*a))));
    pool.truncate(candidates);
    let mut picked: Vec<u64> = Vec::new();
    while picked.len() < k && !pool.is_empty() {
        let score = |c: u64| {
            let rel = dot(q, &v(c));
            if picked.is_empty() {
                return rel;
            }
            let close = picked
                .iter()
                .map(|&s| dot(&v(c), &v(s)))
                .fold(f32::NEG_INFINITY, f32::max);
            lambda * rel - (1.0 - lambda) * close
        };
        let at = (0..pool.len())
            .max_by(|&a, &b| score(pool[a]).total_cmp(&score(pool[b])))
            .unwrap();
        picked.push(pool.remove(at));
    }
    picked
}

#[test]
fn mmr_trades_relevance_for_diversity() {
    let (_db, c) = circle();
    // between grid points, so that no two candidates tie
    let q = vec![33f32.to_radians().cos(), 33f32.to_radians().sin()];
    let all: Vec<u64> = (0..36).collect();
    for (diversity, candidates) in [(0.0f32, 12usize), (0.5, 12), (0.8, 20), (1.0, 9)] {
        let mmr = vicinity::Mmr {
            diversity: Some(diversity),
            candidates_limit: Some(candidates),
        };
        let r = QueryRequest::new(
            Query::NearestMmr {
                nearest: VectorInput::Vector(q.clone()),
                mmr,
            },
            5,
        );
        let hits = c.query(&exact(r)).unwrap();
        let ids: Vec<u64> = hits.iter().map(|h| num(h.id)).collect();
        assert_eq!(
            ids,
            mmr_expected(&q, &all, candidates, 1.0 - diversity, 5),
            "diversity {diversity}"
        );
        // the scores are the nearest-search scores
        for h in &hits {
            let want = dot(&q, &v(num(h.id)));
            assert!((h.score - want).abs() < 1e-5);
        }
        if diversity > 0.5 {
            // some pick is not among the five nearest
            let nearest = mmr_expected(&q, &all, 5, 1.0, 5);
            assert!(ids.iter().any(|i| !nearest.contains(i)), "{ids:?}");
        }
    }
    // over a prefetch's results, with a filter: only even points
    let mut r = QueryRequest::new(
        Query::NearestMmr {
            nearest: VectorInput::Vector(q.clone()),
            mmr: vicinity::Mmr {
                diversity: Some(0.7),
                candidates_limit: Some(10),
            },
        },
        4,
    );
    let p = vec![57f32.to_radians().cos(), 57f32.to_radians().sin()];
    r.prefetch = vec![Prefetch::new(
        Query::Nearest(VectorInput::Vector(p.clone())),
        12,
    )];
    r.filter = Some(
        Filter::from_json(json!({"must": [{"key": "even", "match": {"value": true}}]})).unwrap(),
    );
    let hits = c.query(&r).unwrap();
    let ids: Vec<u64> = hits.iter().map(|h| num(h.id)).collect();
    let even: Vec<u64> = (0..36).filter(|i| i % 2 == 0).collect();
    let mut pool = even.clone();
    pool.sort_by(|a, b| dot(&p, &v(*b)).total_cmp(&dot(&p, &v(*a))));
    pool.truncate(12);
    assert_eq!(ids, mmr_expected(&q, &pool, 10, 0.3, 4));
    // Qdrant's bounds
    let bad = QueryRequest::new(
        Query::NearestMmr {
            nearest: VectorInput::Vector(q),
            mmr: vicinity::Mmr {
                diversity: Some(-0.1),
                candidates_limit: None,
            },
        },
        4,
    );
    let e = c.query(&bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadInput);
    assert!(e.to_string().contains("must be from 0.0 to 1.0"), "{e}");
}

#[test]
fn formula_rescores_the_prefetched_points() {
    let (_db, c) = circle();
    // score + 2 · even + i / 100, over the 8 nearest to 90°
    let formula = vicinity::Formula {
        expression: vicinity::Expression::from_json(json!({"sum": [
            "$score",
            {"mult": [2, {"key": "even", "match": {"value": true}}]},
            {"div": {"left": "i", "right": 100}}
        ]}))
        .unwrap(),
        defaults: Default::default(),
    };
    let mut req = QueryRequest::new(Query::Formula(formula), 8);
    req.prefetch = vec![Prefetch::new(Query::Nearest(VectorInput::Vector(v(9))), 8)];
    let hits = c.query(&exact(req.clone())).unwrap();
    let mut want: Vec<(u64, f32)> = (0..36u64).map(|i| (i, dot(&v(9), &v(i)))).collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1));
    want.truncate(8);
    let mut want: Vec<(u64, f32)> = want
        .into_iter()
        .map(|(i, s)| (i, s + if i % 2 == 0 { 2.0 } else { 0.0 } + i as f32 / 100.0))
        .collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert_eq!(hits.len(), 8);
    for (h, (i, s)) in hits.iter().zip(&want) {
        assert_eq!(h.id, PointId::Num(*i));
        assert!((h.score - s).abs() < 1e-5, "{} vs {s}", h.score);
    }
    // the threshold is inclusive, as Qdrant's
    req.score_threshold = Some(hits[3].score);
    assert_eq!(c.query(&exact(req)).unwrap().len(), 4);
    // without prefetches: Qdrant's refusal
    let alone = QueryRequest::new(
        Query::Formula(vicinity::Formula {
            expression: vicinity::Expression::Constant(1.0),
            defaults: Default::default(),
        }),
        3,
    );
    let e = c.query(&alone).unwrap_err().to_string();
    assert!(e.contains("cannot apply Formula without prefetches"), "{e}");
}

#[test]
fn relevance_feedback_scores_by_the_naive_formula() {
    let (_db, c) = circle();
    let judged = [
        (id(9), 0.8f32),
        (id(27), 0.2),
        (VectorInput::Vector(v(4)), 0.5),
    ];
    let strategy = vicinity::NaiveFeedback {
        a: 1.0,
        b: 2.0,
        c: 3.0,
    };
    let r = QueryRequest::new(
        Query::RelevanceFeedback {
            target: VectorInput::Vector(v(0)),
            feedback: judged
                .iter()
                .map(|(e, s)| vicinity::FeedbackItem {
                    example: e.clone(),
                    score: *s,
                })
                .collect(),
            strategy,
        },
        36,
    );
    let hits = c.query(&exact(r)).unwrap();
    // the example points never come back
    assert_eq!(hits.len(), 34);
    let vec_of = |k: usize| match k {
        0 => v(9),
        1 => v(27),
        _ => v(4),
    };
    for h in &hits {
        let p = v(num(h.id));
        let mut want = strategy.a * dot(&v(0), &p);
        for i in 0..3 {
            for j in 0..3 {
                let d = judged[i].1 - judged[j].1;
                if d > 0.0 {
                    want += d.powf(strategy.b)
                        * strategy.c
                        * (dot(&vec_of(i), &p) - dot(&vec_of(j), &p));
                }
            }
        }
        assert!(
            (h.score - want).abs() < 1e-4,
            "{}: {} vs {want}",
            num(h.id),
            h.score
        );
    }
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

/// BM25 by hand over `docs` (whitespace tokens, lower-cased), as Qdrant's
/// text query scores them.
fn bm25_by_hand(docs: &[(u64, &str)], query: &str, k1: f64, b: f64) -> Vec<(u64, f32)> {
    let toks =
        |s: &str| -> Vec<String> { s.split_whitespace().map(|t| t.to_lowercase()).collect() };
    let n = docs.len() as f64;
    let avg = docs.iter().map(|(_, d)| toks(d).len() as f64).sum::<f64>() / n;
    let mut terms = toks(query);
    terms.sort();
    terms.dedup();
    let mut out: Vec<(u64, f32)> = docs
        .iter()
        .filter_map(|(id, d)| {
            let t = toks(d);
            let norm = k1 * (1.0 - b + b * t.len() as f64 / avg);
            let s: f64 = terms
                .iter()
                .map(|q| {
                    let df = docs.iter().filter(|(_, d)| toks(d).contains(q)).count() as f64;
                    let tf = t.iter().filter(|x| *x == q).count() as f64;
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    if tf > 0.0 {
                        idf * tf * (k1 + 1.0) / (tf + norm)
                    } else {
                        0.0
                    }
                })
                .sum();
            (s > 0.0).then_some((*id, s as f32))
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[test]
fn text_queries_rank_by_bm25_and_survive_reopen() {
    let docs: Vec<(u64, &str)> = vec![
        (1, "red lipstick matte"),
        (2, "lipstick lipstick gloss"),
        (3, "blue mascara"),
        (4, "red nail polish red"),
        (5, "long lasting matte lipstick with a red tint and shine"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let key: vicinity::JsonPath = "title".parse().unwrap();
    let text_query = |q: &str, k1: f64, b: f64| {
        let mut r = QueryRequest::new(
            Query::Text {
                query: q.into(),
                bm25: vicinity::Bm25 { k1, b },
            },
            10,
        );
        r.using = "title".into();
        r
    };
    let check = |c: &vicinity::Collection| {
        for (q, k1, b) in [
            ("red lipstick", 1.2, 0.75),
            ("LIPSTICK matte", 0.5, 0.0),
            ("mascara", 2.0, 1.0),
        ] {
            let got = c.query(&text_query(q, k1, b)).unwrap();
            let want = bm25_by_hand(&docs, q, k1, b);
            assert_eq!(got.len(), want.len(), "{q}");
            for (g, (id, s)) in got.iter().zip(&want) {
                assert!((g.score - s).abs() < 1e-5, "{q}: {got:?} vs {want:?}");
                assert_eq!(g.id, PointId::Num(*id), "{q}: {got:?} vs {want:?}");
            }
        }
    };
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("t", CollectionConfig::single(2, Distance::Dot))
            .unwrap();
        let mut params = FieldIndexParams::new(FieldType::Text);
        params.scoring = true;
        c.create_field_index(&key, params).unwrap();
        // a document replaced and one deleted: the statistics follow
        c.upsert(
            docs.iter()
                .chain([(6, "red red red"), (3, "old title")].iter())
                .map(|(id, t)| {
                    PointStruct::new(
                        *id,
                        vec![1.0, 0.0],
                        Payload::try_from(json!({"title": t})).unwrap(),
                    )
                })
                .collect(),
        )
        .unwrap();
        c.upsert(vec![PointStruct::new(
            3,
            vec![1.0, 0.0],
            Payload::try_from(json!({"title": "blue mascara"})).unwrap(),
        )])
        .unwrap();
        c.delete(&[PointId::Num(6)]).unwrap();
        check(&c);
        // a text index without scoring refuses
        c.create_field_index(
            &"other".parse().unwrap(),
            FieldIndexParams::new(FieldType::Text),
        )
        .unwrap();
        let mut r = text_query("red", 1.2, 0.75);
        r.using = "other".into();
        let e = c.query(&r).unwrap_err().to_string();
        assert!(
            e.contains("needs a text index with `scoring` on `other`"),
            "{e}"
        );
    }
    let db = Database::open(dir.path()).unwrap();
    check(&db.collection("t").unwrap());
}
