//! Three-way merges for `--on-conflict merge`: the base is what the last
//! load applied to a resource, local is what the hub holds now, upstream is
//! what the package brings. A value changed on one side only takes that
//! side; a value changed on both sides to different things is a conflict.
//!
//! - Details (labels, annotations, other keys) and references merge per key.
//! - YAML and JSON unit data merge by key path; a list whose items are all
//!   maps with a unique `name` merges item by item, keyed by that name.
//! - Other text merges line by line (diff3). Binary data merges only when
//!   one side is unchanged.
//!
//! When only one side changed, that side's bytes are kept exactly; only a
//! real merge of structured data re-serialises it.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_yaml::{Mapping, Value};
use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};

use crate::model::{Details, RefField, Reference, ResourceKey};

/// How long one line diff (of a merge, or shown by `diff`) may search for
/// the smallest diff before it settles for a larger one. Myers' algorithm
/// takes time proportional to the lines times the differences: without a
/// bound, two large unrelated unit data files kept a merge busy for
/// minutes (found by the `unit_data` fuzz target). A larger diff only ever
/// turns a clean merge into a reported conflict, never into a wrong merge.
pub const DIFF_DEADLINE: Duration = Duration::from_millis(500);

/// One side of a merge: a resource's details, references and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// Canonical details.
    pub details: Details,
    /// References (as the hub names them).
    pub refs: Vec<Reference>,
    /// Unit data.
    pub data: Option<Vec<u8>>,
}

/// A value changed on both sides differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The resource.
    pub key: ResourceKey,
    /// Where: `details Labels.tier`, `target`, `data spec.replicas`, `data lines 3-4`.
    pub path: String,
    /// The base value (`(absent)` when there is none).
    pub base: String,
    /// The hub's value.
    pub local: String,
    /// The package's value.
    pub upstream: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: base {}, hub {}, package {}",
            self.key,
            self.path,
            crate::model::slug::escape(&self.base),
            crate::model::slug::escape(&self.local),
            crate::model::slug::escape(&self.upstream)
        )
    }
}

/// How unit data is merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// By key path, written back as YAML.
    Yaml,
    /// By key path, written back as JSON.
    Json,
    /// Line by line.
    Lines,
}

impl DataFormat {
    /// The format for a data-file suffix (`.yaml`, `.json`, ...).
    pub fn from_suffix(suffix: &str) -> DataFormat {
        match suffix {
            ".yaml" | ".yml" => DataFormat::Yaml,
            ".json" => DataFormat::Json,
            _ => DataFormat::Lines,
        }
    }
}

/// Merges `local` and `upstream` over `base` (`None`: no load wrote the
/// resource, so nothing is known to be unchanged). Returns the merged side
/// or every conflict.
pub fn merge(
    key: &ResourceKey,
    base: Option<&Side>,
    local: &Side,
    upstream: &Side,
    format: DataFormat,
) -> Result<Side, Vec<Conflict>> {
    let mut conflicts = Vec::new();
    let mut out = Merger {
        key,
        conflicts: &mut conflicts,
    };
    let details = out.details(base.map(|b| &b.details), &local.details, &upstream.details);
    let refs = out.refs(base.map(|b| &b.refs[..]), &local.refs, &upstream.refs);
    let data = match (&local.data, &upstream.data) {
        (Some(l), Some(u)) => {
            let b = base.and_then(|b| b.data.as_deref());
            Some(out.data(b, l, u, format))
        }
        (l, u) => u.clone().or_else(|| l.clone()),
    };
    if conflicts.is_empty() {
        Ok(Side {
            details,
            refs,
            data,
        })
    } else {
        Err(conflicts)
    }
}

/// Collects conflicts while merging one resource.
struct Merger<'a> {
    key: &'a ResourceKey,
    conflicts: &'a mut Vec<Conflict>,
}

/// A value for a conflict report.
fn show(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".to_string(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => serde_json::to_string(v).unwrap_or_else(|_| "(unprintable)".into()),
    }
}

impl Merger<'_> {
    fn conflict(&mut self, path: String, base: String, local: String, upstream: String) {
        self.conflicts.push(Conflict {
            key: self.key.clone(),
            path,
            base,
            local,
            upstream,
        });
    }

    /// Details merge per key (and per key inside maps such as `Labels`).
    fn details(&mut self, base: Option<&Details>, local: &Details, upstream: &Details) -> Details {
        let to_yaml = |d: &Details| {
            serde_yaml::to_value(serde_json::Value::Object(d.clone())).unwrap_or(Value::Null)
        };
        let merged = self.value(
            "details ",
            base.map(to_yaml).as_ref(),
            &to_yaml(local),
            &to_yaml(upstream),
        );
        match serde_json::to_value(&merged) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => local.clone(),
        }
    }

    /// References merge per field.
    fn refs(
        &mut self,
        base: Option<&[Reference]>,
        local: &[Reference],
        upstream: &[Reference],
    ) -> Vec<Reference> {
        let mut fields: Vec<RefField> = local
            .iter()
            .chain(upstream)
            .map(|r| r.field)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        fields.sort();
        let find = |refs: &[Reference], field| refs.iter().find(|r| r.field == field).cloned();
        let mut out = Vec::new();
        for field in fields {
            let b = base.and_then(|b| find(b, field));
            let l = find(local, field);
            let u = find(upstream, field);
            let chosen = if l == u || base.is_some() && b == u {
                l
            } else if base.is_some() && b == l {
                u
            } else {
                let text = |r: &Option<Reference>| {
                    r.as_ref()
                        .map_or("(absent)".to_string(), |r| r.to.to_string())
                };
                let base_text = if base.is_some() {
                    text(&b)
                } else {
                    "(absent)".into()
                };
                self.conflict(
                    field.manifest_key().to_string(),
                    base_text,
                    text(&l),
                    text(&u),
                );
                l
            };
            out.extend(chosen);
        }
        out
    }

    /// Unit data: one side's bytes when only it changed, else a structured
    /// or line merge.
    fn data(
        &mut self,
        base: Option<&[u8]>,
        local: &[u8],
        upstream: &[u8],
        format: DataFormat,
    ) -> Vec<u8> {
        if local == upstream || base == Some(upstream) {
            return local.to_vec();
        }
        if base == Some(local) {
            return upstream.to_vec();
        }
        let texts = (
            base.map(std::str::from_utf8).transpose(),
            std::str::from_utf8(local),
            std::str::from_utf8(upstream),
        );
        let (Ok(b), Ok(l), Ok(u)) = texts else {
            let len =
                |d: Option<&[u8]>| d.map_or("(absent)".into(), |d| format!("{} bytes", d.len()));
            self.conflict(
                "data (binary)".into(),
                len(base),
                len(Some(local)),
                len(Some(upstream)),
            );
            return local.to_vec();
        };
        let structured = match format {
            DataFormat::Lines => None,
            DataFormat::Yaml | DataFormat::Json => self.structured(b, l, u, format),
        };
        match structured {
            Some(text) => text.into_bytes(),
            None => self.lines(b.unwrap_or(""), l, u).into_bytes(),
        }
    }

    /// Merges YAML or JSON documents by key path; `None` when a side does
    /// not parse or the sides hold different numbers of documents.
    fn structured(
        &mut self,
        base: Option<&str>,
        local: &str,
        upstream: &str,
        format: DataFormat,
    ) -> Option<String> {
        let l = parse_documents(local)?;
        let u = parse_documents(upstream)?;
        let b = match base {
            Some(b) => Some(parse_documents(b)?),
            None => None,
        };
        if l.len() != u.len() || b.as_ref().is_some_and(|b| b.len() != l.len()) {
            return None;
        }
        let many = l.len() > 1;
        let mut merged = Vec::with_capacity(l.len());
        for (i, (ld, ud)) in l.iter().zip(&u).enumerate() {
            let bd = b.as_ref().map(|b| &b[i]);
            let prefix = if many {
                format!("data [document {}] ", i + 1)
            } else {
                "data ".to_string()
            };
            merged.push(self.value(&prefix, bd, ld, ud));
        }
        match format {
            DataFormat::Json if merged.len() == 1 => serde_json::to_string_pretty(&merged[0])
                .ok()
                .map(|t| t + "\n"),
            DataFormat::Json => None,
            _ => {
                let docs: Option<Vec<String>> = merged
                    .iter()
                    .map(|d| serde_yaml::to_string(d).ok())
                    .collect();
                Some(docs?.join("---\n"))
            }
        }
    }

    /// Merges two values over a base; `path` names the value in conflicts.
    fn value(
        &mut self,
        path: &str,
        base: Option<&Value>,
        local: &Value,
        upstream: &Value,
    ) -> Value {
        if local == upstream || base == Some(upstream) {
            return local.clone();
        }
        if base == Some(local) {
            return upstream.clone();
        }
        match (local, upstream) {
            (Value::Mapping(l), Value::Mapping(u)) => {
                let b = match base {
                    Some(Value::Mapping(b)) => Some(b),
                    _ => None,
                };
                Value::Mapping(self.mapping(path, b, l, u))
            }
            (Value::Sequence(l), Value::Sequence(u)) => {
                let b = match base {
                    Some(Value::Sequence(b)) => Some(b.as_slice()),
                    Some(_) => None,
                    None => Some(&[][..]),
                };
                match b.and_then(|b| self.named_list(path, b, l, u)) {
                    Some(list) => Value::Sequence(list),
                    None => self.value_conflict(path, base, local, upstream),
                }
            }
            _ => self.value_conflict(path, base, local, upstream),
        }
    }

    /// Records that the value at `path` changed on both sides; keeps local.
    fn value_conflict(
        &mut self,
        path: &str,
        base: Option<&Value>,
        local: &Value,
        upstream: &Value,
    ) -> Value {
        self.conflict(
            path.trim_end().into(),
            show(base),
            show(Some(local)),
            show(Some(upstream)),
        );
        local.clone()
    }

    /// Merges two maps key by key: local's order, then keys new upstream.
    fn mapping(
        &mut self,
        path: &str,
        base: Option<&Mapping>,
        local: &Mapping,
        upstream: &Mapping,
    ) -> Mapping {
        let mut keys: Vec<&Value> = local.keys().collect();
        keys.extend(upstream.keys().filter(|k| !local.contains_key(*k)));
        let mut out = Mapping::new();
        for key in keys {
            let b = base.and_then(|b| b.get(key));
            let child = child_path(path, &key_text(key));
            let merged = self.entry(&child, base.is_some(), b, local.get(key), upstream.get(key));
            if let Some(v) = merged {
                out.insert(key.clone(), v);
            }
        }
        out
    }

    /// One key of a map (or item of a named list): present or absent on each side.
    fn entry(
        &mut self,
        path: &str,
        has_base: bool,
        base: Option<&Value>,
        local: Option<&Value>,
        upstream: Option<&Value>,
    ) -> Option<Value> {
        match (local, upstream) {
            (Some(l), Some(u)) => Some(self.value(path, base, l, u)),
            // Present on one side only.
            (Some(l), None) => {
                if has_base && base == Some(l) {
                    None // deleted upstream, unchanged here
                } else if has_base && base.is_some() {
                    self.conflict(path.into(), show(base), show(Some(l)), show(None));
                    Some(l.clone())
                } else {
                    Some(l.clone()) // added here
                }
            }
            (None, Some(u)) => {
                if has_base && base == Some(u) {
                    None // deleted here, unchanged upstream
                } else if has_base && base.is_some() {
                    self.conflict(path.into(), show(base), show(None), show(Some(u)));
                    None
                } else {
                    Some(u.clone()) // added upstream
                }
            }
            (None, None) => None,
        }
    }

    /// Merges lists whose items are all maps with a unique `name`, item by
    /// item; `None` when the lists are not like that.
    fn named_list(
        &mut self,
        path: &str,
        base: &[Value],
        local: &[Value],
        upstream: &[Value],
    ) -> Option<Vec<Value>> {
        let b = named_items(base)?;
        let l = named_items(local)?;
        let u = named_items(upstream)?;
        if l.is_empty() && u.is_empty() {
            return None;
        }
        // By name, so that long lists merge in linear time.
        let (bm, lm, um) = (by_name(&b), by_name(&l), by_name(&u));
        let mut names: Vec<&str> = l.iter().map(|(n, _)| *n).collect();
        names.extend(u.iter().map(|(n, _)| *n).filter(|n| !lm.contains_key(n)));
        let mut out = Vec::new();
        for name in names {
            let child = format!("{}[name={name}]", path.trim_end());
            if let Some(v) = self.entry(
                &child,
                true,
                bm.get(name).copied(),
                lm.get(name).copied(),
                um.get(name).copied(),
            ) {
                out.push(v);
            }
        }
        Some(out)
    }

    /// A line-by-line three-way merge (diff3). Conflicting regions keep
    /// the local lines and are reported.
    fn lines(&mut self, base: &str, local: &str, upstream: &str) -> String {
        let b: Vec<&str> = base.split_inclusive('\n').collect();
        let l: Vec<&str> = local.split_inclusive('\n').collect();
        let u: Vec<&str> = upstream.split_inclusive('\n').collect();
        let to_local = matches(&b, &l);
        let to_upstream = matches(&b, &u);
        let mut out = String::new();
        let (mut i, mut j, mut k) = (0, 0, 0);
        loop {
            // The next base line both sides kept, in step with both.
            let next = (i..b.len()).find(|&x| {
                to_local[x].is_some_and(|y| y >= j) && to_upstream[x].is_some_and(|z| z >= k)
            });
            let (bi, lj, uk) = match next {
                Some(x) => (
                    x,
                    to_local[x].unwrap_or(l.len()),
                    to_upstream[x].unwrap_or(u.len()),
                ),
                None => (b.len(), l.len(), u.len()),
            };
            let (bc, lc, uc) = (&b[i..bi], &l[j..lj], &u[k..uk]);
            if !(bc.is_empty() && lc.is_empty() && uc.is_empty()) {
                let chosen = if lc == uc || bc == uc {
                    lc
                } else if bc == lc {
                    uc
                } else {
                    let lines = match bc.len() {
                        0 => format!("after line {i}"),
                        1 => format!("line {bi}"),
                        _ => format!("lines {}-{bi}", i + 1),
                    };
                    self.conflict(
                        format!("data {lines}"),
                        format!("{:?}", bc.concat()),
                        format!("{:?}", lc.concat()),
                        format!("{:?}", uc.concat()),
                    );
                    lc
                };
                out.extend(chosen.iter().copied());
            }
            match next {
                Some(x) => {
                    out.push_str(b[x]);
                    (i, j, k) = (x + 1, lj + 1, uk + 1);
                }
                None => break,
            }
        }
        out
    }
}

/// For each line of `base`, the line of `other` it matches, if any.
fn matches(base: &[&str], other: &[&str]) -> Vec<Option<usize>> {
    let mut out = vec![None; base.len()];
    let deadline = Some(Instant::now() + DIFF_DEADLINE);
    for op in capture_diff_slices_deadline(Algorithm::Myers, base, other, deadline) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for n in 0..len {
                out[old_index + n] = Some(new_index + n);
            }
        }
    }
    out
}

/// The items of [`named_items`] by name.
fn by_name<'v>(items: &[(&'v str, &'v Value)]) -> HashMap<&'v str, &'v Value> {
    items.iter().copied().collect()
}

/// `name` of every item, when all are maps with a unique string `name`.
fn named_items(items: &[Value]) -> Option<Vec<(&str, &Value)>> {
    let mut out: Vec<(&str, &Value)> = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        let name = item.as_mapping()?.get("name")?.as_str()?;
        if !seen.insert(name) {
            return None;
        }
        out.push((name, item));
    }
    Some(out)
}

/// The path of `key` inside the value at `path` (a root such as `details `
/// ends with a space).
fn child_path(path: &str, key: &str) -> String {
    if path.ends_with(' ') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

/// A map key as a path component.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// serde_yaml's recursion limit: text nested deeper never parses.
const MAX_DEPTH: usize = 128;

/// Whether `text` opens more than [`MAX_DEPTH`] flow collections (`[`,
/// `{`) at once, counting brackets anywhere (in strings and comments too,
/// so a rare text is refused that would parse: it merges line by line).
/// Such text is refused before libyaml sees it: its scanner takes time
/// quadratic in the depth of nested flow mappings before it reports the
/// depth (500 KB of `{a: {a: ...` took 40 s; found with the `unit_data`
/// fuzz harness).
fn flow_too_deep(text: &str) -> bool {
    let mut depth = 0usize;
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The YAML documents of `text` (JSON is YAML too); `None` when it does
/// not parse or nests flow collections deeper than serde_yaml allows.
fn parse_documents(text: &str) -> Option<Vec<Value>> {
    use serde::Deserialize;
    if flow_too_deep(text) {
        return None;
    }
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        docs.push(Value::deserialize(doc).ok()?);
    }
    Some(docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceKind;
    use serde_json::json;

    fn key() -> ResourceKey {
        ResourceKey::new(ResourceKind::Unit, "s", "u")
    }

    fn side(details: serde_json::Value, data: &str) -> Side {
        let serde_json::Value::Object(details) = details else {
            unreachable!()
        };
        Side {
            details,
            refs: Vec::new(),
            data: Some(data.as_bytes().to_vec()),
        }
    }

    const BASE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: app\n        image: web:1\n      - name: sidecar\n        image: proxy:1\n";

    #[test]
    fn one_sided_changes_are_taken_and_bytes_kept() {
        let base = side(json!({"Labels": {"a": "1"}}), BASE);
        let local = side(json!({"Labels": {"a": "1", "team": "x"}}), BASE);
        let upstream = side(
            json!({"Labels": {"a": "2"}}),
            &BASE.replace("replicas: 2", "replicas: 3"),
        );
        let merged = merge(&key(), Some(&base), &local, &upstream, DataFormat::Yaml).unwrap();
        assert_eq!(merged.details["Labels"], json!({"a": "2", "team": "x"}));
        assert_eq!(merged.data, upstream.data, "upstream bytes kept exactly");
    }

    #[test]
    fn yaml_merges_by_key_path_and_named_lists() {
        let base = side(json!({}), BASE);
        let local = side(json!({}), &BASE.replace("replicas: 2", "replicas: 5"));
        let upstream = side(json!({}), &BASE.replace("image: web:1", "image: web:2"));
        let merged = merge(&key(), Some(&base), &local, &upstream, DataFormat::Yaml).unwrap();
        let text = String::from_utf8(merged.data.unwrap()).unwrap();
        assert!(text.contains("replicas: 5"), "{text}");
        assert!(text.contains("image: web:2"), "{text}");
        assert!(text.contains("image: proxy:1"), "{text}");
    }

    #[test]
    fn both_sides_changing_a_value_is_a_conflict_with_three_values() {
        let base = side(json!({}), BASE);
        let local = side(json!({}), &BASE.replace("image: web:1", "image: web:local"));
        let upstream = side(json!({}), &BASE.replace("image: web:1", "image: web:2"));
        let err = merge(&key(), Some(&base), &local, &upstream, DataFormat::Yaml).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(
            err[0].path,
            "data spec.template.spec.containers[name=app].image"
        );
        assert_eq!(
            err[0].to_string(),
            "unit s/u data spec.template.spec.containers[name=app].image: base \"web:1\", hub \"web:local\", package \"web:2\""
        );
    }

    #[test]
    fn details_conflicts_name_the_key() {
        let base = side(json!({"Labels": {"tier": "a"}}), "");
        let local = side(json!({"Labels": {"tier": "b"}}), "");
        let upstream = side(json!({"Labels": {"tier": "c"}}), "");
        let err = merge(&key(), Some(&base), &local, &upstream, DataFormat::Lines).unwrap_err();
        assert_eq!(err[0].path, "details Labels.tier");
    }

    #[test]
    fn text_merges_line_by_line() {
        let base = "a=1\nb=2\nc=3\nd=4\n";
        let local = "a=1\nb=local\nc=3\nd=4\n";
        let upstream = "a=1\nb=2\nc=3\nd=up\ne=5\n";
        let s = |t: &str| side(json!({}), t);
        let merged = merge(
            &key(),
            Some(&s(base)),
            &s(local),
            &s(upstream),
            DataFormat::Lines,
        )
        .unwrap();
        assert_eq!(merged.data.unwrap(), b"a=1\nb=local\nc=3\nd=up\ne=5\n");
        let clash = "a=1\nb=up\nc=3\nd=4\n";
        let err = merge(
            &key(),
            Some(&s(base)),
            &s(local),
            &s(clash),
            DataFormat::Lines,
        )
        .unwrap_err();
        assert_eq!(err[0].path, "data line 2");
        assert_eq!(err[0].local, "\"b=local\\n\"");
    }

    #[test]
    fn unparsable_yaml_falls_back_to_lines_and_binary_needs_one_side_unchanged() {
        let s = |t: &[u8]| Side {
            details: Details::new(),
            refs: Vec::new(),
            data: Some(t.to_vec()),
        };
        let merged = merge(
            &key(),
            Some(&s(b"x: [\n")),
            &s(b"x: [\n"),
            &s(b"y: [\n"),
            DataFormat::Yaml,
        )
        .unwrap();
        assert_eq!(merged.data.unwrap(), b"y: [\n");
        let err = merge(
            &key(),
            Some(&s(b"\xff1")),
            &s(b"\xff2"),
            &s(b"\xff3"),
            DataFormat::Lines,
        )
        .unwrap_err();
        assert_eq!(err[0].path, "data (binary)");
    }

    #[test]
    fn without_a_base_only_equal_values_merge() {
        let local = side(json!({"Labels": {"a": "1"}, "DisplayName": "x"}), "");
        let upstream = side(
            json!({"Labels": {"a": "1", "b": "2"}, "DisplayName": "y"}),
            "",
        );
        let err = merge(&key(), None, &local, &upstream, DataFormat::Lines).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].path, "details DisplayName");
    }

    #[test]
    fn references_merge_per_field() {
        let r = |t: &str| vec![Reference::new(RefField::Target, "s", t)];
        let mk = |refs| Side {
            details: Details::new(),
            refs,
            data: None,
        };
        let merged = merge(
            &key(),
            Some(&mk(r("a"))),
            &mk(r("a")),
            &mk(r("b")),
            DataFormat::Lines,
        )
        .unwrap();
        assert_eq!(merged.refs, r("b"));
        let err = merge(
            &key(),
            Some(&mk(r("a"))),
            &mk(r("c")),
            &mk(r("b")),
            DataFormat::Lines,
        )
        .unwrap_err();
        assert_eq!(err[0].path, "target");
    }

    /// Found by the `unit_data` fuzz harness: a list of many named items
    /// merged in time quadratic in its length (30,000 items: 35 s).
    #[test]
    fn long_named_lists_merge_in_linear_time() {
        let list = |v: u8| -> String {
            (0..20_000)
                .map(|i| format!("- name: i{i}\n  v: {v}\n"))
                .collect()
        };
        let started = Instant::now();
        let merged = merge(
            &key(),
            Some(&side(json!({}), &list(1))),
            &side(json!({}), &list(2)),
            &side(json!({}), &list(1)),
            DataFormat::Yaml,
        )
        .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "took {:?}",
            started.elapsed()
        );
        let data = String::from_utf8(merged.data.unwrap()).unwrap();
        assert!(data.contains("name: i19999\n  v: 2"));
    }

    /// Found by the `unit_data` fuzz harness: a line merge of two large
    /// unrelated texts searched for the smallest diff for minutes; the
    /// deadline makes it settle for a larger diff (here a conflict).
    #[test]
    fn large_unrelated_texts_merge_within_the_deadline() {
        let text = |p: &str| -> String { (0..20_000).map(|i| format!("{p}{i}\n")).collect() };
        let started = Instant::now();
        let err = merge(
            &key(),
            Some(&side(json!({}), &text("b"))),
            &side(json!({}), &text("l")),
            &side(json!({}), &text("u")),
            DataFormat::Lines,
        )
        .unwrap_err();
        assert!(!err.is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "took {:?}",
            started.elapsed()
        );
    }

    /// Found with the `unit_data` fuzz harness: deeply nested flow
    /// mappings took libyaml time quadratic in the depth (500 KB: 40 s)
    /// before failing; they are refused up front and merge line by line.
    #[test]
    fn deeply_nested_flow_collections_are_refused_quickly() {
        let deep = format!("{}1{}\n", "{a: ".repeat(100_000), "}".repeat(100_000));
        let started = Instant::now();
        assert!(parse_documents(&deep).is_none());
        let merged = merge(
            &key(),
            Some(&side(json!({}), "x: 1\n")),
            &side(json!({}), "x: 1\n"),
            &side(json!({}), &deep),
            DataFormat::Yaml,
        )
        .unwrap();
        assert_eq!(merged.data.unwrap(), deep.as_bytes());
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "took {:?}",
            started.elapsed()
        );
        let shallow = format!("{}1{}\n", "{a: ".repeat(100), "}".repeat(100));
        assert!(parse_documents(&shallow).is_some());
    }
}
