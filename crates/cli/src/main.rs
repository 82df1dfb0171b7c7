//! The `vicinity` command-line tool (see the `vicinity_cli` library).

#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    vicinity_cli::main_from(std::env::args_os())
}
