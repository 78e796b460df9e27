//! Sources: where a package is read from. One [`Source`] trait, one
//! implementation per kind of argument (docs/sources.md lists them); [`resolve`] parses the
//! argument ([`spec`]) and picks the implementation. Everything that
//! arrives from outside is written through [`crate::safe_tree::TreeWriter`],
//! which refuses unsafe paths, links and oversized content into a temporary
//! directory that is removed on any failure: archives and HTTP packages
//! stay there until the [`Fetched`] is dropped; a git package directory is
//! renamed into the cache once per commit and read from there.
//!
//! Layering: this module sits above [`crate::git`] (which git sources use)
//! and below `package`. What both it and git need lives lower down: the safe
//! tree writer in [`crate::safe_tree`], the environment's settings in
//! [`crate::source_settings`], the ref query and ref-name rule in
//! [`crate::git::ref_query`], and the file-size limits in
//! [`crate::manifest::limits`].

pub mod archive;
pub mod archive_source;
pub mod git_source;
pub mod http;
pub mod http_package;
pub mod local;
pub mod lock;
pub mod oci_source;
pub mod registry_source;
pub mod spec;

use std::path::PathBuf;

use thiserror::Error;

use crate::git::GitError;
use crate::progress::Progress;
use crate::safe_tree::TreeError;
use crate::source_settings::{SettingsError, SourceSettings};
pub use spec::{SourceSpec, parse};

/// A package made available on the local file system for reading.
#[derive(Debug)]
pub struct Fetched {
    /// The package root directory.
    pub dir: PathBuf,
    /// A canonical description of where it came from, for the history.
    pub origin: String,
    /// The revision the package was read from: the git commit for git
    /// sources, the manifest digest (`sha256:...`) for OCI sources.
    pub commit: Option<String>,
    /// The temporary directory holding a downloaded or extracted package
    /// (removed on drop).
    pub temp: Option<tempfile::TempDir>,
    /// The package and version the reference asked for (a registry's
    /// `NAME@VERSION`, an OCI or git release tag), which a signed
    /// manifest must state.
    pub asked: crate::signing::Asked,
}

/// Why a source could not be used.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The argument is not a source pkg reads.
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    /// The local path does not exist or is not a directory.
    #[error("`{arg}` is not a package directory: {reason}")]
    NotADirectory {
        /// The argument.
        arg: String,
        /// Why.
        reason: String,
    },
    /// A local file could not be read.
    #[error("cannot read `{arg}`: {reason}")]
    Unreadable {
        /// The argument.
        arg: String,
        /// Why.
        reason: String,
    },
    /// The environment's settings are unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A git source failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// An HTTP download failed.
    #[error(transparent)]
    Http(#[from] http::HttpError),
    /// An archive could not be extracted.
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    /// A downloaded tree was refused.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// An OCI registry failed, or its artifact was refused.
    #[error(transparent)]
    Oci(#[from] crate::oci::OciError),
    /// A remote package's manifest is unusable.
    #[error("{url}: {reason}")]
    BadRemotePackage {
        /// Where the package is.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// A place a package can be read from.
pub trait Source {
    /// Makes the package available as a local directory.
    fn fetch(&self, progress: &dyn Progress) -> Result<Fetched, SourceError>;
}

/// Picks the source for a command-line argument.
pub fn resolve(arg: &str, settings: &SourceSettings) -> Result<Box<dyn Source>, SourceError> {
    Ok(match parse(arg, settings)? {
        SourceSpec::Local(path) => Box::new(local::LocalDir::new(arg, path)),
        SourceSpec::ArchiveFile(path, format) => Box::new(archive_source::ArchiveSource::file(
            path,
            format,
            settings.clone(),
        )),
        SourceSpec::ArchiveUrl(url, format) => Box::new(archive_source::ArchiveSource::url(
            url,
            format,
            settings.clone(),
        )),
        SourceSpec::Http(url) => Box::new(http_package::HttpPackage::new(url, settings.clone())),
        SourceSpec::Git(spec) => Box::new(git_source::GitSource::new(spec, settings.clone())),
        SourceSpec::Oci(reference) => {
            Box::new(oci_source::OciSource::new(reference, settings.clone()))
        }
    })
}
