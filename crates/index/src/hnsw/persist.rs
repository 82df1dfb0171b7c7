//! The HNSW graph as bytes, so that a reopened collection reads its graph
//! instead of rebuilding it.
//!
//! ```text
//! "VCN-HNSW"  u32 version  u32 m  u32 m0  u32 bound  u64 entry  u32 nodes
//! bound x u8: per node, its top level + 1 (0: not in the graph)
//! per node in the graph, per level 0..=top: u32 count, count x u32 links
//! u32 CRC-32C of everything before
//! ```
//!
//! All integers are little-endian. Reading checks every field (counts
//! within the level's capacity, links to nodes that have that level, the
//! entry point) so that damaged bytes give an error, never a panic or a
//! walk off the graph.

use std::sync::atomic::Ordering;

use super::graph::{EMPTY, MAX_LEVEL, pack, unpack};
use super::{HnswConfig, HnswGraph};
use crate::IndexError;

const MAGIC: &[u8; 8] = b"VCN-HNSW";
/// The graph format version this build writes and reads.
pub const GRAPH_VERSION: u32 = 1;

fn damaged(reason: impl Into<String>) -> IndexError {
    IndexError::Corrupted(reason.into())
}

struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], IndexError> {
        if self.data.len() - self.at < n {
            return Err(damaged(format!("truncated {what} at byte {}", self.at)));
        }
        let s = &self.data[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u32(&mut self, what: &str) -> Result<u32, IndexError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self, what: &str) -> Result<u64, IndexError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
}

impl HnswGraph {
    /// The graph as bytes (see the module docs). Call it while no insert
    /// runs (the collection's writer lock), so that the links are settled.
    pub fn to_bytes(&self) -> Vec<u8> {
        let bound = self.bound.load(Ordering::Acquire);
        let m0 = self.config.m0();
        let mut out = Vec::with_capacity(40 + bound * (1 + 4 * (m0 + 1)));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&GRAPH_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.config.m as u32).to_le_bytes());
        out.extend_from_slice(&(m0 as u32).to_le_bytes());
        out.extend_from_slice(&(bound as u32).to_le_bytes());
        out.extend_from_slice(&self.entry.load(Ordering::Acquire).to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        let levels: Vec<u8> = (0..bound)
            .map(|i| {
                self.levels
                    .get(i)
                    .map_or(0, |l| l[0].load(Ordering::Acquire))
            })
            .collect();
        out.extend_from_slice(&levels);
        for (node, &l) in levels.iter().enumerate() {
            for level in 0..usize::from(l) {
                let links = self.neighbors(node as u32, level);
                out.extend_from_slice(&(links.len() as u32).to_le_bytes());
                for link in links {
                    out.extend_from_slice(&link.load(Ordering::Acquire).to_le_bytes());
                }
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a graph written by [`to_bytes`](Self::to_bytes) for a store of
    /// `rows` rows. The bytes must have been written with the same `m`;
    /// `config` supplies the rest (so later inserts use the current
    /// `ef_construct`). Damaged bytes are an [`IndexError::Corrupted`].
    pub fn from_bytes(config: HnswConfig, bytes: &[u8], rows: usize) -> Result<Self, IndexError> {
        if bytes.len() < 40 {
            return Err(damaged("too short for a graph"));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        if crc32c::crc32c(body) != u32::from_le_bytes(tail.try_into().expect("4 bytes")) {
            return Err(damaged("checksum mismatch"));
        }
        let mut r = Cursor { data: body, at: 0 };
        if r.take(8, "magic")? != MAGIC {
            return Err(damaged("not an HNSW graph (bad magic)"));
        }
        let version = r.u32("version")?;
        if version != GRAPH_VERSION {
            return Err(damaged(format!(
                "format version {version}; this build reads {GRAPH_VERSION}"
            )));
        }
        config.validate()?;
        let (m, m0) = (r.u32("m")? as usize, r.u32("m0")? as usize);
        if m != config.m || m0 != config.m0() {
            return Err(IndexError::Config {
                name: "m",
                reason: format!("the saved graph has m {m}, the configuration {}", config.m),
            });
        }
        let bound = r.u32("bound")? as usize;
        if bound > rows {
            return Err(damaged(format!(
                "the graph covers {bound} rows, the vectors only {rows}"
            )));
        }
        let entry = r.u64("entry point")?;
        let nodes = r.u32("node count")? as usize;
        let levels = r.take(bound, "levels")?;
        if let Some(bad) = levels.iter().find(|&&l| usize::from(l) > MAX_LEVEL + 1) {
            return Err(damaged(format!("a node has level {}", bad - 1)));
        }
        if levels.iter().filter(|&&l| l != 0).count() != nodes {
            return Err(damaged("the node count disagrees with the levels"));
        }
        // The sizes are known: no slack. `bound` is at most the vectors'
        // rows and levels are checked, so damaged bytes cannot ask for more
        // memory than the vectors' rows need.
        let upper_rows = levels
            .iter()
            .map(|&t| usize::from(t.saturating_sub(1)))
            .sum();
        let graph = HnswGraph::sized(config, bound, upper_rows)?;
        let mut ids = Vec::with_capacity(m0);
        for (node, &l) in levels.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let top = usize::from(l) - 1;
            graph.levels.get_or_alloc(node)[0].store(l, Ordering::Relaxed);
            graph.links0.get_or_alloc(node);
            graph.locks.get_or_alloc(node);
            if top > 0 {
                graph.alloc_upper(node as u32, top);
            }
            for level in 0..=top {
                let count = r.u32("link count")? as usize;
                let cap = if level == 0 { m0 } else { m };
                if count > cap {
                    return Err(damaged(format!(
                        "node {node} has {count} links at level {level}, at most {cap} fit"
                    )));
                }
                ids.clear();
                for _ in 0..count {
                    let id = r.u32("link")?;
                    let ok = levels
                        .get(id as usize)
                        .is_some_and(|&t| usize::from(t) > level);
                    if !ok {
                        return Err(damaged(format!(
                            "node {node} links to {id}, which is not at level {level}"
                        )));
                    }
                    ids.push(id);
                }
                let slots = graph
                    .link_slots(node as u32, level)
                    .expect("slots were just allocated");
                for (slot, &id) in slots[1..].iter().zip(&ids) {
                    slot.store(id, Ordering::Relaxed);
                }
                slots[0].store(count as u32, Ordering::Relaxed);
            }
        }
        if r.at != body.len() {
            return Err(damaged("trailing bytes after the links"));
        }
        if nodes == 0 {
            if entry != EMPTY {
                return Err(damaged("an empty graph with an entry point"));
            }
        } else {
            let (id, level) = unpack(entry);
            let ok = entry != EMPTY
                && levels
                    .get(id as usize)
                    .is_some_and(|&t| usize::from(t) == level + 1);
            if !ok {
                return Err(damaged("the entry point is not a top node of the graph"));
            }
            let top = levels.iter().map(|&t| usize::from(t)).max().unwrap_or(0);
            if level + 1 != top {
                return Err(damaged("the entry point is not on the top level"));
            }
            graph.entry.store(pack(id, level), Ordering::Release);
        }
        graph.nodes.store(nodes, Ordering::Release);
        graph.bound.store(bound, Ordering::Release);
        Ok(graph)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Distance, VectorStore};
    use vicinity_storage::PointOffset;

    fn build(n: usize) -> (VectorStore, HnswGraph) {
        let store = VectorStore::new(8, Distance::Euclid).unwrap();
        let mut x = 7u64;
        for _ in 0..n {
            let v: Vec<f32> = (0..8)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (x >> 40) as f32 / 1e6
                })
                .collect();
            store.push(&v).unwrap();
        }
        let config = HnswConfig {
            m: 4,
            ef_construct: 20,
            ..HnswConfig::default()
        };
        let graph = HnswGraph::new(config).unwrap();
        let nodes: Vec<PointOffset> = (0..n as u32)
            .filter(|i| i % 5 != 3)
            .map(PointOffset)
            .collect();
        graph.insert_many(&store, &nodes);
        (store, graph)
    }

    #[test]
    fn a_graph_reads_back_link_for_link() {
        let (store, graph) = build(600);
        let bytes = graph.to_bytes();
        let back = HnswGraph::from_bytes(*graph.config(), &bytes, store.len()).unwrap();
        assert_eq!(back.len(), graph.len());
        assert_eq!(back.to_bytes(), bytes);
        for i in 0..600u32 {
            assert_eq!(
                back.contains(PointOffset(i)),
                graph.contains(PointOffset(i))
            );
        }
        // the copy keeps working: insert the rows left out, search finds them
        let rest: Vec<PointOffset> = (0..600u32)
            .filter(|i| i % 5 == 3)
            .map(PointOffset)
            .collect();
        back.insert_many(&store, &rest);
        assert_eq!(back.len(), 600);
        let q = store.get(PointOffset(3)).unwrap().to_vec();
        let hits = back.search(&store, &q, 1, 32, &crate::AllowAll);
        assert_eq!(hits[0].offset, PointOffset(3));
        // an empty graph too
        let empty = HnswGraph::new(*graph.config()).unwrap();
        let back = HnswGraph::from_bytes(*graph.config(), &empty.to_bytes(), 0).unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn damaged_bytes_are_errors_never_panics() {
        let (store, graph) = build(200);
        let bytes = graph.to_bytes();
        let config = *graph.config();
        // every truncation and a flipped bit in every byte: an error
        for cut in 0..bytes.len() {
            assert!(HnswGraph::from_bytes(config, &bytes[..cut], store.len()).is_err());
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert!(
                HnswGraph::from_bytes(config, &b, store.len()).is_err(),
                "byte {i}"
            );
        }
        // fewer rows than the graph covers
        assert!(HnswGraph::from_bytes(config, &bytes, 10).is_err());
        // another m
        let other = HnswConfig { m: 5, ..config };
        assert!(HnswGraph::from_bytes(other, &bytes, store.len()).is_err());
    }

    #[test]
    fn a_valid_checksum_over_bad_links_is_still_refused() {
        let (store, graph) = build(100);
        let mut bytes = graph.to_bytes();
        bytes.truncate(bytes.len() - 4);
        // the first link of the first node: point it past the graph
        let bound = 100;
        let at = 36 + bound + 4;
        bytes[at..at + 4].copy_from_slice(&5000u32.to_le_bytes());
        let crc = crc32c::crc32c(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        let err = HnswGraph::from_bytes(*graph.config(), &bytes, store.len()).unwrap_err();
        assert!(matches!(err, IndexError::Corrupted(_)), "{err}");
    }
}
