//! A package in a local directory.

use std::path::PathBuf;

use super::{Fetched, Source, SourceError};
use crate::progress::Progress;

/// A package directory on the local file system.
#[derive(Debug, Clone)]
pub struct LocalDir {
    arg: String,
    path: PathBuf,
}

impl LocalDir {
    /// The directory `path`, named `arg` on the command line.
    pub fn new(arg: &str, path: PathBuf) -> LocalDir {
        LocalDir {
            arg: arg.to_string(),
            path,
        }
    }
}

impl Source for LocalDir {
    fn fetch(&self, _progress: &dyn Progress) -> Result<Fetched, SourceError> {
        let not_dir = |reason: String| SourceError::NotADirectory {
            arg: self.arg.clone(),
            reason,
        };
        let meta = std::fs::metadata(&self.path).map_err(|e| not_dir(e.to_string()))?;
        if !meta.is_dir() {
            return Err(not_dir(
                "it is a file; a package is a directory holding manifest.json (archives end in .tar.gz, .tgz or .zip)".into(),
            ));
        }
        let dir = std::fs::canonicalize(&self.path).map_err(|e| not_dir(e.to_string()))?;
        Ok(Fetched {
            origin: dir.display().to_string(),
            dir,
            commit: None,
            temp: None,
            asked: crate::signing::Asked::nothing(),
        })
    }
}
