//! `czip`: compress and decompress text with CZIP v1 (reference mode).
//!
//! Exit codes: 0 success, 1 bad input or data (one line on stderr saying what
//! and where), 2 usage error.

mod bench;
mod cli;
mod inspect;
mod io;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compress(a) => cli::run_compress(&a),
        Command::Decompress(a) => cli::run_decompress(&a),
        Command::Test(a) => cli::run_test(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Bench(a) => bench::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("czip: {msg}");
            ExitCode::from(1)
        }
    }
}
