use serde::{Deserialize, Serialize};

use crate::IndexError;

/// HNSW parameters, with Qdrant's names and defaults.
///
/// Memory per vector of the graph: about `(2·m + 1)·4` bytes at level 0,
/// 7 bytes of level, lock and upper-block index, plus `(m + 1)·4` bytes per
/// upper level for the `1/m` share of nodes that have one (m 16: about 143
/// bytes per vector).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HnswConfig {
    /// Links per node on the upper layers (the paper's `M`); level 0 keeps up
    /// to `2·m` (`M_max0`). More links: better recall, slower build, more
    /// memory. Range 2..=512; default 16.
    pub m: usize,
    /// Candidates considered when linking a new node (the paper's
    /// `efConstruction`). Higher: better graph, slower build. Range
    /// `1..`; default 100.
    pub ef_construct: usize,
    /// Below this many kilobytes of vectors among the candidates, search
    /// scores every candidate exactly instead of walking the graph (as in
    /// Qdrant, in KiB). Default 10,000.
    pub full_scan_threshold: usize,
    /// Seed of the level assignment: the same seed, data and insertion order
    /// give the same graph when built on one thread.
    pub seed: u64,
}

impl Default for HnswConfig {
    fn default() -> Self {
        HnswConfig {
            m: 16,
            ef_construct: 100,
            full_scan_threshold: 10_000,
            seed: 0x5eed_0f1c_1a17,
        }
    }
}

impl HnswConfig {
    /// The largest accepted `m`.
    pub const MAX_M: usize = 512;

    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), IndexError> {
        if self.m != 0 && !(2..=Self::MAX_M).contains(&self.m) {
            return Err(IndexError::Config {
                name: "m",
                reason: format!("must be 0 or between 2 and {}, got {}", Self::MAX_M, self.m),
            });
        }
        if self.ef_construct == 0 {
            return Err(IndexError::Config {
                name: "ef_construct",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Whether the graph is built: `m = 0` disables it (Qdrant's setting
    /// for vectors only rescored, such as a ColBERT reranker), and
    /// searches of the vector scan its rows.
    pub fn builds_graph(&self) -> bool {
        self.m != 0
    }

    /// Links per node at level 0 (`M_max0 = 2·m`).
    pub fn m0(&self) -> usize {
        2 * self.m
    }
}
