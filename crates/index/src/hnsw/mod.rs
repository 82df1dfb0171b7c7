//! The Hierarchical Navigable Small World graph (Malkov & Yashunin, 2016).
//!
//! A layered proximity graph over the rows of a
//! [`VectorStore`](crate::VectorStore): node `i` of the graph is row `i` of
//! the store. Level 0 holds every inserted node with up to `m0 = 2·m`
//! links; each upper level holds a geometrically shrinking subset with up
//! to `m` links. Search descends greedily from the entry
//! point and then runs a best-first walk of width `ef` at level 0.
//!
//! Concurrency: links are atomics and searches read them without any lock.
//! Inserting threads take a small per-node lock to rewrite one node's link
//! list, so any number of searches run beside one or more inserters. A
//! reader may see a link list mid-rewrite; every id in it is a node whose
//! vector was stored before it was linked, so the walk stays valid.

mod config;
mod graph;
mod persist;
mod reorder;

pub use config::HnswConfig;
pub use graph::HnswGraph;

#[cfg(test)]
mod tests;
