use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vicinity_storage::PointOffset;

use crate::distance::Element;
use crate::{
    AllowAll, AtomicBitSet, Bf16Rows, Distance, HnswConfig, HnswGraph, NotIn, VectorStore,
    exact_search,
};

/// Deterministic pseudo-random numbers for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

/// `n` points around 20 centres fixed by `dim`; `seed` draws the noise, so
/// data and queries with different seeds come from the same mixture.
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut centers_rng = Rng(dim as u64);
    let centers: Vec<Vec<f32>> = (0..20)
        .map(|_| (0..dim).map(|_| centers_rng.unit() * 3.0).collect())
        .collect();
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| centers[i % 20].iter().map(|c| c + rng.unit()).collect())
        .collect()
}

fn build(distance: Distance, data: &[Vec<f32>], config: HnswConfig) -> (VectorStore, HnswGraph) {
    let store = VectorStore::new(data[0].len(), distance).unwrap();
    let graph = HnswGraph::new(config).unwrap();
    for v in data {
        let row = store.push(v).unwrap();
        graph.insert(&store, row);
    }
    (store, graph)
}

fn recall(store: &VectorStore, graph: &HnswGraph, queries: &[Vec<f32>], ef: usize) -> f64 {
    let mut hit = 0;
    for q in queries {
        let q = store.prepare_query(q).unwrap();
        let want: Vec<_> = exact_search(store, &q, 10, &AllowAll)
            .iter()
            .map(|s| s.offset)
            .collect();
        let got = graph.search(store, &q, 10, ef, &AllowAll);
        hit += got.iter().filter(|s| want.contains(&s.offset)).count();
    }
    hit as f64 / (queries.len() * 10) as f64
}

#[test]
fn graph_recall_is_high_for_every_distance() {
    let data = clustered(3000, 24, 7);
    let queries = clustered(50, 24, 8);
    for distance in Distance::ALL {
        let (store, graph) = build(distance, &data, HnswConfig::default());
        assert_eq!(graph.len(), 3000);
        let r = recall(&store, &graph, &queries, 64);
        assert!(r >= 0.95, "{distance:?}: recall@10 {r} at ef 64");
    }
}

#[test]
fn single_thread_build_is_reproducible_and_seed_matters() {
    let data = clustered(1500, 16, 3);
    let q = data[17].clone();
    let cfg = HnswConfig {
        seed: 42,
        ..HnswConfig::default()
    };
    let (s1, g1) = build(Distance::Euclid, &data, cfg);
    let (s2, g2) = build(Distance::Euclid, &data, cfg);
    for ef in [1, 4, 16] {
        let a = g1.search(&s1, &q, 10, ef, &AllowAll);
        let b = g2.search(&s2, &q, 10, ef, &AllowAll);
        assert_eq!(a, b);
    }
    let levels = |g: &HnswGraph| (0..1500u32).map(|i| g.random_level(i)).collect::<Vec<_>>();
    let other = HnswGraph::new(HnswConfig { seed: 43, ..cfg }).unwrap();
    assert_eq!(levels(&g1), levels(&g2));
    assert_ne!(levels(&g1), levels(&other));
    assert!(levels(&g1).iter().any(|&l| l > 0), "upper levels are drawn");
}

#[test]
fn filtered_search_never_returns_excluded_rows() {
    let data = clustered(2000, 8, 11);
    let (store, graph) = build(Distance::Dot, &data, HnswConfig::default());
    let deleted = AtomicBitSet::new();
    for i in (0..2000).step_by(3) {
        deleted.insert(PointOffset(i));
    }
    let filter = NotIn {
        excluded: &deleted,
        inner: AllowAll,
    };
    for q in clustered(20, 8, 12) {
        let q = store.prepare_query(&q).unwrap();
        let got = graph.search(&store, &q, 10, 64, &filter);
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|s| s.offset.0 % 3 != 0));
        let want = exact_search(&store, &q, 10, &filter);
        let overlap = got.iter().filter(|s| want.contains(s)).count();
        assert!(overlap >= 8, "filtered recall {overlap}/10");
    }
    // A filter that lets one row through still finds it.
    let only = |o: PointOffset| o.0 == 1234;
    let q = store.prepare_query(&data[5]).unwrap();
    let got = graph.search(&store, &q, 5, 16, &only);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].offset, PointOffset(1234));
}

#[test]
fn parallel_insert_builds_a_good_graph() {
    let data = clustered(4000, 16, 21);
    let store = VectorStore::new(16, Distance::Cosine).unwrap();
    let rows: Vec<_> = data.iter().map(|v| store.push(v).unwrap()).collect();
    let graph = HnswGraph::new(HnswConfig::default()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    pool.install(|| graph.insert_many(&store, &rows));
    assert_eq!(graph.len(), 4000);
    assert!(rows.iter().all(|&r| graph.contains(r)));
    let r = recall(&store, &graph, &clustered(40, 16, 22), 64);
    assert!(r >= 0.95, "recall@10 {r} after a parallel build");
}

#[test]
fn searches_run_while_a_writer_inserts() {
    let data = Arc::new(clustered(3000, 12, 31));
    let store = Arc::new(VectorStore::new(12, Distance::Euclid).unwrap());
    let graph = Arc::new(HnswGraph::new(HnswConfig::default()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|t| {
            let (store, graph, data, done) =
                (store.clone(), graph.clone(), data.clone(), done.clone());
            std::thread::spawn(move || {
                let mut searches = 0;
                while !done.load(Ordering::Acquire) || searches < 10 {
                    let q = &data[(searches * 7 + t) % data.len()];
                    let got = graph.search(&store, q, 5, 32, &AllowAll);
                    assert!(got.len() <= 5);
                    assert!(got.iter().all(|s| s.offset.index() < store.len()));
                    assert!(got.windows(2).all(|w| w[0] >= w[1]));
                    searches += 1;
                }
            })
        })
        .collect();
    for v in data.iter() {
        let row = store.push(v).unwrap();
        graph.insert(&*store, row);
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().unwrap();
    }
    // Every inserted vector is its own nearest neighbour.
    for i in (0..3000).step_by(97) {
        let got = graph.search(&store, &data[i], 1, 32, &AllowAll);
        assert_eq!(got[0].similarity, 0.0);
    }
}

#[test]
fn empty_graph_and_zero_k() {
    let store = VectorStore::new(3, Distance::Cosine).unwrap();
    let graph = HnswGraph::new(HnswConfig::default()).unwrap();
    assert!(
        graph
            .search(&store, &[1.0, 0.0, 0.0], 5, 10, &AllowAll)
            .is_empty()
    );
    let row = store.push(&[1.0, 0.0, 0.0]).unwrap();
    graph.insert(&store, row);
    graph.insert(&store, row);
    assert_eq!(graph.len(), 1);
    assert!(
        graph
            .search(&store, &[1.0, 0.0, 0.0], 0, 10, &AllowAll)
            .is_empty()
    );
    assert!(
        HnswGraph::new(HnswConfig {
            m: 1,
            ..HnswConfig::default()
        })
        .is_err()
    );
    assert!(
        HnswGraph::new(HnswConfig {
            ef_construct: 0,
            ..HnswConfig::default()
        })
        .is_err()
    );
}

#[test]
fn selective_search_keeps_recall_for_restrictive_filters() {
    let data = clustered(5000, 16, 41);
    let (store, graph) = build(Distance::Cosine, &data, HnswConfig::default());
    for modulus in [2u32, 10, 30] {
        let filter = move |o: PointOffset| o.0.is_multiple_of(modulus);
        let mut hit = 0;
        let queries = clustered(30, 16, 42);
        for q in &queries {
            let q = store.prepare_query(q).unwrap();
            let want = exact_search(&store, &q, 10, &filter);
            let seeds: Vec<PointOffset> = (0..5000u32)
                .filter(|o| o.is_multiple_of(modulus))
                .step_by(97)
                .map(PointOffset)
                .collect();
            let got = graph.search_selective(&store, &q, 10, 64, &filter, &seeds);
            assert!(
                got.iter().all(|s| s.offset.0 % modulus == 0),
                "a failing row came back"
            );
            assert!(got.windows(2).all(|w| w[0] >= w[1]));
            hit += got.iter().filter(|s| want.contains(s)).count();
        }
        let recall = hit as f64 / (queries.len() * 10) as f64;
        assert!(recall >= 0.95, "1/{modulus} pass: recall@10 {recall}");
    }
    assert!(
        HnswGraph::new(HnswConfig::default())
            .unwrap()
            .search_selective(&store, &[0.0; 16], 5, 10, &AllowAll, &[])
            .is_empty()
    );
}

#[test]
fn a_relabeled_graph_walks_the_same_way_under_new_names() {
    let data = clustered(600, 12, 41);
    let config = HnswConfig {
        m: 6,
        ef_construct: 40,
        ..HnswConfig::default()
    };
    let (store, graph) = build(Distance::Euclid, &data, config);
    let order = graph.locality_order(store.len());
    // a permutation of every row, graph nodes first
    let mut seen = vec![false; store.len()];
    for &r in &order {
        assert!(
            !std::mem::replace(&mut seen[r as usize], true),
            "row {r} twice"
        );
    }
    assert!(seen.iter().all(|&s| s));
    assert_ne!(order, (0..store.len() as u32).collect::<Vec<_>>());
    let mut new_of_old = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_of_old[old as usize] = new as u32;
    }
    let moved = graph.relabeled(&new_of_old).unwrap();
    assert_eq!(moved.len(), graph.len());
    let store2 = VectorStore::new(12, Distance::Euclid).unwrap();
    for &old in &order {
        store2
            .push_preprocessed(store.get(PointOffset(old)).unwrap())
            .unwrap();
    }
    for q in clustered(30, 12, 97) {
        let q = store.prepare_query(&q).unwrap();
        let before = graph.search(&store, &q, 10, 32, &AllowAll);
        let after = moved.search(&store2, &q, 10, 32, &AllowAll);
        let renamed: Vec<_> = before
            .iter()
            .map(|s| (new_of_old[s.offset.index()], s.similarity))
            .collect();
        let got: Vec<_> = after.iter().map(|s| (s.offset.0, s.similarity)).collect();
        assert_eq!(got, renamed, "the same walk, the same rows renamed");
    }
    // link for link, under the new names; a saved and reloaded copy agrees
    for old in 0..store.len() as u32 {
        let new = new_of_old[old as usize];
        for level in 0..3 {
            let a: Vec<u32> = graph
                .neighbors(old, level)
                .iter()
                .map(|l| new_of_old[l.load(Ordering::Relaxed) as usize])
                .collect();
            let b: Vec<u32> = moved
                .neighbors(new, level)
                .iter()
                .map(|l| l.load(Ordering::Relaxed))
                .collect();
            assert_eq!(a, b, "links of {old} at level {level}");
        }
    }
    let reread = HnswGraph::from_bytes(config, &moved.to_bytes(), store2.len()).unwrap();
    assert_eq!(reread.to_bytes(), moved.to_bytes());
}

#[test]
fn locality_order_keeps_neighbours_close() {
    let data = clustered(2_000, 16, 5);
    let (store, graph) = build(
        Distance::Cosine,
        &data,
        HnswConfig {
            m: 8,
            ef_construct: 50,
            ..HnswConfig::default()
        },
    );
    let order = graph.locality_order(store.len());
    let mut new_of_old = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_of_old[old as usize] = new as u32;
    }
    let moved = graph.relabeled(&new_of_old).unwrap();
    // A walk scores a node's unvisited neighbours together: the blocks of
    // 16 rows they fall in, per node, on average.
    let blocks = |g: &HnswGraph| {
        let mut touched = 0;
        for node in 0..store.len() as u32 {
            let mut b: Vec<u32> = g
                .neighbors(node, 0)
                .iter()
                .map(|l| l.load(Ordering::Relaxed) / 16)
                .collect();
            b.sort_unstable();
            b.dedup();
            touched += b.len();
        }
        touched as f64 / store.len() as f64
    };
    // the data comes in round-robin over 20 clusters, so insertion order
    // scatters every neighbourhood over the whole store
    let (before, after) = (blocks(&graph), blocks(&moved));
    eprintln!("blocks per neighbourhood: {before:.2} in insertion order, {after:.2} after");
    assert!(after * 1.25 < before, "{after} against {before}");
}

#[test]
fn relabeling_refuses_a_renumbering_that_is_not_one() {
    let data = clustered(100, 4, 3);
    let (_, graph) = build(
        Distance::Dot,
        &data,
        HnswConfig {
            m: 4,
            ef_construct: 20,
            ..HnswConfig::default()
        },
    );
    assert!(graph.relabeled(&[0; 50]).is_err(), "too short");
    assert!(graph.relabeled(&vec![7; 100]).is_err(), "a name used twice");
    assert!(
        graph
            .relabeled(&(1000..1100).collect::<Vec<u32>>())
            .is_err(),
        "names past the rows"
    );
    let identity: Vec<u32> = (0..100).collect();
    assert_eq!(
        graph.relabeled(&identity).unwrap().to_bytes(),
        graph.to_bytes()
    );
}

#[test]
fn a_graph_built_over_a_bf16_copy_searches_the_f32_rows_as_well() {
    let data = clustered(3_000, 48, 11);
    let queries = clustered(60, 48, 12);
    let config = HnswConfig {
        m: 8,
        ef_construct: 64,
        ..HnswConfig::default()
    };
    // every distance can be built this way; the engine uses it where the
    // kernel is fast (Cosine, Dot, and Euclid through the rows' norms)
    for distance in [
        Distance::Cosine,
        Distance::Euclid,
        Distance::Dot,
        Distance::Manhattan,
    ] {
        let (store, plain) = build(distance, &data, config);
        let copy = Bf16Rows::new(&store).unwrap();
        copy.extend_to(&store, 1_000).unwrap();
        assert_eq!(copy.len(), 1_000);
        copy.extend_to(&store, usize::MAX).unwrap();
        assert_eq!(copy.len(), store.len());
        let halved = HnswGraph::new(config).unwrap();
        let rows: Vec<PointOffset> = (0..store.len() as u32).map(PointOffset).collect();
        for &r in &rows {
            halved.insert(&copy, r);
        }
        assert_eq!(halved.len(), store.len());
        let (a, b) = (
            recall(&store, &plain, &queries, 32),
            recall(&store, &halved, &queries, 32),
        );
        assert!(
            b >= 0.9 && b >= a - 0.02,
            "{distance:?}: recall {b} over the copy, {a} over f32"
        );
    }
}

#[test]
fn a_new_row_takes_m0_links_at_level_0_and_m_above() {
    let mut rng = Rng(11);
    let data: Vec<Vec<f32>> = (0..400)
        .map(|_| (0..64).map(|_| rng.unit()).collect())
        .collect();
    let cfg = HnswConfig {
        m: 4,
        ..HnswConfig::default()
    };
    let (_, g) = build(Distance::Euclid, &data, cfg);
    // The last row's own lists were written once, by its insertion: no
    // later row linked back to it. On random 64-d data the heuristic keeps
    // most candidates, so the lists are as long as allowed.
    let last = data.len() as u32 - 1;
    let degree = |node, level| g.neighbors(node, level).len();
    for level in 1..=g.random_level(last) {
        assert!(degree(last, level) <= cfg.m, "level {level}");
    }
    assert!(
        degree(last, 0) > cfg.m && degree(last, 0) <= cfg.m0(),
        "level-0 list of the last row: {}",
        degree(last, 0)
    );
    // no list ever grows past its cap
    let widest = (0..last).map(|n| degree(n, 0)).max().unwrap();
    assert_eq!(widest, cfg.m0());
}

/// `links` then `new`, in that order, each scored against `base`.
fn scored<M: crate::Metric>(
    store: &VectorStore,
    base: &[f32],
    links: &[u32],
    new: u32,
) -> Vec<crate::ScoredOffset> {
    links
        .iter()
        .chain([&new])
        .map(|&id| crate::ScoredOffset {
            offset: PointOffset(id),
            similarity: f32::similarity::<M>(base, store.get(PointOffset(id)).unwrap()),
        })
        .collect()
}

/// The heuristic over `links` plus `new`, run in full: the reference the
/// one-pass [`HnswGraph::admit`] must match.
fn full_heuristic<M: crate::Metric>(
    store: &VectorStore,
    base: &[f32],
    links: &[u32],
    new: u32,
    cap: usize,
) -> Vec<u32> {
    let mut all = scored::<M>(store, base, links, new);
    all.sort_unstable_by(|a, b| b.cmp(a));
    HnswGraph::select_neighbors::<M, VectorStore>(store, &all, cap)
}

fn admit_matches_the_full_heuristic<M: crate::Metric>(distance: Distance, dim: usize) {
    let mut rng = Rng(dim as u64 * 7 + 1);
    let n = 300u32;
    let store = VectorStore::new(dim, distance).unwrap();
    for _ in 0..n {
        let v: Vec<f32> = (0..dim).map(|_| rng.unit()).collect();
        store.push(&v).unwrap();
    }
    let row = |id: u32| store.get(PointOffset(id)).unwrap();
    let (mut kept_as_is, mut admitted, mut admitted_and_pruned) = (0, 0, 0);
    for trial in 0..400 {
        let base = (rng.next_u64() % u64::from(n)) as u32;
        // a settled list: the heuristic's output over random candidates
        let mut pool: Vec<u32> = (0..40)
            .map(|_| (rng.next_u64() % u64::from(n)) as u32)
            .filter(|&id| id != base)
            .collect();
        pool.sort_unstable();
        pool.dedup();
        let new = pool.pop().unwrap();
        let settled = full_heuristic::<M>(&store, row(base), &pool[1..], pool[0], 16);
        // the list is full: its cap is its length
        let cap = settled.len();
        let candidates = scored::<M>(&store, row(base), &settled, new);
        let got = HnswGraph::admit::<M, VectorStore>(&store, &candidates, cap);
        let want = full_heuristic::<M>(&store, row(base), &settled, new, cap);
        match &got {
            None => kept_as_is += 1,
            Some(ids) if ids.len() < cap => admitted_and_pruned += 1,
            Some(_) => admitted += 1,
        }
        assert_eq!(got.unwrap_or(settled), want, "trial {trial}");
    }
    // every branch of the one pass was taken
    assert!(
        kept_as_is > 0 && admitted > 0 && admitted_and_pruned > 0,
        "{kept_as_is} kept, {admitted} admitted, {admitted_and_pruned} admitted and pruned"
    );
}

#[test]
fn one_pass_admission_to_a_settled_list_is_the_heuristic_result() {
    admit_matches_the_full_heuristic::<crate::distance::L2Metric>(Distance::Euclid, 8);
    admit_matches_the_full_heuristic::<crate::distance::L2Metric>(Distance::Euclid, 64);
    admit_matches_the_full_heuristic::<crate::distance::DotMetric>(Distance::Cosine, 16);
    admit_matches_the_full_heuristic::<crate::distance::L1Metric>(Distance::Manhattan, 12);
}

#[test]
fn settled_lists_of_a_parallel_build_are_heuristic_output() {
    use crate::distance::L2Metric;
    let mut rng = Rng(5);
    let data: Vec<Vec<f32>> = (0..3000)
        .map(|_| (0..48).map(|_| rng.unit()).collect())
        .collect();
    let store = VectorStore::new(48, Distance::Euclid).unwrap();
    let rows: Vec<_> = data.iter().map(|v| store.push(v).unwrap()).collect();
    let graph = HnswGraph::new(HnswConfig {
        m: 8,
        ..HnswConfig::default()
    })
    .unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| graph.insert_many(&store, &rows));
    let row = |id: u32| store.get(PointOffset(id)).unwrap();
    let mut settled = 0;
    for node in 0..data.len() as u32 {
        for level in 0..=graph.random_level(node) {
            if !graph.is_settled(node, level) {
                continue;
            }
            settled += 1;
            let links: Vec<u32> = graph
                .neighbors(node, level)
                .iter()
                .map(|s| s.load(Ordering::Relaxed))
                .collect();
            let sim = |id| f32::similarity::<L2Metric>(row(node), row(id));
            for (i, &a) in links.iter().enumerate() {
                if i > 0 {
                    assert!(sim(links[i - 1]) >= sim(a), "node {node}: unsorted");
                }
                for &b in &links[..i] {
                    assert!(
                        f32::similarity::<L2Metric>(row(a), row(b)) <= sim(a),
                        "node {node} level {level}: {a} is closer to {b} than to the node"
                    );
                }
            }
        }
    }
    assert!(settled > data.len() / 3, "{settled} settled lists");
}
