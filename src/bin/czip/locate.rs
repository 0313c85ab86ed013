//! Where the model comes from: `-m`, else `$CZIP_MODEL`, else the models
//! directory (`$CZIP_MODELS_DIR`, else `../shared/models` relative to the
//! current directory, else `models/` beside the executable).
//!
//! The result is a path (a model file, or a directory that
//! [`crate::models::Models`] picks from) and the reason it was chosen, which
//! `-v` prints. Nothing is loaded here.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::models::PUBLISHED_MODELS;

/// Why the model path is the one it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `-m PATH`.
    Flag,
    /// `$CZIP_MODEL`.
    EnvModel,
    /// `$CZIP_MODELS_DIR`.
    EnvDir,
    /// `../shared/models`, relative to the current directory.
    SharedDir,
    /// `models/` in the directory of the executable.
    ExeDir,
}

/// A model file or a models directory, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSource {
    pub path: PathBuf,
    pub origin: Origin,
}

impl fmt::Display for ModelSource {
    /// How `-v` and the errors name the source: the path and, when `-m` was
    /// not given, where it came from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match self.origin {
            Origin::Flag => write!(f, "{p} (-m)"),
            Origin::EnvModel => write!(f, "{p} ($CZIP_MODEL; no -m given)"),
            Origin::EnvDir => write!(f, "{p} ($CZIP_MODELS_DIR; no -m given)"),
            Origin::SharedDir => write!(f, "{p} (the default models directory, relative to the current directory; no -m given)"),
            Origin::ExeDir => write!(f, "{p} (the models directory beside the executable; no -m given)"),
        }
    }
}

/// `../shared/models`: the default models directory, relative to the
/// current directory (the checkout's sibling `shared/`).
pub const SHARED_MODELS_DIR: &str = "../shared/models";

/// The process's view of the world that [`locate`] reads, so that tests can
/// give it another.
pub struct Env {
    pub var: fn(&str) -> Option<OsString>,
    /// [`SHARED_MODELS_DIR`] (tests give another).
    pub shared_dir: PathBuf,
    /// The directory of the executable, if known.
    pub exe_dir: Option<PathBuf>,
}

impl Env {
    pub fn process() -> Env {
        Env {
            var: |k| std::env::var_os(k),
            shared_dir: PathBuf::from(SHARED_MODELS_DIR),
            exe_dir: std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)),
        }
    }

    /// A variable that is set and not empty.
    fn get(&self, key: &str) -> Option<PathBuf> {
        (self.var)(key).filter(|v| !v.is_empty()).map(PathBuf::from)
    }
}

/// The model to use: `flag` (`-m`), else `$CZIP_MODEL`, else the first
/// models directory that holds a published model. `$CZIP_MODELS_DIR`, when
/// set, is the only directory tried (a wrong value is reported, not
/// silently passed over). When none is found, the error lists every place
/// looked and how to pass `-m`.
pub fn locate(flag: Option<&Path>, env: &Env) -> Result<ModelSource, String> {
    if let Some(p) = flag {
        return Ok(ModelSource { path: p.to_path_buf(), origin: Origin::Flag });
    }
    if let Some(p) = env.get("CZIP_MODEL") {
        return Ok(ModelSource { path: p, origin: Origin::EnvModel });
    }
    let dirs: Vec<(PathBuf, Origin)> = match env.get("CZIP_MODELS_DIR") {
        Some(d) => vec![(d, Origin::EnvDir)],
        None => {
            let mut v = vec![(env.shared_dir.clone(), Origin::SharedDir)];
            v.extend(env.exe_dir.as_ref().map(|d| (d.join("models"), Origin::ExeDir)));
            v
        }
    };
    let mut looked = Vec::new();
    for (dir, origin) in dirs {
        if holds_a_published_model(&dir) {
            return Ok(ModelSource { path: dir, origin });
        }
        let why = if dir.is_dir() { "has none" } else { "no such directory" };
        let name = match origin {
            Origin::EnvDir => format!("$CZIP_MODELS_DIR={}", dir.display()),
            _ => dir.display().to_string(),
        };
        looked.push(format!("{name} ({why})"));
    }
    Err(format!(
        "no model: -m not given, $CZIP_MODEL not set, and no {} in {}; pass the model with -m MODEL.czm \
         (or a directory of models), or set CZIP_MODEL or CZIP_MODELS_DIR",
        PUBLISHED_MODELS.join(" or "),
        looked.join(", ")
    ))
}

fn holds_a_published_model(dir: &Path) -> bool {
    PUBLISHED_MODELS.iter().any(|n| dir.join(n).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("czip-locate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn no_vars(_: &str) -> Option<OsString> {
        None
    }

    #[test]
    fn the_flag_wins_then_czip_model() {
        let env = Env { var: |k| (k == "CZIP_MODEL").then(|| "/e/m.czm".into()), shared_dir: "/nonexistent".into(), exe_dir: None };
        let got = locate(Some(Path::new("x.czm")), &env).unwrap();
        assert_eq!(got, ModelSource { path: "x.czm".into(), origin: Origin::Flag });
        let got = locate(None, &env).unwrap();
        assert_eq!(got, ModelSource { path: "/e/m.czm".into(), origin: Origin::EnvModel });
        // An empty variable is no value.
        let env = Env { var: |_| Some(OsString::new()), shared_dir: "/nonexistent".into(), exe_dir: None };
        assert!(locate(None, &env).unwrap_err().starts_with("no model: -m not given, $CZIP_MODEL not set"));
    }

    #[test]
    fn the_executables_models_directory_is_the_last_resort() {
        let exe = scratch("exe");
        let shared = exe.join("shared/models");
        let env = Env { var: no_vars, shared_dir: shared.clone(), exe_dir: Some(exe.clone()) };
        let err = locate(None, &env).unwrap_err();
        assert_eq!(
            err,
            format!(
                "no model: -m not given, $CZIP_MODEL not set, and no v000_eng.czm or v001_eng.czm in {} \
                 (no such directory), {}/models (no such directory); pass the model with -m MODEL.czm (or a directory \
                 of models), or set CZIP_MODEL or CZIP_MODELS_DIR",
                shared.display(),
                exe.display()
            )
        );
        std::fs::create_dir(exe.join("models")).unwrap();
        std::fs::write(exe.join("models/v000_eng.czm"), "").unwrap();
        assert_eq!(locate(None, &env).unwrap(), ModelSource { path: exe.join("models"), origin: Origin::ExeDir });
        // ../shared/models comes first; an empty one is passed over.
        std::fs::create_dir_all(&shared).unwrap();
        assert_eq!(locate(None, &env).unwrap().origin, Origin::ExeDir);
        std::fs::write(shared.join("v001_eng.czm"), "").unwrap();
        assert_eq!(locate(None, &env).unwrap(), ModelSource { path: shared.clone(), origin: Origin::SharedDir });
        std::fs::remove_dir_all(&exe).unwrap();
    }

    #[test]
    fn czip_models_dir_is_the_only_directory_tried_when_set() {
        let env = Env { var: |k| (k == "CZIP_MODELS_DIR").then(|| "/nonexistent/models".into()), shared_dir: ".".into(), exe_dir: None };
        assert_eq!(
            locate(None, &env).unwrap_err(),
            "no model: -m not given, $CZIP_MODEL not set, and no v000_eng.czm or v001_eng.czm in \
             $CZIP_MODELS_DIR=/nonexistent/models (no such directory); pass the model with -m MODEL.czm (or a \
             directory of models), or set CZIP_MODEL or CZIP_MODELS_DIR"
        );
    }
}
