//! Conformance: the golden corpus (`vectors/`), suites (`suites/`) and the
//! runner that scores any implementation of CZIP v1 against the built-in
//! reference engine.
//!
//! | module | what |
//! |---|---|
//! | [`case`] | the versioned, engine-independent case format |
//! | [`op_table`] | the operation table: features, spec sections, arguments, answers |
//! | [`ops`] | the operation catalogue, answered by the built-in engine |
//! | [`implementation`] | what can be scored: in process, adapter-protocol process, command templates |
//! | [`runner`] | running cases (gated by declared features), surviving an implementation that dies; the progress line; the localisation budget |
//! | [`select`] | which cases a run runs (`--suite`, `--case GLOB`) |
//! | [`causes`] | why a case failed: a §11 row, a named upstream behaviour, missing validation |
//! | [`compare`] | answer vs expectation, down to the first differing element |
//! | [`dump`] | layer-by-layer tensor dumps (`adapters/DUMPS.md`): write, read, compare |
//! | [`localize`] | file → chunk → token → logits → layer |
//! | [`witness`] | positions where a known spec §11 departure changes a value |
//! | [`score`] | judging a directory of `.czip` files another implementation wrote |
//! | [`shard`] | scoring in parts (`score --shard I/N`) and merging the parts' reports |
//! | [`report`] | JSON, Markdown and JUnit reports |
//! | [`suite`] | loading the corpus and its suites |
//! | [`generate`] | writes the whole corpus, synthetic models and suites, deterministically |
//! | [`faults`] | deliberately broken variants, to prove the runner catches them |
//! | [`fuzz`] | differential fuzzing: edge-biased cases, shrunk disagreements |
pub mod case;
pub mod causes;
pub mod compare;
pub mod dump;
pub mod faults;
pub mod fuzz;
pub mod generate;
pub mod implementation;
pub mod localize;
pub mod op_table;
pub mod ops;
pub mod report;
pub mod runner;
pub mod select;
pub mod shared_coding;
pub mod score;
pub mod shard;
pub mod suite;
pub mod witness;
