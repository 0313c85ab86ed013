//! `czip`: compress and decompress text with CZIP v1 (reference mode).
//!
//! Exit codes: 0 success, 1 bad input or data (one line on stderr saying what
//! and where), 2 usage error. When the reader of stdout goes away
//! (`czip inspect F | head -1`), czip ends quietly by SIGPIPE, like any Unix
//! filter (status 141 in a shell).

mod args;
mod bench;
mod commands;
mod files;
mod inspect;
mod io;
mod locate;
mod models;
mod progress;
mod roofline;
mod trace;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = Cli::parse();
    if let Err(e) = cli.command.check_usage() {
        e.exit();
    }
    let result = match cli.command {
        Command::Compress(a) => commands::run_compress(&a),
        Command::Decompress(a) => commands::run_decompress(&a),
        Command::Test(a) => commands::run_test(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Trace(a) => trace::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("czip: {msg}");
            ExitCode::from(1)
        }
    }
}

/// The Rust runtime ignores SIGPIPE, so a write to a closed pipe returns an
/// error and `println!` panics on it. czip spawns no child processes (which
/// would inherit the setting), so the default action is restored: the
/// process ends quietly when nobody reads its output any more.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; setting
    // the disposition of SIGPIPE to SIG_DFL has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
