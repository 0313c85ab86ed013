//! `run --keep-outputs DIR`: every case's input, output, stdout and stderr
//! kept under its case id, with a shell script that re-runs it by hand.
//!
//! The runner sends an implementation a case's `op` and `args` only, so the
//! case id is found by them (op and args are unique among the corpus's file
//! cases); a call that matches no case is named `call-N`, and a second call
//! for the same case (failures are asked again, for localisation) `ID~2`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::syntax::shell_quote;
use crate::conformance::suite::load_cases;

/// The directory kept outputs go to, and the case ids calls are named by.
pub struct Keep {
    pub dir: PathBuf,
    ids: HashMap<String, String>,
    seen: HashMap<String, u32>,
    calls: u64,
}

/// The script every case's command is appended to.
pub const ALL_COMMANDS: &str = "commands.sh";

fn key(op: &str, args: &Value) -> String {
    format!("{op} {args}")
}

impl Keep {
    /// Creates `dir` (absolute from here on) and starts its `commands.sh`.
    pub fn open(dir: &Path, vectors_dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("--keep-outputs: cannot create {}: {e}", dir.display()))?;
        let dir = std::path::absolute(dir).map_err(|e| format!("--keep-outputs {}: {e}", dir.display()))?;
        let ids = load_cases(vectors_dir)?
            .into_iter()
            .filter(|c| matches!(c.op.as_str(), "compress" | "decompress"))
            .map(|c| (key(&c.op, &c.args), c.id.replace('/', "_")))
            .collect();
        let header = "#!/bin/sh\n# Every template command of a czip-conformance run, in order; each case's\n# own script is <case id>.sh. Outputs must not exist before a command runs.\n";
        std::fs::write(dir.join(ALL_COMMANDS), header).map_err(|e| format!("cannot write {}: {e}", dir.join(ALL_COMMANDS).display()))?;
        Ok(Keep { dir, ids, seen: HashMap::new(), calls: 0 })
    }

    /// The file stem for a call: its case id (`~2`, `~3` … on repeats) or `call-N`.
    pub fn stem(&mut self, op: &str, args: &Value) -> String {
        self.calls += 1;
        let base = self.ids.get(&key(op, args)).cloned().unwrap_or_else(|| format!("call-{}", self.calls));
        let n = self.seen.entry(base.clone()).or_default();
        *n += 1;
        if *n == 1 {
            base
        } else {
            format!("{base}~{n}")
        }
    }

    /// Writes `<stem>.sh` and appends the same lines to `commands.sh`.
    pub fn record(&self, stem: &str, cwd: &Path, output: &Path, cmd: &str) -> Result<(), String> {
        let q = |p: &Path| shell_quote(&p.display().to_string());
        let body = format!("# {stem}\ncd {} || exit 1\nrm -f {}\n{cmd}\n", q(cwd), q(output));
        let own = self.dir.join(format!("{stem}.sh"));
        std::fs::write(&own, format!("#!/bin/sh\n{body}")).map_err(|e| format!("cannot write {}: {e}", own.display()))?;
        let all = self.dir.join(ALL_COMMANDS);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&all)
            .and_then(|mut f| f.write_all(format!("\n{body}").as_bytes()))
            .map_err(|e| format!("cannot append to {}: {e}", all.display()))
    }
}
