//! Searches from several threads while one writer upserts and deletes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use vicinity::{
    CollectionConfig, Database, Distance, HnswConfig, Payload, PointId, PointStruct, SearchParams,
    SearchRequest,
};
use vicinity_tests::{clustered, seed};

#[test]
fn searches_never_see_deleted_points_while_a_writer_works() {
    let s = seed(7);
    let dim = 16;
    let db = Database::new();
    let hnsw = HnswConfig {
        full_scan_threshold: 0,
        ..HnswConfig::default()
    };
    let c = db
        .create_collection(
            "busy",
            CollectionConfig::single(dim, Distance::Cosine).with_hnsw(hnsw),
        )
        .unwrap();
    let data = Arc::new(clustered(6_000, dim, 16, s, s + 1));
    // Ids 0..3000 are loaded first; the writer then deletes them in order
    // (publishing how far it got) while upserting ids 3000.. and
    // re-upserting (replacing) ids it has not deleted yet.
    let initial: Vec<PointStruct> = (0..3000)
        .map(|i| PointStruct::new(i as u64, data[i].clone(), Payload::new()))
        .collect();
    c.upsert(initial).unwrap();
    let deleted_below = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..3)
        .map(|t| {
            let (c, data, deleted_below, done) =
                (c.clone(), data.clone(), deleted_below.clone(), done.clone());
            std::thread::spawn(move || {
                let mut n = 0usize;
                while !done.load(Ordering::Acquire) || n < 20 {
                    // Everything below this watermark was deleted before the search began.
                    let floor = deleted_below.load(Ordering::Acquire);
                    let mut req = SearchRequest::new(data[(n * 31 + t) % data.len()].clone(), 20);
                    req.params = SearchParams {
                        exact: n.is_multiple_of(5),
                        hnsw_ef: Some(32),
                        ..SearchParams::default()
                    };
                    let hits = c.search(&req).unwrap();
                    let mut ids: Vec<PointId> = hits.iter().map(|h| h.id).collect();
                    for id in &ids {
                        let PointId::Num(x) = id else {
                            panic!("unexpected id {id}")
                        };
                        assert!(
                            *x >= floor,
                            "deleted point {x} returned (deleted below {floor})"
                        );
                    }
                    ids.sort();
                    ids.dedup();
                    assert_eq!(ids.len(), hits.len(), "a point came back twice");
                    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
                    n += 1;
                }
                n
            })
        })
        .collect();

    for step in 0..3000usize {
        c.delete(&[PointId::Num(step as u64)]).unwrap();
        deleted_below.store(step as u64 + 1, Ordering::Release);
        let new = 3000 + step;
        let mut batch = vec![PointStruct::new(
            new as u64,
            data[new].clone(),
            Payload::new(),
        )];
        if step + 1 < 3000 && step.is_multiple_of(3) {
            // replace a not-yet-deleted point with another vector
            batch.push(PointStruct::new(
                step as u64 + 1,
                data[new - 1].clone(),
                Payload::new(),
            ));
        }
        c.upsert(batch).unwrap();
    }
    done.store(true, Ordering::Release);
    let searches: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    eprintln!("{searches} searches ran beside the writer");
    assert_eq!(c.count(), 3000);
    // Compaction keeps exactly the live points.
    c.optimize().unwrap();
    assert_eq!(c.count(), 3000);
    assert_eq!(c.info().rows_count, 3000);
    let hits = c
        .search(&SearchRequest::new(data[5000].clone(), 1))
        .unwrap();
    assert_eq!(hits[0].id, PointId::Num(5000));
}
