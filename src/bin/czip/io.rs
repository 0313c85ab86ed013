//! Input and output paths, where `-` means stdin / stdout.

use std::io::{Read, Write};
use std::path::Path;

pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Writes the whole output, or nothing: a file is written to a temporary
/// name beside it and renamed, so a failure never leaves a partial file.
pub fn write_output(path: &Path, data: &[u8]) -> Result<(), String> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return out.write_all(data).and_then(|()| out.flush()).map_err(|e| format!("cannot write stdout: {e}"));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".czip-partial");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, data)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", path.display())
        })
}
