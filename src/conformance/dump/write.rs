//! The reference's dump of one chunk: the scalar reference step
//! ([`ForwardState::step_variant`]) over positions `0..end`, recording the
//! stages of the positions asked for. With a fault, the same step runs with
//! the fault's [`Variant`] (`conformance::faults`).

use std::collections::BTreeMap;
use std::ops::Range;

use super::{pipeline_tensors, Dump, Tensor, FORMAT};
use crate::freq_table::build_cumfreqs_reference;
use crate::model::{ForwardState, LayerTrace, StageValues, Variant};
use crate::safetensors_write::{encode, TensorData, Tensors};
use crate::Model;

/// What to dump.
#[derive(Debug, Clone)]
pub struct DumpRequest {
    /// The chunk's tokens (all of them).
    pub tokens: Vec<u32>,
    /// The positions to record (within `0..tokens.len()`).
    pub positions: Range<usize>,
    /// `k` of the chunk length the chunk was cut with.
    pub chunk_log2: u8,
    /// The chunk's index in its file (metadata only).
    pub chunk_index: Option<usize>,
    /// The arithmetic, and the fault's name when it is not the spec's.
    pub variant: Variant,
    pub fault: Option<&'static str>,
}

/// The producer string of the reference's dumps.
pub fn producer() -> String {
    format!("czip-conformance {} reference", env!("CARGO_PKG_VERSION"))
}

/// Computes the reference's dump of `req` with `model`.
pub fn reference_dump(model: &Model, req: &DumpRequest) -> Result<Dump, String> {
    let n = req.tokens.len();
    let Range { start, end } = req.positions;
    if n == 0 {
        return Err("the chunk has no tokens".into());
    }
    if start >= end || end > n {
        return Err(format!("positions {start}..{end}: must be a non-empty range within the chunk's 0..{n}"));
    }
    let c = model.config();
    let v = c.vocab_size;
    let mut st = ForwardState::new(model, end);
    let mut logits = vec![0i32; v];
    let mut cum = vec![0u32; v];
    let mut trace: Vec<LayerTrace> = Vec::new();
    let names = pipeline_tensors(c.n_layers);
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); names.len()];
    let mut widths: Vec<usize> = vec![0; names.len()];
    for p in 0..end {
        let prev = if p == 0 { c.bos } else { req.tokens[p - 1] };
        trace.clear();
        let tr = (p >= start).then_some(&mut trace);
        st.step_variant(req.variant, model, prev, &mut logits, tr).map_err(|e| format!("position {p}: {e}"))?;
        if p < start {
            continue;
        }
        build_cumfreqs_reference(&logits, model.coef_q24(), model.target_total(), model.exp2(), &mut cum)
            .map_err(|e| format!("position {p}: frequency table: {e}"))?;
        let rows = trace.iter().flat_map(|t| t.stages().map(|(_, s)| s)).map(|s| match s {
            StageValues::I8(x) => x.iter().map(|&e| i64::from(e)).collect::<Vec<_>>(),
            StageValues::I32(x) => x.iter().map(|&e| i64::from(e)).collect(),
        });
        let rows = rows.chain([logits.iter().map(|&e| i64::from(e)).collect(), cum.iter().map(|&e| i64::from(e)).collect()]);
        for (i, row) in rows.enumerate() {
            widths[i] = row.len();
            values[i].extend(row);
        }
    }
    let tensors = names.into_iter().zip(widths.into_iter().zip(values)).map(|((name, _), (width, values))| (name, Tensor { width, values })).collect();
    let mut metadata = BTreeMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("model_hash".to_string(), format!("{:08x}", model.content_hash())),
        ("chunk_log2".to_string(), req.chunk_log2.to_string()),
        ("producer".to_string(), req.fault.map_or_else(producer, |f| format!("{} with fault {f}", producer()))),
    ]);
    if let Some(i) = req.chunk_index {
        metadata.insert("chunk_index".into(), i.to_string());
    }
    if let Some(f) = req.fault {
        metadata.insert("fault".into(), f.to_string());
    }
    Ok(Dump { metadata, tokens: req.tokens.clone(), positions: (start..end).collect(), tensors, extra: Vec::new() })
}

/// The safetensors bytes of `dump`, each tensor in its spec width
/// ([`super::width_of`]); `tokens` and `positions` as I32.
pub fn to_safetensors(dump: &Dump) -> Result<Vec<u8>, String> {
    let m = dump.positions.len();
    let i32s = |xs: &mut dyn Iterator<Item = i64>| -> Result<Vec<i32>, String> { xs.map(|x| i32::try_from(x).map_err(|_| format!("{x} is not an i32"))).collect() };
    let mut t = Tensors::new();
    t.insert("tokens".into(), (vec![dump.tokens.len()], TensorData::I32(i32s(&mut dump.tokens.iter().map(|&x| i64::from(x)))?)));
    t.insert("positions".into(), (vec![m], TensorData::I32(i32s(&mut dump.positions.iter().map(|&x| x as i64))?)));
    for (name, tensor) in &dump.tensors {
        let w = super::width_of(name).ok_or_else(|| format!("tensor {name}: not a tensor of {FORMAT}"))?;
        let bad = |x: &i64| format!("tensor {name}: {x} does not fit {}", w.dtype());
        let data = match w {
            super::Width::I8 => TensorData::I8(tensor.values.iter().map(|x| i8::try_from(*x).map_err(|_| bad(x))).collect::<Result<_, _>>()?),
            super::Width::I32 => TensorData::I32(tensor.values.iter().map(|x| i32::try_from(*x).map_err(|_| bad(x))).collect::<Result<_, _>>()?),
            super::Width::U32 => TensorData::U32(tensor.values.iter().map(|x| u32::try_from(*x).map_err(|_| bad(x))).collect::<Result<_, _>>()?),
        };
        t.insert(name.clone(), (vec![m, tensor.width], data));
    }
    encode(&dump.metadata, &t)
}
