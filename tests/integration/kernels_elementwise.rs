//! The branch-free element-wise operations, the segment-form attention
//! softmax and the fast frequency table against their spec-shaped
//! references, on random and edge inputs.

use czip::freq_table::{build_cumfreqs, build_cumfreqs_reference, build_freqs, symbol_interval};
use czip::model::attention::{score_from_dot, softmax_head_reference, AttentionVariant};
use czip::model::batch_attention::{outputs, softmax_head, SoftmaxScratch};
use czip::model::kernels::values::{weighted_sum, PackedValues};
use czip::model::Kernel;
use czip::numerics::{clamp_i8, div_rne_tte_s64_to_s32};
use czip::model::kernels::elementwise as fast;
use czip::model::kernels::exps::{exps_sub, segment_weights, Exp2Lut};
use czip::model::{layers, Requant};
use czip::numerics::{exp_q16, ATTN_COEF_Q24};
use czip::tables::exp2_table;

use crate::common;
use common::XorShift;
use proptest::prelude::*;

fn edge_i32() -> Vec<i32> {
    let mut v = vec![0, 1, -1, 2, -2, i32::MIN, i32::MAX, i32::MIN + 1, i32::MAX - 1];
    for sh in 0..31 {
        for d in [-1, 0, 1] {
            v.push((1i32 << sh).wrapping_add(d));
            v.push((-(1i64 << sh) + i64::from(d)) as i32);
            v.push(((3i64 << sh) / 2 + i64::from(d)) as i32);
            v.push((-(3i64 << sh) / 2 + i64::from(d)) as i32);
        }
    }
    v
}

#[test]
fn requantize_matches() {
    let mut rng = XorShift(11);
    let mut xs = edge_i32();
    xs.extend((0..20000).map(|_| rng.i32() >> (rng.next() % 31)));
    let mut params = vec![
        Requant { mult: 819, shift: 20 },
        Requant { mult: -3, shift: 1 },
        Requant { mult: i32::MAX, shift: 40 },
        Requant { mult: i32::MIN, shift: 63 },
        Requant { mult: 5, shift: 0 },
        Requant { mult: 7, shift: -3 },
        Requant { mult: 1, shift: 64 },
        Requant { mult: 0, shift: 5 },
    ];
    // Both sides of the i32 form's domain (1 <= shift <= 23, |mult| <= 2^30).
    for shift in [1, 2, 15, 20, 23, 24] {
        for mult in [1, -1, 819, -819, 1 << 30, -(1 << 30), (1 << 30) + 1, i32::MIN] {
            params.push(Requant { mult, shift });
        }
    }
    for rq in params {
        let mut xs = xs.clone();
        // Around the clamp limit ⌊2^(7+shift)/|mult|⌋ + 1 and the rounding ties.
        if rq.mult != 0 && (1..=40).contains(&rq.shift) {
            let limit = ((128i64 << rq.shift) / i64::from(rq.mult.unsigned_abs()) + 1).min(i64::from(i32::MAX)) as i32;
            for d in -2..=2 {
                xs.extend([limit.saturating_add(d), limit.saturating_add(d).saturating_neg()]);
            }
            let half = 1i64 << (rq.shift - 1);
            for q in [0i64, 1, 2, 126, 127, 128] {
                for r in [half - 1, half, half + 1] {
                    let p = q * (1i64 << rq.shift) + r;
                    if p % i64::from(rq.mult) == 0 {
                        let x = p / i64::from(rq.mult);
                        if let Ok(x) = i32::try_from(x) {
                            xs.extend([x, -x]);
                        }
                    }
                }
            }
        }
        let (mut a, mut b) = (vec![0i8; xs.len()], vec![0i8; xs.len()]);
        layers::requantize(&xs, rq, &mut a);
        fast::requantize(&xs, rq, &mut b);
        assert_eq!(a, b, "{rq:?}");
    }
}

/// The vectorised inverse RMS against the reference, including −128 rows,
/// the widest rows and every mean square of the §11 RMSNorm point.
#[test]
fn rms_inverse_matches() {
    let mut rng = XorShift(17);
    let mut rows: Vec<Vec<i8>> = vec![vec![], vec![-128; 1], vec![-128; (1 << 17) - 1], vec![127; 384], vec![0; 384]];
    for len in [1, 3, 15, 16, 17, 63, 64, 65, 384, 1000] {
        rows.push((0..len).map(|_| rng.next() as i8).collect());
    }
    // ⌊Σx²/D⌋ = 9482 and its neighbours (D = 384).
    for target in 9480u32..9485 {
        let mut row = vec![0i8; 384];
        let mut left = target * 384;
        for v in row.iter_mut() {
            let q = (f64::from(left).sqrt() as u32).min(127);
            *v = q as i8;
            left -= q * q;
        }
        rows.push(row);
    }
    for row in &rows {
        assert_eq!(fast::rms_inverse(row), layers::rms_inverse(row), "len {}", row.len());
    }
}

#[test]
fn rmsnorm_reglu_rope_scores_match() {
    let mut rng = XorShift(5);
    for round in 0..400 {
        let len = 1 + round % 97;
        let ext = [-127i8, 127, 0, -1, 1];
        let gen = |rng: &mut XorShift| -> Vec<i8> { (0..len).map(|i| if round % 3 == 0 { ext[(i + round) % 5] } else { rng.i8_symmetric() }).collect() };
        let (x, w) = (gen(&mut rng), gen(&mut rng));
        let (mut a, mut b) = (vec![0i8; len], vec![0i8; len]);
        layers::rmsnorm(&x, &w, &mut a);
        fast::rmsnorm(&x, &w, &mut b);
        assert_eq!(a, b);
        layers::reglu(&x, &w, &mut a);
        fast::reglu(&x, &w, &mut b);
        assert_eq!(a, b);
    }
    for _ in 0..2000 {
        let x: Vec<i8> = (0..64).map(|_| rng.i8_symmetric()).collect();
        let cos: Vec<i16> = (0..32).map(|_| rng.next() as i16).collect();
        let sin: Vec<i16> = (0..32).map(|_| rng.next() as i16).collect();
        for q in [false, true] {
            let (mut a, mut b) = ([0i8; 64], [0i8; 64]);
            layers::rope(&x, &cos, &sin, q, &mut a);
            fast::rope(&x, &cos, &sin, q, &mut b);
            assert_eq!(a, b);
        }
    }
    let mut dots = edge_i32();
    // Ties of both roundings, both parities, and the products around 2^53.
    for k in [0i32, 1, 2, 3, 1 << 20, (1 << 20) + 1, -(1 << 20)] {
        dots.extend([4 * k + 2, 4 * k - 2, 4 * k + 1, 4 * k + 3, 4 * k, -4 * k - 2]);
    }
    dots.extend((0..20000).map(|_| rng.i32() >> (rng.next() % 32)));
    for mult in [0, 1, -1, 2, 3, 12345, 58218, 60859, 1 << 15, (1 << 15) + 1, 1 << 22, (1 << 24) - 1, i32::MAX, i32::MIN, i32::MIN + 1] {
        let mut got = vec![0; dots.len()];
        fast::scores(&dots, mult, &mut got);
        for (&d, &g) in dots.iter().zip(&got) {
            let want = score_from_dot(d, mult);
            assert_eq!(g, want, "dot {d} mult {mult}");
        }
    }
}

#[test]
fn exp_matches() {
    let e = exp2_table();
    let wide = e.map(u32::from);
    for d in (-3_000_000..=10).chain(edge_i32()).chain((0..=30).flat_map(|k| [-(1i32 << k), 1 - (1 << k), -(1 << k) - 1])) {
        assert_eq!(fast::exp_narrow(d, &fast::ExpNarrow::ATTN, &wide), exp_q16(d, ATTN_COEF_Q24, &e), "d = {d}");
    }
    // Every coefficient the narrow form accepts, around its clamp and its
    // acceptance boundary; the published softmax coefficient included.
    let mut rng = XorShift(3);
    let coefs = [17_400u32, 17_500, 37_819, 100_000, 378_194, 1 << 20, 1 << 24, u32::MAX, 1, 0, 17_000];
    let random: Vec<u32> = (0..200).map(|_| rng.next() as u32 >> (rng.next() % 16)).collect();
    for coef in coefs.into_iter().chain(random) {
        let Some(p) = fast::ExpNarrow::new(coef) else { continue };
        let n_max = ((17u64 * 256) << 24) / u64::from(coef) + 1;
        let near = [n_max, n_max - 1, n_max + 1].map(|n| (n.min(1 << 31) as i64).wrapping_neg() as i32);
        for d in near.into_iter().chain(edge_i32()).chain((0..5000).map(|_| (rng.next() as i32) >> (rng.next() % 31))) {
            assert_eq!(fast::exp_narrow(d, &p, &wide), exp_q16(d, coef, &e), "coef {coef} d = {d}");
        }
    }
    assert!(fast::ExpNarrow::new(37_819).is_some() && fast::ExpNarrow::new(0).is_none());
}

/// The slice exps of every kernel (the AVX-512 register lookup included)
/// against the reference [`exp_q16`], over every argument from
/// −3,000,000 to 10 and the edges, at every slice length up to 40 (every
/// tail of a 16-lane vector) and every start offset mod 16.
#[test]
fn slice_exps_match_the_element_exp() {
    let e = exp2_table();
    let lut = Exp2Lut::new(&e);
    let mut rng = XorShift(11);
    let all: Vec<i32> = (-3_000_000..=10).chain(edge_i32()).collect();
    let narrow = |coef: u32| fast::ExpNarrow::new(coef).expect("a coefficient the narrow form takes");
    let p = narrow(37_819);
    let others = [17_500u32, 100_000, 1 << 20, u32::MAX];
    for kernel in available_kernels() {
        let params = [(ATTN_COEF_Q24, 0), (37_819, 0), (37_819, 12_345), (37_819, i32::MIN), (37_819, i32::MAX)];
        for (coef, m) in params.into_iter().chain(others.iter().map(|&o| (o, -77))) {
            let mut out = vec![0u32; all.len()];
            let sum = exps_sub(kernel, &all, m, &narrow(coef), &lut, &mut out);
            let want: Vec<u32> = all.iter().map(|&x| exp_q16(x.wrapping_sub(m), coef, &e)).collect();
            assert_eq!(out, want, "{kernel:?} m {m}");
            assert_eq!(sum, want.iter().map(|&x| u64::from(x)).sum::<u64>(), "{kernel:?} m {m}");
        }
        for len in 0..=40 {
            for off in 0..16 {
                let x: Vec<i32> = (0..off + len).map(|_| (rng.i32() >> (rng.next() % 32)).min(0)).collect();
                let x = &x[off..];
                let m = rng.i32() % 1000;
                let mut out = vec![7u32; len];
                let sum = exps_sub(kernel, x, m, &p, &lut, &mut out);
                let want: Vec<u32> = x.iter().map(|&v| exp_q16(v.wrapping_sub(m), 37_819, &e)).collect();
                assert_eq!((out, sum), (want.clone(), want.iter().map(|&v| u64::from(v)).sum()), "{kernel:?} len {len}");
            }
        }
    }
}

/// The portable softmax's segment weights against the reference [`exp_q16`] with
/// the attention coefficient, weights and sum, for every length up to 70.
#[test]
fn segment_weights_match_the_element_exp() {
    let e = exp2_table();
    let lut = Exp2Lut::new(&e);
    let mut rng = XorShift(12);
    for round in 0..400 {
        let len = round % 71;
        let m = [0, 100, i32::MAX, i32::MIN + 5, rng.i32()][round % 5];
        let sc: Vec<i32> = (0..len)
            .map(|i| match round % 4 {
                0 => m,
                1 => m.wrapping_sub(i as i32 * 37),
                2 => i32::MIN,
                _ => m.wrapping_sub((rng.next() >> (rng.next() % 60)) as i32 & i32::MAX),
            })
            .map(|s| s.min(m))
            .collect();
        let (mut w, mut sum) = (vec![0u32; len], 0);
        segment_weights(&sc, m, &lut.wide, &mut w, &mut sum);
        let want: Vec<u32> = sc.iter().map(|&s| exp_q16(s.wrapping_sub(m), ATTN_COEF_Q24, &e)).collect();
        assert_eq!((w, sum), (want.clone(), want.iter().sum::<u32>()), "round {round}");
    }
}

/// The reference head loop of spec §5 ([`softmax_head_reference`]) on scores.
fn reference_head(scores: &[i32], sink: Option<i32>, values: &[i8], e: &[u16; 256]) -> [i8; 64] {
    let mut out = [0i8; 64];
    softmax_head_reference(AttentionVariant::NORMATIVE, sink, scores.iter().copied().zip(values.chunks_exact(64)), e, &mut out);
    out
}

#[test]
fn segment_softmax_matches_the_online_softmax() {
    let e = exp2_table();
    let mut rng = XorShift(99);
    let mut scratch = SoftmaxScratch::new(1100);
    for round in 0..900 {
        // Every tail of a 16-lane block, then longer runs.
        let n = if round < 300 { 1 + round % 40 } else { [1, 2, 3, 63, 64, 65, 254, 255, 256, 257, 511, 1024, 1100][round % 13] };
        let scale = [1, 100, 3000, 1 << 20, 1 << 30][round % 5];
        let scores: Vec<i32> = match round % 5 {
            0 => (0..n).map(|t| (t as i32).wrapping_mul(scale / 64 + 1)).collect(), // rising: a rescale every step
            1 => (0..n).map(|_| 7).collect(),                                      // one long segment (flushes)
            2 => (0..n).map(|t| (t as i32 / (1 + round as i32 % 7)).wrapping_mul(scale / 100 + 1)).collect(), // steps: new maxima at every lane offset
            _ => (0..n).map(|_| (rng.i32() % scale).wrapping_abs() * if rng.next() & 1 == 0 { 1 } else { -1 }).collect(),
        };
        let values: Vec<i8> = (0..n * 64)
            .map(|i| match round % 7 {
                0 => [127, -127][i % 2],
                1 => [-128, 127, -128, -128][i % 4],
                _ => rng.i8_symmetric(),
            })
            .collect();
        let sink = (round % 3 == 0).then(|| rng.i32() % scale);
        let want = reference_head(&scores, sink, &values, &e);
        let mut packed = PackedValues::with_capacity(n + 5);
        values.chunks_exact(64).for_each(|r| packed.push(r));
        for kernel in available_kernels() {
            let mut got = [0i8; 64];
            softmax_head(kernel, &scores, sink, &packed, &Exp2Lut::new(&e), &mut scratch, &mut got);
            assert_eq!(got, want, "{kernel:?} round {round} n {n}");
        }
    }
}

/// The widest run the softmax accepts (65,536 positions, one segment, every
/// weight 65535) with the extreme values: the AVX-512 kernel's i32 planes
/// and u32 weight sum at their bounds.
#[test]
fn softmax_at_its_width_bounds() {
    let e = exp2_table();
    let n = 1 << 16;
    let mut scratch = SoftmaxScratch::new(n);
    for (v, sink) in [(-128i8, None), (127, None), (-128, Some(7)), (-127, Some(i32::MIN))] {
        let scores = vec![7; n];
        let values = vec![v; n * 64];
        let want = reference_head(&scores, sink, &values, &e);
        let mut packed = PackedValues::with_capacity(n);
        values.chunks_exact(64).for_each(|r| packed.push(r));
        for kernel in available_kernels() {
            let mut got = [0i8; 64];
            softmax_head(kernel, &scores, sink, &packed, &Exp2Lut::new(&e), &mut scratch, &mut got);
            assert_eq!(got, want, "{kernel:?} v {v} sink {sink:?}");
        }
    }
}

/// Every kernel's softmax against the reference head loop where the fused
/// passes change state: a new maximum at every position 0..=130 (every lane
/// of the AVX2 kernel's 8-lane and the AVX-512 kernel's 16-lane blocks, the
/// edges of their 64-position runs) and a second, higher one after it; with
/// no sink, a sink below, at, and far below the scores; the other scores
/// flat, far below the maximum (their exps underflow to the floor weight
/// 1), or wrapped (differences beyond the i32 range, which the reference
/// takes wrapping); with the extreme values.
#[test]
fn softmax_new_maxima_at_every_block_and_run_edge() {
    let e = exp2_table();
    let lut = Exp2Lut::new(&e);
    let n = 200;
    let mut scratch = SoftmaxScratch::new(n);
    let mut rng = XorShift(5);
    let shapes = [(0, 5, 9), (-1_000_000, 0, 1), (i32::MIN, i32::MAX - 1, 1), (-40, -39, 1), (100, 100_000_000, 400_000_000)];
    for at in 0..=130usize {
        let values: Vec<i8> = (0..n * 64)
            .map(|i| match at % 4 {
                0 => -128,
                1 => 127,
                2 => [-128, 127][(i / 64 + i) % 2],
                _ => rng.i8_full(),
            })
            .collect();
        let mut packed = PackedValues::with_capacity(n);
        values.chunks_exact(64).for_each(|r| packed.push(r));
        for (base, peak, rise) in shapes {
            let second = at + 1 + (at * 7) % 23;
            let scores: Vec<i32> = (0..n)
                .map(|t| match t {
                    _ if t == at => peak,
                    _ if t == second => peak.saturating_add(rise),
                    _ => base,
                })
                .collect();
            for sink in [None, Some(base.wrapping_sub(1)), Some(base), Some(peak), Some(i32::MIN)] {
                for len in [at + 1, second.min(n - 1) + 1, n] {
                    let want = reference_head(&scores[..len], sink, &values[..len * 64], &e);
                    for kernel in available_kernels() {
                        let mut got = [0i8; 64];
                        softmax_head(kernel, &scores[..len], sink, &packed, &lut, &mut scratch, &mut got);
                        assert_eq!(got, want, "{kernel:?} at {at} base {base} sink {sink:?} len {len}");
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every kernel's softmax against the reference head loop on random
    /// heads of 1..=1100 positions: random scores at every magnitude,
    /// rising walks (a new maximum at most steps), plateaus with jumps, any
    /// i32; any sink; random or extreme values.
    #[test]
    fn softmax_kernels_match_the_online_softmax(
        n in 1usize..=1100,
        seed in 1u64..,
        shape in 0u8..4,
        bits in 0u32..31,
        sink in proptest::option::of(any::<i32>()),
        extreme in any::<bool>(),
    ) {
        let e = exp2_table();
        let mut rng = XorShift(seed);
        let mut walk = 0i32;
        let scores: Vec<i32> = (0..n)
            .map(|_| {
                let r = rng.i32() >> (31 - bits);
                match shape {
                    0 => r,
                    1 => { walk = walk.saturating_add(r.wrapping_abs() % 64 - 16); walk }
                    2 => { if rng.next().is_multiple_of(50) { walk = walk.saturating_add(r.wrapping_abs()); } walk - (rng.next() % 3) as i32 }
                    _ => rng.i32(),
                }
            })
            .collect();
        let sink = sink.map(|s| s >> (rng.next() % 32));
        let values: Vec<i8> = (0..n * 64).map(|_| if extreme { [-128, 127][(rng.next() & 1) as usize] } else { rng.i8_full() }).collect();
        let want = reference_head(&scores, sink, &values, &e);
        let mut packed = PackedValues::with_capacity(n);
        values.chunks_exact(64).for_each(|r| packed.push(r));
        let mut scratch = SoftmaxScratch::new(n);
        for kernel in available_kernels() {
            let mut got = [0i8; 64];
            softmax_head(kernel, &scores, sink, &packed, &Exp2Lut::new(&e), &mut scratch, &mut got);
            prop_assert_eq!(got, want, "{:?}", kernel);
        }
    }
}

fn available_kernels() -> Vec<Kernel> {
    Kernel::ALL.into_iter().filter(|k| k.is_available()).collect()
}

/// The portable softmax's weighted sum over the grouped value cache against
/// the plain i64 sum over the rows, for every start and length remainder
/// mod 4, with extreme weights and values. (The AVX-512 kernel's sum is
/// fused into its softmax, tested with it below.)
#[test]
fn weighted_sum_matches_the_plain_sum() {
    let mut rng = XorShift(7);
    let n = 300;
    for round in 0..6 {
        let rows: Vec<i8> = (0..n * 64)
            .map(|i| match round {
                0 => -128,
                1 => 127,
                2 => [-128, 127][i % 2],
                _ => rng.next() as i8,
            })
            .collect();
        let mut packed = PackedValues::with_capacity(n);
        rows.chunks_exact(64).for_each(|r| packed.push(r));
        for (t, r) in rows.chunks_exact(64).enumerate() {
            assert!((0..64).all(|i| packed.get(t, i) == r[i]));
        }
        for (t0, len) in [(0, 0), (0, 1), (1, 3), (2, 5), (3, 4), (5, 64), (7, 255), (0, 300), (299, 1), (13, 286)] {
            let w: Vec<u32> = (0..len)
                .map(|i| match round {
                    0 | 1 => 65535,
                    2 => [65535, 0, 1, 256, 255][i % 5],
                    _ => (rng.next() % 65536) as u32,
                })
                .collect();
            let mut want = [0i64; 64];
            for (t, &wt) in (t0..).zip(&w) {
                for (i, a) in want.iter_mut().enumerate() {
                    *a += i64::from(wt) * i64::from(rows[t * 64 + i]);
                }
            }
            let mut got = [5i64; 64];
            weighted_sum(&packed, t0, &w, &mut got);
            assert_eq!(got.map(|x| x - 5), want, "round {round} t0 {t0} len {len}");
        }
    }
}

/// The softmax of every kernel over a value cache cleared and refilled over
/// stale bytes (every slot of the last fill set, then forgotten), at every
/// length: the unfilled slots of the last group are never weighted.
#[test]
fn softmax_ignores_stale_value_bytes() {
    let e = exp2_table();
    let mut rng = XorShift(17);
    let n = 70;
    let mut packed = PackedValues::with_capacity(n);
    let mut scratch = SoftmaxScratch::new(n);
    for (fill, extreme) in [(n, -128i8), (37, 127), (n, -128), (1, 127), (6, -128)] {
        packed.clear();
        let rows: Vec<i8> = (0..fill * 64).map(|i| if i % 3 == 0 { extreme } else { rng.i8_full() }).collect();
        for len in 1..=fill {
            packed.push(&rows[(len - 1) * 64..len * 64]);
            let scores: Vec<i32> = (0..len).map(|_| rng.i32() % 5000).collect();
            let want = reference_head(&scores, None, &rows[..len * 64], &e);
            for kernel in available_kernels() {
                let mut got = [0i8; 64];
                softmax_head(kernel, &scores, None, &packed, &Exp2Lut::new(&e), &mut scratch, &mut got);
                assert_eq!(got, want, "{kernel:?} fill {fill} len {len}");
            }
        }
    }
}

/// The vectorised head output against the reference division, around the
/// clamp boundary, the rounding ties and the largest divisors.
#[test]
fn head_outputs_match_the_reference_division() {
    let mut rng = XorShift(11);
    let divisors = [1u64, 2, 3, 7, 65535, 65536, 1 << 29, (1 << 44) - 1, 1 << 44, (1 << 45) - 1, 1 << 45, u64::MAX];
    for &d in &divisors {
        let mut acc = [0i64; 64];
        for round in 0..200 {
            for (i, a) in acc.iter_mut().enumerate() {
                let q = (rng.next() % 300) as i64 - 150;
                let half = (d / 2) as i64;
                *a = match (round + i) % 6 {
                    0 => q.saturating_mul(d as i64),
                    1 => q.saturating_mul(d as i64).saturating_add(half),
                    2 => q.saturating_mul(d as i64).saturating_add(half.saturating_add(1)),
                    3 => q.saturating_mul(d as i64).saturating_sub(half),
                    4 => [i64::MIN, i64::MAX, 0, -1, 1][i % 5],
                    _ => rng.next() as i64 >> (rng.next() % 64),
                };
            }
            let mut got = [0i8; 64];
            outputs(&acc, d, &mut got);
            let want = acc.map(|a| clamp_i8(div_rne_tte_s64_to_s32(a, d)));
            assert_eq!(got, want, "d {d} round {round}");
        }
    }
}

#[test]
fn fast_frequency_table_matches() {
    let e = exp2_table();
    let mut rng = XorShift(1234);
    for round in 0..300 {
        let v = [2, 3, 17, 1024, 1025][round % 5];
        let spread = [1, 1000, 1 << 20, i32::MAX][round % 4];
        let logits: Vec<i32> = (0..v).map(|_| rng.i32() % spread).collect();
        for (coef, total) in [(37819u32, 1_073_739_776u32), (1, 1 << 30), (u32::MAX, (v as u32) + 1), (378194, u32::MAX)] {
            let (mut a, mut b) = (vec![0u32; v], vec![0u32; v]);
            build_cumfreqs_reference(&logits, coef, total, &e, &mut a).unwrap();
            build_cumfreqs(&logits, coef, total, &e, &mut b).unwrap();
            assert_eq!(a, b, "round {round} coef {coef} total {total}");
            // The frequencies and the intervals the encoder takes from them.
            for kernel in available_kernels() {
                let mut f = vec![0u32; v];
                build_freqs(kernel, &logits, coef, total, &Exp2Lut::new(&e), &mut f).unwrap();
                for j in [0, v / 2, v - 1, (rng.next() as usize) % v] {
                    assert_eq!(symbol_interval(&f, j), (if j == 0 { 0 } else { a[j - 1] }, a[j]), "{kernel:?} round {round} j {j}");
                }
            }
        }
    }
    let extreme = [i32::MIN, i32::MAX, 0, i32::MIN];
    let (mut a, mut b) = ([0u32; 4], [0u32; 4]);
    build_cumfreqs_reference(&extreme, 37819, 1 << 30, &e, &mut a).unwrap();
    build_cumfreqs(&extreme, 37819, 1 << 30, &e, &mut b).unwrap();
    assert_eq!(a, b);
}
