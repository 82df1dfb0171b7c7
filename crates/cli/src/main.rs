//! The `vicinity` command-line tool.

#![forbid(unsafe_code)]

mod bench;

use clap::{Parser, Subcommand};

/// Vicinity: an embedded vector index with Qdrant's semantics.
#[derive(Parser)]
#[command(name = "vicinity", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Benchmarks: recall and latency on a dataset.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Bench(cmd) => bench::run(cmd),
    }
}
