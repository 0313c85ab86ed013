//! The implementations a runner can score: the built-in engine in process, a
//! process speaking the adapter protocol (`adapters/PROTOCOL.md`), or
//! command templates for file-level work, described by a TOML manifest.
//!
//! | module | what |
//! |---|---|
//! | [`builtin`] | the engine in process |
//! | [`process`] | an adapter-protocol child process |
//! | [`template`] | compress / decompress shell command templates (syntax, running, `--keep-outputs`) |
//! | [`manifest`] | the TOML manifest: parsing, and opening what it names |
//! | [`env_refs`] | `${NAME}` in manifests: environment variables |
//! | [`named`] | `--impl NAME`: resolution order, the known implementations, whether each can run here |
//! | [`group`] | process groups: every external command leads one, and is ended with it |

mod builtin;
pub mod env_refs;
pub mod group;
mod manifest;
pub mod named;
mod process;
mod template;

use std::collections::BTreeSet;

use serde_json::Value;

use super::ops::Outcome;

pub use builtin::Builtin;
pub use manifest::{from_manifest, manifest_dir, Manifest, Templates, DEFAULT_TIMEOUT_SECS};
pub use named::{resolve, Named};
pub use process::ProcessAdapter;
pub use template::TemplateAdapter;

/// Something that answers conformance requests.
pub trait Implementation {
    fn name(&self) -> &str;
    /// Features it declares (cases needing others are reported unsupported).
    fn features(&self) -> &BTreeSet<String>;
    fn call(&mut self, op: &str, args: &Value) -> Outcome;
    /// Why the implementation died (timed out, exited, printed junk) during
    /// the calls since this was last asked, if it did; the runner stops a
    /// run after [`crate::conformance::runner::DEATHS_TO_STOP`] deaths in a
    /// row. Only an adapter process dies this way (the next call gets a
    /// fresh process); a template command is a new process per call anyway.
    fn take_death(&mut self) -> Option<String> {
        None
    }
    /// Whether `call` may be run from several threads on clones (in process only).
    fn as_builtin(&self) -> Option<&Builtin> {
        None
    }
}
