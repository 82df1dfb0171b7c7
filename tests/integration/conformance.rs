//! The engine against the cases recorded from Qdrant's reference
//! implementation (`../shared/conformance/`).

use serde_json::{Value, json};
use vicinity::{
    CollectionConfig, Database, Direction, Distance, ErrorKind, FacetRequest, FacetValue,
    FieldIndexParams, FieldType, Filter, GroupId, OrderBy, PointId, Query, QueryGroupsRequest,
    QueryRequest, RecommendStrategy, ScrollRequest, SearchParams, SearchRequest, VectorInput,
};
use vicinity_tests::{Hit, hits, load_cases, load_points, off_threshold, same_ranking};

fn distance(name: &str) -> Distance {
    serde_json::from_value(Value::String(name.to_string())).expect("a distance name")
}

/// The payload indexes `check.py` creates on the Cosine collection.
const INDEXES: [(&str, FieldType); 12] = [
    ("category", FieldType::Keyword),
    ("brand", FieldType::Keyword),
    ("tags", FieldType::Keyword),
    ("variants[].color", FieldType::Keyword),
    ("meta.origin.country", FieldType::Keyword),
    ("stock", FieldType::Integer),
    ("price", FieldType::Float),
    ("meta.rating", FieldType::Float),
    ("in_stock", FieldType::Bool),
    ("created", FieldType::Datetime),
    ("location", FieldType::Geo),
    ("title", FieldType::Text),
];

/// The recorded points in one collection per distance, the Cosine one
/// with `check.py`'s payload indexes.
fn indexed_database(set: &str) -> Database {
    let db = database(set);
    let c = db.collection("Cosine").unwrap();
    for (key, t) in INDEXES {
        c.create_field_index(&key.parse().unwrap(), FieldIndexParams::new(t))
            .unwrap();
    }
    db
}

/// One collection per distance over the recorded points.
fn database(set: &str) -> Database {
    let db = Database::new();
    let points = load_points(set);
    let dim = match &points[0].vectors {
        vicinity::Vectors::Single(v) => v.len(),
        other => panic!("unexpected vectors {other:?}"),
    };
    for d in Distance::ALL {
        let c = db
            .create_collection(&format!("{d:?}"), CollectionConfig::single(dim, d))
            .unwrap();
        for chunk in points.chunks(128) {
            c.upsert(chunk.to_vec()).unwrap();
        }
    }
    db
}

fn id_json(id: PointId) -> Value {
    serde_json::to_value(id).unwrap()
}

/// Runs every search case (filtered ones too); returns how many ran.
fn run_search_cases(set: &str, db: &Database) -> usize {
    let mut ran = 0;
    let mut failures = Vec::new();
    for (line, case) in load_cases(set, "search.jsonl").iter().enumerate() {
        let d = case["distance"].as_str().unwrap();
        let c = db.collection(&format!("{:?}", distance(d))).unwrap();
        let mut req = SearchRequest::new(
            serde_json::from_value(case["query"].clone()).unwrap(),
            case["limit"].as_u64().unwrap() as usize,
        );
        req.offset = case["offset"].as_u64().unwrap_or(0) as usize;
        req.score_threshold = case
            .get("score_threshold")
            .and_then(Value::as_f64)
            .map(|t| t as f32);
        req.params = SearchParams {
            exact: true,
            hnsw_ef: None,
            ..SearchParams::default()
        };
        req.filter = case
            .get("filter")
            .map(|f| Filter::from_json(f.clone()).expect("a valid filter"));
        let got: Vec<Hit> = c
            .search(&req)
            .unwrap()
            .into_iter()
            .map(|p| Hit {
                id: id_json(p.id),
                score: f64::from(p.score),
            })
            .collect();
        let exact_threshold = case
            .get("threshold_exact")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let t = if exact_threshold {
            None
        } else {
            case.get("score_threshold").and_then(Value::as_f64)
        };
        if let Err(why) = same_ranking(
            &off_threshold(got, t),
            &off_threshold(hits(&case["result"]), t),
            1e-4,
        ) {
            failures.push(format!("{set}/search.jsonl line {}: {d}: {why}", line + 1));
        }
        ran += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    ran
}

#[test]
fn search_cases_agree_with_qdrant() {
    for db in [database("qdrant-local"), indexed_database("qdrant-local")] {
        let ran = run_search_cases("qdrant-local", &db);
        assert!(ran >= 240, "only {ran} search cases ran");
    }
}

#[test]
fn probe_search_cases_agree_with_qdrant() {
    for db in [database("qdrant-probes"), indexed_database("qdrant-probes")] {
        let ran = run_search_cases("qdrant-probes", &db);
        assert!(ran >= 16, "only {ran} probe search cases ran");
    }
}

/// Runs every filter case through scroll and count on the Cosine
/// collection; returns how many ran.
fn run_filter_cases(set: &str, db: &Database) -> usize {
    let c = db.collection("Cosine").unwrap();
    let mut failures = Vec::new();
    let cases = load_cases(set, "filters.jsonl");
    for (line, case) in cases.iter().enumerate() {
        let filter = match Filter::from_json(case["filter"].clone()) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!(
                    "{set}/filters.jsonl line {}: refused: {e}",
                    line + 1
                ));
                continue;
            }
        };
        let want: Vec<Value> = case["ids"].as_array().unwrap().clone();
        let req = ScrollRequest {
            limit: 100_000,
            filter: Some(filter.clone()),
            ..ScrollRequest::default()
        };
        let got: Vec<Value> = c
            .scroll(&req)
            .unwrap()
            .points
            .iter()
            .map(|r| id_json(r.id))
            .collect();
        if got != want {
            failures.push(format!(
                "{set}/filters.jsonl line {}: got {got:?}, want {want:?}\n    filter {}",
                line + 1,
                case["filter"]
            ));
            continue;
        }
        let n = c.count_where(&filter);
        if n != want.len() {
            failures.push(format!(
                "{set}/filters.jsonl line {}: count {n}, want {}",
                line + 1,
                want.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn filter_cases_agree_with_qdrant() {
    assert_eq!(
        run_filter_cases("qdrant-local", &database("qdrant-local")),
        600
    );
}

#[test]
fn filter_cases_agree_with_qdrant_with_indexes() {
    assert_eq!(
        run_filter_cases("qdrant-local", &indexed_database("qdrant-local")),
        600
    );
}

#[test]
fn probe_filter_cases_agree_with_qdrant() {
    assert_eq!(
        run_filter_cases("qdrant-probes", &database("qdrant-probes")),
        158
    );
    assert_eq!(
        run_filter_cases("qdrant-probes", &indexed_database("qdrant-probes")),
        158
    );
}

fn optional_filter(case: &Value) -> Option<Filter> {
    case.get("filter")
        .map(|f| Filter::from_json(f.clone()).expect("a valid filter"))
}

fn run_order_by_cases(set: &str) -> usize {
    let db = indexed_database(set);
    let c = db.collection("Cosine").unwrap();
    let cases = load_cases(set, "order_by.jsonl");
    let mut failures = Vec::new();
    for (line, case) in cases.iter().enumerate() {
        let order = OrderBy {
            key: case["key"].as_str().unwrap().parse().unwrap(),
            direction: if case["direction"] == "desc" {
                Direction::Desc
            } else {
                Direction::Asc
            },
            start_from: None,
        };
        let req = ScrollRequest {
            limit: case["limit"].as_u64().unwrap() as usize,
            filter: optional_filter(case),
            order_by: Some(order),
            ..ScrollRequest::default()
        };
        let got: Vec<f64> = c
            .scroll(&req)
            .unwrap()
            .points
            .iter()
            .map(|r| r.order_value.expect("an order value").as_f64())
            .collect();
        let want: Vec<f64> = case["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["value"].as_f64().unwrap())
            .collect();
        let same = got.len() == want.len()
            && got
                .iter()
                .zip(&want)
                .all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(1.0));
        if !same {
            failures.push(format!(
                "{set}/order_by.jsonl line {}: got {got:?}, want {want:?}",
                line + 1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn order_by_cases_agree_with_qdrant() {
    assert_eq!(run_order_by_cases("qdrant-local"), 30);
    assert_eq!(run_order_by_cases("qdrant-probes"), 7);
}

fn facet_json(v: &FacetValue) -> Value {
    match v {
        FacetValue::Bool(b) => json!(b),
        FacetValue::Int(i) => json!(i),
        FacetValue::Keyword(s) => json!(s),
    }
}

fn run_facet_cases(set: &str) -> usize {
    let db = indexed_database(set);
    let c = db.collection("Cosine").unwrap();
    let cases = load_cases(set, "facet.jsonl");
    let mut failures = Vec::new();
    for (line, case) in cases.iter().enumerate() {
        let mut req = FacetRequest::new(case["key"].as_str().unwrap().parse().unwrap());
        req.limit = case["limit"].as_u64().unwrap() as usize;
        req.filter = optional_filter(case);
        let got: Vec<Value> = c
            .facet(&req)
            .unwrap()
            .iter()
            .map(|h| json!({"value": facet_json(&h.value), "count": h.count}))
            .collect();
        if &got != case["hits"].as_array().unwrap() {
            failures.push(format!(
                "{set}/facet.jsonl line {}: got {got:?}, want {}",
                line + 1,
                case["hits"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn facet_cases_agree_with_qdrant() {
    assert_eq!(run_facet_cases("qdrant-local"), 30);
    assert_eq!(run_facet_cases("qdrant-probes"), 6);
}

#[test]
fn order_by_and_facet_need_an_index_as_in_qdrant() {
    let db = database("qdrant-local");
    let c = db.collection("Cosine").unwrap();
    let order = |key: &str| OrderBy {
        key: key.parse().unwrap(),
        direction: Direction::Asc,
        start_from: None,
    };
    let req = ScrollRequest {
        order_by: Some(order("price")),
        ..ScrollRequest::default()
    };
    let e = c.scroll(&req).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadInput);
    assert!(
        e.to_string()
            .contains("No range index for `order_by` key: `price`"),
        "{e}"
    );
    let e = c
        .facet(&FacetRequest::new("brand".parse().unwrap()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadInput);
    // a keyword index does not order, a float index does not facet
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
    assert!(
        c.facet(&FacetRequest::new("price".parse().unwrap()))
            .is_err()
    );
    let by_brand = ScrollRequest {
        order_by: Some(order("brand")),
        ..ScrollRequest::default()
    };
    assert!(c.scroll(&by_brand).is_err());
    assert_eq!(c.scroll(&req).unwrap().points.len(), 10);
    let info = c.info();
    assert_eq!(
        info.payload_schema["brand"].params.field_type,
        FieldType::Keyword
    );
    assert!(info.payload_schema["price"].points > 300);
    // start_from, and an offset (refused with order_by, as in Qdrant)
    let mut from = req.clone();
    from.order_by.as_mut().unwrap().start_from = Some(1000.0);
    let pts = c.scroll(&from).unwrap().points;
    assert!(!pts.is_empty());
    assert!(
        pts.iter()
            .all(|p| p.order_value.unwrap().as_f64() >= 1000.0)
    );
    from.offset = Some(PointId::Num(1));
    assert_eq!(c.scroll(&from).unwrap_err().kind(), ErrorKind::BadInput);
    // indexes follow writes and compaction
    c.delete(&[PointId::Num(1), PointId::Num(2)]).unwrap();
    c.optimize().unwrap();
    let f = Filter::from_json(json!({"must": [{"key": "price", "range": {"gte": 0.0}}]})).unwrap();
    let unindexed = database("qdrant-local").collection("Cosine").unwrap();
    unindexed
        .delete(&[PointId::Num(1), PointId::Num(2)])
        .unwrap();
    assert_eq!(c.count_where(&f), unindexed.count_where(&f));
}

#[test]
fn uuid_ids_come_back_canonical_in_scroll_order() {
    let case = &load_cases("qdrant-local", "uuid_ids.jsonl")[0];
    let db = Database::new();
    let c = db
        .create_collection("uuids", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    let points = case["inserted"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id: PointId = s.as_str().unwrap().parse().unwrap();
            vicinity::PointStruct::new(id, vec![i as f32, 1.0], vicinity::Payload::new())
        })
        .collect();
    c.upsert(points).unwrap();
    let page = c
        .scroll(&ScrollRequest {
            limit: 1000,
            ..ScrollRequest::default()
        })
        .unwrap();
    let got: Vec<Value> = page.points.iter().map(|r| id_json(r.id)).collect();
    assert_eq!(&got, case["scrolled"].as_array().unwrap());
}

mod index_property {
    //! An index changes speed, never the set of matches: random
    //! combinations of the recorded filters, with and without indexes.
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    struct Fixture {
        plain: Database,
        indexed: Database,
        filters: Vec<Value>,
    }

    fn fixture() -> &'static Fixture {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(|| Fixture {
            plain: database("qdrant-local"),
            indexed: indexed_database("qdrant-local"),
            filters: load_cases("qdrant-local", "filters.jsonl")
                .into_iter()
                .map(|c| c["filter"].clone())
                .collect(),
        })
    }

    fn ids(db: &Database, f: &Filter) -> Vec<PointId> {
        let c = db.collection("Cosine").unwrap();
        let req = ScrollRequest {
            limit: 10_000,
            filter: Some(f.clone()),
            ..ScrollRequest::default()
        };
        c.scroll(&req)
            .unwrap()
            .points
            .iter()
            .map(|r| r.id)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn indexes_never_change_the_matches(
            picks in prop::collection::vec(0usize..600, 1..5),
            shape in 0usize..4,
            min_count in 0usize..3,
        ) {
            let fx = fixture();
            let parts: Vec<Value> = picks.iter().map(|&i| fx.filters[i].clone()).collect();
            let json = match shape {
                0 => json!({"must": parts}),
                1 => json!({"should": parts}),
                2 => json!({"must": [parts[0]], "must_not": parts[1..]}),
                _ => json!({"min_should": {"conditions": parts, "min_count": min_count}}),
            };
            let f = Filter::from_json(json.clone()).unwrap();
            let plain = ids(&fx.plain, &f);
            prop_assert_eq!(&plain, &ids(&fx.indexed, &f), "filter {}", json);
            let n = fx.indexed.collection("Cosine").unwrap().count_where(&f);
            prop_assert_eq!(n, plain.len());
            // and filtered search returns only matching points, best first
            let mut req = SearchRequest::new(vec![0.3, -0.2, 0.5, 0.1, 0.0, 0.4, -0.1, 0.2], 10);
            req.filter = Some(f.clone());
            let hits = fx.indexed.collection("Cosine").unwrap().search(&req).unwrap();
            prop_assert!(hits.iter().all(|h| plain.contains(&h.id)));
            prop_assert_eq!(hits.len(), plain.len().min(10));
        }
    }
}

fn strategy(s: &str) -> RecommendStrategy {
    match s {
        "average_vector" => RecommendStrategy::AverageVector,
        "best_score" => RecommendStrategy::BestScore,
        "sum_scores" => RecommendStrategy::SumScores,
        other => panic!("unknown strategy {other}"),
    }
}

fn ids_of(v: &Value) -> Vec<VectorInput> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|id| VectorInput::Id(serde_json::from_value(id.clone()).unwrap()))
        .collect()
}

#[test]
fn recommend_cases_agree_with_qdrant() {
    let db = database("qdrant-local");
    let cases = load_cases("qdrant-local", "recommend.jsonl");
    let mut failures = Vec::new();
    for (line, case) in cases.iter().enumerate() {
        let d = case["distance"].as_str().unwrap();
        let c = db.collection(&format!("{:?}", distance(d))).unwrap();
        let q = Query::Recommend {
            positive: ids_of(&case["positive"]),
            negative: ids_of(&case["negative"]),
            strategy: strategy(case["strategy"].as_str().unwrap()),
        };
        let mut req = QueryRequest::new(q, case["limit"].as_u64().unwrap() as usize);
        req.params = SearchParams {
            exact: true,
            hnsw_ef: None,
            ..SearchParams::default()
        };
        req.filter = optional_filter(case);
        let got: Vec<Hit> = c
            .query(&req)
            .unwrap()
            .into_iter()
            .map(|p| Hit {
                id: id_json(p.id),
                score: f64::from(p.score),
            })
            .collect();
        if let Err(why) = same_ranking(&got, &hits(&case["result"]), 1e-4) {
            failures.push(format!(
                "recommend.jsonl line {}: {d} {}: {why}",
                line + 1,
                case["strategy"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn group_cases_agree_with_qdrant() {
    let db = database("qdrant-local");
    let cases = load_cases("qdrant-local", "groups.jsonl");
    let mut failures = Vec::new();
    for (line, case) in cases.iter().enumerate() {
        let d = case["distance"].as_str().unwrap();
        let c = db.collection(&format!("{:?}", distance(d))).unwrap();
        let v: Vec<f32> = serde_json::from_value(case["query"].clone()).unwrap();
        let mut q = QueryRequest::new(Query::Nearest(VectorInput::Vector(v)), 10);
        q.params = SearchParams {
            exact: true,
            hnsw_ef: None,
            ..SearchParams::default()
        };
        q.filter = optional_filter(case);
        let req = QueryGroupsRequest {
            query: q,
            group_by: case["group_by"].as_str().unwrap().parse().unwrap(),
            limit: case["limit"].as_u64().unwrap() as usize,
            group_size: case["group_size"].as_u64().unwrap() as usize,
            with_lookup: None,
        };
        let got = c.query_groups(&req).unwrap();
        let want = case["groups"].as_array().unwrap();
        let mut why = None;
        if got.len() != want.len() {
            why = Some(format!("{} groups, want {}", got.len(), want.len()));
        } else {
            for (g, w) in got.iter().zip(want) {
                let gid = match &g.id {
                    GroupId::Keyword(s) => json!(s),
                    GroupId::Integer(i) => json!(i),
                };
                if gid != w["id"] {
                    why = Some(format!("group {gid}, want {}", w["id"]));
                    break;
                }
                let gh: Vec<Hit> = g
                    .hits
                    .iter()
                    .map(|p| Hit {
                        id: id_json(p.id),
                        score: f64::from(p.score),
                    })
                    .collect();
                if let Err(e) = same_ranking(&gh, &hits(&w["hits"]), 1e-4) {
                    why = Some(format!("group {gid}: {e}"));
                    break;
                }
            }
        }
        if let Some(why) = why {
            failures.push(format!("groups.jsonl line {}: {d}: {why}", line + 1));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
