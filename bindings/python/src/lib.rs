//! `czip._czip`: the native part of the `czip` Python package — the CZIP v1
//! reference engine (`czip` crate) under the public Python package's names.
//!
//! One file per submodule of that package (`primitives`, `lut`, `rmsnorm`,
//! `reglu`, `linear`, `attention`, `softmax_cdf`, `arith_coder`,
//! `file_format`), plus `engine` (Model, compress, decompress, verify_file)
//! and `runner` (run, score). Every function converts its arguments into
//! the spec's widths and calls the engine's one implementation of the rule;
//! none computes a rule itself. Calls that run the model release the GIL.
//! Errors are `czip.CzipError` subclasses (`errors`), never panics.

mod arith_coder;
mod attention;
mod convert;
mod engine;
mod errors;
mod file_format;
mod linear;
mod lut;
mod primitives;
mod reglu;
mod rmsnorm;
mod runner;
mod softmax_cdf;

use pyo3::prelude::*;

#[pymodule]
fn _czip(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    primitives::register(m)?;
    lut::register(m)?;
    rmsnorm::register(m)?;
    reglu::register(m)?;
    linear::register(m)?;
    attention::register(m)?;
    softmax_cdf::register(m)?;
    arith_coder::register(m)?;
    file_format::register(m)?;
    m.add_class::<engine::Model>()?;
    m.add_function(wrap_pyfunction!(engine::compress, m)?)?;
    m.add_function(wrap_pyfunction!(engine::decompress, m)?)?;
    m.add_function(wrap_pyfunction!(engine::verify_file, m)?)?;
    runner::register(m)?;
    m.add("STAGES", czip::model::LayerTrace::STAGES.to_vec())?;
    Ok(())
}
