//! Creating a package from the hub (`pkg create`): select units by space and
//! where-expression, add their spaces, targets, workers and outgoing links and
//! the filters, views and other space-level resources of every space touched,
//! and write the v1 layout with digests. The package is written beside the
//! destination and renamed into place, so it appears complete or not at all.
//! Units are streamed one at a time; unit data is never all in memory,
//! except in the export a sync builds in memory to send at once
//! ([`export_package`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::filter::WhereFilter;
use crate::hub::history::{self, NewEntry};
use crate::hub::{Hub, HubError, store};
use crate::manifest::environment::{ENVIRONMENTS_DIR, Environment};
use crate::manifest::limits::{MAX_FILE_BYTES, read_file_capped};
use crate::manifest::paths::open_file;
use crate::manifest::types::Digests;
use crate::manifest::types::FORMAT_VERSION;
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::model::fingerprint::sha256_digest;
use crate::model::{RefField, ResourceKey, ResourceKind};
use crate::package::error::PackageError;
use crate::package::file_sink::FileSink;
use crate::package::link_source::LinkSource;
use crate::package::read::{Package, built_memory_package};
use crate::progress::Progress;

pub mod destination;
mod memory_sink;
mod package_writer;
mod selection;

use self::destination::Staged;
use self::memory_sink::MemorySink;
use self::package_writer::{
    Output, Writer, link_manifest, manifest_digest, write_manifest_entries, write_manifest_file,
};
use self::selection::{Selection, write_selected_units};

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
    /// Record no history entry (an export a sync makes for itself); the
    /// outcome's `entry_id` is then 0.
    pub unrecorded: bool,
}

impl CreateOptions {
    /// The export a sync makes of `spaces` (all when empty) and the units
    /// `filter` matches: named `sync`, `created_at` from the hub (so an
    /// unchanged selection gives the same manifest), and unrecorded.
    pub fn for_sync(spaces: Vec<String>, filter: Option<WhereFilter>) -> CreateOptions {
        CreateOptions {
            spaces,
            filter,
            name: Some("sync".into()),
            created_at_from_hub: true,
            unrecorded: true,
            ..CreateOptions::default()
        }
    }
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

/// Writes the package selected by `options` from `hub` into `dir`.
pub fn create(
    hub: &mut Hub,
    dir: &Path,
    options: &CreateOptions,
    progress: &dyn Progress,
) -> Result<CreateOutcome, PackageError> {
    let staged = Staged::start(dir, options.force)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let link_root = match &options.link_dest {
        None => None,
        Some(prev) => Some(LinkSource::check(prev)?),
    };
    let mut writer = Writer {
        digests: Vec::new(),
        out: Output::Dir {
            root: staged.path().to_path_buf(),
            linking: link_root.is_some(),
            sink: FileSink::start(link_root),
        },
    };
    let Built {
        manifest,
        digests,
        counts,
        external,
    } = build(hub, options, &name, &mut writer, progress)?;
    let Output::Dir { mut sink, .. } = writer.out else {
        return Err(PackageError::Other(
            "the export was not to a directory".into(),
        ));
    };
    sink.finish()?;
    let mut linked = sink.linked();
    let manifest_path = staged.path().join(MANIFEST_FILE);
    // With --link-dest, a manifest equal to PREV's is linked, never written.
    let digest = match sink.link_source() {
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
    staged.finish()?;

    if options.unrecorded {
        progress.finish();
        return Ok(CreateOutcome {
            dir: dir.to_path_buf(),
            digest,
            counts,
            entry_id: 0,
            external,
            linked,
        });
    }
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

/// What the selection gave: the manifest (without digests), every file's
/// digest, and what the outcome reports.
struct Built {
    manifest: Manifest,
    digests: Vec<(String, [u8; 32])>,
    counts: BTreeMap<ResourceKind, u64>,
    external: Vec<ExternalRef>,
}

/// Selects what `options` ask for in `hub` and writes it through `writer`;
/// the package is named `default_name` unless the options name it.
fn build(
    hub: &mut Hub,
    options: &CreateOptions,
    default_name: &str,
    writer: &mut Writer,
    progress: &dyn Progress,
) -> Result<Built, PackageError> {
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
    progress.phase("writing units", store::count(&tx, ResourceKind::Unit)?);
    let mut selection = Selection {
        conn: &tx,
        closure: options.closure,
        included: HashSet::new(),
        pending: Vec::new(),
        entries: Vec::new(),
        newest: String::new(),
    };
    write_selected_units(&mut selection, options, &requested, writer, progress)?;
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
                selection.write(writer, &link, None)?;
            }
        }
    }
    for space in &options.spaces {
        selection.want(&ResourceKey::space(space));
    }
    selection.drain(writer)?;
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
        name: Some(
            options
                .name
                .clone()
                .unwrap_or_else(|| default_name.to_string()),
        ),
        version: options.version.clone(),
        description: options.description.clone(),
        created_at: Some(created_at),
        entries,
        environments,
        ..Manifest::default()
    };
    let mut digests = std::mem::take(&mut writer.digests);
    digests.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(Built {
        manifest,
        digests,
        counts,
        external,
    })
}

/// Builds the package selected by `options` from `hub` in memory, with
/// manifest.json and its digests, as [`create`] would write it (nothing
/// recorded), and returns it checked, its digests taken as written: the
/// package a sync sends.
pub fn export_package(
    hub: &mut Hub,
    options: &CreateOptions,
    progress: &dyn Progress,
) -> Result<Package, PackageError> {
    let mut writer = Writer {
        digests: Vec::new(),
        out: Output::Memory(MemorySink::start()),
    };
    let mut built = build(hub, options, "package", &mut writer, progress)?;
    let Output::Memory(sink) = writer.out else {
        return Err(PackageError::Other("the export was not in memory".into()));
    };
    let (mut tree, mut digests) = sink.finish()?;
    digests.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    built.digests = digests;
    let mut bytes = Vec::new();
    write_manifest_entries(&mut bytes, &built.manifest, &built.digests)
        .map_err(|e| PackageError::Other(format!("cannot write the manifest: {e}")))?;
    let digest = sha256_digest(&bytes);
    tree.insert(MANIFEST_FILE.to_string(), bytes);
    built.manifest.digests = Some(Digests::new(
        built
            .digests
            .into_iter()
            .map(|(loc, d)| (loc.into_boxed_str(), d))
            .collect(),
    ));
    built_memory_package(tree, built.manifest, digest, Path::new("export"), progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::load::{LoadOptions, load};
    use crate::package::read::read_package;
    use crate::progress::NoProgress;

    /// The package a sync builds in memory is the one `create` writes and
    /// `read_package` reads back: same digest, items, spaces and references.
    #[test]
    fn the_memory_export_is_the_written_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut hub = Hub::open(&dir.path().join("hub.db")).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cub-full");
        let package = read_package(&fixture, &NoProgress).unwrap();
        load(&mut hub, &package, &LoadOptions::default(), &NoProgress).unwrap();

        let options = CreateOptions::for_sync(Vec::new(), None);
        let out = dir.path().join("out");
        create(&mut hub, &out, &options, &NoProgress).unwrap();
        let written = read_package(&out, &NoProgress).unwrap();
        let memory = export_package(&mut hub, &options, &NoProgress).unwrap();

        assert!(!memory.items.is_empty());
        assert_eq!(memory.digest, written.digest);
        assert_eq!(memory.manifest_digest, written.manifest_digest);
        assert_eq!(memory.spaces, written.spaces);
        assert_eq!(memory.outside, written.outside);
        assert_eq!(memory.has_digests, written.has_digests);
        assert_eq!(memory.files(), written.files());
        for (m, w) in memory.items.iter().zip(&written.items) {
            assert_eq!(
                (&m.key, &m.refs, &m.details_loc, &m.data_loc),
                (&w.key, &w.refs, &w.details_loc, &w.data_loc)
            );
            assert_eq!(
                (m.details_digest, m.data_digest),
                (w.details_digest, w.data_digest)
            );
            assert_eq!(
                memory.read_details(m, &m.key.slug).unwrap(),
                written.read_details(w, &w.key.slug).unwrap()
            );
            assert_eq!(memory.read_data(m).unwrap(), written.read_data(w).unwrap());
        }
        assert_eq!(memory.items.len(), written.items.len());
        assert_eq!(memory.unlisted_files(), Vec::<String>::new());
    }
}
