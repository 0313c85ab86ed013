//! Shrinking a disagreement to a minimal case: a small greedy shrinker with a
//! fixed order (proptest's value trees shrink one generated value; here the
//! value is a JSON request whose parts are tied together — `linear`'s `w` is
//! `n_out` rows of `len(x)` — so the moves below know the op's structure).
//!
//! A *move* rewrites the arguments into a smaller request. The moves of a
//! request, in the order they are tried:
//!
//! 1. scalars: every integer argument to 0, ±1, half of it, the power of two
//!    at or below its magnitude, its negation when negative, one step toward 0;
//! 2. fewer items, granularity by granularity as in delta debugging (each
//!    half removed, then each quarter, … down to single items, at most 256
//!    chunks per granularity): at each granularity, first the op's tied parts
//!    together (rows and columns of `linear`, steps of `attention`, the
//!    pairs of `rmsnorm` and `reglu`, a symbol with its table), then every
//!    integer array, text and hex string on its own, then every integer
//!    array with one chunk of the previous (coarser) granularity zeroed —
//!    so the budget goes to coarse moves of every part before fine ones. At
//!    the first granularity also the moves that have none: `attention`'s
//!    repeat shorter or dropped, `output` `"last"`, the sink key dropped, a
//!    head dropped, a step's query, key or value block zeroed; a trace's
//!    tokens after its position, `model_logits`' last position alone;
//!    `compress` at level 1, with brotli; fewer
//!    symbols decoded;
//! 3. each element (of the first 256 of each array) moved as a scalar (but
//!    to 0, tried in 2.); each text character that is not a lowercase ASCII
//!    letter made `a`.
//!
//! Every move makes the request strictly smaller (fewer items, or a smaller
//! magnitude, or a simpler character), so shrinking ends. The shrinker keeps
//! the first move whose request still *reproduces* (the caller's test: the
//! implementation still disagrees the same way), then goes on with the moves
//! of the new request from the same position; a pass with no kept move ends
//! it. Every query of the implementation counts against the budget; a move
//! whose expectation changes kind (the reference now refuses it) is not sent.

use serde_json::Value;

use crate::conformance::case::{array, as_array, as_int, hex, int, unhex, Dtype};
use crate::conformance::op_table::{ArgKind, Op};

/// What one shrink did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ShrinkStats {
    /// Moves kept.
    pub steps: usize,
    /// Queries of the implementation.
    pub calls: usize,
    /// Whether the budget ran out before a pass kept nothing.
    pub budget_exhausted: bool,
}

/// Shrinks `args` of `op` while `reproduces(args)` holds, with at most
/// `budget` calls of `reproduces` that return `Some` (a `None` is a move that
/// was not worth sending: free). Returns the smallest arguments found.
pub fn shrink(op: Op, args: &Value, budget: usize, reproduces: &mut dyn FnMut(&Value) -> Option<bool>) -> (Value, ShrinkStats) {
    let mut cur = args.clone();
    let mut st = ShrinkStats::default();
    // Moves that were not sent (refused by the reference) are free; bound them too.
    let mut free = 0usize;
    loop {
        let mut kept = false;
        let mut i = 0;
        let mut moves = moves(op, &cur);
        while i < moves.len() {
            if st.calls >= budget || free >= budget * 50 {
                st.budget_exhausted = true;
                return (cur, st);
            }
            match reproduces(&moves[i]) {
                None => free += 1,
                Some(yes) => {
                    st.calls += 1;
                    if yes {
                        cur = moves.swap_remove(i);
                        st.steps += 1;
                        kept = true;
                        moves = self::moves(op, &cur);
                        continue;
                    }
                }
            }
            i += 1;
        }
        if !kept {
            return (cur, st);
        }
    }
}

/// The element type an array argument is stored with (for packing long ones).
fn dtype(op: Op, key: &str) -> Dtype {
    match (op, key) {
        (Op::Requantize, "x") | (Op::Argmax, _) | (Op::FreqTable, _) | (Op::Attention, "score_mult") => Dtype::I32,
        (Op::Rope, "cos" | "sin") => Dtype::I16,
        (Op::Linear | Op::Rmsnorm | Op::Reglu | Op::Rope | Op::Attention, _) => Dtype::I8,
        _ => Dtype::U32,
    }
}

fn with(args: &Value, key: &str, v: Value) -> Value {
    let mut a = args.clone();
    a[key] = v;
    a
}

fn ints(args: &Value, key: &str) -> Option<Vec<i64>> {
    args.get(key).and_then(as_array)
}

/// Smaller integers than `x`, simplest first: 0, ±1, x/2, the power of two
/// at or below |x| (with x's sign), −x when x is negative (a positive value
/// of the same magnitude is simpler), x one step toward 0.
pub fn smaller_ints(x: i128) -> Vec<i128> {
    let s = x.signum();
    let mag = x.unsigned_abs();
    let pow2 = if mag == 0 { 0 } else { 1u128 << (127 - mag.leading_zeros()) };
    let mut out = Vec::new();
    for c in [0, s, x / 2, s * pow2 as i128, -x, x - s] {
        let simpler = c.unsigned_abs() < mag || (c.unsigned_abs() == mag && c > x);
        if simpler && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Most chunks one granularity of [`removals`] or [`zeroings`] makes (the
/// finest levels of long arrays are left out).
const MAX_CHUNKS: usize = 256;

/// The chunk ranges of level `level` (≥ 1) of a list of `n` items: chunks of
/// ⌈n / 2^level⌉ items; `None` when the level is finer than one item or has
/// more than [`MAX_CHUNKS`] chunks.
fn chunks(n: usize, level: u32) -> Option<Vec<std::ops::Range<usize>>> {
    if n == 0 || level > 30 {
        return None;
    }
    let size = n.div_ceil(1 << level);
    // A level finer than single items repeats the previous one.
    if level > 1 && n.div_ceil(1 << (level - 1)) == 1 {
        return None;
    }
    if n.div_ceil(size) > MAX_CHUNKS {
        return None;
    }
    Some((0..n).step_by(size).map(|a| a..(a + size).min(n)).collect())
}

/// The lists with one chunk of level `level` removed (delta debugging's
/// order: halves first, then quarters, … down to single items).
fn removals<T: Clone>(xs: &[T], level: u32) -> Vec<Vec<T>> {
    chunks(xs.len(), level).unwrap_or_default().into_iter().map(|c| [&xs[..c.start], &xs[c.end..]].concat()).collect()
}

/// The arrays with one chunk of level `level` zeroed (level 0: the whole
/// array), when that changes something.
fn zeroings(xs: &[i64], level: u32) -> Vec<Vec<i64>> {
    let whole = std::iter::once(0..xs.len()).collect::<Vec<_>>();
    let ranges = if level == 0 { whole } else { chunks(xs.len(), level).unwrap_or_default() };
    ranges
        .into_iter()
        .filter(|c| xs[c.clone()].iter().any(|&x| x != 0))
        .map(|c| {
            let mut v = xs.to_vec();
            v[c].fill(0);
            v
        })
        .collect()
}

fn text_of(args: &Value, key: &str) -> Option<Vec<u8>> {
    args.get(key)?.get("hex")?.as_str().and_then(unhex)
}

/// A text with one chunk of level `level` removed: as characters when UTF-8, else as bytes.
fn shorter_text(bytes: &[u8], level: u32) -> Vec<Vec<u8>> {
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            let chars: Vec<char> = s.chars().collect();
            removals(&chars, level).into_iter().map(|cs| cs.into_iter().collect::<String>().into_bytes()).collect()
        }
        Err(_) => removals(bytes, level),
    }
}

/// The text with one character (of the first 256) that is not a lowercase
/// ASCII letter made `a`.
fn simpler_text(bytes: &[u8]) -> Vec<Vec<u8>> {
    let Ok(s) = std::str::from_utf8(bytes) else { return Vec::new() };
    let chars: Vec<char> = s.chars().collect();
    (0..chars.len().min(MAX_CHUNKS))
        .filter(|&i| !chars[i].is_ascii_lowercase())
        .map(|i| {
            let mut c = chars.clone();
            c[i] = 'a';
            c.into_iter().collect::<String>().into_bytes()
        })
        .collect()
}

/// Every move of a request, in the module's order.
pub fn moves(op: Op, args: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let spec = op.spec();
    let of_kind = |kind: ArgKind| spec.args.iter().filter(move |a| a.kind == kind).map(|a| a.name);
    let arrays: Vec<(&str, Vec<i64>)> = of_kind(ArgKind::IntArray).filter_map(|k| Some((k, ints(args, k)?))).collect();
    let texts: Vec<(&str, Vec<u8>)> = of_kind(ArgKind::Text).filter_map(|k| Some((k, text_of(args, k)?))).collect();
    // Bytes only: `model_id_hash` is 8 hex digits, not a list.
    let hexes: Vec<(&str, Vec<u8>)> =
        of_kind(ArgKind::Hex).filter(|&k| k != "model_id_hash").filter_map(|k| Some((k, args.get(k)?.as_str().and_then(unhex)?))).collect();
    let text_val = |t: &[u8]| serde_json::json!({"hex": hex(t)});
    // 1. Scalars.
    for a in spec.args {
        if matches!(a.kind, ArgKind::Int | ArgKind::UInt | ArgKind::UIntOrNull) {
            if let Some(x) = args.get(a.name).and_then(as_int) {
                out.extend(smaller_ints(x).into_iter().map(|c| with(args, a.name, int(c))));
            }
        }
    }
    // 2. Granularity by granularity: the op's tied parts, every array, text
    // and hex string shorter by one chunk; every array with one chunk of the
    // coarser granularity zeroed.
    for level in 1..=12 {
        out.extend(structural(op, args, level));
        for (k, xs) in &arrays {
            out.extend(removals(xs, level).into_iter().map(|v| with(args, k, array(&v, dtype(op, k)))));
        }
        for (k, t) in &texts {
            out.extend(shorter_text(t, level).into_iter().map(|t| with(args, k, text_val(&t))));
        }
        for (k, b) in &hexes {
            out.extend(removals(b, level).into_iter().map(|v| with(args, k, Value::String(hex(&v)))));
        }
        for (k, xs) in &arrays {
            out.extend(zeroings(xs, level - 1).into_iter().map(|v| with(args, k, array(&v, dtype(op, k)))));
        }
    }
    // 3. Each element smaller.
    for (k, xs) in &arrays {
        for i in 0..xs.len().min(MAX_CHUNKS) {
            // (0 was a zeroing already)
            for c in smaller_ints(xs[i].into()).into_iter().filter(|&c| c != 0) {
                let mut v = xs.clone();
                v[i] = c as i64;
                out.push(with(args, k, array(&v, dtype(op, k))));
            }
        }
    }
    for (k, t) in &texts {
        out.extend(simpler_text(t).into_iter().map(|t| with(args, k, text_val(&t))));
    }
    out
}

/// The op's tied parts, made fewer together: one chunk of granularity
/// `level` removed (and, at level 1, the moves that have no granularity).
fn structural(op: Op, args: &Value, level: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let first = level == 1;
    match op {
        Op::Linear => {
            let (Some(x), Some(w), Some(n_out)) = (ints(args, "x"), ints(args, "w"), args.get("n_out").and_then(Value::as_u64)) else { return out };
            let n_in = x.len();
            if n_in == 0 || w.len() != n_in * n_out as usize {
                return out;
            }
            let rows: Vec<Vec<i64>> = w.chunks(n_in).map(<[i64]>::to_vec).collect();
            // Fewer output rows.
            for rs in removals(&rows, level) {
                out.push(with(&with(args, "w", array(&rs.concat(), Dtype::I8)), "n_out", rs.len().into()));
            }
            // Fewer input columns (x and every row together).
            let cols: Vec<usize> = (0..n_in).collect();
            for keep in removals(&cols, level) {
                if keep.is_empty() {
                    continue;
                }
                let x2: Vec<i64> = keep.iter().map(|&j| x[j]).collect();
                let w2: Vec<i64> = rows.iter().flat_map(|r| keep.iter().map(|&j| r[j])).collect();
                out.push(with(&with(args, "x", array(&x2, Dtype::I8)), "w", array(&w2, Dtype::I8)));
            }
        }
        Op::Rmsnorm | Op::Reglu => {
            let (ka, kb) = if op == Op::Rmsnorm { ("x", "w") } else { ("gate", "up") };
            let (Some(a), Some(b)) = (ints(args, ka), ints(args, kb)) else { return out };
            if a.len() != b.len() {
                return out;
            }
            let idx: Vec<usize> = (0..a.len()).collect();
            for keep in removals(&idx, level) {
                let a2: Vec<i64> = keep.iter().map(|&i| a[i]).collect();
                let b2: Vec<i64> = keep.iter().map(|&i| b[i]).collect();
                out.push(with(&with(args, ka, array(&a2, Dtype::I8)), kb, array(&b2, Dtype::I8)));
            }
        }
        Op::Attention => attention_moves(args, level, &mut out),
        // A rounding tie keeps its place when the value and the shift both
        // drop by one power of two: (v/2, sh−1), (x/2 or mult/2, shift−1).
        Op::SraRneTteS32 | Op::SraRneTteS64ToS32 if first => {
            if let (Some(v), Some(sh)) = (args.get("v").and_then(as_int), args.get("sh").and_then(Value::as_u64)) {
                if sh > 0 && v % 2 == 0 && v != 0 {
                    out.push(with(&with(args, "v", int(v / 2)), "sh", (sh - 1).into()));
                }
            }
        }
        Op::Requantize if first => {
            let (Some(x), Some(mult), Some(shift)) = (ints(args, "x"), args.get("mult").and_then(as_int), args.get("shift").and_then(as_int)) else { return out };
            if shift > 1 {
                if x.iter().all(|v| v % 2 == 0) && x.iter().any(|&v| v != 0) {
                    let half: Vec<i64> = x.iter().map(|v| v / 2).collect();
                    out.push(with(&with(args, "x", array(&half, Dtype::I32)), "shift", int(shift - 1)));
                }
                if mult % 2 == 0 && mult != 0 {
                    out.push(with(&with(args, "mult", int(mult / 2)), "shift", int(shift - 1)));
                }
            }
        }
        Op::CoderEncode => {
            let (Some(s), Some(t)) = (ints(args, "symbols"), args.get("tables").and_then(Value::as_array)) else { return out };
            if s.len() != t.len() {
                return out;
            }
            let idx: Vec<usize> = (0..s.len()).collect();
            for keep in removals(&idx, level) {
                let s2: Vec<i64> = keep.iter().map(|&i| s[i]).collect();
                let t2: Vec<Value> = keep.iter().map(|&i| t[i].clone()).collect();
                out.push(with(&with(args, "symbols", array(&s2, Dtype::U32)), "tables", Value::Array(t2)));
            }
        }
        Op::CoderDecode | Op::ChunkDecode if first => {
            // Fewer symbols decoded (and their tables).
            let Some(n) = args.get("n").and_then(Value::as_u64) else { return out };
            for m in [n / 2, n.saturating_sub(1)] {
                if m < n {
                    let mut a = with(args, "n", m.into());
                    if let Some(t) = args.get("tables").and_then(Value::as_array) {
                        a["tables"] = Value::Array(t.iter().take(m as usize).cloned().collect());
                    }
                    out.push(a);
                }
            }
        }
        Op::ModelTrace if first => {
            // The tokens after the position are never fed.
            if let (Some(t), Some(p)) = (ints(args, "tokens"), args.get("position").and_then(Value::as_u64)) {
                if t.len() > p as usize {
                    out.push(with(args, "tokens", array(&t[..p as usize], Dtype::U32)));
                }
            }
        }
        Op::ModelLogits if first => {
            // Only the last listed position, the tokens up to it.
            if let (Some(t), Some(ps)) = (ints(args, "tokens"), ints(args, "positions")) {
                if let Some(&last) = ps.iter().max() {
                    if ps.len() > 1 {
                        out.push(with(args, "positions", serde_json::json!([last])));
                    }
                    if t.len() > last as usize {
                        out.push(with(args, "tokens", array(&t[..last as usize], Dtype::U32)));
                    }
                }
            }
        }
        Op::Compress if first => {
            if !args.get("level").is_some_and(Value::is_null) && args.get("level").and_then(Value::as_u64) != Some(1) {
                out.push(with(args, "level", 1.into()));
            }
            if args.get("codec").and_then(Value::as_str) != Some("brotli") {
                out.push(with(args, "codec", "brotli".into()));
            }
        }
        _ => {}
    }
    out
}

fn attention_moves(args: &Value, level: u32, out: &mut Vec<Value>) {
    let Some(n_heads) = args.get("n_heads").and_then(Value::as_u64).map(|n| n as usize) else { return };
    let steps: Vec<Vec<i64>> = args.get("steps").and_then(Value::as_array).map(|s| s.iter().filter_map(as_array).collect()).unwrap_or_default();
    let a8 = |v: &[i64]| array(v, Dtype::I8);
    let steps_val = |ss: &[Vec<i64>]| Value::Array(ss.iter().map(|s| a8(s)).collect());
    // Fewer steps (at least one left, or the repeat).
    for ss in removals(&steps, level) {
        if !ss.is_empty() || args.get("repeat").is_some() {
            out.push(with(args, "steps", steps_val(&ss)));
        }
    }
    if level > 1 {
        return;
    }
    // Repeat: fewer copies, then none.
    if let Some(rep) = args.get("repeat") {
        let count = rep.get("count").and_then(Value::as_u64).unwrap_or(0);
        let mut none = args.clone();
        if let Some(o) = none.as_object_mut() {
            o.remove("repeat");
        }
        out.push(none);
        for c in smaller_ints(count.into()) {
            let mut a = args.clone();
            a["repeat"]["count"] = (c as u64).into();
            out.push(a);
        }
    }
    if args.get("output").and_then(Value::as_str) == Some("all") {
        out.push(with(args, "output", "last".into()));
    }
    if args.get("sink_key").is_some_and(|s| !s.is_null()) {
        out.push(with(args, "sink_key", Value::Null));
    }
    // Fewer heads: head h's query block and score multiplier go.
    if n_heads > 1 {
        let mult = ints(args, "score_mult").unwrap_or_default();
        for h in (0..n_heads).rev() {
            let drop = |s: &[i64]| -> Vec<i64> { s.iter().enumerate().filter(|(i, _)| i / 64 != h || *i >= 64 * n_heads).map(|(_, &x)| x).collect() };
            let mut a = with(args, "n_heads", (n_heads - 1).into());
            a["score_mult"] = mult.iter().enumerate().filter(|(i, _)| *i != h).map(|(_, &m)| m).collect::<Vec<_>>().into();
            a["steps"] = steps_val(&steps.iter().map(|s| drop(s)).collect::<Vec<_>>());
            if let Some(q) = args.get("repeat").and_then(|r| r.get("qkv")).and_then(as_array) {
                a["repeat"]["qkv"] = a8(&drop(&q));
            }
            out.push(a);
        }
    }
    // Each step's query, key and value blocks zeroed.
    let d = 64 * n_heads;
    for (i, s) in steps.iter().enumerate() {
        for (lo, hi) in [(0, d), (d, d + 64), (d + 64, d + 128)] {
            if s.get(lo..hi).is_some_and(|b| b.iter().any(|&x| x != 0)) {
                let mut ss = steps.clone();
                ss[i][lo..hi].fill(0);
                out.push(with(args, "steps", steps_val(&ss)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn smaller_ints_go_toward_zero_and_powers_of_two() {
        assert_eq!(smaller_ints(0), Vec::<i128>::new());
        assert_eq!(smaller_ints(1), [0]);
        assert_eq!(smaller_ints(-1), [0, 1]);
        assert_eq!(smaller_ints(1000), [0, 1, 500, 512, 999]);
        assert_eq!(smaller_ints(-300), [0, -1, -150, -256, 300, -299]);
        assert_eq!(smaller_ints(64), [0, 1, 32, 63]);
    }

    #[test]
    fn a_udiv_disagreement_shrinks_to_small_operands() {
        // The §11 row 1 rounding, as a predicate: (n, d) disagrees when d is
        // odd and n mod d = (d−1)/2.
        let mut reproduces = |a: &Value| {
            let (n, d) = (a["n"].as_u64()?, a["d"].as_u64()?);
            Some(d % 2 == 1 && n % d == (d - 1) / 2)
        };
        let (min, st) = shrink(Op::UdivRneTteU32, &json!({"n": 1_000_000, "d": 24929}), 500, &mut reproduces);
        assert_eq!(min, json!({"n": 0, "d": 1}));
        assert!(!st.budget_exhausted && st.steps > 0);
    }

    #[test]
    fn linear_shrinks_rows_and_columns_together() {
        let a = json!({"x": [1, 2, 3], "w": [1, 1, 1, 2, 2, 2], "n_out": 2});
        let m = moves(Op::Linear, &a);
        assert!(m.contains(&json!({"x": [1, 2, 3], "w": [1, 1, 1], "n_out": 1})));
        assert!(m.contains(&json!({"x": [2, 3], "w": [1, 1, 2, 2], "n_out": 2})));
    }
}
