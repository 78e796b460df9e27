//! Lock files (`pkg.lock`, TOML): per source, the commit it resolved to
//! (git sources) and the package digest, and for a `NAME@REQ` resolved
//! through the package sources every package of the graph. `pkg lock` writes them;
//! `pkg load --locked` refuses content that differs. Sources are matched by
//! the text written on the command line.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The lock file format this build writes.
pub const LOCK_VERSION: u32 = 1;

/// A lock file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    /// The format version.
    pub version: u32,
    /// One entry per source, sorted by source.
    #[serde(default, rename = "package")]
    pub packages: Vec<LockEntry>,
}

/// One pinned source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    /// The source as given to `pkg lock` and `pkg load`.
    pub source: String,
    /// Where it resolved to (URL, path and ref).
    pub origin: String,
    /// The revision: the git commit (git sources), or the OCI manifest
    /// digest (`sha256:...`, OCI sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The package digest.
    pub digest: String,
    /// The package name, for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The package version, for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The ID of the key that signed the package: verified by a trusted
    /// key as it was locked (then `signer_key` is that key), or only named
    /// by its signature (no `signer_key`; `--locked` then requires a
    /// signature naming this ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// That key (minisign base64, `RW...`): `--locked` refuses a package
    /// this key did not sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_key: Option<String>,
    /// For `NAME@REQ` resolved through the package sources: every package
    /// of the resolved graph, which `--locked` loads exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<LockedPackage>,
}

/// One package of a locked graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// The package name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The package source it came from.
    pub source: String,
    /// Its package digest.
    pub digest: String,
    /// The commit, for a package from a git source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The ID of the key that signed it (verified when `signer_key` is
    /// there, else only named by its signature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// That key (`RW...`): `--locked` refuses it signed by any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_key: Option<String>,
}

/// Why a lock file could not be used, or refused a package.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The file could not be read or written.
    #[error("lock file `{path}`: {message}")]
    File {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The source has no entry.
    #[error("`{arg}` is not in lock file `{path}`; run `pkg lock {arg} --file {path}` to pin it")]
    NotLocked {
        /// The source.
        arg: String,
        /// The lock file.
        path: String,
    },
    /// The content differs from the lock.
    #[error(
        "`{arg}` differs from lock file `{path}`: {what}; nothing was loaded. If the change is expected, run `pkg lock` again"
    )]
    Mismatch {
        /// The source.
        arg: String,
        /// The lock file.
        path: String,
        /// What differs.
        what: String,
    },
}

const HEADER: &str = "# pkg.lock: written by `pkg lock`. `pkg load SOURCE --locked FILE` refuses\n# a package whose commit, digest or signer differs from its entry here.\n";

impl LockFile {
    /// Reads a lock file.
    pub fn read(path: &Path) -> Result<LockFile, LockError> {
        let fail = |message: String| LockError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let lock: LockFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
        if lock.version != LOCK_VERSION {
            return Err(fail(format!(
                "version {} is not supported (this pkg reads version {LOCK_VERSION})",
                lock.version
            )));
        }
        Ok(lock)
    }

    /// Reads `path` when it exists, else an empty lock.
    pub fn read_or_default(path: &Path) -> Result<LockFile, LockError> {
        if path.exists() {
            LockFile::read(path)
        } else {
            Ok(LockFile {
                version: LOCK_VERSION,
                packages: Vec::new(),
            })
        }
    }

    /// Writes the lock atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        let fail = |message: String| LockError::File {
            path: path.display().to_string(),
            message,
        };
        let body = toml::to_string(self).map_err(|e| fail(e.to_string()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut file = tempfile::Builder::new()
            .prefix(".pkg-lock-")
            .tempfile_in(dir)
            .map_err(|e| fail(e.to_string()))?;
        use std::io::Write;
        file.write_all(HEADER.as_bytes())
            .and_then(|()| file.write_all(body.as_bytes()))
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| fail(e.to_string()))?;
        file.persist(path).map_err(|e| fail(e.error.to_string()))?;
        Ok(())
    }

    /// Adds or replaces the entry for `entry.source`.
    pub fn upsert(&mut self, entry: LockEntry) {
        self.packages.retain(|e| e.source != entry.source);
        self.packages.push(entry);
        self.packages.sort_by(|a, b| a.source.cmp(&b.source));
    }

    /// The entry for `source`.
    pub fn find(&self, source: &str) -> Option<&LockEntry> {
        self.packages.iter().find(|e| e.source == source)
    }

    /// The entry for `source`, or the error that says how to pin it.
    pub fn entry(&self, path: &Path, source: &str) -> Result<&LockEntry, LockError> {
        self.find(source).ok_or_else(|| LockError::NotLocked {
            arg: source.to_string(),
            path: path.display().to_string(),
        })
    }

    /// Checks the revision `source` resolved to (a git commit, an OCI
    /// manifest digest) against its entry, before the package is read or
    /// its signature checked: a moved tag is named as such.
    pub fn check_commit(
        &self,
        path: &Path,
        source: &str,
        commit: Option<&str>,
    ) -> Result<(), LockError> {
        let entry = self.entry(path, source)?;
        let mismatch = |what| mismatch(path, source, what);
        if let Some(locked) = &entry.commit
            && commit != Some(locked.as_str())
            && locked.starts_with("sha256:")
        {
            return Err(mismatch(format!(
                "the reference now resolves to manifest {}, the lock has {locked} (was the tag moved?)",
                commit.unwrap_or("(none)")
            )));
        }
        if let Some(locked) = &entry.commit
            && commit != Some(locked.as_str())
        {
            return Err(mismatch(format!(
                "the ref now resolves to commit {}, the lock has {locked} (was a tag moved?)",
                commit.unwrap_or("(none)")
            )));
        }
        Ok(())
    }

    /// Checks a fetched package against the entry for `source`: its
    /// revision, then its package digest.
    pub fn check(
        &self,
        path: &Path,
        source: &str,
        commit: Option<&str>,
        digest: &str,
    ) -> Result<(), LockError> {
        self.check_commit(path, source, commit)?;
        let entry = self.entry(path, source)?;
        if entry.digest != digest {
            return Err(mismatch(
                path,
                source,
                format!(
                    "the package digest is {digest}, the lock has {}",
                    entry.digest
                ),
            ));
        }
        Ok(())
    }
}

/// `source` differs from its entry in the lock file at `path` by `what`.
fn mismatch(path: &Path, source: &str, what: String) -> LockError {
    LockError::Mismatch {
        arg: source.to_string(),
        path: path.display().to_string(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(source: &str, commit: Option<&str>, digest: &str) -> LockEntry {
        LockEntry {
            source: source.into(),
            origin: format!("origin of {source}"),
            commit: commit.map(str::to_string),
            digest: digest.into(),
            name: None,
            version: None,
            signer: None,
            signer_key: None,
            resolved: Vec::new(),
        }
    }

    #[test]
    fn round_trips_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pkg.lock");
        let mut lock = LockFile::read_or_default(&path).unwrap();
        lock.upsert(entry("github:a/b/x@v1", Some("c1"), "sha256:1"));
        lock.upsert(entry("./local", None, "sha256:2"));
        lock.upsert(entry("github:a/b/x@v1", Some("c2"), "sha256:3"));
        lock.write(&path).unwrap();
        let read = LockFile::read(&path).unwrap();
        assert_eq!(read, lock);
        assert_eq!(read.packages.len(), 2);
        assert!(
            read.check(&path, "github:a/b/x@v1", Some("c2"), "sha256:3")
                .is_ok()
        );
        let moved = read.check(&path, "github:a/b/x@v1", Some("c9"), "sha256:3");
        assert!(moved.unwrap_err().to_string().contains("tag moved"));
        let changed = read.check(&path, "./local", None, "sha256:x");
        assert!(matches!(changed, Err(LockError::Mismatch { .. })));
        let missing = read.check(&path, "./other", None, "sha256:2");
        assert!(matches!(missing, Err(LockError::NotLocked { .. })));
    }

    #[test]
    fn bad_lock_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pkg.lock");
        for text in ["version = 9\n", "not toml [", "version = 1\nsurprise = 2\n"] {
            std::fs::write(&path, text).unwrap();
            assert!(LockFile::read(&path).is_err(), "{text}");
        }
    }
}
