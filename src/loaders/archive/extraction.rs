//! Reading tar and zip entries one by one into the tree writer, refusing
//! every entry kind that is not a regular file or a directory.

use std::fmt;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use crate::safe_tree::{TreeError, TreeStorage, TreeWriter, shown};

use super::ArchiveFormat;
use super::budget::Counter;
use super::error::ArchiveError;

/// The largest PAX global header accepted (git writes a commit id in one).
pub(super) const MAX_GLOBAL_HEADER: u64 = 64 << 10;

/// One extraction in progress.
pub(super) struct Extraction<'a, S: TreeStorage> {
    pub(super) archive: &'a Path,
    pub(super) format: ArchiveFormat,
    pub(super) tree: TreeWriter<S>,
    pub(super) counter: Counter,
    /// The entry being read, for messages.
    pub(super) entry: Option<String>,
}

impl<S: TreeStorage> Extraction<'_, S> {
    pub(super) fn corrupt(&self, detail: impl fmt::Display) -> ArchiveError {
        if self.counter.exceeded.get() {
            return self.bomb();
        }
        ArchiveError::Corrupt {
            archive: self.archive.to_path_buf(),
            format: self.format,
            entry: self.entry.clone(),
            detail: detail.to_string(),
        }
    }

    pub(super) fn bomb(&self) -> ArchiveError {
        ArchiveError::Bomb {
            archive: self.archive.to_path_buf(),
            entry: self.entry.clone(),
            limit: self.counter.limit,
        }
    }

    pub(super) fn tree_error(&self, source: TreeError) -> ArchiveError {
        if self.counter.exceeded.get() {
            return self.bomb();
        }
        ArchiveError::Tree {
            archive: self.archive.to_path_buf(),
            source,
        }
    }

    pub(super) fn unsupported(&self, kind: impl Into<String>) -> ArchiveError {
        ArchiveError::UnsupportedEntry {
            archive: self.archive.to_path_buf(),
            entry: self.entry.clone().unwrap_or_default(),
            kind: kind.into(),
        }
    }

    /// Checks a declared file size against every limit before reading it.
    pub(super) fn check_declared(&self, name: &str, size: u64) -> Result<(), ArchiveError> {
        self.tree
            .check_declared(name, size)
            .map_err(|e| self.tree_error(e))?;
        if size > self.counter.remaining() {
            return Err(self.bomb());
        }
        Ok(())
    }

    /// Writes one file and checks it holds exactly its declared size.
    pub(super) fn write_file(
        &mut self,
        name: &str,
        declared: u64,
        reader: &mut dyn Read,
    ) -> Result<(), ArchiveError> {
        self.check_declared(name, declared)?;
        let mut limited = reader.take(declared.saturating_add(1));
        let written = self
            .tree
            .add_file(name, &mut limited)
            .map_err(|e| self.tree_error(e))?;
        if written > declared {
            return Err(self.bomb_for_size(declared));
        }
        if written < declared {
            return Err(self.corrupt(format!(
                "the entry is truncated: it declares {declared} bytes but holds {written}"
            )));
        }
        Ok(())
    }

    pub(super) fn bomb_for_size(&self, declared: u64) -> ArchiveError {
        ArchiveError::Bomb {
            archive: self.archive.to_path_buf(),
            entry: self.entry.clone(),
            limit: declared,
        }
    }

    pub(super) fn tar_gz(&mut self, file: impl Read) -> Result<(), ArchiveError> {
        let gz = flate2::bufread::GzDecoder::new(BufReader::new(file));
        let mut tar = tar::Archive::new(self.counter.wrap(gz));
        self.tar_entries(&mut tar)?;
        // Read the rest of the gzip stream so that its checksum and length
        // are verified, and refuse anything after it.
        let mut rest = tar.into_inner();
        std::io::copy(&mut rest, &mut std::io::sink())
            .map_err(|e| self.corrupt(format!("the gzip stream is damaged: {e}")))?;
        let mut after = rest.inner.into_inner();
        let mut byte = [0_u8; 1];
        match after.read(&mut byte) {
            Ok(0) => Ok(()),
            Ok(_) => Err(self.corrupt(
                "there is data after the end of the gzip stream (a second gzip member or trailing garbage)",
            )),
            Err(e) => Err(self.corrupt(e)),
        }
    }

    /// Reads every entry of `tar` into the tree.
    pub(super) fn tar_entries<R: Read>(
        &mut self,
        tar: &mut tar::Archive<R>,
    ) -> Result<(), ArchiveError> {
        {
            let entries = tar.entries().map_err(|e| self.corrupt(e))?;
            for entry in entries {
                let mut entry = entry.map_err(|e| self.corrupt(e))?;
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                self.entry = Some(shown(&name));
                if std::str::from_utf8(&entry.path_bytes()).is_err() {
                    return Err(self.tree_error(TreeError::UnsafePath {
                        path: shown(&name),
                        reason: "is not valid UTF-8".into(),
                    }));
                }
                let kind = entry.header().entry_type();
                if kind.is_pax_global_extensions() {
                    self.check_global_header(&mut entry)?;
                    continue;
                }
                self.check_pax(&mut entry)?;
                match kind {
                    tar::EntryType::Regular => {
                        let size = entry.size();
                        self.write_file(&name, size, &mut entry)?;
                    }
                    tar::EntryType::Directory => {
                        if entry.size() != 0 {
                            return Err(self.corrupt("a directory entry has content"));
                        }
                        self.tree.add_dir(&name).map_err(|e| self.tree_error(e))?;
                    }
                    other => return Err(self.unsupported(tar_kind(other))),
                }
            }
        }
        self.entry = None;
        Ok(())
    }

    /// Validates the PAX records that describe an entry: each must parse,
    /// `size` and `path` must be usable and given once, and `path` must be
    /// the name the entry gets (not overridden by a GNU long name). The tar
    /// crate would otherwise skip a bad record silently or pick another
    /// name than other tools, so the archive would mean different things to
    /// different readers. Other records (times, xattrs) are ignored.
    pub(super) fn check_pax<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), ArchiveError> {
        let size = entry.size();
        let name = entry.path_bytes().into_owned();
        let Some(records) = entry.pax_extensions().map_err(|e| self.corrupt(e))? else {
            return Ok(());
        };
        let mut seen: Vec<&str> = Vec::new();
        for record in records {
            let record = record.map_err(|e| self.corrupt(format!("malformed PAX record: {e}")))?;
            let Ok(key) = record.key() else {
                return Err(self.corrupt("a PAX record key is not valid UTF-8"));
            };
            if key.starts_with("GNU.sparse.") {
                return Err(self.unsupported("a sparse file"));
            }
            if !matches!(key, "path" | "size" | "linkpath") {
                continue;
            }
            if seen.contains(&key) {
                return Err(self.corrupt(format!("PAX record `{key}` appears twice")));
            }
            seen.push(key);
            let Ok(value) = record.value() else {
                return Err(self.corrupt(format!("PAX record `{key}` is not valid UTF-8")));
            };
            if key == "size" && value.parse::<u64>().ok() != Some(size) {
                return Err(self.corrupt(format!("PAX size `{}` is not valid", shown(value))));
            }
            if key == "path" && value.as_bytes() != name.as_slice() {
                return Err(self.corrupt(
                    "the entry has two different names (a PAX path and a GNU long name)",
                ));
            }
        }
        Ok(())
    }

    /// A PAX global header carries no file; it is accepted if small and
    /// well-formed and if it does not try to rename or resize entries
    /// (which other tools would honour and the tar crate ignores).
    pub(super) fn check_global_header<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), ArchiveError> {
        if entry.size() > MAX_GLOBAL_HEADER {
            return Err(self.corrupt(format!(
                "a PAX global header is larger than {MAX_GLOBAL_HEADER} bytes"
            )));
        }
        let Some(records) = entry.pax_extensions().map_err(|e| self.corrupt(e))? else {
            return Ok(());
        };
        for record in records {
            let record = record.map_err(|e| self.corrupt(format!("malformed PAX record: {e}")))?;
            let key = record
                .key()
                .map_err(|_| self.corrupt("a PAX record key is not valid UTF-8"))?;
            if matches!(key, "path" | "linkpath" | "size") || key.starts_with("GNU.sparse.") {
                return Err(self.corrupt(format!(
                    "a PAX global header sets `{}` for every entry",
                    shown(key)
                )));
            }
        }
        Ok(())
    }

    pub(super) fn zip(&mut self, file: impl Read + Seek) -> Result<(), ArchiveError> {
        let mut zip =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| self.corrupt(zip_detail(&e)))?;
        let limits = self.tree.limits();
        if zip.len() as u64 > limits.max_entries {
            return Err(self.tree_error(TreeError::TooManyEntries {
                limit: limits.max_entries,
            }));
        }
        for i in 0..zip.len() {
            let (name, encrypted, mode, size, is_dir) = {
                let raw = zip
                    .by_index_raw(i)
                    .map_err(|e| self.corrupt(zip_detail(&e)))?;
                (
                    raw.name().to_string(),
                    raw.encrypted(),
                    raw.unix_mode(),
                    raw.size(),
                    raw.is_dir(),
                )
            };
            self.entry = Some(shown(&name));
            if encrypted {
                return Err(ArchiveError::Encrypted {
                    archive: self.archive.to_path_buf(),
                    entry: shown(&name),
                });
            }
            match mode.map(|m| m & 0o170_000) {
                None | Some(0) | Some(0o100_000) => {}
                Some(0o040_000) if is_dir => {}
                Some(0o040_000) => {
                    return Err(self.corrupt(
                        "the entry is marked as a directory but its name does not end with `/`",
                    ));
                }
                Some(kind) => return Err(self.unsupported(unix_kind(kind))),
            }
            if is_dir {
                if size != 0 {
                    return Err(self.corrupt("a directory entry has content"));
                }
                self.tree.add_dir(&name).map_err(|e| self.tree_error(e))?;
                continue;
            }
            self.check_declared(&name, size)?;
            let counter = self.counter.clone();
            let entry = zip.by_index(i).map_err(|e| self.corrupt(zip_detail(&e)))?;
            let mut reader = counter.wrap(entry);
            self.write_file(&name, size, &mut reader)?;
        }
        Ok(())
    }
}

/// Describes a zip error without repeating "invalid Zip archive" noise.
pub(super) fn zip_detail(e: &zip::result::ZipError) -> String {
    match e {
        zip::result::ZipError::UnsupportedArchive(what) => {
            format!(
                "{what} (pkg reads zip entries that are stored or deflated, without encryption)"
            )
        }
        other => other.to_string(),
    }
}

/// What a tar entry type is, for messages.
pub(super) fn tar_kind(kind: tar::EntryType) -> String {
    match kind {
        tar::EntryType::Symlink => "a symlink".into(),
        tar::EntryType::Link => "a hard link".into(),
        tar::EntryType::Char => "a character device".into(),
        tar::EntryType::Block => "a block device".into(),
        tar::EntryType::Fifo => "a FIFO (named pipe)".into(),
        tar::EntryType::Continuous => "a contiguous file (tar type `7`)".into(),
        tar::EntryType::GNUSparse => "a GNU sparse file".into(),
        tar::EntryType::XHeader => "a stray PAX header".into(),
        tar::EntryType::GNULongName | tar::EntryType::GNULongLink => {
            "a stray GNU long-name header".into()
        }
        other => {
            let byte = other.as_byte();
            if byte.is_ascii_graphic() {
                format!("an entry of unknown type `{}`", byte as char)
            } else {
                format!("an entry of unknown type {byte:#04x}")
            }
        }
    }
}

/// What a unix file type (mode & 0o170000) is, for messages.
pub(super) fn unix_kind(kind: u32) -> String {
    match kind {
        0o120_000 => "a symlink".into(),
        0o010_000 => "a FIFO (named pipe)".into(),
        0o020_000 => "a character device".into(),
        0o060_000 => "a block device".into(),
        0o140_000 => "a socket".into(),
        other => format!("an entry of unknown file type {other:#o}"),
    }
}
