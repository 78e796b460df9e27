//! What can go wrong reading an archive.

use std::path::PathBuf;

use thiserror::Error;

use crate::manifest::MANIFEST_FILE;
use crate::safe_tree::TreeError;

use super::ArchiveFormat;

/// Why an archive could not be extracted. Every variant names the archive;
/// entry names are escaped and shortened for display.
#[derive(Debug, Error)]
pub enum ArchiveError {
    /// The archive file could not be opened or read.
    #[error("cannot read archive `{}`", .archive.display())]
    Open {
        /// The archive.
        archive: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The archive is not a regular file.
    #[error("archive `{}` is not a regular file", .archive.display())]
    NotAFile {
        /// The archive.
        archive: PathBuf,
    },
    /// The archive is damaged, truncated or not an archive of its format.
    #[error(
        "`{}` is not a valid {format} archive{}: {detail}; check that the file is complete and really is a {format} archive",
        .archive.display(),
        .entry.as_deref().map(|e| format!(" (at entry `{e}`)")).unwrap_or_default()
    )]
    Corrupt {
        /// The archive.
        archive: PathBuf,
        /// Its format.
        format: ArchiveFormat,
        /// The entry being read, when known.
        entry: Option<String>,
        /// What is wrong.
        detail: String,
    },
    /// An entry is neither a regular file nor a directory.
    #[error(
        "entry `{entry}` in `{}` is {kind}; package archives may hold only regular files and directories, so the archive was rejected",
        .archive.display()
    )]
    UnsupportedEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
        /// What it is ("a symlink", "a hard link", ...).
        kind: String,
    },
    /// A zip entry is encrypted.
    #[error(
        "entry `{entry}` in `{}` is encrypted; pkg cannot read encrypted archives, make the archive without a password",
        .archive.display()
    )]
    Encrypted {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
    },
    /// The archive inflates to more than the decompression limit, or an
    /// entry to more than it declares.
    #[error(
        "`{}` expands to more than {limit} bytes ({}) and was rejected as a possible decompression bomb",
        .archive.display(),
        .entry.as_deref().map(|e| format!("at entry `{e}`")).unwrap_or_else(|| "after the last entry".into())
    )]
    Bomb {
        /// The archive.
        archive: PathBuf,
        /// The entry at which the limit was hit (`None` past the last one).
        entry: Option<String>,
        /// The limit, in bytes.
        limit: u64,
    },
    /// An entry was refused by the tree rules (unsafe path, collision,
    /// limits) or could not be written.
    #[error("cannot extract `{}`", .archive.display())]
    Tree {
        /// The archive.
        archive: PathBuf,
        /// Why.
        #[source]
        source: TreeError,
    },
    /// Neither the top level nor a single top-level directory holds
    /// manifest.json.
    #[error(
        "no {MANIFEST_FILE} at the top of the archive `{}` or in its single top-level directory; a package archive holds {MANIFEST_FILE} at its root (as `pkg pack` makes it) or inside one top-level directory",
        .archive.display()
    )]
    NoManifest {
        /// The archive.
        archive: PathBuf,
    },
}
