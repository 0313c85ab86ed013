//! One token step of the model, spec §6: previous token id and position in,
//! V logits out. Read it top to bottom next to the spec.

use super::attention::{attend_head, attend_head_variant, AttentionVariant, KvCache};
use super::layers::{linear_with, reglu_with, requantize_with, rmsnorm_with, rope_with};
use super::variant::Variant;
use super::{Model, HEAD_DIM, ROPE_PAIRS};

/// Why a step could not run (a caller error, never a data-dependent one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    TokenOutOfRange { token: u32, vocab: usize },
    /// Steps must come in order 0, 1, 2, … within a chunk.
    PositionOutOfOrder { pos: usize, expected: usize },
    PositionBeyondCapacity { pos: usize, capacity: usize },
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::TokenOutOfRange { token, vocab } => {
                write!(f, "token id {token} is outside the vocabulary (V = {vocab})")
            }
            StepError::PositionOutOfOrder { pos, expected } => {
                write!(f, "step at position {pos}, expected position {expected}")
            }
            StepError::PositionBeyondCapacity { pos, capacity } => {
                write!(f, "position {pos} is beyond the chunk capacity {capacity}")
            }
        }
    }
}
impl std::error::Error for StepError {}

/// Intermediate vectors of one layer at one step (for localising a
/// divergence: "the first layer whose output differs"). Names follow spec §6.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerTrace {
    /// `a = RMSNorm(clamp_i8(x), attn_norm)`.
    pub attn_in: Vec<i8>,
    /// `qkv = requant(Linear(a, qkv.weight))`.
    pub qkv: Vec<i8>,
    /// `Attention(qkv, p)`, all heads.
    pub attn: Vec<i8>,
    /// `o = requant(Linear(attn, out.weight))`.
    pub attn_proj: Vec<i8>,
    /// residual after the attention block.
    pub resid_attn: Vec<i32>,
    /// `b = RMSNorm(clamp_i8(x), post_attn_norm)`.
    pub ffn_in: Vec<i8>,
    /// `gu = requant(Linear(b, up.weight))`.
    pub gate_up: Vec<i8>,
    /// `ReGLU(gate, up)`.
    pub reglu: Vec<i8>,
    /// `d = requant(Linear(reglu, down.weight))`.
    pub down: Vec<i8>,
    /// residual after the FFN block.
    pub resid_ffn: Vec<i32>,
}

/// The values of one [`LayerTrace`] stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageValues<'a> {
    I8(&'a [i8]),
    /// The residuals (unclamped).
    I32(&'a [i32]),
}

impl LayerTrace {
    /// The stage names, in order of computation (spec §6): the one list the
    /// trace answer (`model_trace`) and the localisation walk.
    pub const STAGES: [&'static str; 10] =
        ["attn_in", "qkv", "attn", "attn_proj", "resid_attn", "ffn_in", "gate_up", "reglu", "down", "resid_ffn"];

    /// Every stage with its name ([`STAGES`](Self::STAGES)), in that order.
    pub fn stages(&self) -> [(&'static str, StageValues<'_>); 10] {
        use StageValues::{I32, I8};
        let v = [
            I8(&self.attn_in),
            I8(&self.qkv),
            I8(&self.attn),
            I8(&self.attn_proj),
            I32(&self.resid_attn),
            I8(&self.ffn_in),
            I8(&self.gate_up),
            I8(&self.reglu),
            I8(&self.down),
            I32(&self.resid_ffn),
        ];
        std::array::from_fn(|i| (Self::STAGES[i], v[i]))
    }

    /// The stage called `name`, if it is one of [`STAGES`](Self::STAGES).
    pub fn stage(&self, name: &str) -> Option<StageValues<'_>> {
        self.stages().into_iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// Everything one chunk worker needs: KV caches and scratch buffers, sized
/// once from the model, reused for every token and every chunk.
pub struct ForwardState {
    caches: Vec<KvCache>,
    x: Vec<i32>,
    xi8: Vec<i8>,
    normed: Vec<i8>,
    acc_qkv: Vec<i32>,
    qkv: Vec<i8>,
    k_rot: [i8; HEAD_DIM],
    attn: Vec<i8>,
    acc_d: Vec<i32>,
    proj: Vec<i8>,
    acc_gu: Vec<i32>,
    gu: Vec<i8>,
    act: Vec<i8>,
}

impl ForwardState {
    /// Buffers for chunks of up to `capacity` tokens (at most the RoPE rows).
    pub fn new(model: &Model, capacity: usize) -> Self {
        let c = model.config();
        let capacity = capacity.min(c.rope_rows);
        let (d, f) = (c.d_model, c.d_ff);
        ForwardState {
            caches: (0..c.n_layers).map(|_| KvCache::new(capacity)).collect(),
            x: vec![0; d],
            xi8: vec![0; d],
            normed: vec![0; d],
            acc_qkv: vec![0; d + 2 * HEAD_DIM],
            qkv: vec![0; d + 2 * HEAD_DIM],
            k_rot: [0; HEAD_DIM],
            attn: vec![0; d],
            acc_d: vec![0; d],
            proj: vec![0; d],
            acc_gu: vec![0; 2 * f],
            gu: vec![0; 2 * f],
            act: vec![0; f],
        }
    }

    /// Starts a new chunk: empty KV caches (spec §8, every chunk independent).
    pub fn reset(&mut self) {
        self.caches.iter_mut().for_each(KvCache::clear);
    }

    /// Position of the next step.
    pub fn position(&self) -> usize {
        self.caches.first().map_or(0, KvCache::len)
    }

    /// One step (spec §6): `tok` is the previous token (BOS at position 0),
    /// the position is implied by the number of steps since [`reset`](Self::reset).
    /// Writes V raw i32 logits.
    pub fn step(&mut self, model: &Model, tok: u32, logits: &mut [i32]) -> Result<(), StepError> {
        self.step_traced(model, tok, logits, None)
    }

    /// [`step`](Self::step), recording every layer's intermediates in `trace`.
    pub fn step_traced(
        &mut self,
        model: &Model,
        tok: u32,
        logits: &mut [i32],
        trace: Option<&mut Vec<LayerTrace>>,
    ) -> Result<(), StepError> {
        self.step_variant(Variant::NORMATIVE, model, tok, logits, trace)
    }

    /// [`step_traced`](Self::step_traced) with the arithmetic of `variant`
    /// (the spec's, or a deliberate fault: `conformance::faults`). This scalar
    /// step is the reference the conformance ops, witnesses and dumps use;
    /// the pipeline's `BatchForward` never takes a variant.
    pub fn step_variant(
        &mut self,
        variant: Variant,
        model: &Model,
        tok: u32,
        logits: &mut [i32],
        mut trace: Option<&mut Vec<LayerTrace>>,
    ) -> Result<(), StepError> {
        let c = model.config();
        let (d, f) = (c.d_model, c.d_ff);
        if tok as usize >= c.vocab_size {
            return Err(StepError::TokenOutOfRange { token: tok, vocab: c.vocab_size });
        }
        let pos = self.position();
        let capacity = self.caches.first().map_or(0, KvCache::capacity);
        if pos >= capacity {
            return Err(StepError::PositionBeyondCapacity { pos, capacity });
        }
        let rope_row = pos * ROPE_PAIRS..(pos + 1) * ROPE_PAIRS;
        let (cos, sin) = (&model.rope_cos()[rope_row.clone()], &model.rope_sin()[rope_row]);

        // Residual x = embed[tok] as i32.
        let t = tok as usize;
        for (x, &e) in self.x.iter_mut().zip(&model.embed()[t * d..(t + 1) * d]) {
            *x = i32::from(e);
        }

        for (n, cache) in self.caches.iter_mut().enumerate() {
            let w = model.layer(n);
            // Filled only when tracing (a cold path: it clones each vector).
            let mut lt = trace.is_some().then(LayerTrace::default);

            // 1. Attention block.
            clamp_into(variant, &self.x, &mut self.xi8);
            rmsnorm_with(variant, &self.xi8, w.attn_norm, &mut self.normed);
            linear_with(variant, &self.normed, w.qkv, &mut self.acc_qkv);
            requantize_with(variant, &self.acc_qkv, w.qkv_rq, &mut self.qkv);
            let (q_all, kv) = self.qkv.split_at(d);
            let (k, v) = kv.split_at(HEAD_DIM);
            rope_with(variant.clamp, k, cos, sin, false, &mut self.k_rot);
            cache.push(&self.k_rot, v);
            for (h, (q, out)) in q_all.chunks_exact(HEAD_DIM).zip(self.attn.chunks_exact_mut(HEAD_DIM)).enumerate() {
                let (cos, sin, mult) = (model.rope_cos(), model.rope_sin(), w.score_mult[h]);
                if variant.attention == AttentionVariant::NORMATIVE {
                    attend_head(q, pos, cache, cos, sin, mult, w.sink_key, model.exp2(), out);
                } else {
                    attend_head_variant(variant.attention, q, pos, cache, cos, sin, mult, w.sink_key, model.exp2(), out);
                }
            }
            if let Some(lt) = lt.as_mut() {
                lt.attn_in = self.normed.clone();
                lt.qkv = self.qkv.clone();
                lt.attn = self.attn.clone();
            }
            linear_with(variant, &self.attn, w.out, &mut self.acc_d);
            requantize_with(variant, &self.acc_d, w.out_rq, &mut self.proj);
            rmsnorm_with(variant, &self.proj, w.ffn_norm, &mut self.normed);
            add_into(&mut self.x, &self.normed);
            if let Some(lt) = lt.as_mut() {
                lt.attn_proj = self.proj.clone();
                lt.resid_attn = self.x.clone();
            }

            // 2. FFN block.
            clamp_into(variant, &self.x, &mut self.xi8);
            rmsnorm_with(variant, &self.xi8, w.post_attn_norm, &mut self.normed);
            linear_with(variant, &self.normed, w.up, &mut self.acc_gu);
            requantize_with(variant, &self.acc_gu, w.up_rq, &mut self.gu);
            if let Some(lt) = lt.as_mut() {
                lt.ffn_in = self.normed.clone();
                lt.gate_up = self.gu.clone();
            }
            let (gate, up) = self.gu.split_at(f);
            reglu_with(variant.clamp, gate, up, &mut self.act);
            linear_with(variant, &self.act, w.down, &mut self.acc_d);
            requantize_with(variant, &self.acc_d, w.down_rq, &mut self.proj);
            rmsnorm_with(variant, &self.proj, w.post_ffn_norm, &mut self.normed);
            add_into(&mut self.x, &self.normed);

            if let (Some(tr), Some(mut lt)) = (trace.as_deref_mut(), lt) {
                lt.reglu = self.act.clone();
                lt.down = self.proj.clone();
                lt.resid_ffn = self.x.clone();
                tr.push(lt);
            }
        }

        // Final norm and head: raw i32 logits.
        clamp_into(variant, &self.x, &mut self.xi8);
        rmsnorm_with(variant, &self.xi8, model.final_norm(), &mut self.normed);
        linear_with(variant, &self.normed, model.head(), logits);
        Ok(())
    }
}

/// The steps of one chunk up to position `last` (spec §8: position `p` is
/// fed BOS when `p = 0`, else `tokens[p − 1]`), with the arithmetic of
/// `variant`; `at(p, logits, trace)` is called after each step, `trace`
/// holding that step's layers when `traced` (empty otherwise). The one walk
/// the `model_logits` / `model_trace` ops and the Python binding's
/// `Model.logits` / `Model.trace` take. `last` must be at most
/// `tokens.len()` and below the model's capacity.
pub fn walk_chunk(
    variant: Variant,
    model: &Model,
    tokens: &[u32],
    last: usize,
    traced: bool,
    mut at: impl FnMut(usize, &[i32], &[LayerTrace]) -> Result<(), String>,
) -> Result<(), String> {
    if last > tokens.len() {
        return Err(format!("position {last} is beyond the tokens ({} of them)", tokens.len()));
    }
    let mut st = ForwardState::new(model, last + 1);
    let mut logits = vec![0i32; model.config().vocab_size];
    let mut trace = Vec::new();
    for p in 0..=last {
        let prev = match p.checked_sub(1) {
            None => model.config().bos,
            Some(i) => tokens[i],
        };
        trace.clear();
        st.step_variant(variant, model, prev, &mut logits, traced.then_some(&mut trace)).map_err(|e| e.to_string())?;
        at(p, &logits, &trace)?;
    }
    Ok(())
}

fn clamp_into(variant: Variant, x: &[i32], out: &mut [i8]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = variant.clamp.apply(v);
    }
}

/// `x += RMSNorm(...)`: the residual stays i32, no clamp (|x| grows by at
/// most 127 per block, far from overflow for the loader's 64-layer bound).
fn add_into(x: &mut [i32], delta: &[i8]) {
    for (a, &b) in x.iter_mut().zip(delta) {
        *a += i32::from(b);
    }
}
