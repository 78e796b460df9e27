//! Safe writing of untrusted file trees. A [`TreeWriter`] owns a fresh
//! temporary directory and is the only way archive extraction (and the HTTP
//! and git sources) put files on disk: it checks every path before anything
//! is created (relative, no `..`, no drive letters, backslashes, control
//! characters or Windows device names), refuses two names that a
//! case-insensitive or normalising file system would merge, never follows or
//! creates a symlink, creates files exclusively with mode 0644 and
//! directories with 0755 (both under the umask), and stops at the
//! [`Limits`]. On any error the caller drops the writer, which removes the
//! whole directory. The same writer can keep the tree in memory instead
//! ([`TreeWriter::in_memory`], for a package transfer read at once), under
//! the same path rules and limits.
//!
//! This module owns the writer, its limits and its errors; `storage` owns
//! where the accepted files go. It sits below the
//! sources (`loaders`) and `git`, which both write through it, and uses only
//! the low-level path and slug helpers of `manifest` and `model`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use crate::manifest::paths::check_syntax;
use crate::model::slug::escape;

mod storage;

pub use self::storage::{DirStorage, MemoryStorage, MemoryTree, TreeStorage};

/// How much an untrusted tree may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of file content in the whole tree (default 2 GiB).
    pub max_total_bytes: u64,
    /// Files and directories, counting both the entries added and the
    /// parent directories created for them (default 1,000,000).
    pub max_entries: u64,
    /// Bytes in one file (default 64 MiB, the largest file a package may
    /// name).
    pub max_file_bytes: u64,
}

impl Limits {
    /// Default [`Limits::max_total_bytes`]: 2 GiB.
    pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 2 << 30;
    /// Default [`Limits::max_entries`]: one million.
    pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;
    /// Default [`Limits::max_file_bytes`]: 64 MiB.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;
}

impl Default for Limits {
    /// 2 GiB in total, one million entries, 64 MiB per file.
    fn default() -> Limits {
        Limits {
            max_total_bytes: Limits::DEFAULT_MAX_TOTAL_BYTES,
            max_entries: Limits::DEFAULT_MAX_ENTRIES,
            max_file_bytes: Limits::DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// Why an entry of an untrusted tree was refused. Paths are shown as the
/// source spelled them, with control characters escaped and very long
/// names shortened.
#[derive(Debug, Error)]
pub enum TreeError {
    /// The path could leave the tree or cannot be represented safely.
    #[error(
        "entry `{path}` has an unsafe path: {reason}; package files need plain relative paths, so the source was rejected"
    )]
    UnsafePath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two paths differ only in letter case or Unicode normalisation, so a
    /// case-insensitive or normalising file system would merge them.
    #[error(
        "entries `{path}` and `{other}` differ only in letter case or Unicode normalisation and would be the same file on macOS and Windows; rename one of them"
    )]
    Collision {
        /// The later path.
        path: String,
        /// The earlier path it collides with.
        other: String,
    },
    /// The same file path appears twice.
    #[error("file `{path}` appears twice; a tree may name each file only once")]
    Duplicate {
        /// The path.
        path: String,
    },
    /// A name is used both as a file and as a directory.
    #[error(
        "`{path}` is both a file and a directory (at entry `{entry}`); a name can be one or the other, not both"
    )]
    FileAndDirectory {
        /// The name used both ways.
        path: String,
        /// The entry being added when this was found.
        entry: String,
    },
    /// Something already exists on disk under a name this tree never
    /// created (the file system merged two names the checks did not).
    #[error(
        "`{path}` already exists in the extraction directory although no earlier entry created it; the file system treats it as the same name as another entry"
    )]
    Exists {
        /// The path.
        path: String,
    },
    /// A file is larger than [`Limits::max_file_bytes`].
    #[error("file `{path}` is larger than the limit of {limit} bytes per file")]
    FileTooLarge {
        /// The path.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// The tree holds more than [`Limits::max_total_bytes`].
    #[error("the files add up to more than the limit of {limit} bytes (reached at `{path}`)")]
    TotalTooLarge {
        /// The file at which the limit was reached.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// The tree holds more than [`Limits::max_entries`] files and directories.
    #[error("the tree has more than the limit of {limit} files and directories")]
    TooManyEntries {
        /// The limit.
        limit: u64,
    },
    /// The content of a file could not be read from its source.
    #[error("cannot read the content of `{path}` from its source")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Something could not be created or written on disk.
    #[error("cannot write `{}`", .path.display())]
    Io {
        /// The file or directory on disk.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Whether a path names a file or a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

/// Writes an untrusted tree into a fresh temporary directory (or, with
/// [`MemoryStorage`], into memory); see the module documentation for the
/// rules.
#[derive(Debug)]
pub struct TreeWriter<S: TreeStorage = DirStorage> {
    storage: S,
    limits: Limits,
    total_bytes: u64,
    entries: u64,
    /// Folded path (NFC, lower case) → the first spelling and its kind.
    seen: HashMap<String, (String, Kind)>,
    /// The copy buffer, allocated once for every file.
    buf: Vec<u8>,
}

impl TreeWriter<DirStorage> {
    /// Creates the writer and its temporary directory (prefix
    /// `.pkg-fetch-`) under the system temporary directory.
    pub fn new(limits: Limits) -> Result<TreeWriter, TreeError> {
        TreeWriter::new_in(&std::env::temp_dir(), limits)
    }

    /// [`TreeWriter::new`] with the temporary directory under `parent`
    /// (on the file system where the tree will be renamed to).
    pub fn new_in(parent: &Path, limits: Limits) -> Result<TreeWriter, TreeError> {
        Ok(TreeWriter::with_storage(
            DirStorage::new_in(parent)?,
            limits,
        ))
    }

    /// The directory the tree is written to.
    pub fn root(&self) -> &Path {
        self.storage.root()
    }

    /// Ends writing and hands over the directory. The caller keeps it alive
    /// while reading the tree; dropping it removes everything.
    pub fn finish(self) -> tempfile::TempDir {
        self.storage.into_dir()
    }
}

impl TreeWriter<MemoryStorage> {
    /// A writer that keeps the tree in memory, under the same rules and
    /// limits (a transfer that is read at once and never needs a directory).
    pub fn in_memory(limits: Limits) -> TreeWriter<MemoryStorage> {
        TreeWriter::with_storage(MemoryStorage::default(), limits)
    }

    /// Ends writing and hands over the files.
    pub fn finish(self) -> MemoryTree {
        self.storage.into_tree()
    }
}

impl<S: TreeStorage> TreeWriter<S> {
    fn with_storage(storage: S, limits: Limits) -> TreeWriter<S> {
        TreeWriter {
            storage,
            limits,
            total_bytes: 0,
            entries: 0,
            seen: HashMap::new(),
            buf: vec![0_u8; 64 * 1024],
        }
    }

    /// The limits this writer enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes of file content written so far.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Checks a size a source declares for `path` before any of it is read:
    /// it must fit the per-file limit and what is left of the total.
    pub fn check_declared(&self, path: &str, size: u64) -> Result<(), TreeError> {
        if size > self.limits.max_file_bytes {
            return Err(TreeError::FileTooLarge {
                path: shown(path),
                limit: self.limits.max_file_bytes,
            });
        }
        if size > self.remaining_total() {
            return Err(TreeError::TotalTooLarge {
                path: shown(path),
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(())
    }

    /// Adds a directory (and any missing parents). `path` is relative and
    /// `/`-separated; one leading `./` and one trailing `/` are allowed;
    /// `""`, `.` and `./` name the root and add nothing. Adding a directory
    /// that exists is fine.
    pub fn add_dir(&mut self, path: &str) -> Result<(), TreeError> {
        self.count_entry()?;
        let Some(rel) = normalize(path, Kind::Dir)? else {
            return Ok(());
        };
        self.ensure_parents(rel)?;
        if self.claim(rel, Kind::Dir)? {
            self.storage.make_dir(rel)?;
        }
        Ok(())
    }

    /// Adds a file (and any missing parents) with the content of `reader`,
    /// copying at most the limits allow, and returns the bytes written. The
    /// file is created exclusively (never over anything) with mode 0644.
    pub fn add_file(&mut self, path: &str, reader: &mut dyn Read) -> Result<u64, TreeError> {
        self.count_entry()?;
        let Some(rel) = normalize(path, Kind::File)? else {
            return Err(unsafe_path(path, "names the root directory, not a file"));
        };
        self.ensure_parents(rel)?;
        self.claim(rel, Kind::File)?;
        let mut file = self.storage.create_file(rel)?;
        let file_cap = self.limits.max_file_bytes;
        let cap = file_cap.min(self.remaining_total());
        let mut written: u64 = 0;
        loop {
            let n = match reader.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(TreeError::Read {
                        path: shown(rel),
                        source,
                    });
                }
            };
            written += n as u64;
            if written > cap {
                self.total_bytes = self.total_bytes.saturating_add(written);
                return Err(if cap == file_cap {
                    TreeError::FileTooLarge {
                        path: shown(rel),
                        limit: file_cap,
                    }
                } else {
                    TreeError::TotalTooLarge {
                        path: shown(rel),
                        limit: self.limits.max_total_bytes,
                    }
                });
            }
            file.write_all(&self.buf[..n])
                .map_err(|source| TreeError::Io {
                    path: self.storage.shown_path(rel),
                    source,
                })?;
        }
        self.storage.close_file(rel, file)?;
        self.total_bytes += written;
        Ok(written)
    }

    fn remaining_total(&self) -> u64 {
        self.limits.max_total_bytes.saturating_sub(self.total_bytes)
    }

    fn count_entry(&mut self) -> Result<(), TreeError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(TreeError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    /// Records `rel` as a `kind`; returns whether it is new. A directory
    /// seen again is fine; anything else seen again is an error.
    fn claim(&mut self, rel: &str, kind: Kind) -> Result<bool, TreeError> {
        let folded = fold(rel);
        match self.seen.get(&folded) {
            None => {
                self.seen.insert(folded, (rel.to_string(), kind));
                Ok(true)
            }
            Some((first, _)) if first != rel => Err(TreeError::Collision {
                path: shown(rel),
                other: shown(first),
            }),
            Some((_, Kind::Dir)) if kind == Kind::Dir => Ok(false),
            Some((_, Kind::File)) if kind == Kind::File => {
                Err(TreeError::Duplicate { path: shown(rel) })
            }
            Some(_) => Err(TreeError::FileAndDirectory {
                path: shown(rel),
                entry: shown(rel),
            }),
        }
    }

    /// Claims and creates every parent directory of `rel`.
    fn ensure_parents(&mut self, rel: &str) -> Result<(), TreeError> {
        let mut ends: Vec<usize> = rel.match_indices('/').map(|(i, _)| i).collect();
        ends.retain(|&i| i > 0);
        for end in ends {
            let parent = &rel[..end];
            match self.claim(parent, Kind::Dir) {
                Ok(false) => {}
                Ok(true) => {
                    self.count_entry()?;
                    self.storage.make_dir(parent)?;
                }
                Err(TreeError::FileAndDirectory { path, .. }) => {
                    return Err(TreeError::FileAndDirectory {
                        path,
                        entry: shown(rel),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The key under which two spellings count as the same name: NFC, then
/// lower case.
fn fold(path: &str) -> String {
    if path.is_ascii() {
        // ASCII is already in NFC, and its lower case is ASCII's.
        return path.to_ascii_lowercase();
    }
    path.nfc().collect::<String>().to_lowercase()
}

/// How a path is shown in messages: control characters escaped, at most
/// 200 characters.
pub(crate) fn shown(path: &str) -> String {
    const MAX: usize = 200;
    if path.chars().count() <= MAX {
        escape(path)
    } else {
        format!("{}...", escape(&path.chars().take(MAX).collect::<String>()))
    }
}

fn unsafe_path(path: &str, reason: impl Into<String>) -> TreeError {
    TreeError::UnsafePath {
        path: shown(path),
        reason: reason.into(),
    }
}

/// Windows device names, reserved with any extension and in any case.
const RESERVED: [&str; 4] = ["con", "prn", "aux", "nul"];

fn is_reserved(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or(component);
    let stem = stem.trim_end_matches(' ').to_ascii_lowercase();
    if RESERVED.contains(&stem.as_str()) {
        return true;
    }
    let Some(digit) = stem
        .strip_prefix("com")
        .or_else(|| stem.strip_prefix("lpt"))
    else {
        return false;
    };
    matches!(
        digit,
        "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"
    )
}

/// Checks a tree path and returns it without its leading `./` (and, for a
/// directory, its trailing `/`); `None` for the root directory.
fn normalize(path: &str, kind: Kind) -> Result<Option<&str>, TreeError> {
    if path.starts_with('/') {
        return Err(unsafe_path(
            path,
            "is absolute; paths must be relative to the package root",
        ));
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(unsafe_path(path, "starts with a Windows drive letter"));
    }
    if path.contains('\\') {
        return Err(unsafe_path(
            path,
            "contains a backslash (a Windows path separator)",
        ));
    }
    if path.contains('\0') {
        return Err(unsafe_path(path, "contains a NUL byte"));
    }
    let mut rel = path.strip_prefix("./").unwrap_or(path);
    if kind == Kind::Dir {
        rel = rel.strip_suffix('/').unwrap_or(rel);
        if rel.is_empty() || rel == "." {
            return Ok(None);
        }
    } else if rel.is_empty() {
        return Ok(None);
    }
    let slashed = format!("/{rel}");
    let parts = check_syntax(&slashed).map_err(|reason| {
        // check_syntax names the path itself; keep only the reason.
        let prefix = format!("`{}` ", escape(&slashed));
        let reason = reason
            .strip_prefix(&prefix)
            .map(str::to_string)
            .unwrap_or(reason);
        unsafe_path(path, reason)
    })?;
    if let Some(part) = parts.iter().find(|p| is_reserved(p)) {
        return Err(unsafe_path(
            path,
            format!(
                "component `{}` is a reserved device name on Windows",
                escape(part)
            ),
        ));
    }
    Ok(Some(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> TreeWriter {
        TreeWriter::new(Limits::default()).unwrap()
    }

    fn add(tree: &mut TreeWriter, path: &str, data: &str) -> Result<u64, TreeError> {
        tree.add_file(path, &mut data.as_bytes())
    }

    #[test]
    fn writes_files_and_implicit_parents() {
        let mut tree = writer();
        assert_eq!(add(&mut tree, "./units/a/b.json", "{}").unwrap(), 2);
        tree.add_dir("units/").unwrap();
        tree.add_dir("./").unwrap();
        tree.add_dir("empty/").unwrap();
        assert_eq!(tree.total_bytes(), 2);
        let root = tree.root().to_path_buf();
        assert_eq!(
            std::fs::read_to_string(root.join("units/a/b.json")).unwrap(),
            "{}"
        );
        assert!(root.join("empty").is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode(&root.join("units/a/b.json")) & !0o644, 0);
            assert_eq!(mode(&root.join("units")) & !0o755, 0);
        }
        let dir = tree.finish();
        assert!(dir.path().join("units/a/b.json").is_file());
        drop(dir);
        assert!(!root.exists(), "dropping the TempDir removes the tree");
    }

    #[test]
    fn temp_dir_is_under_the_system_temp_dir() {
        let tree = writer();
        assert!(tree.root().starts_with(std::env::temp_dir()));
        let name = tree.root().file_name().unwrap().to_string_lossy();
        assert!(name.starts_with(".pkg-fetch-"), "{name}");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "../x",
            "a/../../x",
            "a/..",
            "..\\x",
            "C:\\x",
            "c:/x",
            "/etc/x",
            "//x",
            "a//b",
            "a/./b",
            "a\0b",
            "a\nb",
            "x\u{1b}[31m",
            "a:b",
            "",
            ".",
            "./",
            "x/",
        ] {
            let mut tree = writer();
            let err = add(&mut tree, bad, "x").unwrap_err();
            assert!(
                matches!(err, TreeError::UnsafePath { .. }),
                "{bad:?}: {err}"
            );
            assert_eq!(
                std::fs::read_dir(tree.root()).unwrap().count(),
                0,
                "{bad:?} created something"
            );
        }
        for bad in ["../x", "/etc", "a/../b/", "C:\\d"] {
            let err = writer().add_dir(bad).unwrap_err();
            assert!(
                matches!(err, TreeError::UnsafePath { .. }),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn messages_name_the_path_and_escape_it() {
        let err = add(&mut writer(), "a/../../x", "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`a/../../x`"), "{err}");
        assert!(err.contains("`..`"), "{err}");
        assert!(!err.contains("`/a/../../x`"), "{err}");
        let err = add(&mut writer(), "a\u{1b}[2Jb", "x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\u{1b}'), "{err}");
        let long = "a".repeat(5000);
        let err = add(&mut writer(), &long, "x").unwrap_err().to_string();
        assert!(err.len() < 600, "{err}");
    }

    #[test]
    fn windows_device_names_are_refused() {
        for bad in [
            "nul",
            "NUL.txt",
            "units/con.json",
            "Aux",
            "com1.tar.gz",
            "LPT9",
            "prn /x",
        ] {
            let err = add(&mut writer(), bad, "x").unwrap_err();
            assert!(err.to_string().contains("reserved"), "{bad:?}: {err}");
        }
        for good in ["nullable", "console.json", "com10", "auxiliary/x", "lpt"] {
            add(&mut writer(), good, "x").unwrap();
        }
    }

    #[test]
    fn case_fold_collisions_are_refused() {
        let mut tree = writer();
        add(&mut tree, "Units/a.json", "1").unwrap();
        let err = add(&mut tree, "units/a.json", "2").unwrap_err();
        assert!(matches!(err, TreeError::Collision { .. }), "{err}");
        // Directories collide too, whatever the file below them is called.
        let err = add(&mut tree, "units/b.json", "2").unwrap_err();
        assert!(matches!(err, TreeError::Collision { .. }), "{err}");
        let err = tree.add_dir("UNITS/").unwrap_err();
        assert!(matches!(err, TreeError::Collision { .. }), "{err}");
        assert!(err.to_string().contains("`Units`"), "{err}");
        assert!(!tree.root().join("units").exists());
    }

    #[test]
    fn unicode_normalisation_collisions_are_refused() {
        let mut tree = writer();
        add(&mut tree, "caf\u{e9}.json", "1").unwrap();
        let err = add(&mut tree, "cafe\u{301}.json", "2").unwrap_err();
        assert!(matches!(err, TreeError::Collision { .. }), "{err}");
        let err = add(&mut tree, "CAF\u{c9}.json", "2").unwrap_err();
        assert!(matches!(err, TreeError::Collision { .. }), "{err}");
    }

    #[test]
    fn duplicates_and_file_dir_conflicts_are_refused() {
        let mut tree = writer();
        add(&mut tree, "a/b", "1").unwrap();
        let err = add(&mut tree, "a/b", "2").unwrap_err();
        assert!(matches!(err, TreeError::Duplicate { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(tree.root().join("a/b")).unwrap(),
            "1"
        );
        // A file under a file.
        let err = add(&mut tree, "a/b/c", "3").unwrap_err();
        assert!(matches!(err, TreeError::FileAndDirectory { .. }), "{err}");
        // A directory over a file.
        let err = tree.add_dir("a/b/").unwrap_err();
        assert!(matches!(err, TreeError::FileAndDirectory { .. }), "{err}");
        // A file over a directory.
        let err = add(&mut tree, "a", "4").unwrap_err();
        assert!(matches!(err, TreeError::FileAndDirectory { .. }), "{err}");
        // The same directory twice is fine.
        tree.add_dir("a").unwrap();
        tree.add_dir("./a/").unwrap();
    }

    #[test]
    fn never_writes_through_something_it_did_not_create() {
        let mut tree = writer();
        tree.add_dir("d").unwrap();
        // Something swaps the directory for a symlink behind the writer's back.
        let outside = tempfile::tempdir().unwrap();
        std::fs::remove_dir(tree.root().join("d")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path(), tree.root().join("d")).unwrap();
        let err = add(&mut tree, "d/x", "x").unwrap_err();
        assert!(
            matches!(err, TreeError::UnsafePath { .. } | TreeError::Io { .. }),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        // A file the writer did not create is never opened.
        std::fs::write(tree.root().join("pre"), "old").unwrap();
        let err = add(&mut tree, "pre", "new").unwrap_err();
        assert!(matches!(err, TreeError::Exists { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(tree.root().join("pre")).unwrap(),
            "old"
        );
    }

    #[test]
    fn file_limit_is_enforced() {
        let limits = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        let mut tree = TreeWriter::new(limits).unwrap();
        assert_eq!(add(&mut tree, "ok", "0123456789").unwrap(), 10);
        let err = add(&mut tree, "big", "01234567890").unwrap_err();
        assert!(
            matches!(err, TreeError::FileTooLarge { limit: 10, .. }),
            "{err}"
        );
        assert!(tree.check_declared("x", 10).is_ok());
        assert!(matches!(
            tree.check_declared("x", 11),
            Err(TreeError::FileTooLarge { .. })
        ));
    }

    #[test]
    fn total_limit_is_enforced() {
        let limits = Limits {
            max_total_bytes: 15,
            ..Limits::default()
        };
        let mut tree = TreeWriter::new(limits).unwrap();
        add(&mut tree, "a", "0123456789").unwrap();
        assert!(matches!(
            tree.check_declared("b", 6),
            Err(TreeError::TotalTooLarge { .. })
        ));
        let err = add(&mut tree, "b", "012345").unwrap_err();
        assert!(
            matches!(err, TreeError::TotalTooLarge { limit: 15, .. }),
            "{err}"
        );
        // An endless source stops at the limit.
        let mut tree = TreeWriter::new(limits).unwrap();
        let err = tree.add_file("zeros", &mut std::io::repeat(0)).unwrap_err();
        assert!(matches!(err, TreeError::TotalTooLarge { .. }), "{err}");
    }

    #[test]
    fn entry_limit_counts_implicit_directories() {
        let limits = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let mut tree = TreeWriter::new(limits).unwrap();
        add(&mut tree, "a/b", "1").unwrap(); // a/ and a/b
        tree.add_dir("c").unwrap();
        let err = add(&mut tree, "d", "1").unwrap_err();
        assert!(
            matches!(err, TreeError::TooManyEntries { limit: 3 }),
            "{err}"
        );
        let mut tree = TreeWriter::new(limits).unwrap();
        let err = add(&mut tree, "a/b/c/d", "1").unwrap_err();
        assert!(matches!(err, TreeError::TooManyEntries { .. }), "{err}");
    }

    #[test]
    fn read_errors_are_reported_as_such() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("boom"))
            }
        }
        let err = writer().add_file("x", &mut Failing).unwrap_err();
        assert!(matches!(err, TreeError::Read { .. }), "{err}");
    }

    #[test]
    fn memory_trees_follow_the_same_rules() {
        let mut tree = TreeWriter::in_memory(Limits::default());
        tree.add_file("./pkg/units/a.json", &mut &b"{}"[..])
            .unwrap();
        tree.add_dir("pkg/empty/").unwrap();
        for bad in ["../x", "/etc/x", "a\\b", "a//b", "pkg/aux.json"] {
            let err = tree.add_file(bad, &mut &b"x"[..]).unwrap_err();
            assert!(
                matches!(err, TreeError::UnsafePath { .. }),
                "{bad:?}: {err}"
            );
        }
        let err = tree
            .add_file("PKG/units/A.json", &mut &b"x"[..])
            .unwrap_err();
        assert!(matches!(err, TreeError::Collision { .. }), "{err}");
        let err = tree
            .add_file("pkg/units/a.json", &mut &b"x"[..])
            .unwrap_err();
        assert!(matches!(err, TreeError::Duplicate { .. }), "{err}");
        let err = tree.add_file("pkg/units", &mut &b"x"[..]).unwrap_err();
        assert!(matches!(err, TreeError::FileAndDirectory { .. }), "{err}");
        let files = tree.finish();
        assert_eq!(files.len(), 1);
        assert_eq!(files.get("pkg/units/a.json"), Some(&b"{}"[..]));
        let sub = files.subtree("pkg");
        assert_eq!(sub.get("units/a.json"), Some(&b"{}"[..]));
        assert_eq!(sub.total_bytes(), 2);
    }

    #[test]
    fn memory_trees_stop_at_the_limits() {
        let limits = Limits {
            max_total_bytes: 10,
            max_entries: 100,
            max_file_bytes: 6,
        };
        let err = TreeWriter::in_memory(limits)
            .add_file("big", &mut &[0_u8; 7][..])
            .unwrap_err();
        assert!(matches!(err, TreeError::FileTooLarge { .. }), "{err}");
        let mut tree = TreeWriter::in_memory(limits);
        tree.add_file("a", &mut &[0_u8; 6][..]).unwrap();
        let err = tree.add_file("b", &mut &[0_u8; 6][..]).unwrap_err();
        assert!(matches!(err, TreeError::TotalTooLarge { .. }), "{err}");
        let files = tree.finish();
        assert_eq!(files.paths().collect::<Vec<_>>(), ["a"]);
    }
}
