//! Durable collections: reopen, checkpoints, the folder lock, damaged
//! files, failing disks, power loss (simulated), and kill -9 (real).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use vicinity::{
    CollectionConfig, Database, Distance, Error, FieldIndexParams, FieldType, Filter, Payload,
    PayloadSelector, PointId, PointStruct, Query, QueryRequest, SearchRequest, UpdateOperation,
    Vector, VectorInput, VectorParams, VectorSelector, Vectors, WithSelectors,
};
use vicinity_storage::{SimIo, StorageError};
use vicinity_tests::{Rng, seed};

fn all() -> WithSelectors {
    WithSelectors {
        payload: PayloadSelector::All,
        vectors: VectorSelector::All,
    }
}

fn point(i: u64, rng: &mut Rng) -> PointStruct {
    let v: Vec<f32> = (0..8).map(|_| rng.normal()).collect();
    PointStruct::new(
        i,
        v,
        Payload::try_from(json!({"i": i, "tag": format!("t{}", i % 7)})).unwrap(),
    )
}

#[test]
fn a_database_reopens_with_everything_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(seed(11));
    let expected;
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("items", CollectionConfig::single(8, Distance::Cosine))
            .unwrap();
        c.upsert((0..500).map(|i| point(i, &mut rng)).collect())
            .unwrap();
        c.create_field_index(
            &"tag".parse().unwrap(),
            FieldIndexParams::new(FieldType::Keyword),
        )
        .unwrap();
        c.checkpoint().unwrap();
        // after the checkpoint: in the log only
        c.upsert((500..600).map(|i| point(i, &mut rng)).collect())
            .unwrap();
        c.delete(&(0..50).map(PointId::Num).collect::<Vec<_>>())
            .unwrap();
        c.set_payload(
            &[PointId::Num(60)],
            &Payload::try_from(json!({"extra": true})).unwrap(),
            None,
        )
        .unwrap();
        db.create_alias("items", "things").unwrap();
        expected = c
            .get(&(0..600).map(PointId::Num).collect::<Vec<_>>(), &all())
            .unwrap();
        assert_eq!(expected.len(), 550);
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.collection("things").unwrap();
    assert_eq!(c.count(), 550);
    let got = c
        .get(&(0..600).map(PointId::Num).collect::<Vec<_>>(), &all())
        .unwrap();
    assert_eq!(got, expected, "points differ after reopen");
    let f = Filter::from_json(json!({"must": [{"key": "tag", "match": {"value": "t3"}}]})).unwrap();
    assert_eq!(c.payload_schema()["tag"].points, 550);
    assert_eq!(
        c.count_where(&f),
        expected
            .iter()
            .filter(|r| r.payload.as_ref().unwrap().as_map()["tag"] == "t3")
            .count()
    );
    let hits = c.search(&SearchRequest::new(vec![1.0; 8], 5)).unwrap();
    assert_eq!(hits.len(), 5);
    // writes go on after a reopen, numbered after the old ones
    let before = hits[0].version;
    let r = c.upsert(vec![point(9999, &mut rng)]).unwrap();
    assert!(r.operation_id > before);
    drop(c);
    assert!(db.delete_collection("items"));
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert!(db.list_collections().is_empty());
    assert!(db.collection("things").is_err());
}

#[test]
fn maintenance_checkpoints_long_logs_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(seed(12));
    let states = || {
        std::fs::read_dir(dir.path().join("collections/c"))
            .unwrap()
            .filter(|e| {
                let n = e.as_ref().unwrap().file_name();
                n.to_str().unwrap().starts_with("state-")
            })
            .count()
    };
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("c", CollectionConfig::single(8, Distance::Cosine))
            .unwrap();
        c.upsert((0..200).map(|i| point(i, &mut rng)).collect())
            .unwrap();
        let logged = c.log_bytes_since_checkpoint();
        assert!(logged > 0);
        db.maintain(logged).unwrap();
        assert_eq!(states(), 0, "a log under the threshold is left alone");
        db.maintain(logged - 1).unwrap();
        assert_eq!(states(), 1);
        assert_eq!(c.log_bytes_since_checkpoint(), 0);
        c.upsert(vec![point(500, &mut rng)]).unwrap();
        db.checkpoint_all().unwrap();
        assert_eq!(c.log_bytes_since_checkpoint(), 0);
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.collection("c").unwrap().count(), 201);
}

/// The log a reopen replays counts toward the next checkpoint: processes
/// that never live long enough to log a checkpoint's worth themselves (a
/// crash loop) do not grow the log forever.
#[test]
fn a_replayed_log_counts_toward_the_next_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(seed(14));
    let mut logged = 0;
    for round in 0..3u64 {
        let db = Database::open(dir.path()).unwrap();
        let c = match db.collection("c") {
            Ok(c) => c,
            Err(_) => db
                .create_collection("c", CollectionConfig::single(8, Distance::Cosine))
                .unwrap(),
        };
        assert_eq!(c.log_bytes_since_checkpoint(), logged, "round {round}");
        c.upsert((0..100).map(|i| point(round * 100 + i, &mut rng)).collect())
            .unwrap();
        logged = c.log_bytes_since_checkpoint();
        // dropped without a checkpoint, as a killed process would leave it
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(c.log_bytes_since_checkpoint(), logged);
    db.maintain(logged - 1).unwrap();
    assert_eq!(c.log_bytes_since_checkpoint(), 0);
    drop(c);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.collection("c").unwrap().count(), 300);
}

#[test]
fn a_collection_built_in_memory_is_added_as_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(seed(13));
    let c = vicinity::Collection::new("bulk", CollectionConfig::single(8, Distance::Cosine), None)
        .unwrap();
    c.upsert((0..300).map(|i| point(i, &mut rng)).collect())
        .unwrap();
    c.finish_indexing();
    let query = SearchRequest::new(vec![0.3; 8], 10);
    let hits = c.search(&query).unwrap();
    let expected = c
        .get(&(0..300).map(PointId::Num).collect::<Vec<_>>(), &all())
        .unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.create_collection("taken", CollectionConfig::single(8, Distance::Cosine))
            .unwrap();
        let clash =
            vicinity::Collection::new("taken", CollectionConfig::single(8, Distance::Cosine), None)
                .unwrap();
        assert!(matches!(
            db.add_collection(clash),
            Err(Error::CollectionExists { .. })
        ));
        let added = db.add_collection(c).unwrap();
        // writes after adding are logged like any other
        added.upsert(vec![point(300, &mut rng)]).unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.collection("bulk").unwrap();
    assert_eq!(c.count(), 301);
    let got = c
        .get(&(0..300).map(PointId::Num).collect::<Vec<_>>(), &all())
        .unwrap();
    assert_eq!(got, expected);
    c.delete(&[PointId::Num(300)]).unwrap();
    assert_eq!(c.search(&query).unwrap(), hits);
}

/// A `wait = false` write is fsynced in the background within about a
/// second, in the library as in the server.
#[test]
fn unwaited_writes_are_synced_in_the_background() {
    let io = SimIo::new();
    let db = Database::open_with("/db", Arc::new(io.clone()), None).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::single(8, Distance::Cosine))
        .unwrap();
    let mut rng = Rng::new(seed(14));
    c.update(UpdateOperation::Upsert(vec![point(1, &mut rng)]), false)
        .unwrap();
    let start = Instant::now();
    while io.unsynced_bytes() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a wait=false write stayed unsynced"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(c);
    drop(db);
    io.power_loss(seed(15));
    let db = Database::open_with("/db", Arc::new(io), None).unwrap();
    assert_eq!(db.collection("c").unwrap().count(), 1);
}

#[test]
fn a_second_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Database::open(dir.path()).unwrap();
    let e = Database::open(dir.path()).unwrap_err();
    assert!(
        matches!(e, Error::Storage(StorageError::Locked { .. })),
        "{e}"
    );
}

#[test]
fn damaged_files_are_typed_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("c", CollectionConfig::single(4, Distance::Dot))
            .unwrap();
        let mut rng = Rng::new(3);
        c.upsert(
            (0..100)
                .map(|i| {
                    PointStruct::new(
                        i,
                        (0..4).map(|_| rng.normal()).collect::<Vec<f32>>(),
                        Payload::new(),
                    )
                })
                .collect(),
        )
        .unwrap();
        c.checkpoint().unwrap();
    }
    let cdir = dir.path().join("collections/c");
    // every file of the checkpoint: the state, the vectors, the graph and
    // the manifest that names them
    for prefix in ["state-", "vectors-", "graph-", "MANIFEST"] {
        let file = std::fs::read_dir(&cdir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
            .unwrap();
        let good = std::fs::read(&file).unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("bit flip", {
                let mut b = good.clone();
                b[good.len() / 2] ^= 0x10;
                b
            }),
            ("truncated", good[..good.len() / 3].to_vec()),
            ("zero-filled", vec![0; good.len()]),
            ("empty", Vec::new()),
        ];
        for (what, bytes) in cases {
            std::fs::write(&file, &bytes).unwrap();
            let e = Database::open(dir.path())
                .map(|_| ())
                .expect_err(&format!("{prefix} {what} opened"));
            assert!(
                matches!(e, Error::Storage(StorageError::Corrupted { .. })),
                "{prefix} {what}: {e}"
            );
            assert!(
                e.to_string().contains(prefix),
                "{prefix} {what}: {e} does not name the file"
            );
        }
        std::fs::write(&file, &good).unwrap();
        assert_eq!(
            Database::open(dir.path())
                .unwrap()
                .collection("c")
                .unwrap()
                .count(),
            100
        );
    }
    std::fs::write(cdir.join("config.json"), b"\0\0\0").unwrap();
    let e = Database::open(dir.path()).unwrap_err();
    assert!(e.to_string().contains("config.json"), "{e}");
}

/// Writes on a simulated disk, then a power loss at a random moment:
/// everything acknowledged with `wait = true` is there after reopening,
/// with its exact vector and payload. 10,000 crash points by default
/// (`VICINITY_POWER_CYCLES` sets the count), counted and reported with how
/// many cut into unsynced writes.
#[test]
fn power_loss_keeps_every_write_acknowledged_with_wait() {
    let s = seed(2024);
    let cycles = std::env::var("VICINITY_POWER_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000u64);
    let (mut torn, mut checked) = (0u64, 0u64);
    for cycle in 0..cycles {
        let io = SimIo::new();
        let mut rng = Rng::new(s ^ cycle);
        let mut acked: std::collections::BTreeMap<u64, Option<PointStruct>> = Default::default();
        {
            let db = Database::open_with("/db", Arc::new(io.clone()), None).unwrap();
            let c = db
                .create_collection("c", CollectionConfig::single(8, Distance::Euclid))
                .unwrap();
            let ops = 5 + rng.below(30);
            for step in 0..ops {
                let wait = rng.below(3) != 0;
                if step % 7 == 6 {
                    c.checkpoint().unwrap();
                }
                if rng.below(4) == 0 && !acked.is_empty() {
                    let id = *acked.keys().nth(rng.below(acked.len())).unwrap();
                    let op =
                        UpdateOperation::Delete(vicinity::PointsSelector::Ids(vec![PointId::Num(
                            id,
                        )]));
                    c.update(op, wait).unwrap();
                    if wait {
                        acked.insert(id, None);
                    } else {
                        // may or may not survive: forget what we knew of it
                        acked.remove(&id);
                    }
                } else {
                    let batch: Vec<PointStruct> = (0..1 + rng.below(5))
                        .map(|_| point(rng.below(40) as u64, &mut rng))
                        .collect();
                    c.update(UpdateOperation::Upsert(batch.clone()), wait)
                        .unwrap();
                    if wait {
                        for p in batch {
                            let PointId::Num(id) = p.id else {
                                unreachable!()
                            };
                            acked.insert(id, Some(p));
                        }
                    } else {
                        // not acknowledged durably: forget what we knew of these ids
                        for p in batch {
                            let PointId::Num(id) = p.id else {
                                unreachable!()
                            };
                            acked.remove(&id);
                        }
                    }
                }
            }
        }
        torn += u64::from(io.unsynced_bytes() > 0);
        io.power_loss(s ^ cycle ^ 0xdead);
        let db = Database::open_with("/db", Arc::new(io.clone()), None)
            .unwrap_or_else(|e| panic!("cycle {cycle}: reopen failed: {e}"));
        let c = db
            .collection("c")
            .unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
        checked += acked.len() as u64;
        for (id, want) in &acked {
            let got = c.get(&[PointId::Num(*id)], &all()).unwrap();
            match want {
                None => assert!(got.is_empty(), "cycle {cycle}: deleted point {id} is back"),
                Some(p) => {
                    assert_eq!(got.len(), 1, "cycle {cycle}: acknowledged point {id} lost");
                    assert_eq!(
                        got[0].vectors,
                        Some(p.vectors.clone()),
                        "cycle {cycle}: point {id} vector"
                    );
                    assert_eq!(
                        got[0].payload, p.payload,
                        "cycle {cycle}: point {id} payload"
                    );
                }
            }
        }
    }
    eprintln!(
        "{cycles} power-loss crash points ({torn} with unsynced writes cut), {checked} acknowledged points checked"
    );
    assert!(torn > 0, "no crash point cut into unsynced writes");
}

/// Concurrent `wait = true` writers share fsyncs (group commit), and every
/// write acknowledged is there after a power loss.
#[test]
fn concurrent_waiting_writes_share_fsyncs() {
    let io = SimIo::new();
    let db = Database::open_with("/db", Arc::new(io.clone()), None).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::single(4, Distance::Euclid))
        .unwrap();
    // a flush that takes as long as a real disk's, so writers pile up
    io.set_sync_delay(Duration::from_millis(3));
    let before = io.syncs();
    let (threads, each) = (8u64, 25u64);
    let mut op_ids: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let c = &c;
                s.spawn(move || {
                    (0..each)
                        .map(|i| {
                            let id = t * 1000 + i;
                            let v = vec![id as f32, t as f32, i as f32, 1.0];
                            let p = PointStruct::new(id, v, Payload::new());
                            c.update(UpdateOperation::Upsert(vec![p]), true)
                                .unwrap()
                                .operation_id
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    op_ids.sort_unstable();
    op_ids.dedup();
    assert_eq!(op_ids.len() as u64, threads * each, "operation ids repeat");
    let syncs = io.syncs() - before;
    let writes = threads * each;
    assert!(
        syncs * 2 <= writes,
        "{writes} concurrent writes took {syncs} fsyncs: no group commit"
    );
    io.set_sync_delay(Duration::ZERO);
    drop(c);
    drop(db);
    io.power_loss(seed(5));
    let db = Database::open_with("/db", Arc::new(io), None).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(c.count() as u64, writes, "an acknowledged write was lost");
    for t in 0..threads {
        for i in 0..each {
            let id = t * 1000 + i;
            let got = c.get(&[PointId::Num(id)], &all()).unwrap();
            assert_eq!(
                got[0].vectors,
                Some(Vectors::Single(vec![id as f32, t as f32, i as f32, 1.0]))
            );
        }
    }
}

#[test]
fn a_failing_disk_is_an_error_and_changes_nothing() {
    let io = SimIo::new();
    let db = Database::open_with("/db", Arc::new(io.clone()), None).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    c.upsert(vec![PointStruct::new(1, vec![1.0, 0.0], Payload::new())])
        .unwrap();
    io.fail_after(0);
    let e = c
        .upsert(vec![PointStruct::new(2, vec![0.0, 1.0], Payload::new())])
        .unwrap_err();
    assert!(matches!(e, Error::Storage(StorageError::Io { .. })), "{e}");
    assert_eq!(c.count(), 1, "a failed write is not applied");
    assert!(c.checkpoint().is_err());
    // a full disk still serves reads
    assert_eq!(c.get(&[PointId::Num(1)], &all()).unwrap().len(), 1);
    let hits = c.search(&SearchRequest::new(vec![1.0, 0.0], 5)).unwrap();
    assert_eq!(hits.len(), 1);
    io.heal();
    c.upsert(vec![PointStruct::new(3, vec![0.0, 1.0], Payload::new())])
        .unwrap();
    c.update(
        UpdateOperation::Upsert(vec![PointStruct::new(4, vec![1.0, 1.0], Payload::new())]),
        true,
    )
    .unwrap();
    c.checkpoint().unwrap();
    c.update(
        UpdateOperation::Delete(vicinity::PointsSelector::Ids(vec![PointId::Num(4)])),
        true,
    )
    .unwrap();
    drop(c);
    drop(db);
    let db = Database::open_with("/db", Arc::new(io), None).unwrap();
    let ids: Vec<PointId> = db
        .collection("c")
        .unwrap()
        .scroll(&Default::default())
        .unwrap()
        .points
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![PointId::Num(1), PointId::Num(3)]);
}

/// The child side of the kill -9 test: writes until killed, printing
/// `try <op> <id> <del|put ...>` before each write and `ack <op>` after it
/// is acknowledged.
#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var("VICINITY_CRASH_DIR") else {
        return;
    };
    let s: u64 = std::env::var("VICINITY_CRASH_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let db = Database::open(&dir).unwrap();
    let c = match db.collection("crash") {
        Ok(c) => c,
        Err(_) => db.create_collection("crash", crash_config()).unwrap(),
    };
    let mut rng = Rng::new(s);
    let mut n = 0u64;
    // stdout to a pipe is block-buffered: every line is flushed, or a
    // kill -9 would drop the lines still in the buffer
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    loop {
        n += 1;
        if n.is_multiple_of(300) {
            // a kill may land inside a checkpoint too
            c.checkpoint().unwrap();
        }
        if rng.below(4) == 0 {
            let id = rng.below(300) as u64;
            say(format!("try {n} {id} del"));
            c.delete(&[PointId::Num(id)]).unwrap();
            say(format!("ack {n}"));
        } else {
            let mut p = point(rng.below(300) as u64, &mut rng);
            let PointId::Num(id) = p.id else {
                unreachable!()
            };
            let Vectors::Single(v) = &p.vectors else {
                unreachable!()
            };
            let bits: Vec<String> = v.iter().map(|x| x.to_bits().to_string()).collect();
            say(format!("try {n} {id} put {}", bits.join(",")));
            p.vectors = crash_vectors(id, v);
            c.upsert(vec![p.clone()]).unwrap();
            say(format!("ack {n}"));
        }
    }
}

/// The kill -9 test's collection: a dense vector, a multivector and a
/// `float16` vector.
fn crash_config() -> CollectionConfig {
    CollectionConfig::named([
        ("", VectorParams::new(8, Distance::Cosine)),
        ("m", VectorParams::new(8, Distance::Dot).with_multivector()),
        (
            "h",
            VectorParams::new(8, Distance::Euclid).with_datatype(vicinity::Datatype::Float16),
        ),
    ])
}

/// A point's vectors in the kill -9 test, made from the vector its line
/// records: the vector, a matrix of 1 to 3 multiples of it, and the
/// vector again for the `float16` space.
fn crash_vectors(id: u64, v: &[f32]) -> Vectors {
    let matrix: Vec<Vec<f32>> = (1..=1 + id % 3)
        .map(|k| v.iter().map(|x| x * k as f32).collect())
        .collect();
    [
        ("".to_string(), Vector::Dense(v.to_vec())),
        ("m".to_string(), Vector::Multi(matrix)),
        ("h".to_string(), Vector::Dense(v.to_vec())),
    ]
    .into_iter()
    .collect()
}

/// An id and its state (`None`: deleted).
type PointState = (u64, Option<Vec<f32>>);

/// What a write line says: the id and its new state.
fn parse_try(line: &str) -> PointState {
    let parts: Vec<&str> = line.split(' ').collect();
    let id: u64 = parts[2].parse().unwrap();
    match parts[3] {
        "del" => (id, None),
        _ => (
            id,
            Some(
                parts[4]
                    .split(',')
                    .map(|b| f32::from_bits(b.parse().unwrap()))
                    .collect(),
            ),
        ),
    }
}

type Expected = std::collections::BTreeMap<u64, Vec<Option<Vec<f32>>>>;

/// Folds one cycle's lines into the expected states: an acknowledged write
/// fixes its id's state; the write in flight when the process died may or
/// may not have happened, so its id may be in either state.
fn fold_cycle(expected: &mut Expected, lines: &[String]) {
    let mut pending: Option<(u64, PointState)> = None;
    for l in lines {
        if let Some(rest) = l.strip_prefix("try ") {
            let n: u64 = rest.split(' ').next().unwrap().parse().unwrap();
            pending = Some((n, parse_try(l)));
        } else if let Some(rest) = l.strip_prefix("ack ") {
            let n: u64 = rest.trim().parse().unwrap();
            if let Some((m, (id, state))) = pending.take() {
                assert_eq!(m, n, "ack for another write");
                expected.insert(id, vec![state]);
            }
        }
    }
    if let Some((_, (id, state))) = pending {
        let mut options = expected.remove(&id).unwrap_or_else(|| vec![None]);
        options.push(state);
        expected.insert(id, options);
    }
}

fn check_after_kill(dir: &Path, expected: &mut Expected, cycle: u64) {
    let snapshot = || {
        let db = Database::open(dir).unwrap_or_else(|e| panic!("cycle {cycle}: reopen: {e}"));
        let c = db.collection("crash").unwrap();
        c.get(&(0..300).map(PointId::Num).collect::<Vec<_>>(), &all())
            .unwrap()
    };
    assert_eq!(
        snapshot(),
        snapshot(),
        "cycle {cycle}: two replays of the same log differ"
    );
    let db = Database::open(dir).unwrap_or_else(|e| panic!("cycle {cycle}: reopen: {e}"));
    let c = db.collection("crash").unwrap();
    for (id, options) in expected.iter_mut() {
        let got = c.get(&[PointId::Num(*id)], &all()).unwrap();
        let now: Option<Vec<f32>> = got.first().map(|r| match &r.vectors {
            Some(v @ Vectors::Named(m)) => {
                let dense = v.dense("").unwrap_or_else(|| panic!("{id}: {m:?}"));
                // the multivector is made from the vector the line records
                let Some(Vector::Multi(matrix)) = m.get("m") else {
                    panic!("cycle {cycle}: {id}: no multivector in {m:?}")
                };
                let base = &matrix[0];
                assert_eq!(matrix.len() as u64, 1 + id % 3, "cycle {cycle}: {id}");
                for (k, row) in matrix.iter().enumerate() {
                    let want: Vec<f32> = base.iter().map(|x| x * (k + 1) as f32).collect();
                    assert_eq!(row, &want, "cycle {cycle}: {id}: row {k}");
                }
                // the float16 vector is the first row, rounded
                let rounded: Vec<f32> = base
                    .iter()
                    .map(|&x| half::f16::from_f32(x).to_f32())
                    .collect();
                assert_eq!(
                    m.get("h"),
                    Some(&Vector::Dense(rounded)),
                    "cycle {cycle}: {id}: float16"
                );
                // the dense vector is the normalised first row
                let mut first = base.clone();
                Distance::Cosine.preprocess(&mut first);
                assert_eq!(first, dense, "cycle {cycle}: {id}");
                dense.to_vec()
            }
            other => panic!("cycle {cycle}: {id}: {other:?}"),
        });
        if let Some(r) = got.first() {
            assert_eq!(r.payload.as_ref().unwrap().as_map()["i"], json!(id));
        }
        let matches = |want: &Option<Vec<f32>>| match (want, &now) {
            (None, None) => true,
            (Some(v), Some(n)) => {
                let mut v = v.clone();
                Distance::Cosine.preprocess(&mut v);
                &v == n
            }
            _ => false,
        };
        let Some(which) = options.iter().position(matches) else {
            let version = got.first().map(|r| r.id);
            panic!("cycle {cycle}: point {id} ({version:?}) is {now:?}, want one of {options:?}");
        };
        // what the reopened database holds is now the fact
        let fact = options.swap_remove(which);
        *options = vec![fact];
    }
    // and search still works on what was recovered, dense and multi
    if c.count() > 0 {
        assert!(
            !c.search(&SearchRequest::new(vec![1.0; 8], 3))
                .unwrap()
                .is_empty()
        );
        let mut q = QueryRequest::new(
            Query::Nearest(VectorInput::Multi(vec![vec![1.0; 8], vec![-1.0; 8]])),
            3,
        );
        q.using = "m".into();
        assert!(!c.query(&q).unwrap().is_empty());
    }
}

/// kill -9 at random moments: every acknowledged write survives.
/// `VICINITY_CRASH_CYCLES` sets the number of cycles (default 50).
#[test]
fn kill_nine_keeps_every_acknowledged_write() {
    let cycles: u64 = std::env::var("VICINITY_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(50);
    let s = seed(77);
    let dir = tempfile::tempdir().unwrap();
    if std::env::var("VICINITY_CRASH_DEBUG").is_ok() {
        eprintln!("crash dir {}", dir.path().display());
    }
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(s);
    let mut expected = Expected::new();
    let mut acks = 0usize;
    let started = Instant::now();
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "durability::crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("VICINITY_CRASH_DIR", dir.path())
            .env("VICINITY_CRASH_SEED", (s ^ (cycle * 7919)).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = std::thread::spawn(move || {
            // libtest's "test ... " status has no newline, so the child's first
            // line shares its line: take each line from its first keyword
            BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
                .filter_map(|l| {
                    let at = [l.find("try "), l.find("ack ")]
                        .into_iter()
                        .flatten()
                        .min()?;
                    Some(l[at..].to_string())
                })
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(20 + rng.below(150) as u64));
        child.kill().unwrap();
        child.wait().unwrap();
        let lines = lines.join().unwrap();
        if std::env::var("VICINITY_CRASH_DEBUG").is_ok() {
            let first = lines.first().map(|l| &l[..l.len().min(30)]);
            let last = lines.last().map(|l| &l[..l.len().min(30)]);
            eprintln!(
                "cycle {cycle}: {} lines, {first:?} .. {last:?}",
                lines.len()
            );
        }
        acks += lines.iter().filter(|l| l.starts_with("ack ")).count();
        fold_cycle(&mut expected, &lines);
        check_after_kill(dir.path(), &mut expected, cycle);
    }
    eprintln!(
        "{cycles} kill -9 cycles, {acks} acknowledged writes, {:?}",
        started.elapsed()
    );
    assert!(acks as u64 > cycles, "the writer barely wrote: {acks} acks");
}

#[test]
fn snapshots_restore_the_state_at_one_point_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(5);
    let db = Database::open(dir.path()).unwrap();
    let c = db
        .create_collection("src", CollectionConfig::single(8, Distance::Dot))
        .unwrap();
    c.upsert((0..200).map(|i| point(i, &mut rng)).collect())
        .unwrap();
    c.create_field_index(
        &"tag".parse().unwrap(),
        FieldIndexParams::new(FieldType::Keyword),
    )
    .unwrap();
    let at_snapshot = c
        .get(&(0..300).map(PointId::Num).collect::<Vec<_>>(), &all())
        .unwrap();
    let snap = db.create_snapshot("src").unwrap();
    // writes after the snapshot are not in it
    c.upsert((200..300).map(|i| point(i, &mut rng)).collect())
        .unwrap();
    c.delete(&[PointId::Num(0)]).unwrap();
    let listed = db.list_snapshots("src").unwrap();
    assert_eq!(listed, vec![snap.clone()]);
    let path = dir.path().join("snapshots/src").join(&snap.name);
    let restored = db.restore_snapshot("copy", &path).unwrap();
    let got = restored
        .get(&(0..300).map(PointId::Num).collect::<Vec<_>>(), &all())
        .unwrap();
    assert_eq!(got, at_snapshot);
    assert_eq!(restored.payload_schema()["tag"].points, 200);
    // the restored collection is durable
    drop(restored);
    drop(c);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.collection("copy").unwrap().count(), 200);
    assert_eq!(db.collection("src").unwrap().count(), 299);
    // a damaged snapshot is refused whole
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    let bad = dir.path().join("bad.snapshot");
    std::fs::write(&bad, &bytes).unwrap();
    let e = db.restore_snapshot("other", &bad).unwrap_err();
    assert!(
        matches!(e, Error::Storage(StorageError::Corrupted { .. })),
        "{e}"
    );
    assert!(!db.collection_exists("other"));
    db.delete_snapshot("src", &snap.name).unwrap();
    assert!(db.list_snapshots("src").unwrap().is_empty());
    assert_eq!(
        db.delete_snapshot("src", &snap.name).unwrap_err().kind(),
        vicinity::ErrorKind::NotFound
    );
    assert!(Database::new().create_snapshot("x").is_err());
}

/// The settings the server keeps with a collection (strict mode, its
/// metadata) are written at once, reopen, travel in snapshots, and follow
/// an in-memory collection into a database. (Both collections here are
/// empty: a checkpoint of an empty collection once failed to reopen.)
#[test]
fn collection_settings_persist_and_travel_in_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let settings = |v: serde_json::Value| v.as_object().unwrap().clone();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection("s", CollectionConfig::single(4, Distance::Dot))
            .unwrap();
        assert!(c.settings().is_empty());
        c.set_settings(settings(
            json!({"strict_mode": {"enabled": true, "max_query_limit": 5}}),
        ))
        .unwrap();
        let snap = db.create_snapshot("s").unwrap();
        c.set_settings(settings(json!({"metadata": {"team": "ads"}})))
            .unwrap();
        let restored = db
            .restore_snapshot("r", &dir.path().join("snapshots/s").join(&snap.name))
            .unwrap();
        assert_eq!(restored.settings()["strict_mode"]["max_query_limit"], 5);
        let mem = vicinity::Collection::new("m", CollectionConfig::single(4, Distance::Dot), None)
            .unwrap();
        mem.set_settings(settings(json!({"k": [1, 2]}))).unwrap();
        db.add_collection(mem).unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(
        serde_json::Value::Object(db.collection("s").unwrap().settings()),
        json!({"metadata": {"team": "ads"}})
    );
    assert_eq!(
        db.collection("r").unwrap().settings()["strict_mode"]["enabled"],
        true
    );
    assert_eq!(db.collection("m").unwrap().settings()["k"], json!([1, 2]));
}

#[test]
fn full_snapshots_restore_every_collection_and_alias() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(9);
    let db = Database::open(dir.path()).unwrap();
    let ids: Vec<PointId> = (0..150).map(PointId::Num).collect();
    let mut expected = Vec::new();
    for (name, n) in [("alpha", 120u64), ("beta", 40)] {
        let c = db
            .create_collection(name, CollectionConfig::single(8, Distance::Dot))
            .unwrap();
        c.upsert((0..n).map(|i| point(i, &mut rng)).collect())
            .unwrap();
        expected.push((name, c.get(&ids, &all()).unwrap()));
    }
    db.collection("beta")
        .unwrap()
        .create_field_index(
            &"tag".parse().unwrap(),
            FieldIndexParams::new(FieldType::Keyword),
        )
        .unwrap();
    db.create_alias("alpha", "live").unwrap();
    let snap = db.create_full_snapshot().unwrap();
    assert!(snap.name.starts_with("full-snapshot-"), "{}", snap.name);
    // a second one in the same millisecond gets a name of its own
    let second = db.create_full_snapshot().unwrap();
    assert_ne!(second.name, snap.name);
    assert_eq!(
        db.list_full_snapshots().unwrap(),
        vec![snap.clone(), second.clone()]
    );
    db.delete_full_snapshot(&second.name).unwrap();
    assert_eq!(
        db.delete_full_snapshot(&second.name).unwrap_err().kind(),
        vicinity::ErrorKind::NotFound
    );
    // a collection snapshot folder is not a full snapshot
    db.create_snapshot("alpha").unwrap();
    assert_eq!(db.list_full_snapshots().unwrap(), vec![snap.clone()]);
    let bytes = db.read_full_snapshot(&snap.name).unwrap();
    assert_eq!(bytes.len() as u64, snap.size);
    let file = dir.path().join("copy.snapshot");
    std::fs::write(&file, &bytes).unwrap();

    // into a fresh database (in a folder), then reopened
    let other = tempfile::tempdir().unwrap();
    {
        let fresh = Database::open(other.path()).unwrap();
        let names = fresh.restore_full_snapshot(&file, false).unwrap();
        assert_eq!(names, vec!["alpha", "beta"]);
    }
    let fresh = Database::open(other.path()).unwrap();
    for (name, points) in &expected {
        assert_eq!(
            &fresh.collection(name).unwrap().get(&ids, &all()).unwrap(),
            points
        );
    }
    assert_eq!(fresh.list_aliases(), vec![("live".into(), "alpha".into())]);
    assert_eq!(
        fresh.collection("beta").unwrap().payload_schema()["tag"].points,
        40
    );

    // an alias whose name is a collection here: refused before anything changes
    let clash = Database::new();
    clash
        .create_collection("live", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    let e = clash.restore_full_snapshot(&file, true).unwrap_err();
    assert_eq!(e.kind(), vicinity::ErrorKind::AlreadyExists, "{e}");
    assert_eq!(clash.list_collections(), vec!["live"]);

    // over existing collections: refused unless forced
    db.collection("alpha")
        .unwrap()
        .delete(&[PointId::Num(0)])
        .unwrap();
    let e = db.restore_full_snapshot(&file, false).unwrap_err();
    assert_eq!(e.kind(), vicinity::ErrorKind::BadInput);
    assert!(e.to_string().contains("--force-snapshot"), "{e}");
    assert_eq!(db.collection("alpha").unwrap().count(), 119);
    db.restore_full_snapshot(&file, true).unwrap();
    assert_eq!(db.collection("alpha").unwrap().count(), 120);
    assert_eq!(db.collection("live").unwrap().name(), "alpha");

    // a damaged archive changes nothing
    let mut damaged = bytes.clone();
    let n = damaged.len();
    damaged[n / 3] ^= 0x40;
    std::fs::write(&file, &damaged).unwrap();
    let e = Database::new()
        .restore_full_snapshot(&file, false)
        .unwrap_err();
    assert!(
        matches!(e, Error::Storage(StorageError::Corrupted { .. })),
        "{e}"
    );
    std::fs::write(&file, b"not a tar").unwrap();
    let empty = Database::new();
    assert!(empty.restore_full_snapshot(&file, false).is_err());
    assert!(empty.list_collections().is_empty());
}

#[test]
fn an_in_memory_database_takes_snapshots_too() {
    let mem = Database::new();
    let c = mem
        .create_collection("m", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    c.upsert(vec![PointStruct::new(1, vec![1.0, 2.0], Payload::new())])
        .unwrap();
    let one = mem.create_snapshot("m").unwrap();
    let full = mem.create_full_snapshot().unwrap();
    assert_eq!(mem.list_snapshots("m").unwrap(), vec![one.clone()]);
    assert_eq!(mem.list_full_snapshots().unwrap(), vec![full.clone()]);
    let bytes = mem.read_full_snapshot(&full.name).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    let other = Database::new();
    other.restore_full_snapshot(file.path(), false).unwrap();
    assert_eq!(other.collection("m").unwrap().count(), 1);
    // the snapshots live in a folder of the database's own, gone with it
    let one_bytes = mem.read_snapshot("m", &one.name).unwrap();
    std::fs::write(file.path(), &one_bytes).unwrap();
    let dir = std::env::temp_dir()
        .read_dir()
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("m").join(&one.name).exists())
        .collect::<Vec<_>>();
    assert_eq!(dir.len(), 1, "{dir:?}");
    drop(c);
    drop(mem);
    assert!(!dir[0].exists());
    assert_eq!(other.restore_snapshot("n", file.path()).unwrap().count(), 1);
}

#[test]
fn snapshot_under_concurrent_writes_is_a_prefix_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Database::open(dir.path()).unwrap());
    let c = db
        .create_collection("w", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    let writer = {
        let c = c.clone();
        std::thread::spawn(move || {
            for i in 0..400u64 {
                c.upsert(vec![PointStruct::new(
                    i,
                    vec![1.0, i as f32],
                    Payload::new(),
                )])
                .unwrap();
            }
        })
    };
    std::thread::sleep(Duration::from_millis(5));
    let snap = db.create_snapshot("w").unwrap();
    writer.join().unwrap();
    let restored = db
        .restore_snapshot("r", &dir.path().join("snapshots/w").join(&snap.name))
        .unwrap();
    // points were written in id order, one per operation: a consistent
    // snapshot holds exactly ids 0..n for some n
    let n = restored.count() as u64;
    let ids: Vec<PointId> = restored
        .scroll(&vicinity::ScrollRequest {
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .points
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, (0..n).map(PointId::Num).collect::<Vec<_>>());
    assert_eq!(snap.seq, n, "one operation per point");
}
