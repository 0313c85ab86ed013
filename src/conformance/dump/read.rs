//! Reading any implementation's dump (`adapters/DUMPS.md`) with the
//! `safetensors` crate, and refusing — with a message naming the tensor —
//! what breaks the format: an unknown `format`, a wrong dtype or shape, a
//! float value that is not an integer of the spec's width.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use super::{width_of, Dump, Tensor, Width, FORMAT};

/// Reads and validates the dump at `path`.
pub fn read(path: &Path) -> Result<Dump, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Validates a dump's bytes.
pub fn parse(bytes: &[u8]) -> Result<Dump, String> {
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| format!("not a safetensors file: {e}"))?;
    let metadata: BTreeMap<String, String> = meta.metadata().clone().unwrap_or_default().into_iter().collect();
    match metadata.get("format").map(String::as_str) {
        Some(FORMAT) => {}
        Some(other) => return Err(format!("metadata format {other:?}: unknown format version (this reader knows {FORMAT})")),
        None => return Err(format!("metadata format: missing (expected {FORMAT})")),
    }
    match metadata.get("model_hash") {
        Some(h) if h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {}
        Some(h) => return Err(format!("metadata model_hash {h:?}: expected 8 hex digits (the model's content hash)")),
        None => return Err("metadata model_hash: missing (the model's content hash, 8 hex digits)".into()),
    }
    let st = SafeTensors::deserialize(bytes).map_err(|e| format!("not a safetensors file: {e}"))?;
    let view = |name: &str| st.tensor(name).ok();

    let tokens_view = view("tokens").ok_or("tensor tokens: missing (every dump holds the chunk's tokens)")?;
    let tokens: Vec<u32> = vector("tokens", &tokens_view, Width::I32)?
        .into_iter()
        .map(|t| u32::try_from(t).map_err(|_| format!("tensor tokens: {t} is not a token id")))
        .collect::<Result<_, _>>()?;
    if tokens.is_empty() {
        return Err("tensor tokens: empty (a chunk holds at least one token)".into());
    }
    let n = tokens.len();
    let positions: Vec<usize> = match view("positions") {
        None => (0..n).collect(),
        Some(v) => {
            let p = vector("positions", &v, Width::I32)?;
            for (i, &x) in p.iter().enumerate() {
                if x < 0 || x as usize >= n || (i > 0 && x <= p[i - 1]) {
                    return Err(format!("tensor positions: element {i} = {x}: positions must increase strictly and lie in 0..{n}"));
                }
            }
            p.into_iter().map(|x| x as usize).collect()
        }
    };
    let m = positions.len();
    let mut tensors = BTreeMap::new();
    let mut extra = Vec::new();
    for (name, v) in st.tensors() {
        if name == "tokens" || name == "positions" {
            continue;
        }
        let Some(w) = width_of(&name) else {
            extra.push(name);
            continue;
        };
        let shape = v.shape();
        if shape.len() != 2 || shape[0] != m || shape[1] == 0 {
            return Err(format!("tensor {name}: shape {shape:?}, expected [{m}, width] (one row per dumped position)"));
        }
        let values = elements(&name, &v, w)?;
        tensors.insert(name, Tensor { width: shape[1], values });
    }
    extra.sort();
    Ok(Dump { metadata, tokens, positions, tensors, extra })
}

/// A rank-1 tensor's elements.
fn vector(name: &str, v: &TensorView<'_>, w: Width) -> Result<Vec<i64>, String> {
    if v.shape().len() != 1 {
        return Err(format!("tensor {name}: shape {:?}, expected one dimension", v.shape()));
    }
    elements(name, v, w)
}

/// The elements of `v` as integers of width `w`: the spec's dtype, or a
/// float dtype whose every value is an integer of that width.
fn elements(name: &str, v: &TensorView<'_>, w: Width) -> Result<Vec<i64>, String> {
    let data = v.data();
    let ints: Vec<i64> = match (v.dtype(), w) {
        (Dtype::I8, Width::I8) => data.iter().map(|&b| i64::from(b as i8)).collect(),
        (Dtype::I32, Width::I32) => data.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        (Dtype::U32, Width::U32) => data.chunks_exact(4).map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        (d @ (Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64), _) => {
            let floats = floats(d, data);
            let mut out = Vec::with_capacity(floats.len());
            for (i, f) in floats.into_iter().enumerate() {
                if !f.is_finite() || f.fract() != 0.0 || !w.holds(f as i64) {
                    return Err(format!("tensor {name}: element {i} is {f} in {d:?}: not an integer of the spec's {}", w.dtype()));
                }
                out.push(f as i64);
            }
            out
        }
        (d, _) => return Err(format!("tensor {name}: dtype {d:?}, expected {} (or a float dtype holding integers)", w.dtype())),
    };
    Ok(ints)
}

/// The values of a float tensor, widened exactly to f64.
fn floats(d: Dtype, data: &[u8]) -> Vec<f64> {
    match d {
        Dtype::F16 => data.chunks_exact(2).map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]]))).collect(),
        Dtype::BF16 => data.chunks_exact(2).map(|c| f64::from(f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))).collect(),
        Dtype::F32 => data.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        _ => data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
    }
}

/// An IEEE binary16 value, exactly.
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let (e, f) = (i32::from((h >> 10) & 0x1f), f64::from(h & 0x3ff));
    sign * match e {
        0 => f * 2f64.powi(-24),
        31 if f == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1024.0 + f) * 2f64.powi(e - 25),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_values() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x3800), 0.5);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert!(f16_to_f64(0x7c00).is_infinite() && f16_to_f64(0x7e00).is_nan());
    }
}
