//! The `lakegate` binary: parses the command line and runs it (see [`lakegate::cli`]).

use std::process::ExitCode;

use clap::Parser;

fn main() -> anyhow::Result<ExitCode> {
    let cli = lakegate::cli::Cli::parse();
    Ok(lakegate::cli::run(cli)?)
}
