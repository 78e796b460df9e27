//! Dependency resolution over the merged index with PubGrub: the highest
//! versions that satisfy every requirement, backtracking when a choice
//! fails, one version per name (a diamond resolves to one version), and
//! an explanation when nothing fits. Which source a version comes from
//! follows the conflict strategy; a cycle in the resolved graph is refused
//! with the cycle printed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, DerivationTree, External,
    PackageResolutionStatistics, PubGrubError, Ranges,
};
use semver::{Version, VersionReq};
use serde::Serialize;

use super::merged::{Conflict, MergedIndex};
use super::{IndexEntry, SourceKind};

/// The name of the root the requested packages hang from.
const ROOT: &str = "(requested)";

/// One resolved package and what it needs.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    /// The entry loaded (name, version, source, digest).
    pub entry: IndexEntry,
    /// The names of the packages it depends on, each resolved too.
    pub dependencies: Vec<String>,
}

/// A resolved graph.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    /// The requested names, in the order asked.
    pub roots: Vec<String>,
    /// Every package of the graph, by name.
    pub packages: BTreeMap<String, Resolved>,
}

impl Resolution {
    /// Every package, dependencies before the packages needing them
    /// (the order a load writes them in).
    pub fn load_order(&self) -> Vec<&Resolved> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for root in &self.roots {
            self.visit(root, &mut seen, &mut out);
        }
        out
    }

    fn visit<'a>(&'a self, name: &str, seen: &mut BTreeSet<String>, out: &mut Vec<&'a Resolved>) {
        if !seen.insert(name.to_string()) {
            return;
        }
        if let Some(p) = self.packages.get(name) {
            for dep in &p.dependencies {
                self.visit(dep, seen, out);
            }
            out.push(p);
        }
    }

    /// The graph as an indented tree; a package shown before is marked
    /// `(*)` and not expanded again.
    pub fn tree(&self) -> String {
        let mut out = String::new();
        let mut shown = BTreeSet::new();
        for root in &self.roots {
            self.tree_line(root, "", "", &mut shown, &mut out);
        }
        out
    }

    fn tree_line(
        &self,
        name: &str,
        lead: &str,
        child_lead: &str,
        shown: &mut BTreeSet<String>,
        out: &mut String,
    ) {
        let Some(p) = self.packages.get(name) else {
            return;
        };
        let again = !shown.insert(name.to_string());
        out.push_str(&format!(
            "{lead}{} {} ({}){}\n",
            p.entry.name,
            p.entry.version,
            p.entry.source,
            if again && !p.dependencies.is_empty() {
                " (*)"
            } else {
                ""
            }
        ));
        if again {
            return;
        }
        let n = p.dependencies.len();
        for (i, dep) in p.dependencies.iter().enumerate() {
            let last = i + 1 == n;
            let (branch, next) = if last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            self.tree_line(
                dep,
                &format!("{child_lead}{branch}"),
                &format!("{child_lead}{next}"),
                shown,
                out,
            );
        }
    }
}

/// The PubGrub provider over the merged index.
struct Provider<'a> {
    index: &'a MergedIndex,
    strategy: Conflict,
    /// Every entry of each name.
    by_name: BTreeMap<&'a str, Vec<&'a IndexEntry>>,
    /// The requested packages (the root's dependencies).
    requests: Vec<(String, VersionReq)>,
}

impl<'a> Provider<'a> {
    fn rank(&self, entry: &IndexEntry) -> (usize, usize) {
        let position = self
            .index
            .statuses
            .iter()
            .position(|s| s.source.name == entry.source)
            .unwrap_or(usize::MAX);
        let kind = self.index.statuses.get(position).map(|s| s.source.kind);
        let preferred = match self.strategy {
            Conflict::LocalFirst => usize::from(kind != Some(SourceKind::Directory)),
            Conflict::RemoteFirst => usize::from(kind == Some(SourceKind::Directory)),
            Conflict::Priority | Conflict::LatestVersion => 0,
        };
        (preferred, position)
    }

    /// The entry that provides `name` `version` (the best-ranked source).
    fn entry(&self, name: &str, version: &Version) -> Option<&'a IndexEntry> {
        self.by_name
            .get(name)?
            .iter()
            .copied()
            .filter(|e| &e.version == version)
            .min_by_key(|e| self.rank(e))
    }

    /// The versions of `name` matching `req`, as a version set.
    fn matching(&self, name: &str, req: &VersionReq) -> Ranges<Version> {
        let mut set = Ranges::empty();
        for e in self.by_name.get(name).into_iter().flatten() {
            if req.matches(&e.version) {
                set = set.union(&Ranges::singleton(e.version.clone()));
            }
        }
        set
    }

    /// Why `name` `req` matches nothing: what the sources hold.
    fn held(&self, name: &str) -> String {
        let mut versions: Vec<&Version> = self
            .by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|e| &e.version)
            .collect();
        versions.sort();
        versions.dedup();
        if versions.is_empty() {
            format!("{name} exists in no source")
        } else {
            let listed: Vec<String> = versions.iter().map(ToString::to_string).collect();
            format!("the sources hold {name} {}", listed.join(", "))
        }
    }
}

impl DependencyProvider for Provider<'_> {
    type P = String;
    type V = Version;
    type VS = Ranges<Version>;
    type M = String;
    type Priority = (u32, Reverse<usize>);
    type Err = Infallible;

    fn prioritize(
        &self,
        package: &String,
        range: &Ranges<Version>,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        // Packages in conflicts first, then those with fewest candidates.
        let candidates = self.by_name.get(package.as_str()).map_or(0, |v| {
            v.iter().filter(|e| range.contains(&e.version)).count()
        });
        (stats.conflict_count(), Reverse(candidates))
    }

    fn choose_version(
        &self,
        package: &String,
        range: &Ranges<Version>,
    ) -> Result<Option<Version>, Infallible> {
        if package == ROOT {
            let root = Version::new(0, 0, 0);
            return Ok(range.contains(&root).then_some(root));
        }
        let Some(entries) = self.by_name.get(package.as_str()) else {
            return Ok(None);
        };
        let fitting = entries.iter().filter(|e| range.contains(&e.version));
        let best = match self.strategy {
            Conflict::LatestVersion => fitting.max_by(|a, b| {
                a.version
                    .cmp(&b.version)
                    .then_with(|| self.rank(b).cmp(&self.rank(a)))
            }),
            // The best-ranked source holding a fitting version, its highest.
            _ => fitting.min_by(|a, b| {
                self.rank(a)
                    .cmp(&self.rank(b))
                    .then_with(|| b.version.cmp(&a.version))
            }),
        };
        Ok(best.map(|e| e.version.clone()))
    }

    fn get_dependencies(
        &self,
        package: &String,
        version: &Version,
    ) -> Result<Dependencies<String, Ranges<Version>, String>, Infallible> {
        let needs: Vec<(String, VersionReq)> = if package == ROOT {
            self.requests.clone()
        } else {
            let Some(entry) = self.entry(package, version) else {
                return Ok(Dependencies::Unavailable("it is in no source".into()));
            };
            let mut needs = Vec::new();
            for (name, req) in &entry.dependencies {
                match VersionReq::parse(req) {
                    Ok(parsed) => needs.push((name.clone(), parsed)),
                    Err(e) => {
                        return Ok(Dependencies::Unavailable(format!(
                            "its requirement `{name} {req}` is not semver ({e})"
                        )));
                    }
                }
            }
            needs
        };
        let mut constraints = DependencyConstraints::default();
        for (name, req) in needs {
            let set = self.matching(&name, &req);
            if set == Ranges::empty() {
                let who = if package == ROOT {
                    "the request needs".to_string()
                } else {
                    format!("{package} {version} needs")
                };
                return Ok(Dependencies::Unavailable(format!(
                    "{who} {name} {req}, and no source has a matching version: {}",
                    self.held(&name)
                )));
            }
            constraints.insert(name, set);
        }
        Ok(Dependencies::Available(constraints))
    }
}

impl Provider<'_> {
    /// The requirement text `name` `version` gives for `dep`.
    fn requirement(&self, name: &str, set: &Ranges<Version>, dep: &str) -> Option<String> {
        if name == ROOT {
            return self
                .requests
                .iter()
                .find(|(n, _)| n == dep)
                .map(|(_, r)| r.to_string());
        }
        let version = set.as_singleton()?;
        self.entry(name, version)?.dependencies.get(dep).cloned()
    }

    /// `name` and its version set as a person reads them.
    fn shown(name: &str, set: &Ranges<Version>) -> String {
        match set.as_singleton() {
            Some(v) => format!("{name} {v}"),
            None => format!("{name} {set}"),
        }
    }

    /// The facts a failed resolution rests on, one sentence each, in the
    /// style of cargo and uv ("app 2.0.0 needs base ^3").
    fn explain(
        &self,
        tree: &DerivationTree<String, Ranges<Version>, String>,
        facts: &mut Vec<String>,
    ) {
        let fact = match tree {
            DerivationTree::Derived(d) => {
                self.explain(&d.cause1, facts);
                self.explain(&d.cause2, facts);
                return;
            }
            DerivationTree::External(External::NotRoot(..)) => return,
            DerivationTree::External(External::Custom(_, _, why)) => why.clone(),
            DerivationTree::External(External::NoVersions(name, set)) => {
                format!("no source has {name} {set}: {}", self.held(name))
            }
            DerivationTree::External(External::FromDependencyOf(p, pv, d, dv)) => {
                let req = self.requirement(p, pv, d).unwrap_or_else(|| dv.to_string());
                if p == ROOT {
                    format!("{d} {req} was asked for")
                } else {
                    format!("{} needs {d} {req}", Self::shown(p, pv))
                }
            }
        };
        if !facts.contains(&fact) {
            facts.push(fact);
        }
    }
}

/// Resolves `requests` (name and requirement) over `index` under
/// `strategy`: every package and its dependencies, recursively.
pub fn resolve(
    index: &MergedIndex,
    strategy: Conflict,
    requests: &[(String, VersionReq)],
) -> Result<Resolution, String> {
    let mut by_name: BTreeMap<&str, Vec<&IndexEntry>> = BTreeMap::new();
    for e in &index.entries {
        by_name.entry(e.name.as_str()).or_default().push(e);
    }
    let provider = Provider {
        index,
        strategy,
        by_name,
        requests: requests.to_vec(),
    };
    let solution = match pubgrub::resolve(&provider, ROOT.to_string(), Version::new(0, 0, 0)) {
        Ok(solution) => solution,
        Err(PubGrubError::NoSolution(mut tree)) => {
            tree.collapse_no_versions();
            let mut facts = Vec::new();
            provider.explain(&tree, &mut facts);
            return Err(format!(
                "the requirements cannot all be met:\n{}",
                facts
                    .iter()
                    .map(|f| format!("  - {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        Err(other) => return Err(other.to_string()),
    };
    let mut packages = BTreeMap::new();
    for (name, version) in &solution {
        if name == ROOT {
            continue;
        }
        let Some(entry) = provider.entry(name, version) else {
            return Err(format!("{name} {version} was chosen but is in no source"));
        };
        let dependencies: Vec<String> = entry.dependencies.keys().cloned().collect();
        packages.insert(
            name.clone(),
            Resolved {
                entry: entry.clone(),
                dependencies,
            },
        );
    }
    let resolution = Resolution {
        roots: requests.iter().map(|(n, _)| n.clone()).collect(),
        packages,
    };
    if let Some(cycle) = find_cycle(&resolution) {
        return Err(format!(
            "the dependencies form a cycle, which pkg refuses: {}",
            cycle.join(" -> ")
        ));
    }
    Ok(resolution)
}

/// A cycle in the resolved graph, as names from a package back to itself.
fn find_cycle(resolution: &Resolution) -> Option<Vec<String>> {
    fn walk(
        r: &Resolution,
        name: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == name) {
            let mut cycle = path[at..].to_vec();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        path.push(name.to_string());
        if let Some(p) = r.packages.get(name) {
            for dep in &p.dependencies {
                if let Some(cycle) = walk(r, dep, path, done) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        done.insert(name.to_string());
        None
    }
    let mut done = BTreeSet::new();
    resolution
        .packages
        .keys()
        .find_map(|name| walk(resolution, name, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::merged::SourceStatus;

    fn status(name: &str, kind: SourceKind) -> SourceStatus {
        crate::sources::merged::tests::source(name, kind, 0)
    }

    fn entry(source: &str, name: &str, version: &str, deps: &[(&str, &str)]) -> IndexEntry {
        IndexEntry {
            source: source.into(),
            name: name.into(),
            version: Version::parse(version).unwrap(),
            min_level: 1,
            dependencies: deps
                .iter()
                .map(|(n, r)| (n.to_string(), r.to_string()))
                .collect(),
            digest: String::new(),
            description: String::new(),
            locator: String::new(),
        }
    }

    fn index(entries: Vec<IndexEntry>) -> MergedIndex {
        MergedIndex {
            statuses: vec![
                status("local", SourceKind::Directory),
                status("team", SourceKind::Registry),
            ],
            entries,
        }
    }

    fn ask(name: &str, req: &str) -> Vec<(String, VersionReq)> {
        vec![(name.to_string(), VersionReq::parse(req).unwrap())]
    }

    #[test]
    fn a_diamond_resolves_to_one_version_and_backtracks() {
        let idx = index(vec![
            entry("team", "app", "2.0.0", &[("web", "^1"), ("api", "^1")]),
            entry("team", "web", "1.0.0", &[("base", "^1")]),
            entry("team", "api", "1.0.0", &[("base", ">=1.1")]),
            entry("local", "base", "1.0.0", &[]),
            entry("local", "base", "1.1.0", &[]),
            entry("local", "base", "2.0.0", &[]),
            // The newest tool needs a base nobody has: back off to 1.0.0.
            entry("team", "tool", "1.1.0", &[("base", "^9")]),
            entry("team", "tool", "1.0.0", &[("base", "^1")]),
        ]);
        let r = resolve(&idx, Conflict::Priority, &ask("app", "^2")).unwrap();
        assert_eq!(r.packages["base"].entry.version.to_string(), "1.1.0");
        let order: Vec<&str> = r
            .load_order()
            .iter()
            .map(|p| p.entry.name.as_str())
            .collect();
        assert_eq!(order.len(), 4, "{order:?}");
        assert!(order.iter().position(|n| *n == "base") < order.iter().position(|n| *n == "web"));
        assert_eq!(order.last(), Some(&"app"));
        let tree = r.tree();
        assert!(tree.starts_with("app 2.0.0 (team)\n"), "{tree}");
        assert!(tree.contains("base 1.1.0 (local)"), "{tree}");
        let r = resolve(&idx, Conflict::Priority, &ask("tool", "*")).unwrap();
        assert_eq!(r.packages["tool"].entry.version.to_string(), "1.0.0");
    }

    #[test]
    fn impossible_requirements_and_cycles_are_explained() {
        let idx = index(vec![
            entry("team", "app", "2.0.0", &[("base", "^3")]),
            entry("team", "web", "1.0.0", &[("base", "^1")]),
            entry("local", "base", "1.0.0", &[]),
            entry("team", "a", "1.0.0", &[("b", "^1")]),
            entry("team", "b", "1.0.0", &[("a", "^1")]),
        ]);
        let err = resolve(&idx, Conflict::Priority, &ask("app", "^2")).unwrap_err();
        assert!(
            err.contains("app 2.0.0 needs base ^3, and no source"),
            "{err}"
        );
        // Two requests that cannot meet: each side's requirement is named.
        let both = vec![
            ("web".to_string(), VersionReq::parse("^1").unwrap()),
            (
                "base".to_string(),
                VersionReq::parse(">=1.0.0, <1.0.1").unwrap(),
            ),
        ];
        let idx2 = index(vec![
            entry("team", "web", "1.0.0", &[("base", "^1.1")]),
            entry("local", "base", "1.0.0", &[]),
            entry("local", "base", "1.1.0", &[]),
        ]);
        let err = resolve(&idx2, Conflict::Priority, &both).unwrap_err();
        assert!(err.contains("web 1.0.0 needs base ^1.1"), "{err}");
        assert!(err.contains("base >=1.0.0, <1.0.1 was asked for"), "{err}");
        let err = resolve(&idx, Conflict::Priority, &ask("a", "*")).unwrap_err();
        assert!(
            err.contains("cycle") && err.contains("a -> b -> a"),
            "{err}"
        );
        let err = resolve(&idx, Conflict::Priority, &ask("nosuch", "*")).unwrap_err();
        assert!(err.contains("nosuch exists in no source"), "{err}");
    }
}
