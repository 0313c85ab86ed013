//! `layer/*.jsonl`: the §5 layers (requantize, linear, RMSNorm, ReGLU, RoPE
//! K and Q at every row of the 1024-row table, the attention step) and the
//! §6 exp and frequency table.

use serde_json::{json, Value};

use super::rng::Rng;
use super::tables::THETA_Q16;
use super::{Gen, Suites};
use crate::conformance::case::{array, Dtype};
use crate::tables::rope_tables;

fn a8(xs: &[i8]) -> Value {
    array(&xs.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::I8)
}
fn a32(xs: &[i32]) -> Value {
    array(&xs.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::I32)
}
fn a16(xs: &[i16]) -> Value {
    array(&xs.iter().map(|&x| x as i64).collect::<Vec<_>>(), Dtype::I16)
}

pub fn generate(g: &mut Gen) -> Result<(), String> {
    g.say("layers");
    g.in_suites(Suites::all(&["core"]));
    requantize(g)?;
    linear(g)?;
    rmsnorm(g)?;
    reglu(g)?;
    rope(g)?;
    attention(g)?;
    exp(g)?;
    freq_table(g)?;
    Ok(())
}

// Edge values of the layers, shared with `czip-conformance fuzz`
// (`conformance::fuzz::generators`), which draws from them.

/// `requantize`: the inputs of every edge case, and its (mult, shift) pairs.
pub const REQUANTIZE_EDGE_X: [i32; 16] = [0, 1, -1, 2, -2, 127, -127, 128, -128, 1000, -1000, i32::MAX, i32::MIN, i32::MIN + 1, 1 << 20, -(1 << 20)];
pub const REQUANTIZE_PARAMS: [(i32, i32); 13] =
    [(819, 20), (1, 0), (1, -1), (1, -7), (3, 0), (-2, 0), (1, 1), (1, 31), (1, 32), (i32::MAX, 63), (i32::MIN, 62), (819, 1), (-819, 20)];
/// `reglu`: (gate, up) pairs at the edges and ties of its shift.
#[rustfmt::skip]
pub const REGLU_PAIRS: [(i8, i8); 16] = [
    (0, 127), (-1, 127), (-128, -128), (127, 127), (127, -128), (127, -127), (1, 64), (3, 64),
    (1, -64), (3, -64), (1, 63), (1, 65), (2, 96), (5, -128), (127, 1), (-127, -127),
];
/// `exp_q16`: the published coefficients, and the edge arguments tried at each.
pub const EXP_COEFS: [u32; 2] = [378_194, 37_819];
pub const EXP_EDGES: [i32; 11] = [0, 1, 100, i32::MAX, -1, -2, -3, i32::MIN, -i32::MAX, -1000, -65536];
/// The frequency table's target total in the published models (2^30 − 2048).
pub const FREQ_TOTAL: u32 = 1_073_739_776;

fn requantize(g: &mut Gen) -> Result<(), String> {
    let f = "layer/requantize.jsonl";
    let add = |g: &mut Gen, kind: &str, x: &[i32], mult: i32, shift: i32, tags: &[&str]| {
        let id = g.id(&format!("layer.requantize.{kind}"));
        g.case(f, &id, "requantize", json!({"x": a32(x), "mult": mult, "shift": shift})).tags(tags).expect(&["y"]).map(|_| ())
    };
    for (mult, shift) in REQUANTIZE_PARAMS {
        let t: &[&str] = if shift <= 0 { &["edge", "shift_le_0"] } else { &["edge"] };
        add(g, "edge", &REQUANTIZE_EDGE_X, mult, shift, t)?;
    }
    // Exact ties x·mult = (2q+1)·2^(shift−1) for q even and odd, both signs.
    for shift in [1i32, 2, 10, 20] {
        let h = 1i64 << (shift - 1);
        let xs: Vec<i32> = [0i64, 1, 2, 3, 100, 101, 126, 127]
            .iter()
            .flat_map(|&q| [(2 * q + 1) * h, -(2 * q + 1) * h])
            .map(|v| v as i32)
            .collect();
        add(g, "tie", &xs, 1, shift, &["tie"])?;
    }
    // Saturation just at ±127.5.
    add(g, "saturation", &[127 << 4, (127 << 4) + 7, (127 << 4) + 8, (127 << 4) + 9, -(127 << 4) - 8, -(127 << 4) - 9], 1, 4, &["edge", "tie"])?;
    let mut r = Rng::new(0x1a_0001);
    for i in 0..24 {
        let n = [384usize, 512, 1024, 2048][i % 4];
        let x: Vec<i32> = (0..n).map(|_| (r.range(-4_000_000, 4_000_000)) as i32).collect();
        let (mult, shift) = match i % 3 {
            0 => (819, 20),
            1 => (r.range(1, 5000) as i32, r.range(12, 30) as i32),
            _ => (r.range(-3, 3) as i32, -(r.range(0, 4) as i32)),
        };
        let x: Vec<i32> = if shift <= 0 { x.iter().map(|v| v / 20000).collect() } else { x };
        add(g, "random", &x, mult, shift, &["random"])?;
    }
    Ok(())
}

fn linear(g: &mut Gen) -> Result<(), String> {
    let f = "layer/linear.jsonl";
    let add = |g: &mut Gen, kind: &str, x: &[i8], w: &[i8], n_out: usize, tags: &[&str]| {
        let id = g.id(&format!("layer.linear.{kind}"));
        g.case(f, &id, "linear", json!({"x": a8(x), "w": a8(w), "n_out": n_out})).tags(tags).expect(&["y"]).map(|_| ())
    };
    add(g, "edge", &[-128; 384], &[-128; 384 * 2], 2, &["edge"])?;
    add(g, "edge", &[127; 384], &[-128; 384], 1, &["edge"])?;
    add(g, "edge", &[0; 64], &[127; 64 * 3], 3, &["edge"])?;
    add(g, "edge", &[1], &[-1], 1, &["edge"])?;
    let mut r = Rng::new(0x1a_0002);
    for (i, (n_in, n_out)) in [(384usize, 8usize), (384, 3), (64, 64), (128, 32), (1024, 4), (7, 5), (256, 16), (512, 8)].into_iter().enumerate() {
        let x = r.i8_vec(n_in, -128, 127);
        let w = r.i8_vec(n_in * n_out, if i % 2 == 0 { -128 } else { -20 }, if i % 2 == 0 { 127 } else { 20 });
        add(g, "random", &x, &w, n_out, &["random"])?;
    }
    Ok(())
}

/// An i8 vector of length n (values in −127..=127) with Σx² in [lo, hi].
pub fn with_sum_squares(r: &mut Rng, n: usize, lo: u64, hi: u64) -> Option<Vec<i8>> {
    let mut xs = vec![0i64; n];
    let mut rem = lo as i64;
    for (i, x) in xs.iter_mut().enumerate() {
        let left = (n - i) as i64;
        // Aim at the mean square of what is left, with some jitter.
        let mean = (rem as f64 / left as f64).sqrt();
        let jitter = if left > 2 { r.range(-3, 3) } else { 0 };
        let mut v = ((mean.floor() as i64) + jitter).clamp(0, 127);
        if left == 1 {
            v = (rem as f64).sqrt().ceil() as i64;
        }
        *x = v.min(127);
        rem -= *x * *x;
    }
    let ss: i64 = xs.iter().map(|x| x * x).sum();
    if ss < lo as i64 || ss > hi as i64 {
        return None;
    }
    Some(xs.iter().map(|&x| if r.bool() { -x as i8 } else { x as i8 }).collect())
}

fn rmsnorm(g: &mut Gen) -> Result<(), String> {
    let f = "layer/rmsnorm.jsonl";
    let add = |g: &mut Gen, kind: &str, x: &[i8], w: &[i8], tags: &[&str]| {
        let id = g.id(&format!("layer.rmsnorm.{kind}"));
        g.case(f, &id, "rmsnorm", json!({"x": a8(x), "w": a8(w)})).tags(tags).expect(&["y"]).map(|_| ())
    };
    let mut r = Rng::new(0x1a_0003);
    // ⌊Σx²/384⌋ = 9482 → ms = 9483, s = 24929, 2^23/s has remainder (s−1)/2:
    // ties-to-even gives 336, the Python package 337 (§11).
    for i in 0..6 {
        let x = loop {
            if let Some(x) = with_sum_squares(&mut r, 384, 9482 * 384, 9482 * 384 + 383) {
                break x;
            }
        };
        let ss: u64 = x.iter().map(|&v| (v as i64 * v as i64) as u64).sum();
        debug_assert_eq!(ss / 384, 9482);
        let w: Vec<i8> = match i {
            0 => vec![127; 384],
            1 => vec![64; 384],
            2 => vec![-128; 384],
            _ => r.i8_vec(384, -128, 127),
        };
        add(g, "ms9483", &x, &w, &["divergence:udiv_round_half_up"])?;
    }
    for d in [64usize, 128, 256, 384, 512] {
        add(g, "edge", &vec![0; d], &vec![127; d], &["edge"])?;
        add(g, "edge", &vec![127; d], &vec![127; d], &["edge"])?;
        add(g, "edge", &vec![-127; d], &vec![-128; d], &["edge"])?;
        let mut one = vec![0i8; d];
        one[d / 2] = 1;
        add(g, "edge", &one, &vec![100; d], &["edge"])?;
        let mut spike = vec![0i8; d];
        spike[0] = -127;
        add(g, "edge", &spike, &vec![127; d], &["edge"])?;
    }
    for i in 0..30 {
        let d = [384usize, 128, 256, 512, 64][i % 5];
        let amp = [127i8, 40, 8, 2][i % 4];
        let x = r.i8_vec(d, -amp, amp);
        let w = r.i8_vec(d, -128, 127);
        add(g, "random", &x, &w, &["random"])?;
    }
    Ok(())
}

fn reglu(g: &mut Gen) -> Result<(), String> {
    let f = "layer/reglu.jsonl";
    let add = |g: &mut Gen, kind: &str, gate: &[i8], up: &[i8], tags: &[&str]| {
        let id = g.id(&format!("layer.reglu.{kind}"));
        g.case(f, &id, "reglu", json!({"gate": a8(gate), "up": a8(up)})).tags(tags).expect(&["y"]).map(|_| ())
    };
    let (gate, up): (Vec<i8>, Vec<i8>) = REGLU_PAIRS.iter().copied().unzip();
    add(g, "edge", &gate, &up, &["edge", "tie"])?;
    let mut r = Rng::new(0x1a_0004);
    for i in 0..12 {
        let n = [1024usize, 64, 128, 7][i % 4];
        add(g, "random", &r.i8_vec(n, -128, 127), &r.i8_vec(n, -128, 127), &["random"])?;
    }
    Ok(())
}

fn rope(g: &mut Gen) -> Result<(), String> {
    let (cos, sin) = rope_tables(1024, THETA_Q16);
    let mut r = Rng::new(0x1a_0005);
    let edge_rows = [0usize, 1, 2, 63, 64, 511, 1023];
    for (variant, query) in [("k", false), ("q", true)] {
        let f = format!("layer/rope_{variant}.jsonl");
        for p in 0..1024usize {
            let c = &cos[p * 32..p * 32 + 32];
            let s = &sin[p * 32..p * 32 + 32];
            let x = r.i8_vec(64, -127, 127);
            let id = format!("layer.rope.{variant}.p{p:04}");
            g.case(&f, &id, "rope", json!({"x": a8(&x), "cos": a16(c), "sin": a16(s), "query": query})).tags(&["random"]).expect(&["y"])?;
        }
        for &p in &edge_rows {
            let c = &cos[p * 32..p * 32 + 32];
            let s = &sin[p * 32..p * 32 + 32];
            for (k, x) in [vec![127i8; 64], vec![-128i8; 64], (0..64).map(|i| if i % 2 == 0 { 127 } else { -127 }).collect::<Vec<i8>>()].iter().enumerate() {
                let id = format!("layer.rope.{variant}.edge.p{p:04}.{k}");
                g.case(&f, &id, "rope", json!({"x": a8(x), "cos": a16(c), "sin": a16(s), "query": query})).tags(&["edge"]).expect(&["y"])?;
            }
        }
        // Extreme table rows that no formula gives (±32768 / 32767), ties of the shifts.
        let id = format!("layer.rope.{variant}.edge.extreme_row");
        let c: Vec<i16> = (0..32).map(|i| if i % 2 == 0 { -32768 } else { 32767 }).collect();
        let s: Vec<i16> = (0..32).map(|i| if i % 3 == 0 { -32768 } else { 16384 }).collect();
        let x: Vec<i8> = (0..64).map(|i| [-128i8, 127, 1, -1, 2, 3][i % 6]).collect();
        g.case(&f, &id, "rope", json!({"x": a8(&x), "cos": a16(&c), "sin": a16(&s), "query": query})).tags(&["edge", "tie"]).expect(&["y"])?;
    }
    Ok(())
}

/// The length of one attention step's QKV vector.
pub fn qkv_len(n_heads: usize) -> usize {
    64 * n_heads + 128
}

fn attention(g: &mut Gen) -> Result<(), String> {
    let f = "layer/attention.jsonl";
    let mut r = Rng::new(0x1a_0006);
    let run = |g: &mut Gen, kind: &str, n_heads: usize, mult: &[i32], sink: Option<&[i8]>, steps: &[Vec<i8>], repeat: Option<(&[i8], usize)>, output: &str, tags: &[&str]| {
        let id = g.id(&format!("layer.attention.{kind}"));
        let mut args = json!({
            "n_heads": n_heads,
            "score_mult": mult,
            "sink_key": sink.map(a8).unwrap_or(Value::Null),
            "rope_theta_q16": THETA_Q16,
            "steps": steps.iter().map(|s| a8(s)).collect::<Vec<_>>(),
            "output": output,
        });
        if let Some((qkv, count)) = repeat {
            args["repeat"] = json!({"qkv": a8(qkv), "count": count});
        }
        let mut req: Vec<&str> = Vec::new();
        if sink.is_some() {
            req.push("sink_key");
        }
        g.case(f, &id, "attention", args).context(&req).tags(tags).expect(&["out"]).map(|_| ())
    };

    // Output −127.5: two equal scores (q = k = 0) over values −127 and −128.
    // Ties-to-even gives −128, the one clamp gives −127; a −128..127 clamp keeps −128 (§11).
    for n_heads in [1usize, 6] {
        let d = 64 * n_heads;
        let mut s0 = vec![0i8; qkv_len(n_heads)];
        let mut s1 = s0.clone();
        s0[d + 64..].fill(-127);
        s1[d + 64..].fill(-128);
        run(g, "minus_127_5", n_heads, &vec![4096; n_heads], None, &[s0, s1], None, "all", &["divergence:clamp_minus_128", "tie", "edge"])?;
    }
    // A single value row of −128: the output −128 must clamp to −127.
    {
        let mut s0 = vec![0i8; qkv_len(1)];
        s0[64 + 64..].fill(-128);
        run(g, "minus_128", 1, &[4096], None, &[s0], None, "all", &["divergence:clamp_minus_128", "edge"])?;
    }
    // Accumulator beyond 2^31: q = k = 0 (all weights 65535), v = ±127, 300 and 1024 steps.
    // 65535·127·259 > 2^31: a 32-bit accumulator wraps from step 259 on (§11).
    for (n_heads, v, count, output) in [(1usize, 127i8, 299usize, "last"), (6, 127, 299, "last"), (1, -127, 299, "last"), (1, 127, 1023, "last"), (1, 127, 299, "all")] {
        let d = 64 * n_heads;
        let mut s = vec![0i8; qkv_len(n_heads)];
        s[d + 64..].fill(v);
        run(g, "accumulator", n_heads, &vec![4096; n_heads], None, &[s.clone()], Some((&s, count)), output, &["divergence:i32_accumulator", "edge"])?;
    }
    {
        // Mixed values: the wrap changes only some lanes.
        let mut s = vec![0i8; qkv_len(2)];
        for (i, x) in s[128 + 64..].iter_mut().enumerate() {
            *x = if i % 3 == 0 { 127 } else { (i as i8).wrapping_mul(7) };
        }
        run(g, "accumulator", 2, &[100, 9000], None, &[s.clone()], Some((&s, 400)), "last", &["divergence:i32_accumulator", "edge"])?;
    }
    // Equal scores everywhere (q = 0), random values.
    for n_heads in [1usize, 2, 4] {
        let steps: Vec<Vec<i8>> = (0..20)
            .map(|_| {
                let mut s = r.i8_vec(qkv_len(n_heads), -127, 127);
                s[..64 * n_heads].fill(0);
                s
            })
            .collect();
        run(g, "equal_scores", n_heads, &vec![3000; n_heads], None, &steps, None, "all", &["tie"])?;
    }
    // New maximum at every step: the same direction for q and k with growing
    // magnitude, at small positions where RoPE barely rotates the low pairs.
    {
        let steps: Vec<Vec<i8>> = (0..12)
            .map(|t| {
                let mut s = vec![0i8; qkv_len(1)];
                let mag = (10 + 10 * t).min(127) as i8;
                for i in 0..64 {
                    s[i] = if i % 32 >= 24 { 100 } else { 0 };
                    s[64 + i] = if i % 32 >= 24 { mag } else { 0 };
                }
                for (i, x) in s[128..].iter_mut().enumerate() {
                    *x = ((i as i32 * 5 + t * 11) % 255 - 127) as i8;
                }
                s
            })
            .collect();
        run(g, "rescale", 1, &[20000], None, &steps, None, "all", &["edge"])?;
        run(g, "rescale", 1, &[i32::MAX], None, &steps, None, "all", &["edge"])?;
        run(g, "rescale", 1, &[-30000], None, &steps, None, "all", &["edge"])?;
    }
    // Sink key: random, and one far above / far below every score.
    for (kind, n_heads, mult) in [("sink", 1usize, 8000i32), ("sink", 6, 2500), ("sink", 4, 30000), ("sink", 8, 1200)] {
        let sink = r.i8_vec(64, -127, 127);
        let steps: Vec<Vec<i8>> = (0..24).map(|_| r.i8_vec(qkv_len(n_heads), -127, 127)).collect();
        run(g, kind, n_heads, &vec![mult; n_heads], Some(&sink), &steps, None, "all", &[])?;
    }
    {
        let mut steps = Vec::new();
        for _ in 0..10 {
            let mut s = r.i8_vec(qkv_len(1), -127, 127);
            s[..64].fill(1);
            steps.push(s);
        }
        run(g, "sink", 1, &[20000], Some(&[127; 64]), &steps, None, "all", &["edge"])?;
        run(g, "sink", 1, &[20000], Some(&[-127; 64]), &steps, None, "all", &["edge"])?;
        run(g, "sink", 1, &[20000], Some(&[0; 64]), &steps, None, "all", &["edge"])?;
    }
    // Random runs with the published shape (6 heads) and others.
    for (i, n_heads) in [1usize, 2, 4, 6, 8, 6, 3].into_iter().enumerate() {
        let n = [40usize, 64, 30, 64, 20, 130, 50][i];
        let mult: Vec<i32> = (0..n_heads).map(|_| r.range(500, 40000) as i32).collect();
        let amp = [127i8, 60, 127, 90, 127, 127, 20][i];
        let steps: Vec<Vec<i8>> = (0..n).map(|_| r.i8_vec(qkv_len(n_heads), -amp, amp)).collect();
        run(g, "random", n_heads, &mult, None, &steps, None, if n > 64 { "last" } else { "all" }, &["random"])?;
    }
    Ok(())
}

fn exp(g: &mut Gen) -> Result<(), String> {
    let f = "layer/exp.jsonl";
    for coef in EXP_COEFS {
        let add = |g: &mut Gen, kind: &str, d: i32, tags: &[&str]| {
            let id = g.id(&format!("layer.exp_q16.c{coef}.{kind}"));
            g.case(f, &id, "exp_q16", json!({"d": d, "coef_q24": coef})).tags(tags).expect(&["result"]).map(|_| ())
        };
        for d in EXP_EDGES {
            add(g, "edge", d, &["edge"])?;
        }
        let c = coef as i64;
        // Where ip = t >> 8 reaches 31 (result 1), and where t steps (n·coef + 2^23 crosses 2^24·t).
        let n31 = ((31i64 << 32) - (1 << 23) + c - 1) / c;
        for n in [n31 - 1, n31, n31 + 1] {
            if n <= i32::MAX as i64 {
                add(g, "edge", -(n as i32), &["edge"])?;
            }
        }
        for t in [1i64, 255, 256, 257, 511, 512, 2047, 4096, 7935] {
            let n = ((t << 24) - (1 << 23) + c - 1) / c; // smallest n with t(n) = t
            for d in [n - 1, n] {
                if d > 0 && d <= i32::MAX as i64 {
                    add(g, "step", -(d as i32), &["edge"])?;
                }
            }
        }
        let mut r = Rng::new(0x1a_0007 + coef as u64);
        for _ in 0..120 {
            let d = -(r.range(0, if coef > 100_000 { 12_000 } else { 120_000 }) as i32);
            add(g, "random", d, &["random"])?;
        }
        for _ in 0..20 {
            add(g, "random", r.i32_any_scale(), &["random"])?;
        }
    }
    Ok(())
}

fn freq_table(g: &mut Gen) -> Result<(), String> {
    let f = "layer/freq_table.jsonl";
    const T: u32 = FREQ_TOTAL;
    let add = |g: &mut Gen, kind: &str, logits: &[i32], coef: u32, total: u32, tags: &[&str]| {
        let id = g.id(&format!("layer.freq_table.{kind}"));
        let keep = if logits.len() > 300 { Some(Dtype::U32) } else { None };
        g.case(f, &id, "freq_table", json!({"logits": a32(logits), "coef_q24": coef, "total": total})).tags(tags).expect_digests(&[("cum", keep)])
            .map(|_| ())
    };
    let mut r = Rng::new(0x1a_0008);
    // Ties for the maximum: the correction goes to the smallest index.
    let mut tie = vec![0i32; 1024];
    for &i in &[5usize, 17, 900] {
        tie[i] = 5000;
    }
    add(g, "tie_max", &tie, 37_819, T, &["tie"])?;
    add(g, "tie_max", &[7, 7], 37_819, T, &["tie", "edge"])?;
    add(g, "tie_max", &[1, 9, 3, 9, 9], 37_819, 1000, &["tie", "edge"])?;
    add(g, "all_equal", &vec![0; 1024], 37_819, T, &["tie", "edge"])?;
    add(g, "all_equal", &vec![-123456; 300], 37_819, T, &["tie", "edge"])?;
    add(g, "all_equal", &[i32::MIN; 5], 37_819, T, &["tie", "edge"])?;
    // One dominant logit.
    let mut dom = vec![0i32; 1024];
    dom[1023] = 1_000_000;
    add(g, "dominant", &dom, 37_819, T, &["edge"])?;
    let mut dom = vec![-50_000i32; 256];
    dom[0] = 50_000;
    add(g, "dominant", &dom, 37_819, T, &["edge"])?;
    // Extreme spreads (every ℓ − M still fits i32).
    add(g, "extreme", &[i32::MAX, 0, 1, -1], 37_819, T, &["edge"])?;
    add(g, "extreme", &[0, i32::MIN, 0, i32::MIN + 1], 37_819, T, &["edge"])?;
    add(g, "extreme", &[-1, i32::MIN, -1], 378_194, T, &["edge"])?;
    add(g, "extreme", &[i32::MAX, i32::MAX - 1, 1, 0], 37_819, T, &["edge"])?;
    // §11 row 10: logits spanning 2^31, so `ℓ − M` wraps (i32::MIN − 5 is
    // positive): the wrapping subtraction gives i32::MIN the largest weight,
    // an exact one a weight of about 0.
    add(g, "span", &[5, i32::MIN, 0], 37_819, T, &["divergence:freq_table_span", "edge"])?;
    // Small vocabularies and totals.
    add(g, "small", &[0, 0], 37_819, 3, &["edge"])?;
    add(g, "small", &[10, 0, -10], 37_819, 4, &["edge"])?;
    add(g, "small", &[1000, 0], 37_819, 1 << 30, &["edge"])?;
    add(g, "small", &[0, 1], 0, 1 << 30, &["edge"])?;
    add(g, "small", &[3], 37_819, 2, &["edge"])?;
    // Coefficients too small for the 32-bit form of the exp (below ~17,400;
    // the published ones are 37,819 and 378,194), down to where ip >= 31.
    add(g, "small_coef", &[100, 0, -5_000_000, -200_000_000, i32::MIN], 1000, T, &["edge"])?;
    let mut r2 = Rng::new(0x1a_0009);
    let logits: Vec<i32> = (0..300).map(|_| r2.range(-3_000_000, 3_000_000) as i32).collect();
    add(g, "small_coef", &logits, 17_000, T, &["random"])?;
    // Real-looking logits at both coefficients, several vocabularies.
    for i in 0..16 {
        let v = [1024usize, 288, 300, 264, 2, 17][i % 6];
        let spread = [3000i64, 30_000, 300_000, 300][i % 4];
        let logits: Vec<i32> = (0..v).map(|_| r.range(-spread, spread) as i32).collect();
        let coef = if i % 5 == 4 { 378_194 } else { 37_819 };
        add(g, "random", &logits, coef, T, &["random"])?;
    }
    // No table exists for no logits, or for T ≤ V (every symbol needs a frequency ≥ 1).
    for (kind, logits, total) in [("empty", vec![], T), ("total_too_small", vec![1, 2, 3], 3), ("total_too_small", vec![0; 1024], 1024)] {
        let id = g.id(&format!("layer.freq_table.reject.{kind}"));
        g.case(f, &id, "freq_table", json!({"logits": a32(&logits), "coef_q24": 37_819, "total": total})).tags(&["edge"]).reject()?;
    }
    Ok(())
}
