//! The parts of the query surface that reach past one collection or one
//! query: the sampled distance matrix (pairs and offsets), `with_lookup`
//! on grouped queries and `lookup_from` on recommend, discover and nearest,
//! through the official Rust client, answers computed in the test.

use std::collections::{BTreeMap, HashMap};

use ::qdrant_client::Qdrant;
use ::qdrant_client::qdrant::{
    Condition, ContextExamplePair, ContextInputBuilder, CreateCollectionBuilder,
    DiscoverInputBuilder, DiscoverPointsBuilder, Distance, Filter, LookupLocationBuilder,
    NamedVectors, PointId, PointStruct, PrefetchQueryBuilder, Query, QueryPointGroupsBuilder,
    QueryPointsBuilder, RecommendInputBuilder, RecommendPointGroupsBuilder, RecommendPointsBuilder,
    RetrievedPoint, ScoredPoint, SearchMatrixPointsBuilder, SearchPointGroupsBuilder, TargetVector,
    UpsertPointsBuilder, VectorExample, VectorInput, VectorParamsBuilder, VectorParamsMap,
    VectorsConfig, WithLookupBuilder, point_id::PointIdOptions, target_vector, vector_example,
    vectors_config,
};
use serde_json::json;
use tonic::Code;

use crate::client::payload;
use crate::support::{client, code, server};

const EPS: f32 = 1e-4;

fn num(id: &Option<PointId>) -> u64 {
    match id.as_ref().and_then(|p| p.point_id_options.clone()) {
        Some(PointIdOptions::Num(n)) => n,
        other => panic!("not a numeric id: {other:?}"),
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn euclid(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

// ---------------------------------------------------------------------------
// Search matrix
// ---------------------------------------------------------------------------

/// Twelve 2-D points with distinct pairwise distances; even ids are "kept".
fn matrix_points() -> Vec<(u64, Vec<f32>)> {
    (1..=12u64)
        .map(|i| {
            let f = i as f32;
            (i, vec![f * 0.7 + (f * f) * 0.031, (f * 1.3).sin() * 4.0])
        })
        .collect()
}

async fn matrix_setup() -> (vicinity_server::testing::TestServer, Qdrant) {
    let s = server().await;
    let c = client(&s);
    c.create_collection(
        CreateCollectionBuilder::new("m")
            .vectors_config(VectorParamsBuilder::new(2, Distance::Euclid)),
    )
    .await
    .unwrap();
    let pts: Vec<PointStruct> = matrix_points()
        .into_iter()
        .map(|(id, v)| PointStruct::new(id, v, payload(json!({ "keep": id % 2 == 0 }))))
        .collect();
    c.upsert_points(UpsertPointsBuilder::new("m", pts).wait(true))
        .await
        .unwrap();
    (s, c)
}

/// For each of `ids` (sorted), its `limit` nearest others among `ids`
/// (Euclid, closest first), computed here.
fn expected_matrix(ids: &[u64], limit: usize) -> BTreeMap<u64, Vec<(u64, f32)>> {
    let all: HashMap<u64, Vec<f32>> = matrix_points().into_iter().collect();
    ids.iter()
        .map(|a| {
            let mut row: Vec<(u64, f32)> = ids
                .iter()
                .filter(|b| *b != a)
                .map(|b| (*b, euclid(&all[a], &all[b])))
                .collect();
            row.sort_by(|x, y| x.1.total_cmp(&y.1));
            row.truncate(limit);
            (*a, row)
        })
        .collect()
}

fn assert_rows(got: &BTreeMap<u64, Vec<(u64, f32)>>, want: &BTreeMap<u64, Vec<(u64, f32)>>) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (a, row) in want {
        let g = &got[a];
        assert_eq!(g.len(), row.len(), "row {a}: {g:?} vs {row:?}");
        for ((gb, gs), (wb, ws)) in g.iter().zip(row) {
            assert_eq!(gb, wb, "row {a}: {g:?} vs {row:?}");
            assert!((gs - ws).abs() < EPS, "row {a}: {g:?} vs {row:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_matrix_pairs_and_offsets() {
    let (_s, c) = matrix_setup().await;
    let kept: Vec<u64> = (1..=12).filter(|i| i % 2 == 0).collect();
    let keep = Filter::must([Condition::matches("keep", true)]);

    // a sample larger than the matches takes them all: the answer is exact
    let pairs = c
        .search_matrix_pairs(
            SearchMatrixPointsBuilder::new("m")
                .filter(keep.clone())
                .sample(50)
                .limit(2),
        )
        .await
        .unwrap()
        .result
        .unwrap()
        .pairs;
    let mut rows: BTreeMap<u64, Vec<(u64, f32)>> = BTreeMap::new();
    let mut order = Vec::new();
    for p in &pairs {
        let a = num(&p.a);
        if order.last() != Some(&a) {
            order.push(a);
        }
        rows.entry(a).or_default().push((num(&p.b), p.score));
    }
    assert_eq!(order, kept, "pairs come row by row, rows in id order");
    assert_rows(&rows, &expected_matrix(&kept, 2));

    let off = c
        .search_matrix_offsets(
            SearchMatrixPointsBuilder::new("m")
                .filter(keep)
                .sample(50)
                .limit(2),
        )
        .await
        .unwrap()
        .result
        .unwrap();
    let ids: Vec<u64> = off.ids.iter().map(|i| num(&Some(i.clone()))).collect();
    assert_eq!(ids, kept);
    assert_eq!(off.offsets_row.len(), off.scores.len());
    assert_eq!(off.offsets_col.len(), off.scores.len());
    let mut rows: BTreeMap<u64, Vec<(u64, f32)>> = BTreeMap::new();
    for k in 0..off.scores.len() {
        rows.entry(ids[off.offsets_row[k] as usize])
            .or_default()
            .push((ids[off.offsets_col[k] as usize], off.scores[k]));
    }
    assert_rows(&rows, &expected_matrix(&kept, 2));

    // a real sample: 4 of 12, neighbours only among the sampled
    for _ in 0..3 {
        let off = c
            .search_matrix_offsets(SearchMatrixPointsBuilder::new("m").sample(4).limit(3))
            .await
            .unwrap()
            .result
            .unwrap();
        let ids: Vec<u64> = off.ids.iter().map(|i| num(&Some(i.clone()))).collect();
        assert_eq!(ids.len(), 4);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted: {ids:?}");
        let mut rows: BTreeMap<u64, Vec<(u64, f32)>> = BTreeMap::new();
        for k in 0..off.scores.len() {
            rows.entry(ids[off.offsets_row[k] as usize])
                .or_default()
                .push((ids[off.offsets_col[k] as usize], off.scores[k]));
        }
        assert_rows(&rows, &expected_matrix(&ids, 3));
    }

    // defaults: 10 samples, 3 neighbours
    let pairs = c
        .search_matrix_pairs(SearchMatrixPointsBuilder::new("m"))
        .await
        .unwrap()
        .result
        .unwrap()
        .pairs;
    assert_eq!(pairs.len(), 10 * 3);

    // fewer than two matching points: an empty matrix
    let one = Filter::must([Condition::has_id([4])]);
    let r = c
        .search_matrix_pairs(SearchMatrixPointsBuilder::new("m").filter(one))
        .await
        .unwrap()
        .result
        .unwrap();
    assert!(r.pairs.is_empty());

    // Qdrant's validation and errors
    let err = c
        .search_matrix_pairs(SearchMatrixPointsBuilder::new("m").sample(1))
        .await;
    assert_eq!(code(err), Code::InvalidArgument);
    let err = c
        .search_matrix_offsets(SearchMatrixPointsBuilder::new("m").limit(0))
        .await;
    assert_eq!(code(err), Code::InvalidArgument);
    let err = c
        .search_matrix_pairs(SearchMatrixPointsBuilder::new("m").using("nope"))
        .await;
    assert_eq!(code(err), Code::InvalidArgument);
    let err = c
        .search_matrix_pairs(SearchMatrixPointsBuilder::new("nowhere"))
        .await;
    assert_eq!(code(err), Code::NotFound);
}

// ---------------------------------------------------------------------------
// with_lookup
// ---------------------------------------------------------------------------

const BRAND_UUID: &str = "5f1c0b5e-3a4b-4c6d-8e9f-0a1b2c3d4e5f";

/// Products: id, vector, brand (the group key: integers and a UUID string).
fn products() -> Vec<(u64, [f32; 2], serde_json::Value)> {
    vec![
        (1, [1.0, 0.1], json!(10)),
        (2, [0.9, 0.3], json!(20)),
        (3, [0.8, 0.5], json!(10)),
        (4, [0.1, 1.0], json!(30)),
        (5, [0.5, 0.5], json!(BRAND_UUID)),
        (6, [-0.4, 0.9], json!("no-such-brand")),
    ]
}

async fn lookup_setup() -> (vicinity_server::testing::TestServer, Qdrant) {
    let s = server().await;
    let c = client(&s);
    c.create_collection(
        CreateCollectionBuilder::new("products")
            .vectors_config(VectorParamsBuilder::new(2, Distance::Dot)),
    )
    .await
    .unwrap();
    let pts: Vec<PointStruct> = products()
        .into_iter()
        .map(|(id, v, b)| PointStruct::new(id, v.to_vec(), payload(json!({ "brand": b }))))
        .collect();
    c.upsert_points(UpsertPointsBuilder::new("products", pts).wait(true))
        .await
        .unwrap();
    // brands 10 and 20 and the UUID exist; 30 does not
    c.create_collection(
        CreateCollectionBuilder::new("brands")
            .vectors_config(VectorParamsBuilder::new(3, Distance::Cosine)),
    )
    .await
    .unwrap();
    let brands = vec![
        PointStruct::new(
            10,
            vec![1.0, 0.0, 0.0],
            payload(json!({"name": "Acme", "country": "FR"})),
        ),
        PointStruct::new(
            20,
            vec![0.0, 1.0, 0.0],
            payload(json!({"name": "Bloom", "country": "IT"})),
        ),
        PointStruct::new(
            BRAND_UUID.to_string(),
            vec![0.0, 0.0, 1.0],
            payload(json!({"name": "Coral", "country": "JP"})),
        ),
    ];
    c.upsert_points(UpsertPointsBuilder::new("brands", brands).wait(true))
        .await
        .unwrap();
    (s, c)
}

fn group_key(g: &::qdrant_client::qdrant::PointGroup) -> String {
    use ::qdrant_client::qdrant::group_id::Kind;
    match g.id.as_ref().and_then(|g| g.kind.clone()) {
        Some(Kind::StringValue(s)) => s,
        Some(Kind::UnsignedValue(u)) => u.to_string(),
        Some(Kind::IntegerValue(i)) => i.to_string(),
        None => panic!("group without an id"),
    }
}

fn lookup_name(p: &RetrievedPoint) -> String {
    use ::qdrant_client::qdrant::value::Kind;
    match p.payload.get("name").and_then(|v| v.kind.clone()) {
        Some(Kind::StringValue(s)) => s,
        other => panic!("no name in {other:?}"),
    }
}

/// What each group's lookup should be, from the brands made in setup.
fn expected_lookup(key: &str) -> Option<&'static str> {
    match key {
        "10" => Some("Acme"),
        "20" => Some("Bloom"),
        k if k == BRAND_UUID => Some("Coral"),
        _ => None,
    }
}

fn check_lookups(groups: &[::qdrant_client::qdrant::PointGroup], with_vectors: bool) {
    assert!(!groups.is_empty());
    for g in groups {
        let key = group_key(g);
        match (expected_lookup(&key), &g.lookup) {
            (None, None) => {}
            (Some(name), Some(p)) => {
                assert_eq!(lookup_name(p), name, "group {key}");
                assert_eq!(p.vectors.is_some(), with_vectors, "group {key}: {p:?}");
            }
            (want, got) => panic!("group {key}: lookup {got:?}, want {want:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_lookup_on_every_group_rpc() {
    let (_s, c) = lookup_setup().await;
    let r = c
        .query_groups(
            QueryPointGroupsBuilder::new("products", "brand")
                .query(Query::new_nearest(vec![1.0, 0.2]))
                .limit(10u64)
                .group_size(2u64)
                .with_lookup(WithLookupBuilder::new("brands")),
        )
        .await
        .unwrap()
        .result
        .unwrap();
    let mut keys: Vec<String> = r.groups.iter().map(group_key).collect();
    keys.sort();
    let mut want = vec!["10", "20", "30", BRAND_UUID, "no-such-brand"];
    want.sort();
    assert_eq!(keys, want);
    check_lookups(&r.groups, false);
    // the lookup's payload is there by default; its vector only if asked
    let r = c
        .query_groups(
            QueryPointGroupsBuilder::new("products", "brand")
                .query(Query::new_nearest(vec![1.0, 0.2]))
                .with_lookup(WithLookupBuilder::new("brands").with_vectors(true)),
        )
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(r.groups.len(), 3, "three groups by default");
    check_lookups(&r.groups, true);

    let r = c
        .search_groups(
            SearchPointGroupsBuilder::new("products", vec![0.2, 1.0], 10, "brand", 1)
                .with_lookup(WithLookupBuilder::new("brands")),
        )
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(r.groups.len(), 5);
    check_lookups(&r.groups, false);

    let r = c
        .recommend_groups(
            RecommendPointGroupsBuilder::new("products", "brand", 1, 10)
                .add_positive(1)
                .with_lookup(WithLookupBuilder::new("brands")),
        )
        .await
        .unwrap()
        .result
        .unwrap();
    // point 1 is the example: brand 10 keeps only point 3
    let acme = r.groups.iter().find(|g| group_key(g) == "10").unwrap();
    assert_eq!(
        acme.hits.iter().map(|h| num(&h.id)).collect::<Vec<_>>(),
        vec![3]
    );
    check_lookups(&r.groups, false);

    // a lookup collection that does not exist
    let err = c
        .query_groups(
            QueryPointGroupsBuilder::new("products", "brand")
                .query(Query::new_nearest(vec![1.0, 0.2]))
                .with_lookup(WithLookupBuilder::new("nowhere")),
        )
        .await;
    assert_eq!(code(err), Code::NotFound);
}

// ---------------------------------------------------------------------------
// lookup_from
// ---------------------------------------------------------------------------

/// Items (searched): id -> vector, Dot.
fn items() -> Vec<(u64, [f32; 2])> {
    vec![
        (1, [1.0, 0.0]),
        (2, [0.0, 1.0]),
        (3, [0.7, 0.7]),
        (4, [-1.0, 0.2]),
        (5, [0.3, -0.8]),
        (6, [0.9, 0.4]),
    ]
}

/// Users (looked up): a named vector "taste" of the items' dimension and a
/// named vector "wide" of another.
fn taste(id: u64) -> [f32; 2] {
    match id {
        1 => [0.8, 0.6],
        2 => [-0.6, 0.8],
        3 => [0.1, -1.0],
        _ => unreachable!(),
    }
}

async fn lookup_from_setup() -> (vicinity_server::testing::TestServer, Qdrant) {
    let s = server().await;
    let c = client(&s);
    c.create_collection(
        CreateCollectionBuilder::new("items")
            .vectors_config(VectorParamsBuilder::new(2, Distance::Dot)),
    )
    .await
    .unwrap();
    let pts: Vec<PointStruct> = items()
        .into_iter()
        .map(|(id, v)| PointStruct::new(id, v.to_vec(), payload(json!({}))))
        .collect();
    c.upsert_points(UpsertPointsBuilder::new("items", pts).wait(true))
        .await
        .unwrap();
    let map = VectorParamsMap {
        map: [
            (
                "taste".to_string(),
                VectorParamsBuilder::new(2, Distance::Dot).build(),
            ),
            (
                "wide".to_string(),
                VectorParamsBuilder::new(3, Distance::Dot).build(),
            ),
        ]
        .into_iter()
        .collect(),
    };
    c.create_collection(
        CreateCollectionBuilder::new("users").vectors_config(VectorsConfig {
            config: Some(vectors_config::Config::ParamsMap(map)),
        }),
    )
    .await
    .unwrap();
    let users: Vec<PointStruct> = (1..=3u64)
        .map(|i| {
            let v = NamedVectors::default()
                .add_vector("taste", taste(i).to_vec())
                .add_vector("wide", vec![1.0, 1.0, 1.0]);
            PointStruct::new(i, v, payload(json!({})))
        })
        .collect();
    c.upsert_points(UpsertPointsBuilder::new("users", users).wait(true))
        .await
        .unwrap();
    (s, c)
}

/// Every item scored by `f`, none left out (ids from another collection
/// are not excluded).
fn all_items(f: impl Fn([f32; 2]) -> f32) -> HashMap<u64, f32> {
    items().into_iter().map(|(id, v)| (id, f(v))).collect()
}

fn check_hits(what: &str, hits: &[ScoredPoint], want: &HashMap<u64, f32>, limit: usize) {
    assert_eq!(hits.len(), limit.min(want.len()), "{what}: {hits:?}");
    let mut sorted: Vec<f32> = want.values().copied().collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    for (h, best) in hits.iter().zip(&sorted) {
        let id = num(&h.id);
        assert!(
            (h.score - want[&id]).abs() < EPS,
            "{what}: {id} scored {} not {}",
            h.score,
            want[&id]
        );
        assert!((h.score - best).abs() < EPS, "{what}: not the best first");
    }
}

fn users_taste() -> LookupLocationBuilder {
    LookupLocationBuilder::new("users").vector_name("taste")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_from_another_collection() {
    let (_s, c) = lookup_from_setup().await;

    // nearest to user 1's taste: item 1 is not excluded (another collection)
    let hits = c
        .query(
            QueryPointsBuilder::new("items")
                .query(Query::new_nearest(VectorInput::new_id(1)))
                .lookup_from(users_taste())
                .limit(6),
        )
        .await
        .unwrap()
        .result;
    check_hits("nearest", &hits, &all_items(|v| dot(&taste(1), &v)), 6);

    // recommend (average vector): 2·avg(pos) − avg(neg)
    let (p, n) = (taste(1), taste(2));
    let q = [2.0 * p[0] - n[0], 2.0 * p[1] - n[1]];
    let hits = c
        .query(
            QueryPointsBuilder::new("items")
                .query(Query::new_recommend(
                    RecommendInputBuilder::default()
                        .add_positive(VectorInput::new_id(1))
                        .add_negative(VectorInput::new_id(2)),
                ))
                .lookup_from(users_taste())
                .limit(4),
        )
        .await
        .unwrap()
        .result;
    check_hits("recommend", &hits, &all_items(|v| dot(&q, &v)), 4);
    // the older Recommend RPC
    let hits = c
        .recommend(
            RecommendPointsBuilder::new("items", 4)
                .add_positive(1)
                .add_negative(2)
                .lookup_from(users_taste()),
        )
        .await
        .unwrap()
        .result;
    check_hits("legacy recommend", &hits, &all_items(|v| dot(&q, &v)), 4);

    // discover: target user 1, context (user 3 over user 2)
    let sig = |x: f32| 0.5 * (x / (1.0 + x.abs()) + 1.0);
    let discover = |v: [f32; 2]| {
        let side = if dot(&taste(3), &v) > dot(&taste(2), &v) {
            1.0
        } else {
            -1.0
        };
        side + sig(dot(&taste(1), &v))
    };
    let hits = c
        .query(
            QueryPointsBuilder::new("items")
                .query(Query::new_discover(DiscoverInputBuilder::new(
                    VectorInput::new_id(1),
                    ContextInputBuilder::default()
                        .add_pair(VectorInput::new_id(3), VectorInput::new_id(2)),
                )))
                .lookup_from(users_taste())
                .limit(6),
        )
        .await
        .unwrap()
        .result;
    check_hits("discover", &hits, &all_items(discover), 6);
    let hits = c
        .discover(
            DiscoverPointsBuilder::new(
                "items",
                vec![ContextExamplePair {
                    positive: Some(VectorExample {
                        example: Some(vector_example::Example::Id(3.into())),
                    }),
                    negative: Some(VectorExample {
                        example: Some(vector_example::Example::Id(2.into())),
                    }),
                }],
                6,
            )
            .target(TargetVector {
                target: Some(target_vector::Target::Single(VectorExample {
                    example: Some(vector_example::Example::Id(1.into())),
                })),
            })
            .lookup_from(users_taste()),
        )
        .await
        .unwrap()
        .result;
    check_hits("legacy discover", &hits, &all_items(discover), 6);

    // a prefetch with its own lookup_from, rescored by a plain vector
    let hits = c
        .query(
            QueryPointsBuilder::new("items")
                .add_prefetch(
                    PrefetchQueryBuilder::default()
                        .query(Query::new_nearest(VectorInput::new_id(2)))
                        .lookup_from(users_taste())
                        .limit(3u64),
                )
                .query(Query::new_nearest(vec![1.0, 0.0]))
                .limit(3),
        )
        .await
        .unwrap()
        .result;
    let mut by_taste: Vec<(u64, f32)> = items()
        .into_iter()
        .map(|(id, v)| (id, dot(&taste(2), &v)))
        .collect();
    by_taste.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top3: HashMap<u64, f32> = by_taste[..3]
        .iter()
        .map(|(id, _)| (*id, dot(&[1.0, 0.0], &items()[(*id - 1) as usize].1)))
        .collect();
    check_hits("prefetch", &hits, &top3, 3);

    // the searched collection itself as lookup_from: the example is left out
    let hits = c
        .query(
            QueryPointsBuilder::new("items")
                .query(Query::new_nearest(VectorInput::new_id(1)))
                .lookup_from(LookupLocationBuilder::new("items"))
                .limit(6),
        )
        .await
        .unwrap()
        .result;
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| num(&h.id) != 1));

    // errors as Qdrant's: missing collection or id, wrong dimension
    let nearest = |lookup: LookupLocationBuilder, id: u64| {
        QueryPointsBuilder::new("items")
            .query(Query::new_nearest(VectorInput::new_id(id)))
            .lookup_from(lookup)
    };
    let err = c
        .query(nearest(LookupLocationBuilder::new("nowhere"), 1))
        .await;
    assert_eq!(code(err), Code::NotFound);
    let err = c.query(nearest(users_taste(), 404)).await;
    assert_eq!(code(err), Code::NotFound);
    let err = c
        .query(nearest(
            LookupLocationBuilder::new("users").vector_name("wide"),
            1,
        ))
        .await;
    assert_eq!(code(err), Code::InvalidArgument);
    let err = c
        .query(nearest(
            LookupLocationBuilder::new("users").vector_name("nope"),
            1,
        ))
        .await;
    assert_eq!(code(err), Code::InvalidArgument);
}
