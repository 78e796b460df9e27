//! A package in a local directory.

use std::path::PathBuf;

use super::{Fetched, Source, SourceError};

/// A package directory on the local file system.
#[derive(Debug, Clone)]
pub struct LocalDir {
    arg: String,
}

impl LocalDir {
    /// The directory named by `arg`.
    pub fn new(arg: &str) -> LocalDir {
        LocalDir {
            arg: arg.to_string(),
        }
    }
}

impl Source for LocalDir {
    fn fetch(&self) -> Result<Fetched, SourceError> {
        let path = PathBuf::from(&self.arg);
        let not_dir = |reason: String| SourceError::NotADirectory {
            arg: self.arg.clone(),
            reason,
        };
        let meta = std::fs::metadata(&path).map_err(|e| not_dir(e.to_string()))?;
        if !meta.is_dir() {
            return Err(not_dir(
                "it is a file; a package is a directory holding manifest.json".into(),
            ));
        }
        let dir = std::fs::canonicalize(&path).map_err(|e| not_dir(e.to_string()))?;
        Ok(Fetched {
            origin: dir.display().to_string(),
            dir,
        })
    }
}
