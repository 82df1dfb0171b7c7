//! Sparse vectors through the collection API: searches (indexed, filtered
//! both ways, exact, IDF-weighted) against a brute-force model kept by the
//! test, after replacements and deletes; persistence through a checkpoint,
//! the log, a compaction and a snapshot; hybrid fusion and validation.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;
use vicinity::{
    CollectionConfig, Database, Distance, ErrorKind, Filter, Fusion, Modifier, Payload, PointId,
    PointStruct, Prefetch, Query, QueryRequest, ScoredPoint, SearchParams, SparseVector,
    SparseVectorParams, Vector, VectorInput, VectorParams, VectorSelector, Vectors,
};
use vicinity_tests::Rng;

/// A term-weight vector: Zipf-like term ids (small ones common), positive
/// weights, indices in no particular order.
fn sparse(rng: &mut Rng) -> SparseVector {
    let n = 1 + rng.below(10) as u64;
    let mut seen = std::collections::HashSet::new();
    let (mut indices, mut values) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let u = rng.uniform() as f32;
        let term = (u * u * u * 3_000.0) as u32;
        if seen.insert(term) {
            indices.push(term);
            values.push(0.05 + (rng.uniform() as f32) * 3.0);
        }
    }
    SparseVector::new(indices, values)
}

const BM25: &str = "bm25";
const SPLADE: &str = "splade";

fn config() -> CollectionConfig {
    CollectionConfig::named([("dense", VectorParams::new(4, Distance::Cosine))])
        .with_sparse(
            BM25,
            SparseVectorParams {
                modifier: Some(Modifier::Idf),
                ..Default::default()
            },
        )
        .with_sparse(SPLADE, SparseVectorParams::default())
}

/// The test's own copy of what the collection holds.
#[derive(Default)]
struct Model {
    points: BTreeMap<u64, (Option<SparseVector>, Option<SparseVector>, i64)>,
}

impl Model {
    fn vector(&self, id: u64, name: &str) -> Option<&SparseVector> {
        let p = &self.points[&id];
        if name == BM25 {
            p.0.as_ref()
        } else {
            p.1.as_ref()
        }
    }

    /// The best `k` by brute force, with IDF over the live points for BM25.
    fn search(
        &self,
        name: &str,
        q: &SparseVector,
        k: usize,
        keep: impl Fn(i64) -> bool,
    ) -> Vec<(u64, f32)> {
        let q = q.sorted();
        let mut weights = q.values.clone();
        if name == BM25 {
            let live: Vec<&SparseVector> = self
                .points
                .keys()
                .filter_map(|&id| self.vector(id, name))
                .collect();
            let n = live.len() as f32;
            for (w, i) in weights.iter_mut().zip(&q.indices) {
                let df = live.iter().filter(|v| v.indices.contains(i)).count() as f32;
                *w *= ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            }
        }
        let q = SparseVector::new(q.indices, weights);
        let mut hits: Vec<(u64, f32)> = self
            .points
            .iter()
            .filter(|(_, p)| keep(p.2))
            .filter_map(|(&id, _)| {
                let v = self.vector(id, name)?.sorted();
                q.dot(&v).filter(|&s| s != 0.0).map(|s| (id, s))
            })
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(k);
        hits
    }
}

fn point(
    id: u64,
    bm25: &Option<SparseVector>,
    splade: &Option<SparseVector>,
    group: i64,
) -> PointStruct {
    let mut v: BTreeMap<String, Vector> = BTreeMap::new();
    v.insert("dense".into(), vec![1.0, id as f32 % 7.0, 0.5, 0.1].into());
    if let Some(s) = bm25 {
        v.insert(BM25.into(), s.clone().into());
    }
    if let Some(s) = splade {
        v.insert(SPLADE.into(), s.clone().into());
    }
    PointStruct::new(
        id,
        Vectors::Named(v),
        Payload::try_from(json!({"group": group})).unwrap(),
    )
}

fn query(name: &str, q: &SparseVector, k: usize, filter: Option<Filter>) -> QueryRequest {
    let mut r = QueryRequest::new(Query::Nearest(VectorInput::Sparse(q.clone())), k);
    r.using = name.into();
    r.filter = filter;
    r
}

/// Same scores in order, and the same ids except among equal scores.
fn assert_matches(got: &[ScoredPoint], want: &[(u64, f32)], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.score - w.1).abs() <= 1e-4 * w.1.abs().max(1.0),
            "{what}: {got:?} vs {want:?}"
        );
        let tied = want.iter().filter(|x| (x.1 - w.1).abs() <= 1e-5).count() > 1;
        assert!(
            tied || g.id == PointId::Num(w.0),
            "{what}: {got:?} vs {want:?}"
        );
    }
}

fn group_filter(json: serde_json::Value) -> Filter {
    serde_json::from_value(json).unwrap()
}

/// Fills a collection and its model: 3,000 points (a tenth without BM25,
/// a fifth without SPLADE), then 300 deleted and 400 replaced.
fn fill(c: &vicinity::Collection, rng: &mut Rng) -> Model {
    let mut model = Model::default();
    let mut batch = Vec::new();
    for id in 0..3_000u64 {
        let b = (id % 10 != 0).then(|| sparse(rng));
        let s = (id % 5 != 0).then(|| sparse(rng));
        let g = (id % 20) as i64;
        batch.push(point(id, &b, &s, g));
        model.points.insert(id, (b, s, g));
        if batch.len() == 500 {
            c.upsert(std::mem::take(&mut batch)).unwrap();
        }
    }
    let gone: Vec<PointId> = (0..300u64).map(|i| PointId::Num(i * 7 + 3)).collect();
    c.delete(&gone[..]).unwrap();
    for id in &gone {
        let PointId::Num(n) = id else { unreachable!() };
        model.points.remove(n);
    }
    let mut batch = Vec::new();
    for i in 0..400u64 {
        let id = i * 5 + 1;
        let b = Some(sparse(rng));
        let s = (i % 2 == 0).then(|| sparse(rng));
        let g = (id % 20) as i64;
        batch.push(point(id, &b, &s, g));
        model.points.insert(id, (b, s, g));
    }
    c.upsert(batch).unwrap();
    model
}

fn check_searches(c: &vicinity::Collection, model: &Model, rng: &mut Rng) {
    for _ in 0..25 {
        let q = sparse(rng);
        for name in [BM25, SPLADE] {
            let want = model.search(name, &q, 10, |_| true);
            assert_matches(&c.query(&query(name, &q, 10, None)).unwrap(), &want, name);
            // exact: one row at a time, same answer
            let mut exact = query(name, &q, 10, None);
            exact.params = SearchParams {
                exact: true,
                ..SearchParams::default()
            };
            assert_matches(&c.query(&exact).unwrap(), &want, "exact");
            // a selective filter (scored row by row) and a broad one (the
            // posting lists with a per-row check)
            let narrow = group_filter(json!({"must": [{"key": "group", "match": {"value": 3}}]}));
            let want = model.search(name, &q, 10, |g| g == 3);
            assert_matches(
                &c.query(&query(name, &q, 10, Some(narrow))).unwrap(),
                &want,
                "narrow filter",
            );
            let broad =
                group_filter(json!({"must_not": [{"key": "group", "match": {"value": 3}}]}));
            let want = model.search(name, &q, 25, |g| g != 3);
            assert_matches(
                &c.query(&query(name, &q, 25, Some(broad))).unwrap(),
                &want,
                "broad filter",
            );
        }
    }
}

#[test]
fn sparse_search_matches_brute_force_with_and_without_idf() {
    let db = Database::new();
    let c = db.create_collection("s", config()).unwrap();
    let mut rng = Rng::new(0x5eed_1234_abcd_ef01);
    let model = fill(&c, &mut rng);
    assert_eq!(c.count(), model.points.len());
    check_searches(&c, &model, &mut rng);
    // an empty query finds nothing; a stored point's vector finds others
    assert!(
        c.query(&query(BM25, &SparseVector::default(), 5, None))
            .unwrap()
            .is_empty()
    );
    let mut by_id = QueryRequest::new(Query::Nearest(VectorInput::Id(PointId::Num(11))), 5);
    by_id.using = SPLADE.into();
    let hits = c.query(&by_id).unwrap();
    assert!(!hits.is_empty() && hits.iter().all(|h| h.id != PointId::Num(11)));
}

#[test]
fn sparse_vectors_come_back_sorted_and_are_validated() {
    let db = Database::new();
    let c = db.create_collection("s", config()).unwrap();
    let v = SparseVector::new(vec![9, 2, 5], vec![0.9, 0.2, 0.5]);
    c.upsert(vec![point(1, &Some(v.clone()), &None, 0)])
        .unwrap();
    // the dense search API on a sparse name: Qdrant's conversion error,
    // not "unknown vector"
    let mut dense = vicinity::SearchRequest::new(vec![1.0, 0.0, 0.0, 0.0], 3);
    dense.using = BM25.into();
    let e = c.search(&dense).unwrap_err().to_string();
    assert!(
        e.contains("Conversion between sparse and regular vectors failed"),
        "{e}"
    );
    dense.using = "nope".into();
    let e = c.search(&dense).unwrap_err().to_string();
    assert!(e.contains("nope"), "{e}");
    let got = c
        .get(
            &[PointId::Num(1)],
            &vicinity::WithSelectors {
                vectors: VectorSelector::All,
                ..Default::default()
            },
        )
        .unwrap();
    let vectors = got[0].vectors.as_ref().unwrap();
    assert_eq!(vectors.sparse(BM25), Some(&v.sorted()));
    assert_eq!(vectors.sparse(BM25).unwrap().indices, vec![2, 5, 9]);
    assert!(vectors.get(SPLADE).is_none());
    let bad = [
        SparseVector::new(vec![1, 1], vec![1.0, 2.0]),
        SparseVector::new(vec![1, 2], vec![1.0]),
        SparseVector::new(vec![1], vec![f32::NAN]),
    ];
    for b in bad {
        let e = c
            .upsert(vec![point(2, &Some(b.clone()), &None, 0)])
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadInput, "{e}");
        let e = c.query(&query(BM25, &b, 3, None)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadInput, "{e}");
    }
    // a dense vector under a sparse name and the other way round
    let wrong: Vectors = [(BM25, vec![1.0f32; 4])].into_iter().collect();
    let e = c
        .upsert(vec![PointStruct::new(3, wrong, Payload::new())])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("Conversion between sparse and regular vectors failed")
    );
    let wrong: Vectors = [("dense", v.clone())].into_iter().collect();
    assert!(
        c.upsert(vec![PointStruct::new(3, wrong, Payload::new())])
            .is_err()
    );
    let mut dense_query = QueryRequest::new(Query::Nearest(VectorInput::Vector(vec![1.0; 4])), 3);
    dense_query.using = BM25.into();
    assert!(c.query(&dense_query).is_err());
    assert_eq!(c.count(), 1, "nothing refused was written");
    // a name cannot be both dense and sparse
    let clash = CollectionConfig::named([(BM25, VectorParams::new(4, Distance::Dot))])
        .with_sparse(BM25, SparseVectorParams::default());
    assert!(db.create_collection("clash", clash).is_err());
    // a collection of sparse vectors only
    let only =
        CollectionConfig::named::<String>([]).with_sparse("text", SparseVectorParams::default());
    let c = db.create_collection("only", only).unwrap();
    let doc: Vectors = [("text", v.clone())].into_iter().collect();
    c.upsert(vec![PointStruct::new(1, doc, Payload::new())])
        .unwrap();
    let hits = c
        .query(&query(
            "text",
            &SparseVector::new(vec![5], vec![2.0]),
            3,
            None,
        ))
        .unwrap();
    assert_eq!((hits.len(), hits[0].score), (1, 1.0));
}

#[test]
fn sparse_vectors_survive_reopen_compaction_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x0dd_ba11_cafe_f00d);
    let probes: Vec<SparseVector> = (0..10).map(|_| sparse(&mut rng)).collect();
    let answers = |c: &vicinity::Collection| -> Vec<Vec<(PointId, u32)>> {
        probes
            .iter()
            .flat_map(|q| [BM25, SPLADE].map(|name| (name, q)))
            .map(|(name, q)| {
                c.query(&query(name, q, 10, None))
                    .unwrap()
                    .iter()
                    .map(|h| (h.id, h.score.to_bits()))
                    .collect()
            })
            .collect()
    };
    let (before, snapshot) = {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("s", config()).unwrap();
        let model = fill(&c, &mut rng);
        // a checkpoint in the middle: the rest is in the log
        db.checkpoint_all().unwrap();
        let extra: Vec<PointStruct> = (5_000..5_200u64)
            .map(|id| point(id, &Some(sparse(&mut rng)), &None, 1))
            .collect();
        c.upsert(extra).unwrap();
        c.delete(&[PointId::Num(5_001)][..]).unwrap();
        c.delete_vectors(&[PointId::Num(5_002)], &[BM25.to_string()])
            .unwrap();
        assert_eq!(c.count(), model.points.len() + 199);
        let snap = db.create_snapshot("s").unwrap();
        (answers(&c), snap)
    };
    vicinity_tests::assert_answers_survive(
        dir.path(),
        "s",
        &snapshot.name,
        &before,
        answers,
        |c| {
            let v = c
                .get(
                    &[PointId::Num(5_002)],
                    &vicinity::WithSelectors {
                        vectors: VectorSelector::All,
                        ..Default::default()
                    },
                )
                .unwrap();
            assert!(v[0].vectors.as_ref().unwrap().sparse(BM25).is_none());
        },
    );
}

#[test]
fn hybrid_fusion_of_dense_and_sparse() {
    let db = Database::new();
    let c = db.create_collection("s", config()).unwrap();
    let mut rng = Rng::new(42);
    let model = fill(&c, &mut rng);
    let q = sparse(&mut rng);
    let sparse_hits = model.search(SPLADE, &q, 20, |_| true);
    let mut dense = Prefetch::new(
        Query::Nearest(VectorInput::Vector(vec![1.0, 2.0, 0.5, 0.1])),
        20,
    );
    dense.using = "dense".into();
    let mut text = Prefetch::new(Query::Nearest(VectorInput::Sparse(q.clone())), 20);
    text.using = SPLADE.into();
    let mut req = QueryRequest::new(
        Query::Fusion(Fusion::Rrf {
            k: 2,
            weights: None,
        }),
        10,
    );
    req.prefetch = vec![dense.clone(), text.clone()];
    let fused = c.query(&req).unwrap();
    assert_eq!(fused.len(), 10);
    // RRF over the two lists, computed here from each list on its own
    let mut dense_only = QueryRequest::new(dense.query.clone().unwrap(), 20);
    dense_only.using = "dense".into();
    let dense_hits = c.query(&dense_only).unwrap();
    let mut want: HashMap<PointId, f32> = HashMap::new();
    for (rank, h) in dense_hits.iter().enumerate() {
        *want.entry(h.id).or_default() += 1.0 / (rank as f32 + 2.0);
    }
    for (rank, (id, _)) in sparse_hits.iter().enumerate() {
        *want.entry(PointId::Num(*id)).or_default() += 1.0 / (rank as f32 + 2.0);
    }
    for h in &fused {
        assert!((want[&h.id] - h.score).abs() < 1e-6, "{h:?}");
    }
    let best = want.values().cloned().fold(f32::MIN, f32::max);
    assert!((fused[0].score - best).abs() < 1e-6);
}

#[test]
fn relevance_feedback_over_sparse_vectors() {
    let db = Database::new();
    let c = db.create_collection("s", config()).unwrap();
    let mut rng = Rng::new(0x0fee_db0c_0000_0001);
    let model = fill(&c, &mut rng);
    let target = sparse(&mut rng);
    let examples = [sparse(&mut rng), sparse(&mut rng), sparse(&mut rng)];
    let judged = [0.9f32, 0.1, 0.5];
    let strategy = vicinity::NaiveFeedback {
        a: 0.7,
        b: 1.3,
        c: 0.4,
    };
    let mut r = QueryRequest::new(
        Query::RelevanceFeedback {
            target: VectorInput::Sparse(target.clone()),
            feedback: examples
                .iter()
                .zip(judged)
                .map(|(e, s)| vicinity::FeedbackItem {
                    example: VectorInput::Sparse(e.clone()),
                    score: s,
                })
                .collect(),
            strategy,
        },
        15,
    );
    r.using = SPLADE.into();
    let got = c.query(&r).unwrap();
    // the formula by hand: every ordered pair whose judged scores differ
    let dot = |a: &SparseVector, b: &SparseVector| a.sorted().dot(b).unwrap_or(0.0);
    let mut want: Vec<(u64, f32)> = model
        .points
        .keys()
        .filter_map(|&id| {
            let v = model.vector(id, SPLADE)?.sorted();
            let mut s = strategy.a * dot(&target, &v);
            for i in 0..3 {
                for j in 0..3 {
                    let d = judged[i] - judged[j];
                    if d > 0.0 {
                        let w = d.powf(strategy.b) * strategy.c;
                        s += w * (dot(&examples[i], &v) - dot(&examples[j], &v));
                    }
                }
            }
            Some((id, s))
        })
        .collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    want.truncate(15);
    assert_matches(&got, &want, "sparse feedback");
}
