//! The universal query and the older recommend, discover and group RPCs
//! through the official Rust client, scores checked against a computation
//! in the test on a few hand-made 2-D points (dot product, so the scores
//! are plain sums).

use std::collections::HashMap;

use ::qdrant_client::Qdrant;
use ::qdrant_client::qdrant::{
    ContextExamplePair, ContextInputBuilder, CreateCollectionBuilder, DiscoverBatchPointsBuilder,
    DiscoverInputBuilder, DiscoverPointsBuilder, Distance, Fusion, PointId, PointStruct,
    PrefetchQueryBuilder, Query, QueryBatchPointsBuilder, QueryPointGroupsBuilder,
    QueryPointsBuilder, RecommendBatchPointsBuilder, RecommendInputBuilder,
    RecommendPointGroupsBuilder, RecommendPointsBuilder, RecommendStrategy, RrfBuilder, Sample,
    ScoredPoint, SearchPointGroupsBuilder, TargetVector, UpsertPointsBuilder, VectorExample,
    VectorInput, VectorParamsBuilder, group_id::Kind, point_id::PointIdOptions, target_vector,
    vector_example,
};
use serde_json::json;
use tonic::Code;

use crate::client::payload;
use crate::support::{client, code, server};

const C: &str = "q";
const EPS: f32 = 1e-4;

/// The points: id, vector, group.
fn points() -> Vec<(u64, [f32; 2], serde_json::Value)> {
    vec![
        (1, [1.0, 0.1], json!("a")),
        (2, [0.2, 1.0], json!("b")),
        (3, [0.9, 0.8], json!("a")),
        (4, [-0.7, 0.4], json!("b")),
        (5, [0.6, -0.9], json!(1)),
        (6, [1.7, 0.3], json!(1)),
        (7, [-0.2, -0.6], json!(-2)),
        (8, [0.4, 0.45], json!("a")),
    ]
}

fn vector_of(id: u64) -> [f32; 2] {
    points().into_iter().find(|p| p.0 == id).unwrap().1
}

fn dot(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

fn sigmoid(x: f32) -> f32 {
    0.5 * (x / (1.0 + x.abs()) + 1.0)
}

fn num(id: &Option<PointId>) -> u64 {
    match id.as_ref().and_then(|p| p.point_id_options.clone()) {
        Some(PointIdOptions::Num(n)) => n,
        other => panic!("not a numeric id: {other:?}"),
    }
}

/// Expected scores of every point but `exclude`.
fn expect_all(exclude: &[u64], f: impl Fn([f32; 2]) -> f32) -> HashMap<u64, f32> {
    points()
        .into_iter()
        .filter(|p| !exclude.contains(&p.0))
        .map(|(id, v, _)| (id, f(v)))
        .collect()
}

/// `hits` are a best-first top `limit` of `expected` with its scores (ties
/// may come in either order).
fn check(what: &str, hits: &[ScoredPoint], expected: &HashMap<u64, f32>, limit: usize) {
    assert_eq!(
        hits.len(),
        limit.min(expected.len()),
        "{what}: {hits:?} vs {expected:?}"
    );
    for w in hits.windows(2) {
        assert!(w[0].score >= w[1].score - EPS, "{what}: not best first");
    }
    let mut seen = Vec::new();
    for h in hits {
        let id = num(&h.id);
        let want = expected
            .get(&id)
            .unwrap_or_else(|| panic!("{what}: unexpected point {id}"));
        assert!(
            (h.score - want).abs() < EPS,
            "{what}: point {id} scored {} not {want}",
            h.score
        );
        seen.push(id);
    }
    if let Some(last) = hits.last() {
        for (id, s) in expected {
            if !seen.contains(id) {
                assert!(*s <= last.score + EPS, "{what}: point {id} ({s}) left out");
            }
        }
    }
}

async fn setup() -> (vicinity_server::testing::TestServer, Qdrant) {
    let s = server().await;
    let c = client(&s);
    c.create_collection(
        CreateCollectionBuilder::new(C).vectors_config(VectorParamsBuilder::new(2, Distance::Dot)),
    )
    .await
    .unwrap();
    let pts: Vec<PointStruct> = points()
        .into_iter()
        .map(|(id, v, g)| PointStruct::new(id, v.to_vec(), payload(json!({ "g": g }))))
        .collect();
    c.upsert_points(UpsertPointsBuilder::new(C, pts).wait(true))
        .await
        .unwrap();
    (s, c)
}

fn mean(vs: &[[f32; 2]]) -> [f32; 2] {
    let n = vs.len() as f32;
    [
        vs.iter().map(|v| v[0]).sum::<f32>() / n,
        vs.iter().map(|v| v[1]).sum::<f32>() / n,
    ]
}

/// Recommend with positives `[1, (0.5, 0.5)]` and negative `[2]`, scored
/// by each strategy.
fn recommend_expected(strategy: RecommendStrategy) -> HashMap<u64, f32> {
    let pos = [vector_of(1), [0.5, 0.5]];
    let neg = [vector_of(2)];
    match strategy {
        RecommendStrategy::AverageVector => {
            let (p, n) = (mean(&pos), mean(&neg));
            let q = [2.0 * p[0] - n[0], 2.0 * p[1] - n[1]];
            expect_all(&[1, 2], |v| dot(q, v))
        }
        RecommendStrategy::BestScore => expect_all(&[1, 2], |v| {
            let bp = pos.iter().map(|p| dot(*p, v)).fold(f32::MIN, f32::max);
            let bn = neg.iter().map(|n| dot(*n, v)).fold(f32::MIN, f32::max);
            if bp > bn { sigmoid(bp) } else { -sigmoid(bn) }
        }),
        RecommendStrategy::SumScores => expect_all(&[1, 2], |v| {
            pos.iter().map(|p| dot(*p, v)).sum::<f32>()
                - neg.iter().map(|n| dot(*n, v)).sum::<f32>()
        }),
    }
}

const STRATEGIES: [RecommendStrategy; 3] = [
    RecommendStrategy::AverageVector,
    RecommendStrategy::BestScore,
    RecommendStrategy::SumScores,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommend_query_all_strategies() {
    let (_s, c) = setup().await;
    for strategy in STRATEGIES {
        let input = RecommendInputBuilder::default()
            .add_positive(VectorInput::new_id(1))
            .add_positive(vec![0.5, 0.5])
            .add_negative(VectorInput::new_id(2))
            .strategy(strategy);
        let hits = c
            .query(
                QueryPointsBuilder::new(C)
                    .query(Query::new_recommend(input))
                    .limit(4),
            )
            .await
            .unwrap()
            .result;
        check(
            &format!("{strategy:?}"),
            &hits,
            &recommend_expected(strategy),
            4,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nearest_by_id_leaves_the_point_out_and_pages() {
    let (_s, c) = setup().await;
    let q = vector_of(3);
    let expected = expect_all(&[3], |v| dot(q, v));
    let all = c
        .query(
            QueryPointsBuilder::new(C)
                .query(Query::new_nearest(VectorInput::new_id(3)))
                .limit(10),
        )
        .await
        .unwrap()
        .result;
    check("nearest by id", &all, &expected, 10);
    let page = c
        .query(
            QueryPointsBuilder::new(C)
                .query(Query::new_nearest(VectorInput::new_id(3)))
                .limit(2)
                .offset(2),
        )
        .await
        .unwrap()
        .result;
    let ids: Vec<_> = page.iter().map(|h| num(&h.id)).collect();
    let want: Vec<_> = all[2..4].iter().map(|h| num(&h.id)).collect();
    assert_eq!(ids, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_and_context_queries() {
    let (_s, c) = setup().await;
    let target = [1.0, 0.0];
    let (p, n) = (vector_of(3), vector_of(4));
    let expected = expect_all(&[3, 4], |v| {
        let rank = if dot(v, p) > dot(v, n) { 1.0 } else { -1.0 };
        rank + sigmoid(dot(v, target))
    });
    let input = DiscoverInputBuilder::new(
        target.to_vec(),
        ContextInputBuilder::default().add_pair(VectorInput::new_id(3), VectorInput::new_id(4)),
    );
    let hits = c
        .query(
            QueryPointsBuilder::new(C)
                .query(Query::new_discover(input))
                .limit(10),
        )
        .await
        .unwrap()
        .result;
    check("discover", &hits, &expected, 10);

    // context only: 0 on the positive side, a loss on the other
    let expected = expect_all(&[3, 4], |v| {
        let x = (dot(v, p) - dot(v, n) - f32::EPSILON).min(0.0);
        x / (1.0 + x.abs())
    });
    let hits = c
        .query(
            QueryPointsBuilder::new(C)
                .query(Query::new_context(
                    ContextInputBuilder::default()
                        .add_pair(VectorInput::new_id(3), VectorInput::new_id(4)),
                ))
                .limit(10),
        )
        .await
        .unwrap()
        .result;
    check("context", &hits, &expected, 10);

    // the older RPC: same target and pair
    let legacy = c
        .discover(
            DiscoverPointsBuilder::new(
                C,
                vec![ContextExamplePair {
                    positive: Some(VectorExample {
                        example: Some(vector_example::Example::Id(3.into())),
                    }),
                    negative: Some(VectorExample {
                        example: Some(vector_example::Example::Id(4.into())),
                    }),
                }],
                10,
            )
            .target(TargetVector {
                target: Some(target_vector::Target::Single(VectorExample {
                    example: Some(vector_example::Example::Vector(target.to_vec().into())),
                })),
            }),
        )
        .await
        .unwrap()
        .result;
    let expected = expect_all(&[3, 4], |v| {
        let rank = if dot(v, p) > dot(v, n) { 1.0 } else { -1.0 };
        rank + sigmoid(dot(v, target))
    });
    check("legacy discover", &legacy, &expected, 10);
    let batch = c
        .discover_batch(
            &DiscoverBatchPointsBuilder::new(
                C,
                vec![
                    DiscoverPointsBuilder::new(
                        C,
                        vec![ContextExamplePair {
                            positive: Some(VectorExample {
                                example: Some(vector_example::Example::Id(3.into())),
                            }),
                            negative: Some(VectorExample {
                                example: Some(vector_example::Example::Id(4.into())),
                            }),
                        }],
                        3,
                    )
                    .build(),
                ],
            )
            .build(),
        )
        .await
        .unwrap()
        .result;
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].result.len(), 3);
}

/// The top `limit` points by dot product with `q`, best first.
fn nearest_list(q: [f32; 2], limit: usize) -> Vec<(u64, f32)> {
    let mut l: Vec<(u64, f32)> = points()
        .into_iter()
        .map(|(id, v, _)| (id, dot(q, v)))
        .collect();
    l.sort_by(|a, b| b.1.total_cmp(&a.1));
    l.truncate(limit);
    l
}

/// Qdrant's RRF: `1 / ((rank + 1) / w + k - 1)`, ranks from 0.
fn rrf(lists: &[Vec<(u64, f32)>], k: f32, weights: &[f32]) -> HashMap<u64, f32> {
    let mut out = HashMap::new();
    for (l, w) in lists.iter().zip(weights) {
        for (rank, (id, _)) in l.iter().enumerate() {
            *out.entry(*id).or_insert(0.0) += 1.0 / ((rank as f32 + 1.0) / w + k - 1.0);
        }
    }
    out
}

/// Qdrant's DBSF: mean ± 3 sample standard deviations, not clamped.
fn dbsf(lists: &[Vec<(u64, f32)>]) -> HashMap<u64, f32> {
    let mut out = HashMap::new();
    for l in lists {
        let n = l.len() as f32;
        let mean = l.iter().map(|x| x.1).sum::<f32>() / n;
        let sd = (l.iter().map(|x| (x.1 - mean).powi(2)).sum::<f32>() / (n - 1.0)).sqrt();
        let (lo, hi) = (mean - 3.0 * sd, mean + 3.0 * sd);
        for (id, s) in l {
            *out.entry(*id).or_insert(0.0) += (s - lo) / (hi - lo);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_and_fusion() {
    let (_s, c) = setup().await;
    let (a, b) = ([1.0, 0.0], [0.0, 1.0]);
    let lists = [nearest_list(a, 4), nearest_list(b, 4)];
    let prefetch = |q: [f32; 2]| {
        PrefetchQueryBuilder::default()
            .query(Query::new_nearest(q.to_vec()))
            .limit(4u64)
    };
    let run = |query: Query| {
        let c = &c;
        async move {
            c.query(
                QueryPointsBuilder::new(C)
                    .add_prefetch(prefetch(a))
                    .add_prefetch(prefetch(b))
                    .query(query)
                    .limit(10),
            )
            .await
            .unwrap()
            .result
        }
    };
    let hits = run(Query::new_fusion(Fusion::Rrf)).await;
    check("rrf", &hits, &rrf(&lists, 2.0, &[1.0, 1.0]), 10);
    let hits = run(Query::new_rrf(
        RrfBuilder::with_k(5).weights(vec![1.0, 3.0]),
    ))
    .await;
    check(
        "rrf k=5 weighted",
        &hits,
        &rrf(&lists, 5.0, &[1.0, 3.0]),
        10,
    );
    let hits = run(Query::new_fusion(Fusion::Dbsf)).await;
    check("dbsf", &hits, &dbsf(&lists), 10);

    // a query over one prefetch re-scores its results
    let hits = c
        .query(
            QueryPointsBuilder::new(C)
                .add_prefetch(prefetch(a))
                .query(Query::new_nearest(b.to_vec()))
                .limit(10),
        )
        .await
        .unwrap()
        .result;
    let expected: HashMap<u64, f32> = lists[0]
        .iter()
        .map(|(id, _)| (*id, dot(b, vector_of(*id))))
        .collect();
    check("rescore", &hits, &expected, 10);

    // several prefetches need a query to merge them
    let err = c
        .query(
            QueryPointsBuilder::new(C)
                .add_prefetch(prefetch(a))
                .add_prefetch(prefetch(b)),
        )
        .await;
    assert_eq!(code(err), Code::InvalidArgument);

    // sample: distinct points, as many as asked
    let hits = c
        .query(
            QueryPointsBuilder::new(C)
                .query(Query::new_sample(Sample::Random))
                .limit(5),
        )
        .await
        .unwrap()
        .result;
    let mut ids: Vec<_> = hits.iter().map(|h| num(&h.id)).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_batch_answers_in_order() {
    let (_s, c) = setup().await;
    let queries = vec![
        QueryPointsBuilder::new(C)
            .query(Query::new_nearest(vec![1.0, 0.0]))
            .limit(3)
            .build(),
        QueryPointsBuilder::new(C)
            .query(Query::new_recommend(
                RecommendInputBuilder::default()
                    .add_positive(VectorInput::new_id(1))
                    .add_positive(vec![0.5, 0.5])
                    .add_negative(VectorInput::new_id(2))
                    .strategy(RecommendStrategy::SumScores),
            ))
            .limit(3)
            .build(),
    ];
    let r = c
        .query_batch(QueryBatchPointsBuilder::new(C, queries))
        .await
        .unwrap()
        .result;
    assert_eq!(r.len(), 2);
    check(
        "batch nearest",
        &r[0].result,
        &expect_all(&[], |v| dot([1.0, 0.0], v)),
        3,
    );
    check(
        "batch recommend",
        &r[1].result,
        &recommend_expected(RecommendStrategy::SumScores),
        3,
    );
}

fn group_key(id: &Option<::qdrant_client::qdrant::GroupId>) -> String {
    match id.as_ref().and_then(|g| g.kind.clone()) {
        Some(Kind::StringValue(s)) => s,
        Some(Kind::UnsignedValue(u)) => format!("u{u}"),
        Some(Kind::IntegerValue(i)) => format!("i{i}"),
        None => panic!("group without an id"),
    }
}

fn group_ids(groups: &[::qdrant_client::qdrant::PointGroup]) -> Vec<(String, Vec<u64>)> {
    groups
        .iter()
        .map(|g| {
            (
                group_key(&g.id),
                g.hits.iter().map(|h| num(&h.id)).collect(),
            )
        })
        .collect()
}

/// Groups of `order` (ids best first), as the test computes them.
fn expected_groups(order: &[u64], limit: usize, size: usize) -> Vec<(String, Vec<u64>)> {
    let mut out: Vec<(String, Vec<u64>)> = Vec::new();
    for id in order {
        let g = points().into_iter().find(|p| p.0 == *id).unwrap().2;
        let key = match g {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(u) => format!("u{u}"),
                None => format!("i{}", n.as_i64().unwrap()),
            },
            _ => unreachable!(),
        };
        match out.iter().position(|(k, _)| *k == key) {
            Some(i) if out[i].1.len() < size => out[i].1.push(*id),
            Some(_) => {}
            None if out.len() < limit => out.push((key, vec![*id])),
            None => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_through_every_rpc() {
    let (_s, c) = setup().await;
    let q = [1.0, 0.0];
    let order: Vec<u64> = nearest_list(q, 8).into_iter().map(|x| x.0).collect();

    let r = c
        .query_groups(
            QueryPointGroupsBuilder::new(C, "g")
                .query(Query::new_nearest(q.to_vec()))
                .limit(4u64)
                .group_size(2u64),
        )
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(group_ids(&r.groups), expected_groups(&order, 4, 2));
    assert!(
        group_ids(&r.groups).iter().any(|(k, _)| k == "i-2"),
        "a negative group id is an integer_value: {:?}",
        group_ids(&r.groups)
    );
    for g in &r.groups {
        for h in &g.hits {
            assert!((h.score - dot(q, vector_of(num(&h.id)))).abs() < EPS);
        }
    }

    let r = c
        .search_groups(SearchPointGroupsBuilder::new(C, q.to_vec(), 2, "g", 3))
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(group_ids(&r.groups), expected_groups(&order, 2, 3));

    let rec = recommend_expected(RecommendStrategy::AverageVector);
    let mut rec_order: Vec<(u64, f32)> = rec.into_iter().collect();
    rec_order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let rec_order: Vec<u64> = rec_order.into_iter().map(|x| x.0).collect();
    let r = c
        .recommend_groups(
            RecommendPointGroupsBuilder::new(C, "g", 1, 3)
                .add_positive(1)
                .add_positive(::qdrant_client::qdrant::Vector::from(vec![0.5, 0.5]))
                .add_negative(2),
        )
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(group_ids(&r.groups), expected_groups(&rec_order, 3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_recommend_rpcs() {
    let (_s, c) = setup().await;
    for strategy in STRATEGIES {
        let hits = c
            .recommend(
                RecommendPointsBuilder::new(C, 10)
                    .add_positive(1)
                    .add_positive(::qdrant_client::qdrant::Vector::from(vec![0.5, 0.5]))
                    .add_negative(2)
                    .strategy(strategy),
            )
            .await
            .unwrap()
            .result;
        check(
            &format!("legacy {strategy:?}"),
            &hits,
            &recommend_expected(strategy),
            10,
        );
    }
    let batch = c
        .recommend_batch(RecommendBatchPointsBuilder::new(
            C,
            vec![
                RecommendPointsBuilder::new(C, 2).add_positive(6).build(),
                RecommendPointsBuilder::new(C, 3).add_positive(1).build(),
            ],
        ))
        .await
        .unwrap()
        .result;
    assert_eq!(batch.len(), 2);
    check(
        "batch 0",
        &batch[0].result,
        &expect_all(&[6], |v| dot(vector_of(6), v)),
        2,
    );
    check(
        "batch 1",
        &batch[1].result,
        &expect_all(&[1], |v| dot(vector_of(1), v)),
        3,
    );
    // a missing example, and limit 0, are refused as Qdrant refuses them
    let err = c
        .recommend(RecommendPointsBuilder::new(C, 3).add_positive(404))
        .await;
    assert_eq!(code(err), Code::NotFound);
    let err = c
        .recommend(RecommendPointsBuilder::new(C, 0).add_positive(1))
        .await;
    assert_eq!(code(err), Code::InvalidArgument);
}
