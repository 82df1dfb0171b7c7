//! Arbitrary filter JSON and payload JSON into parse and evaluate: no
//! panic, no hang; and the index invariant: when a point passes a filter,
//! the candidates any payload index gives for it include the point.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use roaring::RoaringBitmap;
use serde_json::{Map, Value};
use vicinity_payload::filter::IndexSource;
use vicinity_payload::{FieldIndex, FieldIndexParams, FieldType, Filter, JsonPath, Payload, PointId, PointView};

struct Point<'a>(&'a Map<String, Value>);

impl PointView for Point<'_> {
    fn payload(&self) -> &Map<String, Value> {
        self.0
    }
    fn id(&self) -> Option<PointId> {
        Some(PointId::Num(0))
    }
    fn has_vector(&self, name: &str) -> bool {
        name.is_empty()
    }
}

struct Indexes(Vec<FieldIndex>);

impl IndexSource for Indexes {
    fn index(&self, key: &JsonPath) -> Option<&FieldIndex> {
        self.0.iter().find(|i| i.key() == key)
    }
    fn rows_of(&self, ids: &HashSet<PointId>) -> RoaringBitmap {
        if ids.contains(&PointId::Num(0)) { std::iter::once(0).collect() } else { RoaringBitmap::new() }
    }
}

const TYPES: [FieldType; 8] = [
    FieldType::Keyword,
    FieldType::Integer,
    FieldType::Float,
    FieldType::Bool,
    FieldType::Geo,
    FieldType::Text,
    FieldType::Datetime,
    FieldType::Uuid,
];

fuzz_target!(|data: (&str, &str, u8)| {
    let (filter_text, payload_text, pick) = data;
    let Ok(filter_json) = serde_json::from_str::<Value>(filter_text) else { return };
    let Ok(filter) = Filter::from_json(filter_json) else { return };
    // what we parse we can write back and parse again, to the same filter
    assert_eq!(Filter::from_json(filter.to_json()).unwrap(), filter);
    let Ok(payload_json) = serde_json::from_str::<Value>(payload_text) else { return };
    let Ok(payload) = Payload::try_from(payload_json) else { return };
    let passes = filter.check(&Point(payload.as_map()));
    // one index of each type on the filter's first keys
    let keys: Vec<JsonPath> = ["a", "b", "a.b", "a[].b"].iter().map(|k| k.parse().unwrap()).collect();
    let t = TYPES[pick as usize % TYPES.len()];
    let indexes = Indexes(
        keys.iter()
            .map(|k| {
                let mut i = FieldIndex::new(k.clone(), FieldIndexParams::new(t));
                i.add(0, payload.as_map());
                i
            })
            .collect(),
    );
    let c = filter.candidates(&indexes);
    if passes && t != FieldType::Text {
        if let Some(rows) = &c.rows {
            assert!(rows.contains(0), "a passing point is missing from the index candidates");
        }
    }
    if c.exact && t != FieldType::Text {
        let in_rows = c.rows.as_ref().is_none_or(|r| r.contains(0));
        assert_eq!(in_rows, passes, "exact candidates disagree with the check");
    }
});
