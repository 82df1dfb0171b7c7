//! Multivectors (`multivector_config: max_sim`) through the collection
//! API: MaxSim search for every distance against a brute-force MaxSim
//! computed here, over the graph (recall) and exactly (equality); the
//! ColBERT recipe (dense prefetch, multivector rerank with `m = 0`);
//! validation; persistence through a checkpoint, the log, a compaction
//! and a snapshot.

use vicinity::{
    CollectionConfig, Database, Distance, ErrorKind, HnswConfig, PointId, PointStruct, Prefetch,
    Query, QueryRequest, ScoredPoint, SearchParams, Vector, VectorInput, VectorParams,
    VectorSelector, Vectors, WithSelectors,
};
use vicinity_tests::Rng;

const DIM: usize = 8;

/// Points as the test keeps them: id and matrix.
type Points = Vec<(u64, Vec<Vec<f32>>)>;

/// A matrix of 1 to 6 vectors, clustered around a per-point centre so that
/// neighbours exist.
fn matrix(rng: &mut Rng, centre: &[f32]) -> Vec<Vec<f32>> {
    let n = 1 + rng.below(6);
    (0..n)
        .map(|_| centre.iter().map(|c| c + 0.3 * rng.normal()).collect())
        .collect()
}

fn centre(rng: &mut Rng) -> Vec<f32> {
    (0..DIM).map(|_| rng.normal()).collect()
}

/// The per-pair similarity as Qdrant's MaxSim takes it (Euclid squared,
/// negated), over vectors as stored (Cosine normalised).
fn pair(distance: Distance, a: &[f32], b: &[f32]) -> f64 {
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| (p * q) as f64).sum::<f64>();
    match distance {
        Distance::Dot => dot(a, b),
        Distance::Cosine => {
            let n = |x: &[f32]| dot(x, x).sqrt().max(f64::MIN_POSITIVE);
            dot(a, b) / (n(a) * n(b))
        }
        Distance::Euclid => -a
            .iter()
            .zip(b)
            .map(|(p, q)| ((p - q) as f64).powi(2))
            .sum::<f64>(),
        Distance::Manhattan => -a
            .iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs() as f64)
            .sum::<f64>(),
    }
}

/// MaxSim and the user's score, computed independently of the engine.
fn max_sim(distance: Distance, q: &[Vec<f32>], d: &[Vec<f32>]) -> f64 {
    let raw: f64 = q
        .iter()
        .map(|qv| {
            d.iter()
                .map(|dv| pair(distance, qv, dv))
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum();
    match distance {
        Distance::Euclid => raw.abs().sqrt(),
        Distance::Manhattan => raw.abs(),
        _ => raw,
    }
}

fn brute_force(
    distance: Distance,
    points: &[(u64, Vec<Vec<f32>>)],
    q: &[Vec<f32>],
    k: usize,
) -> Vec<(u64, f64)> {
    let mut all: Vec<(u64, f64)> = points
        .iter()
        .map(|(id, m)| (*id, max_sim(distance, q, m)))
        .collect();
    if distance.higher_is_better() {
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
    } else {
        all.sort_by(|a, b| a.1.total_cmp(&b.1));
    }
    all.truncate(k);
    all
}

fn multi_query(name: &str, q: &[Vec<f32>], k: usize, exact: bool) -> QueryRequest {
    let mut req = QueryRequest::new(Query::Nearest(VectorInput::Multi(q.to_vec())), k);
    req.using = name.into();
    req.params = SearchParams {
        exact,
        hnsw_ef: Some(64),
        ..Default::default()
    };
    req
}

fn ids(hits: &[ScoredPoint]) -> Vec<u64> {
    hits.iter()
        .map(|h| match h.id {
            PointId::Num(n) => n,
            PointId::Uuid(_) => panic!("numeric ids only"),
        })
        .collect()
}

/// A collection with one multivector per distance, filled with clustered
/// points, and the points it holds.
fn filled(db: &Database, hnsw: HnswConfig) -> (std::sync::Arc<vicinity::Collection>, Points) {
    let config = CollectionConfig::named(Distance::ALL.map(|d| {
        (
            format!("{d:?}"),
            VectorParams::new(DIM, d).with_multivector(),
        )
    }))
    .with_hnsw(hnsw);
    let c = db.create_collection("m", config).unwrap();
    let mut rng = Rng::new(vicinity_tests::seed(0x003a_5e11));
    let centres: Vec<Vec<f32>> = (0..12).map(|_| centre(&mut rng)).collect();
    let points: Vec<(u64, Vec<Vec<f32>>)> = (0..600u64)
        .map(|id| {
            let at = rng.below(12);
            (id, matrix(&mut rng, &centres[at]))
        })
        .collect();
    let structs: Vec<PointStruct> = points
        .iter()
        .map(|(id, m)| PointStruct {
            id: PointId::Num(*id),
            vectors: Distance::ALL
                .iter()
                .map(|d| (format!("{d:?}"), Vector::Multi(m.clone())))
                .collect(),
            payload: None,
        })
        .collect();
    for chunk in structs.chunks(100) {
        c.upsert(chunk.to_vec()).unwrap();
    }
    c.finish_indexing();
    (c, points)
}

#[test]
fn maxsim_search_matches_brute_force_for_every_distance() {
    let db = Database::new();
    // full_scan_threshold 0: a non-exact search walks the graph
    let hnsw = HnswConfig {
        full_scan_threshold: 0,
        ..HnswConfig::default()
    };
    let (c, points) = filled(&db, hnsw);
    let mut rng = Rng::new(7);
    let (mut found, mut wanted) = (0, 0);
    for _ in 0..20 {
        let c0 = centre(&mut rng);
        let q = matrix(&mut rng, &c0);
        for d in Distance::ALL {
            let name = format!("{d:?}");
            let want = brute_force(d, &points, &q, 10);
            // exact: the same ids and scores
            let got = c.query(&multi_query(&name, &q, 10, true)).unwrap();
            assert_eq!(got.len(), 10);
            for (h, (id, score)) in got.iter().zip(&want) {
                assert!(
                    (h.score as f64 - score).abs() < 1e-3 * score.abs().max(1.0),
                    "{d:?}: {h:?} against {id} {score}"
                );
            }
            // through the graph: recall against the exact answer
            let walked = ids(&c.query(&multi_query(&name, &q, 10, false)).unwrap());
            let exact: Vec<u64> = want.iter().map(|w| w.0).collect();
            found += walked.iter().filter(|id| exact.contains(id)).count();
            wanted += exact.len();
        }
    }
    let recall = found as f64 / wanted as f64;
    assert!(recall >= 0.95, "graph recall {recall} over MaxSim");
    assert!(c.info().indexed_vectors_count > 0, "the graphs were built");
}

#[test]
fn colbert_rerank_of_a_dense_prefetch_with_an_unindexed_multivector() {
    let db = Database::new();
    let config = CollectionConfig::named([
        ("dense", VectorParams::new(DIM, Distance::Cosine)),
        (
            "colbert",
            VectorParams::new(DIM, Distance::Cosine)
                .with_multivector()
                .with_hnsw(HnswConfig {
                    m: 0,
                    ..HnswConfig::default()
                }),
        ),
    ]);
    let c = db.create_collection("c", config).unwrap();
    let mut rng = Rng::new(11);
    let mut points = Vec::new();
    let mut structs = Vec::new();
    for id in 0..400u64 {
        let centre = centre(&mut rng);
        let m = matrix(&mut rng, &centre);
        structs.push(PointStruct {
            id: PointId::Num(id),
            vectors: [
                ("dense".to_string(), Vector::Dense(centre.clone())),
                ("colbert".to_string(), Vector::Multi(m.clone())),
            ]
            .into_iter()
            .collect(),
            payload: None,
        });
        points.push((id, centre, m));
    }
    c.upsert(structs).unwrap();
    c.finish_indexing();
    let q_dense = centre(&mut rng);
    let q_multi = matrix(&mut rng, &q_dense);
    let mut prefetch = Prefetch::new(Query::Nearest(VectorInput::Vector(q_dense.clone())), 50);
    prefetch.using = "dense".into();
    let mut req = QueryRequest::new(Query::Nearest(VectorInput::Multi(q_multi.clone())), 10);
    req.using = "colbert".into();
    req.prefetch = vec![prefetch];
    let got = c.query(&req).unwrap();
    // the 50 nearest by the dense vector, reranked by MaxSim here
    let mut dense: Vec<(u64, f64)> = points
        .iter()
        .map(|(id, v, _)| (*id, pair(Distance::Cosine, &q_dense, v)))
        .collect();
    dense.sort_by(|a, b| b.1.total_cmp(&a.1));
    let candidates: Vec<(u64, Vec<Vec<f32>>)> = dense[..50]
        .iter()
        .map(|(id, _)| (*id, points[*id as usize].2.clone()))
        .collect();
    let want = brute_force(Distance::Cosine, &candidates, &q_multi, 10);
    assert_eq!(ids(&got), want.iter().map(|w| w.0).collect::<Vec<_>>());
    for (h, (_, s)) in got.iter().zip(&want) {
        assert!((h.score as f64 - s).abs() < 1e-4);
    }
    // m = 0 builds no graph for the multivector; its searches scan
    let alone = c
        .query(&multi_query("colbert", &q_multi, 5, false))
        .unwrap();
    let all: Vec<(u64, Vec<Vec<f32>>)> = points.iter().map(|(id, _, m)| (*id, m.clone())).collect();
    let want: Vec<u64> = brute_force(Distance::Cosine, &all, &q_multi, 5)
        .iter()
        .map(|w| w.0)
        .collect();
    assert_eq!(ids(&alone), want);
}

#[test]
fn multivectors_are_validated_stored_and_returned_as_qdrant_does() {
    let db = Database::new();
    let config = CollectionConfig::named([
        ("single", VectorParams::new(2, Distance::Dot)),
        (
            "multi",
            VectorParams::new(2, Distance::Cosine).with_multivector(),
        ),
    ]);
    let c = db.create_collection("v", config).unwrap();
    let point = |name: &str, v: Vector| PointStruct {
        id: PointId::Num(1),
        vectors: [(name.to_string(), v)].into_iter().collect(),
        payload: None,
    };
    let refused = |p: PointStruct| {
        let e = c.upsert(vec![p]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadInput);
        e.to_string()
    };
    assert!(
        refused(point("multi", Vector::Multi(vec![]))).contains("multi vector must not be empty")
    );
    assert!(
        refused(point("multi", Vector::Multi(vec![vec![1.0, 0.0], vec![]])))
            .contains("all vectors must be non-empty")
    );
    assert!(
        refused(point(
            "multi",
            Vector::Multi(vec![vec![1.0, 0.0], vec![1.0]])
        ))
        .contains("found vector with dimension 1")
    );
    assert!(
        refused(point("multi", Vector::Multi(vec![vec![1.0, 0.0, 2.0]])))
            .contains("expected dim: 2, got 3")
    );
    assert!(
        refused(point("single", Vector::Multi(vec![vec![1.0, 0.0]])))
            .contains("Wrong usage of multi vectors")
    );
    // a dense vector for a multivector name is a matrix of one
    c.upsert(vec![point("multi", Vector::Dense(vec![3.0, 4.0]))])
        .unwrap();
    let all = WithSelectors {
        vectors: VectorSelector::All,
        ..Default::default()
    };
    let got = c.get(&[PointId::Num(1)], &all).unwrap();
    assert_eq!(
        got[0].vectors.as_ref().unwrap().get("multi"),
        Some(vicinity::VectorRef::Multi(&[vec![0.6, 0.8]]))
    );
    // each vector of a matrix is normalised for Cosine, and comes back so
    c.upsert(vec![point(
        "multi",
        Vector::Multi(vec![vec![0.0, 2.0], vec![3.0, 4.0]]),
    )])
    .unwrap();
    let got = c.get(&[PointId::Num(1)], &all).unwrap();
    let Some(Vectors::Named(v)) = got[0].vectors.clone() else {
        panic!("named vectors")
    };
    assert_eq!(
        v["multi"],
        Vector::Multi(vec![vec![0.0, 1.0], vec![0.6, 0.8]])
    );
    // a single-vector query on a multivector is a matrix of one
    let mut req = QueryRequest::new(Query::Nearest(VectorInput::Vector(vec![1.0, 0.0])), 1);
    req.using = "multi".into();
    let hit = &c.query(&req).unwrap()[0];
    assert!((hit.score - 0.6).abs() < 1e-6, "{hit:?}");
}

#[test]
fn multivectors_survive_reopen_compaction_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x5eed);
    let probes: Vec<Vec<Vec<f32>>> = (0..8)
        .map(|_| {
            let c0 = centre(&mut rng);
            matrix(&mut rng, &c0)
        })
        .collect();
    let answers = |c: &vicinity::Collection| -> Vec<Vec<(PointId, u32)>> {
        probes
            .iter()
            .flat_map(|q| Distance::ALL.map(|d| (format!("{d:?}"), q)))
            .map(|(name, q)| {
                c.query(&multi_query(&name, q, 10, true))
                    .unwrap()
                    .iter()
                    .map(|h| (h.id, h.score.to_bits()))
                    .collect()
            })
            .collect()
    };
    let (before, snapshot) = {
        let db = Database::open(dir.path()).unwrap();
        let (c, _) = filled(&db, HnswConfig::default());
        // a checkpoint in the middle: the rest is in the log
        db.checkpoint_all().unwrap();
        let extra: Vec<PointStruct> = (1_000..1_050u64)
            .map(|id| PointStruct {
                id: PointId::Num(id),
                vectors: [(
                    "Dot".to_string(),
                    Vector::Multi(matrix(&mut rng, &[0.5; DIM])),
                )]
                .into_iter()
                .collect(),
                payload: None,
            })
            .collect();
        c.upsert(extra).unwrap();
        c.delete(&[PointId::Num(3)][..]).unwrap();
        c.delete_vectors(&[PointId::Num(4)], &["Cosine".to_string()])
            .unwrap();
        let snap = db.create_snapshot("m").unwrap();
        (answers(&c), snap)
    };
    vicinity_tests::assert_answers_survive(
        dir.path(),
        "m",
        &snapshot.name,
        &before,
        answers,
        |_| (),
    );
}
