//! Extraction of package archives (`.tar.gz`/`.tgz` and `.zip`) into a
//! [`TreeWriter`], and finding the package root inside them. This module
//! owns the archive-level rules: only regular files and directories (every
//! link, device, FIFO, sparse or unknown entry is an error, never a silent
//! skip), no encrypted zip entries, strict header parsing (malformed or
//! truncated archives, damaged gzip streams and malformed PAX records are
//! errors), and a bound on the bytes decompressed
//! ([`decompression_limit`]) that counts what is actually inflated and
//! checks declared sizes before anything is written. Modes, owners and
//! times in the archive are ignored. An archive can also be unpacked into
//! memory ([`extract_to_memory`]) under the very same rules. The tree rules (paths, collisions,
//! limits) are [`TreeWriter`]'s.

use std::fmt;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use crate::manifest::MANIFEST_FILE;
use crate::safe_tree::{Limits, MemoryTree, TreeStorage, TreeWriter};

/// A supported archive format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveFormat {
    /// A gzip-compressed tar archive (`.tar.gz`, `.tgz`).
    TarGz,
    /// A zip archive (`.zip`), entries stored or deflated.
    Zip,
}

impl ArchiveFormat {
    /// The format a file name (or URL path) ends with, ignoring case.
    pub fn from_name(name: &str) -> Option<ArchiveFormat> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Some(ArchiveFormat::TarGz)
        } else if lower.ends_with(".zip") {
            Some(ArchiveFormat::Zip)
        } else {
            None
        }
    }

    /// The format the first bytes of a file show: the gzip magic number
    /// (assumed to hold a tar archive) or a zip local-file or
    /// end-of-central-directory signature.
    pub fn sniff(first_bytes: &[u8]) -> Option<ArchiveFormat> {
        if first_bytes.starts_with(&[0x1f, 0x8b]) {
            Some(ArchiveFormat::TarGz)
        } else if first_bytes.starts_with(b"PK\x03\x04") || first_bytes.starts_with(b"PK\x05\x06") {
            Some(ArchiveFormat::Zip)
        } else {
            None
        }
    }

    /// The usual file extension, without the leading dot (`tar.gz`, `zip`).
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::Zip => "zip",
        }
    }
}

impl fmt::Display for ArchiveFormat {
    /// The extension, as in messages ("not a valid tar.gz archive").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// An extracted archive.
#[derive(Debug)]
pub struct Extracted {
    /// The temporary directory holding everything extracted; dropping it
    /// removes the files.
    pub dir: tempfile::TempDir,
    /// The package root inside `dir` (the directory holding manifest.json).
    pub root: PathBuf,
}

mod budget;
mod error;
mod extraction;
mod inflate_thread;

use self::budget::Counter;
pub use self::error::ArchiveError;
use self::extraction::Extraction;

/// The decompression limit is at least this many bytes (as cargo's).
pub const MIN_DECOMPRESSION_LIMIT: u64 = 512 << 20;
/// ... or this many times the compressed size, whichever is larger.
pub const DECOMPRESSION_RATIO: u64 = 20;

/// How many bytes an archive of `compressed` bytes may inflate to:
/// `max(512 MiB, 20 × compressed)`, but never more than `max_total_bytes`.
/// For tar archives the count includes the tar headers.
pub fn decompression_limit(compressed: u64, max_total_bytes: u64) -> u64 {
    MIN_DECOMPRESSION_LIMIT
        .max(compressed.saturating_mul(DECOMPRESSION_RATIO))
        .min(max_total_bytes)
}

/// Extracts the archive `file` of `format` into a fresh temporary
/// directory under `limits` and finds the package root in it. On any error
/// the temporary directory is removed.
pub fn extract(
    file: &Path,
    format: ArchiveFormat,
    limits: Limits,
) -> Result<Extracted, ArchiveError> {
    extract_in(file, format, limits, &std::env::temp_dir())
}

/// [`extract`] into a temporary directory under `parent`.
pub fn extract_in(
    file: &Path,
    format: ArchiveFormat,
    limits: Limits,
    parent: &Path,
) -> Result<Extracted, ArchiveError> {
    let open_error = |source| ArchiveError::Open {
        archive: file.to_path_buf(),
        source,
    };
    let handle = crate::manifest::paths::open_file(file, false).map_err(open_error)?;
    let meta = handle.metadata().map_err(open_error)?;
    if !meta.is_file() {
        return Err(ArchiveError::NotAFile {
            archive: file.to_path_buf(),
        });
    }
    let tree = TreeWriter::new_in(parent, limits).map_err(|source| ArchiveError::Tree {
        archive: file.to_path_buf(),
        source,
    })?;
    extract_into(file, handle, meta.len(), format, tree)
}

/// Extracts the open archive `handle` (`compressed` bytes) into `tree`.
/// Every error drops `tree`, which removes its directory.
fn extract_into(
    file: &Path,
    handle: std::fs::File,
    compressed: u64,
    format: ArchiveFormat,
    tree: TreeWriter,
) -> Result<Extracted, ArchiveError> {
    let dir = unpack(file, handle, compressed, format, tree)?.finish();
    let root = find_root(dir.path()).ok_or_else(|| ArchiveError::NoManifest {
        archive: file.to_path_buf(),
    })?;
    Ok(Extracted { dir, root })
}

/// Extracts the archive `bytes` of `format` into memory under `limits`,
/// with every rule of [`extract`], and returns the files below the package
/// root. `label` names the archive in messages. A tar.gz is inflated on a
/// second thread while its entries are read.
pub fn extract_to_memory(
    bytes: &[u8],
    format: ArchiveFormat,
    limits: Limits,
    label: &Path,
) -> Result<MemoryTree, ArchiveError> {
    let tree = TreeWriter::in_memory(limits);
    let files = match format {
        ArchiveFormat::TarGz => {
            let limit = decompression_limit(bytes.len() as u64, limits.max_total_bytes);
            let mut x = Extraction {
                archive: label,
                format,
                tree,
                counter: Counter::new(limit),
                entry: None,
            };
            x.tar_gz_threaded(bytes)?;
            x.tree
        }
        ArchiveFormat::Zip => unpack(
            label,
            std::io::Cursor::new(bytes),
            bytes.len() as u64,
            format,
            tree,
        )?,
    }
    .finish();
    if files.get(MANIFEST_FILE).is_some() {
        return Ok(files);
    }
    let top: Vec<String> = files.top_level().into_iter().map(str::to_string).collect();
    match top.as_slice() {
        [only] if files.get(&format!("{only}/{MANIFEST_FILE}")).is_some() => {
            Ok(files.subtree(only))
        }
        _ => Err(ArchiveError::NoManifest {
            archive: label.to_path_buf(),
        }),
    }
}

/// Reads every entry of the archive `reader` (`compressed` bytes) into
/// `tree` under the archive rules and the decompression limit.
fn unpack<S: TreeStorage>(
    archive: &Path,
    reader: impl Read + Seek,
    compressed: u64,
    format: ArchiveFormat,
    tree: TreeWriter<S>,
) -> Result<TreeWriter<S>, ArchiveError> {
    let limit = decompression_limit(compressed, tree.limits().max_total_bytes);
    let mut x = Extraction {
        archive,
        format,
        tree,
        counter: Counter::new(limit),
        entry: None,
    };
    match format {
        ArchiveFormat::TarGz => x.tar_gz(reader)?,
        ArchiveFormat::Zip => x.zip(reader)?,
    }
    Ok(x.tree)
}

/// The package root: the top level if it holds manifest.json, else its
/// only entry if that is a directory holding manifest.json.
fn find_root(top: &Path) -> Option<PathBuf> {
    let is_manifest = |dir: &Path| {
        std::fs::symlink_metadata(dir.join(MANIFEST_FILE)).is_ok_and(|m| m.file_type().is_file())
    };
    if is_manifest(top) {
        return Some(top.to_path_buf());
    }
    let mut entries = std::fs::read_dir(top).ok()?;
    let only = entries.next()?.ok()?;
    if entries.next().is_some() {
        return None;
    }
    let path = only.path();
    let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_dir());
    (is_dir && is_manifest(&path)).then_some(path)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::safe_tree::TreeError;

    /// A tar header for `name` written byte for byte (so that names the
    /// tar crate refuses to set can be tested).
    fn raw_header(name: &[u8], kind: tar::EntryType, size: u64, link: &[u8]) -> tar::Header {
        let mut header = tar::Header::new_ustar();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        header
    }

    /// Entries: (name, type, content, link target).
    type TarEntry<'a> = (&'a str, tar::EntryType, &'a [u8], &'a str);

    fn tar_bytes(entries: &[TarEntry<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, data, link) in entries {
            let header = raw_header(name.as_bytes(), *kind, data.len() as u64, link.as_bytes());
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    struct Archive {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    fn archive_file(name: &str, bytes: &[u8]) -> Archive {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        Archive { _dir: dir, path }
    }

    fn tgz(entries: &[TarEntry<'_>]) -> Archive {
        archive_file("p.tar.gz", &gzip(&tar_bytes(entries)))
    }

    const FILE: tar::EntryType = tar::EntryType::Regular;
    const DIR: tar::EntryType = tar::EntryType::Directory;
    const MANIFEST: TarEntry<'static> = ("manifest.json", FILE, b"{}", "");

    fn extract_tgz(entries: &[TarEntry<'_>]) -> Result<Extracted, ArchiveError> {
        let archive = tgz(entries);
        extract(&archive.path, ArchiveFormat::TarGz, Limits::default())
    }

    fn zip_bytes(build: impl FnOnce(&mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>)) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        build(&mut writer);
        writer.finish().unwrap().into_inner()
    }

    fn zip_options() -> zip::write::SimpleFileOptions {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
    }

    fn extract_zip(bytes: &[u8], limits: Limits) -> Result<Extracted, ArchiveError> {
        let archive = archive_file("p.zip", bytes);
        extract(&archive.path, ArchiveFormat::Zip, limits)
    }

    /// Every `.pkg-fetch-` directory in the temp dir, to check nothing is left.
    fn fetch_dirs() -> Vec<PathBuf> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".pkg-fetch-"))
            .map(|e| e.path())
            .collect()
    }

    /// Whether any symlink exists under any extraction directory.
    fn no_symlink_anywhere() -> bool {
        fetch_dirs().iter().all(|d| {
            walkdir::WalkDir::new(d)
                .into_iter()
                .filter_map(Result::ok)
                .all(|e| !e.path_is_symlink())
        })
    }

    #[test]
    fn formats_from_names_and_bytes() {
        assert_eq!(
            ArchiveFormat::from_name("x.TAR.GZ"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(
            ArchiveFormat::from_name("x.tgz"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(
            ArchiveFormat::from_name("/a/x.zip"),
            Some(ArchiveFormat::Zip)
        );
        assert_eq!(ArchiveFormat::from_name("x.tar"), None);
        assert_eq!(
            ArchiveFormat::sniff(&gzip(b"x")),
            Some(ArchiveFormat::TarGz)
        );
        let zip = zip_bytes(|_| {});
        assert_eq!(ArchiveFormat::sniff(&zip), Some(ArchiveFormat::Zip));
        assert_eq!(ArchiveFormat::sniff(b"{\"spaces\""), None);
        assert_eq!(ArchiveFormat::sniff(b""), None);
        assert_eq!(ArchiveFormat::TarGz.extension(), "tar.gz");
        assert_eq!(ArchiveFormat::Zip.extension(), "zip");
    }

    #[test]
    fn decompression_limit_follows_cargo_and_the_total() {
        let gib = 1 << 30;
        assert_eq!(decompression_limit(1000, 2 * gib), 512 << 20);
        assert_eq!(decompression_limit(100 << 20, 4 * gib), 2000 << 20);
        assert_eq!(decompression_limit(100 << 20, gib), gib);
        assert_eq!(decompression_limit(u64::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn manifest_at_the_top_is_the_root() {
        let x = extract_tgz(&[
            ("./", DIR, b"", ""),
            ("./manifest.json", FILE, b"{}", ""),
            ("./units/", DIR, b"", ""),
            ("./units/a.json", FILE, b"{\"Slug\":\"a\"}", ""),
        ])
        .unwrap();
        assert_eq!(x.root, x.dir.path());
        assert_eq!(
            std::fs::read_to_string(x.root.join("units/a.json")).unwrap(),
            "{\"Slug\":\"a\"}"
        );
    }

    #[test]
    fn a_single_top_level_directory_is_the_root() {
        let x = extract_tgz(&[
            ("repo-abc123/", DIR, b"", ""),
            ("repo-abc123/manifest.json", FILE, b"{}", ""),
            ("repo-abc123/units/a.json", FILE, b"{}", ""),
        ])
        .unwrap();
        assert_eq!(x.root, x.dir.path().join("repo-abc123"));
        let bytes = zip_bytes(|w| {
            w.add_directory("repo-abc123/", zip_options()).unwrap();
            w.start_file("repo-abc123/manifest.json", zip_options())
                .unwrap();
            w.write_all(b"{}").unwrap();
        });
        let x = extract_zip(&bytes, Limits::default()).unwrap();
        assert_eq!(x.root, x.dir.path().join("repo-abc123"));
    }

    /// Extracts `archive` into a writer whose directory is returned too, so
    /// that a test can check it is gone after a failure.
    fn extract_watched(
        archive: &Archive,
        format: ArchiveFormat,
        limits: Limits,
    ) -> (Result<Extracted, ArchiveError>, PathBuf) {
        let tree = TreeWriter::new(limits).unwrap();
        let dir = tree.root().to_path_buf();
        let handle = std::fs::File::open(&archive.path).unwrap();
        let len = handle.metadata().unwrap().len();
        (extract_into(&archive.path, handle, len, format, tree), dir)
    }

    #[test]
    fn no_manifest_is_an_error() {
        for entries in [
            &[
                ("a/manifest.json", FILE, &b"{}"[..], ""),
                ("b/x", FILE, b"", ""),
            ][..],
            &[("a/b/manifest.json", FILE, b"{}", "")],
            &[("readme", FILE, b"", "")],
            &[("manifest.json/", DIR, b"", "")],
        ] {
            let (result, dir) =
                extract_watched(&tgz(entries), ArchiveFormat::TarGz, Limits::default());
            let err = result.unwrap_err();
            assert!(matches!(err, ArchiveError::NoManifest { .. }), "{err}");
            assert!(err.to_string().contains("p.tar.gz"), "{err}");
            assert!(!dir.exists());
        }
    }

    #[test]
    fn failures_remove_the_extraction_directory() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().to_string_lossy().into_owned();
        let cases: Vec<Vec<TarEntry<'_>>> = vec![
            vec![
                MANIFEST,
                ("units/a.json", FILE, b"{}", ""),
                ("../x", FILE, b"e", ""),
            ],
            vec![
                MANIFEST,
                ("up", tar::EntryType::Symlink, b"", &target),
                ("up/x", FILE, b"e", ""),
            ],
            vec![MANIFEST, ("a", FILE, b"1", ""), ("A", FILE, b"2", "")],
        ];
        for entries in cases {
            let (result, dir) =
                extract_watched(&tgz(&entries), ArchiveFormat::TarGz, Limits::default());
            assert!(result.is_err(), "{entries:?}");
            assert!(!dir.exists(), "{entries:?} left {}", dir.display());
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    /// Extracts `bytes` into memory.
    fn in_memory(bytes: &[u8], format: ArchiveFormat) -> Result<MemoryTree, ArchiveError> {
        extract_to_memory(bytes, format, Limits::default(), Path::new("upload"))
    }

    #[test]
    fn memory_extraction_finds_the_root_and_keeps_every_rule() {
        let nested = gzip(&tar_bytes(&[
            ("repo-abc123/", DIR, b"", ""),
            ("repo-abc123/manifest.json", FILE, b"{}", ""),
            ("repo-abc123/units/a.json", FILE, b"[1]", ""),
        ]));
        let files = in_memory(&nested, ArchiveFormat::TarGz).unwrap();
        assert_eq!(files.get("manifest.json"), Some(&b"{}"[..]));
        assert_eq!(files.get("units/a.json"), Some(&b"[1]"[..]));
        assert_eq!(files.len(), 2);
        let zip = zip_bytes(|w| {
            w.start_file("manifest.json", zip_options()).unwrap();
            w.write_all(b"{}").unwrap();
        });
        assert_eq!(in_memory(&zip, ArchiveFormat::Zip).unwrap().len(), 1);

        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().to_string_lossy().into_owned();
        let hostile: Vec<Vec<TarEntry<'_>>> = vec![
            vec![MANIFEST, ("../x", FILE, b"e", "")],
            vec![MANIFEST, ("up", tar::EntryType::Symlink, b"", &target)],
            vec![MANIFEST, ("h", tar::EntryType::Link, b"", "manifest.json")],
            vec![MANIFEST, ("a", FILE, b"1", ""), ("A", FILE, b"2", "")],
            vec![MANIFEST, ("MANIFEST.JSON", FILE, b"{}", "")],
            vec![("a/manifest.json", FILE, b"{}", ""), ("b/", DIR, b"", "")],
            vec![("readme", FILE, b"", "")],
        ];
        for entries in hostile {
            let archive = tgz(&entries);
            let disk = extract_watched(&archive, ArchiveFormat::TarGz, Limits::default())
                .0
                .unwrap_err()
                .to_string()
                .replace(&archive.path.display().to_string(), "ARCHIVE");
            let memory = in_memory(&std::fs::read(&archive.path).unwrap(), ArchiveFormat::TarGz)
                .unwrap_err()
                .to_string()
                .replace("upload", "ARCHIVE");
            assert_eq!(memory, disk, "{entries:?}");
        }
        // Damaged streams: the same refusal, in the same words, from the
        // threaded inflate as from the file reader.
        let full = gzip(&tar_bytes(&[
            MANIFEST,
            ("units/a.json", FILE, &[b'x'; 600_000], ""),
        ]));
        let mut trailing = full.clone();
        trailing.extend_from_slice(&gzip(b"more"));
        let mut cut_tar = tar_bytes(&[MANIFEST, ("a", FILE, &[b'x'; 5000], "")]);
        cut_tar.truncate(512 * 3);
        let mut bad_sum = tar_bytes(&[MANIFEST]);
        bad_sum[0] ^= 1;
        let mut bad_crc = full.clone();
        let at = bad_crc.len() - 6;
        bad_crc[at] ^= 1;
        let cases = [
            full[..10].to_vec(),
            full[..full.len() / 2].to_vec(),
            full[..full.len() - 4].to_vec(),
            trailing,
            gzip(&cut_tar),
            gzip(&bad_sum),
            bad_crc,
        ];
        for (i, bytes) in cases.iter().enumerate() {
            let archive = archive_file("p.tgz", bytes);
            let disk = extract(&archive.path, ArchiveFormat::TarGz, Limits::default())
                .unwrap_err()
                .to_string()
                .replace(&archive.path.display().to_string(), "ARCHIVE");
            let memory = in_memory(bytes, ArchiveFormat::TarGz)
                .unwrap_err()
                .to_string()
                .replace("upload", "ARCHIVE");
            assert_eq!(memory, disk, "case {i}");
        }
        let mut damaged = nested.clone();
        damaged.truncate(nested.len() / 2);
        let err = in_memory(&damaged, ArchiveFormat::TarGz).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
        let limits = Limits {
            max_total_bytes: 2,
            ..Limits::default()
        };
        let err =
            extract_to_memory(&nested, ArchiveFormat::TarGz, limits, Path::new("u")).unwrap_err();
        assert!(err.to_string().contains("more than 2 bytes"), "{err}");
    }

    #[test]
    fn traversal_names_are_errors() {
        for name in [
            "../x",
            "a/../../x",
            "..\\x",
            "C:\\x",
            "/etc/x",
            "a/./b",
            "a\nb",
        ] {
            let err = extract_tgz(&[MANIFEST, (name, FILE, b"evil", "")]).unwrap_err();
            assert!(
                matches!(
                    err,
                    ArchiveError::Tree {
                        source: TreeError::UnsafePath { .. },
                        ..
                    }
                ),
                "{name:?}: {err}"
            );
        }
        let err = extract_tgz(&[MANIFEST, ("/etc/x", FILE, b"evil", "")]).unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            chain.contains("p.tar.gz") && chain.contains("`/etc/x`"),
            "{chain}"
        );
        assert!(chain.contains("absolute"), "{chain}");
    }

    #[test]
    fn links_are_errors_and_leave_no_symlink() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().to_string_lossy().into_owned();
        let cases: Vec<Vec<TarEntry<'_>>> = vec![
            vec![
                MANIFEST,
                ("up", tar::EntryType::Symlink, b"", &target),
                ("up/x", FILE, b"evil", ""),
            ],
            vec![
                MANIFEST,
                ("up", tar::EntryType::Symlink, b"", "../.."),
                ("up/x", FILE, b"e", ""),
            ],
            vec![
                ("manifest.json", tar::EntryType::Symlink, b"", "/etc/passwd"),
                MANIFEST,
            ],
            vec![
                MANIFEST,
                ("d", DIR, b"", ""),
                ("d", tar::EntryType::Symlink, b"", &target),
                ("d/x", FILE, b"evil", ""),
            ],
            vec![MANIFEST, ("h", tar::EntryType::Link, b"", "/etc/passwd")],
            vec![MANIFEST, ("h", tar::EntryType::Link, b"", "manifest.json")],
        ];
        for entries in cases {
            let err = extract_tgz(&entries).unwrap_err();
            assert!(
                matches!(err, ArchiveError::UnsupportedEntry { .. }),
                "{entries:?}: {err}"
            );
            let message = err.to_string();
            assert!(message.contains("link"), "{message}");
            assert!(message.contains("p.tar.gz"), "{message}");
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(no_symlink_anywhere());
    }

    #[test]
    fn devices_fifos_and_unknown_types_are_errors() {
        for (kind, word) in [
            (tar::EntryType::Fifo, "FIFO"),
            (tar::EntryType::Char, "character device"),
            (tar::EntryType::Block, "block device"),
            (tar::EntryType::Continuous, "contiguous"),
            (tar::EntryType::new(b'Z'), "unknown type `Z`"),
        ] {
            let err = extract_tgz(&[MANIFEST, ("dev", kind, b"", "")]).unwrap_err();
            assert!(err.to_string().contains(word), "{err}");
            assert!(err.to_string().contains("`dev`"), "{err}");
        }
    }

    #[test]
    fn gnu_sparse_entries_are_errors() {
        let mut header = tar::Header::new_gnu();
        header.set_path("sparse").unwrap();
        header.set_entry_type(tar::EntryType::GNUSparse);
        header.set_size(0);
        if let Some(gnu) = header.as_gnu_mut() {
            gnu.set_real_size(0);
        }
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append(&raw_header(b"manifest.json", FILE, 2, b""), &b"{}"[..])
            .unwrap();
        builder.append(&header, std::io::empty()).unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("sparse"), "{err}");
    }

    #[test]
    fn collisions_are_errors() {
        let err = extract_tgz(&[
            MANIFEST,
            ("Units/a.json", FILE, b"1", ""),
            ("units/a.json", FILE, b"2", ""),
        ])
        .unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Tree {
                    source: TreeError::Collision { .. },
                    ..
                }
            ),
            "{err}"
        );
        let err = extract_tgz(&[
            MANIFEST,
            ("caf\u{e9}.json", FILE, b"1", ""),
            ("cafe\u{301}.json", FILE, b"2", ""),
        ])
        .unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Tree {
                    source: TreeError::Collision { .. },
                    ..
                }
            ),
            "{err}"
        );
        let err =
            extract_tgz(&[MANIFEST, ("x", FILE, b"1", ""), ("x", FILE, b"2", "")]).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Tree {
                    source: TreeError::Duplicate { .. },
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn long_names_are_supported() {
        let long = format!("units/{}/a.json", "d".repeat(150));
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "manifest.json", &b"{}"[..])
            .unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        builder.append_data(&mut header, &long, &b"x"[..]).unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        let x = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap();
        assert_eq!(std::fs::read(x.root.join(&long)).unwrap(), b"x");
    }

    /// Appends a PAX `x` header holding `records` before the next entry.
    fn pax_header(builder: &mut tar::Builder<Vec<u8>>, records: &[u8]) {
        let header = raw_header(
            b"PaxHeader",
            tar::EntryType::XHeader,
            records.len() as u64,
            b"",
        );
        builder.append(&header, records).unwrap();
    }

    #[test]
    fn pax_path_is_used_and_malformed_records_are_errors() {
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append(&raw_header(b"manifest.json", FILE, 2, b""), &b"{}"[..])
            .unwrap();
        pax_header(&mut builder, b"17 path=real.txt\n");
        builder
            .append(&raw_header(b"decoy", FILE, 1, b""), &b"x"[..])
            .unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        let x = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap();
        assert!(x.root.join("real.txt").is_file());
        assert!(!x.root.join("decoy").exists());

        for records in [&b"99 path=real.txt\n"[..], b"garbage", b"12 size=abc\n"] {
            let mut builder = tar::Builder::new(Vec::new());
            builder
                .append(&raw_header(b"manifest.json", FILE, 2, b""), &b"{}"[..])
                .unwrap();
            pax_header(&mut builder, records);
            builder
                .append(&raw_header(b"decoy", FILE, 1, b""), &b"x"[..])
                .unwrap();
            let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
            let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
            assert!(
                matches!(err, ArchiveError::Corrupt { .. }),
                "{records:?}: {err}"
            );
        }
    }

    #[test]
    fn ambiguous_names_are_errors() {
        // Two PAX paths: tools disagree on which wins.
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append(&raw_header(b"manifest.json", FILE, 2, b""), &b"{}"[..])
            .unwrap();
        pax_header(&mut builder, b"12 path=one\n12 path=two\n");
        builder
            .append(&raw_header(b"decoy", FILE, 1, b""), &b"x"[..])
            .unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");

        // A GNU long name and a PAX path that disagree.
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append(&raw_header(b"manifest.json", FILE, 2, b""), &b"{}"[..])
            .unwrap();
        let long = b"gnu-name\0";
        let header = raw_header(
            b"././@LongLink",
            tar::EntryType::GNULongName,
            long.len() as u64,
            b"",
        );
        builder.append(&header, &long[..]).unwrap();
        pax_header(&mut builder, b"17 path=pax-name\n");
        builder
            .append(&raw_header(b"decoy", FILE, 1, b""), &b"x"[..])
            .unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("two different names"), "{err}");

        // Records pkg does not use may hold anything (macOS xattrs are binary).
        let mut builder = tar::Builder::new(Vec::new());
        pax_header(&mut builder, b"22 SCHILY.xattr.x=\xff\xfe\x00\n");
        builder
            .append(&raw_header(b"manifest.json", FILE, 2, b""), &b"{}"[..])
            .unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap();
    }

    #[test]
    fn tar_modes_and_owners_are_ignored() {
        let mut header = raw_header(b"manifest.json", FILE, 2, b"");
        header.set_mode(0o7777);
        header.set_uid(0);
        header.set_cksum();
        let mut dir = raw_header(b"d/", DIR, 0, b"");
        dir.set_mode(0o7777);
        dir.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&header, &b"{}"[..]).unwrap();
        builder.append(&dir, std::io::empty()).unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        let x = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode(&x.root.join("manifest.json")) & !0o644, 0);
            assert_eq!(mode(&x.root.join("d")) & !0o755, 0);
        }
    }

    #[test]
    fn pax_global_headers_are_accepted_unless_they_rename() {
        // git archive writes a global header with the commit id.
        let comment = b"52 comment=0123456789abcdef0123456789abcdef01234567\n";
        let mut builder = tar::Builder::new(Vec::new());
        let global = raw_header(
            b"pax_global_header",
            tar::EntryType::XGlobalHeader,
            comment.len() as u64,
            b"",
        );
        builder.append(&global, &comment[..]).unwrap();
        builder
            .append(&raw_header(b"manifest.json", FILE, 2, b""), &b"{}"[..])
            .unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        let x = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap();
        assert!(!x.root.join("pax_global_header").exists());

        let rename = b"17 path=evil.txt\n";
        let mut builder = tar::Builder::new(Vec::new());
        let global = raw_header(
            b"pax_global_header",
            tar::EntryType::XGlobalHeader,
            rename.len() as u64,
            b"",
        );
        builder.append(&global, &rename[..]).unwrap();
        builder
            .append(&raw_header(b"manifest.json", FILE, 2, b""), &b"{}"[..])
            .unwrap();
        let archive = archive_file("p.tgz", &gzip(&builder.into_inner().unwrap()));
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn a_huge_declared_size_fails_before_writing() {
        // One entry that claims 10 GiB; only its header is in the archive.
        let header = raw_header(b"big", FILE, 10 << 30, b"");
        let mut tar = tar_bytes(&[MANIFEST]);
        tar.truncate(tar.len() - 1024); // drop the end-of-archive blocks
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(&[0; 4096]);
        let archive = archive_file("bomb.tgz", &gzip(&tar));
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Tree {
                    source: TreeError::FileTooLarge { .. },
                    ..
                } | ArchiveError::Bomb { .. }
            ),
            "{err}"
        );
        // With a file limit above the size, the decompression limit stops it.
        let limits = Limits {
            max_file_bytes: u64::MAX,
            max_total_bytes: u64::MAX,
            ..Limits::default()
        };
        let err = extract(&archive.path, ArchiveFormat::TarGz, limits).unwrap_err();
        assert!(matches!(err, ArchiveError::Bomb { .. }), "{err}");
        assert!(err.to_string().contains("bomb.tgz"), "{err}");
    }

    #[test]
    fn decompressed_bytes_are_counted_not_declared() {
        // Many small entries of zeros: each is within the limits, the sum is not.
        let zeros = vec![0_u8; 64 << 10];
        let names: Vec<String> = (0..40).map(|i| format!("z{i}")).collect();
        let mut entries = vec![MANIFEST];
        entries.extend(names.iter().map(|n| (n.as_str(), FILE, &zeros[..], "")));
        let archive = tgz(&entries);
        let limits = Limits {
            max_total_bytes: 1 << 20,
            ..Limits::default()
        };
        let err = extract(&archive.path, ArchiveFormat::TarGz, limits).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Bomb { .. }
                    | ArchiveError::Tree {
                        source: TreeError::TotalTooLarge { .. },
                        ..
                    }
            ),
            "{err}"
        );
        // Trailing zeros after the tar end count too.
        let mut tar = tar_bytes(&[MANIFEST]);
        tar.extend(std::iter::repeat_n(0, 2 << 20));
        let archive = archive_file("p.tgz", &gzip(&tar));
        let err = extract(&archive.path, ArchiveFormat::TarGz, limits).unwrap_err();
        assert!(matches!(err, ArchiveError::Bomb { .. }), "{err}");
    }

    #[test]
    fn too_many_entries_is_an_error() {
        let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        let mut entries = vec![MANIFEST];
        entries.extend(names.iter().map(|n| (n.as_str(), FILE, &b""[..], "")));
        let archive = tgz(&entries);
        let limits = Limits {
            max_entries: 10,
            ..Limits::default()
        };
        let err = extract(&archive.path, ArchiveFormat::TarGz, limits).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Tree {
                    source: TreeError::TooManyEntries { .. },
                    ..
                }
            ),
            "{err}"
        );
        let bytes = zip_bytes(|w| {
            for n in &names {
                w.start_file(n.as_str(), zip_options()).unwrap();
            }
        });
        let err = extract_zip(&bytes, limits).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Tree {
                    source: TreeError::TooManyEntries { .. },
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn truncated_and_damaged_archives_are_errors() {
        let full = gzip(&tar_bytes(&[
            MANIFEST,
            ("units/a.json", FILE, &[b'x'; 5000], ""),
        ]));
        for cut in [10, full.len() / 2, full.len() - 4] {
            let archive = archive_file("p.tgz", &full[..cut]);
            let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
            assert!(
                matches!(err, ArchiveError::Corrupt { .. }),
                "cut {cut}: {err}"
            );
        }
        // A tar cut inside an entry's data, gzip intact.
        let mut tar = tar_bytes(&[MANIFEST, ("a", FILE, &[b'x'; 5000], "")]);
        tar.truncate(512 * 3);
        let archive = archive_file("p.tgz", &gzip(&tar));
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
        // A bad header checksum.
        let mut tar = tar_bytes(&[MANIFEST]);
        tar[0] ^= 1;
        let archive = archive_file("p.tgz", &gzip(&tar));
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
        // Data after the gzip stream.
        let mut bytes = full.clone();
        bytes.extend_from_slice(&gzip(b"more"));
        let archive = archive_file("p.tgz", &bytes);
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("after the end"), "{err}");
        // A truncated zip.
        let zip = zip_bytes(|w| {
            w.start_file("manifest.json", zip_options()).unwrap();
            w.write_all(b"{}").unwrap();
        });
        let err = extract_zip(&zip[..zip.len() - 10], Limits::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn not_an_archive_is_an_error() {
        let text = b"<html>not found</html>";
        let archive = archive_file("p.tgz", text);
        let err = extract(&archive.path, ArchiveFormat::TarGz, Limits::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("tar.gz"), "{err}");
        let err = extract_zip(text, Limits::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
        let err = extract(
            Path::new("/nonexistent/x.zip"),
            ArchiveFormat::Zip,
            Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ArchiveError::Open { .. }), "{err}");
    }

    #[test]
    fn zip_entries_are_extracted_and_modes_ignored() {
        let mut bytes = zip_bytes(|w| {
            w.start_file("manifest.json", zip_options()).unwrap();
            w.write_all(b"{}").unwrap();
            w.start_file("units/a.json", zip_options()).unwrap();
            w.write_all(b"{\"Slug\":\"a\"}").unwrap();
        });
        // setuid, setgid, sticky, world-writable: all ignored.
        patch_zip_mode(&mut bytes, 0o107_777);
        let x = extract_zip(&bytes, Limits::default()).unwrap();
        assert_eq!(x.root, x.dir.path());
        assert_eq!(
            std::fs::read(x.root.join("units/a.json")).unwrap(),
            b"{\"Slug\":\"a\"}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(x.root.join("manifest.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o7133, 0, "{mode:o}");
        }
    }

    #[test]
    fn zip_symlinks_and_special_files_are_errors() {
        let bytes = zip_bytes(|w| {
            w.start_file("manifest.json", zip_options()).unwrap();
            w.write_all(b"{}").unwrap();
            w.add_symlink("units", "/etc", zip_options()).unwrap();
        });
        let err = extract_zip(&bytes, Limits::default()).unwrap_err();
        assert!(
            matches!(err, ArchiveError::UnsupportedEntry { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(no_symlink_anywhere());

        for (mode, word) in [
            (0o010_644, "FIFO"),
            (0o020_644, "character device"),
            (0o060_644, "block device"),
            (0o140_644, "socket"),
        ] {
            let mut bytes = zip_bytes(|w| {
                w.start_file("special", zip_options()).unwrap();
            });
            patch_zip_mode(&mut bytes, mode);
            let err = extract_zip(&bytes, Limits::default()).unwrap_err();
            assert!(err.to_string().contains(word), "{err}");
            assert!(err.to_string().contains("`special`"), "{err}");
        }
    }

    #[test]
    fn zip_traversal_and_collisions_are_errors() {
        for name in ["../x", "/etc/x", "a/../../x", "C:/x"] {
            let bytes = zip_bytes(|w| {
                w.start_file(name, zip_options()).unwrap();
            });
            let err = extract_zip(&bytes, Limits::default()).unwrap_err();
            assert!(
                matches!(
                    err,
                    ArchiveError::Tree {
                        source: TreeError::UnsafePath { .. },
                        ..
                    }
                ),
                "{name}: {err}"
            );
        }
        let bytes = zip_bytes(|w| {
            w.start_file("Units/a.json", zip_options()).unwrap();
            w.start_file("units/a.json", zip_options()).unwrap();
        });
        let err = extract_zip(&bytes, Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Tree {
                    source: TreeError::Collision { .. },
                    ..
                }
            ),
            "{err}"
        );
    }

    /// Sets the unix mode (external attributes, made on unix) of every
    /// central directory entry of a small zip.
    fn patch_zip_mode(bytes: &mut [u8], mode: u32) {
        let mut i = 0;
        while i + 4 <= bytes.len() {
            if &bytes[i..i + 4] == b"PK\x01\x02" {
                bytes[i + 5] = 3;
                bytes[i + 38..i + 42].copy_from_slice(&(mode << 16).to_le_bytes());
            }
            i += 1;
        }
    }

    /// Patches the uncompressed size of every entry (local header and
    /// central directory) of a small zip without zip64 records.
    fn patch_zip_sizes(bytes: &mut [u8], size: u32) {
        let mut i = 0;
        while i + 4 <= bytes.len() {
            match &bytes[i..i + 4] {
                b"PK\x03\x04" => bytes[i + 22..i + 26].copy_from_slice(&size.to_le_bytes()),
                b"PK\x01\x02" => bytes[i + 24..i + 28].copy_from_slice(&size.to_le_bytes()),
                _ => {}
            }
            i += 1;
        }
    }

    #[test]
    fn a_zip_entry_inflating_beyond_its_declared_size_is_an_error() {
        let zeros = vec![0_u8; 1 << 20];
        let mut bytes = zip_bytes(|w| {
            w.start_file("manifest.json", zip_options()).unwrap();
            w.write_all(&zeros).unwrap();
        });
        patch_zip_sizes(&mut bytes, 100);
        let err = extract_zip(&bytes, Limits::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Bomb { .. }), "{err}");
        // A declared size beyond the limits fails before reading.
        let mut bytes = zip_bytes(|w| {
            w.start_file("manifest.json", zip_options()).unwrap();
            w.write_all(b"{}").unwrap();
        });
        patch_zip_sizes(&mut bytes, u32::MAX);
        let limits = Limits {
            max_file_bytes: 1 << 20,
            ..Limits::default()
        };
        let err = extract_zip(&bytes, limits).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Tree {
                    source: TreeError::FileTooLarge { .. },
                    ..
                }
            ),
            "{err}"
        );
        // Honest entries that together exceed the total are stopped too.
        let bytes = zip_bytes(|w| {
            for i in 0..8 {
                w.start_file(format!("z{i}"), zip_options()).unwrap();
                w.write_all(&zeros[..256 << 10]).unwrap();
            }
        });
        let limits = Limits {
            max_total_bytes: 1 << 20,
            ..Limits::default()
        };
        let err = extract_zip(&bytes, limits).unwrap_err();
        assert!(
            matches!(
                err,
                ArchiveError::Bomb { .. }
                    | ArchiveError::Tree {
                        source: TreeError::TotalTooLarge { .. },
                        ..
                    }
            ),
            "{err}"
        );
    }

    #[test]
    fn encrypted_zip_entries_are_errors() {
        // Set the encryption flag (general purpose bit 0) by hand.
        let mut bytes = zip_bytes(|w| {
            w.start_file("manifest.json", zip_options()).unwrap();
            w.write_all(b"{}").unwrap();
        });
        let mut i = 0;
        while i + 4 <= bytes.len() {
            match &bytes[i..i + 4] {
                b"PK\x03\x04" => bytes[i + 6] |= 1,
                b"PK\x01\x02" => bytes[i + 8] |= 1,
                _ => {}
            }
            i += 1;
        }
        let err = extract_zip(&bytes, Limits::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Encrypted { .. }), "{err}");
    }
}
