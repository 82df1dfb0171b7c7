//! Vicinity's vector index: distance kernels, vector stores, exact search
//! and the HNSW graph.
//!
//! This crate knows vectors and nothing of payloads, ids or files: rows are
//! addressed by [`PointOffset`], and which rows a search may return is a
//! [`PointFilter`] the caller passes in.
//!
//! ```
//! use vicinity_index::{AllowAll, Distance, HnswConfig, HnswGraph, VectorStore, exact_search};
//!
//! let store = VectorStore::new(2, Distance::Cosine).unwrap();
//! let graph = HnswGraph::new(HnswConfig::default()).unwrap();
//! for v in [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]] {
//!     let row = store.push(&v).unwrap();
//!     graph.insert(&store, row);
//! }
//! let q = store.prepare_query(&[1.0, 0.1]).unwrap();
//! let hits = graph.search(&store, &q, 2, 16, &AllowAll);
//! assert_eq!(hits, exact_search(&store, &q, 2, &AllowAll));
//! assert_eq!(hits[0].offset.0, 0);
//! ```

#![forbid(unsafe_code)]

pub mod binary;
mod bitset;
pub mod codes;
pub mod datatype;
pub mod distance;
mod error;
mod exact;
mod filter;
pub mod hnsw;
pub mod kernels;
pub mod multi;
pub mod pq;
pub mod quantized;
pub mod scorer;
mod slots;
pub mod sparse;
mod topk;
mod vectors;
mod visited;

pub use binary::{
    B8, BinaryBits, BinaryEncoder, BinaryNearest, BinaryQuery, BinaryRows, QueryBits,
};
pub use bitset::AtomicBitSet;
pub use codes::{CodeRows, Encoder, P8, TableNearest};
pub use datatype::Datatype;
pub use distance::{Bf16, Distance, Element, I8, Metric};
pub use error::IndexError;
pub use exact::{exact_search, exact_search_among, exact_search_scored};
pub use filter::{AllowAll, InBitmap, NotIn, PointFilter};
pub use hnsw::{HnswConfig, HnswGraph};
pub use multi::MaxSim;
pub use pq::{PqRows, ProductQuantizer};
pub use quantized::{I8Rows, QuantizedNearest, ScalarQuantizer};
pub use scorer::{Nearest, Scorer};
pub use sparse::SparseIndex;
pub use topk::{ScoredOffset, TopK};
pub use vectors::{Bf16Rows, Rows, VectorStore, validate_vector};
pub use vicinity_storage::PointOffset;
