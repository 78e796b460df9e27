//! Where a [`super::TreeWriter`] puts what it accepted: a fresh temporary
//! directory ([`DirStorage`]) or memory ([`MemoryStorage`], read back as a
//! [`MemoryTree`]). The writer checks every path and limit before it calls
//! a storage; the directory storage adds the checks only a disk needs
//! (never writing through anything it did not create).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{TreeError, shown, unsafe_path};

/// What a tree writer stores files and directories in. Paths are the
/// writer's checked, relative, `/`-separated paths, and a parent is always
/// made before what it holds.
pub trait TreeStorage {
    /// A file being written.
    type File: Write;
    /// Makes the directory `rel`.
    fn make_dir(&mut self, rel: &str) -> Result<(), TreeError>;
    /// Creates the file `rel`, which does not exist yet.
    fn create_file(&mut self, rel: &str) -> Result<Self::File, TreeError>;
    /// Keeps the finished file `rel`.
    fn close_file(&mut self, rel: &str, file: Self::File) -> Result<(), TreeError>;
    /// How `rel` is named in an I/O error.
    fn shown_path(&self, rel: &str) -> PathBuf;
}

/// A fresh temporary directory (prefix `.pkg-fetch-`); dropping it removes
/// everything.
#[derive(Debug)]
pub struct DirStorage {
    dir: tempfile::TempDir,
}

impl DirStorage {
    /// Creates the directory under `parent`.
    pub(super) fn new_in(parent: &Path) -> Result<DirStorage, TreeError> {
        let dir = tempfile::Builder::new()
            .prefix(".pkg-fetch-")
            .tempdir_in(parent)
            .map_err(|source| TreeError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        Ok(DirStorage { dir })
    }

    /// The directory.
    pub(super) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Hands the directory over.
    pub(super) fn into_dir(self) -> tempfile::TempDir {
        self.dir
    }

    fn full_path(&self, rel: &str) -> PathBuf {
        let mut full = self.dir.path().to_path_buf();
        full.extend(rel.split('/'));
        full
    }

    /// Refuses to write into anything but a real directory inside the root.
    fn check_plain_parent(&self, rel: &str, full: &Path) -> Result<(), TreeError> {
        let Some(dir) = full.parent() else {
            return Ok(());
        };
        if dir == self.dir.path() {
            return Ok(());
        }
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_dir() => Ok(()),
            Ok(_) => Err(unsafe_path(
                rel,
                "a parent on disk is not a plain directory",
            )),
            Err(source) => Err(TreeError::Io {
                path: dir.to_path_buf(),
                source,
            }),
        }
    }
}

impl TreeStorage for DirStorage {
    type File = std::fs::File;

    /// Creates one directory (mode 0755 under the umask) whose parent
    /// exists and is checked to be a plain directory.
    fn make_dir(&mut self, rel: &str) -> Result<(), TreeError> {
        let full = self.full_path(rel);
        self.check_plain_parent(rel, &full)?;
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o755);
        }
        builder
            .create(&full)
            .map_err(|source| exists_or_io(rel, full, source))
    }

    /// Creates a new file (mode 0644 under the umask), never opening
    /// anything that exists.
    fn create_file(&mut self, rel: &str) -> Result<std::fs::File, TreeError> {
        let full = self.full_path(rel);
        self.check_plain_parent(rel, &full)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o644);
        }
        options
            .open(&full)
            .map_err(|source| exists_or_io(rel, full, source))
    }

    fn close_file(&mut self, _rel: &str, _file: std::fs::File) -> Result<(), TreeError> {
        Ok(())
    }

    fn shown_path(&self, rel: &str) -> PathBuf {
        self.full_path(rel)
    }
}

fn exists_or_io(rel: &str, path: PathBuf, source: std::io::Error) -> TreeError {
    if source.kind() == std::io::ErrorKind::AlreadyExists {
        TreeError::Exists { path: shown(rel) }
    } else {
        TreeError::Io { path, source }
    }
}

/// Files kept in memory.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    tree: MemoryTree,
}

impl MemoryStorage {
    pub(super) fn into_tree(self) -> MemoryTree {
        self.tree
    }
}

impl TreeStorage for MemoryStorage {
    type File = Vec<u8>;

    fn make_dir(&mut self, rel: &str) -> Result<(), TreeError> {
        if !rel.contains('/') {
            self.tree.top_dirs.insert(rel.to_string());
        }
        Ok(())
    }

    fn create_file(&mut self, _rel: &str) -> Result<Vec<u8>, TreeError> {
        Ok(Vec::new())
    }

    fn close_file(&mut self, rel: &str, file: Vec<u8>) -> Result<(), TreeError> {
        self.tree.bytes += file.len() as u64;
        self.tree.files.insert(rel.to_string(), file);
        Ok(())
    }

    fn shown_path(&self, rel: &str) -> PathBuf {
        PathBuf::from(rel)
    }
}

/// The files of a tree written to memory, by relative `/`-separated path
/// (the writer's rules hold: no two paths fold to the same name).
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    files: HashMap<String, Vec<u8>>,
    /// The directories at the top level (empty ones too).
    top_dirs: HashSet<String>,
    bytes: u64,
}

impl MemoryTree {
    /// The file at relative path `rel` (`units/a.json`).
    pub fn get(&self, rel: &str) -> Option<&[u8]> {
        self.files.get(rel).map(Vec::as_slice)
    }

    /// Every file's relative path, in no particular order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there is no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The names at the top level: files and directories (empty ones too).
    pub fn top_level(&self) -> HashSet<&str> {
        let files = self.files.keys().filter(|p| !p.contains('/'));
        files
            .chain(self.top_dirs.iter())
            .map(String::as_str)
            .collect()
    }

    /// The bytes of every file together.
    pub fn total_bytes(&self) -> u64 {
        self.bytes
    }

    /// The tree below the directory `dir` (its paths without `dir/`); the
    /// rest is dropped.
    pub fn subtree(self, dir: &str) -> MemoryTree {
        let prefix = format!("{dir}/");
        let mut out = MemoryTree::default();
        for (path, bytes) in self.files {
            if let Some(rest) = path.strip_prefix(&prefix) {
                out.bytes += bytes.len() as u64;
                out.files.insert(rest.to_string(), bytes);
            }
        }
        out
    }

    /// Adds (or replaces) a file: for a tree pkg builds itself (an export),
    /// whose paths it has checked already.
    pub fn insert(&mut self, rel: String, bytes: Vec<u8>) {
        self.bytes += bytes.len() as u64;
        if let Some(old) = self.files.insert(rel, bytes) {
            self.bytes -= old.len() as u64;
        }
    }
}
