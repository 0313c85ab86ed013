//! The compress, decompress and test commands.

use czip::container::OuterCodec;
use czip::pipeline::{level_to_chunk_log2, CompressOptions};

use crate::args::{CompressArgs, DecompressArgs, TestArgs};
use crate::io::{read_input, Output};
use crate::models::Models;
use crate::progress::with_progress;

pub fn run_compress(a: &CompressArgs) -> Result<(), String> {
    let output = Output { path: &a.output, input: &a.input, force: a.out.force, binary: true };
    output.check()?;
    let models = Models::open(&a.model.model)?;
    let (model, _) = models.for_writing()?;
    let text = read_input(&a.input)?;
    let opts = CompressOptions {
        chunk_log2: a.level.and_then(level_to_chunk_log2),
        codec: a.codec.parse::<OuterCodec>().map_err(|e| e.to_string())?,
        model_id_hash: a.model_id_hash,
    };
    let engine = a.threads.engine()?;
    let out = with_progress("compress", None, |p| engine.compress(model, &text, &opts, Some(p)))
        .map_err(|e| format!("{}: {e}", a.input.display()))?;
    output.write(&out)
}

pub fn run_decompress(a: &DecompressArgs) -> Result<(), String> {
    let output = Output { path: &a.output, input: &a.input, force: a.out.force, binary: false };
    output.check()?;
    let models = Models::open(&a.model.model)?;
    let data = read_input(&a.input)?;
    let model = models.for_reading(&a.input, &data)?;
    let opts = a.model_id.options();
    let engine = a.threads.engine()?;
    let text = with_progress("decompress", None, |p| engine.decompress_with(model, &data, &opts, Some(p)))
        .map_err(|e| format!("{}: {e}", a.input.display()))?;
    output.write(&text)
}

pub fn run_test(a: &TestArgs) -> Result<(), String> {
    let models = Models::open(&a.model.model)?;
    let opts = a.model_id.options();
    let engine = a.threads.engine()?;
    let mut failed = 0usize;
    for f in &a.files {
        let res = read_input(f).and_then(|data| {
            let model = models.for_reading(f, &data)?;
            engine.decompress_with(model, &data, &opts, None).map_err(|e| e.to_string())
        });
        match res {
            Ok(text) => println!("{}: OK ({} bytes)", f.display(), text.len()),
            Err(e) => {
                failed += 1;
                println!("{}: FAILED: {e}", f.display());
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} files failed verification", a.files.len()));
    }
    Ok(())
}
