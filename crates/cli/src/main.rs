//! The `vicinity` command-line tool.

#![forbid(unsafe_code)]

mod bench;
mod serve;

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
    /// Serves Qdrant's gRPC protocol (and `GET /`, probes over HTTP).
    Serve(serve::ServeArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Bench(cmd) => bench::run(cmd),
        Command::Serve(args) => serve::run(args),
    }
}
