//! `czip-conformance dump` and `compare-dumps`: layer-by-layer tensor dumps
//! (`adapters/DUMPS.md`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use czip::conformance::dump::compare::{add_causes, compare, to_report, Comparison};
use czip::conformance::dump::read::read;
use czip::conformance::dump::write::{reference_dump, to_safetensors, DumpRequest};
use czip::conformance::dump::Dump;
use czip::conformance::report::Provenance;
use czip::model::Variant;
use czip::pipeline::{level_to_chunk_log2, MIN_CHUNK_LOG2};
use czip::Model;

use crate::stdout::{out, outln};
use crate::{DataPaths, Failure};

#[derive(Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["text", "tokens_file"])))]
pub struct DumpArgs {
    /// v000 or v001 (from --models-dir), or the path of a model file.
    #[arg(long, value_name = "NAME|PATH")]
    model: String,
    /// The text, tokenized and cut into chunks exactly as `czip compress` does at --level.
    #[arg(long, value_name = "FILE")]
    text: Option<PathBuf>,
    /// Token ids instead of a text (decimal, separated by whitespace or commas;
    /// a JSON array works), cut into chunks the same way.
    #[arg(long, value_name = "FILE")]
    tokens_file: Option<PathBuf>,
    /// Compression level 1..5 (chunks of 64..1024 tokens); default: the model's capacity, as `czip compress`.
    #[arg(short = 'L', long, value_name = "L")]
    level: Option<u8>,
    /// Index of the chunk to dump (from 0).
    #[arg(long, default_value_t = 0, value_name = "I")]
    chunk: usize,
    /// Chunk positions to dump, `A..B` (B excluded) or one position `P`; default: all.
    #[arg(long, value_name = "A..B")]
    positions: Option<String>,
    /// Run the reference with a deliberate fault (see `serve --help`), to see how it looks in `compare-dumps`.
    #[arg(long, value_name = "NAME")]
    fault: Option<String>,
    /// The dump to write (safetensors).
    #[arg(short = 'o', long = "output", value_name = "OUT.safetensors")]
    output: PathBuf,
    #[command(flatten)]
    paths: DataPaths,
}

#[derive(Args)]
pub struct CompareArgs {
    /// The reference's dump (`czip-conformance dump`).
    #[arg(value_name = "REF")]
    reference: PathBuf,
    /// The implementation's dump, or a directory of dumps: the one with REF's tokens is compared.
    #[arg(value_name = "IMPL")]
    implementation: PathBuf,
    /// Where to write report.json, report.md and junit.xml.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    paths: DataPaths,
}

/// The model named on the command line: published by name, else a file.
fn open_model(paths: &DataPaths, arg: &str) -> Result<Arc<Model>, Failure> {
    let ctx = paths.context();
    if matches!(arg, "v000" | "v001") {
        return ctx.model(arg).map_err(Failure::Usage);
    }
    Model::open(Path::new(arg)).map(Arc::new).map_err(|e| Failure::Usage(format!("--model {arg}: neither v000, v001 nor a readable model ({e})")))
}

/// `A..B` or `P`.
fn parse_positions(s: &str) -> Result<std::ops::Range<usize>, Failure> {
    let bad = || Failure::Usage(format!("--positions {s}: expected A..B (B excluded) or one position P"));
    let r = match s.split_once("..") {
        Some((a, b)) => a.trim().parse().map_err(|_| bad())?..b.trim().parse().map_err(|_| bad())?,
        None => {
            let p: usize = s.trim().parse().map_err(|_| bad())?;
            p..p + 1
        }
    };
    if r.start >= r.end {
        return Err(bad());
    }
    Ok(r)
}

fn read_tokens(path: &Path) -> Result<Vec<u32>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("--tokens-file {}: {e}", path.display())))?;
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']'))
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<u32>().map_err(|_| Failure::Usage(format!("--tokens-file {}: {t:?} is not a token id", path.display()))))
        .collect()
}

pub fn dump(a: &DumpArgs) -> Result<bool, Failure> {
    let model = open_model(&a.paths, &a.model)?;
    let fault = a.fault.as_deref().map(crate::serve::parse_fault).transpose()?;
    let cfg = model.config();
    let k = match a.level {
        None => cfg.max_chunk_log2,
        Some(l) => level_to_chunk_log2(l).ok_or_else(|| Failure::Usage(format!("--level {l}: expected 1..5")))?,
    };
    if !(MIN_CHUNK_LOG2..=cfg.max_chunk_log2).contains(&k) {
        return Err(Failure::Usage(format!("--level: chunks of {} tokens exceed the model's capacity {}", 1u32 << k, cfg.rope_rows)));
    }
    let tokens = match (&a.text, &a.tokens_file) {
        (Some(t), _) => {
            let bytes = std::fs::read(t).map_err(|e| Failure::Usage(format!("--text {}: {e}", t.display())))?;
            let s = std::str::from_utf8(&bytes).map_err(|e| Failure::Run(format!("{}: not UTF-8 (valid up to byte {})", t.display(), e.valid_up_to())))?;
            model.tokenizer().encode(s).map_err(|e| Failure::Run(format!("{}: {e}", t.display())))?
        }
        (None, Some(f)) => read_tokens(f)?,
        (None, None) => return Err(Failure::Usage("give --text FILE or --tokens-file FILE".into())),
    };
    let chunk_len = 1usize << k;
    let chunks = tokens.len().div_ceil(chunk_len);
    if a.chunk >= chunks {
        return Err(Failure::Usage(format!("--chunk {}: the input has {chunks} chunks of up to {chunk_len} tokens ({} tokens)", a.chunk, tokens.len())));
    }
    let chunk = tokens[a.chunk * chunk_len..((a.chunk + 1) * chunk_len).min(tokens.len())].to_vec();
    let positions = match &a.positions {
        Some(p) => parse_positions(p)?,
        None => 0..chunk.len(),
    };
    if positions.end > chunk.len() {
        return Err(Failure::Usage(format!("--positions {}..{}: chunk {} has {} tokens", positions.start, positions.end, a.chunk, chunk.len())));
    }
    let req = DumpRequest {
        tokens: chunk,
        positions,
        chunk_log2: k,
        chunk_index: Some(a.chunk),
        variant: fault.map_or(Variant::NORMATIVE, |f| f.variant()),
        fault: fault.map(|f| f.name()),
    };
    let d = reference_dump(&model, &req)?;
    let bytes = to_safetensors(&d)?;
    std::fs::write(&a.output, &bytes).map_err(|e| format!("cannot write {}: {e}", a.output.display()))?;
    outln(&format!(
        "wrote {}: chunk {} ({} tokens, chunk_log2 {k}), positions {}..{}, {} tensors, {} bytes{}",
        a.output.display(),
        a.chunk,
        d.tokens.len(),
        req.positions.start,
        req.positions.end,
        d.tensors.len() + 2,
        bytes.len(),
        req.fault.map_or(String::new(), |f| format!(", fault {f}"))
    ));
    Ok(true)
}

/// The dumps of IMPL (a file, or every `.safetensors` file of a directory), in path order.
fn impl_dumps(path: &Path) -> Result<Vec<(PathBuf, Dump)>, Failure> {
    if !path.is_dir() {
        return Ok(vec![(path.to_path_buf(), read(path)?)]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    files.into_iter().map(|p| read(&p).map(|d| (p, d)).map_err(Failure::Run)).collect()
}

pub fn compare_dumps(a: &CompareArgs) -> Result<bool, Failure> {
    let started = std::time::Instant::now();
    let r = read(&a.reference)?;
    let candidates = impl_dumps(&a.implementation)?;
    let (ipath, i) = match candidates.iter().find(|(_, d)| d.tokens == r.tokens) {
        Some(x) => x,
        None if candidates.len() == 1 => &candidates[0], // compare() names the first differing token
        None => {
            return Err(Failure::Run(format!(
                "{}: none of its {} dumps holds REF's tokens ({} tokens)",
                a.implementation.display(),
                candidates.len(),
                r.tokens.len()
            )))
        }
    };
    // The chunk's name in reports: `chunk45` (from the metadata), else REF's file name.
    let label = match r.meta("chunk_index") {
        "" => a.reference.file_stem().map_or_else(|| "chunk".to_string(), |s| s.to_string_lossy().into_owned()),
        i => format!("chunk{i}"),
    };
    let mut c: Comparison = compare(&label, &r, i).map_err(|e| Failure::Run(format!("{}: {e}", ipath.display())))?;
    // The §11 cause, when the model is at hand (published models, by content hash).
    let ctx = a.paths.context();
    let model_name = u32::from_str_radix(r.meta("model_hash"), 16)
        .ok()
        .and_then(czip::model::load::known_model_name)
        .map(|f| f.trim_end_matches("_eng.czm").to_string());
    if !c.identical() {
        match model_name.as_deref().map(|n| ctx.model(n)) {
            Some(Ok(m)) => add_causes(&mut c, &m, &r.tokens),
            _ => eprintln!("note: model {} not found: the spec §11 causes are not looked for", r.meta("model_hash")),
        }
    }
    let impl_name = format!("{} ({})", if c.impl_producer.is_empty() { "unnamed producer" } else { &c.impl_producer }, ipath.display());
    outln(&format!(
        "REF {} ({}) · IMPL {} · model {} · {} tokens · {} positions compared",
        a.reference.display(),
        c.ref_producer,
        impl_name,
        c.model_hash,
        c.tokens,
        c.positions.len()
    ));
    let (mut report, results, suites) = to_report(&impl_name, std::slice::from_ref(&c));
    report.provenance = Some(Provenance::collect(&ctx, false, started.elapsed()));
    out(&report.to_terminal());
    for f in &report.findings {
        outln(f);
    }
    if let Some(dir) = &a.report {
        report.write(dir, &results, &suites)?;
        eprintln!("reports written to {}", dir.display());
    }
    outln(&report.closing_line());
    Ok(report.passed())
}
