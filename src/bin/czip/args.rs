//! The command line: clap's argument types, and what they build (the
//! decompress options, the engine of a command).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use czip::model::Kernel;
use czip::pipeline::{DecompressOptions, Engine, ModelIdCheck};

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
Examples:\n  \
czip compress book.txt                  writes book.txt.czip (book.txt is kept)\n  \
czip decompress book.txt.czip           writes book.txt\n  \
czip compress -L 3 --rm *.txt           each FILE to FILE.czip, removing FILE after success\n  \
czip test *.czip                        decode and verify, write nothing\n  \
czip inspect book.txt.czip --json\n  \
czip compress -m my.czm -i - -o - < in.txt > out.czip\n\n\
The model: -m MODEL (a .czm file, or a directory of models), else $CZIP_MODEL, else v001_eng.czm \
in the models directory: $CZIP_MODELS_DIR, else ../shared/models (relative to the current \
directory), else models/ beside the czip executable. Reading a file from a directory picks the \
model the file's model_id_hash names. -v says which model was used and why.\n\n\
An output never replaces the input, nor an existing file unless -f is given.\n\n\
Exit status: 0 success, 1 bad input or data (one line on stderr), 2 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Compress UTF-8 text files, each FILE into FILE.czip.
    #[command(after_help = "Examples:\n  \
czip compress notes.txt                writes notes.txt.czip (notes.txt is kept)\n  \
czip compress -L 3 a.txt b.txt         a.txt.czip and b.txt.czip: a summary line each and a total\n  \
czip compress --rm *.txt               each FILE to FILE.czip; FILE removed after its success\n  \
czip compress -c zstd -i in.txt -o out.czip\n  \
czip compress - < in.txt > in.czip     stdin to stdout\n  \
czip compress -v notes.txt             also says which model was used and why\n\n\
Several files: a failure is reported and the others still run; the exit status is then 1.")]
    Compress(CompressArgs),
    /// Decompress CZIPv1 files back to the exact original text, each FILE.czip into FILE.
    #[command(after_help = "Examples:\n  \
czip decompress notes.txt.czip         writes notes.txt (notes.txt.czip is kept)\n  \
czip decompress -f *.czip              each FILE.czip to FILE, replacing existing files\n  \
czip decompress -i notes.bin -o notes.txt   a name without .czip needs -o\n  \
czip decompress notes.txt.czip -o -    to stdout\n  \
czip decompress -m ../shared/models/v000_eng.czm old.czip   force a model\n\n\
Without -m, each file is read with the model its model_id_hash names among the models in the \
models directory (see czip --help); -v says which.")]
    Decompress(DecompressArgs),
    /// Decode and verify files (length, UTF-8) without writing anything.
    #[command(after_help = "Examples:\n  \
czip test *.czip                       one line per file: OK (N bytes, checksum?) or FAILED: why\n  \
czip test -v old.czip new.czip         also says which model read each file\n\n\
Exit status 1 when any file fails.")]
    Test(TestArgs),
    /// Show a file's headers, chunk table, token count, ratio and payload SHA-256.
    Inspect(InspectArgs),
    /// Measure compress and decompress speed (tokens/s) and peak memory. Not a test.
    Bench(BenchArgs),
    /// What the model pays for each token: freq/total, bits, the summary; or an HTML cost map.
    Trace(crate::trace::TraceArgs),
}

#[derive(Args)]
pub struct ModelArg {
    /// Model file (`.czm`), or a directory of models: writing uses the newest
    /// published model there (v001_eng.czm), reading a file the model its
    /// model_id_hash names. Default: $CZIP_MODEL, else the models directory
    /// ($CZIP_MODELS_DIR, else ../shared/models, else models/ beside czip).
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Say on stderr which model is used and why (unless -m names a file);
    /// compress and decompress also print a summary line for every file.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

/// Whether an output may replace a file, and what becomes of the inputs.
#[derive(Args)]
pub struct OutputArg {
    /// Replace an existing output file, or write compressed data to a terminal.
    /// The input file is never overwritten.
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Keep the input files (the default; accepted for zstd habits).
    #[arg(short = 'k', long = "keep")]
    pub keep: bool,
    /// Remove each input file after its output is written (never after a
    /// failure; never when the output goes to stdout).
    #[arg(long = "rm", conflicts_with = "keep")]
    pub rm: bool,
}

/// How the work runs: thread count and int8 kernel. Output never depends on either.
#[derive(Args)]
pub struct ThreadsArg {
    /// Worker threads (default: all cores). Output never depends on this.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Force the int8 kernel (default: the fastest this CPU supports), to
    /// cross-check paths on your machine. Output never depends on this.
    #[arg(long, value_name = "scalar|avx2|avx512", value_parser = KernelParser)]
    pub kernel: Option<Kernel>,
}

/// `--kernel`: a kernel this CPU runs ([`Kernel::parse_available`]: one it
/// lacks is a usage error), with all three listed in the help.
#[derive(Clone)]
struct KernelParser;

impl TypedValueParser for KernelParser {
    type Value = Kernel;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<Kernel, clap::Error> {
        Kernel::parse_available.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Kernel::ALL.into_iter().map(|k| PossibleValue::new(k.name()))))
    }
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
    /// Decode the compressed file and compare it with the input before
    /// writing it (about doubles the time): a file that would not give the
    /// text back is an error, and nothing is written.
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Text files to compress, each to FILE.czip beside it (`-` = stdin, to stdout).
    #[arg(value_name = "FILE", required_unless_present = "input", conflicts_with = "input")]
    pub files: Vec<PathBuf>,
    /// Input text (`-` = stdin): the same as one FILE.
    #[arg(short = 'i', long = "input", value_name = "IN")]
    pub input: Option<PathBuf>,
    /// Output file instead of FILE.czip (`-` = stdout, not a terminal); one input only.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
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
    /// CZIPv1 files to decompress, each FILE.czip to FILE beside it (`-` = stdin, to stdout).
    #[arg(value_name = "FILE", required_unless_present = "input", conflicts_with = "input")]
    pub files: Vec<PathBuf>,
    /// Input CZIPv1 file (`-` = stdin): the same as one FILE.
    #[arg(short = 'i', long = "input", value_name = "IN")]
    pub input: Option<PathBuf>,
    /// Output text instead of FILE without .czip (`-` = stdout); one input only.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
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
    /// Also measure this CPU's int8 peak (the engine's packed kernel on
    /// cache-resident operands, each kernel the CPU runs, one thread and the
    /// pool's threads) and print each direction's multiply-adds per second
    /// as a fraction of it.
    #[arg(long)]
    pub roofline: bool,
    /// Also print where the time goes: tokenizer, matrices, attention,
    /// element-wise, frequency table, coder, outer codec (timers around the
    /// stages, on only for this; shares of the summed thread time).
    #[arg(long)]
    pub stages: bool,
    /// Text files to compress and decompress.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

impl Command {
    /// The rules of a call's files that clap cannot express
    /// ([`crate::files::check_usage`]), as a usage error of the subcommand.
    pub fn check_usage(&self) -> Result<(), clap::Error> {
        let (name, files, input, output, out) = match self {
            Command::Compress(a) => ("compress", &a.files, &a.input, &a.output, &a.out),
            Command::Decompress(a) => ("decompress", &a.files, &a.input, &a.output, &a.out),
            _ => return Ok(()),
        };
        let inputs = crate::files::inputs(files, input.as_deref());
        crate::files::check_usage(&inputs, output.as_deref(), out.rm).map_err(|msg| {
            let mut cli = Cli::command();
            cli.build();
            match cli.find_subcommand_mut(name) {
                Some(sub) => sub.error(ErrorKind::ArgumentConflict, msg),
                None => cli.error(ErrorKind::ArgumentConflict, msg),
            }
        })
    }
}

fn parse_hex_u32(s: &str) -> Result<u32, String> {
    let t = s.trim_start_matches("0x");
    if t.is_empty() || t.len() > 8 {
        return Err(format!("{s:?}: expected 1 to 8 hex digits"));
    }
    u32::from_str_radix(t, 16).map_err(|_| format!("{s:?}: expected hex digits"))
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
