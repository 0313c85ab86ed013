//! Deliberately broken variants of the engine, for proving that the runner
//! and `compare-dumps` catch real-world mistakes (`czip-conformance serve
//! --fault NAME`, `dump --fault NAME`). Each reproduces one departure that a
//! public implementation (spec §11) or a GPU port is known to make.
//!
//! A fault is a parameter of the one reference, not a copy of it: a
//! [`Variant`] of the forward pass's arithmetic, passed into the layer ops,
//! the model ops (`model_logits`, `model_trace`) and dumps, plus, for two
//! faults, the primitive whose rule they break. Chunk and file ops run the
//! production pipeline, which takes no variant: they answer normatively.

use serde_json::{json, Value};

use super::case::as_int;
use super::op_table::Op;
use super::ops::{reference_op_with, Context, Outcome};
use crate::model::attention::{AttentionVariant, OutputClamp};
use crate::model::variant::{udiv_round_up, DivRounding, LinearSum, ShiftRounding, Variant};

/// A fault `serve --fault` and `dump --fault` can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    UdivRoundUp,
    Clamp128,
    WrapAccumulator,
    RoundHalfUp,
    Fp16Accumulate,
}

impl Fault {
    /// Every fault, in the order `--help` lists them.
    pub const ALL: [Fault; 5] = [Fault::UdivRoundUp, Fault::Clamp128, Fault::WrapAccumulator, Fault::RoundHalfUp, Fault::Fp16Accumulate];

    /// The fault called `name`, or a one-line error listing them.
    pub fn parse(name: &str) -> Result<Fault, String> {
        Self::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
            format!("no such fault (have: {})", names.join(", "))
        })
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::UdivRoundUp => "udiv-round-up",
            Fault::Clamp128 => "clamp-128",
            Fault::WrapAccumulator => "wrap-accumulator",
            Fault::RoundHalfUp => "round-half-up",
            Fault::Fp16Accumulate => "fp16-accumulate",
        }
    }

    /// What it breaks, and who is known to.
    pub fn description(self) -> &'static str {
        match self {
            Fault::UdivRoundUp => "udiv/div round half up when d is odd and r = (d−1)/2 (the public Python rounding); RMSNorm uses it",
            Fault::Clamp128 => "clamp_i8 clamps to −128..127: the primitive, every layer (requantize, RMSNorm, ReGLU, RoPE) and the attention output",
            Fault::WrapAccumulator => "the attention accumulator is 32-bit and wraps (the latest public Rust)",
            Fault::RoundHalfUp => "requantize and RMSNorm's shift round half away from zero instead of ties to even (a GPU requantize epilogue)",
            Fault::Fp16Accumulate => "Linear's running sum kept in IEEE half precision (a GEMM with a 16-bit compute type)",
        }
    }

    /// The forward pass's arithmetic under this fault.
    pub fn variant(self) -> Variant {
        let n = Variant::NORMATIVE;
        match self {
            Fault::UdivRoundUp => Variant { rms_division: DivRounding::HalfUp, ..n },
            Fault::Clamp128 => Variant { attention: AttentionVariant::CLAMP_MINUS128, clamp: OutputClamp::Minus128, ..n },
            Fault::WrapAccumulator => Variant { attention: AttentionVariant::WRAP32, ..n },
            Fault::RoundHalfUp => Variant { shift: ShiftRounding::HalfAwayFromZero, ..n },
            Fault::Fp16Accumulate => Variant { linear: LinearSum::Fp16, ..n },
        }
    }
}

fn int_of(a: &Value, k: &str) -> Option<i128> {
    a.get(k).and_then(as_int)
}

/// Answers `op` with `fault` applied: the primitive the fault breaks, or the
/// reference with the fault's [`Variant`] (the reference itself for ops the
/// variant does not reach).
pub fn call(fault: Fault, ctx: &Context, op: Op, a: &Value) -> Outcome {
    let primitive = match (fault, op) {
        (Fault::UdivRoundUp, Op::UdivRneTteU32) => match (int_of(a, "n"), int_of(a, "d")) {
            (Some(n), Some(d)) => Some(json!({"result": udiv_round_up(n as u32, d as u32)})),
            _ => None,
        },
        (Fault::Clamp128, Op::ClampI8) => int_of(a, "x").map(|x| json!({"result": OutputClamp::Minus128.apply(x as i32)})),
        _ => None,
    };
    match primitive {
        Some(v) => Outcome::Result(v),
        None => reference_op_with(ctx, op, a, fault.variant()),
    }
}
