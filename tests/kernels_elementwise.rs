//! The branch-free element-wise operations, the segment-form attention
//! softmax and the fast frequency table against their spec-shaped
//! references, on random and edge inputs.

use czip::freq_table::{build_cumfreqs, build_cumfreqs_reference};
use czip::model::attention::OnlineSoftmax;
use czip::model::batch_attention::{softmax_head, SoftmaxScratch};
use czip::model::kernels::elementwise as fast;
use czip::model::{layers, Requant};
use czip::numerics::{exp_q16, ATTN_COEF_Q24};
use czip::tables::exp2_table;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn i32(&mut self) -> i32 {
        self.next() as i32
    }
    fn i8(&mut self) -> i8 {
        ((self.next() % 255) as i32 - 127) as i8
    }
}

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
    let mut rng = Rng(11);
    let mut xs = edge_i32();
    xs.extend((0..20000).map(|_| rng.i32() >> (rng.next() % 31)));
    for rq in [Requant { mult: 819, shift: 20 }, Requant { mult: -3, shift: 1 }, Requant { mult: i32::MAX, shift: 40 }, Requant { mult: i32::MIN, shift: 63 }, Requant { mult: 5, shift: 0 }, Requant { mult: 7, shift: -3 }, Requant { mult: 1, shift: 64 }] {
        let (mut a, mut b) = (vec![0i8; xs.len()], vec![0i8; xs.len()]);
        layers::requantize(&xs, rq, &mut a);
        fast::requantize(&xs, rq, &mut b);
        assert_eq!(a, b, "{rq:?}");
    }
}

#[test]
fn rmsnorm_reglu_rope_scores_match() {
    let mut rng = Rng(5);
    for round in 0..400 {
        let len = 1 + round % 97;
        let ext = [-127i8, 127, 0, -1, 1];
        let gen = |rng: &mut Rng| -> Vec<i8> { (0..len).map(|i| if round % 3 == 0 { ext[(i + round) % 5] } else { rng.i8() }).collect() };
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
        let x: Vec<i8> = (0..64).map(|_| rng.i8()).collect();
        let cos: Vec<i16> = (0..32).map(|_| rng.next() as i16).collect();
        let sin: Vec<i16> = (0..32).map(|_| rng.next() as i16).collect();
        for q in [false, true] {
            let (mut a, mut b) = ([0i8; 64], [0i8; 64]);
            layers::rope(&x, &cos, &sin, q, &mut a);
            fast::rope(&x, &cos, &sin, q, &mut b);
            assert_eq!(a, b);
        }
    }
    let dots = edge_i32();
    for mult in [0, 1, -1, 12345, i32::MAX, i32::MIN] {
        let mut got = vec![0; dots.len()];
        fast::scores(&dots, mult, &mut got);
        for (&d, &g) in dots.iter().zip(&got) {
            let want = czip::numerics::sra_rne_tte_s64_to_s32(i64::from(czip::numerics::sra_rne_tte_s32(d, 2)) * i64::from(mult), 15);
            assert_eq!(g, want, "dot {d} mult {mult}");
        }
    }
}

#[test]
fn exp_matches() {
    let e = exp2_table();
    for d in (-3_000_000..=10).chain(edge_i32()) {
        assert_eq!(fast::exp_attn(d, &e), exp_q16(d, ATTN_COEF_Q24, &e), "d = {d}");
    }
}

fn reference_head(scores: &[i32], sink: Option<i32>, values: &[i8], e: &[u16; 256]) -> [i8; 64] {
    let mut sm = OnlineSoftmax::new();
    if let Some(s) = sink {
        sm.start_with_sink(s);
    }
    for (&s, v) in scores.iter().zip(values.chunks_exact(64)) {
        sm.push(s, v, e);
    }
    let mut out = [0i8; 64];
    sm.output(&mut out);
    out
}

#[test]
fn segment_softmax_matches_the_online_softmax() {
    let e = exp2_table();
    let mut rng = Rng(99);
    let mut scratch = SoftmaxScratch::new(1100);
    for round in 0..600 {
        let n = [1, 2, 3, 63, 64, 65, 254, 255, 256, 257, 511, 1024, 1100][round % 13];
        let scale = [1, 100, 3000, 1 << 20, 1 << 30][round % 5];
        let scores: Vec<i32> = match round % 4 {
            0 => (0..n).map(|t| (t as i32).wrapping_mul(scale / 64 + 1)).collect(), // rising: a rescale every step
            1 => (0..n).map(|_| 7).collect(),                                      // one long segment (flushes)
            _ => (0..n).map(|_| (rng.i32() % scale).wrapping_abs() * if rng.next() & 1 == 0 { 1 } else { -1 }).collect(),
        };
        let values: Vec<i8> = (0..n * 64).map(|i| if round % 7 == 0 { [127, -127][i % 2] } else { rng.i8() }).collect();
        let sink = (round % 3 == 0).then(|| rng.i32() % scale);
        let want = reference_head(&scores, sink, &values, &e);
        let mut got = [0i8; 64];
        softmax_head(&scores, sink, &values, &e, &mut scratch, &mut got);
        assert_eq!(got, want, "round {round} n {n}");
    }
}

#[test]
fn fast_frequency_table_matches() {
    let e = exp2_table();
    let mut rng = Rng(1234);
    for round in 0..300 {
        let v = [2, 3, 17, 1024, 1025][round % 5];
        let spread = [1, 1000, 1 << 20, i32::MAX][round % 4];
        let logits: Vec<i32> = (0..v).map(|_| rng.i32() % spread).collect();
        for (coef, total) in [(37819u32, 1_073_739_776u32), (1, 1 << 30), (u32::MAX, (v as u32) + 1), (378194, u32::MAX)] {
            let (mut a, mut b) = (vec![0u32; v], vec![0u32; v]);
            build_cumfreqs_reference(&logits, coef, total, &e, &mut a).unwrap();
            build_cumfreqs(&logits, coef, total, &e, &mut b).unwrap();
            assert_eq!(a, b, "round {round} coef {coef} total {total}");
        }
    }
    let extreme = [i32::MIN, i32::MAX, 0, i32::MIN];
    let (mut a, mut b) = ([0u32; 4], [0u32; 4]);
    build_cumfreqs_reference(&extreme, 37819, 1 << 30, &e, &mut a).unwrap();
    build_cumfreqs(&extreme, 37819, 1 << 30, &e, &mut b).unwrap();
    assert_eq!(a, b);
}
