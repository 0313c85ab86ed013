//! `czip trace`: what the model pays for each token of a text (or of a
//! CZIPv1 file's decoded text), as a table ([`table`]: text, TSV, JSON lines)
//! or one self-contained HTML page ([`html`]). The numbers come from the
//! library ([`czip::pipeline::TextTrace`]); this module picks the model and
//! the input, and renders.

mod compare;
mod escape;
mod html;
mod summary;
mod table;

use std::path::PathBuf;

use clap::Args;
use czip::container::baselines::baselines;
use czip::container::OuterCodec;
use czip::pipeline::{level_to_chunk_log2, CompressOptions, TextTrace};
use czip::Model;

use crate::args::{ModelArg, ModelIdArg, ThreadsArg};
use crate::io::{read_input, Output};
use crate::progress::with_progress;

pub use summary::Summary;

#[derive(Args)]
#[command(after_help = "\
Per token: chunk, position in the chunk, token id, its text (escaped: \\n, \\t, \\r, \\\\, other \
control bytes and the bytes of a token that is not UTF-8 on its own as \\xNN), freq/total of the \
frequency table that codes it (spec §6), bits = -log2(freq/total) and the running sum of bits. \
Then the summary: tokens, the coded chunk bytes (the arithmetic coder's output, without headers or \
outer codec) and the whole file, bits/token (actual, entropy estimate = sum of bits / tokens, \
naive 10), ratios, and the text under brotli-11, zstd-22 and gzip-9.

Examples:
  czip trace -m ../shared/models/v001_eng.czm -L 1 alice.txt
  czip trace -m ../shared/models --all --tsv alice.txt.czip > costs.tsv
  czip trace -m ../shared/models/v001_eng.czm -L 1 --html alice.html alice.txt
  czip trace -m ../shared/models/v001_eng.czm -L 1 --html alice.html --compare gpu/alice.txt.czip alice.txt")]
pub struct TraceArgs {
    #[command(flatten)]
    pub model: ModelArg,
    /// Level 1..5 = 64, 128, 256, 512, 1024-token chunks (a text only; a
    /// .czip file keeps its own). Default: the model's full capacity, or with
    /// --compare the chunk length of OTHER.
    #[arg(short = 'L', long = "level", value_name = "1..5", value_parser = clap::value_parser!(u8).range(1..=5))]
    pub level: Option<u8>,
    /// Outer codec of the whole file whose size the summary shows (a text only).
    #[arg(short = 'c', long = "codec", default_value = "brotli", value_parser = ["brotli", "zstd"])]
    pub codec: String,
    #[command(flatten)]
    pub model_id: ModelIdArg,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Every token (default: the first 10 and every 50th).
    #[arg(long)]
    pub all: bool,
    /// One JSON object per token line, then {"summary": …}.
    #[arg(long, conflicts_with_all = ["tsv", "html"])]
    pub json: bool,
    /// Tab-separated token lines with a header; then the summary as `# ` lines (a table of sizes: bytes, ratio, bits per token).
    #[arg(long, conflicts_with = "html")]
    pub tsv: bool,
    /// Write one self-contained HTML page (no network): the text painted by
    /// cost, each token's top-5 predictions, a per-chunk chart, the summary.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
    /// Replace an existing OUT.html.
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// A .czip file of the same text from another implementation: say (and
    /// mark on the page) the first chunk and token where it departs from the
    /// reference, as `czip-conformance score` localises it.
    #[arg(long, value_name = "OTHER.czip")]
    pub compare: Option<PathBuf>,
    /// A text (UTF-8), or a CZIPv1 file (traced under the model it names,
    /// with its own chunk length); `-` = stdin.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// The magic of a CZIPv1 file (spec §9): an input starting with it is a file to decode.
const CZIP_MAGIC: &[u8] = b"CZIPv1";

pub fn run(a: &TraceArgs) -> Result<(), String> {
    let html_out = a.html.as_ref().map(|p| Output { path: p, input: &a.file, force: a.force, binary: false });
    if let Some(o) = &html_out {
        o.check()?;
    }
    let models = a.model.open()?;
    let data = read_input(&a.file)?;
    let from_file = data.starts_with(CZIP_MAGIC);
    let model: &Model = if from_file {
        models.for_reading(&a.file, &data).map_err(|e| format!("{}: {e}", a.file.display()))?
    } else {
        models.for_writing()?.0
    };
    let other = a.compare.as_ref().map(|p| compare::Other::read(p)).transpose()?;
    let engine = a.threads.engine()?;
    let trace = with_progress("trace", None, |_| {
        if from_file {
            if a.level.is_some() {
                return Err(format!("{}: -L applies to a text; a .czip file is traced with its own chunk length", a.file.display()));
            }
            engine.trace_file(model, &data, &a.model_id.options()).map_err(|e| e.to_string())
        } else {
            let chunk_log2 = match (a.level.and_then(level_to_chunk_log2), &other) {
                (Some(k), _) => Some(k),
                (None, Some(o)) => Some(o.chunk_log2()),
                (None, None) => None,
            };
            let codec = a.codec.parse::<OuterCodec>().map_err(|e| e.to_string())?;
            let opts = CompressOptions { chunk_log2, codec, model_id_hash: None };
            engine.trace_text(model, &data, &opts).map_err(|e| e.to_string())
        }
    })
    .map_err(|e| format!("{}: {e}", a.file.display()))?;
    let departure = other.map(|o| o.localise(&engine, model, &trace)).transpose()?;
    let summary = Summary::new(model, &trace, baselines(&trace.text), from_file, departure);
    match (&html_out, a.json, a.tsv) {
        (Some(o), _, _) => {
            let page = html::page(model, &trace, &summary, &html::title_of(&a.file));
            o.write(page.as_bytes())
        }
        (None, true, _) => table::print_json(model, &trace, &summary, a.all),
        (None, _, true) => table::print_tsv(model, &trace, &summary, a.all),
        (None, false, false) => table::print_text(model, &trace, &summary, a.all),
    }
}

/// Whether token `index` (over the whole text) is shown without `--all`:
/// the first 10 and every 50th.
fn sampled(index: usize) -> bool {
    index < 10 || index.is_multiple_of(50)
}

/// The tokens a table shows: `(index over the text, cost)`.
fn shown<'t>(trace: &'t TextTrace, all: bool) -> impl Iterator<Item = (usize, &'t czip::pipeline::TokenCost)> + 't {
    trace.chunks.iter().flatten().enumerate().filter(move |(i, _)| all || sampled(*i))
}
