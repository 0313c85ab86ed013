//! Conformance: the golden corpus (`vectors/`), suites (`suites/`) and the
//! runner that scores any implementation of CZIP v1 against the built-in
//! reference engine.
//!
//! | module | what |
//! |---|---|
//! | [`case`] | the versioned, engine-independent case format |
//! | [`ops`] | the operation catalogue, answered by the built-in engine |

pub mod case;
pub mod generate;
pub mod ops;
