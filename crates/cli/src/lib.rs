//! The `vicinity` command-line tool as a library: the binary's `main` and
//! the Python package's `vicinity` command both call [`main_from`].

#![forbid(unsafe_code)]

mod bench;
pub mod migrate;
pub mod portable;
mod rng;
mod serve;

use std::ffi::OsString;

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
    /// Serves Qdrant's gRPC protocol and REST API.
    Serve(serve::ServeArgs),
    /// Copies collections between a folder and a Qdrant gRPC endpoint
    /// (either way), resumably, and checks the copy.
    Migrate(migrate::MigrateArgs),
    /// Writes a collection to a file of JSON lines (a header with its
    /// configuration, then one point per line).
    Export(portable::ExportArgs),
    /// Reads a file written by `export` into a collection.
    Import(portable::ImportArgs),
}

/// Runs the command line `args` (the program name first). `--help`,
/// `--version` and usage errors print and exit the process, as a command
/// does; a failing command returns its error.
pub fn main_from<I, T>(args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cli::parse_from(args).command {
        Command::Bench(cmd) => bench::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Export(args) => portable::run_export(args),
        Command::Import(args) => portable::run_import(args),
    }
}
