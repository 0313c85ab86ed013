//! Arguments and the compress / decompress / test commands.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use czip::container::{read_file, OuterCodec, ReadLimits};
use czip::model::load::{classify, ModelMatch};
use czip::model::{Kernel, ModelError};
use czip::pipeline::{level_to_chunk_log2, CompressOptions, DecompressOptions, Engine, ModelIdCheck};
use czip::Model;

use crate::io::{read_input, Output};
use crate::progress::with_progress;

#[derive(Parser)]
#[command(
    name = "czip",
    version,
    about = "CZIP v1 reference engine: bit-exact neural text compression",
    long_about = "CZIP v1 reference engine.\n\n\
A one-layer int8 transformer predicts each token, an integer softmax turns its logits into a \
frequency table and a 32-bit arithmetic coder codes chunks of 64..1024 tokens; the result is a \
CZIPv1 file (16-byte header + brotli or zstd payload). Every step is integer arithmetic, so every \
conforming implementation produces the same bits.\n\n\
Examples:\n  czip compress -m ../shared/models/v001_eng.czm -L 3 -i book.txt -o book.czip\n  \
czip decompress -m ../shared/models -i book.czip -o book.txt\n  \
czip test -m ../shared/models *.czip\n  czip inspect book.czip --json\n\n\
-m takes a model file, or a directory of the published models (then reading picks the one a \
file names). An output never replaces the input, nor an existing file unless -f is given.\n\n\
Exit status: 0 success, 1 bad input or data (one line on stderr), 2 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Compress UTF-8 text into a CZIPv1 file.
    Compress(CompressArgs),
    /// Decompress a CZIPv1 file back to the exact original text.
    Decompress(DecompressArgs),
    /// Decode and verify files (length, UTF-8) without writing anything.
    Test(TestArgs),
    /// Show a file's headers, chunk table, token count, ratio and payload SHA-256.
    Inspect(InspectArgs),
    /// Measure compress and decompress speed (tokens/s) and peak memory. Not a test.
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct ModelArg {
    /// Model file (`.czm`), e.g. ../shared/models/v001_eng.czm; or a directory of
    /// published models (v000_eng.czm, v001_eng.czm): compress uses the newest,
    /// decompress and test the one the file's model_id_hash names.
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub model: PathBuf,
}

/// Where the output goes and whether it may replace a file.
#[derive(Args)]
pub struct OutputArg {
    /// Replace an existing output file, or write compressed data to a terminal.
    /// The input file is never overwritten.
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

/// How the work runs: thread count and int8 kernel. Output never depends on either.
#[derive(Args)]
pub struct ThreadsArg {
    /// Worker threads (default: all cores). Output never depends on this.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Force the int8 kernel (default: the fastest this CPU supports), to
    /// cross-check paths on your machine. Output never depends on this.
    #[arg(long, value_name = "scalar|avx2|avx512", value_parser = Kernel::parse_available)]
    pub kernel: Option<Kernel>,
}

#[derive(Args)]
pub struct CompressArgs {
    #[command(flatten)]
    pub model: ModelArg,
    /// Level 1..5 = 64, 128, 256, 512, 1024-token chunks. Default: the model's full capacity.
    #[arg(short = 'L', long = "level", value_name = "1..5", value_parser = clap::value_parser!(u8).range(1..=5))]
    pub level: Option<u8>,
    /// Outer codec of the payload.
    #[arg(short = 'c', long = "codec", default_value = "brotli", value_parser = ["brotli", "zstd"])]
    pub codec: String,
    /// Write this model_id_hash (8 hex digits) instead of the model's content hash
    /// (upstream wrote 271bf17f for v001 and 875b46ff for v000).
    #[arg(long = "model-id-hash", value_name = "HEX", value_parser = parse_hex_u32)]
    pub model_id_hash: Option<u32>,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Input text (`-` = stdin).
    #[arg(short = 'i', long = "input", value_name = "IN")]
    pub input: PathBuf,
    /// Output file (`-` = stdout, not a terminal); refused if it exists, unless -f.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: OutputArg,
}

/// What to do with the file's model_id_hash.
#[derive(Args)]
pub struct ModelIdArg {
    /// Decode even when the file's model_id_hash names a different published
    /// model (refused by default); spec §9 treats the field as informational.
    #[arg(long = "ignore-model-id-hash")]
    pub ignore_model_id_hash: bool,
}

impl ModelIdArg {
    pub fn options(&self) -> DecompressOptions {
        DecompressOptions {
            model_id_check: if self.ignore_model_id_hash { ModelIdCheck::Ignore } else { ModelIdCheck::RejectOtherPublishedModel },
        }
    }
}

#[derive(Args)]
pub struct DecompressArgs {
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub model_id: ModelIdArg,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Input CZIPv1 file (`-` = stdin).
    #[arg(short = 'i', long = "input", value_name = "IN")]
    pub input: PathBuf,
    /// Output text (`-` = stdout); refused if it exists, unless -f.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub model_id: ModelIdArg,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Files to verify.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// The CZIPv1 file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Also check K against this model's capacity and model_id_hash against its
    /// content hash (a directory: the published model the file names, as for decompress).
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArg,
    /// Level 1..5 (default: the model's full capacity).
    #[arg(short = 'L', long = "level", value_name = "1..5", value_parser = clap::value_parser!(u8).range(1..=5))]
    pub level: Option<u8>,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Timed repetitions of each direction, after one untimed warm-up
    /// compression (the best is reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Text files to compress and decompress.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

fn parse_hex_u32(s: &str) -> Result<u32, String> {
    let t = s.trim_start_matches("0x");
    if t.is_empty() || t.len() > 8 {
        return Err(format!("{s:?}: expected 1 to 8 hex digits"));
    }
    u32::from_str_radix(t, 16).map_err(|_| format!("{s:?}: expected hex digits"))
}

/// Loads one model file; any refusal names the file.
pub fn load_model(path: &Path) -> Result<Model, String> {
    Model::open(path).map_err(|e| match e {
        // Already says "cannot read model PATH: why".
        ModelError::Io { .. } => e.to_string(),
        _ => format!("{}: not a CZIP model: {e}", path.display()),
    })
}

/// The file names `-m DIR` looks for, oldest first; the newest present is
/// the default. Which model each is (its content and upstream path hashes)
/// is known to [`czip::model::load::classify`]; a unit test checks these
/// names against it.
const PUBLISHED_MODELS: [&str; 2] = ["v000_eng.czm", "v001_eng.czm"];

/// What `-m` names: a model file, or a directory of published models, each
/// loaded when first needed.
pub enum Models {
    File(Box<Model>),
    /// Present models of [`PUBLISHED_MODELS`], newest first (never empty:
    /// [`Models::open`] refuses such a directory).
    Dir { dir: PathBuf, found: Vec<(PathBuf, OnceCell<Model>)> },
}

fn no_published_model(dir: &Path) -> String {
    format!("{} contains no {}", dir.display(), PUBLISHED_MODELS.join(" or "))
}

impl Models {
    pub fn open(path: &Path) -> Result<Models, String> {
        if !path.is_dir() {
            return load_model(path).map(|m| Models::File(Box::new(m)));
        }
        let found: Vec<_> = PUBLISHED_MODELS
            .iter()
            .rev()
            .map(|n| path.join(n))
            .filter(|p| p.is_file())
            .map(|p| (p, OnceCell::new()))
            .collect();
        if found.is_empty() {
            return Err(no_published_model(path));
        }
        Ok(Models::Dir { dir: path.to_path_buf(), found })
    }

    fn load(entry: &(PathBuf, OnceCell<Model>)) -> Result<&Model, String> {
        if let Some(m) = entry.1.get() {
            return Ok(m);
        }
        let m = load_model(&entry.0)?;
        Ok(entry.1.get_or_init(|| m))
    }

    /// The model to write with (and its path): the file, or the newest
    /// published model in the directory.
    pub fn for_writing(&self) -> Result<(&Model, Option<&Path>), String> {
        match self {
            Models::File(m) => Ok((m, None)),
            Models::Dir { dir, found } => {
                let newest = found.first().ok_or_else(|| no_published_model(dir))?;
                Ok((Self::load(newest)?, Some(&newest.0)))
            }
        }
    }

    /// The model to read `file` (its bytes) with: the file, or the model in
    /// the directory that the file's `model_id_hash` names (its content hash
    /// or the path hash upstream wrote for it). When it names none of them,
    /// the newest, with a note on stderr; a file that is not even a CZIPv1
    /// container gets the newest too (decoding then says what is wrong).
    pub fn for_reading(&self, file: &Path, bytes: &[u8]) -> Result<&Model, String> {
        let (dir, found) = match self {
            Models::File(m) => return Ok(m),
            Models::Dir { dir, found } => (dir, found),
        };
        let newest = found.first().ok_or_else(|| no_published_model(dir))?;
        let Ok(f) = read_file(bytes, &ReadLimits::default()) else {
            return Self::load(newest);
        };
        let stored = f.inner.model_id_hash;
        // A model that does not load is no candidate (it is reported only
        // if it is the fallback below).
        for entry in found {
            if let Ok(m) = Self::load(entry) {
                if classify(stored, m.content_hash()) == ModelMatch::Same {
                    return Ok(m);
                }
            }
        }
        let names: Vec<String> = found.iter().map(|(p, _)| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
        eprintln!(
            "czip: note: {}: model_id_hash {stored:08x} names none of the models in {} ({}); reading it with {}",
            file.display(),
            dir.display(),
            names.join(", "),
            newest.0.display()
        );
        Self::load(newest)
    }
}

impl ThreadsArg {
    /// The command's engine: the requested kernel (default: the fastest)
    /// and one pool of the requested thread count, for all its files.
    pub fn engine(&self) -> Result<Engine, String> {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = self.threads {
            b = b.num_threads(usize::from(n));
        }
        let pool = b.build().map_err(|e| format!("cannot start worker threads: {e}"))?;
        let engine = Engine::default().with_pool(Arc::new(pool));
        Ok(match self.kernel {
            Some(k) => engine.with_kernel(k),
            None => engine,
        })
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name `-m DIR` looks for is a published model's name in
    /// `czip::model::load`'s table (looked up by upstream's path hash).
    #[test]
    fn directory_model_names_are_the_published_ones() {
        use czip::model::load::published_model_named_by;
        // Upstream's path hashes of models/v000_eng.czm and models/v001_eng.czm.
        let named: Vec<_> = [0x875b_46ff, 0x271b_f17f].into_iter().map(published_model_named_by).collect();
        assert_eq!(named, PUBLISHED_MODELS.map(Some));
    }
}
