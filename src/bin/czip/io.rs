//! Input and output paths, where `-` means stdin / stdout.
//!
//! # What an output may be ([`Output::check`])
//!
//! These hold for every command that writes (compress, decompress), and are
//! checked before any work is done and again just before writing:
//!
//! - The output is never the input file (same device and inode, so also
//!   through a link or another spelling of the path; for `-i -`, the file
//!   stdin reads), not even with `-f`: the input would be lost.
//! - An existing regular file is replaced only with `-f`.
//! - Compressed (binary) output goes to a terminal only with `-f`
//!   ([`binary_to_terminal`]); decompressed text may.
//! - A new or replaced file is written to a temporary name beside it and
//!   renamed, so a failure never leaves a partial output; the temporary file
//!   is removed on every failure.
//! - An existing output that is not a regular file (`/dev/null`, a FIFO, a
//!   terminal) holds no data to lose: it is written in place, without `-f`.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if is_std(path) {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub fn is_std(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Where a command writes, and what it may overwrite.
pub struct Output<'a> {
    pub path: &'a Path,
    /// The command's input (`-` = stdin), which the output must not be.
    pub input: &'a Path,
    /// `-f`: replace an existing file; allow binary output to a terminal.
    pub force: bool,
    /// The data is compressed (not for a terminal).
    pub binary: bool,
}

/// The decision for binary output on a terminal, apart from how the
/// terminal is detected (so that it can be tested without one).
pub fn binary_to_terminal(is_terminal: bool, force: bool) -> Result<(), String> {
    if is_terminal && !force {
        return Err("refusing to write compressed data to a terminal: redirect the output or pass -f".into());
    }
    Ok(())
}

impl Output<'_> {
    /// Refuses an output the rules above forbid (see the module doc).
    pub fn check(&self) -> Result<(), String> {
        if is_std(self.path) {
            return self.check_terminal(std::io::stdout().is_terminal());
        }
        let Ok(out) = std::fs::metadata(self.path) else {
            return Ok(()); // does not exist (or cannot be seen): writing says why if it fails
        };
        if self.input_metadata().is_some_and(|inp| same_file(&inp, &out)) {
            return Err(format!("{}: is the input file; write the output to another file", self.path.display()));
        }
        if out.is_dir() {
            return Err(format!("{}: is a directory; expected an output file", self.path.display()));
        }
        if out.is_file() && !self.force {
            return Err(format!("{}: already exists; pass -f to overwrite it", self.path.display()));
        }
        Ok(())
    }

    fn check_terminal(&self, is_terminal: bool) -> Result<(), String> {
        if self.binary {
            binary_to_terminal(is_terminal, self.force)?;
        }
        Ok(())
    }

    /// The input's metadata (for `-`, the file stdin reads, if any).
    fn input_metadata(&self) -> Option<Metadata> {
        if is_std(self.input) {
            return stdin_metadata();
        }
        std::fs::metadata(self.input).ok()
    }

    /// Writes the whole output, or nothing (see the module doc).
    pub fn write(&self, data: &[u8]) -> Result<(), String> {
        self.check()?;
        if is_std(self.path) {
            let mut out = std::io::stdout().lock();
            return out.write_all(data).and_then(|()| out.flush()).map_err(|e| format!("cannot write stdout: {e}"));
        }
        let cannot = |e: std::io::Error| format!("cannot write {}: {e}", self.path.display());
        if std::fs::metadata(self.path).is_ok_and(|m| !m.is_file()) {
            // A device or FIFO: in place (check() refused a directory).
            let mut f = OpenOptions::new().write(true).open(self.path).map_err(cannot)?;
            self.check_terminal(f.is_terminal())?;
            return f.write_all(data).and_then(|()| f.flush()).map_err(cannot);
        }
        replace_file(self.path, data).map_err(cannot)
    }
}

/// Writes `data` to a temporary file beside `path` and renames it to
/// `path`; on any failure the temporary file is removed.
fn replace_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f: File| f.write_all(data).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `DIR/.NAME.czip-partial-PID`: beside the output (so that the rename
/// stays on one file system), hidden, and never an existing file of the user
/// (created with `create_new`).
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.czip-partial-{}", std::process::id()))
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    false
}

#[cfg(unix)]
fn stdin_metadata() -> Option<Metadata> {
    std::fs::metadata("/dev/stdin").ok().filter(Metadata::is_file)
}

#[cfg(not(unix))]
fn stdin_metadata() -> Option<Metadata> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_output_to_a_terminal_needs_force() {
        assert!(binary_to_terminal(false, false).is_ok());
        assert!(binary_to_terminal(false, true).is_ok());
        assert!(binary_to_terminal(true, true).is_ok());
        let e = binary_to_terminal(true, false).unwrap_err();
        assert_eq!(e, "refusing to write compressed data to a terminal: redirect the output or pass -f");
    }

    #[test]
    fn text_output_to_a_terminal_is_fine() {
        let o = Output { path: Path::new("-"), input: Path::new("x"), force: false, binary: false };
        assert!(o.check_terminal(true).is_ok());
        let o = Output { binary: true, ..o };
        assert!(o.check_terminal(true).is_err());
        assert!(o.check_terminal(false).is_ok());
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let d = std::env::temp_dir().join(format!("czip-io-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("target/child")).unwrap();
        // The rename fails: the target is a non-empty directory.
        assert!(replace_file(&d.join("target"), b"data").is_err());
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["target"]);
        // And a successful one leaves only the output.
        replace_file(&d.join("out"), b"data").unwrap();
        assert_eq!(std::fs::read(d.join("out")).unwrap(), b"data");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 2);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn temp_file_is_hidden_beside_the_output() {
        let t = temp_path(Path::new("/a/b/out.czip"));
        assert_eq!(t.parent(), Some(Path::new("/a/b")));
        assert!(t.file_name().unwrap().to_str().unwrap().starts_with(".out.czip.czip-partial-"));
    }
}
