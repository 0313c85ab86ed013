//! Positional files, the zstd way: `compress FILE…` writes `FILE.czip`
//! beside each FILE, `decompress FILE.czip…` writes `FILE`; `-o`/`-i` name
//! one output or input; `-` is stdin (to stdout).
//!
//! # Several files in one call ([`run_all`])
//!
//! - Every output is checked ([`Output::check`]: not the input, not an
//!   existing file without `-f`, …) before the model is opened, and again
//!   before it is written; a file whose check fails costs no work.
//! - A failure is reported on stderr (`czip: …`) and the other files still
//!   run; the call then ends with `czip: N of M files failed`, exit 1. One
//!   file alone fails with its own message, as `-i`/`-o` always did.
//! - With several files (or `-v`), one summary line per file on stderr
//!   (name, sizes, ratio, time) and, with several, a total line.
//! - `--rm` removes an input only after its output is written, and never
//!   when the output is stdout ([`check_usage`] refuses that call).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::args::OutputArg;
use crate::io::{is_std, Output};

/// The suffix of a CZIPv1 file's name.
pub const SUFFIX: &str = ".czip";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Compress,
    Decompress,
}

/// One input and where its output goes (or why it has no output name).
pub struct Job {
    pub input: PathBuf,
    pub output: Result<PathBuf, String>,
}

/// The usage rules of a call's files (a violation is a usage error, exit 2).
pub fn check_usage(inputs: &[PathBuf], output: Option<&Path>, rm: bool) -> Result<(), String> {
    if inputs.len() > 1 && output.is_some() {
        return Err(format!(
            "-o names one output, but {} inputs are given; drop -o to write each output beside its input",
            inputs.len()
        ));
    }
    if inputs.iter().filter(|p| is_std(p)).count() > 1 {
        return Err("stdin (-) can be an input only once".into());
    }
    if rm && output.is_some_and(is_std) {
        return Err("--rm: the output goes to stdout, so the input is kept; drop --rm or write the output to a file".into());
    }
    Ok(())
}

/// The inputs of a call: its FILEs, or `-i IN`.
pub fn inputs(files: &[PathBuf], input: Option<&Path>) -> Vec<PathBuf> {
    match input {
        Some(i) => vec![i.to_path_buf()],
        None => files.to_vec(),
    }
}

/// The call's jobs: each input with `-o OUT` (one input), stdout for
/// stdin, or the output name beside it ([`output_name`]).
pub fn jobs(inputs: Vec<PathBuf>, output: Option<&Path>, dir: Direction) -> Vec<Job> {
    inputs
        .into_iter()
        .map(|input| {
            let output = match output {
                Some(o) => Ok(o.to_path_buf()),
                None if is_std(&input) => Ok(PathBuf::from("-")),
                None => output_name(&input, dir),
            };
            Job { input, output }
        })
        .collect()
}

/// `FILE` → `FILE.czip` (compress); `FILE.czip` → `FILE` (decompress; any
/// other name is an error: the output must then be named with `-o`).
pub fn output_name(input: &Path, dir: Direction) -> Result<PathBuf, String> {
    match dir {
        Direction::Compress => {
            let mut s = input.as_os_str().to_owned();
            s.push(SUFFIX);
            Ok(PathBuf::from(s))
        }
        Direction::Decompress => {
            let name = input.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            match name.strip_suffix(SUFFIX) {
                Some(stem) if !stem.is_empty() => Ok(input.with_file_name(stem)),
                _ => Err(format!("{}: the name does not end in {SUFFIX}; name the output with -o OUT", input.display())),
            }
        }
    }
}

/// Byte counts of one file's input and output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sizes {
    pub input: u64,
    pub output: u64,
}

/// Runs `work` on every job (after `setup`, once, if any job passed its
/// output check); see the module doc for what is reported. `work` writes
/// the output through the [`Output`] it is given and prefixes its errors
/// with the input's name.
pub fn run_all<C>(
    jobs: &[Job],
    dir: Direction,
    opts: &OutputArg,
    verbose: bool,
    setup: impl FnOnce() -> Result<C, String>,
    mut work: impl FnMut(&C, &Job, &Output) -> Result<Sizes, String>,
) -> Result<(), String> {
    let binary = dir == Direction::Compress;
    let output = |job: &'_ Job| -> Result<PathBuf, String> {
        let path = job.output.clone()?;
        Output { path: &path, input: &job.input, force: opts.force, binary }.check()?;
        Ok(path)
    };
    let checked: Vec<Result<PathBuf, String>> = jobs.iter().map(output).collect();
    let single = jobs.len() == 1;
    let ctx = match checked.iter().find_map(|c| c.as_ref().err()) {
        Some(e) if single => return Err(e.clone()),
        _ if checked.iter().all(Result::is_err) => None,
        _ => Some(setup()?),
    };
    let mut total = Summary::default();
    for (job, out) in jobs.iter().zip(checked) {
        let t = Instant::now();
        let done = out.and_then(|path| {
            // Set up whenever some output passed its check, as this one did.
            let ctx = ctx.as_ref().ok_or("internal error: no model was opened")?;
            let o = Output { path: &path, input: &job.input, force: opts.force, binary };
            let sizes = work(ctx, job, &o)?;
            if opts.rm && !is_std(&job.input) {
                std::fs::remove_file(&job.input).map_err(|e| {
                    format!("{}: written to {}, but cannot remove the input: {e}", job.input.display(), path.display())
                })?;
            }
            Ok((path, sizes))
        });
        match done {
            Ok((path, sizes)) => {
                let el = t.elapsed();
                if verbose || !single {
                    eprintln!("{}", line(&display(&job.input, "stdin"), &display(&path, "stdout"), sizes, el, dir));
                }
                total.add(sizes, el);
            }
            Err(e) if single => return Err(e),
            Err(e) => {
                eprintln!("czip: {e}");
                total.failed += 1;
            }
        }
    }
    if single {
        return Ok(());
    }
    eprintln!("{}", total.line(jobs.len(), dir));
    if total.failed > 0 {
        return Err(format!("{} of {} files failed", total.failed, jobs.len()));
    }
    Ok(())
}

fn display(p: &Path, std: &str) -> String {
    if is_std(p) {
        return std.into();
    }
    p.display().to_string()
}

/// Compressed size over text size, whichever way the file went.
fn ratio(s: Sizes, dir: Direction) -> f64 {
    let (text, packed) = match dir {
        Direction::Compress => (s.input, s.output),
        Direction::Decompress => (s.output, s.input),
    };
    if text == 0 {
        return 0.0;
    }
    packed as f64 / text as f64
}

/// `a.txt => a.txt.czip: 11735 -> 4125 bytes, ratio 0.3515, 0.41 s`.
fn line(input: &str, output: &str, s: Sizes, el: Duration, dir: Direction) -> String {
    format!("{input} => {output}: {}", numbers(s, el, dir))
}

fn numbers(s: Sizes, el: Duration, dir: Direction) -> String {
    format!("{} -> {} bytes, ratio {:.4}, {:.2} s", s.input, s.output, ratio(s, dir), el.as_secs_f64())
}

/// The sums over the files that succeeded.
#[derive(Default)]
struct Summary {
    sizes: Sizes,
    time: Duration,
    ok: usize,
    failed: usize,
}

impl Summary {
    fn add(&mut self, s: Sizes, el: Duration) {
        self.sizes.input += s.input;
        self.sizes.output += s.output;
        self.time += el;
        self.ok += 1;
    }

    /// `total: 2 files, …` or `total: 1 of 2 files (1 failed), …`.
    fn line(&self, n: usize, dir: Direction) -> String {
        let files = if self.failed == 0 { format!("{n} files") } else { format!("{} of {n} files ({} failed)", self.ok, self.failed) };
        format!("total: {files}, {}", numbers(self.sizes, self.time, dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names() {
        use Direction::*;
        let n = |p: &str, d| output_name(Path::new(p), d);
        assert_eq!(n("a.txt", Compress).unwrap(), Path::new("a.txt.czip"));
        assert_eq!(n("d/a.czip", Compress).unwrap(), Path::new("d/a.czip.czip"));
        assert_eq!(n("d/a.txt.czip", Decompress).unwrap(), Path::new("d/a.txt"));
        assert_eq!(n("a.czip", Decompress).unwrap(), Path::new("a"));
        assert_eq!(n("a.zst", Decompress).unwrap_err(), "a.zst: the name does not end in .czip; name the output with -o OUT");
        assert!(n(".czip", Decompress).is_err());
        assert!(n("d/.czip", Decompress).is_err());
        assert!(n("a.CZIP", Decompress).is_err());
    }

    #[test]
    fn usage_rules() {
        let p = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert!(check_usage(&p(&["a", "b"]), None, true).is_ok());
        assert!(check_usage(&p(&["a"]), Some(Path::new("o")), true).is_ok());
        assert!(check_usage(&p(&["-"]), Some(Path::new("-")), false).is_ok());
        assert_eq!(
            check_usage(&p(&["a", "b"]), Some(Path::new("o")), false).unwrap_err(),
            "-o names one output, but 2 inputs are given; drop -o to write each output beside its input"
        );
        assert_eq!(check_usage(&p(&["-", "a", "-"]), None, false).unwrap_err(), "stdin (-) can be an input only once");
        assert!(check_usage(&p(&["a"]), Some(Path::new("-")), true).unwrap_err().starts_with("--rm: "));
    }

    #[test]
    fn stdin_goes_to_stdout_unless_o() {
        let j = jobs(vec!["-".into(), "a".into()], None, Direction::Decompress);
        assert_eq!(j[0].output.as_deref().unwrap(), Path::new("-"));
        assert!(j[1].output.is_err());
        let j = jobs(vec!["-".into()], Some(Path::new("x")), Direction::Compress);
        assert_eq!(j[0].output.as_deref().unwrap(), Path::new("x"));
    }

    #[test]
    fn summary_lines() {
        let s = Sizes { input: 2000, output: 500 };
        let el = Duration::from_millis(1234);
        assert_eq!(line("a", "a.czip", s, el, Direction::Compress), "a => a.czip: 2000 -> 500 bytes, ratio 0.2500, 1.23 s");
        let back = Sizes { input: 500, output: 2000 };
        assert_eq!(line("a.czip", "a", back, el, Direction::Decompress), "a.czip => a: 500 -> 2000 bytes, ratio 0.2500, 1.23 s");
        let mut t = Summary::default();
        t.add(s, el);
        t.add(s, el);
        assert_eq!(t.line(2, Direction::Compress), "total: 2 files, 4000 -> 1000 bytes, ratio 0.2500, 2.47 s");
        t.failed = 1;
        assert_eq!(t.line(3, Direction::Compress), "total: 2 of 3 files (1 failed), 4000 -> 1000 bytes, ratio 0.2500, 2.47 s");
        assert_eq!(ratio(Sizes::default(), Direction::Compress), 0.0);
    }
}
