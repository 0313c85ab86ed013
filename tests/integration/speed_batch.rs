//! The fast paths against the spec-shaped one-token forward
//! (`ForwardState::step`): batched prefill and lockstep logits for both
//! published models and every available kernel, and whole-pipeline output
//! identical across kernels and thread counts.

use crate::common;

use czip::model::{BatchForward, ForwardState, Kernel};
use std::sync::Arc;

use czip::pipeline::{CompressOptions, Engine};
use czip::Model;

fn models() -> Vec<Model> {
    let Some(dir) = common::models_dir() else { return vec![] };
    ["v000_eng.czm", "v001_eng.czm"].iter().map(|m| Model::open(&dir.join(m)).expect("model loads")).collect()
}

fn kernels() -> Vec<Kernel> {
    Kernel::ALL.into_iter().filter(|k| k.is_available()).collect()
}

/// A deterministic token sequence: real text tokens then a few extremes.
fn tokens(model: &Model, n: usize) -> Vec<u32> {
    let text = "It was the best of times, it was the worst of times; <|bos|> 0123456789 \u{00e9}\u{4e2d}\n\t ".repeat(80);
    let mut t = model.tokenizer().encode(&text).unwrap();
    let v = model.config().vocab_size as u32;
    t.extend([0, v - 1, 1022, 1023, 5, 5, 5]);
    t.truncate(n);
    t
}

fn reference_logits(model: &Model, toks: &[u32]) -> Vec<Vec<i32>> {
    let v = model.config().vocab_size;
    let mut st = ForwardState::new(model, toks.len());
    let mut prev = model.config().bos;
    toks.iter()
        .map(|&t| {
            let mut l = vec![0; v];
            st.step(model, prev, &mut l).unwrap();
            prev = t;
            l
        })
        .collect()
}

#[test]
fn prefill_matches_the_one_token_forward() {
    for model in models() {
        let cap = model.config().rope_rows.min(300);
        let toks = tokens(&model, cap);
        let want = reference_logits(&model, &toks);
        let v = model.config().vocab_size;
        for kernel in kernels() {
            // Uneven block sizes exercise every tile remainder.
            for block in [64usize, 37, 1] {
                // Split rows: blocks of 64 go through rayon::join halves.
                let mut bf = BatchForward::new(&model, kernel, 64, cap, 1).split_rows(block == 64);
                let mut logits = vec![0; 64 * v];
                let mut prev = model.config().bos;
                let mut p = 0;
                for chunk in toks.chunks(block) {
                    let rows: Vec<(usize, u32)> = chunk
                        .iter()
                        .map(|&t| {
                            let r = (0, prev);
                            prev = t;
                            r
                        })
                        .collect();
                    bf.forward(&model, &rows, &mut logits).unwrap();
                    for i in 0..rows.len() {
                        assert_eq!(logits[i * v..(i + 1) * v], want[p + i][..], "{kernel:?} block {block} position {}", p + i);
                    }
                    p += rows.len();
                }
            }
        }
    }
}

#[test]
fn lockstep_matches_the_one_token_forward() {
    for model in models() {
        let v = model.config().vocab_size;
        let n = 70.min(model.config().rope_rows);
        // Three chunks of different lengths and contents, stepped together.
        let seqs: Vec<Vec<u32>> = (0..3).map(|s| tokens(&model, n + 7 * s).split_off(7 * s)).collect();
        let want: Vec<_> = seqs.iter().map(|s| reference_logits(&model, &s[..n - 5 * 2])).collect();
        for kernel in kernels() {
            let mut bf = BatchForward::new(&model, kernel, 3, n, 3);
            let mut logits = vec![0; 3 * v];
            let lens = [n - 10, n - 15, n - 20];
            let mut prev = [model.config().bos; 3];
            for p in 0..lens[0] {
                let active: Vec<usize> = (0..3).filter(|&s| p < lens[s]).collect();
                let rows: Vec<(usize, u32)> = active.iter().map(|&s| (s, prev[s])).collect();
                bf.forward(&model, &rows, &mut logits).unwrap();
                for (i, &s) in active.iter().enumerate() {
                    assert_eq!(logits[i * v..(i + 1) * v], want[s][p][..], "{kernel:?} slot {s} position {p}");
                    prev[s] = seqs[s][p];
                }
            }
        }
    }
}

#[test]
fn pipeline_output_is_identical_across_kernels_and_threads() {
    let Some(golden) = common::golden_dir() else { return };
    let mut text = std::fs::read(golden.join("corpus/alice_ch1.txt")).unwrap();
    text.truncate(2500); // ASCII: still UTF-8; ~600 tokens keeps the scalar kernel quick
    for model in models() {
        for log2 in [6, model.config().max_chunk_log2.min(8)] {
            let opts = CompressOptions { chunk_log2: Some(log2), ..Default::default() };
            let mut outputs = vec![];
            for kernel in kernels() {
                for threads in [1, 3] {
                    let pool = Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap());
                    let engine = Engine::default().with_kernel(kernel).with_pool(pool);
                    let packed = engine.compress(&model, &text, &opts, None).unwrap();
                    let back = engine.decompress(&model, &packed, None).unwrap();
                    assert_eq!(back, text);
                    outputs.push((kernel, threads, packed));
                }
            }
            for (k, t, o) in &outputs {
                assert_eq!(o, &outputs[0].2, "{k:?} with {t} threads differs (k = {log2})");
            }
        }
    }
}

#[test]
fn chunk_coders_logits_are_the_step_walks() {
    // `ChunkCoder::each_logits` (prefill blocks) answers the conformance
    // runner's logits cases in place of `walk_chunk`: the same logits at
    // every position, and the same refusal past the capacity.
    use czip::model::forward::walk_chunk;
    use czip::model::Variant;
    use czip::pipeline::ChunkCoder;
    for model in models() {
        let cap = model.config().rope_rows;
        let toks = tokens(&model, cap.min(200));
        type At<'a> = &'a mut dyn FnMut(usize, &[i32]) -> Result<(), String>;
        let collect = |walk: &mut dyn FnMut(At) -> Result<(), String>| {
            let mut all = Vec::new();
            walk(&mut |p, l| {
                all.push((p, l.to_vec()));
                Ok(())
            })
            .map(|()| all)
        };
        for kernel in kernels() {
            for last in [0, 1, 63, 64, 65, toks.len() - 1, toks.len()] {
                let want = collect(&mut |at| walk_chunk(Variant::NORMATIVE, &model, &toks, last, false, |p, l, _| at(p, l)));
                let got = collect(&mut |at| ChunkCoder::with_kernel(&model, last + 1, kernel).each_logits(&toks, last, at));
                assert_eq!(got, want, "{kernel:?} last {last} (capacity {cap})");
            }
        }
    }
}
