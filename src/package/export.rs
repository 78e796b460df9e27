//! Creating a package from the hub (`pkg create`): select units by space and
//! where-expression, add their spaces, targets, workers and outgoing links and
//! the filters, views and other space-level resources of every space touched,
//! and write the v1 layout with digests. The package is written beside the
//! destination and renamed into place, so it appears complete or not at all.
//! Units are streamed one at a time; unit data is never all in memory.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use std::io::Write;

use rusqlite::Connection;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::PackageError;
use super::file_sink::FileSink;
use super::link_source::LinkSource;
use crate::filter::WhereFilter;
use crate::hub::history::{self, NewEntry};
use crate::hub::subject::{IdLookup, ResourceSubject};
use crate::hub::{Hub, HubError, HubResource, store};
use crate::manifest::environment::{ENVIRONMENTS_DIR, Environment};
use crate::manifest::limits::{MAX_FILE_BYTES, read_file_capped};
use crate::manifest::paths::check_syntax;
use crate::manifest::paths::open_file;
use crate::manifest::types::FORMAT_VERSION;
use crate::manifest::types::parse_digest;
use crate::manifest::write::write_manifest;
use crate::manifest::{Entry, MANIFEST_FILE, Manifest};
use crate::model::details::str_field;
use crate::model::fingerprint::hex;
use crate::model::toolchain::{check_unit_toolchain, data_suffix};
use crate::model::validate_slug;
use crate::model::{RefField, ResourceKey, ResourceKind};
use crate::progress::Progress;

/// What to put in the package.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Spaces to export units from (empty: all spaces).
    pub spaces: Vec<String>,
    /// Only units matching this expression.
    pub filter: Option<WhereFilter>,
    /// Package name (default: the directory's name).
    pub name: Option<String>,
    /// Package version (semver).
    pub version: Option<String>,
    /// Package description.
    pub description: Option<String>,
    /// Replace a non-empty destination.
    pub force: bool,
    /// Python environments to carry.
    pub environments: Vec<CarriedEnvironment>,
    /// Add every resource the selection refers to (and their spaces), so
    /// that the package has no external references.
    pub closure: bool,
    /// An earlier package: files whose bytes equal its file at the same
    /// path are hard-linked instead of written (`--link-dest`).
    pub link_dest: Option<PathBuf>,
    /// `created_at` is the newest `UpdatedAt` among the packaged resources
    /// instead of now, so that an unchanged hub gives a byte-identical package.
    pub created_at_from_hub: bool,
}

/// An environment `create` copies into `environments/NAME/`.
#[derive(Debug, Clone)]
pub struct CarriedEnvironment {
    /// The environment's name in the package.
    pub name: String,
    /// `uv` or `pixi`.
    pub backend: String,
    /// The environment directory.
    pub dir: PathBuf,
    /// The files to copy, relative to `dir` (manifest and lock file).
    pub files: Vec<String>,
}

/// What `create` wrote.
#[derive(Debug, Clone)]
pub struct CreateOutcome {
    /// The package directory.
    pub dir: PathBuf,
    /// `sha256:` of manifest.json.
    pub digest: String,
    /// Resources written per kind, in load order.
    pub counts: BTreeMap<ResourceKind, u64>,
    /// The history entry.
    pub entry_id: i64,
    /// References the package leaves to resources it does not hold.
    pub external: Vec<ExternalRef>,
    /// Files hard-linked from `--link-dest` instead of written.
    pub linked: u64,
}

/// A reference from a packaged resource to one the package does not hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExternalRef {
    /// The packaged resource.
    pub from: ResourceKey,
    /// The field holding the reference.
    pub field: RefField,
    /// The resource it points at.
    pub to: ResourceKey,
}

/// Writes files under a temporary root and records their digests.
struct Writer {
    root: PathBuf,
    /// Whether files may be hard-linked from `--link-dest`.
    linking: bool,
    digests: Vec<(String, [u8; 32])>,
    sink: FileSink,
}

impl Writer {
    /// Queues `bytes` for package path `loc`, which must pass the same
    /// containment rule a load applies (the hub's content is untrusted).
    fn write(&mut self, loc: &str, bytes: Vec<u8>) -> Result<(), PackageError> {
        let parts = check_syntax(loc).map_err(|e| {
            PackageError::Other(format!("refusing to write outside the package: {e}"))
        })?;
        let mut path = self.root.clone();
        path.extend(parts);
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        self.digests.push((loc.to_string(), digest));
        let link = self.linking.then(|| (loc.to_string(), digest));
        self.sink.write_or_link(&path, bytes, link)
    }

    fn write_details(&mut self, resource: &HubResource) -> Result<Entry, PackageError> {
        let key = &resource.key;
        check_key_slugs(key)?;
        let loc = if key.kind == ResourceKind::Space {
            format!("/spaces/{}.json", key.slug)
        } else {
            format!("/{}/{}/{}.json", key.kind.plural(), key.space, key.slug)
        };
        let mut text = serde_json::to_string_pretty(&Value::Object(resource.details.clone()))
            .unwrap_or_default();
        text.push('\n');
        self.write(&loc, text.into_bytes())?;
        Ok(Entry {
            key: key.clone(),
            details_loc: loc,
            unit_data_loc: None,
            refs: resource.refs.clone(),
        })
    }
}

/// Refuses a key whose space or slug is not a valid slug (a hub edited
/// behind pkg's back): such names become paths in the package.
fn check_key_slugs(key: &ResourceKey) -> Result<(), PackageError> {
    for slug in [key.space_slug(), &key.slug] {
        validate_slug(slug).map_err(|e| {
            PackageError::Other(format!(
                "the hub holds {key}, which cannot be written to a package: {e}"
            ))
        })?;
    }
    Ok(())
}

/// A writer that hashes what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The digest manifest.json would have, computed without writing it.
fn manifest_digest(manifest: &Manifest, digests: &[(String, [u8; 32])]) -> std::io::Result<String> {
    let mut out = Hashing {
        inner: std::io::sink(),
        hasher: Sha256::new(),
    };
    write_manifest_entries(&mut out, manifest, digests)?;
    Ok(format!("sha256:{}", hex(&out.hasher.finalize())))
}

/// Writes manifest.json with `digests` as its `digests` key.
fn write_manifest_entries(
    out: &mut impl Write,
    manifest: &Manifest,
    digests: &[(String, [u8; 32])],
) -> std::io::Result<()> {
    let mut iter = digests
        .iter()
        .map(|(loc, d)| (loc.clone(), format!("sha256:{}", hex(d))));
    write_manifest(out, manifest, Some(&mut iter))
}

/// Streams manifest.json to `path` (never the whole text in memory) and
/// returns its digest.
fn write_manifest_file(
    path: &Path,
    manifest: &Manifest,
    digests: &[(String, [u8; 32])],
) -> std::io::Result<String> {
    let file = std::fs::File::create(path)?;
    let mut out = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 16, file),
        hasher: Sha256::new(),
    };
    write_manifest_entries(&mut out, manifest, digests)?;
    out.flush()?;
    Ok(format!("sha256:{}", hex(&out.hasher.finalize())))
}

/// Removes the temporary directory unless the package was moved into place.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn check_destination(dir: &Path, force: bool) -> Result<(), PackageError> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(PackageError::io("cannot inspect", dir, e)),
        Ok(meta) if !meta.is_dir() => Err(PackageError::Other(format!(
            "`{}` exists and is not a directory",
            dir.display()
        ))),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(dir).map_err(|e| PackageError::io("cannot read", dir, e))?;
            if entries.next().is_some() && !force {
                return Err(PackageError::NotEmpty(dir.to_path_buf()));
            }
            Ok(())
        }
    }
}

/// Removes leftovers of earlier `create` runs into the same destination that
/// were killed before they finished (their process is gone).
fn remove_stale_temps(parent: &Path, name: &str) {
    let prefix = format!(".{name}.pkg-tmp-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The resources a package holds, gathered from the selected units outward.
struct Selection<'a> {
    conn: &'a Connection,
    closure: bool,
    /// Every key written so far.
    included: HashSet<ResourceKey>,
    /// Keys to add whose own references are not yet followed.
    pending: Vec<ResourceKey>,
    entries: Vec<Entry>,
    /// The newest `UpdatedAt` among the resources written.
    newest: String,
}

impl Selection<'_> {
    /// Marks `key` for the package (once).
    fn want(&mut self, key: &ResourceKey) {
        if !self.included.contains(key) {
            self.included.insert(key.clone());
            self.pending.push(key.clone());
        }
    }

    /// Follows what a written resource needs: its space, a unit's target,
    /// a target's worker, and with `closure` every reference.
    fn follow(&mut self, resource: &HubResource) {
        if resource.key.kind.is_space_scoped() {
            self.want(&resource.key.space_key());
        }
        for r in &resource.refs {
            if self.closure || matches!(r.field, RefField::Target | RefField::Worker) {
                self.want(&r.to);
            }
        }
    }

    /// Writes one resource (a unit with its data file).
    fn write(
        &mut self,
        writer: &mut Writer,
        resource: &HubResource,
        data: Option<Vec<u8>>,
    ) -> Result<(), PackageError> {
        let mut entry = writer.write_details(resource)?;
        if resource.key.kind == ResourceKind::Unit {
            let ext = unit_data_suffix(resource)?;
            let loc = format!(
                "/units/{}/{}.data{ext}",
                resource.key.space, resource.key.slug
            );
            writer.write(&loc, data.unwrap_or_default())?;
            entry.unit_data_loc = Some(loc);
        }
        self.entries.push(entry);
        if resource.updated_at > self.newest {
            self.newest.clone_from(&resource.updated_at);
        }
        self.follow(resource);
        Ok(())
    }

    /// Writes everything pending until nothing is: each resource, and for
    /// each space every filter, view and other space-level resource in it.
    fn drain(&mut self, writer: &mut Writer) -> Result<(), PackageError> {
        while let Some(key) = self.pending.pop() {
            let Some(resource) = store::get(self.conn, &key)? else {
                // Referred to but not in the hub: left external.
                continue;
            };
            let data = if key.kind == ResourceKind::Unit {
                store::data(self.conn, &key)?
            } else {
                None
            };
            self.write(writer, &resource, data)?;
            if key.kind == ResourceKind::Space {
                for kind in SPACE_LEVEL {
                    for resource in store::list(self.conn, kind, Some(&key.slug))? {
                        if self.included.insert(resource.key.clone()) {
                            self.write(writer, &resource, None)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// References from packaged resources to resources not packaged.
    fn external(&self) -> Vec<ExternalRef> {
        let mut out: Vec<ExternalRef> = self
            .entries
            .iter()
            .flat_map(|e| {
                e.refs
                    .iter()
                    .filter(|r| !self.included.contains(&r.to))
                    .map(|r| ExternalRef {
                        from: e.key.clone(),
                        field: r.field,
                        to: r.to.clone(),
                    })
            })
            .collect();
        out.sort();
        out
    }
}

/// The kinds `create` takes whole from every space it touches.
const SPACE_LEVEL: [ResourceKind; 6] = [
    ResourceKind::Filter,
    ResourceKind::View,
    ResourceKind::Tag,
    ResourceKind::Invocation,
    ResourceKind::Trigger,
    ResourceKind::Attribute,
];

/// The data-file suffix of a unit, refusing a toolchain type that is not
/// safe (the hub may hold anything: it is checked again here).
fn unit_data_suffix(unit: &HubResource) -> Result<String, PackageError> {
    check_unit_toolchain(&unit.details)
        .and_then(|()| data_suffix(str_field(&unit.details, "ToolchainType")))
        .map_err(|e| {
            PackageError::Other(format!(
                "{}: {e}; nothing was written (fix the unit with `pkg unit update --toolchain`)",
                unit.key
            ))
        })
}

/// Writes the units `options` select, streaming them one at a time.
fn write_selected_units(
    selection: &mut Selection<'_>,
    options: &CreateOptions,
    spaces: &[Option<&str>],
    writer: &mut Writer,
    progress: &dyn Progress,
) -> Result<(), PackageError> {
    let conn = selection.conn;
    let ids = IdLookup::new(conn);
    for space in spaces {
        store::for_each(
            conn,
            ResourceKind::Unit,
            *space,
            true,
            |unit, data| -> Result<(), PackageError> {
                if let Some(filter) = &options.filter
                    && !filter.matches(&ResourceSubject {
                        resource: &unit,
                        ids: &ids,
                    })
                {
                    return Ok(());
                }
                selection.included.insert(unit.key.clone());
                selection.write(writer, &unit, data)?;
                progress.advance(1);
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// Writes the package selected by `options` from `hub` into `dir`.
pub fn create(
    hub: &mut Hub,
    dir: &Path,
    options: &CreateOptions,
    progress: &dyn Progress,
) -> Result<CreateOutcome, PackageError> {
    check_destination(dir, options.force)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .filter(|n| n != "." && n != "..")
        .ok_or_else(|| {
            PackageError::Other(format!(
                "`{}` does not name a directory to create",
                dir.display()
            ))
        })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|e| PackageError::io("cannot create directory", &parent, e))?;
    remove_stale_temps(&parent, &name);
    let temp = TempDir {
        path: parent.join(format!(
            ".{name}.pkg-tmp-{}-{}",
            std::process::id(),
            &store::new_id()[..8]
        )),
        keep: false,
    };
    std::fs::create_dir(&temp.path)
        .map_err(|e| PackageError::io("cannot create directory", &temp.path, e))?;

    let tx = hub.read()?;
    for space in &options.spaces {
        store::require(&tx, &ResourceKey::space(space))?;
    }
    let requested: Vec<Option<&str>> = if options.spaces.is_empty() {
        vec![None]
    } else {
        let unique: BTreeSet<&str> = options.spaces.iter().map(String::as_str).collect();
        unique.into_iter().map(Some).collect()
    };
    let link_root = match &options.link_dest {
        None => None,
        Some(prev) => Some(LinkSource::check(prev)?),
    };
    let mut writer = Writer {
        root: temp.path.clone(),
        linking: link_root.is_some(),
        digests: Vec::new(),
        sink: FileSink::start(link_root),
    };
    progress.phase("writing units", store::count(&tx, ResourceKind::Unit)?);
    let mut selection = Selection {
        conn: &tx,
        closure: options.closure,
        included: HashSet::new(),
        pending: Vec::new(),
        entries: Vec::new(),
        newest: String::new(),
    };
    write_selected_units(&mut selection, options, &requested, &mut writer, progress)?;
    let selected_spaces: BTreeSet<String> = selection
        .entries
        .iter()
        .map(|e| e.key.space.clone())
        .collect();
    // Outgoing links of the selected units.
    for space in &selected_spaces {
        for link in store::list(&tx, ResourceKind::Link, Some(space))? {
            let outgoing = link
                .reference(RefField::FromUnit)
                .is_some_and(|r| selection.included.contains(&r.to));
            if outgoing && selection.included.insert(link.key.clone()) {
                selection.write(&mut writer, &link, None)?;
            }
        }
    }
    for space in &options.spaces {
        selection.want(&ResourceKey::space(space));
    }
    selection.drain(&mut writer)?;
    let external = selection.external();
    let created_at = if options.created_at_from_hub && !selection.newest.is_empty() {
        selection.newest.clone()
    } else {
        crate::time::source_date_rfc3339()
    };
    let entries = selection.entries;
    drop(tx);

    let mut counts = BTreeMap::new();
    for entry in &entries {
        *counts.entry(entry.key.kind).or_insert(0) += 1;
    }
    let mut environments = Vec::new();
    for env in &options.environments {
        for file in &env.files {
            let path = env.dir.join(file);
            let bytes = open_file(&path, true)
                .map_err(|e| PackageError::io("cannot read", &path, e))
                .and_then(|f| {
                    read_file_capped(f, MAX_FILE_BYTES).map_err(|e| {
                        PackageError::Other(format!("cannot read `{}`: {e}", path.display()))
                    })
                })?;
            writer.write(&format!("{ENVIRONMENTS_DIR}/{}/{file}", env.name), bytes)?;
        }
        environments.push(Environment::new(&env.name, &env.backend, &env.files).to_value());
    }
    let manifest = Manifest {
        format: Some(FORMAT_VERSION),
        name: Some(options.name.clone().unwrap_or(name)),
        version: options.version.clone(),
        description: options.description.clone(),
        created_at: Some(created_at),
        entries,
        environments,
        ..Manifest::default()
    };
    let mut digests = std::mem::take(&mut writer.digests);
    digests.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    writer.sink.finish()?;
    let mut linked = writer.sink.linked();
    let manifest_path = temp.path.join(MANIFEST_FILE);
    // With --link-dest, a manifest equal to PREV's is linked, never written.
    let digest = match writer.sink.link_source() {
        Some(source) => {
            let digest = manifest_digest(&manifest, &digests)
                .map_err(|e| PackageError::io("cannot write", &manifest_path, e))?;
            if link_manifest(source, &digest, &manifest_path) {
                linked += 1;
                Some(digest)
            } else {
                None
            }
        }
        None => None,
    };
    let digest = match digest {
        Some(digest) => digest,
        None => write_manifest_file(&manifest_path, &manifest, &digests)
            .map_err(|e| PackageError::io("cannot write", &manifest_path, e))?,
    };
    drop((manifest, digests));

    progress.phase("finishing", 0);
    move_into_place(&temp.path, dir, options.force)?;
    let mut temp = temp;
    temp.keep = true;

    let tx = hub.write()?;
    let now = crate::time::now_rfc3339();
    let source = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let entry_id = history::record(
        &tx,
        history::Action::Create,
        &NewEntry {
            source: source.display().to_string(),
            digest: digest.clone(),
            name: options.name.clone().unwrap_or_default(),
            version: options.version.clone().unwrap_or_default(),
            ..NewEntry::default()
        },
        &now,
    )?;
    let total = counts.values().sum();
    history::set_counts(
        &tx,
        entry_id,
        &history::Counts {
            created: total,
            ..history::Counts::default()
        },
    )?;
    tx.commit().map_err(HubError::from)?;
    progress.finish();
    Ok(CreateOutcome {
        dir: dir.to_path_buf(),
        digest,
        counts,
        entry_id,
        external,
        linked,
    })
}

/// Hard-links PREV's manifest to `path` when it has `digest`, the digest of
/// the manifest this package would write (an unchanged hub, same options).
fn link_manifest(source: &LinkSource, digest: &str, path: &Path) -> bool {
    parse_digest(digest).is_some_and(|d| source.manifest_is(&d))
        && std::fs::hard_link(source.root().join(MANIFEST_FILE), path).is_ok()
}

/// Renames the finished temporary directory to `dir`, replacing an empty or
/// (when forced) existing directory.
fn move_into_place(temp: &Path, dir: &Path, force: bool) -> Result<(), PackageError> {
    match std::fs::rename(temp, dir) {
        Ok(()) => return Ok(()),
        // Another process filled `dir` since it was checked.
        Err(_) if !force => return Err(PackageError::NotEmpty(dir.to_path_buf())),
        Err(_) => {}
    }
    // `dir` exists and is not empty, and --force replaces it.
    let old = dir.with_file_name(format!(
        ".{}.pkg-old-{}",
        dir.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::rename(dir, &old).map_err(|e| PackageError::io("cannot move aside", dir, e))?;
    if let Err(e) = std::fs::rename(temp, dir) {
        let _ = std::fs::rename(&old, dir);
        return Err(PackageError::io("cannot move package into", dir, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
