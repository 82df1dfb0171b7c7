//! Scalar quantization through the collection API: searches walk the codes
//! and rescore with the vectors; recall against exact search stays above
//! a stated floor, rescored scores are the vectors' own, and the codes come
//! back after a reopen.

use vicinity::{
    CollectionConfig, Database, Distance, HnswConfig, Payload, PointId, PointStruct,
    QuantizationConfig, QuantizationSearchParams, SearchParams, SearchRequest,
};
use vicinity_tests::{clustered, seed};

const N: usize = 8_000;
const DIM: usize = 64;

fn config(distance: Distance) -> CollectionConfig {
    let hnsw = HnswConfig {
        full_scan_threshold: 0,
        ..HnswConfig::default()
    };
    CollectionConfig::single(DIM, distance)
        .with_hnsw(hnsw)
        .with_quantization(QuantizationConfig::scalar(None))
}

fn search(q: &[f32], quantization: Option<QuantizationSearchParams>) -> SearchRequest {
    let mut r = SearchRequest::new(q.to_vec(), 10);
    r.params = SearchParams {
        hnsw_ef: Some(64),
        quantization,
        ..SearchParams::default()
    };
    r
}

fn params(rescore: bool, oversampling: f64) -> Option<QuantizationSearchParams> {
    Some(QuantizationSearchParams {
        ignore: false,
        rescore: Some(rescore),
        oversampling: Some(oversampling),
    })
}

#[test]
fn quantized_search_keeps_recall_and_exact_scores() {
    let s = seed(41);
    for distance in [Distance::Cosine, Distance::Euclid, Distance::Dot] {
        let dir = tempfile::tempdir().unwrap();
        let data = clustered(N, DIM, 32, s, s + 1);
        let queries = clustered(50, DIM, 32, s, s + 2);
        let ids_of = |hits: &[vicinity::ScoredPoint]| -> Vec<PointId> {
            hits.iter().map(|h| h.id).collect()
        };
        {
            let db = Database::open(dir.path()).unwrap();
            let c = db.create_collection("q", config(distance)).unwrap();
            let points: Vec<PointStruct> = data
                .iter()
                .enumerate()
                .map(|(i, v)| PointStruct::new(i as u64, v.clone(), Payload::new()))
                .collect();
            for chunk in points.chunks(2_000) {
                c.upsert(chunk.to_vec()).unwrap();
            }
            c.finish_indexing();
            assert!(
                c.info().memory.codes >= N * (DIM + 4),
                "{distance:?}: every row has codes"
            );
            let (mut rescored_hits, mut raw_hits, mut plain_hits) = (0, 0, 0);
            for q in &queries {
                let mut exact = search(q, None);
                exact.params.exact = true;
                let truth = c.search(&exact).unwrap();
                let truth_ids = ids_of(&truth);
                let rescored = c.search(&search(q, params(true, 2.0))).unwrap();
                // rescored scores are the vectors' own
                for h in &rescored {
                    if let Some(t) = truth.iter().find(|t| t.id == h.id) {
                        assert!(
                            (t.score - h.score).abs() < 1e-4,
                            "{distance:?}: {h:?} vs {t:?}"
                        );
                    }
                }
                rescored_hits += rescored
                    .iter()
                    .filter(|h| truth_ids.contains(&h.id))
                    .count();
                let raw = c.search(&search(q, params(false, 1.0))).unwrap();
                raw_hits += raw.iter().filter(|h| truth_ids.contains(&h.id)).count();
                // Qdrant's default for scalar codes: no rescoring, the
                // codes' own scores come back
                assert_eq!(c.search(&search(q, None)).unwrap(), raw);
                let plain = c
                    .search(&search(
                        q,
                        Some(QuantizationSearchParams {
                            ignore: true,
                            ..Default::default()
                        }),
                    ))
                    .unwrap();
                plain_hits += plain.iter().filter(|h| truth_ids.contains(&h.id)).count();
            }
            eprintln!(
                "{distance:?}: recall@10 rescored x2 {rescored_hits}/500, codes only {raw_hits}/500, vectors {plain_hits}/500"
            );
            // floors: rescoring twice the candidates is about as good as
            // the walk over the vectors; the codes alone lose a little
            // (measured 498-500 and 460-482 of 500 over the whole range;
            // a 0.99 quantile clamps the largest components of these tight
            // clusters and loses far more: 417 and 374 on Cosine)
            assert!(rescored_hits >= 480 && rescored_hits + 10 >= plain_hits);
            assert!(raw_hits >= 430);
            db.checkpoint_all().unwrap();
        }
        // the codes are made again when the collection opens
        let db = Database::open(dir.path()).unwrap();
        let c = db.collection("q").unwrap();
        // the checkpoint's rows are encoded as it is read
        assert!(c.info().memory.codes >= N * (DIM + 4));
        let q = &queries[0];
        let mut exact = search(q, None);
        exact.params.exact = true;
        let truth = ids_of(&c.search(&exact).unwrap());
        let got = ids_of(&c.search(&search(q, params(true, 2.0))).unwrap());
        assert!(got.iter().filter(|i| truth.contains(i)).count() >= 8);
    }
}

#[test]
fn quantization_settings_are_validated_and_kept() {
    let bad = CollectionConfig::single(4, Distance::Dot)
        .with_quantization(QuantizationConfig::scalar(Some(0.3)));
    let e = Database::new().create_collection("b", bad).unwrap_err();
    assert!(e.to_string().contains("quantile"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let config = config(Distance::Cosine);
    Database::open(dir.path())
        .unwrap()
        .create_collection("k", config.clone())
        .unwrap();
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(*db.collection("k").unwrap().config(), config);
}

/// Vectors with the structure of embeddings: a 24-d latent vector
/// projected to `dim`, plus noise (components centred on zero, where a
/// sign carries information).
fn embeddings(n: usize, dim: usize, seed: u64, projection_seed: u64) -> Vec<Vec<f32>> {
    let mut p = vicinity_tests::Rng::new(projection_seed);
    let projection: Vec<Vec<f32>> = (0..dim)
        .map(|_| (0..24).map(|_| p.normal()).collect())
        .collect();
    let mut r = vicinity_tests::Rng::new(seed);
    (0..n)
        .map(|_| {
            let z: Vec<f32> = (0..24).map(|_| r.normal()).collect();
            projection
                .iter()
                .map(|row| row.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>() + r.normal())
                .collect()
        })
        .collect()
}

#[test]
fn binary_quantized_search_rescored_by_default() {
    const BDIM: usize = 768;
    let s = seed(43);
    let dir = tempfile::tempdir().unwrap();
    let data = embeddings(N, BDIM, s, s + 1);
    let queries = embeddings(50, BDIM, s + 2, s + 1);
    let config = |distance| {
        CollectionConfig::single(BDIM, distance)
            .with_hnsw(HnswConfig {
                full_scan_threshold: 0,
                ..HnswConfig::default()
            })
            .with_quantization(QuantizationConfig::binary())
    };
    let ids_of =
        |hits: &[vicinity::ScoredPoint]| -> Vec<PointId> { hits.iter().map(|h| h.id).collect() };
    let db = Database::open(dir.path()).unwrap();
    // Cosine, binary codes' use: signs carry angles, not the norms that
    // Dot products also weigh (measured on Dot: 404/500 rescored x4)
    for distance in [Distance::Cosine] {
        let name = format!("{distance:?}");
        let c = db.create_collection(&name, config(distance)).unwrap();
        let points: Vec<PointStruct> = data
            .iter()
            .enumerate()
            .map(|(i, v)| PointStruct::new(i as u64, v.clone(), Payload::new()))
            .collect();
        c.upsert(points).unwrap();
        c.finish_indexing();
        // a bit per value: 96 bytes a row
        let codes = c.info().memory.codes;
        assert!((N * BDIM / 8..N * BDIM / 2).contains(&codes), "{codes}");
        let (mut found, mut raw_found) = (0, 0);
        for q in &queries {
            let mut exact = search(q, None);
            exact.params.exact = true;
            let truth = c.search(&exact).unwrap();
            let truth_ids = ids_of(&truth);
            let mut req = search(q, params(true, 4.0));
            // Qdrant's default for binary codes is to rescore
            req.params.quantization.as_mut().unwrap().rescore = None;
            let got = c.search(&req).unwrap();
            for h in &got {
                if let Some(t) = truth.iter().find(|t| t.id == h.id) {
                    assert!(
                        (t.score - h.score).abs() < 1e-3,
                        "{distance:?}: {h:?} vs {t:?}"
                    );
                }
            }
            found += got.iter().filter(|h| truth_ids.contains(&h.id)).count();
            let raw = c.search(&search(q, params(false, 1.0))).unwrap();
            raw_found += raw.iter().filter(|h| truth_ids.contains(&h.id)).count();
            // without rescoring the codes' scores come back: dim - 2 * hamming
            for h in &raw {
                assert_eq!(h.score, h.score.round(), "{h:?}");
                assert!(h.score.abs() <= BDIM as f32);
            }
        }
        eprintln!(
            "{distance:?} binary {BDIM}-d: recall@10 rescored x4 {found}/500, codes only {raw_found}/500"
        );
        // floors below what was measured: 494/500 rescored x4, 340/500
        // codes only (0.68: signs alone are a coarse ranking)
        assert!(found >= 475, "{found}");
        assert!(raw_found >= 300, "{raw_found}");
    }
    db.checkpoint_all().unwrap();
    drop(db);
    // the codes are made again when the collection opens
    let db = Database::open(dir.path()).unwrap();
    let c = db.collection("Cosine").unwrap();
    assert!(c.info().memory.codes >= N * BDIM / 8);
    let q = &queries[0];
    let mut exact = search(q, None);
    exact.params.exact = true;
    let truth = ids_of(&c.search(&exact).unwrap());
    let got = ids_of(&c.search(&search(q, params(true, 4.0))).unwrap());
    assert!(got.iter().filter(|i| truth.contains(i)).count() >= 8);
}

/// Recall@10 of `c` over `queries` (summed hits) against exact search,
/// with `quantization` search parameters at ef 64; checks that rescored
/// hits carry the vectors' exact scores.
fn hits(
    c: &vicinity::Collection,
    queries: &[Vec<f32>],
    quantization: Option<QuantizationSearchParams>,
) -> usize {
    let rescored = quantization.as_ref().and_then(|q| q.rescore) == Some(true);
    let mut found = 0;
    for q in queries {
        let mut exact = search(q, None);
        exact.params.exact = true;
        let truth = c.search(&exact).unwrap();
        let got = c.search(&search(q, quantization)).unwrap();
        for h in &got {
            if let Some(t) = truth.iter().find(|t| t.id == h.id) {
                found += 1;
                if rescored {
                    assert!((t.score - h.score).abs() < 1e-3, "{h:?} vs {t:?}");
                }
            }
        }
    }
    found
}

fn filled(
    name: &str,
    db: &Database,
    config: CollectionConfig,
    data: &[Vec<f32>],
) -> std::sync::Arc<vicinity::Collection> {
    let c = db.create_collection(name, config).unwrap();
    let points: Vec<PointStruct> = data
        .iter()
        .enumerate()
        .map(|(i, v)| PointStruct::new(i as u64, v.clone(), Payload::new()))
        .collect();
    for chunk in points.chunks(2_000) {
        c.upsert(chunk.to_vec()).unwrap();
    }
    c.finish_indexing();
    c
}

/// Product quantization: at `x16` the codes take a sixteenth of the
/// vectors' memory, the walk over them rescored reaches the stated recall
/// floor, and unrescored scores (Qdrant's default for product codes) are
/// the centroids' approximation of the exact ones.
#[test]
fn product_quantized_search_in_a_sixteenth_of_the_memory() {
    use vicinity::CompressionRatio;
    let s = seed(47);
    // embedding-like rows: a chunk of 4 values is worth coding when the
    // values are correlated (on isotropic clusters, whose neighbours
    // differ by noise alone, x16 codes rescored x4 find 0.5-0.6)
    let data = embeddings(N, DIM, s, s + 1);
    let queries = embeddings(50, DIM, s + 2, s + 1);
    let db = Database::new();
    for distance in [
        Distance::Cosine,
        Distance::Euclid,
        Distance::Dot,
        Distance::Manhattan,
    ] {
        let config =
            config(distance).with_quantization(QuantizationConfig::product(CompressionRatio::X16));
        let c = filled(&format!("{distance:?}"), &db, config.clone(), &data);
        let memory = c.info().memory;
        assert!(
            memory.codes > 0 && memory.codes * 16 <= memory.vectors_in_memory,
            "{memory:?}"
        );
        let rescored = hits(&c, &queries, params(true, 4.0));
        let raw = hits(&c, &queries, None);
        let plain = hits(
            &c,
            &queries,
            Some(QuantizationSearchParams {
                ignore: true,
                ..Default::default()
            }),
        );
        eprintln!(
            "{distance:?} product x16: recall@10 rescored x4 {rescored}/500, codes only {raw}/500, vectors {plain}/500"
        );
        // floors below what was measured
        assert!(rescored >= 450, "{distance:?}: {rescored}");
        assert!(raw >= 250, "{distance:?}: {raw}");
        // Qdrant's default for product codes: their own scores, near the
        // exact ones
        let q = &queries[0];
        let got = c.search(&search(q, None)).unwrap();
        let mut exact = search(q, None);
        exact.params.exact = true;
        let truth = c.search(&exact).unwrap();
        let scale = truth[0].score.abs().max(1.0);
        assert!(
            (got[0].score - truth[0].score).abs() < 0.2 * scale,
            "{distance:?}: {:?} vs {:?}",
            got[0],
            truth[0]
        );
    }
}

fn binary(
    encoding: vicinity::BinaryEncoding,
    query: vicinity::BinaryQueryEncoding,
) -> CollectionConfig {
    CollectionConfig::single(256, Distance::Cosine)
        .with_hnsw(HnswConfig {
            full_scan_threshold: 0,
            ..HnswConfig::default()
        })
        .with_quantization(QuantizationConfig::Binary(vicinity::BinaryQuantization {
            always_ram: None,
            encoding: Some(encoding),
            query_encoding: Some(query),
        }))
}

/// Binary codes on data whose values sit away from zero: every sign is
/// the same, so one bit per value ranks nothing, while two bits and one
/// and a half (levels around each dimension's mean) keep the ranking; the
/// codes take 1/32, 3/64 and 1/16 of the vectors' memory.
#[test]
fn two_bit_binary_codes_rank_data_away_from_zero() {
    use vicinity::{BinaryEncoding as E, BinaryQueryEncoding as Q};
    let s = seed(53);
    let shift = |v: Vec<Vec<f32>>| -> Vec<Vec<f32>> {
        v.into_iter()
            .map(|r| r.into_iter().map(|x| x + 40.0).collect())
            .collect()
    };
    let data = shift(embeddings(N, 256, s, s + 1));
    let queries = shift(embeddings(50, 256, s + 2, s + 1));
    let db = Database::new();
    let mut recall = Vec::new();
    for (encoding, half_bits) in [(E::OneBit, 2), (E::TwoBits, 4), (E::OneAndHalfBits, 3)] {
        let c = filled(
            &format!("{encoding:?}"),
            &db,
            binary(encoding, Q::Default),
            &data,
        );
        let memory = c.info().memory;
        assert!(
            memory.codes > 0 && memory.codes * 64 <= memory.vectors_in_memory * half_bits,
            "{encoding:?}: {memory:?}"
        );
        // rescored by default (binary)
        let mut p = params(true, 4.0);
        p.as_mut().unwrap().rescore = None;
        let rescored = hits(&c, &queries, p);
        let raw = hits(&c, &queries, params(false, 1.0));
        eprintln!("{encoding:?}: recall@10 rescored x4 {rescored}/500, codes only {raw}/500");
        recall.push(rescored);
    }
    // floors below what was measured (3, 453-461 and 387-399 of 500)
    assert!(recall[0] < 100, "{recall:?}");
    assert!(recall[1] >= 420 && recall[2] >= 350, "{recall:?}");
}

/// Queries kept at 8 or 4 bits per value against binary codes (Qdrant's
/// asymmetric `scalar8bits` / `scalar4bits`): on embeddings centred on
/// zero they rank closer than the query's own bits.
#[test]
fn scalar_queries_rank_binary_codes_closer() {
    use vicinity::{BinaryEncoding as E, BinaryQueryEncoding as Q};
    let s = seed(59);
    let data = embeddings(N, 256, s, s + 1);
    let queries = embeddings(50, 256, s + 2, s + 1);
    let db = Database::new();
    let mut raw = Vec::new();
    for (encoding, query) in [
        (E::OneBit, Q::Binary),
        (E::OneBit, Q::Scalar4bits),
        (E::OneBit, Q::Scalar8bits),
        (E::TwoBits, Q::Default),
        (E::TwoBits, Q::Scalar8bits),
    ] {
        let c = filled(
            &format!("{encoding:?}{query:?}"),
            &db,
            binary(encoding, query),
            &data,
        );
        let rescored = hits(&c, &queries, params(true, 4.0));
        let codes = hits(&c, &queries, params(false, 1.0));
        eprintln!(
            "{encoding:?} / {query:?}: recall@10 rescored x4 {rescored}/500, codes only {codes}/500"
        );
        assert!(rescored >= 400, "{encoding:?} / {query:?}: {rescored}");
        raw.push(codes);
    }
    assert!(raw[1] > raw[0] && raw[2] > raw[0], "{raw:?}");
    assert!(raw[4] > raw[3], "{raw:?}");
}

/// Codes trained on a small first batch are made again as the rows
/// double: scalar codes whose range came from ten rows near zero would
/// clamp every later, wider row; retrained, the codes alone keep their
/// recall.
#[test]
fn codes_are_retrained_as_the_rows_grow() {
    let s = seed(61);
    let data = embeddings(N, DIM, s, s + 1);
    let queries = embeddings(50, DIM, s + 2, s + 1);
    let db = Database::new();
    let c = db
        .create_collection("grow", config(Distance::Euclid))
        .unwrap();
    // ten rows a hundred times smaller than the rest
    let small: Vec<PointStruct> = (0..10)
        .map(|i| {
            let v = data[i].iter().map(|x| x / 100.0).collect::<Vec<f32>>();
            PointStruct::new((N + i) as u64, v, Payload::new())
        })
        .collect();
    c.upsert(small).unwrap();
    c.finish_indexing();
    let points: Vec<PointStruct> = data
        .iter()
        .enumerate()
        .map(|(i, v)| PointStruct::new(i as u64, v.clone(), Payload::new()))
        .collect();
    for chunk in points.chunks(2_000) {
        c.upsert(chunk.to_vec()).unwrap();
    }
    c.finish_indexing();
    let raw = hits(&c, &queries, params(false, 1.0));
    eprintln!("scalar codes after growth: recall@10 codes only {raw}/500");
    assert!(raw >= 400, "{raw}");
}

/// The quantization changes on a live collection (update_collection):
/// searches that run meanwhile keep returning the vectors' exact scores
/// for most of the exact neighbours; each change is in the config, its
/// codes follow, turning it off drops them, and a reopen keeps the last.
#[test]
fn quantization_changes_under_concurrent_searches() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use vicinity::{BinaryEncoding, BinaryQuantization, CompressionRatio};
    let s = seed(67);
    let data = embeddings(N, DIM, s, s + 1);
    let queries = embeddings(20, DIM, s + 2, s + 1);
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let plain = CollectionConfig::single(DIM, Distance::Cosine).with_hnsw(HnswConfig {
        full_scan_threshold: 0,
        ..HnswConfig::default()
    });
    let c = filled("live", &db, plain, &data);
    let truth: Vec<Vec<vicinity::ScoredPoint>> = queries
        .iter()
        .map(|q| {
            let mut exact = search(q, None);
            exact.params.exact = true;
            c.search(&exact).unwrap()
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let searcher = {
        let (c, stop, queries, truth) = (
            Arc::clone(&c),
            Arc::clone(&stop),
            queries.clone(),
            truth.clone(),
        );
        std::thread::spawn(move || {
            let (mut rounds, mut worst) = (0, usize::MAX);
            while !stop.load(Ordering::Relaxed) || rounds == 0 {
                let mut found = 0;
                for (q, truth) in queries.iter().zip(&truth) {
                    let got = c.search(&search(q, params(true, 4.0))).unwrap();
                    assert_eq!(got.len(), 10);
                    // rescored: best first, the vectors' exact scores
                    assert!(got.windows(2).all(|w| w[0].score >= w[1].score), "{got:?}");
                    for h in &got {
                        if let Some(t) = truth.iter().find(|t| t.id == h.id) {
                            found += 1;
                            assert!((t.score - h.score).abs() < 1e-4, "{h:?} vs {t:?}");
                        }
                    }
                }
                worst = worst.min(found);
                rounds += 1;
            }
            (rounds, worst)
        })
    };
    let none = std::collections::BTreeMap::new();
    let changes = [
        Some(QuantizationConfig::scalar(None)),
        Some(QuantizationConfig::product(CompressionRatio::X16)),
        Some(QuantizationConfig::Binary(BinaryQuantization {
            always_ram: Some(true),
            encoding: Some(BinaryEncoding::TwoBits),
            query_encoding: None,
        })),
        None,
        Some(QuantizationConfig::scalar(Some(0.99))),
    ];
    for change in changes {
        c.update_quantization(Some(change.clone()), &none).unwrap();
        assert_eq!(c.config().quantization_config, change);
        c.finish_indexing();
        let codes = c.info().memory.codes;
        match &change {
            None => assert_eq!(codes, 0),
            Some(_) => assert!(codes > 0),
        }
        if let Some(QuantizationConfig::Product(_)) = &change {
            // product codes' own scores: not rescored by default
            let got = c.search(&search(&queries[0], None)).unwrap();
            assert!(
                got.iter()
                    .any(|h| truth[0].iter().all(|t| t.score != h.score))
            );
        }
    }
    // a vector's own quantization, and an unknown vector refused
    let mut own = std::collections::BTreeMap::new();
    own.insert(
        vicinity::DEFAULT_VECTOR.to_string(),
        Some(QuantizationConfig::binary()),
    );
    c.update_quantization(None, &own).unwrap();
    assert_eq!(
        c.config().vectors[vicinity::DEFAULT_VECTOR].quantization_config,
        Some(QuantizationConfig::binary())
    );
    let mut unknown = std::collections::BTreeMap::new();
    unknown.insert("nope".to_string(), None);
    assert!(c.update_quantization(None, &unknown).is_err());
    stop.store(true, Ordering::Relaxed);
    let (rounds, worst) = searcher.join().unwrap();
    eprintln!("{rounds} rounds of searches ran through the changes, the worst finding {worst}/200");
    // every kind of codes rescored x4 finds most of the exact neighbours
    // (floor below the worst round measured)
    assert!(worst >= 140, "{worst}/200");
    let config = c.config();
    drop(c);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    let c = db.collection("live").unwrap();
    assert_eq!(*c.config(), *config);
    c.finish_indexing();
    // one bit per value: 8 bytes a row, under the scalar codes' 68
    let codes = c.info().memory.codes;
    assert!(codes > 0 && codes < N * 32, "{codes}");
}
