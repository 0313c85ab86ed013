//! The integration tests, one module per former test file, in one test
//! binary: each binary compiled and linked the library's generics and its
//! dependencies again, so two test binaries instead of 35 make the checked
//! test build about a sixth cheaper in CPU time and its target directory a
//! third of the size (issue 15 item 5, numbers in the README). Run one
//! module's tests with a filter:
//! `cargo test --profile checked --test integration cli_files::`.
//!
//! All modules run as threads of one process, so none may change process
//! state: no `std::env::set_var`, no `set_current_dir`, no global rayon pool
//! built with a thread count (kernels and pools are passed explicitly, see
//! `explicit_kernel`), scratch directories named uniquely across modules
//! (`common::scratch`). The one process-wide thing is `container_golden`'s
//! `#[global_allocator]`: it counts per thread, so other modules' allocations
//! never reach its measurements.
//!
//! `tests/hostile_fuzz_regressions.rs` stays a binary of its own: its
//! allocator meters the largest single allocation of the whole process.
//! insta snapshots are in `snapshots/`, named `integration__<module>__<name>`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../../fuzz/harness.rs"]
mod harness;

mod cli;
mod cli_files;
mod cli_integrity;
mod cli_models;
mod cli_safety;
mod coder_golden;
mod conformance_cli;
mod conformance_reports;
mod conformance_runner;
mod conformance_templates;
mod container_golden;
mod cpp_adapter_kit;
mod dumps;
mod explicit_kernel;
mod fuzz;
mod generate_corpus;
mod hostile_bitflip;
mod hostile_cross_model;
mod hostile_limits;
mod hostile_model;
mod kernels_elementwise;
mod kernels_gemm;
mod model_golden;
mod named_implementations;
mod numerics_golden;
mod op_table;
mod python_adapter;
mod runner_survival;
mod score_shards;
mod score_upstream;
mod speed_batch;
mod tokenizer_golden;
mod trace;
mod trace_browser;
