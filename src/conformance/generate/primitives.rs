//! `primitive/*.jsonl`: every §1 function on edge values (0, ±1, the
//! extremes of its widths, every shift, exact ties of both parities, odd and
//! even divisors, the seed's check values) and on random values.

use serde_json::{json, Value};

use super::rng::Rng;
use super::{Gen, Suites};
use crate::conformance::case::{as_int, int, obj};

struct P<'a, 'p> {
    g: &'a mut Gen<'p>,
    op: &'static str,
}

impl P<'_, '_> {
    fn add(&mut self, kind: &str, args: Value, tags: &[&str]) -> Result<(), String> {
        let id = self.g.id(&format!("primitive.{}.{kind}", self.op));
        let mut t: Vec<&str> = tags.to_vec();
        if !["random", "seed"].contains(&kind) && !t.contains(&kind) {
            t.push(kind);
        }
        // §11 row 11: a zero divisor separates "returns 0" from "raises".
        if (self.op.starts_with("udiv") || self.op.starts_with("div")) && args.get("d").and_then(as_int) == Some(0) {
            t.push("divergence:division_by_zero");
        }
        let file = format!("primitive/{}.jsonl", self.op);
        // Inputs outside the domain where implementations must agree are in no required suite.
        self.g.in_suites(if t.contains(&"optional") { Suites::NONE } else { Suites::all(&["core"]) });
        self.g.case(&file, &id, self.op, args).tags(&t).expect(&["result"]).map(|_| ())
    }
}

/// Ties of a rounding shift by `sh`: `(2q+1)·2^(sh−1)` for q even and odd, both signs.
pub fn shift_ties(sh: u32, lo: i128, hi: i128) -> Vec<i128> {
    let mut out = Vec::new();
    if sh == 0 {
        return out;
    }
    let h = 1i128 << (sh - 1);
    for q in [0i128, 1, 2, 3, 6, 7] {
        for s in [1i128, -1] {
            let v = s * (2 * q + 1) * h;
            if (lo..=hi).contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

// Edge values of each §1 function, shared with `czip-conformance fuzz`
// (`conformance::fuzz::generators`), which draws from them.

/// `sra_rne_tte_s32`: values tried at every shift (with `i32::MIN`, tagged apart).
pub const SRA32_EDGES: [i32; 8] = [0, 1, -1, 2, -2, i32::MAX, i32::MIN + 1, i32::MAX - 1];
/// `sra_rne_tte_s64_to_s32`: values tried at every shift.
pub const SRA64_EDGES: [i64; 12] = [
    0,
    1,
    -1,
    i64::MAX,
    i64::MIN,
    i64::MIN + 1,
    i32::MAX as i64,
    i32::MIN as i64,
    i32::MAX as i64 + 1,
    i32::MIN as i64 - 1,
    1 << 40,
    -(1 << 40),
];
/// `udiv_rne_tte_u32`: numerators × divisors.
pub const UDIV_NUMERATORS: [u32; 12] = [0, 1, 2, 3, 4, 5, 7, 1 << 31, (1 << 31) - 1, u32::MAX, u32::MAX - 1, 8388608];
pub const UDIV_DIVISORS: [u32; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 256, 24929, (1 << 31) - 1, 1 << 31];
/// Odd divisors whose remainder (d−1)/2 separates the §11 row 1 rounding.
pub const UDIV_ODD_DIVISORS: [u32; 9] = [3, 5, 7, 9, 11, 101, 24929, 65535, (1 << 31) - 1];
/// Even divisors of exact ties.
pub const UDIV_TIE_DIVISORS: [u32; 8] = [2, 4, 6, 10, 256, 65536, 1 << 30, 1 << 31];
/// `div_rne_tte_s32`: numerators × divisors (but `i32::MIN / −1`).
pub const DIV32_EDGES: [i32; 12] = [0, 1, -1, 2, -2, 3, -3, 7, -7, i32::MAX, i32::MIN, i32::MIN + 1];
/// `div_rne_tte_s64_to_s32`: numerators × divisors.
pub const DIV64_NUMERATORS: [i64; 11] = [0, 1, -1, 3, -3, i64::MAX, i64::MIN, i32::MAX as i64, i32::MIN as i64, i32::MAX as i64 + 1, i32::MIN as i64 - 1];
pub const DIV64_DIVISORS: [u64; 9] = [0, 1, 2, 3, 65535, 1 << 31, 1 << 32, u64::MAX, 1 << 63];
/// `isqrt32`: edge arguments, and roots k whose k², k² ± 1 are tried.
pub const ISQRT_EDGES: [u32; 15] = [0, 1, 2, 3, 4, 5, 8, 9, 10, u32::MAX, 1 << 31, (1 << 31) - 1, 65536, 9483 * 65536, 9482 * 65536];
pub const ISQRT_ROOTS: [u64; 10] = [2, 3, 255, 256, 1000, 24929, 24930, 46340, 46341, 65535];
/// `clamp_i8`: edge arguments (−128 is tagged apart).
pub const CLAMP_EDGES: [i32; 14] = [0, 1, -1, 126, 127, 128, -126, -127, 129, -129, 255, -255, i32::MAX, i32::MIN];

pub fn generate(g: &mut Gen) -> Result<(), String> {
    g.say("primitives");
    sra32(g)?;
    sra64(g)?;
    udiv(g)?;
    div32(g)?;
    div64(g)?;
    isqrt(g)?;
    clamp(g)?;
    argmax(g)?;
    Ok(())
}

fn sra32(g: &mut Gen) -> Result<(), String> {
    let mut p = P { g, op: "sra_rne_tte_s32" };
    for (v, sh) in [(7, 1), (5, 1), (1234567, 10)] {
        p.add("seed", json!({"v": v, "sh": sh}), &["seed"])?;
    }
    let (lo, hi) = (i32::MIN as i128, i32::MAX as i128);
    for sh in 0..=31u32 {
        for v in SRA32_EDGES {
            p.add("edge", json!({"v": v, "sh": sh}), &[])?;
        }
        p.add("edge", json!({"v": i32::MIN, "sh": sh}), &["divergence:sra_i32_min"])?;
        for v in shift_ties(sh, lo, hi) {
            p.add("tie", json!({"v": v as i64, "sh": sh}), &[])?;
            // One either side of the tie.
            for d in [-1i128, 1] {
                if (lo..=hi).contains(&(v + d)) && sh > 1 {
                    p.add("near_tie", json!({"v": (v + d) as i64, "sh": sh}), &[])?;
                }
            }
        }
    }
    let mut r = Rng::new(0x5a_0001);
    for _ in 0..200 {
        let (v, sh) = (r.i32_any_scale(), r.below(32));
        p.add("random", json!({"v": v, "sh": sh}), &["random"])?;
    }
    Ok(())
}

fn sra64(g: &mut Gen) -> Result<(), String> {
    let mut p = P { g, op: "sra_rne_tte_s64_to_s32" };
    let (lo, hi) = (i64::MIN as i128, i64::MAX as i128);
    for sh in 0..=63u32 {
        for v in SRA64_EDGES {
            p.add("edge", json!({"v": int(v), "sh": sh}), &[])?;
        }
        for v in shift_ties(sh, lo, hi) {
            p.add("tie", json!({"v": int(v), "sh": sh}), &[])?;
        }
        // Just inside / outside the i32 range after the shift (saturation).
        if sh < 62 {
            for base in [i32::MAX as i128, i32::MIN as i128] {
                for d in [-1i128, 0, 1] {
                    let v = (base + d) << sh;
                    if (lo..=hi).contains(&v) {
                        p.add("saturation", json!({"v": int(v as i64), "sh": sh}), &[])?;
                    }
                }
            }
        }
    }
    let mut r = Rng::new(0x5a_0002);
    for _ in 0..200 {
        let (v, sh) = (r.i64_any_scale(), r.below(64));
        p.add("random", json!({"v": int(v), "sh": sh}), &["random"])?;
    }
    Ok(())
}

fn udiv(g: &mut Gen) -> Result<(), String> {
    let mut p = P { g, op: "udiv_rne_tte_u32" };
    p.add("seed", json!({"n": 1000000, "d": 3}), &["seed", "divergence:udiv_round_half_up"])?;
    for n in UDIV_NUMERATORS {
        for d in UDIV_DIVISORS {
            p.add("edge", json!({"n": n, "d": d}), &[])?;
        }
    }
    // Odd divisors with r = (d−1)/2: nearest is q, Python rounds up (§11).
    for d in UDIV_ODD_DIVISORS {
        for q in [0u32, 1, 2, 333333, 1000] {
            let n = q as u64 * d as u64 + (d as u64 - 1) / 2;
            if n <= u32::MAX as u64 {
                p.add("odd_half", json!({"n": n, "d": d}), &["divergence:udiv_round_half_up"])?;
            }
            let n2 = q as u64 * d as u64 + (d as u64).div_ceil(2);
            if n2 <= u32::MAX as u64 && d > 1 {
                p.add("odd_half", json!({"n": n2, "d": d}), &[])?;
            }
        }
    }
    // Exact ties (even divisors), both parities of q.
    for d in UDIV_TIE_DIVISORS {
        for q in [0u32, 1, 2, 3, 1000, 1001] {
            let n = q as u64 * d as u64 + d as u64 / 2;
            if n <= u32::MAX as u64 {
                p.add("tie", json!({"n": n, "d": d}), &[])?;
            }
        }
    }
    // RMSNorm's only use: 2^23 / s for every s that isqrt can give (s ≥ 256).
    for s in [256u32, 257, 1000, 24928, 24929, 24930, 46340, 65535, 8388607, 8388608] {
        p.add("rmsnorm_inverse", json!({"n": 8388608, "d": s}), if s == 24929 { &["divergence:udiv_round_half_up"] } else { &[] })?;
    }
    // Divisors above 2^31: outside the domain where implementations must agree (§11).
    for (n, d) in [(u32::MAX, u32::MAX - 1), (u32::MAX, (1u32 << 31) + 1), (3u32 << 30, u32::MAX), (u32::MAX - 5, 3 << 30)] {
        p.add("large_divisor", json!({"n": n, "d": d}), &["divergence:udiv_large_divisor", "optional"])?;
    }
    let mut r = Rng::new(0x5a_0003);
    for _ in 0..200 {
        let n = r.u32_any_scale();
        let d = r.u32_any_scale().min(1 << 31);
        p.add("random", json!({"n": n, "d": d}), &["random"])?;
    }
    Ok(())
}

fn div32(g: &mut Gen) -> Result<(), String> {
    let mut p = P { g, op: "div_rne_tte_s32" };
    for n in DIV32_EDGES {
        for d in DIV32_EDGES {
            if n == i32::MIN && d == -1 {
                continue; // outside the spec's domain (the quotient does not fit)
            }
            p.add("edge", json!({"n": n, "d": d}), &[])?;
        }
    }
    for (d, q) in [(2i32, 0i32), (2, 1), (2, 2), (2, 3), (4, 5), (10, 6), (10, 7)] {
        for (sn, sd) in [(1, 1), (-1, 1), (1, -1), (-1, -1)] {
            p.add("tie", json!({"n": sn * (q * d + d / 2), "d": sd * d}), &[])?;
        }
    }
    for (d, q) in [(3i32, 0i32), (3, 333333), (5, 2), (7, 3), (24929, 336)] {
        for (sn, sd) in [(1, 1), (-1, 1), (1, -1), (-1, -1)] {
            p.add("odd_half", json!({"n": sn * (q * d + (d - 1) / 2), "d": sd * d}), &["divergence:udiv_round_half_up"])?;
        }
    }
    let mut r = Rng::new(0x5a_0004);
    for _ in 0..200 {
        let (n, d) = (r.i32_any_scale(), r.i32_any_scale());
        if n == i32::MIN && d == -1 {
            continue;
        }
        p.add("random", json!({"n": n, "d": d}), &["random"])?;
    }
    Ok(())
}

fn div64(g: &mut Gen) -> Result<(), String> {
    let mut p = P { g, op: "div_rne_tte_s64_to_s32" };
    for n in DIV64_NUMERATORS {
        for d in DIV64_DIVISORS {
            p.add("edge", obj([("n", int(n)), ("d", int(d))]), &[])?;
        }
    }
    for (d, q) in [(2u64, 0i64), (2, 1), (2, 2), (65536, 3), (65536, 4), (131070, 127), (131070, 126)] {
        for s in [1i64, -1] {
            let n = s * (q * d as i64 + d as i64 / 2);
            p.add("tie", obj([("n", int(n)), ("d", int(d))]), &[])?;
        }
    }
    for (d, q) in [(3u64, 0i64), (3, 333333), (65535, 127), (196605, 127)] {
        for s in [1i64, -1] {
            let n = s * (q * d as i64 + (d as i64 - 1) / 2);
            p.add("odd_half", obj([("n", int(n)), ("d", int(d))]), &["divergence:udiv_round_half_up"])?;
        }
    }
    let mut r = Rng::new(0x5a_0005);
    for _ in 0..200 {
        let n = r.i64_any_scale();
        let d = r.i64_any_scale().unsigned_abs();
        p.add("random", obj([("n", int(n)), ("d", int(d))]), &["random"])?;
    }
    Ok(())
}

fn isqrt(g: &mut Gen) -> Result<(), String> {
    let mut p = P { g, op: "isqrt32" };
    p.add("seed", json!({"x": 1000000}), &["seed"])?;
    p.add("seed", json!({"x": 2147483647}), &["seed"])?;
    for x in ISQRT_EDGES {
        p.add("edge", json!({"x": x}), &[])?;
    }
    for k in ISQRT_ROOTS {
        for d in [-1i64, 0, 1] {
            let x = (k * k) as i64 + d;
            if (0..=u32::MAX as i64).contains(&x) {
                p.add("square", json!({"x": x}), &[])?;
            }
        }
    }
    let mut r = Rng::new(0x5a_0006);
    for _ in 0..100 {
        p.add("random", json!({"x": r.u32_any_scale()}), &["random"])?;
    }
    Ok(())
}

fn clamp(g: &mut Gen) -> Result<(), String> {
    let mut p = P { g, op: "clamp_i8" };
    for x in CLAMP_EDGES {
        p.add("edge", json!({"x": x}), &[])?;
    }
    p.add("edge", json!({"x": -128}), &["divergence:clamp_i8_range"])?;
    let mut r = Rng::new(0x5a_0007);
    for _ in 0..50 {
        p.add("random", json!({"x": r.i32_any_scale() >> r.below(24)}), &["random"])?;
    }
    Ok(())
}

fn argmax(g: &mut Gen) -> Result<(), String> {
    let mut p = P { g, op: "argmax" };
    let fixed: Vec<Vec<i32>> = vec![
        vec![0],
        vec![i32::MIN],
        vec![5, 5],
        vec![1, 2, 3, 3],
        vec![3, 1, 3],
        vec![i32::MIN, i32::MIN, i32::MIN],
        vec![i32::MAX, 0, i32::MAX],
        vec![-1, -2, -1],
        vec![0; 1024],
    ];
    for xs in fixed {
        let t: &[&str] = if xs.len() > 1 && xs.iter().filter(|&&x| x == *xs.iter().max().unwrap()).count() > 1 { &["tie"] } else { &[] };
        p.add("edge", json!({"xs": xs}), t)?;
    }
    let mut r = Rng::new(0x5a_0008);
    for i in 0..40 {
        let n = [2usize, 3, 17, 258, 1024, 5000][i % 6];
        let mut xs: Vec<i32> = (0..n).map(|_| r.i32_any_scale() >> r.below(20)).collect();
        let mut tags = vec!["random"];
        if i % 2 == 0 {
            // Plant the maximum twice or more (ties → smallest index).
            let m = *xs.iter().max().unwrap_or(&0);
            for _ in 0..2 + r.below(3) {
                let at = r.below(n as u64) as usize;
                xs[at] = m;
            }
            tags.push("tie");
        }
        p.add("random", json!({"xs": crate::conformance::case::array(&xs.iter().map(|&x| x as i64).collect::<Vec<_>>(), crate::conformance::case::Dtype::I32)}), &tags)?;
    }
    Ok(())
}
