//! Vicinity's integration tests: one binary, one module per area.

mod api;
mod concurrency;
mod conformance;
mod datatype;
mod durability;
mod multivector;
mod quantization;
mod query;
mod recall;
mod sparse;
