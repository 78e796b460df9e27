//! Sources: where a package is read from. One [`Source`] trait, one
//! implementation per kind of argument; [`resolve`] picks it. This version
//! reads local directories; archives, HTTP and git sources build on the same
//! trait.

pub mod local;

use std::path::PathBuf;

use thiserror::Error;

/// A package made available on the local file system for reading.
#[derive(Debug)]
pub struct Fetched {
    /// The package root directory.
    pub dir: PathBuf,
    /// A canonical description of where it came from, for the history.
    pub origin: String,
}

/// Why a source could not be used.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The argument names a kind of source this build cannot read yet.
    #[error(
        "`{arg}` is {what}, which this version of pkg cannot load yet; download it and pass the package directory"
    )]
    Unsupported {
        /// The argument.
        arg: String,
        /// What kind of source it looks like.
        what: &'static str,
    },
    /// The local path does not exist or is not a directory.
    #[error("`{arg}` is not a package directory: {reason}")]
    NotADirectory {
        /// The argument.
        arg: String,
        /// Why.
        reason: String,
    },
}

/// A place a package can be read from.
pub trait Source {
    /// Makes the package available as a local directory.
    fn fetch(&self) -> Result<Fetched, SourceError>;
}

/// Picks the source for a command-line argument.
pub fn resolve(arg: &str) -> Result<Box<dyn Source>, SourceError> {
    let lower = arg.to_ascii_lowercase();
    let unsupported = |what| SourceError::Unsupported {
        arg: arg.to_string(),
        what,
    };
    if lower.starts_with("git+") || lower.starts_with("github:") || lower.starts_with("file://") {
        return Err(unsupported("a git repository"));
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Err(unsupported("a URL"));
    }
    if [".tar.gz", ".tgz", ".zip"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        return Err(unsupported("an archive"));
    }
    Ok(Box::new(local::LocalDir::new(arg)))
}
