//! Arbitrary bytes decoded as each gRPC request message the server serves,
//! then converted and validated the way the handlers do, and (when the
//! conversion accepts it) run against a small collection. Nothing may
//! panic: bad input is a status, never a crash.
//!
//! The first byte picks the message; the rest is its protobuf encoding.
//! Bytes 0..200 pick among the first twenty messages (`kind % 20`, the
//! corpus's original mapping); 200..=255 pick the query surface (groups,
//! recommend, discover, search matrix, lookups across collections), run
//! through the `Database` as the server runs them. `f` holds an unnamed
//! 3-d Cosine vector and a 3-d Dot multivector `mv`. A second collection,
//! `g` (2-D, Dot), is there for `lookup_from` and `with_lookup` to find.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use vicinity::{CollectionConfig, Database, Distance, HnswConfig, VectorParams};
use vicinity_server::grpc::convert::{collection, filter, id, points, query, value, vector};
use vicinity_server::ops::{QueryPlan, WriteOp};
use vicinity_server::pb;

fn write(c: &vicinity::Collection, op: Result<WriteOp, tonic::Status>) {
    if let Ok(op) = op {
        let _ = op.apply(c, false);
    }
}

fn read(db: &Database, c: &vicinity::Collection, plan: Result<QueryPlan, tonic::Status>) {
    if let Ok(plan) = plan {
        let _ = plan.run(db, c);
    }
}

fn groups(db: &Database, req: Result<vicinity::QueryGroupsRequest, tonic::Status>) {
    if let Ok(req) = req {
        if let Ok(g) = db.query_groups("f", &req) {
            let _ = query::groups_to_proto(g);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let db = Database::new();
    let hnsw = HnswConfig { m: 4, ef_construct: 8, full_scan_threshold: 0, ..HnswConfig::default() };
    // the unnamed vector, and a multivector "mv"
    let config = CollectionConfig::named([
        ("", VectorParams::new(3, Distance::Cosine)),
        ("mv", VectorParams::new(3, Distance::Dot).with_multivector()),
    ]);
    let c = db.create_collection("f", config.with_hnsw(hnsw)).unwrap();
    // a few points, so that reads and payload writes have something to touch
    let seed = pb::UpsertPoints {
        points: (1..=4u64)
            .map(|i| pb::PointStruct {
                id: Some(id::id_to_proto(i.into())),
                vectors: Some(pb::Vectors {
                    vectors_options: Some(pb::vectors::VectorsOptions::Vector(pb::Vector {
                        data: vec![i as f32, 1.0, 0.0],
                        ..Default::default()
                    })),
                }),
                payload: Default::default(),
            })
            .collect(),
        ..Default::default()
    };
    write(&c, points::upsert(seed));
    let g = db
        .create_collection("g", CollectionConfig::single(2, Distance::Dot))
        .unwrap();
    let _ = g.upsert(
        (1..=3u64)
            .map(|i| vicinity::PointStruct::new(i, vec![i as f32, -1.0], Default::default()))
            .collect(),
    );

    if kind >= 200 {
        match (kind - 200) % 8 {
            0 => if let Ok(r) = pb::QueryPointGroups::decode(bytes) { groups(&db, query::query_groups(r)) },
            1 => if let Ok(r) = pb::SearchPointGroups::decode(bytes) { groups(&db, query::search_groups(r)) },
            2 => if let Ok(r) = pb::RecommendPointGroups::decode(bytes) { groups(&db, query::recommend_groups(r)) },
            3 => if let Ok(r) = pb::SearchMatrixPoints::decode(bytes) {
                if let Ok(req) = query::search_matrix(r) {
                    if let Ok(m) = c.search_matrix(&req) {
                        let pairs = query::matrix_pairs_to_proto(&m);
                        let offsets = query::matrix_offsets_to_proto(&m);
                        assert_eq!(pairs.pairs.len(), offsets.scores.len());
                    }
                }
            },
            4 => if let Ok(r) = pb::RecommendPoints::decode(bytes) {
                read(&db, &c, query::recommend(r).map(QueryPlan::Query))
            },
            5 => if let Ok(r) = pb::DiscoverPoints::decode(bytes) {
                read(&db, &c, query::discover(r).map(QueryPlan::Query))
            },
            6 => if let Ok(r) = pb::RecommendBatchPoints::decode(bytes) {
                for q in r.recommend_points {
                    read(&db, &c, query::recommend(q).map(QueryPlan::Query));
                }
            } else if let Ok(r) = pb::DiscoverBatchPoints::decode(bytes) {
                for q in r.discover_points {
                    read(&db, &c, query::discover(q).map(QueryPlan::Query));
                }
            },
            _ => if let Ok(r) = pb::QueryPoints::decode(bytes) { read(&db, &c, points::query(r)) },
        }
        return;
    }

    match kind % 20 {
        0 => if let Ok(r) = pb::UpsertPoints::decode(bytes) { write(&c, points::upsert(r)) },
        1 => if let Ok(r) = pb::DeletePoints::decode(bytes) { write(&c, points::delete(r)) },
        2 => if let Ok(r) = pb::UpdatePointVectors::decode(bytes) { write(&c, points::update_vectors(r)) },
        3 => if let Ok(r) = pb::DeletePointVectors::decode(bytes) { write(&c, points::delete_vectors(r)) },
        4 => if let Ok(r) = pb::SetPayloadPoints::decode(bytes) { write(&c, points::set(r)) },
        5 => if let Ok(r) = pb::SetPayloadPoints::decode(bytes) { write(&c, points::overwrite(r)) },
        6 => if let Ok(r) = pb::DeletePayloadPoints::decode(bytes) { write(&c, points::delete_payload(r)) },
        7 => if let Ok(r) = pb::ClearPayloadPoints::decode(bytes) { write(&c, points::clear_payload(r)) },
        8 => if let Ok(r) = pb::UpdateBatchPoints::decode(bytes) {
            for o in r.operations {
                write(&c, points::batch_op(o));
            }
        },
        9 => if let Ok(r) = pb::GetPoints::decode(bytes) {
            if let Ok((ids, with)) = points::get(r) {
                let _ = c.get(&ids, &with);
            }
        },
        10 => if let Ok(r) = pb::ScrollPoints::decode(bytes) {
            if let Ok(req) = points::scroll(r) {
                let _ = c.scroll(&req);
            }
        },
        11 => if let Ok(r) = pb::CountPoints::decode(bytes) { let _ = points::count(&r); },
        12 => if let Ok(r) = pb::SearchPoints::decode(bytes) {
            read(&db, &c, points::search(r).map(QueryPlan::Vector))
        },
        13 => if let Ok(r) = pb::QueryPoints::decode(bytes) { read(&db, &c, points::query(r)) },
        14 => if let Ok(r) = pb::CreateCollection::decode(bytes) {
            if let Ok((name, config, _)) = collection::create_from_proto(r) {
                let _ = db.create_collection(&name, config);
            }
        },
        15 => if let Ok(f) = pb::Filter::decode(bytes) {
            if let Ok(json) = filter::filter_to_json(f) {
                // the JSON must always serialize
                let _ = serde_json::to_string(&json).unwrap();
            }
        },
        16 => if let Ok(v) = pb::Value::decode(bytes) {
            if let Ok(json) = value::json_from_proto(v) {
                let back = value::json_to_proto(json.clone());
                assert_eq!(value::json_from_proto(back).unwrap(), json);
            }
        },
        17 => if let Ok(v) = pb::Vectors::decode(bytes) { let _ = vector::vectors_from_proto(Some(v)); },
        18 => if let Ok(r) = pb::SearchBatchPoints::decode(bytes) {
            for s in r.search_points {
                read(&db, &c, points::search(s).map(QueryPlan::Vector));
            }
        },
        _ => if let Ok(r) = pb::QueryBatchPoints::decode(bytes) {
            for q in r.query_points {
                read(&db, &c, points::query(q));
            }
        },
    }
});
