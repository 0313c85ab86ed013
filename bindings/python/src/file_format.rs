//! `czip.file_format` (spec §9): the CZIPv1 headers and whole files, read
//! and written by `czip::container` (its strict reader: every check of §9).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{bytes_of, file_bytes};
use crate::errors::{from_container, input};
use czip::container::{read_file, write_file, ContainerError, InnerHeader, OuterCodec, OuterHeader, ReadLimits, WriteParams, MAGIC};

fn codec(id: u8) -> PyResult<OuterCodec> {
    OuterCodec::from_id(id).ok_or_else(|| from_container(ContainerError::UnknownCodec { codec: id }))
}

/// The 16-byte outer header (spec §9): magic `CZIPv1`, flags, codec_id
/// (0 zstd, 1 brotli), uncompressed_len, header_len.
#[pyclass(module = "czip", get_all, set_all)]
#[derive(Clone)]
pub struct CZIPv1OuterHeader {
    pub flags: u8,
    pub codec_id: u8,
    pub uncompressed_len: u32,
    pub header_len: u32,
}

impl CZIPv1OuterHeader {
    fn of(h: &OuterHeader) -> Self {
        CZIPv1OuterHeader { flags: h.flags, codec_id: h.codec.id(), uncompressed_len: h.uncompressed_len, header_len: h.header_len }
    }
}

#[pymethods]
impl CZIPv1OuterHeader {
    #[new]
    #[pyo3(signature = (flags=0, codec_id=0, uncompressed_len=0, header_len=12))]
    fn new(flags: u8, codec_id: u8, uncompressed_len: u32, header_len: u32) -> Self {
        CZIPv1OuterHeader { flags, codec_id, uncompressed_len, header_len }
    }
    #[getter]
    fn magic<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, MAGIC)
    }
    fn is_multifile(&self) -> bool {
        self.flags & 1 != 0
    }
    /// The 16 bytes (the codec must be a known one).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let h = OuterHeader { flags: self.flags, codec: codec(self.codec_id)?, uncompressed_len: self.uncompressed_len, header_len: self.header_len };
        Ok(PyBytes::new(py, &h.to_bytes()))
    }
    /// Parses and validates the first 16 bytes of `data` (magic, flags,
    /// codec, header_len ≥ 12 and even); `ContainerError` otherwise.
    #[staticmethod]
    fn from_bytes(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let b = bytes_of(data, "data")?;
        Ok(Self::of(&OuterHeader::parse(&b).map_err(from_container)?))
    }
    fn __repr__(&self) -> String {
        format!("CZIPv1OuterHeader(flags={}, codec_id={}, uncompressed_len={}, header_len={})", self.flags, self.codec_id, self.uncompressed_len, self.header_len)
    }
}

/// The inner header at the start of the decompressed payload (spec §9).
/// `context_length_log2` is the byte as stored (0 means 6).
#[pyclass(module = "czip", get_all, set_all)]
#[derive(Clone)]
pub struct CZIPv1InnerHeader {
    pub model_id_hash: u32,
    pub chunk_count: u32,
    pub last_chunk_tokens: u16,
    pub tokenizer_id: u8,
    pub context_length_log2: u8,
    pub chunk_byte_lens: Vec<u16>,
}

impl CZIPv1InnerHeader {
    fn of(h: &InnerHeader) -> Self {
        CZIPv1InnerHeader {
            model_id_hash: h.model_id_hash,
            chunk_count: h.chunk_count,
            last_chunk_tokens: h.last_chunk_tokens,
            tokenizer_id: h.tokenizer_id,
            context_length_log2: h.context_length_log2_raw,
            chunk_byte_lens: h.chunk_byte_lens.clone(),
        }
    }
    fn to_engine(&self) -> InnerHeader {
        InnerHeader {
            model_id_hash: self.model_id_hash,
            chunk_count: self.chunk_count,
            last_chunk_tokens: self.last_chunk_tokens,
            tokenizer_id: self.tokenizer_id,
            context_length_log2_raw: self.context_length_log2,
            chunk_byte_lens: self.chunk_byte_lens.clone(),
        }
    }
}

#[pymethods]
impl CZIPv1InnerHeader {
    #[new]
    #[pyo3(signature = (model_id_hash=0, chunk_count=0, last_chunk_tokens=64, tokenizer_id=0, context_length_log2=6, chunk_byte_lens=Vec::new()))]
    fn new(model_id_hash: u32, chunk_count: u32, last_chunk_tokens: u16, tokenizer_id: u8, context_length_log2: u8, chunk_byte_lens: Vec<u16>) -> Self {
        CZIPv1InnerHeader { model_id_hash, chunk_count, last_chunk_tokens, tokenizer_id, context_length_log2, chunk_byte_lens }
    }
    /// K = 2^k tokens per chunk (a stored 0 is read as 6).
    #[getter]
    fn tokens_per_chunk(&self) -> usize {
        self.to_engine().chunk_tokens()
    }
    /// 12 + 2·chunk_count bytes.
    fn header_size(&self) -> u64 {
        self.to_engine().header_len()
    }
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let mut out = Vec::new();
        self.to_engine().write_to(&mut out);
        PyBytes::new(py, &out)
    }
    /// Parses the inner header at the start of `data` (a decompressed
    /// payload), against the outer `header_len` when given (else the one its
    /// own chunk_count implies).
    #[staticmethod]
    #[pyo3(signature = (data, header_len=None))]
    fn from_bytes(data: &Bound<'_, PyAny>, header_len: Option<u32>) -> PyResult<Self> {
        let b = bytes_of(data, "data")?;
        let h = match (InnerHeader::parse(&b, header_len.unwrap_or(0)), header_len) {
            (Err(ContainerError::HeaderLenMismatch { expected, .. }), None) => {
                InnerHeader::parse(&b, u32::try_from(expected).unwrap_or(u32::MAX))
            }
            (r, _) => r,
        };
        Ok(Self::of(&h.map_err(from_container)?))
    }
    fn __repr__(&self) -> String {
        format!(
            "CZIPv1InnerHeader(model_id_hash=0x{:08x}, chunk_count={}, last_chunk_tokens={}, tokenizer_id={}, context_length_log2={}, chunk_byte_lens=[{} entries])",
            self.model_id_hash, self.chunk_count, self.last_chunk_tokens, self.tokenizer_id, self.context_length_log2, self.chunk_byte_lens.len()
        )
    }
}

/// A whole CZIPv1 file: `outer_header`, `inner_header`, `chunks` (the coded
/// chunks' bytes). `read`/`from_bytes` run the engine's strict reader
/// (`ContainerError` on any §9 violation); `create` + `add_chunk` +
/// `finalize` + `to_bytes`/`write` build one, checked by the engine's writer.
#[pyclass(module = "czip")]
pub struct CompressedFile {
    #[pyo3(get)]
    outer_header: Py<CZIPv1OuterHeader>,
    #[pyo3(get)]
    inner_header: Py<CZIPv1InnerHeader>,
    chunks: Vec<Vec<u8>>,
}

#[pymethods]
impl CompressedFile {
    #[staticmethod]
    fn read(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let b = std::fs::read(&path).map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(py, &b)
    }
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (b, _) = file_bytes(data, "data")?;
        Self::parse(py, &b)
    }
    /// An empty file to fill with `add_chunk`, then `finalize`. `codec`:
    /// 0 zstd, 1 brotli (or `Codec`); multifile archives are not part of CZIP v1.
    #[staticmethod]
    #[pyo3(signature = (model_id_hash=0, tokenizer_id=0, codec=0, is_multifile=false, context_length_log2=6))]
    fn create(py: Python<'_>, model_id_hash: u32, tokenizer_id: u8, codec: u8, is_multifile: bool, context_length_log2: u8) -> PyResult<Self> {
        if is_multifile {
            return Err(from_container(ContainerError::MultifileUnsupported { flags: 1 }));
        }
        self::codec(codec)?;
        if !(6..=12).contains(&context_length_log2) {
            return Err(input(format!("context_length_log2 = {context_length_log2}: expected 6..=12")));
        }
        let k = 1u16 << context_length_log2;
        Ok(CompressedFile {
            outer_header: Py::new(py, CZIPv1OuterHeader { flags: 0, codec_id: codec, uncompressed_len: 0, header_len: 12 })?,
            inner_header: Py::new(py, CZIPv1InnerHeader { model_id_hash, chunk_count: 0, last_chunk_tokens: k, tokenizer_id, context_length_log2, chunk_byte_lens: Vec::new() })?,
            chunks: Vec::new(),
        })
    }
    /// The coded chunks, in order.
    #[getter]
    fn chunks<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.chunks.iter().map(|c| PyBytes::new(py, c)).collect()
    }
    /// Appends one coded chunk; `last_chunk_tokens` (with `is_last`) sets the last chunk's token count.
    #[pyo3(signature = (compressed_data, is_last=false, last_chunk_tokens=None))]
    fn add_chunk(&mut self, py: Python<'_>, compressed_data: &Bound<'_, PyAny>, is_last: bool, last_chunk_tokens: Option<u16>) -> PyResult<()> {
        let c = bytes_of(compressed_data, "compressed_data")?;
        let len = u16::try_from(c.len()).map_err(|_| from_container(ContainerError::ChunkTooLong { index: self.chunks.len(), len: c.len() }))?;
        self.chunks.push(c);
        let mut inner = self.inner_header.borrow_mut(py);
        inner.chunk_byte_lens.push(len);
        inner.chunk_count = u32::try_from(self.chunks.len()).unwrap_or(u32::MAX);
        if let (true, Some(t)) = (is_last, last_chunk_tokens) {
            inner.last_chunk_tokens = t;
        }
        Ok(())
    }
    /// Records the text's byte length and the header length.
    #[pyo3(signature = (uncompressed_text_len, compression_level=None))]
    fn finalize(&mut self, py: Python<'_>, uncompressed_text_len: u32, compression_level: Option<i64>) -> PyResult<()> {
        let _ = compression_level; // the outer stream's bytes are not normative (spec §9)
        let hl = self.inner_header.borrow(py).to_engine().header_len();
        let mut outer = self.outer_header.borrow_mut(py);
        outer.uncompressed_len = uncompressed_text_len;
        outer.header_len = u32::try_from(hl).map_err(|_| input("too many chunks"))?;
        Ok(())
    }
    /// (chunk_count − 1)·K + last_chunk_tokens.
    fn get_total_tokens(&self, py: Python<'_>) -> u64 {
        self.inner_header.borrow(py).to_engine().total_tokens()
    }
    /// Tokens coded in chunk `chunk_idx`.
    fn get_chunk_tokens(&self, py: Python<'_>, chunk_idx: usize) -> PyResult<usize> {
        let n = self.chunks.len();
        if chunk_idx >= n {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!("chunk {chunk_idx} of {n}")));
        }
        let inner = self.inner_header.borrow(py);
        Ok(if chunk_idx + 1 == n { usize::from(inner.last_chunk_tokens) } else { inner.to_engine().chunk_tokens() })
    }
    /// Bytes of all coded chunks.
    fn get_compressed_size(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }
    /// The file's bytes, written by the engine's writer from the headers'
    /// fields and the chunks (every §9 check; the outer stream is the
    /// engine's codec setting, `compression_level` is ignored).
    #[pyo3(signature = (compression_level=None))]
    fn to_bytes<'py>(&self, py: Python<'py>, compression_level: Option<i64>) -> PyResult<Bound<'py, PyBytes>> {
        let _ = compression_level;
        Ok(PyBytes::new(py, &self.write_bytes(py)?))
    }
    #[pyo3(signature = (path, compression_level=None))]
    fn write(&self, py: Python<'_>, path: PathBuf, compression_level: Option<i64>) -> PyResult<()> {
        let _ = compression_level;
        let b = self.write_bytes(py)?;
        std::fs::write(&path, b).map_err(|e| input(format!("cannot write {}: {e}", path.display())))
    }
}

impl CompressedFile {
    fn parse(py: Python<'_>, bytes: &[u8]) -> PyResult<Self> {
        let b = bytes.to_vec();
        let f = py.detach(move || read_file(&b, &ReadLimits::default())).map_err(from_container)?;
        Ok(CompressedFile {
            outer_header: Py::new(py, CZIPv1OuterHeader::of(&f.outer))?,
            inner_header: Py::new(py, CZIPv1InnerHeader::of(&f.inner))?,
            chunks: f.chunks().map(<[u8]>::to_vec).collect(),
        })
    }

    fn write_bytes(&self, py: Python<'_>) -> PyResult<Vec<u8>> {
        let (outer, inner) = (self.outer_header.borrow(py).clone(), self.inner_header.borrow(py).clone());
        let params = WriteParams {
            codec: codec(outer.codec_id)?,
            model_id_hash: inner.model_id_hash,
            chunk_log2: inner.context_length_log2,
            uncompressed_len: outer.uncompressed_len,
            last_chunk_tokens: inner.last_chunk_tokens,
        };
        let chunks = self.chunks.clone();
        py.detach(move || write_file(&params, &chunks)).map_err(from_container)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CZIPv1OuterHeader>()?;
    m.add_class::<CZIPv1InnerHeader>()?;
    m.add_class::<CompressedFile>()?;
    Ok(())
}
