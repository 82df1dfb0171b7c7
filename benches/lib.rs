//! Vicinity's criterion benchmarks live in this package's `[[bench]]`
//! targets: `cargo bench -p vicinity-benches`.
