//! Deliberately broken variants of the engine, for proving that the runner
//! catches real-world mistakes (`czip-conformance serve --fault NAME`). Each
//! reproduces one departure that a public implementation is known to make
//! (spec §11); every other op falls through to the reference.

use serde_json::{json, Value};

use super::case::{array, as_array, as_int, Dtype};
use super::op_table::Op;
use super::ops::{attention, reference_op, Context, Outcome};
use crate::model::attention::{score, KvCache, OnlineSoftmax};
use crate::model::layers::rope;
use crate::numerics::{div_rne_tte_s64_to_s32, isqrt32_restoring, sra_rne_tte_s32};

/// The faults `serve --fault` can inject.
pub const FAULTS: &[(&str, &str)] = &[
    ("udiv-round-up", "udiv/div round half up when d is odd and r = (d−1)/2 (the public Python rounding); RMSNorm uses it"),
    ("clamp-128", "clamp_i8 and the attention output clamp to −128..127"),
    ("wrap-accumulator", "the attention accumulator is 32-bit and wraps (the latest public Rust)"),
];

/// `n / d` rounded the Python way, `⌊(n + ⌈d/2⌉) / d⌋`: up at `r = (d−1)/2` for odd `d`
/// (including d = 1, where it adds one; saturating at u32::MAX).
fn udiv_round_up(n: u32, d: u32) -> u32 {
    if d == 0 {
        return 0;
    }
    let (q, r) = (n / d, n % d);
    let (twice_r, d64) = (2 * u64::from(r), u64::from(d));
    if twice_r > d64 || (d % 2 == 1 && twice_r + 1 == d64) || (twice_r == d64 && q % 2 == 1) {
        q.saturating_add(1)
    } else {
        q
    }
}

fn clamp_128(x: i32) -> i8 {
    x.clamp(-128, 127) as i8
}

/// The attention head of spec §5 with two knobs: a 32-bit wrapping
/// accumulator, and the output clamp.
#[allow(clippy::too_many_arguments)]
fn faulty_head(wrap: bool, clamp: fn(i32) -> i8, q_raw: &[i8], pos: usize, cache: &KvCache, cos: &[i16], sin: &[i16], mult: i32, sink: Option<&[i8; 64]>, e: &[u16; 256], out: &mut [i8]) {
    let mut q = [0i8; 64];
    rope(q_raw, &cos[pos * 32..pos * 32 + 32], &sin[pos * 32..pos * 32 + 32], true, &mut q);
    let mut sm = OnlineSoftmax::new();
    if let Some(k) = sink {
        sm.start_with_sink(score(&q, k, mult));
    }
    for t in 0..cache.len() {
        sm.push(score(&q, cache.key(t), mult), cache.value(t), e);
        if wrap {
            sm.acc.iter_mut().for_each(|a| *a = i64::from(*a as i32));
        }
    }
    let s = sm.s.max(1);
    for (o, &a) in out.iter_mut().zip(&sm.acc) {
        *o = clamp(div_rne_tte_s64_to_s32(a, s));
    }
}

#[allow(clippy::too_many_arguments)]
fn head_wrap(q: &[i8], p: usize, c: &KvCache, cs: &[i16], sn: &[i16], m: i32, k: Option<&[i8; 64]>, e: &[u16; 256], o: &mut [i8]) {
    faulty_head(true, crate::numerics::clamp_i8, q, p, c, cs, sn, m, k, e, o)
}

#[allow(clippy::too_many_arguments)]
fn head_clamp(q: &[i8], p: usize, c: &KvCache, cs: &[i16], sn: &[i16], m: i32, k: Option<&[i8; 64]>, e: &[u16; 256], o: &mut [i8]) {
    faulty_head(false, clamp_128, q, p, c, cs, sn, m, k, e, o)
}

fn int_of(a: &Value, k: &str) -> Option<i128> {
    a.get(k).and_then(as_int)
}

/// Answers `op` with fault `fault` applied, or with the reference when the
/// fault does not touch that op.
pub fn call(fault: &str, ctx: &Context, op: Op, a: &Value) -> Outcome {
    let res = match (fault, op) {
        ("udiv-round-up", Op::UdivRneTteU32) => match (int_of(a, "n"), int_of(a, "d")) {
            (Some(n), Some(d)) => Some(Ok(json!({"result": udiv_round_up(n as u32, d as u32)}))),
            _ => None,
        },
        ("udiv-round-up", Op::Rmsnorm) => match (a.get("x").and_then(as_array), a.get("w").and_then(as_array)) {
            (Some(x), Some(w)) if x.len() == w.len() && !x.is_empty() => {
                let ss: i64 = x.iter().map(|v| v * v).sum();
                let ms = (ss / x.len() as i64 + 1) as u32;
                let inv = udiv_round_up(8_388_608, isqrt32_restoring(ms * 65536)).clamp(1, 32768) as i32;
                let y: Vec<i64> = x
                    .iter()
                    .zip(&w)
                    .map(|(&xi, &wi)| i64::from(sra_rne_tte_s32(xi as i32 * wi as i32 * inv, 15).clamp(-127, 127)))
                    .collect();
                Some(Ok(json!({"y": array(&y, Dtype::I8)})))
            }
            _ => None,
        },
        ("clamp-128", Op::ClampI8) => int_of(a, "x").map(|x| Ok(json!({"result": clamp_128(x as i32)}))),
        ("clamp-128", Op::Attention) => Some(attention(a, head_clamp)),
        ("wrap-accumulator", Op::Attention) => Some(attention(a, head_wrap)),
        _ => None,
    };
    match res {
        Some(Ok(v)) => Outcome::Result(v),
        Some(Err(e)) => Outcome::Error(e),
        None => reference_op(ctx, op, a),
    }
}
