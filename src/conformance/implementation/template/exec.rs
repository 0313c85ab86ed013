//! Running one template command, and telling a refusal from a broken run.
//!
//! Invariant: only a command that ran to completion and exited non-zero on
//! its own is a refusal ([`Outcome::Error`]). Not found / not executable
//! (exit 127 / 126), killed by a signal (or `sh` reporting 128 + N for it),
//! a crash (exit 101, a Rust panic; stderr holding "panicked at" or a Python
//! traceback), a timeout, or a success that wrote no output file are errors
//! of the run ([`Outcome::Broken`]): they fail every case, reject cases too.

use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::conformance::implementation::group::{end_group, exited_within, in_own_group};
use crate::conformance::ops::Outcome;

/// A command that ran to its end (or was stopped).
pub struct Finished {
    pub cmd: String,
    pub status: ExitStatus,
    pub stderr: String,
    pub timed_out: Option<Duration>,
}

/// Runs `cmd_line` under `sh -c` in `cwd`, stdout and stderr to files, in a
/// process group of its own, ended after `timeout` (SIGTERM, then SIGKILL).
pub fn run(cmd_line: &str, cwd: &Path, env: &[(String, String)], stdout: &Path, stderr: &Path, timeout: Duration) -> Result<Finished, String> {
    let file = |p: &Path| File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(cmd_line).current_dir(cwd).envs(env.iter().map(|(k, v)| (k, v))).stdin(Stdio::null()).stdout(file(stdout)?).stderr(file(stderr)?);
    let mut child = in_own_group(&mut cmd).spawn().map_err(|e| format!("cannot start sh in {}: {e}", cwd.display()))?;
    // The group is ended either way: after a timeout, and after a normal
    // exit too, so that nothing the command left running outlives the call.
    let timed_out = (!exited_within(&child, timeout)).then_some(timeout);
    let (status, _) = end_group(&mut child, Duration::ZERO);
    let status = status.ok_or_else(|| format!("cannot wait for `{cmd_line}`"))?;
    let stderr = String::from_utf8_lossy(&std::fs::read(stderr).unwrap_or_default()).into_owned();
    Ok(Finished { cmd: cmd_line.to_string(), status, stderr, timed_out })
}

/// Why a finished command is an error of the run rather than a refusal, if
/// it is: `command not found (exit 127)`, `killed by signal 9`, ….
pub fn crash(f: &Finished) -> Option<String> {
    if let Some(t) = f.timed_out {
        return Some(format!("timed out after {} s, stopped", t.as_secs()));
    }
    if let Some(sig) = f.status.signal() {
        return Some(format!("killed by signal {sig}"));
    }
    let code = f.status.code()?;
    let why = match code {
        127 => "command not found (exit 127)".to_string(),
        126 => "command not executable (exit 126)".to_string(),
        101 => "crashed (exit 101, a Rust panic)".to_string(),
        129..=159 => format!("killed by signal {} (exit {code} from sh)", code - 128),
        _ if f.stderr.contains("Traceback (most recent call last):") => format!("crashed (exit {code}, a Python traceback)"),
        _ if f.stderr.contains("panicked at") => format!("crashed (exit {code}, a panic)"),
        _ => return None,
    };
    Some(why)
}

/// `` `cmd`; stderr: first … last `` — one line.
pub fn describe(f: &Finished) -> String {
    let lines: Vec<&str> = f.stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let clip = |l: &str| l.chars().take(200).collect::<String>();
    let stderr = match lines.as_slice() {
        [] => "no stderr".to_string(),
        [one] => format!("stderr: {}", clip(one)),
        [first, .., last] => format!("stderr: {} … {}", clip(first), clip(last)),
    };
    format!("`{}`; {stderr}", f.cmd)
}

/// The outcome of a finished command whose output (if it succeeded) is read by `output`.
pub fn outcome(f: &Finished, output: impl FnOnce() -> Result<Outcome, String>) -> Outcome {
    if let Some(why) = crash(f) {
        return Outcome::run_error(format!("{why}: {}", describe(f)));
    }
    match f.status.code() {
        Some(0) => output().unwrap_or_else(|e| Outcome::run_error(format!("{e}: {}", describe(f)))),
        Some(code) => Outcome::Error(format!("exit status {code}: {}", describe(f))),
        None => Outcome::run_error(format!("{}: {}", f.status, describe(f))),
    }
}
