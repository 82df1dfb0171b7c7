//! Payloads and payload keys from outside. Arbitrary JSON becomes a
//! payload or an error; a payload that is accepted is stored and read back
//! unchanged, through a collection and across a reopen of its log. A key
//! (a JSON path such as `a.b[].c`) parses or is an error, and what parses
//! prints and parses back to itself; setting a payload under such a key
//! never panics and the point keeps the rest of its payload.

#![no_main]

use std::path::Path;
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vicinity::{
    CollectionConfig, Database, Distance, JsonPath, Payload, PayloadSelector, PointId, PointStruct,
    VectorSelector, WithSelectors,
};
use vicinity_storage::SimIo;

#[derive(Arbitrary, Debug)]
struct Input {
    payload: String,
    key: String,
    value: String,
}

fn payload_of(db: &Database) -> Option<serde_json::Value> {
    let c = db.collection("p").ok()?;
    let got = c
        .get(
            &[PointId::Num(1)],
            &WithSelectors {
                payload: PayloadSelector::All,
                vectors: VectorSelector::None,
            },
        )
        .ok()?;
    got.into_iter()
        .next()
        .and_then(|r| r.payload)
        .map(|p| serde_json::to_value(p).unwrap())
}

fuzz_target!(|input: Input| {
    if let Ok(path) = input.key.parse::<JsonPath>() {
        let text = path.to_string();
        assert_eq!(text.parse::<JsonPath>().ok().as_ref(), Some(&path), "{text}");
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&input.payload) else {
        return;
    };
    let Ok(payload) = Payload::try_from(json.clone()) else {
        return;
    };
    let io = Arc::new(SimIo::new());
    let db = Database::open_with(Path::new("/db"), io.clone(), None).unwrap();
    let c = db
        .create_collection("p", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    c.upsert(vec![PointStruct::new(1, vec![1.0, 0.0], payload.clone())])
        .unwrap();
    let stored = payload_of(&db).expect("the point is there");
    assert_eq!(stored, serde_json::to_value(&payload).unwrap());
    // a value under a key
    if let (Ok(key), Ok(value)) = (
        input.key.parse::<JsonPath>(),
        serde_json::from_str::<serde_json::Value>(&input.value),
    ) && let Ok(value) = Payload::try_from(value)
    {
        let _ = c.set_payload(&[PointId::Num(1)], &value, Some(&key));
    }
    let before = payload_of(&db);
    drop(c);
    drop(db);
    // the log replays to the same payload
    let db = Database::open_with(Path::new("/db"), io, None).unwrap();
    assert_eq!(payload_of(&db), before);
});
