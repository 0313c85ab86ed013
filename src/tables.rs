//! Lookup tables of spec §2, regenerated from their formulas.
//!
//! The engine never computes with these: it uses the tables stored in the
//! model file (spec §2: "the engine must use the stored copy"). They exist so
//! that a conformance check can compare a model's stored tables with the
//! formulas and report any entry that differs — a fact about the model, not an
//! engine failure. Floating point is allowed here and only here.

/// Rows of the RoPE tables: pair index i = 0..31 of a 64-dim head.
pub const ROPE_PAIRS: usize = 32;

/// `E[i] = clamp(rne(2^(-i/256) · 65536), 1, 65535)` for i = 0..255 (spec §2).
pub fn exp2_table() -> [u16; 256] {
    let mut t = [0u16; 256];
    for (i, e) in t.iter_mut().enumerate() {
        let v = (2f64.powf(-(i as f64) / 256.0) * 65536.0).round_ties_even();
        *e = v.clamp(1.0, 65535.0) as u16;
    }
    t
}

/// RoPE tables (Q1.15) of spec §2 for positions 0..rows: returns
/// `(cos, sin)`, each `rows × 32`, row-major.
/// `angle = p · θ^(-2i/64)` with `θ = rope_theta_q16 / 65536`.
///
/// θ = 0 (no model has it; §2 is silent): `0^0 = 1` for pair 0, and for
/// i ≥ 1 the power is +∞, the angle NaN (p = 0) or +∞, its cos and sin NaN,
/// and the entry 0 — Rust's float→int conversion maps NaN to 0, as upstream
/// Rust's table generator does (the public Python package raises instead).
pub fn rope_tables(rows: usize, rope_theta_q16: u32) -> (Vec<i16>, Vec<i16>) {
    let theta = f64::from(rope_theta_q16) / 65536.0;
    let mut cos = Vec::with_capacity(rows * ROPE_PAIRS);
    let mut sin = Vec::with_capacity(rows * ROPE_PAIRS);
    let q15 = |v: f64| (v * 32768.0).round_ties_even().clamp(-32768.0, 32767.0) as i16;
    for p in 0..rows {
        for i in 0..ROPE_PAIRS {
            let inv_freq = theta.powf(-2.0 * i as f64 / 64.0);
            let angle = p as f64 * inv_freq;
            cos.push(q15(angle.cos()));
            sin.push(q15(angle.sin()));
        }
    }
    (cos, sin)
}

/// One entry where a stored table differs from its formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMismatch {
    /// `"exp2"`, `"rope_cos"` or `"rope_sin"`.
    pub table: &'static str,
    /// Flat index into the table (for RoPE: `p * 32 + i`).
    pub index: usize,
    pub stored: i32,
    pub generated: i32,
}

/// Compares stored tables with the formulas; returns every differing entry.
pub fn check_tables(
    exp2: &[u16; 256],
    rope_cos: &[i16],
    rope_sin: &[i16],
    rope_theta_q16: u32,
) -> Vec<TableMismatch> {
    let mut out = Vec::new();
    for (index, (&s, g)) in exp2.iter().zip(exp2_table()).enumerate() {
        if s != g {
            out.push(TableMismatch { table: "exp2", index, stored: s.into(), generated: g.into() });
        }
    }
    let rows = rope_cos.len() / ROPE_PAIRS;
    let (gc, gs) = rope_tables(rows, rope_theta_q16);
    for (table, stored, generated) in [("rope_cos", rope_cos, &gc), ("rope_sin", rope_sin, &gs)] {
        for (index, (&s, &g)) in stored.iter().zip(generated.iter()).enumerate() {
            if s != g {
                out.push(TableMismatch { table, index, stored: s.into(), generated: g.into() });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp2_table_edges() {
        let t = exp2_table();
        assert_eq!(t[0], 65535);
        assert_eq!(t[1], 65359);
        assert_eq!(t[128], 46341);
    }

    #[test]
    fn rope_row_zero() {
        let (c, s) = rope_tables(2, 10000 * 65536);
        assert!(c[..32].iter().all(|&v| v == 32767));
        assert!(s[..32].iter().all(|&v| v == 0));
    }
}
