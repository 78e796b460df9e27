//! Reading manifest.json: JSON shape, types, slugs, paths, references and
//! duplicates, collecting every problem rather than stopping at the first.
//!
//! A well-typed manifest is deserialised straight into `Raw` (no JSON tree
//! in memory, which matters for 100,000-entry manifests); one with type
//! errors goes through a `serde_json::Value` so that each bad field can be
//! reported with its path. Either way `Validator` then checks the values.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::paths::check_syntax;
use super::problem::Problem;
use super::types::{Digests, Entry, FORMAT_VERSION, MANIFEST_FILE, Manifest, parse_digest};
use crate::model::fingerprint::RawDigest;
use crate::model::slug::escape;
use crate::model::slug::split_reference;
use crate::model::{RefField, Reference, ResourceKey, ResourceKind, validate_slug};

/// One manifest entry as JSON types allow it.
#[derive(Debug, Default, Deserialize)]
struct RawEntry {
    slug: Option<Box<str>>,
    space_slug: Option<Box<str>>,
    details_loc: Option<Box<str>>,
    unit_data_loc: Option<Box<str>>,
    target: Option<Box<str>>,
    worker: Option<Box<str>>,
    from_unit: Option<Box<str>>,
    to_unit: Option<Box<str>>,
    filter_slug: Option<Box<str>>,
    from_space_slug: Option<Box<str>>,
    worker_slug: Option<Box<str>>,
    /// Fields that had the wrong JSON type (slow path only).
    #[serde(skip)]
    type_errors: u16,
}

const ENTRY_FIELDS: [&str; 11] = [
    "slug",
    "space_slug",
    "details_loc",
    "unit_data_loc",
    "target",
    "worker",
    "from_unit",
    "to_unit",
    "filter_slug",
    "from_space_slug",
    "worker_slug",
];

impl RawEntry {
    fn get(&self, key: &str) -> Option<&str> {
        let value = match key {
            "slug" => &self.slug,
            "space_slug" => &self.space_slug,
            "details_loc" => &self.details_loc,
            "unit_data_loc" => &self.unit_data_loc,
            "target" => &self.target,
            "worker" => &self.worker,
            "from_unit" => &self.from_unit,
            "to_unit" => &self.to_unit,
            "filter_slug" => &self.filter_slug,
            "from_space_slug" => &self.from_space_slug,
            "worker_slug" => &self.worker_slug,
            _ => &None,
        };
        value.as_deref()
    }

    fn set(&mut self, key: &str, value: String) {
        let slot = match key {
            "slug" => &mut self.slug,
            "space_slug" => &mut self.space_slug,
            "details_loc" => &mut self.details_loc,
            "unit_data_loc" => &mut self.unit_data_loc,
            "target" => &mut self.target,
            "worker" => &mut self.worker,
            "from_unit" => &mut self.from_unit,
            "to_unit" => &mut self.to_unit,
            "filter_slug" => &mut self.filter_slug,
            "from_space_slug" => &mut self.from_space_slug,
            "worker_slug" => &mut self.worker_slug,
            _ => return,
        };
        *slot = Some(value.into_boxed_str());
    }
}

/// `type_errors` bit: the entry is not a JSON object at all.
const NOT_OBJECT: u16 = 1 << 15;

/// `type_errors` bit of an entry field.
fn field_bit(key: &str) -> u16 {
    ENTRY_FIELDS
        .iter()
        .position(|f| *f == key)
        .map_or(0, |i| 1 << i)
}

/// The `digests` object as read: each path with its digest, or `None` when
/// the value is not a well-formed sha256 digest.
#[derive(Debug, Default)]
struct RawDigests(Vec<(String, Option<RawDigest>)>);

impl<'de> Deserialize<'de> for RawDigests {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawDigests;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of package path to digest")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawDigests, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(path) = map.next_key::<String>()? {
                    let text: String = map.next_value()?;
                    out.push((path, parse_digest(&text)));
                }
                Ok(RawDigests(out))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The manifest as JSON types allow it.
#[derive(Debug, Default, Deserialize)]
struct Raw {
    format: Option<u64>,
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    created_at: Option<String>,
    dependencies: Option<BTreeMap<String, String>>,
    environments: Option<Vec<Value>>,
    tables: Option<Vec<Value>>,
    min_level: Option<u64>,
    digests: Option<RawDigests>,
    spaces: Option<Vec<RawEntry>>,
    workers: Option<Vec<RawEntry>>,
    targets: Option<Vec<RawEntry>>,
    units: Option<Vec<RawEntry>>,
    links: Option<Vec<RawEntry>>,
    filters: Option<Vec<RawEntry>>,
    views: Option<Vec<RawEntry>>,
    tags: Option<Vec<RawEntry>>,
    invocations: Option<Vec<RawEntry>>,
    triggers: Option<Vec<RawEntry>>,
    attributes: Option<Vec<RawEntry>>,
}

impl Raw {
    fn entries_mut(&mut self, kind: ResourceKind) -> &mut Option<Vec<RawEntry>> {
        match kind {
            ResourceKind::Space => &mut self.spaces,
            ResourceKind::Worker => &mut self.workers,
            ResourceKind::Target => &mut self.targets,
            ResourceKind::Unit => &mut self.units,
            ResourceKind::Link => &mut self.links,
            ResourceKind::Filter => &mut self.filters,
            ResourceKind::View => &mut self.views,
            ResourceKind::Tag => &mut self.tags,
            ResourceKind::Invocation => &mut self.invocations,
            ResourceKind::Trigger => &mut self.triggers,
            ResourceKind::Attribute => &mut self.attributes,
        }
    }
}

/// Parses manifest bytes. Returns the manifest (when its shape allowed one to
/// be built) and every problem found.
pub fn parse_manifest(bytes: &[u8]) -> (Option<Manifest>, Vec<Problem>) {
    parse_manifest_owned(bytes.to_vec())
}

/// [`parse_manifest`], freeing the bytes as soon as they are parsed (a large
/// manifest's text and its entries need not be in memory together).
pub fn parse_manifest_owned(bytes: Vec<u8>) -> (Option<Manifest>, Vec<Problem>) {
    let mut v = Validator {
        problems: Vec::new(),
        named: Vec::new(),
    };
    let raw = match serde_json::from_slice::<Raw>(&bytes) {
        Ok(raw) if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => raw,
        _ => match slow_path(&bytes, &mut v.problems) {
            Some(raw) => raw,
            None => return (None, v.problems),
        },
    };
    drop(bytes);
    let mut manifest = v.manifest(raw);
    let accepted: HashSet<&str> = manifest.named_paths().collect();
    let rejected: Vec<String> = v
        .named
        .iter()
        .filter(|l| !accepted.contains(l.as_str()))
        .cloned()
        .collect();
    manifest.rejected_locs = rejected;
    (Some(manifest), v.problems)
}

/// Parses through a JSON tree, recording every field of the wrong type.
fn slow_path(bytes: &[u8], problems: &mut Vec<Problem>) -> Option<Raw> {
    let mut problem =
        |field: String, message: &str| problems.push(Problem::new(MANIFEST_FILE, field, message));
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let what = if e.is_eof() {
                "is truncated"
            } else {
                "is not valid JSON"
            };
            problem(String::new(), &format!("{what}: {e}"));
            return None;
        }
    };
    let Value::Object(mut top) = value else {
        problem(String::new(), "must be a JSON object");
        return None;
    };
    let mut raw = Raw::default();
    let string =
        |top: &Map<String, Value>, key: &str, problem: &mut dyn FnMut(String, &str)| match top
            .get(key)
        {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                problem(key.to_string(), "must be a string");
                None
            }
        };
    raw.name = string(&top, "name", &mut problem);
    raw.version = string(&top, "version", &mut problem);
    raw.description = string(&top, "description", &mut problem);
    raw.created_at = string(&top, "created_at", &mut problem);
    match top.get("format") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_u64() {
            Some(n) => raw.format = Some(n),
            None => problem("format".into(), "must be an integer"),
        },
    }
    match top.get("min_level") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_u64() {
            Some(n) => raw.min_level = Some(n),
            None => problem("min_level".into(), "must be an integer from 1 to 6"),
        },
    }
    match top.remove("environments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(envs)) => raw.environments = Some(envs),
        Some(_) => problem("environments".into(), "must be an array"),
    }
    match top.remove("tables") {
        None | Some(Value::Null) => {}
        Some(Value::Array(tables)) => raw.tables = Some(tables),
        Some(_) => problem("tables".into(), "must be an array"),
    }
    for key in ["dependencies", "digests"] {
        match top.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    match v.as_str() {
                        Some(s) => {
                            out.insert(k.clone(), s.to_string());
                        }
                        None => problem(format!("{key}.{k}"), "must be a string"),
                    }
                }
                if key == "digests" {
                    raw.digests = Some(RawDigests(
                        out.into_iter()
                            .map(|(path, text)| {
                                let d = parse_digest(&text);
                                (path, d)
                            })
                            .collect(),
                    ));
                } else {
                    raw.dependencies = Some(out);
                }
            }
            Some(_) => problem(key.to_string(), "must be an object"),
        }
    }
    for kind in ResourceKind::ALL {
        let key = kind.plural();
        match top.remove(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let mut entries = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let Value::Object(obj) = item else {
                        problem(format!("{key}[{i}]"), "must be an object");
                        entries.push(RawEntry {
                            type_errors: NOT_OBJECT,
                            ..RawEntry::default()
                        });
                        continue;
                    };
                    let mut entry = RawEntry::default();
                    for field in ENTRY_FIELDS {
                        match obj.get(field) {
                            None | Some(Value::Null) => {}
                            Some(Value::String(s)) => entry.set(field, s.clone()),
                            Some(_) => {
                                problem(format!("{key}[{i}].{field}"), "must be a string");
                                entry.type_errors |= field_bit(field);
                            }
                        }
                    }
                    entries.push(entry);
                }
                *raw.entries_mut(kind) = Some(entries);
            }
            Some(_) => problem(key.to_string(), "must be an array"),
        }
    }
    Some(raw)
}

/// Checks the values of a [`Raw`] manifest and builds the [`Manifest`].
struct Validator {
    problems: Vec<Problem>,
    named: Vec<String>,
}

impl Validator {
    fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems
            .push(Problem::new(MANIFEST_FILE, field, message));
    }

    fn manifest(&mut self, mut raw: Raw) -> Manifest {
        let mut m = Manifest::default();
        match raw.format {
            None => {}
            Some(FORMAT_VERSION) => m.format = Some(FORMAT_VERSION),
            Some(n) => self.problem(
                "format",
                format!("format {n} is not supported; this pkg reads format {FORMAT_VERSION} (upgrade pkg)"),
            ),
        }
        m.name = raw.name.take();
        m.version = raw.version.take();
        if let Some(v) = &m.version
            && let Err(e) = semver::Version::parse(v)
        {
            self.problem(
                "version",
                format!("`{}` is not a semver version: {e}", escape(v)),
            );
        }
        m.description = raw.description.take();
        m.created_at = raw.created_at.take();
        for (name, req) in raw.dependencies.take().unwrap_or_default() {
            match semver::VersionReq::parse(&req) {
                Ok(_) => {
                    m.dependencies.insert(name, req);
                }
                Err(e) => self.problem(
                    format!("dependencies.{name}"),
                    format!("`{}` is not a semver requirement: {e}", escape(&req)),
                ),
            }
        }
        m.environments = raw.environments.take().unwrap_or_default();
        for (field, message) in super::environment::parse_environments(&m.environments).1 {
            self.problem(field, message);
        }
        m.tables = raw.tables.take().unwrap_or_default();
        for (field, message) in super::tables::parse_tables(&m.tables).1 {
            self.problem(field, message);
        }
        match raw.min_level {
            None => {}
            Some(n @ 1..=6) => m.min_level = u8::try_from(n).ok(),
            Some(_) => self.problem("min_level", "must be an integer from 1 to 6"),
        }
        if let Some(RawDigests(digests)) = raw.digests.take() {
            let mut out = Vec::with_capacity(digests.len());
            for (path, digest) in digests {
                if path == "/manifest.json" {
                    self.problem(
                        format!("digests.{path}"),
                        "manifest.json cannot carry its own digest",
                    );
                } else if let Err(e) = check_syntax(&path) {
                    self.problem(format!("digests.{path}"), e);
                } else if let Some(digest) = digest {
                    out.push((path.into_boxed_str(), digest));
                } else {
                    self.problem(
                        format!("digests.{path}"),
                        "must be `sha256:` followed by 64 lower-case hex digits",
                    );
                }
            }
            m.digests = Some(Digests::new(out));
        }
        let mut seen: HashSet<ResourceKey> = HashSet::new();
        for kind in ResourceKind::ALL {
            let Some(items) = raw.entries_mut(kind).take() else {
                continue;
            };
            let key = kind.plural();
            for (i, item) in items.into_iter().enumerate() {
                let field = format!("{key}[{i}]");
                if item.type_errors & NOT_OBJECT != 0 {
                    continue;
                }
                if let Some(entry) = self.entry(kind, &field, &item) {
                    if !seen.insert(entry.key.clone()) {
                        self.problem(
                            format!("{field}.slug"),
                            format!(
                                "duplicate {}: `{}` appears more than once",
                                kind,
                                escape(&entry.key.path())
                            ),
                        );
                        continue;
                    }
                    m.entries.push(entry);
                }
            }
        }
        m
    }

    fn field<'a>(
        &mut self,
        item: &'a RawEntry,
        field: &str,
        key: &'static str,
        required: bool,
    ) -> Option<&'a str> {
        if item.type_errors & field_bit(key) != 0 {
            return None;
        }
        match item.get(key) {
            Some(s) if !s.is_empty() => Some(s),
            _ => {
                if required {
                    self.problem(format!("{field}.{key}"), "is required");
                }
                None
            }
        }
    }

    fn slug(&mut self, field: String, slug: &str) -> bool {
        match validate_slug(slug) {
            Ok(()) => true,
            Err(e) => {
                self.problem(field, e.to_string());
                false
            }
        }
    }

    fn loc(&mut self, field: String, loc: &str) -> bool {
        match check_syntax(loc) {
            Ok(_) => true,
            Err(e) => {
                self.problem(field, e);
                false
            }
        }
    }

    fn entry(&mut self, kind: ResourceKind, field: &str, item: &RawEntry) -> Option<Entry> {
        let slug = self.field(item, field, "slug", true);
        let space = if kind.is_space_scoped() {
            self.field(item, field, "space_slug", true)
        } else {
            Some("")
        };
        let details_loc = self.field(item, field, "details_loc", true);
        let data_loc = if kind == ResourceKind::Unit {
            self.field(item, field, "unit_data_loc", true)
        } else {
            None
        };
        let mut ok =
            slug.is_some() && space.is_some() && details_loc.is_some() && item.type_errors == 0;
        if let Some(s) = slug {
            ok &= self.slug(format!("{field}.slug"), s);
        }
        if let Some(s) = space.filter(|s| !s.is_empty()) {
            ok &= self.slug(format!("{field}.space_slug"), s);
        }
        if let Some(l) = details_loc {
            ok &= self.loc(format!("{field}.details_loc"), l);
        }
        if kind == ResourceKind::Unit {
            match data_loc {
                Some(l) => ok &= self.loc(format!("{field}.unit_data_loc"), l),
                None => ok = false,
            }
        }
        let mut refs = Vec::new();
        for &ref_field in RefField::fields_of(kind) {
            let key = ref_field.manifest_key();
            let Some(value) = self.field(item, field, key, ref_field.is_required()) else {
                if ref_field.is_required() {
                    ok = false;
                }
                continue;
            };
            let path = format!("{field}.{key}");
            if ref_field == RefField::FromSpace {
                if self.slug(path, value) {
                    refs.push(Reference::new(ref_field, "", value));
                } else {
                    ok = false;
                }
                continue;
            }
            let Some((ref_space, ref_slug)) = split_reference(value) else {
                self.problem(
                    path,
                    format!("`{}` must have the form `<space>/<slug>`", escape(value)),
                );
                ok = false;
                continue;
            };
            let valid = self.slug(path.clone(), ref_space) & self.slug(path.clone(), ref_slug);
            if !valid {
                ok = false;
                continue;
            }
            if ref_field == RefField::FromUnit && Some(ref_space) != space {
                self.problem(
                    path,
                    format!(
                        "`{}` must be a unit in the link's own space `{}`",
                        escape(value),
                        escape(space.unwrap_or(""))
                    ),
                );
                ok = false;
                continue;
            }
            refs.push(Reference::new(ref_field, ref_space, ref_slug));
        }
        if !ok {
            self.named.extend(
                details_loc
                    .iter()
                    .chain(data_loc.iter())
                    .map(|s| (*s).to_string()),
            );
            return None;
        }
        Some(Entry {
            key: ResourceKey::new(kind, space.unwrap_or(""), slug.unwrap_or("")),
            details_loc: details_loc.unwrap_or("").to_string(),
            unit_data_loc: data_loc.map(str::to_string),
            refs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<String> {
        parse_manifest(json.as_bytes())
            .1
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn parses_a_cub_manifest() {
        let (m, p) = parse_manifest(
            br#"{"spaces":[{"slug":"a","details_loc":"/spaces/a.json"}],
                "units":[{"slug":"u","space_slug":"a","details_loc":"/units/a/u.json","unit_data_loc":"/units/a/u.data.yaml","target":""}],
                "links":[],"views":[]}"#,
        );
        assert!(p.is_empty(), "{p:?}");
        let m = m.unwrap();
        assert_eq!(m.entries.len(), 2);
        assert!(m.entries[1].refs.is_empty());
        assert_eq!(m.digests, None);
    }

    #[test]
    fn reports_every_problem() {
        let p = problems(
            r#"{"format":2,"version":"1.x","spaces":[{"slug":"-bad","details_loc":"spaces/a.json"},{"slug":"a"}],
                "targets":[{"slug":"t","space_slug":"a","details_loc":"/t.json","worker":"nowhere"}],
                "digests":{"/x":"md5:1"}}"#,
        );
        let all = p.join("\n");
        for needle in [
            "manifest.json: format: format 2 is not supported",
            "manifest.json: version: `1.x` is not a semver version",
            "spaces[0].slug: `-bad` is not a valid slug",
            "spaces[0].details_loc: `spaces/a.json` must start with `/`",
            "spaces[1].details_loc: is required",
            "targets[0].worker: `nowhere` must have the form `<space>/<slug>`",
            "digests./x: must be `sha256:`",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in\n{all}");
        }
    }

    #[test]
    fn reports_type_errors_with_their_paths() {
        let p = problems(
            r#"{"format":"1","min_level":9,"name":3,"spaces":[{"slug":1,"details_loc":"/a"},7],"units":{},"digests":{"/a":1}}"#,
        );
        let all = p.join("\n");
        for needle in [
            "format: must be an integer",
            "name: must be a string",
            "spaces[0].slug: must be a string",
            "spaces[1]: must be an object",
            "units: must be an array",
            "digests./a: must be a string",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in\n{all}");
        }
        assert!(!all.contains("spaces[0].slug: is required"), "{all}");
    }

    #[test]
    fn reports_duplicates_and_bad_json() {
        let p = problems(
            r#"{"spaces":[{"slug":"a","details_loc":"/a"},{"slug":"a","details_loc":"/b"}]}"#,
        );
        assert!(p[0].contains("duplicate space: `a`"), "{p:?}");
        assert!(problems("{\"spaces\": [").join("").contains("truncated"));
        assert!(problems("[]").join("").contains("must be a JSON object"));
    }
}
