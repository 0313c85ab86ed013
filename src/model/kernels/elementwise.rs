//! Branch-free, vectorisable forms of the per-element operations of spec §5
//! (requantize, RMSNorm scaling, ReGLU, RoPE, clamp) for the fast paths.
//!
//! Each is the same integer function as its spec-shaped counterpart in
//! [`layers`](crate::model::layers) (tested against it on random and edge
//! inputs, `tests/integration/kernels_elementwise.rs`); the difference is only that the
//! round-half-to-even shift is written without branches, so the compiler
//! turns the loops into SIMD. Like the old `linear`, each loop body is
//! compiled for the baseline target and again with AVX2 / AVX-512 enabled,
//! chosen at run time (the result is the same integers on every path).
//!
//! Builds with overflow checks (debug and the test profile) would stop the
//! vectoriser on checked arithmetic; the loops therefore use wrapping
//! operations *where the bound is proven* (stated at each function), so
//! they vectorise with or without the checks. None of them ever wraps.

use crate::model::layers::inv_rms_from_mean_sq;
use crate::model::{Requant, HEAD_DIM, ROPE_PAIRS};

/// `round_half_even(a / 2^sh)` for a magnitude `a` (u64) and `1 <= sh <= 63`.
/// `q = a >> sh`, `r = a mod 2^sh`, `h = 2^(sh−1)`: `q + (r > h || (r == h && q odd))`.
#[inline(always)]
fn rne_mag_u64(a: u64, sh: u32) -> u64 {
    let q = a >> sh;
    let r = a & ((1u64 << sh) - 1);
    let h = 1u64 << (sh - 1);
    q.wrapping_add(u64::from((r > h) | ((r == h) & (q & 1 == 1))))
}

/// `sra_rne_tte_s32(v, sh)` for `1 <= sh <= 30` and `|v| < 2^31 − 2^sh`
/// (every caller is far inside: see each), branch-free.
///
/// Round half to even of `v / 2^sh` equals `⌊(v + 2^(sh−1) − 1 + b) / 2^sh⌋`
/// with `b` the low bit of `⌊v / 2^sh⌋`: below the half the quotient stays,
/// above it moves up, and at the half it moves up exactly when it is odd.
/// Ties to even is symmetric, so this floor form (an arithmetic shift) is
/// the spec's magnitude rule for either sign. The bound keeps the sum in i32.
#[inline(always)]
fn sra_rne_i32(v: i32, sh: u32) -> i32 {
    let b = (v >> sh) & 1;
    v.wrapping_add((1 << (sh - 1)) - 1).wrapping_add(b) >> sh
}

/// `clamp_i8(sra_rne_tte_s32(v, sh))` within the bounds of [`sra_rne_i32`].
#[inline(always)]
fn sra_clamp_i8(v: i32, sh: u32) -> i8 {
    sra_rne_i32(v, sh).clamp(-127, 127) as i8
}

/// Defines `pub fn NAME(args)` whose body is compiled three times (baseline,
/// AVX2, AVX-512) and chosen at run time by CPU detection.
macro_rules! multiversion {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident : $ty:ty),*) $body:block) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
                unsafe fn v512($($arg: $ty),*) { body($($arg),*) }
                #[target_feature(enable = "avx2")]
                unsafe fn v256($($arg: $ty),*) { body($($arg),*) }
                match $crate::model::kernels::elementwise::simd_level() {
                    // SAFETY: simd_level() returns 2 only when the CPU has
                    // AVX-512 F/BW/DQ/VL, 1 only when it has AVX2.
                    2 => return unsafe { v512($($arg),*) },
                    1 => return unsafe { v256($($arg),*) },
                    _ => {}
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use multiversion;

/// The widest vector level [`multiversion`] functions may use on this CPU:
/// 2 = AVX-512 F/BW/DQ/VL, 1 = AVX2, 0 = baseline. Detected once per process
/// (the functions are called thousands of times per token; one relaxed load
/// instead of five feature checks).
#[doc(hidden)]
pub fn simd_level() -> u8 {
    use std::sync::atomic::{AtomicU8, Ordering};
    const UNKNOWN: u8 = u8::MAX;
    static LEVEL: AtomicU8 = AtomicU8::new(UNKNOWN);
    let l = LEVEL.load(Ordering::Relaxed);
    if l != UNKNOWN {
        return l;
    }
    let l = detect_simd_level();
    LEVEL.store(l, Ordering::Relaxed);
    l
}

#[cfg(target_arch = "x86_64")]
fn detect_simd_level() -> u8 {
    use std::arch::is_x86_feature_detected as has;
    if has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
        2
    } else if has!("avx2") {
        1
    } else {
        0
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect_simd_level() -> u8 {
    0
}

/// [`requantize`](crate::model::layers::requantize): `shift <= 0`:
/// `clamp(x·mult)`; else `clamp_i8(sra_rne_tte_s64_to_s32(x·mult, shift))`.
/// The saturation to i32 of the spec is subsumed by the clamp to ±127.
///
/// When `shift >= 1`, `mult != 0` and `129·2^shift + |mult| < 2^31` (the
/// published models: 819, 20) the product is formed in i32: every
/// `|x| >= X = ⌊2^(7+shift) / |mult|⌋ + 1` gives `|x·mult| > 128·2^shift`,
/// which rounds to 128 or more and clamps to ±127, so `x` is first clamped
/// to `±X`, after which `|x·mult| <= 2^(7+shift) + |mult| < 2^31 − 2^shift`
/// (the bound of the rounding shift). Other parameters take the i64 loop.
pub fn requantize(x: &[i32], rq: Requant, out: &mut [i8]) {
    let m = rq.mult.unsigned_abs();
    if (1..=23).contains(&rq.shift) && m != 0 && (129u64 << rq.shift) + u64::from(m) < 1 << 31 {
        let limit = ((128u64 << rq.shift) / u64::from(m) + 1) as i32;
        requantize_i32(x, rq.mult, rq.shift as u32, limit, out)
    } else {
        requantize_i64(x, rq, out)
    }
}

multiversion! {
    /// The i32 form of [`requantize`] (bounds stated there).
    pub fn requantize_i32(x: &[i32], mult: i32, sh: u32, limit: i32, out: &mut [i8]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = sra_clamp_i8(v.clamp(-limit, limit).wrapping_mul(mult), sh);
        }
    }
}

multiversion! {
    /// The i64 form of [`requantize`], any parameters. Widths: `x·mult`
    /// exact in i64; shifts >= 64 give 0 (exact extension).
    pub fn requantize_i64(x: &[i32], rq: Requant, out: &mut [i8]) {
        let mult = i64::from(rq.mult);
        if rq.shift <= 0 || rq.shift >= 64 {
            return crate::model::layers::requantize(x, rq, out);
        }
        let sh = rq.shift as u32;
        for (o, &v) in out.iter_mut().zip(x) {
            let p = i64::from(v).wrapping_mul(mult);
            let m = rne_mag_u64(p.unsigned_abs(), sh).min(127) as i32;
            *o = (if p < 0 { m.wrapping_neg() } else { m }) as i8;
        }
    }
}

multiversion! {
    /// The scaling of [`rmsnorm`](crate::model::layers::rmsnorm) given the
    /// row's inverse RMS: `y = clamp_i8(sra_rne_tte_s32(x·w·inv, 15))`
    /// (`|x·w·inv| <= 2^29`).
    pub fn rmsnorm_scale(x: &[i8], w: &[i8], inv: i32, out: &mut [i8]) {
        for ((o, &xi), &wi) in out.iter_mut().zip(x).zip(w) {
            *o = sra_clamp_i8(i32::from(xi).wrapping_mul(i32::from(wi)).wrapping_mul(inv), 15);
        }
    }
}

/// [`rmsnorm`](crate::model::layers::rmsnorm) of an i8 row.
pub fn rmsnorm(x: &[i8], w: &[i8], out: &mut [i8]) {
    rmsnorm_scale(x, w, rms_inverse(x), out)
}

/// [`rms_inverse`](crate::model::layers::rms_inverse) with a vectorised
/// `Σx²`: `x² <= 2^14` and the loader bounds a row below 2^17 entries, so
/// the sum is exact in u32 (the u64 of the reference is never needed).
pub fn rms_inverse(x: &[i8]) -> i32 {
    let ss = sum_squares(x);
    inv_rms_from_mean_sq((u64::from(ss) / x.len().max(1) as u64) as u32)
}

/// `Σ x_i²` for a row of fewer than 2^17 entries (exact in u32).
pub fn sum_squares(x: &[i8]) -> u32 {
    assert!(x.len() < 1 << 17, "row too wide for a u32 sum of squares");
    let mut s = 0;
    sum_squares_into(x, &mut s);
    s
}

multiversion! {
    /// The loop of [`sum_squares`]; the wrapping adds never wrap (see there).
    pub fn sum_squares_into(x: &[i8], out: &mut u32) {
        let mut s = 0u32;
        for &v in x {
            let v = i32::from(v);
            s = s.wrapping_add(v.wrapping_mul(v) as u32);
        }
        *out = s;
    }
}


multiversion! {
    /// `out = clamp_i8(x)` element-wise.
    pub fn clamp_rows(x: &[i32], out: &mut [i8]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = v.clamp(-127, 127) as i8;
        }
    }
}

multiversion! {
    /// `x += y` element-wise (the residual stays i32; |x| grows by at most
    /// 127 per block, far from overflow).
    pub fn add_rows(x: &mut [i32], y: &[i8]) {
        for (a, &b) in x.iter_mut().zip(y) {
            *a = a.wrapping_add(i32::from(b));
        }
    }
}

multiversion! {
    /// [`reglu`](crate::model::layers::reglu): `clamp_i8(sra_rne_tte_s32(max(g,0)·u, 7))`.
    pub fn reglu(gate: &[i8], up: &[i8], out: &mut [i8]) {
        for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
            *o = sra_clamp_i8(i32::from(g).max(0).wrapping_mul(i32::from(u)), 7);
        }
    }
}

multiversion! {
    /// [`rope`](crate::model::layers::rope) of one 64-vector (rotate-half).
    /// K: `clamp_i8(sra(a, 15))`; Q: `clamp_i8(sra(sra(a, 15), 1))` (two roundings).
    pub fn rope(x: &[i8], cos: &[i16], sin: &[i16], is_query: bool, out: &mut [i8]) {
        // Fixed-size views: no bounds checks in the loop, so it vectorises.
        let x: &[i8; HEAD_DIM] = x[..HEAD_DIM].try_into().expect("64 inputs");
        let (cos, sin): (&[i16; ROPE_PAIRS], &[i16; ROPE_PAIRS]) = (cos[..ROPE_PAIRS].try_into().expect("32 cos"), sin[..ROPE_PAIRS].try_into().expect("32 sin"));
        let out: &mut [i8; HEAD_DIM] = (&mut out[..HEAD_DIM]).try_into().expect("64 outputs");
        let mut lo = [0i8; ROPE_PAIRS];
        let mut hi = [0i8; ROPE_PAIRS];
        for i in 0..ROPE_PAIRS {
            let (x0, x1) = (i32::from(x[i]), i32::from(x[i + ROPE_PAIRS]));
            let (c, s) = (i32::from(cos[i]), i32::from(sin[i]));
            let a = x0.wrapping_mul(c).wrapping_sub(x1.wrapping_mul(s));
            let b = x0.wrapping_mul(s).wrapping_add(x1.wrapping_mul(c));
            // |a|, |b| <= 2·2^7·2^15 = 2^23: inside sra_rne_i32's bound.
            // Q: two roundings (by 2^15, then by 2); K: one (by 2^15).
            let (a, b, sh) = if is_query { (sra_rne_i32(a, 15), sra_rne_i32(b, 15), 1) } else { (a, b, 15) };
            lo[i] = sra_clamp_i8(a, sh);
            hi[i] = sra_clamp_i8(b, sh);
        }
        out[..ROPE_PAIRS].copy_from_slice(&lo);
        out[ROPE_PAIRS..].copy_from_slice(&hi);
    }
}

/// `x` rounded to the nearest integer, ties to even (the FPU's default
/// mode), as i64, for `|x| < 2^51`: adding 1.5·2^52 leaves the rounded
/// integer, two's complement, in the low mantissa bits. Unlike `as i64`
/// (which must saturate and handle NaN) this stays vectorised.
#[inline(always)]
pub fn round_small_f64(x: f64) -> i64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    ((x + MAGIC).to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64)
}

multiversion! {
    /// Spec §5 scores from exact dot products:
    /// `sra_rne_tte_s64_to_s32(sra_rne_tte_s32(dot, 2) · mult, 15)`, in f64,
    /// exact for every i32 input: `dot/4` is exact and `round_ties_even` is
    /// the spec's ties-to-even; the product of the two exact i32-valued
    /// factors is exact whenever it is below 2^53, and when it is not, the
    /// true result is beyond 2^38 and saturates either way; `·2^−15` is an
    /// exact scaling; the clamp to the i32 range is the spec's saturation,
    /// and [`round_small_f64`] its last ties-to-even rounding.
    pub fn scores(dots: &[i32], mult: i32, out: &mut [i32]) {
        let m = f64::from(mult);
        for (o, &d) in out.iter_mut().zip(dots) {
            let q = (f64::from(d) * 0.25).round_ties_even();
            // Clamped first (to integers), then rounded: the same as rounding
            // then saturating.
            let s = (q * m * (1.0 / 32768.0)).clamp(f64::from(i32::MIN), f64::from(i32::MAX));
            *o = round_small_f64(s) as i32;
        }
    }
}

/// The parameters of [`exp_narrow`]: `exp(d; coef)` of spec §6 (see
/// [`exp_q16`](crate::numerics::exp_q16)) in 32-bit arithmetic, for the
/// coefficients where that is exact (both published ones: the attention's
/// 378,194 and the models' softmax coefficient).
///
/// * From `t >= 17·256` on (`ip >= 17`) the reference gives 1 (`base = 0`,
///   clamped; `ip >= 31` also 1), so `n = |d|` is clamped to
///   `n_max = ⌊17·256·2^24 / coef⌋ + 1`, which has `t >= 17·256`;
/// * with `coef = 256·ch + cl`, `t = ⌊(n·coef + 2^23) / 2^24⌋ =
///   ⌊(n·ch + ⌊(n·cl + 2^23) / 2^8⌋) / 2^16⌋` (nested floors of a division
///   by 2^8·2^16), exact in u32 when `n_max·cl + 2^23 < 2^32` and
///   `n_max·ch + 2^24 < 2^32` ([`ExpNarrow::new`] checks both);
/// * `base·E = E·2^(16−ip)` for `ip <= 16`, and `E·2^16 + 32768 < 2^32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpNarrow {
    pub(crate) ch: u32,
    pub(crate) cl: u32,
    pub(crate) n_max: u32,
}

impl ExpNarrow {
    /// The attention's exp (`ATTN_COEF_Q24`).
    pub const ATTN: ExpNarrow = match ExpNarrow::new(crate::numerics::ATTN_COEF_Q24) {
        Some(e) => e,
        None => panic!("the attention coefficient fits the narrow exp"),
    };

    /// `None` when the 32-bit form is not exact for `coef` (coefficients
    /// below about 17,400 or 0).
    pub const fn new(coef: u32) -> Option<ExpNarrow> {
        if coef == 0 {
            return None;
        }
        let n_max = ((17u64 * 256) << 24) / coef as u64 + 1;
        let (ch, cl) = ((coef >> 8) as u64, (coef & 255) as u64);
        if n_max * cl + (1 << 23) < 1 << 32 && n_max * ch + (1 << 24) < 1 << 32 {
            Some(ExpNarrow { ch: ch as u32, cl: cl as u32, n_max: n_max as u32 })
        } else {
            None
        }
    }
}

/// `exp(d; coef)` for the coefficient of `p` (see [`ExpNarrow`]), branch-free,
/// over the exp2 table widened to u32 (so a vectorised loop can gather it).
/// `d >= 0` gives 65535. A fast form of the one reference
/// [`exp_q16`](crate::numerics::exp_q16), tested against it for every
/// coefficient it accepts (`tests/integration/kernels_elementwise.rs`).
#[inline(always)]
pub fn exp_narrow(d: i32, p: &ExpNarrow, exp2: &[u32; 256]) -> u32 {
    let n = d.unsigned_abs().min(p.n_max);
    let t = n.wrapping_mul(p.ch).wrapping_add(n.wrapping_mul(p.cl).wrapping_add(1 << 23) >> 8) >> 16;
    let ip = t >> 8;
    let scaled = if ip <= 16 { exp2[(t & 255) as usize] << (16 - ip.min(16)) } else { 0 };
    let v = (scaled.wrapping_add(32768) >> 16).clamp(1, 65535);
    if d >= 0 {
        65535
    } else {
        v
    }
}

multiversion! {
    /// The reference's rescale, `acc_i = ⌊(acc_i·f ± 32768) / 65536⌋` (add
    /// half when `acc_i·f >= 0`, else subtract it; then an arithmetic shift).
    /// Widths: `|acc_i·f| < 2^52` (see `OnlineSoftmax`), so the wrapping
    /// operations are exact.
    pub fn rescale(acc: &mut [i64; HEAD_DIM], f: i64) {
        for a in acc.iter_mut() {
            let p = a.wrapping_mul(f);
            let half = if p >= 0 { 32768 } else { -32768 };
            *a = p.wrapping_add(half) >> 16;
        }
    }
}
