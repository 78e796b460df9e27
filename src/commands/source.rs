//! Opening a source for a command: the settings from the environment and
//! `--offline`, fetching (a `NAME[@REQ]` that is no path from the
//! configured package sources, for `load` and `diff`), reading the
//! package, and the `--locked` check. Owns [`SourceArgs`], the argument of
//! `pkg validate`.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use semver::VersionReq;

use super::Context;
use super::sources::MergeArgs;
use crate::loaders::lock::LockFile;
use crate::loaders::lock::LockedPackage;
use crate::loaders::{self, Fetched, Source};
use crate::model::slug::escape;
use crate::package::{Package, read_package};
use crate::progress::Progress;
use crate::signing::{self, Signer, trust::Trust};
use crate::source_settings::SourceSettings;
use crate::sources;
use crate::sources::resolve::{Resolution, Resolved, resolve};

/// A package source.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The package: a directory, an archive (.tar.gz, .tgz, .zip), an http(s) URL, a GitHub URL, github:OWNER/REPO/PATH@REF, or git+https://HOST/REPO.git//PATH@REF
    pub source: String,
}

/// A fetched and checked package. The fetched directory (a temporary one
/// for remote sources) lives as long as this.
pub struct Opened {
    /// The package.
    pub package: Package,
    /// Where it came from; holds the temporary directory.
    pub fetched: Fetched,
    /// For `NAME@REQ` resolved through the sources: every package of the
    /// graph, as a lock file pins it.
    pub resolved: Vec<LockedPackage>,
    /// Who signed the package, when a key had to verify it (for a graph of
    /// several packages, each one's signer is in `resolved`).
    pub signer: Option<Signer>,
}

/// What [`Context::open_from`] opens a source with.
#[derive(Default, Clone, Copy)]
pub struct OpenRequest<'a> {
    /// The registry remote a `NAME[@REQ]` comes from.
    pub registry: Option<&'a str>,
    /// How the configured sources resolve a `NAME[@REQ]` (`None`: they
    /// are not asked).
    pub merge: Option<&'a MergeArgs>,
    /// The lock file the package must match.
    pub locked: Option<&'a Path>,
    /// A public key that must have signed the package (`--verify-with`),
    /// on top of the config's `[trust]` keys.
    pub verify_with: Option<&'a str>,
    /// Skip the `--verify-with` and `[trust]` check: for commands that
    /// only show a package and write nothing (`pkg inspect`).
    pub read_only: bool,
}

/// The requirement `--verify-with` and the config's `[trust]` keys make:
/// none without keys.
pub fn trusted(verify_with: Option<&str>) -> Result<Trust> {
    let config = crate::config::load()?;
    let keys = verify_with
        .into_iter()
        .chain(config.trust.keys.iter().map(String::as_str))
        .map(|k| signing::read_public_key(k).with_context(|| format!("reading trusted key `{k}`")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Trust::none().require(
        "a signature by a trusted key (--verify-with or [trust] keys) is required",
        keys,
    ))
}

/// The requirement a lock file's pinned signer makes: none without one.
fn pinned_signer(
    lock: &Path,
    label: &str,
    signer: Option<&str>,
    key: Option<&str>,
) -> Result<Trust> {
    let why = || {
        format!(
            "lock file `{}` pins {label} to signer {}",
            lock.display(),
            signer.unwrap_or("(unnamed)")
        )
    };
    let Some(key) = key else {
        // A key ID locked without its key (nothing verified it then): the
        // signature must still name it.
        return Ok(match signer {
            Some(id) => Trust::none().require_claimed(why(), id),
            None => Trust::none(),
        });
    };
    let pk = signing::read_public_key(key)
        .with_context(|| format!("lock file `{}`: the signer key of {label}", lock.display()))?;
    Ok(Trust::none().require(why(), vec![pk]))
}

impl Context {
    /// The source settings: environment plus `--offline`.
    pub fn source_settings(&self) -> Result<SourceSettings> {
        let mut settings = SourceSettings::from_env(self.offline)?;
        settings.oci_plain_http = self.plain_http;
        Ok(settings)
    }

    /// Fetches `source` (without reading the package).
    pub fn fetch(&self, source: &str, progress: &dyn Progress) -> Result<Fetched> {
        let settings = self.source_settings()?;
        let fetched = loaders::resolve(source, &settings)?
            .fetch(progress)
            .with_context(|| format!("cannot load `{}`", crate::model::slug::escape(source)))?;
        Ok(fetched)
    }

    /// Fetches `NAME@REQ` from the registry remote `registry`.
    pub fn fetch_from_registry(
        &self,
        spec: &str,
        registry: &str,
        progress: &dyn Progress,
    ) -> Result<Fetched> {
        let source = crate::loaders::registry_source::RegistrySource::new(spec, registry)?;
        source
            .fetch(progress)
            .with_context(|| format!("cannot load `{}` from registry `{registry}`", escape(spec)))
    }

    /// Fetches and reads `source`, from the registry remote
    /// `request.registry` when given (`source` is then `NAME[@REQ]`), or
    /// through the configured sources when `request.merge` is given and
    /// `source` reads as `NAME[@REQ]`. Refuses, before anything is
    /// returned, a package whose signature a required key does not verify
    /// (`--verify-with`, `[trust]`, the source's `require_signature`, the
    /// lock file's signer) and, with `request.locked`, content that
    /// differs from the lock file's entry for it.
    pub fn open_from(
        &self,
        source: &str,
        request: OpenRequest<'_>,
        progress: &dyn Progress,
    ) -> Result<Opened> {
        let locked = request.locked;
        let lock = locked.map(LockFile::read).transpose()?;
        let mut entry = None;
        if let (Some(lock), Some(path)) = (&lock, locked) {
            // An unpinned source is refused before any network access.
            entry = Some(lock.entry(path, source)?);
        }
        let trusted = if request.read_only {
            Trust::none()
        } else {
            trusted(request.verify_with)?
        };
        let pinned = entry
            .map(|e| e.resolved.as_slice())
            .filter(|r| !r.is_empty());
        let from_sources = match request.registry {
            Some(_) => None,
            None => self.open_from_sources(
                source,
                request.merge,
                pinned.map(|p| (p, locked.unwrap_or(Path::new("pkg.lock")))),
                &trusted,
                progress,
            )?,
        };
        let opened = match (from_sources, request.registry) {
            (Some(opened), _) => opened,
            (None, registry) => {
                let fetched = match registry {
                    Some(registry) => self.fetch_from_registry(source, registry, progress)?,
                    None => self.fetch(source, progress)?,
                };
                let lock_trust = match (entry, locked) {
                    (Some(e), Some(path)) => pinned_signer(
                        path,
                        &escape(source),
                        e.signer.as_deref(),
                        e.signer_key.as_deref(),
                    )?,
                    _ => Trust::none(),
                };
                if let (Some(lock), Some(path)) = (&lock, locked) {
                    lock.check_commit(path, source, fetched.commit.as_deref())?;
                }
                let trust = trusted.and(&lock_trust);
                if !trust.is_empty() {
                    progress.phase("verifying signature", 0);
                }
                let refused = || format!("cannot load `{}`; nothing was loaded", escape(source));
                let signer = trust.check(&fetched.dir).with_context(refused)?;
                let package = read_package(&fetched.dir, progress)?;
                if let Some(signer) = &signer {
                    signer
                        .vouches_for(&package.signed_view(), &fetched.asked)
                        .with_context(refused)?;
                }
                Opened {
                    package,
                    fetched,
                    resolved: Vec::new(),
                    signer,
                }
            }
        };
        if let (Some(lock), Some(path)) = (&lock, locked) {
            lock.check(
                path,
                source,
                opened.fetched.commit.as_deref(),
                &opened.package.digest,
            )?;
        }
        Ok(opened)
    }

    /// `NAME[@REQ]` resolved in the configured sources with its
    /// dependencies, when `source` is no existing path, reads as
    /// `NAME[@REQ]` and a source is enabled (`merge` given, as by `load`
    /// and `diff`): the package (every package of the graph combined, to
    /// load in one transaction). `None` leaves `source` to the loaders.
    ///
    /// With `pinned` (a lock file's graph for `source`), exactly those
    /// versions are loaded from those sources, never re-resolved.
    fn open_from_sources(
        &self,
        source: &str,
        merge: Option<&MergeArgs>,
        pinned: Option<(&[LockedPackage], &Path)>,
        trusted: &Trust,
        progress: &dyn Progress,
    ) -> Result<Option<Opened>> {
        let Some(merge) = merge else {
            return Ok(None);
        };
        let Some((name, req)) = name_and_req(source) else {
            return Ok(None);
        };
        if Path::new(source).exists() {
            return Ok(None);
        }
        let all = sources::list()?;
        if all.iter().all(|s| !s.enabled) {
            return Ok(None);
        }
        let merged = merge.merged(self)?;
        let strategy = merge.strategy()?;
        let (resolution, reason) = match pinned {
            Some((pinned, _)) => (
                pinned_graph(&merged, &name, pinned)?,
                "pinned by the lock file".to_string(),
            ),
            None => {
                // No version of the name itself: say what each source holds.
                let chosen = merged
                    .choose(&name, &req, strategy)
                    .map_err(|e| anyhow::anyhow!("cannot load `{}`: {e}", escape(source)))?;
                let resolution = resolve(&merged, strategy, &[(name.clone(), req.clone())])
                    .map_err(|e| anyhow::anyhow!("cannot resolve `{}`: {e}", escape(source)))?;
                let reason = match resolution.packages.get(&name) {
                    Some(root) if chosen.entry.version == root.entry.version => chosen.reason,
                    _ => "the highest version whose dependencies can be met".into(),
                };
                (resolution, reason)
            }
        };
        let Some(root) = resolution.packages.get(&name) else {
            bail!("cannot resolve `{}`", escape(source));
        };
        self.printer.status(&format!(
            "Resolved {source} to {} {} from source `{}` ({reason})",
            root.entry.name, root.entry.version, root.entry.source
        ));
        let deps: Vec<String> = resolution
            .load_order()
            .iter()
            .filter(|r| r.entry.name != name)
            .map(|r| format!("{} {} ({})", r.entry.name, r.entry.version, r.entry.source))
            .collect();
        if !deps.is_empty() {
            self.printer.status(&format!(
                "With its dependencies, loaded in the same transaction: {}",
                deps.join(", ")
            ));
        }
        let settings = self.source_settings()?;
        let trust_for = |entry: &sources::IndexEntry| -> Result<Trust, sources::SourceError> {
            let locked = pinned.and_then(|(packages, path)| {
                packages
                    .iter()
                    .find(|p| p.name == entry.name)
                    .map(|p| (p, path))
            });
            let lock_trust = match locked {
                Some((p, path)) => pinned_signer(
                    path,
                    &format!("{}@{}", p.name, p.version),
                    p.signer.as_deref(),
                    p.signer_key.as_deref(),
                )
                .map_err(|e| sources::SourceError::Invalid(format!("{e:#}")))?,
                None => Trust::none(),
            };
            Ok(trusted.clone().and(&lock_trust))
        };
        let graph = sources::fetch::open_graph(&resolution, &all, &settings, &trust_for, progress)
            .with_context(|| format!("cannot load `{}`", escape(source)))?;
        let signer = graph.signers.get(&name).cloned();
        let fetched = match graph.fetched {
            Some(mut fetched) => {
                fetched.origin = graph.origin;
                fetched
            }
            None => Fetched {
                dir: std::path::PathBuf::new(),
                origin: graph.origin,
                commit: None,
                temp: None,
                asked: crate::signing::Asked::nothing(),
            },
        };
        let resolved = resolution
            .load_order()
            .iter()
            .map(|r| {
                let signer = graph.signers.get(&r.entry.name);
                LockedPackage {
                    name: r.entry.name.clone(),
                    version: r.entry.version.to_string(),
                    source: r.entry.source.clone(),
                    digest: r.entry.digest.clone(),
                    commit: git_commit(&all, &r.entry),
                    signer: graph.claimed.get(&r.entry.name).cloned(),
                    signer_key: signer.map(|s| s.public_key.clone()),
                }
            })
            .collect();
        Ok(Some(Opened {
            package: graph.package,
            fetched,
            resolved,
            signer,
        }))
    }
}

/// `NAME[@REQ]` as a package name and a semver requirement (`*` without
/// one), when `text` reads as one.
fn name_and_req(text: &str) -> Option<(String, VersionReq)> {
    super::sources::parse_request(text).ok()
}

/// The graph a lock file pins for `root`: each locked package looked up in
/// its source's index, which must still list it with the locked digest.
fn pinned_graph(
    merged: &sources::MergedIndex,
    root: &str,
    pinned: &[LockedPackage],
) -> Result<Resolution> {
    let mut packages = std::collections::BTreeMap::new();
    for locked in pinned {
        let entry = merged
            .entries
            .iter()
            .find(|e| {
                e.name == locked.name
                    && e.version.to_string() == locked.version
                    && e.source == locked.source
            })
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the lock file pins {} {} from source `{}`, which no longer lists it; nothing was loaded. Run `pkg lock` again to re-resolve",
                    locked.name,
                    locked.version,
                    locked.source
                )
            })?;
        if let Some(commit) = &locked.commit
            && sources::revision_of(entry) != Some(commit.as_str())
        {
            bail!(
                "{} {} in source `{}` is now at commit {}, the lock file has {commit} (was a tag moved?); nothing was loaded",
                locked.name,
                locked.version,
                locked.source,
                sources::revision_of(entry).unwrap_or("(none)")
            );
        }
        if !entry.digest.is_empty() && entry.digest != locked.digest {
            bail!(
                "{} {} in source `{}` has digest {}, the lock file has {}; nothing was loaded. If the change is expected, run `pkg lock` again",
                locked.name,
                locked.version,
                locked.source,
                entry.digest,
                locked.digest
            );
        }
        packages.insert(
            locked.name.clone(),
            Resolved {
                entry: entry.clone(),
                dependencies: entry
                    .dependencies
                    .keys()
                    .filter(|d| pinned.iter().any(|p| &p.name == *d))
                    .cloned()
                    .collect(),
            },
        );
    }
    Ok(Resolution {
        roots: vec![root.to_string()],
        packages,
    })
}

/// The commit `entry` pins when it comes from a git source.
fn git_commit(all: &[sources::Source], entry: &sources::IndexEntry) -> Option<String> {
    let source = all.iter().find(|s| s.name == entry.source)?;
    match source.kind {
        sources::SourceKind::Git => sources::git::commit_of(entry).map(str::to_string),
        sources::SourceKind::Oci => sources::oci::manifest_of(entry).map(str::to_string),
        _ => None,
    }
}
