//! What `-m` names: one model file, or a directory of the published models
//! (the one a file's model_id_hash names is picked for reading).

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use czip::container::{read_file, ReadLimits};
use czip::model::load::{classify, ModelMatch};
use czip::model::ModelError;
use czip::Model;

/// Loads one model file; any refusal names the file.
pub fn load_model(path: &Path) -> Result<Model, String> {
    Model::open(path).map_err(|e| match e {
        // Already says "cannot read model PATH: why".
        ModelError::Io { .. } => e.to_string(),
        _ => format!("{}: not a CZIP model: {e}", path.display()),
    })
}

/// The file names `-m DIR` looks for, oldest first; the newest present is
/// the default. Which model each is (its content and upstream path hashes)
/// is known to [`czip::model::load::classify`]; a unit test checks these
/// names against it.
const PUBLISHED_MODELS: [&str; 2] = ["v000_eng.czm", "v001_eng.czm"];

/// What `-m` names: a model file, or a directory of published models, each
/// loaded when first needed.
pub enum Models {
    File(Box<Model>),
    /// Present models of [`PUBLISHED_MODELS`], newest first (never empty:
    /// [`Models::open`] refuses such a directory).
    Dir { dir: PathBuf, found: Vec<(PathBuf, OnceCell<Model>)> },
}

fn no_published_model(dir: &Path) -> String {
    format!("{} contains no {}", dir.display(), PUBLISHED_MODELS.join(" or "))
}

impl Models {
    pub fn open(path: &Path) -> Result<Models, String> {
        if !path.is_dir() {
            return load_model(path).map(|m| Models::File(Box::new(m)));
        }
        let found: Vec<_> = PUBLISHED_MODELS
            .iter()
            .rev()
            .map(|n| path.join(n))
            .filter(|p| p.is_file())
            .map(|p| (p, OnceCell::new()))
            .collect();
        if found.is_empty() {
            return Err(no_published_model(path));
        }
        Ok(Models::Dir { dir: path.to_path_buf(), found })
    }

    fn load(entry: &(PathBuf, OnceCell<Model>)) -> Result<&Model, String> {
        if let Some(m) = entry.1.get() {
            return Ok(m);
        }
        let m = load_model(&entry.0)?;
        Ok(entry.1.get_or_init(|| m))
    }

    /// The model to write with (and its path): the file, or the newest
    /// published model in the directory.
    pub fn for_writing(&self) -> Result<(&Model, Option<&Path>), String> {
        match self {
            Models::File(m) => Ok((m, None)),
            Models::Dir { dir, found } => {
                let newest = found.first().ok_or_else(|| no_published_model(dir))?;
                Ok((Self::load(newest)?, Some(&newest.0)))
            }
        }
    }

    /// The model to read `file` (its bytes) with: the file, or the model in
    /// the directory that the file's `model_id_hash` names (its content hash
    /// or the path hash upstream wrote for it). When it names none of them,
    /// the newest, with a note on stderr; a file that is not even a CZIPv1
    /// container gets the newest too (decoding then says what is wrong).
    pub fn for_reading(&self, file: &Path, bytes: &[u8]) -> Result<&Model, String> {
        let (dir, found) = match self {
            Models::File(m) => return Ok(m),
            Models::Dir { dir, found } => (dir, found),
        };
        let newest = found.first().ok_or_else(|| no_published_model(dir))?;
        let Ok(f) = read_file(bytes, &ReadLimits::default()) else {
            return Self::load(newest);
        };
        let stored = f.inner.model_id_hash;
        // A model that does not load is no candidate (it is reported only
        // if it is the fallback below).
        for entry in found {
            if let Ok(m) = Self::load(entry) {
                if classify(stored, m.content_hash()) == ModelMatch::Same {
                    return Ok(m);
                }
            }
        }
        let names: Vec<String> = found.iter().map(|(p, _)| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
        eprintln!(
            "czip: note: {}: model_id_hash {stored:08x} names none of the models in {} ({}); reading it with {}",
            file.display(),
            dir.display(),
            names.join(", "),
            newest.0.display()
        );
        Self::load(newest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name `-m DIR` looks for is a published model's name in
    /// `czip::model::load`'s table (looked up by upstream's path hash).
    #[test]
    fn directory_model_names_are_the_published_ones() {
        use czip::model::load::published_model_named_by;
        // Upstream's path hashes of models/v000_eng.czm and models/v001_eng.czm.
        let named: Vec<_> = [0x875b_46ff, 0x271b_f17f].into_iter().map(published_model_named_by).collect();
        assert_eq!(named, PUBLISHED_MODELS.map(Some));
    }
}
