//! Reading manifest.json: JSON shape, types, slugs, paths, references and
//! duplicates, collecting every problem rather than stopping at the first.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::paths::check_syntax;
use super::problem::Problem;
use super::types::{Entry, FORMAT_VERSION, MANIFEST_FILE, Manifest};
use crate::model::slug::split_reference;
use crate::model::{RefField, Reference, ResourceKey, ResourceKind, validate_slug};

/// Parses manifest bytes. Returns the manifest (when its shape allowed one to
/// be built) and every problem found.
pub fn parse_manifest(bytes: &[u8]) -> (Option<Manifest>, Vec<Problem>) {
    let mut problems = Vec::new();
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let what = if e.is_eof() {
                "is truncated"
            } else {
                "is not valid JSON"
            };
            problems.push(Problem::new(MANIFEST_FILE, "", format!("{what}: {e}")));
            return (None, problems);
        }
    };
    let Value::Object(top) = value else {
        problems.push(Problem::new(MANIFEST_FILE, "", "must be a JSON object"));
        return (None, problems);
    };
    let mut p = Parser {
        problems,
        named: Vec::new(),
    };
    let mut manifest = p.manifest(&top);
    let accepted: HashSet<&str> = manifest.named_paths().collect();
    let rejected: Vec<String> = p
        .named
        .iter()
        .filter(|l| !accepted.contains(l.as_str()))
        .cloned()
        .collect();
    manifest.rejected_locs = rejected;
    (Some(manifest), p.problems)
}

struct Parser {
    problems: Vec<Problem>,
    named: Vec<String>,
}

impl Parser {
    fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems
            .push(Problem::new(MANIFEST_FILE, field, message));
    }

    fn opt_string(&mut self, top: &Map<String, Value>, key: &str) -> Option<String> {
        match top.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.problem(key, "must be a string");
                None
            }
        }
    }

    fn manifest(&mut self, top: &Map<String, Value>) -> Manifest {
        let mut m = Manifest::default();
        match top.get("format") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(FORMAT_VERSION) => m.format = Some(FORMAT_VERSION),
                Some(n) => self.problem(
                    "format",
                    format!("format {n} is not supported; this pkg reads format {FORMAT_VERSION} (upgrade pkg)"),
                ),
                None => self.problem("format", "must be an integer"),
            },
        }
        m.name = self.opt_string(top, "name");
        m.version = self.opt_string(top, "version");
        if let Some(v) = &m.version {
            if let Err(e) = semver::Version::parse(v) {
                self.problem(
                    "version",
                    format!("`{}` is not a semver version: {e}", esc(v)),
                );
            }
        }
        m.description = self.opt_string(top, "description");
        m.created_at = self.opt_string(top, "created_at");
        match top.get("dependencies") {
            None | Some(Value::Null) => {}
            Some(Value::Object(deps)) => {
                for (name, req) in deps {
                    let field = format!("dependencies.{name}");
                    match req.as_str() {
                        Some(r) => match semver::VersionReq::parse(r) {
                            Ok(_) => {
                                m.dependencies.insert(name.clone(), r.to_string());
                            }
                            Err(e) => self.problem(
                                field,
                                format!("`{}` is not a semver requirement: {e}", esc(r)),
                            ),
                        },
                        None => self.problem(field, "must be a string"),
                    }
                }
            }
            Some(_) => self.problem(
                "dependencies",
                "must be an object of name to semver requirement",
            ),
        }
        match top.get("environments") {
            None | Some(Value::Null) => {}
            Some(Value::Array(envs)) => m.environments = envs.clone(),
            Some(_) => self.problem("environments", "must be an array"),
        }
        match top.get("min_level") {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(n @ 1..=6) => m.min_level = u8::try_from(n).ok(),
                _ => self.problem("min_level", "must be an integer from 1 to 6"),
            },
        }
        match top.get("digests") {
            None | Some(Value::Null) => {}
            Some(Value::Object(digests)) => {
                let mut out = BTreeMap::new();
                for (path, digest) in digests {
                    let field = format!("digests.{path}");
                    if path == "/manifest.json" {
                        self.problem(field, "manifest.json cannot carry its own digest");
                        continue;
                    }
                    if let Err(e) = check_syntax(path) {
                        self.problem(field, e);
                        continue;
                    }
                    match digest.as_str() {
                        Some(d) if is_sha256(d) => {
                            out.insert(path.clone(), d.to_string());
                        }
                        _ => self.problem(
                            field,
                            "must be `sha256:` followed by 64 lower-case hex digits",
                        ),
                    }
                }
                m.digests = Some(out);
            }
            Some(_) => self.problem("digests", "must be an object of package path to digest"),
        }
        let mut seen: HashSet<ResourceKey> = HashSet::new();
        for kind in ResourceKind::ALL {
            let key = kind.plural();
            match top.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let field = format!("{key}[{i}]");
                        let Value::Object(obj) = item else {
                            self.problem(field, "must be an object");
                            continue;
                        };
                        if let Some(entry) = self.entry(kind, &field, obj) {
                            if !seen.insert(entry.key.clone()) {
                                self.problem(
                                    format!("{field}.slug"),
                                    format!(
                                        "duplicate {}: `{}` appears more than once",
                                        kind,
                                        esc(&entry.key.path())
                                    ),
                                );
                                continue;
                            }
                            m.entries.push(entry);
                        }
                    }
                }
                Some(_) => self.problem(key, "must be an array"),
            }
        }
        m
    }

    fn field_str<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        field: &str,
        key: &str,
        required: bool,
    ) -> Option<&'a str> {
        match obj.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                if required {
                    self.problem(format!("{field}.{key}"), "is required");
                }
                None
            }
            Some(_) => {
                self.problem(format!("{field}.{key}"), "must be a string");
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

    fn entry(
        &mut self,
        kind: ResourceKind,
        field: &str,
        obj: &Map<String, Value>,
    ) -> Option<Entry> {
        let slug = self.field_str(obj, field, "slug", true);
        let space = if kind.is_space_scoped() {
            self.field_str(obj, field, "space_slug", true)
        } else {
            Some("")
        };
        let details_loc = self.field_str(obj, field, "details_loc", true);
        let data_loc = if kind == ResourceKind::Unit {
            self.field_str(obj, field, "unit_data_loc", true)
        } else {
            None
        };
        self.named.extend(
            details_loc
                .iter()
                .chain(data_loc.iter())
                .map(|s| s.to_string()),
        );
        let mut ok = slug.is_some() && space.is_some() && details_loc.is_some();
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
            let Some(value) = self.field_str(obj, field, key, ref_field.is_required()) else {
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
                    format!("`{}` must have the form `<space>/<slug>`", esc(value)),
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
                        esc(value),
                        esc(space.unwrap_or(""))
                    ),
                );
                ok = false;
                continue;
            }
            refs.push(Reference::new(ref_field, ref_space, ref_slug));
        }
        if !ok {
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

fn is_sha256(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn esc(s: &str) -> String {
    crate::model::slug::escape(s)
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
    fn reports_duplicates_and_bad_json() {
        let p = problems(
            r#"{"spaces":[{"slug":"a","details_loc":"/a"},{"slug":"a","details_loc":"/b"}]}"#,
        );
        assert!(p[0].contains("duplicate space: `a`"), "{p:?}");
        assert!(problems("{\"spaces\": [").join("").contains("truncated"));
        assert!(problems("[]").join("").contains("must be a JSON object"));
    }
}
