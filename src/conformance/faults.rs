//! Deliberately broken variants of the engine, for proving that the runner
//! catches real-world mistakes (`czip-conformance serve --fault NAME`). Each
//! reproduces one departure that a public implementation is known to make
//! (spec §11); every other op falls through to the reference.

use serde_json::{json, Value};

use super::case::{array, as_array, as_int, Dtype};
use super::op_table::Op;
use super::ops::{attention, reference_op, Context, Outcome};
use crate::model::attention::{attend_head_variant, AttentionVariant, KvCache, OutputClamp};
use crate::model::HEAD_DIM;
use crate::numerics::{isqrt32_restoring, sra_rne_tte_s32};

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

/// The attention head of spec §5 ([`attend_head_variant`]) with a 32-bit
/// wrapping accumulator.
#[allow(clippy::too_many_arguments)]
fn head_wrap(q: &[i8], p: usize, c: &KvCache, cs: &[i16], sn: &[i16], m: i32, k: Option<&[i8; HEAD_DIM]>, e: &[u16; 256], o: &mut [i8]) {
    attend_head_variant(AttentionVariant::WRAP32, q, p, c, cs, sn, m, k, e, o)
}

/// The attention head of spec §5 with its output clamped to −128..127.
#[allow(clippy::too_many_arguments)]
fn head_clamp(q: &[i8], p: usize, c: &KvCache, cs: &[i16], sn: &[i16], m: i32, k: Option<&[i8; HEAD_DIM]>, e: &[u16; 256], o: &mut [i8]) {
    attend_head_variant(AttentionVariant::CLAMP_MINUS128, q, p, c, cs, sn, m, k, e, o)
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
        ("clamp-128", Op::ClampI8) => int_of(a, "x").map(|x| Ok(json!({"result": OutputClamp::Minus128.apply(x as i32)}))),
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
