//! The compress, decompress and test commands.

use czip::container::{integrity, OuterCodec};
use czip::pipeline::{level_to_chunk_log2, CompressOptions, DecompressOptions};

use crate::args::{CompressArgs, DecompressArgs, TestArgs};
use crate::files::{inputs, jobs, run_all, Direction, Sizes};
use crate::io::read_input;
use crate::progress::with_progress;

pub fn run_compress(a: &CompressArgs) -> Result<(), String> {
    let jobs = jobs(inputs(&a.files, a.input.as_deref()), a.output.as_deref(), Direction::Compress);
    let opts = CompressOptions {
        chunk_log2: a.level.and_then(level_to_chunk_log2),
        codec: a.codec.parse::<OuterCodec>().map_err(|e| e.to_string())?,
        model_id_hash: a.model_id_hash,
    };
    let setup = || Ok((a.model.open()?, a.threads.engine()?));
    run_all(&jobs, Direction::Compress, &a.out, a.model.verbose, setup, |(models, engine), job, output| {
        let (model, _) = models.for_writing()?;
        let text = read_input(&job.input)?;
        let packed = with_progress("compress", None, |p| engine.compress(model, &text, &opts, Some(p)))
            .map_err(|e| format!("{}: {e}", job.input.display()))?;
        if a.verify {
            // Whatever --model-id-hash wrote: the check is of the coding.
            let back = with_progress("verify", None, |p| engine.decompress_with(model, &packed, &DecompressOptions::SPEC_LITERAL, Some(p)));
            match back {
                Ok(back) if back == text => {}
                Ok(_) => return Err(format!("{}: --verify: the compressed file decodes to another text (nothing written)", job.input.display())),
                Err(e) => return Err(format!("{}: --verify: the compressed file does not decode: {e} (nothing written)", job.input.display())),
            }
        }
        output.write(&packed)?;
        Ok(Sizes { input: text.len() as u64, output: packed.len() as u64 })
    })
}

pub fn run_decompress(a: &DecompressArgs) -> Result<(), String> {
    let jobs = jobs(inputs(&a.files, a.input.as_deref()), a.output.as_deref(), Direction::Decompress);
    let opts = a.model_id.options();
    let setup = || Ok((a.model.open()?, a.threads.engine()?));
    run_all(&jobs, Direction::Decompress, &a.out, a.model.verbose, setup, |(models, engine), job, output| {
        let data = read_input(&job.input)?;
        let model = models.for_reading(&job.input, &data).map_err(|e| format!("{}: {e}", job.input.display()))?;
        let text = with_progress("decompress", None, |p| engine.decompress_with(model, &data, &opts, Some(p)))
            .map_err(|e| format!("{}: {e}", job.input.display()))?;
        output.write(&text)?;
        Ok(Sizes { input: data.len() as u64, output: text.len() as u64 })
    })
}

pub fn run_test(a: &TestArgs) -> Result<(), String> {
    let models = a.model.open()?;
    let opts = a.model_id.options();
    let engine = a.threads.engine()?;
    let mut failed = 0usize;
    for f in &a.files {
        let res = read_input(f).and_then(|data| {
            let model = models.for_reading(f, &data)?;
            let text = engine.decompress_with(model, &data, &opts, None).map_err(|e| e.to_string())?;
            Ok((text, integrity(&data)))
        });
        match res {
            Ok((text, guard)) => println!("{}: OK ({} bytes, {guard})", f.display(), text.len()),
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
