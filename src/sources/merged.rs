//! The merged index of every enabled source, and the conflict strategies
//! that decide which source a name comes from when several hold it.
//! Versions are compared as semver (1.10.0 > 1.9.0), and a prerelease is
//! chosen only when the requirement asks for one.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use semver::{Version, VersionReq};
use serde::Serialize;

use super::cache::{self, CachePolicy, Freshness};
use super::wanted::contains_folded;
use super::{IndexEntry, Source, SourceError, SourceIndex, SourceKind, Wanted, index_of};
use crate::source_settings::SourceSettings;

/// How a name held by several sources is resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conflict {
    /// The source with the lowest priority number wins.
    #[default]
    Priority,
    /// The highest version wins (ties: priority).
    LatestVersion,
    /// Directory sources first, then the others (each by priority).
    LocalFirst,
    /// Registry and git sources first, then directories (each by priority).
    RemoteFirst,
}

impl FromStr for Conflict {
    type Err = String;

    fn from_str(s: &str) -> Result<Conflict, String> {
        match s {
            "priority" => Ok(Conflict::Priority),
            "latest-version" => Ok(Conflict::LatestVersion),
            "local-first" => Ok(Conflict::LocalFirst),
            "remote-first" => Ok(Conflict::RemoteFirst),
            other => Err(format!(
                "`{other}` is not a strategy: priority, latest-version, local-first or remote-first"
            )),
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::Priority => "priority",
            Conflict::LatestVersion => "latest-version",
            Conflict::LocalFirst => "local-first",
            Conflict::RemoteFirst => "remote-first",
        })
    }
}

/// What one source said when asked for its index.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// The source.
    pub source: Source,
    /// Package versions it listed (before `--level`).
    pub packages: usize,
    /// Why it could not answer (or, with a stale cache, why it was stale).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a remote source: how its index was obtained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
    /// For a remote source: the age of the index it answered with, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// What it left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The indexes of the enabled sources together.
#[derive(Debug, Clone, Default)]
pub struct MergedIndex {
    /// Each enabled source asked, in priority order (ties: config order).
    pub statuses: Vec<SourceStatus>,
    /// Every wanted entry of every source that answered.
    pub entries: Vec<IndexEntry>,
}

/// The version chosen for a name, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// The entry.
    pub entry: IndexEntry,
    /// Why this source.
    pub reason: String,
}

impl MergedIndex {
    /// Asks every enabled source (only `only` when given) for its index,
    /// remote ones through the cache in `settings`' cache dir under `policy`,
    /// and keeps the entries `wanted`. A source that fails is recorded, and
    /// the others still answer.
    pub fn build(
        sources: &[Source],
        only: Option<&str>,
        settings: &SourceSettings,
        policy: CachePolicy,
        wanted: &Wanted,
    ) -> MergedIndex {
        let cache_dir = settings.cache_dir.as_path();
        let mut chosen: Vec<&Source> = sources
            .iter()
            .filter(|s| s.enabled && only.is_none_or(|o| o == s.name))
            .collect();
        chosen.sort_by_key(|s| s.priority);
        let mut merged = MergedIndex::default();
        // Every source is asked at once (each on its own thread): a slow
        // registry does not hold up the others, and reading the caches
        // and the directories uses every core.
        type Answer = Result<(SourceIndex, Option<Freshness>, Option<u64>, Option<String>), String>;
        let ask = |source: &Source| -> Answer {
            let raw = |wanted: &Wanted| {
                index_of(source, settings, policy.refresh, wanted).map_err(|e| match e {
                    SourceError::Unavailable { reason, .. } => reason,
                    other => other.to_string(),
                })
            };
            if source.kind.is_local() {
                raw(wanted).map(|index| (index, None, None, None))
            } else {
                // The whole index is fetched (and cached); the cache keeps
                // what is wanted.
                cache::through_cache(cache_dir, source, policy, wanted, || raw(&Wanted::All))
                    .map(|(index, how, age, stale)| (index, Some(how), Some(age.as_secs()), stale))
            }
        };
        let answers: Vec<Answer> = std::thread::scope(|scope| {
            let handles: Vec<_> = chosen
                .iter()
                .map(|source| scope.spawn(move || ask(source)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("reading its index failed".into()))
                })
                .collect()
        });
        for (source, answer) in chosen.into_iter().zip(answers) {
            match answer {
                Ok((index, freshness, age_seconds, stale)) => {
                    merged.statuses.push(SourceStatus {
                        source: source.clone(),
                        packages: index.listed(),
                        error: stale,
                        freshness,
                        age_seconds,
                        warnings: index.warnings,
                    });
                    merged.entries.extend(index.entries);
                }
                Err(e) => merged.statuses.push(SourceStatus {
                    source: source.clone(),
                    packages: 0,
                    error: Some(e),
                    freshness: None,
                    age_seconds: None,
                    warnings: Vec::new(),
                }),
            }
        }
        merged
    }

    /// Whether `status` answered (fresh, cached or stale).
    pub fn answered(status: &SourceStatus) -> bool {
        status.error.is_none() || status.freshness == Some(Freshness::Stale)
    }

    /// Keeps only the entries readable at `level` (`min_level` <= level).
    pub fn at_level(mut self, level: Option<u8>) -> MergedIndex {
        if let Some(level) = level {
            self.entries.retain(|e| e.min_level <= level);
        }
        self
    }

    fn rank(&self, source: &str) -> usize {
        self.statuses
            .iter()
            .position(|s| s.source.name == source)
            .unwrap_or(usize::MAX)
    }

    fn kind(&self, source: &str) -> Option<SourceKind> {
        self.statuses
            .iter()
            .find(|s| s.source.name == source)
            .map(|s| s.source.kind)
    }

    /// Every entry, sorted by name, then version (newest first), then
    /// source rank.
    pub fn sorted(&self) -> Vec<&IndexEntry> {
        let mut all: Vec<&IndexEntry> = self.entries.iter().collect();
        all.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| b.version.cmp(&a.version))
                .then_with(|| self.rank(&a.source).cmp(&self.rank(&b.source)))
        });
        all
    }

    /// The versions of `name` per source, oldest first, sources in rank order.
    pub fn versions(&self, name: &str) -> Vec<(String, Vec<Version>)> {
        let mut out: Vec<(String, Vec<Version>)> = Vec::new();
        for status in &self.statuses {
            let mut versions: Vec<Version> = self
                .entries
                .iter()
                .filter(|e| e.source == status.source.name && e.name == name)
                .map(|e| e.version.clone())
                .collect();
            if !versions.is_empty() {
                versions.sort();
                versions.dedup();
                out.push((status.source.name.clone(), versions));
            }
        }
        out
    }

    /// The newest entry of each (name, source) whose name or description
    /// contains `query` (case-insensitive), sorted by name then rank.
    pub fn search(&self, query: &str) -> Vec<&IndexEntry> {
        let query = query.to_lowercase();
        let mut newest: BTreeMap<(&str, usize), &IndexEntry> = BTreeMap::new();
        for e in &self.entries {
            if !contains_folded(&e.name, &query) && !contains_folded(&e.description, &query) {
                continue;
            }
            let key = (e.name.as_str(), self.rank(&e.source));
            if newest.get(&key).is_none_or(|old| old.version < e.version) {
                newest.insert(key, e);
            }
        }
        newest.into_values().collect()
    }

    /// Picks the version of `name` matching `req` under `strategy`, or says
    /// what each source holds.
    pub fn choose(
        &self,
        name: &str,
        req: &VersionReq,
        strategy: Conflict,
    ) -> Result<Choice, String> {
        // The best matching version each source holds, in rank order.
        let mut best: Vec<&IndexEntry> = Vec::new();
        for status in &self.statuses {
            let top = self
                .entries
                .iter()
                .filter(|e| e.source == status.source.name && e.name == name)
                .filter(|e| req.matches(&e.version))
                .max_by(|a, b| a.version.cmp(&b.version));
            best.extend(top);
        }
        let local = |e: &&IndexEntry| self.kind(&e.source).is_some_and(SourceKind::is_local);
        let (entry, reason) = match strategy {
            Conflict::Priority => {
                let e = best.first().copied();
                (e, e.map(|e| self.priority_reason(e, &best)))
            }
            Conflict::LatestVersion => {
                // max_by keeps the last of equals: iterate in reverse rank
                // so that a tie goes to the better-ranked source.
                let e = best
                    .iter()
                    .rev()
                    .copied()
                    .max_by(|a, b| a.version.cmp(&b.version));
                (
                    e,
                    e.map(|e| {
                        format!(
                            "latest-version: {} is the highest version matching {req} among {}",
                            e.version,
                            holders(&best)
                        )
                    }),
                )
            }
            Conflict::LocalFirst | Conflict::RemoteFirst => {
                let want_local = strategy == Conflict::LocalFirst;
                let preferred = best.iter().copied().find(|e| local(e) == want_local);
                let e = preferred.or_else(|| best.first().copied());
                let side = if want_local { "directory" } else { "remote" };
                (
                    e,
                    e.map(|e| {
                        if preferred.is_some() {
                            format!(
                                "{strategy}: `{}` is the first {side} source holding it",
                                e.source
                            )
                        } else {
                            format!(
                                "{strategy}: no {side} source holds it; `{}` has the best priority",
                                e.source
                            )
                        }
                    }),
                )
            }
        };
        match (entry, reason) {
            (Some(entry), Some(reason)) => Ok(Choice {
                entry: entry.clone(),
                reason,
            }),
            _ => Err(self.not_found(name, req)),
        }
    }

    fn priority_reason(&self, chosen: &IndexEntry, best: &[&IndexEntry]) -> String {
        let priority = self
            .statuses
            .iter()
            .find(|s| s.source.name == chosen.source)
            .map_or(0, |s| s.source.priority);
        if best.len() == 1 {
            format!(
                "priority: only `{}` holds a matching version",
                chosen.source
            )
        } else {
            format!(
                "priority: `{}` has priority {priority}, the best among {}",
                chosen.source,
                holders(best)
            )
        }
    }

    /// Why no source could answer for `name` `req`: one line per source.
    pub fn not_found(&self, name: &str, req: &VersionReq) -> String {
        let mut lines = vec![format!("no source has {name} matching {req}:")];
        if self.statuses.is_empty() {
            lines
                .push("  no source is enabled: add one with `pkg source add NAME LOCATION`".into());
        }
        for status in &self.statuses {
            let said = match &status.error {
                Some(e) if !MergedIndex::answered(status) => format!("failed: {e}"),
                _ => {
                    let mut versions: Vec<&Version> = self
                        .entries
                        .iter()
                        .filter(|e| e.source == status.source.name && e.name == name)
                        .map(|e| &e.version)
                        .collect();
                    versions.sort();
                    if versions.is_empty() {
                        format!("has no package `{name}`")
                    } else {
                        let listed: Vec<String> =
                            versions.iter().map(ToString::to_string).collect();
                        format!("has {} but none matches {req}", listed.join(", "))
                    }
                }
            };
            lines.push(format!("  {}: {said}", status.source.name));
        }
        lines.join("\n")
    }
}

/// `a 1.2.0, b 1.3.0`.
fn holders(best: &[&IndexEntry]) -> String {
    best.iter()
        .map(|e| format!("`{}` ({})", e.source, e.version))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A source that answered, for tests.
    pub(crate) fn source(name: &str, kind: SourceKind, priority: i64) -> SourceStatus {
        SourceStatus {
            source: Source {
                name: name.into(),
                location: String::new(),
                kind,
                priority,
                token_env: None,
                enabled: true,
                require_signature: Vec::new(),
            },
            packages: 0,
            error: None,
            freshness: None,
            age_seconds: None,
            warnings: Vec::new(),
        }
    }

    fn entry(source: &str, name: &str, version: &str, min_level: u8) -> IndexEntry {
        IndexEntry {
            source: source.into(),
            name: name.into(),
            version: Version::parse(version).unwrap(),
            min_level,
            dependencies: BTreeMap::new(),
            digest: String::new(),
            description: String::new(),
            locator: String::new(),
        }
    }

    fn index() -> MergedIndex {
        MergedIndex {
            statuses: vec![
                source("local", SourceKind::Directory, 10),
                source("team", SourceKind::Registry, 20),
            ],
            entries: vec![
                entry("local", "app", "1.9.0", 1),
                entry("team", "app", "1.10.0", 1),
                entry("team", "app", "2.0.0-rc.1", 1),
                entry("team", "secret", "1.0.0", 5),
            ],
        }
    }

    #[test]
    fn strategies_pick_as_documented() {
        let idx = index();
        let any = VersionReq::parse("^1").unwrap();
        let pick = |s| idx.choose("app", &any, s).unwrap();
        assert_eq!(pick(Conflict::Priority).entry.source, "local");
        let latest = pick(Conflict::LatestVersion);
        assert_eq!(
            latest.entry.version.to_string(),
            "1.10.0",
            "semver, not text order"
        );
        assert_eq!(pick(Conflict::LocalFirst).entry.source, "local");
        assert_eq!(pick(Conflict::RemoteFirst).entry.source, "team");
        assert!(pick(Conflict::Priority).reason.contains("priority 10"));
        // A prerelease only when asked for.
        let star = VersionReq::parse("*").unwrap();
        assert_eq!(
            idx.choose("app", &star, Conflict::LatestVersion)
                .unwrap()
                .entry
                .version
                .to_string(),
            "1.10.0"
        );
        let rc = VersionReq::parse(">=2.0.0-rc.1").unwrap();
        assert_eq!(
            idx.choose("app", &rc, Conflict::LatestVersion)
                .unwrap()
                .entry
                .version
                .to_string(),
            "2.0.0-rc.1"
        );
    }

    #[test]
    fn levels_hide_and_failures_say_what_each_source_holds() {
        let idx = index().at_level(Some(3));
        let any = VersionReq::parse("*").unwrap();
        let err = idx.choose("secret", &any, Conflict::Priority).unwrap_err();
        assert!(err.contains("local: has no package `secret`"), "{err}");
        assert!(err.contains("team: has no package `secret`"), "{err}");
        let err = idx
            .choose("app", &VersionReq::parse("^3").unwrap(), Conflict::Priority)
            .unwrap_err();
        assert!(
            err.contains("team: has 1.10.0, 2.0.0-rc.1 but none matches ^3"),
            "{err}"
        );
        let versions = idx.versions("app");
        assert_eq!(versions[0].0, "local");
        assert_eq!(versions[1].1.len(), 2);
        assert_eq!(idx.search("AP").len(), 2);
    }
}
