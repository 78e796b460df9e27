//! Packing a package directory into a deterministic archive (`.tar.gz` or
//! `.zip`). This module owns what goes into the archive and how: the package
//! is validated first; the archive holds manifest.json and exactly the files
//! the manifest names (entries' files and the other digested files), at its
//! root, with a directory entry for every parent; entries are sorted by
//! path; modes, owners and times are fixed, so the same package gives the
//! same bytes whatever the directory's metadata. Files are read without
//! following symlinks and checked against the digests validation saw. The
//! archive is written to a temporary file beside the output and renamed
//! over it at the end, so a failure leaves nothing behind. A package in
//! memory (a transfer between hubs) packs to a buffer the same way.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use super::error::PackageError;
use super::parallel_gzip::ParallelGzWriter;
use super::read::{Package, PackageFiles, read_package};
use crate::loaders::archive::ArchiveFormat;
use crate::manifest::MANIFEST_FILE;
use crate::manifest::limits::{MAX_FILE_BYTES, MAX_MANIFEST_BYTES, read_file_capped};
use crate::manifest::parse::parse_manifest_owned;
use crate::manifest::paths::open_file;
use crate::model::fingerprint::{RawDigest, sha256, sha256_digest};
use crate::model::slug::escape;
use crate::progress::{NoProgress, Progress};
use crate::safe_tree::MemoryTree;

/// The modification time of every entry: 1980-01-01T00:00:00Z, the
/// earliest time a zip archive can hold (and what it holds here too).
pub const PACK_MTIME: u64 = 315_532_800;
/// The gzip and deflate compression level used (zlib's default).
pub const COMPRESSION_LEVEL: u32 = 6;

/// What [`pack`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackSummary {
    /// Files in the archive, manifest.json included (directories not counted).
    pub files: usize,
    /// Their total size before compression.
    pub bytes: u64,
    /// The package digest (`sha256:` of manifest.json).
    pub digest: String,
    /// The archive format.
    pub format: ArchiveFormat,
    /// Files in the directory that the manifest does not name, as package
    /// paths (`/README.md`); they were left out of the archive.
    pub unlisted: Vec<String>,
}

/// Validates the package at `dir` and writes it to `out` as a
/// deterministic archive of `format`. An invalid package is refused with
/// the validation error; on any error `out` is left as it was.
pub fn pack(
    dir: &Path,
    out: &Path,
    format: ArchiveFormat,
    progress: &dyn Progress,
) -> Result<PackSummary, PackageError> {
    pack_at(dir, out, format, COMPRESSION_LEVEL, progress)
}

/// The compression level of archives that only carry a package from one
/// hub to another (a sync, a remote load): speed over size.
pub const TRANSFER_LEVEL: u32 = 1;

/// [`pack`] with another compression `level` (0-9). Only level
/// [`COMPRESSION_LEVEL`] gives the published, reproducible bytes.
pub fn pack_at(
    dir: &Path,
    out: &Path,
    format: ArchiveFormat,
    level: u32,
    progress: &dyn Progress,
) -> Result<PackSummary, PackageError> {
    let package = read_package(dir, progress)?;
    let unlisted = package.unlisted_files();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut temp = temp_file(parent)?;
    let (files, bytes) = write_archive(&package, temp.as_file_mut(), out, format, level, progress)?;
    temp.as_file()
        .sync_all()
        .map_err(|e| PackageError::io("cannot write", out, e))?;
    temp.persist(out)
        .map_err(|e| PackageError::io("cannot write", out, e.error))?;
    progress.finish();
    Ok(PackSummary {
        files,
        bytes,
        digest: package.digest,
        format,
        unlisted,
    })
}

/// The archive [`pack`] writes of the already-checked `package`, in memory:
/// the same deterministic bytes, without reading the package again or
/// going through a file (what `pkg push` uploads).
pub fn pack_in_memory(
    package: &Package,
    format: ArchiveFormat,
    progress: &dyn Progress,
) -> Result<Vec<u8>, PackageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    write_archive(
        package,
        &mut out,
        &package.root,
        format,
        COMPRESSION_LEVEL,
        progress,
    )?;
    Ok(out.into_inner())
}

/// Writes the checked `package` (in a directory or in memory) as an
/// archive of `format` at compression `level` to a buffer: what carries a
/// package from one hub to another. The bytes are those [`pack_at`] writes.
pub fn pack_to_vec(
    package: &Package,
    format: ArchiveFormat,
    level: u32,
) -> Result<Vec<u8>, PackageError> {
    let label = Path::new("the transfer archive");
    let mut source = source_of(package, &NoProgress)?;
    match format {
        // Compressed on every core: the bytes need not be reproducible.
        ArchiveFormat::TarGz => {
            let gz = ParallelGzWriter::new(Vec::new(), level);
            let gz = write_tar(gz, &source.entries(), &mut source, label)?;
            gz.finish()
                .map_err(|e| PackageError::io("cannot write", label, e))
        }
        ArchiveFormat::Zip => {
            let mut out = std::io::Cursor::new(Vec::new());
            write_zip(&mut out, &source.entries(), &mut source, label, level)?;
            Ok(out.into_inner())
        }
    }
}

/// Writes `package` as an archive to `sink` (`out` names it in messages);
/// returns how many files and bytes went in.
fn write_archive(
    package: &Package,
    sink: impl Write + Seek,
    out: &Path,
    format: ArchiveFormat,
    level: u32,
    progress: &dyn Progress,
) -> Result<(usize, u64), PackageError> {
    let mut source = source_of(package, progress)?;
    let entries = source.entries();
    match format {
        ArchiveFormat::TarGz => write_tar_gz(sink, &entries, &mut source, out, level)?,
        ArchiveFormat::Zip => write_zip(sink, &entries, &mut source, out, level)?,
    }
    Ok((source.count, source.bytes))
}

/// The files of `package` to pack, starting with its manifest, which must
/// be the one validation saw (it holds the digests of the files no entry
/// names).
fn source_of<'a>(
    package: &'a Package,
    progress: &'a dyn Progress,
) -> Result<Source<'a>, PackageError> {
    let mut reader = match &package.files {
        PackageFiles::Dir => Reader::Plain(PlainReader::new(&package.root)),
        PackageFiles::Memory(tree) => Reader::Memory(tree),
    };
    let manifest = reader.read(MANIFEST_FILE, MAX_MANIFEST_BYTES)?;
    if sha256_digest(&manifest) != package.manifest_digest {
        return Err(changed(MANIFEST_FILE));
    }
    let files = expected_files(package, &manifest)?;
    progress.phase("packing", files.len() as u64);
    Ok(Source {
        reader,
        files,
        manifest: Some(manifest),
        progress,
        count: 0,
        bytes: 0,
    })
}

/// The temporary output file, in the output's directory so that the final
/// rename is atomic; readable like any file the user creates.
fn temp_file(parent: &Path) -> Result<tempfile::NamedTempFile, PackageError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pkg-pack-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder
        .tempfile_in(parent)
        .map_err(|e| PackageError::io("cannot create a temporary file in", parent, e))
}

/// What a file's bytes must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    /// manifest.json (checked when read first).
    Manifest,
    /// A file with the digest validation saw.
    Digest(RawDigest),
    /// The package's signature (`manifest.json.minisig`), which checks
    /// itself against the manifest.
    Signature,
}

/// The largest signature file packed (a minisign signature is a few
/// hundred bytes).
const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

/// Every file of the archive (package path without the leading `/`) and
/// what it must hash to.
fn expected_files(
    package: &Package,
    manifest: &[u8],
) -> Result<BTreeMap<String, Expected>, PackageError> {
    let mut files = BTreeMap::new();
    let rel = |loc: &str| loc.trim_start_matches('/').to_string();
    for item in &package.items {
        files.insert(
            rel(&item.details_loc),
            Expected::Digest(item.details_digest),
        );
        if let (Some(loc), Some(digest)) = (&item.data_loc, item.data_digest) {
            files.insert(rel(loc), Expected::Digest(digest));
        }
    }
    if !package.extra_digested.is_empty() {
        // Validation verified these against the manifest's digests but does
        // not keep them; the manifest bytes are the validated ones.
        let (parsed, _) = parse_manifest_owned(manifest.to_vec());
        let digests = parsed.and_then(|m| m.digests).unwrap_or_default();
        for loc in &package.extra_digested {
            let digest = digests.get(loc).ok_or_else(|| changed(loc))?;
            files.insert(rel(loc), Expected::Digest(*digest));
        }
    }
    for (loc, digest) in &package.environment_digests {
        files.insert(rel(loc), Expected::Digest(*digest));
    }
    files.insert(MANIFEST_FILE.to_string(), Expected::Manifest);
    let signature = crate::signing::SIGNATURE_FILE;
    let signed = match &package.files {
        PackageFiles::Dir => {
            std::fs::symlink_metadata(package.root.join(signature)).is_ok_and(|m| m.is_file())
        }
        PackageFiles::Memory(tree) => tree.get(signature).is_some(),
    };
    if signed {
        files.insert(signature.to_string(), Expected::Signature);
    }
    Ok(files)
}

/// One archive entry: a directory (name ends with `/`) or a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ArchiveEntry {
    name: String,
    is_dir: bool,
}

/// The files and every parent directory, sorted by name in byte order
/// (a directory's name ends with `/`, so it comes before its contents).
fn archive_entries<'a>(files: impl Iterator<Item = &'a str>) -> Vec<ArchiveEntry> {
    let mut names = BTreeSet::new();
    for file in files {
        for (i, _) in file.match_indices('/') {
            names.insert((file[..=i].to_string(), true));
        }
        names.insert((file.to_string(), false));
    }
    names
        .into_iter()
        .map(|(name, is_dir)| ArchiveEntry { name, is_dir })
        .collect()
}

/// Reads a package's files for packing.
enum Reader<'a> {
    /// From the directory, without following any symlink.
    Plain(PlainReader<'a>),
    /// From an unpacked archive or an export in memory.
    Memory(&'a MemoryTree),
}

impl Reader<'_> {
    /// Reads the file `rel` (a package path without its leading `/`), at
    /// most `cap` bytes.
    fn read(&mut self, rel: &str, cap: u64) -> Result<Vec<u8>, PackageError> {
        match self {
            Reader::Plain(reader) => reader.read(rel, cap),
            Reader::Memory(tree) => match tree.get(rel) {
                Some(bytes) if bytes.len() as u64 <= cap => Ok(bytes.to_vec()),
                _ => Err(changed(rel)),
            },
        }
    }
}

/// Supplies file contents to the archive writers, checked and counted.
struct Source<'a> {
    reader: Reader<'a>,
    files: BTreeMap<String, Expected>,
    manifest: Option<Vec<u8>>,
    progress: &'a dyn Progress,
    count: usize,
    bytes: u64,
}

impl Source<'_> {
    /// The archive's entries: every file and its parent directories.
    fn entries(&self) -> Vec<ArchiveEntry> {
        archive_entries(self.files.keys().map(String::as_str))
    }

    /// The bytes of the file `name`, checked against its digest.
    fn bytes(&mut self, name: &str) -> Result<Vec<u8>, PackageError> {
        let bytes = match self.files.get(name) {
            Some(Expected::Manifest) => self.manifest.take().ok_or_else(|| changed(name))?,
            Some(Expected::Digest(digest)) => {
                let bytes = self.reader.read(name, MAX_FILE_BYTES)?;
                // A file in memory was checked once and cannot change.
                if matches!(self.reader, Reader::Plain(_)) && sha256(&bytes) != *digest {
                    return Err(changed(name));
                }
                bytes
            }
            Some(Expected::Signature) => self.reader.read(name, MAX_SIGNATURE_BYTES)?,
            None => return Err(changed(name)),
        };
        self.count += 1;
        self.bytes += bytes.len() as u64;
        self.progress.advance(1);
        Ok(bytes)
    }
}

fn changed(name: &str) -> PackageError {
    PackageError::Other(format!(
        "`/{}` changed while the package was being packed; nothing was written, try again",
        escape(name.trim_start_matches('/'))
    ))
}

/// Reads files under the package root without following any symlink,
/// remembering which directories are known to be plain.
struct PlainReader<'a> {
    root: &'a Path,
    plain_dirs: HashSet<String>,
}

impl<'a> PlainReader<'a> {
    fn new(root: &'a Path) -> PlainReader<'a> {
        PlainReader {
            root,
            plain_dirs: HashSet::new(),
        }
    }

    /// Reads the regular file `rel` (a package path without its leading
    /// `/`), at most `cap` bytes.
    fn read(&mut self, rel: &str, cap: u64) -> Result<Vec<u8>, PackageError> {
        let mut path = self.root.to_path_buf();
        let mut parts = rel.split('/').peekable();
        let mut prefix = String::new();
        while let Some(part) = parts.next() {
            path.push(part);
            if parts.peek().is_none() {
                break;
            }
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if self.plain_dirs.contains(&prefix) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path)
                .map_err(|e| PackageError::io("cannot read", &path, e))?;
            if !meta.file_type().is_dir() {
                return Err(PackageError::Other(format!(
                    "`/{}` is reached through `/{}`, which is a symlink or not a directory; pack copies only plain files and directories, so replace the symlink with what it points to",
                    escape(rel),
                    escape(&prefix)
                )));
            }
            self.plain_dirs.insert(prefix.clone());
        }
        let file = open_file(&path, true).map_err(|e| {
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                PackageError::Other(format!(
                    "`/{}` is a symlink; pack copies only regular files, so replace it with the file it points to",
                    escape(rel)
                ))
            } else {
                PackageError::io("cannot read", &path, e)
            }
        })?;
        read_file_capped(file, cap)
            .map_err(|e| PackageError::Other(format!("`/{}` {e}", escape(rel))))
    }
}

fn tar_header(entry_type: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(PACK_MTIME);
    header
}

fn write_tar_gz(
    file: impl Write,
    entries: &[ArchiveEntry],
    source: &mut Source<'_>,
    out: &Path,
    level: u32,
) -> Result<(), PackageError> {
    let write_error = |e: std::io::Error| PackageError::io("cannot write", out, e);
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(BufWriter::new(file), flate2::Compression::new(level.min(9)));
    let gz = write_tar(gz, entries, source, out)?;
    let mut buffered = gz.finish().map_err(write_error)?;
    buffered.flush().map_err(write_error)
}

/// Writes the tar stream of `entries` into `sink` and returns it.
fn write_tar<W: Write>(
    sink: W,
    entries: &[ArchiveEntry],
    source: &mut Source<'_>,
    out: &Path,
) -> Result<W, PackageError> {
    let write_error = |e: std::io::Error| PackageError::io("cannot write", out, e);
    let mut tar = tar::Builder::new(sink);
    for entry in entries {
        if entry.is_dir {
            let mut header = tar_header(tar::EntryType::Directory, 0o755, 0);
            tar.append_data(&mut header, &entry.name, std::io::empty())
                .map_err(write_error)?;
        } else {
            let bytes = source.bytes(&entry.name)?;
            let mut header = tar_header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
            tar.append_data(&mut header, &entry.name, bytes.as_slice())
                .map_err(write_error)?;
        }
    }
    tar.into_inner().map_err(write_error)
}

fn write_zip(
    file: impl Write + Seek,
    entries: &[ArchiveEntry],
    source: &mut Source<'_>,
    out: &Path,
    level: u32,
) -> Result<(), PackageError> {
    let zip_error = |e: zip::result::ZipError| match e {
        zip::result::ZipError::Io(e) => PackageError::io("cannot write", out, e),
        other => PackageError::Other(format!("cannot write `{}`: {other}", out.display())),
    };
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(i64::from(level.min(9))))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let dir_options = options.unix_permissions(0o755);
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    for entry in entries {
        if entry.is_dir {
            zip.add_directory(entry.name.as_str(), dir_options)
                .map_err(zip_error)?;
        } else {
            let bytes = source.bytes(&entry.name)?;
            zip.start_file(entry.name.as_str(), options)
                .map_err(zip_error)?;
            zip.write_all(&bytes)
                .map_err(|e| PackageError::io("cannot write", out, e))?;
        }
    }
    let mut buffered = zip.finish().map_err(zip_error)?;
    buffered
        .flush()
        .map_err(|e| PackageError::io("cannot write", out, e))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::loaders::archive::extract;
    use crate::model::fingerprint::digest_text;
    use crate::progress::NoProgress;
    use crate::safe_tree::Limits;

    /// Temporary files `pack` left in `dir`.
    fn leftovers(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".pkg-pack-"))
            .collect()
    }

    const SPACE: &str = "a-space-with-a-rather-long-name-so-that-paths-exceed-one-hundred-bytes";
    const UNIT: &str = "and-a-unit-with-a-long-name-as-well-to-need-gnu-long-names";

    /// Writes a small valid package (with digests, a digested file no
    /// entry names, a path over 100 bytes and an unlisted README).
    fn write_package(dir: &Path) {
        let files: Vec<(String, String)> = vec![
            (
                format!("/spaces/{SPACE}.json"),
                format!("{{\"Slug\": \"{SPACE}\"}}\n"),
            ),
            (
                format!("/units/{SPACE}/{UNIT}.json"),
                format!("{{\"Slug\": \"{UNIT}\", \"ToolchainType\": \"Kubernetes/YAML\"}}\n"),
            ),
            (
                format!("/units/{SPACE}/{UNIT}.data.yaml"),
                "apiVersion: v1\nkind: ConfigMap\n".to_string(),
            ),
            (
                "/environments/dev/pixi.toml".to_string(),
                "[project]\nname = \"dev\"\n".to_string(),
            ),
        ];
        for (loc, text) in &files {
            let path = dir.join(loc.trim_start_matches('/'));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let digests: serde_json::Map<String, serde_json::Value> = files
            .iter()
            .map(|(loc, text)| (loc.clone(), digest_text(&sha256(text.as_bytes())).into()))
            .collect();
        let manifest = serde_json::json!({
            "format": 1,
            "name": "demo",
            "version": "1.0.0",
            "spaces": [{"slug": SPACE, "details_loc": files[0].0}],
            "units": [{
                "slug": UNIT,
                "space_slug": SPACE,
                "details_loc": files[1].0,
                "unit_data_loc": files[2].0,
                "target": ""
            }],
            "digests": digests,
        });
        let text = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
        std::fs::write(dir.join(MANIFEST_FILE), text).unwrap();
        std::fs::write(dir.join("README.md"), "not packed\n").unwrap();
    }

    fn package_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write_package(dir.path());
        dir
    }

    fn pack_to(dir: &Path, out: &Path, format: ArchiveFormat) -> PackSummary {
        pack(dir, out, format, &NoProgress).unwrap()
    }

    /// Copies a tree, giving every file and directory other metadata.
    #[cfg(unix)]
    fn copy_with_other_metadata(from: &Path, to: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for entry in walkdir::WalkDir::new(from) {
            let entry = entry.unwrap();
            let target = to.join(entry.path().strip_prefix(from).unwrap());
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
                let file = std::fs::File::options().write(true).open(&target).unwrap();
                file.set_modified(old).unwrap();
            }
        }
        for entry in walkdir::WalkDir::new(to).contents_first(true) {
            let entry = entry.unwrap();
            if entry.file_type().is_dir() && entry.path() != to {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o750))
                    .unwrap();
            }
        }
    }

    #[test]
    fn archives_are_byte_identical_across_runs_and_copies() {
        let a = package_dir();
        let out = tempfile::tempdir().unwrap();
        for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
            let ext = format.extension();
            let first = out.path().join(format!("1.{ext}"));
            let second = out.path().join(format!("2.{ext}"));
            pack_to(a.path(), &first, format);
            pack_to(a.path(), &second, format);
            assert_eq!(
                std::fs::read(&first).unwrap(),
                std::fs::read(&second).unwrap()
            );
            #[cfg(unix)]
            {
                let b = tempfile::tempdir().unwrap();
                copy_with_other_metadata(a.path(), b.path());
                let third = out.path().join(format!("3.{ext}"));
                pack_to(b.path(), &third, format);
                assert_eq!(
                    std::fs::read(&first).unwrap(),
                    std::fs::read(&third).unwrap(),
                    "{ext}"
                );
            }
        }
    }

    #[test]
    fn archives_extract_to_the_same_package() {
        let dir = package_dir();
        let original = read_package(dir.path(), &NoProgress).unwrap();
        let out = tempfile::tempdir().unwrap();
        for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
            let file = out.path().join(format!("p.{}", format.extension()));
            let summary = pack_to(dir.path(), &file, format);
            assert_eq!(summary.digest, original.digest);
            assert_eq!(summary.format, format);
            assert_eq!(summary.files, 5);
            assert_eq!(summary.unlisted, vec!["/README.md".to_string()]);
            let extracted = extract(&file, format, Limits::default()).unwrap();
            assert_eq!(extracted.root, extracted.dir.path());
            let back = read_package(&extracted.root, &NoProgress).unwrap();
            assert_eq!(back.digest, original.digest);
            assert_eq!(back.extra_digested, vec!["/environments/dev/pixi.toml"]);
            assert!(!extracted.root.join("README.md").exists());
            let total: u64 = walkdir::WalkDir::new(&extracted.root)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.metadata().unwrap().len())
                .sum();
            assert_eq!(total, summary.bytes);
        }
    }

    #[test]
    fn entries_are_sorted_with_directories_first_and_fixed_metadata() {
        let dir = package_dir();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("p.tgz");
        pack_to(dir.path(), &file, ArchiveFormat::TarGz);
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "gzip mtime is zero");
        assert_eq!(bytes[3] & 0x08, 0, "no file name in the gzip header");
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), PACK_MTIME);
            assert_eq!(header.uid().unwrap(), 0);
            assert_eq!(header.gid().unwrap(), 0);
            assert_eq!(header.username_bytes(), Some(&b""[..]));
            let mode = header.mode().unwrap();
            let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
            if header.entry_type().is_dir() {
                assert!(name.ends_with('/'), "{name}");
                assert_eq!(mode, 0o755);
            } else {
                assert_eq!(mode, 0o644);
            }
            names.push(name);
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names[0], "environments/");
        assert!(names.contains(&format!("units/{SPACE}/")));
        assert!(names.contains(&"manifest.json".to_string()));
        assert!(!names.iter().any(|n| n.contains("README")));
    }

    #[test]
    fn an_invalid_package_is_refused_and_nothing_is_written() {
        let dir = package_dir();
        std::fs::write(dir.path().join("environments/dev/pixi.toml"), "tampered").unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("p.tgz");
        let err = pack(dir.path(), &file, ArchiveFormat::TarGz, &NoProgress).unwrap_err();
        assert!(matches!(err, PackageError::Invalid { .. }), "{err}");
        assert!(!file.exists());
        assert!(leftovers(out.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_never_followed() {
        // A symlink inside the package passes validation but is not packed.
        let dir = package_dir();
        let loc = format!("units/{SPACE}/{UNIT}.data.yaml");
        let real = dir.path().join("real.yaml");
        std::fs::rename(dir.path().join(&loc), &real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join(&loc)).unwrap();
        read_package(dir.path(), &NoProgress).unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("p.zip");
        std::fs::write(&file, "old").unwrap();
        let err = pack(dir.path(), &file, ArchiveFormat::Zip, &NoProgress).unwrap_err();
        assert!(err.to_string().contains("is a symlink"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"old", "output untouched");
        assert!(leftovers(out.path()).is_empty());

        // Likewise a symlinked directory.
        let dir = package_dir();
        let moved = dir.path().join("moved");
        std::fs::rename(dir.path().join("units"), &moved).unwrap();
        std::os::unix::fs::symlink(&moved, dir.path().join("units")).unwrap();
        read_package(dir.path(), &NoProgress).unwrap();
        let err = pack(dir.path(), &file, ArchiveFormat::TarGz, &NoProgress).unwrap_err();
        assert!(
            err.to_string().contains("reached through `/units`"),
            "{err}"
        );
    }

    #[test]
    fn an_existing_output_is_replaced() {
        let dir = package_dir();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("p.tgz");
        std::fs::write(&file, "old").unwrap();
        pack_to(dir.path(), &file, ArchiveFormat::TarGz);
        assert_ne!(std::fs::read(&file).unwrap(), b"old");
        assert!(leftovers(out.path()).is_empty());
    }

    #[test]
    fn entries_include_every_parent() {
        let entries = archive_entries(["b/c/d.json", "a.json", "b/e"].into_iter());
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.json", "b/", "b/c/", "b/c/d.json", "b/e"]);
    }
}
