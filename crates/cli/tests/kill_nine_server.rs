//! kill -9 of `vicinity serve` while clients write, over and over: after
//! every restart each acknowledged upsert is there with its payload and its
//! sparse vector, and no acknowledged delete came back.
//!
//! CI runs a few cycles; the long run is
//! `VICINITY_KILL_CYCLES=1000 cargo test --release -p vicinity-cli --test kill_nine_server -- --nocapture`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::{Value, json};
use vicinity_server::http_client::{HttpClient, Tls, Url};

const WRITERS: u64 = 8;
const DIM: usize = 4;

/// What the test knows about one point.
#[derive(Clone, Debug, PartialEq)]
enum Known {
    /// An acknowledged upsert: there, with this payload.
    Present(Value),
    /// An acknowledged delete: gone.
    Deleted,
}

fn start(bin: &str, dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(bin)
        .args(["serve", "--grpc-port", "0", "--http-port", "0", "--storage"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the server exited early").unwrap();
        if let Some(addr) = line.split("HTTP on ").nth(1) {
            break addr.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// One writer until its first failure (the kill): upserts of new ids and
/// deletes of its own acknowledged ones, with and without `wait`. Returns
/// what was acknowledged, and the ids whose last write is in doubt.
async fn writer(
    http: Arc<HttpClient>,
    w: u64,
    cycle: u64,
    mut own: Vec<u64>,
) -> (BTreeMap<u64, Known>, Vec<u64>) {
    let mut known = BTreeMap::new();
    let mut doubt = Vec::new();
    let mut x = ((w + 1) * 0x9E37_79B9) ^ cycle.wrapping_mul(0x85EB_CA6B);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut n = 0u64;
    loop {
        n += 1;
        let wait = next() % 2 == 0;
        let path = format!("/collections/k/points?wait={wait}");
        // deletes keep each writer near 300 points of its own (an upsert
        // adds 2.5 on average: above 300, three writes in four delete), so
        // that a restart and its check cost the same at cycle 1,000 as at
        // cycle 10
        let delete = if own.len() > 300 {
            next() % 4 != 0
        } else {
            next() % 4 == 0
        };
        if delete && !own.is_empty() {
            let i = (next() % own.len() as u64) as usize;
            let id = own.swap_remove(i);
            let r = http
                .json(
                    Method::POST,
                    &format!("/collections/k/points/delete?wait={wait}"),
                    Some(&json!({ "points": [id] })),
                )
                .await;
            match r {
                Ok(_) => {
                    known.insert(id, Known::Deleted);
                }
                Err(_) => {
                    doubt.push(id);
                    break;
                }
            }
        } else {
            // ids are never reused: writer, cycle and counter
            let ids: Vec<u64> = (0..1 + next() % 4)
                .map(|k| (w << 48) | (cycle << 24) | (n << 3) | k)
                .collect();
            let points: Vec<Value> = ids
                .iter()
                .map(|&id| {
                    json!({"id": id,
                           "vector": {"": [1.0, (id % 97) as f32, 0.5, -1.0], "text": sparse_of(id)},
                           "payload": {"w": w, "cycle": cycle, "n": n}})
                })
                .collect();
            match http
                .json(Method::PUT, &path, Some(&json!({ "points": points })))
                .await
            {
                Ok(_) => {
                    for &id in &ids {
                        own.push(id);
                        known.insert(id, Known::Present(json!({"w": w, "cycle": cycle, "n": n})));
                    }
                }
                Err(_) => {
                    doubt.extend(ids);
                    break;
                }
            }
        }
    }
    (known, doubt)
}

/// A point's sparse vector, made from its id (indices ascending, as they
/// come back).
fn sparse_of(id: u64) -> Value {
    json!({"indices": [id % 1000, 1000 + id % 7], "values": [1.0, (id % 13) as f32]})
}

#[test]
fn kill_nine_under_concurrent_writes_over_the_server() {
    let cycles: u64 = std::env::var("VICINITY_KILL_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4);
    let bin = env!("CARGO_BIN_EXE_vicinity");
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut facts: BTreeMap<u64, Known> = BTreeMap::new();
    let (mut acked, mut checked_deletes) = (0u64, 0u64);
    let started = Instant::now();
    // one more start than kills: the last one only checks
    for cycle in 0..=cycles {
        let (mut child, url) = start(bin, dir.path());
        let http =
            Arc::new(HttpClient::new(&Url::parse(&url).unwrap(), None, &Tls::default()).unwrap());
        runtime.block_on(async {
            if cycle == 0 {
                http.json(
                    Method::PUT,
                    "/collections/k",
                    Some(&json!({"vectors": {"size": DIM, "distance": "Dot"},
                                 "sparse_vectors": {"text": {"modifier": "idf"}}})),
                )
                .await
                .unwrap();
            }
            // every fact so far holds after the restart: one scroll of the
            // whole collection (kept small by the writers' deletes) against
            // every acknowledged upsert and delete since the start
            let mut stored: BTreeMap<u64, Value> = BTreeMap::new();
            let mut offset = Value::Null;
            loop {
                let page = http
                    .json(
                        Method::POST,
                        "/collections/k/points/scroll",
                        Some(
                            &json!({"limit": 10000, "offset": offset, "with_payload": true,
                                     "with_vector": ["text"]}),
                        ),
                    )
                    .await
                    .unwrap();
                for p in page["points"].as_array().unwrap() {
                    let id = p["id"].as_u64().unwrap();
                    // the sparse vector (sorted by index) came back whole
                    assert_eq!(
                        p["vector"]["text"],
                        sparse_of(id),
                        "cycle {cycle}: point {id}"
                    );
                    stored.insert(id, p["payload"].clone());
                }
                offset = page["next_page_offset"].clone();
                if offset.is_null() {
                    break;
                }
            }
            for (id, fact) in &facts {
                match fact {
                    Known::Present(payload) => assert_eq!(
                        stored.get(id),
                        Some(payload),
                        "cycle {cycle}: acknowledged point {id} lost or changed"
                    ),
                    Known::Deleted => assert!(
                        !stored.contains_key(id),
                        "cycle {cycle}: deleted point {id} came back"
                    ),
                }
            }
            checked_deletes += facts.values().filter(|k| **k == Known::Deleted).count() as u64;
        });
        if cycle > 0 && cycle % 100 == 0 {
            eprintln!(
                "after {cycle} cycles: {acked} acknowledged writes, {} facts checked, {:?}",
                facts.len(),
                started.elapsed()
            );
        }
        if cycle == cycles {
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        // the writers, and a kill -9 at a random moment
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let own: Vec<u64> = facts
                .iter()
                .filter(|(id, k)| *id >> 48 == w && matches!(k, Known::Present(_)))
                .map(|(id, _)| *id)
                .collect();
            tasks.push(runtime.spawn(writer(http.clone(), w, cycle, own)));
        }
        // 50 to 400 ms of writes: each cycle replays what the ones before it
        // logged since the last checkpoint, so short cycles keep a long run short
        let wait_ms = 50 + (cycle * 7919) % 350;
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        for t in tasks {
            let (known, doubt) = runtime.block_on(t).unwrap();
            acked += known.len() as u64;
            facts.extend(known);
            for id in doubt {
                // an unacknowledged write may or may not have happened (a
                // delete in flight may be of a point acknowledged earlier)
                facts.remove(&id);
            }
        }
    }
    eprintln!(
        "{cycles} kill -9 cycles under {WRITERS} concurrent writers: {acked} acknowledged writes checked after restarts ({checked_deletes} delete checks), {} facts at the end, {:?}",
        facts.len(),
        started.elapsed()
    );
    assert!(acked > cycles, "the writers barely wrote: {acked}");
}
