//! Shared support for Vicinity's integration tests and benchmarks: seeded
//! data, and readers for the Qdrant conformance cases in
//! `../shared/conformance/`.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vicinity::{Collection, Database, Payload, PointId, PointStruct};

/// Deterministic pseudo-random numbers (SplitMix64), so that every test
/// can print and replay its seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
}

/// The seed of a test: `VICINITY_SEED` if set, else `default`; printed so
/// that a failure can be replayed.
pub fn seed(default: u64) -> u64 {
    let s = std::env::var("VICINITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("seed {s} (set VICINITY_SEED to replay)");
    s
}

/// A Gaussian mixture: `clusters` centres drawn from `centres_seed`, and `n`
/// points around them drawn from `seed`, each centre with its own spread.
/// Data and queries made with the same `centres_seed` share the mixture.
pub fn clustered(
    n: usize,
    dim: usize,
    clusters: usize,
    centres_seed: u64,
    seed: u64,
) -> Vec<Vec<f32>> {
    let mut c = Rng::new(centres_seed);
    let centres: Vec<(Vec<f32>, f32)> = (0..clusters)
        .map(|_| {
            let centre = (0..dim).map(|_| c.normal() * 2.0).collect();
            (centre, 0.3 + c.uniform() as f32)
        })
        .collect();
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| {
            let (centre, spread) = &centres[r.below(clusters)];
            centre.iter().map(|x| x + r.normal() * spread).collect()
        })
        .collect()
}

/// The `shared/` folder beside the repository (or `VICINITY_SHARED`).
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("VICINITY_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join("conformance").is_dir(),
        "the shared folder with the conformance cases is not at {}: set VICINITY_SHARED",
        dir.display()
    );
    dir
}

/// The lines of a JSON-lines file of the conformance cases.
pub fn load_cases(set: &str, file: &str) -> Vec<Value> {
    let path = shared_dir().join("conformance").join(set).join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// The points of a conformance set, as upserts.
pub fn load_points(set: &str) -> Vec<PointStruct> {
    load_cases(set, "points.jsonl")
        .into_iter()
        .map(|p| {
            let id: PointId = serde_json::from_value(p["id"].clone()).expect("point id");
            let vector: Vec<f32> = serde_json::from_value(p["vector"].clone()).expect("vector");
            let payload = Payload::try_from(p["payload"].clone()).expect("payload object");
            PointStruct::new(id, vector, payload)
        })
        .collect()
}

/// An `(id, score)` hit as the cases record it.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The id, as JSON (a number or a string).
    pub id: Value,
    /// The score.
    pub score: f64,
}

/// The hits of a recorded result list.
pub fn hits(v: &Value) -> Vec<Hit> {
    v.as_array()
        .expect("a result list")
        .iter()
        .map(|h| Hit {
            id: h["id"].clone(),
            score: h["score"].as_f64().expect("a score"),
        })
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

/// Drops hits whose score sits on the threshold itself: whether they pass
/// depends on f32 against f64 rounding, not on semantics (as `check.py`).
pub fn off_threshold(hits: Vec<Hit>, threshold: Option<f64>) -> Vec<Hit> {
    match threshold {
        None => hits,
        Some(t) => hits
            .into_iter()
            .filter(|h| !close(h.score, t, 1e-5))
            .collect(),
    }
}

/// Same scores in the same order (within `tol`), and the same ids except
/// for the order inside a group of equal scores (the last group may be cut
/// by the limit). `Err` says where they differ.
pub fn same_ranking(got: &[Hit], want: &[Hit], tol: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} hits, want {}", got.len(), want.len()));
    }
    for (g, w) in got.iter().zip(want) {
        if !close(g.score, w.score, tol) {
            return Err(format!(
                "score {} for id {}, want {} (id {})",
                g.score, g.id, w.score, w.id
            ));
        }
    }
    let mut i = 0;
    while i < want.len() {
        let mut j = i;
        while j + 1 < want.len() && close(want[j + 1].score, want[i].score, 1e-5) {
            j += 1;
        }
        if j + 1 == want.len() {
            break;
        }
        let mut a: Vec<String> = got[i..=j].iter().map(|h| h.id.to_string()).collect();
        let mut b: Vec<String> = want[i..=j].iter().map(|h| h.id.to_string()).collect();
        a.sort();
        b.sort();
        if a != b {
            return Err(format!("ids {a:?} at ranks {i}..={j}, want {b:?}"));
        }
        i = j + 1;
    }
    Ok(())
}

/// The persistence round of the integration tests: the database in `dir`
/// holds collection `name`, whose `answers` were `before` when
/// `snapshot` (a snapshot's file name) was taken, and which has been
/// dropped. Asserts the same answers after reopening (checkpoint + log;
/// `reopened` may check more there), after a compaction, after a
/// checkpoint and another reopening, and from the snapshot restored as a
/// new collection.
pub fn assert_answers_survive<T: PartialEq + Debug>(
    dir: &Path,
    name: &str,
    snapshot: &str,
    before: &T,
    answers: impl Fn(&Collection) -> T,
    reopened: impl FnOnce(&Collection),
) {
    let db = Database::open(dir).unwrap();
    let c = db.collection(name).unwrap();
    assert_eq!(&answers(&c), before, "after reopening (checkpoint + log)");
    reopened(&c);
    c.optimize().unwrap();
    assert_eq!(&answers(&c), before, "after a compaction");
    db.checkpoint_all().unwrap();
    drop(c);
    drop(db);
    let db = Database::open(dir).unwrap();
    assert_eq!(
        &answers(&db.collection(name).unwrap()),
        before,
        "compacted and reopened"
    );
    let path = dir.join("snapshots").join(name).join(snapshot);
    let restored = db.restore_snapshot("copy", &path).unwrap();
    assert_eq!(&answers(&restored), before, "restored from a snapshot");
}
