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
//!
//! This module owns the sides, the conflicts and the per-resource merge;
//! `structured` merges YAML and JSON values, `lines` does diff3 (and holds
//! the line-diff deadline `diff` shares), `yaml_text` parses unit data
//! safely.

mod lines;
mod structured;
mod yaml_text;

pub use lines::DIFF_DEADLINE;

use serde_yaml::Value;

use crate::model::{Details, RefField, Reference, ResourceKey};

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
}

#[cfg(test)]
mod tests {
    use super::yaml_text::parse_documents;
    use super::*;
    use crate::model::ResourceKind;
    use serde_json::json;
    use std::time::{Duration, Instant};

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
