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
use crate::filter::WhereFilter;
use crate::hub::history::{self, NewEntry};
use crate::hub::subject::{IdLookup, ResourceSubject};
use crate::hub::{Hub, HubError, HubResource, store};
use crate::manifest::environment::{ENVIRONMENTS_DIR, Environment};
use crate::manifest::limits::{MAX_FILE_BYTES, read_file_capped};
use crate::manifest::paths::open_file;
use crate::manifest::types::FORMAT_VERSION;
use crate::manifest::write::write_manifest;
use crate::manifest::{Entry, MANIFEST_FILE, Manifest};
use crate::model::details::{data_extension, str_field};
use crate::model::fingerprint::hex;
use crate::model::{RefField, Reference, ResourceKey, ResourceKind};
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
}

/// Writes files under a temporary root and records their digests.
struct Writer {
    root: PathBuf,
    digests: Vec<(String, [u8; 32])>,
    sink: FileSink,
}

impl Writer {
    fn write(&mut self, loc: &str, bytes: Vec<u8>) -> Result<(), PackageError> {
        let mut path = self.root.clone();
        path.extend(loc.trim_start_matches('/').split('/'));
        self.digests
            .push((loc.to_string(), Sha256::digest(&bytes).into()));
        self.sink.write(&path, bytes)
    }

    fn write_details(&mut self, resource: &HubResource) -> Result<Entry, PackageError> {
        let key = &resource.key;
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
    let mut iter = digests
        .iter()
        .map(|(loc, d)| (loc.clone(), format!("sha256:{}", hex(d))));
    write_manifest(&mut out, manifest, Some(&mut iter))?;
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

fn units_matching(
    conn: &Connection,
    options: &CreateOptions,
    spaces: &[Option<&str>],
    writer: &mut Writer,
    progress: &dyn Progress,
) -> Result<Vec<Entry>, PackageError> {
    let ids = IdLookup::new(conn);
    let mut entries = Vec::new();
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
                let mut entry = writer.write_details(&unit)?;
                let ext = data_extension(str_field(&unit.details, "ToolchainType"));
                let loc = format!("/units/{}/{}.data{ext}", unit.key.space, unit.key.slug);
                writer.write(&loc, data.unwrap_or_default())?;
                entry.unit_data_loc = Some(loc);
                entries.push(entry);
                progress.advance(1);
                Ok(())
            },
        )?;
    }
    Ok(entries)
}

/// The resources `refs` point at through `field`.
fn referenced(refs: &[Reference], field: RefField) -> impl Iterator<Item = ResourceKey> + '_ {
    refs.iter()
        .filter(move |r| r.field == field)
        .map(|r| r.to.clone())
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
    let mut writer = Writer {
        root: temp.path.clone(),
        digests: Vec::new(),
        sink: FileSink::start(),
    };
    progress.phase("writing units", store::count(&tx, ResourceKind::Unit)?);
    let mut entries = units_matching(&tx, options, &requested, &mut writer, progress)?;

    let mut spaces: BTreeSet<String> = options.spaces.iter().cloned().collect();
    let unit_keys: HashSet<ResourceKey> = entries.iter().map(|e| e.key.clone()).collect();
    let mut targets = BTreeSet::new();
    for entry in &entries {
        spaces.insert(entry.key.space.clone());
        targets.extend(referenced(&entry.refs, RefField::Target));
    }
    let mut workers = BTreeSet::new();
    for key in &targets {
        if let Some(target) = store::get(&tx, key)? {
            spaces.insert(key.space.clone());
            workers.extend(referenced(&target.refs, RefField::Worker));
            entries.push(writer.write_details(&target)?);
        }
    }
    for key in &workers {
        if let Some(worker) = store::get(&tx, key)? {
            spaces.insert(key.space.clone());
            entries.push(writer.write_details(&worker)?);
        }
    }
    let unit_spaces: BTreeSet<&str> = unit_keys.iter().map(|k| k.space.as_str()).collect();
    for space in unit_spaces {
        for link in store::list(&tx, ResourceKind::Link, Some(space))? {
            let outgoing = link
                .reference(RefField::FromUnit)
                .is_some_and(|r| unit_keys.contains(&r.to));
            if outgoing {
                entries.push(writer.write_details(&link)?);
            }
        }
    }
    let space_level = [
        ResourceKind::Filter,
        ResourceKind::View,
        ResourceKind::Tag,
        ResourceKind::Invocation,
        ResourceKind::Trigger,
        ResourceKind::Attribute,
    ];
    for space in &spaces {
        if let Some(resource) = store::get(&tx, &ResourceKey::space(space))? {
            entries.push(writer.write_details(&resource)?);
        }
        for kind in space_level {
            for resource in store::list(&tx, kind, Some(space))? {
                entries.push(writer.write_details(&resource)?);
            }
        }
    }
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
        created_at: Some(crate::time::source_date_rfc3339()),
        entries,
        environments,
        ..Manifest::default()
    };
    let mut digests = std::mem::take(&mut writer.digests);
    digests.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    writer.sink.finish()?;
    let manifest_path = temp.path.join(MANIFEST_FILE);
    let digest = write_manifest_file(&manifest_path, &manifest, &digests)
        .map_err(|e| PackageError::io("cannot write", &manifest_path, e))?;
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
    })
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
