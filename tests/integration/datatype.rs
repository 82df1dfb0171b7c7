//! Vector datatypes (`float16`, `uint8`) through the collection API: the
//! values are converted as Qdrant converts them (computed here
//! independently: `half`'s rounding, Rust's saturating cast), every
//! distance scores the converted values (exactly, and over the graph with
//! a recall floor), vectors come back converted, the stores take 2 and 1
//! bytes per value, quantization and recommendations read the values, and
//! everything survives a checkpoint, the log, a compaction and a snapshot.

use vicinity::{
    CollectionConfig, Database, Datatype, Distance, HnswConfig, Payload, PointId, PointStruct,
    QuantizationConfig, Query, QueryRequest, ScoredPoint, SearchParams, Vector, VectorInput,
    VectorParams, VectorSelector, Vectors, WithSelectors,
};
use vicinity_tests::Rng;

const DIM: usize = 24;

fn name(datatype: Datatype, distance: Distance) -> String {
    format!("{datatype:?}-{distance:?}")
}

fn spaces() -> Vec<(Datatype, Distance)> {
    [Datatype::Float16, Datatype::Uint8]
        .into_iter()
        .flat_map(|t| Distance::ALL.map(|d| (t, d)))
        .collect()
}

/// A vector as the store holds its values: Cosine normalises `float16`
/// vectors first (in `f32`), then each value is rounded to `float16`, or
/// cut to its integer part within 0..=255 for `uint8`.
fn converted(datatype: Datatype, distance: Distance, v: &[f32]) -> Vec<f32> {
    let norm = if distance == Distance::Cosine && datatype != Datatype::Uint8 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    } else {
        1.0
    };
    match datatype {
        Datatype::Float16 => v
            .iter()
            .map(|x| half::f16::from_f32(x / norm).to_f32())
            .collect(),
        Datatype::Uint8 => v.iter().map(|x| x.trunc().clamp(0.0, 255.0)).collect(),
        Datatype::Float32 => v.iter().map(|x| x / norm).collect(),
    }
}

/// The user's score of two converted vectors: `float16` Cosine rows are
/// normalised already (their dot product), `uint8` ones are not (their
/// cosine in full).
fn score(datatype: Datatype, distance: Distance, a: &[f32], b: &[f32]) -> f64 {
    let dot = |x: &[f32], y: &[f32]| {
        x.iter()
            .zip(y)
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum::<f64>()
    };
    match distance {
        Distance::Dot => dot(a, b),
        Distance::Cosine if datatype != Datatype::Uint8 => dot(a, b),
        Distance::Cosine => {
            let (na, nb) = (dot(a, a), dot(b, b));
            if na == 0.0 || nb == 0.0 {
                0.0
            } else {
                dot(a, b) / (na * nb).sqrt()
            }
        }
        Distance::Euclid => a
            .iter()
            .zip(b)
            .map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2))
            .sum::<f64>()
            .sqrt(),
        Distance::Manhattan => a
            .iter()
            .zip(b)
            .map(|(p, q)| (f64::from(*p) - f64::from(*q)).abs())
            .sum(),
    }
}

/// A vector around `centre`: `uint8` spaces see values spread over and
/// past 0..=255, `float16` ones small reals.
fn vector(rng: &mut Rng, centre: &[f32]) -> Vec<f32> {
    centre.iter().map(|c| c + 0.35 * rng.normal()).collect()
}

fn centre(rng: &mut Rng) -> Vec<f32> {
    (0..DIM).map(|_| rng.normal()).collect()
}

/// The raw values a space is given: `uint8` spaces take them scaled.
fn raw(datatype: Datatype, v: &[f32]) -> Vec<f32> {
    match datatype {
        Datatype::Uint8 => v.iter().map(|x| 120.0 + 70.0 * x).collect(),
        _ => v.to_vec(),
    }
}

type Points = Vec<(u64, Vec<f32>)>;

fn filled(
    db: &Database,
    hnsw: HnswConfig,
    n: u64,
) -> (std::sync::Arc<vicinity::Collection>, Points) {
    let config = CollectionConfig::named(
        spaces()
            .into_iter()
            .map(|(t, d)| (name(t, d), VectorParams::new(DIM, d).with_datatype(t))),
    )
    .with_hnsw(hnsw);
    let c = db.create_collection("t", config).unwrap();
    let mut rng = Rng::new(vicinity_tests::seed(0x00da_7a7e));
    let centres: Vec<Vec<f32>> = (0..16).map(|_| centre(&mut rng)).collect();
    let points: Points = (0..n)
        .map(|id| {
            let at = rng.below(16);
            (id, vector(&mut rng, &centres[at]))
        })
        .collect();
    let structs: Vec<PointStruct> = points
        .iter()
        .map(|(id, v)| PointStruct {
            id: PointId::Num(*id),
            vectors: spaces()
                .into_iter()
                .map(|(t, d)| (name(t, d), Vector::Dense(raw(t, v))))
                .collect(),
            payload: None,
        })
        .collect();
    for chunk in structs.chunks(200) {
        c.upsert(chunk.to_vec()).unwrap();
    }
    c.finish_indexing();
    (c, points)
}

fn query(using: &str, q: Vec<f32>, k: usize, exact: bool) -> QueryRequest {
    let mut req = QueryRequest::new(Query::Nearest(VectorInput::Vector(q)), k);
    req.using = using.into();
    req.params = SearchParams {
        exact,
        hnsw_ef: Some(64),
        ..Default::default()
    };
    req
}

fn id(h: &ScoredPoint) -> u64 {
    match h.id {
        PointId::Num(n) => n,
        PointId::Uuid(_) => panic!("numeric ids only"),
    }
}

/// The `k` best points by `score` over converted vectors, best first.
fn brute_force(
    datatype: Datatype,
    distance: Distance,
    points: &Points,
    q: &[f32],
    k: usize,
) -> Vec<(u64, f64)> {
    let q = converted(datatype, distance, &raw(datatype, q));
    let mut all: Vec<(u64, f64)> = points
        .iter()
        .map(|(id, v)| {
            let v = converted(datatype, distance, &raw(datatype, v));
            (*id, score(datatype, distance, &q, &v))
        })
        .collect();
    all.sort_by(|a, b| {
        let o = a.1.total_cmp(&b.1);
        if distance.higher_is_better() {
            o.reverse()
        } else {
            o
        }
    });
    all.truncate(k);
    all
}

#[test]
fn every_distance_scores_the_converted_values() {
    let db = Database::new();
    // full_scan_threshold 0: a non-exact search walks the graph
    let hnsw = HnswConfig {
        full_scan_threshold: 0,
        ..HnswConfig::default()
    };
    let (c, points) = filled(&db, hnsw, 2_000);
    let mut rng = Rng::new(11);
    let (mut found, mut wanted) = (0, 0);
    for _ in 0..15 {
        let c0 = centre(&mut rng);
        let q = vector(&mut rng, &c0);
        for (t, d) in spaces() {
            let want = brute_force(t, d, &points, &q, 10);
            let got = c.query(&query(&name(t, d), raw(t, &q), 10, true)).unwrap();
            assert_eq!(got.len(), 10);
            for (h, (wid, s)) in got.iter().zip(&want) {
                let close = (f64::from(h.score) - s).abs() <= 1e-4 * s.abs().max(1.0);
                // a tie may order two ids either way
                let tied = want
                    .iter()
                    .any(|(o, x)| *o == id(h) && (x - s).abs() <= 1e-4 * s.abs().max(1.0));
                assert!(
                    close && (id(h) == *wid || tied),
                    "{t:?} {d:?}: {h:?} against {wid} {s}"
                );
            }
            let walked: Vec<u64> = c
                .query(&query(&name(t, d), raw(t, &q), 10, false))
                .unwrap()
                .iter()
                .map(id)
                .collect();
            found += want.iter().filter(|(i, _)| walked.contains(i)).count();
            wanted += want.len();
        }
    }
    let recall = found as f64 / wanted as f64;
    assert!(
        recall >= 0.95,
        "graph recall {recall} over float16 and uint8"
    );
    assert!(c.info().indexed_vectors_count > 0, "the graphs were built");
    // vectors come back converted
    let all = WithSelectors {
        vectors: VectorSelector::All,
        ..Default::default()
    };
    let got = c.get(&[PointId::Num(5)], &all).unwrap();
    let Some(Vectors::Named(v)) = got[0].vectors.clone() else {
        panic!("named vectors")
    };
    for (t, d) in spaces() {
        let want = converted(t, d, &raw(t, &points[5].1));
        let Vector::Dense(back) = &v[&name(t, d)] else {
            panic!("dense")
        };
        let off = back
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(off <= 1e-3, "{t:?} {d:?}: {back:?} against {want:?}");
    }
    // Qdrant's uint8 conversion: integer part, saturated
    let mut odd = vec![1.0; DIM];
    odd[..4].copy_from_slice(&[300.0, -5.0, 1.9, 254.99]);
    let p = PointStruct {
        id: PointId::Num(9_999),
        vectors: [(name(Datatype::Uint8, Distance::Dot), Vector::Dense(odd))]
            .into_iter()
            .collect(),
        payload: None,
    };
    c.upsert(vec![p]).unwrap();
    let got = c.get(&[PointId::Num(9_999)], &all).unwrap();
    let Some(Vectors::Named(v)) = got[0].vectors.clone() else {
        panic!("named vectors")
    };
    let Vector::Dense(back) = &v[&name(Datatype::Uint8, Distance::Dot)] else {
        panic!("dense")
    };
    assert_eq!(&back[..5], &[255.0, 0.0, 1.0, 254.0, 1.0]);
}

#[test]
fn stores_take_two_and_one_bytes_per_value() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 3_000usize;
    let mut rng = Rng::new(3);
    let vectors: Vec<Vec<f32>> = (0..rows)
        .map(|_| (0..64).map(|_| 100.0 * rng.normal().abs()).collect())
        .collect();
    {
        let db = Database::open(dir.path()).unwrap();
        for t in [Datatype::Float32, Datatype::Float16, Datatype::Uint8] {
            let config = CollectionConfig::named([(
                vicinity::DEFAULT_VECTOR,
                VectorParams::new(64, Distance::Dot).with_datatype(t),
            )]);
            let c = db.create_collection(&format!("{t:?}"), config).unwrap();
            let points = vectors
                .iter()
                .enumerate()
                .map(|(i, v)| PointStruct::new(PointId::Num(i as u64), v.clone(), Payload::new()))
                .collect::<Vec<_>>();
            c.upsert(points).unwrap();
        }
        db.checkpoint_all().unwrap();
    }
    // reopened, the vectors are read in from their files: exact sizes
    let db = Database::open(dir.path()).unwrap();
    let bytes = |t: Datatype| {
        db.collection(&format!("{t:?}"))
            .unwrap()
            .info()
            .memory
            .vectors_in_memory
    };
    assert_eq!(bytes(Datatype::Float32), rows * 64 * 4);
    assert_eq!(bytes(Datatype::Float16), rows * 64 * 2);
    assert_eq!(bytes(Datatype::Uint8), rows * 64);
}

#[test]
fn quantization_and_recommendations_read_the_values() {
    let db = Database::new();
    let mut rng = Rng::new(0x0c0de);
    let centres: Vec<Vec<f32>> = (0..10).map(|_| centre(&mut rng)).collect();
    let points: Points = (0..3_000u64)
        .map(|id| {
            let at = rng.below(10);
            (id, vector(&mut rng, &centres[at]))
        })
        .collect();
    // float32 on the same data is the yardstick
    let mut recalls = Vec::new();
    for t in [Datatype::Float32, Datatype::Float16, Datatype::Uint8] {
        // 24 bits say less than 24 bytes: binary codes take a wider
        // oversampling to the same recall
        for (kind, quantization, oversampling) in [
            ("scalar", QuantizationConfig::scalar(None), 4.0),
            ("binary", QuantizationConfig::binary(), 20.0),
        ] {
            let mut params = VectorParams::new(DIM, Distance::Cosine).with_datatype(t);
            params.quantization_config = Some(quantization);
            let config = CollectionConfig::named([(vicinity::DEFAULT_VECTOR, params)]).with_hnsw(
                HnswConfig {
                    full_scan_threshold: 0,
                    ..HnswConfig::default()
                },
            );
            let c = db
                .create_collection(&format!("{t:?}-{kind}"), config)
                .unwrap();
            c.upsert(
                points
                    .iter()
                    .map(|(id, v)| PointStruct::new(PointId::Num(*id), raw(t, v), Payload::new()))
                    .collect(),
            )
            .unwrap();
            c.finish_indexing();
            let (mut found, mut wanted) = (0, 0);
            for _ in 0..20 {
                let at = rng.below(10);
                let q = vector(&mut rng, &centres[at]);
                let want = brute_force(t, Distance::Cosine, &points, &q, 10);
                let mut req = query("", raw(t, &q), 10, false);
                req.params.quantization = Some(vicinity::QuantizationSearchParams {
                    rescore: Some(true),
                    oversampling: Some(oversampling),
                    ..Default::default()
                });
                let got = c.query(&req).unwrap();
                // rescored: the scores of the converted vectors
                for h in &got {
                    let v = &points[id(h) as usize].1;
                    let qv = converted(t, Distance::Cosine, &raw(t, &q));
                    let s = score(
                        t,
                        Distance::Cosine,
                        &qv,
                        &converted(t, Distance::Cosine, &raw(t, v)),
                    );
                    assert!(
                        (f64::from(h.score) - s).abs() < 1e-4,
                        "{t:?} {kind}: {h:?} against {s}"
                    );
                }
                found += want
                    .iter()
                    .filter(|(i, _)| got.iter().any(|h| id(h) == *i))
                    .count();
                wanted += want.len();
            }
            let recall = found as f64 / wanted as f64;
            recalls.push((t, kind, recall));
        }
    }
    let of = |t: Datatype, kind: &str| {
        recalls
            .iter()
            .find(|r| r.0 == t && r.1 == kind)
            .map(|r| r.2)
            .unwrap()
    };
    for (t, kind, recall) in &recalls {
        // measured: scalar 1.0 for all three; binary 0.895 (float32 and
        // float16) and 0.905 (uint8, centred on 127)
        let floor = if *kind == "scalar" { 0.95 } else { 0.85 };
        assert!(
            *recall >= floor,
            "{t:?} {kind}: recall {recall} with codes, rescored"
        );
        assert!(
            *recall >= of(Datatype::Float32, kind) - 0.05,
            "{t:?} {kind}: recall {recall}, float32's {}",
            of(Datatype::Float32, kind)
        );
    }
    // average_vector: the mean of the examples' values, converted again
    let c = db.collection("Uint8-scalar").unwrap();
    let mut req = QueryRequest::new(
        Query::Recommend {
            positive: vec![
                VectorInput::Id(PointId::Num(1)),
                VectorInput::Id(PointId::Num(2)),
            ],
            negative: vec![VectorInput::Id(PointId::Num(3))],
            strategy: vicinity::RecommendStrategy::AverageVector,
        },
        5,
    );
    req.params.exact = true;
    let got = c.query(&req).unwrap();
    let u = |i: usize| {
        converted(
            Datatype::Uint8,
            Distance::Cosine,
            &raw(Datatype::Uint8, &points[i].1),
        )
    };
    let (a, b, n) = (u(1), u(2), u(3));
    let target: Vec<f32> = (0..DIM)
        .map(|i| {
            let p = (a[i] + b[i]) / 2.0;
            p + p - n[i]
        })
        .collect();
    let target = converted(Datatype::Uint8, Distance::Cosine, &target);
    let mut want: Vec<(u64, f64)> = points
        .iter()
        .filter(|(i, _)| *i > 3)
        .map(|(i, _)| {
            (
                *i,
                score(Datatype::Uint8, Distance::Cosine, &target, &u(*i as usize)),
            )
        })
        .collect();
    want.sort_by(|x, y| y.1.total_cmp(&x.1));
    for (h, (_, s)) in got.iter().zip(&want) {
        assert!((f64::from(h.score) - s).abs() < 1e-5, "{h:?} against {s}");
    }
}

#[test]
fn datatypes_survive_reopen_compaction_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x5eed);
    let probes: Vec<Vec<f32>> = (0..6).map(|_| centre(&mut rng)).collect();
    // Integer-valued uint8 vectors tie often, and a compaction renumbers
    // rows, so tied points may swap: each answer is compared as its
    // scores (bit for bit) and, by score, its ids (those tied with the
    // last score may be any of the tied points, so only their count is).
    let answers = |c: &vicinity::Collection| -> Vec<Vec<(u32, Option<PointId>)>> {
        probes
            .iter()
            .flat_map(|q| spaces().into_iter().map(move |(t, d)| (t, d, q)))
            .map(|(t, d, q)| {
                let hits = c.query(&query(&name(t, d), raw(t, q), 10, true)).unwrap();
                let last = hits.last().map(|h| h.score.to_bits());
                let mut a: Vec<(u32, Option<PointId>)> = hits
                    .iter()
                    .map(|h| {
                        let bits = h.score.to_bits();
                        (bits, (Some(bits) != last).then_some(h.id))
                    })
                    .collect();
                a.sort_by_key(|(bits, id)| (*bits, id.map(|i| format!("{i:?}"))));
                a
            })
            .collect()
    };
    let (before, snapshot) = {
        let db = Database::open(dir.path()).unwrap();
        let (c, _) = filled(&db, HnswConfig::default(), 600);
        db.checkpoint_all().unwrap();
        let extra: Vec<PointStruct> = (1_000..1_050u64)
            .map(|id| {
                let v = vector(&mut rng, &[0.5; DIM]);
                PointStruct {
                    id: PointId::Num(id),
                    vectors: spaces()
                        .into_iter()
                        .map(|(t, d)| (name(t, d), Vector::Dense(raw(t, &v))))
                        .collect(),
                    payload: None,
                }
            })
            .collect();
        c.upsert(extra).unwrap();
        c.delete(&[PointId::Num(3)][..]).unwrap();
        let snap = db.create_snapshot("t").unwrap();
        (answers(&c), snap)
    };
    vicinity_tests::assert_answers_survive(
        dir.path(),
        "t",
        &snapshot.name,
        &before,
        answers,
        |_| (),
    );
}
