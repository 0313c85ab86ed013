//! Conformance: the golden corpus (`vectors/`), suites (`suites/`) and the
//! runner that scores any implementation of CZIP v1 against the built-in
//! reference engine.
//!
//! | module | what |
//! |---|---|
//! | [`case`] | the versioned, engine-independent case format |
//! | [`ops`] | the operation catalogue, answered by the built-in engine |

pub mod case;
pub mod compare;
pub mod faults;
pub mod implementation;
pub mod localize;
pub mod ops;
pub mod report;
pub mod runner;
pub mod score;
pub mod suite;
pub mod witness;
