//! The write-ahead log replayed on open. Records are framed and sealed
//! right (so the fuzzer gets past the checksums) and hold either real
//! operations, encoded as the engine logs them, or JSON and bytes of the
//! fuzzer's choosing; a torn tail may follow. Opening loads or is a typed
//! error, never a panic; and replay is deterministic: a folder that opens
//! opens again to the same points.

#![no_main]

use std::path::Path;
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vicinity::{
    Database, Payload, PayloadSelector, PointId, PointStruct, PointsSelector, ScrollRequest,
    UpdateOperation, VectorSelector, WithSelectors,
};
use vicinity_storage::{Io, SimIo, Wal};

#[derive(Arbitrary, Debug)]
enum Record {
    Upsert(Vec<(u8, [i8; 3])>),
    Delete(Vec<u8>),
    SetPayload(u8, u8),
    Json(String),
    Bytes(Vec<u8>),
}

const CONFIG: &[u8] =
    br#"{"vectors": {"": {"size": 3, "distance": "Dot"}}, "hnsw_config": {"m": 4, "ef_construct": 8}}"#;

fn body(r: &Record) -> Vec<u8> {
    let op = match r {
        Record::Upsert(points) => UpdateOperation::Upsert(
            points
                .iter()
                .take(8)
                .map(|(id, v)| {
                    PointStruct::new(
                        u64::from(*id),
                        v.iter().map(|&x| f32::from(x)).collect::<Vec<_>>(),
                        Payload::new(),
                    )
                })
                .collect(),
        ),
        Record::Delete(ids) => UpdateOperation::Delete(PointsSelector::Ids(
            ids.iter().map(|&i| PointId::Num(u64::from(i))).collect(),
        )),
        Record::SetPayload(id, v) => UpdateOperation::SetPayload {
            points: PointsSelector::Ids(vec![PointId::Num(u64::from(*id))]),
            payload: Payload::try_from(serde_json::json!({"v": v})).unwrap(),
            key: None,
        },
        Record::Json(s) => return s.as_bytes().to_vec(),
        Record::Bytes(b) => return b.clone(),
    };
    serde_json::to_vec(&op).unwrap()
}

fn everything(db: &Database) -> Option<String> {
    let c = db.collection("c").ok()?;
    let page = c
        .scroll(&ScrollRequest {
            limit: 1000,
            with: WithSelectors {
                payload: PayloadSelector::All,
                vectors: VectorSelector::All,
            },
            ..ScrollRequest::default()
        })
        .ok()?;
    Some(format!("{:?}", page.points))
}

fuzz_target!(|input: (Vec<Record>, Vec<u8>)| {
    let (records, tail) = input;
    let io = Arc::new(SimIo::new());
    let dir = Path::new("/db/collections/c");
    io.write_atomic(&dir.join("config.json"), CONFIG).unwrap();
    io.write_atomic(&dir.join("MANIFEST"), br#"{"format": 1, "state": null}"#)
        .unwrap();
    {
        let (mut wal, _) = Wal::open(io.clone(), &dir.join("wal")).unwrap();
        for (seq, r) in records.iter().take(16).enumerate() {
            wal.append(seq as u64, &body(r)).unwrap();
        }
        wal.sync().unwrap();
    }
    if !tail.is_empty()
        && let Some(last) = io.list(&dir.join("wal")).unwrap().last()
    {
        let mut f = io.open_append(last).unwrap();
        f.append(&tail[..tail.len().min(64)]).unwrap();
        f.sync().unwrap();
    }
    let first = match Database::open_with("/db", io.clone(), None) {
        Ok(db) => everything(&db),
        Err(_) => return,
    };
    let again = Database::open_with("/db", io, None).map(|db| everything(&db));
    assert_eq!(again.ok(), Some(first), "replay is deterministic");
});
