//! `czip bench`: throughput in tokens per second and peak memory.
//! A measurement, not a test: it asserts only that the round trip is exact.

use std::time::{Duration, Instant};

use czip::pipeline::{level_to_chunk_log2, CompressOptions, Engine};
use czip::stage_timers::{self, Shares};
use czip::Model;

use crate::args::BenchArgs;
use crate::io::read_input;
use crate::roofline;

fn best_of<T>(n: u32, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut best: Option<(T, Duration)> = None;
    for _ in 0..n {
        let t = Instant::now();
        let r = f();
        let el = t.elapsed();
        if best.as_ref().is_none_or(|(_, b)| el < *b) {
            best = Some((r, el));
        }
    }
    best.expect("repeat >= 1")
}

/// Peak resident set size (VmHWM) in bytes, where /proc reports it.
fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// One more compression and decompression of every text with the stage
/// timers on (outside the timed runs: the tok/s figures are of the engine
/// with its timers off): the stage shares of each direction.
fn stage_shares(engine: &Engine, model: &Model, opts: &CompressOptions, texts: &[(Vec<u8>, u64)]) -> Result<(Shares, Shares), String> {
    stage_timers::reset();
    stage_timers::enable(true);
    let files: Vec<Vec<u8>> = texts.iter().map(|(t, _)| engine.compress(model, t, opts, None).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    let comp = Shares::read();
    stage_timers::reset();
    for f in &files {
        engine.decompress(model, f, None).map_err(|e| e.to_string())?;
    }
    let decomp = Shares::read();
    stage_timers::enable(false);
    Ok((comp, decomp))
}

pub fn run(a: &BenchArgs) -> Result<(), String> {
    let models = a.model.open()?;
    let (model, model_path) = models.for_writing()?;
    // One engine (kernel and pool) for every file.
    let engine = a.threads.engine()?;
    let opts = CompressOptions { chunk_log2: a.level.and_then(level_to_chunk_log2), ..Default::default() };
    let k = opts.chunk_log2.unwrap_or(model.config().max_chunk_log2);
    println!(
        "model {} · chunk {} tokens · {} thread(s) · kernel {} · best of {}",
        model_path.display(),
        1u32 << k,
        engine.threads(),
        engine.kernel().name(),
        a.repeat
    );
    println!("{:<28} {:>8} {:>9} {:>12} {:>12} {:>8}", "file", "tokens", "bytes out", "compress", "decompress", "ratio");
    let (mut tok_sum, mut c_sum, mut d_sum) = (0u64, 0f64, 0f64);
    // Each file's text and token count, for --roofline and --stages.
    let mut texts: Vec<(Vec<u8>, u64)> = Vec::new();
    for f in &a.files {
        let text = read_input(f)?;
        let s = std::str::from_utf8(&text).map_err(|_| format!("{}: not UTF-8", f.display()))?;
        let tokens = model.tokenizer().encode(s).map_err(|e| e.to_string())?.len() as u64;
        // One untimed compression first: it packs the weights for the
        // kernels (once per process) and starts the workers, so the timed
        // runs measure the steady state.
        let ((packed, ct), (back, dt)) = engine.install(|| {
            let _ = engine.compress(model, &text, &opts, None);
            let c = best_of(a.repeat, || engine.compress(model, &text, &opts, None));
            let d = match &c.0 {
                Ok(p) => best_of(a.repeat, || engine.decompress(model, p, None)),
                Err(_) => (Ok(Vec::new()), std::time::Duration::ZERO),
            };
            (c, d)
        });
        let packed = packed.map_err(|e| format!("{}: {e}", f.display()))?;
        let back = back.map_err(|e| format!("{}: {e}", f.display()))?;
        if back != text {
            return Err(format!("{}: round trip differs", f.display()));
        }
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        println!(
            "{:<28} {:>8} {:>9} {:>8.0} t/s {:>8.0} t/s {:>8.4}",
            name,
            tokens,
            packed.len(),
            tokens as f64 / ct.as_secs_f64(),
            tokens as f64 / dt.as_secs_f64(),
            packed.len() as f64 / text.len().max(1) as f64
        );
        tok_sum += tokens;
        if a.roofline || a.stages {
            texts.push((text, tokens));
        }
        c_sum += ct.as_secs_f64();
        d_sum += dt.as_secs_f64();
    }
    if a.files.len() > 1 {
        println!("{:<28} {:>8} {:>9} {:>8.0} t/s {:>8.0} t/s", "total", tok_sum, "", tok_sum as f64 / c_sum, tok_sum as f64 / d_sum);
    }
    if a.roofline {
        println!();
        let peak = roofline::print_peaks(&engine);
        let k_tokens = 1u64 << k;
        let macs: u64 = texts.iter().map(|(_, tokens)| model.config().coding_macs(*tokens, k_tokens)).sum();
        println!("kernel {} · {} thread(s) · {:.2} G multiply-adds to code the files:", engine.kernel().name(), engine.threads(), macs as f64 / 1e9);
        roofline::print_achieved("compress", macs, Duration::from_secs_f64(c_sum), peak);
        roofline::print_achieved("decompress", macs, Duration::from_secs_f64(d_sum), peak);
    }
    if a.stages {
        println!();
        println!("where the time goes (timers around the stages; shares of the summed thread time):");
        let (comp, decomp) = stage_shares(&engine, model, &opts, &texts)?;
        roofline::print_stages("compress", &comp);
        roofline::print_stages("decompress", &decomp);
    }
    match peak_rss() {
        Some(b) => println!("peak memory {:.1} MiB (model file {:.1} MiB)", b as f64 / 1048576.0, model.file_len() as f64 / 1048576.0),
        None => println!("peak memory: not available on this platform"),
    }
    Ok(())
}
