//! Model-based fuzzing of the Collection API: arbitrary sequences of
//! upserts, deletes, payload and vector updates, searches and scrolls run
//! against a collection and against a plain `BTreeMap` model. After every
//! step the two must agree on which points exist and what they hold, and
//! exact search must rank exactly the model's points. Bad input must be an
//! error, never a panic.

#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use vicinity::{
    CollectionConfig, Database, Distance, HnswConfig, Payload, PayloadSelector, PointId, PointStruct,
    ScrollRequest, SearchParams, SearchRequest, VectorSelector, Vectors, WithSelectors,
};

const DIM: usize = 3;

#[derive(Arbitrary, Debug)]
enum Op {
    Upsert(Vec<(u8, [i8; DIM], u8)>),
    UpsertBadDim(u8, Vec<i8>),
    UpsertNan(u8),
    Delete(Vec<u8>),
    SetPayload(Vec<u8>, u8),
    ClearPayload(Vec<u8>),
    UpdateVector(u8, [i8; DIM]),
    Search([i8; DIM], u8, u8, bool),
    Scroll(Option<u8>, u8),
    Optimize,
}

fn vector(v: &[i8; DIM]) -> Vec<f32> {
    v.iter().map(|&x| f32::from(x) / 16.0).collect()
}

fuzz_target!(|input: (u8, Vec<Op>)| {
    let (dist, ops) = input;
    let distance = Distance::ALL[dist as usize % 4];
    let db = Database::new();
    let hnsw = HnswConfig { m: 4, ef_construct: 8, full_scan_threshold: 0, ..HnswConfig::default() };
    let c = db
        .create_collection("fuzz", CollectionConfig::single(DIM, distance).with_hnsw(hnsw))
        .unwrap();
    let mut model: BTreeMap<u64, (Vec<f32>, serde_json::Value)> = BTreeMap::new();
    let all = WithSelectors { payload: PayloadSelector::All, vectors: VectorSelector::All };

    for op in ops.into_iter().take(64) {
        match op {
            Op::Upsert(points) => {
                let batch: Vec<PointStruct> = points
                    .iter()
                    .map(|(id, v, tag)| PointStruct::new(u64::from(*id), vector(v), Payload::try_from(json!({"tag": tag})).unwrap()))
                    .collect();
                c.upsert(batch).unwrap();
                for (id, v, tag) in points {
                    model.insert(u64::from(id), (vector(&v), json!({"tag": tag})));
                }
            }
            Op::UpsertBadDim(id, v) => {
                let v: Vec<f32> = v.iter().map(|&x| f32::from(x)).collect();
                let r = c.upsert(vec![PointStruct::new(u64::from(id), v.clone(), Payload::new())]);
                if v.len() == DIM {
                    r.unwrap();
                    model.insert(u64::from(id), (v, json!({})));
                } else {
                    assert!(r.is_err());
                }
            }
            Op::UpsertNan(id) => {
                assert!(c.upsert(vec![PointStruct::new(u64::from(id), vec![f32::NAN; DIM], Payload::new())]).is_err());
            }
            Op::Delete(ids) => {
                let ids: Vec<PointId> = ids.iter().map(|&i| PointId::Num(u64::from(i))).collect();
                c.delete(&ids).unwrap();
                for id in ids {
                    if let PointId::Num(n) = id {
                        model.remove(&n);
                    }
                }
            }
            Op::SetPayload(ids, v) => {
                let pids: Vec<PointId> = ids.iter().map(|&i| PointId::Num(u64::from(i))).collect();
                let r = c.set_payload(&pids, &Payload::try_from(json!({"set": v})).unwrap(), None);
                let all_exist = ids.iter().all(|i| model.contains_key(&u64::from(*i)));
                assert_eq!(r.is_ok(), all_exist);
                for i in ids {
                    if let Some((_, p)) = model.get_mut(&u64::from(i)) {
                        p["set"] = json!(v);
                    }
                }
            }
            Op::ClearPayload(ids) => {
                let pids: Vec<PointId> = ids.iter().map(|&i| PointId::Num(u64::from(i))).collect();
                let _ = c.clear_payload(&pids);
                for i in ids {
                    if let Some((_, p)) = model.get_mut(&u64::from(i)) {
                        *p = json!({});
                    }
                }
            }
            Op::UpdateVector(id, v) => {
                let r = c.update_vectors(&[(PointId::Num(u64::from(id)), Vectors::Single(vector(&v)))]);
                match model.get_mut(&u64::from(id)) {
                    Some((old, _)) => {
                        r.unwrap();
                        *old = vector(&v);
                    }
                    None => assert!(r.is_err()),
                }
            }
            Op::Search(q, limit, offset, exact) => {
                let mut req = SearchRequest::new(vector(&q), usize::from(limit));
                req.offset = usize::from(offset % 8);
                req.params = SearchParams {
                    exact,
                    hnsw_ef: Some(16),
                    ..SearchParams::default()
                };
                match c.search(&req) {
                    Err(_) => assert_eq!(limit, 0),
                    Ok(hits) => {
                        assert!(hits.len() <= usize::from(limit));
                        for h in &hits {
                            let PointId::Num(n) = h.id else { panic!("uuid from nowhere") };
                            assert!(model.contains_key(&n), "search returned missing point {n}");
                        }
                        if exact {
                            let want = model.len().saturating_sub(req.offset).min(usize::from(limit));
                            assert_eq!(hits.len(), want);
                        }
                    }
                }
            }
            Op::Scroll(offset, limit) => {
                let req = ScrollRequest {
                    offset: offset.map(|o| PointId::Num(u64::from(o))),
                    limit: usize::from(limit),
                    with: WithSelectors::default(),
                    ..ScrollRequest::default()
                };
                match c.scroll(&req) {
                    Err(_) => assert_eq!(limit, 0),
                    Ok(page) => {
                        let from = offset.map_or(0, u64::from);
                        let want: Vec<u64> = model.range(from..).map(|(k, _)| *k).take(usize::from(limit)).collect();
                        let got: Vec<u64> = page
                            .points
                            .iter()
                            .map(|r| match r.id {
                                PointId::Num(n) => n,
                                PointId::Uuid(_) => panic!("uuid from nowhere"),
                            })
                            .collect();
                        assert_eq!(got, want);
                    }
                }
            }
            Op::Optimize => c.optimize().unwrap(),
        }
        assert_eq!(c.count(), model.len());
    }
    // Final state: every model point with its payload and (preprocessed) vector.
    let ids: Vec<PointId> = model.keys().map(|&k| PointId::Num(k)).collect();
    let records = c.get(&ids, &all).unwrap();
    assert_eq!(records.len(), model.len());
    for r in records {
        let PointId::Num(n) = r.id else { unreachable!() };
        let (v, p) = &model[&n];
        assert_eq!(&r.payload.unwrap().into_value(), p);
        let Some(Vectors::Single(got)) = r.vectors else { panic!("no vector") };
        let mut want = v.clone();
        distance.preprocess(&mut want);
        assert_eq!(got, want);
    }
});
