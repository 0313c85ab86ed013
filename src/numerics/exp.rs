//! The fixed-point exp of spec §6, used by the attention (with
//! [`ATTN_COEF_Q24`]) and by the vocabulary softmax (with `coef_q24`).

/// Attention exp coefficient, spec §3: `⌊log2(e)/64 · 2^24 + 0.5⌋`.
pub const ATTN_COEF_Q24: u32 = 378_194;

/// `exp(d; coef)` of spec §6: `65535 · 2^(-|d|·coef/2^24)` in Q16, from the
/// model's exp2 table `exp2` (spec §2, `lut.exp2`).
///
/// The argument is an i32 difference `ℓ − M` (or `m − score`). Callers form
/// it with a *wrapping* i32 subtraction, as the primary reference does: the
/// spec is silent on spreads beyond 2^31, and upstream's frequency tables for
/// logits spanning i32::MIN..i32::MAX (golden `cumfreqs_release.jsonl`,
/// `one_i32max_others_i32min`) are those of the wrapped difference. Real
/// model logits and scores never come near that (|ℓ| < 2^23). `d >= 0`
/// returns 65535.
///
/// Widths: `n = |d| <= 2^31`, `n·coef < 2^63` (u64);
/// `t = ⌊(n·coef + 2^23) / 2^24⌋`,
/// `ip = t >> 8`, `fr = t & 255`; `ip >= 31` returns 1; otherwise
/// `base = 65536 >> ip` and the result is
/// `clamp(⌊(base·E[fr] + 32768) / 65536⌋, 1, 65535)` (`base·E < 2^33`, u64).
#[inline]
pub fn exp_q16(d: i32, coef_q24: u32, exp2: &[u16; 256]) -> u32 {
    if d >= 0 {
        return 65535;
    }
    let n = u64::from(d.unsigned_abs());
    let t = (n * u64::from(coef_q24) + (1 << 23)) >> 24;
    let ip = t >> 8;
    if ip >= 31 {
        return 1;
    }
    let fr = (t & 255) as usize;
    let base = 65536u64 >> ip;
    let v = (base * u64::from(exp2[fr]) + 32768) >> 16;
    v.clamp(1, 65535) as u32
}

/// Upstream helper `exp_q16_from_neg_fixed` (not used by the model; kept so
/// the golden kernel vectors of it can be checked): the input is already the
/// Q8 exponent `t` of [`exp_q16`]. `t <= 0` gives 65535; otherwise
/// `E[t & 255] >> (t >> 8)` (floor), which is 0 from `t >> 8 >= 16` on.
pub fn exp_q16_from_neg_fixed(t: i32, exp2: &[u16; 256]) -> u32 {
    if t <= 0 {
        return 65535;
    }
    let ip = (t >> 8) as u32;
    let fr = (t & 255) as usize;
    u32::from(exp2[fr]).checked_shr(ip).unwrap_or(0)
}
