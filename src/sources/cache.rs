//! The cache of remote sources' indexes: one file per source under
//! `<cache dir>/indexes/` (postcard, a compact binary serde format read
//! without copying: a warm command reads tens of thousands of entries and
//! builds only those it wants), named after the source and its location,
//! and fresh for a TTL (`[index] ttl`, default 5 minutes). A fresh cache
//! answers without the network; `--refresh` asks again; `--offline` uses
//! the cache whatever its age; and a source that fails serves its cache
//! however old, with a warning (stale-on-error).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::borrow::Cow;

use super::{IndexEntry, Source, SourceIndex, Wanted};
use crate::model::fingerprint::hex;

/// How long a cached index is fresh unless `[index] ttl` says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// When to ask the source rather than the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// How long a cached index is fresh.
    pub ttl: Duration,
    /// Ask the source even when the cache is fresh (`--refresh`).
    pub refresh: bool,
    /// Never ask the source (`--offline`).
    pub offline: bool,
}

impl Default for CachePolicy {
    fn default() -> CachePolicy {
        CachePolicy {
            ttl: DEFAULT_TTL,
            refresh: false,
            offline: false,
        }
    }
}

/// A cached index as stored: its strings are borrowed from the file's
/// bytes when read, so entries a command does not want cost no copy.
#[derive(Debug, Serialize, Deserialize)]
struct Stored<'a> {
    /// The source's location when it was fetched (a changed location is
    /// another file, but the check costs nothing).
    location: &'a str,
    /// Seconds since the Unix epoch.
    fetched_at: u64,
    #[serde(borrow)]
    entries: Vec<StoredEntry<'a>>,
    /// What the source left out, said again with every cached answer.
    warnings: Vec<String>,
}

/// One entry as stored, borrowing from an [`IndexEntry`] when written and
/// from the file's bytes when read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredEntry<'a> {
    name: &'a str,
    #[serde(borrow)]
    version: Cow<'a, str>,
    min_level: u8,
    #[serde(borrow)]
    dependencies: Vec<(&'a str, &'a str)>,
    digest: &'a str,
    description: &'a str,
    locator: &'a str,
}

impl<'a> StoredEntry<'a> {
    /// `entry` as stored.
    pub(super) fn of(e: &'a IndexEntry) -> StoredEntry<'a> {
        StoredEntry {
            name: &e.name,
            version: Cow::Owned(e.version.to_string()),
            min_level: e.min_level,
            dependencies: e
                .dependencies
                .iter()
                .map(|(n, r)| (n.as_str(), r.as_str()))
                .collect(),
            digest: &e.digest,
            description: &e.description,
            locator: &e.locator,
        }
    }

    /// Whether the command wants this entry.
    pub(super) fn wanted(&self, wanted: &Wanted) -> bool {
        wanted.accepts(self.name, self.description)
    }

    /// The entry of `source` this stores (`None` for an unreadable version).
    pub(super) fn entry(&self, source: &str) -> Option<IndexEntry> {
        let version = semver::Version::parse(&self.version).ok()?;
        Some(IndexEntry {
            source: source.to_string(),
            name: self.name.to_string(),
            version,
            min_level: self.min_level,
            dependencies: self
                .dependencies
                .iter()
                .map(|(n, r)| ((*n).to_string(), (*r).to_string()))
                .collect(),
            digest: self.digest.to_string(),
            description: self.description.to_string(),
            locator: self.locator.to_string(),
        })
    }
}

/// The entries of `stored` that are `wanted`, as `source`'s, into `index`.
pub(super) fn take_wanted<'e>(
    stored: impl IntoIterator<Item = &'e StoredEntry<'e>>,
    source: &str,
    wanted: &Wanted,
    index: &mut SourceIndex,
) {
    for e in stored {
        if !e.wanted(wanted) {
            index.unwanted += 1;
        } else if let Some(entry) = e.entry(source) {
            index.entries.push(entry);
        }
    }
}

/// Where `source`'s index is cached.
pub fn path_for(cache_dir: &Path, source: &Source) -> PathBuf {
    let key = hex(&Sha256::digest(source.location.as_bytes()))[..16].to_string();
    cache_dir
        .join("indexes")
        .join(format!("{}-{key}.v2.bin", source.name))
}

/// The cached index of `source` (its entries `wanted`) and its age, if
/// there is a readable one.
pub fn read(cache_dir: &Path, source: &Source, wanted: &Wanted) -> Option<(SourceIndex, Duration)> {
    let bytes = std::fs::read(path_for(cache_dir, source)).ok()?;
    let stored: Stored = postcard::from_bytes(&bytes).ok()?;
    if stored.location != source.location {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let age = Duration::from_secs(now.saturating_sub(stored.fetched_at));
    let mut index = SourceIndex {
        warnings: stored.warnings,
        ..SourceIndex::default()
    };
    take_wanted(&stored.entries, &source.name, wanted, &mut index);
    Some((index, age))
}

/// Stores `index` as `source`'s cached index (best effort: a cache that
/// cannot be written only costs a later fetch).
pub fn write(cache_dir: &Path, source: &Source, index: &SourceIndex) {
    let stored = Stored {
        location: &source.location,
        fetched_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        entries: index.entries.iter().map(StoredEntry::of).collect(),
        warnings: index.warnings.clone(),
    };
    write_stored(&path_for(cache_dir, source), &stored);
}

/// Writes `value` (postcard) at `path` atomically (best effort: a cache
/// that cannot be written only costs a later read).
pub(super) fn write_stored(path: &Path, value: &impl Serialize) {
    let Some(parent) = path.parent() else {
        return;
    };
    let Ok(bytes) = postcard::to_allocvec(value) else {
        return;
    };
    if std::fs::create_dir_all(parent).is_err() {
        return;
    }
    if let Ok(mut temp) = tempfile::NamedTempFile::new_in(parent) {
        use std::io::Write;
        if temp.write_all(&bytes).is_ok() {
            let _ = temp.persist(path);
        }
    }
}

/// How an index was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Freshness {
    /// Read from the source just now.
    Fetched,
    /// A cached index within its TTL.
    Cached,
    /// `--offline`: the cache, whatever its age.
    Offline,
    /// The source failed; its older cache answered.
    Stale,
}

/// `fetch`ed (the whole index) through the cache under `policy`: the
/// entries `wanted`, how they were obtained, their age, and the error that
/// made them stale.
pub fn through_cache(
    cache_dir: &Path,
    source: &Source,
    policy: CachePolicy,
    wanted: &Wanted,
    fetch: impl FnOnce() -> Result<SourceIndex, String>,
) -> Result<(SourceIndex, Freshness, Duration, Option<String>), String> {
    let cached = read(cache_dir, source, wanted);
    if policy.offline {
        return match cached {
            Some((index, age)) => Ok((index, Freshness::Offline, age, None)),
            None => Err("--offline and no cached index: run once without --offline".into()),
        };
    }
    let cached = match cached {
        Some((index, age)) if !policy.refresh && age < policy.ttl => {
            return Ok((index, Freshness::Cached, age, None));
        }
        other => other,
    };
    match fetch() {
        Ok(index) => {
            write(cache_dir, source, &index);
            Ok((index.keep(wanted), Freshness::Fetched, Duration::ZERO, None))
        }
        Err(e) => match cached {
            Some((index, age)) => Ok((index, Freshness::Stale, age, Some(e))),
            None => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::SourceKind;

    fn source() -> Source {
        Source {
            name: "team".into(),
            location: "http://127.0.0.1:1".into(),
            kind: SourceKind::Registry,
            priority: 1,
            token_env: None,
            enabled: true,
            require_signature: Vec::new(),
        }
    }

    fn one() -> SourceIndex {
        SourceIndex {
            entries: vec![IndexEntry {
                source: "team".into(),
                name: "app".into(),
                version: semver::Version::new(1, 2, 3),
                min_level: 2,
                dependencies: [("base".to_string(), "^1".to_string())].into(),
                digest: "sha256:ab".into(),
                description: "d".into(),
                locator: "app@1.2.3".into(),
            }],
            ..SourceIndex::default()
        }
    }

    #[test]
    fn fresh_stale_offline_and_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let policy = CachePolicy::default();
        let failing = || Err::<SourceIndex, String>("down".into());
        // No cache and a failing source: the error.
        assert!(through_cache(dir.path(), &source(), policy, &Wanted::All, failing).is_err());
        let offline = CachePolicy {
            offline: true,
            ..policy
        };
        assert!(through_cache(dir.path(), &source(), offline, &Wanted::All, || Ok(one())).is_err());
        // A fetch fills the cache, which then answers while fresh.
        let (_, how, _, _) =
            through_cache(dir.path(), &source(), policy, &Wanted::All, || Ok(one())).unwrap();
        assert_eq!(how, Freshness::Fetched);
        let (index, how, _, _) =
            through_cache(dir.path(), &source(), policy, &Wanted::All, failing).unwrap();
        assert_eq!(how, Freshness::Cached);
        assert_eq!(index.entries, one().entries);
        // Only the wanted entries are built; the others are counted.
        let wanted = Wanted::Name("other".into());
        let (index, _, _, _) =
            through_cache(dir.path(), &source(), policy, &wanted, failing).unwrap();
        assert_eq!((index.entries.len(), index.listed()), (0, 1));
        // Expired: the source is asked; when it fails the cache is stale.
        let expired = CachePolicy {
            ttl: Duration::ZERO,
            ..policy
        };
        let (_, how, _, error) =
            through_cache(dir.path(), &source(), expired, &Wanted::All, failing).unwrap();
        assert_eq!((how, error.as_deref()), (Freshness::Stale, Some("down")));
        let refresh = CachePolicy {
            refresh: true,
            ..policy
        };
        let (_, how, _, _) =
            through_cache(dir.path(), &source(), refresh, &Wanted::All, || Ok(one())).unwrap();
        assert_eq!(how, Freshness::Fetched);
        let (_, how, _, _) =
            through_cache(dir.path(), &source(), offline, &Wanted::All, failing).unwrap();
        assert_eq!(how, Freshness::Offline);
    }
}
