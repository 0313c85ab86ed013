//! The model a command uses: one model file, or a models directory (from
//! `-m DIR`, `$CZIP_MODEL`, or the default search of [`crate::locate`]).
//! From a directory, writing uses the newest published model, and reading
//! a file the model its `model_id_hash` names.

use std::cell::{Cell, OnceCell};
use std::path::{Path, PathBuf};

use czip::container::{read_file, ReadLimits};
use czip::model::load::{classify, known_model_name, published_model_named_by, upstream_model_id_hash, ModelMatch};
use czip::model::ModelError;
use czip::Model;

use crate::args::ModelArg;
use crate::locate::{locate, Env, ModelSource, Origin};

/// Loads one model file; any refusal names the file.
pub fn load_model(path: &Path) -> Result<Model, String> {
    Model::open(path).map_err(|e| match e {
        // Already says "cannot read model PATH: why".
        ModelError::Io { .. } => e.to_string(),
        _ => format!("{}: not a CZIP model: {e}", path.display()),
    })
}

/// The published models' file names, oldest first; the newest present is
/// the one a directory writes with. Which model each is (its content and
/// upstream path hashes) is known to [`czip::model::load::classify`]; a unit
/// test checks these names against it.
pub const PUBLISHED_MODELS: [&str; 2] = ["v000_eng.czm", "v001_eng.czm"];

/// A model file in a directory, loaded when first needed (a failure is kept
/// too, so that it is tried once).
struct Candidate {
    path: PathBuf,
    published: bool,
    model: OnceCell<Result<Model, String>>,
}

impl Candidate {
    fn load(&self) -> Result<&Model, String> {
        self.model.get_or_init(|| load_model(&self.path)).as_ref().map_err(Clone::clone)
    }

    fn name(&self) -> String {
        self.path.file_name().unwrap_or_default().to_string_lossy().into_owned()
    }

    /// `v001_eng.czm (content hash 104081d3, upstream path hash 271bf17f)`,
    /// for the error that lists a directory's models.
    fn describe(&self) -> String {
        match self.load() {
            Ok(m) => {
                let h = m.content_hash();
                match known_model_name(h).and_then(upstream_model_id_hash) {
                    Some(up) => format!("{} (content hash {h:08x}, upstream path hash {up:08x})", self.name()),
                    None => format!("{} (content hash {h:08x})", self.name()),
                }
            }
            Err(_) => format!("{} (not a CZIP model)", self.name()),
        }
    }
}

/// What a command's model is.
pub enum Models {
    File { model: Box<Model>, path: PathBuf },
    Dir(ModelDir),
}

/// A models directory: its published models newest first, then its other
/// `*.czm` files by name (never without a published model: [`Models::open`]
/// refuses such a directory).
pub struct ModelDir {
    source: ModelSource,
    found: Vec<Candidate>,
    /// `-v`: say on stderr which model each use picks, and why.
    verbose: bool,
    /// The model to write with has been named (once per command).
    writing_named: Cell<bool>,
}

fn no_published_model(dir: &Path) -> String {
    format!("{} contains no {}", dir.display(), PUBLISHED_MODELS.join(" or "))
}

impl ModelArg {
    /// The command's models: `-m`, else `$CZIP_MODEL`, else the models
    /// directory ([`locate`]). With `-v`, a model not given with `-m` is
    /// named on stderr with the reason, when it is picked.
    pub fn open(&self) -> Result<Models, String> {
        let source = locate(self.model.as_deref(), &Env::process())?;
        Models::open(&source, self.verbose)
    }
}

impl Models {
    /// A model file given by path (`inspect -m`), or a directory of models.
    pub fn open_path(path: &Path) -> Result<Models, String> {
        Models::open(&ModelSource { path: path.to_path_buf(), origin: Origin::Flag }, false)
    }

    pub fn open(source: &ModelSource, verbose: bool) -> Result<Models, String> {
        let path = &source.path;
        if !path.is_dir() {
            let m = load_model(path)?;
            if verbose && source.origin != Origin::Flag {
                eprintln!("czip: using model {source}");
            }
            return Ok(Models::File { model: Box::new(m), path: path.clone() });
        }
        let published = PUBLISHED_MODELS.iter().rev().map(|n| path.join(n)).filter(|p| p.is_file());
        let mut found: Vec<Candidate> =
            published.map(|path| Candidate { path, published: true, model: OnceCell::new() }).collect();
        if found.is_empty() {
            return Err(no_published_model(path));
        }
        found.extend(other_models(path).into_iter().map(|path| Candidate { path, published: false, model: OnceCell::new() }));
        Ok(Models::Dir(ModelDir { source: source.clone(), found, verbose, writing_named: Cell::new(false) }))
    }

    /// The model to write with, and its path: the file, or the newest
    /// published model in the directory.
    pub fn for_writing(&self) -> Result<(&Model, &Path), String> {
        match self {
            Models::File { model, path } => Ok((model, path)),
            Models::Dir(d) => {
                let newest = d.newest()?;
                let m = newest.load()?;
                if d.verbose && !d.writing_named.replace(true) {
                    eprintln!("czip: using model {}: the newest published model in {}", newest.path.display(), d.source);
                }
                Ok((m, &newest.path))
            }
        }
    }

    /// The model to read `file` (its bytes) with: the file, or the model in
    /// the directory that the file's `model_id_hash` names (its content hash,
    /// or the path hash upstream wrote for a published model). A hash that
    /// names none of them is an error listing them (file, hashes) and how to
    /// pass `-m`; the caller prefixes the file name. A file that is not even
    /// a CZIPv1 container gets the newest (decoding then says what is wrong).
    pub fn for_reading(&self, file: &Path, bytes: &[u8]) -> Result<&Model, String> {
        let d = match self {
            Models::File { model, .. } => return Ok(model),
            Models::Dir(d) => d,
        };
        let Ok(f) = read_file(bytes, &ReadLimits::default()) else {
            let newest = d.newest()?;
            return newest.load();
        };
        let stored = f.inner.model_id_hash;
        // The published model the hash names, if it is here, is tried first:
        // usually the only model loaded. A model that does not load is no
        // candidate (the error below lists it as such).
        let named = published_model_named_by(stored);
        let first = d.found.iter().filter(|c| Some(c.name().as_str()) == named);
        let rest = d.found.iter().filter(|c| Some(c.name().as_str()) != named);
        for c in first.chain(rest) {
            if let Ok(m) = c.load() {
                if classify(stored, m.content_hash()) == ModelMatch::Same {
                    if d.verbose {
                        eprintln!(
                            "czip: using model {} for {}: its model_id_hash {stored:08x} names it; models directory {}",
                            c.path.display(),
                            file.display(),
                            d.source
                        );
                    }
                    return Ok(m);
                }
            }
        }
        let known: Vec<String> = d.found.iter().map(Candidate::describe).collect();
        Err(format!(
            "model_id_hash {stored:08x} names none of the models in {}: {}; pass the model it was written with as -m MODEL.czm",
            d.source,
            known.join(", ")
        ))
    }
}

impl ModelDir {
    fn newest(&self) -> Result<&Candidate, String> {
        self.found.iter().find(|c| c.published).ok_or_else(|| no_published_model(&self.source.path))
    }
}

/// The `*.czm` files in `dir` other than the published names, sorted (an
/// unreadable directory or entry is skipped: the published models are
/// already found).
fn other_models(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "czm") && p.is_file())
        .filter(|p| !PUBLISHED_MODELS.iter().any(|n| p.file_name().is_some_and(|f| f == *n)))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name a models directory looks for is a published model's name
    /// in `czip::model::load`'s table (looked up by upstream's path hash).
    #[test]
    fn directory_model_names_are_the_published_ones() {
        // Upstream's path hashes of models/v000_eng.czm and models/v001_eng.czm.
        let named: Vec<_> = [0x875b_46ff, 0x271b_f17f].into_iter().map(published_model_named_by).collect();
        assert_eq!(named, PUBLISHED_MODELS.map(Some));
    }
}
