//! The engine against the cases recorded from Qdrant's reference
//! implementation (`../shared/conformance/`).

use serde_json::Value;
use vicinity::{
    CollectionConfig, Database, Distance, Filter, PointId, ScrollRequest, SearchParams,
    SearchRequest,
};
use vicinity_tests::{Hit, hits, load_cases, load_points, off_threshold, same_ranking};

fn distance(name: &str) -> Distance {
    serde_json::from_value(Value::String(name.to_string())).expect("a distance name")
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
fn run_search_cases(set: &str) -> usize {
    let db = database(set);
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
    let ran = run_search_cases("qdrant-local");
    assert!(ran >= 240, "only {ran} search cases ran");
}

#[test]
fn probe_search_cases_agree_with_qdrant() {
    let ran = run_search_cases("qdrant-probes");
    assert!(ran >= 16, "only {ran} probe search cases ran");
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
fn probe_filter_cases_agree_with_qdrant() {
    assert_eq!(
        run_filter_cases("qdrant-probes", &database("qdrant-probes")),
        158
    );
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
