//! `czip.CzipError` and its subclasses, one per stage, and the conversion of
//! every engine error into one of them. Nothing that a caller passes in
//! reaches a panic: each binding checks its arguments and returns one of
//! these instead.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(czip, CzipError, PyException, "Any error of the CZIP reference engine (the subclasses name the stage).");
create_exception!(czip, ContainerError, CzipError, "A CZIPv1 file that is malformed or cannot be written (spec §9).");
create_exception!(czip, ModelError, CzipError, "A model that cannot be loaded or found, or a file written for another model (spec §4, §9).");
create_exception!(czip, ChunkError, CzipError, "A chunk that does not decode, or decodes to something no conforming encoder wrote (spec §7–§9).");
create_exception!(czip, InputError, CzipError, "An argument outside what the spec defines (width, length, shape, domain).");

/// An [`InputError`] with `msg`.
pub fn input(msg: impl Into<String>) -> PyErr {
    InputError::new_err(msg.into())
}

/// The exception for an engine error, by the stage that raised it.
pub fn from_engine(e: czip::Error) -> PyErr {
    use czip::Error as E;
    let msg = e.to_string();
    match e {
        E::Model(_) | E::WrongModel { .. } => ModelError::new_err(msg),
        E::Container(_) => ContainerError::new_err(msg),
        E::Tokenizer(_) | E::InputNotUtf8 { .. } | E::InputTooLarge { .. } | E::ChunkLengthUnsupported { .. } => InputError::new_err(msg),
        E::Chunk { .. } | E::DecodedLengthMismatch { .. } | E::DecodedNotUtf8 { .. } | E::TokensNotCanonical { .. } => ChunkError::new_err(msg),
    }
}

pub fn from_container(e: czip::container::ContainerError) -> PyErr {
    ContainerError::new_err(e.to_string())
}

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("CzipError", py.get_type::<CzipError>())?;
    m.add("ContainerError", py.get_type::<ContainerError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("ChunkError", py.get_type::<ChunkError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    Ok(())
}
