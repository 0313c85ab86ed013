//! `czip.arith_coder` (spec §7): the 32-bit arithmetic coder
//! (`czip::coder::{Encoder, Decoder}`), one symbol at a time.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{bytes_of, vec_of};
use crate::errors::input;
use czip::coder::{Decoder, Encoder};

/// The inclusive table the coder takes (spec §6–§7: `C[j]` = the upper edge of
/// symbol j) from a Python table: the `build_cumfreqs` form with a leading 0
/// (`[0, C_0, …, C_{V−1}]`) when its first entry is 0, else the upstream's
/// inclusive form itself (a table whose first entry is 0 has an empty first
/// symbol in the inclusive reading, so the leading-0 reading is the one
/// taken). `total` must be the last entry.
fn inclusive_table(cumfreqs: &Bound<'_, PyAny>, total: u32) -> PyResult<Vec<u32>> {
    let mut c: Vec<u32> = vec_of(cumfreqs, "cumfreqs")?;
    if c.first() == Some(&0) {
        c.remove(0);
    }
    match c.last() {
        None => Err(input("cumfreqs: an empty table")),
        Some(&t) if t != total => Err(input(format!("total = {total}, but the table ends at {t} (cumfreqs[-1] must equal total)"))),
        Some(_) => Ok(c),
    }
}

/// The spec §7 encoder. `encode_symbol(cumfreqs, symbol, total)` for each
/// symbol, then `finish()` for the bytes.
#[pyclass(module = "czip")]
pub struct ArithEncoder {
    enc: Option<Encoder>,
}

#[pymethods]
impl ArithEncoder {
    #[new]
    fn new() -> Self {
        ArithEncoder { enc: Some(Encoder::new()) }
    }
    /// Codes `symbol` with `cumfreqs` (as `build_cumfreqs` returns it, or the
    /// upstream's inclusive form) of total `total`.
    fn encode_symbol(&mut self, cumfreqs: &Bound<'_, PyAny>, symbol: usize, total: u32) -> PyResult<()> {
        let table = inclusive_table(cumfreqs, total)?;
        let enc = self.enc.as_mut().ok_or_else(|| input("encode_symbol after finish()"))?;
        enc.encode(&table, symbol).map_err(|e| input(e.to_string()))
    }
    /// Pending underflow bits (spec §7 E3; diagnostic).
    #[getter]
    fn pending(&self) -> u64 {
        self.enc.as_ref().map_or(0, Encoder::pending)
    }
    /// Flushes the coder (spec §7 "Finish") and returns the bytes; the encoder is then spent.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let enc = self.enc.take().ok_or_else(|| input("finish() called twice"))?;
        Ok(PyBytes::new(py, &enc.finish()))
    }
}

/// The spec §7 decoder over `data`: `decode_symbol(cumfreqs, total)` gives
/// the symbols back in order, with the tables the encoder used.
#[pyclass(module = "czip")]
pub struct ArithDecoder {
    // Declared before `data`: dropped first, so it never outlives the bytes it reads.
    dec: Decoder<'static>,
    #[allow(dead_code)] // owns what `dec` reads
    data: Box<[u8]>,
}

#[pymethods]
impl ArithDecoder {
    #[new]
    fn new(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let data: Box<[u8]> = bytes_of(data, "data")?.into_boxed_slice();
        // SAFETY: the slice points into `data`'s heap allocation, which never
        // moves (a Box's contents stay put when the Box moves) and is freed only
        // when this object is dropped, after `dec` (field order). `dec` is never
        // handed out, so the 'static borrow never escapes the object.
        let bytes: &'static [u8] = unsafe { &*std::ptr::from_ref::<[u8]>(&data) };
        Ok(ArithDecoder { dec: Decoder::new(bytes), data })
    }
    /// The next symbol, decoded with `cumfreqs` of total `total`.
    fn decode_symbol(&mut self, cumfreqs: &Bound<'_, PyAny>, total: u32) -> PyResult<usize> {
        let table = inclusive_table(cumfreqs, total)?;
        self.dec.decode(&table).map_err(|e| input(e.to_string()))
    }
    /// Bits read so far (diagnostic).
    #[getter]
    fn bits_consumed(&self) -> u64 {
        self.dec.bits_consumed()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ArithEncoder>()?;
    m.add_class::<ArithDecoder>()?;
    Ok(())
}
